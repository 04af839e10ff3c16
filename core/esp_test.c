/* esp_test: the tunnel file's errors, the bytes of every way of sealing against the one-shot
 * AEAD (checked by the other library), sequence-number exhaustion, and that keys and keystreams leave no trace in freed
 * memory. */
#include "esp.h"

#include <CUnit/CUnit.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "esp_testlib.h"
#include "route.h"
#include "tests/suites.h"

static const char KEY1[] = "01b8d19504d297fadb8264eab4480c732814e4cc86ce1fcbee560ad796588a77";

static void good_line(char *buf, size_t n, const char *name, const char *spi, const char *src, const char *dst,
		      const char *match)
{
	/* One salt per name: two SAs with one key and salt are refused. */
	snprintf(buf, n, "esp %s spi %s src %s dst %s key %s salt 27a94b%02x match %s\n", name, spi, src, dst, KEY1,
		 (unsigned char)name[0], match);
}

static void test_conf_good(void)
{
	char a[512], b[512], text[1100];
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "10.0.0.0/8,2001:db8::/32");
	good_line(b, sizeof b, "two", "0x1002", "2001:db8::1", "2001:db8::2", "10.1.0.0/16");
	snprintf(text, sizeof text, "# comment\n\n%s%s", a, b);
	struct esp_conf *c = NULL;
	struct errbuf eb = { 0 };
	CU_ASSERT_EQUAL_FATAL(esp_test_load(text, &c, &eb), 0);
	CU_ASSERT_EQUAL(esp_conf_count(c), 2);
	CU_ASSERT_EQUAL(esp_conf_sa(c, 0)->spi, 0x1001);
	CU_ASSERT_EQUAL(esp_conf_sa(c, 1)->family, 6);
	uint8_t a4[4] = { 10, 1, 2, 3 }, b4[4] = { 10, 2, 0, 1 }, c4[4] = { 11, 0, 0, 1 };
	CU_ASSERT_EQUAL(esp_conf_match(c, 4, a4), 1); /* the longer prefix wins */
	CU_ASSERT_EQUAL(esp_conf_match(c, 4, b4), 0);
	CU_ASSERT_EQUAL(esp_conf_match(c, 4, c4), -1);
	esp_conf_destroy(c);
}

/* Each bad file: -ERR_FORMAT, the message names file:line and says 'what', and never shows the
 * key. */
static void bad(const char *text, const char *what)
{
	struct esp_conf *c = NULL;
	struct errbuf eb = { 0 };
	int rc = esp_test_load(text, &c, &eb);
	CU_ASSERT_EQUAL(rc, -ERR_FORMAT);
	if (rc == 0) {
		esp_conf_destroy(c);
		return;
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, what));
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "/tmp/precraft-esp-"));
	CU_ASSERT_PTR_NULL(strstr(eb.msg, "01b8d195"));
	if (!strstr(eb.msg, what))
		fprintf(stderr, "\n  got '%s', wanted '%s'\n", eb.msg, what);
}

