/* eval: predictors scored on captures (see eval.h). */
#include "eval.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock_mono.h"
#include "common.h"
#include "core/dns.h"
#include "flowwalk.h"

const char *const eval_field_names[EVAL_FLD_N] = { "ttl", "ipid", "tos",  "ipflags", "tflags", "win",
						   "urg", "seq",  "ack", "opts",    "tsval",  "tsecr" };

const char *const eval_class_names[EVAL_CLASS_N] = { "bulk", "reqresp", "media", "short" };

/* The eval's part of a flow: the prediction held per direction, and when each direction was
 * last seen.  The predictor's own state follows. */
struct eflow {
	struct pred_out pred[2];
	uint64_t pay_hash[2];      /* of the predicted payload, when one was predicted */
	struct pred_pkt last[2];   /* the latest packet of each direction (payload not kept) */
	uint8_t has[2], seen[2];
	uint64_t flow_t;           /* the flow's latest packet */
	uint8_t gaps;              /* valid gaps seen, saturating */
	uint8_t cls;               /* EVAL_CLASS_* */
};

static void add_rel(struct eval_score *s, double r)
{
	if (s->rel_n == s->rel_cap) {
		size_t cap = s->rel_cap ? s->rel_cap * 2 : 4096;
		double *v = realloc(s->rel, cap * sizeof *v);
		if (!v)
			return;
		s->rel = v;
		s->rel_cap = cap;
	}
	s->rel[s->rel_n++] = r;
}

void eval_merge(struct eval_score *a, const struct eval_score *b)
{
	a->scored += b->scored;
	a->size_exact += b->size_exact;
	a->size_class += b->size_class;
	a->est += b->est;
	a->header_full += b->header_full;
	a->packet_full += b->packet_full;
	a->strict_hit += b->strict_hit;
	a->template_hit += b->template_hit;
	a->tcp_est += b->tcp_est;
	a->tcp_header_full += b->tcp_header_full;
	a->udp_est += b->udp_est;
	a->udp_header_full += b->udp_header_full;
	a->confident += b->confident;
	a->pay_n += b->pay_n;
	a->pay_predicted += b->pay_predicted;
	a->pay_ok += b->pay_ok;
	a->confident_right += b->confident_right;
	for (int i = 0; i < EVAL_FLD_N; i++) {
		a->fld_n[i] += b->fld_n[i];
		a->fld_ok[i] += b->fld_ok[i];
	}
	for (int i = 0; i < 10; i++) {
		a->cal_n[i] += b->cal_n[i];
		a->cal_ok[i] += b->cal_ok[i];
	}
	a->iat_abs_sum += b->iat_abs_sum;
	a->iat_n += b->iat_n;
	for (size_t i = 0; i < b->rel_n; i++)
		add_rel(a, b->rel[i]);
	a->predict_ns += b->predict_ns;
	a->predictions += b->predictions;
}

double eval_median_rel(struct eval_score *s)
{
	if (!s->rel_n)
		return NAN;
	gsl_sort(s->rel, 1, s->rel_n);
	return gsl_stats_median_from_sorted_data(s->rel, 1, s->rel_n);
}

static void check(struct eval_score *s, int f, int ok, int *all)
{
	s->fld_n[f]++;
	s->fld_ok[f] += ok;
	*all &= ok;
}

/* Scores packet 'a' against prediction 'pr' (whose payload, if predicted, hashed to 'pay_hash').
 * 'prev' is the direction's previous packet (the crafter's template, which carries the fields a
 * predictor does not set), NULL for a direction's first packet. */
