/* pkt_link: the link layer, parsed and written (see pkt.h).
 *
 *   Ethernet II (IEEE 802.3)     dst(6) src(6) type(2)
 *   802.1Q / 802.1ad tag         TPID(2) TCI(2), repeated (QinQ)
 *   MPLS (RFC 3032)              label(20) TC(3) S(1) TTL(8), to the bottom of stack
 *   PPPoE session (RFC 2516)     ver/type code session(2) length(2) | PPP protocol(2)
 *   Linux cooked v1 (SLL)        pkttype hatype halen addr(8) protocol(2)
 *   Linux cooked v2 (SLL2)       protocol(2) reserved(2) ifindex(4) hatype pkttype halen addr(8)
 *   BSD null / loopback          address family (4), in the writer's or network byte order
 *
 * A link header other than Ethernet is kept as raw bytes and written back unchanged. */
#include <string.h>

#include "pkt_wire.h"

#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_MPLS_UC 0x8847
#define ETH_P_MPLS_MC 0x8848
#define ETH_P_PPP_SES 0x8864
#define PPP_IP 0x0021
#define PPP_IPV6 0x0057
#define MPLS_BOTTOM 0x100

bool pkt__is_vlan_tpid(uint16_t t)
{
	return t == ETH_P_8021Q || t == ETH_P_8021AD || t == 0x9100 || t == 0x9200;
}

/* Raw IP: the version nibble says which. */
static uint16_t ethertype_from_nibble(const struct pkt_cur *c, uint32_t off)
{
	if (!cur_need(c, off, 1))
		return 0;
	switch (c->base[off] >> 4) {
	case 4:
		return ETHERTYPE_IPV4;
	case 6:
		return ETHERTYPE_IPV6;
	}
	return 0;
}

/* Ethernet II with tags, MPLS and PPPoE session.  Sets link.hdr_len and link.ethertype. */
static int parse_eth(const struct pkt_cur *c, struct pkt *p)
{
	struct pkt_link_hdr *l = &p->link;
	if (!cur_need(c, 0, sizeof(struct eth_wire)))
		return pkt__fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
	const struct eth_wire *eth = CUR_AT(c, 0, eth_wire);
	memcpy(l->dst, eth->dst, 6);
	memcpy(l->src, eth->src, 6);
	uint16_t type = wire16(eth->type);
	uint32_t off = sizeof *eth;
	while (pkt__is_vlan_tpid(type)) {
		if (l->n_tags == PKT_MAX_TAGS)
			return pkt__fail(p, PKT_ST_MALFORMED_L2, -ERR_MALFORMED);
		if (!cur_need(c, off, sizeof(struct vlan_wire)))
			return pkt__fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		const struct vlan_wire *tag = CUR_AT(c, off, vlan_wire);
		l->tags[l->n_tags].tpid = type;
		l->tags[l->n_tags].tci = wire16(tag->tci);
		l->n_tags++;
		type = wire16(tag->type);
		off += sizeof *tag;
	}
	uint16_t eff = type;
	if (type == ETH_P_MPLS_UC || type == ETH_P_MPLS_MC) {
		for (;;) {
			if (l->n_mpls == PKT_MAX_MPLS)
				return pkt__fail(p, PKT_ST_MALFORMED_L2, -ERR_MALFORMED);
			if (!cur_need(c, off, 4))
				return pkt__fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
			uint32_t lse = pkt_rd32(c->base + off);
			l->mpls[l->n_mpls++] = lse;
			off += 4;
			if (lse & MPLS_BOTTOM)
				break;
		}
		eff = ethertype_from_nibble(c, off);
	} else if (type == ETH_P_PPP_SES) {
		if (!cur_need(c, off, sizeof(struct pppoe_wire)))
			return pkt__fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		const struct pppoe_wire *pp = CUR_AT(c, off, pppoe_wire);
		l->has_pppoe = true;
		l->pppoe_vt = pp->ver_type;
		l->pppoe_code = pp->code;
		l->pppoe_session = wire16(pp->session);
		l->pppoe_len = wire16(pp->len);
		l->ppp_proto = wire16(pp->ppp_proto);
		off += sizeof *pp;
		eff = l->ppp_proto == PPP_IP ? ETHERTYPE_IPV4 : l->ppp_proto == PPP_IPV6 ? ETHERTYPE_IPV6 : 0;
	}
	l->eth_type = type;
	l->ethertype = eff;
	l->hdr_len = off;
	return 0;
}