static void test_conf_bad(void)
{
	char a[512], b[512], text[1100];
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "10.0.0.0/8");
	good_line(b, sizeof b, "two", "0x1001", "192.0.2.1", "203.0.113.2", "11.0.0.0/8");
	snprintf(text, sizeof text, "%s%s", a, b);
	bad(text, ":2: duplicate spi");
	good_line(b, sizeof b, "one", "0x1002", "192.0.2.1", "203.0.113.2", "11.0.0.0/8");
	snprintf(text, sizeof text, "%s%s", a, b);
	bad(text, ":2: duplicate SA name");
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "2001:db8::1", "10.0.0.0/8");
	bad(a, ":1: SA 'one': src is IPv4 but dst is IPv6");
	good_line(a, sizeof a, "one", "0x10", "192.0.2.1", "203.0.113.1", "10.0.0.0/8");
	bad(a, "reserved");
	good_line(a, sizeof a, "one", "1001", "192.0.2.1", "203.0.113.1", "10.0.0.0/8");
	bad(a, "bad spi");
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "10.0.0.0/33");
	bad(a, "bad match prefix");
	bad("esp one spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key 01b8d195 salt 27a94be4 match 10.0.0.0/8\n",
	    ":1: bad key (expected 64 hex digits");
	bad("esp one spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key 01b8d19504d297fadb8264eab4480c732814e4cc86ce1fcbee560ad796588aZZ salt 27a94be4 match 10.0.0.0/8\n",
	    ":1: bad key");
	bad("esp one spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key 01b8d19504d297fadb8264eab4480c732814e4cc86ce1fcbee560ad796588a77 salt 27a9 match 10.0.0.0/8\n",
	    ":1: bad salt");
	bad("esp one spi 0x1001 src 192.0.2.1 dst 203.0.113.1 salt 27a94be4 match 10.0.0.0/8\n", "has no 'key'");
	bad("esp one spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key 01b8d19504d297fadb8264eab4480c732814e4cc86ce1fcbee560ad796588a77 salt 27a94be4 match 10.0.0.0/8 color red\n",
	    "unknown word 'color'");
	bad("route 10.0.0.0/8\n", ":1: expected 'esp NAME");
	bad("# nothing\n", "no SA");
	bad("esp one spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key 01b8d19504d297fadb8264eab4480c732814e4cc86ce1fcbee560ad796588a77 salt 27a94be4 match 10.0.0.0/8 oseq -1\n",
	    "bad oseq");
}

/* The refusals that keep the crypto's promises (issue 34): each would have been accepted. */
static void test_conf_refusals(void)
{
	char a[512], b[512], text[1100];
	/* The same key and salt in two SAs: the same (key, nonce) pairs. */
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "10.0.0.0/8");
	good_line(b, sizeof b, "other", "0x1002", "192.0.2.1", "203.0.113.2", "11.0.0.0/8");
	snprintf(text, sizeof text, "%s%s", a, b);
	bad(text, ":2: SA 'other' has the key and salt of SA 'one' (line 1)");
	/* A word twice: the second replaced the first. */
	const char *const words[] = { "match 12.0.0.0/8", "spi 0x2002", "dst 203.0.113.9", "salt 00000001", "src 192.0.2.9",
				      "oseq 5" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "10.0.0.0/8");
		a[strlen(a) - 1] = 0;
		snprintf(text, sizeof text, "%s %s\n", a, words[i]);
		char what[64];
		snprintf(what, sizeof what, ":1: '%.*s' given twice", (int)strcspn(words[i], " "), words[i]);
		if (strncmp(words[i], "oseq", 4) == 0) /* the first oseq is not a repeat */
			snprintf(text, sizeof text, "%s oseq 1 %s\n", a, words[i]);
		bad(text, what);
	}
	/* One prefix in two SAs, and twice in one. */
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "10.0.0.0/8,2001:db8::/32");
	good_line(b, sizeof b, "two", "0x1002", "192.0.2.1", "203.0.113.2", "11.0.0.0/8,2001:db8::/32");
	snprintf(text, sizeof text, "%s%s", a, b);
	bad(text, ":2: match prefix 2001:db8::/32 is already SA 'one''s (line 1)");
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "10.0.0.0/8,10.0.0.0/8");
	bad(a, ":1: match prefix 10.0.0.0/8 is already SA 'one''s (line 1)");
	/* Host bits set. */
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "10.9.0.1/8");
	bad(a, ":1: match prefix '10.9.0.1/8' has host bits set");
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "2001:db8::1/64");
	bad(a, "host bits set");
	/* The rings' memory is capped, whatever the SAs. */
	CU_ASSERT(esp_ring_bytes(ESP_MAX_SA, 64, 65472) > ESP_RING_BYTES_MAX);
	CU_ASSERT(esp_ring_bytes(ESP_MAX_SA, 8, 2048) <= ESP_RING_BYTES_MAX);
	struct esp_conf *c = NULL;
	struct errbuf eb = { 0 };
	good_line(a, sizeof a, "one", "0x1001", "192.0.2.1", "203.0.113.1", "10.0.0.0/8");
	CU_ASSERT_EQUAL_FATAL(esp_test_load(a, &c, &eb), 0);
	struct esp_tunnel *t = NULL;
	struct route_table *rt;
	CU_ASSERT_EQUAL_FATAL(route_table_create(&rt), 0);
	uint8_t mac[6] = { 2 };
	CU_ASSERT_EQUAL(esp_tunnel_create(c, rt, mac, 64, 65472, &t), 0); /* one SA: 4 MiB */
	esp_tunnel_destroy(t);
	route_table_destroy(rt);
	esp_conf_destroy(c);
}

