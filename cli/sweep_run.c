/* sweep_run: running a sweep's jobs (see sweep_cmd.c): each one a simulator run with its
 * point's values, alone, in J forked workers, or in K MPI ranks, each into its shard. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "sim/scenario.h"
#include "sweep.h"
#include "sweep_mpi.h"

/* printf at buf + *n, cut at 'cap'. */
static void append(char *buf, size_t cap, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (*n < cap)
		*n += (size_t)vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
}

/* Point p's overrides, each "KEY=VALUE" to 'fn': each --set, each axis and the seed.  A run's
 * command, its point's key and --exec's arguments are all made of them. */
static void each_override(const struct sweep *sw, uint64_t p, void (*fn)(void *arg, const char *kv), void *arg)
{
	char kv[GRID_KEY + GRID_VALUE + 2];
	for (int i = 0; i < sw->n_sets; i++)
		fn(arg, sw->sets[i]);
	for (unsigned a = 0; a < sw->grid.n_axes; a++) {
		snprintf(kv, sizeof kv, "%s=%s", sw->grid.axis[a].key, grid_value(&sw->grid, p, a));
		fn(arg, kv);
	}
	if (sw->have_seed) {
		snprintf(kv, sizeof kv, "run.seed=%llu", (unsigned long long)sw->seed);
		fn(arg, kv);
	}
}

struct text {
	char *buf;
	size_t cap, n;
};

static void text_set(void *arg, const char *kv)
{
	struct text *t = arg;
	append(t->buf, t->cap, &t->n, " --set %s", kv);
}

/* Point p's overrides as `precraft sim` takes them: " --set KEY=VALUE" each. */
static void point_overrides(const struct sweep *sw, uint64_t p, char *out, size_t cap)
{
	struct text t = { out, cap, 0 };
	out[0] = 0;
	each_override(sw, p, text_set, &t);
}

/* Point p's key: what its runs depend on but their number (see the top of the file): the
 * scenario file's content and the overrides, not the path it was named by. */
void sweep_point_key(const struct sweep *sw, uint64_t p, char out[33])
{
	char text[16384];
	size_t n = 0;
	append(text, sizeof text, &n, "scenario %s\n", sw->scn_hash);
	if (sw->exec) /* another program's runs are other runs */
		append(text, sizeof text, &n, "exec %s\n", sw->exec);
	point_overrides(sw, p, text + n, sizeof text - n);
	char hex[65];
	cli_text_sha256(text, strlen(text), hex);
	memcpy(out, hex, 32);
	out[32] = 0;
}

/* Job j's scenario into 'scn': the base, the point's values, the seed and the run number. */
static int job_scenario(const struct sweep *sw, uint64_t j, struct scenario *scn, struct errbuf *eb)
{
	uint64_t p = j / sw->runs;
	memcpy(scn, sw->base, sizeof *scn);
	for (unsigned a = 0; a < sw->grid.n_axes; a++) {
		char set[GRID_KEY + GRID_VALUE + 2];
		snprintf(set, sizeof set, "%s=%s", sw->grid.axis[a].key, grid_value(&sw->grid, p, a));
		int rc = scenario_set(scn, set, eb);
		if (rc)
			return rc;
	}
	if (sw->have_seed)
		scn->seed = sw->seed;
	scn->run = 1 + j % sw->runs;
	return 0;
}

struct args {
	char (*text)[2048];
	char **argv;
	unsigned n, cap;
};

/* The argument x, y, z and w joined (any of them ""). */
static void arg_add(struct args *a, const char *x, const char *y, const char *z, const char *w)
{
	if (a->n < a->cap) {
		snprintf(a->text[a->n], sizeof a->text[a->n], "%s%s%s%s", x, y, z, w);
		a->argv[a->n] = a->text[a->n];
		a->n++;
	}
}

static void arg_set(void *arg, const char *kv)
{
	arg_add(arg, "--set=", kv, "", "");
}

/* --exec: job j by the program, as "PROGRAM --scenario=FILE --set=K=V ... --run=N --db=DB --quiet
 * --tag=NAME=VALUE ...".  Returns its exit code (1 when it could not run or was killed). */
