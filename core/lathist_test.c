/* lathist_test: the one latency histogram: nearest-rank quantiles, bin error, recording. */
#include "lathist.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recorder.h"
#include "tests/suites.h"

static void test_lathist_nearest_rank_of_known_samples(void)
{
	struct lathist *h = malloc(sizeof *h);
	lathist_init(h);
	CU_ASSERT_EQUAL(lathist_quantile(h, 0.5), 0);
	/* 1..10 ns: every bin below 64 ns holds one whole number, so quantiles are exact. */
	for (uint64_t v = 10; v >= 1; v--)
		lathist_add(h, v);
	CU_ASSERT_EQUAL(lathist_quantile(h, 0.5), 5);  /* ceil(0.5 * 10) = 5th smallest */
	CU_ASSERT_EQUAL(lathist_quantile(h, 0.51), 6);
	CU_ASSERT_EQUAL(lathist_quantile(h, 0.99), 10);
	CU_ASSERT_EQUAL(lathist_quantile(h, 1.0), 10);
	CU_ASSERT_DOUBLE_EQUAL(lathist_mean(h), 5.5, 1e-9);
	CU_ASSERT_EQUAL(h->min_ns, 1);
	CU_ASSERT_EQUAL(h->max_ns, 10);
	lathist_init(h);
	for (int i = 0; i < 1000; i++)
		lathist_add(h, 60);
	CU_ASSERT_EQUAL(lathist_quantile(h, 0.5), 60);
	CU_ASSERT_EQUAL(lathist_quantile(h, 0.99), 60);
	/* Inside a wide bin the quantile follows the ranks: 1000 samples spread over the bin of
	 * [2048, 2112) ns, the median near its middle, p10 and p90 near a tenth from its ends,
	 * within the bin's width of the true ones, and moving with the counts. */
	lathist_init(h);
	for (int i = 0; i < 1000; i++)
		lathist_add(h, 2048 + (uint64_t)(i * 64 / 1000));
	double p10 = lathist_quantile(h, 0.1), p50 = lathist_quantile(h, 0.5), p90 = lathist_quantile(h, 0.9);
	CU_ASSERT(p10 < p50 && p50 < p90);
	CU_ASSERT(fabs(p50 - 2080) <= 2 && fabs(p10 - 2054.4) <= 2 && fabs(p90 - 2105.6) <= 2);
	lathist_add(h, 1000);
	lathist_add(h, 1000); /* two samples below the bin: the median moves down, by less than a ns */
	double p50b = lathist_quantile(h, 0.5);
	CU_ASSERT(p50b < p50 && p50 - p50b < 1);
	free(h);
}

static void test_lathist_error_under_two_percent(void)
{
	struct lathist *h = malloc(sizeof *h);
	for (uint64_t v = 1; v < (1ull << 40); v = v * 3 + 7) {
		lathist_init(h);
		lathist_add(h, v);
		lathist_add(h, v * 4); /* so the clamp to min/max does not hide the bin's error */
		lathist_add(h, v / 2);
		double q = lathist_quantile(h, 0.5);
		CU_ASSERT_TRUE(fabs(q - (double)v) <= 0.016 * (double)v + 0.5);
	}
	/* Bins tile the axis: each starts where the last ended. */
	for (unsigned i = 1; i + 1 < LATHIST_BINS; i++) {
		double lo, hi, lo2, hi2;
		lathist_bin_range(i, &lo, &hi);
		lathist_bin_range(i + 1, &lo2, &hi2);
		CU_ASSERT_DOUBLE_EQUAL(hi, lo2, 1e-9 * hi);
	}
	free(h);
}

struct rows {
	int scalars, bins;
	double p50;
	uint64_t counted;
};

static int r_param(void *arg, const char *n, const char *v)
{
	(void)arg, (void)n, (void)v;
	return 0;
}

static int r_scalar(void *arg, const char *n, double v)
{
	struct rows *r = arg;
	r->scalars++;
	if (strcmp(n, "latency_p50_ns") == 0)
		r->p50 = v;
	return 0;
}

static int r_vector(void *arg, const char *n, uint64_t t, double v)
{
	(void)arg, (void)n, (void)t, (void)v;
	return 0;
}

static int r_flow(void *arg, const struct recorder_flow *f)
{
	(void)arg, (void)f;
	return 0;
}

static int r_hist(void *arg, const char *n, double lo, double hi, uint64_t count)
{
	struct rows *r = arg;
	(void)lo, (void)hi;
	if (strcmp(n, "latency") == 0)
		r->counted += count;
	r->bins++;
	return 0;
}

static void test_latency_set_records_every_scalar_and_bin(void)
{
	static const struct recorder_ops ops = { r_param, r_scalar, r_vector, r_flow, r_hist };
	struct rows rows = { 0 };
	struct recorder rec = { &ops, &rows };
	struct latency_set *ls = malloc(sizeof *ls);
	latency_set_init(ls);
	for (uint64_t v = 100; v < 100000; v += 37)
		lathist_add(&ls->all, v);
	lathist_add(&ls->baseline, 500);
	CU_ASSERT_EQUAL(latency_set_record(ls, &rec), 0);
	int names = 0;
#define COUNT(name, value) names++;
	LATENCY_SCALAR_MAP(COUNT)
#undef COUNT
	CU_ASSERT_EQUAL(rows.scalars, names);
	CU_ASSERT_EQUAL(rows.counted, ls->all.n);
	CU_ASSERT_DOUBLE_EQUAL(rows.p50, lathist_quantile(&ls->all, 0.5), 1e-9);
	CU_ASSERT_EQUAL(latency_set_record(ls, NULL), 0); /* no recorder: nothing kept, no failure */
	free(ls);
}

/* Two workers' sets merged are the set of all their samples. */
static void test_latency_set_merge_is_the_union(void)
{
	static struct latency_set a, b, all;
	latency_set_init(&a);
	latency_set_init(&b);
	latency_set_init(&all);
	for (uint64_t i = 1; i <= 3000; i++) {
		uint64_t ns = i * i % 100003 + 7;
		struct latency_set *one = i % 3 ? &a : &b;
		lathist_add(&one->all, ns);
		lathist_add(&all.all, ns);
		lathist_add(i % 2 ? &one->hit : &one->slow, ns);
		lathist_add(i % 2 ? &all.hit : &all.slow, ns);
	}
	latency_set_merge(&a, &b);
	CU_ASSERT_EQUAL(memcmp(&a.all, &all.all, sizeof a.all), 0);
	CU_ASSERT_EQUAL(memcmp(&a.hit, &all.hit, sizeof a.hit), 0);
	CU_ASSERT_EQUAL(memcmp(&a.slow, &all.slow, sizeof a.slow), 0);
	CU_ASSERT_EQUAL(a.baseline.n, 0);
	CU_ASSERT_EQUAL(a.all.n, 3000);
}

int lathist_test_register(void)
{
	CU_pSuite s = CU_add_suite("lathist", NULL, NULL);
	if (!s || !CU_add_test(s, "nearest rank of known samples", test_lathist_nearest_rank_of_known_samples) ||
	    !CU_add_test(s, "error under two percent", test_lathist_error_under_two_percent) ||
	    !CU_add_test(s, "latency set records every scalar and bin", test_latency_set_records_every_scalar_and_bin) ||
	    !CU_add_test(s, "merged latency sets are the union of their samples", test_latency_set_merge_is_the_union))
		return -1;
	return 0;
}
