/* craft: pre-built egress packets (see craft.h). */
#include "craft.h"

#include <stddef.h>
#include <string.h>

#include "csum.h"
#include "fwd.h"
#include "pkt.h"
#include "pkt_wire.h"
#include "pool.h"
#include "predict.h"

#define NO_OFF 0xffff
#define EG_L2 14u /* egress is Ethernet II */

/* At the start of a pre-built buffer's data; the egress headers follow. */
struct craft_meta {
	uint8_t in_hdr[CRAFT_MAX_HDR + 8];   /* predicted ingress header, checksums zeroed */
	uint8_t dep_mask[CRAFT_MAX_HDR + 8]; /* 0xff: must match; 0x00: late-bound */
	struct flow_entry *flow;   /* borrowed: the engine releases the buffer before the flow ends */
	uint64_t ready_ns;
	uint32_t probe;
	uint32_t route_gen;
	uint32_t ip_delta, l4_delta;
	uint32_t payload_len;      /* predicted payload length (stored when has_payload) */
	int32_t linktype;
	uint16_t n;                /* header bytes compared: link + IP + transport */
	uint16_t l3_off, l3_hdr, l4_hdr;
	uint16_t eg_hdr_len;
	uint16_t ip_csum_off, l4_csum_off; /* in the ingress header, NO_OFF if none */
	uint8_t l3, l4, dir, has_payload;
	/* An announced flow's first packet (craft_build_first): the source port is late-bound;
	 * with NAT ('nat_late'), the egress carries the flow's port, bound by craft_adopt, and the
	 * L4 checksum change is l4_base + that port + the arriving port's complement. */
	uint8_t late_sport, nat_late;
	uint16_t nat_port;
	uint32_t l4_base;
};

static inline struct craft_meta *meta(struct pool_buf *b)
{
	return (struct craft_meta *)pool_buf_data(b);
}

static inline uint8_t *egress(struct craft_meta *m)
{
	return (uint8_t *)(m + 1);
}

void craft_set_ready(struct pool_buf *b, uint64_t ready_ns)
{
	meta(b)->ready_ns = ready_ns;
}

uint64_t craft_ready(struct pool_buf *b)
{
	return meta(b)->ready_ns;
}

void craft_set_route_gen(struct pool_buf *b, uint32_t gen)
{
	meta(b)->route_gen = gen;
}

uint32_t craft_route_gen(struct pool_buf *b)
{
	return meta(b)->route_gen;
}

uint32_t craft_probe(struct pool_buf *b)
{
	return meta(b)->probe;
}

struct flow_entry *craft_flow(struct pool_buf *b)
{
	return meta(b)->flow;
}

unsigned craft_dir(struct pool_buf *b)
{
	return meta(b)->dir;
}

bool craft_predicted(struct pool_buf *b, const uint8_t **hdr, uint32_t *hdr_len, const uint8_t **payload,
		     uint32_t *payload_len)
{
	struct craft_meta *m = meta(b);
	if (!m->has_payload)
		return false;
	*hdr = egress(m);
	*hdr_len = m->eg_hdr_len;
	*payload = egress(m) + m->eg_hdr_len;
	*payload_len = m->payload_len;
	return true;
}

uint32_t craft_predicted_ip_len(struct pool_buf *b)
{
	struct craft_meta *m = meta(b);
	return m->eg_hdr_len - EG_L2 + m->payload_len;
}

bool craft_eligible(const struct pkt *p)
{
	if (p->is_fragment || (p->l4 != PKT_L4_TCP && p->l4 != PKT_L4_UDP))
		return false;
	if (p->l3 == PKT_L3_IPV4 && p->ip4.tot_len == 0)
		return false;
	if (p->l3 == PKT_L3_IPV6 && (p->ip6.plen == 0 || p->ip6.jumbo_len))
		return false;
	return p->l3_off + p->l3_hdr_len + p->l4_hdr_len <= CRAFT_MAX_HDR;
}

static void late(uint8_t *mask, uint32_t from, uint32_t len)
{
	memset(mask + from, 0, len);
}

/* A field's offset in its wire struct (pkt_wire.h), the one source of the layout that pkt.c
 * parses and writes by: the masks below must agree with pkt_patch_headers and fwd_rewrite, and
 * craft_test.c checks that they do. */
#define OFF(type, field) ((uint32_t)offsetof(struct type, field))
#define END(type) ((uint32_t)sizeof(struct type))
_Static_assert(offsetof(struct tcp_wire, sport) == offsetof(struct udp_wire, sport), "ports first in TCP and UDP");

/* Marks the late-bound bytes of the header layout of 'q': what differs from one packet of the
 * flow to the next (pkt_patch_headers' PKT_PATCH_NEXT fields and the checksums that follow
 * them), and nothing else. */
