/* header: field-by-field header prediction in the style of ROHC (RFC 5795, RFC 6846) and Van
 * Jacobson's TCP header prediction, extended where simple rules fail (REFERENCE.md: flags,
 * window, IP ID and TSval).
 *
 * Every field of each direction has a few candidate rules; each rule is scored on every packet
 * (an exponentially weighted hit rate), and the prediction takes the rule with the best score.
 * A field is trusted once its best rule has been right three times running (ROHC's optimistic
 * approach) and is revalidated on every packet.
 *   IP ID   last + last step; the host's latest ID + 1 (host-wide counters, tracked across the
 *           flows of one source address); last + the segments the last packet coalesced
 *           (GRO/TSO captures: ceil(payload / segment size), the segment size being the greatest
 *           common divisor of the data segments sent without PSH); static is "last + step 0"
 *   seq     advances by the payload length (plus one for SYN or FIN)
 *   ack     the other direction's next sequence number (it acknowledges all), or unchanged
 *   flags   as last; or by the flow's rhythm: the flags this direction used the last time the
 *           flow was in the same state (who spoke last, with data or not, with PSH or not) —
 *           request/response protocols answer data with a bare ACK and an ACK with data
 *   window  as last; by the rhythm (the value used in the same state); or "receive window
 *           shrinks by the bytes not yet acknowledged": win + unacked is what is remembered
 *   TSval   last + last step; unchanged; or the sender's timestamp clock read at the predicted
 *           send time (the flow's latest packet + the predicted gap, never the actual arrival):
 *           its rate (ticks per second, learned from the first and latest packets) and its phase
 *           (where in a tick the latest packet was sent, narrowed by every packet: RFC 7323
 *           clocks tick at 1 Hz to 1 kHz, so with paced flows the phase decides most TSvals)
 *   TSecr   echoes the other direction's latest TSval, or unchanged
 *   size    as last, or by the rhythm (a request/response direction alternates data and ACKs)
 *   gap     the median of the flow's last four gaps for the same transition (from a packet of
 *           the latest packet's direction to one of the direction asked for)
 * The confidence is the product over the fields of the best rule's recent hit rate (halved for
 * a field still in its warm-up), so a flow whose fields keep changing is not built for.
 *
 * Payload anticipation (Modbus/TCP, DNS, repetition) is in header_payload.c. */
#include "predictors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "header_impl.h"


static int h_create(const char *model_file, void **self, struct errbuf *eb)
{
	(void)model_file;
	struct header_self *hs = calloc(1, sizeof *hs);
	if (hs && !(hs->dns_answer = calloc(DNS_CACHE, sizeof *hs->dns_answer))) {
		free(hs);
		hs = NULL;
	}
	*self = hs;
	return hs ? 0 : err_set(eb, -ERR_NOMEM, "header predictor: out of memory");
}

static void h_destroy(void *self)
{
	struct header_self *hs = self;
	if (!hs)
		return;
	free(hs->dns_answer);
	free(hs);
}

/* A rule's score: an exponentially weighted hit rate in 0..255, moved by 1/4 per outcome. */
static void score(uint8_t *s, int hit)
{
	*s = (uint8_t)((*s * 3u + (hit ? 255u : 0u)) / 4u);
}

static unsigned best(const uint8_t *s, unsigned n)
{
	unsigned b = 0;
	for (unsigned i = 1; i < n; i++)
		if (s[i] > s[b])
			b = i;
	return b;
}

/* The flow's rhythm state seen from direction 'd' after packet 'pk'. */
static uint8_t rhythm(unsigned d, const struct pred_pkt *pk)
{
	return (uint8_t)(((pk->dir & 1) == d) << 2 | (pk->payload_len > 0) << 1 | ((pk->tcp_flags & 0x08) != 0));
}

static uint32_t segs(uint32_t len, uint32_t mss)
{
	return len && mss ? (len + mss - 1) / mss : 1;
}

/* A direction's timestamp clock rate in ticks per nanosecond, from its first and latest packets
 * with a timestamp.  Clocks tick at a few standard rates (RFC 7323 §5.4: 1 ms to 1 s; Linux and
 * macOS 1 kHz, older kernels HZ = 100 or 250, Linux's usec_ts 1 MHz): a measured rate within its
 * own error of one of them is that rate, which a few ticks tell; a clock that is none of them (or
 * drifts from one by more than can be measured) is taken as measured after 200 ms or 100 ticks.
 * 0 while not known. */
