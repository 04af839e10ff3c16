/* engine_impl: the engine's state, shared by its two files (engine.c: configuration,
 * lifetime, crafting, statistics; engine_path.c: the per-packet stages).  Not installed: the
 * public face is engine.h. */
#ifndef PRECRAFT_ENGINE_IMPL_H
#define PRECRAFT_ENGINE_IMPL_H

#include "craft.h"
#include "engine.h"
#include "engine_stats.h"
#include "esp.h"
#include "flow.h"
#include "fwd.h"
#include "pool.h"

/* Largest egress header block: a link header and IP and transport headers with options. */
#define ENGINE_MAX_HDR 4096u
/* Largest frame a pre-built buffer may need to hold (a predicted payload included). */
#define ENGINE_MAX_FRAME (262144u + 1024u)

/* The engine's part of each flow-table entry; the predictor's state follows it. */
struct eflow {
	struct pool_buf *craft[2]; /* pre-built next packet per direction, or NULL */
	uint32_t serial[2];        /* of the latest pre-built packet per direction (tickets) */
	uint64_t next_t[2];        /* when the pre-built packet's original is expected (0: unknown) */
	uint32_t pool_bytes;       /* held in the pool by this flow (the pool updates it) */
	uint32_t hits, misses, wasted;
	uint16_t nat_port;
	uint8_t payload_ok;        /* the flow's last predicted payload was right (anticipation) */
	uint8_t announced;         /* craft[0] is the template a DNS answer announced (prefetch) */
	struct policy_flow pol;
};

/* What one path would send. */
struct egress {
	const uint8_t *hdr, *payload;
	uint32_t hdr_len, payload_len, wirelen;
};

/* What the flow's pre-built packet did for the packet. */
enum prebuilt { PB_NONE /* nothing pre-built */, PB_LATE /* not finished in time */,
		PB_FAILED /* failed validation */, PB_HIT };

/* One packet's passage through the engine, made by engine_process and handed to every stage
 * and to the work made after it: nothing of one packet lives in struct engine.  The stages fill
 * it in order; a field is meaningful once the stage that sets it has run. */
struct pktx {
	/* The arrival. */
	const uint8_t *frame;
	uint32_t caplen, wirelen;
	int linktype;
	uint64_t t_ns;             /* arrival time */
	uint64_t t0;               /* the cost clock at arrival (0 without one) */
	struct engine_result *res; /* what the caller is told, or NULL */
	/* The probe and decode stages. */
	uint32_t probe;            /* the frame's probe hash (0: none) */
	bool decoded;              /* 'p' holds the decoded frame */
	struct pkt p;
	/* The flow stage (or the probe's hit, which names the flow). */
	struct flow_entry *f;      /* NULL until known */
	struct eflow *uf;
	unsigned dir;
	bool first;                /* it started its flow */
	/* The pre-built packet (pb == PB_HIT: 'hit' is its egress, validated against the frame). */
	enum prebuilt pb;
	struct egress hit;
	/* The tail: what was sent, and the tunnel's outcome. */
	enum engine_path path;
	int sa;                    /* the SA it was sealed into, or -1 */
	uint8_t esp_how;           /* how (enum esp_how) */
	uint32_t esp_len;          /* its inner length */
	/* The tunnel's receiving side (engine__esp_open): the frame stands for the inner packet. */
	int in_sa;                 /* the SA it was opened from, or -1 */
	uint8_t in_how;            /* how (enum esp_how) */
	uint32_t in_len;           /* its inner length */
	uint32_t esp_ext;          /* keystream bytes made on the path (short ring entries) */
};

/* Decodes the frame into c->p once; true when it is IP and sound. */
static inline bool engine__decode(struct pktx *c)
{
	if (!c->decoded)
		c->decoded = pkt_parse(c->frame, c->caplen, c->wirelen, c->linktype, &c->p) == 0 &&
			     c->p.l3 != PKT_L3_NONE;
	return c->decoded;
}

struct engine {
	struct engine_cfg cfg;
	struct fwd_cfg fwd;
	struct flow_table *flows;
	struct pool *pool;
	const struct predictor_ops *pops;
	struct policy pol;
	uint64_t pol_evictions, pol_packets; /* at the policy's last control */
	void *pred;
	size_t pred_off;           /* predictor state offset in the user area */
	size_t app_off;            /* application area offset in the user area */
	struct pool_buf **probe_cache; /* pre-built packets by probe hash, direct-mapped */
	uint32_t probe_mask;
	uint8_t *hdr_a, *hdr_b;    /* slow-path egress headers (b: shadow mode's second path) */
	struct flow_hash_key hkey; /* the flow hash's key, from cfg.seed */
	/* Source NAT: the ports of live translated flows, so that no two live flows share a
	 * translated 5-tuple (engine.c nat_alloc). */
	uint64_t nat_used[65536 / 64];
	uint32_t nat_live, nat_cap; /* ports in use, and this shard's ports */
	uint32_t route_gen;        /* bumped by engine_set_routes: pre-built packets carry theirs */
	uint16_t next_nat_port;
	struct esp_tunnel *esp;    /* cfg.tunnel's runtime state, or NULL */
	bool opens;                /* an SA of the tunnel opens here */
	struct prefetch *pf;       /* DNS prefetching's tables (engine_prefetch.c), or NULL */
	struct engine_stats st;
};


