/* recorder: where a run's results go, as an interface.
 *
 * The parts below the command line (the engine's statistics, the simulator, the HIL runner)
 * record parameters, scalars, time series, per-flow rows and histograms through this interface
 * and never name the store: only command handlers open the SQLite store (analysis/store.h),
 * which implements it.  A NULL recorder, or one with no ops, takes every row and keeps none.
 *
 * Every call returns 0 or a negative ERR_*; an implementation also remembers its first failure
 * (the store turns the run 'failed' and names what was lost), so callers on hot paths may ignore
 * the return value without losing the fact that a row did not land. */
#ifndef PRECRAFT_RECORDER_H
#define PRECRAFT_RECORDER_H

#include <stddef.h>
#include <stdint.h>

/* A flow's row: FlowMonitor-like statistics (DESIGN.md §4). */
struct recorder_flow {
	uint64_t flow_id;
	uint8_t proto;
	char src[48], dst[48];     /* addresses, text, of the flow's first packet's sender/receiver */
	uint16_t sport, dport;
	uint64_t packets, bytes, hits, misses, wasted;
	uint64_t delay_sum_ns, jitter_sum_ns, lost;
	uint64_t first_ns, last_ns;
};

struct recorder_ops {
	int (*param)(void *arg, const char *name, const char *value);
	int (*scalar)(void *arg, const char *name, double value);
	int (*vector)(void *arg, const char *name, uint64_t t_ns, double value);
	int (*flow)(void *arg, const struct recorder_flow *f);
	/* One bin [lo, hi) of histogram 'name' holding 'count' samples. */
	int (*histogram)(void *arg, const char *name, double lo, double hi, uint64_t count);
};

struct recorder {
	const struct recorder_ops *ops;
	void *arg;
};

static inline int rec_param(const struct recorder *r, const char *name, const char *value)
{
	return r && r->ops ? r->ops->param(r->arg, name, value) : 0;
}

static inline int rec_scalar(const struct recorder *r, const char *name, double value)
{
	return r && r->ops ? r->ops->scalar(r->arg, name, value) : 0;
}

static inline int rec_vector(const struct recorder *r, const char *name, uint64_t t_ns, double value)
{
	return r && r->ops ? r->ops->vector(r->arg, name, t_ns, value) : 0;
}

static inline int rec_flow(const struct recorder *r, const struct recorder_flow *f)
{
	return r && r->ops ? r->ops->flow(r->arg, f) : 0;
}

static inline int rec_histogram(const struct recorder *r, const char *name, double lo, double hi, uint64_t count)
{
	return r && r->ops ? r->ops->histogram(r->arg, name, lo, hi, count) : 0;
}

/* Fills 'f' from the engine's record of a flow that ended (timing fields zero). */
struct engine_flow_info;
void recorder_flow_init(struct recorder_flow *f, const struct engine_flow_info *fi);

/* A formatted parameter ("%llu", "%g", ...). */
int rec_paramf(const struct recorder *r, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
