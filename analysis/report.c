/* report: the report's index, comparison and eval figures, and what its pages share (see
 * report.h; a run's page is report_run.c). */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ci.h"
#include "plot.h"
#include "report_impl.h"

void rep_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

FILE *rep_open(struct rep *r, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", r->dir, name);
	FILE *f = fopen(path, "w");
	if (!f && !r->io_error) {
		r->io_error = -ERR_IO;
		snprintf(r->io_msg, sizeof r->io_msg, "%s: cannot write: %s", path, strerror(errno));
	}
	return f;
}

void rep_close(struct rep *r, FILE *f, const char *name)
{
	if (fclose(f) != 0 && !r->io_error) {
		r->io_error = -ERR_IO;
		snprintf(r->io_msg, sizeof r->io_msg, "%s/%s: write failed", r->dir, name);
	}
}

void rep_num(FILE *f, const double *v)
{
	if (v)
		fprintf(f, "%.6g", *v);
	else
		fputs("-", f);
}

void rep_safe(const char *in, char *out, size_t n)
{
	size_t j = 0;
	for (; *in && j + 1 < n; in++)
		out[j++] = (*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9') ||
					   *in == '_' || *in == '.' || *in == '-'
				   ? *in
				   : '_';
	out[j] = 0;
}

void rep_head(FILE *f, const char *title)
{
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
	rep_esc(f, title);
	fprintf(f, "</title>\n<style>\n"
		   "body { font-family: sans-serif; margin: 2em; max-width: 1100px; }\n"
		   "table { border-collapse: collapse; margin: 0.5em 0 1.5em; }\n"
		   "th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }\n"
		   "table.kv th { text-align: left; }\n"
		   "figure { margin: 1em 0; } figure img { max-width: 100%%; border: 1px solid #eee; }\n"
		   ".cmd { font-family: monospace; background: #f4f4f4; padding: 0.3em; }\n"
		   ".empty, .failed { color: #a00; }\n"
		   "</style>\n"
		   /* Counts the images the browser could not show: the report's check in a headless
		    * browser reads data-broken-images from the DOM. */
		   "<script>\nwindow.addEventListener('load', function () {\n"
		   "  var n = 0; var im = document.images;\n"
		   "  for (var i = 0; i < im.length; i++) if (!im[i].complete || im[i].naturalWidth === 0) n++;\n"
		   "  document.body.setAttribute('data-broken-images', String(n));\n"
		   "  document.body.setAttribute('data-images', String(im.length));\n"
		   "});\n</script>\n</head>\n<body>\n");
}

void rep_foot(FILE *f)
{
	fprintf(f, "<p><small>precraft report</small></p>\n</body>\n</html>\n");
}

void rep_figure(struct rep *r, FILE *html, const char *name, const char *title, const char *script, size_t rows)
{
	if (!rows) {
		r->res->empty++;
		fprintf(html, "<p class=\"empty\">");
		rep_esc(html, title);
		fprintf(html, ": no data in the database for this figure.</p>\n");
		return;
	}
	char why[256];
	if ((r->o->scripts_only ? plot_write : plot_render)(r->dir, name, r->o->format, script, why, sizeof why)) {
		r->res->failed++;
		if (!r->res->first_failure[0])
			snprintf(r->res->first_failure, sizeof r->res->first_failure, "%s: %s", name, why);
		fprintf(html, "<p class=\"failed\">");
		rep_esc(html, title);
		fprintf(html, ": the figure could not be drawn (");
		rep_esc(html, why);
		fprintf(html, "; script %s.gp).</p>\n", name);
		return;
	}
	r->res->plots++;
	fprintf(html, "<figure><img src=\"%s.%s\" alt=\"", name, r->o->format);
	rep_esc(html, title);
	fprintf(html, "\"><figcaption>");
	rep_esc(html, title);
	fprintf(html, " <small>(<a href=\"%s.gp\">gnuplot script</a>, %zu data rows)</small></figcaption></figure>\n", name,
		rows);
}

/* ---- the runs ---------------------------------------------------------------------------- */


static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* ---- the index --------------------------------------------------------------------------- */

static void runs_table(FILE *html, const struct rundata *rd, size_t n)
{
	fprintf(html, "<h2>Runs</h2>\n<table>\n<tr><th>run</th><th>status</th><th>command</th><th>packets</th>"
		      "<th>hit ratio</th><th>p50 (ns)</th><th>baseline p50</th></tr>\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(html, "<tr><td><a href=\"run-%" PRId64 ".html\">%" PRId64 "</a></td><td>", rd[i].info.id, rd[i].info.id);
		rep_esc(html, rd[i].info.status);
		fprintf(html, "</td><td class=\"cmd\" style=\"text-align:left\">");
		rep_esc(html, rd[i].info.command);
		fprintf(html, "</td><td>");
		rep_num(html, rundata_scalar(&rd[i], rundata_is_eval(&rd[i]) ? "packets_scored" : "packets_in"));
		fprintf(html, "</td><td>");
		rep_num(html, rundata_scalar(&rd[i], "hit_ratio"));
		fprintf(html, "</td><td>");
		rep_num(html, rundata_scalar(&rd[i], "latency_p50_ns"));
		fprintf(html, "</td><td>");
		rep_num(html, rundata_scalar(&rd[i], "baseline_latency_p50_ns"));
		fprintf(html, "</td></tr>\n");
	}
	fprintf(html, "</table>\n");
}

