/* csum_test: from-scratch and incremental checksums against known packets. */
#include "csum.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

/* A known-good IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199), checksum 0xb861. */
static const uint8_t known_hdr[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				       0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

static void test_csum_known_ipv4_header(void)
{
	uint8_t h[20];
	memcpy(h, known_hdr, 20);
	CU_ASSERT_EQUAL(csum_fold(csum_partial(h, 20, 0)), 0); /* verifies */
	h[10] = h[11] = 0;
	CU_ASSERT_EQUAL(csum_fold(csum_partial(h, 20, 0)), 0xb861);
}

static void test_csum_odd_length_pads_with_zero(void)
{
	const uint8_t a[3] = { 0x12, 0x34, 0x56 }, b[4] = { 0x12, 0x34, 0x56, 0x00 };
	CU_ASSERT_EQUAL(csum_partial(a, 3, 0), csum_partial(b, 4, 0));
}

/* The word-at-a-time sum against the definition (big-endian 16-bit words added one by one, an
 * odd byte padded with zero): the same checksum, and a sum congruent modulo 0xffff that is 0
 * exactly when the definition's is, for any length, alignment and starting sum. */
static uint32_t csum_reference(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t acc = sum;
	for (; len >= 2; p += 2, len -= 2)
		acc += (uint32_t)p[0] << 8 | p[1];
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

static void test_csum_matches_definition(void)
{
	static uint8_t buf[2048 + 8];
	srand(11);
	for (int i = 0; i < 200000; i++) {
		size_t off = (size_t)rand() % 8, len = (size_t)rand() % (i % 8 ? 64 : 2048);
		int fill = rand() % 4; /* all zero, all 0xff, random, random with a starting sum */
		for (size_t j = 0; j < len; j++)
			buf[off + j] = fill == 0 ? 0 : fill == 1 ? 0xff : (uint8_t)rand();
		uint32_t sum = fill == 3 ? (uint32_t)rand() & 0x3ffff : 0;
		uint32_t got = csum_partial(buf + off, len, sum), want = csum_reference(buf + off, len, sum);
		if (csum_fold(got) != csum_fold(want) || got % 0xffff != want % 0xffff || (got == 0) != (want == 0)) {
			CU_FAIL("csum_partial differs from the definition");
			return;
		}
	}
}

/* RFC 1624: the incremental update must leave a header that verifies, for any old checksum
 * that was right, whatever the words changed. */
static void test_csum_incremental_matches_recompute(void)
{
	srand(7);
	for (int i = 0; i < 100000; i++) {
		uint8_t h[20];
		for (int j = 0; j < 20; j++)
			h[j] = (uint8_t)rand();
		h[10] = h[11] = 0;
		uint16_t c = csum_fold(csum_partial(h, 20, 0));
		h[10] = (uint8_t)(c >> 8);
		h[11] = (uint8_t)c;
		unsigned w = (unsigned)rand() % 10;
		if (w == 5)
			w = 4; /* not the checksum word itself */
		uint16_t old = (uint16_t)(h[2 * w] << 8 | h[2 * w + 1]);
		uint16_t nw = (uint16_t)rand();
		h[2 * w] = (uint8_t)(nw >> 8);
		h[2 * w + 1] = (uint8_t)nw;
		uint16_t c2 = csum_apply(c, csum_delta16(0, old, nw));
		h[10] = (uint8_t)(c2 >> 8);
		h[11] = (uint8_t)c2;
		if (csum_fold(csum_partial(h, 20, 0)) != 0) {
			CU_FAIL("incremental checksum does not verify");
			return;
		}
	}
}

static void test_csum_incremental_keeps_wrong_checksum_wrong(void)
{
	/* A router must not launder a corrupt header: the error survives the update. */
	uint8_t h[20];
	memcpy(h, known_hdr, 20);
	uint16_t bad = 0x1234;
	uint16_t old = (uint16_t)(h[8] << 8 | h[9]);
	h[8]--;
	uint16_t nw = (uint16_t)(h[8] << 8 | h[9]);
	uint16_t c2 = csum_apply(bad, csum_delta16(0, old, nw));
	h[10] = (uint8_t)(c2 >> 8);
	h[11] = (uint8_t)c2;
	CU_ASSERT_NOT_EQUAL(csum_fold(csum_partial(h, 20, 0)), 0);
}

static void test_csum_udp_zero_means_none(void)
{
	CU_ASSERT_EQUAL(csum_apply_udp(0, csum_delta16(0, 1, 2)), 0);
	/* A result of 0 is sent as 0xffff. */
	for (uint32_t hc = 1; hc <= 0xffff; hc++) {
		uint16_t r = csum_apply_udp((uint16_t)hc, csum_delta16(0, 0x1111, 0x2222));
		if (r == 0) {
			CU_FAIL("UDP checksum became 0");
			return;
		}
	}
}

int csum_test_register(void)
{
	CU_pSuite s = CU_add_suite("csum", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "known IPv4 header", test_csum_known_ipv4_header);
	CU_add_test(s, "odd length pads with zero", test_csum_odd_length_pads_with_zero);
	CU_add_test(s, "word-at-a-time sum equals the definition (200k random)", test_csum_matches_definition);
	CU_add_test(s, "incremental update verifies (100k random)", test_csum_incremental_matches_recompute);
	CU_add_test(s, "incremental keeps a wrong checksum wrong", test_csum_incremental_keeps_wrong_checksum_wrong);
	CU_add_test(s, "UDP zero checksum means none", test_csum_udp_zero_means_none);
	return 0;
}
