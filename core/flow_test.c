/* flow_test: key symmetry, LRU eviction, idle timeouts, TCP state. */
#include "flow.h"

#include <CUnit/CUnit.h>
#include <string.h>

#include "pkt.h"
#include "tests/pktgen.h"

static struct flow_key key_n(uint32_t n)
{
	struct flow_key k;
	memset(&k, 0, sizeof k);
	memcpy(k.a, &n, 4);
	k.b[0] = 1;
	k.pa = 1;
	k.pb = 2;
	k.proto = 17;
	k.family = 4;
	return k;
}

static int ended[16], n_ended;
static enum flow_end last_why;

static void on_end(void *arg, struct flow_entry *e, enum flow_end why)
{
	(void)arg;
	uint32_t n;
	memcpy(&n, e->key.a, 4);
	if (n_ended < 16)
		ended[n_ended++] = (int)n;
	last_why = why;
}

static struct flow_table *mk(size_t cap, uint64_t idle)
{
	struct flow_table_cfg c = { .capacity = cap, .user_size = 24, .idle_ns = idle, .on_end = on_end };
	struct flow_table *ft = NULL;
	n_ended = 0;
	CU_ASSERT_EQUAL(flow_table_create(&c, &ft), 0);
	return ft;
}

static struct flow_entry *get(struct flow_table *ft, uint32_t n, uint64_t t, bool *created)
{
	struct flow_key k = key_n(n);
	return flow_table_get(ft, &k, flow_key_hash(&k, NULL), true, t, created);
}

