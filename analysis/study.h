/* study: where does pre-crafting pay?  (`precraft study DB`, `make study`)
 * (and, with study_opts' axis and metrics, where does any other choice pay: header
 * compression's link.out.compress against none, on delay and goodput)
 *
 * A results database of runs that differ in policy.kind, "off" among its values, and in any
 * other parameters (a sweep's axes: offered load, tunnel, capture, ...) is read as a regime map.
 * A cell is one combination of the other axes; in each cell, every policy but off is compared
 * with off run number by run number (the same arrivals, the same replication), so the gain
 * of a pair is paired: p50 gain = (off's p50 - the policy's p50) / off's p50, the same for p99,
 * with the mean and 95 % interval (Student t) over the pairs; the policy's extra CPU and hit
 * ratio beside.  A cell pays when the p50 gain's interval lies above 0, does not pay when it
 * lies below, and is uncertain when it spans 0 (or has fewer than 2 pairs).
 *
 * DIR/index.html: the answer table (a row per cell and policy, with the command that
 * reproduces its first pair's policy run), and heat maps of the p50 gain, p99 gain, extra CPU
 * and hit ratio over the numeric axis with the most values (the load) and the next axis, a
 * map per policy and per combination of the rest (cells whose interval spans 0 marked '?');
 * headline-*.svg: the p50 gain against that axis, a line per value of the next, with intervals. */
#ifndef PRECRAFT_ANALYSIS_STUDY_H
#define PRECRAFT_ANALYSIS_STUDY_H

#include <stddef.h>

#include "core/err.h"

struct study_opts {
	const char *db;
	const char *out_dir;       /* created if needed */
	const char *format;        /* "svg" or "png" */
	/* What is compared with what (NULL: the defaults, pre-crafting's study): the parameter
	 * whose values are compared ("policy.kind") with its baseline value ("off"); the two
	 * quantiles whose gains decide (lower is better: "latency_p50_ns", "latency_p99_ns"); a
	 * scalar given as its change over the baseline in % ("extra_cpu", already relative: as
	 * it is, x 100) and one given as it is ("hit_ratio"). */
	const char *axis, *baseline;
	const char *m50, *m99, *change, *value;
};

struct study_result {
	size_t runs, pairs, cells;  /* complete runs read; pairs compared; cells x policies */
	size_t pays, does_not_pay, uncertain;
	size_t figures, failed;
	char first_failure[600];
};

/* Writes the study.  Returns 0, or -ERR_FORMAT (not a results database, no complete runs, runs
 * that do not differ in policy.kind or have no 'off': one line in 'eb'), -ERR_IO, -ERR_NOMEM. */
int study_write(const struct study_opts *o, struct study_result *res, struct errbuf *eb) WARN_UNUSED;

#endif
