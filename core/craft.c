/* craft: pre-built egress packets (see craft.h). */
#include "craft.h"

#include <string.h>

#include "csum.h"
#include "fwd.h"
#include "pkt.h"
#include "pool.h"
#include "predict.h"

#define NO_OFF 0xffff

/* At the start of a pre-built buffer's data; the egress frame follows. */
struct craft_meta {
	uint8_t in_hdr[CRAFT_MAX_HDR];      /* predicted ingress L3+L4 header, zero-padded */
	uint8_t dep_mask[CRAFT_MAX_HDR];    /* 0xff: must match; 0x00: late-bound */
	uint8_t strict_mask[CRAFT_MAX_HDR]; /* 0xff: every byte but the checksums */
	uint32_t ip_delta, l4_delta;
	uint32_t frame_cap;        /* egress frame bytes the buffer can hold */
	uint32_t payload_len;      /* predicted payload length */
	uint16_t n;                /* header bytes compared */
	uint16_t eg_l2;            /* egress link header length */
	uint16_t ip_csum_off, l4_csum_off; /* within the L3+L4 header, NO_OFF if none */
	uint8_t l4;                /* enum pkt_l4 */
	uint8_t has_payload;
};

uint32_t craft_overhead(void)
{
	return (uint32_t)sizeof(struct craft_meta);
}

static inline uint8_t *frame_of(struct craft_meta *m)
{
	return (uint8_t *)(m + 1);
}

bool craft_eligible(const struct pkt *p)
{
	if (p->is_fragment || (p->l4 != PKT_L4_TCP && p->l4 != PKT_L4_UDP))
		return false;
	if (p->l3 == PKT_L3_IPV4 && p->ip4.tot_len == 0)
		return false;
	if (p->l3 == PKT_L3_IPV6 && (p->ip6.plen == 0 || p->ip6.jumbo_len))
		return false;
	return p->l3_hdr_len + p->l4_hdr_len <= CRAFT_MAX_HDR;
}

static void late(uint8_t *mask, uint32_t from, uint32_t len)
{
	memset(mask + from, 0, len);
}

/* Marks the late-bound bytes of a header layout. */
static void build_masks(struct craft_meta *m, const struct pkt *q)
{
	uint32_t l4o = q->l3_hdr_len;
	memset(m->dep_mask, 0, sizeof m->dep_mask);
	memset(m->strict_mask, 0, sizeof m->strict_mask);
	memset(m->dep_mask, 0xff, m->n);
	memset(m->strict_mask, 0xff, m->n);
	m->ip_csum_off = m->l4_csum_off = NO_OFF;
	if (q->l3 == PKT_L3_IPV4) {
		late(m->dep_mask, 2, 4);      /* total length, identification */
		late(m->dep_mask, 10, 2);     /* header checksum */
		m->ip_csum_off = 10;
	} else {
		m->dep_mask[1] = 0xf0;        /* flow label, low nibble of byte 1 */
		late(m->dep_mask, 2, 4);      /* flow label, payload length */
	}
	if (q->l4 == PKT_L4_TCP) {
		late(m->dep_mask, l4o + 4, 8);  /* seq, ack */
		late(m->dep_mask, l4o + 13, 7); /* flags, window, checksum, urgent */
		m->dep_mask[l4o + 13] = 0;
		m->l4_csum_off = (uint16_t)(l4o + 16);
		const struct pkt_tcp *t = &q->tcp;
		if (t->ts_off != 0xff)
			late(m->dep_mask, l4o + 20 + t->ts_off + 2u, 8);
		if (t->sack_off != 0xff)
			late(m->dep_mask, l4o + 20 + t->sack_off + 2u, t->sack_len - 2u);
	} else {
		late(m->dep_mask, l4o + 4, 4); /* length, checksum */
		m->l4_csum_off = (uint16_t)(l4o + 6);
	}
	if (m->ip_csum_off != NO_OFF)
		late(m->strict_mask, m->ip_csum_off, 2);
	late(m->strict_mask, m->l4_csum_off, 2);
}

/* Applies the predicted field values to 'q', a copy of the template. */
static void apply_prediction(struct pkt *q, const struct pred_out *pr)
{
	uint32_t len = (pr->fields & PRED_LEN) ? pr->payload_len : q->payload_len;
	q->payload_len = len;
	if (q->l3 == PKT_L3_IPV4) {
		q->ip4.tot_len = (uint16_t)(q->l3_hdr_len + q->l4_hdr_len + len);
		if (pr->fields & PRED_IPID)
			q->ip4.id = pr->ip_id;
	} else {
		q->ip6.plen = (uint16_t)(q->l3_hdr_len - 40u + q->l4_hdr_len + len);
	}
	if (q->l4 == PKT_L4_UDP) {
		q->udp.len = (uint16_t)(8u + len);
		return;
	}
	struct pkt_tcp *t = &q->tcp;
	if (pr->fields & PRED_SEQ)
		t->seq = pr->seq;
	if (pr->fields & PRED_ACK)
		t->ack = pr->ack;
	if (pr->fields & PRED_FLAGS)
		t->flags = pr->tcp_flags;
	if (pr->fields & PRED_WIN)
		t->win = pr->win;
	if ((pr->fields & PRED_TS) && t->ts_off != 0xff) {
		t->tsval = pr->tsval;
		t->tsecr = pr->tsecr;
	}
}