static double ts_rate(const struct dir_state *x)
{
	static const double standard[] = { 1e-3, 1e-6, 2.5e-7, 1e-7, 1e-8 };
	uint64_t span = x->ts_t - x->ts_t0;
	uint32_t ticks = x->tsval - x->ts0;
	if (!x->ts_t0 || !span || !ticks)
		return 0;
	double r = (double)ticks / (double)span;
	/* Two readings tell the ticks between them to within one at each end, plus the 200 µs the
	 * capture's timestamps may stray from the moments the clock was read. */
	for (size_t i = 0; ticks >= 4 && i < sizeof standard / sizeof standard[0]; i++)
		if (fabs((double)ticks - standard[i] * (double)span) <= 2.0 + standard[i] * 200000.0)
			return standard[i];
	return span >= 200000000ull || ticks >= 100 ? r : 0;
}

/* The clock read at 'now': the latest TSval, plus the ticks since then counted from the middle of
 * the phase interval; the latest TSval while the rate is not known. */
static uint32_t ts_clock(const struct dir_state *x, uint64_t now)
{
	double r = ts_rate(x);
	if (r == 0 || now < x->ts_t)
		return x->tsval;
	double ticks = (double)(now - x->ts_t) * r + (x->ph_lo + x->ph_hi) / 2;
	return ticks < 4294967295.0 ? x->tsval + (uint32_t)ticks : x->tsval;
}

/* Narrows the phase interval with packet 'pk' (before the direction learns it as its latest).
 * If the clock stood at tsval + f at the latest packet, it stands at tsval + f + adv now, and
 * 'pk' says that lies in [pk->tsval, pk->tsval + 1).  An interval that empties (a clock step, a
 * rate learned wrong) starts over.  It is widened by what the capture cannot tell: 50 µs between
 * reading the clock and the packet's capture, and the rate's own error (a tick over its span). */
static void ts_phase(struct dir_state *x, const struct pred_pkt *pk)
{
	double r = ts_rate(x);
	if (r == 0 || !pk->has_ts || pk->t_ns < x->ts_t) {
		x->ph_lo = 0;
		x->ph_hi = 1;
		return;
	}
	double adv = (double)(pk->t_ns - x->ts_t) * r, k = (double)(int32_t)(pk->tsval - x->tsval);
	double lo = fmax(x->ph_lo, k - adv), hi = fmin(x->ph_hi, k + 1 - adv);
	if (lo >= hi) {
		x->ph_lo = 0;
		x->ph_hi = 1;
		return;
	}
	double slack = 50000.0 * r + adv / (double)(uint32_t)(x->tsval - x->ts0 + 1);
	x->ph_lo = (float)fmax(0.0, lo + adv - k - slack);
	x->ph_hi = (float)fmin(1.0, hi + adv - k + slack);
}

unsigned header_gap_us(const void *state, unsigned from, unsigned to, uint32_t *gap_us)
{
	const struct header_state *s = state;
	unsigned t = (from & 1) * 2 + (to & 1), n = s->gap_n[t];
	if (n)
		*gap_us = s->gap_med[t];
	return n;
}

/* When the next packet of direction 'd' is expected: the flow's latest packet plus the predicted
 * gap, or the latest packet's time while no gap is known.  Both the prediction and the scoring
 * of the rules read the clock then, never at the actual arrival. */
static uint64_t pred_time(const struct header_state *s, unsigned d)
{
	uint32_t g;
	return header_gap_us(s, s->last_dir, d, &g) ? s->flow_t + (uint64_t)g * 1000 : s->flow_t;
}

/* The service table slot of direction 'd' of flow 's' in rhythm state 'st'; '*tag' is its tag. */
static unsigned service_slot(const struct header_state *s, unsigned d, uint8_t st, uint32_t *tag)
{
	uint32_t h = 2166136261u;
	const uint32_t parts[4] = { s->port, d, s->n < 15 ? s->n : 15u, st };
	for (int i = 0; i < 4; i++)
		h = (h ^ parts[i]) * 16777619u;
	*tag = h | 1u;
	return (h >> 7) & (SERVICE_SLOTS - 1);
}

/* The candidate values of each rule for the next packet of direction 'x', the flow being in
 * rhythm state 'st' at time 'now'. */
