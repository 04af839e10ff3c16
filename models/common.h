/* common: what the predictors in models/ share: size classes and small fixed-point helpers. */
#ifndef PRECRAFT_MODELS_COMMON_H
#define PRECRAFT_MODELS_COMMON_H

#include <stdint.h>

/* Size classes as in REFERENCE.md: 0, 1-63, 64-127, 128-255, ... (powers of two). */
static inline unsigned size_class(uint32_t len)
{
	if (len == 0)
		return 0;
	if (len < 64)
		return 1;
	unsigned c = 2;
	for (uint32_t b = 128; len >= b && c < 15; b <<= 1)
		c++;
	return c;
}

#define N_SIZE_CLASSES 16

/* Gaps longer than this (and negative ones) are neither learned from nor scored (REFERENCE.md). */
#define IAT_MAX_NS 60000000000ull

/* The median of the 'n' (at most 8) values at 'g': the mean of the two middle ones when 'n' is
 * even, as for any sample; 0 when there are none.  The one median of the predictors' windows. */
static inline uint32_t median_u32(const uint32_t *g, unsigned n)
{
	uint32_t v[8];
	if (n > 8)
		n = 8;
	if (!n)
		return 0;
	for (unsigned i = 0; i < n; i++) { /* insertion sort of at most 8 */
		unsigned j = i;
		for (; j > 0 && v[j - 1] > g[i]; j--)
			v[j] = v[j - 1];
		v[j] = g[i];
	}
	return n & 1 ? v[n / 2] : (uint32_t)(((uint64_t)v[n / 2 - 1] + v[n / 2]) / 2);
}

/* An exponentially weighted hit rate in Q16, moved by 1/4 per outcome. */
static inline uint16_t ewma_q16(uint16_t q, int hit)
{
	return (uint16_t)((q * 3u + (hit ? 65535u : 0u)) / 4u);
}

/* FNV-1a, 64 bits: the hash payload anticipation and its scoring compare by. */
static inline uint64_t payload_hash(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

#endif