/* A tunnel over one IPv4 SA and one IPv6 SA, routed by a default route. */
static struct esp_conf *two_sas(uint32_t oseq)
{
	char text[1200];
	snprintf(text, sizeof text,
		 "esp v4 spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key %s salt 27a94be4 match 0.0.0.0/0 oseq %u\n"
		 "esp v6 spi 0x1002 src 2001:db8::1 dst 2001:db8::2 key 7c60fb0536825110cd59705c6a453de75c54814c9274924e6d2a0974f8258309 salt 3e57cc89 match ::/0 oseq %u\n",
		 KEY1, oseq, oseq);
	struct esp_conf *c = NULL;
	struct errbuf eb = { 0 };
	CU_ASSERT_EQUAL(esp_test_load(text, &c, &eb), 0);
	return c;
}

static struct route_table *default_routes(void)
{
	struct route_table *rt;
	CU_ASSERT_EQUAL_FATAL(route_table_create(&rt), 0);
	struct route_nexthop nh = { { 0, 0, 0x5e, 0, 0x53, 1 }, 1 };
	uint8_t z[16] = { 0 };
	CU_ASSERT_EQUAL(route_add(rt, 4, z, 0, &nh), 0);
	CU_ASSERT_EQUAL(route_add(rt, 6, z, 0, &nh), 0);
	CU_ASSERT_EQUAL(route_table_freeze(rt), 0);
	return rt;
}

static uint32_t random_inner(uint8_t *p, unsigned k)
{
	uint32_t len = 20u + (uint32_t)(rand() % (k % 5 == 0 ? 1800 : 200));
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)rand();
	p[0] = k % 3 == 0 ? 0x60 : 0x45;
	return len;
}

/* The same packets through a tunnel that makes keystreams and anticipates packets, and one
 * that seals everything in one shot: the same frames, and libsodium opens them. */