static int exec_job(const struct sweep *sw, uint64_t j, const struct scenario *scn, const char *db,
		    const char *const params[][2], unsigned n_params)
{
	enum { MAXARG = MAX_SETS + GRID_MAX_AXES + 16 };
	static char text[MAXARG][2048];
	char *argv[MAXARG + 1];
	struct args a = { text, argv, 0, MAXARG };
	char run[24];
	snprintf(run, sizeof run, "%llu", (unsigned long long)scn->run);
	arg_add(&a, sw->exec, "", "", "");
	arg_add(&a, "--scenario=", sw->path, "", "");
	each_override(sw, j / sw->runs, arg_set, &a);
	arg_add(&a, "--run=", run, "", "");
	arg_add(&a, "--db=", db, "", "");
	arg_add(&a, "--quiet", "", "", "");
	for (unsigned i = 0; i < n_params; i++)
		arg_add(&a, "--tag=", params[i][0], "=", params[i][1]);
	argv[a.n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		cli_error("sweep: fork: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (pid == 0) {
		execv(sw->exec, argv);
		cli_error("sweep: --exec %s: %s", sw->exec, strerror(errno));
		_exit(EXIT_RUNTIME);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_RUNTIME;
}

/* Runs job j into 'db'.  Returns its exit code. */
static int run_job(const struct sweep *sw, uint64_t j, const char *db)
{
	uint64_t p = j / sw->runs;
	struct scenario *scn = malloc(sizeof *scn);
	if (!scn) {
		cli_error("sweep: out of memory");
		return EXIT_RUNTIME;
	}
	struct errbuf eb = { "" };
	if (job_scenario(sw, j, scn, &eb)) {
		cli_error("%s", eb.msg);
		free(scn);
		return EXIT_USAGE;
	}
	char command[8192], overrides[8000], point[4096], key[33], job[24];
	point_overrides(sw, p, overrides, sizeof overrides);
	snprintf(command, sizeof command, "precraft sim %s%s --run %llu", sw->path, overrides,
		 (unsigned long long)scn->run);
	grid_point_text(&sw->grid, p, point, sizeof point);
	sweep_point_key(sw, p, key);
	snprintf(job, sizeof job, "%llu", (unsigned long long)j);
	const char *const params[][2] = { { "sweep.point", point }, { "sweep.key", key }, { "sweep.job", job } };
	struct sim_tag tag = { command, params, 3 };
	int code = sw->exec ? exec_job(sw, j, scn, db, params, 3) : sim_cmd_run(scn, db, true, &tag);
	free(scn);
	return code;
}

static double now_s(void)
{
	return (double)cli_now_ns() / 1e9;
}

/* Runs every 'slices'-th planned job from planned[slice] on into 'db'; 'who' names the worker in
 * the progress lines.  Returns the worst exit code (stops early on Ctrl-C or SIGTERM). */
int sweep_run_slice(const struct sweep *sw, const uint64_t *planned, uint64_t n_planned, uint64_t slice, uint64_t slices,
		     const char *db, const char *who)
{
	int worst = EXIT_OK;
	uint64_t mine = n_planned > slice ? (n_planned - slice + slices - 1) / slices : 0, k = 0;
	for (uint64_t i = slice; i < n_planned && !cli_stop; i += slices) {
		double t0 = now_s();
		int code = run_job(sw, planned[i], db);
		if (code > worst)
			worst = code;
		if (!sw->quiet) {
			char point[4096];
			grid_point_text(&sw->grid, planned[i] / sw->runs, point, sizeof point);
			fprintf(stderr, "sweep%s: [%llu/%llu] %s run %llu: %s in %.1f s\n", who, (unsigned long long)++k,
				(unsigned long long)mine, point[0] ? point : "(no grid)",
				(unsigned long long)(1 + planned[i] % sw->runs),
				code == EXIT_OK ? "complete" : cli_stop ? "interrupted" : "failed", now_s() - t0);
		}
	}
	return cli_stop && worst < EXIT_RUNTIME ? EXIT_RUNTIME : worst;
}

/* -j N: N forked workers, each on its slice into its shard, merged when all have ended.  A
 * signal to this process is passed on to them. */
int sweep_run_forked(const struct sweep *sw, const uint64_t *planned, uint64_t n_planned, unsigned jobs)
{
	pid_t pid[64];
	char *paths[64];
	char store_paths[64][4200];
	unsigned started = 0;
	int worst = EXIT_OK;
	fflush(NULL);
	pid_t parent = getpid();
	for (unsigned k = 0; k < jobs; k++) {
		sweep_part_path(sw->db, k, store_paths[k], sizeof store_paths[k]);
		paths[k] = store_paths[k];
		sweep_part_remove(paths[k]);
		pid[k] = fork();
		if (pid[k] < 0) {
			cli_error("sweep: fork: %s", strerror(errno));
			worst = EXIT_RUNTIME;
			break;
		}
		if (pid[k] == 0) {
			/* A worker dies with the sweep: a parent killed (SIGKILL: nothing passes a signal
			 * on) left its workers running.  The worker then stops as on SIGTERM, keeping its
			 * complete runs.  The parent may have gone before the prctl: checked after it. */
			(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				_exit(EXIT_RUNTIME);
			char who[32];
			snprintf(who, sizeof who, " worker %u", k + 1);
			int code = sweep_run_slice(sw, planned, n_planned, k, jobs, paths[k], who);
			fflush(NULL);
			_exit(code);
		}
		started++;
	}
	bool passed_on = false;
	for (unsigned k = 0; k < started; k++) {
		int status;
		while (waitpid(pid[k], &status, 0) < 0) {
			if (errno != EINTR) {
				status = 1 << 8;
				break;
			}
			if (cli_stop && !passed_on) {
				for (unsigned i = 0; i < started; i++)
					kill(pid[i], SIGTERM);
				passed_on = true;
			}
		}
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_RUNTIME;
		if (!WIFEXITED(status))
			cli_error("sweep: worker %u was killed by signal %d; its complete runs are kept", k + 1,
				  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		if (code > worst)
			worst = code;
	}
	int m = sweep_merge_into(sw->db, paths, started, true, sw->quiet);
	return m > worst ? m : worst;
}

/* Under mpirun: rank 0 plans and broadcasts, every rank runs its slice into its shard, rank 0
 * merges.  A rank that is stopped leaves without the collective calls (mpirun is ending the
 * job); its complete runs are in its shard for --resume. */
int sweep_run_mpi(const struct sweep *sw, bool resume)
{
	int rank, size;
	if (sweep_mpi_init(&rank, &size))
		return EXIT_USAGE;
	uint64_t head[2] = { EXIT_OK, 0 }; /* exit code, jobs to run */
	uint64_t *planned = NULL;
	if (rank == 0) {
		head[0] = (uint64_t)sweep_leftover_parts(sw, resume);
		if (head[0] == EXIT_OK)
			head[0] = (uint64_t)sweep_plan(sw, resume, &planned, &head[1]);
	}
	if (sweep_mpi_bcast(head, sizeof head)) {
		free(planned);
		return EXIT_RUNTIME;
	}
	if (head[0] != EXIT_OK) {
		free(planned);
		sweep_mpi_finalize();
		return (int)head[0];
	}
	if (rank != 0 && !(planned = malloc((head[1] ? head[1] : 1) * sizeof *planned)))
		return EXIT_RUNTIME; /* the others wait in the broadcast until mpirun ends the job */
	if (sweep_mpi_bcast(planned, head[1] * sizeof *planned)) {
		free(planned);
		return EXIT_RUNTIME;
	}
	char part[4200], who[32];
	sweep_part_path(sw->db, (unsigned)rank, part, sizeof part);
	sweep_part_remove(part); /* none is left: rank 0 merged or refused them */
	snprintf(who, sizeof who, " rank %d", rank);
	int code = sweep_run_slice(sw, planned, head[1], (uint64_t)rank, (uint64_t)size, part, who);
	free(planned);
	if (cli_stop)
		return code;
	int worst = sweep_mpi_max(code);
	if (rank == 0) {
		char **paths = malloc((size_t)size * sizeof *paths);
		char(*store)[4200] = malloc((size_t)size * sizeof *store);
		if (!paths || !store) {
			cli_error("sweep: out of memory merging %d shards; they are kept for --resume", size);
			worst = EXIT_RUNTIME;
		} else {
			for (int k = 0; k < size; k++) {
				sweep_part_path(sw->db, (unsigned)k, store[k], sizeof store[k]);
				paths[k] = store[k];
			}
			int m = sweep_merge_into(sw->db, paths, (size_t)size, true, sw->quiet);
			if (m > worst)
				worst = m;
		}
		free(paths);
		free(store);
	}
	sweep_mpi_finalize();
	return worst;
}