int craft_build(struct pool *pool, uint32_t *owner, const struct pkt *tmpl, const struct pred_out *pr,
		const struct fwd_cfg *fc, uint32_t nh, unsigned dir, uint16_t nat_port,
		struct pool_buf **out)
{
	struct pkt q = *tmpl;
	apply_prediction(&q, pr);
	if (q.payload_len > 0xffffu)
		return -ERR_INVAL;
	uint32_t n = q.l3_hdr_len + q.l4_hdr_len;
	uint32_t eg_l2 = 14;
	uint32_t frame_len = eg_l2 + n + q.payload_len;
	if (q.l3 == PKT_L3_IPV4 && q.l3_hdr_len + q.l4_hdr_len + q.payload_len > 0xffffu)
		return -ERR_INVAL;

	struct pool_buf *b;
	int rc = pool_get(pool, (uint32_t)sizeof(struct craft_meta) + frame_len, owner, &b);
	if (rc)
		return rc;
	struct craft_meta *m = (struct craft_meta *)pool_buf_data(b);
	m->n = (uint16_t)n;
	m->eg_l2 = (uint16_t)eg_l2;
	m->frame_cap = b->cap - (uint32_t)sizeof *m;
	m->payload_len = q.payload_len;
	m->l4 = (uint8_t)q.l4;

	/* The predicted ingress header, as it would arrive (its IPv4 checksum made valid). */
	if (q.l3 == PKT_L3_IPV4) {
		uint8_t tmp[60];
		struct pkt h = q;
		h.link.linktype = PKT_LINK_RAW;
		h.l4 = PKT_L4_NONE;
		h.ip4.csum = 0;
		if (pkt_write_headers(&h, tmp, sizeof tmp) == (int)q.l3_hdr_len)
			q.ip4.csum = csum_fold(csum_partial(tmp, q.l3_hdr_len, 0));
	}
	struct pkt in = q;
	in.link.linktype = PKT_LINK_RAW;
	memset(m->in_hdr, 0, sizeof m->in_hdr);
	if (pkt_write_headers(&in, m->in_hdr, CRAFT_MAX_HDR) != (int)n) {
		pool_put(pool, b);
		return -ERR_INVAL;
	}
	build_masks(m, &q);

	/* The egress form: the slow path's rewrite, run now instead of at arrival. */
	struct fwd_plan plan;
	fwd_rewrite(fc, &q, nh, dir, nat_port, &plan);
	m->ip_delta = plan.ip_delta;
	m->l4_delta = plan.l4_delta;
	uint8_t *f = frame_of(m);
	if (pkt_write_headers(&q, f, m->frame_cap) != (int)(eg_l2 + n)) {
		pool_put(pool, b);
		return -ERR_INVAL;
	}
	m->has_payload = 0;
	if ((pr->fields & PRED_PAYLOAD) && pr->payload && pr->payload_len == q.payload_len) {
		memcpy(f + eg_l2 + n, pr->payload, q.payload_len);
		m->has_payload = 1;
	}
	*out = b;
	return 0;
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

enum craft_result craft_validate(struct pool_buf *b, const struct pkt *p, const uint8_t **frame,
				 uint32_t *caplen, uint32_t *wirelen, bool *payload_hit)
{
	struct craft_meta *m = (struct craft_meta *)pool_buf_data(b);
	uint32_t n = m->n;
	if (p->l3_hdr_len + p->l4_hdr_len != n || p->l4 != m->l4)
		return CRAFT_LAYOUT;
	if (m->eg_l2 + n + p->payload_avail > m->frame_cap)
		return CRAFT_TOO_BIG;

	/* The arriving header, zero-padded to whole words. */
	uint8_t a[CRAFT_MAX_HDR];
	memcpy(a, p->frame + p->l3_off, n);
	memset(a + n, 0, CRAFT_MAX_HDR - n);
	uint64_t dep = 0, any = 0;
	unsigned words = (n + 7) / 8;
	for (unsigned w = 0; w < words; w++) {
		uint64_t d = ld64(a + 8 * w) ^ ld64(m->in_hdr + 8 * w);
		dep |= d & ld64(m->dep_mask + 8 * w);
		any |= d & ld64(m->strict_mask + 8 * w);
	}
	if (dep)
		return CRAFT_MISMATCH;

	/* Late-bound bytes from the arrival, dependency bytes as pre-built. */
	uint8_t *eg = frame_of(m) + m->eg_l2;
	unsigned full = n / 8;
	for (unsigned w = 0; w < full; w++) {
		uint64_t mk = ld64(m->dep_mask + 8 * w);
		uint64_t v = (ld64(eg + 8 * w) & mk) | (ld64(a + 8 * w) & ~mk);
		memcpy(eg + 8 * w, &v, 8);
	}
	for (unsigned i = full * 8; i < n; i++)
		eg[i] = (uint8_t)((eg[i] & m->dep_mask[i]) | (a[i] & (uint8_t)~m->dep_mask[i]));
	if (m->ip_csum_off != NO_OFF)
		pkt_wr16(eg + m->ip_csum_off, csum_apply(pkt_rd16(a + m->ip_csum_off), m->ip_delta));
	uint16_t l4c = pkt_rd16(a + m->l4_csum_off);
	pkt_wr16(eg + m->l4_csum_off,
		 m->l4 == PKT_L4_UDP ? csum_apply_udp(l4c, m->l4_delta) : csum_apply(l4c, m->l4_delta));

	*payload_hit = m->has_payload && p->payload_avail == m->payload_len &&
		       p->payload_len == m->payload_len &&
		       memcmp(eg + n, p->payload, p->payload_avail) == 0;
	if (!*payload_hit)
		memcpy(eg + n, p->payload, p->payload_avail);
	*frame = frame_of(m);
	*caplen = m->eg_l2 + n + p->payload_avail;
	*wirelen = m->eg_l2 + n + p->payload_len;
	return any ? CRAFT_HIT_TEMPLATE : CRAFT_HIT_STRICT;
}