static void test_seal_ways_agree(void)
{
	struct esp_conf *c = two_sas(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct route_table *rt = default_routes();
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct esp_tunnel *ta, *tb;
	CU_ASSERT_EQUAL_FATAL(esp_tunnel_create(c, rt, mac, 4, 1024, &ta), 0);
	CU_ASSERT_EQUAL_FATAL(esp_tunnel_create(c, rt, mac, 0, 1024, &tb), 0);
	static uint8_t pkt[4000], fa[4000];
	unsigned ways[4] = { 0 };
	srand(7);
	for (unsigned k = 0; k < 3000; k++) {
		uint32_t len = random_inner(pkt, k);
		unsigned sa = pkt[0] >> 4 == 6;
		uint32_t gen;
		if (k % 7 == 0)
			(void)esp_anticipate(ta, sa, pkt, len, 0, &gen);
		if (k % 11 == 0) { /* a wrong anticipation: it must not be sent */
			uint8_t other[4000];
			memcpy(other, pkt, len);
			other[len / 2] ^= 1;
			(void)esp_anticipate(ta, sa, other, len, 0, &gen);
		}
		const uint8_t *f1, *f2;
		uint32_t l1, l2;
		enum esp_how h1, h2;
		bool d1, d2;
		/* in one piece, in two, and with a tail the capture lacks (zeros) */
		uint32_t al = k % 3 == 0 ? len : k % 3 == 1 ? 20 : len / 2, bl = k % 3 == 2 ? len - al - 7 : len - al;
		if (k % 3 == 2)
			memset(pkt + al + bl, 0, 7);
		CU_ASSERT_EQUAL_FATAL(esp_seal(ta, sa, pkt, al, pkt + al, bl, len, 1, k % 2 == 0, &f1, &l1, &h1, &d1),
				      ESP_OK);
		memcpy(fa, f1, l1);
		CU_ASSERT_EQUAL_FATAL(esp_seal(tb, sa, pkt, len, NULL, 0, len, 1, false, &f2, &l2, &h2, &d2), ESP_OK);
		CU_ASSERT_EQUAL(h2, ESP_ONESHOT);
		CU_ASSERT_FALSE(d1);
		CU_ASSERT_EQUAL(l1, l2);
		CU_ASSERT(memcmp(fa, f2, l1) == 0);
		ways[h1]++;
		/* libsodium (precraft seals with OpenSSL) opens it: the ICV verifies and yields the
		 * packet and its trailer */
		const struct esp_sa_conf *s = esp_conf_sa(c, sa);
		uint32_t off = 14u + (s->family == 4 ? 20u : 40u), plain = esp_plain_len(ta, sa, len);
		CU_ASSERT_EQUAL(l1, off + 16u + plain + 16u);
		uint8_t nonce[12], out[4000];
		memcpy(nonce, s->salt, 4);
		memcpy(nonce + 4, fa + off + 8, 8);
		CU_ASSERT_EQUAL(crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, fa + off + 16, plain,
									   fa + off + 16 + plain, fa + off, 8, nonce,
									   s->key),
				0);
		CU_ASSERT(memcmp(out, pkt, len) == 0);
		CU_ASSERT_EQUAL(out[plain - 1], sa ? 41 : 4);
		(void)esp_ring_fill(ta, sa, 4, 2, k % 3 ? esp_plain_len(ta, sa, len) : 0, 0, &gen);
	}
	CU_ASSERT(ways[ESP_KEYSTREAM] > 1000);
	CU_ASSERT(ways[ESP_ANTICIPATED] > 100);
	CU_ASSERT(ways[ESP_ONESHOT] > 0); /* the packets beyond the 1024-byte keystreams */
	struct esp_stats st;
	esp_get_stats(ta, &st);
	CU_ASSERT_EQUAL(st.esp_sealed_keystream + st.esp_sealed_anticipated + st.esp_sealed_oneshot, 3000);
	CU_ASSERT(st.esp_anticipated_wasted > 0);
	CU_ASSERT(st.ks_short > 0);
	esp_tunnel_destroy(ta);
	esp_tunnel_destroy(tb);
	route_table_destroy(rt);
	esp_conf_destroy(c);
}

/* Keystreams not ready (a timed model has not finished them) are not used. */
static void test_not_ready(void)
{
	struct esp_conf *c = two_sas(0);
	struct route_table *rt = default_routes();
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 }, pkt[4000];
	struct esp_tunnel *t;
	CU_ASSERT_EQUAL_FATAL(esp_tunnel_create(c, rt, mac, 2, 512, &t), 0);
	uint32_t gen;
	CU_ASSERT(esp_ring_fill(t, 0, 2, 2, 64, UINT64_MAX, &gen) > 0);
	CU_ASSERT(esp_pending(t, 0, gen));
	const uint8_t *f;
	uint32_t l;
	enum esp_how h;
	bool d;
	(void)random_inner(pkt, 1);
	pkt[0] = 0x45;
	CU_ASSERT_EQUAL(esp_seal(t, 0, pkt, 40, NULL, 0, 40, 100, false, &f, &l, &h, &d), ESP_OK);
	CU_ASSERT_EQUAL(h, ESP_ONESHOT);
	esp_mark_ready(t, 0, gen, 150);
	CU_ASSERT_FALSE(esp_pending(t, 0, gen));
	CU_ASSERT_EQUAL(esp_seal(t, 0, pkt, 40, NULL, 0, 40, 200, true, &f, &l, &h, &d), ESP_OK);
	CU_ASSERT_FALSE(d);
	CU_ASSERT_EQUAL(h, ESP_KEYSTREAM);
	struct esp_stats st;
	esp_get_stats(t, &st);
	CU_ASSERT_EQUAL(st.ks_late, 1);
	esp_tunnel_destroy(t);
	route_table_destroy(rt);
	esp_conf_destroy(c);
}

