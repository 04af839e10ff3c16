/* runner: the shaper and its traffic on real interfaces.
 *
 *   forward  the device under test: captures on one interface, runs every packet through the
 *            engine, injects what it transmits on the other; measures each packet's latency
 *            from the kernel's capture timestamp to the end of its injection (of its processing
 *            when it is dropped) into the runner's latency set (core/lathist.h), without
 *            allocating.
 *   replay   a traffic generator: sends a capture's frames, each at its absolute time from the
 *            first (sleeping to just before it, then spinning), so errors do not add up as they
 *            do when sleeping delta by delta; measures its own send-time error.
 *   capture  a sink: counts what arrives, optionally writing it to a capture file.
 *
 * Every mode stops by count or duration, or when '*stop' is set (Ctrl-C), and keeps what it
 * measured.  Handles are opened first; then 'user' (when set) drops root, as tcpdump -Z does,
 * and 'ready' (when set) is created once capturing. */
#ifndef PRECRAFT_HIL_RUNNER_H
#define PRECRAFT_HIL_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/engine_stats.h"
#include "core/err.h"

struct engine_cfg;
struct engine_stats;
struct latency_set;

enum hil_inject { HIL_INJECT_PCAP, HIL_INJECT_LIBNET };

struct hil_cfg {
	const char *in, *out;      /* interfaces */
	enum hil_inject inject;
	uint64_t count;            /* packets (forward, capture) or frames sent (replay); 0 = no limit */
	double duration_s;         /* 0 = no limit */
	const char *user, *ready, *write;
	/* replay */
	double speed, pps;         /* pps 0: the capture's own timing, scaled by 'speed' */
	bool topspeed;
	uint64_t loop;             /* passes over the capture; 0 = until count, duration or Ctrl-C */
	/* forward: workers, each a thread with its own capture handle (the kernel's packet fanout
	 * by flow hash spreads the flows over them), injector and engine (a shard with its share of
	 * the flow table and pool: engine_cfg.shards); 0 or 1 = one, in the calling thread.  'pin':
	 * worker i on the i-th CPU the process may use (mod their number). */
	unsigned workers;
	bool pin;
	/* forward and capture: each capture handle's kernel ring, MiB (0: 256, pcapio.h).  A ring
	 * the size of a NIC's (a few thousand frames) makes an overload show as loss, as RFC 2544
	 * asks, rather than as a queue that grows for seconds. */
	unsigned ring_mb;
	/* forward and capture: spin on non-blocking reads of the memory-mapped ring instead of
	 * sleeping in poll(), so that a packet is taken within a microsecond of its arrival, not
	 * when the kernel gets round to waking the thread.  Costs a whole CPU per worker: forward
	 * pins its workers with it. */
	bool busy_poll;
	volatile sig_atomic_t *stop;
	/* forward: when '*reload' is set (SIGHUP), the route table is read again from
	 * 'routes_path' and published to the workers while they run (rcu.h: no lock on the
	 * per-packet path; the old table is freed once every worker has passed a packet boundary).
	 * A file that does not load leaves the old table in use.  'on_reload' (may be NULL) hears
	 * each attempt: 0 and the path, or the error. */
	const char *routes_path;
	/* forward, one worker: the egress crosses a compressed link (core/hc.h): each frame goes
	 * compressed inside an Ethernet frame of type HC_ETHERTYPE with the egress frame's
	 * addresses, after the compressor's hello in one such frame; NULL: plain frames. */
	struct hc *compress;
	/* with 'compress': each compressed frame, once made, is not sent with probability
	 * 'tx_loss' (xorshift from 'tx_seed'): a lossy wire where the kernel has no tc netem; the
	 * compressor has counted it as sent, as it would a frame the wire lost */
	double tx_loss;
	uint64_t tx_seed;
	volatile sig_atomic_t *reload;
	void (*on_reload)(void *arg, int rc, const char *msg);
	void *on_reload_arg;
};

#define HIL_MAX_WORKERS 64

/* One worker's own figures (forward). */
struct hil_worker_result {
	uint64_t packets, sent, capture_dropped, flows, hits;
	double latency_p50_ns, latency_p99_ns;
	int cpu;                   /* pinned to, or -1 */
};

/* What a mode measured; every field its own, zero where it does not apply. */
struct hil_result {
	uint64_t packets, bytes;   /* captured (forward, capture) */
	uint64_t sent, inject_errors;
	uint64_t capture_received, capture_dropped;
	double seconds;
	bool started;              /* the handles were open and the mode ran */
	bool interrupted;
	char inject_error[ERR_MSG_LEN]; /* the first injection error */
	/* replay */
	double send_error_p50_ns, send_error_p99_ns, send_error_max_ns, drift;
	/* forward: the workers (the fields above are their totals, 'seconds' the longest) */
	uint64_t routes_reloads, routes_reload_errors;
	uint64_t tx_lost;          /* compressed frames not sent (tx_loss) */
	unsigned workers;
	struct hil_worker_result worker[HIL_MAX_WORKERS];
};

/* Runs the engine configured by 'ecfg' (its tx is the runner's; flow_end and the rest are the
 * caller's) between c->in and c->out, on c->workers workers.  With more than one, ecfg's
 * flow_end is called from every worker's thread: it must be thread-safe.  'lat' and 'es' are
 * the workers' totals.  Returns 0, or a negative ERR_*: -ERR_NOTFOUND or -ERR_IO before
 * anything ran (a missing interface, no permission, no fanout), or -ERR_IO when capture failed
 * part way ('res', 'lat' and 'es' hold what came before). */
int hil_forward(const struct hil_cfg *c, struct engine_cfg *ecfg, struct latency_set *lat, struct engine_stats *es,
		struct hil_result *res, struct errbuf *eb) WARN_UNUSED;

/* Sends capture 'trace' (any format traces/trace.h reads) on c->out. */
int hil_replay(const struct hil_cfg *c, const char *trace, struct hil_result *res, struct errbuf *eb) WARN_UNUSED;

/* Counts what arrives on c->in (and writes it to c->write when set). */
int hil_capture(const struct hil_cfg *c, struct hil_result *res, struct errbuf *eb) WARN_UNUSED;

#endif
