/* craft: builds a predicted packet's egress form ahead of time, and at arrival validates it
 * against the real packet and patches its late-bound fields.
 *
 * A pre-built buffer holds: the predicted ingress L3+L4 header bytes; a dependency mask (the
 * bytes the pre-computed work depends on: version, header lengths, TOS, TTL, protocol,
 * addresses, ports, IPv4 fragment bits, TCP option layout); the deltas the rewrite made to the
 * checksums; and the egress frame itself, with the route's Ethernet header, every header
 * rewritten from the predicted values, and room for the payload (the payload too, when it was
 * predicted).  Late-bound bytes (IP ID and lengths, IPv6 flow label, TCP seq/ack/flags/window/
 * urgent, timestamp and SACK values, UDP length, checksums) are copied from the arriving packet
 * and the checksums fixed with the stored deltas: the result is the slow path's output, byte for
 * byte, because the rewrite touches only dependency bytes and checksums.
 *
 * Strict hit: every header byte but the checksums was predicted.  Template hit: the dependency
 * bytes matched and late-bound fields were patched.  Anything else is a mismatch, and the
 * buffer must be released unsent. */
#ifndef PRECRAFT_CRAFT_H
#define PRECRAFT_CRAFT_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct pkt;
struct pool;
struct pool_buf;
struct pred_out;
struct fwd_cfg;

#define CRAFT_MAX_HDR 128 /* L3+L4 header bytes a pre-built packet may depend on */

enum craft_result {
	CRAFT_HIT_STRICT,
	CRAFT_HIT_TEMPLATE,
	CRAFT_MISMATCH,            /* a dependency byte differs */
	CRAFT_LAYOUT,              /* header lengths differ */
	CRAFT_TOO_BIG,             /* the packet outgrew the buffer sized from the prediction */
};

/* True when 'p' can be predicted and pre-built: IPv4 or IPv6 TCP/UDP, not a fragment, length
 * fields in use (no TSO/jumbo zero lengths), headers within CRAFT_MAX_HDR. */
bool craft_eligible(const struct pkt *p);

/* Builds the egress form of the next packet predicted from template 'tmpl' (the latest ingress
 * packet of that direction, decoded, TCP options walked) and prediction 'pr', for next hop
 * 'nh', flow direction 'dir' and NAT port 'nat_port'.  The buffer comes from 'pool' for owner
 * counter 'owner'.  Returns 0 and '*out' (the caller owns the buffer and returns it with
 * pool_put), or the pool's error. */
int craft_build(struct pool *pool, uint32_t *owner, const struct pkt *tmpl, const struct pred_out *pr,
		const struct fwd_cfg *fc, uint32_t nh, unsigned dir, uint16_t nat_port,
		struct pool_buf **out) WARN_UNUSED;

/* Validates pre-built buffer 'b' against arriving packet 'p' (decoded from its frame) and, on a
 * hit, completes the egress frame in the buffer: '*frame', '*caplen' and '*wirelen' describe
 * it, and '*payload_hit' tells whether a predicted payload was verified equal. */
enum craft_result craft_validate(struct pool_buf *b, const struct pkt *p, const uint8_t **frame,
				 uint32_t *caplen, uint32_t *wirelen, bool *payload_hit);

/* Bytes of header and meta a pre-built buffer carries beyond the egress frame. */
uint32_t craft_overhead(void);

#endif
