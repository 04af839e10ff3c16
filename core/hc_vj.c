/* hc_vj: Van Jacobson's TCP/IPv4 header compression (RFC 1144), the classic anchor, on the same
 * link as the predictive compressors.
 *
 * As the RFC: up to 256 connection slots (one direction of a TCP connection each, the least
 * recently used one taken for a new one); SYN, FIN, RST or no ACK go as plain IP; a change of
 * anything but the lengths, ID, sequence and acknowledgement numbers, window, urgent pointer,
 * PSH and checksums (so any change in the TCP options: timestamps) goes uncompressed, with the
 * slot number in the IP protocol field; a compressed packet is the change mask, the slot when it
 * changed, the TCP checksum and the deltas (1 byte, or 0 and 2 bytes), with the special cases
 * for echoed and one-way data.  What this link adds, so that the frames it rebuilds are the
 * egress byte for byte: the Ethernet header is part of a slot; a frame whose IP checksum is
 * wrong, whose padding is not zeros up to 60 bytes, or whose flags change beyond PSH and URG
 * goes uncompressed.  On a lost frame (hc_lost: the link's error signal, which RFC 1144 needs)
 * compressed packets are tossed until one names its slot, and a slot delivers only packets
 * whose TCP checksum verifies until its next uncompressed packet. */
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "hc_impl.h"

#define VJ_SLOTS 256
#define VJ_C 0x40
#define VJ_I 0x20
#define VJ_P 0x10
#define VJ_S 0x08
#define VJ_A 0x04
#define VJ_W 0x02
#define VJ_U 0x01
#define VJ_SPECIAL_I (VJ_S | VJ_W | VJ_U)
#define VJ_SPECIAL_D (VJ_S | VJ_A | VJ_W | VJ_U)

struct vj_slot {
	uint8_t hdr[HC_HDR_MAX];
	uint16_t hlen, l3_off, l4_off;
	uint16_t plen;             /* payload bytes of the packet saved */
	uint8_t used, suspect;
};

struct vj_state {
	uint32_t n;
	uint8_t order[VJ_SLOTS];   /* slots, most recently used first */
	int last;                  /* slot of the last compressed packet sent/received, -1 none */
	bool toss;
	struct vj_slot s[VJ_SLOTS];
};

int hc__vj_create(struct hc *h, struct errbuf *eb)
{
	struct vj_state *v = calloc(1, sizeof *v);
	if (!v)
		return err_set(eb, -ERR_NOMEM, "vj: out of memory");
	v->n = h->cfg.contexts < VJ_SLOTS ? h->cfg.contexts : VJ_SLOTS;
	for (uint32_t i = 0; i < v->n; i++)
		v->order[i] = (uint8_t)i;
	v->last = -1;
	h->vj = v;
	return 0;
}

void hc__vj_destroy(struct hc *h)
{
	free(h->vj);
	h->vj = NULL;
}

void hc__vj_lost(struct hc *h)
{
	struct vj_state *v = h->vj;
	v->toss = true;
	for (uint32_t i = 0; i < v->n; i++)
		v->s[i].suspect = 1;
}

static void save(struct vj_slot *s, const struct pkt *p, uint32_t hlen)
{
	memcpy(s->hdr, p->frame, hlen);
	s->hlen = (uint16_t)hlen;
	s->l3_off = (uint16_t)p->l3_off;
	s->l4_off = (uint16_t)(p->l3_off + p->l3_hdr_len);
	s->plen = (uint16_t)p->payload_len;
	s->used = 1;
	s->suspect = 0;
}

/* The slot of p's connection, moved to the front; '*found' false when one was taken for it. */
static struct vj_slot *lookup(struct vj_state *v, const struct pkt *p, uint32_t *id, bool *found)
{
	uint32_t k = 0;
	*found = false;
	for (; k < v->n; k++) {
		const struct vj_slot *s = &v->s[v->order[k]];
		if (!s->used)
			continue;
		const uint8_t *ip = s->hdr + s->l3_off, *l4 = s->hdr + s->l4_off;
		if (!memcmp(ip + 12, p->ip4.src, 4) && !memcmp(ip + 16, p->ip4.dst, 4) &&
		    pkt_rd16(l4) == p->tcp.sport && pkt_rd16(l4 + 2) == p->tcp.dport) {
			*found = true;
			break;
		}
	}
	if (k == v->n)
		k = v->n - 1;
	uint8_t slot = v->order[k];
	memmove(v->order + 1, v->order, k);
	v->order[0] = slot;
	*id = slot;
	return &v->s[slot];
}

