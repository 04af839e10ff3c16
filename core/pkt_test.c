/* pkt_test: the parser against generated frames of known content, every link type, truncation
 * at every length, malformed headers, and random input. */
#include "pkt.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "tests/pktgen.h"

/* parse → write headers + payload + trailer must give back the frame. */
static int roundtrip(const uint8_t *f, uint32_t len, int lt)
{
	struct pkt p;
	if (pkt_parse(f, len, len, lt, &p) != 0)
		return -1;
	if (p.l3 == PKT_L3_NONE)
		return 0;
	pkt_tcp_opts(&p);
	uint8_t out[4096];
	int n = pkt_write_headers(&p, out, sizeof out);
	if (n < 0 || (uint32_t)n + p.payload_avail + p.trailer_len > sizeof out)
		return -2;
	memcpy(out + n, p.payload, p.payload_avail);
	if (p.trailer_len)
		memcpy(out + n + p.payload_avail, p.trailer, p.trailer_len);
	return (uint32_t)n + p.payload_avail + p.trailer_len == len && memcmp(out, f, len) == 0 ? 0 : -3;
}

static void test_pkt_ipv4_tcp_fields(void)
{
	struct gen_pkt g;
	gen_default(&g);
	g.ts = true;
	g.tsval = 0x11223344;
	g.tsecr = 0x55667788;
	const uint8_t pay[5] = "hello";
	g.payload = pay;
	g.plen = 5;
	uint8_t f[256];
	uint32_t n = (uint32_t)gen_frame(&g, f, sizeof f);
	struct pkt p;
	CU_ASSERT_EQUAL_FATAL(pkt_parse(f, n, n, PKT_LINK_ETH, &p), 0);
	CU_ASSERT_EQUAL(p.l3, PKT_L3_IPV4);
	CU_ASSERT_EQUAL(p.l4, PKT_L4_TCP);
	CU_ASSERT_EQUAL(p.ip4.ttl, 64);
	CU_ASSERT_EQUAL(p.ip4.id, 100);
	CU_ASSERT_EQUAL(p.tcp.sport, 1000);
	CU_ASSERT_EQUAL(p.tcp.dport, 80);
	CU_ASSERT_EQUAL(p.tcp.seq, 1000);
	CU_ASSERT_EQUAL(p.tcp.ack, 5000);
	CU_ASSERT_EQUAL(p.tcp.flags, 0x18);
	CU_ASSERT_EQUAL(p.tcp.doff_bytes, 32);
	CU_ASSERT_EQUAL(p.payload_len, 5);
	CU_ASSERT_EQUAL(memcmp(p.payload, "hello", 5), 0);
	pkt_tcp_opts(&p);
	CU_ASSERT_EQUAL(p.tcp.ts_off, 2);
	CU_ASSERT_EQUAL(p.tcp.tsval, 0x11223344);
	CU_ASSERT_EQUAL(p.tcp.tsecr, 0x55667788);
	CU_ASSERT_FALSE(p.tcp.opts_bad);
	CU_ASSERT_EQUAL(roundtrip(f, n, PKT_LINK_ETH), 0);
}

static void test_pkt_ipv6_udp_vlan(void)
{
	struct gen_pkt g;
	gen_default(&g);
	g.family = 6;
	g.proto = 17;
	g.vlan = 42;
	memset(g.src, 0x20, 16);
	memset(g.dst, 0x30, 16);
	uint8_t f[256];
	uint32_t n = (uint32_t)gen_frame(&g, f, sizeof f);
	struct pkt p;
	CU_ASSERT_EQUAL_FATAL(pkt_parse(f, n, n, PKT_LINK_ETH, &p), 0);
	CU_ASSERT_EQUAL(p.l3, PKT_L3_IPV6);
	CU_ASSERT_EQUAL(p.l4, PKT_L4_UDP);
	CU_ASSERT_EQUAL(p.link.n_tags, 1);
	CU_ASSERT_EQUAL(p.link.tags[0].tci, 42);
	CU_ASSERT_EQUAL(p.l3_off, 18);
	CU_ASSERT_EQUAL(roundtrip(f, n, PKT_LINK_ETH), 0);
}

/* An IP packet (no link header) for wrapping in other link types. */
static uint32_t ip_packet(uint8_t *out, int family)
{
	struct gen_pkt g;
	gen_default(&g);
	g.family = family;
	uint8_t f[256];
	uint32_t n = (uint32_t)gen_frame(&g, f, sizeof f);
	memcpy(out, f + 14, n - 14);
	return n - 14;
}

