/* engine_api_test: the installed interface's contracts: a configuration of another version is
 * refused, statistics are read by name (every counter once, the same values engine_get_stats
 * gives), and the typed tickets of work made ahead name what they made and nothing else. */
#include "engine_stats.h"

#include <CUnit/CUnit.h>
#include <string.h>

#include "route.h"
#include "tests/pktgen.h"

static struct route_table *one_route(void)
{
	struct route_table *rt = NULL;
	CU_ASSERT_FATAL(route_table_create(&rt) == 0);
	struct route_nexthop a = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 }, .port = 1 };
	const uint8_t any[4] = { 0 };
	CU_ASSERT_FATAL(route_add(rt, 4, any, 0, &a) == 0);
	return rt;
}

/* An engine on 'rt' with the defaults, its work made ahead marked ready by the caller when
 * 'explicit_ready'. */
static struct engine *engine_on(const struct route_table *rt, bool explicit_ready)
{
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.routes = rt;
	c.craft_ready_explicit = explicit_ready;
	struct engine *e = NULL;
	struct errbuf eb;
	CU_ASSERT_FATAL(engine_create(&c, &e, &eb) == 0);
	return e;
}

static void test_other_version_refused(void)
{
	struct route_table *rt = one_route();
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.routes = rt;
	struct engine *e = NULL;
	struct errbuf eb;
	c.version = ENGINE_CFG_VERSION - 1;
	CU_ASSERT_EQUAL(engine_create(&c, &e, &eb), -ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "engine_cfg_defaults"));
	c.version = ENGINE_CFG_VERSION;
	c.size -= 8; /* a program built against a shorter struct */
	CU_ASSERT_EQUAL(engine_create(&c, &e, &eb), -ERR_INVAL);
	c.size += 8;
	CU_ASSERT_EQUAL_FATAL(engine_create(&c, &e, &eb), 0);
	engine_destroy(e);
	route_table_destroy(rt);
}

/* Runs 'n' equal-size segments of one TCP flow through 'e', the last result in '*res'. */
static void bulk(struct engine *e, unsigned n, struct engine_result *res)
{
	uint8_t pay[200], f[512];
	memset(pay, 'x', sizeof pay);
	struct gen_pkt g;
	gen_default(&g);
	g.payload = pay;
	g.plen = sizeof pay;
	for (unsigned i = 0; i < n; i++) {
		g.seq = 1 + i * (uint32_t)sizeof pay;
		g.ipid = (uint16_t)i;
		size_t len = gen_frame(&g, f, sizeof f);
		CU_ASSERT_FATAL(len > 0);
		engine_process(e, f, (uint32_t)len, (uint32_t)len, 1, 1000ull * (i + 1), res);
	}
}

struct names {
	char seen[128][48];
	unsigned n, dup;
	double hits;
};

static void note_name(void *arg, const char *name, double value)
{
	struct names *s = arg;
	for (unsigned i = 0; i < s->n; i++)
		s->dup += strcmp(s->seen[i], name) == 0;
	if (s->n < 128)
		snprintf(s->seen[s->n++], sizeof s->seen[0], "%s", name);
	if (strcmp(name, "hits") == 0)
		s->hits = value;
}

static bool has(const struct names *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->seen[i], name) == 0)
			return true;
	return false;
}

static void test_stats_by_name(void)
{
	struct route_table *rt = one_route();
	struct engine *e = engine_on(rt, false);
	bulk(e, 20, NULL);
	struct engine_stats st;
	engine_get_stats(e, &st);
	CU_ASSERT_EQUAL(st.hits, 19);
	double v = -1;
	CU_ASSERT_EQUAL(engine_stat(e, "hits", &v), 0);
	CU_ASSERT_EQUAL(v, (double)st.hits);
	CU_ASSERT_EQUAL(engine_stat(e, "packets_in", &v), 0);
	CU_ASSERT_EQUAL(v, 20);
	CU_ASSERT_EQUAL(engine_stat(e, "hit_ratio", &v), 0);
	CU_ASSERT_DOUBLE_EQUAL(v, 19.0 / 20.0, 1e-12);
	v = 7;
	CU_ASSERT_EQUAL(engine_stat(e, "no_such_counter", &v), -ERR_INVAL);
	CU_ASSERT_EQUAL(v, 7);
	CU_ASSERT_EQUAL(engine_stat(e, "esp_packets", &v), -ERR_INVAL); /* no tunnel: no ESP scalars */
	struct names s = { .n = 0 };
	engine_stats_each(e, note_name, &s);
	CU_ASSERT_EQUAL(s.dup, 0);
	CU_ASSERT_EQUAL(s.hits, 19);
	/* Every recorded counter of the list is read by its own name. */
#define API__HAS(name) CU_ASSERT_TRUE(has(&s, #name));
	ENGINE_COUNTERS(API__HAS)
#undef API__HAS
	CU_ASSERT_TRUE(has(&s, "dropped_no_route") && has(&s, "parse_truncated_l3") && !has(&s, "flows_active"));
	engine_destroy(e);
	route_table_destroy(rt);
}

static void test_tickets_name_their_work(void)
{
	struct route_table *rt = one_route();
	struct engine *e = engine_on(rt, true);
	struct engine_result r;
	bulk(e, 1, &r);
	CU_ASSERT_EQUAL_FATAL(r.n_work, 1);
	struct engine_ticket t = r.work[0].t;
	CU_ASSERT_EQUAL(t.kind, ENGINE_WORK_BUILD);
	CU_ASSERT_EQUAL(r.work[0].units, 1);
	CU_ASSERT_TRUE(engine_work_waiting(e, &t));
	struct engine_ticket stale = t, other = t, bogus = t;
	stale.serial--;
	other.dir ^= 1;
	bogus.kind = ENGINE_WORK__COUNT;
	CU_ASSERT_FALSE(engine_work_waiting(e, &stale));
	CU_ASSERT_FALSE(engine_work_waiting(e, &other));
	CU_ASSERT_FALSE(engine_work_waiting(e, &bogus));
	engine_work_ready(e, &bogus, 5000); /* names nothing: does nothing */
	CU_ASSERT_TRUE(engine_work_waiting(e, &t));
	/* Not finished: the next packet cannot use it (late), and its own build replaces it. */
	struct engine_ticket first = t;
	bulk(e, 1, &r);
	CU_ASSERT_EQUAL(r.path, ENGINE_PATH_SLOW);
	CU_ASSERT_FALSE(engine_work_waiting(e, &first));
	CU_ASSERT_EQUAL_FATAL(r.n_work, 1);
	t = r.work[0].t;
	engine_work_ready(e, &t, 1500);
	CU_ASSERT_FALSE(engine_work_waiting(e, &t));
	/* An ESP ticket without a tunnel, a prefetch ticket of an answer never seen: nothing. */
	struct engine_ticket esp = { ENGINE_WORK_ESP, 0, 0, 1 }, pf = { ENGINE_WORK_PREFETCH, 0, 0, 1 };
	CU_ASSERT_FALSE(engine_work_waiting(e, &esp));
	CU_ASSERT_FALSE(engine_work_waiting(e, &pf));
	engine_destroy(e);
	route_table_destroy(rt);
}

int engine_api_test_register(void)
{
	CU_pSuite s = CU_add_suite("engine-api", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "a configuration of another version is refused", test_other_version_refused);
	CU_add_test(s, "statistics by name: every counter once, the values engine_get_stats gives",
		    test_stats_by_name);
	CU_add_test(s, "tickets name their work and nothing else", test_tickets_name_their_work);
	return 0;
}
