/* plot: gnuplot, run as a program (DESIGN.md: no plotting by hand).  A plot is a gnuplot script
 * over data files already written in the same folder; plot_render adds the terminal and output
 * lines, writes the script beside its image (so a researcher can rerun and edit it), runs
 * `gnuplot SCRIPT` in that folder and checks that an image came out. */
#ifndef PRECRAFT_ANALYSIS_PLOT_H
#define PRECRAFT_ANALYSIS_PLOT_H

#include <stddef.h>

/* 'fmt' is "svg" or "png".  Renders 'script' into DIR/NAME.FMT (script DIR/NAME.gp; gnuplot's
 * messages are kept in DIR/NAME.log when it fails).  Returns 0, or -1 with one line in 'why': gnuplot's first error
 * line, "gnuplot is not installed", or "no image came out". */
int plot_render(const char *dir, const char *name, const char *fmt, const char *script, char *why, size_t why_len);

/* Quotes 's' for a gnuplot string in single quotes (doubling quotes), into 'out'. */
void plot_quote(const char *s, char *out, size_t n);

#endif
