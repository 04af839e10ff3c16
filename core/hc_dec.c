/* hc_dec: the predictive decompressor.  Every read is checked against the frame's end; a
 * packet is delivered only when its context is in step with the compressor's (no gap in the
 * flow's sequence numbers since its last refresh) and the header it rebuilt passes the CRC.
 * Any drop leaves the flow out of step until the compressor's next refresh: the predictor state
 * at this end has then missed a packet the compressor's has seen. */
#include <string.h>

#include "hc_impl.h"

struct hc_flow *hc__dec_flow(struct hc *h, uint32_t i)
{
	return (struct hc_flow *)(h->flows + (size_t)i * h->flow_size);
}

static uint32_t drop(struct hc *h, struct hc_flow *fl, uint32_t cid, uint64_t *counter)
{
	(*counter)++;
	if (fl) {
		if (fl->synced)
			h->nack = cid + 1; /* once, as the flow falls out of step */
		fl->d[0].valid = fl->d[1].valid = 0;
		fl->synced = 0;
	}
	return 0;
}

/* The flow and direction of context id 'cid', or NULL. */
static struct hc_flow *flow_of(struct hc *h, uint32_t cid)
{
	return cid / 2 < h->cfg.contexts ? hc__dec_flow(h, cid / 2) : NULL;
}

static uint32_t take_ir(struct hc *h, const uint8_t *in, uint32_t len, uint64_t t_ns, uint8_t *out, uint32_t cap)
{
	const uint8_t *b = in + 1, *end = in + len;
	uint32_t cid, hlen;
	struct pkt p;
	if (!hc__get_var(&b, end, &cid) || b >= end)
		return drop(h, NULL, 0, &h->st.hc_dropped_malformed);
	uint8_t msn = *b++;
	uint32_t flen = (uint32_t)(end - b);
	struct hc_flow *fl = flow_of(h, cid);
	if (!fl || flen > cap || hc__parse(b, flen, flen, &p, &hlen))
		return drop(h, NULL, 0, &h->st.hc_dropped_malformed);
	unsigned dir = cid & 1;
	if (in[0] == HC_IR) {
		/* A new or refreshed flow: both ends start it again here. */
		hc__flow_restart(h, fl);
		fl->synced = 1;
	}
	fl->msn = msn;
	memcpy(out, b, flen);
	uint64_t t1 = hc__now(h);
	hc__learn(h, fl, &fl->d[dir], &p, hlen, dir, t_ns, p.l3 == PKT_L3_IPV4 && hc__ip4_csum_ok(&p));
	fl->d[dir].valid = fl->synced;
	h->st.after_ns += hc__now(h) - t1;
	h->st.hc_delivered++;
	return flen;
}

/* Reads the corrections of 'mask' against the prediction in 'f'. */
static bool read_fields(const uint8_t **pb, const uint8_t *end, const struct hc_dir *c, struct hc_fields *f)
{
	const uint8_t *b = *pb;
	uint32_t m = f->mask, v;
#define VAR(x) do { if (!hc__get_var(&b, end, &v)) return false; x; } while (0)
#define BYTE(x) do { if (b >= end) return false; x = *b++; } while (0)
	if (m & HC_F_IPID)
		VAR(f->ipid = (uint16_t)(f->ipid + hc__unzz(v)));
	if (m & HC_F_SEQ)
		VAR(f->seq += (uint32_t)hc__unzz(v));
	if (m & HC_F_ACK)
		VAR(f->ack += (uint32_t)hc__unzz(v));
	if (m & HC_F_WIN)
		VAR(f->win = (uint16_t)(f->win + hc__unzz(v)));
	if (m & HC_F_FLAGS)
		BYTE(f->flags);
	if (m & HC_F_TSVAL)
		VAR(f->tsval += (uint32_t)hc__unzz(v));
	if (m & HC_F_TSECR)
		VAR(f->tsecr += (uint32_t)hc__unzz(v));
	if (m & HC_F_TOS)
		BYTE(f->tos);
	if (m & HC_F_TTL)
		BYTE(f->ttl);
	if (m & HC_F_URG) {
		if (end - b < 2)
			return false;
		f->urg = pkt_rd16(b);
		b += 2;
	}
	if (m & HC_F_OPTS) {
		BYTE(f->opts_len);
		if (f->opts_len > 40 || f->opts_len % 4 || (uint32_t)(end - b) < f->opts_len)
			return false;
		f->opts = b;
		b += f->opts_len;
	}
	if (m & HC_F_TRAILER)
		VAR(f->trailer_len = v);
	if (m & HC_F_IPCSUM) {
		if (end - b < 2)
			return false;
		f->ipcsum = pkt_rd16(b);
		b += 2;
	}
	if (m & HC_F_OPTWORDS) {
		VAR(f->words_map = v);
		if (!v || v >> HC_OPT_WORDS || (m & HC_F_OPTS))
			return false;
		unsigned nw = 0;
		for (unsigned k = 0; k < HC_OPT_WORDS; k++) {
			if (!(f->words_map >> k & 1))
				continue;
			if (c->l4_off + 24u + 4 * k > c->hlen)
				return false;
			VAR(pkt_wr32(f->words_buf + 4 * nw, (uint32_t)hc__unzz(v)));
			nw++;
		}
		f->words = f->words_buf;
	}
#undef VAR
#undef BYTE
	*pb = b;
	return true;
}