/* Eval runs: the leaderboard per metric (clustered bars, a cluster per capture, a bar per
 * model) and the calibration curve per model. */
static const struct {
	const char *scalar, *label;
} eval_metrics[] = {
	{ "size_exact_acc", "size exact" },
	{ "size_class_acc", "size class" },
	{ "header_full_acc", "every header field right" },
	{ "strict_hit_acc", "strict hit" },
	{ "precision", "precision at the operating confidence" },
};

/* An eval run's model as the leaderboard names it: a leave-one-capture-out run (eval --cross)
 * is another entry than the same model scored in place. */
static const char *eval_model(const struct rundata *rd, char buf[static 72])
{
	const char *m = rundata_param(rd, "model");
	snprintf(buf, 72, "%.60s%s", m ? m : "?", rundata_param(rd, "cross") ? " (cross)" : "");
	return buf;
}

/* The gnuplot script of clustered bars in [0, 1] from 'file': a cluster per row (its first
 * column the label), a bar per model (the columns after). */
static void bars_script(char *script, size_t cap, const char *ylabel, const char *extra, const char *file,
			const char *const *models, size_t nm)
{
	int len = snprintf(script, cap,
			   "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
			   "set yrange [0:1.05]\nset ylabel '%s'\n%splot ",
			   ylabel, extra);
	for (size_t j = 0; j < nm && len >= 0 && (size_t)len < cap; j++) {
		char q[100];
		plot_quote(models[j], q, sizeof q);
		len += snprintf(script + len, cap - (size_t)len, "%s'%s' using %zu%s title '%s'", j ? ", " : "", file, j + 2,
				j ? "" : ":xtic(1)", q);
	}
}

/* The calibration curve of every model (its captures' histograms summed), from the histograms
 * named 'pre'calibration_predictions and _right: one figure 'fig'. */
