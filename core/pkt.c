/* pkt: frame decoding and header writing.  See pkt.h for the contract.
 *
 * Every read goes through a cursor that knows where the captured bytes end; each header is
 * checked once for length (cur_need) and then read with the unchecked pkt_rd* helpers.  The
 * declared length (from IP length fields) and the captured length are kept apart: the former
 * decides "malformed", the latter "truncated".
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
 *   TCP (RFC 9293): sport dport | seq | ack | doff/rsvd flags window | csum urg | options
 *   UDP (RFC 768):  sport dport | length csum
 */
#include "pkt.h"

#include <string.h>

struct pkt_cur {
	const uint8_t *base;
	uint32_t pos, cap;         /* cap: captured bytes in the frame */
};

static bool cur_need(const struct pkt_cur *c, uint32_t off, uint32_t n)
{
	/* Compare lengths, never form a pointer past the end (tcpdump ND_TTEST_LEN). */
	return off <= c->cap && c->cap - off >= n;
}

static const char *const status_names[] = {
#define PKT__STNAME(name, text) text,
	PKT_STATUS_MAP(PKT__STNAME)
#undef PKT__STNAME
};

const char *pkt_status_name(enum pkt_status st)
{
	return (unsigned)st < PKT_ST__COUNT ? status_names[st] : "unknown";
}

bool pkt_link_supported(int lt)
{
	switch (lt) {
	case PKT_LINK_NULL:
	case PKT_LINK_ETH:
	case PKT_LINK_RAW_BSD:
	case PKT_LINK_RAW_OBSD:
	case PKT_LINK_RAW:
	case PKT_LINK_LOOP:
	case PKT_LINK_SLL:
	case PKT_LINK_IPV4:
	case PKT_LINK_IPV6:
	case PKT_LINK_SLL2:
		return true;
	}
	return false;
}

static int fail(struct pkt *p, enum pkt_status st, int code)
{
	p->status = st;
	return code;
}

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

static bool is_vlan_tpid(uint16_t t)
{
	return t == 0x8100 || t == 0x88a8 || t == 0x9100 || t == 0x9200;
}

/* Ethernet II with tags, MPLS and PPPoE session.  Sets link.hdr_len and link.ethertype. */
static int parse_eth(struct pkt_cur *c, struct pkt *p)
{
	struct pkt_link_hdr *l = &p->link;
	const uint8_t *b = c->base;
	uint32_t off = 0;

	if (!cur_need(c, 0, 14))
		return fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
	memcpy(l->dst, b, 6);
	memcpy(l->src, b + 6, 6);
	uint16_t type = pkt_rd16(b + 12);
	off = 14;
	while (is_vlan_tpid(type)) {
		if (l->n_tags == PKT_MAX_TAGS)
			return fail(p, PKT_ST_MALFORMED_L2, -ERR_MALFORMED);
		if (!cur_need(c, off, 4))
			return fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		l->tags[l->n_tags].tpid = type;
		l->tags[l->n_tags].tci = pkt_rd16(b + off);
		l->n_tags++;
		type = pkt_rd16(b + off + 2);
		off += 4;
	}
	uint16_t eff = type;
	if (type == 0x8847 || type == 0x8848) {
		for (;;) {
			if (l->n_mpls == PKT_MAX_MPLS)
				return fail(p, PKT_ST_MALFORMED_L2, -ERR_MALFORMED);
			if (!cur_need(c, off, 4))
				return fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
			uint32_t lse = pkt_rd32(b + off);
			l->mpls[l->n_mpls++] = lse;
			off += 4;
			if (lse & 0x100)
				break; /* bottom of stack */
		}
		eff = ethertype_from_nibble(c, off);
	} else if (type == 0x8864) {
		if (!cur_need(c, off, 8))
			return fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		l->has_pppoe = true;
		l->pppoe_vt = b[off];
		l->pppoe_code = b[off + 1];
		l->pppoe_session = pkt_rd16(b + off + 2);
		l->pppoe_len = pkt_rd16(b + off + 4);
		l->ppp_proto = pkt_rd16(b + off + 6);
		off += 8;
		eff = l->ppp_proto == 0x0021 ? ETHERTYPE_IPV4 : l->ppp_proto == 0x0057 ? ETHERTYPE_IPV6 : 0;
	}
	l->eth_type = type;
	l->ethertype = eff;
	l->hdr_len = off;
	return 0;
}

