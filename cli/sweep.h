/* sweep: what `precraft sweep`'s three files share (sweep_cmd.c: the command, the plan and
 * --resume; sweep_run.c: running jobs, alone, forked or under MPI; merge_cmd.c: shards merged,
 * and `precraft merge`).  See sweep_cmd.c for how jobs are numbered and keyed. */
#ifndef PRECRAFT_CLI_SWEEP_H
#define PRECRAFT_CLI_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/grid.h"

struct scenario;

#define MAX_SETS 256
#define MAX_JOBS 10000000ull

struct sweep {
	const char *path;          /* the scenario file, as typed */
	struct scenario *base;     /* loaded, with the --set overrides */
	const char *sets[MAX_SETS];
	int n_sets;
	struct grid grid;
	uint64_t runs, seed;
	bool have_seed, quiet;
	char scn_hash[65];
	uint64_t n_jobs;
	const char *db;
	const char *exec;          /* --exec: each run by this program (build/precraft-ns3), NULL: precraft sim */
};

/* Point p's key: what its runs depend on but their number (the scenario file's content and the
 * overrides, not the path it was named by); 32 hex digits. */
void sweep_point_key(const struct sweep *sw, uint64_t p, char out[33]);

/* The jobs still to run: all of them, or with --resume those the database holds no complete
 * run of.  Returns an exit code; '*planned' is malloc'd. */
int sweep_plan(const struct sweep *sw, bool resume, uint64_t **planned, uint64_t *n_planned);

/* The shards an earlier sweep into sw->db left (killed before it merged): merged first with
 * --resume, refused without.  Returns an exit code. */
int sweep_leftover_parts(const struct sweep *sw, bool resume);

/* Runs every 'slices'-th planned job from planned[slice] on into 'db'; 'who' names the worker in
 * the progress lines.  Returns the worst exit code (stops early on Ctrl-C or SIGTERM). */
int sweep_run_slice(const struct sweep *sw, const uint64_t *planned, uint64_t n_planned, uint64_t slice,
		    uint64_t slices, const char *db, const char *who);
/* -j N: N forked workers, each on its slice into its shard, merged when all have ended. */
int sweep_run_forked(const struct sweep *sw, const uint64_t *planned, uint64_t n_planned, unsigned jobs);
/* Under mpirun: rank 0 plans and broadcasts, every rank runs its slice, rank 0 merges. */
int sweep_run_mpi(const struct sweep *sw, bool resume);

/* Shard k of 'db' (DB.part-K); removing one removes what SQLite and the store leave beside it. */
void sweep_part_path(const char *db, unsigned k, char *out, size_t cap);
void sweep_part_remove(const char *path);
/* Merges the shards 'paths' into 'db' (removing each one merged when 'remove_merged').  Returns
 * an exit code. */
int sweep_merge_into(const char *db, char *const *paths, size_t n, bool remove_merged, bool quiet);

#endif
