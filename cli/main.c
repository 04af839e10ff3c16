/* precraft: the one program, its subcommands dispatched from a table (STYLE.md §10).  Each
 * handler lives with the part it drives and returns the exit code. */
#include <stdio.h>
#include <string.h>

#include "core/predict.h"
#include "hil/hil.h"
#include "models/registry.h"
#include "sim/cliutil.h"
#include "sim/replay.h"
#include "sim/evalcmd.h"
#include "sim/simcmd.h"
#include "sim/tracecmd.h"
#include "sim/traincmd.h"

static int predictors_main(int argc, char **argv);

struct command {
	const char *name;
	const char *summary;
	int (*handler)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "replay", "run a capture through the shaper (baseline, precraft or shadow mode)", replay_main },
	{ "sim", "run a scenario in the discrete-event simulator; results to SQLite", sim_main },
	{ "calibrate", "measure the core's cost per operation for the simulator", calibrate_main },
	{ "hil", "the shaper on real interfaces: forward, replay, capture (lab: hil/lab)", hil_main },
	{ "rewrite", "map a capture's addresses into the lab's ranges (--lab)", rewrite_main },
	{ "compare", "compare two captures packet by packet", compare_main },
	{ "eval", "score predictors on captures (leaderboard, calibration); --db stores it", eval_main },
	{ "train", "fit a trained predictor's model file from captures (--model ml -o FILE)", train_main },
	{ "predictors", "list the predictors", predictors_main },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: precraft COMMAND [ARGS]   (precraft COMMAND --help for its options)\n"
		   "Dynamic flow shaping by predictive packet crafting.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n  --help, --version\n");
}

static int predictors_main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		puts("usage: precraft predictors\n  Lists the predictors --predictor accepts.");
		return EXIT_OK;
	}
	for (size_t i = 0; models_at(i); i++)
		printf("%-10s %s\n", models_at(i)->name, models_at(i)->summary);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("precraft %s\n", PRECRAFT_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].handler(argc - 1, argv + 1);
	cli_error("unknown command '%s' (see 'precraft --help')", argv[1]);
	return EXIT_USAGE;
}
