/* engine_test: the three modes on synthetic flows of known structure.  The invariant under
 * test everywhere: precraft mode transmits the bytes baseline mode transmits. */
#include "engine_stats.h"
#include "engine.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "esp.h"
#include "flow.h"
#include "recorder.h"
#include "route.h"
#include "engine_testlib.h"
#include "tests/pktgen.h"

struct run {
	struct engine_stats st;
	struct capture out;
};

/* Knobs the corner-case tests turn; reset by each test. */
static size_t opt_flows = 1024;
static uint64_t opt_idle_ns = 120ull * 1000000000ull;
static const uint64_t *opt_ts; /* per-frame times, or NULL for 1 us apart */

/* Runs 'n' frames (lengths in 'lens', concatenated in 'frames') through a fresh engine. */
static void run_frames(enum engine_mode mode, const struct route_table *rt, bool snat, const uint8_t *frames,
		       const uint32_t *lens, unsigned n, struct run *r)
{
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.mode = mode;
	c.routes = rt;
	c.flow_capacity = opt_flows;
	c.flow_idle_ns = opt_idle_ns;
	c.pool_budget = 4u << 20;
	c.pool_large_slots = 2;
	c.pool_poison = 1;
	c.snat = snat;
	const uint8_t nat[4] = { 198, 18, 0, 1 };
	memcpy(c.snat_addr, nat, 4);
	memset(&r->out, 0, sizeof r->out);
	c.tx = cap_tx;
	c.tx_arg = &r->out;
	struct engine *e = NULL;
	struct errbuf eb;
	CU_ASSERT_FATAL(engine_create(&c, &e, &eb) == 0);
	size_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		engine_process(e, frames + off, lens[i], lens[i], 1, opt_ts ? opt_ts[i] : 1000ull * i, NULL);
		off += lens[i];
	}
	engine_finish(e);
	engine_get_stats(e, &r->st);
	engine_destroy(e);
}

/* A growing set of frames. */
struct frames {
	uint8_t buf[1 << 20];
	uint32_t lens[4096];
	size_t len;
	unsigned n;
};

static void add(struct frames *f, const struct gen_pkt *g)
{
	size_t n = gen_frame(g, f->buf + f->len, sizeof f->buf - f->len);
	CU_ASSERT_FATAL(n > 0 && f->n < 4096);
	f->lens[f->n++] = (uint32_t)n;
	f->len += n;
}

static bool same_egress(const struct run *a, const struct run *b)
{
	return a->out.n == b->out.n && a->out.len == b->out.len && memcmp(a->out.buf, b->out.buf, a->out.len) == 0;
}

/* Runs baseline, precraft and shadow; checks the invariant; returns the precraft run. */
static void run_all(const struct frames *f, const struct route_table *rt, bool snat, struct run *pc)
{
	struct run base, sh;
	run_frames(ENGINE_BASELINE, rt, snat, f->buf, f->lens, f->n, &base);
	run_frames(ENGINE_PRECRAFT, rt, snat, f->buf, f->lens, f->n, pc);
	run_frames(ENGINE_SHADOW, rt, snat, f->buf, f->lens, f->n, &sh);
	CU_ASSERT_TRUE(same_egress(&base, pc));
	CU_ASSERT_TRUE(same_egress(&base, &sh));
	CU_ASSERT_EQUAL(sh.st.divergent_packets, 0);
	CU_ASSERT_EQUAL(base.st.hits, 0);
	CU_ASSERT_EQUAL(base.st.crafted, 0);
	CU_ASSERT_EQUAL(pc->st.hits + pc->st.misses,
			pc->st.packets_in - pc->st.dropped[ENGINE_DROP_PARSE] - pc->st.dropped[ENGINE_DROP_NON_IP]);
	CU_ASSERT_EQUAL(pc->st.crafted, pc->st.hits + pc->st.wasted);
	CU_ASSERT_EQUAL(pc->st.pool_bytes_held, 0);
	free(base.out.buf);
	free(sh.out.buf);
}

static struct frames F;

static void reset_opts(void);

