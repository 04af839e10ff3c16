/* report: a results database as an HTML report with gnuplot figures (`precraft report`).
 *
 * DIR/index.html lists the runs (with their key figures), compares them metric by metric when
 * there are several, plots each metric against the one parameter they differ in (mean and 95 %
 * confidence interval over replications, ci.h), and for eval runs draws the predictor
 * leaderboard and the calibration curve.  DIR/run-ID.html per run: the summary table, time
 * series (hit ratio, active flows, pool, queues, policy levels and pressure, ...), the CDF of
 * per-packet latency beside the baseline's on the same arrivals (from the stored histograms),
 * hit ratio against flow length, the top flows, and every parameter.  Each figure is a gnuplot
 * script with its data file beside it (plot.h); a figure without data says so on the page, one
 * gnuplot could not draw says why. */
#ifndef PRECRAFT_ANALYSIS_REPORT_H
#define PRECRAFT_ANALYSIS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct report_opts {
	const char *db;
	const int64_t *runs;       /* the runs to report, NULL for all */
	size_t n_runs;
	const char *out_dir;       /* created if needed */
	const char *format;        /* "svg" or "png" */
	void (*progress)(void *arg, size_t done, size_t total); /* runs written so far; may be NULL */
	void *progress_arg;
	bool scripts_only;         /* the scripts and data files, no gnuplot run (the report's fuzz target) */
};

struct report_result {
	size_t runs, plots, empty, failed; /* figures drawn; without data; gnuplot failed */
	char first_failure[600];
	size_t damaged;            /* runs with a damaged vector chunk, skipped (the page says so) */
	char first_damage[200];
};

/* Writes the report.  Returns 0, or -ERR_FORMAT (not a precraft results database, no such run:
 * one line in 'eb'), -ERR_IO or -ERR_NOMEM. */
int report_write(const struct report_opts *o, struct report_result *res, struct errbuf *eb) WARN_UNUSED;

#endif