static void calibration_figure(struct rep *r, FILE *html, const struct rundata *rd, size_t n, const char *const *models,
			       size_t nm, const char *pre, const char *fig, const char *title)
{
	char script[4096], mb[72], hn_name[96], hk_name[96];
	snprintf(hn_name, sizeof hn_name, "%scalibration_predictions", pre);
	snprintf(hk_name, sizeof hk_name, "%scalibration_right", pre);
	int len = snprintf(script, sizeof script,
			   "set xlabel 'stated confidence'\nset ylabel 'observed: every header field right'\n"
			   "set xrange [0:1]\nset yrange [0:1]\nset size square\nplot x with lines dt 2 lc rgb 'gray' title 'perfectly calibrated'");
	size_t rows = 0;
	for (size_t j = 0; j < nm; j++) {
		double cn[10] = { 0 }, ck[10] = { 0 };
		for (size_t i = 0; i < n; i++) {
			if (!rundata_is_eval(&rd[i]) || !same(eval_model(&rd[i], mb), models[j]))
				continue;
			const struct rd_hist *hn = rundata_hist(&rd[i], hn_name), *hk = rundata_hist(&rd[i], hk_name);
			for (size_t b = 0; hn && b < hn->n; b++) {
				int bin = (int)(hn->lo[b] * 10 + 0.5);
				if (bin >= 0 && bin < 10)
					cn[bin] += (double)hn->count[b];
			}
			for (size_t b = 0; hk && b < hk->n; b++) {
				int bin = (int)(hk->lo[b] * 10 + 0.5);
				if (bin >= 0 && bin < 10)
					ck[bin] += (double)hk->count[b];
			}
		}
		char file[200], safe[100], q[100];
		rep_safe(models[j], safe, sizeof safe);
		snprintf(file, sizeof file, "%s-%s.dat", fig, safe);
		FILE *f = rep_open(r, file);
		if (!f)
			break;
		fprintf(f, "# confidence bin middle, observed accuracy, predictions\n");
		size_t here = 0;
		for (int b = 0; b < 10; b++)
			if (cn[b] > 0) {
				fprintf(f, "%.2f %.6f %.0f\n", (b + 0.5) / 10.0, ck[b] / cn[b], cn[b]);
				here++;
			}
		rep_close(r, f, file);
		rows += here;
		if (here && len < (int)sizeof script) {
			plot_quote(models[j], q, sizeof q);
			len += snprintf(script + len, sizeof script - (size_t)len, ", '%s' using 1:2 with linespoints pt 7 lw 1.5 title '%s'",
					file, q);
		}
	}
	rep_figure(r, html, fig, title, script, rows);
}

/* The classes of flow eval scores separately (models/eval.h: eval_class_names), as it names
 * its scalars class_<name>_*. */
static const char *const eval_classes[] = { "short", "reqresp", "bulk", "media" };

/* Per class of flow: each model's figures over its captures, packet-weighted (clustered bars, a
 * cluster per class), and a calibration curve per class. */
static void class_section(struct rep *r, FILE *html, const struct rundata *rd, size_t n, const char *const *models,
			  size_t nm)
{
	static const struct {
		const char *scalar, *weight, *label;
	} metrics[] = {
		{ "size_exact_acc", "packets_scored", "size exact" },
		{ "header_full_acc", "est_packets_scored", "every header field right" },
	};
	const size_t nc = sizeof eval_classes / sizeof eval_classes[0];
	fprintf(html, "<h3>Per class of flow</h3>\n<p>short: under 16 packets; bulk: one direction carries at least 90 %% "
		      "of the payload and 64 KiB; then media (UDP) and request/response (TCP). Each bar is a model's "
		      "figure over all its captures, weighted by the packets scored.</p>\n");
	char mb[72];
	for (size_t k = 0; k < sizeof metrics / sizeof metrics[0]; k++) {
		char file[200], fig[200], script[4096];
		snprintf(file, sizeof file, "eval-class-%s.dat", metrics[k].scalar);
		snprintf(fig, sizeof fig, "eval-class-%s", metrics[k].scalar);
		FILE *f = rep_open(r, file);
		if (!f)
			return;
		fprintf(f, "# class");
		for (size_t j = 0; j < nm; j++) {
			char ml[100];
			plot_label(models[j], ml, sizeof ml);
			fprintf(f, " %s", ml);
		}
		fprintf(f, "\n");
		size_t rows = 0;
		for (size_t c = 0; c < nc; c++) {
			char sn[96], wn[96];
			snprintf(sn, sizeof sn, "class_%s_%s", eval_classes[c], metrics[k].scalar);
			snprintf(wn, sizeof wn, "class_%s_%s", eval_classes[c], metrics[k].weight);
			fprintf(f, "\"%s\"", eval_classes[c]);
			for (size_t j = 0; j < nm; j++) {
				double sum = 0, w = 0;
				for (size_t i = 0; i < n; i++) {
					if (!rundata_is_eval(&rd[i]) || !same(eval_model(&rd[i], mb), models[j]))
						continue;
					const double *v = rundata_scalar(&rd[i], sn), *wt = rundata_scalar(&rd[i], wn);
					if (v && wt && *wt > 0) {
						sum += *v * *wt;
						w += *wt;
					}
				}
				if (w > 0) {
					fprintf(f, " %.6f", sum / w);
					rows++;
				} else {
					fprintf(f, " NaN");
				}
			}
			fprintf(f, "\n");
		}
		rep_close(r, f, file);
		bars_script(script, sizeof script, metrics[k].label, "", file, models, nm);
		char title[200];
		snprintf(title, sizeof title, "Per class of flow: %s, per model", metrics[k].label);
		rep_figure(r, html, fig, title, script, rows);
	}
	for (size_t c = 0; c < nc; c++) {
		char pre[64], fig[96], title[160];
		snprintf(pre, sizeof pre, "class_%s_", eval_classes[c]);
		snprintf(fig, sizeof fig, "eval-class-calibration-%s", eval_classes[c]);
		snprintf(title, sizeof title, "Calibration, %s flows: stated confidence against observed accuracy",
			 eval_classes[c]);
		calibration_figure(r, html, rd, n, models, nm, pre, fig, title);
	}
}

