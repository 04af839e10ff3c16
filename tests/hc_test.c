/* hc_test: header compression (core/hc) on synthetic TCP flows: round trips, the CRC's table
 * and strength, corrupted frames never delivered wrong (a single flipped bit or a burst of 8
 * bits or fewer: never; random damage: at the CRC's 2^-8 rate or less), random frames. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csum.h"
#include "core/hc.h"
#include "core/hc_impl.h"
#include "core/predict.h"
#include "suites.h"

#define NPKT 200

/* Frame 'i' of a bulk TCP/IPv4 flow with timestamps (odd i: the ACKs back), 'pay' bytes. */
static uint32_t make_frame(uint8_t *f, unsigned i, uint32_t pay)
{
	bool back = i & 1;
	memset(f, 0, 14 + 20 + 32 + pay);
	memcpy(f, back ? "\x02\0\0\0\0\x02\x02\0\0\0\0\x01" : "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	f[12] = 0x08;
	uint8_t *ip = f + 14, *t = ip + 20;
	uint32_t p = back ? 0 : pay;
	ip[0] = 0x45;
	pkt_wr16(ip + 2, (uint16_t)(20 + 32 + p));
	pkt_wr16(ip + 4, (uint16_t)(1000 + i / 2));
	ip[6] = 0x40;
	ip[8] = 63;
	ip[9] = 6;
	memcpy(ip + 12, back ? "\xc0\x00\x02\x02\xc0\x00\x02\x01" : "\xc0\x00\x02\x01\xc0\x00\x02\x02", 8);
	pkt_wr16(ip + 10, csum_fold(csum_partial(ip, 20, 0)));
	pkt_wr16(t, back ? 445 : 40000);
	pkt_wr16(t + 2, back ? 40000 : 445);
	pkt_wr32(t + 4, back ? 7000 : 1000 + (i / 2) * pay);
	pkt_wr32(t + 8, back ? 1000 + (i / 2 + 1) * pay : 7000);
	t[12] = 0x80;
	t[13] = 0x10 | (i % 8 == 0 ? 0x08 : 0);
	pkt_wr16(t + 14, (uint16_t)(back ? 500 + (i % 5) : 2000));
	memcpy(t + 20, "\x01\x01\x08\x0a", 4);
	pkt_wr32(t + 24, 100000 + i / 4);
	pkt_wr32(t + 28, 50000 + i / 6);
	pkt_wr16(t + 16, (uint16_t)(0x1234 + i * 7));
	for (uint32_t k = 0; k < p; k++)
		t[32 + k] = (uint8_t)(k * 13 + i);
	uint32_t n = 14 + 20 + 32 + p;
	return n < 60 ? 60 : n;
}

static struct hc *make(const char *name, bool dec, uint32_t refresh)
{
	struct hc_cfg cfg = { .contexts = 64, .refresh = refresh };
	strcpy(cfg.name, name);
	if (strcmp(name, "vj")) {
		cfg.ops = &predictor_last;
		cfg.pred = NULL;
	}
	struct hc *h = NULL;
	CU_ASSERT_EQUAL_FATAL(hc_create(&cfg, dec, &h, NULL), 0);
	return h;
}

static void test_varint(void)
{
	uint32_t vals[] = { 0, 1, 127, 128, 16383, 16384, 0x0fffffff, 0xffffffffu };
	for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		uint8_t b[8];
		const uint8_t *p = b;
		uint32_t v;
		uint8_t *e = hc__put_var(b, vals[i]);
		CU_ASSERT(hc__get_var(&p, e, &v) && v == vals[i] && p == e);
		p = b;
		CU_ASSERT(!hc__get_var(&p, e - 1, &v)); /* cut short */
	}
	int32_t d[] = { 0, 1, -1, 63, -64, 2147483647, -2147483647 - 1 };
	for (unsigned i = 0; i < sizeof d / sizeof d[0]; i++)
		CU_ASSERT_EQUAL(hc__unzz(hc__zz(d[i])), d[i]);
	uint8_t over[6] = { 0xff, 0xff, 0xff, 0xff, 0x1f, 0 }; /* more than 32 bits */
	const uint8_t *p = over;
	uint32_t v;
	CU_ASSERT(!hc__get_var(&p, over + 6, &v));
}

/* Flips the bits of 'pat' (its lowest 'len' bits, the highest first) from bit 'pos' on, bits
 * counted in the order the CRC reads them (each byte's most significant first). */
static void flip_burst(uint8_t *b, unsigned pos, unsigned pat, unsigned len)
{
	for (unsigned k = 0; k < len; k++)
		if (pat >> (len - 1 - k) & 1)
			b[(pos + k) / 8] ^= (uint8_t)(0x80u >> ((pos + k) % 8));
}

