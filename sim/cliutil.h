/* cliutil: what every subcommand handler shares: number parsing with clear errors, finding
 * the data files that ship with precraft, and a progress line on a terminal. */
#ifndef PRECRAFT_SIM_CLIUTIL_H
#define PRECRAFT_SIM_CLIUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes (DESIGN.md §3). */
#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_DIVERGED 3

/* Prints "precraft: <msg>" on stderr as one line. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses an unsigned integer option value in [lo, hi]; prints an error naming 'opt' and returns
 * false when it is not one. */
bool cli_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
bool cli_double(const char *opt, const char *s, double lo, double hi, double *out);

/* Finds data file 'name' (e.g. "default.routes"): $PRECRAFT_DATA, then the source tree's
 * scenarios/ beside the program's build directory, then the installed share/precraft/.  Writes
 * the path to 'out' and returns true when found. */
bool cli_find_data(const char *name, char *out, size_t cap);

/* A progress line on stderr, shown only when stderr is a terminal and the run has taken more
 * than a second. */
struct cli_progress {
	bool enabled, shown;
	uint64_t start_ns, last_ns;
};
void cli_progress_start(struct cli_progress *pr, bool quiet);
void cli_progress_update(struct cli_progress *pr, uint64_t done, uint64_t total, uint64_t packets);
void cli_progress_end(struct cli_progress *pr);

uint64_t cli_now_ns(void);

/* Writes "PREFIX ARGV..." (the command as typed, for run.command) into 'out'. */
void cli_command_line(const char *prefix, int argc, char **argv, char *out, size_t cap);

#endif
