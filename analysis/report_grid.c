/* report_grid: the report's comparison of runs (see report.h): what they differ in, a table,
 * and each metric against what they differ in.  Runs that differ only in replication (run
 * number, seed) are one group; a sweep's runs are grouped by its axes, the parameters they
 * differ in once bookkeeping (sweep.point, sweep.key, input hashes) is set aside
 * (rundata_varying), so that a sweep's report draws its grid: one axis, each metric against it
 * with the 95 % interval over the replications; two or more, one line per value of the second
 * (and further axes' combinations), and for two a heat map of the mean. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ci.h"
#include "human.h"
#include "plot.h"
#include "report_impl.h"

#define MAX_LINES 12 /* lines in one figure; more are left out, and the page says so */

struct groups {
	const struct rundata *rd;  /* the runs compared (eval runs left out) */
	size_t n;
	const char **axes;         /* the parameters they differ in */
	size_t n_axes;
	size_t *of;                /* run -> group */
	size_t *first;             /* group -> its first run */
	size_t n_groups;
};

static const char *value_of(const struct rundata *rd, const char *axis)
{
	const char *v = rundata_param(rd, axis);
	return v ? v : "-";
}

static int same_on(const struct groups *g, size_t a, size_t b, size_t from, size_t to)
{
	for (size_t k = from; k < to; k++)
		if (strcmp(value_of(&g->rd[a], g->axes[k]), value_of(&g->rd[b], g->axes[k])))
			return 0;
	return 1;
}

static int groups_make(struct groups *g)
{
	if (rundata_varying(g->rd, g->n, &g->axes, &g->n_axes))
		return -1;
	g->of = malloc(g->n * sizeof *g->of);
	g->first = malloc(g->n * sizeof *g->first);
	if (!g->of || !g->first)
		return -1;
	for (size_t i = 0; i < g->n; i++) {
		size_t k = 0;
		while (k < g->n_groups && !same_on(g, g->first[k], i, 0, g->n_axes))
			k++;
		if (k == g->n_groups)
			g->first[g->n_groups++] = i;
		g->of[i] = k;
	}
	return 0;
}

static void groups_free(struct groups *g)
{
	free(g->axes);
	free(g->of);
	free(g->first);
}

/* The mean and interval of 'scalar' over group k's runs; n = 0 when none has it. */
static struct ci group_ci(const struct groups *g, size_t k, const char *scalar, double *buf)
{
	size_t m = 0;
	for (size_t i = 0; i < g->n; i++) {
		const double *v = g->of[i] == k ? rundata_scalar(&g->rd[i], scalar) : NULL;
		if (v)
			buf[m++] = *v;
	}
	struct ci c = { 0 };
	if (m)
		c = ci_of(buf, m);
	return c;
}

static int any_has(const struct groups *g, const char *scalar)
{
	for (size_t i = 0; i < g->n; i++)
		if (rundata_scalar(&g->rd[i], scalar))
			return 1;
	return 0;
}

static int is_number(const char *s)
{
	char *end;
	(void)strtod(s, &end);
	return end != s && !*end;
}