/* Source NAT: a port for a new flow of 'f' when it will be translated (0 when it will not, or
 * when every port is in use: the flow's outbound packets are then dropped, counted). */
uint16_t engine__nat_alloc(struct engine *e, const struct flow_entry *f);
/* True when a packet of 'f' in direction 'dir' would be translated but its flow has no port. */
bool engine__nat_missing(const struct engine *e, const struct eflow *uf, const struct pkt *p, unsigned dir);

static inline struct eflow *eflow_of(struct engine *e, struct flow_entry *f)
{
	return flow_user(e->flows, f);
}

/* What became of a pre-built packet that is released. */
enum { REL_WASTED, REL_SENT, REL_FAILED /* wasted, after failing validation */ };

static inline void release(struct engine *e, struct eflow *uf, unsigned dir, int how)
{
	struct pool_buf *b = uf->craft[dir];
	if (!b)
		return;
	uf->craft[dir] = NULL;
	if (how != REL_SENT) {
		e->st.wasted++;
		uf->wasted++;
	}
	policy_outcome(&e->pol, &uf->pol, how == REL_SENT, how == REL_FAILED);
	struct pool_buf **slot = &e->probe_cache[craft_probe(b) & e->probe_mask];
	if (*slot == b)
		*slot = NULL;
	pool_put(e->pool, b); /* a double put is counted by the pool */
}

static inline void *app_of(struct engine *e, struct eflow *uf)
{
	return (uint8_t *)uf + e->app_off;
}


/* The work made ahead (engine_work.c): after the decoded packet 'c', each kind's maker in the
 * table's order (the next packet, the tunnel's keystreams, DNS prefetching), each adding what it
 * made to c->res with engine__work_add. */
void engine__work_after(struct engine *e, struct pktx *c);
/* At the end (engine_finish, after the flows' end): each kind's work still held, as waste. */
void engine__work_flush(struct engine *e);
void engine__work_add(const struct pktx *c, enum engine_work_kind kind, unsigned dir, uint32_t index,
		      uint32_t serial, uint32_t units, uint32_t units2);

/* After the decoded packet 'c' (its flow known): learn from it, predict the next one of its
 * direction and pre-build it (engine.c; a TCP packet's options are decoded into c->p).  Fills
 * the crafting fields of c->res. */
void engine__craft_next(struct engine *e, struct pktx *c);

/* With a tunnel, after the packet's transmit: the ESP work made ahead for the SA it was sealed
 * into (keystreams, and the flow's anticipated packet when its whole next packet was predicted;
 * engine_esp.c). */
void engine__esp_ahead(struct engine *e, struct pktx *c);

/* The tunnel's receiving side, for every frame the probe did not find when an SA opens here: a
 * frame addressed to such an SA is opened, and 'c' then stands for its inner packet (a frame of the Ethernet
 * link type, valid until the tunnel's next call).  Returns false when the frame was dropped
 * (counted by reason), true otherwise (opened, or nothing for the tunnel). */
bool engine__esp_open(struct engine *e, struct pktx *c);

/* Sends the egress 'o' of packet 'c': in its SA when the tunnel matches its destination
 * (engine_esp.c; c->sa, esp_how and esp_len say how).  Returns 0, or -1 when the tunnel could
 * not send it ('*why'). */
int engine__esp_tx(struct engine *e, struct pktx *c, const struct egress *o, bool *sealed,
		   enum engine_drop *why);

/* DNS prefetching (engine_prefetch.c).  Create allocates the tables when cfg.prefetch_hold_ns
 * is set outside baseline mode (-ERR_NOMEM); flush releases every template still held (waste);
 * destroy flushes and frees. */
int engine__prefetch_create(struct engine *e);
void engine__prefetch_flush(struct engine *e);
void engine__prefetch_destroy(struct engine *e);
/* A flow's first packet ('c' decoded, its flow just created, the NAT port allocated): the
 * template an answer announced for it becomes its pre-built packet of direction 0. */
void engine__prefetch_adopt(struct engine *e, const struct pktx *c);
/* After the transmit of the decoded packet 'c' (c->first: it started its flow; c->path: it was
 * not dropped): learns what the client's first packets look like, makes again the template the
 * packet's flow took, and pre-builds the templates a DNS answer announces.  Call for every
 * decoded packet. */
void engine__prefetch_after(struct engine *e, struct pktx *c);
/* The templates of answer 'batch' are finished at 'ready_ns' (cfg.craft_ready_explicit); and
 * whether any of them is still waiting for that (the PREFETCH row of engine_work.c). */
void engine__prefetch_ready(struct engine *e, uint32_t batch, uint64_t ready_ns);
bool engine__prefetch_waiting(struct engine *e, uint32_t batch);

#endif
