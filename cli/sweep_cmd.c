/* sweep_cmd: `precraft sweep` (a grid of scenario parameters × replications, each a normal
 * simulator run): the command, the plan and --resume (sweep_run.c runs the jobs, merge_cmd.c
 * merges the shards; sweep.h is what they share).
 *
 * A sweep's jobs are numbered point-major: job j is grid point j / RUNS with run number
 * 1 + j % RUNS.  Whoever runs them (this process with -j 1, J forked workers, K MPI ranks, or
 * one slice of a batch array with --shard) runs the same jobs the same way: sim_cmd_run() with
 * the scenario, the --set overrides and the point's values, recorded under the `precraft sim`
 * command that reproduces the run alone, plus the parameters sweep.point (the point's values),
 * sweep.key (a hash of what the run depends on but the run number: the scenario file's
 * content, the overrides, the point, the seed) and sweep.job.  --resume skips the jobs of which
 * the database holds a complete run with the same key and run number.
 *
 * Parallel runs write shards beside the database (DB.part-K, one writer each) that are merged
 * into it at the end and removed; shards left by a sweep that was killed before merging are
 * merged first by --resume (and refused without it). */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/store.h"
#include "cli.h"
#include "commands.h"
#include "sim/grid.h"
#include "sim/scenario.h"
#include "sweep.h"
#include "sweep_mpi.h"

const char sweep_usage[] =
	"usage: precraft sweep SCENARIO.ini --grid SECTION.KEY=VALUES [--grid ...] [options]\n"
	"  Runs the scenario at every point of the grid (the cross product of the --grid axes) RUNS\n"
	"  times each (run numbers 1..RUNS), every one a normal 'precraft sim' run into the database.\n"
	"  VALUES: a list (off,static,adaptive), an arithmetic range (1..10:2 = 1 3 5 7 9), a\n"
	"  geometric one (1e3..1e6*10), or a comma-separated mix of them.\n"
	"  --set SECTION.KEY=VALUE   override a key at every point (repeatable)\n"
	"  --runs N                  replications per point (default 1)\n"
	"  --seed N                  run.seed of every run (default: the scenario's)\n"
	"  -j N                      N worker processes, each into its own shard, merged at the end\n"
	"  --shard I/N               only the I-th of N slices of the jobs (I = 1..N; a batch array's\n"
	"                            task, e.g. --shard $((SLURM_ARRAY_TASK_ID + 1))/N), straight into\n"
	"                            --db; 'precraft merge' joins the slices' databases\n"
	"  --resume                  skip the jobs --db holds a complete run of; merge shards an\n"
	"                            interrupted sweep left first\n"
	"  --db FILE                 results database (default results.db)\n"
	"  --quiet                   no line per run\n"
	"  --exec PROGRAM            each run by PROGRAM (build/precraft-ns3: the scenario inside ns-3)\n"
	"                            instead of 'precraft sim': PROGRAM --scenario=FILE --set=K=V ...\n"
	"                            --run=N --db=SHARD --quiet --tag=sweep.point=... (its exit code is the run's)\n"
	"  Under 'mpirun -np K' the K ranks share the jobs, each into its own shard (DB.part-RANK,\n"
	"  on a filesystem every rank sees), and rank 0 merges them into --db.\n"
	"  Each run's command is the 'precraft sim' line that reproduces it alone; run_param holds\n"
	"  sweep.point, sweep.key and sweep.job.  'precraft summary DB' gives the means and CIs.\n"
	"Exit: 0 every run complete, 1 a run failed or was interrupted (the others kept), 2 bad usage\n"
	"or input, 3 a shadow divergence.\n";

/* A job done before (resume): its key and run number, sorted for bsearch. */
struct done {
	char key[33];
	uint64_t run;
};

struct done_set {
	struct done *v;
	size_t n, cap;
};

static int done_cmp(const void *a, const void *b)
{
	const struct done *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->run > y->run) - (x->run < y->run);
}

