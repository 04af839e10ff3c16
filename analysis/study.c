/* study: where does pre-crafting pay? (see study.h) */
#include "study.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ci.h"
#include "human.h"
#include "plot.h"
#include "report_impl.h"
#include "store.h"

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

static const char *val(const struct rundata *rd, const char *name)
{
	const char *v = rundata_param(rd, name);
	return v ? v : "-";
}

static int same_cell(const struct study *s, size_t a, size_t b)
{
	for (size_t k = 0; k < s->n_axes; k++)
		if (strcmp(val(&s->rd[a], s->axes[k]), val(&s->rd[b], s->axes[k])))
			return 0;
	return 1;
}

static int load_runs(struct store *st, const char *db, struct study *s, struct errbuf *eb)
{
	struct rundata_runs sel = { 0 };
	int rc = rundata_select(st, db, NULL, 0, &sel, eb);
	if (rc)
		return rc;
	s->rd = calloc(sel.n ? sel.n : 1, sizeof *s->rd);
	if (!s->rd)
		rc = err_set(eb, -ERR_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < sel.n; i++) {
		if (strcmp(sel.v[i].status, "complete"))
			continue;
		if ((rc = rundata_load(st, &sel.v[i], &s->rd[s->n], eb)) != 0)
			break;
		rundata_lighten(&s->rd[s->n]);
		if (rundata_is_eval(&s->rd[s->n]))
			rundata_free(&s->rd[s->n]);
		else
			s->n++;
	}
	free(sel.v);
	return rc;
}

/* The change metric is relative already (extra_cpu: over the baseline server's), or a change
 * over the baseline run's value is made of it. */
static int relative(const struct study *s)
{
	return !strcmp(s->change, "extra_cpu");
}