static int parse_link(struct pkt_cur *c, int lt, struct pkt *p)
{
	struct pkt_link_hdr *l = &p->link;
	const uint8_t *b = c->base;
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
			return fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		/* DLT_NULL stores the family in the capturing host's byte order. */
		uint32_t be = pkt_rd32(b);
		uint32_t le = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			      (uint32_t)b[3] << 24;
		uint32_t fam = (lt == PKT_LINK_LOOP || be < le) ? be : le;
		l->ethertype = fam == 2 ? ETHERTYPE_IPV4
			       : (fam == 10 || fam == 24 || fam == 28 || fam == 30) ? ETHERTYPE_IPV6
										  : 0;
		l->raw = b;
		l->raw_len = 4;
		l->hdr_len = 4;
		return 0;
	}
	case PKT_LINK_SLL:
		if (!cur_need(c, 0, 16))
			return fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		l->ethertype = pkt_rd16(b + 14);
		l->raw = b;
		l->raw_len = 16;
		l->hdr_len = 16;
		return 0;
	case PKT_LINK_SLL2:
		if (!cur_need(c, 0, 20))
			return fail(p, PKT_ST_TRUNC_L2, -ERR_TRUNC);
		l->ethertype = pkt_rd16(b);
		l->raw = b;
		l->raw_len = 20;
		l->hdr_len = 20;
		return 0;
	}
	return fail(p, PKT_ST_BAD_LINK, -ERR_UNSUPPORTED);
}

