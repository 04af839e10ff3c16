/* stats: every scalar the engine's counters give.  The counters are named once, in
 * engine_stats.h's lists (esp.h's for the tunnel); this adds the scalars derived from them.
 * Every runner (replay, replay --timed, sim, hil forward) writes exactly these through
 * engine_stats_record(), and the summaries print them through stats_each(), so a new counter is
 * one line in a list.  The runner-level latency scalars are in lathist.h (LATENCY_SCALAR_MAP); a
 * runner may add scalars of its own (link drops, injection errors). */
#ifndef PRECRAFT_STATS_H
#define PRECRAFT_STATS_H

#include "engine_stats.h"

struct recorder;

/* Calls 'fn' with every engine scalar's name and value: the counters (ENGINE_COUNTERS), the
 * template hits, the drops by reason (dropped_no_route, ...), the hit ratio and precision;
 * with a tunnel its counters (ESP_COUNTERS, ENGINE_TUNNEL_COUNTERS), its drops and the
 * keystream waste ratio; then the parse errors by status (parse_truncated, ...). */
void stats_each(const struct engine_stats *s, void (*fn)(void *arg, const char *name, double value), void *arg);

/* Adds the counters of 's' to 'sum', for a run of several engines (engine_cfg.shards): every
 * counter is the total; pool_bytes_peak becomes the sum of the engines' peaks (an upper bound
 * of the total's peak, which no engine sees). */
void engine_stats_add(struct engine_stats *sum, const struct engine_stats *s);

/* Writes every engine scalar and the parse errors by status (parse_truncated, ...).  Returns
 * the first error. */
int engine_stats_record(const struct engine_stats *s, const struct recorder *r);

#endif