static void build_mask(struct craft_meta *m, const struct pkt *q, bool late_sport)
{
	uint32_t l3 = q->l3_off, l4 = l3 + q->l3_hdr_len;
	/* Compares read whole words: the bytes up to the next word boundary stay zero. */
	memset(m->dep_mask, 0xff, m->n);
	memset(m->dep_mask + m->n, 0, 8);
	if (q->link.has_pppoe) /* the PPPoE length follows the packet's */
		late(m->dep_mask, l3 - END(pppoe_wire) + OFF(pppoe_wire, len), 2);
	m->ip_csum_off = NO_OFF;
	if (q->l3 == PKT_L3_IPV4) {
		late(m->dep_mask, l3 + OFF(ip4_wire, tot_len), 2);
		late(m->dep_mask, l3 + OFF(ip4_wire, id), 2);
		late(m->dep_mask, l3 + OFF(ip4_wire, csum), 2);
		m->ip_csum_off = (uint16_t)(l3 + OFF(ip4_wire, csum));
	} else {
		/* The flow label: the low nibble of the second byte and the two after it. */
		m->dep_mask[l3 + OFF(ip6_wire, ver_tc_flow) + 1] = 0xf0;
		late(m->dep_mask, l3 + OFF(ip6_wire, ver_tc_flow) + 2, 2);
		late(m->dep_mask, l3 + OFF(ip6_wire, plen), 2);
	}
	if (q->l4 == PKT_L4_TCP) {
		late(m->dep_mask, l4 + OFF(tcp_wire, seq), 4);
		late(m->dep_mask, l4 + OFF(tcp_wire, ack), 4);
		/* flags, window, checksum, urgent pointer: the rest of the fixed header */
		late(m->dep_mask, l4 + OFF(tcp_wire, flags), END(tcp_wire) - OFF(tcp_wire, flags));
		m->l4_csum_off = (uint16_t)(l4 + OFF(tcp_wire, csum));
		const struct pkt_tcp *t = &q->tcp;
		/* Options: past each one's kind and length bytes, TSval and TSecr; the SACK blocks. */
		if (t->ts_off != 0xff)
			late(m->dep_mask, l4 + END(tcp_wire) + t->ts_off + 2u, 8);
		if (t->sack_off != 0xff)
			late(m->dep_mask, l4 + END(tcp_wire) + t->sack_off + 2u, t->sack_len - 2u);
	} else {
		late(m->dep_mask, l4 + OFF(udp_wire, len), 2);
		late(m->dep_mask, l4 + OFF(udp_wire, csum), 2);
		m->l4_csum_off = (uint16_t)(l4 + OFF(udp_wire, csum));
	}
	if (late_sport)
		late(m->dep_mask, l4 + OFF(tcp_wire, sport), 2); /* TCP's and UDP's alike */
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

/* Builds a pre-built packet from 'tmpl' and 'pr'.  For the next packet of a flow, 'tmpl' is as
 * decoded from its frame, so its header bytes are the frame's, patched where the prediction
 * changes them, instead of written field by field (the egress the same way from them).  For an
 * announced flow's first packet ('first': craft_build_first) 'tmpl' is made up: its headers are
 * written from its fields, and its source port is late-bound. */
static int build(struct pool *pool, uint32_t *owner, const struct pkt *tmpl, uint32_t probe,
		 const struct pred_out *pr, const struct fwd_cfg *fc, uint32_t nh, struct flow_entry *flow,
		 unsigned dir, uint16_t nat_port, bool first, struct pool_buf **out)
{
	bool from_frame = !first, late_sport = first;
	struct pkt q = *tmpl;
	apply_prediction(&q, pr);
	uint32_t hdrs = q.l3_hdr_len + q.l4_hdr_len;
	uint32_t n = q.l3_off + hdrs;
	if (n > CRAFT_MAX_HDR || hdrs + q.payload_len > 0xffffu)
		return -ERR_INVAL;
	bool with_payload = (pr->fields & PRED_PAYLOAD) && pr->payload && pr->payload_len == q.payload_len;
	uint32_t eg_hdr = EG_L2 + hdrs;

	struct pool_buf *b;
	int rc = pool_get(pool, (uint32_t)sizeof(struct craft_meta) + eg_hdr + (with_payload ? q.payload_len : 0),
			  owner, &b);
	if (rc)
		return rc;
	struct craft_meta *m = meta(b);
	m->flow = flow;
	m->ready_ns = 0;
	m->route_gen = 0;
	m->dir = (uint8_t)dir;
	m->linktype = tmpl->link.linktype;
	m->n = (uint16_t)n;
	m->l3_off = (uint16_t)q.l3_off;
	m->l3_hdr = (uint16_t)q.l3_hdr_len;
	m->l4_hdr = (uint16_t)q.l4_hdr_len;
	m->l3 = (uint8_t)q.l3;
	m->l4 = (uint8_t)q.l4;
	m->payload_len = q.payload_len;

	/* The predicted ingress header: the template's link header, then the predicted IP and
	 * transport headers. */
	uint8_t *in3 = m->in_hdr + q.l3_off;
	if (from_frame) {
		memcpy(m->in_hdr, tmpl->frame, n);
		pkt_patch_headers(&q, in3, PKT_PATCH_NEXT);
	} else {
		memcpy(m->in_hdr, tmpl->frame, q.l3_off);
		int linktype = q.link.linktype;
		q.link.linktype = PKT_LINK_RAW; /* IP and transport headers only */
		int written = pkt_write_headers(&q, in3, CRAFT_MAX_HDR - q.l3_off);
		q.link.linktype = linktype;
		if (written != (int)hdrs) {
			pool_put(pool, b);
			return -ERR_INVAL;
		}
	}
	memset(m->in_hdr + n, 0, 8);
	build_mask(m, &q, late_sport);
	/* The probe hashes no field a prediction changes: the frame's is the ingress header's (and
	 * is read without waiting for the header's bytes just stored). */
	m->probe = probe ? probe : pkt_probe(from_frame ? tmpl->frame : m->in_hdr, n, m->linktype);

	/* The egress form: the slow path's rewrite, run now instead of at arrival.  Its IP and
	 * transport headers are the frame's with the fields the prediction and the rewrite
	 * changed. */
	struct fwd_plan plan;
	uint16_t sport = q.l4 == PKT_L4_TCP ? q.tcp.sport : q.udp.sport;
	fwd_rewrite(fc, &q, nh, dir, late_sport ? sport : nat_port, &plan);
	m->ip_delta = plan.ip_delta;
	m->l4_delta = plan.l4_delta;
	m->late_sport = late_sport;
	m->nat_late = late_sport && plan.nat;
	m->nat_port = 0;
	/* The port's share of the NAT change was ~sport + sport = 0xffff (csum_delta16 only adds):
	 * without it, the address's share, to which craft_adopt and validation add the port's. */
	m->l4_base = m->nat_late ? plan.l4_delta - 0xffffu : 0;
	uint8_t *eg = egress(m);
	if (from_frame) {
		/* From the frame again, not from the ingress header just patched (wide loads of bytes
		 * stored a moment ago in pieces wait for the stores to drain). */
		if (pkt_write_link(&q, eg) != EG_L2) {
			pool_put(pool, b);
			return -ERR_INVAL;
		}
		memcpy(eg + EG_L2, tmpl->frame + q.l3_off, hdrs);
		pkt_patch_headers(&q, eg + EG_L2, PKT_PATCH_NEXT | PKT_PATCH_ROUTED);
	} else if (pkt_write_headers(&q, eg, b->cap - (uint32_t)sizeof *m) != (int)eg_hdr) {
		pool_put(pool, b);
		return -ERR_INVAL;
	}
	/* Checksums are never compared: zero them, as validation zeroes the arriving ones. */
	if (m->ip_csum_off != NO_OFF)
		late(m->in_hdr, m->ip_csum_off, 2);
	late(m->in_hdr, m->l4_csum_off, 2);
	m->eg_hdr_len = (uint16_t)eg_hdr;
	m->has_payload = with_payload;
	if (with_payload)
		memcpy(eg + eg_hdr, pr->payload, q.payload_len);
	*out = b;
	return 0;
}

int craft_build(struct pool *pool, uint32_t *owner, const struct pkt *tmpl, uint32_t probe, const struct pred_out *pr,
		const struct fwd_cfg *fc, uint32_t nh, struct flow_entry *flow, unsigned dir,
		uint16_t nat_port, struct pool_buf **out)
{
	return build(pool, owner, tmpl, probe, pr, fc, nh, flow, dir, nat_port, false, out);
}

int craft_build_first(struct pool *pool, uint32_t *owner, const struct pkt *tmpl, const struct fwd_cfg *fc,
		      uint32_t nh, struct pool_buf **out)
{
	struct pred_out none;
	memset(&none, 0, sizeof none);
	return build(pool, owner, tmpl, 0, &none, fc, nh, NULL, 0, 0, true, out);
}

bool craft_adopt(struct pool_buf *b, struct flow_entry *flow, uint16_t nat_port)
{
	struct craft_meta *m = meta(b);
	if (m->nat_late && nat_port == 0)
		return false;
	m->flow = flow;
	if (m->nat_late) {
		m->nat_port = nat_port;
		pkt_wr16(egress(m) + EG_L2 + m->l3_hdr, nat_port);
		m->l4_delta = m->l4_base + nat_port;
	}
	return true;
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

enum craft_result craft_validate(struct pool_buf *b, const uint8_t *frame, uint32_t caplen,
				 uint32_t wirelen, int linktype, struct craft_out *o)
{
	struct craft_meta *m = meta(b);
	uint32_t n = m->n;
	if (linktype != m->linktype || caplen < n)
		return CRAFT_LAYOUT;

	/* The arriving header, zero-padded to whole words, checksums set aside. */
	uint8_t a[CRAFT_MAX_HDR + 8];
	memcpy(a, frame, n);
	memset(a + n, 0, 8); /* the rest of the last word */
	uint16_t ip_csum = 0, l4_csum = pkt_rd16(a + m->l4_csum_off);
	late(a, m->l4_csum_off, 2);
	if (m->ip_csum_off != NO_OFF) {
		ip_csum = pkt_rd16(a + m->ip_csum_off);
		late(a, m->ip_csum_off, 2);
	}
	uint64_t dep = 0, any = 0;
	for (unsigned w = 0; w < (n + 7) / 8; w++) {
		uint64_t d = ld64(a + 8 * w) ^ ld64(m->in_hdr + 8 * w);
		dep |= d & ld64(m->dep_mask + 8 * w);
		any |= d;
	}
	if (dep)
		return CRAFT_MISMATCH;

	/* The length fields, checked as pkt_parse checks them. */
	const uint8_t *ip = a + m->l3_off;
	uint32_t wire_rest = pkt_rest(pkt_frame_len(caplen, wirelen), m->l3_off), hdrs = (uint32_t)m->l3_hdr + m->l4_hdr, l3_len;
	if (m->l3 == PKT_L3_IPV4)
		l3_len = pkt_rd16(ip + 2);
	else
		l3_len = pkt_rd16(ip + 4) ? 40u + pkt_rd16(ip + 4) : 0;
	if (l3_len == 0 || l3_len < hdrs || l3_len > wire_rest)
		return CRAFT_LAYOUT;

	/* Late-bound bytes from the arrival, dependency bytes as pre-built. */
	uint8_t *eg = egress(m), *eg3 = eg + EG_L2;
	const uint8_t *a3 = a + m->l3_off, *mk3 = m->dep_mask + m->l3_off;
	unsigned full = hdrs / 8;
	for (unsigned w = 0; w < full; w++) {
		uint64_t mk = ld64(mk3 + 8 * w);
		uint64_t v = (ld64(eg3 + 8 * w) & mk) | (ld64(a3 + 8 * w) & ~mk);
		memcpy(eg3 + 8 * w, &v, 8);
	}
	for (unsigned i = full * 8; i < hdrs; i++)
		eg3[i] = (uint8_t)((eg3[i] & mk3[i]) | (a3[i] & (uint8_t)~mk3[i]));
	if (m->ip_csum_off != NO_OFF)
		pkt_wr16(eg3 + 10, csum_apply(ip_csum, m->ip_delta));
	uint32_t l4_delta = m->l4_delta;
	if (m->nat_late) {
		/* The arriving port's share of the NAT change, as fwd_rewrite adds it; the egress
		 * keeps the flow's port (the merge above copied the arriving one over it). */
		l4_delta = csum_delta16(l4_delta, pkt_rd16(a3 + m->l3_hdr), 0);
		pkt_wr16(eg3 + m->l3_hdr, m->nat_port);
	}
	uint8_t *l4c = eg + EG_L2 + (m->l4_csum_off - m->l3_off);
	pkt_wr16(l4c, m->l4 == PKT_L4_UDP ? csum_apply_udp(l4_csum, l4_delta) : csum_apply(l4_csum, l4_delta));

	uint32_t pay_len = l3_len - hdrs, avail = caplen - n < pay_len ? caplen - n : pay_len;
	o->payload_predicted = m->has_payload;
	o->payload_hit = m->has_payload && avail == pay_len && pay_len == m->payload_len &&
			 memcmp(eg + m->eg_hdr_len, frame + n, avail) == 0;
	o->hdr = eg;
	o->hdr_len = m->eg_hdr_len;
	o->payload = o->payload_hit ? eg + m->eg_hdr_len : frame + n;
	o->payload_len = avail;
	o->wirelen = m->eg_hdr_len + pay_len;
	o->tcp_flags = m->l4 == PKT_L4_TCP ? a3[m->l3_hdr + OFF(tcp_wire, flags)] : 0;
	o->l3_off = m->l3_off;
	o->ip4_hdr_len = m->l3 == PKT_L3_IPV4 ? m->l3_hdr : 0;
	return any ? CRAFT_HIT_TEMPLATE : CRAFT_HIT_STRICT;
}
