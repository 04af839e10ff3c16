/* engine: the shaper's per-packet work, in one of three modes.
 *
 *   baseline  every packet takes the slow path: decode, flow lookup, longest-prefix-match
 *             route lookup, TTL/hop-limit decrement, next-hop
 *             MAC rewrite, optional source NAT, incremental checksum updates, header
 *             serialisation, payload copy, transmit.
 *   precraft  after each packet of a flow, the predictor forecasts the next packet of that
 *             direction and the crafter pre-builds its egress form in the pool.  An arriving
 *             frame is first probed (pkt_probe) against a cache of pre-built packets, before
 *             any decoding: when one validates, it is completed and sent (a hit) and the flow is
 *             updated through the pre-built packet's own link to it.  Otherwise the frame is
 *             decoded and looked up; a pre-built packet the probe missed still gets its chance;
 *             a pre-built packet that does not validate is released (waste) and the slow path
 *             runs (a miss).  Learning from the packet and building the next prediction happen
 *             after the transmit, in the time before the next packet.
 *   shadow    both paths run for every packet; the slow path's output is sent, and every
 *             packet whose two outputs differ is counted as divergent.
 *
 * Every packet, whatever its path, is decoded, looked up in the flow table, counted, and has
 * its IPv4 header checksum verified (RFC 1812; a wrong one is counted and forwarded).
 *
 * The invariant: precraft mode transmits exactly the bytes baseline mode transmits, packet for
 * packet.  The engine never reads a clock: time comes with each packet.  Nothing on the
 * per-packet path allocates; memory is fixed at creation by the flow capacity and pool budget. */
#ifndef PRECRAFT_ENGINE_H
#define PRECRAFT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "err.h"
#include "policy.h"

struct esp_conf;
struct route_table;
struct predictor_ops;

enum engine_mode { ENGINE_BASELINE, ENGINE_PRECRAFT, ENGINE_SHADOW };

/* "baseline", "precraft", "shadow" → mode; returns -ERR_INVAL for others. */
int engine_mode_parse(const char *s, enum engine_mode *mode);
const char *engine_mode_name(enum engine_mode mode);

/* Receives every transmitted frame, in order, as its headers and its payload (gathered from
 * where they lie, as a multi-segment transmit does): 'hdr_len' + 'payload_len' bytes captured of
 * a 'wirelen'-byte frame.  Both pointers are valid during the call only. */
typedef void engine_tx_fn(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload,
			  uint32_t payload_len, uint32_t wirelen, uint64_t t_ns);

/* A flow that has ended (idle, evicted, a new connection on its 5-tuple, or the end of the
 * run), as the embedding program records it. */
struct engine_flow_info {
	uint64_t id;
	uint8_t family, proto;     /* 4 or 6; IP protocol */
	uint16_t vlan;
	uint8_t src[16], dst[16];  /* sender and receiver of the flow's first packet */
	uint16_t sport, dport;
	uint64_t packets, bytes;   /* both directions, as they arrived */
	uint32_t hits, misses, wasted;
	uint64_t first_ns, last_ns;
	void *app;                 /* the flow's application area (cfg.app_flow_size bytes) */
};

typedef void engine_flow_end_fn(void *arg, const struct engine_flow_info *fi);

/* The configuration's layout: engine_cfg_defaults stamps it, engine_create refuses a
 * configuration of another (a program built against another libprecraft's header). */
#define ENGINE_CFG_VERSION 3

