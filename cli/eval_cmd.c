/* eval_cmd: `precraft eval`, the predictor leaderboard: the scores (models/eval.h) printed as a
 * table, per capture, per class of flow and in all, and with --db stored one run per model and
 * capture.  With --cross, leave-one-capture-out: a trained predictor is scored on each capture
 * with a model trained on all the others, the figure that tells how a model generalises. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/store.h"
#include "cli.h"
#include "commands.h"
#include "models/eval.h"
#include "models/registry.h"

const char eval_usage[] =
	"usage: precraft eval TRACE... [--models a,b,c] [--model-file FILE | --cross] [--db FILE]\n"
	"  Scores predictors on captures: size exact and by class, inter-arrival time, every header field,\n"
	"  precision of the predictions at least 0.5 confident, ns per prediction; and how well the stated\n"
	"  confidence matches the observed hit rate.  Default models: every predictor ('precraft predictors').\n"
	"  Header fields, strict hits (every field and the size right) and template hits (the fields a\n"
	"  pre-built packet cannot patch at arrival right) are scored on established packets (position >= 4).\n"
	"  Every figure is given per class of flow too: bulk, reqresp (request/response), media, short.\n"
	"  --model-file FILE   the model 'ml' starts from ('precraft train'); without it, ml learns online only\n"
	"  --cross             leave-one-capture-out: each capture is scored with the trained predictors'\n"
	"                      models trained on all the other captures (at least 2); then the mean over\n"
	"                      the captures, each counted once\n";

/* The figures of a score, in the order the table prints them and with the scalar names the
 * database stores them under. */
enum { FG_SCORED, FG_SIZE, FG_CLASS, FG_EST, FG_HEADER, FG_TCP, FG_UDP, FG_STRICT, FG_TMPL, FG_PACKET, FG_PREC,
       FG_IAT_MAE, FG_IAT_REL, FG_NS, FG_N };
static const char *const fg_name[FG_N] = {
	"packets_scored",      "size_exact_acc",      "size_class_acc", "est_packets_scored", "header_full_acc",
	"tcp_header_full_acc", "udp_header_full_acc", "strict_hit_acc", "template_hit_acc",   "packet_full_acc",
	"precision",           "iat_mae_ns",          "iat_median_rel_err", "ns_per_prediction",
};

struct figures {
	double v[FG_N];
	double fld[EVAL_FLD_N];
};