static void eval_section(struct rep *r, FILE *html, const struct rundata *rd, size_t n)
{
	const char *models[32], *traces[256];
	char model_names[32][72], mb[72];
	size_t nm = 0, nt = 0, ne = 0;
	for (size_t i = 0; i < n; i++) {
		if (!rundata_is_eval(&rd[i]))
			continue;
		ne++;
		const char *m = eval_model(&rd[i], mb), *t = rundata_param(&rd[i], "trace");
		size_t j = 0;
		while (j < nm && strcmp(models[j], m))
			j++;
		if (j == nm && nm < 32) {
			snprintf(model_names[nm], sizeof model_names[nm], "%s", m);
			models[nm] = model_names[nm];
			nm++;
		}
		for (j = 0; j < nt && strcmp(traces[j], t);)
			j++;
		if (j == nt && nt < 256)
			traces[nt++] = t;
	}
	if (!ne)
		return;
	fprintf(html, "<h2>Predictors</h2>\n<p>%zu eval runs: %zu models on %zu captures.</p>\n", ne, nm, nt);
	for (size_t k = 0; k < sizeof eval_metrics / sizeof eval_metrics[0]; k++) {
		char file[200], fig[200], script[4096];
		snprintf(file, sizeof file, "eval-%s.dat", eval_metrics[k].scalar);
		snprintf(fig, sizeof fig, "eval-%s", eval_metrics[k].scalar);
		FILE *f = rep_open(r, file);
		if (!f)
			break;
		fprintf(f, "# capture");
		for (size_t j = 0; j < nm; j++) {
			char ml[100];
			plot_label(models[j], ml, sizeof ml);
			fprintf(f, " %s", ml);
		}
		fprintf(f, "\n");
		size_t rows = 0;
		for (size_t t = 0; t < nt; t++) {
			const char *base = strrchr(traces[t], '/');
			char tl[200];
			plot_label(base ? base + 1 : traces[t], tl, sizeof tl);
			fprintf(f, "\"%s\"", tl);
			for (size_t j = 0; j < nm; j++) {
				const double *v = NULL;
				for (size_t i = 0; i < n && !v; i++)
					if (rundata_is_eval(&rd[i]) && same(eval_model(&rd[i], mb), models[j]) &&
					    same(rundata_param(&rd[i], "trace"), traces[t])) {
						v = rundata_scalar(&rd[i], eval_metrics[k].scalar);
						rows += v != NULL;
					}
				fprintf(f, " %s", v ? "" : "NaN");
				if (v)
					fprintf(f, "%.6f", *v);
			}
			fprintf(f, "\n");
		}
		rep_close(r, f, file);
		bars_script(script, sizeof script, eval_metrics[k].label, "set xtics rotate by -30\n", file, models, nm);
		char title[200];
		snprintf(title, sizeof title, "Leaderboard: %s, per capture and model", eval_metrics[k].label);
		rep_figure(r, html, fig, title, script, rows);
	}
	calibration_figure(r, html, rd, n, models, nm, "", "eval-calibration",
			   "Calibration: stated confidence against observed accuracy");
	class_section(r, html, rd, n, models, nm);
}