/* The cells, the policies, and each (cell, policy)'s pairs with off. */
static int compare(struct study *s, const char *db, struct errbuf *eb)
{
	const char **varying;
	size_t nv;
	if (rundata_varying(s->rd, s->n, &varying, &nv))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	int has_policy = 0;
	for (size_t i = 0; i < nv; i++)
		if (!strcmp(varying[i], s->axis))
			has_policy = 1;
		else
			varying[s->n_axes++] = varying[i];
	s->axes = varying;
	if (!has_policy)
		return err_set(eb, -ERR_FORMAT, "%s: the runs do not differ in %s: a study compares its values with %s", db,
			       s->axis, s->base);
	int has_off = 0;
	for (size_t i = 0; i < s->n; i++) {
		const char *p = val(&s->rd[i], s->axis);
		if (!strcmp(p, s->base)) {
			has_off = 1;
			continue;
		}
		size_t k = 0;
		while (k < s->n_pol && strcmp(s->pol[k], p))
			k++;
		if (k == s->n_pol && s->n_pol < MAX_POLICIES)
			s->pol[s->n_pol++] = p;
	}
	if (!has_off || !s->n_pol)
		return err_set(eb, -ERR_FORMAT, "%s: a study needs runs with %s = %s and with another value", db, s->axis, s->base);
	s->cell_of = malloc(s->n * sizeof *s->cell_of);
	s->cell_first = malloc(s->n * sizeof *s->cell_first);
	double *buf = malloc(4 * s->n * sizeof *buf);
	if (!s->cell_of || !s->cell_first || !buf) {
		free(buf);
		return err_set(eb, -ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->n; i++) {
		size_t c = 0;
		while (c < s->n_cells && !same_cell(s, s->cell_first[c], i))
			c++;
		if (c == s->n_cells)
			s->cell_first[s->n_cells++] = i;
		s->cell_of[i] = c;
	}
	s->ps = calloc(s->n_cells * s->n_pol, sizeof *s->ps);
	if (!s->ps) {
		free(buf);
		return err_set(eb, -ERR_NOMEM, "out of memory");
	}
	double *g50 = buf, *g99 = buf + s->n, *cpu = buf + 2 * s->n, *hit = buf + 3 * s->n;
	for (size_t c = 0; c < s->n_cells; c++)
		for (size_t p = 0; p < s->n_pol; p++) {
			struct pair_stats *ps = &s->ps[c * s->n_pol + p];
			size_t m = 0;
			for (size_t i = 0; i < s->n; i++) { /* an off run, then its policy run of the same number */
				if (s->cell_of[i] != c || strcmp(val(&s->rd[i], s->axis), s->base))
					continue;
				for (size_t j = 0; j < s->n; j++) {
					if (s->cell_of[j] != c || strcmp(val(&s->rd[j], s->axis), s->pol[p]) ||
					    s->rd[j].info.run_number != s->rd[i].info.run_number)
						continue;
					const double *b50 = rundata_scalar(&s->rd[i], s->m50),
						     *b99 = rundata_scalar(&s->rd[i], s->m99),
						     *t50 = rundata_scalar(&s->rd[j], s->m50),
						     *t99 = rundata_scalar(&s->rd[j], s->m99),
						     *x = rundata_scalar(&s->rd[j], s->change), *bx = rundata_scalar(&s->rd[i], s->change),
						     *h = rundata_scalar(&s->rd[j], s->value);
					if (!b50 || !b99 || !t50 || !t99 || !(*b50 > 0) || !(*b99 > 0))
						break;
					g50[m] = 100 * (*b50 - *t50) / *b50;
					g99[m] = 100 * (*b99 - *t99) / *b99;
					cpu[m] = relative(s) ? (x ? 100 * *x : 0) : x && bx && *bx > 0 ? 100 * (*x - *bx) / *bx : 0;
					hit[m] = h ? *h : 0;
					if (!m)
						ps->command = s->rd[j].info.command;
					m++;
					break;
				}
			}
			ps->pairs = m;
			if (!m)
				continue;
			ps->g50 = ci_of(g50, m);
			ps->g99 = ci_of(g99, m);
			ps->cpu = ci_of(cpu, m);
			ps->hit = ci_of(hit, m);
			ps->verdict = m < 2 ? 0 : ps->g50.mean - ps->g50.half > 0 ? 1 : ps->g50.mean + ps->g50.half < 0 ? -1 : 0;
		}
	free(buf);
	return 0;
}

static const char *verdict_text(const struct pair_stats *ps)
{
	if (ps->verdict > 0 && ps->g50.mean < 1)
		return "pays, under 1 %"; /* real, and too small to matter */
	return !ps->pairs ? "no pairs" : ps->verdict > 0 ? "pays" : ps->verdict < 0 ? "does not pay" : "uncertain";
}

/* "+12.3 % ± 1.2" */
static void pct(const struct ci *c, char *out, size_t n)
{
	if (c->n > 1)
		snprintf(out, n, "%+.1f %% &plusmn; %.1f", c->mean, c->half);
	else
		snprintf(out, n, "%+.1f %%", c->mean);
}

static void answer_table(FILE *html, const struct study *s)
{
	fprintf(html, "<h2>The answer, cell by cell</h2>\n<table>\n<tr>");
	for (size_t a = 0; a < s->n_axes; a++) {
		fprintf(html, "<th>");
		rep_esc(html, s->axes[a]);
		fprintf(html, "</th>");
	}
	fprintf(html, "<th>");
	rep_esc(html, s->axis);
	fprintf(html, "</th><th>pairs</th><th>");
	rep_esc(html, s->m50);
	fprintf(html, " gain</th><th>");
	rep_esc(html, s->m99);
	fprintf(html, " gain</th><th>");
	rep_esc(html, relative(s) ? "extra CPU" : s->change);
	fprintf(html, "%s</th><th>", relative(s) ? "" : " change");
	rep_esc(html, s->value);
	fprintf(html, "</th><th>verdict</th><th>reproduce (first pair)</th></tr>\n");
	for (size_t c = 0; c < s->n_cells; c++)
		for (size_t p = 0; p < s->n_pol; p++) {
			const struct pair_stats *ps = &s->ps[c * s->n_pol + p];
			fprintf(html, "<tr>");
			for (size_t a = 0; a < s->n_axes; a++) {
				const char *v = val(&s->rd[s->cell_first[c]], s->axes[a]), *slash = strrchr(v, '/');
				fprintf(html, "<td>");
				rep_esc(html, slash && slash[1] ? slash + 1 : v);
				fprintf(html, "</td>");
			}
			char a[64], b[64], x[64];
			pct(&ps->g50, a, sizeof a);
			pct(&ps->g99, b, sizeof b);
			pct(&ps->cpu, x, sizeof x);
			fprintf(html, "<td>");
			rep_esc(html, s->pol[p]);
			fprintf(html, "</td><td>%zu</td><td>%s</td><td>%s</td><td>%s</td><td>%.3f</td><td class=\"v%d\">%s</td>"
				      "<td class=\"cmd\" style=\"text-align:left\">",
				ps->pairs, a, b, x, ps->hit.mean, ps->verdict, verdict_text(ps));
			rep_esc(html, ps->command ? ps->command : "-");
			fprintf(html, "</td></tr>\n");
		}
	fprintf(html, "</table>\n");
}

/* The axis the maps and headline figures are drawn against: the numeric one with the most
 * values (the load); 0 when none is numeric. */
static size_t values_of(const struct study *s, size_t a, const char **out)
{
	size_t n = 0;
	int numeric = 1;
	for (size_t c = 0; c < s->n_cells; c++) {
		const char *v = val(&s->rd[s->cell_first[c]], s->axes[a]);
		size_t j = 0;
		while (j < n && strcmp(out[j], v))
			j++;
		if (j == n) {
			char *end;
			(void)strtod(v, &end);
			numeric &= end != v && !*end;
			out[n++] = v;
		}
	}
	for (size_t i = 1; numeric && i < n; i++)
		for (size_t j = i; j > 0 && strtod(out[j], NULL) < strtod(out[j - 1], NULL); j--) {
			const char *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return numeric ? n : 0; /* 0: not numeric */
}

/* Axis a's distinct values in the order of the cells. */
static size_t distinct(const struct study *s, size_t a, const char **out)
{
	size_t n = 0;
	for (size_t c = 0; c < s->n_cells; c++) {
		const char *v = val(&s->rd[s->cell_first[c]], s->axes[a]);
		size_t j = 0;
		while (j < n && strcmp(out[j], v))
			j++;
		if (j == n)
			out[n++] = v;
	}
	return n;
}

/* The cell with x = xv, y = yv and the panel of cell 'panel' (every other axis as there). */
static size_t cell_at(const struct study *s, size_t x, const char *xv, size_t y, const char *yv, size_t panel)
{
	for (size_t c = 0; c < s->n_cells; c++) {
		const struct rundata *r = &s->rd[s->cell_first[c]], *pr = &s->rd[s->cell_first[panel]];
		int ok = !strcmp(val(r, s->axes[x]), xv) && (y == SIZE_MAX || !strcmp(val(r, s->axes[y]), yv));
		for (size_t a = 0; ok && a < s->n_axes; a++)
			if (a != x && a != y)
				ok = !strcmp(val(r, s->axes[a]), val(pr, s->axes[a]));
		if (ok)
			return c;
	}
	return SIZE_MAX;
}

static void panel_name(const struct study *s, size_t x, size_t y, size_t panel, char *out, size_t n)
{
	size_t j = 0;
	out[0] = 0;
	for (size_t a = 0; a < s->n_axes && j < n; a++)
		if (a != x && a != y) {
			const char *v = val(&s->rd[s->cell_first[panel]], s->axes[a]), *slash = strrchr(v, '/');
			j += (size_t)snprintf(out + j, n - j, "%s%s=%s", j ? " " : "", s->axes[a], slash && slash[1] ? slash + 1 : v);
		}
}

static const struct {
	const char *name;
	size_t off;
} maps[] = {
	{ "p50", offsetof(struct pair_stats, g50) },
	{ "p99", offsetof(struct pair_stats, g99) },
	{ "cpu", offsetof(struct pair_stats, cpu) },
	{ "hit", offsetof(struct pair_stats, hit) },
};

/* A map's label: the gains over the baseline, the change, the value. */
static void map_label(const struct study *s, size_t mi, char *out, size_t n)
{
	switch (mi) {
	case 0: snprintf(out, n, "%s gain over %s (%%)", s->m50, s->base); break;
	case 1: snprintf(out, n, "%s gain over %s (%%)", s->m99, s->base); break;
	case 2:
		if (relative(s))
			snprintf(out, n, "extra CPU over the baseline (%%)");
		else
			snprintf(out, n, "%s change over %s (%%)", s->change, s->base);
		break;
	default: snprintf(out, n, "%s", s->value);
	}
}

/* Heat maps (two axes or more) and the headline lines, per policy and panel. */
static void figures(struct rep *r, FILE *html, const struct study *s)
{
	const char **xv = malloc(s->n_cells * sizeof *xv), **yv = malloc(s->n_cells * sizeof *yv);
	size_t *panels = malloc(s->n_cells * sizeof *panels);
	if (!xv || !yv || !panels || !s->n_axes)
		goto out;
	size_t x = 0, nx = 0;
	for (size_t a = 0; a < s->n_axes; a++) {
		size_t k = values_of(s, a, xv);
		if (k > nx) {
			nx = k;
			x = a;
		}
	}
	if (!nx)
		goto out; /* no numeric axis: the table says it all */
	nx = values_of(s, x, xv);
	/* y: the other axis with the most values (a line each in the headline, a row of the maps);
	 * the rest make panels. */
	size_t y = SIZE_MAX, ny = 1;
	for (size_t a = 0; a < s->n_axes; a++) {
		if (a == x)
			continue;
		size_t k = distinct(s, a, yv);
		if (y == SIZE_MAX || k > ny) {
			y = a;
			ny = k;
		}
	}
	if (y != SIZE_MAX)
		ny = distinct(s, y, yv);
	else
		yv[0] = "";
	size_t np = 0; /* panels: one cell each of the distinct combinations of the other axes */
	for (size_t c = 0; c < s->n_cells; c++) {
		char a[1024], b[1024];
		panel_name(s, x, y, c, a, sizeof a);
		size_t k = 0;
		for (; k < np; k++) {
			panel_name(s, x, y, panels[k], b, sizeof b);
			if (!strcmp(a, b))
				break;
		}
		if (k == np)
			panels[np++] = c;
	}
	fprintf(html, "<h2>Maps</h2>\n<p>Each cell: the mean over the pairs; a cell marked ? has an interval that spans 0.</p>\n");
	for (size_t p = 0; p < s->n_pol; p++)
		for (size_t k = 0; k < np; k++) {
			char pn[1024], safe[300], file[400], fig[400], title[1400], script[16384];
			panel_name(s, x, y, panels[k], pn, sizeof pn);
			char tag[1100];
			snprintf(tag, sizeof tag, "%s%s%s", s->pol[p], pn[0] ? "-" : "", pn); /* files named by what they show */
			rep_safe(tag, safe, sizeof safe);
			/* The headline: p50 gain against x, a line per y, with intervals. */
			snprintf(file, sizeof file, "headline-%s.dat", safe);
			snprintf(fig, sizeof fig, "headline-%s", safe);
			FILE *f = rep_open(r, file);
			if (!f)
				goto out;
			char q[300], t[300];
			plot_quote(s->axes[x], q, sizeof q);
			char yl[300], ylq[400];
			map_label(s, 0, yl, sizeof yl);
			plot_quote(yl, ylq, sizeof ylq);
			int len = snprintf(script, sizeof script,
					   "set xlabel '%s'\nset ylabel '%s'\nset key below\n"
					   "set offsets graph 0.02, graph 0.02, graph 0.1, graph 0.1\nplot 0 with lines lc rgb 'gray' notitle",
					   q, ylq);
			size_t rows = 0;
			for (size_t j = 0; j < ny; j++) {
				for (size_t i = 0; i < nx; i++) {
					size_t c = cell_at(s, x, xv[i], y, yv[j], panels[k]);
					const struct pair_stats *ps = c == SIZE_MAX ? NULL : &s->ps[c * s->n_pol + p];
					if (ps && ps->pairs) {
						fprintf(f, "%s %.6f %.6f\n", xv[i], ps->g50.mean, ps->g50.half);
						rows++;
					}
				}
				fprintf(f, "\n\n");
				const char *slash = strrchr(yv[j], '/');
				plot_quote(y == SIZE_MAX ? s->pol[p] : slash && slash[1] ? slash + 1 : yv[j], t, sizeof t);
				if (len < (int)sizeof script)
					len += snprintf(script + len, sizeof script - (size_t)len,
							", '%s' index %zu using 1:2:3 with yerrorlines pt 7 lw 1.5 title '%s'", file, j, t);
			}
			rep_close(r, f, file);
			snprintf(title, sizeof title, "%s: %s against %s (95 %% interval over paired replications)%s%s",
				 s->pol[p], yl, s->axes[x], pn[0] ? ", " : "", pn);
			rep_figure(r, html, fig, title, script, len < (int)sizeof script ? rows : 0);
			if (y == SIZE_MAX)
				continue;
			for (size_t mi = 0; mi < sizeof maps / sizeof maps[0]; mi++) {
				snprintf(file, sizeof file, "map-%s-%s.dat", maps[mi].name, safe);
				snprintf(fig, sizeof fig, "map-%s-%s", maps[mi].name, safe);
				if (!(f = rep_open(r, file)))
					goto out;
				rows = 0;
				for (size_t j = 0; j < ny; j++) {
					for (size_t i = 0; i < nx; i++) {
						size_t c = cell_at(s, x, xv[i], y, yv[j], panels[k]);
						const struct pair_stats *ps = c == SIZE_MAX ? NULL : &s->ps[c * s->n_pol + p];
						if (!ps || !ps->pairs)
							continue;
						const struct ci *v = (const struct ci *)(const void *)((const char *)ps + maps[mi].off);
						int unsure = v->n < 2 || (v->mean - v->half <= 0 && v->mean + v->half >= 0);
						fprintf(f, "%zu %zu %.6f \"%.3g%s\"\n", i, j, v->mean, v->mean,
							mi < 3 && unsure ? " ?" : "");
						rows++;
					}
					fprintf(f, "\n");
				}
				rep_close(r, f, file);
				char ml[300];
				map_label(s, mi, ml, sizeof ml);
				len = rep_heat_script(script, sizeof script, file, s->axes[x], xv, nx, s->axes[y], yv, ny, ml, true);
				snprintf(title, sizeof title, "%s: %s%s%s", s->pol[p], ml, pn[0] ? ", " : "", pn);
				rep_figure(r, html, fig, title, script, rows == nx * ny && len < (int)sizeof script ? rows : 0);
			}
		}
out:
	free(xv);
	free(yv);
	free(panels);
}

int study_write(const struct study_opts *o, struct study_result *res, struct errbuf *eb)
{
	memset(res, 0, sizeof *res);
	struct store *st;
	int rc = store_open_read(o->db, &st, eb);
	if (rc)
		return rc;
	struct study s = { .axis = o->axis ? o->axis : "policy.kind", .base = o->baseline ? o->baseline : "off",
			   .m50 = o->m50 ? o->m50 : "latency_p50_ns", .m99 = o->m99 ? o->m99 : "latency_p99_ns",
			   .change = o->change ? o->change : "extra_cpu", .value = o->value ? o->value : "hit_ratio" };
	bool policies = !strcmp(s.axis, "policy.kind");
	if (!(rc = load_runs(st, o->db, &s, eb)) && !s.n)
		rc = err_set(eb, -ERR_FORMAT, "%s: no complete run to study", o->db);
	if (!rc)
		rc = compare(&s, o->db, eb);
	if (!rc && rep_mkdirs(o->out_dir))
		rc = err_set(eb, -ERR_IO, "%s: cannot create: %s", o->out_dir, strerror(errno));
	struct report_opts ro = { .db = o->db, .out_dir = o->out_dir, .format = o->format };
	struct report_result rr = { 0 };
	struct rep r = { &ro, &rr, "", 0, "" };
	snprintf(r.dir, sizeof r.dir, "%s", o->out_dir);
	FILE *html = rc ? NULL : rep_open(&r, "index.html");
	if (html) {
		res->runs = s.n;
		res->cells = s.n_cells * s.n_pol;
		for (size_t i = 0; i < res->cells; i++) {
			res->pairs += s.ps[i].pairs;
			res->pays += s.ps[i].pairs && s.ps[i].verdict > 0;
			res->does_not_pay += s.ps[i].pairs && s.ps[i].verdict < 0;
			res->uncertain += !s.ps[i].pairs || !s.ps[i].verdict;
		}
		char h1[300];
		if (policies)
			snprintf(h1, sizeof h1, "Where does pre-crafting pay?");
		else
			snprintf(h1, sizeof h1, "Where does %s pay, against %s?", s.axis, s.base);
		rep_head(html, policies ? "precraft study: where does pre-crafting pay?" : "precraft study");
		fprintf(html, "<style>.v1 { background: #cfc; } .v-1 { background: #fcc; } .v0 { background: #ffc; }</style>\n<h1>");
		rep_esc(html, h1);
		fprintf(html, "</h1>\n<p>Results database <span class=\"cmd\">");
		rep_esc(html, o->db);
		fprintf(html, "</span>: %zu runs, %zu cells &times; values of ", res->runs, res->cells);
		rep_esc(html, s.axis);
		fprintf(html, ", %zu pairs (each run against the run with ", res->pairs);
		rep_esc(html, s.axis);
		fprintf(html, " = ");
		rep_esc(html, s.base);
		fprintf(html, " and the same run number: the same arrivals).</p>\n<p>The cells differ in: <b>");
		for (size_t a = 0; a < s.n_axes; a++) {
			fprintf(html, "%s", a ? ", " : "");
			rep_esc(html, s.axes[a]);
		}
		fprintf(html, "</b>. A gain is (%s - value) / %s of ", s.base, s.base);
		rep_esc(html, s.m50);
		fprintf(html, " and ");
		rep_esc(html, s.m99);
		fprintf(html, "; a value <b>pays</b> where the first gain's 95 %% interval lies above 0 (%zu), <b>does not "
			      "pay</b> where it lies below (%zu), and is <b>uncertain</b> where it spans 0 (%zu).</p>\n",
			res->pays, res->does_not_pay, res->uncertain);
		answer_table(html, &s);
		figures(&r, html, &s);
		rep_foot(html);
		rep_close(&r, html, "index.html");
		res->figures = rr.plots;
		res->failed = rr.failed;
		snprintf(res->first_failure, sizeof res->first_failure, "%s", rr.first_failure);
		if (r.io_error)
			rc = err_set(eb, r.io_error, "%s", r.io_msg);
	} else if (!rc) {
		rc = err_set(eb, r.io_error ? r.io_error : -ERR_IO, "%s", r.io_msg);
	}
	for (size_t i = 0; i < s.n; i++)
		rundata_free(&s.rd[i]);
	free(s.rd);
	free(s.axes);
	free(s.cell_of);
	free(s.cell_first);
	free(s.ps);
	store_close(st, NULL);
	return rc;
}
