/* train_cmd: `precraft train TRACE... --model ml|xgb -o FILE`.
 *
 * The trainers (models/ml_train.c, models/xgb_train.c) walk the captures' flows keyed exactly
 * as `eval` and the engine key them.  The model file is written only when training succeeded,
 * to a temporary name renamed into place, so a failed run never leaves half a model behind. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "models/ml.h"
#include "models/xgb.h"

const char train_usage[] =
	"usage: precraft train TRACE... --model ml|xgb -o FILE [--classes K] [--seed N] [--rounds N] [--depth N]\n"
	"  Fits the model of a trained predictor from captures and writes its model file (format:\n"
	"  doc/model-format.md); use it with 'precraft eval --model-file' or 'replay --model-file'.\n"
	"  --model NAME   the predictor to train: ml, or xgb (gradient-boosted trees, XGBoost)\n"
	"  -o FILE        the model file to write\n"
	"  --classes K    ml: flow classes fitted by k-means on the first 4 sizes (default 16, at most 64)\n"
	"  --seed N       ml: seed of the k-means++ initialisation (default 1)\n"
	"  --rounds N     xgb: boosting rounds of both ensembles (default: 2 for the size, 8 for the gap)\n"
	"  --depth N      xgb: the trees' depth (default 4, at most 10)\n";

/* Writes a model through a temporary name renamed into place. */
static int save_model(const char *out, int (*save)(const char *, const void *, struct errbuf *), const void *m)
{
	struct errbuf eb = { "" };
	if (cli_write_output(out, save, m, &eb)) {
		cli_error("%s", eb.msg);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int save_ml(const char *path, const void *m, struct errbuf *eb)
{
	return ml_model_save(path, m, eb);
}

static int save_xgb(const char *path, const void *m, struct errbuf *eb)
{
	return xgb_model_save(path, m, eb);
}

static int train_xgb(char **paths, int n, const struct xgb_train_cfg *cfg, const char *out)
{
	struct errbuf eb = { "" };
	struct xgb_model m;
	struct xgb_train_report rep;
	int rc = xgb_train_files((const char *const *)paths, (size_t)n, cfg, &m, &rep, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		return rc == -ERR_NOMEM || rc == -ERR_IO ? EXIT_RUNTIME : EXIT_USAGE;
	}
	int code = save_model(out, save_xgb, &m);
	if (code == EXIT_OK)
		printf("model xgb: %u size trees, %u gap trees, %u nodes, trained on %llu packets of %llu flows%s; "
		       "walker vs XGBoost on the training rows: size %.2g, gap %.2g at most -> %s\n",
		       m.size.n_trees, m.gap.n_trees, m.size.n_nodes + m.gap.n_nodes, (unsigned long long)rep.rows,
		       (unsigned long long)m.trained_flows, rep.capped ? " (capped)" : "", rep.size_max_diff,
		       rep.gap_max_diff, out);
	xgb_model_free(&m);
	return code;
}

enum { O_MODEL = 256, O_CLASSES, O_SEED, O_ROUNDS, O_DEPTH, O_HELP };
const struct option train_options[] = {
	{ "model", required_argument, 0, O_MODEL },   { "classes", required_argument, 0, O_CLASSES },
	{ "seed", required_argument, 0, O_SEED },     { "rounds", required_argument, 0, O_ROUNDS },
	{ "depth", required_argument, 0, O_DEPTH },   { "help", no_argument, 0, O_HELP },
	{ 0, 0, 0, 0 },
};

int train_main(const struct cli_args *a)
{
	const char *model = NULL, *out = NULL;
	uint64_t classes = ML_DEFAULT_CLASSES, seed = 1, rounds = 0, depth = 0;
	struct xgb_train_cfg xcfg = XGB_TRAIN_DEFAULTS;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case O_MODEL: model = arg; break;
		case 'o': out = arg; break;
		case O_CLASSES:
			if (!cli_u64("--classes", arg, 1, ML_MAX_CLUSTERS, &classes))
				return EXIT_USAGE;
			break;
		case O_SEED:
			if (!cli_u64("--seed", arg, 0, UINT32_MAX, &seed))
				return EXIT_USAGE;
			break;
		case O_ROUNDS:
			if (!cli_u64("--rounds", arg, 1, XGB_MAX_TREES, &rounds))
				return EXIT_USAGE;
			break;
		case O_DEPTH:
			if (!cli_u64("--depth", arg, 1, 10, &depth))
				return EXIT_USAGE;
			break;
		}
	}
	if (!model || (strcmp(model, "ml") != 0 && strcmp(model, "xgb") != 0)) {
		cli_error("train: --model ml or --model xgb is required (the trained predictors; see 'precraft predictors')");
		return EXIT_USAGE;
	}
	if (!out) {
		cli_error("train: -o FILE is required");
		return EXIT_USAGE;
	}
	if (strcmp(model, "xgb") == 0) {
		if (rounds)
			xcfg.size_rounds = xcfg.gap_rounds = (unsigned)rounds;
		if (depth)
			xcfg.depth = (unsigned)depth;
		return train_xgb(a->pos, a->n_pos, &xcfg, out);
	}
	struct errbuf eb = { "" };
	struct ml_model m;
	int code = EXIT_OK, rc = ml_train_files((const char *const *)a->pos, (size_t)(a->n_pos),
						(uint32_t)classes, seed, &m, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		code = rc == -ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	if (code == EXIT_OK) {
		if ((code = save_model(out, save_ml, &m)) == EXIT_OK) {
			printf("model ml: %u classes, %u contexts, trained on %llu packets of %llu flows -> %s\n", m.k,
			       m.used, (unsigned long long)m.trained_packets, (unsigned long long)m.trained_flows, out);
		}
	}
	if (!rc)
		ml_model_free(&m);
	return code;
}
