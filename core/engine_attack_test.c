/* engine_attack_test: the engine's answers to what an attacker can do on the path (issue 10):
 * shadow mode sends the slow path's output even when the probe path's pre-built packet is
 * wrong; source NAT never gives two live flows one translated 5-tuple, and runs out of ports
 * by dropping, counted; the keyed flow hash differs between seeds and is the same for one. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "engine_stats.h"
#include "engine.h"
#include "flow.h"
#include "route.h"
#include "tests/pktgen.h"

struct seen {
	uint16_t sport[8];
	uint8_t dmac_last[6];
	unsigned n;
	uint16_t first_sport; /* of the tracked flow's first egress */
	unsigned reused;      /* egress of other flows carrying the tracked flow's port */
	bool tracking;
	uint16_t track_dport;
};

static void seen_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		    uint32_t wirelen, uint64_t t_ns)
{
	(void)payload, (void)payload_len, (void)wirelen, (void)t_ns;
	struct seen *s = arg;
	if (hdr_len < 14 + 20 + 8)
		return;
	memcpy(s->dmac_last, hdr, 6);
	uint16_t sport = (uint16_t)(hdr[34] << 8 | hdr[35]), dport = (uint16_t)(hdr[36] << 8 | hdr[37]);
	if (s->tracking && dport == s->track_dport) {
		if (!s->first_sport)
			s->first_sport = sport;
	} else if (s->first_sport && sport == s->first_sport) {
		s->reused++;
	}
	s->n++;
}

static struct route_table *routes(void)
{
	struct route_table *rt = NULL;
	CU_ASSERT_FATAL(route_table_create(&rt) == 0);
	struct route_nexthop a = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 }, .port = 1 };
	const uint8_t any[16] = { 0 };
	CU_ASSERT(route_add(rt, 4, any, 0, &a) == 0);
	return rt;
}

static struct engine *make(enum engine_mode mode, const struct route_table *rt, size_t flows, struct seen *s)
{
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.mode = mode;
	c.routes = rt;
	c.flow_capacity = flows;
	c.flow_idle_ns = 0;
	c.pool_budget = 4u << 20;
	c.snat = true;
	const uint8_t nat[4] = { 198, 18, 0, 1 };
	memcpy(c.snat_addr, nat, 4);
	c.tx = seen_tx;
	c.tx_arg = s;
	struct engine *e = NULL;
	struct errbuf eb;
	CU_ASSERT_FATAL(engine_create(&c, &e, &eb) == 0);
	return e;
}

static size_t frame(uint8_t *f, uint8_t proto, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t src)
{
	struct gen_pkt g;
	gen_default(&g);
	g.proto = proto;
	g.sport = sport;
	g.dport = dport;
	g.seq = seq;
	g.src[2] = (uint8_t)(src >> 8);
	g.src[3] = (uint8_t)src;
	return gen_frame(&g, f, 2048);
}

/* A pre-built packet that no longer matches what the slow path would send (its next hop's
 * MAC changed under it): shadow mode counts the divergence and sends the slow path's packet. */
static void test_attack_shadow_sends_the_reference_on_a_probe_divergence(void)
{
	struct route_table *rt = routes();
	struct seen s = { 0 };
	struct engine *e = make(ENGINE_SHADOW, rt, 64, &s);
	uint8_t f[2048];
	for (uint32_t i = 0; i < 20; i++) {
		size_t n = frame(f, 6, 1000, 80, 1000 + 100 * i, 1);
		engine_process(e, f, (uint32_t)n, (uint32_t)n, 1, 1000ull * i, NULL);
	}
	struct engine_stats st;
	engine_get_stats(e, &st);
	CU_ASSERT(st.probe_hits > 0);
	CU_ASSERT_EQUAL(st.divergent_packets, 0);
	/* The route's next hop changes; the pre-built packet still carries the old MAC. */
	struct route_nexthop *nh = (struct route_nexthop *)route_nexthop(rt, route_lookup4(rt, (const uint8_t[4]){ 10, 0, 0, 2 }));
	nh->mac[5] = 0x77;
	uint64_t probe_before = st.probe_hits;
	size_t n = frame(f, 6, 1000, 80, 1000 + 100 * 20, 1);
	engine_process(e, f, (uint32_t)n, (uint32_t)n, 1, 1000ull * 20, NULL);
	engine_get_stats(e, &st);
	CU_ASSERT_EQUAL(st.probe_hits, probe_before + 1);
	CU_ASSERT_EQUAL(st.divergent_packets, 1);
	CU_ASSERT_EQUAL(s.dmac_last[5], 0x77); /* the slow path's packet went out */
	CU_ASSERT_EQUAL(st.packets_out, 21);
	engine_destroy(e);
	route_table_destroy(rt);
}

