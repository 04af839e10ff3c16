/* eval_cmd: `precraft eval`, the predictor leaderboard: the scores (models/eval.h) printed as a
 * table and, with --db, stored one run per model and trace. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/store.h"
#include "cli.h"
#include "commands.h"
#include "models/eval.h"
#include "models/registry.h"

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

static void print_row(const char *model, const char *trace, struct eval_score *s)
{
	printf("%-8s %-32.32s %7llu %6.3f %6.3f %7llu %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %9.0f %7.2f %5.0f\n",
	       model, trace, (unsigned long long)s->scored, frac(s->size_exact, s->scored),
	       frac(s->size_class, s->scored), (unsigned long long)s->est, frac(s->header_full, s->est),
	       frac(s->tcp_header_full, s->tcp_est), frac(s->udp_header_full, s->udp_est),
	       frac(s->strict_hit, s->est), frac(s->template_hit, s->est), frac(s->packet_full, s->est),
	       frac(s->confident_right, s->confident), s->iat_n ? s->iat_abs_sum / (double)s->iat_n / 1e3 : NAN,
	       eval_median_rel(s), s->predictions ? s->predict_ns / (double)s->predictions : NAN);
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
		struct eval_score all;
		memset(&all, 0, sizeof all);
		for (int t = optind; t < argc; t++, pairs_done++) {
			cli_progress_update(&pr, pairs_done, pairs, scored);
			struct eval_score s;
			memset(&s, 0, sizeof s);
			if (eval_trace(argv[t], ops[m], model_file, &s, &eb)) {
				cli_error("%s", eb.msg);
				code = EXIT_USAGE;
				eval_score_fini(&s);
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
						{ "iat_median_rel_err", eval_median_rel(&s) },
						{ "ns_per_prediction", s.predictions ? s.predict_ns / (double)s.predictions : NAN },
					};
					for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
						if (!isnan(sc[i].v))
							store_scalar(st, run, sc[i].n, sc[i].v);
					store_scalar(st, run, "payload_anticipated", (double)s.pay_predicted);
					store_scalar(st, run, "payload_anticipated_right", (double)s.pay_ok);
					for (int f = 0; f < EVAL_FLD_N; f++)
						if (s.fld_n[f]) {
							char n[64];
							snprintf(n, sizeof n, "field_%s_acc", eval_field_names[f]);
							store_scalar(st, run, n, frac(s.fld_ok[f], s.fld_n[f]));
						}
					/* The calibration curve (stated confidence against the header right), as two
					 * histograms over confidence tenths, for the report. */
					for (int b = 0; b < 10; b++)
						if (s.cal_n[b]) {
							store_histogram(st, run, "calibration_predictions", b / 10.0, (b + 1) / 10.0,
									s.cal_n[b]);
							store_histogram(st, run, "calibration_right", b / 10.0, (b + 1) / 10.0,
									s.cal_ok[b]);
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
			eval_merge(&all, &s);
			eval_score_fini(&s);
		}
		if (code != EXIT_OK) {
			eval_score_fini(&all);
			break;
		}
		if (argc - optind > 1)
			print_row(ops[m]->name, "all (packet-weighted)", &all);
		printf("  %s fields:", ops[m]->name);
		for (int f = 0; f < EVAL_FLD_N; f++)
			if (all.fld_n[f])
				printf(" %s %.3f", eval_field_names[f], frac(all.fld_ok[f], all.fld_n[f]));
		printf("\n  %s payload anticipation: %llu of %llu packets with a payload anticipated, %llu right",
		       ops[m]->name, (unsigned long long)all.pay_predicted, (unsigned long long)all.pay_n,
		       (unsigned long long)all.pay_ok);
		printf("\n  %s calibration (confidence -> header right):", ops[m]->name);
		for (int b = 0; b < 10; b++)
			if (all.cal_n[b])
				printf(" [%.1f,%.1f) %.2f (%llu)", b / 10.0, (b + 1) / 10.0, frac(all.cal_ok[b], all.cal_n[b]),
				       (unsigned long long)all.cal_n[b]);
		putchar('\n');
		eval_score_fini(&all);
	}
	cli_progress_end(&pr);
	if (st && store_close(st, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
	}
	return code;
}
