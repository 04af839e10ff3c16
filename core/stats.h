/* stats: every scalar the engine's counters give, named once.
 *
 * ENGINE_SCALAR_MAP is the one list of engine scalar names and how each is computed from
 * struct engine_stats.  Every runner (replay, replay --timed, sim, hil forward) writes exactly
 * these through engine_stats_record(), and the summaries print them through engine_stats_each(),
 * so a new counter is one line here.  The runner-level latency scalars are in lathist.h
 * (LATENCY_SCALAR_MAP); a runner may add scalars of its own (link drops, injection errors).
 * Each value is an expression of a `const struct engine_stats *s` in scope. */
#ifndef PRECRAFT_STATS_H
#define PRECRAFT_STATS_H

#include "engine.h"

struct recorder;

#define STATS__RATIO(a, b) ((b) ? (double)(a) / (double)(b) : 0.0)

#define ENGINE_SCALAR_MAP(X)                                                   \
	X(packets_in, s->packets_in)                                           \
	X(packets_out, s->packets_out)                                         \
	X(bytes_in, s->bytes_in)                                               \
	X(bytes_out, s->bytes_out)                                             \
	X(flows, s->flows)                                                     \
	X(hits, s->hits)                                                       \
	X(strict_hits, s->strict_hits)                                         \
	X(template_hits, s->hits - s->strict_hits)                             \
	X(payload_hits, s->payload_hits)                                       \
	X(probe_hits, s->probe_hits)                                           \
	X(misses, s->misses)                                                   \
	X(no_prediction, s->no_prediction)                                     \
	X(late, s->late)                                                       \
	X(validation_failures, s->validation_failures)                         \
	X(crafted, s->crafted)                                                 \
	X(wasted, s->wasted)                                                   \
	X(craft_failures, s->craft_failures)                                   \
	X(divergent_packets, s->divergent_packets)                             \
	X(dropped_no_route, s->dropped[ENGINE_DROP_NO_ROUTE])                  \
	X(dropped_ttl_expired, s->dropped[ENGINE_DROP_TTL_EXPIRED])            \
	X(dropped_non_ip, s->dropped[ENGINE_DROP_NON_IP])                      \
	X(dropped_parse_error, s->dropped[ENGINE_DROP_PARSE])                  \
	X(dropped_nat_exhausted, s->dropped[ENGINE_DROP_NAT_EXHAUSTED])        \
	X(ip_csum_bad, s->ip_csum_bad)                                         \
	X(flow_evictions, s->flow_evictions)                                   \
	X(flow_expirations, s->flow_expirations)                               \
	X(flow_chain_evictions, s->flow_chain_evictions)                       \
	X(pool_bytes_peak, s->pool_bytes_peak)                                 \
	X(pool_failed_gets, s->pool_failed_gets)                               \
	X(pool_double_puts, s->pool_double_puts)                               \
	X(dns_answers, s->dns_answers)                                         \
	X(prefetch_built, s->prefetch_built)                                   \
	X(prefetch_flows, s->prefetch_flows)                                   \
	X(prefetch_hits, s->prefetch_hits)                                     \
	X(prefetch_failed, s->prefetch_failed)                                 \
	X(prefetch_wasted, s->prefetch_wasted)                                 \
	X(hit_ratio, STATS__RATIO(s->hits, s->packets_in))                     \
	X(precision, STATS__RATIO(s->hits, s->crafted))

/* With a tunnel (s->tunnel), these too. */
#define ENGINE_ESP_SCALAR_MAP(X)                                               \
	X(esp_packets, s->esp_packets)                                         \
	X(dropped_esp_exhausted, s->dropped[ENGINE_DROP_ESP_EXHAUSTED])        \
	X(dropped_esp_too_big, s->dropped[ENGINE_DROP_ESP_TOO_BIG])            \
	X(dropped_esp_crypto_error, s->dropped[ENGINE_DROP_ESP_CRYPTO])        \
	X(esp_sealed_oneshot, s->esp_oneshot)                                  \
	X(esp_sealed_keystream, s->esp_keystream)                              \
	X(esp_sealed_anticipated, s->esp_anticipated)                          \
	X(esp_zero_filled, s->esp_zero_filled)                                 \
	X(ks_bytes_built, s->ks_bytes_built)                                   \
	X(ks_bytes_used, s->ks_bytes_used)                                     \
	X(ks_bytes_wasted, s->ks_bytes_wasted)                                 \
	X(ks_entries_built, s->ks_entries_built)                               \
	X(ks_late, s->ks_late)                                                 \
	X(ks_short, s->ks_short)                                               \
	X(esp_anticipated_built, s->esp_anticipated_built)                     \
	X(esp_anticipated_wasted, s->esp_anticipated_wasted)                   \
	X(esp_mem_bytes, s->esp_mem_bytes)                                     \
	X(prefetch_sa_primed, s->prefetch_sa_primed)                           \
	X(ks_waste_ratio, STATS__RATIO(s->ks_bytes_wasted, s->ks_bytes_built))

/* Calls 'fn' with every engine scalar's name and value, in the map's order. */
void engine_stats_each(const struct engine_stats *s, void (*fn)(void *arg, const char *name, double value),
		       void *arg);

/* Adds the counters of 's' to 'sum', for a run of several engines (engine_cfg.shards): every
 * counter is the total; pool_bytes_peak becomes the sum of the engines' peaks (an upper bound
 * of the total's peak, which no engine sees). */
void engine_stats_add(struct engine_stats *sum, const struct engine_stats *s);

/* Writes every engine scalar and the parse errors by status (parse_truncated, ...).  Returns
 * the first error. */
int engine_stats_record(const struct engine_stats *s, const struct recorder *r);

#endif
