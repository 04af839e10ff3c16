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
/* Only the script: DIR/NAME.gp with its terminal and output lines, after plot_script_ok's guard
 * (the same returns). */
int plot_write(const char *dir, const char *name, const char *fmt, const char *script, char *why, size_t why_len);

/* Names (of runs' parameters, series, models, captures) are data, never script text.
 * plot_quote writes 's' for a gnuplot string in single quotes into 'out' (at most n - 1 bytes):
 * the quote doubled, printable ASCII other than '`', '@' and '\\' kept, every other byte (a
 * newline, any control byte, anything outside ASCII) written as '?'. */
void plot_quote(const char *s, char *out, size_t n);

/* The same for a label inside double quotes in a data file (read by xtic() and the like), or
 * for a comment line there: '"' becomes '\'', every byte plot_quote replaces becomes '?'. */
void plot_label(const char *s, char *out, size_t n);

/* The guard plot_render applies before gnuplot sees a script: every line starts with "set ",
 * "unset " or "plot "; single-quoted strings hold only what plot_quote lets through and close
 * on their line; outside them no '`', '@', '!', '"', '\\', '|', '<', '$', control byte, nor
 * the words system, eval, load, call, shell, pipe, print.  0, or -1 with the line named in 'why'. */
int plot_script_ok(const char *script, char *why, size_t why_len);

#endif
