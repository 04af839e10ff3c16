/* csum: from-scratch Internet checksum.  The incremental forms are inline in csum.h. */
#include "csum.h"

#include <string.h>

/* RFC 1071 §2: the one's-complement sum does not depend on byte order, so words are added as
 * the host loads them, 32 bits at a time into 64 (no carry is lost before 2^32 of them), and the
 * folded sum is turned to network order once: the same checksum as adding big-endian words one
 * by one, for a fifth of the work on an IPv4 header (verified on every packet) and less on a
 * payload. */
uint32_t csum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = 0;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		acc += (uint64_t)a + b;
	}
	if (len >= 4) {
		uint32_t a;
		memcpy(&a, p, 4);
		acc += a;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t a;
		memcpy(&a, p, 2);
		acc += a;
		p += 2;
		len -= 2;
	}
	if (len) {
		const uint8_t last[2] = { p[0], 0 }; /* padded with zero, in network order */
		uint16_t a;
		memcpy(&a, last, 2);
		acc += a;
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	acc = ((acc >> 8) | (acc << 8)) & 0xffffu;
#endif
	uint64_t s = (uint64_t)sum + acc;
	return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
