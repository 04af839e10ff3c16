/* stats: the engine's scalars, named once (see stats.h). */
#include "stats.h"

#include <stdio.h>
#include <string.h>

#include "recorder.h"

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void drops(const struct engine_stats *s, unsigned from, unsigned to,
		  void (*fn)(void *arg, const char *name, double value), void *arg)
{
	for (unsigned i = from; i < to; i++) {
		char name[64];
		snprintf(name, sizeof name, "dropped_%s", engine_drop_name(i));
		fn(arg, name, (double)s->dropped[i]);
	}
}

void stats_each(const struct engine_stats *s, void (*fn)(void *arg, const char *name, double value), void *arg)
{
#define STATS__EACH(name) fn(arg, #name, (double)s->name);
#define STATS__ESP(name) fn(arg, #name, (double)s->esp.name);
	ENGINE_COUNTERS(STATS__EACH)
	fn(arg, "template_hits", (double)(s->hits - s->strict_hits));
	drops(s, 0, ENGINE_DROP_ESP_EXHAUSTED, fn, arg);
	fn(arg, "hit_ratio", ratio(s->hits, s->packets_in));
	fn(arg, "precision", ratio(s->hits, s->crafted));
	if (s->tunnel) {
		ESP_COUNTERS(STATS__ESP)
		ENGINE_TUNNEL_COUNTERS(STATS__EACH)
		drops(s, ENGINE_DROP_ESP_EXHAUSTED, ENGINE_DROP__COUNT, fn, arg);
		fn(arg, "ks_waste_ratio", ratio(s->esp.ks_bytes_wasted, s->esp.ks_bytes_built));
	}
#undef STATS__ESP
#undef STATS__EACH
	for (unsigned i = 0; i < PKT_ST__COUNT; i++) {
		if (i == PKT_ST_OK || i == PKT_ST_NON_IP)
			continue;
		char name[64];
		snprintf(name, sizeof name, "parse_%s", pkt_status_name((enum pkt_status)i));
		fn(arg, name, (double)s->parse_errors[i]);
	}
}

void engine_stats_add(struct engine_stats *sum, const struct engine_stats *s)
{
#define STATS__ADD(f) sum->f += s->f;
#define STATS__ADD_ESP(f) sum->esp.f += s->esp.f;
	ENGINE_COUNTERS(STATS__ADD)
	ENGINE_TUNNEL_COUNTERS(STATS__ADD)
	ENGINE_COUNTERS_OWN(STATS__ADD)
	ESP_COUNTERS(STATS__ADD_ESP)
	ESP_COUNTERS_OWN(STATS__ADD_ESP)
#undef STATS__ADD_ESP
#undef STATS__ADD
	for (unsigned i = 0; i < ENGINE_DROP__COUNT; i++)
		sum->dropped[i] += s->dropped[i];
	for (unsigned i = 0; i < PKT_ST__COUNT; i++)
		sum->parse_errors[i] += s->parse_errors[i];
	sum->tunnel = sum->tunnel || s->tunnel;
}

/* engine.h's statistics by name, for an embedding program. */
void engine_stats_each(const struct engine *eng, void (*fn)(void *arg, const char *name, double value), void *arg)
{
	struct engine_stats s;
	engine_get_stats(eng, &s);
	stats_each(&s, fn, arg);
}

struct find_ctx {
	const char *name;
	double value;
	bool found;
};

static void find(void *arg, const char *name, double value)
{
	struct find_ctx *c = arg;
	if (!c->found && strcmp(name, c->name) == 0) {
		c->value = value;
		c->found = true;
	}
}

int engine_stat(const struct engine *eng, const char *name, double *value)
{
	struct find_ctx c = { name, 0, false };
	engine_stats_each(eng, find, &c);
	if (!c.found)
		return -ERR_INVAL;
	*value = c.value;
	return 0;
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
	stats_each(s, put, &c);
	return c.first;
}
