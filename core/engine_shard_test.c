/* engine_shard_test: engines sharing a run (engine_cfg.shards: disjoint flow ids and NAT ports),
 * and the flow records they hand out. */
#include "engine_stats.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "engine_testlib.h"
#include "recorder.h"
#include "tests/pktgen.h"

/* A flow's addresses as text are what inet_ntop writes, for every byte value in every place. */
/* Flow ids seen ending, per shard. */
static uint64_t shard_ids[3][64];
static unsigned shard_n[3];

static void note_flow_end(void *arg, const struct engine_flow_info *fi)
{
	unsigned k = *(const unsigned *)arg;
	if (shard_n[k] < 64)
		shard_ids[k][shard_n[k]++] = fi->id;
}

/* Shard k of 'shards' of one run, its frames into 'out'. */
static void shard_cfg(struct engine_cfg *c, const struct route_table *rt, unsigned k, unsigned shards,
		      struct capture *out)
{
	engine_cfg_defaults(c);
	c->routes = rt;
	c->pool_budget = 4u << 20;
	c->shard = k;
	c->shards = shards;
	memset(out, 0, sizeof *out);
	c->tx = cap_tx;
	c->tx_arg = out;
}

/* Engines that share a run (engine_cfg.shards) never give two flows one id or one NAT port. */
static void test_engine_shards_disjoint_ids_and_nat_ports(void)
{
	struct route_table *rt = routes(true);
	bool port_used[65536] = { false };
	unsigned clashes = 0, foreign = 0, ports = 0;
	for (unsigned k = 0; k < 3; k++) {
		struct engine_cfg c;
		struct capture out;
		shard_cfg(&c, rt, k, 3, &out);
		c.snat = true;
		const uint8_t nat[4] = { 198, 18, 0, 1 };
		memcpy(c.snat_addr, nat, 4);
		c.flow_end = note_flow_end;
		c.flow_end_arg = &k;
		shard_n[k] = 0;
		struct engine *e = NULL;
		CU_ASSERT_FATAL(engine_create(&c, &e, NULL) == 0);
		for (unsigned i = 0; i < 40; i++) { /* the same 40 flows on every shard */
			struct gen_pkt g;
			gen_default(&g);
			g.proto = 17;
			g.sport = (uint16_t)(2000 + i);
			uint8_t fr[256];
			size_t n = gen_frame(&g, fr, sizeof fr);
			engine_process(e, fr, (uint32_t)n, (uint32_t)n, 1, 1000ull * i, NULL);
		}
		engine_destroy(e); /* ends the flows: their ids noted */
		CU_ASSERT_EQUAL(out.n, 40);
		size_t off = 0;
		for (unsigned i = 0; i < out.n; i++) {
			uint32_t caplen;
			memcpy(&caplen, out.buf + off, 4);
			const uint8_t *f = out.buf + off + 8;
			unsigned p = (unsigned)f[14 + 20] << 8 | f[14 + 21]; /* the UDP source port, mapped */
			clashes += port_used[p];
			foreign += p < 1024 || (p - 1024) % 3 != k;
			port_used[p] = true;
			ports++;
			off += 8 + caplen;
		}
		free(out.buf);
		CU_ASSERT_EQUAL(shard_n[k], 40);
		for (unsigned i = 0; i < shard_n[k]; i++)
			CU_ASSERT_EQUAL(shard_ids[k][i] % 3, (k + 1) % 3);
	}
	CU_ASSERT_EQUAL(ports, 120);
	CU_ASSERT_EQUAL(clashes, 0);
	CU_ASSERT_EQUAL(foreign, 0);
	/* With a tunnel: the shards' instances of the one SA send disjoint sequence numbers. */
	struct esp_sa_conf sa = { .name = "t", .spi = 0x1234, .family = 4, .src = { 198, 18, 0, 1 },
				  .dst = { 198, 18, 0, 2 }, .key = { 1, 2, 3 }, .salt = { 9 } };
	struct esp_conf *tun = NULL;
	CU_ASSERT_FATAL(esp_conf_one(&sa, &tun) == 0);
	uint32_t seqs[2][40];
	unsigned n_seq[2] = { 0, 0 };
	for (unsigned k = 0; k < 2; k++) {
		struct engine_cfg c;
		struct capture out;
		shard_cfg(&c, rt, k, 2, &out);
		c.tunnel = tun;
		struct engine *e = NULL;
		CU_ASSERT_FATAL(engine_create(&c, &e, NULL) == 0);
		for (unsigned i = 0; i < 40; i++) {
			struct gen_pkt g;
			gen_default(&g);
			g.proto = 17;
			g.sport = (uint16_t)(3000 + i % 4);
			uint8_t fr[256];
			size_t n = gen_frame(&g, fr, sizeof fr);
			engine_process(e, fr, (uint32_t)n, (uint32_t)n, 1, 1000ull * i, NULL);
		}
		engine_destroy(e);
		size_t off = 0;
		for (unsigned i = 0; i < out.n && n_seq[k] < 40; i++) {
			uint32_t caplen;
			memcpy(&caplen, out.buf + off, 4);
			const uint8_t *f = out.buf + off + 8, *esp = f + 14 + 20;
			CU_ASSERT_EQUAL(f[14 + 9], 50); /* ESP */
			CU_ASSERT_EQUAL((uint32_t)esp[0] << 24 | (uint32_t)esp[1] << 16 | (uint32_t)esp[2] << 8 | esp[3], 0x1234);
			seqs[k][n_seq[k]++] = (uint32_t)esp[4] << 24 | (uint32_t)esp[5] << 16 | (uint32_t)esp[6] << 8 | esp[7];
			off += 8 + caplen;
		}
		free(out.buf);
	}
	CU_ASSERT_EQUAL(n_seq[0], 40);
	CU_ASSERT_EQUAL(n_seq[1], 40);
	unsigned shared = 0, in_order = 0;
	for (unsigned i = 0; i < n_seq[0]; i++)
		for (unsigned j = 0; j < n_seq[1]; j++)
			shared += seqs[0][i] == seqs[1][j];
	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 1; i < n_seq[k]; i++)
			in_order += seqs[k][i] == seqs[k][i - 1] + 1;
	CU_ASSERT_EQUAL(shared, 0);
	CU_ASSERT_EQUAL(in_order, 78);
	CU_ASSERT_EQUAL(seqs[0][0], 1);
	CU_ASSERT_EQUAL(seqs[1][0], 1 + ESP_SEQ_MAX / 2);
	esp_conf_destroy(tun);
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.routes = rt;
	c.shard = 3;
	c.shards = 3;
	struct engine *e = NULL;
	CU_ASSERT_EQUAL(engine_create(&c, &e, NULL), -ERR_INVAL);
	route_table_destroy(rt);
}

