/* hc_ctx: what both ends of a compressed link do the same way: which frames have a context, the
 * prediction, the rebuild of a header from a context and corrections, learning a packet, the
 * CRC.  The compressor checks every compressed packet by rebuilding it here, so that a packet it
 * sends compressed is one the decompressor rebuilds byte for byte. */
#include <string.h>

#include "csum.h"
#include "hc_impl.h"

int hc__parse(const uint8_t *frame, uint32_t caplen, uint32_t wirelen, struct pkt *p, uint32_t *hlen)
{
	if (caplen != wirelen || pkt_parse(frame, caplen, wirelen, PKT_LINK_ETH, p) != 0)
		return -ERR_UNSUPPORTED;
	if (p->l3 == PKT_L3_NONE || p->is_fragment || p->link.has_pppoe)
		return -ERR_UNSUPPORTED;
	if (p->l4 != PKT_L4_TCP && p->l4 != PKT_L4_UDP)
		return -ERR_UNSUPPORTED;
	/* The rebuild derives every length from the frame: the packet must be whole and its length
	 * fields those of its bytes (not a TSO/GRO capture, not a jumbogram). */
	if (p->payload_avail != p->payload_len)
		return -ERR_UNSUPPORTED;
	if (p->l3 == PKT_L3_IPV4 && p->ip4.tot_len != p->l3_len)
		return -ERR_UNSUPPORTED;
	if (p->l3 == PKT_L3_IPV6 && (p->ip6.jumbo_len || (uint32_t)p->ip6.plen + 40 != p->l3_len))
		return -ERR_UNSUPPORTED;
	uint32_t h = p->l3_off + p->l3_hdr_len + p->l4_hdr_len;
	if (h > HC_HDR_MAX || (uint64_t)h + p->payload_len + p->trailer_len != caplen)
		return -ERR_UNSUPPORTED;
	if (p->l4 == PKT_L4_UDP && p->udp.len != 8 + p->payload_len)
		return -ERR_UNSUPPORTED;
	if (p->l4 == PKT_L4_TCP)
		pkt_tcp_opts(p);
	*hlen = h;
	return 0;
}

bool hc__ip4_csum_ok(const struct pkt *p)
{
	uint8_t ip[60];
	memcpy(ip, p->frame + p->l3_off, p->ip4.ihl_bytes);
	pkt_wr16(ip + 10, 0);
	return csum_fold(csum_partial(ip, p->ip4.ihl_bytes, 0)) == p->ip4.csum;
}

void hc__reset_state(struct hc *h, struct hc_flow *f)
{
	if (h->cfg.ops)
		memset(hc__pstate(f), 0, h->cfg.ops->flow_state_size);
	f->position = 0;
	f->since_refresh = 0;
	f->d[0].no_pad = f->d[1].no_pad = 0; /* as the decompressor's flow, made anew */
}

void hc__predict(const struct hc *h, struct hc_flow *fl, const struct hc_dir *c, struct hc_fields *f)
{
	const struct pred_pkt *l = &c->last;
	memset(f, 0, sizeof *f);
	f->ipid = l->ip_id;
	f->seq = l->seq;
	f->ack = l->ack;
	f->flags = l->tcp_flags;
	f->win = l->win;
	f->tsval = l->tsval;
	f->tsecr = l->tsecr;
	f->tos = l->tos;
	f->ttl = l->ttl;
	f->urg = l->urg;
	struct pred_out o;
	memset(&o, 0, sizeof o);
	if (!h->cfg.ops || !h->cfg.ops->predict(h->cfg.pred, hc__pstate(fl), l, &o))
		return;
	if (o.fields & PRED_IPID)
		f->ipid = o.ip_id;
	if (o.fields & PRED_SEQ)
		f->seq = o.seq;
	if (o.fields & PRED_ACK)
		f->ack = o.ack;
	if (o.fields & PRED_FLAGS)
		f->flags = o.tcp_flags;
	if (o.fields & PRED_WIN)
		f->win = o.win;
	if (o.fields & PRED_TS) {
		f->tsval = o.tsval;
		f->tsecr = o.tsecr;
	}
}