/* ---- the report -------------------------------------------------------------------------- */

int rep_mkdirs(const char *dir)
{
	char p[2048];
	snprintf(p, sizeof p, "%s", dir);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0755) != 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int report_write(const struct report_opts *o, struct report_result *res, struct errbuf *eb)
{
	memset(res, 0, sizeof *res);
	struct store *st;
	int rc = store_open_read(o->db, &st, eb);
	if (rc)
		return rc;
	struct rundata_runs sel = { 0 };
	size_t n_all = 0;
	if ((rc = rundata_select(st, o->db, NULL, 0, &sel, eb)) != 0)
		goto out;
	n_all = sel.n;
	if (o->runs) { /* the runs asked for, each of which must exist */
		free(sel.v);
		if ((rc = rundata_select(st, o->db, o->runs, o->n_runs, &sel, eb)) != 0)
			goto out;
	}
	size_t want = sel.n;
	struct rundata *rd = calloc(want ? want : 1, sizeof *rd);
	if (!rd) {
		rc = err_set(eb, -ERR_NOMEM, "out of memory");
		goto out;
	}
	size_t loaded = 0;
	for (size_t i = 0; i < want && !rc; i++)
		if (!(rc = rundata_load(st, &sel.v[i], &rd[loaded], eb))) {
			if (rd[loaded].damage[0] && !res->damaged++)
				snprintf(res->first_damage, sizeof res->first_damage, "%s", rd[loaded].damage);
			loaded++;
		}
	if (!rc && !want)
		rc = err_set(eb, -ERR_FORMAT, "%s: no runs to report", o->db);
	struct rep r = { o, res, "", 0, "" };
	snprintf(r.dir, sizeof r.dir, "%s", o->out_dir);
	if (!rc && rep_mkdirs(o->out_dir))
		rc = err_set(eb, -ERR_IO, "%s: cannot create: %s", o->out_dir, strerror(errno));
	for (size_t i = 0; !rc && i < loaded; i++) {
		rep_run_page(&r, &rd[i]);
		if (!rundata_is_eval(&rd[i]))
			rundata_lighten(&rd[i]);
		res->runs++;
		if (o->progress)
			o->progress(o->progress_arg, i + 1, loaded);
	}
	if (!rc) {
		FILE *html = rep_open(&r, "index.html");
		if (html) {
			char title[2100];
			snprintf(title, sizeof title, "precraft report: %s", o->db);
			rep_head(html, title);
			fprintf(html, "<h1>precraft report</h1>\n<p>Results database <span class=\"cmd\">");
			rep_esc(html, o->db);
			fprintf(html, "</span>, %zu of its %zu runs.</p>\n", loaded, n_all);
			runs_table(html, rd, loaded);
			rep_comparison(&r, html, rd, loaded);
			eval_section(&r, html, rd, loaded);
			rep_foot(html);
			rep_close(&r, html, "index.html");
		}
		if (r.io_error)
			rc = err_set(eb, r.io_error, "%s", r.io_msg);
	}
	for (size_t i = 0; i < loaded; i++)
		rundata_free(&rd[i]);
	free(rd);
out:
	free(sel.v);
	store_close(st, NULL);
	return rc;
}