static void test_engine_flow_addresses_as_inet_ntop(void)
{
	struct engine_flow_info fi = { .family = 4, .proto = 6 };
	struct recorder_flow f;
	char want[INET6_ADDRSTRLEN];
	for (unsigned v = 0; v < 256; v++)
		for (int i = 0; i < 4; i++) {
			uint8_t a[4] = { 10, 0, 200, 99 };
			a[i] = (uint8_t)v;
			memcpy(fi.src, a, 4);
			a[3 - i] = (uint8_t)(255 - v);
			memcpy(fi.dst, a, 4);
			recorder_flow_init(&f, &fi);
			inet_ntop(AF_INET, fi.src, want, sizeof want);
			CU_ASSERT_STRING_EQUAL(f.src, want);
			inet_ntop(AF_INET, fi.dst, want, sizeof want);
			CU_ASSERT_STRING_EQUAL(f.dst, want);
		}
	fi.family = 6;
	memset(fi.src, 0, sizeof fi.src);
	fi.src[0] = 0x20, fi.src[1] = 0x01, fi.src[2] = 0x0d, fi.src[3] = 0xb8, fi.src[15] = 1;
	recorder_flow_init(&f, &fi);
	CU_ASSERT_STRING_EQUAL(f.src, "2001:db8::1");
}

int engine_shard_test_register(void)
{
	CU_pSuite s = CU_add_suite("engine-shards", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "shards: disjoint flow ids and NAT ports", test_engine_shards_disjoint_ids_and_nat_ports);
	CU_add_test(s, "flow addresses as inet_ntop writes them", test_engine_flow_addresses_as_inet_ntop);
	return 0;
}
