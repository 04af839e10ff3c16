/* csum: the Internet checksum (RFC 1071) computed from scratch, and updated incrementally
 * (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
 *
 * The slow path and the fast path both rewrite checksums only through csum_delta_* and
 * csum_apply, never by recomputing them: a router that decrements TTL must not "repair" a
 * checksum that arrived wrong (captures with checksum offload carry many), and using one
 * function in both paths is what keeps their egress bytes identical. */
#ifndef PRECRAFT_CSUM_H
#define PRECRAFT_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* 32-bit one's-complement accumulator of 16-bit big-endian words over 'len' bytes of 'data',
 * added to 'sum'.  An odd trailing byte is padded with zero. */
uint32_t csum_partial(const void *data, size_t len, uint32_t sum);

/* Folds an accumulator to 16 bits and complements it: the checksum field value. */
uint16_t csum_fold(uint32_t sum);

/* A checksum change, accumulated as the one's-complement sum of ~old + new over every 16-bit
 * word a rewrite changes.  Start from 0. */
static inline uint32_t csum_delta16(uint32_t delta, uint16_t old_word, uint16_t new_word)
{
	delta += (uint16_t)~old_word;
	delta += new_word;
	return delta;
}

/* Adds a 32-bit value's change (two words). */
static inline uint32_t csum_delta32(uint32_t delta, uint32_t old_val, uint32_t new_val)
{
	delta = csum_delta16(delta, (uint16_t)(old_val >> 16), (uint16_t)(new_val >> 16));
	return csum_delta16(delta, (uint16_t)old_val, (uint16_t)new_val);
}

/* Applies an accumulated 'delta' to checksum field value 'hc' (RFC 1624 eqn. 3). */
static inline uint16_t csum_apply(uint16_t hc, uint32_t delta)
{
	uint32_t s = (uint16_t)~hc;
	s += delta & 0xffff;
	s += delta >> 16;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* UDP over IPv4 uses 0 for "no checksum"; a computed 0 is sent as 0xffff (RFC 768). */
static inline uint16_t csum_apply_udp(uint16_t hc, uint32_t delta)
{
	if (hc == 0)
		return 0;
	uint16_t r = csum_apply(hc, delta);
	return r == 0 ? 0xffff : r;
}

#endif
