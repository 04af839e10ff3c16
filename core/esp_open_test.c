/* esp_open_test: the receiving side.  Messages are sealed here by libsodium (the tunnel seals and
 * opens with OpenSSL), so the test's packets come from outside the code under test: every way of
 * opening gives the sealed plaintext for ESP with both ciphers and for WireGuard; the anti-replay
 * window (in order, reordered within it, duplicated, too old, its edge, 0, the wrap after 2^32 - 1);
 * tampered ICVs, ciphertexts and paddings; unknown SPIs and indexes; a forged packet moves nothing;
 * and the tunnel file's local addresses and new words. */
#include "esp.h"

#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "esp_testlib.h"
#include "route.h"
#include "tests/suites.h"

static const char KEY[] = "3d1f0c7a5e92b4468a0e2c5b7d9f13a6c8e04b2d6f819a3c5e7b0d2f4a6c8e10";
static uint8_t key[32], salt[4] = { 0x5a, 0x5b, 0x5c, 0x5d };
static const uint8_t DST4[4] = { 203, 0, 113, 1 };

/* A tunnel file's text read, with 'local' addresses when not NULL. */
static int load(const char *text, const char *local, struct esp_conf **c)
{
	struct errbuf eb = { 0 };
	int rc = esp_test_load(text, c, &eb);
	if (!rc && local && (rc = esp_conf_set_local(*c, local, "--local", &eb)) != 0)
		esp_conf_destroy(*c);
	return rc;
}

/* A receiving tunnel of one SA of 'kind' (cipher 'gcm'), window 'replay' (per slice of
 * 'slices'), rings 'depth' deep. */
static struct esp_tunnel *receiver_sliced(int kind, bool gcm, unsigned replay, unsigned slices, unsigned depth,
					  struct esp_conf **c, struct route_table **rt)
{
	char text[512];
	if (kind == ESP_KIND_WG)
		snprintf(text, sizeof text, "wg r index 0x00000102 src 192.0.2.1 dst 203.0.113.1 port 51820 key %s match 10.0.0.0/8 replay %u slices %u\n",
			 KEY, replay, slices);
	else
		snprintf(text, sizeof text, "esp r spi 0x00001001 src 192.0.2.1 dst 203.0.113.1 key %s salt 5a5b5c5d match 10.0.0.0/8 cipher %s replay %u slices %u\n",
			 KEY, gcm ? "aes-256-gcm" : "chacha20-poly1305", replay, slices);
	CU_ASSERT_EQUAL_FATAL(load(text, "203.0.113.1", c), 0);
	CU_ASSERT_EQUAL_FATAL(route_table_create(rt), 0);
	uint8_t mac[6] = { 2 };
	struct esp_tunnel *t = NULL;
	CU_ASSERT_EQUAL_FATAL(esp_tunnel_create(*c, *rt, mac, depth, 2048, &t), 0);
	return t;
}

static struct esp_tunnel *receiver(int kind, bool gcm, unsigned replay, unsigned depth, struct esp_conf **c,
				   struct route_table **rt)
{
	return receiver_sliced(kind, gcm, replay, 1, depth, c, rt);
}

/* An inner IPv4 packet of 'len' bytes (its total length right), its bytes from 'k'. */
static void inner4(uint8_t *p, uint32_t len, unsigned k)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + k);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
}

enum flaw { GOOD, BAD_TAG, BAD_CT, BAD_PAD, BAD_PADLEN, BAD_NH, BAD_IV };

