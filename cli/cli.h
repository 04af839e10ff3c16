/* cli: what every subcommand handler shares.
 *
 * The command table (STYLE.md §10): each row names a command, its usage text, its options and
 * how many positional arguments it takes; the dispatcher parses every command line from it
 * (unknown options, --help and the argument count handled there, once), and `precraft --help`
 * and `precraft CMD --help` print from it.  One error → exit-code
 * map, one stop flag for Ctrl-C, number parsing with clear errors, finding the data files that
 * ship with precraft, the command line as typed for run.command, and a progress line on a
 * terminal.  Only the command line prints errors and chooses exit codes (STYLE.md §5). */
#ifndef PRECRAFT_CLI_CLI_H
#define PRECRAFT_CLI_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct errbuf;

/* Exit codes (DESIGN.md §3). */
#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_DIVERGED 3

struct option;
struct shaper_opts;

/* One of a command's own options, as given: getopt_long's value for it (the row's 'val', or the
 * short option's letter) and its argument (NULL for one that takes none). */
struct cli_opt {
	int id;
	const char *arg;
};

/* A command line, parsed once by the dispatcher from the command's row: no handler runs getopt
 * (OVS's ovs_cmdl_command does the same). */
struct cli_args {
	const struct cli_command *cmd;
	const struct cli_opt *opt; /* the command's own options, in the order given */
	size_t n_opt;
	char **pos;                /* the positional arguments, their count checked against the row */
	int n_pos;
	const struct shaper_opts *shaper; /* with the defaults, the shaper's options taken (rows
					   * with .shaper); NULL for the others */
};

struct cli_command {
	const char *name;
	const char *summary;       /* one line for `precraft --help` */
	const char *usage;         /* the full text for `precraft NAME --help` */
	int min_args, max_args;    /* positional arguments after the options (-1: no limit) */
	const char *shortopts;     /* getopt's short options ("h" is --help everywhere); NULL: none */
	const struct option *options; /* the long options, a zero row last (one named "help" is
				       * --help everywhere); NULL: none */
	bool shaper;               /* the shaper's options too (shaper.h) */
	int early;                 /* an option that answers without the arguments (sim --keys): the
				    * handler runs with it whatever their count; 0: none */
	int (*handler)(const struct cli_args *a);
};

/* The table, in cli/main.c. */
const struct cli_command *cli_command_find(const char *name);


/* The exit code for a negative ERR_* from a module: out of memory or buffers is a runtime
 * failure (1), anything else (a bad file, value or name) bad input (2). */
int cli_exit_code(int err);

/* Set by SIGINT and SIGTERM once cli_catch_signals() has run; runners poll it and stop,
 * keeping what they measured. */
extern volatile sig_atomic_t cli_stop;
void cli_catch_signals(void);
/* Set by SIGHUP once cli_catch_hup() has run (hil forward re-reads its route table). */
extern volatile sig_atomic_t cli_hup;
void cli_catch_hup(void);

/* Prints "precraft: <msg>" on stderr as one line. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses an unsigned integer option value in [lo, hi]; prints an error naming 'opt' and returns
 * false when it is not one. */
bool cli_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
bool cli_double(const char *opt, const char *s, double lo, double hi, double *out);

/* Finds data file 'name' (e.g. "default.routes", or "../traces/zeek-smb2.pcap"): in
 * $PRECRAFT_DATA, then the source tree's scenarios/ beside the program's build directory, then
 * the installed share/precraft/scenarios/.  Writes
 * the path to 'out' and returns true when found. */
bool cli_find_data(const char *name, char *out, size_t cap);

/* A progress line on stderr, shown only when stderr is a terminal and the run has taken more
 * than a second.  'total' 0 shows a count without a bar. */
struct cli_progress {
	bool enabled, shown;
	uint64_t start_ns, last_ns;
};
void cli_progress_start(struct cli_progress *pr, bool quiet);
void cli_progress_update(struct cli_progress *pr, uint64_t done, uint64_t total, uint64_t packets);
void cli_progress_end(struct cli_progress *pr);

uint64_t cli_now_ns(void);

/* Keeps "precraft ARGV..." as typed (main calls it before any option parsing permutes argv);
 * cli_command_line() returns it, for run.command. */
void cli_set_command_line(int argc, char **argv);
const char *cli_command_line(void);

/* Prints "name value" as a summary line: whole numbers as such, others to one decimal (four
 * below 1).  'arg' is unused (the shape of stats_each's callback). */
void cli_print_scalar(void *arg, const char *name, double value);

/* Prints a command's usage text, the shaper's options (shaper_usage) where it says "%s": the
 * text is never a printf format ("95 % confidence" printed as "95  onfidence"). */
void cli_print_usage(FILE *f, const char *usage);

/* Writes an output file so that a failed write loses nothing and replaces nothing: a regular
 * file, or a new one, is written beside as PATH.tmp by 'write' and renamed over PATH once whole
 * (removed when writing failed); a path that exists and is not a regular file (a device such as
 * /dev/stdout or /dev/full, a FIFO) is written in place, never replaced by a file (a rename over
 * /dev/full made it one).  Returns 0, or write's error with 'eb' set. */
int cli_write_output(const char *path, int (*write)(const char *path, const void *arg, struct errbuf *eb),
		     const void *arg, struct errbuf *eb);

/* The SHA-256 of file 'path' as 64 hex digits in 'hex' (65 bytes); false when unreadable. */
bool cli_file_sha256(const char *path, char hex[65]);
/* The SHA-256 of 'n' bytes of text, as hex. */
void cli_text_sha256(const char *text, size_t n, char hex[65]);

#endif