struct cand {
	uint16_t ipid[IPID_N];
	uint8_t fl[FL_N];
	uint16_t win[WIN_N];
	uint32_t ts[TS_N], te[TE_N];
	uint32_t ack[ACK_N];
	uint16_t sz[SZ_N];
};

static void candidates(const struct header_self *hs, const struct header_state *s, uint32_t src_hash,
		       const struct dir_state *x, const struct dir_state *y, uint8_t st, uint64_t now, struct cand *c)
{
	uint32_t tag;
	const struct service_slot *sv = &hs->svc[service_slot(s, x == &s->d[1], st, &tag)];
	int sv_ok = sv->tag == tag;
	c->fl[FL_SERVICE] = sv_ok ? sv->flags : x->flags;
	c->win[WIN_SERVICE] = sv_ok && sv->win.n ? sv->win.v : x->win;
	c->ipid[IPID_STEP] = (uint16_t)(x->ip_id + x->ipid_step);
	unsigned h = src_hash & (HOSTS - 1);
	c->ipid[IPID_HOST] = (uint16_t)((hs->host_tag[h] == src_hash ? hs->host_id[h] : x->ip_id) + 1);
	c->ipid[IPID_SEGS] = (uint16_t)(x->ip_id + segs(x->len16, x->mss));
	c->fl[FL_LAST] = x->flags;
	/* Writes of a constant size: PSH marks each write's last segment. */
	uint32_t end = x->next_seq + x->len16;
	c->fl[FL_PERIOD] = (uint8_t)(x->psh_period && x->len16 && end - x->psh_end == x->psh_period ? x->flags | 0x08
											       : x->flags & ~0x08);
	c->fl[FL_RHYTHM] = x->rhythm_fl[st] ? x->rhythm_fl[st] : x->flags;
	c->sz[SZ_LAST] = x->len16;
	c->sz[SZ_RHYTHM] = x->rhythm_len[st].n ? x->rhythm_len[st].v : x->len16;
	c->win[WIN_LAST] = x->win;
	c->win[WIN_RHYTHM] = x->rhythm_win[st].n ? x->rhythm_win[st].v : x->win;
	uint32_t unacked = y->seen ? y->next_seq - x->ack : 0;
	c->win[WIN_UNACKED] = x->rhythm_wsum[st].n && unacked < 65536 ? (uint16_t)(x->rhythm_wsum[st].v - unacked) : x->win;
	c->ts[TS_STEP] = x->tsval + (uint32_t)x->tsval_step;
	c->ts[TS_SAME] = x->tsval;
	c->ts[TS_CLOCK] = ts_clock(x, now);
	c->te[TE_ECHO] = y->seen ? y->tsval : x->tsecr;
	c->te[TE_SAME] = x->tsecr;
	c->ack[ACK_ALL] = y->seen ? y->next_seq : x->ack;
	c->ack[ACK_SAME] = x->ack;
	/* Delayed ACKs: the same step as last time, never past what the other side sent. */
	uint32_t step = x->ack + x->ack_step;
	c->ack[ACK_STEP] = y->seen && (int32_t)(step - y->next_seq) > 0 ? y->next_seq : step;
}

static void vote(struct vote16 *v, uint16_t val)
{
	if (v->n == 0 || v->v == val) {
		v->v = val;
		v->n = (uint8_t)(v->n < 3 ? v->n + 1 : 3);
	} else {
		v->n--;
	}
}

/* One field's verdict on a packet: 'hits' has bit i set when rule i was right.  The field's
 * confirmation run follows its best rule; every rule's score moves. */
static void judge(uint8_t *conf, uint8_t *scores, unsigned n, unsigned hits)
{
	confirm(conf, hits >> best(scores, n) & 1);
	for (unsigned i = 0; i < n; i++)
		score(&scores[i], hits >> i & 1);
}

/* judge() for field 'f' of 'x', its 'n' candidate values 'cand' against 'actual'. */
#define JUDGE(x, f, scores, cand, n, actual)                                   \
	do {                                                                   \
		unsigned hits_ = 0;                                            \
		for (unsigned i_ = 0; i_ < (n); i_++)                          \
			hits_ |= (unsigned)((cand)[i_] == (actual)) << i_;     \
		judge(&(x)->conf[f], (scores), (n), hits_);                    \
	} while (0)