/* The message of 'kind' for number 'seq' over 'len' inner bytes, sealed by libsodium: its length. */
static uint32_t seal_msg(uint8_t *m, int kind, bool gcm, uint32_t spi, uint64_t seq, const uint8_t *in, uint32_t len,
			 enum flaw flaw)
{
	uint8_t pt[2048], nonce[12];
	uint32_t plain;
	memcpy(pt, in, len);
	if (kind == ESP_KIND_WG) {
		plain = (len + 15u) & ~15u;
		memset(pt + len, 0, plain - len);
		m[0] = 4, m[1] = m[2] = m[3] = 0;
		for (int i = 0; i < 4; i++)
			m[4 + i] = (uint8_t)(spi >> (8 * i));
		for (int i = 0; i < 8; i++)
			m[8 + i] = (uint8_t)(seq >> (8 * i));
		memset(nonce, 0, 4);
		memcpy(nonce + 4, m + 8, 8);
	} else {
		plain = (len + 5u) & ~3u;
		uint32_t pad = plain - len - 2u;
		for (uint32_t i = 0; i < pad; i++)
			pt[len + i] = (uint8_t)(i + 1);
		pt[plain - 2] = (uint8_t)pad;
		pt[plain - 1] = 4;
		if (flaw == BAD_PAD && pad)
			pt[len] ^= 0x80;
		if (flaw == BAD_PADLEN)
			pt[plain - 2] = (uint8_t)(plain - 1);
		if (flaw == BAD_NH)
			pt[plain - 1] = 41;
		for (int i = 0; i < 4; i++)
			m[i] = (uint8_t)(spi >> (24 - 8 * i)), m[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		for (int i = 0; i < 8; i++)
			m[8 + i] = (uint8_t)((seq + (flaw == BAD_IV)) >> (56 - 8 * i));
		memcpy(nonce, salt, 4);
		memcpy(nonce + 4, m + 8, 8);
	}
	unsigned long long tl;
	size_t aad = kind == ESP_KIND_WG ? 0 : 8;
	if (gcm)
		crypto_aead_aes256gcm_encrypt_detached(m + 16, m + 16 + plain, &tl, pt, plain, m, aad, NULL, nonce, key);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(m + 16, m + 16 + plain, &tl, pt, plain, m, aad, NULL,
								   nonce, key);
	if (flaw == BAD_TAG)
		m[16 + plain + 5] ^= 1;
	if (flaw == BAD_CT)
		m[16 + 3] ^= 1;
	return 16u + plain + 16u;
}

static enum esp_open_verdict open1(struct esp_tunnel *t, int kind, const uint8_t *m, uint32_t n, struct esp_opened *o)
{
	return esp_open(t, kind, 4, DST4, m, n, 0, true, o);
}

/* Each framing and cipher: one-shot, keystream and anticipated opens give the plaintext. */
static void test_every_way(void)
{
	CU_ASSERT_FATAL(sodium_init() >= 0);
	for (int v = 0; v < 3; v++) {
		int kind = v == 2 ? ESP_KIND_WG : ESP_KIND_ESP;
		bool gcm = v == 1;
		if (gcm && !crypto_aead_aes256gcm_is_available())
			continue; /* libsodium's AES-GCM needs AES-NI; OpenSSL's is checked elsewhere */
		struct esp_conf *c;
		struct route_table *rt;
		struct esp_tunnel *t = receiver(kind, gcm, 64, 8, &c, &rt);
		uint32_t spi = kind == ESP_KIND_WG ? 0x102 : 0x1001;
		uint64_t first = kind == ESP_KIND_WG ? 0 : 1;
		int ways[4] = { 0 };
		for (unsigned k = 0; k < 300; k++) {
			uint64_t seq = first + k;
			uint8_t in[1500], m[2048];
			uint32_t len = 20u + (k * 37u) % 1400u, gen;
			inner4(in, len, k);
			if (k % 3 == 1)
				(void)esp_ring_fill(t, 0, 4, 2, esp_plain_len(t, 0, len), 0, &gen);
			if (k % 3 == 2)
				CU_ASSERT(esp_anticipate(t, 0, in, len, 0, &gen) > 0);
			uint32_t n = seal_msg(m, kind, gcm, spi, seq, in, len, GOOD);
			struct esp_opened o;
			CU_ASSERT_EQUAL_FATAL(open1(t, kind, m, n, &o), ESP_OPENED);
			CU_ASSERT_EQUAL(o.len, len);
			CU_ASSERT(memcmp(o.inner, in, len) == 0);
			CU_ASSERT_FALSE(o.diverged);
			CU_ASSERT_EQUAL(esp_next_seq(t, 0), seq + 1);
			ways[o.how]++;
		}
		CU_ASSERT(ways[ESP_ANTICIPATED] == 100);
		CU_ASSERT(gcm ? ways[ESP_KEYSTREAM] == 0 : ways[ESP_KEYSTREAM] >= 100);
		esp_tunnel_destroy(t);
		esp_conf_destroy(c);
		route_table_destroy(rt);
	}
}

/* The window, through esp_open: a replayed packet is refused before it is decrypted. */
static void test_window(void)
{
	struct esp_conf *c;
	struct route_table *rt;
	struct esp_tunnel *t = receiver(ESP_KIND_ESP, false, 32, 4, &c, &rt);
	uint8_t in[200], m[512];
	inner4(in, 100, 1);
	struct esp_opened o;
	static const struct {
		uint64_t seq;
		enum esp_open_verdict v;
	} steps[] = {
		{ 1, ESP_OPENED },	{ 3, ESP_OPENED },	 { 2, ESP_OPENED },	  /* reordered within */
		{ 2, ESP_OPEN_REPLAY }, { 3, ESP_OPEN_REPLAY },	 { 40, ESP_OPENED },	  /* duplicated; a jump */
		{ 9, ESP_OPENED },	{ 8, ESP_OPEN_REPLAY },	 { 9, ESP_OPEN_REPLAY },  /* the edge: 40 - 32 + 1 */
		{ 0, ESP_OPEN_REPLAY }, { 0xffffffffu, ESP_OPENED }, { 1, ESP_OPEN_REPLAY }, /* 0; no wrap */
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		uint32_t n = seal_msg(m, ESP_KIND_ESP, false, 0x1001, steps[i].seq, in, 100, GOOD);
		CU_ASSERT_EQUAL(open1(t, ESP_KIND_ESP, m, n, &o), steps[i].v);
	}
	esp_tunnel_destroy(t);
	esp_conf_destroy(c);
	route_table_destroy(rt);
}

/* A sender of two workers (esp_tunnel_slice): its numbers come from two slices 2^31 apart,
 * interleaved; with 'slices 2' the receiver keeps a window each and takes them all, once. */
static void test_slices(void)
{
	for (int kind = ESP_KIND_ESP; kind <= ESP_KIND_WG; kind++) {
		struct esp_conf *c;
		struct route_table *rt;
		struct esp_tunnel *t = receiver_sliced(kind, false, 64, 2, 4, &c, &rt);
		uint32_t spi = kind == ESP_KIND_WG ? 0x102 : 0x1001;
		uint64_t first = kind == ESP_KIND_WG ? 0 : 1;
		uint64_t last = kind == ESP_KIND_WG ? WG_COUNTER_MAX : ESP_SEQ_MAX;
		uint64_t per = (last - first + 1) / 2;
		uint8_t in[200], m[512];
		inner4(in, 80, 3);
		struct esp_opened o;
		unsigned keyed = 0;
		for (unsigned k = 0; k < 100; k++) {
			uint64_t seq = first + (k % 2 ? per : 0) + k / 2;
			uint32_t n = seal_msg(m, kind, false, spi, seq, in, 80, GOOD), gen;
			CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPENED);
			keyed += o.how == ESP_KEYSTREAM;
			CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_REPLAY);
			(void)esp_ring_fill(t, 0, 4, 2, 0, 0, &gen); /* each slice's next numbers */
		}
		CU_ASSERT(keyed >= 97); /* all but the first of each slice (and one more) */
		uint32_t n = seal_msg(m, kind, false, spi, first + 3, in, 80, GOOD); /* slice 0, seen */
		CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_REPLAY);
		esp_tunnel_destroy(t);
		esp_conf_destroy(c);
		route_table_destroy(rt);
		/* One window: the first number of slice 1 makes every later one of slice 0 too old. */
		t = receiver(kind, false, 64, 4, &c, &rt);
		n = seal_msg(m, kind, false, spi, first + per, in, 80, GOOD);
		CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPENED);
		n = seal_msg(m, kind, false, spi, first, in, 80, GOOD);
		CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_REPLAY);
		esp_tunnel_destroy(t);
		esp_conf_destroy(c);
		route_table_destroy(rt);
	}
}

