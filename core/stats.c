/* stats: the engine's scalars, named once (see stats.h). */
#include "stats.h"

#include <stdio.h>

#include "recorder.h"

void engine_stats_each(const struct engine_stats *s, void (*fn)(void *arg, const char *name, double value),
		       void *arg)
{
#define STATS__EACH(name, value) fn(arg, #name, (double)(value));
	ENGINE_SCALAR_MAP(STATS__EACH)
	if (s->tunnel) {
		ENGINE_ESP_SCALAR_MAP(STATS__EACH)
	}
#undef STATS__EACH
	for (unsigned i = 0; i < PKT_ST__COUNT; i++) {
		if (i == PKT_ST_OK || i == PKT_ST_NON_IP)
			continue;
		char name[64];
		snprintf(name, sizeof name, "parse_%s", pkt_status_name((enum pkt_status)i));
		fn(arg, name, (double)s->parse_errors[i]);
	}
}

#define STATS__COUNTERS(X)                                                                             \
	X(packets_in) X(packets_out) X(bytes_in) X(bytes_out) X(hits) X(strict_hits) X(payload_hits)     \
	X(probe_hits) X(misses) X(no_prediction) X(validation_failures) X(late) X(crafted) X(wasted)     \
	X(craft_failures) X(divergent_packets) X(ip_csum_bad) X(flows) X(flows_active) X(flow_evictions) \
	X(flow_expirations) X(flow_chain_evictions) X(pool_bytes_peak) X(pool_bytes_held)               \
	X(pool_failed_gets) X(pool_double_puts) X(flow_table_bytes) X(cost_slow_ns) X(cost_slow_n)       \
	X(cost_hit_ns) X(cost_hit_n) X(cost_craft_ns) X(cost_craft_n) X(esp_packets) X(esp_oneshot)     \
	X(esp_keystream) X(esp_anticipated) X(esp_zero_filled) X(ks_bytes_built) X(ks_bytes_used)       \
	X(ks_bytes_wasted) X(ks_entries_built) X(ks_late) X(ks_short) X(esp_anticipated_built)          \
	X(esp_anticipated_wasted) X(esp_mem_bytes) X(dns_answers) X(prefetch_built) X(prefetch_flows)       \
	X(prefetch_hits) X(prefetch_failed) X(prefetch_wasted) X(prefetch_sa_primed)

/* A counter added to struct engine_stats and not to the list fails the build here. */
#define STATS__ONE(f) +1
_Static_assert(sizeof(struct engine_stats) ==
		       ((0 STATS__COUNTERS(STATS__ONE)) + ENGINE_DROP__COUNT + PKT_ST__COUNT + 1) * sizeof(uint64_t),
	       "engine_stats_add misses a field of struct engine_stats");
#undef STATS__ONE

void engine_stats_add(struct engine_stats *sum, const struct engine_stats *s)
{
#define STATS__ADD(f) sum->f += s->f;
	STATS__COUNTERS(STATS__ADD)
#undef STATS__ADD
	for (unsigned i = 0; i < ENGINE_DROP__COUNT; i++)
		sum->dropped[i] += s->dropped[i];
	for (unsigned i = 0; i < PKT_ST__COUNT; i++)
		sum->parse_errors[i] += s->parse_errors[i];
	sum->tunnel = sum->tunnel || s->tunnel;
}

struct rec_ctx {
	const struct recorder *r;
	int first;
};

static void put(void *arg, const char *name, double value)
{
	struct rec_ctx *c = arg;
	int rc = rec_scalar(c->r, name, value);
	if (rc && !c->first)
		c->first = rc;
}

int engine_stats_record(const struct engine_stats *s, const struct recorder *r)
{
	struct rec_ctx c = { r, 0 };
	engine_stats_each(s, put, &c);
	return c.first;
}
