/* rcu_test: the route table replaced 1,000 times while two workers forward, each with its own
 * engine (as hil forward --workers runs them): every packet sent, each routed by a table that
 * was published (the old or the new one, never one already freed: ASan and TSan builds check
 * the memory), and no worker ever going back to an older table. */
#include "engine_stats.h"
#include "rcu.h"

#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "route.h"
#include "tests/pktgen.h"

enum { SWAPS = 1000, FLOWS = 16 };

/* Table k routes everything to a next hop whose MAC carries k in its last two bytes. */
static struct route_table *table(unsigned k)
{
	struct route_table *rt = NULL;
	CU_ASSERT_FATAL(route_table_create(&rt) == 0);
	struct route_nexthop nh = { .mac = { 0x02, 0, 0x5e, 0, (uint8_t)(k >> 8), (uint8_t)k }, .port = 1 };
	const uint8_t any[16] = { 0 };
	CU_ASSERT_FATAL(route_add(rt, 4, any, 0, &nh) == 0);
	CU_ASSERT_FATAL(route_table_freeze(rt) == 0);
	return rt;
}

static struct rcu pub;
static atomic_uint published; /* the generation of the table last published */
static atomic_int stop;

struct fwd_worker {
	unsigned idx;
	uint64_t packets, sent, foreign, backwards, too_new;
	int create_rc;             /* the thread's engine_create (CUnit's asserts are not for threads) */
	unsigned last_gen;
	uint8_t frames[FLOWS][128];
	size_t lens[FLOWS];
};

static void count_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		     uint32_t wirelen, uint64_t t_ns)
{
	(void)payload, (void)payload_len, (void)wirelen, (void)t_ns;
	struct fwd_worker *w = arg;
	w->sent++;
	if (hdr_len < 6 || hdr[0] != 0x02 || hdr[1] != 0 || hdr[2] != 0x5e || hdr[3] != 0) {
		w->foreign++;
		return;
	}
	unsigned gen = (unsigned)hdr[4] << 8 | hdr[5];
	w->backwards += gen < w->last_gen;
	w->too_new += gen > atomic_load(&published);
	w->last_gen = gen;
}

static void *forward(void *arg)
{
	struct fwd_worker *w = arg;
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.routes = rcu_get(&pub);
	c.pool_budget = 4u << 20;
	c.tx = count_tx;
	c.tx_arg = w;
	c.shard = w->idx;
	c.shards = 2;
	struct engine *e = NULL;
	if ((w->create_rc = engine_create(&c, &e, NULL)) != 0) {
		rcu_offline(&pub, w->idx);
		return NULL;
	}
	const struct route_table *cur = c.routes;
	uint64_t t = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (unsigned f = 0; f < FLOWS; f++) {
			const struct route_table *rt = rcu_get(&pub);
			if (rt != cur) {
				engine_set_routes(e, rt);
				cur = rt;
			}
			engine_process(e, w->frames[f], (uint32_t)w->lens[f], (uint32_t)w->lens[f], 1, t += 1000, NULL);
			w->packets++;
			rcu_quiescent(&pub, w->idx); /* between packets: holds no table */
		}
	}
	rcu_offline(&pub, w->idx);
	engine_destroy(e);
	return NULL;
}

static void test_rcu_route_swaps_while_two_workers_forward(void)
{
	atomic_store(&published, 0);
	atomic_store(&stop, 0);
	CU_ASSERT_FATAL(rcu_init(&pub, 2, table(0)) == 0);
	static struct fwd_worker w[2];
	pthread_t th[2];
	for (unsigned i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].idx = i;
		for (unsigned f = 0; f < FLOWS; f++) { /* constant UDP flows: pre-built packets hit */
			struct gen_pkt g;
			gen_default(&g);
			g.proto = 17;
			g.sport = (uint16_t)(5000 + 100 * i + f);
			w[i].lens[f] = gen_frame(&g, w[i].frames[f], sizeof w[i].frames[f]);
			CU_ASSERT_FATAL(w[i].lens[f] > 0);
		}
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, forward, &w[i]) == 0);
	}
	for (unsigned k = 1; k <= SWAPS; k++) {
		struct route_table *next = table(k);
		atomic_store(&published, k);
		route_table_destroy(rcu_replace(&pub, next)); /* no worker can hold it any more */
	}
	atomic_store(&stop, 1);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(pub.replaced, SWAPS);
	for (unsigned i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(w[i].create_rc, 0);
		CU_ASSERT_TRUE(w[i].packets > SWAPS);
		CU_ASSERT_EQUAL(w[i].sent, w[i].packets); /* none lost to a swap */
		CU_ASSERT_EQUAL(w[i].foreign, 0);
		CU_ASSERT_EQUAL(w[i].backwards, 0);
		CU_ASSERT_EQUAL(w[i].too_new, 0);
		CU_ASSERT_EQUAL(w[i].last_gen, SWAPS); /* the last table reached both */
	}
	route_table_destroy(rcu_get(&pub));
	rcu_fini(&pub);
}

/* A packet pre-built with one table is never sent after the routes changed: the next packet
 * takes the slow path to the new next hop. */
static void test_engine_set_routes_drops_prebuilt_packets(void)
{
	struct route_table *a = table(1), *b = table(2);
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.routes = a;
	c.pool_budget = 4u << 20;
	static struct fwd_worker w;
	memset(&w, 0, sizeof w);
	c.tx = count_tx;
	c.tx_arg = &w;
	atomic_store(&published, 2);
	struct engine *e = NULL;
	CU_ASSERT_FATAL(engine_create(&c, &e, NULL) == 0);
	struct gen_pkt g;
	gen_default(&g);
	g.proto = 17;
	uint8_t fr[128];
	size_t n = gen_frame(&g, fr, sizeof fr);
	for (int i = 0; i < 5; i++)
		engine_process(e, fr, (uint32_t)n, (uint32_t)n, 1, 1000ull * (uint64_t)(i + 1), NULL);
	struct engine_stats st;
	engine_get_stats(e, &st);
	CU_ASSERT_TRUE(st.hits >= 2);
	CU_ASSERT_EQUAL(w.last_gen, 1);
	engine_set_routes(e, b);
	struct engine_result r;
	engine_process(e, fr, (uint32_t)n, (uint32_t)n, 1, 10000, &r);
	CU_ASSERT_EQUAL(r.path, ENGINE_PATH_SLOW); /* the pre-built one had table 1's next hop */
	CU_ASSERT_EQUAL(w.last_gen, 2);
	engine_process(e, fr, (uint32_t)n, (uint32_t)n, 1, 11000, &r);
	CU_ASSERT_EQUAL(r.path, ENGINE_PATH_HIT); /* built after the change: table 2's */
	CU_ASSERT_EQUAL(w.last_gen, 2);
	CU_ASSERT_EQUAL(w.foreign + w.backwards, 0);
	engine_destroy(e);
	route_table_destroy(a);
	route_table_destroy(b);
}

int rcu_test_register(void)
{
	CU_pSuite s = CU_add_suite("rcu", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "route table swapped 1000 times while 2 workers forward",
		    test_rcu_route_swaps_while_two_workers_forward);
	CU_add_test(s, "engine_set_routes: pre-built packets of the old table not sent",
		    test_engine_set_routes_drops_prebuilt_packets);
	return 0;
}