static uint32_t take_co(struct hc *h, const uint8_t *in, uint32_t len, uint64_t t_ns, uint8_t *out, uint32_t cap)
{
	const uint8_t *b = in + 1, *end = in + len;
	uint32_t cid = in[0] & 7u, mask = 0;
	if (cid == 7 && !hc__get_var(&b, end, &cid))
		return drop(h, NULL, 0, &h->st.hc_dropped_malformed);
	struct hc_flow *fl = flow_of(h, cid);
	if (!fl)
		return drop(h, NULL, 0, &h->st.hc_dropped_malformed);
	unsigned dir = cid & 1;
	struct hc_dir *c = &fl->d[dir];
	if ((in[0] >> 3 & 7u) != (fl->msn & 7u))
		return drop(h, fl, cid, &h->st.hc_dropped_gap);
	if (!c->valid)
		return drop(h, fl, cid, &h->st.hc_dropped_no_context);
	if ((in[0] & 0x40) && (!hc__get_var(&b, end, &mask) || !mask || (mask & ~(uint32_t)HC_F_ALL)))
		return drop(h, fl, cid, &h->st.hc_dropped_malformed);
	struct hc_fields f = c->pred;
	f.mask = mask;
	bool csum = c->l4 == PKT_L4_TCP || pkt_rd16(c->hdr + c->l4_off + 6) != 0;
	if (!read_fields(&b, end, c, &f) || (uint32_t)(end - b) < 1u + (csum ? 2u : 0u))
		return drop(h, fl, cid, &h->st.hc_dropped_malformed);
	if ((mask & (HC_F_OPTS | HC_F_OPTWORDS)) && c->l4 != PKT_L4_TCP)
		return drop(h, fl, cid, &h->st.hc_dropped_malformed);
	uint8_t crc = *b++;
	if (csum) {
		f.l4csum = pkt_rd16(b);
		b += 2;
	}
	uint32_t rest = (uint32_t)(end - b);
	if (rest < f.trailer_len)
		return drop(h, fl, cid, &h->st.hc_dropped_malformed);
	f.payload_len = rest - f.trailer_len;
	if (!(mask & HC_F_FLAGS))
		f.flags = hc__flags_for(c, f.payload_len, c->pred.flags);
	if (!(mask & HC_F_TRAILER))
		f.trailer_len = 0;
	uint8_t hdr[HC_HDR_MAX + 64];
	uint32_t hlen = hc__rebuild(c, &f, hdr);
	if (!hlen || hc__crc8(hdr + c->l3_off, hlen - c->l3_off) != crc)
		return drop(h, fl, cid, &h->st.crc_failures);
	uint32_t pad = (mask & HC_F_TRAILER) ? 0 : hc__dir_pad(c, hlen + f.payload_len);
	uint64_t flen = (uint64_t)hlen + rest + pad;
	if (flen > cap)
		return drop(h, fl, cid, &h->st.hc_dropped_malformed);
	memcpy(out, hdr, hlen);
	memcpy(out + hlen, b, rest);
	memset(out + hlen + rest, 0, pad);
	uint64_t t1 = hc__now(h);
	struct pkt p;
	uint32_t plen;
	if (hc__parse(out, (uint32_t)flen, (uint32_t)flen, &p, &plen) || plen != hlen)
		return drop(h, fl, cid, &h->st.crc_failures); /* passed the CRC, but no such header was sent */
	hc__learn(h, fl, c, &p, hlen, dir, t_ns, p.l3 == PKT_L3_IPV4 && hc__ip4_csum_ok(&p));
	h->st.after_ns += hc__now(h) - t1;
	h->st.hc_delivered++;
	return (uint32_t)flen;
}

static uint32_t dispatch(struct hc *h, const uint8_t *in, uint32_t len, uint64_t t_ns, uint8_t *out, uint32_t cap)
{
	h->nack = 0;
	if (len < 1)
		return drop(h, NULL, 0, &h->st.hc_dropped_malformed);
	if (in[0] & 0x80)
		return take_co(h, in, len, t_ns, out, cap);
	if (in[0] == HC_IR || in[0] == HC_IR2)
		return take_ir(h, in, len, t_ns, out, cap);
	if (in[0] == HC_RAW && len - 1 <= cap) {
		memcpy(out, in + 1, len - 1);
		h->st.hc_delivered++;
		return len - 1;
	}
	return drop(h, NULL, 0, &h->st.hc_dropped_malformed);
}

/* The time on the path is the whole call's less what was learnt after the frame was rebuilt. */
uint32_t hc__decompress(struct hc *h, const uint8_t *in, uint32_t len, uint64_t t_ns, uint8_t *out, uint32_t cap)
{
	uint64_t t0 = hc__now(h), after = h->st.after_ns;
	uint32_t n = dispatch(h, in, len, t_ns, out, cap);
	h->st.path_ns += hc__now(h) - t0 - (h->st.after_ns - after);
	return n;
}

uint32_t hc_feedback(const struct hc *h, uint8_t *out)
{
	if (!h->dec || !h->nack)
		return 0;
	out[0] = HC_NACK;
	return (uint32_t)(hc__put_var(out + 1, h->nack - 1) - out);
}
