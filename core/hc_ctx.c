/* hc_ctx: what both ends of a compressed link do the same way: which frames have a context, the
 * prediction, the rebuild of a header from a context and corrections, learning a packet, the
 * CRC.  The compressor checks every compressed packet by rebuilding it here, so that a packet it
 * sends compressed is one the decompressor rebuilds byte for byte. */
#include <string.h>

#include "csum.h"
#include "hc_crc_tables.h"
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

void hc__flow_restart(struct hc *h, struct hc_flow *f)
{
	uint8_t msn = f->msn, pending = f->pending, known = f->known;
	struct hc_flow_acct acct = f->acct;
	memset(f, 0, h->flow_size);
	f->msn = msn;
	f->pending = pending;
	f->known = known;
	f->acct = acct;
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
		if (f->ipcsum_known) {
			/* the compressor's check: the packet's own */
		} else if (!(f->mask & HC_F_IPCSUM) && c->ipcsum_bad) {
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
		if ((f->mask & HC_F_OPTWORDS) && !(f->mask & HC_F_OPTS)) {
			/* Each changed word moves by its difference (after the timestamps are written). */
			const uint8_t *w = f->words;
			for (unsigned k = 0; k < HC_OPT_WORDS; k++)
				if ((f->words_map >> k & 1) && 20 + 4 * k + 4 <= l4_len) {
					uint8_t *o = l4 + 20 + 4 * k;
					pkt_wr32(o, pkt_rd32(o) + pkt_rd32(w));
					w += 4;
				}
		}
	} else {
		pkt_wr16(l4 + 4, (uint16_t)(8 + f->payload_len));
		pkt_wr16(l4 + 6, f->l4csum);
	}
	return hlen;
}

void hc__learn(struct hc *h, struct hc_flow *fl, struct hc_dir *c, const struct pkt *p, uint32_t hdr_len,
	       unsigned dir, uint64_t t_ns, bool ip_ok)
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
	c->ipcsum_bad = c->v4 && !ip_ok;
	if (p->l4 == PKT_L4_TCP) {
		/* Which prediction of the flags was right this time (before this packet is learnt). */
		bool by_len = hc__flags_by_len(c, p->payload_len, c->pred.flags) == p->tcp.flags,
		     pred = c->pred.flags == p->tcp.flags;
		if (by_len && !pred && c->flags_vote < 16)
			c->flags_vote++;
		else if (pred && !by_len && c->flags_vote > -16)
			c->flags_vote--;
		unsigned k = p->payload_len > 0;
		c->flags_by_len[k] = p->tcp.flags;
		c->flags_seen |= (uint8_t)(1u << k);
	}
	c->ts_at = p->l4 == PKT_L4_TCP && p->tcp.ts_off != 0xff ? (uint8_t)(20 + p->tcp.ts_off + 2) : 0;
	struct pred_pkt pk;
	pred_pkt_fill(&pk, p, dir, h->cfg.untimed ? 0 : t_ns, fl->position);
	if (h->cfg.ops)
		h->cfg.ops->observe(h->cfg.pred, hc__pstate(fl), &pk);
	pk.payload = NULL;
	pk.payload_avail = 0;
	c->last = pk;
	fl->known |= (uint8_t)(1u << dir);
	fl->position++;
	fl->since_refresh++;
	fl->last_ns = t_ns;
	fl->msn++;
	for (unsigned k = 0; k < 2; k++)
		if (fl->d[k].hlen)
			hc__predict(h, fl, &fl->d[k], &fl->d[k].pred);
}

/* CRC-8, polynomial x^8 + x^2 + x + 1 (0x07), initial value 0xff, MSB first, eight bytes a step
 * (the register's dependence chain is one lookup per eight bytes rather than per byte). */
const uint8_t (*const hc__crc_tables)[256] = hc_crc_tab;

uint8_t hc__crc8(const uint8_t *b, uint32_t n)
{
	const uint8_t(*t)[256] = hc_crc_tab;
	uint8_t r = 0xff;
	for (; n >= 8; n -= 8, b += 8)
		r = (uint8_t)(t[7][r ^ b[0]] ^ t[6][b[1]] ^ t[5][b[2]] ^ t[4][b[3]] ^ t[3][b[4]] ^ t[2][b[5]] ^
			      t[1][b[6]] ^ t[0][b[7]]);
	for (; n; n--)
		r = t[0][r ^ *b++];
	return r;
}