/* Scores the rules of direction 'x' on packet 'pk' (before 'x' learns from it). */
static void score_rules(struct header_self *hs, struct header_state *s, struct dir_state *x, struct dir_state *y,
			const struct pred_pkt *pk)
{
	unsigned d = pk->dir & 1;
	uint8_t st = s->any ? s->state >> (4 * d) & 15 : 0;
	struct cand c;
	candidates(hs, s, pk->src_hash, x, y, st, pred_time(s, d), &c);
	uint16_t len16 = pk->payload_len > 0xffff ? 0xffff : (uint16_t)pk->payload_len;
	JUDGE(x, F_IPID, x->s_ipid, c.ipid, IPID_N, pk->ip_id);
	JUDGE(x, F_ACK, x->s_ack, c.ack, ACK_N, pk->ack);
	JUDGE(x, F_TSVAL, x->s_ts, c.ts, TS_N, pk->tsval);
	JUDGE(x, F_TSECR, x->s_te, c.te, TE_N, pk->tsecr);
	JUDGE(x, F_FLAGS, x->s_fl, c.fl, FL_N, pk->tcp_flags);
	JUDGE(x, F_WIN, x->s_win, c.win, WIN_N, pk->win);
	JUDGE(x, F_SIZE, x->s_sz, c.sz, SZ_N, len16);
	vote(&x->rhythm_len[st], len16);
	/* Learn the rhythm: what this direction did in this state. */
	x->rhythm_fl[st] = pk->tcp_flags;
	vote(&x->rhythm_win[st], pk->win);
	uint32_t unacked = y->seen ? y->next_seq - x->ack : 0;
	vote(&x->rhythm_wsum[st], (uint16_t)(pk->win + (unacked < 65536 ? unacked : 0)));
	uint32_t tag;
	struct service_slot *sv = &hs->svc[service_slot(s, d, st, &tag)];
	if (sv->tag != tag) {
		memset(sv, 0, sizeof *sv);
		sv->tag = tag;
	}
	sv->flags = pk->tcp_flags;
	vote(&sv->win, pk->win);
}


static void h_observe(void *self, void *fs, const struct pred_pkt *pk)
{
	struct header_self *hs = self;
	struct header_state *s = fs;
	unsigned d = pk->dir & 1;
	struct dir_state *x = &s->d[d], *y = &s->d[!d];
	if (x->seen) {
		score_rules(hs, s, x, y, pk);
	} else {
		memset(x->s_ipid, 128, sizeof x->s_ipid);
		memset(x->s_fl, 128, sizeof x->s_fl);
		memset(x->s_win, 128, sizeof x->s_win);
		memset(x->s_ts, 128, sizeof x->s_ts);
		memset(x->s_te, 128, sizeof x->s_te);
		memset(x->s_ack, 128, sizeof x->s_ack);
		memset(x->s_sz, 128, sizeof x->s_sz);
		x->s_sz[SZ_LAST] = 129;
		x->s_ack[ACK_ALL] = 129;
		x->s_ipid[IPID_STEP] = x->s_fl[FL_LAST] = x->s_win[WIN_LAST] = x->s_te[TE_ECHO] = 129;
		x->s_ts[TS_STEP] = 129;
	}
	header__learn_payload(hs, x, pk);
	x->ipid_step = x->seen ? (uint16_t)(pk->ip_id - x->ip_id) : 0;
	x->tsval_step = x->seen ? (int32_t)(pk->tsval - x->tsval) : 0;
	if (pk->has_ts) {
		ts_phase(x, pk);
		if (!x->ts_t0) {
			x->ts_t0 = pk->t_ns ? pk->t_ns : 1;
			x->ts0 = pk->tsval;
		}
		x->ts_t = pk->t_ns;
	}
	x->next_seq = pk->seq + pk->payload_len + ((pk->tcp_flags & 3) ? 1u : 0u);
	if ((pk->tcp_flags & 0x08) && pk->payload_len) {
		x->psh_period = x->psh_end ? x->next_seq - x->psh_end : 0;
		x->psh_end = x->next_seq;
	}
	x->ack_step = x->seen ? pk->ack - x->ack : 0;
	x->ack = pk->ack;
	x->tsval = pk->tsval;
	x->tsecr = pk->tsecr;
	x->ip_id = pk->ip_id;
	x->win = pk->win;
	x->flags = pk->tcp_flags;
	x->len16 = pk->payload_len > 0xffff ? 0xffff : (uint16_t)pk->payload_len;
	/* A GRO/TSO super-segment is a whole number of wire segments, and only a write's last
	 * segment carries PSH: the segments without PSH have the segment size as common divisor.
	 * A divisor under 256 says these were not whole segments: start over from this one. */
	if (pk->proto == 6 && pk->payload_len && !(pk->tcp_flags & 0x08)) {
		uint32_t a = x->mss, b = pk->payload_len;
		while (b) {
			uint32_t t = a % b;
			a = b;
			b = t;
		}
		x->mss = a >= 256 ? a : pk->payload_len;
	}
	x->seen = 1;
	if (pk->family == 4) {
		unsigned h = pk->src_hash & (HOSTS - 1);
		hs->host_tag[h] = pk->src_hash;
		hs->host_id[h] = pk->ip_id;
	}
	if (s->any && pk->t_ns >= s->flow_t && pk->t_ns - s->flow_t <= IAT_MAX_NS) {
		unsigned t = s->last_dir * 2u + d;
		memmove(&s->gap[t][1], &s->gap[t][0], 3 * sizeof s->gap[t][0]);
		s->gap[t][0] = (uint32_t)((pk->t_ns - s->flow_t) / 1000);
		if (s->gap_n[t] < 4)
			s->gap_n[t]++;
		s->gap_med[t] = median_u32(s->gap[t], s->gap_n[t]);
	}
	if (!s->any)
		s->port = d ? pk->sport : pk->dport;
	if (s->n < 255)
		s->n++;
	s->state = (uint8_t)(rhythm(0, pk) | rhythm(1, pk) << 4);
	s->flow_t = pk->t_ns;
	s->last_dir = (uint8_t)d;
	s->any = 1;
}

