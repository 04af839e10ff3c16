/* store: the SQLite results store, the only module that speaks SQL.
 *
 * The shape follows OMNeT++'s SQLite result files (DESIGN.md §4): a row per run with its status,
 * run_param (every parameter after defaults), scalar, flow (FlowMonitor-like per-flow
 * statistics) and vector (time series).  The database is in WAL mode and written in batched
 * transactions: a run that is killed leaves a database that opens, with every complete run in
 * it and the killed run still marked 'running'; a run that ends normally or on Ctrl-C is marked
 * 'complete' or 'interrupted' and leaves no journal behind once the store is closed.
 *
 * Time series are stored as vector_name (one row per series) and vector_chunk (their samples in
 * chunks of a few hundred, clustered by series and time; store.c's schema says how); the view
 * 'vector' presents them as DESIGN.md's vector(run_id, name, t_ns, value).
 *
 * Row content is deterministic for a deterministic run: wall-clock facts live only in
 * run.started_at and run.finished_at, which store_dump() leaves out. */
#ifndef PRECRAFT_ANALYSIS_STORE_H
#define PRECRAFT_ANALYSIS_STORE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/recorder.h"

struct store;

/* Opens (creating if needed) the database at 'path'.  Returns 0 and '*out', or -ERR_IO with
 * "path: what" in 'eb'. */
int store_open(const char *path, struct store **out, struct errbuf *eb) WARN_UNUSED;
/* For a database store_open_read could read only as an immutable file (read-only media, a
 * folder that cannot be written): 1 and a one-line note in 'out' for the user; else 0. */
int store_read_only_note(const struct store *st, char *out, size_t n);

/* Commits what is pending and closes.  NULL does nothing. */
int store_close(struct store *st, struct errbuf *eb);

/* Makes the statement under way (a merge, a commit) stop when '*flag' becomes non-zero (a
 * signal handler's flag): it then fails as interrupted and its transaction is rolled back.
 * NULL: never. */
void store_interrupt_on(struct store *st, volatile sig_atomic_t *flag);

/* Starts a run (status 'running', committed at once so that a crash shows it).  '*run_id' is its
 * id. */
int store_run_begin(struct store *st, const char *command, uint64_t seed, uint64_t run_number,
		    int64_t *run_id, struct errbuf *eb) WARN_UNUSED;
/* Ends the run: "complete", "failed" or "interrupted"; commits.  When a row of the run failed
 * to land, the run ends 'failed' whatever 'status' says, and the lost rows' error is returned. */
int store_run_end(struct store *st, int64_t run_id, const char *status, struct errbuf *eb);

/* Rows, buffered in the current transaction (committed every few thousand rows and at the end). */
int store_param(struct store *st, int64_t run_id, const char *name, const char *value);
int store_scalar(struct store *st, int64_t run_id, const char *name, double value);
int store_vector(struct store *st, int64_t run_id, const char *name, uint64_t t_ns, double value);

int store_flow(struct store *st, int64_t run_id, const struct recorder_flow *f);
int store_histogram(struct store *st, int64_t run_id, const char *name, double lo, double hi, uint64_t count);

/* The store as a recorder (core/recorder.h) of run 'run_id': what the parts below the command
 * line write through.  Valid while the store is open. */
void store_recorder(struct store *st, int64_t run_id, struct recorder *out);

/* A row that failed to land is remembered (the first one's description, and a count): returns
 * -ERR_IO with "path: scalar 'hits' not written: database or disk is full (N rows lost in all)"
 * in 'eb', or 0 when every row so far landed. */
int store_failed(const struct store *st, struct errbuf *eb);

/* ---- reading (report, compare-runs, export) ---- */

/* Opens an existing precraft results database, read-only.  -ERR_FORMAT with one line in 'eb'
 * when the file does not exist or is not one. */
int store_open_read(const char *path, struct store **out, struct errbuf *eb) WARN_UNUSED;

struct store_run {
	int64_t id;
	char status[16];
	char command[1024];
	uint64_t seed, run_number;
	char started_at[40], finished_at[40], git_rev[64];
};

/* Calls 'fn' for every run, in id order; a non-zero return from 'fn' stops and is returned. */
int store_each_run(struct store *st, int (*fn)(void *arg, const struct store_run *r), void *arg, struct errbuf *eb);

/* Hands every row of run 'run_id' to recorder 'r', as the run wrote them: parameters and
 * scalars by name (a scalar whose value is NULL is not handed over: it has none), vectors by
 * name then time, flows by id, histogram bins by name then lower edge.  A recorder callback's
 * negative ERR_* stops it and is returned (with 'eb' set).  A damaged vector chunk is
 * -ERR_FORMAT naming it, unless 'damage' is given: the chunk is then skipped (the rest of the
 * run read) and the first damage described there ("" when none). */
int store_read_run(struct store *st, int64_t run_id, const struct recorder *r, struct errbuf *eb,
		   char *damage, size_t damage_len);

/* Commits the rows pending so far. */
int store_commit(struct store *st, struct errbuf *eb);

/* Writes every row's content except wall-clock times, in a canonical order, to 'out': the basis
 * of the determinism checks. */
int store_dump(struct store *st, FILE *out, struct errbuf *eb);

/* A scalar of a run, for readers (report, tests).  Returns 0, or -ERR_NOTFOUND. */
int store_get_scalar(struct store *st, int64_t run_id, const char *name, double *value);

/* ---- writing from a thread of its own ---- */

struct store_async;

/* The store as a recorder of run 'run_id' whose rows a thread of their own writes, in the order
 * they were recorded: the run does not wait for SQLite (the simulator's time series, a
 * runner's rows).  Until store_async_stop the store must not be used otherwise.  When no
 * thread can be had, '*a' is NULL and 'out' is store_recorder()'s. */
void store_async_start(struct store *st, int64_t run_id, struct recorder *out, struct store_async **a);
/* Writes every row recorded and ends the thread.  NULL does nothing. */
void store_async_stop(struct store_async *a);

/* ---- merging (sweeps, `precraft merge`) ---- */

struct store_merge_result {
	unsigned runs;             /* runs copied */
	unsigned skipped;          /* complete sweep runs 'dst' already had */
	unsigned incomplete;       /* of the runs copied, those not 'complete' */
};

/* Copies every run of the precraft database 'shard' into 'dst' under new ids, with all its
 * rows: a sweep's runs in the order of their jobs (run_param sweep.job), the others after them.
 * A complete run of a sweep (run_param sweep.key) of which 'dst' already holds a complete run
 * with the same key and run number is skipped, so that merging a shard twice, or the shards of
 * a resumed sweep, adds nothing twice.  One transaction: on failure 'dst' is as it was.
 * -ERR_FORMAT when 'shard' is not a precraft database or is 'dst' itself. */
int store_merge(struct store *dst, const char *shard, struct store_merge_result *res, struct errbuf *eb) WARN_UNUSED;

/* Calls 'fn' for each complete run of a sweep with its sweep.key and run number (what a
 * resumed sweep need not run again); a non-zero return from 'fn' stops and is returned. */
int store_each_sweep_done(struct store *st, int (*fn)(void *arg, const char *key, uint64_t run_number), void *arg,
			  struct errbuf *eb);

#endif
