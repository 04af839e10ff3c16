/* quota_test: the workers' shared packet count (quota.h).  A worker whose ring is empty never
 * ends the count, and workers whose rings hold exactly 'limit' packets between them process
 * them all, whichever ring the last one is in. */
#include "quota.h"

#include <CUnit/CUnit.h>
#include <pthread.h>
#include <time.h>

/* The sequence that lost hil/lab check's last frame: worker A finds its ring empty while the
 * last packet waits in worker B's. */
static void test_empty_ring(void)
{
	struct quota q;
	quota_init(&q, 3);
	for (int i = 0; i < 2; i++)
		CU_ASSERT_FATAL(quota_claim(&q));
	/* A: nothing read, nothing claimed */
	CU_ASSERT_FALSE(quota_reached(&q)); /* B must not stop here */
	CU_ASSERT_FATAL(quota_claim(&q));   /* B claims the last packet it read */
	CU_ASSERT_TRUE(quota_reached(&q));
	CU_ASSERT_FALSE(quota_claim(&q));   /* a fourth is past the count */
}

static void test_no_limit(void)
{
	struct quota q;
	quota_init(&q, 0);
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_FATAL(quota_claim(&q));
	CU_ASSERT_FALSE(quota_reached(&q));
}

enum { LIMIT = 64, ROUNDS = 300 };

struct ring_worker {
	struct quota *q;
	atomic_int *pending;       /* the packets waiting in this worker's ring */
	int got;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* capture_loop's reading, with a counter for a ring; stops on the quota, or after 5 s (as the
 * runner's --duration would) when a packet was left where no reader looks. */
static void *reader(void *arg)
{
	struct ring_worker *w = arg;
	double deadline = now_s() + 5;
	while (!quota_reached(w->q) && now_s() < deadline) {
		for (;;) {
			int n = atomic_load(w->pending);
			if (n == 0 || !atomic_compare_exchange_strong(w->pending, &n, n - 1))
				break; /* nothing read */
			if (!quota_claim(w->q))
				break;
			w->got++;
		}
	}
	return NULL;
}

static void test_workers_read_all(void)
{
	for (int r = 0; r < ROUNDS; r++) {
		struct quota q;
		quota_init(&q, LIMIT);
		atomic_int pending[2];
		atomic_init(&pending[0], 0);
		atomic_init(&pending[1], 0);
		struct ring_worker w[2] = { { &q, &pending[0], 0 }, { &q, &pending[1], 0 } };
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			CU_ASSERT_FATAL(pthread_create(&t[i], NULL, reader, &w[i]) == 0);
		/* Most packets to worker 0, the last ones to worker 1, as a flow hash may send them. */
		for (int k = 0; k < LIMIT; k++)
			atomic_fetch_add(&pending[k >= LIMIT - 2 ? 1 : (k & 3) == 0], 1);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(w[0].got + w[1].got, LIMIT);
		CU_ASSERT_EQUAL(atomic_load(&pending[0]) + atomic_load(&pending[1]), 0);
	}
}

int quota_test_register(void)
{
	CU_pSuite s = CU_add_suite("quota", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "an empty ring does not end the count", test_empty_ring);
	CU_add_test(s, "no limit: never reached", test_no_limit);
	CU_add_test(s, "two workers read exactly the limit, the last packet in either ring", test_workers_read_all);
	return 0;
}
