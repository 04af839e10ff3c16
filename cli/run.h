/* run: a run's record in the results store, as every command opens and closes it.
 *
 * cli_run_begin opens the database (when one was asked for), starts the run with the command
 * as typed, its seed and run number, and gives the recorder that the parts below write through
 * (its rows written by a thread of their own, store_async_start, so that runs do not wait for
 * SQLite).
 * cli_run_end ends it with its status; a row that failed to land anywhere in the run turns it
 * 'failed', prints one line naming what was lost, and makes the exit code 1.  Without a
 * database the recorder keeps nothing and both calls do nothing. */
#ifndef PRECRAFT_CLI_RUN_H
#define PRECRAFT_CLI_RUN_H

#include <stdint.h>

#include "core/recorder.h"

struct store;
struct store_async;

struct cli_run {
	struct store *st;          /* NULL: no database */
	int64_t id;
	struct recorder rec;       /* ops NULL without a database */
	struct store_async *async; /* the thread that writes rec's rows (NULL: rec writes them itself) */
	const char *db;
};

/* Returns 0, or an exit code after printing the error (the database cannot be opened or
 * written: 1).  'command' NULL: the command as typed. */
int cli_run_begin(struct cli_run *r, const char *db, const char *command, uint64_t seed, uint64_t run_number);

/* Ends the run with 'status' ("complete", "interrupted", "failed") and closes the store.
 * Returns 'code', or 1 when a row was lost or the store could not be closed (the error
 * printed); a run that lost rows is stored as 'failed'. */
int cli_run_end(struct cli_run *r, const char *status, int code);

#endif
