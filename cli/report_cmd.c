/* report_cmd: the readers of a results database on the command line: `precraft report`,
 * `precraft compare-runs`, `precraft export` (summary_cmd.c: `precraft summary`). */
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
void cli_say_read_only(const struct store *st)
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
		cli_say_read_only(st);
		store_close(st, NULL);
	}
}

const struct option report_options[] = {
	{ "run", required_argument, 0, 'r' },
	{ "out", required_argument, 0, 'o' },
	{ "format", required_argument, 0, 'f' },
	{ "quiet", no_argument, 0, 'q' },
	{ 0, 0, 0, 0 },
};

int report_main(const struct cli_args *a)
{
	int64_t runs[1024];
	size_t n_runs = 0;
	const char *out = "report", *format = "svg";
	bool quiet = false;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case 'r':
			if (add_run_arg("report", arg, runs, &n_runs))
				return EXIT_USAGE;
			break;
		case 'o':
			out = arg;
			break;
		case 'f':
			if (strcmp(arg, "svg") && strcmp(arg, "png")) {
				cli_error("report: --format is svg or png, not '%s'", arg);
				return EXIT_USAGE;
			}
			format = arg;
			break;
		case 'q':
			quiet = true;
			break;
		}
	}
	struct progress p = { .t0 = cli_now_ns() };
	cli_progress_start(&p.pr, quiet);
	struct report_opts o = { a->pos[0], n_runs ? runs : NULL, n_runs, out, format, on_progress, &p, false };
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

int compare_runs_main(const struct cli_args *args)
{
	int64_t a, b;
	if (run_id_arg(args->pos[1], &a) || run_id_arg(args->pos[2], &b))
		return EXIT_USAGE;
	struct store *st = NULL;
	struct errbuf eb = { "" };
	int rc = store_open_read(args->pos[0], &st, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		return cli_exit_code(rc);
	}
	cli_say_read_only(st);
	struct rundata ra, rb;
	if ((rc = load_one(st, args->pos[0], a, &ra, &eb)) != 0) {
		cli_error("%s", eb.msg);
		store_close(st, NULL);
		return cli_exit_code(rc);
	}
	if ((rc = load_one(st, args->pos[0], b, &rb, &eb)) != 0) {
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

const struct option export_options[] = {
	{ "run", required_argument, 0, 'r' },
	{ "csv", required_argument, 0, 'c' },
	{ "flowmon", required_argument, 0, 'x' },
	{ 0, 0, 0, 0 },
};

int export_main(const struct cli_args *a)
{
	int64_t runs[1024];
	size_t n_runs = 0;
	const char *csv = NULL, *flowmon = NULL;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case 'r':
			if (add_run_arg("export", arg, runs, &n_runs))
				return EXIT_USAGE;
			break;
		case 'c':
			csv = arg;
			break;
		case 'x':
			flowmon = arg;
			break;
		}
	}
	if (!csv && !flowmon) {
		cli_error("export: say what to write: --csv DIR and/or --flowmon FILE.xml");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct export_totals t;
	const char *db = a->pos[0];
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
