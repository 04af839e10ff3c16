/* evalcmd: scores predictors on captures (see evalcmd.h).
 *
 * Packets are taken in file order; flows as the engine keys them (5-tuple and VLAN, direction 0
 * the first packet's, a SYN after FIN or RST starts a new flow, no idle timeout).  After each
 * packet the model observes it and predicts the next packet of that direction; an arriving
 * packet is scored against the prediction held for its direction, or, before its direction has
 * been seen, the other direction's (REFERENCE.md's fallback).  Definitions follow REFERENCE.md:
 * size is the L4 payload length; inter-arrival time is the gap within the flow; header fields are
 * scored on established packets (position >= 4), a direction's first packet counting as wrong.
 * Differences: size is scored given the true direction only (a pre-builder keeps one prediction
 * per direction, so direction itself is not predicted); flows are keyed by 5-tuple and the
 * outermost VLAN, not the whole tag stack. */

#include <getopt.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/store.h"
#include "cli.h"
#include "commands.h"
#include "core/predict.h"
#include "models/flowwalk.h"
#include "models/common.h"
#include "models/registry.h"

/* Header fields as REFERENCE.md scores them, on established packets (position >= 4). */
enum { FLD_TTL, FLD_IPID, FLD_TOS, FLD_IPFLAGS, FLD_TFLAGS, FLD_WIN, FLD_URG, FLD_SEQ, FLD_ACK, FLD_OPTS,
       FLD_TSVAL, FLD_TSECR, FLD_N };
static const char *const fld_names[FLD_N] = { "ttl", "ipid", "tos", "ipflags", "tflags", "win",
					      "urg", "seq", "ack", "opts", "tsval", "tsecr" };
#define EST_POSITION 4

struct score {
	uint64_t scored, size_exact, size_class;
	uint64_t est, header_full, packet_full, strict_hit, template_hit;
	uint64_t tcp_est, tcp_header_full, udp_est, udp_header_full;
	uint64_t confident, confident_right;
	uint64_t fld_n[FLD_N], fld_ok[FLD_N];
	uint64_t pay_n, pay_predicted, pay_ok; /* packets with a payload; anticipated; right */
	uint64_t cal_n[10], cal_ok[10];
	double iat_abs_sum;
	uint64_t iat_n;
	double *rel;               /* relative IAT errors, for the median */
	size_t rel_n, rel_cap;
	double predict_ns;
	uint64_t predictions;
};

/* The eval's part of a flow: the prediction held per direction, and when each direction was
 * last seen.  The predictor's own state follows. */
struct eflow {
	struct pred_out pred[2];
	uint64_t pay_hash[2];      /* of the predicted payload, when one was predicted */
	struct pred_pkt last[2];   /* the latest packet of each direction (payload not kept) */
	uint8_t has[2], seen[2];
	uint64_t flow_t;           /* the flow's latest packet */
	uint8_t gaps;              /* valid gaps seen, saturating */
};

static void add_rel(struct score *s, double r)
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

