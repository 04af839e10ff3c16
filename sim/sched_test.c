/* sched_test: ordering, ties, cancellation, stop time; RNG stream reproducibility. */
#include "sched.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

struct rec {
	struct sched_event ev;
	int id;
};

static int order[4096], n_order;

static void record(struct sched *s, struct sched_event *ev)
{
	(void)s;
	order[n_order++] = container_of(ev, struct rec, ev)->id;
}

static void test_sched_same_time_runs_fifo(void)
{
	struct sched *s;
	CU_ASSERT_FATAL(sched_create(4, &s) == 0);
	static struct rec r[100];
	n_order = 0;
	for (int i = 0; i < 100; i++) {
		r[i].id = i;
		sched_event_init(&r[i].ev);
		CU_ASSERT(sched_at(s, &r[i].ev, 50, record) == 0);
	}
	CU_ASSERT_EQUAL(sched_run(s, UINT64_MAX), 100);
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(order[i], i);
	sched_destroy(s);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t popped[4096];
static void record_time(struct sched *s, struct sched_event *ev)
{
	(void)ev;
	popped[n_order++] = sched_now(s);
}

static void test_sched_random_times_pop_in_order(void)
{
	struct sched *s;
	CU_ASSERT_FATAL(sched_create(16, &s) == 0);
	static struct rec r[4096];
	static uint64_t t[4096];
	srand(5);
	for (int i = 0; i < 4096; i++) {
		t[i] = (uint64_t)(rand() % 1000);
		sched_event_init(&r[i].ev);
		CU_ASSERT(sched_at(s, &r[i].ev, t[i], record_time) == 0);
	}
	/* Cancel every third event. */
	size_t kept = 0;
	for (int i = 0; i < 4096; i++) {
		if (i % 3 == 0)
			sched_cancel(s, &r[i].ev);
		else
			t[kept++] = t[i];
		if (i % 3 == 0)
			CU_ASSERT_FALSE(sched_event_pending(&r[i].ev));
	}
	qsort(t, kept, sizeof t[0], cmp_u64);
	n_order = 0;
	CU_ASSERT_EQUAL(sched_run(s, UINT64_MAX), kept);
	for (size_t i = 0; i < kept; i++)
		if (popped[i] != t[i]) {
			CU_FAIL("events ran out of time order");
			break;
		}
	sched_destroy(s);
}

static struct rec chain_r[3];
static void chain(struct sched *s, struct sched_event *ev)
{
	struct rec *r = container_of(ev, struct rec, ev);
	order[n_order++] = r->id;
	if (r->id == 0) /* an event scheduled now, from a callback, runs after those already due */
		CU_ASSERT(sched_at(s, &chain_r[2].ev, sched_now(s), chain) == 0);
}

static void test_sched_callbacks_and_stop_time(void)
{
	struct sched *s;
	CU_ASSERT_FATAL(sched_create(4, &s) == 0);
	n_order = 0;
	for (int i = 0; i < 3; i++) {
		chain_r[i].id = i;
		sched_event_init(&chain_r[i].ev);
	}
	CU_ASSERT(sched_at(s, &chain_r[0].ev, 10, chain) == 0);
	CU_ASSERT(sched_at(s, &chain_r[1].ev, 10, chain) == 0);
	CU_ASSERT_EQUAL(sched_run(s, 10), 3);
	CU_ASSERT_EQUAL(order[0], 0);
	CU_ASSERT_EQUAL(order[1], 1);
	CU_ASSERT_EQUAL(order[2], 2);
	/* Stop time: later events stay pending; the past is refused. */
	CU_ASSERT(sched_at(s, &chain_r[1].ev, 100, chain) == 0);
	CU_ASSERT_EQUAL(sched_run(s, 99), 0);
	CU_ASSERT_EQUAL(sched_pending(s), 1);
	CU_ASSERT_EQUAL(sched_at(s, &chain_r[2].ev, 5, chain), -ERR_INVAL);
	CU_ASSERT_EQUAL(sched_at(s, &chain_r[1].ev, 200, chain), -ERR_INVAL); /* already pending */
	CU_ASSERT_EQUAL(sched_run(s, UINT64_MAX), 1);
	CU_ASSERT_EQUAL(sched_now(s), 100);
	sched_destroy(s);
}

static void test_sched_schedule_after_stop_and_reschedule_cancelled(void)
{
	struct sched *s;
	CU_ASSERT_FATAL(sched_create(4, &s) == 0);
	static struct rec r[4];
	for (int i = 0; i < 4; i++) {
		r[i].id = i;
		sched_event_init(&r[i].ev);
	}
	n_order = 0;
	CU_ASSERT(sched_at(s, &r[0].ev, 100, record) == 0);
	CU_ASSERT(sched_at(s, &r[1].ev, 200, record) == 0);
	CU_ASSERT(sched_at(s, &r[3].ev, 300, record) == 0);
	CU_ASSERT_EQUAL(sched_run(s, 150), 1);    /* runs 0; looking ahead found 1 at 200 */
	CU_ASSERT(sched_at(s, &r[2].ev, 160, record) == 0); /* before the look-ahead, after now */
	sched_cancel(s, &r[1].ev);
	CU_ASSERT_FALSE(sched_event_pending(&r[1].ev));
	CU_ASSERT(sched_at(s, &r[1].ev, 250, record) == 0); /* a cancelled event scheduled again */
	CU_ASSERT_EQUAL(sched_pending(s), 3);
	CU_ASSERT_EQUAL(sched_run(s, UINT64_MAX), 3);
	CU_ASSERT_EQUAL(n_order, 4);
	CU_ASSERT_EQUAL(order[0], 0);
	CU_ASSERT_EQUAL(order[1], 2);
	CU_ASSERT_EQUAL(order[2], 1); /* once, at its new time */
	CU_ASSERT_EQUAL(order[3], 3);
	sched_destroy(s);
}

/* Actors that reschedule themselves (ties included) and now and then cancel one another: the
 * order they run in must not depend on which of them are lanes. */
enum { ACTORS = 10, STEPS = 20000 };
static struct actor {
	struct sched_event ev;
	int id;
} actors[ACTORS];
static uint64_t lcg;
static int n_fifo_actors; /* actors 0 .. n-1 schedule themselves through FIFO 0 (sched_at_fifo) */
static int trail[STEPS + ACTORS], n_trail;
static uint64_t trail_t[STEPS + ACTORS];

static uint64_t next_rand(void)
{
	lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
	return lcg >> 33;
}

static void act(struct sched *s, struct sched_event *ev);

static int at(struct sched *s, struct actor *a, uint64_t t)
{
	return a->id < n_fifo_actors ? sched_at_fifo(s, 0, &a->ev, t, act) : sched_at(s, &a->ev, t, act);
}

static void act(struct sched *s, struct sched_event *ev)
{
	struct actor *a = container_of(ev, struct actor, ev);
	CU_ASSERT_FATAL(n_trail < STEPS + ACTORS);
	trail[n_trail] = a->id;
	trail_t[n_trail++] = sched_now(s);
	if (n_trail >= STEPS)
		return;
	uint64_t r = next_rand();
	CU_ASSERT(at(s, a, sched_now(s) + (r % 4 == 0 ? 0 : r % 1000)) == 0);
	if (r % 7 == 0) { /* cancel another, then schedule it again, perhaps at this very time */
		struct actor *o = &actors[(a->id + 1 + r % (ACTORS - 1)) % ACTORS];
		sched_cancel(s, &o->ev);
		CU_ASSERT(at(s, o, sched_now(s) + next_rand() % 3) == 0);
	}
}

static int run_actors(int lanes, int fifo_actors, int *order_out, uint64_t *t_out)
{
	struct sched *s;
	CU_ASSERT_FATAL(sched_create(4, &s) == 0);
	unsigned id;
	CU_ASSERT_FATAL(sched_fifo_create(s, &id) == 0 && id == 0);
	n_fifo_actors = fifo_actors;
	lcg = 42;
	n_trail = 0;
	for (int i = 0; i < ACTORS; i++) {
		actors[i].id = i;
		sched_event_init(&actors[i].ev);
		if (i < lanes)
			CU_ASSERT_EQUAL(sched_lane(s, &actors[i].ev), i < SCHED_LANES ? 0 : -ERR_FULL);
	}
	for (int i = 0; i < ACTORS; i++)
		CU_ASSERT(at(s, &actors[i], (uint64_t)(i % 3) * 10) == 0);
	if (lanes)
		CU_ASSERT_EQUAL(sched_lane(s, &actors[0].ev), -ERR_INVAL); /* pending */
	sched_run(s, UINT64_MAX);
	CU_ASSERT_EQUAL(sched_pending(s), 0);
	sched_destroy(s);
	memcpy(order_out, trail, sizeof trail);
	memcpy(t_out, trail_t, sizeof trail_t);
	return n_trail;
}

static void test_sched_lanes_keep_the_order(void)
{
	static int base[STEPS + ACTORS], with[STEPS + ACTORS];
	static uint64_t base_t[STEPS + ACTORS], with_t[STEPS + ACTORS];
	int n = run_actors(0, 0, base, base_t);
	CU_ASSERT_TRUE(n >= STEPS);
	for (int lanes = 1; lanes <= ACTORS; lanes += 2) {
		int m = run_actors(lanes, 0, with, with_t);
		CU_ASSERT_EQUAL(m, n);
		int same = 0;
		for (int i = 0; i < n && i < m; i++)
			same += base[i] == with[i] && base_t[i] == with_t[i];
		CU_ASSERT_EQUAL(same, n);
	}
}

/* The same with FIFO events: some actors (lanes or not) schedule through a FIFO, in and out of
 * its order (then the heap keeps them), cancelled in the list's head, middle or tail. */
static void test_sched_fifos_keep_the_order(void)
{
	static int base[STEPS + ACTORS], with[STEPS + ACTORS];
	static uint64_t base_t[STEPS + ACTORS], with_t[STEPS + ACTORS];
	int n = run_actors(0, 0, base, base_t);
	for (int fifo = 1; fifo <= ACTORS; fifo += 3)
		for (int lanes = 0; lanes <= 4; lanes += 4) {
			int m = run_actors(lanes, fifo, with, with_t);
			CU_ASSERT_EQUAL(m, n);
			int same = 0;
			for (int i = 0; i < n && i < m; i++)
				same += base[i] == with[i] && base_t[i] == with_t[i];
			CU_ASSERT_EQUAL(same, n);
		}
	struct sched *s;
	CU_ASSERT_FATAL(sched_create(4, &s) == 0);
	unsigned id;
	for (int i = 0; i < SCHED_FIFOS; i++)
		CU_ASSERT_EQUAL(sched_fifo_create(s, &id), 0);
	CU_ASSERT_EQUAL(sched_fifo_create(s, &id), -ERR_FULL);
	CU_ASSERT_EQUAL(sched_at_fifo(s, SCHED_FIFOS, &actors[0].ev, 1, act), -ERR_INVAL);
	sched_destroy(s);
}

static void test_rng_streams_reproduce_and_differ(void)
{
	struct rng *a, *b, *c, *d, *e;
	CU_ASSERT_FATAL(rng_create(1, 1, 0, &a) == 0);
	CU_ASSERT_FATAL(rng_create(1, 1, 7, &e) == 0);
	CU_ASSERT_FATAL(rng_create(1, 1, 0, &b) == 0);
	CU_ASSERT_FATAL(rng_create(1, 2, 0, &c) == 0);
	CU_ASSERT_FATAL(rng_create(1, 1, 1, &d) == 0);
	int same_ab = 0, same_ac = 0, same_ad = 0;
	double mean = 0;
	for (int i = 0; i < 1000; i++) {
		double x = rng_uniform(a), y = rng_uniform(b), z = rng_uniform(c), w = rng_uniform(d);
		same_ab += x == y;
		same_ac += x == z;
		same_ad += x == w;
		mean += rng_exponential(e, 100.0);
	}
	CU_ASSERT_EQUAL(same_ab, 1000);
	CU_ASSERT_TRUE(same_ac < 5);
	CU_ASSERT_TRUE(same_ad < 5);
	CU_ASSERT_DOUBLE_EQUAL(mean / 1000.0, 100.0, 10.0);
	rng_destroy(a);
	rng_destroy(b);
	rng_destroy(c);
	rng_destroy(d);
	rng_destroy(e);
}

int sched_test_register(void)
{
	CU_pSuite s = CU_add_suite("sched", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "same time runs FIFO", test_sched_same_time_runs_fifo);
	CU_add_test(s, "random times pop in order, with cancellations", test_sched_random_times_pop_in_order);
	CU_add_test(s, "callbacks at now and stop time", test_sched_callbacks_and_stop_time);
	CU_add_test(s, "scheduling after a stop, rescheduling a cancelled event",
		    test_sched_schedule_after_stop_and_reschedule_cancelled);
	CU_add_test(s, "lane events run in the heap's order", test_sched_lanes_keep_the_order);
	CU_add_test(s, "FIFO events run in the heap's order", test_sched_fifos_keep_the_order);
	CU_add_test(s, "RNG streams reproduce and differ", test_rng_streams_reproduce_and_differ);
	return 0;
}
