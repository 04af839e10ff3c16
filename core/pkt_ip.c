/* pkt_ip: IPv4 and IPv6, parsed and written (see pkt.h).
 *
 *   IPv4 (RFC 791)                         IPv6 (RFC 8200)
 *   0       4       8              16      0    4           12                      31
 *   +-------+-------+--------------+       +----+-----------+-----------------------+
 *   |Version|  IHL  |    TOS       |       |Ver | Tr. class |      Flow label       |
 *   |        Total length          |       |  Payload length  | Next hdr | Hop limit|
 *   |   Identification  |Fl|FragOff|       |          Source address (16)           |
 *   |  TTL  | Proto |   Checksum   |       |        Destination address (16)        |
 *   |  Source  |  Destination  | Options   +----------------------------------------+
 *
 * The declared length (from the length fields) and the captured length are kept apart: the
 * former decides "malformed", the latter "truncated".  Every length sum is compared as a
 * difference against what is known to be larger, so no attacker-chosen field can wrap it. */
#include <stddef.h>
#include <string.h>

#include "csum.h"
#include "pkt_wire.h"

#define IP6_HDR 40u
#define IP6_OPT_PAD1 0
#define IP6_OPT_JUMBO 0xc2

int pkt__parse_ip4(const struct pkt_cur *c, struct pkt *p)
{
	uint32_t off = p->l3_off;
	struct pkt_ip4 *ip = &p->ip4;
	if (!cur_need(c, off, sizeof(struct ip4_wire)))
		return pkt__fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
	const struct ip4_wire *w = CUR_AT(c, off, ip4_wire);
	if (w->ver_ihl >> 4 != 4)
		return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	ip->ihl_bytes = (uint8_t)((w->ver_ihl & 0x0f) * 4);
	if (ip->ihl_bytes < sizeof *w)
		return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	if (!cur_need(c, off, ip->ihl_bytes))
		return pkt__fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
	ip->tos = w->tos;
	ip->tot_len = wire16(w->tot_len);
	ip->id = wire16(w->id);
	ip->frag = wire16(w->frag);
	ip->ttl = w->ttl;
	ip->proto = w->proto;
	ip->csum = wire16(w->csum);
	memcpy(ip->src, w->src, 4);
	memcpy(ip->dst, w->dst, 4);
	ip->opts = c->base + off + sizeof *w;

	uint32_t wire_rest = pkt_rest(p->wirelen, off);
	if (ip->tot_len == 0) {
		p->l3_len = wire_rest; /* TSO/GRO capture: the frame is the length */
		if (p->l3_len < ip->ihl_bytes)
			return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	} else {
		if (ip->tot_len < ip->ihl_bytes || ip->tot_len > wire_rest)
			return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
		p->l3_len = ip->tot_len;
	}
	p->l3_hdr_len = ip->ihl_bytes;
	p->proto = ip->proto;
	p->is_fragment = (ip->frag & 0x3fff) != 0;
	p->is_later_fragment = (ip->frag & 0x1fff) != 0;
	return 0;
}

static bool is_ext_header(uint8_t nxt)
{
	switch (nxt) {
	case 0: case 43: case 44: case 51: case 60: case 135: case 139: case 140:
		return true;
	}
	return false;
}

/* The hop-by-hop options of 'len' bytes at 'h': finds the jumbo payload length (RFC 2675). */
static int hop_by_hop(struct pkt *p, const uint8_t *h, uint32_t len)
{
	uint32_t o = sizeof(struct ip6_ext_wire);
	while (o < len) {
		const struct ip6_opt_wire *opt = (const void *)(h + o);
		if (opt->type == IP6_OPT_PAD1) {
			o++;
			continue;
		}
		if (len - o < sizeof *opt || len - o - sizeof *opt < opt->len)
			return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
		if (opt->type == IP6_OPT_JUMBO && opt->len == 4)
			p->ip6.jumbo_len = pkt_rd32(h + o + sizeof *opt);
		o += (uint32_t)sizeof *opt + opt->len;
	}
	return 0;
}