static void score_one(struct eval_score *s, const struct pred_out *pr, uint64_t pay_hash, const struct pred_pkt *a,
		      const struct pred_pkt *prev, uint64_t gap_ns, int have_gap)
{
	s->scored++;
	s->size_exact += pr->payload_len == a->payload_len;
	s->size_class += size_class(pr->payload_len) == size_class(a->payload_len);
	int payload_predicted = (pr->fields & PRED_PAYLOAD) && pr->payload_len == a->payload_len;
	int payload_ok = a->payload_len == 0 || (payload_predicted && a->payload_avail == a->payload_len &&
						 pay_hash == payload_hash(a->payload, a->payload_len));
	if (a->payload_len) {
		s->pay_n++;
		s->pay_predicted += payload_predicted;
		s->pay_ok += payload_predicted && payload_ok;
	}
	if (have_gap && (pr->fields & PRED_IAT)) {
		double err = fabs((double)pr->iat_ns - (double)gap_ns);
		s->iat_abs_sum += err;
		s->iat_n++;
		add_rel(s, err / (double)(gap_ns > 1000 ? gap_ns : 1000));
	}
	if (a->position < EVAL_EST_POSITION)
		return;
	/* Established packets: every header field, as REFERENCE.md defines them. */
	int all = 1, tmpl = 1;
	const struct pred_pkt z = { 0 };
	const struct pred_pkt *pv = prev ? prev : &z;
	int known = prev != NULL;
	check(s, EVAL_FLD_TTL, known && pv->ttl == a->ttl, &all);
	check(s, EVAL_FLD_TOS, known && pv->tos == a->tos, &all);
	check(s, EVAL_FLD_IPFLAGS, known && pv->ip_flags == a->ip_flags, &all);
	tmpl = all;
	if (a->family == 4)
		check(s, EVAL_FLD_IPID, known && pr->ip_id == a->ip_id, &all);
	if (a->proto == 6) {
		int opts_ok = known && pv->opt_kinds == a->opt_kinds;
		tmpl &= opts_ok;
		check(s, EVAL_FLD_OPTS, opts_ok, &all);
		check(s, EVAL_FLD_TFLAGS, known && pr->tcp_flags == a->tcp_flags, &all);
		check(s, EVAL_FLD_WIN, known && pr->win == a->win, &all);
		check(s, EVAL_FLD_URG, known && pv->urg == a->urg, &all);
		check(s, EVAL_FLD_SEQ, known && pr->seq == a->seq, &all);
		check(s, EVAL_FLD_ACK, known && pr->ack == a->ack, &all);
		check(s, EVAL_FLD_TSVAL, known && pv->has_ts == a->has_ts && (!a->has_ts || pr->tsval == a->tsval), &all);
		check(s, EVAL_FLD_TSECR, known && pv->has_ts == a->has_ts && (!a->has_ts || pr->tsecr == a->tsecr), &all);
		s->tcp_est++;
		s->tcp_header_full += all;
	} else {
		s->udp_est++;
		s->udp_header_full += all;
	}
	s->est++;
	s->header_full += all;
	s->packet_full += all && payload_ok;
	s->strict_hit += all && pr->payload_len == a->payload_len;
	s->template_hit += tmpl;
	int b = (int)(pr->confidence * 10);
	b = b < 0 ? 0 : b > 9 ? 9 : b;
	s->cal_n[b]++;
	s->cal_ok[b] += all;
	if (pr->confidence >= 0.5f) {
		s->confident++;
		s->confident_right += all;
	}
}

/* ---- the first pass: what each flow is, and the flows DNS announced ---- */

struct announce;
struct eval_dns;
static void dns_packet(struct announce *t, struct eval_dns *d, const struct pred_pkt *pk);

struct flow_shape {
	uint32_t packets;
	uint8_t proto;
	uint64_t bytes[2];
};

struct shapes {
	struct flow_shape *f;
	uint32_t n, cap;
	struct announce *ann;      /* the DNS measure's table (ANN_SLOTS) */
	struct eval_dns *dns;
};

/* Flows are numbered in the order they start, the same in both passes. */
static int shape_packet(void *arg, void *user, const struct pred_pkt *pk)
{
	struct shapes *sh = arg;
	uint32_t *id = user;
	if (pk->position == 0) {
		if (sh->n == sh->cap) {
			uint32_t cap = sh->cap ? sh->cap * 2 : 1024;
			struct flow_shape *f = cap > sh->cap ? realloc(sh->f, (size_t)cap * sizeof *f) : NULL;
			if (!f)
				return -ERR_NOMEM;
			sh->f = f;
			sh->cap = cap;
		}
		*id = sh->n++;
		sh->f[*id] = (struct flow_shape){ .proto = pk->proto };
	}
	dns_packet(sh->ann, sh->dns, pk);
	struct flow_shape *f = &sh->f[*id];
	f->packets++;
	f->bytes[pk->dir & 1] += pk->payload_len;
	return 0;
}

unsigned eval_flow_class(uint32_t packets, const uint64_t bytes[2], uint8_t proto)
{
	if (packets < EVAL_SHORT_PACKETS)
		return EVAL_CLASS_SHORT;
	uint64_t big = bytes[0] > bytes[1] ? bytes[0] : bytes[1], all = bytes[0] + bytes[1];
	if (big >= EVAL_BULK_BYTES && (double)big >= EVAL_BULK_SHARE * (double)all)
		return EVAL_CLASS_BULK;
	return proto == 17 ? EVAL_CLASS_MEDIA : EVAL_CLASS_REQRESP;
}

