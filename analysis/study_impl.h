/* study_impl: what study.c (the runs, the pairs, the answer) and study_figures.c (the maps and
 * headline figures) share.  Not a public header. */
#ifndef PRECRAFT_ANALYSIS_STUDY_IMPL_H
#define PRECRAFT_ANALYSIS_STUDY_IMPL_H

#include <stdio.h>

#include "ci.h"
#include "report_impl.h"

#define MAX_POLICIES 8

struct pair_stats {
	size_t pairs;
	struct ci g50, g99, cpu, hit; /* gains in %, the policy's extra CPU in %, its hit ratio */
	int verdict;                  /* 1 pays, -1 does not pay, 0 uncertain */
	const char *command;          /* the policy run of the first pair */
};

struct study {
	const char *axis, *base;      /* what is compared, and with which value */
	const char *m50, *m99, *change, *value; /* the metrics (study_opts) */
	struct rundata *rd;
	size_t n;
	const char **axes;            /* the cells' axes: what the runs differ in but the policy */
	size_t n_axes;
	size_t *cell_of, *cell_first, n_cells;
	const char *pol[MAX_POLICIES];
	size_t n_pol;
	struct pair_stats *ps;        /* [cell * n_pol + policy] */
};

/* A run's parameter 'name', or "-". */
const char *study__val(const struct rundata *rd, const char *name);
/* True when the change metric is relative already (extra_cpu), not made a change over the
 * baseline run's value. */
int study__relative(const struct study *s);
/* Heat maps (two axes or more) and the headline lines, per compared value and panel. */
void study__figures(struct rep *r, FILE *html, const struct study *s);

#endif