static void check_link(const uint8_t *hdr, uint32_t hlen, int lt, int family)
{
	uint8_t f[512];
	if (hlen)
		memcpy(f, hdr, hlen);
	uint32_t n = hlen + ip_packet(f + hlen, family);
	struct pkt p;
	CU_ASSERT_EQUAL_FATAL(pkt_parse(f, n, n, lt, &p), 0);
	CU_ASSERT_EQUAL(p.l3, family == 4 ? PKT_L3_IPV4 : PKT_L3_IPV6);
	CU_ASSERT_EQUAL(p.l3_off, hlen);
	CU_ASSERT_EQUAL(p.l4, PKT_L4_TCP);
	CU_ASSERT_EQUAL(roundtrip(f, n, lt), 0);
}

static void test_pkt_link_types(void)
{
	const uint8_t sll[16] = { 0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00 };
	check_link(sll, 16, PKT_LINK_SLL, 4);
	const uint8_t sll2[20] = { 0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0 };
	check_link(sll2, 20, PKT_LINK_SLL2, 6);
	const uint8_t null_le[4] = { 2, 0, 0, 0 }, null_be[4] = { 0, 0, 0, 2 }, null6[4] = { 30, 0, 0, 0 };
	check_link(null_le, 4, PKT_LINK_NULL, 4);
	check_link(null_be, 4, PKT_LINK_NULL, 4);
	check_link(null6, 4, PKT_LINK_NULL, 6);
	check_link(NULL, 0, PKT_LINK_RAW, 4);
	check_link(NULL, 0, PKT_LINK_RAW, 6);
	check_link(NULL, 0, PKT_LINK_IPV6, 6);
	/* QinQ: 802.1ad outer, 802.1Q inner. */
	const uint8_t qinq[22] = { 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 200, 0x08, 0x00 };
	check_link(qinq, 22, PKT_LINK_ETH, 4);
	/* MPLS, two labels, bottom of stack on the second. */
	const uint8_t mpls[22] = { 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x88, 0x47, 0, 1, 0x00, 64, 0, 2, 0x01, 64 };
	check_link(mpls, 22, PKT_LINK_ETH, 6);
	/* PPPoE session carrying IPv4. */
	const uint8_t pppoe[22] = { 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x88, 0x64, 0x11, 0, 0, 7, 0, 42, 0x00, 0x21 };
	check_link(pppoe, 22, PKT_LINK_ETH, 4);
}

static void test_pkt_non_ip_is_not_an_error(void)
{
	uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
	struct pkt p;
	CU_ASSERT_EQUAL(pkt_parse(arp, 60, 60, PKT_LINK_ETH, &p), 0);
	CU_ASSERT_EQUAL(p.status, PKT_ST_NON_IP);
	CU_ASSERT_EQUAL(p.l3, PKT_L3_NONE);
}

static void test_pkt_ipv4_options_and_fragments(void)
{
	uint8_t f[256];
	struct gen_pkt g;
	gen_default(&g);
	uint32_t n = (uint32_t)gen_frame(&g, f, sizeof f);
	/* Insert 4 bytes of options (NOP NOP NOP EOL): IHL 6. */
	uint8_t h[256];
	memcpy(h, f, 34);
	memcpy(h + 34, "\x01\x01\x01\x00", 4);
	memcpy(h + 38, f + 34, n - 34);
	h[14] = 0x46;
	h[16] = (uint8_t)((n - 14 + 4) >> 8);
	h[17] = (uint8_t)(n - 14 + 4);
	struct pkt p;
	CU_ASSERT_EQUAL_FATAL(pkt_parse(h, n + 4, n + 4, PKT_LINK_ETH, &p), 0);
	CU_ASSERT_EQUAL(p.ip4.ihl_bytes, 24);
	CU_ASSERT_EQUAL(p.l4, PKT_L4_TCP);
	CU_ASSERT_EQUAL(roundtrip(h, n + 4, PKT_LINK_ETH), 0);
	/* A later fragment carries no transport header. */
	f[20] = 0x00;
	f[21] = 0x10; /* offset 16 units */
	CU_ASSERT_EQUAL_FATAL(pkt_parse(f, n, n, PKT_LINK_ETH, &p), 0);
	CU_ASSERT_TRUE(p.is_fragment);
	CU_ASSERT_TRUE(p.is_later_fragment);
	CU_ASSERT_EQUAL(p.l4, PKT_L4_NONE);
	CU_ASSERT_EQUAL(p.payload_len, n - 34);
	/* First fragment (MF set, offset 0) keeps its transport header. */
	f[20] = 0x20;
	f[21] = 0x00;
	CU_ASSERT_EQUAL_FATAL(pkt_parse(f, n, n, PKT_LINK_ETH, &p), 0);
	CU_ASSERT_TRUE(p.is_fragment);
	CU_ASSERT_FALSE(p.is_later_fragment);
	CU_ASSERT_EQUAL(p.l4, PKT_L4_TCP);
}

