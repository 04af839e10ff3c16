/* dns_fwd_test: the one DNS reader (dns.h: a message's question, an answer's addresses) on a
 * known message and every prefix of it, and the router's decision and rewrite (fwd.h): the
 * next hop, TTL expiry, no route, and the rewritten headers' checksums. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "fwd.h"
#include "pkt.h"
#include "route.h"
#include "tests/pktgen.h"

static void test_dns_question_hash(void)
{
	uint8_t m[512];
	uint32_t n = gen_dns_resp_len;
	memcpy(m, gen_dns_resp, n);
	uint64_t h, h2;
	int qr = -1;
	CU_ASSERT_TRUE_FATAL(dns_question(m, n, &h, &qr));
	CU_ASSERT_EQUAL(qr, 1); /* a response */
	m[2] &= 0x7f;           /* the same message as a query */
	CU_ASSERT_TRUE(dns_question(m, n, &h2, &qr));
	CU_ASSERT_EQUAL(qr, 0);
	CU_ASSERT_EQUAL(h, h2);
	m[13] = 'W'; /* "www" -> "Www": names compare without case */
	CU_ASSERT_TRUE(dns_question(m, n, &h2, &qr));
	CU_ASSERT_EQUAL(h, h2);
	m[30] = 28; /* QTYPE A -> AAAA: another question */
	CU_ASSERT_TRUE(dns_question(m, n, &h2, &qr));
	CU_ASSERT_NOT_EQUAL(h, h2);
	memcpy(m, gen_dns_resp, n);
	m[5] = 2; /* two questions: not one the predictor caches by */
	CU_ASSERT_FALSE(dns_question(m, n, &h2, &qr));
	memcpy(m, gen_dns_resp, n);
	m[12] = 0xc0; /* a compression pointer in the question */
	CU_ASSERT_FALSE(dns_question(m, n, &h2, &qr));
	/* Every prefix that ends inside the question is refused, and none is read past (ASan). */
	for (uint32_t k = 0; k < 17 + 16; k++) {
		uint8_t *cut = malloc(k ? k : 1);
		memcpy(cut, gen_dns_resp, k);
		CU_ASSERT_FALSE(dns_question(cut, k, &h2, &qr));
		free(cut);
	}
}

static void test_dns_answer_every_prefix(void)
{
	struct dns_record rec[DNS_MAX_RECORDS];
	CU_ASSERT_EQUAL_FATAL(dns_answer_addrs(gen_dns_resp, gen_dns_resp_len, rec), 2);
	CU_ASSERT_EQUAL(rec[0].family, 4);
	CU_ASSERT_EQUAL(rec[0].ttl, 300);
	CU_ASSERT_EQUAL(memcmp(rec[0].addr, (const uint8_t[]){ 93, 184, 216, 34 }, 4), 0);
	CU_ASSERT_EQUAL(memcmp(gen_dns_resp + rec[0].off, rec[0].addr, 4), 0);
	CU_ASSERT_EQUAL(rec[1].family, 6);
	CU_ASSERT_EQUAL(rec[1].ttl, 0); /* RFC 2181: the top bit set reads as 0 */
	CU_ASSERT_EQUAL(dns_answer_addrs_from(gen_dns_resp, gen_dns_resp_len, 1, rec), 1);
	CU_ASSERT_EQUAL(rec[0].family, 6);
	/* A prefix yields the records it holds whole, in order, and nothing read past its end. */
	unsigned last = 0;
	for (uint32_t k = 0; k <= gen_dns_resp_len; k++) {
		uint8_t *cut = malloc(k ? k : 1);
		memcpy(cut, gen_dns_resp, k);
		unsigned got = dns_answer_addrs(cut, k, rec);
		CU_ASSERT(got >= last && got <= 2);
		last = got;
		free(cut);
	}
	CU_ASSERT_EQUAL(last, 2);
	uint8_t q[512];
	memcpy(q, gen_dns_resp, gen_dns_resp_len);
	q[2] &= 0x7f; /* a query announces nothing */
	CU_ASSERT_EQUAL(dns_answer_addrs(q, gen_dns_resp_len, rec), 0);
}

