/* pool_test: size classes, budget, quota, large frames, double puts. */
#include "pool.h"

#include <CUnit/CUnit.h>
#include <string.h>

static struct pool *mk(size_t budget, uint32_t quota, uint32_t large)
{
	struct pool_cfg c = { .budget_bytes = budget, .flow_quota_bytes = quota, .large_slots = large,
			      .large_bytes = 200000, .poison = 1 };
	struct pool *p = NULL;
	CU_ASSERT_EQUAL(pool_create(&c, &p), 0);
	return p;
}

static void test_pool_classes_fit_the_request(void)
{
	CU_ASSERT_EQUAL(pool_class_capacity(1), 64 - sizeof(struct pool_buf));
	CU_ASSERT_EQUAL(pool_class_capacity(1500), 2048 - sizeof(struct pool_buf));
	CU_ASSERT_EQUAL(pool_class_capacity(65536 - sizeof(struct pool_buf)), 65536 - sizeof(struct pool_buf));
	CU_ASSERT_EQUAL(pool_class_capacity(65536), 0); /* the large path */
	struct pool *p = mk(1 << 20, 0, 0);
	struct pool_buf *b;
	CU_ASSERT_EQUAL_FATAL(pool_get(p, 1500, NULL, &b), 0);
	CU_ASSERT_TRUE(b->cap >= 1500);
	memset(pool_buf_data(b), 0xab, b->cap); /* the whole capacity is usable */
	struct pool_stats st;
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.held_bytes, 2048);
	CU_ASSERT_EQUAL(pool_put(p, b), 0);
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.held_bytes, 0);
	CU_ASSERT_EQUAL(st.peak_bytes, 2048);
	/* A freed buffer is reused first. */
	struct pool_buf *b2;
	CU_ASSERT_EQUAL(pool_get(p, 1500, NULL, &b2), 0);
	CU_ASSERT_PTR_EQUAL(b, b2);
	CU_ASSERT_EQUAL(pool_put(p, b2), 0);
	pool_destroy(p);
}

static void test_pool_budget_runs_out_cleanly(void)
{
	struct pool *p = mk(4 * POOL_PAGE, 0, 0);
	struct pool_buf *bufs[64];
	int n = 0, rc;
	while ((rc = pool_get(p, 16000, NULL, &bufs[n])) == 0 && n < 63)
		n++;
	CU_ASSERT_EQUAL(rc, -ERR_NOBUFS);
	CU_ASSERT_EQUAL(n, 16); /* 4 pages of 4 x 16 KiB slots */
	struct pool_stats st;
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.failed_nobufs, 1);
	CU_ASSERT_EQUAL(st.held_bytes, 4 * POOL_PAGE);
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(pool_put(p, bufs[i]), 0);
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.held_bytes, 0);
	pool_destroy(p);
}

static void test_pool_quota_limits_one_flow(void)
{
	struct pool *p = mk(1 << 20, 4096, 0);
	uint32_t flow_a = 0, flow_b = 0;
	struct pool_buf *a1, *a2, *a3, *b1;
	CU_ASSERT_EQUAL(pool_get(p, 1500, &flow_a, &a1), 0);
	CU_ASSERT_EQUAL(pool_get(p, 1500, &flow_a, &a2), 0);
	CU_ASSERT_EQUAL(flow_a, 4096);
	CU_ASSERT_EQUAL(pool_get(p, 10, &flow_a, &a3), -ERR_QUOTA);
	CU_ASSERT_EQUAL(pool_get(p, 1500, &flow_b, &b1), 0); /* another flow is not affected */
	CU_ASSERT_EQUAL(pool_put(p, a1), 0);
	CU_ASSERT_EQUAL(flow_a, 2048);
	CU_ASSERT_EQUAL(pool_put(p, a2), 0);
	CU_ASSERT_EQUAL(pool_put(p, b1), 0);
	CU_ASSERT_EQUAL(flow_a + flow_b, 0);
	pool_destroy(p);
}

static void test_pool_large_frames_take_the_large_path(void)
{
	struct pool *p = mk(2 << 20, 0, 2);
	struct pool_buf *l1, *l2, *l3;
	CU_ASSERT_EQUAL(pool_get(p, 100000, NULL, &l1), 0);
	CU_ASSERT_TRUE(l1->cap >= 100000);
	CU_ASSERT_EQUAL(pool_get(p, 70000, NULL, &l2), 0);
	CU_ASSERT_EQUAL(pool_get(p, 70000, NULL, &l3), -ERR_NOBUFS);
	CU_ASSERT_EQUAL(pool_get(p, 10u << 20, NULL, &l3), -ERR_INVAL);
	CU_ASSERT_EQUAL(pool_put(p, l1), 0);
	CU_ASSERT_EQUAL(pool_put(p, l2), 0);
	pool_destroy(p);
	struct pool_cfg c = { .budget_bytes = 100000, .large_slots = 2, .large_bytes = 200000 };
	struct pool *bad = NULL;
	CU_ASSERT_EQUAL(pool_create(&c, &bad), -ERR_INVAL); /* budget cannot hold them */
}

static void test_pool_double_put_is_caught(void)
{
	struct pool *p = mk(1 << 20, 0, 0);
	struct pool_buf *b;
	CU_ASSERT_EQUAL_FATAL(pool_get(p, 100, NULL, &b), 0);
	CU_ASSERT_EQUAL(pool_put(p, b), 0);
	CU_ASSERT_EQUAL(pool_put(p, b), -ERR_DOUBLE_PUT);
	CU_ASSERT_EQUAL(pool_buf_data(b)[0], 0x6b); /* poisoned */
	struct pool_stats st;
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.double_puts, 1);
	CU_ASSERT_EQUAL(st.puts, 1);
	CU_ASSERT_EQUAL(st.held_bytes, 0);
	pool_destroy(p);
	pool_destroy(NULL);
}

int pool_test_register(void)
{
	CU_pSuite s = CU_add_suite("pool", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "classes fit the request", test_pool_classes_fit_the_request);
	CU_add_test(s, "budget runs out cleanly", test_pool_budget_runs_out_cleanly);
	CU_add_test(s, "quota limits one flow", test_pool_quota_limits_one_flow);
	CU_add_test(s, "large frames take the large path", test_pool_large_frames_take_the_large_path);
	CU_add_test(s, "double put is caught", test_pool_double_put_is_caught);
	return 0;
}
