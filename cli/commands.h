/* commands: the handlers of the command table (cli/main.c) and their usage texts.  Each
 * handler parses its options, calls the parts it drives, and returns the exit code. */
#ifndef PRECRAFT_CLI_COMMANDS_H
#define PRECRAFT_CLI_COMMANDS_H

#include <stdbool.h>

struct scenario;

int replay_main(int argc, char **argv);
int sim_main(int argc, char **argv);
int calibrate_main(int argc, char **argv);
int hil_main(int argc, char **argv);
int rewrite_main(int argc, char **argv);
int compare_main(int argc, char **argv);
int eval_main(int argc, char **argv);
int train_main(int argc, char **argv);
int report_main(int argc, char **argv);
int compare_runs_main(int argc, char **argv);
int export_main(int argc, char **argv);
int summary_main(int argc, char **argv);
int sweep_main(int argc, char **argv);
int merge_main(int argc, char **argv);
int study_main(int argc, char **argv);

extern const char replay_usage[], sim_usage[], calibrate_usage[], hil_usage[], rewrite_usage[],
	compare_usage[], eval_usage[], train_usage[], report_usage[], compare_runs_usage[], export_usage[],
	summary_usage[], sweep_usage[], merge_usage[], study_usage[];

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