static int decode(const struct gen_pkt *g, uint8_t *f, struct pkt *p)
{
	size_t n = gen_frame(g, f, 512);
	return n && pkt_parse(f, (uint32_t)n, (uint32_t)n, 1, p) == 0 ? (int)n : -1;
}

static void test_fwd_route_ttl_rewrite(void)
{
	struct route_table *rt = NULL;
	CU_ASSERT_FATAL(route_table_create(&rt) == 0);
	struct route_nexthop a = { .mac = { 0, 0, 0x5e, 0, 0x53, 7 }, .port = 3 };
	const uint8_t ten[4] = { 10, 0, 0, 0 };
	CU_ASSERT_FATAL(route_add(rt, 4, ten, 8, &a) == 0);
	struct fwd_cfg fc = { .routes = rt, .self_mac = { 2, 0, 0, 0, 0, 9 }, .snat = true,
			      .snat_addr = { 198, 18, 0, 1 } };
	uint8_t f[512], out[512];
	struct pkt p;
	struct gen_pkt g;
	gen_default(&g); /* 10.0.0.1:1000 -> 10.0.0.2:80 */
	g.ttl = 64;
	CU_ASSERT_FATAL(decode(&g, f, &p) > 0);
	uint32_t nh;
	CU_ASSERT_EQUAL_FATAL(fwd_route(&fc, &p, &nh), FWD_OK);
	CU_ASSERT_EQUAL(route_nexthop(rt, nh)->port, 3);
	struct pkt q = p;
	struct fwd_plan plan;
	fwd_rewrite(&fc, &q, nh, 0, 40000, &plan);
	CU_ASSERT_TRUE(plan.nat);
	int hl = pkt_write_headers(&q, out, sizeof out);
	CU_ASSERT_FATAL(hl > 0);
	memcpy(out + hl, p.payload, p.payload_avail);
	CU_ASSERT_EQUAL(memcmp(out, a.mac, 6), 0);          /* the next hop's MAC */
	CU_ASSERT_EQUAL(memcmp(out + 6, fc.self_mac, 6), 0); /* from the shaper's own */
	CU_ASSERT_EQUAL(out[14 + 8], 63);                    /* TTL decremented */
	CU_ASSERT_EQUAL(memcmp(out + 14 + 12, fc.snat_addr, 4), 0);
	CU_ASSERT_EQUAL(out[34] << 8 | out[35], 40000);     /* the NAT port */
	CU_ASSERT_TRUE(gen_checksums_ok(out, (size_t)hl + p.payload_avail));
	/* The reply direction is not translated at the source. */
	q = p;
	fwd_rewrite(&fc, &q, nh, 1, 40000, &plan);
	CU_ASSERT_FALSE(plan.nat);
	/* TTL 1 expires here; a destination outside every route has no next hop. */
	g.ttl = 1;
	CU_ASSERT_FATAL(decode(&g, f, &p) > 0);
	CU_ASSERT_EQUAL(fwd_route(&fc, &p, &nh), FWD_TTL_EXPIRED);
	g.ttl = 64;
	g.dst[0] = 192;
	CU_ASSERT_FATAL(decode(&g, f, &p) > 0);
	CU_ASSERT_EQUAL(fwd_route(&fc, &p, &nh), FWD_NO_ROUTE);
	route_table_destroy(rt);
}

int dns_fwd_test_register(void)
{
	CU_pSuite s = CU_add_suite("dns-fwd", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "dns: the question's hash, case, type, refusals, every prefix", test_dns_question_hash);
	CU_add_test(s, "dns: an answer's addresses from every prefix", test_dns_answer_every_prefix);
	CU_add_test(s, "fwd: next hop, TTL, source NAT, checksums; expiry and no route", test_fwd_route_ttl_rewrite);
	return 0;
}