struct engine_cfg {
	uint32_t version;          /* ENGINE_CFG_VERSION, set by engine_cfg_defaults */
	uint32_t size;             /* sizeof(struct engine_cfg), set by engine_cfg_defaults */
	enum engine_mode mode;
	size_t flow_capacity;      /* concurrent flows (default 65536) */
	uint64_t flow_idle_ns;     /* idle timeout (default 120 s), 0 = none */
	size_t pool_budget;        /* bytes (default 64 MiB) */
	uint32_t pool_flow_quota;  /* bytes per flow (default 256 KiB) */
	uint32_t pool_large_slots; /* buffers for frames above 64 KiB (default 4) */
	const struct predictor_ops *predictor; /* NULL: the `last` predictor */
	const char *model_file;    /* handed to the predictor, may be NULL */
	float min_confidence;      /* build only predictions at least this confident */
	struct policy_cfg policy;  /* how aggressively to pre-build (policy.h); default static */
	const struct route_table *routes; /* borrowed; must outlive the engine */
	uint8_t self_mac[6];
	bool snat;
	uint8_t snat_addr[4];
	engine_tx_fn *tx;          /* may be NULL: frames are counted, not delivered */
	void *tx_arg;
	int pool_poison;
	/* When set, the engine times its own work with it (the cost fields of engine_stats):
	 * arrival processing by path, and crafting.  Costs two clock reads per packet. */
	struct clock_src cost_clock;
	/* With cost_clock: every timed interval, one by one (for medians). */
	void (*cost_sample)(void *arg, int kind, uint64_t ns); /* kind: enum engine_cost */
	void *cost_sample_arg;
	size_t app_flow_size;      /* bytes per flow for the embedding program, zeroed at start */
	engine_flow_end_fn *flow_end; /* called for every flow that ends; may be NULL */
	void *flow_end_arg;
	/* A timed model (the simulator) says when each piece of work made ahead is finished, with
	 * engine_work_ready(); until then an arriving packet cannot use it.  Otherwise a pre-built
	 * packet is ready as soon as it is built. */
	bool craft_ready_explicit;
	/* Keys the flow table's hash (the run's --seed): buckets differ between seeds, results
	 * do not. */
	uint64_t seed;
	/* An ESP tunnel (esp.h), borrowed like the routes: routed packets whose destination one
	 * of its SAs matches leave encapsulated in that SA.  NULL: none. */
	const struct esp_conf *tunnel;
	unsigned ks_depth;         /* keystream ring entries per SA at most (default 8; 0: none) */
	uint32_t ks_cap;           /* keystream bytes per entry at most (default 2048) */
	/* Each entry at least this fraction of the SA's recent mean packet (0..1, default 0.75),
	 * however small the packet expected to take it (esp_ring_fill): lower wastes fewer
	 * keystream bytes and extends more entries on the packet's path. */
	float ks_floor;
	/* One of 'shards' engines sharing a run, flows hashed to them (the simulator's CPUs): flow
	 * ids are shard + 1 + k * shards, so they stay unique across the run, and source NAT uses
	 * only the ports p with (p - 1024) % shards == shard, so no two engines map to one port.
	 * 0 and 0 (the default) mean a single engine.  With a tunnel, each shard's SAs send
	 * their own slice of the sequence numbers (esp_tunnel_slice): no (SPI, sequence) pair
	 * twice. */
	unsigned shard, shards;
	/* DNS prefetching (engine_prefetch.c): when a forwarded DNS answer announces an address,
	 * the first packet its receiver will send there (TCP SYN to 80 and 443, UDP to 443) is
	 * pre-built, and held for the record's TTL, at most this long (default 60 s; 0: off); with
	 * a tunnel, the SA the address leaves through has its keystream ring topped up.  At
	 * most 'prefetch_slots' templates are held (default 4096). */
	uint64_t prefetch_hold_ns;
	uint32_t prefetch_slots;
};

enum engine_cost {
	ENGINE_COST_SLOW,          /* a packet in baseline mode */
	ENGINE_COST_MISS,          /* a miss whose pre-built packet failed validation */
	ENGINE_COST_NOPRED,        /* a miss with nothing pre-built: the slow path and a probe */
	ENGINE_COST_HIT,
	ENGINE_COST_CRAFT,
	ENGINE_COST_DROP,          /* a packet dropped as malformed or non-IP */
	ENGINE_COST__COUNT
};