/* Everything RFC 1144 cannot carry equals the slot's, and what this link implies holds. */
static bool same_shape(const struct vj_slot *s, const struct pkt *p, uint32_t hlen)
{
	const uint8_t *a = s->hdr, *b = p->frame;
	uint32_t l3 = s->l3_off, l4 = s->l4_off;
	if (s->hlen != hlen || p->l3_off != l3 || memcmp(a, b, l3))
		return false;
	if (a[l3] != b[l3] || a[l3 + 1] != b[l3 + 1] || memcmp(a + l3 + 6, b + l3 + 6, 4) ||
	    memcmp(a + l3 + 12, b + l3 + 12, l4 - l3 - 12))
		return false;
	if (a[l4 + 12] != b[l4 + 12] || ((a[l4 + 13] ^ b[l4 + 13]) & ~(TCP_PSH | TCP_URG)) ||
	    memcmp(a + l4 + 20, b + l4 + 20, hlen - l4 - 20))
		return false;
	if (!(b[l4 + 13] & TCP_URG) && pkt_rd16(a + l4 + 18) != p->tcp.urg)
		return false;
	uint8_t ip[60];
	memcpy(ip, b + l3, p->ip4.ihl_bytes);
	pkt_wr16(ip + 10, 0);
	if (csum_fold(csum_partial(ip, p->ip4.ihl_bytes, 0)) != p->ip4.csum)
		return false;
	if (p->trailer_len != hc__pad(hlen + p->payload_len))
		return false;
	for (uint32_t i = 0; i < p->trailer_len; i++)
		if (p->trailer[i])
			return false;
	return true;
}

static uint8_t *enc(uint8_t *o, uint32_t n, bool z)
{
	if (n >= 256 || (z && n == 0)) {
		*o++ = 0;
		pkt_wr16(o, (uint16_t)n);
		return o + 2;
	}
	*o++ = (uint8_t)n;
	return o;
}

/* The compressed header of 'p' against slot 's' into 'o'; 0 when it must go uncompressed. */
static uint32_t vj_fields(const struct vj_slot *s, const struct pkt *p, uint32_t id, int last, uint8_t *o)
{
	const uint8_t *ot = s->hdr + s->l4_off, *oi = s->hdr + s->l3_off;
	uint8_t d[16], *q = d;
	unsigned ch = 0;
	if (p->tcp.flags & TCP_URG) {
		q = enc(q, p->tcp.urg, true);
		ch |= VJ_U;
	}
	uint16_t dw = (uint16_t)(p->tcp.win - pkt_rd16(ot + 14));
	if (dw) {
		q = enc(q, dw, false);
		ch |= VJ_W;
	}
	uint32_t da = p->tcp.ack - pkt_rd32(ot + 8), ds = p->tcp.seq - pkt_rd32(ot + 4);
	if (da) {
		if (da > 0xffff)
			return 0;
		q = enc(q, da, false);
		ch |= VJ_A;
	}
	if (ds) {
		if (ds > 0xffff)
			return 0;
		q = enc(q, ds, false);
		ch |= VJ_S;
	}
	switch (ch) {
	case 0:
		/* Data after a pure ACK goes compressed; a repeat (retransmission, probe) does not. */
		if (p->payload_len && !s->plen)
			break;
		return 0;
	case VJ_SPECIAL_I:
	case VJ_SPECIAL_D:
		return 0;
	case VJ_S | VJ_A:
		if (ds == da && ds == s->plen && !(ot[13] & TCP_URG)) {
			ch = VJ_SPECIAL_I;
			q = d;
		}
		break;
	case VJ_S:
		if (ds == s->plen && !(ot[13] & TCP_URG)) {
			ch = VJ_SPECIAL_D;
			q = d;
		}
		break;
	}
	uint16_t di = (uint16_t)(p->ip4.id - pkt_rd16(oi + 4));
	if (di != 1) {
		q = enc(q, di, true);
		ch |= VJ_I;
	}
	if (p->tcp.flags & TCP_PSH)
		ch |= VJ_P;
	uint8_t *o0 = o;
	if (last != (int)id) {
		*o++ = (uint8_t)(0x80 | ch | VJ_C);
		*o++ = (uint8_t)id;
	} else {
		*o++ = (uint8_t)(0x80 | ch);
	}
	pkt_wr16(o, p->tcp.csum);
	o += 2;
	memcpy(o, d, (size_t)(q - d));
	return (uint32_t)(o + (q - d) - o0);
}

