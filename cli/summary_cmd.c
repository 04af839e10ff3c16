/* summary_cmd: `precraft summary`: the runs of a database grouped by the parameters they
 * differ in, each metric's mean with its 95 % interval over the replications. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/ci.h"
#include "analysis/human.h"
#include "analysis/rundata.h"
#include "analysis/store.h"
#include "cli.h"
#include "commands.h"

const char summary_usage[] =
	"usage: precraft summary DB [--by KEY[,KEY...]] [--metric NAME[,NAME...]]\n"
	"  Per group of runs (the same values of the --by parameters; default: of the parameters the\n"
	"  runs differ in, a sweep's axes, replication and bookkeeping aside: run.run, run.seed,\n"
	"  sweep.point, sweep.key, sweep.job, input hashes), each metric's mean, 95 % confidence\n"
	"  interval (Student t), standard deviation and replications, over the complete runs, written\n"
	"  for people (2.52 ms, 253,929; the database keeps every digit).\n"
	"  --metric  scalars (default hit_ratio,precision,latency_p50_ns,latency_p99_ns,latency_mean_ns,extra_cpu)\n";

struct all_runs {
	struct rundata *rd;
	size_t n, cap;
	struct store *st;
	struct errbuf *eb;
	int rc;
};

static int load_complete(void *arg, const struct store_run *r)
{
	struct all_runs *a = arg;
	if (strcmp(r->status, "complete"))
		return 0;
	if (a->n == a->cap) {
		size_t c = a->cap ? a->cap * 2 : 16;
		struct rundata *p = realloc(a->rd, c * sizeof *p);
		if (!p)
			return err_set(a->eb, -ERR_NOMEM, "out of memory");
		a->rd = p;
		a->cap = c;
	}
	int rc = rundata_load(a->st, r, &a->rd[a->n], a->eb);
	if (!rc && a->rd[a->n].damage[0])
		cli_error("%s; its scalars are summarised", a->rd[a->n].damage);
	if (!rc)
		rundata_lighten(&a->rd[a->n++]); /* only parameters and scalars are needed */
	return rc;
}

/* The group key of a run: its values of the grouping parameters ("" without any: one group). */
static void group_key(const struct rundata *rd, char **by, size_t n_by, char *out, size_t n)
{
	size_t j = 0;
	out[0] = 0;
	for (size_t k = 0; k < n_by; k++) {
		const char *v = rundata_param(rd, by[k]);
		/* The name's length first: no value can pass for two ("a=b c" against "a" "b c"). */
		int w = snprintf(out + j, n - j, "%zu:%s=%s\n", strlen(v ? v : ""), by[k], v ? v : "\x01");
		if (w < 0 || (size_t)w >= n - j)
			return;
		j += (size_t)w;
	}
}

