/* pkt_l4: TCP, UDP, ICMP and ICMPv6, parsed and written (see pkt.h).
 *
 *   TCP (RFC 9293)   sport(2) dport(2) | seq(4) | ack(4) | doff/rsvd flags window(2) | csum(2) urg(2) | options
 *   UDP (RFC 768)    sport(2) dport(2) | length(2) csum(2)
 *   ICMP (RFC 792), ICMPv6 (RFC 4443)   type code csum(2) | four bytes that depend on the type
 *
 * A later fragment carries no transport header.  TCP options are walked only on request
 * (pkt_tcp_opts): most packets never need them. */
#include <string.h>

#include "pkt_wire.h"

int pkt__parse_l4(const struct pkt_cur *c, struct pkt *p)
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
		need = sizeof(struct tcp_wire);
		break;
	case IPPROTO_NUM_UDP:
		need = sizeof(struct udp_wire);
		break;
	case IPPROTO_NUM_ICMP:
	case IPPROTO_NUM_ICMP6:
		need = declared >= 8 ? 8 : 4;
		break;
	default:
		return 0;
	}
	if (declared < need)
		return pkt__fail(p, PKT_ST_MALFORMED_L4, -ERR_MALFORMED);
	if (!cur_need(c, off, need))
		return pkt__fail(p, PKT_ST_TRUNC_L4, -ERR_TRUNC);

	switch (p->proto) {
	case IPPROTO_NUM_TCP: {
		const struct tcp_wire *w = CUR_AT(c, off, tcp_wire);
		struct pkt_tcp *t = &p->tcp;
		memset(t, 0, sizeof *t);
		t->sport = wire16(w->sport);
		t->dport = wire16(w->dport);
		t->seq = wire32(w->seq);
		t->ack = wire32(w->ack);
		t->off_byte = w->off;
		t->doff_bytes = (uint8_t)((w->off >> 4) * 4);
		t->flags = w->flags;
		t->win = wire16(w->win);
		t->csum = wire16(w->csum);
		t->urg = wire16(w->urg);
		t->opts = b + sizeof *w;
		t->ts_off = t->sack_off = t->mss_off = t->ws_off = 0xff;
		if (t->doff_bytes < 20 || t->doff_bytes > declared)
			return pkt__fail(p, PKT_ST_MALFORMED_L4, -ERR_MALFORMED);
		if (!cur_need(c, off, t->doff_bytes))
			return pkt__fail(p, PKT_ST_TRUNC_L4, -ERR_TRUNC);
		p->l4 = PKT_L4_TCP;
		p->l4_hdr_len = t->doff_bytes;
		break;
	}
	case IPPROTO_NUM_UDP: {
		const struct udp_wire *w = CUR_AT(c, off, udp_wire);
		p->udp.sport = wire16(w->sport);
		p->udp.dport = wire16(w->dport);
		p->udp.len = wire16(w->len);
		p->udp.csum = wire16(w->csum);
		p->l4 = PKT_L4_UDP;
		p->l4_hdr_len = sizeof *w;
		break;
	}
	default: {
		const struct icmp_wire *w = CUR_AT(c, off, icmp_wire);
		p->icmp.type = w->type;
		p->icmp.code = w->code;
		p->icmp.csum = wire16(w->csum);
		p->icmp.rest_len = (uint8_t)(need - sizeof *w);
		memcpy(p->icmp.rest, b + sizeof *w, p->icmp.rest_len);
		p->l4 = p->proto == IPPROTO_NUM_ICMP ? PKT_L4_ICMP : PKT_L4_ICMP6;
		p->l4_hdr_len = need;
		break;
	}
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

uint8_t *pkt__write_l4(const struct pkt *p, uint8_t *o)
{
	switch (p->l4) {
	case PKT_L4_TCP: {
		const struct pkt_tcp *t = &p->tcp;
		struct tcp_wire *w = (void *)o;
		pkt_wr16(w->sport, t->sport);
		pkt_wr16(w->dport, t->dport);
		pkt_wr32(w->seq, t->seq);
		pkt_wr32(w->ack, t->ack);
		w->off = t->off_byte;
		w->flags = t->flags;
		pkt_wr16(w->win, t->win);
		pkt_wr16(w->csum, t->csum);
		pkt_wr16(w->urg, t->urg);
		uint8_t *opts = o + sizeof *w;
		memcpy(opts, t->opts, t->doff_bytes - sizeof *w);
		/* Parsed option values win over the raw bytes, so a predicted TSval is written. */
		if (t->ts_off != 0xff) {
			pkt_wr32(opts + t->ts_off + 2, t->tsval);
			pkt_wr32(opts + t->ts_off + 6, t->tsecr);
		}
		return o + t->doff_bytes;
	}
	case PKT_L4_UDP: {
		struct udp_wire *w = (void *)o;
		pkt_wr16(w->sport, p->udp.sport);
		pkt_wr16(w->dport, p->udp.dport);
		pkt_wr16(w->len, p->udp.len);
		pkt_wr16(w->csum, p->udp.csum);
		return o + sizeof *w;
	}
	case PKT_L4_ICMP:
	case PKT_L4_ICMP6: {
		struct icmp_wire *w = (void *)o;
		w->type = p->icmp.type;
		w->code = p->icmp.code;
		pkt_wr16(w->csum, p->icmp.csum);
		memcpy(o + sizeof *w, p->icmp.rest, p->icmp.rest_len);
		return o + sizeof *w + p->icmp.rest_len;
	}
	case PKT_L4_NONE:
		break;
	}
	return o;
}