static void test_engine_constant_bulk_flow_hits_after_warmup(void)
{
	reset_opts();
	struct route_table *rt = routes(true);
	uint8_t pay[1448];
	memset(pay, 'd', sizeof pay);
	struct gen_pkt g;
	gen_default(&g);
	g.payload = pay;
	g.plen = sizeof pay;
	g.ts = true;
	F.n = 0;
	F.len = 0;
	for (int i = 0; i < 200; i++) {
		g.seq = 1000 + (uint32_t)i * 1448;
		g.ipid = (uint16_t)(100 + i);
		g.tsval = 7000 + (uint32_t)i / 10; /* a timestamp clock slower than the packets */
		add(&F, &g);
	}
	struct run pc;
	run_all(&F, rt, false, &pc);
	CU_ASSERT_EQUAL(pc.st.packets_out, 200);
	CU_ASSERT_EQUAL(pc.st.hits, 199); /* every packet after the first */
	CU_ASSERT_TRUE(pc.st.strict_hits >= 170); /* TSval steps every tenth packet: template hits */
	CU_ASSERT_EQUAL(pc.st.wasted, 1); /* the prediction for a 201st packet */
	free(pc.out.buf);
	route_table_destroy(rt);
}

static void test_engine_request_response_alternation(void)
{
	struct route_table *rt = routes(true);
	uint8_t req[20], resp[300];
	memset(req, 'q', sizeof req);
	memset(resp, 'r', sizeof resp);
	struct gen_pkt a, b;
	gen_default(&a);
	gen_default(&b);
	memcpy(b.src, a.dst, 4);
	memcpy(b.dst, a.src, 4);
	b.sport = a.dport;
	b.dport = a.sport;
	a.payload = req;
	a.plen = sizeof req;
	b.payload = resp;
	b.plen = sizeof resp;
	F.n = 0;
	F.len = 0;
	for (int i = 0; i < 100; i++) {
		a.seq = 1 + (uint32_t)i * 20;
		a.ack = 1 + (uint32_t)i * 300;
		a.ipid = (uint16_t)i;
		add(&F, &a);
		b.seq = 1 + (uint32_t)i * 300;
		b.ack = 1 + (uint32_t)(i + 1) * 20;
		b.ipid = (uint16_t)(5000 + i);
		add(&F, &b);
	}
	struct run pc;
	run_all(&F, rt, false, &pc);
	/* One prediction per direction: after the first packet of each, every packet hits. */
	CU_ASSERT_EQUAL(pc.st.hits, 198);
	CU_ASSERT_EQUAL(pc.st.flows, 1);
	free(pc.out.buf);
	route_table_destroy(rt);
}

static void test_engine_random_sizes_are_never_sent_wrong(void)
{
	struct route_table *rt = routes(false); /* only 10/8 routes: others are dropped */
	uint8_t pay[1400];
	srand(3);
	for (size_t i = 0; i < sizeof pay; i++)
		pay[i] = (uint8_t)rand();
	F.n = 0;
	F.len = 0;
	for (int i = 0; i < 2000; i++) {
		struct gen_pkt g;
		gen_default(&g);
		g.family = rand() % 4 ? 4 : 6;
		g.proto = rand() % 3 ? 6 : 17;
		g.src[3] = (uint8_t)(rand() % 4);
		g.dst[0] = rand() % 5 ? 10 : 11;
		g.sport = (uint16_t)(1000 + rand() % 3);
		g.ttl = (uint8_t)(rand() % 20 == 0 ? 1 : 64);
		g.flags = (uint8_t)(rand() % 2 ? 0x10 : 0x18);
		g.seq = (uint32_t)rand();
		g.ts = rand() % 2;
		g.tos = (uint8_t)(rand() % 10 == 0 ? 0x10 : 0);
		g.payload = pay;
		g.plen = (uint32_t)(rand() % 3 == 0 ? rand() % 1400 : 100);
		add(&F, &g);
	}
	struct run pc;
	run_all(&F, rt, false, &pc);
	CU_ASSERT_TRUE(pc.st.validation_failures > 0);
	CU_ASSERT_TRUE(pc.st.hits > 0);
	CU_ASSERT_TRUE(pc.st.dropped[ENGINE_DROP_TTL_EXPIRED] > 0);
	CU_ASSERT_TRUE(pc.st.dropped[ENGINE_DROP_NO_ROUTE] > 0);
	free(pc.out.buf);
	route_table_destroy(rt);
}

