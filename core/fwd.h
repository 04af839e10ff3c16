/* fwd: the forwarding decision and header rewrite of a router, shared by the slow path (run on
 * every packet) and the crafter (run ahead of time on a predicted packet).
 *
 * Egress is Ethernet II to the route's next hop: ingress link headers (VLAN tags, MPLS labels,
 * PPPoE, cooked headers) are consumed, as a routed hop does.  TTL or hop limit drops by one;
 * optional source NAT rewrites the IPv4 source address and the flow's source port in the
 * direction of the flow's first packet.  Checksums change only through the incremental deltas
 * in 'struct fwd_plan' (RFC 1624), which the fast path later applies to the arriving packet's
 * checksums: the same arithmetic on the same inputs, hence the same egress bytes. */
#ifndef PRECRAFT_FWD_H
#define PRECRAFT_FWD_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct pkt;
struct route_table;

struct fwd_cfg {
	const struct route_table *routes; /* borrowed */
	uint8_t self_mac[6];       /* source MAC of egress frames */
	bool snat;
	uint8_t snat_addr[4];
};

/* What a rewrite did to the checksums. */
struct fwd_plan {
	uint32_t ip_delta;         /* IPv4 header checksum change */
	uint32_t l4_delta;         /* TCP/UDP checksum change (NAT only) */
	bool nat;                  /* the packet was source-NATed */
};

enum fwd_verdict { FWD_OK = 0, FWD_NO_ROUTE, FWD_TTL_EXPIRED };

/* Looks up the next hop of 'p' (decoded IP packet).  Returns FWD_OK with '*nh', FWD_NO_ROUTE,
 * or FWD_TTL_EXPIRED when the packet may not be forwarded. */
enum fwd_verdict fwd_route(const struct fwd_cfg *cfg, const struct pkt *p, uint32_t *nh);

/* Rewrites 'q' (a copy of an ingress packet; its pointers still refer to the ingress frame)
 * into its egress form for next hop 'nh', in flow direction 'dir', using 'nat_port' as the
 * source port when NAT applies.  Fills 'plan'. */
void fwd_rewrite(const struct fwd_cfg *cfg, struct pkt *q, uint32_t nh, unsigned dir,
		 uint16_t nat_port, struct fwd_plan *plan);

#endif