uint32_t hc__rebuild(const struct hc_dir *c, const struct hc_fields *f, uint8_t *out)
{
	uint32_t l4_len = (uint32_t)c->hlen - c->l4_off;
	if ((f->mask & HC_F_OPTS) && c->l4 == PKT_L4_TCP) {
		memcpy(out, c->hdr, c->l4_off + 20u);
		hc__copy(out + c->l4_off + 20, f->opts, f->opts_len);
		l4_len = 20 + f->opts_len;
		out[c->l4_off + 12] = (uint8_t)((l4_len / 4) << 4 | (c->hdr[c->l4_off + 12] & 0x0f));
	} else {
		memcpy(out, c->hdr, c->hlen);
	}
	uint32_t hlen = c->l4_off + l4_len;
	uint32_t ip_len = (uint32_t)(c->l4_off - c->l3_off) + l4_len + f->payload_len;
	uint8_t *ip = out + c->l3_off, *l4 = out + c->l4_off;
	if (c->v4) {
		if (ip_len > 0xffff)
			return 0;
		ip[1] = f->tos;
		pkt_wr16(ip + 2, (uint16_t)ip_len);
		pkt_wr16(ip + 4, f->ipid);
		ip[8] = f->ttl;
		uint16_t ck = f->ipcsum;
		if (!(f->mask & HC_F_IPCSUM) && c->ipcsum_bad) {
			ck = pkt_rd16(c->hdr + c->l3_off + 10);
		} else if (!(f->mask & HC_F_IPCSUM)) {
			pkt_wr16(ip + 10, 0);
			ck = csum_fold(csum_partial(ip, (size_t)(c->l4_off - c->l3_off), 0));
		}
		pkt_wr16(ip + 10, ck);
	} else {
		if (ip_len - 40 > 0xffff)
			return 0;
		ip[0] = (uint8_t)(0x60 | f->tos >> 4);
		ip[1] = (uint8_t)((f->tos & 0x0f) << 4 | (ip[1] & 0x0f));
		pkt_wr16(ip + 4, (uint16_t)(ip_len - 40));
		ip[7] = f->ttl;
	}
	if (c->l4 == PKT_L4_TCP) {
		pkt_wr32(l4 + 4, f->seq);
		pkt_wr32(l4 + 8, f->ack);
		l4[13] = f->flags;
		pkt_wr16(l4 + 14, f->win);
		pkt_wr16(l4 + 16, f->l4csum);
		pkt_wr16(l4 + 18, f->urg);
		if (c->ts_at && !(f->mask & HC_F_OPTS)) {
			pkt_wr32(l4 + c->ts_at, f->tsval);
			pkt_wr32(l4 + c->ts_at + 4, f->tsecr);
		}
	} else {
		pkt_wr16(l4 + 4, (uint16_t)(8 + f->payload_len));
		pkt_wr16(l4 + 6, f->l4csum);
	}
	return hlen;
}

void hc__learn(struct hc *h, struct hc_flow *fl, struct hc_dir *c, const struct pkt *p, uint32_t hdr_len,
	       unsigned dir, uint64_t t_ns)
{
	memcpy(c->hdr, p->frame, hdr_len);
	c->hlen = (uint16_t)hdr_len;
	c->l3_off = (uint16_t)p->l3_off;
	c->l4_off = (uint16_t)(p->l3_off + p->l3_hdr_len);
	c->l4 = (uint8_t)p->l4;
	c->v4 = p->l3 == PKT_L3_IPV4;
	uint32_t flen = hdr_len + p->payload_len;
	if (flen < 60)
		c->no_pad = p->trailer_len == 0;
	c->ipcsum_bad = c->v4 && !hc__ip4_csum_ok(p);
	c->ts_at = p->l4 == PKT_L4_TCP && p->tcp.ts_off != 0xff ? (uint8_t)(20 + p->tcp.ts_off + 2) : 0;
	struct pred_pkt pk;
	pred_pkt_fill(&pk, p, dir, t_ns, fl->position);
	if (h->cfg.ops)
		h->cfg.ops->observe(h->cfg.pred, hc__pstate(fl), &pk);
	pk.payload = NULL;
	pk.payload_avail = 0;
	c->last = pk;
	fl->position++;
	fl->since_refresh++;
	fl->last_ns = t_ns;
	fl->msn++;
}