static uint8_t shape_class(const struct flow_shape *f)
{
	return (uint8_t)eval_flow_class(f->packets, f->bytes, f->proto);
}

/* ---- the flows DNS announced ---- */

#define ANN_SLOTS (1u << 16)

struct announce {
	uint64_t key;              /* client hash << 32 | address hash, | 1 (0: empty) */
	uint64_t until;
	uint8_t used;              /* the templates used: bit per EVAL_DNS_TEMPLATES */
};

static struct announce *ann_find(struct announce *t, uint64_t key, int insert)
{
	for (uint32_t i = (uint32_t)(key * 0x9e3779b97f4a7c15ull >> 48), k = 0; k < 64; k++, i = (i + 1) & (ANN_SLOTS - 1)) {
		if (t[i].key == key)
			return &t[i];
		if (!t[i].key)
			return insert ? &t[i] : NULL;
	}
	return NULL;
}

static uint64_t ann_key(uint32_t client, uint32_t addr)
{
	return ((uint64_t)client << 32 | addr) | 1u;
}

/* Which template a flow's first packet would use: 0 TCP 80, 1 TCP 443, 2 UDP 443; -1 none. */
static int template_of(const struct pred_pkt *pk)
{
	if (pk->proto == 6 && (pk->dport == 80 || pk->dport == 443))
		return pk->dport == 80 ? 0 : 1;
	return pk->proto == 17 && pk->dport == 443 ? 2 : -1;
}

static void dns_packet(struct announce *t, struct eval_dns *d, const struct pred_pkt *pk)
{
	int dns = pk->proto == 17 && (pk->sport == 53 || pk->dport == 53);
	if (dns && pk->sport == 53 && pk->payload_avail == pk->payload_len) {
		struct dns_record rec[DNS_MAX_RECORDS];
		unsigned n = dns_answer_addrs(pk->payload, pk->payload_avail, rec);
		d->answers += n > 0;
		for (unsigned i = 0; i < n; i++) {
			uint64_t key = ann_key(pk->dst_hash, pred_addr_hash(rec[i].addr, rec[i].family == 4 ? 4u : 16u));
			struct announce *a = ann_find(t, key, 1);
			if (!a) {
				d->table_full++;
				continue;
			}
			uint32_t ttl = rec[i].ttl < 1 ? 1 : rec[i].ttl > EVAL_DNS_TTL_MAX_S ? EVAL_DNS_TTL_MAX_S : rec[i].ttl;
			if (a->key != key || a->until < pk->t_ns) {
				/* A new pair, or one whose templates expired: built (again). */
				a->key = key;
				a->used = 0;
				d->pairs++;
				d->templates += EVAL_DNS_TEMPLATES;
			}
			a->until = pk->t_ns + (uint64_t)ttl * 1000000000ull;
		}
	}
	if (pk->position != 0 || dns)
		return;
	d->new_flows++;
	struct announce *a = ann_find(t, ann_key(pk->src_hash, pk->dst_hash), 0);
	if (!a || a->until < pk->t_ns)
		return;
	d->announced_flows++;
	int k = template_of(pk);
	if (k >= 0) {
		d->first_hits++;
		if (!(a->used >> k & 1))
			d->templates_used++;
		a->used |= (uint8_t)(1u << k);
	}
}

/* ---- the scoring pass ---- */

struct walk {
	const struct predictor_ops *ops;
	void *self;
	size_t state_off;
	struct eval_result *r;
	const struct shapes *sh;
	uint32_t next_id;
};

