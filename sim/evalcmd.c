/* evalcmd: scores predictors on captures (see evalcmd.h).
 *
 * Packets are taken in file order; flows as the engine keys them (5-tuple and VLAN, direction 0
 * the first packet's, a SYN after FIN or RST starts a new flow, no idle timeout).  After each
 * packet the model observes it and predicts the next packet of that direction; an arriving
 * packet is scored against the prediction held for its direction, or, before its direction has
 * been seen, the other direction's (REFERENCE.md's fallback).  Differences from REFERENCE.md:
 * inter-arrival time is scored within the direction (the engine's prediction target), not within
 * the flow; header fields are those the crafter writes (IP ID, seq, ack, flags, window, TSval,
 * TSecr, and the length). */
#include "evalcmd.h"

#include <getopt.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/store.h"
#include "cliutil.h"
#include "core/flow.h"
#include "core/pkt.h"
#include "core/predict.h"
#include "models/common.h"
#include "models/registry.h"
#include "trace.h"

enum { FLD_IPID, FLD_SEQ, FLD_ACK, FLD_FLAGS, FLD_WIN, FLD_TS, FLD_LEN, FLD_N };
static const char *const fld_names[FLD_N] = { "ipid", "seq", "ack", "flags", "win", "ts", "len" };

struct score {
	uint64_t scored, size_exact, size_class, header_full, packet_full;
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
	uint64_t last_t[2];
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
	a->header_full += b->header_full;
	a->packet_full += b->packet_full;
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

static void to_pred_pkt(const struct pkt *p, unsigned dir, uint64_t t, uint32_t position, struct pred_pkt *pk)
{
	memset(pk, 0, sizeof *pk);
	pk->t_ns = t;
	pk->dir = (uint8_t)dir;
	pk->proto = p->proto;
	pk->family = p->l3 == PKT_L3_IPV4 ? 4 : 6;
	pk->ttl = p->l3 == PKT_L3_IPV4 ? p->ip4.ttl : p->ip6.hlim;
	pk->ip_id = p->l3 == PKT_L3_IPV4 ? p->ip4.id : 0;
	pk->payload_len = p->payload_len;
	pk->payload = p->payload;
	pk->payload_avail = p->payload_avail;
	pk->position = position;
	if (p->l4 == PKT_L4_TCP) {
		pk->tcp_flags = p->tcp.flags;
		pk->seq = p->tcp.seq;
		pk->ack = p->tcp.ack;
		pk->win = p->tcp.win;
		pk->has_ts = p->tcp.ts_off != 0xff;
		pk->tsval = p->tcp.tsval;
		pk->tsecr = p->tcp.tsecr;
	}
}

static void check(struct score *s, int f, int ok, int *all)
{
	s->fld_n[f]++;
	s->fld_ok[f] += ok;
	*all &= ok;
}

/* Scores packet 'a' against prediction 'pr', whose payload (if predicted) hashed to 'pay_hash'. */
static void score_one(struct score *s, const struct pred_out *pr, uint64_t pay_hash, const struct pred_pkt *a,
		      uint64_t gap_ns, int have_gap)
{
	s->scored++;
	s->size_exact += pr->payload_len == a->payload_len;
	s->size_class += size_class(pr->payload_len) == size_class(a->payload_len);
	int all = 1;
	if (a->family == 4)
		check(s, FLD_IPID, pr->ip_id == a->ip_id, &all);
	check(s, FLD_LEN, pr->payload_len == a->payload_len, &all);
	if (a->proto == 6) {
		check(s, FLD_SEQ, pr->seq == a->seq, &all);
		check(s, FLD_ACK, pr->ack == a->ack, &all);
		check(s, FLD_FLAGS, pr->tcp_flags == a->tcp_flags, &all);
		check(s, FLD_WIN, pr->win == a->win, &all);
		if (a->has_ts)
			check(s, FLD_TS, pr->tsval == a->tsval && pr->tsecr == a->tsecr, &all);
	}
	s->header_full += all;
	int payload_predicted = (pr->fields & PRED_PAYLOAD) && pr->payload_len == a->payload_len;
	int payload_ok = a->payload_len == 0 || (payload_predicted && a->payload_avail == a->payload_len &&
						 pay_hash == payload_hash(a->payload, a->payload_len));
	if (a->payload_len) {
		s->pay_n++;
		s->pay_predicted += payload_predicted;
		s->pay_ok += payload_predicted && payload_ok;
	}
	s->packet_full += all && payload_ok;
	int b = (int)(pr->confidence * 10);
	b = b < 0 ? 0 : b > 9 ? 9 : b;
	s->cal_n[b]++;
	s->cal_ok[b] += all;
	if (pr->confidence >= 0.5f) {
		s->confident++;
		s->confident_right += all;
	}
	if (have_gap && (pr->fields & PRED_IAT)) {
		double err = fabs((double)pr->iat_ns - (double)gap_ns);
		s->iat_abs_sum += err;
		s->iat_n++;
		if (gap_ns)
			add_rel(s, err / (double)gap_ns);
	}
}

static int eval_trace(const char *path, const struct predictor_ops *ops, struct score *s, struct errbuf *eb)
{
	struct trace *tr;
	int rc = trace_open(path, &tr, eb);
	if (rc)
		return rc;
	void *self = NULL;
	if ((rc = ops->create(NULL, &self, eb)) != 0) {
		trace_close(tr);
		return rc;
	}
	size_t state_off = (sizeof(struct eflow) + 7) & ~(size_t)7;
	struct flow_table_cfg fc = { .capacity = 1u << 18, .user_size = state_off + ops->flow_state_size };
	struct flow_table *ft;
	if ((rc = flow_table_create(&fc, &ft)) != 0) {
		ops->destroy(self);
		trace_close(tr);
		return err_set(eb, rc, "out of memory");
	}
	int lt = trace_linktype(tr);
	struct trace_rec r;
	struct pkt p;
	while ((rc = trace_next(tr, &r, eb)) == 1) {
		if (pkt_parse(r.data, r.caplen, r.wirelen, lt, &p) || p.l3 == PKT_L3_NONE ||
		    (p.l4 != PKT_L4_TCP && p.l4 != PKT_L4_UDP) || p.is_fragment)
			continue;
		pkt_tcp_opts(&p);
		struct flow_key k;
		bool src_a, created;
		flow_key_from_pkt(&p, &k, &src_a);
		struct flow_entry *f = flow_table_get(ft, &k, flow_key_hash(&k), src_a, r.t_ns, &created);
		if (!created && p.l4 == PKT_L4_TCP && flow_tcp_is_restart(f, p.tcp.flags))
			flow_table_restart(ft, f, src_a, r.t_ns);
		unsigned d = flow_dir(f, src_a);
		struct eflow *ef = flow_user(ft, f);
		void *st = (uint8_t *)ef + state_off;
		struct pred_pkt a;
		to_pred_pkt(&p, d, r.t_ns, f->packets[0] + f->packets[1], &a);
		unsigned pd = ef->has[d] ? d : !d;
		if (ef->has[pd])
			score_one(s, &ef->pred[pd], ef->pay_hash[pd], &a, r.t_ns > ef->last_t[d] ? r.t_ns - ef->last_t[d] : 0,
				  ef->has[d]);
		flow_account(f, d, r.wirelen, r.t_ns);
		if (p.l4 == PKT_L4_TCP)
			flow_tcp_update(f, d, p.tcp.flags);
		ops->observe(self, st, &a);
		ef->last[d] = a;
		ef->last[d].payload = NULL;
		ef->last[d].payload_avail = 0;
		ef->seen[d] = 1;
		/* Both directions' predictions are refreshed: what one side just said changes what the
		 * other will say (its ack, its timestamp echo). */
		for (unsigned side = 0; side < 2; side++) {
			unsigned dd = side ? !d : d;
			if (!ef->seen[dd])
				continue;
			/* The other direction's stored packet has no payload: a payload anticipated
			 * when that direction last spoke is kept through the refresh. */
			int kept_payload = dd != d && ef->has[dd] && (ef->pred[dd].fields & PRED_PAYLOAD);
			uint32_t kept_len = ef->pred[dd].payload_len;
			memset(&ef->pred[dd], 0, sizeof ef->pred[dd]);
			uint64_t t0 = cli_now_ns();
			ef->has[dd] = ops->predict(self, st, dd == d ? &a : &ef->last[dd], &ef->pred[dd]);
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
		ef->last_t[d] = r.t_ns;
	}
	flow_table_destroy(ft);
	ops->destroy(self);
	trace_close(tr);
	return rc < 0 ? rc : 0;
}

static const char usage[] =
	"usage: precraft eval TRACE... [--models a,b,c] [--db FILE]\n"
	"  Scores predictors on captures: size exact and by class, inter-arrival time, every header field,\n"
	"  precision of the predictions at least 0.5 confident, ns per prediction; and how well the stated\n"
	"  confidence matches the observed hit rate.  Default models: every predictor ('precraft predictors').\n";

static double frac(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void print_row(const char *model, const char *trace, struct score *s)
{
	printf("%-8s %-40.40s %8llu %6.3f %6.3f %6.3f %6.3f %6.3f %9.3g %7.2f %6.0f\n", model, trace,
	       (unsigned long long)s->scored, frac(s->size_exact, s->scored), frac(s->size_class, s->scored),
	       frac(s->header_full, s->scored), frac(s->packet_full, s->scored), frac(s->confident_right, s->confident),
	       s->iat_n ? s->iat_abs_sum / (double)s->iat_n : NAN, median_rel(s),
	       s->predictions ? s->predict_ns / (double)s->predictions : NAN);
}

int eval_main(int argc, char **argv)
{
	enum { O_MODELS = 256, O_DB, O_HELP };
	static const struct option lo[] = {
		{ "models", required_argument, 0, O_MODELS }, { "db", required_argument, 0, O_DB },
		{ "help", no_argument, 0, O_HELP },           { 0, 0, 0, 0 },
	};
	const char *models = NULL, *db = NULL;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_MODELS: models = optarg; break;
		case O_DB: db = optarg; break;
		case O_HELP: fputs(usage, stdout); return EXIT_OK;
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
		return EXIT_USAGE;
	}
	printf("%-8s %-40s %8s %6s %6s %6s %6s %6s %9s %7s %6s\n", "model", "trace", "scored", "size", "class",
	       "header", "packet", "prec", "iat_mae", "iat_rel", "ns");
	int code = EXIT_OK;
	for (size_t m = 0; m < n_ops && code == EXIT_OK; m++) {
		struct score all;
		memset(&all, 0, sizeof all);
		for (int t = optind; t < argc; t++) {
			struct score s;
			memset(&s, 0, sizeof s);
			if (eval_trace(argv[t], ops[m], &s, &eb)) {
				cli_error("%s", eb.msg);
				code = EXIT_USAGE;
				free(s.rel);
				break;
			}
			const char *name = strrchr(argv[t], '/') ? strrchr(argv[t], '/') + 1 : argv[t];
			print_row(ops[m]->name, name, &s);
			if (st) {
				int64_t run;
				char cmd[1024];
				snprintf(cmd, sizeof cmd, "precraft eval --models %s %s", ops[m]->name, argv[t]);
				if (store_run_begin(st, cmd, 0, 0, &run, &eb) == 0) {
					store_param(st, run, "model", ops[m]->name);
					store_param(st, run, "trace", argv[t]);
					const struct {
						const char *n;
						double v;
					} sc[] = {
						{ "packets_scored", (double)s.scored },
						{ "size_exact_acc", frac(s.size_exact, s.scored) },
						{ "size_class_acc", frac(s.size_class, s.scored) },
						{ "header_full_acc", frac(s.header_full, s.scored) },
						{ "packet_full_acc", frac(s.packet_full, s.scored) },
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
					store_run_end(st, run, "complete", &eb);
				}
			}
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
	if (st && store_close(st, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
	}
	return code;
}