/* Tampering and strangers: each refused by its reason; a forged packet moves neither the window
 * nor the ring (the genuine one after it still opens from its keystream). */
static void test_refusals(void)
{
	for (int kind = ESP_KIND_ESP; kind <= ESP_KIND_WG; kind++) {
		struct esp_conf *c;
		struct route_table *rt;
		struct esp_tunnel *t = receiver(kind, false, 64, 8, &c, &rt);
		uint32_t spi = kind == ESP_KIND_WG ? 0x102 : 0x1001;
		uint8_t in[200], m[512];
		inner4(in, 101, 2);
		struct esp_opened o;
		uint32_t gen, n;
		(void)esp_ring_fill(t, 0, 4, 4, 128, 0, &gen);
		uint64_t s = kind == ESP_KIND_WG ? 0 : 1;
		n = seal_msg(m, kind, false, spi, s, in, 101, BAD_TAG);
		CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_ICV);
		n = seal_msg(m, kind, false, spi, s, in, 101, BAD_CT);
		CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_ICV);
		CU_ASSERT_EQUAL(esp_next_seq(t, 0), s); /* nothing moved */
		n = seal_msg(m, kind, false, spi, s, in, 101, GOOD);
		CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPENED);
		CU_ASSERT_EQUAL(o.how, ESP_KEYSTREAM);
		n = seal_msg(m, kind, false, spi + 1, s + 1, in, 101, GOOD);
		CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_UNKNOWN);
		n = seal_msg(m, kind, false, spi, s + 1, in, 101, GOOD);
		static const uint8_t other[4] = { 203, 0, 113, 9 };
		CU_ASSERT_EQUAL(esp_open(t, kind, 4, other, m, n, 0, false, &o), ESP_OPEN_UNKNOWN);
		CU_ASSERT_EQUAL(open1(t, kind, m, n - 1, &o), ESP_OPEN_MALFORMED); /* not whole blocks */
		CU_ASSERT_EQUAL(open1(t, kind, m, 31, &o), ESP_OPEN_MALFORMED);
		if (kind == ESP_KIND_WG) {
			m[0] = 1; /* a handshake initiation: not a data message */
			CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_MALFORMED);
			n = seal_msg(m, kind, false, spi, s + 2, in, 0, GOOD); /* a keepalive */
			CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_KEEPALIVE);
			in[3] = 200; /* an inner length past the plaintext */
			n = seal_msg(m, kind, false, spi, s + 3, in, 101, GOOD);
			CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_MALFORMED);
		} else {
			enum flaw f[] = { BAD_PAD, BAD_PADLEN, BAD_NH };
			for (unsigned i = 0; i < 3; i++) {
				n = seal_msg(m, kind, false, spi, s + 2 + i, in, 101, f[i]);
				CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_MALFORMED);
				/* authentic all the same: its number is spent */
				CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPEN_REPLAY);
			}
			/* An IV other than the number: opened by the library with the packet's own IV. */
			n = seal_msg(m, kind, false, spi, s + 9, in, 101, BAD_IV);
			CU_ASSERT_EQUAL(open1(t, kind, m, n, &o), ESP_OPENED);
			CU_ASSERT_EQUAL(o.how, ESP_ONESHOT);
		}
		esp_tunnel_destroy(t);
		esp_conf_destroy(c);
		route_table_destroy(rt);
	}
}