/* RFC 4303 §3.3.3: no wrap.  From oseq 2^32 - 3, two more packets, then drops. */
static void test_exhaustion(void)
{
	struct esp_conf *c = two_sas(ESP_SEQ_MAX - 2);
	struct route_table *rt = default_routes();
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct esp_tunnel *t;
	CU_ASSERT_EQUAL_FATAL(esp_tunnel_create(c, rt, mac, 8, 512, &t), 0);
	uint32_t gen;
	const uint8_t *f;
	uint32_t l;
	enum esp_how h;
	bool d;
	CU_ASSERT_EQUAL(esp_ring_fill(t, 0, 8, 8, 64, 0, &gen), 2 * 64); /* only the numbers left */
	for (int i = 0; i < 4; i++) {
		uint8_t in[40] = { 0x45 };
		enum esp_verdict v = esp_seal(t, 0, in, 40, NULL, 0, 40, 1, false, &f, &l, &h, &d);
		CU_ASSERT_EQUAL(v, i < 2 ? ESP_OK : ESP_EXHAUSTED);
		if (v == ESP_OK) {
			uint32_t seq = (uint32_t)f[14 + 20 + 4] << 24 | (uint32_t)f[14 + 20 + 5] << 16 |
				       (uint32_t)f[14 + 20 + 6] << 8 | f[14 + 20 + 7];
			CU_ASSERT_EQUAL(seq, ESP_SEQ_MAX - 1 + (uint32_t)i);
		}
	}
	CU_ASSERT_EQUAL(esp_ring_fill(t, 0, 8, 8, 64, 0, &gen), 0);
	CU_ASSERT_EQUAL(esp_anticipate(t, 0, esp_inner(t), 40, 0, &gen), 0);
	struct esp_stats st;
	esp_get_stats(t, &st);
	CU_ASSERT_EQUAL(st.esp_exhausted_drops, 2);
	CU_ASSERT_EQUAL(st.esp_packets, 2);
	esp_tunnel_destroy(t);
	route_table_destroy(rt);
	esp_conf_destroy(c);
}

/* Instances of the same SAs in several workers (esp_tunnel_slice): each sends its own slice of
 * the sequence numbers, in order, the slices together every number once, and none runs into
 * another's; keystreams made ahead stay in the slice too. */
static void test_slices_never_share_a_number(void)
{
	enum { SLICES = 3, LEFT = 10 };
	struct esp_conf *c = two_sas(ESP_SEQ_MAX - LEFT); /* 10 numbers left: slices of 3, 3 and 4 */
	struct route_table *rt = default_routes();
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	static bool used[LEFT + 1];
	memset(used, 0, sizeof used);
	unsigned twice = 0, outside = 0, backwards = 0, sent = 0;
	for (unsigned k = 0; k < SLICES; k++) {
		struct esp_tunnel *t;
		CU_ASSERT_EQUAL_FATAL(esp_tunnel_create(c, rt, mac, 8, 512, &t), 0);
		CU_ASSERT_EQUAL(esp_tunnel_slice(t, SLICES, SLICES), -ERR_INVAL);
		CU_ASSERT_EQUAL_FATAL(esp_tunnel_slice(t, k, SLICES), 0);
		uint32_t gen;
		CU_ASSERT_TRUE(esp_ring_fill(t, 0, 8, 8, 64, 0, &gen) <= 4 * 64); /* only its own numbers */
		uint64_t lo = ESP_SEQ_MAX - LEFT + 1 + 3 * k, hi = k + 1 == SLICES ? ESP_SEQ_MAX : lo + 2, prev = 0;
		for (int i = 0; i < 6; i++) {
			uint8_t in[40] = { 0x45 };
			const uint8_t *f;
			uint32_t l;
			enum esp_how h;
			bool d;
			if (esp_seal(t, 0, in, 40, NULL, 0, 40, 1, false, &f, &l, &h, &d) != ESP_OK)
				continue;
			uint64_t seq = (uint32_t)f[14 + 20 + 4] << 24 | (uint32_t)f[14 + 20 + 5] << 16 |
				       (uint32_t)f[14 + 20 + 6] << 8 | f[14 + 20 + 7];
			sent++;
			outside += seq < lo || seq > hi;
			backwards += seq <= prev;
			prev = seq;
			if (seq > ESP_SEQ_MAX - LEFT) {
				twice += used[seq - (ESP_SEQ_MAX - LEFT)];
				used[seq - (ESP_SEQ_MAX - LEFT)] = true;
			}
		}
		CU_ASSERT_EQUAL(esp_next_seq(t, 0), UINT64_MAX); /* its slice used up */
		/* Sealing started: slicing again would hand out numbers already sent. */
		CU_ASSERT_EQUAL(esp_tunnel_slice(t, k, SLICES), -ERR_INVAL);
		esp_tunnel_destroy(t);
	}
	CU_ASSERT_EQUAL(sent, LEFT);
	CU_ASSERT_EQUAL(twice, 0);
	CU_ASSERT_EQUAL(outside, 0);
	CU_ASSERT_EQUAL(backwards, 0);
	route_table_destroy(rt);
	esp_conf_destroy(c);
}