/* A link header kept as its raw bytes. */
static int keep_raw(const struct pkt_cur *c, struct pkt *p, uint32_t len, uint16_t ethertype)
{
	struct pkt_link_hdr *l = &p->link;
	l->ethertype = ethertype;
	l->raw = c->base;
	l->raw_len = len;
	l->hdr_len = len;
	return 0;
}

int pkt__parse_link(const struct pkt_cur *c, int lt, struct pkt *p)
{
	struct pkt_link_hdr *l = &p->link;
	l->linktype = lt;
	switch (lt) {
	case PKT_LINK_ETH:
		return parse_eth(c, p);
	case PKT_LINK_RAW:
	case PKT_LINK_RAW_BSD:
	case PKT_LINK_RAW_OBSD:
		l->hdr_len = 0;
		l->ethertype = ethertype_from_nibble(c, 0);
		return 0;
	case PKT_LINK_IPV4:
		l->ethertype = ETHERTYPE_IPV4;
		return 0;
	case PKT_LINK_IPV6:
		l->ethertype = ETHERTYPE_IPV6;
		return 0;
	case PKT_LINK_NULL:
	case PKT_LINK_LOOP: {
		if (!cur_need(c, 0, 4))
			return pkt__fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		/* DLT_NULL stores the family in the capturing host's byte order. */
		const uint8_t *b = c->base;
		uint32_t be = pkt_rd32(b);
		uint32_t le = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
		uint32_t fam = (lt == PKT_LINK_LOOP || be < le) ? be : le;
		/* AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD)
		 * or 30 (Darwin). */
		uint16_t type = fam == 2 ? ETHERTYPE_IPV4
				: (fam == 10 || fam == 24 || fam == 28 || fam == 30) ? ETHERTYPE_IPV6
										     : 0;
		return keep_raw(c, p, 4, type);
	}
	case PKT_LINK_SLL:
		if (!cur_need(c, 0, sizeof(struct sll_wire)))
			return pkt__fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		return keep_raw(c, p, sizeof(struct sll_wire), wire16(CUR_AT(c, 0, sll_wire)->protocol));
	case PKT_LINK_SLL2:
		if (!cur_need(c, 0, sizeof(struct sll2_wire)))
			return pkt__fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		return keep_raw(c, p, sizeof(struct sll2_wire), wire16(CUR_AT(c, 0, sll2_wire)->protocol));
	}
	return pkt__fail(p, PKT_ST_BAD_LINK, -ERR_UNSUPPORTED);
}

uint32_t pkt__link_len(const struct pkt_link_hdr *l)
{
	switch (l->linktype) {
	case PKT_LINK_ETH:
		return (uint32_t)sizeof(struct eth_wire) + 4u * l->n_tags + 4u * l->n_mpls +
		       (l->has_pppoe ? (uint32_t)sizeof(struct pppoe_wire) : 0u);
	case PKT_LINK_NULL:
	case PKT_LINK_LOOP:
	case PKT_LINK_SLL:
	case PKT_LINK_SLL2:
		return l->raw_len;
	}
	return 0;
}

uint8_t *pkt__write_link(const struct pkt_link_hdr *l, uint8_t *o)
{
	if (l->linktype != PKT_LINK_ETH) {
		if (l->raw_len)
			memcpy(o, l->raw, l->raw_len);
		return o + pkt__link_len(l);
	}
	memcpy(o, l->dst, 6);
	memcpy(o + 6, l->src, 6);
	o += 12;
	for (unsigned i = 0; i < l->n_tags; i++) {
		pkt_wr16(o, l->tags[i].tpid);
		pkt_wr16(o + 2, l->tags[i].tci);
		o += 4;
	}
	pkt_wr16(o, l->eth_type);
	o += 2;
	for (unsigned i = 0; i < l->n_mpls; i++, o += 4)
		pkt_wr32(o, l->mpls[i]);
	if (l->has_pppoe) {
		o[0] = l->pppoe_vt;
		o[1] = l->pppoe_code;
		pkt_wr16(o + 2, l->pppoe_session);
		pkt_wr16(o + 4, l->pppoe_len);
		pkt_wr16(o + 6, l->ppp_proto);
		o += 8;
	}
	return o;
}
