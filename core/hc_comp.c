/* hc_comp: the predictive compressor.  A frame with a context goes as an IR (whole) or as what
 * the shared prediction got wrong; the compressed form is sent only when the decompressor's
 * rebuild of it (hc__rebuild, run here on the same context) gives the frame's header byte for
 * byte, else the frame goes as an IR. */
#include <string.h>

#include "csum.h"
#include "hc_impl.h"

static uint32_t send_raw(struct hc *h, uint32_t caplen, const struct pkt *p, uint8_t *out, struct hc_tail *tail)
{
	out[0] = HC_RAW;
	*tail = (struct hc_tail){ 0, caplen };
	uint32_t hin = p->l3 != PKT_L3_NONE && p->status == PKT_ST_OK ? p->l3_hdr_len + p->l4_hdr_len : 0;
	h->st.hc_raw++;
	hc__account(h, caplen, caplen + 1, hin, hin + 1);
	return 1;
}

/* The frame whole, with its context (learnt by the caller, after). */
static uint32_t send_ir(struct hc *h, struct hc_flow *fl, unsigned dir, uint32_t cid, uint32_t caplen,
			const struct pkt *p, uint32_t hlen, bool reset, bool refresh, uint8_t *out, struct hc_tail *tail)
{
	uint8_t *o = out;
	*o++ = reset ? HC_IR : HC_IR2;
	o = hc__put_var(o, cid);
	if (reset) {
		if (fl->position)
			h->st.context_refreshes++;
		hc__flow_restart(h, fl);
		if (fl->known & (1u << (dir ^ 1)))
			fl->pending |= (uint8_t)(1u << (dir ^ 1));
	} else if (refresh) {
		h->st.context_refreshes++;
	}
	*o++ = fl->msn;
	uint32_t over = (uint32_t)(o - out);
	*tail = (struct hc_tail){ 0, caplen };
	h->st.hc_ir++;
	uint32_t hin = hlen - p->l3_off;
	hc__account(h, caplen, caplen + over, hin, hin + over);
	return over;
}

/* The packet's own values, and the corrections against the prediction 'pr' in f->mask. */
static void corrections(const struct hc_dir *c, const struct pkt *p, bool ip_ok, const struct hc_fields *pr,
			struct hc_fields *f)
{
	*f = *pr;
	uint32_t m = 0;
	f->payload_len = p->payload_len;
	if (c->v4) {
		f->ipid = p->ip4.id;
		f->tos = p->ip4.tos;
		f->ttl = p->ip4.ttl;
		/* A header checksum that was wrong on arrival stays wrong: carried as it is, unless
		 * it is the wrong value the direction's last packet had (offload: often 0). */
		if (c->ipcsum_bad ? pkt_rd16(c->hdr + c->l3_off + 10) != p->ip4.csum : !ip_ok) {
			m |= HC_F_IPCSUM;
			f->ipcsum = p->ip4.csum;
		}
	} else {
		f->tos = (uint8_t)(p->ip6.vtcfl >> 20);
		f->ttl = p->ip6.hlim;
	}
	if (p->l4 == PKT_L4_TCP) {
		f->seq = p->tcp.seq;
		f->ack = p->tcp.ack;
		f->flags = p->tcp.flags;
		f->win = p->tcp.win;
		f->urg = p->tcp.urg;
		f->l4csum = p->tcp.csum;
		if (p->tcp.ts_off != 0xff) {
			f->tsval = p->tcp.tsval;
			f->tsecr = p->tcp.tsecr;
		}
	} else {
		f->l4csum = p->udp.csum;
	}
	m |= f->ipid != pr->ipid ? HC_F_IPID : 0;
	m |= f->seq != pr->seq ? HC_F_SEQ : 0;
	m |= f->ack != pr->ack ? HC_F_ACK : 0;
	m |= f->win != pr->win ? HC_F_WIN : 0;
	m |= f->flags != pr->flags ? HC_F_FLAGS : 0;
	if (c->ts_at) {
		m |= f->tsval != pr->tsval ? HC_F_TSVAL : 0;
		m |= f->tsecr != pr->tsecr ? HC_F_TSECR : 0;
	}
	m |= f->tos != pr->tos ? HC_F_TOS : 0;
	m |= f->ttl != pr->ttl ? HC_F_TTL : 0;
	m |= f->urg != pr->urg ? HC_F_URG : 0;
	/* Padding other than the zeros up to 60 bytes the rebuild implies goes as it is. */
	uint32_t hlen = p->l3_off + p->l3_hdr_len + p->l4_hdr_len;
	uint32_t pad = hc__dir_pad(c, hlen + p->payload_len);
	bool zeros = p->trailer_len == pad;
	for (uint32_t i = 0; zeros && i < p->trailer_len; i++)
		zeros = p->trailer[i] == 0;
	if (!zeros) {
		m |= HC_F_TRAILER;
		f->trailer = p->trailer;
		f->trailer_len = p->trailer_len;
	}
	f->mask = m;
}