static void test_pkt_ipv6_extension_chain_and_jumbo(void)
{
	/* IPv6 + hop-by-hop (jumbo option) + fragment header + UDP, payload length 0. */
	uint8_t f[14 + 40 + 8 + 8 + 8 + 4];
	memset(f, 0, sizeof f);
	f[12] = 0x86;
	f[13] = 0xdd;
	uint8_t *ip = f + 14;
	ip[0] = 0x60;
	ip[6] = 0;  /* next: hop-by-hop */
	ip[7] = 64;
	uint8_t *hbh = ip + 40;
	hbh[0] = 44; /* next: fragment */
	hbh[1] = 0;
	hbh[2] = 0xc2;
	hbh[3] = 4;
	uint32_t jumbo = 8 + 8 + 8 + 4;
	hbh[4] = 0;
	hbh[5] = 0;
	hbh[6] = 0;
	hbh[7] = (uint8_t)jumbo;
	uint8_t *fr = hbh + 8;
	fr[0] = 17; /* next: UDP; offset 0, M=1 */
	fr[3] = 1;
	uint8_t *udp = fr + 8;
	udp[1] = 53;
	udp[3] = 53;
	udp[5] = 12;
	uint32_t n = sizeof f;
	struct pkt p;
	CU_ASSERT_EQUAL_FATAL(pkt_parse(f, n, n, PKT_LINK_ETH, &p), 0);
	CU_ASSERT_EQUAL(p.ip6.jumbo_len, jumbo);
	CU_ASSERT_EQUAL(p.ip6.ext_len, 16);
	CU_ASSERT_EQUAL(p.proto, 17);
	CU_ASSERT_TRUE(p.is_fragment);
	CU_ASSERT_FALSE(p.is_later_fragment);
	CU_ASSERT_EQUAL(p.l4, PKT_L4_UDP);
	CU_ASSERT_EQUAL(p.payload_len, 4);
	CU_ASSERT_EQUAL(roundtrip(f, n, PKT_LINK_ETH), 0);
}

/* Cutting a frame anywhere gives "truncated" at the right layer, never "malformed". */
static void test_pkt_truncation_at_every_length(void)
{
	struct gen_pkt g;
	gen_default(&g);
	g.ts = true;
	g.vlan = 7;
	uint8_t pay[40];
	memset(pay, 'x', sizeof pay);
	g.payload = pay;
	g.plen = sizeof pay;
	uint8_t f[256];
	uint32_t n = (uint32_t)gen_frame(&g, f, sizeof f);
	for (uint32_t cap = 0; cap <= n; cap++) {
		struct pkt p;
		int rc = pkt_parse(f, cap, n, PKT_LINK_ETH, &p);
		enum pkt_status want = cap < 18 ? PKT_ST_TRUNC_L2 : cap < 38 ? PKT_ST_TRUNC_L3
				    : cap < 70 ? PKT_ST_TRUNC_L4 : PKT_ST_OK;
		CU_ASSERT_EQUAL(p.status, want);
		CU_ASSERT_EQUAL(rc, want == PKT_ST_OK ? 0 : -ERR_TRUNC);
		if (rc == 0) {
			CU_ASSERT_EQUAL(p.payload_len, 40);
			CU_ASSERT_EQUAL(p.payload_avail, cap - 70);
		}
	}
}