static void test_engine_snat_rewrites_with_valid_checksums(void)
{
	struct route_table *rt = routes(true);
	F.n = 0;
	F.len = 0;
	uint8_t pay[100];
	memset(pay, 'n', sizeof pay);
	for (int i = 0; i < 20; i++) {
		struct gen_pkt g;
		gen_default(&g);
		g.proto = i % 2 ? 17 : 6;
		g.payload = pay;
		g.plen = sizeof pay;
		g.seq = 1 + (uint32_t)i / 2 * 100;
		add(&F, &g);
	}
	struct run pc;
	run_all(&F, rt, true, &pc);
	CU_ASSERT_EQUAL_FATAL(pc.out.n, 20);
	size_t off = 0;
	for (unsigned i = 0; i < pc.out.n; i++) {
		uint32_t caplen;
		memcpy(&caplen, pc.out.buf + off, 4);
		const uint8_t *f = pc.out.buf + off + 8;
		CU_ASSERT_TRUE(gen_checksums_ok(f, caplen));
		CU_ASSERT_EQUAL(f[14 + 12], 198); /* source address rewritten */
		CU_ASSERT_EQUAL(f[14 + 8], 63);   /* TTL decremented */
		CU_ASSERT_EQUAL(f[5], 2);         /* next hop of 10/8 */
		off += 8 + caplen;
	}
	CU_ASSERT_TRUE(pc.st.hits >= 16);
	free(pc.out.buf);
	route_table_destroy(rt);
}

static void test_engine_wrong_prediction_is_released_not_sent(void)
{
	struct route_table *rt = routes(true);
	struct gen_pkt g;
	gen_default(&g);
	F.n = 0;
	F.len = 0;
	add(&F, &g);
	g.seq += 0;
	g.ttl = 50; /* a dependency field changes */
	add(&F, &g);
	g.ttl = 50;
	add(&F, &g);
	struct run pc;
	run_all(&F, rt, false, &pc);
	CU_ASSERT_EQUAL(pc.st.validation_failures, 1);
	CU_ASSERT_EQUAL(pc.st.hits, 1);
	CU_ASSERT_EQUAL(pc.st.wasted, 2);
	free(pc.out.buf);
	route_table_destroy(rt);
}

static void test_engine_tiny_pool_still_equivalent(void)
{
	struct route_table *rt = routes(true);
	F.n = 0;
	F.len = 0;
	uint8_t pay[1000];
	memset(pay, 1, sizeof pay);
	for (int i = 0; i < 900; i++) {
		struct gen_pkt g;
		gen_default(&g);
		g.sport = (uint16_t)(i % 300); /* 300 flows, each holding a buffer */
		g.payload = pay;
		g.plen = sizeof pay;
		add(&F, &g);
	}
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.routes = rt;
	c.pool_budget = 4 * 64 * 1024; /* 128 buffers of 2 KiB: too few for 300 flows */
	c.pool_large_slots = 0;
	struct engine *e = NULL;
	CU_ASSERT_FATAL(engine_create(&c, &e, NULL) == 0);
	size_t off = 0;
	for (unsigned i = 0; i < F.n; i++) {
		engine_process(e, F.buf + off, F.lens[i], F.lens[i], 1, i, NULL);
		off += F.lens[i];
	}
	struct engine_stats st;
	engine_get_stats(e, &st);
	CU_ASSERT_TRUE(st.craft_failures > 0);
	CU_ASSERT_TRUE(st.pool_failed_gets > 0);
	CU_ASSERT_EQUAL(st.packets_out, 900);
	engine_destroy(e);
	route_table_destroy(rt);
}

/* The flow table must hold a million flows in at most 256 bytes each. */
static void test_engine_million_flows_fit_256_bytes_each(void)
{
	struct route_table *rt = routes(true);
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.routes = rt;
	c.flow_capacity = 1000000;
	struct engine *e = NULL;
	CU_ASSERT_FATAL(engine_create(&c, &e, NULL) == 0);
	struct engine_stats st;
	engine_get_stats(e, &st);
	double per_flow = (double)st.flow_table_bytes / 1e6;
	CU_ASSERT_TRUE(per_flow <= 256.0);
	engine_destroy(e);
	route_table_destroy(rt);
}

static void reset_opts(void)
{
	opt_flows = 1024;
	opt_idle_ns = 120ull * 1000000000ull;
	opt_ts = NULL;
	F.n = 0;
	F.len = 0;
}

static void test_engine_hits_come_from_the_probe(void)
{
	reset_opts();
	struct route_table *rt = routes(true);
	struct gen_pkt g;
	gen_default(&g);
	for (int i = 0; i < 50; i++) {
		g.seq = 1000 + (uint32_t)i;
		g.vlan = i < 25 ? 0 : 7; /* a tag appears: another flow (the key has the VLAN) */
		add(&F, &g);
	}
	struct run pc;
	run_all(&F, rt, false, &pc);
	CU_ASSERT_EQUAL(pc.st.hits, 48);
	CU_ASSERT_EQUAL(pc.st.probe_hits, 48);
	CU_ASSERT_EQUAL(pc.st.flows, 2);
	CU_ASSERT_EQUAL(pc.st.no_prediction, 2);
	CU_ASSERT_EQUAL(pc.st.validation_failures, 0);
	free(pc.out.buf);
	route_table_destroy(rt);
}

