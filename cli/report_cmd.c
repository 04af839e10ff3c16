/* report_cmd: the readers of a results database on the command line: `precraft report`,
 * `precraft compare-runs`, `precraft export`, `precraft summary`. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/ci.h"
#include "analysis/export.h"
#include "analysis/human.h"
#include "analysis/report.h"
#include "analysis/rundata.h"
#include "cli.h"
#include "commands.h"

const char report_usage[] =
	"usage: precraft report DB [--run ID]... [--out DIR] [--format svg|png] [--quiet]\n"
	"  Writes an HTML report of the results database DB: DIR/index.html (default report/) with the\n"
	"  runs; their comparison grouped by the parameters they differ in (a sweep's axes), a row per\n"
	"  group with each metric's mean and 95 % confidence interval over replications, each metric\n"
	"  against the numeric axis (a line per value of the others) and a heat map for two axes; the\n"
	"  predictor leaderboard and calibration of eval runs, also per class of flow; DIR/run-ID.html\n"
	"  per run (summary, time series, latency CDF beside the baseline's, hit ratio against flow\n"
	"  length, top flows, parameters).  gnuplot draws each figure from a data file and a script\n"
	"  left beside it.\n"
	"  --run ID       only this run (repeatable; default: every run)\n"
	"  --out DIR      where to write (default report)\n"
	"  --format F     svg (default) or png\n";

const char compare_runs_usage[] =
	"usage: precraft compare-runs DB RUN_A RUN_B\n"
	"  Every scalar of two runs side by side, with the difference B - A and the ratio B / A; then the\n"
	"  parameters that differ.\n";

const char export_usage[] =
	"usage: precraft export DB [--run ID]... (--csv DIR | --flowmon FILE.xml)...\n"
	"  --csv DIR          runs, params, scalars, vectors, histograms and flows as CSV files (one per\n"
	"                     table, every row with its run id), as opp_scavetool export does\n"
	"  --flowmon FILE     the flow table as ns-3 FlowMonitor XML (FlowStats and flow classifiers), so\n"
	"                     scripts written for ns-3's FlowMonitor read precraft's results\n"
	"  --run ID           only this run (repeatable; default: every run)\n";

static int run_id_arg(const char *s, int64_t *out)
{
	uint64_t v;
	if (!cli_u64("--run", s, 1, INT64_MAX, &v))
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* One more --run ID into 'runs' (at most 1024). */
static int add_run_arg(const char *cmd, const char *s, int64_t *runs, size_t *n)
{
	if (*n == 1024) {
		cli_error("%s: at most 1024 --run", cmd);
		return -1;
	}
	return run_id_arg(s, &runs[(*n)++]);
}

struct progress {
	struct cli_progress pr;
	bool shown;
	uint64_t t0;
};

static void on_progress(void *arg, size_t done, size_t total)
{
	struct progress *p = arg;
	if (!p->pr.enabled || cli_now_ns() - p->t0 < 1000000000ull)
		return;
	fprintf(stderr, "\rreport: %zu of %zu runs written", done, total);
	fflush(stderr);
	p->shown = true;
}

/* Says, in one line, that 'db' could be read only as an immutable file (read-only media). */
static void say_read_only(const struct store *st)
{
	char note[4400];
	if (store_read_only_note(st, note, sizeof note))
		cli_error("note: %s", note);
}

/* The same for the commands that open the database further down (report, export). */
static void say_read_only_path(const char *db)
{
	struct store *st;
	if (store_open_read(db, &st, NULL) == 0) {
		say_read_only(st);
		store_close(st, NULL);
	}
}