enum engine_path {
	ENGINE_PATH_DROP,          /* dropped: parse error, non-IP, no route, TTL expired */
	ENGINE_PATH_SLOW,          /* the slow path (every packet in baseline mode; a miss otherwise) */
	ENGINE_PATH_HIT,           /* sent from a pre-built packet */
};

/* Work made ahead after a packet: the flow's next packet pre-built, an SA's keystreams (and an
 * anticipated packet sealed), DNS templates.  A timed model (cfg.craft_ready_explicit, the
 * simulator) schedules each piece by its kind and size and says when it is finished
 * (engine_work_ready); until then no arriving packet can use it. */
enum engine_work_kind {
	ENGINE_WORK_BUILD,         /* a flow's next packet: units = 1 */
	ENGINE_WORK_ESP,           /* an SA's keystreams: units = keystream bytes, units2 = bytes
				    * sealed for an anticipated packet */
	ENGINE_WORK_PREFETCH,      /* the templates a DNS answer announced: units = templates */
	ENGINE_WORK__COUNT
};

/* Names one piece of work made ahead; only the engine that made it reads the fields. */
struct engine_ticket {
	uint8_t kind;              /* enum engine_work_kind */
	uint8_t dir;               /* BUILD: the direction */
	uint32_t index;            /* BUILD: the flow's slot; ESP: the SA */
	uint32_t serial;           /* BUILD: the flow's build serial; ESP: the ring's generation;
				    * PREFETCH: the answer's batch */
};

struct engine_work {
	struct engine_ticket t;
	uint32_t units, units2;    /* how much (see enum engine_work_kind) */
};

/* At most this much work after one packet: one piece of each kind, and up to two more ESP
 * pieces (the SA it was opened from beside the one it was sealed into, and a DNS answer's
 * announced SA primed). */
#define ENGINE_WORK_MAX 6

/* What happened to one packet. */
struct engine_result {
	enum engine_path path;
	bool prebuilt_failed;      /* a miss whose pre-built packet failed validation */
	unsigned dir;
	void *flow_app;            /* its flow's application area; NULL when dropped before lookup */
	uint64_t flow_id;
	/* With a tunnel: how the packet was sealed (enum esp_how, 0: it was not) and its inner
	 * length. */
	uint8_t esp_how;
	uint32_t esp_len;
	/* With a tunnel that opens here: how the packet arrived sealed was opened (enum esp_how,
	 * 0: it was not sealed) and its inner length. */
	uint8_t esp_open_how;
	uint32_t esp_open_len;
	/* Keystream bytes made on the packet's path because a ring entry was too short. */
	uint32_t esp_extended;
	/* The work made ahead after it, in the order it was made. */
	unsigned n_work;
	struct engine_work work[ENGINE_WORK_MAX];
};

/* Fills 'cfg' with the defaults (and its version): start every configuration here. */
void engine_cfg_defaults(struct engine_cfg *cfg);

#define ENGINE_DROP_MAP(X)                                                     \
	X(NO_ROUTE, "no_route")                                                \
	X(TTL_EXPIRED, "ttl_expired")                                          \
	X(NON_IP, "non_ip")                                                    \
	X(PARSE, "parse_error")                                                \
	X(NAT_EXHAUSTED, "nat_exhausted")                                      \
	X(ESP_EXHAUSTED, "esp_exhausted")                                      \
	X(ESP_TOO_BIG, "esp_too_big")                                          \
	X(ESP_CRYPTO, "esp_crypto_error")                                      \
	X(ESP_REPLAY, "esp_replay")          /* opening: duplicate or too old */ \
	X(ESP_ICV, "esp_icv")                /* opening: the ICV does not verify */ \
	X(ESP_UNKNOWN_SPI, "esp_unknown_spi") /* opening: no SA for it here */   \
	X(ESP_MALFORMED, "esp_malformed")    /* opening: lengths, padding */     \
	X(ESP_KEEPALIVE, "esp_keepalive")    /* opened, empty: nothing to send */