static void merge(struct score *a, const struct score *b)
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
	for (int i = 0; i < FLD_N; i++) {
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

static double median_rel(struct score *s)
{
	if (!s->rel_n)
		return NAN;
	gsl_sort(s->rel, 1, s->rel_n);
	return gsl_stats_median_from_sorted_data(s->rel, 1, s->rel_n);
}

static void check(struct score *s, int f, int ok, int *all)
{
	s->fld_n[f]++;
	s->fld_ok[f] += ok;
	*all &= ok;
}

/* Scores packet 'a' against prediction 'pr' (whose payload, if predicted, hashed to 'pay_hash').
 * 'prev' is the direction's previous packet (the crafter's template, which carries the fields a
 * predictor does not set), NULL for a direction's first packet. */
static void score_one(struct score *s, const struct pred_out *pr, uint64_t pay_hash, const struct pred_pkt *a,
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
	if (a->position < EST_POSITION)
		return;
	/* Established packets: every header field, as REFERENCE.md defines them. */
	int all = 1, tmpl = 1;
	const struct pred_pkt z = { 0 };
	const struct pred_pkt *pv = prev ? prev : &z;
	int known = prev != NULL;
	check(s, FLD_TTL, known && pv->ttl == a->ttl, &all);
	check(s, FLD_TOS, known && pv->tos == a->tos, &all);
	check(s, FLD_IPFLAGS, known && pv->ip_flags == a->ip_flags, &all);
	tmpl = all;
	if (a->family == 4)
		check(s, FLD_IPID, known && pr->ip_id == a->ip_id, &all);
	if (a->proto == 6) {
		int opts_ok = known && pv->opt_kinds == a->opt_kinds;
		tmpl &= opts_ok;
		check(s, FLD_OPTS, opts_ok, &all);
		check(s, FLD_TFLAGS, known && pr->tcp_flags == a->tcp_flags, &all);
		check(s, FLD_WIN, known && pr->win == a->win, &all);
		check(s, FLD_URG, known && pv->urg == a->urg, &all);
		check(s, FLD_SEQ, known && pr->seq == a->seq, &all);
		check(s, FLD_ACK, known && pr->ack == a->ack, &all);
		check(s, FLD_TSVAL, known && pv->has_ts == a->has_ts && (!a->has_ts || pr->tsval == a->tsval), &all);
		check(s, FLD_TSECR, known && pv->has_ts == a->has_ts && (!a->has_ts || pr->tsecr == a->tsecr), &all);
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

struct walk {
	const struct predictor_ops *ops;
	void *self;
	size_t state_off;
	struct score *s;
};

static int eval_packet(void *arg, void *user, const struct pred_pkt *pk)
{
	struct walk *w = arg;
	const struct predictor_ops *ops = w->ops;
	struct score *s = w->s;
	struct eflow *ef = user;
	void *st = (uint8_t *)ef + w->state_off;
	const struct pred_pkt a = *pk;
	unsigned d = a.dir;
	/* REFERENCE.md: a gap is scored once the flow has had one valid gap; gaps over 60 s or
	 * negative are neither scored nor counted as valid. */
	int gap_ok = (ef->seen[0] | ef->seen[1]) && a.t_ns >= ef->flow_t && a.t_ns - ef->flow_t <= IAT_MAX_NS;
	unsigned pd = ef->has[d] ? d : !d;
	if (ef->has[pd])
		score_one(s, &ef->pred[pd], ef->pay_hash[pd], &a, ef->seen[d] ? &ef->last[d] : NULL,
			  a.t_ns - ef->flow_t, ef->gaps && gap_ok);
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
		uint64_t t0 = cli_now_ns();
		ef->has[dd] = ops->predict(w->self, st, dd == d ? &a : &ef->last[dd], &ef->pred[dd]);
		s->predict_ns += (double)(cli_now_ns() - t0);
		s->predictions++;
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

static int eval_trace(const char *path, const struct predictor_ops *ops, const char *model_file, struct score *s,
		      struct errbuf *eb)
{
	struct walk w = { .ops = ops, .s = s, .state_off = (sizeof(struct eflow) + 7) & ~(size_t)7 };
	int rc = ops->create(model_file, &w.self, eb);
	if (rc)
		return rc;
	rc = flowwalk(path, w.state_off + ops->flow_state_size, eval_packet, &w, eb);
	ops->destroy(w.self);
	return rc;
}

const char eval_usage[] =
	"usage: precraft eval TRACE... [--models a,b,c] [--model-file FILE] [--db FILE]\n"
	"  Scores predictors on captures: size exact and by class, inter-arrival time, every header field,\n"
	"  precision of the predictions at least 0.5 confident, ns per prediction; and how well the stated\n"
	"  confidence matches the observed hit rate.  Default models: every predictor ('precraft predictors').\n"
	"  Header fields, strict hits (every field and the size right) and template hits (the fields a\n"
	"  pre-built packet cannot patch at arrival right) are scored on established packets (position >= 4).\n"
	"  --model-file FILE   the model 'ml' starts from ('precraft train'); without it, ml learns online only\n";

static double frac(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void print_header(void)
{
	printf("%-8s %-32s %7s %6s %6s %7s %6s %6s %6s %6s %6s %6s %6s %9s %7s %5s\n", "model", "trace", "scored",
	       "size", "class", "est", "header", "tcp", "udp", "strict", "tmpl", "packet", "prec", "iat_mae_us",
	       "iat_rel", "ns");
}

static void print_row(const char *model, const char *trace, struct score *s)
{
	printf("%-8s %-32.32s %7llu %6.3f %6.3f %7llu %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %9.0f %7.2f %5.0f\n",
	       model, trace, (unsigned long long)s->scored, frac(s->size_exact, s->scored),
	       frac(s->size_class, s->scored), (unsigned long long)s->est, frac(s->header_full, s->est),
	       frac(s->tcp_header_full, s->tcp_est), frac(s->udp_header_full, s->udp_est),
	       frac(s->strict_hit, s->est), frac(s->template_hit, s->est), frac(s->packet_full, s->est),
	       frac(s->confident_right, s->confident), s->iat_n ? s->iat_abs_sum / (double)s->iat_n / 1e3 : NAN,
	       median_rel(s), s->predictions ? s->predict_ns / (double)s->predictions : NAN);
}

int eval_main(int argc, char **argv)
{
	enum { O_MODELS = 256, O_DB, O_MODEL_FILE, O_HELP };
	static const struct option lo[] = {
		{ "models", required_argument, 0, O_MODELS }, { "db", required_argument, 0, O_DB },
		{ "model-file", required_argument, 0, O_MODEL_FILE }, { "help", no_argument, 0, O_HELP },
		{ 0, 0, 0, 0 },
	};
	const char *models = NULL, *db = NULL, *model_file = NULL;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_MODELS: models = optarg; break;
		case O_DB: db = optarg; break;
		case O_MODEL_FILE: model_file = optarg; break;
		case O_HELP: fputs(eval_usage, stdout); return EXIT_OK;
		default:
			cli_error("eval: unknown or incomplete option '%s' (see 'precraft eval --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_error("eval: expected at least one TRACE (see 'precraft eval --help')");
		return EXIT_USAGE;
	}
	const struct predictor_ops *ops[16];
	size_t n_ops = 0;
	if (models) {
		char buf[512];
		snprintf(buf, sizeof buf, "%s", models);
		char *save = NULL;
		for (char *t = strtok_r(buf, ",", &save); t && n_ops < 16; t = strtok_r(NULL, ",", &save)) {
			if (!(ops[n_ops++] = models_find(t))) {
				cli_error("--models: unknown predictor '%s' (see 'precraft predictors')", t);
				return EXIT_USAGE;
			}
		}
	} else {
		while (n_ops < 16 && models_at(n_ops)) {
			ops[n_ops] = models_at(n_ops);
			n_ops++;
		}
	}
	struct errbuf eb = { "" };
	struct store *st = NULL;
	if (db && store_open(db, &st, &eb)) {
		cli_error("%s", eb.msg);
		return EXIT_RUNTIME;
	}
	print_header();
	int code = EXIT_OK;
	struct cli_progress pr;
	cli_progress_start(&pr, false);
	uint64_t pairs = (uint64_t)n_ops * (uint64_t)(argc - optind), pairs_done = 0, scored = 0;
	for (size_t m = 0; m < n_ops && code == EXIT_OK; m++) {
		struct score all;
		memset(&all, 0, sizeof all);
		for (int t = optind; t < argc; t++, pairs_done++) {
			cli_progress_update(&pr, pairs_done, pairs, scored);
			struct score s;
			memset(&s, 0, sizeof s);
			if (eval_trace(argv[t], ops[m], model_file, &s, &eb)) {
				cli_error("%s", eb.msg);
				code = EXIT_USAGE;
				free(s.rel);
				break;
			}
			const char *name = strrchr(argv[t], '/') ? strrchr(argv[t], '/') + 1 : argv[t];
			cli_progress_end(&pr);
			print_row(ops[m]->name, name, &s);
			if (st) {
				int64_t run;
				char cmd[1024];
				snprintf(cmd, sizeof cmd, "precraft eval --models %s%s%s %s", ops[m]->name,
					 model_file ? " --model-file " : "", model_file ? model_file : "", argv[t]);
				if (store_run_begin(st, cmd, 0, 0, &run, &eb) == 0) {
					store_param(st, run, "model", ops[m]->name);
					store_param(st, run, "trace", argv[t]);
					if (model_file)
						store_param(st, run, "model_file", model_file);
					const struct {
						const char *n;
						double v;
					} sc[] = {
						{ "packets_scored", (double)s.scored },
						{ "size_exact_acc", frac(s.size_exact, s.scored) },
						{ "size_class_acc", frac(s.size_class, s.scored) },
						{ "est_packets_scored", (double)s.est },
						{ "header_full_acc", frac(s.header_full, s.est) },
						{ "tcp_header_full_acc", frac(s.tcp_header_full, s.tcp_est) },
						{ "udp_header_full_acc", frac(s.udp_header_full, s.udp_est) },
						{ "strict_hit_acc", frac(s.strict_hit, s.est) },
						{ "template_hit_acc", frac(s.template_hit, s.est) },
						{ "packet_full_acc", frac(s.packet_full, s.est) },
						{ "precision", frac(s.confident_right, s.confident) },
						{ "iat_mae_ns", s.iat_n ? s.iat_abs_sum / (double)s.iat_n : NAN },
						{ "iat_median_rel_err", median_rel(&s) },
						{ "ns_per_prediction", s.predictions ? s.predict_ns / (double)s.predictions : NAN },
					};
					for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
						if (!isnan(sc[i].v))
							store_scalar(st, run, sc[i].n, sc[i].v);
					store_scalar(st, run, "payload_anticipated", (double)s.pay_predicted);
					store_scalar(st, run, "payload_anticipated_right", (double)s.pay_ok);
					for (int f = 0; f < FLD_N; f++)
						if (s.fld_n[f]) {
							char n[64];
							snprintf(n, sizeof n, "field_%s_acc", fld_names[f]);
							store_scalar(st, run, n, frac(s.fld_ok[f], s.fld_n[f]));
						}
					if (store_run_end(st, run, "complete", &eb)) {
						cli_error("%s; run %lld is marked failed", eb.msg, (long long)run);
						code = EXIT_RUNTIME;
					}
				} else {
					cli_error("%s", eb.msg);
					code = EXIT_RUNTIME;
				}
			}
			scored += s.scored;
			merge(&all, &s);
			free(s.rel);
		}
		if (code != EXIT_OK) {
			free(all.rel);
			break;
		}
		if (argc - optind > 1)
			print_row(ops[m]->name, "all (packet-weighted)", &all);
		printf("  %s fields:", ops[m]->name);
		for (int f = 0; f < FLD_N; f++)
			if (all.fld_n[f])
				printf(" %s %.3f", fld_names[f], frac(all.fld_ok[f], all.fld_n[f]));
		printf("\n  %s payload anticipation: %llu of %llu packets with a payload anticipated, %llu right",
		       ops[m]->name, (unsigned long long)all.pay_predicted, (unsigned long long)all.pay_n,
		       (unsigned long long)all.pay_ok);
		printf("\n  %s calibration (confidence -> header right):", ops[m]->name);
		for (int b = 0; b < 10; b++)
			if (all.cal_n[b])
				printf(" [%.1f,%.1f) %.2f (%llu)", b / 10.0, (b + 1) / 10.0, frac(all.cal_ok[b], all.cal_n[b]),
				       (unsigned long long)all.cal_n[b]);
		putchar('\n');
		free(all.rel);
	}
	cli_progress_end(&pr);
	if (st && store_close(st, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
	}
	return code;
}