int report_main(int argc, char **argv)
{
	static const struct option lo[] = { { "run", required_argument, 0, 'r' }, { "out", required_argument, 0, 'o' },
					    { "format", required_argument, 0, 'f' }, { "quiet", no_argument, 0, 'q' },
					    { 0, 0, 0, 0 } };
	int64_t runs[1024];
	size_t n_runs = 0;
	const char *out = "report", *format = "svg";
	bool quiet = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (add_run_arg("report", optarg, runs, &n_runs))
				return EXIT_USAGE;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "svg") && strcmp(optarg, "png")) {
				cli_error("report: --format is svg or png, not '%s'", optarg);
				return EXIT_USAGE;
			}
			format = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			cli_error("report: unknown or incomplete option '%s' (see 'precraft report --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (!cli_positional("report", argc - optind))
		return EXIT_USAGE;
	struct progress p = { .t0 = cli_now_ns() };
	cli_progress_start(&p.pr, quiet);
	struct report_opts o = { argv[optind], n_runs ? runs : NULL, n_runs, out, format, on_progress, &p, false };
	struct report_result res;
	struct errbuf eb = { "" };
	say_read_only_path(o.db);
	int rc = report_write(&o, &res, &eb);
	if (p.shown)
		fputs("\r\033[K", stderr);
	if (rc) {
		cli_error("%s", eb.msg);
		return cli_exit_code(rc);
	}
	if (res.damaged)
		cli_error("report: %zu run%s with a damaged vector chunk, shown up to the damage (first: %s)", res.damaged,
			  res.damaged == 1 ? "" : "s", res.first_damage);
	if (res.failed)
		cli_error("report: %zu figure%s could not be drawn (the page says why; first: %s)", res.failed,
			  res.failed == 1 ? "" : "s", res.first_failure);
	if (!quiet)
		printf("report: %s/index.html (%zu runs, %zu figures, %zu without data)\n", out, res.runs, res.plots, res.empty);
	return EXIT_OK;
}

/* ---- compare-runs ------------------------------------------------------------------------ */

static int load_one(struct store *st, const char *db, int64_t id, struct rundata *rd, struct errbuf *eb)
{
	struct rundata_runs sel;
	int rc = rundata_select(st, db, &id, 1, &sel, eb);
	if (!rc)
		rc = rundata_load(st, &sel.v[0], rd, eb);
	if (!rc && rd->damage[0])
		cli_error("%s", rd->damage); /* the scalars compared are whole */
	free(sel.v);
	return rc;
}

int compare_runs_main(int argc, char **argv)
{
	if (argc > 1 && argv[1][0] == '-') {
		cli_error("compare-runs: unknown option '%s' (see 'precraft compare-runs --help')", argv[1]);
		return EXIT_USAGE;
	}
	if (!cli_positional("compare-runs", argc - 1))
		return EXIT_USAGE;
	int64_t a, b;
	if (run_id_arg(argv[2], &a) || run_id_arg(argv[3], &b))
		return EXIT_USAGE;
	struct store *st = NULL;
	struct errbuf eb = { "" };
	int rc = store_open_read(argv[1], &st, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		return cli_exit_code(rc);
	}
	say_read_only(st);
	struct rundata ra, rb;
	if ((rc = load_one(st, argv[1], a, &ra, &eb)) != 0) {
		cli_error("%s", eb.msg);
		store_close(st, NULL);
		return cli_exit_code(rc);
	}
	if ((rc = load_one(st, argv[1], b, &rb, &eb)) != 0) {
		cli_error("%s", eb.msg);
		rundata_free(&ra);
		store_close(st, NULL);
		return cli_exit_code(rc);
	}
	store_close(st, NULL);
	printf("%-32s %16s %16s %14s %10s\n", "scalar", "run A", "run B", "B - A", "B / A");
	printf("%-32s %16" PRId64 " %16" PRId64 "\n", "(run id)", a, b);
	size_t same = 0, differ = 0;
	/* Every scalar of A (in name order), then those only B has. */
	for (int pass = 0; pass < 2; pass++) {
		const struct rundata *x = pass ? &rb : &ra, *y = pass ? &ra : &rb;
		for (size_t i = 0; i < x->n_scalars; i++) {
			const char *name = x->scalars[i].name;
			const double *o = rundata_scalar(y, name);
			if (pass && o)
				continue;
			const double *va = pass ? o : &x->scalars[i].value, *vb = pass ? &x->scalars[i].value : o;
			printf("%-32s ", name);
			if (va)
				printf("%16.6g ", *va);
			else
				printf("%16s ", "-");
			if (vb)
				printf("%16.6g ", *vb);
			else
				printf("%16s ", "-");
			if (va && vb) {
				printf("%+14.6g ", *vb - *va);
				if (*va != 0)
					printf("%10.4f", *vb / *va);
				else
					printf("%10s", *vb == 0 ? "=" : "inf");
				if (*va == *vb)
					same++;
				else
					differ++;
			}
			putchar('\n');
		}
	}
	printf("%zu scalars differ, %zu are equal\n", differ, same);
	size_t pd = 0;
	for (int pass = 0; pass < 2; pass++) {
		const struct rundata *x = pass ? &rb : &ra, *y = pass ? &ra : &rb;
		for (size_t i = 0; i < x->n_params; i++) {
			const char *v = rundata_param(y, x->params[i].name);
			if ((pass && v) || (v && !strcmp(v, x->params[i].value)))
				continue;
			if (!pd++)
				printf("parameters that differ:\n");
			printf("  %s: %s -> %s\n", x->params[i].name, pass ? "-" : x->params[i].value,
			       pass ? x->params[i].value : (v ? v : "-"));
		}
	}
	if (!pd)
		printf("no parameter differs\n");
	rundata_free(&ra);
	rundata_free(&rb);
	return EXIT_OK;
}