static void test_flow_key_is_the_same_both_ways(void)
{
	struct gen_pkt g;
	gen_default(&g);
	uint8_t f1[128], f2[128];
	size_t n1 = gen_frame(&g, f1, sizeof f1);
	uint8_t tmp[16];
	memcpy(tmp, g.src, 16);
	memcpy(g.src, g.dst, 16);
	memcpy(g.dst, tmp, 16);
	uint16_t p = g.sport;
	g.sport = g.dport;
	g.dport = p;
	size_t n2 = gen_frame(&g, f2, sizeof f2);
	struct pkt a, b;
	CU_ASSERT_EQUAL_FATAL(pkt_parse(f1, (uint32_t)n1, (uint32_t)n1, PKT_LINK_ETH, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pkt_parse(f2, (uint32_t)n2, (uint32_t)n2, PKT_LINK_ETH, &b), 0);
	struct flow_key ka, kb;
	bool sa, sb;
	CU_ASSERT_TRUE(flow_key_from_pkt(&a, &ka, &sa));
	CU_ASSERT_TRUE(flow_key_from_pkt(&b, &kb, &sb));
	CU_ASSERT_EQUAL(memcmp(&ka, &kb, sizeof ka), 0);
	CU_ASSERT_NOT_EQUAL(sa, sb);
	CU_ASSERT_EQUAL(FLOW_KEY_LEN, 40);

	struct flow_table *ft = mk(8, 0);
	bool created;
	struct flow_entry *e = flow_table_get(ft, &ka, flow_key_hash(&ka, NULL), sa, 1, &created);
	CU_ASSERT_TRUE(created);
	CU_ASSERT_EQUAL(flow_dir(e, sa), 0);
	CU_ASSERT_PTR_EQUAL(flow_table_get(ft, &kb, flow_key_hash(&kb, NULL), sb, 2, &created), e);
	CU_ASSERT_FALSE(created);
	CU_ASSERT_EQUAL(flow_dir(e, sb), 1);
	flow_table_destroy(ft);
}

static void test_flow_full_table_evicts_least_recent(void)
{
	struct flow_table *ft = mk(3, 0);
	bool c;
	get(ft, 1, 1, &c);
	get(ft, 2, 2, &c);
	get(ft, 3, 3, &c);
	get(ft, 1, 4, &c); /* 1 is now the most recent; 2 the least */
	CU_ASSERT_FALSE(c);
	get(ft, 4, 5, &c);
	CU_ASSERT_TRUE(c);
	CU_ASSERT_EQUAL(n_ended, 1);
	CU_ASSERT_EQUAL(ended[0], 2);
	CU_ASSERT_EQUAL(last_why, FLOW_END_EVICTED);
	CU_ASSERT_EQUAL(flow_table_count(ft), 3);
	CU_ASSERT_EQUAL(flow_table_evictions(ft), 1);
	struct flow_key k2 = key_n(2), k1 = key_n(1);
	CU_ASSERT_PTR_NULL(flow_table_find(ft, &k2, flow_key_hash(&k2, NULL)));
	CU_ASSERT_PTR_NOT_NULL(flow_table_find(ft, &k1, flow_key_hash(&k1, NULL)));
	flow_table_flush(ft);
	CU_ASSERT_EQUAL(flow_table_count(ft), 0);
	CU_ASSERT_EQUAL(n_ended, 4);
	flow_table_destroy(ft);
}

/* A flood of new flows evicts itself, not the protected (established) flows it displaces. */
static void test_flow_flood_cannot_evict_protected(void)
{
	struct flow_table *ft = mk(64, 0);
	bool c;
	for (uint32_t n = 1; n <= 8; n++)
		flow_protect(get(ft, n, n, &c)); /* eight established flows, the oldest in the table */
	for (uint32_t n = 1000; n < 101000; n++) /* 100,000 one-packet flows */
		get(ft, n, 100 + n, &c);
	for (uint32_t n = 1; n <= 8; n++) {
		struct flow_key k = key_n(n);
		CU_ASSERT_PTR_NOT_NULL(flow_table_find(ft, &k, flow_key_hash(&k, NULL)));
	}
	CU_ASSERT_EQUAL(flow_table_count(ft), 64);
	/* Unprotected, the same flood pushes them out. */
	flow_table_destroy(ft);
	ft = mk(64, 0);
	for (uint32_t n = 1; n <= 8; n++)
		get(ft, n, n, &c);
	for (uint32_t n = 1000; n < 2000; n++)
		get(ft, n, 100 + n, &c);
	struct flow_key k1 = key_n(1);
	CU_ASSERT_PTR_NULL(flow_table_find(ft, &k1, flow_key_hash(&k1, NULL)));
	flow_table_destroy(ft);
}

static void test_flow_idle_flows_expire(void)
{
	struct flow_table *ft = mk(8, 100);
	bool c;
	get(ft, 1, 0, &c);
	get(ft, 2, 50, &c);
	get(ft, 3, 120, &c); /* 1 has been idle 120 > 100 */
	CU_ASSERT_EQUAL(n_ended, 1);
	CU_ASSERT_EQUAL(ended[0], 1);
	CU_ASSERT_EQUAL(last_why, FLOW_END_IDLE);
	get(ft, 2, 140, &c); /* 2 was idle 90: kept */
	CU_ASSERT_FALSE(c);
	get(ft, 4, 1000, &c); /* everything else idle */
	CU_ASSERT_EQUAL(flow_table_count(ft), 1);
	CU_ASSERT_EQUAL(flow_table_expirations(ft), 3);
	/* A timestamp going backwards expires nothing and does not crash. */
	get(ft, 5, 10, &c);
	CU_ASSERT_EQUAL(flow_table_count(ft), 2);
	flow_table_destroy(ft);
}

static void test_flow_tcp_states(void)
{
	struct flow_entry e;
	memset(&e, 0, sizeof e);
	e.tcp_state = FLOW_TCP_NEW;
	flow_tcp_update(&e, 0, TCP_SYN);
	CU_ASSERT_EQUAL(e.tcp_state, FLOW_TCP_SYN_SENT);
	flow_tcp_update(&e, 1, TCP_SYN | TCP_ACK);
	CU_ASSERT_EQUAL(e.tcp_state, FLOW_TCP_SYN_RCVD);
	flow_tcp_update(&e, 0, TCP_ACK);
	CU_ASSERT_EQUAL(e.tcp_state, FLOW_TCP_ESTABLISHED);
	CU_ASSERT_TRUE(flow_is_established(&e));
	CU_ASSERT_FALSE(flow_tcp_is_restart(&e, TCP_SYN));
	flow_tcp_update(&e, 0, TCP_FIN | TCP_ACK);
	CU_ASSERT_EQUAL(e.tcp_state, FLOW_TCP_CLOSING);
	flow_tcp_update(&e, 1, TCP_FIN | TCP_ACK);
	CU_ASSERT_EQUAL(e.tcp_state, FLOW_TCP_CLOSED);
	CU_ASSERT_TRUE(flow_tcp_is_restart(&e, TCP_SYN));
	CU_ASSERT_FALSE(flow_tcp_is_restart(&e, TCP_SYN | TCP_ACK));
	/* Mid-stream pickup, then a reset. */
	memset(&e, 0, sizeof e);
	e.tcp_state = FLOW_TCP_NEW;
	flow_tcp_update(&e, 1, TCP_ACK | TCP_PSH);
	CU_ASSERT_EQUAL(e.tcp_state, FLOW_TCP_ESTABLISHED);
	flow_tcp_update(&e, 0, TCP_RST);
	CU_ASSERT_EQUAL(e.tcp_state, FLOW_TCP_CLOSED);
	CU_ASSERT_STRING_EQUAL(flow_tcp_state_name(FLOW_TCP_CLOSED), "closed");
}

static void test_flow_restart_starts_a_new_flow(void)
{
	struct flow_table *ft = mk(4, 0);
	bool c;
	struct flow_entry *e = get(ft, 1, 1, &c);
	uint64_t id = e->id;
	flow_table_restart(ft, e, true, 5);
	CU_ASSERT_EQUAL(last_why, FLOW_END_RESTART);
	CU_ASSERT_NOT_EQUAL(e->id, id);
	CU_ASSERT_EQUAL(e->first_ns, 5);
	CU_ASSERT_EQUAL(flow_table_count(ft), 1);
	flow_table_destroy(ft);
}

/* Keys that all hash alike (an attacker who knew the hash): the chain stops at
 * FLOW_CHAIN_MAX, a new key ends the chain's least recently seen flow, and every key still in
 * the table is found. */
static void test_flow_chains_are_bounded(void)
{
	struct flow_table *ft = mk(1024, 0);
	bool created;
	for (uint32_t n = 0; n < FLOW_CHAIN_MAX + 10; n++) {
		struct flow_key k = key_n(n);
		CU_ASSERT_PTR_NOT_NULL(flow_table_get(ft, &k, 0x1234, true, n + 1, &created));
		CU_ASSERT_TRUE(created);
	}
	CU_ASSERT_EQUAL(flow_table_count(ft), FLOW_CHAIN_MAX);
	CU_ASSERT_EQUAL(flow_table_chain_evictions(ft), 10);
	CU_ASSERT_EQUAL(flow_table_evictions(ft), 10);
	for (uint32_t n = 0; n < FLOW_CHAIN_MAX + 10; n++) {
		struct flow_key k = key_n(n);
		/* The oldest went first. */
		CU_ASSERT_EQUAL(flow_table_find(ft, &k, 0x1234) != NULL, n >= 10);
	}
	flow_table_destroy(ft);
}

/* flow_index divides exactly by a multiply: right for every entry, whatever the stride's odd
 * part and power of two. */
static void test_flow_index_of_every_entry(void)
{
	static const size_t user[] = { 0, 8, 24, 40, 56, 136, 1000, 4096 };
	for (size_t u = 0; u < sizeof user / sizeof user[0]; u++) {
		struct flow_table_cfg c = { .capacity = 70000, .user_size = user[u] };
		struct flow_table *ft;
		CU_ASSERT_FATAL(flow_table_create(&c, &ft) == 0);
		uint32_t bad = 0;
		for (uint32_t i = 0; i < c.capacity; i++)
			bad += flow_index(ft, flow_at(ft, i)) != i;
		CU_ASSERT_EQUAL(bad, 0);
		flow_table_destroy(ft);
	}
}

int flow_test_register(void)
{
	CU_pSuite s = CU_add_suite("flow", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "key is the same both ways", test_flow_key_is_the_same_both_ways);
	CU_add_test(s, "full table evicts least recent", test_flow_full_table_evicts_least_recent);
	CU_add_test(s, "a flood cannot evict protected flows", test_flow_flood_cannot_evict_protected);
	CU_add_test(s, "idle flows expire", test_flow_idle_flows_expire);
	CU_add_test(s, "TCP states", test_flow_tcp_states);
	CU_add_test(s, "restart starts a new flow", test_flow_restart_starts_a_new_flow);
	CU_add_test(s, "chains are bounded", test_flow_chains_are_bounded);
	CU_add_test(s, "an entry's index from its address", test_flow_index_of_every_entry);
	return 0;
}