static void test_crc(void)
{
	uint8_t row0[256];
	for (unsigned i = 0; i < 256; i++) {
		uint8_t r = (uint8_t)i;
		for (int k = 0; k < 8; k++)
			r = (uint8_t)(r & 0x80 ? (r << 1) ^ 0x07 : r << 1);
		row0[i] = r;
		CU_ASSERT_EQUAL(hc__crc_tables[0][i], r);
	}
	for (unsigned k = 1; k < 8; k++)
		for (unsigned i = 0; i < 256; i++)
			CU_ASSERT_EQUAL(hc__crc_tables[k][i], row0[hc__crc_tables[k - 1][i]]);
	/* Eight bytes a step gives what one byte a step gives, at every length. */
	uint8_t z[40];
	for (unsigned i = 0; i < sizeof z; i++)
		z[i] = (uint8_t)(i * 91 + 7);
	for (unsigned n = 0; n <= sizeof z; n++) {
		uint8_t r = 0xff;
		for (unsigned i = 0; i < n; i++)
			r = row0[r ^ z[i]];
		CU_ASSERT_EQUAL(hc__crc8(z, n), r);
	}
	/* Every single-bit error and every burst of 8 bits or fewer changes it. */
	uint8_t b[60], c[60];
	for (unsigned i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)(i * 37 + 5);
	uint8_t ref = hc__crc8(b, sizeof b);
	unsigned missed = 0;
	for (unsigned len = 1; len <= 8; len++)
		for (unsigned bit = 0; bit + len <= 8 * sizeof b; bit++)
			for (unsigned pat = 1u << (len - 1) | 1; pat < (1u << len); pat += 2) {
				memcpy(c, b, sizeof b);
				flip_burst(c, bit, pat, len); /* first and last bit of the burst set */
				missed += hc__crc8(c, sizeof c) == ref;
			}
	CU_ASSERT_EQUAL(missed, 0);
}

static void round_trip(const char *name, uint32_t refresh, bool compresses)
{
	struct hc *c = make(name, false, refresh), *d = make(name, true, refresh);
	uint8_t f[1600], l[1700], o[1600 + HC_HDR_MAX + 64];
	for (unsigned i = 0; i < NPKT; i++) {
		uint32_t n = make_frame(f, i, 100 + (i % 3) * 400);
		uint32_t m = hc_compress(c, f, n, n, (uint64_t)i * 1000000, l);
		CU_ASSERT(m <= n + HC_OVERHEAD_MAX);
		uint32_t k = hc_decompress(d, l, m, (uint64_t)i * 1000000, o, sizeof o);
		CU_ASSERT(k == n && memcmp(o, f, n) == 0);
	}
	const struct hc_stats *s = hc_get_stats(c);
	CU_ASSERT(!compresses || s->hc_co > NPKT / 2);
	CU_ASSERT(!compresses || s->header_bytes_out * 4 < s->header_bytes_in);
	CU_ASSERT_EQUAL(hc_get_stats(d)->hc_delivered, NPKT);
	hc_destroy(c);
	hc_destroy(d);
}

static void test_round_trip(void)
{
	round_trip("last", 64, true);
	round_trip("last", 0, true);
	round_trip("last", 1, false); /* a refresh every packet: all IRs */
	round_trip("vj", 0, false);   /* timestamps change the options: RFC 1144 sends them whole */
}

/* 'flips' random bits (or a burst) in one compressed frame of a fresh stream; every frame the
 * decompressor delivers must be its original.  Returns how many were delivered wrong. */