enum engine_drop {
#define ENGINE__DROP(name, text) ENGINE_DROP_##name,
	ENGINE_DROP_MAP(ENGINE__DROP)
#undef ENGINE__DROP
	ENGINE_DROP__COUNT
};

const char *engine_drop_name(unsigned d);


struct engine;

/* Makes 'c' shard 'shard' of 'shards' engines that share one machine's memory (the simulator's
 * CPUs, hil forward's workers): each gets ceil(flow_capacity / shards) flows and pool_budget /
 * shards bytes of pool (at least 1 MiB, what a pool needs for its large buffers).  One shard
 * leaves 'c' as it is. */
void engine_cfg_shard(struct engine_cfg *c, unsigned shard, unsigned shards);

/* The smallest pool_budget engine_create accepts for 'cfg' (its large buffers and a page). */
size_t engine_pool_min(const struct engine_cfg *cfg);

/* Creates an engine for 'cfg' (copied).  Returns 0 and '*out', or a negative ERR_* with detail
 * in 'eb'.  The caller owns the engine (engine_destroy). */
int engine_create(const struct engine_cfg *cfg, struct engine **out, struct errbuf *eb) WARN_UNUSED;

/* Ends every flow (pre-built packets still held count as waste) and frees everything. */
void engine_destroy(struct engine *eng);

/* Processes one captured frame of link type 'linktype' at 't_ns'.  Never fails: bad packets
 * are counted and dropped.  Transmits through cfg.tx.  Fills 'res' when not NULL. */
void engine_process(struct engine *eng, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		    int linktype, uint64_t t_ns, struct engine_result *res);

/* With cfg.craft_ready_explicit: the work 't' names is finished at 'ready_ns'.  Does nothing
 * when it no longer exists. */
void engine_work_ready(struct engine *eng, const struct engine_ticket *t, uint64_t ready_ns);

/* True while the work 't' names exists and is not yet marked ready: doing it is still worth
 * the time. */
bool engine_work_waiting(struct engine *eng, const struct engine_ticket *t);

/* Ends all flows, so that pre-built packets still held are counted as waste.  Called by
 * engine_destroy; call it before reading final statistics. */
void engine_finish(struct engine *eng);

/* The statistics, read by name: 'fn' is called with the name and value of every scalar a run
 * records from the engine (packets_in, hits, misses, wasted, dropped_no_route, ...; with a
 * tunnel, esp_packets, ks_bytes_built, ...), in one fixed order.  The names are the columns of
 * the results database's scalar table (doc/precraft.1 lists them). */
void engine_stats_each(const struct engine *eng, void (*fn)(void *arg, const char *name, double value), void *arg);

/* One statistic by name into '*value'.  Returns 0, or -ERR_INVAL when the engine has none of
 * that name. */
int engine_stat(const struct engine *eng, const char *name, double *value);

/* With a tunnel: the inner length of the packet 'frame' would be sealed with (the slow path's
 * routed packet); or, where it would not be sealed and is a tunnel message to this gateway (ESP
 * or WireGuard to a local address of a tunnel that opens here), the length of the message
 * opening would decrypt, with '*opens' true; 0 for neither.  One parse; changes nothing (the
 * simulator's baseline server charges by it). */
uint32_t engine_tunnel_len(struct engine *eng, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
			   int linktype, bool *opens);

/* The shaper's conditions as the host measures them, for the adaptive policy. */
void engine_policy_signals(struct engine *eng, const struct policy_signals *sig);
/* The policy's state: class levels and counters (read-only). */
const struct policy *engine_policy(const struct engine *eng);

/* Routes from now on by 'rt' (borrowed, as cfg.routes; the caller keeps the old table until the
 * engine has finished the packet it was processing, if any: hil/runner.c does it with rcu.h).
 * Pre-built packets made with the old table are not sent: the next packet of each such flow
 * takes the slow path (counted as a validation failure) and its next is built with 'rt'.  A
 * tunnel's SAs keep the next hops they resolved at creation. */
void engine_set_routes(struct engine *eng, const struct route_table *rt);

#endif
