/* engine_stats: the engine's counters, each named once in a list that makes the struct, the
 * scalars a run records (core/stats.c) and their sum across engines.  Not installed: an
 * embedding program reads statistics by name (engine_stats_each, engine_stat in engine.h), so
 * a new counter is one line here and changes no installed type. */
#ifndef PRECRAFT_ENGINE_STATS_H
#define PRECRAFT_ENGINE_STATS_H

#include "engine.h"
#include "esp.h"
#include "pkt.h"

/* Recorded as a run's scalars under these names, in this order. */
#define ENGINE_COUNTERS(X)                                                     \
	X(packets_in)                                                          \
	X(packets_out)                                                         \
	X(bytes_in)                                                            \
	X(bytes_out)                                                           \
	X(flows)                   /* flows started */                         \
	X(hits)                                                                \
	X(strict_hits)                                                         \
	X(payload_hits)                                                        \
	X(probe_hits)              /* hits found without decoding the frame */ \
	X(misses)                  /* the slow path in precraft/shadow mode */ \
	X(no_prediction)           /* misses with nothing pre-built */         \
	X(late)                    /* pre-built packet not finished in time */ \
	X(validation_failures)                                                 \
	X(crafted)                                                             \
	X(wasted)                                                              \
	X(craft_failures)                                                      \
	X(divergent_packets)                                                   \
	X(ip_csum_bad)             /* IPv4 header checksums wrong (forwarded) */ \
	X(flow_evictions)                                                      \
	X(flow_expirations)                                                    \
	X(flow_chain_evictions)    /* evictions of a full bucket chain */      \
	X(pool_bytes_peak)                                                     \
	X(pool_failed_gets)                                                    \
	X(pool_double_puts)                                                    \
	X(dns_answers)             /* forwarded answers that announced addresses */ \
	X(prefetch_built)          /* templates built (also in crafted) */     \
	X(prefetch_flows)          /* new flows that found one */              \
	X(prefetch_hits)           /* their first packets sent from it */      \
	X(prefetch_failed)         /* failed validation or not ready */        \
	X(prefetch_wasted)         /* never used (also in wasted) */

/* Recorded with a tunnel (beside ESP_COUNTERS, esp.h). */
#define ENGINE_TUNNEL_COUNTERS(X)                                              \
	X(esp_zero_filled)         /* captured short, sealed with zeros */     \
	X(prefetch_sa_primed)      /* SAs an announcement topped up */

/* Not recorded: gauges and the cost clock's sums (engine_cfg.cost_clock: nanoseconds and
 * packets from arrival to transmit or drop, by path, and of the work made after). */
#define ENGINE_COUNTERS_OWN(X)                                                 \
	X(flows_active)                                                        \
	X(pool_bytes_held)                                                     \
	X(flow_table_bytes)        /* with the probe cache */                  \
	X(cost_slow_ns)                                                        \
	X(cost_slow_n)                                                         \
	X(cost_hit_ns)                                                         \
	X(cost_hit_n)                                                          \
	X(cost_craft_ns)                                                       \
	X(cost_craft_n)

struct engine_stats {
#define ENGINE__FIELD(name) uint64_t name;
	ENGINE_COUNTERS(ENGINE__FIELD)
	ENGINE_TUNNEL_COUNTERS(ENGINE__FIELD)
	ENGINE_COUNTERS_OWN(ENGINE__FIELD)
#undef ENGINE__FIELD
	uint64_t dropped[ENGINE_DROP__COUNT];
	uint64_t parse_errors[PKT_ST__COUNT]; /* by status; OK and NON_IP stay 0 */
	struct esp_stats esp;      /* the tunnel's (tunnel: there is one) */
	bool tunnel;
};

void engine_get_stats(const struct engine *eng, struct engine_stats *st);

#endif