static int done_add(void *arg, const char *key, uint64_t run)
{
	struct done_set *d = arg;
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 256;
		void *p = realloc(d->v, nc * sizeof d->v[0]);
		if (!p)
			return -ERR_NOMEM;
		d->v = p;
		d->cap = nc;
	}
	snprintf(d->v[d->n].key, sizeof d->v[0].key, "%s", key);
	d->v[d->n++].run = run;
	return 0;
}

/* The shards an earlier sweep into 'db' left (killed before it merged): merged first with
 * --resume, refused without.  Returns an exit code. */
int sweep_leftover_parts(const struct sweep *sw, bool resume)
{
	char pattern[4200];
	snprintf(pattern, sizeof pattern, "%s.part-*", sw->db);
	glob_t g;
	memset(&g, 0, sizeof g);
	int code = EXIT_OK;
	if (glob(pattern, 0, NULL, &g) == 0) {
		/* Only the shards themselves, not SQLite's files beside them. */
		char **parts = malloc(g.gl_pathc * sizeof *parts);
		size_t k = 0;
		for (size_t i = 0; parts && i < g.gl_pathc; i++) {
			const char *tail = strrchr(g.gl_pathv[i], '-');
			if (tail && tail[1] && strspn(tail + 1, "0123456789") == strlen(tail + 1))
				parts[k++] = g.gl_pathv[i];
		}
		if (!parts) {
			cli_error("sweep: out of memory");
			code = EXIT_RUNTIME;
		} else if (k && !resume) {
			cli_error("sweep: %s exists: a sweep into %s stopped before merging its shards; --resume merges them "
				  "and finishes it (or remove %s.part-*)",
				  parts[0], sw->db, sw->db);
			code = EXIT_USAGE;
		} else if (k) {
			code = sweep_merge_into(sw->db, parts, k, true, sw->quiet);
		}
		free(parts);
	}
	globfree(&g);
	return code;
}

/* The complete sweep runs 'sw->db' holds (none when it does not exist), sorted.  An exit code. */
static int load_done(const struct sweep *sw, struct done_set *d)
{
	struct errbuf eb = { "" };
	if (access(sw->db, F_OK) != 0)
		return EXIT_OK;
	struct store *st;
	int rc = store_open_read(sw->db, &st, &eb);
	if (!rc) {
		rc = store_each_sweep_done(st, done_add, d, &eb);
		store_close(st, NULL);
	}
	if (rc) {
		cli_error("%s", eb.msg[0] ? eb.msg : "sweep: out of memory");
		free(d->v);
		d->v = NULL;
		d->n = 0;
		return rc == -ERR_FORMAT ? EXIT_USAGE : EXIT_RUNTIME;
	}
	qsort(d->v, d->n, sizeof d->v[0], done_cmp);
	return EXIT_OK;
}

/* How many of this sweep's jobs the database holds a complete run of (for the last line, which
 * says what is there, not what was planned). */
static uint64_t count_done(const struct sweep *sw)
{
	struct done_set d = { 0 };
	uint64_t n = 0;
	if (load_done(sw, &d) != EXIT_OK)
		return 0;
	struct done want;
	for (uint64_t j = 0; j < sw->n_jobs && d.n; j++) {
		if (j % sw->runs == 0)
			sweep_point_key(sw, j / sw->runs, want.key);
		want.run = 1 + j % sw->runs;
		n += bsearch(&want, d.v, d.n, sizeof d.v[0], done_cmp) != NULL;
	}
	free(d.v);
	return n;
}