static int eval_packet(void *arg, void *user, const struct pred_pkt *pk)
{
	struct walk *w = arg;
	const struct predictor_ops *ops = w->ops;
	struct eflow *ef = user;
	if (pk->position == 0) {
		uint32_t id = w->next_id++;
		ef->cls = id < w->sh->n ? shape_class(&w->sh->f[id]) : EVAL_CLASS_SHORT;
		w->r->flows[ef->cls]++;
	}
	struct eval_score *s = &w->r->all, *sc = &w->r->cls[ef->cls];
	void *st = (uint8_t *)ef + w->state_off;
	const struct pred_pkt a = *pk;
	unsigned d = a.dir;
	/* REFERENCE.md: a gap is scored once the flow has had one valid gap; gaps over 60 s or
	 * negative are neither scored nor counted as valid. */
	int gap_ok = (ef->seen[0] | ef->seen[1]) && a.t_ns >= ef->flow_t && a.t_ns - ef->flow_t <= IAT_MAX_NS;
	unsigned pd = ef->has[d] ? d : !d;
	if (ef->has[pd]) {
		score_one(s, &ef->pred[pd], ef->pay_hash[pd], &a, ef->seen[d] ? &ef->last[d] : NULL,
			  a.t_ns - ef->flow_t, ef->gaps && gap_ok);
		score_one(sc, &ef->pred[pd], ef->pay_hash[pd], &a, ef->seen[d] ? &ef->last[d] : NULL,
			  a.t_ns - ef->flow_t, ef->gaps && gap_ok);
	}
	ops->observe(w->self, st, &a);
	ef->last[d] = a;
	ef->last[d].payload = NULL;
	ef->last[d].payload_avail = 0;
	ef->seen[d] = 1;
	/* Both directions' predictions are refreshed: what one side just said changes what the
	 * other will say (its ack, its timestamp echo, its next size and gap). */
	for (unsigned side = 0; side < 2; side++) {
		unsigned dd = side ? !d : d;
		if (!ef->seen[dd])
			continue;
		/* The other direction's stored packet has no payload: a payload anticipated when
		 * that direction last spoke is kept through the refresh. */
		int kept_payload = dd != d && ef->has[dd] && (ef->pred[dd].fields & PRED_PAYLOAD);
		uint32_t kept_len = ef->pred[dd].payload_len;
		memset(&ef->pred[dd], 0, sizeof ef->pred[dd]);
		uint64_t t0 = clock_mono_ns();
		ef->has[dd] = ops->predict(w->self, st, dd == d ? &a : &ef->last[dd], &ef->pred[dd]);
		double ns = (double)(clock_mono_ns() - t0);
		s->predict_ns += ns;
		s->predictions++;
		sc->predict_ns += ns;
		sc->predictions++;
		/* A predicted payload lives only during the call: keep its hash. */
		if (ef->has[dd] && (ef->pred[dd].fields & PRED_PAYLOAD) && ef->pred[dd].payload)
			ef->pay_hash[dd] = payload_hash(ef->pred[dd].payload, ef->pred[dd].payload_len);
		else if (kept_payload && ef->has[dd]) {
			ef->pred[dd].fields |= PRED_PAYLOAD;
			ef->pred[dd].payload_len = kept_len;
		}
		ef->pred[dd].payload = NULL;
	}
	if (gap_ok && ef->gaps < 255)
		ef->gaps++;
	ef->flow_t = a.t_ns;
	return 0;
}

int eval_trace(const char *path, const struct predictor_ops *ops, const char *model_file, struct eval_result *r,
	       struct errbuf *eb)
{
	struct shapes sh = { .dns = &r->dns };
	int rc = (sh.ann = calloc(ANN_SLOTS, sizeof *sh.ann)) ? flowwalk(path, sizeof(uint32_t), shape_packet, &sh, eb)
							     : -ERR_NOMEM;
	free(sh.ann);
	if (rc) {
		free(sh.f);
		return rc == -ERR_NOMEM && (!eb || !eb->msg[0]) ? err_set(eb, rc, "%s: out of memory", path) : rc;
	}
	struct walk w = { .ops = ops, .r = r, .sh = &sh, .state_off = (sizeof(struct eflow) + 7) & ~(size_t)7 };
	if ((rc = ops->create(model_file, &w.self, eb)) == 0) {
		rc = flowwalk(path, w.state_off + ops->flow_state_size, eval_packet, &w, eb);
		ops->destroy(w.self);
	}
	free(sh.f);
	return rc;
}

void eval_result_merge(struct eval_result *a, const struct eval_result *b)
{
	eval_merge(&a->all, &b->all);
	for (int c = 0; c < EVAL_CLASS_N; c++) {
		eval_merge(&a->cls[c], &b->cls[c]);
		a->flows[c] += b->flows[c];
	}
	a->dns.answers += b->dns.answers;
	a->dns.pairs += b->dns.pairs;
	a->dns.new_flows += b->dns.new_flows;
	a->dns.announced_flows += b->dns.announced_flows;
	a->dns.first_hits += b->dns.first_hits;
	a->dns.templates += b->dns.templates;
	a->dns.templates_used += b->dns.templates_used;
	a->dns.table_full += b->dns.table_full;
}

void eval_result_fini(struct eval_result *r)
{
	eval_score_fini(&r->all);
	for (int c = 0; c < EVAL_CLASS_N; c++)
		eval_score_fini(&r->cls[c]);
}


void eval_score_fini(struct eval_score *s)
{
	free(s->rel);
	s->rel = NULL;
}