/* Freed memory is scanned (the free wrapper of faults_test.c) for the key and for keystream
 * bytes: none may be left. */
static uint8_t scan_key[32], scan_ks[32];
static const void *scan_ring;
static int scan_found, scan_saw_ring;

static bool contains(const uint8_t *p, size_t n, const uint8_t *pat, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (p[i] == pat[0] && memcmp(p + i, pat, m) == 0)
			return true;
	return false;
}

static void scan(void *p, size_t n)
{
	scan_saw_ring |= p == scan_ring;
	if (contains(p, n, scan_key, sizeof scan_key) || contains(p, n, scan_ks, sizeof scan_ks))
		scan_found++;
}

static void test_wiped(void)
{
	struct esp_conf *c = two_sas(0);
	struct route_table *rt = default_routes();
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct esp_tunnel *t;
	CU_ASSERT_EQUAL_FATAL(esp_tunnel_create(c, rt, mac, 4, 512, &t), 0);
	uint32_t gen;
	CU_ASSERT(esp_ring_fill(t, 0, 4, 4, 256, 0, &gen) > 0);
	uint8_t *in = esp_inner(t);
	memset(in, 0x11, 200);
	in[0] = 0x45;
	CU_ASSERT(esp_anticipate(t, 0, in, 200, 0, &gen) > 0);
	size_t n;
	const uint8_t *mem = esp__ring_mem(t, &n);
	memcpy(scan_key, esp_conf_sa(c, 0)->key, 32);
	memcpy(scan_ks, mem + CRYPTO_KS_HEAD + 64, 32); /* the middle of the first keystream */
	scan_ring = mem;
	scan_found = scan_saw_ring = 0;
	faults_free_scan = scan;
	esp_tunnel_destroy(t);
	esp_conf_destroy(c);
	faults_free_scan = NULL;
	CU_ASSERT(scan_saw_ring); /* the scan saw the ring freed: it can fail */
	CU_ASSERT_EQUAL(scan_found, 0);
	route_table_destroy(rt);
}

int esp_test_register(void)
{
	CU_pSuite s = CU_add_suite("esp", NULL, NULL);
	if (!s)
		return -1;
	return (!CU_add_test(s, "tunnel file: good", test_conf_good) ||
		!CU_add_test(s, "tunnel file: each error names file:line, never the key", test_conf_bad) ||
		!CU_add_test(s, "tunnel file: key+salt reuse, repeated words, shared prefixes, host bits refused", test_conf_refusals) ||
		!CU_add_test(s, "keystream, anticipated and one-shot seals are the same bytes", test_seal_ways_agree) ||
		!CU_add_test(s, "keystreams not yet made are not used", test_not_ready) ||
		!CU_add_test(s, "sequence numbers run out without wrapping", test_exhaustion) ||
		!CU_add_test(s, "workers' slices never share a sequence number", test_slices_never_share_a_number) ||
		!CU_add_test(s, "keys and keystreams are wiped before they are freed", test_wiped))
		       ? -1
		       : 0;
}
