/* report_impl: what the report's files share (report.c: the index, comparison and eval pages;
 * report_run.c: a run's page).  Not installed. */
#ifndef PRECRAFT_ANALYSIS_REPORT_IMPL_H
#define PRECRAFT_ANALYSIS_REPORT_IMPL_H

#include <stdbool.h>
#include <stdio.h>

#include "report.h"
#include "rundata.h"

struct rep {
	const struct report_opts *o;
	struct report_result *res;
	char dir[2048];
	int io_error;              /* a data file or page could not be written */
	char io_msg[4400];
};

/* Writes 's' HTML-escaped. */
void rep_esc(FILE *f, const char *s);

/* Opens DIR/NAME for writing (a data file or page); NULL with the error noted. */
FILE *rep_open(struct rep *r, const char *name);
/* Closes a file rep_open gave, noting a failed write. */
void rep_close(struct rep *r, FILE *f, const char *name);

/* A figure: with 'rows' data rows (0: the page says there is no data), 'script' rendered as
 * NAME.FMT and shown with 'title'; a gnuplot failure is shown with its reason. */
void rep_figure(struct rep *r, FILE *html, const char *name, const char *title, const char *script, size_t rows);

/* A number as the pages show it (%.4g, or "-" for NULL). */
void rep_num(FILE *f, const double *v);

/* A name safe in a file name ([A-Za-z0-9_.-]). */
void rep_safe(const char *in, char *out, size_t n);

/* The page head and foot (the head counts images that did not load, for the browser check). */
void rep_head(FILE *f, const char *title);
void rep_foot(FILE *f);

/* The comparison of the (non-eval) runs on the index: what they differ in, a row per group of
 * replications, each metric against the parameters they differ in (report_grid.c). */
void rep_comparison(struct rep *r, FILE *html, const struct rundata *rd, size_t n);

/* The script of a heat map from 'file' (rows "x-index y-index value [\"label\"]", a row of cells
 * per y, blank lines between): cells by position, ticks labelled with the values (a path by its
 * last part), each cell's value written in it, or its label (column 4) when 'label_column'.
 * Returns the script's length ('cap' or more when it did not fit). */
int rep_heat_script(char *script, size_t cap, const char *file, const char *xname, const char *const *xv, size_t nx,
		    const char *yname, const char *const *yv, size_t ny, const char *cblabel, bool label_column);

/* Makes 'dir' and the folders above it.  0, or -1 with errno. */
int rep_mkdirs(const char *dir);

/* A run's page, DIR/run-ID.html. */
void rep_run_page(struct rep *r, const struct rundata *rd);

/* The figures and table of a run's summary (shared with the index's comparison). */
struct rep_metric {
	const char *label, *scalar;
};
extern const struct rep_metric rep_metrics[];
extern const size_t rep_n_metrics;

#endif