int sweep_plan(const struct sweep *sw, bool resume, uint64_t **planned, uint64_t *n_planned)
{
	struct done_set d = { 0 };
	if (resume) {
		int code = load_done(sw, &d);
		if (code)
			return code;
	}
	*planned = malloc((sw->n_jobs ? sw->n_jobs : 1) * sizeof **planned);
	if (!*planned) {
		free(d.v);
		cli_error("sweep: out of memory for %llu jobs", (unsigned long long)sw->n_jobs);
		return EXIT_RUNTIME;
	}
	*n_planned = 0;
	struct done want;
	for (uint64_t j = 0; j < sw->n_jobs; j++) {
		if (d.n) {
			if (j % sw->runs == 0)
				sweep_point_key(sw, j / sw->runs, want.key);
			want.run = 1 + j % sw->runs;
			if (bsearch(&want, d.v, d.n, sizeof d.v[0], done_cmp))
				continue;
		}
		(*planned)[(*n_planned)++] = j;
	}
	if (resume && !sw->quiet)
		fprintf(stderr, "sweep: %llu of %llu runs already complete in %s\n",
			(unsigned long long)(sw->n_jobs - *n_planned), (unsigned long long)sw->n_jobs, sw->db);
	free(d.v);
	return EXIT_OK;
}

static int parse_shard(const char *s, uint64_t *i, uint64_t *n)
{
	unsigned long long a, b;
	char tail;
	if (sscanf(s, "%llu/%llu%c", &a, &b, &tail) != 2 || b == 0 || b > 1000000 || a == 0 || a > b) {
		cli_error("--shard '%s': expected I/N with 1 <= I <= N (slices are numbered from 1)", s);
		return -1;
	}
	*i = a - 1;
	*n = b;
	return 0;
}

/* Every value of every axis applied once to the base, so that a bad key or value is refused
 * before any run starts. */
static int check_grid(const struct sweep *sw, struct errbuf *eb)
{
	struct scenario *scn = malloc(sizeof *scn);
	if (!scn)
		return err_set(eb, -ERR_NOMEM, "sweep: out of memory");
	int rc = 0;
	for (unsigned a = 0; a < sw->grid.n_axes && !rc; a++)
		for (unsigned v = 0; v < sw->grid.axis[a].n && !rc; v++) {
			memcpy(scn, sw->base, sizeof *scn);
			char set[GRID_KEY + GRID_VALUE + 2];
			snprintf(set, sizeof set, "%s=%s", sw->grid.axis[a].key, sw->grid.axis[a].values[v]);
			rc = scenario_set(scn, set, eb);
		}
	free(scn);
	return rc;
}

enum { O_GRID = 256, O_SET, O_RUNS, O_SEED, O_SHARD, O_RESUME, O_DB, O_QUIET, O_HELP, O_EXEC };
const struct option sweep_options[] = {
	{ "grid", required_argument, 0, O_GRID }, { "set", required_argument, 0, O_SET },
	{ "runs", required_argument, 0, O_RUNS }, { "seed", required_argument, 0, O_SEED },
	{ "shard", required_argument, 0, O_SHARD }, { "resume", no_argument, 0, O_RESUME },
	{ "db", required_argument, 0, O_DB },     { "quiet", no_argument, 0, O_QUIET },
	{ "help", no_argument, 0, O_HELP },       { "exec", required_argument, 0, O_EXEC },
	{ 0, 0, 0, 0 },
};

