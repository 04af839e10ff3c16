/* traincmd: `precraft train TRACE... --model ml -o FILE` (see traincmd.h).
 *
 * Two passes over the captures (the trainer's design, models/ml_train.c), flows keyed exactly
 * as `eval` and the engine key them.  The model file is written only when training succeeded,
 * to a temporary name renamed into place, so a failed run never leaves half a model behind. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "models/ml.h"

const char train_usage[] =
	"usage: precraft train TRACE... --model ml -o FILE [--classes K] [--seed N]\n"
	"  Fits the model of a trained predictor from captures and writes its model file (format:\n"
	"  doc/model-format.md); use it with 'precraft eval --model-file' or 'replay --model-file'.\n"
	"  --model NAME   the predictor to train (only 'ml' is trained)\n"
	"  -o FILE        the model file to write\n"
	"  --classes K    flow classes fitted by k-means on the first 4 sizes (default 16, at most 64)\n"
	"  --seed N       seed of the k-means++ initialisation (default 1)\n";

int train_main(int argc, char **argv)
{
	enum { O_MODEL = 256, O_CLASSES, O_SEED, O_HELP };
	static const struct option lo[] = {
		{ "model", required_argument, 0, O_MODEL }, { "classes", required_argument, 0, O_CLASSES },
		{ "seed", required_argument, 0, O_SEED },   { "help", no_argument, 0, O_HELP },
		{ 0, 0, 0, 0 },
	};
	const char *model = NULL, *out = NULL;
	uint64_t classes = ML_DEFAULT_CLASSES, seed = 1;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		switch (c) {
		case O_MODEL: model = optarg; break;
		case 'o': out = optarg; break;
		case O_CLASSES:
			if (!cli_u64("--classes", optarg, 1, ML_MAX_CLUSTERS, &classes))
				return EXIT_USAGE;
			break;
		case O_SEED:
			if (!cli_u64("--seed", optarg, 0, UINT32_MAX, &seed))
				return EXIT_USAGE;
			break;
		case O_HELP: fputs(train_usage, stdout); return EXIT_OK;
		default:
			cli_error("train: unknown or incomplete option '%s' (see 'precraft train --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (!model || strcmp(model, "ml") != 0) {
		cli_error("train: --model ml is required (the only trained predictor; see 'precraft predictors')");
		return EXIT_USAGE;
	}
	if (!out) {
		cli_error("train: -o FILE is required");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		cli_error("train: expected at least one TRACE (see 'precraft train --help')");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct ml_model m;
	int code = EXIT_OK, rc = ml_train_files((const char *const *)argv + optind, (size_t)(argc - optind),
						(uint32_t)classes, seed, &m, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		code = rc == -ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	if (code == EXIT_OK) {
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", out);
		if (ml_model_save(tmp, &m, &eb) || rename(tmp, out) != 0) {
			cli_error("%s", eb.msg[0] ? eb.msg : "cannot rename the model file into place");
			remove(tmp);
			code = EXIT_RUNTIME;
		} else {
			printf("model ml: %u classes, %u contexts, trained on %llu packets of %llu flows -> %s\n", m.k,
			       m.used, (unsigned long long)m.trained_packets, (unsigned long long)m.trained_flows, out);
		}
	}
	if (!rc)
		ml_model_free(&m);
	return code;
}
