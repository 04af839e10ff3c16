/* pkt: a frame decoded layer by layer, and its headers written back (see pkt.h).  The layers
 * live in their own files, each with its RFC and its header's layout: pkt_link.c (Ethernet,
 * tags, MPLS, PPPoE, cooked and null links), pkt_ip.c (IPv4, IPv6 and its extension chain),
 * pkt_l4.c (TCP, UDP, ICMP); pkt_wire.h names the wire fields they read.  This file holds the
 * frame as a whole: the order of the layers, the payload and trailer, and the probe hash the
 * fast path looks a frame up by before decoding it. */
#include "pkt.h"

#include <stddef.h>
#include <string.h>

#include "pkt_wire.h"

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

int pkt_parse(const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype,
	      struct pkt *p)
{
	struct pkt_cur c = { .base = frame, .cap = caplen };
	int rc;

	memset(&p->link, 0, sizeof p->link);
	p->status = PKT_ST_OK;
	p->frame = frame;
	p->caplen = caplen;
	p->wirelen = pkt_frame_len(caplen, wirelen);
	p->l3 = PKT_L3_NONE;
	p->l4 = PKT_L4_NONE;
	p->l3_off = p->l3_hdr_len = p->l3_len = p->l4_hdr_len = 0;
	p->proto = 0;
	p->is_fragment = p->is_later_fragment = false;
	p->payload = NULL;
	p->payload_len = p->payload_avail = p->trailer_len = 0;
	p->trailer = NULL;

	if ((rc = pkt__parse_link(&c, linktype, p)) != 0)
		return rc;
	p->l3_off = p->link.hdr_len;
	if (p->link.ethertype == ETHERTYPE_IPV4) {
		p->l3 = PKT_L3_IPV4;
		rc = pkt__parse_ip4(&c, p);
	} else if (p->link.ethertype == ETHERTYPE_IPV6) {
		p->l3 = PKT_L3_IPV6;
		rc = pkt__parse_ip6(&c, p);
	} else {
		p->status = PKT_ST_NON_IP;
		return 0;
	}
	if (rc)
		return rc;
	if ((rc = pkt__parse_l4(&c, p)) != 0)
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

uint32_t pkt_headers_len(const struct pkt *p)
{
	return pkt__link_len(&p->link) + p->l3_hdr_len + p->l4_hdr_len;
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
		while (pkt__is_vlan_tpid(t) && off + 6 <= caplen) {
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
	/* The words hashed: the IP version byte and protocol, both addresses, and the first four
	 * bytes after the fixed header (the ports, for TCP and UDP without IPv6 extensions). */
	if (ip[0] >> 4 == 4) {
		const struct ip4_wire *w = (const void *)ip;
		uint32_t ihl = (ip[0] & 15u) * 4u;
		if (ihl < sizeof *w || rest < ihl + 4)
			return 0;
		words[0] = off << 16 | (uint32_t)w->ver_ihl << 8 | w->proto;
		memcpy(&words[1], ip + offsetof(struct ip4_wire, src), 8); /* src and dst */
		memcpy(&words[3], ip + ihl, 4);
		n = 4;
	} else if (ip[0] >> 4 == 6) {
		const struct ip6_wire *w = (const void *)ip;
		if (rest < sizeof *w + 4)
			return 0;
		words[0] = off << 16 | (uint32_t)ip[0] << 8 | w->nxt;
		memcpy(&words[1], ip + offsetof(struct ip6_wire, src), 32); /* src and dst */
		memcpy(&words[9], ip + sizeof *w, 4);
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


uint32_t pkt_write_link(const struct pkt *p, uint8_t *out)
{
	return (uint32_t)(pkt__write_link(&p->link, out) - out);
}

/* The bytes are those pkt__write_l3 and pkt__write_l4 write for the same fields. */
void pkt_patch_headers(const struct pkt *p, uint8_t *l3, unsigned which)
{
	uint8_t *l4 = l3 + p->l3_hdr_len;
	if (p->l3 == PKT_L3_IPV4) {
		struct ip4_wire *w = (void *)l3;
		if (which & PKT_PATCH_NEXT) {
			pkt_wr16(w->tot_len, p->ip4.tot_len);
			pkt_wr16(w->id, p->ip4.id);
		}
		if (which & PKT_PATCH_ROUTED) {
			w->ttl = p->ip4.ttl;
			pkt_wr16(w->csum, p->ip4.csum);
			memcpy(w->src, p->ip4.src, 4);
		}
	} else if (p->l3 == PKT_L3_IPV6) {
		struct ip6_wire *w = (void *)l3;
		if (which & PKT_PATCH_NEXT)
			pkt_wr16(w->plen, p->ip6.plen);
		if (which & PKT_PATCH_ROUTED)
			w->hlim = p->ip6.hlim;
	}
	if (p->l4 == PKT_L4_TCP) {
		const struct pkt_tcp *t = &p->tcp;
		struct tcp_wire *w = (void *)l4;
		if (which & PKT_PATCH_NEXT) {
			pkt_wr32(w->seq, t->seq);
			pkt_wr32(w->ack, t->ack);
			w->flags = t->flags;
			pkt_wr16(w->win, t->win);
			if (t->ts_off != 0xff) {
				pkt_wr32(l4 + sizeof *w + t->ts_off + 2, t->tsval);
				pkt_wr32(l4 + sizeof *w + t->ts_off + 6, t->tsecr);
			}
		}
		if (which & PKT_PATCH_ROUTED) {
			pkt_wr16(w->sport, t->sport);
			pkt_wr16(w->csum, t->csum);
		}
	} else if (p->l4 == PKT_L4_UDP) {
		struct udp_wire *w = (void *)l4;
		if (which & PKT_PATCH_NEXT)
			pkt_wr16(w->len, p->udp.len);
		if (which & PKT_PATCH_ROUTED) {
			pkt_wr16(w->sport, p->udp.sport);
			pkt_wr16(w->csum, p->udp.csum);
		}
	}
}

int pkt_write_headers(const struct pkt *p, uint8_t *out, uint32_t cap)
{
	uint32_t n = pkt_headers_len(p);
	if (n > cap)
		return -ERR_NOBUFS;
	uint8_t *o = pkt__write_link(&p->link, out);
	if (p->l3 != PKT_L3_NONE) {
		o = pkt__write_l3(p, o);
		o = pkt__write_l4(p, o);
	}
	return (int)(o - out);
}