/* The distinct values of axis 'a' in the order of the groups, numbers sorted. */
static size_t axis_values(const struct groups *g, size_t a, const char **out)
{
	size_t n = 0;
	int numeric = 1;
	for (size_t k = 0; k < g->n_groups; k++) {
		const char *v = value_of(&g->rd[g->first[k]], g->axes[a]);
		size_t j = 0;
		while (j < n && strcmp(out[j], v))
			j++;
		if (j == n) {
			out[n++] = v;
			numeric &= is_number(v);
		}
	}
	for (size_t i = 1; numeric && i < n; i++) /* insertion sort: a sweep's axis is short */
		for (size_t j = i; j > 0 && strtod(out[j], NULL) < strtod(out[j - 1], NULL); j--) {
			const char *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void html_cell(FILE *html, const char *metric, const struct ci *c)
{
	char mean[32], half[32];
	fprintf(html, "<td>");
	if (!c->n) {
		fprintf(html, "-</td>");
		return;
	}
	human_value(metric, c->mean, mean, sizeof mean);
	rep_esc(html, mean);
	if (c->n > 1) {
		human_value(metric, c->half, half, sizeof half);
		fprintf(html, " &plusmn; ");
		rep_esc(html, half);
	}
	fprintf(html, "</td>");
}

/* One row per group: the axes' values, the runs, each metric's mean and 95 % interval. */
static void group_table(FILE *html, const struct groups *g, double *buf)
{
	fprintf(html, "<table>\n<tr>");
	for (size_t a = 0; a < g->n_axes; a++) {
		fprintf(html, "<th>");
		rep_esc(html, g->axes[a]);
		fprintf(html, "</th>");
	}
	fprintf(html, "<th>runs</th>");
	for (size_t k = 0; k < rep_n_metrics; k++)
		if (any_has(g, rep_metrics[k].scalar)) {
			/* The cells carry their units: "latency p50 (ns)" is shown "latency p50". */
			const char *l = rep_metrics[k].label, *unit = strstr(l, " (ns)");
			fprintf(html, "<th>%.*s</th>", unit ? (int)(unit - l) : (int)strlen(l), l);
		}
	fprintf(html, "</tr>\n");
	for (size_t k = 0; k < g->n_groups; k++) {
		fprintf(html, "<tr>");
		for (size_t a = 0; a < g->n_axes; a++) {
			fprintf(html, "<td>");
			rep_esc(html, value_of(&g->rd[g->first[k]], g->axes[a]));
			fprintf(html, "</td>");
		}
		size_t runs = 0;
		for (size_t i = 0; i < g->n; i++)
			runs += g->of[i] == k;
		fprintf(html, "<td>%zu</td>", runs);
		for (size_t j = 0; j < rep_n_metrics; j++)
			if (any_has(g, rep_metrics[j].scalar)) {
				struct ci c = group_ci(g, k, rep_metrics[j].scalar, buf);
				html_cell(html, rep_metrics[j].scalar, &c);
			}
		fprintf(html, "</tr>\n");
	}
	fprintf(html, "</table>\n");
}

/* "a=1 b=x": group k's values of the axes from 'from' on but 'skip'. */
static void line_label(const struct groups *g, size_t k, size_t skip, char *out, size_t n)
{
	size_t j = 0;
	out[0] = 0;
	for (size_t a = 0; a < g->n_axes && j < n; a++)
		if (a != skip)
			j += (size_t)snprintf(out + j, n - j, "%s%s=%s", j ? " " : "", g->axes[a],
					      value_of(&g->rd[g->first[k]], g->axes[a]));
}

/* Each metric against axis 'x': one line per combination of the other axes (at most
 * MAX_LINES), mean and 95 % interval over each group's replications. */
static void line_figures(struct rep *r, FILE *html, const struct groups *g, size_t x, double *buf)
{
	const char **xv = malloc(g->n_groups * sizeof *xv);
	size_t *line_of = malloc(g->n_groups * sizeof *line_of), *line_first = malloc(g->n_groups * sizeof *line_first);
	if (!xv || !line_of || !line_first)
		goto out;
	size_t nx = axis_values(g, x, xv), n_lines = 0;
	int numeric = 1;
	for (size_t i = 0; i < nx; i++)
		numeric &= is_number(xv[i]);
	/* The lines: groups alike on every axis but x. */
	for (size_t k = 0; k < g->n_groups; k++) {
		size_t l = 0;
		while (l < n_lines) {
			size_t a = g->first[line_first[l]], b = g->first[k];
			if (same_on(g, a, b, 0, x) && same_on(g, a, b, x + 1, g->n_axes))
				break;
			l++;
		}
		if (l == n_lines)
			line_first[n_lines++] = k;
		line_of[k] = l;
	}
	if (n_lines > MAX_LINES)
		fprintf(html, "<p>The figures below draw the first %d of %zu lines.</p>\n", MAX_LINES, n_lines);
	for (size_t m = 0; m < rep_n_metrics; m++) {
		const char *scalar = rep_metrics[m].scalar;
		if (!any_has(g, scalar))
			continue;
		char safe[100], xs[100], file[300], fig[300], q[200];
		rep_safe(scalar, safe, sizeof safe);
		rep_safe(g->axes[x], xs, sizeof xs);
		snprintf(file, sizeof file, "grid-%s-by-%s.dat", safe, xs);
		snprintf(fig, sizeof fig, "grid-%s-by-%s", safe, xs);
		FILE *f = rep_open(r, file);
		if (!f)
			break;
		char script[16384];
		plot_quote(g->axes[x], q, sizeof q);
		int len = snprintf(script, sizeof script,
				   "set xlabel '%s'\nset ylabel '%s'\nset offsets graph 0.05, graph 0.05, graph 0.1, graph 0.1\n%s"
				   "set key below\nplot ",
				   q, rep_metrics[m].label, numeric ? "" : "set xtics rotate by -30\n");
		size_t rows = 0, drawn = 0;
		for (size_t l = 0; l < n_lines && l < MAX_LINES; l++) {
			char label[300], ll[300];
			line_label(g, line_first[l], x, label, sizeof label);
			plot_label(label, ll, sizeof ll);
			fprintf(f, "# %s\n", ll);
			size_t here = 0;
			for (size_t i = 0; i < nx; i++) {
				size_t k = 0;
				while (k < g->n_groups &&
				       !(line_of[k] == l && !strcmp(value_of(&g->rd[g->first[k]], g->axes[x]), xv[i])))
					k++;
				if (k == g->n_groups)
					continue;
				struct ci c = group_ci(g, k, scalar, buf);
				if (!c.n)
					continue;
				char xl[200];
				plot_label(xv[i], xl, sizeof xl);
				if (numeric)
					fprintf(f, "%s", xv[i]);
				else
					fprintf(f, "%zu", i);
				fprintf(f, " %.17g %.17g %zu \"%s\"\n", c.mean, c.half, c.n, xl);
				here++;
			}
			fprintf(f, "\n\n"); /* the next block: gnuplot's index */
			rows += here;
			char tq[300];
			plot_quote(label[0] ? label : "mean", tq, sizeof tq);
			if (here && len < (int)sizeof script)
				len += snprintf(script + len, sizeof script - (size_t)len,
						"%s'%s' index %zu using %s with yerrorlines pt 7 lw 1.5 title '%s'", drawn++ ? ", " : "",
						file, l, numeric ? "1:2:3" : "1:2:3:xtic(5)", tq);
		}
		rep_close(r, f, file);
		char title[400];
		snprintf(title, sizeof title, "%s against %s (mean, 95 %% interval over replications)", rep_metrics[m].label,
			 g->axes[x]);
		rep_figure(r, html, fig, title, script, drawn && len < (int)sizeof script ? rows : 0);
	}
out:
	free(xv);
	free(line_of);
	free(line_first);
}

/* Two axes: the mean of each metric on the grid they make, as a heat map (cells by position,
 * labelled with the values), when every cell has a value. */
static void heat_maps(struct rep *r, FILE *html, const struct groups *g, double *buf)
{
	const char **xv = malloc(g->n_groups * sizeof *xv), **yv = malloc(g->n_groups * sizeof *yv);
	if (!xv || !yv)
		goto out;
	size_t nx = axis_values(g, 0, xv), ny = axis_values(g, 1, yv);
	for (size_t m = 0; m < rep_n_metrics; m++) {
		const char *scalar = rep_metrics[m].scalar;
		if (!any_has(g, scalar))
			continue;
		char safe[100], file[300], fig[300];
		rep_safe(scalar, safe, sizeof safe);
		snprintf(file, sizeof file, "heat-%s.dat", safe);
		snprintf(fig, sizeof fig, "heat-%s", safe);
		FILE *f = rep_open(r, file);
		if (!f)
			break;
		fprintf(f, "# x index, y index, mean\n");
		size_t rows = 0;
		for (size_t j = 0; j < ny; j++) {
			for (size_t i = 0; i < nx; i++) {
				size_t k = 0;
				while (k < g->n_groups &&
				       !(!strcmp(value_of(&g->rd[g->first[k]], g->axes[0]), xv[i]) &&
					 !strcmp(value_of(&g->rd[g->first[k]], g->axes[1]), yv[j])))
					k++;
				struct ci c = k < g->n_groups ? group_ci(g, k, scalar, buf) : (struct ci){ 0 };
				if (c.n) {
					fprintf(f, "%zu %zu %.17g\n", i, j, c.mean);
					rows++;
				}
			}
			fprintf(f, "\n");
		}
		rep_close(r, f, file);
		if (rows != nx * ny)
			continue; /* a grid with holes: the line figures show it */
		char script[16384];
		int len = rep_heat_script(script, sizeof script, file, g->axes[0], xv, nx, g->axes[1], yv, ny,
					  rep_metrics[m].label, false);
		char title[300];
		snprintf(title, sizeof title, "%s over the grid (mean over replications)", rep_metrics[m].label);
		rep_figure(r, html, fig, title, script, len < (int)sizeof script ? rows : 0);
	}
out:
	free(xv);
	free(yv);
}

/* A value as an axis shows it: a path by its last part. */
static const char *shown(const char *v)
{
	const char *slash = strrchr(v, '/');
	return slash && slash[1] ? slash + 1 : v;
}

int rep_heat_script(char *script, size_t cap, const char *file, const char *xname, const char *const *xv, size_t nx,
		    const char *yname, const char *const *yv, size_t ny, const char *cblabel, bool label_column)
{
	char q[200];
	plot_quote(xname, q, sizeof q);
	int len = snprintf(script, cap,
			   "set xlabel '%s'\nset xrange [-0.5:%zu.5]\nset yrange [-0.5:%zu.5]\nset cblabel '%s'\n"
			   "set palette rgbformulae 33,13,10\nset xtics (",
			   q, nx ? nx - 1 : 0, ny ? ny - 1 : 0, cblabel);
	for (size_t i = 0; i < nx && len >= 0 && (size_t)len < cap; i++) {
		plot_quote(shown(xv[i]), q, sizeof q);
		len += snprintf(script + len, cap - (size_t)len, "%s'%s' %zu", i ? ", " : "", q, i);
	}
	plot_quote(yname, q, sizeof q);
	if (len >= 0 && (size_t)len < cap)
		len += snprintf(script + len, cap - (size_t)len, ")\nset ylabel '%s'\nset ytics (", q);
	for (size_t j = 0; j < ny && len >= 0 && (size_t)len < cap; j++) {
		plot_quote(shown(yv[j]), q, sizeof q);
		len += snprintf(script + len, cap - (size_t)len, "%s'%s' %zu", j ? ", " : "", q, j);
	}
	if (len >= 0 && (size_t)len < cap)
		len += snprintf(script + len, cap - (size_t)len,
				label_column ? ")\nplot '%s' using 1:2:3 with image pixels notitle, '%s' using 1:2:4 with labels notitle"
					     : ")\nplot '%s' using 1:2:3 with image pixels notitle, '%s' using 1:2:(gprintf('%%.3g', "
					       "column(3))) with labels notitle",
				file, file);
	return len < 0 || (size_t)len >= cap ? (int)cap : len;
}

/* The axis to draw against: the numeric one with the most values, else the first. */
static size_t x_axis(const struct groups *g)
{
	const char **v = malloc(g->n_groups * sizeof *v);
	size_t best = 0, best_n = 0;
	for (size_t a = 0; v && a < g->n_axes; a++) {
		size_t n = axis_values(g, a, v);
		int numeric = 1;
		for (size_t i = 0; i < n; i++)
			numeric &= is_number(v[i]);
		if (numeric && n > best_n) {
			best = a;
			best_n = n;
		}
	}
	free(v);
	return best;
}

void rep_comparison(struct rep *r, FILE *html, const struct rundata *all, size_t n_all)
{
	struct rundata *rd = malloc((n_all ? n_all : 1) * sizeof *rd);
	double *buf = malloc((n_all ? n_all : 1) * sizeof *buf);
	struct groups g = { 0 };
	size_t m = 0;
	for (size_t i = 0; rd && i < n_all; i++)
		if (!rundata_is_eval(&all[i]))
			rd[m++] = all[i]; /* shallow: read only */
	g.rd = rd;
	g.n = m;
	if (!rd || !buf || m < 2 || groups_make(&g)) {
		groups_free(&g);
		free(rd);
		free(buf);
		return;
	}
	char runs[48], groups[48];
	human_count(m, "run", runs, sizeof runs);
	human_count(g.n_groups, "group", groups, sizeof groups);
	fprintf(html, "<h2>Comparison</h2>\n<p>%s in %s: ", runs, groups);
	if (!g.n_axes) {
		fprintf(html, "they differ in nothing but replication (run number, seed).</p>\n");
	} else {
		fprintf(html, "they differ in %zu parameter%s besides replication and bookkeeping: <b>", g.n_axes,
			g.n_axes == 1 ? "" : "s");
		for (size_t a = 0; a < g.n_axes && a < 12; a++) {
			fprintf(html, "%s", a ? ", " : "");
			rep_esc(html, g.axes[a]);
		}
		fprintf(html, "%s</b>. Each cell is the mean over a group's replications &plusmn; its 95 %% interval "
			      "(Student t).</p>\n",
			g.n_axes > 12 ? ", ..." : "");
	}
	group_table(html, &g, buf);
	if (g.n_axes >= 1 && g.n_axes <= 12) {
		line_figures(r, html, &g, x_axis(&g), buf);
		if (g.n_axes == 2)
			heat_maps(r, html, &g, buf);
	}
	groups_free(&g);
	free(rd);
	free(buf);
}