static size_t split_list(char *s, char **out, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(s, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
		out[n++] = t;
	return n;
}

const struct option summary_options[] = {
	{ "by", required_argument, 0, 'b' },
	{ "metric", required_argument, 0, 'm' },
	{ 0, 0, 0, 0 },
};

int summary_main(const struct cli_args *args)
{
	char *by[32], *metrics[64];
	size_t n_by = 0, n_m = 0;
	char def[] = "hit_ratio,precision,latency_p50_ns,latency_p99_ns,latency_mean_ns,extra_cpu";
	/* split_list cuts the lists in place: copies, the command line's own strings kept as typed */
	char lists[2][4096];
	for (size_t i = 0; i < args->n_opt; i++) {
		int id = args->opt[i].id;
		char *l = lists[id == 'b' ? 0 : 1];
		snprintf(l, sizeof lists[0], "%s", args->opt[i].arg);
		if (id == 'b')
			n_by = split_list(l, by, 32);
		else if (id == 'm')
			n_m = split_list(l, metrics, 64);
	}
	if (!n_m)
		n_m = split_list(def, metrics, 64);
	const char *db = args->pos[0];
	struct errbuf eb = { "" };
	struct all_runs a = { .eb = &eb };
	int rc = store_open_read(db, &a.st, &eb);
	if (!rc)
		cli_say_read_only(a.st);
	if (!rc)
		rc = store_each_run(a.st, load_complete, &a, &eb);
	if (!rc && !a.n)
		rc = err_set(&eb, -ERR_FORMAT, "%s: no complete run", db);
	for (size_t k = 0; !rc && k < n_m; k++) {
		int any = 0;
		for (size_t i = 0; i < a.n && !any; i++)
			any = rundata_scalar(&a.rd[i], metrics[k]) != NULL;
		if (!any)
			rc = err_set(&eb, -ERR_FORMAT, "%s: no run has the scalar '%s'", db, metrics[k]);
	}
	for (size_t k = 0; !rc && k < n_by; k++) {
		int any = 0;
		for (size_t i = 0; i < a.n && !any; i++)
			any = rundata_param(&a.rd[i], by[k]) != NULL;
		if (!any)
			rc = err_set(&eb, -ERR_FORMAT, "%s: no run has the parameter '%s'", db, by[k]);
	}
	if (rc) {
		cli_error("%s", eb.msg);
		goto out;
	}
	/* Without --by: the parameters the runs differ in (a sweep's axes), bookkeeping aside. */
	const char **varying = NULL;
	size_t n_var = 0;
	if (!n_by) {
		if ((rc = rundata_varying(a.rd, a.n, &varying, &n_var)) != 0) {
			cli_error("out of memory");
			goto out;
		}
		for (size_t k = 0; k < n_var && k < 32; k++)
			by[n_by++] = (char *)varying[k];
	}
	/* Groups in the order of their first run; each run's key made once. */
	char **keys = calloc(a.n, sizeof *keys);
	size_t *group = malloc(a.n * sizeof *group);
	double *x = malloc(a.n * sizeof *x);
	int *w = calloc(n_by + 1, sizeof *w);
	static char key[16384];
	for (size_t i = 0; keys && i < a.n; i++) {
		group_key(&a.rd[i], by, n_by, key, sizeof key);
		if (!(keys[i] = strdup(key)))
			break;
	}
	if (!keys || !group || !x || !w || (a.n && !keys[a.n - 1])) {
		rc = -ERR_NOMEM;
		cli_error("out of memory");
		goto free_groups;
	}
	/* One column per parameter, as wide as its longest value; numbers written for people. */
	for (size_t k = 0; k < n_by; k++) {
		w[k] = (int)strlen(by[k]);
		for (size_t i = 0; i < a.n; i++) {
			const char *v = rundata_param(&a.rd[i], by[k]);
			if (v && (int)strlen(v) > w[k])
				w[k] = (int)strlen(v);
		}
	}
	int wm = 6;
	for (size_t k = 0; k < n_m; k++)
		if ((int)strlen(metrics[k]) > wm)
			wm = (int)strlen(metrics[k]);
	for (size_t k = 0; k < n_by; k++)
		printf("%-*s  ", w[k], by[k]);
	if (!n_by)
		printf("%-9s  ", "runs");
	printf("%-*s %12s %12s %12s %5s\n", wm, "metric", "mean", "95% CI +/-", "sd", "n");
	size_t groups = 0;
	for (size_t i = 0; i < a.n; i++) {
		size_t g = i;
		for (size_t j = 0; j < i && g == i; j++)
			if (group[j] == j && !strcmp(keys[i], keys[j]))
				g = j;
		group[i] = g;
	}
	for (size_t i = 0; i < a.n; i++) {
		if (group[i] != i)
			continue;
		groups++;
		for (size_t k = 0; k < n_m; k++) {
			size_t m = 0;
			for (size_t j = i; j < a.n; j++) {
				const double *v = group[j] == i ? rundata_scalar(&a.rd[j], metrics[k]) : NULL;
				if (v)
					x[m++] = *v;
			}
			if (!m)
				continue;
			struct ci ci = ci_of(x, m);
			for (size_t b = 0; b < n_by; b++) {
				const char *v = rundata_param(&a.rd[i], by[b]);
				printf("%-*s  ", w[b], v ? v : "-");
			}
			if (!n_by)
				printf("%-9s  ", "all");
			char mean[32], half[32], sd[32];
			human_value(metrics[k], ci.mean, mean, sizeof mean);
			human_value(metrics[k], ci.half, half, sizeof half);
			human_value(metrics[k], ci.sd, sd, sizeof sd);
			printf("%-*s %12s %12s %12s %5zu\n", wm, metrics[k], mean, m > 1 ? half : "-", m > 1 ? sd : "-", m);
		}
	}
	char gs[48], rs[48];
	human_count(groups, "group", gs, sizeof gs);
	human_count(a.n, "complete run", rs, sizeof rs);
	printf("%s of %s%s\n", gs, rs,
	       n_var ? " (grouped by the parameters they differ in; --by KEYS to choose)" : "");
free_groups:
	free(varying);
	for (size_t i = 0; keys && i < a.n; i++)
		free(keys[i]);
	free(keys);
	free(group);
	free(x);
	free(w);
out:
	for (size_t i = 0; i < a.n; i++)
		rundata_free(&a.rd[i]);
	free(a.rd);
	if (a.st)
		store_close(a.st, NULL);
	return rc ? cli_exit_code(rc) : EXIT_OK;
}