int sweep_main(const struct cli_args *a)
{
	static struct sweep sw; /* large (the sets); one per process */
	memset(&sw, 0, sizeof sw);
	sw.runs = 1;
	sw.db = "results.db";
	uint64_t jobs = 1, shard_i = 0, shard_n = 0;
	bool resume = false;
	struct errbuf eb = { "" };
	int code = EXIT_USAGE;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case O_GRID:
			if (grid_add(&sw.grid, arg, &eb)) {
				cli_error("%s", eb.msg);
				goto out;
			}
			break;
		case O_SET:
			if (sw.n_sets == MAX_SETS) {
				cli_error("--set: at most %d", MAX_SETS);
				goto out;
			}
			sw.sets[sw.n_sets++] = arg;
			break;
		case O_RUNS:
			if (!cli_u64("--runs", arg, 1, 100000, &sw.runs))
				goto out;
			break;
		case O_SEED:
			if (!cli_u64("--seed", arg, 0, UINT64_MAX, &sw.seed))
				goto out;
			sw.have_seed = true;
			break;
		case 'j':
			if (!cli_u64("-j", arg, 1, 64, &jobs))
				goto out;
			break;
		case O_SHARD:
			if (parse_shard(arg, &shard_i, &shard_n))
				goto out;
			break;
		case O_RESUME: resume = true; break;
		case O_DB: sw.db = arg; break;
		case O_QUIET: sw.quiet = true; break;
		case O_EXEC: sw.exec = arg; break;
		}
	}
	bool mpi = sweep_mpi_launched();
	if ((mpi && (jobs > 1 || shard_n)) || (shard_n && jobs > 1)) {
		cli_error("sweep: choose one of -j, --shard and mpirun (each splits the jobs its own way)");
		goto out;
	}
	sw.path = a->pos[0];
	if (!(sw.base = malloc(sizeof *sw.base))) {
		code = EXIT_RUNTIME;
		goto out;
	}
	scenario_defaults(sw.base);
	int rc = scenario_load(sw.base, sw.path, &eb);
	for (int i = 0; !rc && i < sw.n_sets; i++)
		rc = scenario_set(sw.base, sw.sets[i], &eb);
	if (!rc)
		rc = check_grid(&sw, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		goto out;
	}
	if (!cli_file_sha256(sw.path, sw.scn_hash)) {
		cli_error("%s: cannot read: %s", sw.path, strerror(errno));
		goto out;
	}
	sw.n_jobs = grid_points(&sw.grid) * sw.runs;
	if (sw.n_jobs > MAX_JOBS) {
		cli_error("sweep: %llu runs (points x --runs): at most %llu", (unsigned long long)sw.n_jobs, MAX_JOBS);
		goto out;
	}
	cli_catch_signals();
	double t0 = (double)cli_now_ns() / 1e9;
	uint64_t *planned = NULL, n_planned = 0;
	if (mpi) {
		code = sweep_run_mpi(&sw, resume);
	} else if ((code = shard_n ? EXIT_OK : sweep_leftover_parts(&sw, resume)) == EXIT_OK &&
		   (code = sweep_plan(&sw, resume, &planned, &n_planned)) == EXIT_OK) {
		if (shard_n) {
			/* The slice is of every job, not of those left, so that it is the same on a rerun. */
			uint64_t k = 0;
			for (uint64_t i = 0; i < n_planned; i++)
				if (planned[i] % shard_n == shard_i)
					planned[k++] = planned[i];
			code = sweep_run_slice(&sw, planned, k, 0, 1, sw.db, "");
		} else if (jobs == 1 || n_planned <= 1) {
			code = sweep_run_slice(&sw, planned, n_planned, 0, 1, sw.db, "");
		} else {
			code = sweep_run_forked(&sw, planned, n_planned, (unsigned)(jobs < n_planned ? jobs : n_planned));
		}
		if (!sw.quiet && !shard_n) {
			uint64_t there = count_done(&sw);
			if (there == sw.n_jobs)
				fprintf(stderr, "sweep: %llu runs (%llu points x %llu) complete in %s after %.1f s; 'precraft "
					"summary %s' for the means and confidence intervals\n",
					(unsigned long long)there, (unsigned long long)grid_points(&sw.grid),
					(unsigned long long)sw.runs, sw.db, (double)cli_now_ns() / 1e9 - t0, sw.db);
			else
				fprintf(stderr, "sweep: %llu of %llu runs complete in %s after %.1f s; 'precraft sweep ... --resume' "
					"runs the %llu missing\n",
					(unsigned long long)there, (unsigned long long)sw.n_jobs, sw.db, (double)cli_now_ns() / 1e9 - t0,
					(unsigned long long)(sw.n_jobs - there));
		} else if (!sw.quiet) {
			fprintf(stderr, "sweep: slice %llu/%llu: %llu runs in %.1f s into %s\n", (unsigned long long)shard_i + 1,
				(unsigned long long)shard_n, (unsigned long long)n_planned, (double)cli_now_ns() / 1e9 - t0, sw.db);
		}
	}
	free(planned);
out:
	free(sw.base);
	grid_free(&sw.grid);
	return code;
}