static void test_pkt_malformed_headers(void)
{
	struct gen_pkt g;
	gen_default(&g);
	uint8_t f[256], h[256];
	uint32_t n = (uint32_t)gen_frame(&g, f, sizeof f);
	struct pkt p;
	memcpy(h, f, n);
	h[14] = 0x44; /* IHL 4 */
	CU_ASSERT_EQUAL(pkt_parse(h, n, n, PKT_LINK_ETH, &p), -ERR_MALFORMED);
	CU_ASSERT_EQUAL(p.status, PKT_ST_MALFORMED_L3);
	memcpy(h, f, n);
	h[16] = 0;
	h[17] = 10; /* total length below the header */
	CU_ASSERT_EQUAL(pkt_parse(h, n, n, PKT_LINK_ETH, &p), -ERR_MALFORMED);
	memcpy(h, f, n);
	h[17] = (uint8_t)(h[17] + 50); /* total length beyond the frame */
	CU_ASSERT_EQUAL(pkt_parse(h, n, n, PKT_LINK_ETH, &p), -ERR_MALFORMED);
	memcpy(h, f, n);
	h[46] = 0x40; /* TCP data offset 4 */
	CU_ASSERT_EQUAL(pkt_parse(h, n, n, PKT_LINK_ETH, &p), -ERR_MALFORMED);
	CU_ASSERT_EQUAL(p.status, PKT_ST_MALFORMED_L4);
	memcpy(h, f, n);
	h[46] = 0xf0; /* TCP data offset 60, beyond the packet */
	CU_ASSERT_EQUAL(pkt_parse(h, n, n, PKT_LINK_ETH, &p), -ERR_MALFORMED);
	memcpy(h, f, n);
	h[14] = 0x65; /* version 6 in an IPv4 ethertype */
	CU_ASSERT_EQUAL(pkt_parse(h, n, n, PKT_LINK_ETH, &p), -ERR_MALFORMED);
	CU_ASSERT_EQUAL(pkt_parse(f, n, n, 127, &p), -ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(p.status, PKT_ST_BAD_LINK);
}

static void test_pkt_bad_tcp_options_do_not_fail_the_packet(void)
{
	struct gen_pkt g;
	gen_default(&g);
	g.ts = true;
	uint8_t f[256];
	uint32_t n = (uint32_t)gen_frame(&g, f, sizeof f);
	f[54 + 3] = 1; /* TS option length 1 */
	struct pkt p;
	CU_ASSERT_EQUAL_FATAL(pkt_parse(f, n, n, PKT_LINK_ETH, &p), 0);
	pkt_tcp_opts(&p);
	CU_ASSERT_TRUE(p.tcp.opts_bad);
	CU_ASSERT_EQUAL(roundtrip(f, n, PKT_LINK_ETH), 0);
}

/* Random bytes behind a plausible start: nothing crashes (ASan watches), and what parses
 * writes back to the same bytes. */
static void test_pkt_random_input_roundtrips(void)
{
	static const int lts[] = { PKT_LINK_ETH, PKT_LINK_RAW, PKT_LINK_NULL, PKT_LINK_SLL, PKT_LINK_SLL2 };
	srand(11);
	unsigned parsed = 0;
	for (int i = 0; i < 200000; i++) {
		uint8_t f[160];
		uint32_t n = (uint32_t)(rand() % (int)sizeof f);
		for (uint32_t j = 0; j < n; j++)
			f[j] = (uint8_t)rand();
		int lt = lts[rand() % 5];
		if (lt == PKT_LINK_ETH && n > 14) { /* steer toward IP */
			f[12] = (rand() & 1) ? 0x08 : 0x86;
			f[13] = f[12] == 0x08 ? 0x00 : 0xdd;
			f[14] = (uint8_t)((f[12] == 0x08 ? 0x40 : 0x60) | (f[14] & 0x0f));
			if (rand() % 2 && f[12] == 0x08 && n >= 34) {
				f[14] = 0x45; /* plausible lengths, so that deeper layers get exercised */
				f[16] = (uint8_t)((n - 14) >> 8);
				f[17] = (uint8_t)(n - 14);
			} else if (rand() % 2 && f[12] == 0x86 && n >= 54) {
				f[18] = (uint8_t)((n - 54) >> 8);
				f[19] = (uint8_t)(n - 54);
			}
		}
		struct pkt p;
		uint32_t wire = n + (uint32_t)(rand() % 3 == 0 ? rand() % 100 : 0);
		if (pkt_parse(f, n, wire, lt, &p) == 0 && p.l3 != PKT_L3_NONE) {
			parsed++;
			if (wire == n && roundtrip(f, n, lt) != 0) {
				CU_FAIL("random frame did not round-trip");
				return;
			}
		}
	}
	CU_ASSERT_TRUE(parsed > 100);
}

int pkt_test_register(void)
{
	CU_pSuite s = CU_add_suite("pkt", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "IPv4 TCP fields and options", test_pkt_ipv4_tcp_fields);
	CU_add_test(s, "IPv6 UDP in a VLAN", test_pkt_ipv6_udp_vlan);
	CU_add_test(s, "link types: SLL, SLL2, null, raw, QinQ, MPLS, PPPoE", test_pkt_link_types);
	CU_add_test(s, "non-IP is not an error", test_pkt_non_ip_is_not_an_error);
	CU_add_test(s, "IPv4 options and fragments", test_pkt_ipv4_options_and_fragments);
	CU_add_test(s, "IPv6 extension chain and jumbo payload", test_pkt_ipv6_extension_chain_and_jumbo);
	CU_add_test(s, "truncation at every length", test_pkt_truncation_at_every_length);
	CU_add_test(s, "malformed headers", test_pkt_malformed_headers);
	CU_add_test(s, "bad TCP options do not fail the packet", test_pkt_bad_tcp_options_do_not_fail_the_packet);
	CU_add_test(s, "random input round-trips (200k)", test_pkt_random_input_roundtrips);
	return 0;
}