uint32_t hc__vj_compress(struct hc *h, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, uint8_t *out)
{
	struct vj_state *v = h->vj;
	struct pkt p;
	uint32_t hlen, id;
	bool found;
	bool tcp4 = !hc__parse(frame, caplen, wirelen, &p, &hlen) && p.l3 == PKT_L3_IPV4 && p.l4 == PKT_L4_TCP &&
		    !p.link.n_mpls;
	if (!tcp4 || (p.tcp.flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) != TCP_ACK) {
		uint32_t hin = p.status == PKT_ST_OK && p.l3 != PKT_L3_NONE ? p.l3_hdr_len + p.l4_hdr_len : 0;
		out[0] = HC_RAW;
		memcpy(out + 1, frame, caplen);
		h->st.hc_raw++;
		hc__account(h, caplen, caplen + 1, hin, hin + 1);
		return caplen + 1;
	}
	uint32_t hin = hlen - p.l3_off;
	struct vj_slot *s = lookup(v, &p, &id, &found);
	uint32_t n = found && same_shape(s, &p, hlen) ? vj_fields(s, &p, id, v->last, out) : 0;
	if (n) {
		hc__copy(out + n, p.payload, p.payload_len);
		v->last = (int)id;
		save(s, &p, hlen);
		h->st.hc_co++;
		h->st.header_bytes_co += n;
		hc__account(h, caplen, n + p.payload_len, hin, n);
		return n + p.payload_len;
	}
	/* Uncompressed: the slot in the IP protocol field (the type is the link's). */
	out[0] = HC_IR;
	memcpy(out + 1, frame, caplen);
	out[1 + p.l3_off + 9] = (uint8_t)id;
	if (found)
		h->st.context_refreshes++;
	save(s, &p, hlen);
	v->last = (int)id;
	h->st.hc_ir++;
	hc__account(h, caplen, caplen + 1, hin, hin + 1);
	return caplen + 1;
}

static uint32_t vj_drop(uint64_t *counter)
{
	(*counter)++;
	return 0;
}

static uint32_t vj_uncompressed(struct hc *h, const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap)
{
	struct vj_state *v = h->vj;
	struct pkt p;
	uint32_t hlen, flen = len - 1;
	if (flen > cap || flen < 24)
		return vj_drop(&h->st.hc_dropped_malformed);
	memcpy(out, in + 1, flen);
	/* The protocol byte is where an IPv4 header behind Ethernet (and tags) has it. */
	uint32_t l3 = 14;
	while (l3 + 4 <= flen && l3 <= 14 + 4 * PKT_MAX_TAGS && (pkt_rd16(out + l3 - 2) == 0x8100 || pkt_rd16(out + l3 - 2) == 0x88a8))
		l3 += 4;
	if (l3 + 20 > flen)
		return vj_drop(&h->st.hc_dropped_malformed);
	uint32_t id = out[l3 + 9];
	out[l3 + 9] = IPPROTO_NUM_TCP;
	if (id >= v->n || hc__parse(out, flen, flen, &p, &hlen) || p.l3 != PKT_L3_IPV4 || p.l4 != PKT_L4_TCP ||
	    p.l3_off != l3)
		return vj_drop(&h->st.hc_dropped_malformed);
	save(&v->s[id], &p, hlen);
	v->last = (int)id;
	v->toss = false;
	h->st.hc_delivered++;
	return flen;
}

#define GET1(x)                                                                \
	do {                                                                   \
		if (b >= end)                                                  \
			return vj_drop(&h->st.hc_dropped_malformed);           \
		x = *b++;                                                      \
	} while (0)
#define GETD(x)                                                                \
	do {                                                                   \
		uint32_t t_;                                                   \
		GET1(t_);                                                      \
		if (!t_) {                                                     \
			if (end - b < 2)                                       \
				return vj_drop(&h->st.hc_dropped_malformed);   \
			t_ = pkt_rd16(b);                                      \
			b += 2;                                                \
		}                                                              \
		x = t_;                                                        \
	} while (0)

