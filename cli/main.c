/* precraft: the one program, its subcommands dispatched from a table (STYLE.md §10). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/predict.h"
#include "models/registry.h"

static int predictors_main(int argc, char **argv);

static const char predictors_usage[] = "usage: precraft predictors\n  Lists the predictors --predictor accepts.\n";

/* The usage texts that take the shaper's options mark where with "%s" (cli_print_usage). */
static const struct cli_command commands[] = {
	{ "replay", "run a capture through the shaper (baseline, precraft or shadow mode)", replay_usage, 1, 1,
	  replay_main },
	{ "sim", "run a scenario in the discrete-event simulator; results to SQLite", sim_usage, 1, 1, sim_main },
	{ "calibrate", "measure the core's cost per operation for the simulator", calibrate_usage, 0, 64,
	  calibrate_main },
	{ "hil", "the shaper on real interfaces: forward, replay, capture (lab: hil/lab)", hil_usage, 1, 2, hil_main },
	{ "rewrite", "map a capture's addresses into the lab's ranges (--lab)", rewrite_usage, 2, 2, rewrite_main },
	{ "compare", "compare two captures packet by packet", compare_usage, 2, 2, compare_main },
	{ "eval", "score predictors on captures (leaderboard, calibration); --db stores it", eval_usage, 1, -1,
	  eval_main },
	{ "train", "fit a trained predictor's model file from captures (--model ml -o FILE)", train_usage, 1, -1,
	  train_main },
	{ "predictors", "list the predictors", predictors_usage, 0, 0, predictors_main },
	{ "report", "an HTML report with gnuplot figures of a results database", report_usage, 1, 1, report_main },
	{ "compare-runs", "two runs' scalars side by side: difference and ratio", compare_runs_usage, 3, 3,
	  compare_runs_main },
	{ "export", "a results database as CSV or ns-3 FlowMonitor XML", export_usage, 1, 1, export_main },
	{ "sweep", "a scenario over a parameter grid x replications (-j, --shard, mpirun)", sweep_usage, 1, 1,
	  sweep_main },
	{ "merge", "merge results databases (a sweep's shards) into one", merge_usage, 2, -1, merge_main },
	{ "summary", "mean, sd and 95 % confidence interval of metrics per group of runs", summary_usage, 1, 1,
	  summary_main },
	{ "study", "where does pre-crafting pay: each policy against off, cell by cell, with intervals", study_usage, 1,
	  1, study_main },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

const struct cli_command *cli_command_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

bool cli_positional(const char *name, int n)
{
	const struct cli_command *c = cli_command_find(name);
	if (!c || (n >= c->min_args && (c->max_args < 0 || n <= c->max_args)))
		return true;
	if (c->min_args == c->max_args)
		cli_error("%s: expected %d argument%s, got %d (see 'precraft %s --help')", name, c->min_args,
			  c->min_args == 1 ? "" : "s", n, name);
	else if (c->max_args < 0)
		cli_error("%s: expected at least %d argument%s, got %d (see 'precraft %s --help')", name, c->min_args,
			  c->min_args == 1 ? "" : "s", n, name);
	else
		cli_error("%s: expected %d to %d arguments, got %d (see 'precraft %s --help')", name, c->min_args,
			  c->max_args, n, name);
	return false;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: precraft COMMAND [ARGS]   (precraft COMMAND --help for its options)\n"
		   "Dynamic flow shaping by predictive packet crafting.\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n  -h, --help, --version\n");
}

static int predictors_main(int argc, char **argv)
{
	(void)argv;
	if (!cli_positional("predictors", argc - 1))
		return EXIT_USAGE;
	for (size_t i = 0; models_at(i); i++)
		printf("%-10s %s\n", models_at(i)->name, models_at(i)->summary);
	return EXIT_OK;
}

/* The shaper's options, for the usage texts that name them. */
extern const char shaper_usage[];

int main(int argc, char **argv)
{
	cli_set_command_line(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("precraft %s\n", PRECRAFT_VERSION);
		return EXIT_OK;
	}
	const struct cli_command *c = cli_command_find(argv[1]);
	if (!c) {
		cli_error("unknown command '%s' (see 'precraft --help')", argv[1]);
		return EXIT_USAGE;
	}
	/* `precraft CMD --help` (or -h) prints the row's usage, whatever the command. */
	if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		cli_print_usage(stdout, c->usage);
		return EXIT_OK;
	}
	return c->handler(argc - 1, argv + 1);
}