static int parse_ip4(struct pkt_cur *c, struct pkt *p)
{
	uint32_t off = p->l3_off;
	struct pkt_ip4 *ip = &p->ip4;
	if (!cur_need(c, off, 20))
		return fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
	const uint8_t *b = c->base + off;
	if (b[0] >> 4 != 4)
		return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	ip->ihl_bytes = (uint8_t)((b[0] & 0x0f) * 4);
	if (ip->ihl_bytes < 20)
		return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	if (!cur_need(c, off, ip->ihl_bytes))
		return fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
	ip->tos = b[1];
	ip->tot_len = pkt_rd16(b + 2);
	ip->id = pkt_rd16(b + 4);
	ip->frag = pkt_rd16(b + 6);
	ip->ttl = b[8];
	ip->proto = b[9];
	ip->csum = pkt_rd16(b + 10);
	memcpy(ip->src, b + 12, 4);
	memcpy(ip->dst, b + 16, 4);
	ip->opts = b + 20;

	uint32_t wire_rest = p->wirelen > off ? p->wirelen - off : 0;
	if (ip->tot_len == 0) {
		p->l3_len = wire_rest; /* TSO/GRO capture: the frame is the length */
		if (p->l3_len < ip->ihl_bytes)
			return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	} else {
		if (ip->tot_len < ip->ihl_bytes || ip->tot_len > wire_rest)
			return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
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

static int parse_ip6(struct pkt_cur *c, struct pkt *p)
{
	uint32_t off = p->l3_off;
	struct pkt_ip6 *ip = &p->ip6;
	if (!cur_need(c, off, 40))
		return fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
	const uint8_t *b = c->base + off;
	if (b[0] >> 4 != 6)
		return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	ip->vtcfl = pkt_rd32(b);
	ip->plen = pkt_rd16(b + 4);
	ip->nxt = b[6];
	ip->hlim = b[7];
	memcpy(ip->src, b + 8, 16);
	memcpy(ip->dst, b + 24, 16);
	ip->ext = b + 40;
	ip->jumbo_len = 0;
	ip->ext_frag_off = 0xffff;

	uint32_t wire_rest = p->wirelen > off ? p->wirelen - off : 0;
	if (wire_rest < 40)
		return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
	/* Until the jumbo option is known, the chain may extend to the end of the frame. */
	uint32_t limit = ip->plen ? 40u + ip->plen : wire_rest;
	if (limit > wire_rest)
		return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);

	uint8_t nxt = ip->nxt;
	uint32_t pos = 40;
	while (is_ext_header(nxt)) {
		if (pos + 2 > limit)
			return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
		if (!cur_need(c, off + pos, 2))
			return fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
		const uint8_t *h = c->base + off + pos;
		uint32_t len = nxt == 44 ? 8 : nxt == 51 ? ((uint32_t)h[1] + 2) * 4 : ((uint32_t)h[1] + 1) * 8;
		if (pos + len > limit || pos + len > 0xffff)
			return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
		if (!cur_need(c, off + pos, len))
			return fail(p, PKT_ST_TRUNC_L3, -ERR_TRUNC);
		if (nxt == 0) {
			/* Hop-by-hop: look for the jumbo payload option (type 0xc2). */
			uint32_t o = 2;
			while (o < len) {
				uint8_t t = h[o];
				if (t == 0) {
					o++;
					continue;
				}
				if (o + 2 > len || o + 2 + h[o + 1] > len)
					return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
				if (t == 0xc2 && h[o + 1] == 4)
					ip->jumbo_len = pkt_rd32(h + o + 2);
				o += 2u + h[o + 1];
			}
		} else if (nxt == 44) {
			ip->ext_frag_off = (uint16_t)(pos - 40);
			uint16_t fo = pkt_rd16(h + 2);
			p->is_fragment = true;
			if (fo & 0xfff8)
				p->is_later_fragment = true;
		}
		nxt = h[0];
		pos += len;
		if (p->is_later_fragment)
			break;
	}
	ip->ext_len = (uint16_t)(pos - 40);
	ip->final_nxt = nxt;
	if (ip->plen)
		p->l3_len = 40u + ip->plen;
	else if (ip->jumbo_len) {
		if (ip->jumbo_len + 40u > wire_rest || ip->jumbo_len < ip->ext_len)
			return fail(p, PKT_ST_MALFORMED_L3, -ERR_MALFORMED);
		p->l3_len = 40u + ip->jumbo_len;
	} else
		p->l3_len = wire_rest;
	p->l3_hdr_len = pos;
	p->proto = nxt;
	return 0;
}

static int parse_l4(struct pkt_cur *c, struct pkt *p)
{
	uint32_t off = p->l3_off + p->l3_hdr_len;
	uint32_t declared = p->l3_len - p->l3_hdr_len;
	const uint8_t *b = c->base + off;
	uint32_t need;

	p->l4 = PKT_L4_NONE;
	p->l4_hdr_len = 0;
	if (p->is_later_fragment)
		return 0;
	switch (p->proto) {
	case IPPROTO_NUM_TCP:
		need = 20;
		break;
	case IPPROTO_NUM_UDP:
		need = 8;
		break;
	case IPPROTO_NUM_ICMP:
	case IPPROTO_NUM_ICMP6:
		need = declared >= 8 ? 8 : 4;
		break;
	default:
		return 0;
	}
	if (declared < need)
		return fail(p, PKT_ST_MALFORMED_L4, -ERR_MALFORMED);
	if (!cur_need(c, off, need))
		return fail(p, PKT_ST_TRUNC_L4, -ERR_TRUNC);

	switch (p->proto) {
	case IPPROTO_NUM_TCP: {
		struct pkt_tcp *t = &p->tcp;
		memset(t, 0, sizeof *t);
		t->sport = pkt_rd16(b);
		t->dport = pkt_rd16(b + 2);
		t->seq = pkt_rd32(b + 4);
		t->ack = pkt_rd32(b + 8);
		t->off_byte = b[12];
		t->doff_bytes = (uint8_t)((b[12] >> 4) * 4);
		t->flags = b[13];
		t->win = pkt_rd16(b + 14);
		t->csum = pkt_rd16(b + 16);
		t->urg = pkt_rd16(b + 18);
		t->opts = b + 20;
		t->ts_off = t->sack_off = t->mss_off = t->ws_off = 0xff;
		if (t->doff_bytes < 20 || t->doff_bytes > declared)
			return fail(p, PKT_ST_MALFORMED_L4, -ERR_MALFORMED);
		if (!cur_need(c, off, t->doff_bytes))
			return fail(p, PKT_ST_TRUNC_L4, -ERR_TRUNC);
		p->l4 = PKT_L4_TCP;
		p->l4_hdr_len = t->doff_bytes;
		break;
	}
	case IPPROTO_NUM_UDP:
		p->udp.sport = pkt_rd16(b);
		p->udp.dport = pkt_rd16(b + 2);
		p->udp.len = pkt_rd16(b + 4);
		p->udp.csum = pkt_rd16(b + 6);
		p->l4 = PKT_L4_UDP;
		p->l4_hdr_len = 8;
		break;
	default:
		p->icmp.type = b[0];
		p->icmp.code = b[1];
		p->icmp.csum = pkt_rd16(b + 2);
		p->icmp.rest_len = (uint8_t)(need - 4);
		memcpy(p->icmp.rest, b + 4, p->icmp.rest_len);
		p->l4 = p->proto == IPPROTO_NUM_ICMP ? PKT_L4_ICMP : PKT_L4_ICMP6;
		p->l4_hdr_len = need;
		break;
	}
	return 0;
}

int pkt_parse(const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype,
	      struct pkt *p)
{
	struct pkt_cur c = { .base = frame, .pos = 0, .cap = caplen };
	int rc;

	memset(&p->link, 0, sizeof p->link);
	p->status = PKT_ST_OK;
	p->frame = frame;
	p->caplen = caplen;
	p->wirelen = wirelen < caplen ? caplen : wirelen;
	p->l3 = PKT_L3_NONE;
	p->l4 = PKT_L4_NONE;
	p->l3_off = p->l3_hdr_len = p->l3_len = p->l4_hdr_len = 0;
	p->proto = 0;
	p->is_fragment = p->is_later_fragment = false;
	p->payload = NULL;
	p->payload_len = p->payload_avail = p->trailer_len = 0;
	p->trailer = NULL;

	if ((rc = parse_link(&c, linktype, p)) != 0)
		return rc;
	p->l3_off = p->link.hdr_len;
	if (p->link.ethertype == ETHERTYPE_IPV4) {
		p->l3 = PKT_L3_IPV4;
		rc = parse_ip4(&c, p);
	} else if (p->link.ethertype == ETHERTYPE_IPV6) {
		p->l3 = PKT_L3_IPV6;
		rc = parse_ip6(&c, p);
	} else {
		p->status = PKT_ST_NON_IP;
		return 0;
	}
	if (rc)
		return rc;
	if ((rc = parse_l4(&c, p)) != 0)
		return rc;

	uint32_t pay_off = p->l3_off + p->l3_hdr_len + p->l4_hdr_len;
	uint32_t end = p->l3_off + p->l3_len;
	p->payload_len = end - pay_off;
	p->payload = frame + (pay_off <= caplen ? pay_off : caplen);
	p->payload_avail = pay_off >= caplen ? 0 : (end <= caplen ? end : caplen) - pay_off;
	if (caplen > end) {
		p->trailer = frame + end;
		p->trailer_len = caplen - end;
	}
	return 0;
}

void pkt_tcp_opts(struct pkt *p)
{
	struct pkt_tcp *t = &p->tcp;
	if (p->l4 != PKT_L4_TCP || t->opts_walked)
		return;
	t->opts_walked = true;
	uint32_t n = t->doff_bytes - 20u, o = 0;
	const uint8_t *b = t->opts;
	while (o < n) {
		uint8_t kind = b[o];
		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 2 > n || b[o + 1] < 2 || o + b[o + 1] > n) {
			t->opts_bad = true;
			return;
		}
		uint8_t len = b[o + 1];
		switch (kind) {
		case 2:
			if (len == 4) {
				t->mss_off = (uint8_t)o;
				t->mss = pkt_rd16(b + o + 2);
			}
			break;
		case 3:
			if (len == 3) {
				t->ws_off = (uint8_t)o;
				t->wscale = b[o + 2];
			}
			break;
		case 5:
			if ((len - 2) % 8 == 0) {
				t->sack_off = (uint8_t)o;
				t->sack_len = len;
			}
			break;
		case 8:
			if (len == 10) {
				t->ts_off = (uint8_t)o;
				t->tsval = pkt_rd32(b + o + 2);
				t->tsecr = pkt_rd32(b + o + 6);
			}
			break;
		}
		o += len;
	}
}