static void test_local_and_words(void)
{
	char text[1200];
	struct esp_conf *c;
	snprintf(text, sizeof text,
		 "esp a spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key %s salt 00000001 match 10.0.0.0/8\n"
		 "esp b spi 0x1001 src 203.0.113.1 dst 192.0.2.1 key %s salt 00000002 match 11.0.0.0/8\n",
		 KEY, KEY);
	CU_ASSERT_NOT_EQUAL(load(text, NULL, &c), 0); /* one SPI twice */
	snprintf(text, sizeof text,
		 "esp a spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key %s salt 00000001 match 10.0.0.0/8\n"
		 "esp b spi 0x1002 src 203.0.113.1 dst 192.0.2.1 key %s salt 00000002 match 11.0.0.0/8 cipher aes-256-gcm\n"
		 "wg w index 0x1001 src 203.0.113.1 dst 192.0.2.1 port 4500 key %s match 12.0.0.0/8 counter 7 replay 1024\n",
		 KEY, KEY, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	CU_ASSERT_EQUAL_FATAL(load(text, "192.0.2.1", &c), 0);
	CU_ASSERT_EQUAL(esp_conf_role(c, 0), ESP_SEALS);
	CU_ASSERT_EQUAL(esp_conf_role(c, 1), ESP_OPENS);
	CU_ASSERT_EQUAL(esp_conf_role(c, 2), ESP_OPENS);
	CU_ASSERT_EQUAL(esp_conf_find(c, ESP_KIND_ESP, 0x1002), 1);
	CU_ASSERT_EQUAL(esp_conf_find(c, ESP_KIND_ESP, 0x1001), -1); /* a sealing SA opens nothing */
	CU_ASSERT_EQUAL(esp_conf_find(c, ESP_KIND_WG, 0x1001), 2);
	CU_ASSERT(esp_conf_wg_port(c, 4500) && !esp_conf_wg_port(c, 51820));
	CU_ASSERT_EQUAL(esp_conf_sa(c, 1)->cipher, ESP_AES_256_GCM);
	CU_ASSERT_EQUAL(esp_conf_sa(c, 2)->first_seq, 7);
	CU_ASSERT_EQUAL(esp_conf_sa(c, 2)->replay, 1024);
	static const uint8_t a11[4] = { 11, 1, 2, 3 }, a10[4] = { 10, 1, 2, 3 };
	CU_ASSERT_EQUAL(esp_conf_match(c, 4, a10), 0);
	CU_ASSERT_EQUAL(esp_conf_match(c, 4, a11), -1); /* the other direction's: routed plain */
	struct errbuf eb = { 0 };
	CU_ASSERT_NOT_EQUAL(esp_conf_set_local(c, "192.0.2.1,203.0.113.1", "--local", &eb), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "both its src and its dst"));
	CU_ASSERT_NOT_EQUAL(esp_conf_set_local(c, "198.51.100.7", "--local", &eb), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "no SA of the tunnel"));
	CU_ASSERT_NOT_EQUAL(esp_conf_set_local(c, "192.0.2.300", "--local", &eb), 0);
	esp_conf_destroy(c);
	static const char *const bad[] = {
		"wg w index 0x1 src 192.0.2.1 dst 192.0.2.2 port 0 key %s match 10.0.0.0/8\n",
		"wg w index 0x1 src 192.0.2.1 dst 192.0.2.2 key %s salt 00000001 match 10.0.0.0/8\n",
		"esp e spi 0x1001 src 192.0.2.1 dst 192.0.2.2 key %s salt 00000001 match 10.0.0.0/8 cipher aes-128-gcm\n",
		"esp e spi 0x1001 src 192.0.2.1 dst 192.0.2.2 key %s salt 00000001 match 10.0.0.0/8 replay 5000\n",
		"wg w index 0x1 src 192.0.2.1 dst 192.0.2.2 key %s match 10.0.0.0/8 counter 18446744073709543424\n",
		"wg w src 192.0.2.1 dst 192.0.2.2 key %s match 10.0.0.0/8\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, bad[i], KEY);
		CU_ASSERT_NOT_EQUAL(load(text, NULL, &c), 0);
	}
}

int esp_open_test_register(void)
{
	if (sodium_init() < 0)
		return -1;
	for (int i = 0; i < 32; i++)
		(void)sscanf(KEY + 2 * i, "%2hhx", &key[i]);
	CU_pSuite s = CU_add_suite("esp-open", NULL, NULL);
	if (!s)
		return -1;
	return (!CU_add_test(s, "every way of opening gives the plaintext (ESP ChaCha/GCM, WireGuard)", test_every_way) ||
		!CU_add_test(s, "the anti-replay window through esp_open", test_window) ||
		!CU_add_test(s, "a sender's slices, a window each", test_slices) ||
		!CU_add_test(s, "tampered, malformed and unknown messages refused by reason", test_refusals) ||
		!CU_add_test(s, "local addresses, roles, wg lines and new words", test_local_and_words))
		       ? -1
		       : 0;
}