/* One long-lived flow while 70,000 short ones pass through a 128-flow table: the port
 * counter wraps, ports of ended flows are reused, the live flow's port never is. */
static void test_attack_nat_port_never_shared_by_live_flows(void)
{
	struct route_table *rt = routes();
	struct seen s = { .tracking = true, .track_dport = 443 };
	struct engine *e = make(ENGINE_PRECRAFT, rt, 128, &s);
	uint8_t f[2048];
	uint64_t t = 0;
	for (uint32_t i = 0; i < 70000; i++) {
		size_t n;
		if (i % 16 == 0) {
			n = frame(f, 17, 5000, 443, 0, 1);
			engine_process(e, f, (uint32_t)n, (uint32_t)n, 1, ++t, NULL);
		}
		n = frame(f, 17, (uint16_t)(1 + i % 60000), 53, 0, 2 + i / 60000);
		engine_process(e, f, (uint32_t)n, (uint32_t)n, 1, ++t, NULL);
	}
	struct engine_stats st;
	engine_get_stats(e, &st);
	CU_ASSERT(st.flow_evictions > 65536); /* the counter wrapped */
	CU_ASSERT(s.first_sport >= 1024);
	CU_ASSERT_EQUAL(s.reused, 0);
	CU_ASSERT_EQUAL(st.dropped[ENGINE_DROP_NAT_EXHAUSTED], 0);
	engine_destroy(e);
	route_table_destroy(rt);
}

/* More live translated flows than ports: the flows beyond 64,512 are dropped, counted; a
 * flow that is not translated (ICMP) still passes. */
static void test_attack_nat_exhaustion_drops_counted(void)
{
	struct route_table *rt = routes();
	struct seen s = { 0 };
	struct engine *e = make(ENGINE_BASELINE, rt, 70000, &s);
	uint8_t f[2048];
	uint64_t t = 0;
	for (uint32_t i = 0; i < 64600; i++) {
		size_t n = frame(f, 17, (uint16_t)(1 + i % 60000), 53, 0, 2 + i / 60000);
		engine_process(e, f, (uint32_t)n, (uint32_t)n, 1, ++t, NULL);
	}
	size_t n = frame(f, 1, 7, 0, 1, 9);
	engine_process(e, f, (uint32_t)n, (uint32_t)n, 1, ++t, NULL);
	struct engine_stats st;
	engine_get_stats(e, &st);
	CU_ASSERT_EQUAL(st.dropped[ENGINE_DROP_NAT_EXHAUSTED], 64600 - 64512);
	CU_ASSERT_EQUAL(st.packets_out, 64512 + 1);
	CU_ASSERT_EQUAL(st.packets_in, st.packets_out + st.dropped[ENGINE_DROP_NAT_EXHAUSTED]);
	engine_destroy(e);
	route_table_destroy(rt);
}

static void test_attack_flow_hash_is_keyed_by_the_seed(void)
{
	struct flow_key k;
	memset(&k, 0, sizeof k);
	k.a[0] = 10;
	k.b[0] = 11;
	k.pa = 1;
	k.pb = 2;
	k.proto = 17;
	k.family = 4;
	struct flow_hash_key h1, h1b, h2;
	flow_hash_key_init(&h1, 1);
	flow_hash_key_init(&h1b, 1);
	flow_hash_key_init(&h2, 2);
	CU_ASSERT_EQUAL(flow_key_hash(&k, &h1), flow_key_hash(&k, &h1b));
	/* 32 keys: under two seeds their hashes are unrelated (all 32 equal by chance: 2^-1024). */
	unsigned same = 0;
	for (unsigned i = 0; i < 32; i++) {
		k.pa = (uint16_t)i;
		same += flow_key_hash(&k, &h1) == flow_key_hash(&k, &h2);
	}
	CU_ASSERT(same < 32);
}

int engine_attack_test_register(void)
{
	CU_pSuite s = CU_add_suite("engine under attack", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "shadow sends the reference on a probe divergence",
		    test_attack_shadow_sends_the_reference_on_a_probe_divergence);
	CU_add_test(s, "a NAT port is never shared by live flows", test_attack_nat_port_never_shared_by_live_flows);
	CU_add_test(s, "NAT port exhaustion drops, counted", test_attack_nat_exhaustion_drops_counted);
	CU_add_test(s, "the flow hash is keyed by the seed", test_attack_flow_hash_is_keyed_by_the_seed);
	return 0;
}
