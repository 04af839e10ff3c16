/* precraft: the one program, its subcommands dispatched from a table (STYLE.md §10). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "shaper.h"
#include "core/predict.h"
#include "models/registry.h"

static int predictors_main(const struct cli_args *a);

static const char predictors_usage[] = "usage: precraft predictors\n  Lists the predictors --predictor accepts.\n";

/* The usage texts that take the shaper's options mark where with "%s" (cli_print_usage). */
static const struct cli_command commands[] = {
	{ "replay", "run a capture through the shaper (baseline, precraft or shadow mode)", replay_usage, 1, 1,
	  .shortopts = "h", .options = replay_options, .shaper = true, .handler = replay_main },
	{ "decompress", "rebuild the frames of a compressed link (replay --compress), with loss", decompress_usage, 1, 1,
	  .shortopts = "o:", .options = decompress_options, .handler = decompress_main },
	{ "sim", "run a scenario in the discrete-event simulator; results to SQLite", sim_usage, 1, 1,
	  .shortopts = "h", .options = sim_options, .shaper = true, .early = SIM_O_KEYS, .handler = sim_main },
	{ "calibrate", "measure the core's cost per operation for the simulator", calibrate_usage, 0, 64,
	  .shortopts = "o:", .options = calibrate_options, .handler = calibrate_main },
	{ "hil", "the shaper on real interfaces: forward, replay, capture (lab: hil/lab)", hil_usage, 1, 2,
	  .shortopts = "hZ:w:", .options = hil_options, .shaper = true, .handler = hil_main },
	{ "rewrite", "map a capture's addresses into the lab's ranges (--lab)", rewrite_usage, 1, 1,
	  .shortopts = "o:", .options = rewrite_options, .handler = rewrite_main },
	{ "compare", "compare two captures packet by packet", compare_usage, 2, 2, .options = compare_options,
	  .handler = compare_main },
	{ "eval", "score predictors on captures (leaderboard, calibration); --db stores it", eval_usage, 1, -1,
	  .options = eval_options, .handler = eval_main },
	{ "train", "fit a trained predictor's model file from captures (--model ml -o FILE)", train_usage, 1, -1,
	  .shortopts = "o:", .options = train_options, .handler = train_main },
	{ "predictors", "list the predictors", predictors_usage, 0, 0, .handler = predictors_main },
	{ "report", "an HTML report with gnuplot figures of a results database", report_usage, 1, 1,
	  .options = report_options, .handler = report_main },
	{ "compare-runs", "two runs' scalars side by side: difference and ratio", compare_runs_usage, 3, 3,
	  .handler = compare_runs_main },
	{ "export", "a results database as CSV or ns-3 FlowMonitor XML", export_usage, 1, 1, .options = export_options,
	  .handler = export_main },
	{ "sweep", "a scenario over a parameter grid x replications (-j, --shard, mpirun)", sweep_usage, 1, 1,
	  .shortopts = "hj:", .options = sweep_options, .handler = sweep_main },
	{ "merge", "merge results databases (a sweep's shards) into one", merge_usage, 2, -1, .handler = merge_main },
	{ "summary", "mean, sd and 95 % confidence interval of metrics per group of runs", summary_usage, 1, 1,
	  .options = summary_options, .handler = summary_main },
	{ "study", "where does pre-crafting pay: each policy against off, cell by cell, with intervals", study_usage, 1,
	  1, .options = study_options, .handler = study_main },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

const struct cli_command *cli_command_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/* Checks 'n' positional arguments against row 'c'; says "NAME: expected ..." and returns false
 * when they do not fit. */
static bool positional_ok(const struct cli_command *c, int n)
{
	const char *name = c->name;
	if (n >= c->min_args && (c->max_args < 0 || n <= c->max_args))
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

static int predictors_main(const struct cli_args *a)
{
	(void)a;
	for (size_t i = 0; models_at(i); i++)
		printf("%-10s %s\n", models_at(i)->name, models_at(i)->summary);
	return EXIT_OK;
}

/* True when option 'id' is --help (or -h) in row 'c'. */
static bool is_help(const struct cli_command *c, int id)
{
	if (id == 'h' && c->shortopts && strchr(c->shortopts, 'h'))
		return true;
	for (const struct option *o = c->options; o && o->name; o++)
		if (o->val == id && strcmp(o->name, "help") == 0)
			return true;
	return false;
}

/* Parses 'argv' (argv[0] the command's name) by row 'c' into 'a' (its 'opt' malloc'd), the
 * shaper's options into 'so'.  Returns -1 when the handler is to run, else the exit code (an
 * error said, or --help printed). */
static int parse(const struct cli_command *c, int argc, char **argv, struct shaper_opts *so, struct cli_args *a)
{
	struct option lo[96];
	static const struct option none[] = { { 0, 0, 0, 0 } };
	shaper_join_options(c->options ? c->options : none, c->shaper, lo, sizeof lo / sizeof lo[0]);
	struct cli_opt *opt = malloc((size_t)argc * sizeof *opt);
	if (!opt)
		return EXIT_RUNTIME;
	*a = (struct cli_args){ .cmd = c, .opt = opt, .shaper = c->shaper ? so : NULL };
	/* getopt's state is the dispatcher's alone: set once, here. */
	optind = 1;
	opterr = 0;
	int id;
	while ((id = getopt_long(argc, argv, c->shortopts ? c->shortopts : "", lo, NULL)) != -1) {
		if (id == '?' || id == ':') {
			cli_error("%s: unknown or incomplete option '%s' (see 'precraft %s --help')", c->name,
				  argv[optind - 1], c->name);
			return EXIT_USAGE;
		}
		if (is_help(c, id)) {
			cli_print_usage(stdout, c->usage);
			return EXIT_OK;
		}
		int r = c->shaper ? shaper_apply_option(id, optarg, so) : 0;
		if (r < 0)
			return EXIT_USAGE;
		if (r == 0)
			opt[a->n_opt++] = (struct cli_opt){ id, optarg };
	}
	a->pos = argv + optind;
	a->n_pos = argc - optind;
	for (size_t i = 0; c->early && i < a->n_opt; i++)
		if (a->opt[i].id == c->early)
			return -1;
	return positional_ok(c, a->n_pos) ? -1 : EXIT_USAGE;
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
	struct shaper_opts so;
	shaper_opts_defaults(&so);
	struct cli_args a = { 0 };
	int code = parse(c, argc - 1, argv + 1, &so, &a);
	if (code < 0)
		code = c->handler(&a);
	free((void *)a.opt);
	return code;
}
