/* commands: the handlers of the command table (cli/main.c) and their usage texts.  Each
 * handler reads the options the dispatcher parsed from its row (cli_args), calls the parts it
 * drives, and returns the exit code. */
#ifndef PRECRAFT_CLI_COMMANDS_H
#define PRECRAFT_CLI_COMMANDS_H

#include <getopt.h>
#include <stdbool.h>

struct cli_args;
struct option;
struct scenario;

int replay_main(const struct cli_args *a);
int sim_main(const struct cli_args *a);
int calibrate_main(const struct cli_args *a);
int hil_main(const struct cli_args *a);
int rewrite_main(const struct cli_args *a);
int compare_main(const struct cli_args *a);
int eval_main(const struct cli_args *a);
int train_main(const struct cli_args *a);
int report_main(const struct cli_args *a);
int compare_runs_main(const struct cli_args *a);
int export_main(const struct cli_args *a);
int summary_main(const struct cli_args *a);
int sweep_main(const struct cli_args *a);
int merge_main(const struct cli_args *a);
int study_main(const struct cli_args *a);
int decompress_main(const struct cli_args *a);

/* sim's option values: its row names --keys as the option that answers without a scenario. */
enum { SIM_O_SET = 256, SIM_O_DB, SIM_O_RUN, SIM_O_QUIET, SIM_O_HELP, SIM_O_KEYS };

/* The commands' own options (the rows' tables; the shaper's are shaper.c's). */
extern const struct option replay_options[], sim_options[], calibrate_options[], hil_options[], rewrite_options[],
	compare_options[], eval_options[], train_options[], report_options[], export_options[], summary_options[],
	sweep_options[], study_options[], decompress_options[];

extern const char replay_usage[], sim_usage[], calibrate_usage[], hil_usage[], rewrite_usage[],
	compare_usage[], eval_usage[], train_usage[], report_usage[], compare_runs_usage[], export_usage[],
	summary_usage[], sweep_usage[], merge_usage[], study_usage[], decompress_usage[];

/* What a sweep adds to one of its runs: the command recorded (the `precraft sim` line that
 * reproduces the run alone) and parameters (sweep.point, sweep.key, sweep.job). */
struct sim_tag {
	const char *command;
	const char *const (*params)[2];
	unsigned n_params;
};

/* Runs the simulator on scenario 'scn' (sources and shaper keys final) into database 'db'
 * (NULL: none), recorded as the command typed (or as 'tag' says, when not NULL); prints a
 * summary unless 'quiet'.  Used by `sim`, `sweep` and `replay --timed`.  Returns the exit
 * code. */
int sim_cmd_run(const struct scenario *scn, const char *db, bool quiet, const struct sim_tag *tag);

/* Says, in one line, that the database of 'st' could be read only as an immutable file
 * (read-only media): report_cmd.c, for the readers of a database. */
struct store;
void cli_say_read_only(const struct store *st);

#endif
