/* grid_test: a sweep's grid: lists, both kinds of range, the point order, and the errors. */
#include "grid.h"

#include <CUnit/CUnit.h>
#include <string.h>

#include "tests/suites.h"

static void expect_axis(const char *spec, const char *const *want, unsigned n)
{
	struct grid g = { 0 };
	struct errbuf eb = { "" };
	CU_ASSERT_EQUAL_FATAL(grid_add(&g, spec, &eb), 0);
	CU_ASSERT_EQUAL(grid_points(&g), n);
	for (unsigned i = 0; i < n && i < g.axis[0].n; i++)
		CU_ASSERT_STRING_EQUAL(grid_value(&g, i, 0), want[i]);
	grid_free(&g);
}

static void test_grid_lists_and_ranges(void)
{
	expect_axis("policy.kind=off,static,adaptive", (const char *const[]){ "off", "static", "adaptive" }, 3);
	expect_axis("source.a.flows=1..10:2", (const char *const[]){ "1", "3", "5", "7", "9" }, 5);
	/* Binary fractions: 0.1 + 2 * 0.1 is not 0.3, the end is kept all the same. */
	expect_axis("k=0.1..0.3:0.1", (const char *const[]){ "0.1", "0.2", "0.3" }, 3);
	expect_axis("k=1e3..1e6*10", (const char *const[]){ "1000", "10000", "100000", "1000000" }, 4);
	expect_axis("k=0,5..6:1,x", (const char *const[]){ "0", "5", "6", "x" }, 4);
	expect_axis("k=2..2:1", (const char *const[]){ "2" }, 1);
	/* A value that is not a range: a relative path. */
	expect_axis("source.main.file=../traces/a.pcap,../b.pcap", (const char *const[]){ "../traces/a.pcap", "../b.pcap" }, 2);
	/* Exact step counts (issue 34): a tiny step past an equal end is one point, not six; the
	 * end is never passed; a step that does not land on TO stops before it. */
	expect_axis("k=0.5..0.5:1e-10", (const char *const[]){ "0.5" }, 1);
	expect_axis("k=0.3..0.3000000001:1e-10", (const char *const[]){ "0.3", "0.3000000001" }, 2);
	expect_axis("k=0..1:0.3", (const char *const[]){ "0", "0.3", "0.6", "0.9" }, 4);
	expect_axis("k=0.1..0.7:0.2", (const char *const[]){ "0.1", "0.3", "0.5", "0.7" }, 4);
	expect_axis("k=1..1000*10", (const char *const[]){ "1", "10", "100", "1000" }, 4);
	expect_axis("k=1..999*10", (const char *const[]){ "1", "10", "100" }, 3);
	struct grid g = { 0 };
	struct errbuf eb = { "" };
	CU_ASSERT_EQUAL_FATAL(grid_add(&g, "k=0..1:0.001", &eb), 0);
	CU_ASSERT_EQUAL(grid_points(&g), 1001);
	CU_ASSERT_STRING_EQUAL(grid_value(&g, 1000, 0), "1");
	grid_free(&g);
}

static void test_grid_points_last_axis_fastest(void)
{
	struct grid g = { 0 };
	struct errbuf eb = { "" };
	CU_ASSERT_EQUAL(grid_points(&g), 1);
	CU_ASSERT_EQUAL_FATAL(grid_add(&g, "a.x=1,2", &eb), 0);
	CU_ASSERT_EQUAL_FATAL(grid_add(&g, "b.y=p,q,r", &eb), 0);
	CU_ASSERT_EQUAL(grid_points(&g), 6);
	char t[64];
	grid_point_text(&g, 0, t, sizeof t);
	CU_ASSERT_STRING_EQUAL(t, "a.x=1 b.y=p");
	grid_point_text(&g, 4, t, sizeof t);
	CU_ASSERT_STRING_EQUAL(t, "a.x=2 b.y=q");
	grid_point_text(&g, 5, t, sizeof t);
	CU_ASSERT_STRING_EQUAL(t, "a.x=2 b.y=r");
	grid_free(&g);
}

static void test_grid_errors(void)
{
	static const char *const bad[] = { "novalue", "=1,2", "k=", "k=1,,2", "k=1..", "k=5..1:1", "k=1..5:0",
					   "k=0..5*2", "k=1..5*1", "k=1..5:-1", "k=1..5", "k=1..1e9:1",
					   /* a value twice: two points with one key (issue 34) */
					   "policy.kind=off,off,static", "k=1,1.0", "k=1..3:1,2", "k=5,x,5",
					   /* the replication number is --runs' */
					   "run.run=1,2" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct grid g = { 0 };
		struct errbuf eb = { "" };
		CU_ASSERT_EQUAL(grid_add(&g, bad[i], &eb), -ERR_FORMAT);
		CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, bad[i]));
		CU_ASSERT_EQUAL(g.n_axes, 0);
		grid_free(&g);
	}
	struct grid g = { 0 };
	struct errbuf eb = { "" };
	CU_ASSERT_EQUAL(grid_add(&g, "k=1,2", &eb), 0);
	CU_ASSERT_EQUAL(grid_add(&g, "k=3", &eb), -ERR_FORMAT); /* the same key twice */
	CU_ASSERT_EQUAL(grid_add(&g, "a=1..1000:1", &eb), 0);
	CU_ASSERT_EQUAL(grid_add(&g, "b=1..1000:1", &eb), -ERR_FORMAT); /* 2 million points */
	CU_ASSERT_EQUAL(g.n_axes, 2);
	grid_free(&g);
}

int grid_test_register(void)
{
	CU_pSuite s = CU_add_suite("grid", NULL, NULL);
	if (!s || !CU_add_test(s, "lists and ranges", test_grid_lists_and_ranges) ||
	    !CU_add_test(s, "points: the last axis fastest", test_grid_points_last_axis_fastest) ||
	    !CU_add_test(s, "errors", test_grid_errors))
		return -1;
	return 0;
}