/* CRC-8, polynomial x^8 + x^2 + x + 1 (0x07), initial value 0xff, MSB first; the table is
 * crc_table[i] = i shifted through the polynomial eight times (hc_test.c recomputes it). */
const uint8_t hc__crc_table[256] = {
	0x00, 0x07, 0x0e, 0x09, 0x1c, 0x1b, 0x12, 0x15, 0x38, 0x3f, 0x36, 0x31,
	0x24, 0x23, 0x2a, 0x2d, 0x70, 0x77, 0x7e, 0x79, 0x6c, 0x6b, 0x62, 0x65,
	0x48, 0x4f, 0x46, 0x41, 0x54, 0x53, 0x5a, 0x5d, 0xe0, 0xe7, 0xee, 0xe9,
	0xfc, 0xfb, 0xf2, 0xf5, 0xd8, 0xdf, 0xd6, 0xd1, 0xc4, 0xc3, 0xca, 0xcd,
	0x90, 0x97, 0x9e, 0x99, 0x8c, 0x8b, 0x82, 0x85, 0xa8, 0xaf, 0xa6, 0xa1,
	0xb4, 0xb3, 0xba, 0xbd, 0xc7, 0xc0, 0xc9, 0xce, 0xdb, 0xdc, 0xd5, 0xd2,
	0xff, 0xf8, 0xf1, 0xf6, 0xe3, 0xe4, 0xed, 0xea, 0xb7, 0xb0, 0xb9, 0xbe,
	0xab, 0xac, 0xa5, 0xa2, 0x8f, 0x88, 0x81, 0x86, 0x93, 0x94, 0x9d, 0x9a,
	0x27, 0x20, 0x29, 0x2e, 0x3b, 0x3c, 0x35, 0x32, 0x1f, 0x18, 0x11, 0x16,
	0x03, 0x04, 0x0d, 0x0a, 0x57, 0x50, 0x59, 0x5e, 0x4b, 0x4c, 0x45, 0x42,
	0x6f, 0x68, 0x61, 0x66, 0x73, 0x74, 0x7d, 0x7a, 0x89, 0x8e, 0x87, 0x80,
	0x95, 0x92, 0x9b, 0x9c, 0xb1, 0xb6, 0xbf, 0xb8, 0xad, 0xaa, 0xa3, 0xa4,
	0xf9, 0xfe, 0xf7, 0xf0, 0xe5, 0xe2, 0xeb, 0xec, 0xc1, 0xc6, 0xcf, 0xc8,
	0xdd, 0xda, 0xd3, 0xd4, 0x69, 0x6e, 0x67, 0x60, 0x75, 0x72, 0x7b, 0x7c,
	0x51, 0x56, 0x5f, 0x58, 0x4d, 0x4a, 0x43, 0x44, 0x19, 0x1e, 0x17, 0x10,
	0x05, 0x02, 0x0b, 0x0c, 0x21, 0x26, 0x2f, 0x28, 0x3d, 0x3a, 0x33, 0x34,
	0x4e, 0x49, 0x40, 0x47, 0x52, 0x55, 0x5c, 0x5b, 0x76, 0x71, 0x78, 0x7f,
	0x6a, 0x6d, 0x64, 0x63, 0x3e, 0x39, 0x30, 0x37, 0x22, 0x25, 0x2c, 0x2b,
	0x06, 0x01, 0x08, 0x0f, 0x1a, 0x1d, 0x14, 0x13, 0xae, 0xa9, 0xa0, 0xa7,
	0xb2, 0xb5, 0xbc, 0xbb, 0x96, 0x91, 0x98, 0x9f, 0x8a, 0x8d, 0x84, 0x83,
	0xde, 0xd9, 0xd0, 0xd7, 0xc2, 0xc5, 0xcc, 0xcb, 0xe6, 0xe1, 0xe8, 0xef,
	0xfa, 0xfd, 0xf4, 0xf3,
};

uint8_t hc__crc8(const uint8_t *b, uint32_t n)
{
	uint8_t r = 0xff;
	for (uint32_t i = 0; i < n; i++)
		r = hc__crc_table[r ^ b[i]];
	return r;
}