/* ---- export ------------------------------------------------------------------------------ */

int export_main(int argc, char **argv)
{
	static const struct option lo[] = { { "run", required_argument, 0, 'r' }, { "csv", required_argument, 0, 'c' },
					    { "flowmon", required_argument, 0, 'x' }, { 0, 0, 0, 0 } };
	int64_t runs[1024];
	size_t n_runs = 0;
	const char *csv = NULL, *flowmon = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (add_run_arg("export", optarg, runs, &n_runs))
				return EXIT_USAGE;
			break;
		case 'c':
			csv = optarg;
			break;
		case 'x':
			flowmon = optarg;
			break;
		default:
			cli_error("export: unknown or incomplete option '%s' (see 'precraft export --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (!cli_positional("export", argc - optind))
		return EXIT_USAGE;
	if (!csv && !flowmon) {
		cli_error("export: say what to write: --csv DIR and/or --flowmon FILE.xml");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct export_totals t;
	const char *db = argv[optind];
	say_read_only_path(db);
	if (csv) {
		int rc = export_csv(db, n_runs ? runs : NULL, n_runs, csv, &t, &eb);
		if (rc) {
			cli_error("%s", eb.msg);
			return cli_exit_code(rc);
		}
		if (t.damaged)
			cli_error("export: %" PRIu64 " run%s with a damaged vector chunk, its samples from there on left out (first: %s)",
				  t.damaged, t.damaged == 1 ? "" : "s", t.first_damage);
		printf("csv: %s/ (%" PRIu64 " runs, %" PRIu64 " rows, %" PRIu64 " flows)\n", csv, t.runs, t.rows, t.flows);
	}
	if (flowmon) {
		int rc = export_flowmon(db, n_runs ? runs : NULL, n_runs, flowmon, &t, &eb);
		if (rc) {
			cli_error("%s", eb.msg);
			return cli_exit_code(rc);
		}
		printf("flowmon: %s (%" PRIu64 " runs, %" PRIu64 " flows, txPackets %" PRIu64 ", rxPackets %" PRIu64
		       ", lostPackets %" PRIu64 ")\n",
		       flowmon, t.runs, t.flows, t.tx_packets, t.rx_packets, t.lost_packets);
	}
	return EXIT_OK;
}

/* ---- summary ----------------------------------------------------------------------------- */

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

int summary_main(int argc, char **argv)
{
	static const struct option lo[] = { { "by", required_argument, 0, 'b' }, { "metric", required_argument, 0, 'm' },
					    { 0, 0, 0, 0 } };
	char *by[32], *metrics[64];
	size_t n_by = 0, n_m = 0;
	char def[] = "hit_ratio,precision,latency_p50_ns,latency_p99_ns,latency_mean_ns,extra_cpu";
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'b')
			n_by = split_list(optarg, by, 32);
		else if (c == 'm')
			n_m = split_list(optarg, metrics, 64);
		else {
			cli_error("summary: unknown or incomplete option '%s' (see 'precraft summary --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (!cli_positional("summary", argc - optind))
		return EXIT_USAGE;
	if (!n_m)
		n_m = split_list(def, metrics, 64);
	const char *db = argv[optind];
	struct errbuf eb = { "" };
	struct all_runs a = { .eb = &eb };
	int rc = store_open_read(db, &a.st, &eb);
	if (!rc)
		say_read_only(a.st);
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