/* Writes the compressed header (everything before the payload) into 'o'; returns its end. */
static uint8_t *put_header(const struct hc_fields *f, const struct hc_fields *pr, uint32_t cid, uint8_t msn,
			   bool csum, uint8_t crc, uint8_t *o)
{
	uint32_t m = f->mask;
	*o++ = (uint8_t)(0x80 | (m ? 0x40 : 0) | (msn & 7u) << 3 | (cid < 7 ? cid : 7));
	if (cid >= 7)
		o = hc__put_var(o, cid);
	if (m)
		o = hc__put_var(o, m);
	if (m & HC_F_IPID)
		o = hc__put_var(o, hc__zz((int16_t)(uint16_t)(f->ipid - pr->ipid)));
	if (m & HC_F_SEQ)
		o = hc__put_var(o, hc__zz((int32_t)(f->seq - pr->seq)));
	if (m & HC_F_ACK)
		o = hc__put_var(o, hc__zz((int32_t)(f->ack - pr->ack)));
	if (m & HC_F_WIN)
		o = hc__put_var(o, hc__zz((int16_t)(uint16_t)(f->win - pr->win)));
	if (m & HC_F_FLAGS)
		*o++ = f->flags;
	if (m & HC_F_TSVAL)
		o = hc__put_var(o, hc__zz((int32_t)(f->tsval - pr->tsval)));
	if (m & HC_F_TSECR)
		o = hc__put_var(o, hc__zz((int32_t)(f->tsecr - pr->tsecr)));
	if (m & HC_F_TOS)
		*o++ = f->tos;
	if (m & HC_F_TTL)
		*o++ = f->ttl;
	if (m & HC_F_URG) {
		pkt_wr16(o, f->urg);
		o += 2;
	}
	if (m & HC_F_OPTS) {
		*o++ = (uint8_t)f->opts_len;
		hc__copy(o, f->opts, f->opts_len);
		o += f->opts_len;
	}
	if (m & HC_F_TRAILER)
		o = hc__put_var(o, f->trailer_len);
	if (m & HC_F_IPCSUM) {
		pkt_wr16(o, f->ipcsum);
		o += 2;
	}
	if (m & HC_F_OPTWORDS) {
		o = hc__put_var(o, f->words_map);
		unsigned nw = (unsigned)__builtin_popcount(f->words_map);
		for (unsigned k = 0; k < nw; k++)
			o = hc__put_var(o, hc__zz((int32_t)pkt_rd32(f->words + 4 * k)));
	}
	*o++ = crc;
	if (csum) {
		pkt_wr16(o, f->l4csum);
		o += 2;
	}
	return o;
}

/* A UDP flow whose checksum is 0 sends none. */
static bool carries_csum(const struct hc_dir *c)
{
	return c->l4 == PKT_L4_TCP || pkt_rd16(c->hdr + c->l4_off + 6) != 0;
}

/* The compressed form of 'p' in direction 'c', into 'out'; 0 when only an IR can carry it. */
static uint32_t try_co(struct hc *h, struct hc_flow *fl, struct hc_dir *c, uint32_t cid, const struct pkt *p,
		       uint32_t hlen, bool ip_ok, uint8_t *out, struct hc_tail *tail)
{
	if (p->l4 != c->l4 || p->l3_off != c->l3_off || p->l3_off + p->l3_hdr_len != c->l4_off)
		return 0;
	struct hc_fields pr = c->pred;
	pr.flags = hc__flags_for(c, p->payload_len, pr.flags);
	struct hc_fields f;
	corrections(c, p, ip_ok, &pr, &f);
	if (!carries_csum(c) && f.l4csum)
		return 0;
	uint8_t hdr[HC_HDR_MAX + 64];
	/* The check rebuilds with the packet's own IP checksum when it is right: the rest equal,
	 * the decompressor computes that same value. */
	struct hc_fields chk = f;
	if (c->v4 && ip_ok && !(f.mask & HC_F_IPCSUM)) {
		chk.ipcsum = p->ip4.csum;
		chk.ipcsum_known = true;
	}
	uint32_t n = hc__rebuild(c, &chk, hdr);
	uint8_t words[4 * HC_OPT_WORDS];
	if ((n != hlen || memcmp(hdr, p->frame, hlen)) && p->l4 == PKT_L4_TCP && n == hlen &&
	    !memcmp(hdr, p->frame, c->l4_off + 20u)) {
		/* Some option words changed otherwise than in their timestamps (MPTCP's data
		 * sequence numbers, SACK blocks of one length): those words alone. */
		uint32_t map = 0, nw = 0;
		for (unsigned k = 0; k < HC_OPT_WORDS && c->l4_off + 24u + 4 * k <= hlen; k++)
			if (memcmp(hdr + c->l4_off + 20 + 4 * k, p->frame + c->l4_off + 20 + 4 * k, 4)) {
				map |= 1u << k;
				const uint8_t *was = hdr + c->l4_off + 20 + 4 * k, *is = p->frame + c->l4_off + 20 + 4 * k;
				pkt_wr32(words + 4 * nw++, pkt_rd32(is) - pkt_rd32(was));
			}
		f.mask |= HC_F_OPTWORDS;
		f.words_map = chk.words_map = map;
		f.words = chk.words = words;
		chk.mask = f.mask;
		n = hc__rebuild(c, &chk, hdr);
	}
	if ((n != hlen || memcmp(hdr, p->frame, hlen)) && p->l4 == PKT_L4_TCP) {
		/* The options changed otherwise than in their timestamps: sent as they are. */
		f.mask &= ~(uint32_t)HC_F_OPTWORDS;
		f.mask = (f.mask & ~(uint32_t)(HC_F_TSVAL | HC_F_TSECR)) | HC_F_OPTS;
		f.opts = p->tcp.opts;
		f.opts_len = p->l4_hdr_len - 20u;
		chk.mask = f.mask;
		chk.opts = f.opts;
		chk.opts_len = f.opts_len;
		n = hc__rebuild(c, &chk, hdr);
	}
	if (n != hlen || memcmp(hdr, p->frame, hlen))
		return 0;
	uint8_t crc = hc__crc8(hdr + c->l3_off, hlen - c->l3_off);
	uint8_t *o = put_header(&f, &pr, cid, fl->msn, carries_csum(c), crc, out);
	uint32_t over = (uint32_t)(o - out);
	/* Sent compressed only when shorter than whole. */
	if (over >= hlen - p->l3_off + 2)
		return 0;
	/* The payload (and a trailer sent as it is) follow: the frame's own bytes after its header. */
	uint32_t tl = p->payload_len + ((f.mask & HC_F_TRAILER) ? p->trailer_len : 0);
	*tail = (struct hc_tail){ hlen, tl };
	h->st.hc_co++;
	h->st.header_bytes_co += over + ((f.mask & HC_F_TRAILER) ? p->trailer_len : 0);
	uint32_t hin = hlen - p->l3_off;
	hc__account(h, p->caplen, over + tl, hin, over + ((f.mask & HC_F_TRAILER) ? p->trailer_len : 0));
	return over;
}

