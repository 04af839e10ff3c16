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
#include "study_impl.h"



const char *study__val(const struct rundata *rd, const char *name)
{
	const char *v = rundata_param(rd, name);
	return v ? v : "-";
}

static int same_cell(const struct study *s, size_t a, size_t b)
{
	for (size_t k = 0; k < s->n_axes; k++)
		if (strcmp(study__val(&s->rd[a], s->axes[k]), study__val(&s->rd[b], s->axes[k])))
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
int study__relative(const struct study *s)
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
		const char *p = study__val(&s->rd[i], s->axis);
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
				if (s->cell_of[i] != c || strcmp(study__val(&s->rd[i], s->axis), s->base))
					continue;
				for (size_t j = 0; j < s->n; j++) {
					if (s->cell_of[j] != c || strcmp(study__val(&s->rd[j], s->axis), s->pol[p]) ||
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
					cpu[m] = study__relative(s) ? (x ? 100 * *x : 0) : x && bx && *bx > 0 ? 100 * (*x - *bx) / *bx : 0;
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
	rep_esc(html, study__relative(s) ? "extra CPU" : s->change);
	fprintf(html, "%s</th><th>", study__relative(s) ? "" : " change");
	rep_esc(html, s->value);
	fprintf(html, "</th><th>verdict</th><th>reproduce (first pair)</th></tr>\n");
	for (size_t c = 0; c < s->n_cells; c++)
		for (size_t p = 0; p < s->n_pol; p++) {
			const struct pair_stats *ps = &s->ps[c * s->n_pol + p];
			fprintf(html, "<tr>");
			for (size_t a = 0; a < s->n_axes; a++) {
				const char *v = study__val(&s->rd[s->cell_first[c]], s->axes[a]), *slash = strrchr(v, '/');
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
		study__figures(&r, html, &s);
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