static unsigned damaged_stream(const char *name, unsigned seed, unsigned flips, bool burst)
{
	srand(seed);
	struct hc *c = make(name, false, 64), *d = make(name, true, 64);
	uint8_t f[1600], l[1700], o[1600 + HC_HDR_MAX + 64];
	unsigned at = 20 + (unsigned)rand() % 100, wrong = 0;
	for (unsigned i = 0; i < 140; i++) {
		uint32_t n = make_frame(f, i, 100 + (i % 3) * 400);
		uint32_t m = hc_compress(c, f, n, n, (uint64_t)i * 1000000, l);
		if (i == at && (l[0] & 0x80)) {
			/* The compressed header after its type bit (the payload is the transport
			 * checksum's, end to end; a flipped type bit makes a compressed frame a raw one,
			 * which only the link's own frame check can tell, as with no compression). */
			uint32_t span = m - (n - 66);
			if (burst) {
				unsigned len = 1 + (unsigned)rand() % 8;
				flip_burst(l, 1 + (unsigned)rand() % (8 * span - len), 1u << (len - 1) | 1 | (unsigned)rand(),
					   len);
			} else {
				for (unsigned k = 0; k < flips; k++) {
					unsigned b = 1 + (unsigned)rand() % (8 * span - 1);
					l[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
				}
			}
		}
		uint32_t k = hc_decompress(d, l, m, (uint64_t)i * 1000000, o, sizeof o);
		if (k && (k != n || memcmp(o, f, n) != 0) && getenv("HC_DEBUG")) {
			fprintf(stderr, "seed %u frame %u (damaged %u) type %02x len %u/%u\n", seed, i, at, l[0], k, n);
			for (uint32_t z = 0; z < n; z++)
				if (o[z] != f[z])
					fprintf(stderr, "  byte %u: %02x want %02x\n", z, o[z], f[z]);
		}
		wrong += k && (k != n || memcmp(o, f, n) != 0);
	}
	hc_destroy(c);
	hc_destroy(d);
	return wrong;
}

static void test_damage(void)
{
	unsigned wrong = 0;
	for (unsigned s = 1; s <= 300; s++)
		wrong += damaged_stream("last", s, 1, false) + damaged_stream("last", s + 1000, 0, true);
	CU_ASSERT_EQUAL(wrong, 0);
	/* Random damage to several bytes: each damaged header passes with probability 2^-8 at
	 * most (the payload is not the CRC's: a damaged payload byte is the transport checksum's,
	 * end to end); over 2,000 streams, expect about 8 of the damaged headers through. */
	wrong = 0;
	for (unsigned s = 1; s <= 2000; s++)
		wrong += damaged_stream("last", s + 5000, 6, false);
	CU_ASSERT(wrong <= 40);
}

/* Random frames: whatever the bytes, no read past them (ASan), and nothing is delivered from a
 * compressed frame without a context. */
static void test_random_frames(void)
{
	struct hc *d = make("last", true, 64), *v = make("vj", true, 64);
	uint8_t l[300], o[300 + HC_HDR_MAX + 64];
	srand(99);
	for (unsigned i = 0; i < 20000; i++) {
		uint32_t n = (uint32_t)rand() % sizeof l;
		for (uint32_t k = 0; k < n; k++)
			l[k] = (uint8_t)rand();
		if (n && i % 2)
			l[0] |= 0x80;
		(void)hc_decompress(d, l, n, i, o, sizeof o);
		(void)hc_decompress(v, l, n, i, o, sizeof o);
	}
	CU_ASSERT(hc_get_stats(d)->hc_dropped_malformed + hc_get_stats(d)->hc_dropped_gap +
		  hc_get_stats(d)->hc_dropped_no_context > 10000);
	hc_destroy(d);
	hc_destroy(v);
}

/* A lost frame puts its flow out of step; the decompressor's feedback names it once, and the
 * compressor's next packet of the flow refreshes it, after which packets are delivered again. */
static void test_feedback(void)
{
	struct hc *c = make("last", false, 0), *d = make("last", true, 0);
	uint8_t f[1600], l[1700], o[1600 + HC_HDR_MAX + 64], fb[HC_FEEDBACK_MAX];
	unsigned nacks = 0, after = 0;
	for (unsigned i = 0; i < 60; i++) {
		uint32_t n = make_frame(f, i, 200);
		uint32_t m = hc_compress(c, f, n, n, (uint64_t)i * 1000000, l);
		if (i == 20)
			continue; /* lost */
		uint32_t k = hc_decompress(d, l, m, (uint64_t)i * 1000000, o, sizeof o);
		uint32_t fl = hc_feedback(d, fb);
		if (fl) {
			nacks++;
			hc_take_feedback(c, fb, fl);
		}
		if (i > 24)
			after += k == n && !memcmp(o, f, n);
	}
	CU_ASSERT_EQUAL(nacks, 1);
	CU_ASSERT_EQUAL(hc_get_stats(c)->hc_feedback_refreshes, 1);
	CU_ASSERT_EQUAL(after, 60 - 25); /* without feedback (refresh 0) none of these would be */
	hc_take_feedback(c, (const uint8_t *)"\x04\xff\xff\xff\xff\x7f", 6); /* no such context: ignored */
	hc_take_feedback(c, (const uint8_t *)"\x04", 1);
	hc_destroy(c);
	hc_destroy(d);
}

static void test_hello(void)
{
	struct hc *c = make("last", false, 32);
	uint8_t b[HC_HELLO_MAX];
	uint32_t n = hc_hello(c, b);
	struct hc_cfg cfg;
	CU_ASSERT_EQUAL(hc_hello_parse(b, n, &cfg, NULL), 0);
	CU_ASSERT(strcmp(cfg.name, "last") == 0 && cfg.contexts == 64 && cfg.refresh == 32);
	b[3] = 'X';
	CU_ASSERT_EQUAL(hc_hello_parse(b, n, &cfg, NULL), -ERR_FORMAT);
	CU_ASSERT_EQUAL(hc_hello_parse(b, 1, &cfg, NULL), -ERR_FORMAT);
	hc_destroy(c);
}

int hc_test_register(void)
{
	CU_pSuite s = CU_add_suite("hc", NULL, NULL);
	if (!s || !CU_add_test(s, "varints", test_varint) || !CU_add_test(s, "crc-8", test_crc) ||
	    !CU_add_test(s, "round trips", test_round_trip) || !CU_add_test(s, "damage", test_damage) ||
	    !CU_add_test(s, "random frames", test_random_frames) || !CU_add_test(s, "hello", test_hello) ||
	    !CU_add_test(s, "feedback", test_feedback))
		return -1;
	return 0;
}
