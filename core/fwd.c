/* fwd: route lookup and egress rewrite (see fwd.h). */
#include "fwd.h"

#include <string.h>

#include "csum.h"
#include "pkt.h"
#include "route.h"

enum fwd_verdict fwd_route(const struct fwd_cfg *cfg, const struct pkt *p, uint32_t *nh)
{
	if (p->l3 == PKT_L3_IPV4) {
		if (p->ip4.ttl <= 1)
			return FWD_TTL_EXPIRED;
		*nh = route_lookup4(cfg->routes, p->ip4.dst);
	} else {
		if (p->ip6.hlim <= 1)
			return FWD_TTL_EXPIRED;
		*nh = route_lookup6(cfg->routes, p->ip6.dst);
	}
	return *nh == ROUTE_NONE ? FWD_NO_ROUTE : FWD_OK;
}

void fwd_rewrite(const struct fwd_cfg *cfg, struct pkt *q, uint32_t nh, unsigned dir,
		 uint16_t nat_port, struct fwd_plan *plan)
{
	const struct route_nexthop *hop = route_nexthop(cfg->routes, nh);
	struct pkt_link_hdr *l = &q->link;
	memset(l, 0, sizeof *l);
	l->linktype = PKT_LINK_ETH;
	memcpy(l->dst, hop->mac, 6);
	memcpy(l->src, cfg->self_mac, 6);
	l->eth_type = l->ethertype = q->l3 == PKT_L3_IPV4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
	l->hdr_len = 14;

	plan->ip_delta = plan->l4_delta = 0;
	plan->nat = false;
	if (q->l3 == PKT_L3_IPV6) {
		q->ip6.hlim--;
		return;
	}
	struct pkt_ip4 *ip = &q->ip4;
	uint16_t old = (uint16_t)(ip->ttl << 8 | ip->proto);
	ip->ttl--;
	plan->ip_delta = csum_delta16(0, old, (uint16_t)(ip->ttl << 8 | ip->proto));

	if (cfg->snat && dir == 0 && !q->is_fragment && (q->l4 == PKT_L4_TCP || q->l4 == PKT_L4_UDP)) {
		uint32_t a_old = pkt_rd32(ip->src), a_new = pkt_rd32(cfg->snat_addr);
		plan->ip_delta = csum_delta32(plan->ip_delta, a_old, a_new);
		plan->l4_delta = csum_delta32(0, a_old, a_new);
		memcpy(ip->src, cfg->snat_addr, 4);
		if (q->l4 == PKT_L4_TCP) {
			plan->l4_delta = csum_delta16(plan->l4_delta, q->tcp.sport, nat_port);
			q->tcp.sport = nat_port;
			q->tcp.csum = csum_apply(q->tcp.csum, plan->l4_delta);
		} else {
			plan->l4_delta = csum_delta16(plan->l4_delta, q->udp.sport, nat_port);
			q->udp.sport = nat_port;
			q->udp.csum = csum_apply_udp(q->udp.csum, plan->l4_delta);
		}
		plan->nat = true;
	}
	ip->csum = csum_apply(ip->csum, plan->ip_delta);
}