uint32_t hc__compress(struct hc *h, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, uint64_t t_ns,
		      uint8_t *out, struct hc_tail *tail)
{
	uint64_t t0 = hc__now(h);
	struct pkt p;
	uint32_t hlen;
	struct flow_key k;
	bool src_a, created;
	if (hc__parse(frame, caplen, wirelen, &p, &hlen) || !flow_key_from_pkt(&p, &k, &src_a)) {
		uint32_t n = send_raw(h, caplen, &p, out, tail);
		h->st.path_ns += hc__now(h) - t0;
		return n;
	}
	struct flow_entry *e = flow_table_get(h->ft, &k, flow_key_hash(&k, NULL), src_a, t_ns, &created);
	struct hc_flow *fl = flow_user(h->ft, e);
	unsigned dir = flow_dir(e, src_a);
	uint32_t cid = flow_index(h->ft, e) * 2 + dir; /* a new flow's area comes zeroed */
	struct hc_dir *c = &fl->d[dir];
	bool ip_ok = p.l3 == PKT_L3_IPV4 && hc__ip4_csum_ok(&p);
	/* Refreshes without feedback: by count, and after a silence (a lost frame's damage lasts
	 * until the next). */
	bool reset = created || (h->cfg.refresh && fl->since_refresh >= h->cfg.refresh) ||
		     t_ns - fl->last_ns > HC_REFRESH_IDLE_NS || (fl->pending & 4);
	if (!created && (fl->pending & 4))
		h->st.hc_feedback_refreshes++;
	fl->pending &= (uint8_t)~4u;
	uint32_t n = 0;
	uint64_t hin0 = h->st.header_bytes_in, hout0 = h->st.header_bytes_out;
	if (!reset && !(fl->pending & (1u << dir)) && c->hlen)
		n = try_co(h, fl, c, cid, &p, hlen, ip_ok, out, tail);
	if (!n) {
		/* An IR for a direction the flow has known is a refresh. */
		bool refresh = fl->known & (1u << dir);
		fl->pending &= (uint8_t)~(1u << dir);
		n = send_ir(h, fl, dir, cid, caplen, &p, hlen, reset, refresh, out, tail);
	}
	fl->acct.proto = p.proto;
	fl->acct.packets++;
	fl->acct.payload[dir] += p.payload_len;
	fl->acct.header_in += h->st.header_bytes_in - hin0;
	fl->acct.header_out += h->st.header_bytes_out - hout0;
	uint64_t t1 = hc__now(h);
	hc__learn(h, fl, c, &p, hlen, dir, t_ns, ip_ok);
	h->st.path_ns += t1 - t0;
	h->st.after_ns += hc__now(h) - t1;
	return n;
}

void hc_take_feedback(struct hc *h, const uint8_t *fb, uint32_t len)
{
	const uint8_t *b = fb + 1;
	uint32_t cid;
	if (h->dec || h->vj || len < 2 || fb[0] != HC_NACK || !hc__get_var(&b, fb + len, &cid) || cid / 2 >= h->cfg.contexts)
		return;
	struct flow_entry *e = flow_at(h->ft, cid / 2);
	if (e && e->in_use)
		((struct hc_flow *)flow_user(h->ft, e))->pending |= 4;
}