static bool h_predict(void *self, const void *fs, const struct pred_pkt *last, struct pred_out *o)
{
	struct header_self *hs = self;
	const struct header_state *s = fs;
	unsigned d = last->dir & 1;
	const struct dir_state *x = &s->d[d], *y = &s->d[!d];
	if (!x->seen)
		return false;
	predictors_carry_header(last, o);
	uint8_t st = s->state >> (4 * d) & 15;
	struct cand c;
	candidates(hs, s, last->src_hash, x, y, st, pred_time(s, d), &c);
	o->fields |= PRED_LEN | PRED_IPID;
	o->payload_len = c.sz[best(x->s_sz, SZ_N)];
	/* Each field takes its best rule; the confidence is the chance every field is right, as
	 * the product of those rules' recent hit rates, halved per field still in its warm-up. */
	float conf = 1.0f;
	unsigned b = best(x->s_ipid, IPID_N);
	o->ip_id = c.ipid[b];
	if (last->family == 4)
		conf *= (float)x->s_ipid[b] / 255.0f * (x->conf[F_IPID] >= TRUSTED ? 1.0f : 0.5f);
	if (last->proto == 6) {
		o->seq = last->seq + last->payload_len + ((last->tcp_flags & 3) ? 1u : 0u);
		unsigned ba = best(x->s_ack, ACK_N), bt = best(x->s_ts, TS_N), be = best(x->s_te, TE_N);
		unsigned bf = best(x->s_fl, FL_N), bw = best(x->s_win, WIN_N);
		o->ack = c.ack[ba];
		o->tsval = c.ts[bt];
		o->tsecr = c.te[be];
		o->tcp_flags = c.fl[bf];
		o->win = c.win[bw];
		const uint8_t sc[5] = { x->s_ack[ba], x->s_ts[bt], x->s_te[be], x->s_fl[bf], x->s_win[bw] };
		for (int f = F_ACK; f < F_SIZE; f++)
			conf *= (float)sc[f - F_ACK] / 255.0f * (x->conf[f] >= TRUSTED ? 1.0f : 0.5f);
	}
	o->confidence = conf;
	uint32_t g;
	if (header_gap_us(s, s->last_dir, d, &g)) {
		o->fields |= PRED_IAT;
		o->iat_ns = (uint64_t)g * 1000;
	}
	header__predict_payload(hs, x, y, last, o);
	return true;
}

const struct predictor_ops predictor_header = {
	.name = "header",
	.summary = "field by field, ROHC / Van Jacobson style: scored candidate rules, 3 confirmations",
	.flow_state_size = sizeof(struct header_state),
	.create = h_create,
	.destroy = h_destroy,
	.observe = h_observe,
	.predict = h_predict,
};