static void test_engine_idle_flow_restarts_alike(void)
{
	reset_opts();
	opt_idle_ns = 1000000; /* 1 ms */
	static uint64_t ts[8];
	opt_ts = ts;
	struct route_table *rt = routes(true);
	struct gen_pkt g;
	gen_default(&g);
	for (int i = 0; i < 8; i++) {
		ts[i] = (uint64_t)i * 100000 + (i >= 4 ? 5000000u : 0u); /* a 5 ms pause after 4 */
		add(&F, &g);
	}
	struct run pc;
	run_all(&F, rt, true, &pc); /* NAT on: a restarted flow gets a new port */
	CU_ASSERT_EQUAL(pc.st.flows, 2);
	CU_ASSERT_EQUAL(pc.st.hits, 6);
	CU_ASSERT_EQUAL(pc.st.flow_expirations, 1);
	free(pc.out.buf);
	route_table_destroy(rt);
}

static void test_engine_reused_connection_is_a_new_flow(void)
{
	reset_opts();
	struct route_table *rt = routes(true);
	struct gen_pkt a, b;
	gen_default(&a);
	gen_default(&b);
	memcpy(b.src, a.dst, 4);
	memcpy(b.dst, a.src, 4);
	b.sport = a.dport;
	b.dport = a.sport;
	for (int round = 0; round < 3; round++) {
		a.flags = TCP_SYN;
		add(&F, &a);
		b.flags = TCP_SYN | TCP_ACK;
		add(&F, &b);
		a.flags = TCP_ACK;
		add(&F, &a);
		add(&F, &a);
		a.flags = TCP_FIN | TCP_ACK;
		add(&F, &a);
		b.flags = TCP_FIN | TCP_ACK;
		add(&F, &b);
	}
	struct run pc;
	run_all(&F, rt, true, &pc);
	CU_ASSERT_EQUAL(pc.st.flows, 3);
	free(pc.out.buf);
	route_table_destroy(rt);
}

static void test_engine_probe_collisions_fall_back(void)
{
	reset_opts();
	opt_flows = 8; /* 64 probe slots for 300 flows: collisions */
	struct route_table *rt = routes(true);
	for (int i = 0; i < 900; i++) {
		struct gen_pkt g;
		gen_default(&g);
		g.sport = (uint16_t)(2000 + (i % 6)); /* 6 flows, interleaved */
		g.dst[3] = (uint8_t)(i % 6 < 3 ? 2 : 3);
		g.seq = (uint32_t)(i / 6);
		add(&F, &g);
	}
	struct run pc;
	run_all(&F, rt, false, &pc);
	CU_ASSERT_EQUAL(pc.st.hits, 894);
	free(pc.out.buf);
	route_table_destroy(rt);
}

int engine_test_register(void)
{
	CU_pSuite s = CU_add_suite("engine", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "constant bulk flow hits after warm-up", test_engine_constant_bulk_flow_hits_after_warmup);
	CU_add_test(s, "request/response alternation", test_engine_request_response_alternation);
	CU_add_test(s, "random sizes are never sent wrong", test_engine_random_sizes_are_never_sent_wrong);
	CU_add_test(s, "SNAT rewrites with valid checksums", test_engine_snat_rewrites_with_valid_checksums);
	CU_add_test(s, "wrong prediction is released, not sent", test_engine_wrong_prediction_is_released_not_sent);
	CU_add_test(s, "tiny pool: craft failures counted, every packet sent", test_engine_tiny_pool_still_equivalent);
	CU_add_test(s, "a million flows fit 256 bytes each", test_engine_million_flows_fit_256_bytes_each);
	CU_add_test(s, "hits come from the probe", test_engine_hits_come_from_the_probe);
	CU_add_test(s, "an idle flow restarts alike in every mode", test_engine_idle_flow_restarts_alike);
	CU_add_test(s, "a reused connection is a new flow", test_engine_reused_connection_is_a_new_flow);
	CU_add_test(s, "probe collisions fall back to the flow's pre-built packet", test_engine_probe_collisions_fall_back);
	return 0;
}
