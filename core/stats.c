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
