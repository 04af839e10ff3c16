/* craft: builds a predicted packet's egress form ahead of time, and at arrival validates it
 * against the real frame and patches its late-bound fields, without decoding the frame.
 *
 * A pre-built buffer holds: the predicted ingress frame header (link, IP and transport
 * headers, as they would arrive), a dependency mask over it (the bytes the pre-computed work
 * depends on: link header, version, header lengths, TOS, TTL, protocol, addresses, ports, IPv4
 * fragment bits, TCP option layout), the checksum deltas of the rewrite, a probe hash
 * (pkt_probe of the predicted header) by which the engine finds it, the flow it belongs to, and
 * the egress headers themselves: the route's Ethernet header and every header rewritten from the
 * predicted values, followed by the payload when the payload was predicted.
 *
 * At arrival, a masked compare of the frame's first bytes against the prediction proves the
 * layout (the link header and every length that shapes the frame are compared), and the length
 * fields are checked as the parser would check them; then late-bound bytes (IP ID and lengths,
 * IPv6 flow label, TCP seq/ack/flags/window/urgent, timestamp and SACK values, UDP length) are
 * copied from the frame and the checksums fixed with the stored deltas.  The result is the slow
 * path's output, byte for byte, because the rewrite touches only dependency bytes and checksums.
 * When in doubt, validation fails and the slow path, the reference, decides.
 *
 * Strict hit: every header byte but the checksums was as predicted.  Template hit: the
 * dependency bytes matched and late-bound fields were patched. */
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
struct flow_entry;

#define CRAFT_MAX_HDR 192 /* link + IP + transport header bytes a pre-built packet compares */

enum craft_result {
	CRAFT_HIT_STRICT,
	CRAFT_HIT_TEMPLATE,
	CRAFT_MISMATCH,            /* a dependency byte differs */
	CRAFT_LAYOUT,              /* another link type, a short capture, or lengths that do not fit */
};

/* What a hit sends: the egress headers, then the payload (gathered, not copied). */
struct craft_out {
	const uint8_t *hdr;
	uint32_t hdr_len;
	const uint8_t *payload;    /* from the pre-built buffer when predicted and verified, else
				      from the arriving frame */
	uint32_t payload_len;      /* captured payload bytes sent */
	uint32_t wirelen;          /* egress frame length on the wire */
	bool payload_hit;
	bool payload_predicted;    /* the buffer held a predicted payload (hit or not) */
	uint8_t tcp_flags;         /* of the arriving packet, TCP only */
	uint32_t l3_off;           /* where the arriving IP header starts */
	uint32_t ip4_hdr_len;      /* its IPv4 header length, 0 for IPv6 */
};

/* True when 'p' can be predicted and pre-built: IPv4 or IPv6 TCP/UDP, not a fragment, length
 * fields in use (no TSO/jumbo zero lengths), headers within CRAFT_MAX_HDR. */
bool craft_eligible(const struct pkt *p);

/* Builds the egress form of the next packet predicted from template 'tmpl' (the latest ingress
 * packet of that direction, decoded from its frame and unchanged since, TCP options walked, its
 * frame still valid: the header bytes are copied from it) and prediction 'pr', for next hop
 * 'nh', flow 'flow' in direction 'dir', NAT port 'nat_port'.  'probe' is the frame's pkt_probe
 * hash when the caller has it (it is the next packet's: the probe covers no predicted field), 0
 * to have it computed.  The buffer comes from 'pool' for owner counter 'owner'.  Returns 0 and
 * '*out' (the caller owns the buffer and returns it with pool_put), or the pool's error. */
int craft_build(struct pool *pool, uint32_t *owner, const struct pkt *tmpl, uint32_t probe, const struct pred_out *pr,
		const struct fwd_cfg *fc, uint32_t nh, struct flow_entry *flow, unsigned dir,
		uint16_t nat_port, struct pool_buf **out) WARN_UNUSED;

/* Builds the egress form of the first packet of a flow that is not there yet (one a DNS answer
 * announced, prefetch.h): 'tmpl' is the packet as it is expected to arrive, its source port
 * late-bound (any port validates; the others are dependency bytes as for craft_build), built
 * in direction 0 for next hop 'nh', with no flow until craft_adopt gives it one. */
int craft_build_first(struct pool *pool, uint32_t *owner, const struct pkt *tmpl, const struct fwd_cfg *fc,
		      uint32_t nh, struct pool_buf **out) WARN_UNUSED;

/* Gives a craft_build_first buffer its flow, now created by its first packet, and, with source
 * NAT, the flow's port: the egress carries it and the checksum change counts it.  False when
 * NAT applies and the flow has no port (NAT exhausted: the slow path drops the packet). */
bool craft_adopt(struct pool_buf *b, struct flow_entry *flow, uint16_t nat_port);

/* Validates pre-built buffer 'b' against an arriving frame and, on a hit, completes the egress
 * headers in the buffer and describes what to send in 'o'. */
enum craft_result craft_validate(struct pool_buf *b, const uint8_t *frame, uint32_t caplen,
				 uint32_t wirelen, int linktype, struct craft_out *o);

/* The time from which a pre-built packet may be used (0 at build). */
void craft_set_ready(struct pool_buf *b, uint64_t ready_ns);
uint64_t craft_ready(struct pool_buf *b);

/* The route table generation a pre-built packet's next hop came from (0 at build): one built
 * before the routes changed must not be sent. */
void craft_set_route_gen(struct pool_buf *b, uint32_t gen);
uint32_t craft_route_gen(struct pool_buf *b);

/* The predicted egress packet in whole, when its payload was predicted too: the egress headers
 * (Ethernet first; the checksums still the template's, patched only at arrival) and the
 * payload.  False when only headers were predicted. */
bool craft_predicted(struct pool_buf *b, const uint8_t **hdr, uint32_t *hdr_len, const uint8_t **payload,
		     uint32_t *payload_len);

/* The predicted packet's IP length (its egress frame less the Ethernet header). */
uint32_t craft_predicted_ip_len(struct pool_buf *b);

/* The probe hash, flow and direction a pre-built buffer was made for. */
uint32_t craft_probe(struct pool_buf *b);
struct flow_entry *craft_flow(struct pool_buf *b);
unsigned craft_dir(struct pool_buf *b);

#endif