uint32_t hc__vj_decompress(struct hc *h, const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap)
{
	struct vj_state *v = h->vj;
	if (len < 1)
		return vj_drop(&h->st.hc_dropped_malformed);
	if (in[0] == HC_RAW) {
		if (len - 1 > cap)
			return vj_drop(&h->st.hc_dropped_malformed);
		memcpy(out, in + 1, len - 1);
		h->st.hc_delivered++;
		return len - 1;
	}
	if (in[0] == HC_IR)
		return vj_uncompressed(h, in, len, out, cap);
	if (!(in[0] & 0x80))
		return vj_drop(&h->st.hc_dropped_malformed);
	const uint8_t *b = in + 1, *end = in + len;
	unsigned ch = in[0] & 0x7f;
	uint32_t id, d;
	if (ch & VJ_C) {
		GET1(id);
		v->last = (int)id;
		v->toss = false;
	} else if (v->toss || v->last < 0) {
		return vj_drop(&h->st.hc_dropped_no_context);
	}
	id = (uint32_t)v->last;
	if (id >= v->n || !v->s[id].used)
		return vj_drop(&h->st.hc_dropped_no_context);
	struct vj_slot *s = &v->s[id];
	if (end - b < 2)
		return vj_drop(&h->st.hc_dropped_malformed);
	uint16_t csum = pkt_rd16(b);
	b += 2;
	uint8_t hdr[HC_HDR_MAX];
	memcpy(hdr, s->hdr, s->hlen);
	uint8_t *ip = hdr + s->l3_off, *t = hdr + s->l4_off;
	t[13] = (uint8_t)((t[13] & ~TCP_PSH) | (ch & VJ_P ? TCP_PSH : 0));
	switch (ch & VJ_SPECIAL_D) {
	case VJ_SPECIAL_I:
		pkt_wr32(t + 8, pkt_rd32(t + 8) + s->plen);
		pkt_wr32(t + 4, pkt_rd32(t + 4) + s->plen);
		break;
	case VJ_SPECIAL_D:
		pkt_wr32(t + 4, pkt_rd32(t + 4) + s->plen);
		break;
	default:
		if (ch & VJ_U) {
			t[13] |= TCP_URG;
			GETD(d);
			pkt_wr16(t + 18, (uint16_t)d);
		} else {
			t[13] &= (uint8_t)~TCP_URG;
		}
		if (ch & VJ_W) {
			GETD(d);
			pkt_wr16(t + 14, (uint16_t)(pkt_rd16(t + 14) + d));
		}
		if (ch & VJ_A) {
			GETD(d);
			pkt_wr32(t + 8, pkt_rd32(t + 8) + d);
		}
		if (ch & VJ_S) {
			GETD(d);
			pkt_wr32(t + 4, pkt_rd32(t + 4) + d);
		}
	}
	d = 1;
	if (ch & VJ_I)
		GETD(d);
	pkt_wr16(ip + 4, (uint16_t)(pkt_rd16(ip + 4) + d));
	uint32_t plen = (uint32_t)(end - b), ip_len = s->hlen - s->l3_off + plen;
	uint32_t pad = hc__pad(s->hlen + plen);
	if (ip_len > 0xffff || (uint64_t)s->hlen + plen + pad > cap)
		return vj_drop(&h->st.hc_dropped_malformed);
	pkt_wr16(ip + 2, (uint16_t)ip_len);
	pkt_wr16(ip + 10, 0);
	pkt_wr16(ip + 10, csum_fold(csum_partial(ip, (size_t)(s->l4_off - s->l3_off), 0)));
	pkt_wr16(t + 16, csum);
	memcpy(out, hdr, s->hlen);
	memcpy(out + s->hlen, b, plen);
	memset(out + s->hlen + plen, 0, pad);
	struct pkt p;
	uint32_t flen = s->hlen + plen + pad, hlen;
	if (hc__parse(out, flen, flen, &p, &hlen))
		return vj_drop(&h->st.hc_dropped_malformed);
	if (s->suspect) {
		/* After a loss only the end-to-end checksum tells a right rebuild from a wrong one. */
		uint32_t sum = csum_partial(ip + 12, 8, 0) + IPPROTO_NUM_TCP + (ip_len - (s->l4_off - s->l3_off));
		if (csum_fold(csum_partial(out + s->l4_off, flen - pad - s->l4_off, sum)) != 0)
			return vj_drop(&h->st.crc_failures);
	}
	save(s, &p, hlen);
	h->st.hc_delivered++;
	return flen;
}
