/* rundata: one run of a results database in memory, for the readers of results (report,
 * compare-runs, export): its parameters, scalars, time series, histograms and flows, as
 * store_read_run hands them over. */
#ifndef PRECRAFT_ANALYSIS_RUNDATA_H
#define PRECRAFT_ANALYSIS_RUNDATA_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/recorder.h"
#include "store.h"

struct rd_param {
	char *name, *value;
};

struct rd_scalar {
	char *name;
	double value;
};

struct rd_series {
	char *name;
	size_t n, cap;
	uint64_t *t;
	double *v;
};

struct rd_hist {
	char *name;
	size_t n, cap;
	double *lo, *hi;
	uint64_t *count;
};

struct rundata {
	struct store_run info;
	struct rd_param *params;
	size_t n_params, cap_params;
	struct rd_scalar *scalars;
	size_t n_scalars, cap_scalars;
	struct rd_series *series;
	size_t n_series, cap_series;
	struct rd_hist *hists;
	size_t n_hists, cap_hists;
	struct recorder_flow *flows;
	size_t n_flows, cap_flows;
	char damage[200];          /* the first damaged vector chunk skipped ("" none) */
};

/* Runs of a database, as store_each_run lists them. */
struct rundata_runs {
	struct store_run *v;
	size_t n, cap;
};

/* The runs 'ids' of 'db' in that order ('ids' NULL: every run, in id order), each of which
 * must exist: -ERR_FORMAT "DB: no run N (the database has M runs)".  The caller frees out->v. */
int rundata_select(struct store *st, const char *db, const int64_t *ids, size_t n_ids, struct rundata_runs *out,
		   struct errbuf *eb) WARN_UNUSED;

/* Reads run 'info->id' of 'st' into 'rd' (zeroed first).  Returns 0 or a negative ERR_* with
 * 'eb' set; 'rd' is then freed. */
int rundata_load(struct store *st, const struct store_run *info, struct rundata *rd, struct errbuf *eb) WARN_UNUSED;
void rundata_free(struct rundata *rd);
/* Frees a loaded run's time series and flows, keeping its parameters, scalars and histograms
 * (what comparisons and summaries of many runs need). */
void rundata_lighten(struct rundata *rd);

/* Lookups by name (binary search: parameters and scalars are kept sorted); NULL / 0 when absent. */
const char *rundata_param(const struct rundata *rd, const char *name);
const double *rundata_scalar(const struct rundata *rd, const char *name);
const struct rd_series *rundata_series(const struct rundata *rd, const char *name);
const struct rd_hist *rundata_hist(const struct rundata *rd, const char *name);

/* Parameters that say how a run was made, not what was asked: replication (the run number,
 * the seed, sweep.job), a sweep's bookkeeping (sweep.point and sweep.key, which the swept keys
 * say again) and the inputs' content hashes (NAME_sha256, which NAME says). */
int rundata_bookkeeping_param(const char *name);

/* The parameters the 'n' runs differ in, bookkeeping aside (a parameter some runs lack counts
 * as differing), one for each way of splitting the runs (a parameter that varies exactly as a
 * scenario key, such as the tunnel's SA list with the tunnel file, is that key's axis), in name
 * order: '*names' is malloc'd (the strings are the runs'), NULL when none.  Quadratic in runs
 * for each parameter that varies.  Returns 0 or -ERR_NOMEM. */
int rundata_varying(const struct rundata *rd, size_t n, const char ***names, size_t *n_names) WARN_UNUSED;

/* The first of 'names' (NULL-terminated) that is a parameter of the run, or NULL. */
const char *rundata_param_any(const struct rundata *rd, const char *const *names);

/* True for a run of `precraft eval` (a model scored on a capture). */
int rundata_is_eval(const struct rundata *rd);

/* True for the parameters that tell replications of one experiment apart (the run number, the
 * seed, a sweep's job number), which grouping runs into experiments leaves out. */
int rundata_replication_param(const char *name);

#endif