static double frac(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void figures_of(struct eval_score *s, struct figures *f)
{
	f->v[FG_SCORED] = (double)s->scored;
	f->v[FG_SIZE] = frac(s->size_exact, s->scored);
	f->v[FG_CLASS] = frac(s->size_class, s->scored);
	f->v[FG_EST] = (double)s->est;
	f->v[FG_HEADER] = frac(s->header_full, s->est);
	f->v[FG_TCP] = frac(s->tcp_header_full, s->tcp_est);
	f->v[FG_UDP] = frac(s->udp_header_full, s->udp_est);
	f->v[FG_STRICT] = frac(s->strict_hit, s->est);
	f->v[FG_TMPL] = frac(s->template_hit, s->est);
	f->v[FG_PACKET] = frac(s->packet_full, s->est);
	f->v[FG_PREC] = frac(s->confident_right, s->confident);
	f->v[FG_IAT_MAE] = s->iat_n ? s->iat_abs_sum / (double)s->iat_n : NAN;
	f->v[FG_IAT_REL] = eval_median_rel(s);
	f->v[FG_NS] = s->predictions ? s->predict_ns / (double)s->predictions : NAN;
	for (int i = 0; i < EVAL_FLD_N; i++)
		f->fld[i] = frac(s->fld_ok[i], s->fld_n[i]);
}

/* The mean of each figure over the captures where it is defined. */
struct mean {
	double sum[FG_N + EVAL_FLD_N];
	unsigned n[FG_N + EVAL_FLD_N];
};

static void mean_add(struct mean *m, const struct figures *f)
{
	for (int i = 0; i < FG_N + EVAL_FLD_N; i++) {
		double v = i < FG_N ? f->v[i] : f->fld[i - FG_N];
		if (!isnan(v)) {
			m->sum[i] += v;
			m->n[i]++;
		}
	}
}

static void mean_get(const struct mean *m, struct figures *f)
{
	for (int i = 0; i < FG_N + EVAL_FLD_N; i++) {
		double v = m->n[i] ? m->sum[i] / m->n[i] : NAN;
		if (i < FG_N)
			f->v[i] = v;
		else
			f->fld[i - FG_N] = v;
	}
}

static void print_header(void)
{
	printf("%-8s %-32s %7s %6s %6s %7s %6s %6s %6s %6s %6s %6s %6s %9s %7s %5s\n", "model", "trace", "scored",
	       "size", "class", "est", "header", "tcp", "udp", "strict", "tmpl", "packet", "prec", "iat_mae_us",
	       "iat_rel", "ns");
}

static void print_row(const char *model, const char *trace, const struct figures *f)
{
	const double *v = f->v;
	printf("%-8s %-32.32s %7.0f %6.3f %6.3f %7.0f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %9.0f %7.2f %5.0f\n",
	       model, trace, v[FG_SCORED], v[FG_SIZE], v[FG_CLASS], v[FG_EST], v[FG_HEADER], v[FG_TCP], v[FG_UDP],
	       v[FG_STRICT], v[FG_TMPL], v[FG_PACKET], v[FG_PREC], v[FG_IAT_MAE] / 1e3, v[FG_IAT_REL], v[FG_NS]);
}

static void print_fields(const char *model, const char *what, const struct figures *f)
{
	printf("  %s fields%s:", model, what);
	for (int i = 0; i < EVAL_FLD_N; i++)
		if (!isnan(f->fld[i]))
			printf(" %s %.3f", eval_field_names[i], f->fld[i]);
	putchar('\n');
}

/* One score's scalars (names prefixed by 'pre') and calibration histograms into run 'run'. */
static void store_score(struct store *st, int64_t run, const char *pre, struct eval_score *s)
{
	struct figures f;
	figures_of(s, &f);
	char n[96];
	for (int i = 0; i < FG_N; i++)
		if (!isnan(f.v[i])) {
			snprintf(n, sizeof n, "%s%s", pre, fg_name[i]);
			store_scalar(st, run, n, f.v[i]);
		}
	for (int i = 0; i < EVAL_FLD_N; i++)
		if (!isnan(f.fld[i])) {
			snprintf(n, sizeof n, "%sfield_%s_acc", pre, eval_field_names[i]);
			store_scalar(st, run, n, f.fld[i]);
		}
	snprintf(n, sizeof n, "%spayload_anticipated", pre);
	store_scalar(st, run, n, (double)s->pay_predicted);
	snprintf(n, sizeof n, "%spayload_anticipated_right", pre);
	store_scalar(st, run, n, (double)s->pay_ok);
	/* The calibration curve (stated confidence against the header right), as two histograms
	 * over confidence tenths, for the report. */
	for (int b = 0; b < 10; b++)
		if (s->cal_n[b]) {
			snprintf(n, sizeof n, "%scalibration_predictions", pre);
			store_histogram(st, run, n, b / 10.0, (b + 1) / 10.0, s->cal_n[b]);
			snprintf(n, sizeof n, "%scalibration_right", pre);
			store_histogram(st, run, n, b / 10.0, (b + 1) / 10.0, s->cal_ok[b]);
		}
}

/* Run rows for model 'ops' on 'trace'; with 'cross', 'trained_on' is the number of captures its
 * model was trained on (0: not a trained predictor). */
static int store_result(struct store *st, const struct predictor_ops *ops, const char *trace, const char *model_file,
			int cross, int trained_on, struct eval_result *r, struct errbuf *eb)
{
	int64_t run;
	char cmd[2300]; /* paths cut at 1000 bytes each: the command is a record, not a script */
	snprintf(cmd, sizeof cmd, "precraft eval --models %s%s%.1000s%s %.1000s", ops->name, model_file && !cross ? " --model-file " : "",
		 model_file && !cross ? model_file : "", cross ? " --cross" : "", trace);
	if (store_run_begin(st, cmd, 0, 0, &run, eb)) {
		cli_error("%s", eb->msg);
		return EXIT_RUNTIME;
	}
	store_param(st, run, "model", ops->name);
	store_param(st, run, "trace", trace);
	if (model_file && !cross)
		store_param(st, run, "model_file", model_file);
	if (cross)
		store_param(st, run, "cross", "leave-one-capture-out");
	if (trained_on) {
		char v[32];
		snprintf(v, sizeof v, "%d", trained_on);
		store_param(st, run, "trained_on_captures", v);
	}
	store_score(st, run, "", &r->all);
	const struct {
		const char *n;
		uint64_t v;
	} dns[] = {
		{ "dns_answers", r->dns.answers },
		{ "dns_pairs_announced", r->dns.pairs },
		{ "dns_new_flows", r->dns.new_flows },
		{ "dns_announced_flows", r->dns.announced_flows },
		{ "dns_first_packet_hits", r->dns.first_hits },
		{ "dns_templates", r->dns.templates },
		{ "dns_templates_used", r->dns.templates_used },
	};
	for (size_t i = 0; i < sizeof dns / sizeof dns[0]; i++)
		store_scalar(st, run, dns[i].n, (double)dns[i].v);
	for (int c = 0; c < EVAL_CLASS_N; c++) {
		char pre[32], n[64];
		snprintf(pre, sizeof pre, "class_%s_", eval_class_names[c]);
		snprintf(n, sizeof n, "%sflows", pre);
		store_scalar(st, run, n, (double)r->flows[c]);
		if (r->cls[c].scored)
			store_score(st, run, pre, &r->cls[c]);
	}
	if (store_run_end(st, run, "complete", eb)) {
		cli_error("%s; run %lld is marked failed", eb->msg, (long long)run);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* The flows DNS announced (models/eval.h), per capture whose answers announced any. */
static void print_dns(char **traces, int n, const struct eval_dns *d)
{
	int any = 0;
	for (int t = 0; t < n; t++) {
		if (!d[t].pairs)
			continue;
		if (!any++)
			printf("DNS-announced flows (a first packet to TCP 80/443 or UDP 443 of an announced pair could use a "
			       "pre-built template):\n");
		const char *name = strrchr(traces[t], '/') ? strrchr(traces[t], '/') + 1 : traces[t];
		printf("  %s: %llu answers announced %llu (client, address) pairs; of %llu new flows %llu were announced "
		       "(%.1f %%), %llu first packets could hit; %llu of %llu templates used (waste %.1f %%)\n",
		       name, (unsigned long long)d[t].answers, (unsigned long long)d[t].pairs,
		       (unsigned long long)d[t].new_flows, (unsigned long long)d[t].announced_flows,
		       d[t].new_flows ? 100.0 * (double)d[t].announced_flows / (double)d[t].new_flows : 0.0,
		       (unsigned long long)d[t].first_hits, (unsigned long long)d[t].templates_used,
		       (unsigned long long)d[t].templates,
		       d[t].templates ? 100.0 * (double)(d[t].templates - d[t].templates_used) / (double)d[t].templates : 0.0);
	}
	if (!any)
		printf("DNS-announced flows: no answer with addresses in these captures\n");
}

/* Trains 'ops' on every capture but 'held' into a temporary model file, named in 'path'. */
static int train_without(const struct predictor_ops *ops, char **traces, int n, int held, char path[static 4096],
			 struct errbuf *eb)
{
	const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	/* mkstemp(3) replaces the six X with a name no other file has, and creates the file. */
	if (snprintf(path, 4096, "%s/precraft-cross-XXXXXX", dir) >= 4096)
		return err_set(eb, -ERR_INVAL, "TMPDIR is too long for a temporary model file's name");
	int fd = mkstemp(path);
	if (fd < 0)
		return err_set(eb, -ERR_IO, "%s: cannot create a temporary model file", path);
	close(fd);
	const char **others = malloc((size_t)n * sizeof *others);
	if (!others) {
		remove(path);
		return err_set(eb, -ERR_NOMEM, "out of memory");
	}
	int k = 0;
	for (int i = 0; i < n; i++)
		if (i != held)
			others[k++] = traces[i];
	int rc = models_train_file(ops, others, (size_t)k, path, eb);
	free(others);
	if (rc)
		remove(path);
	return rc;
}

enum { O_MODELS = 256, O_DB, O_MODEL_FILE, O_CROSS, O_HELP };
const struct option eval_options[] = {
	{ "models", required_argument, 0, O_MODELS }, { "db", required_argument, 0, O_DB },
	{ "model-file", required_argument, 0, O_MODEL_FILE }, { "cross", no_argument, 0, O_CROSS },
	{ "help", no_argument, 0, O_HELP },           { 0, 0, 0, 0 },
};

int eval_main(const struct cli_args *a)
{
	const char *models = NULL, *db = NULL, *model_file = NULL;
	int cross = 0;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case O_MODELS: models = arg; break;
		case O_DB: db = arg; break;
		case O_MODEL_FILE: model_file = arg; break;
		case O_CROSS: cross = 1; break;
		}
	}
	int n_traces = a->n_pos;
	char **traces = a->pos;
	if (cross && model_file) {
		cli_error("eval: --cross trains its own models; it takes no --model-file");
		return EXIT_USAGE;
	}
	if (cross && n_traces < 2) {
		cli_error("eval: --cross leaves one capture out of the training: it needs at least 2 captures");
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
	if (cross)
		printf("leave-one-capture-out: a trained model is scored on each capture after training on the other %d\n",
		       n_traces - 1);
	print_header();
	int code = EXIT_OK;
	struct cli_progress pr;
	cli_progress_start(&pr, false);
	uint64_t pairs = (uint64_t)n_ops * (uint64_t)n_traces, pairs_done = 0, scored = 0;
	struct eval_dns *dns = calloc((size_t)n_traces, sizeof *dns);
	if (!dns) {
		cli_error("eval: out of memory");
		store_close(st, &eb);
		return EXIT_RUNTIME;
	}
	for (size_t m = 0; m < n_ops && code == EXIT_OK; m++) {
		struct eval_result all;
		memset(&all, 0, sizeof all);
		struct mean mean;
		memset(&mean, 0, sizeof mean);
		int trained = cross && models_trained(ops[m]);
		for (int t = 0; t < n_traces && code == EXIT_OK; t++, pairs_done++) {
			cli_progress_update(&pr, pairs_done, pairs, scored);
			char tmp[4096];
			const char *mf = model_file;
			if (trained) {
				if (train_without(ops[m], traces, n_traces, t, tmp, &eb)) {
					cli_error("%s", eb.msg);
					code = EXIT_USAGE;
					break;
				}
				mf = tmp;
			}
			struct eval_result r;
			memset(&r, 0, sizeof r);
			int rc = eval_trace(traces[t], ops[m], mf, &r, &eb);
			if (trained)
				remove(tmp);
			if (rc) {
				cli_error("%s", eb.msg);
				code = rc == -ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
				eval_result_fini(&r);
				break;
			}
			const char *name = strrchr(traces[t], '/') ? strrchr(traces[t], '/') + 1 : traces[t];
			cli_progress_end(&pr);
			struct figures f;
			figures_of(&r.all, &f);
			print_row(ops[m]->name, name, &f);
			if (r.all.scored)
				mean_add(&mean, &f);
			if (st)
				code = store_result(st, ops[m], traces[t], cross ? NULL : mf, cross, trained ? n_traces - 1 : 0, &r, &eb);
			scored += r.all.scored;
			dns[t] = r.dns;
			eval_result_merge(&all, &r);
			eval_result_fini(&r);
		}
		if (code != EXIT_OK) {
			eval_result_fini(&all);
			break;
		}
		struct figures f;
		figures_of(&all.all, &f);
		if (n_traces > 1) {
			print_row(ops[m]->name, "all (packet-weighted)", &f);
			struct figures fm;
			mean_get(&mean, &fm);
			fm.v[FG_SCORED] = NAN;
			fm.v[FG_EST] = NAN;
			char what[48];
			snprintf(what, sizeof what, "mean of %u captures", mean.n[FG_SIZE]);
			print_row(ops[m]->name, what, &fm);
			print_fields(ops[m]->name, " (mean of the captures)", &fm);
		}
		print_fields(ops[m]->name, "", &f);
		for (int k = 0; k < EVAL_CLASS_N; k++) {
			if (!all.cls[k].scored)
				continue;
			struct figures fc;
			figures_of(&all.cls[k], &fc);
			char what[48];
			snprintf(what, sizeof what, "  %s (%llu flows)", eval_class_names[k], (unsigned long long)all.flows[k]);
			print_row(ops[m]->name, what, &fc);
		}
		printf("  %s payload anticipation: %llu of %llu packets with a payload anticipated, %llu right",
		       ops[m]->name, (unsigned long long)all.all.pay_predicted, (unsigned long long)all.all.pay_n,
		       (unsigned long long)all.all.pay_ok);
		printf("\n  %s calibration (confidence -> header right):", ops[m]->name);
		for (int b = 0; b < 10; b++)
			if (all.all.cal_n[b])
				printf(" [%.1f,%.1f) %.2f (%llu)", b / 10.0, (b + 1) / 10.0,
				       frac(all.all.cal_ok[b], all.all.cal_n[b]), (unsigned long long)all.all.cal_n[b]);
		putchar('\n');
		eval_result_fini(&all);
	}
	cli_progress_end(&pr);
	if (code == EXIT_OK)
		print_dns(traces, n_traces, dns);
	free(dns);
	if (st && store_close(st, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
	}
	return code;
}