static uint32_t link_len(const struct pkt_link_hdr *l)
{
	switch (l->linktype) {
	case PKT_LINK_ETH:
		return 14u + 4u * l->n_tags + 4u * l->n_mpls + (l->has_pppoe ? 8u : 0u);
	case PKT_LINK_NULL:
	case PKT_LINK_LOOP:
	case PKT_LINK_SLL:
	case PKT_LINK_SLL2:
		return l->raw_len;
	}
	return 0;
}

uint32_t pkt_headers_len(const struct pkt *p)
{
	return link_len(&p->link) + p->l3_hdr_len + p->l4_hdr_len;
}

uint32_t pkt_probe(const uint8_t *f, uint32_t caplen, int lt)
{
	uint32_t off;
	switch (lt) {
	case PKT_LINK_ETH: {
		off = 12;
		if (caplen < 14)
			return 0;
		uint16_t t = pkt_rd16(f + 12);
		while (is_vlan_tpid(t) && off + 6 <= caplen) {
			off += 4;
			t = pkt_rd16(f + off);
		}
		if (t != ETHERTYPE_IPV4 && t != ETHERTYPE_IPV6)
			return 0;
		off += 2;
		break;
	}
	case PKT_LINK_SLL:
		off = 16;
		break;
	case PKT_LINK_SLL2:
		off = 20;
		break;
	case PKT_LINK_NULL:
	case PKT_LINK_LOOP:
		off = 4;
		break;
	case PKT_LINK_RAW:
	case PKT_LINK_RAW_BSD:
	case PKT_LINK_RAW_OBSD:
	case PKT_LINK_IPV4:
	case PKT_LINK_IPV6:
		off = 0;
		break;
	default:
		return 0;
	}
	if (off >= caplen)
		return 0;
	const uint8_t *ip = f + off;
	uint32_t rest = caplen - off, words[10], n;
	if (ip[0] >> 4 == 4) {
		uint32_t ihl = (ip[0] & 15u) * 4u;
		if (ihl < 20 || rest < ihl + 4)
			return 0;
		words[0] = off << 16 | (uint32_t)ip[0] << 8 | ip[9];
		memcpy(&words[1], ip + 12, 8);
		memcpy(&words[3], ip + ihl, 4);
		n = 4;
	} else if (ip[0] >> 4 == 6) {
		if (rest < 44)
			return 0;
		words[0] = off << 16 | (uint32_t)ip[0] << 8 | ip[6];
		memcpy(&words[1], ip + 8, 32);
		memcpy(&words[9], ip + 40, 4);
		n = 10;
	} else {
		return 0;
	}
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < n; i++) {
		h ^= words[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	uint32_t r = (uint32_t)(h ^ (h >> 32));
	return r ? r : 1;
}

static uint8_t *write_link(const struct pkt_link_hdr *l, uint8_t *o)
{
	if (l->linktype != PKT_LINK_ETH) {
		if (l->raw_len)
			memcpy(o, l->raw, l->raw_len);
		return o + link_len(l);
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

static uint8_t *write_l3(const struct pkt *p, uint8_t *o)
{
	if (p->l3 == PKT_L3_IPV4) {
		const struct pkt_ip4 *ip = &p->ip4;
		o[0] = (uint8_t)(0x40 | ip->ihl_bytes / 4);
		o[1] = ip->tos;
		pkt_wr16(o + 2, ip->tot_len);
		pkt_wr16(o + 4, ip->id);
		pkt_wr16(o + 6, ip->frag);
		o[8] = ip->ttl;
		o[9] = ip->proto;
		pkt_wr16(o + 10, ip->csum);
		memcpy(o + 12, ip->src, 4);
		memcpy(o + 16, ip->dst, 4);
		memcpy(o + 20, ip->opts, ip->ihl_bytes - 20u);
		return o + ip->ihl_bytes;
	}
	const struct pkt_ip6 *ip = &p->ip6;
	pkt_wr32(o, ip->vtcfl);
	pkt_wr16(o + 4, ip->plen);
	o[6] = ip->nxt;
	o[7] = ip->hlim;
	memcpy(o + 8, ip->src, 16);
	memcpy(o + 24, ip->dst, 16);
	memcpy(o + 40, ip->ext, ip->ext_len);
	return o + 40 + ip->ext_len;
}

static uint8_t *write_l4(const struct pkt *p, uint8_t *o)
{
	switch (p->l4) {
	case PKT_L4_TCP: {
		const struct pkt_tcp *t = &p->tcp;
		pkt_wr16(o, t->sport);
		pkt_wr16(o + 2, t->dport);
		pkt_wr32(o + 4, t->seq);
		pkt_wr32(o + 8, t->ack);
		o[12] = t->off_byte;
		o[13] = t->flags;
		pkt_wr16(o + 14, t->win);
		pkt_wr16(o + 16, t->csum);
		pkt_wr16(o + 18, t->urg);
		memcpy(o + 20, t->opts, t->doff_bytes - 20u);
		/* Parsed option values win over the raw bytes, so a predicted TSval is written. */
		if (t->ts_off != 0xff) {
			pkt_wr32(o + 20 + t->ts_off + 2, t->tsval);
			pkt_wr32(o + 20 + t->ts_off + 6, t->tsecr);
		}
		return o + t->doff_bytes;
	}
	case PKT_L4_UDP:
		pkt_wr16(o, p->udp.sport);
		pkt_wr16(o + 2, p->udp.dport);
		pkt_wr16(o + 4, p->udp.len);
		pkt_wr16(o + 6, p->udp.csum);
		return o + 8;
	case PKT_L4_ICMP:
	case PKT_L4_ICMP6:
		o[0] = p->icmp.type;
		o[1] = p->icmp.code;
		pkt_wr16(o + 2, p->icmp.csum);
		memcpy(o + 4, p->icmp.rest, p->icmp.rest_len);
		return o + 4 + p->icmp.rest_len;
	case PKT_L4_NONE:
		break;
	}
	return o;
}

int pkt_write_headers(const struct pkt *p, uint8_t *out, uint32_t cap)
{
	uint32_t n = pkt_headers_len(p);
	if (n > cap)
		return -ERR_NOBUFS;
	uint8_t *o = write_link(&p->link, out);
	if (p->l3 != PKT_L3_NONE) {
		o = write_l3(p, o);
		o = write_l4(p, o);
	}
	return (int)(o - out);
}