int pkt__parse_ip6(const struct pkt_cur *c, struct pkt *p)
{
	uint32_t off = p->l3_off;
	struct pkt_ip6 *ip = &p->ip6;
	if (!cur_need(c, off, sizeof(struct ip6_wire)))
		return pkt__fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
	const struct ip6_wire *w = CUR_AT(c, off, ip6_wire);
	if (w->ver_tc_flow[0] >> 4 != 6)
		return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	ip->vtcfl = wire32(w->ver_tc_flow);
	ip->plen = wire16(w->plen);
	ip->nxt = w->nxt;
	ip->hlim = w->hlim;
	memcpy(ip->src, w->src, 16);
	memcpy(ip->dst, w->dst, 16);
	ip->ext = c->base + off + IP6_HDR;
	ip->jumbo_len = 0;
	ip->ext_frag_off = 0xffff;

	uint32_t wire_rest = pkt_rest(p->wirelen, off);
	if (wire_rest < IP6_HDR)
		return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	/* Until the jumbo option is known, the chain may extend to the end of the frame. */
	uint32_t limit = ip->plen ? IP6_HDR + ip->plen : wire_rest;
	if (limit > wire_rest)
		return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);

	uint8_t nxt = ip->nxt;
	uint32_t pos = IP6_HDR;
	while (is_ext_header(nxt)) {
		if (limit - pos < sizeof(struct ip6_ext_wire))
			return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
		if (!cur_need(c, off + pos, sizeof(struct ip6_ext_wire)))
			return pkt__fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
		const struct ip6_ext_wire *x = CUR_AT(c, off + pos, ip6_ext_wire);
		/* Lengths: the fragment header is 8 bytes; AH counts 4-byte words less 2 (RFC 4302);
		 * the others count 8-byte words beyond the first. */
		uint32_t len = nxt == 44 ? 8 : nxt == 51 ? ((uint32_t)x->len + 2) * 4 : ((uint32_t)x->len + 1) * 8;
		if (limit - pos < len || pos + len > 0xffff)
			return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
		if (!cur_need(c, off + pos, len))
			return pkt__fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
		const uint8_t *h = c->base + off + pos;
		if (nxt == 0) {
			int rc = hop_by_hop(p, h, len);
			if (rc)
				return rc;
		} else if (nxt == 44) {
			const struct ip6_frag_wire *fr = (const void *)h;
			ip->ext_frag_off = (uint16_t)(pos - IP6_HDR);
			p->is_fragment = true;
			if (wire16(fr->off_flags) & 0xfff8)
				p->is_later_fragment = true;
		}
		nxt = x->nxt;
		pos += len;
		if (p->is_later_fragment)
			break;
	}
	ip->ext_len = (uint16_t)(pos - IP6_HDR);
	ip->final_nxt = nxt;
	if (ip->plen) {
		p->l3_len = IP6_HDR + ip->plen;
	} else if (ip->jumbo_len) {
		/* The jumbo length is attacker-chosen: compared against what the frame holds as a
		 * difference (wire_rest >= 40 here), so it cannot wrap. */
		if (ip->jumbo_len > wire_rest - IP6_HDR || ip->jumbo_len < ip->ext_len)
			return pkt__fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
		p->l3_len = IP6_HDR + ip->jumbo_len;
	} else {
		p->l3_len = wire_rest;
	}
	p->l3_hdr_len = pos;
	p->proto = nxt;
	return 0;
}

uint8_t *pkt__write_l3(const struct pkt *p, uint8_t *o)
{
	if (p->l3 == PKT_L3_IPV4) {
		const struct pkt_ip4 *ip = &p->ip4;
		struct ip4_wire *w = (void *)o;
		w->ver_ihl = (uint8_t)(0x40 | ip->ihl_bytes / 4);
		w->tos = ip->tos;
		pkt_wr16(w->tot_len, ip->tot_len);
		pkt_wr16(w->id, ip->id);
		pkt_wr16(w->frag, ip->frag);
		w->ttl = ip->ttl;
		w->proto = ip->proto;
		pkt_wr16(w->csum, ip->csum);
		memcpy(w->src, ip->src, 4);
		memcpy(w->dst, ip->dst, 4);
		memcpy(o + sizeof *w, ip->opts, ip->ihl_bytes - sizeof *w);
		return o + ip->ihl_bytes;
	}
	const struct pkt_ip6 *ip = &p->ip6;
	struct ip6_wire *w = (void *)o;
	pkt_wr32(w->ver_tc_flow, ip->vtcfl);
	pkt_wr16(w->plen, ip->plen);
	w->nxt = ip->nxt;
	w->hlim = ip->hlim;
	memcpy(w->src, ip->src, 16);
	memcpy(w->dst, ip->dst, 16);
	memcpy(o + sizeof *w, ip->ext, ip->ext_len);
	return o + sizeof *w + ip->ext_len;
}

void pkt_addr_fields(const struct pkt *p, uint8_t *ip, uint8_t *addr[2])
{
	if (p->l3 == PKT_L3_IPV4) {
		addr[0] = ip + offsetof(struct ip4_wire, src);
		addr[1] = ip + offsetof(struct ip4_wire, dst);
	} else {
		addr[0] = ip + offsetof(struct ip6_wire, src);
		addr[1] = ip + offsetof(struct ip6_wire, dst);
	}
}

void pkt_readdressed(const struct pkt *p, uint8_t *ip, uint32_t delta, uint32_t l4_extra)
{
	if (p->l3 == PKT_L3_IPV4) {
		uint8_t *c = ip + offsetof(struct ip4_wire, csum);
		pkt_wr16(c, csum_apply(pkt_rd16(c), delta));
	}
	uint8_t *l4 = ip + p->l3_hdr_len, *c;
	switch (p->l4) {
	case PKT_L4_TCP:
		c = l4 + offsetof(struct tcp_wire, csum);
		pkt_wr16(c, csum_apply(pkt_rd16(c), delta + l4_extra));
		break;
	case PKT_L4_UDP:
		c = l4 + offsetof(struct udp_wire, csum);
		pkt_wr16(c, csum_apply_udp(pkt_rd16(c), delta + l4_extra));
		break;
	case PKT_L4_ICMP6:
		c = l4 + offsetof(struct icmp_wire, csum);
		pkt_wr16(c, csum_apply(pkt_rd16(c), delta + l4_extra));
		break;
	default:
		break; /* ICMPv4 does not cover addresses; later fragments carry no L4 header */
	}
}
