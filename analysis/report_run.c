/* report_run: one run's page of the report (see report.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "report_impl.h"

/* The figures a researcher reads first, in the comparison and in each run's summary. */
const struct rep_metric rep_metrics[] = {
	{ "packets", "packets_in" },
	{ "hit ratio", "hit_ratio" },
	{ "precision", "precision" },
	{ "latency p50 (ns)", "latency_p50_ns" },
	{ "baseline p50 (ns)", "baseline_latency_p50_ns" },
	{ "latency p99 (ns)", "latency_p99_ns" },
	{ "baseline p99 (ns)", "baseline_latency_p99_ns" },
	{ "latency mean (ns)", "latency_mean_ns" },
	{ "offered load", "offered_load" },
	{ "extra CPU", "extra_cpu" },
	{ "extra memory", "extra_memory" },
	{ "wasted", "wasted" },
	{ "divergent packets", "divergent_packets" },
	{ "sealed from keystreams", "esp_sealed_keystream" },
	{ "keystream waste", "ks_waste_ratio" },
};
const size_t rep_n_metrics = sizeof rep_metrics / sizeof rep_metrics[0];

static const char *const mode_names[] = { "shaper.mode", "mode", NULL };
static const char *const pred_names[] = { "shaper.predictor", "predictor", "model", NULL };
static const char *const policy_names[] = { "policy.kind", "policy", NULL };
static const char *const tunnel_names[] = { "shaper.tunnel", "tunnel", NULL };

static void row_text(FILE *f, const char *label, const char *v)
{
	fprintf(f, "<tr><th>%s</th><td>", label);
	rep_esc(f, v ? v : "-");
	fprintf(f, "</td></tr>\n");
}

static void row_ratio(FILE *f, const char *label, const double *a, const double *b)
{
	fprintf(f, "<tr><th>%s</th><td>", label);
	if (a && b && *b > 0)
		fprintf(f, "%.4f", *a / *b);
	else
		fprintf(f, "-");
	fprintf(f, "</td></tr>\n");
}

static void row_vs(FILE *f, const char *label, const double *v, const double *base)
{
	fprintf(f, "<tr><th>%s</th><td>", label);
	rep_num(f, v);
	if (base) {
		fprintf(f, " (baseline ");
		rep_num(f, base);
		if (v && *base > 0)
			fprintf(f, "; %+.1f %%", 100.0 * (*v - *base) / *base);
		fprintf(f, ")");
	}
	fprintf(f, "</td></tr>\n");
}

static void row_pct(FILE *f, const char *label, const double *v)
{
	fprintf(f, "<tr><th>%s</th><td>", label);
	if (v)
		fprintf(f, "%+.2f %%", 100.0 * *v);
	else
		fprintf(f, "-");
	fprintf(f, "</td></tr>\n");
}

static void summary(FILE *f, const struct rundata *rd)
{
	const double *pk = rundata_scalar(rd, "packets_in");
	fprintf(f, "<h2>Summary</h2>\n<table class=\"kv\">\n");
	row_text(f, "mode", rundata_param_any(rd, mode_names));
	row_text(f, "predictor", rundata_param_any(rd, pred_names));
	row_text(f, "policy", rundata_param_any(rd, policy_names));
	const char *tun = rundata_param_any(rd, tunnel_names);
	if (tun && tun[0])
		row_text(f, "tunnel", tun);
	row_vs(f, "packets", pk, NULL);
	row_vs(f, "hit ratio", rundata_scalar(rd, "hit_ratio"), NULL);
	row_ratio(f, "strict hits / packets", rundata_scalar(rd, "strict_hits"), pk);
	row_ratio(f, "template hits / packets", rundata_scalar(rd, "template_hits"), pk);
	row_vs(f, "precision", rundata_scalar(rd, "precision"), NULL);
	row_ratio(f, "waste (wasted / crafted)", rundata_scalar(rd, "wasted"), rundata_scalar(rd, "crafted"));
	row_vs(f, "latency p50 (ns)", rundata_scalar(rd, "latency_p50_ns"), rundata_scalar(rd, "baseline_latency_p50_ns"));
	row_vs(f, "latency p99 (ns)", rundata_scalar(rd, "latency_p99_ns"), rundata_scalar(rd, "baseline_latency_p99_ns"));
	row_pct(f, "extra CPU over the baseline", rundata_scalar(rd, "extra_cpu"));
	row_pct(f, "extra memory over the baseline", rundata_scalar(rd, "extra_memory"));
	row_vs(f, "divergent packets", rundata_scalar(rd, "divergent_packets"), NULL);
	if (rundata_scalar(rd, "esp_packets")) {
		row_vs(f, "ESP packets", rundata_scalar(rd, "esp_packets"), NULL);
		row_ratio(f, "sealed from keystreams made ahead", rundata_scalar(rd, "esp_sealed_keystream"),
			  rundata_scalar(rd, "esp_packets"));
		row_ratio(f, "sent as anticipated", rundata_scalar(rd, "esp_sealed_anticipated"),
			  rundata_scalar(rd, "esp_packets"));
		row_vs(f, "keystream bytes wasted / built", rundata_scalar(rd, "ks_waste_ratio"), NULL);
	}
	/* Drops by kind: every non-zero one. */
	fprintf(f, "<tr><th>drops</th><td>");
	int any = 0;
	for (size_t i = 0; i < rd->n_scalars; i++) {
		const struct rd_scalar *s = &rd->scalars[i];
		if (s->value != 0 && (!strncmp(s->name, "dropped_", 8) || strstr(s->name, "queue_drops") ||
				      !strcmp(s->name, "link_in_lost") || !strcmp(s->name, "link_out_lost"))) {
			fprintf(f, "%s", any++ ? ", " : "");
			rep_esc(f, s->name);
			fprintf(f, " %.0f", s->value);
		}
	}
	fprintf(f, "%s</td></tr>\n</table>\n", any ? "" : "none");
}

/* Time series that belong in one figure. */
static const struct {
	const char *title, *ylabel, *names[5];
} groups[] = {
	{ "Hit ratio per statistics interval", "hit ratio", { "hit_ratio" } },
	{ "Active flows", "flows", { "flows_active" } },
	{ "Pool occupancy", "bytes held", { "pool_bytes" } },
	{ "Queue in front of the shaper's CPU", "packets", { "shaper_queue" } },
	{ "Backlog of the egress link", "packets", { "link_out_backlog" } },
	{ "Adaptive policy: levels per class and pressure", "level", { "policy_level_low", "policy_level_normal", "policy_level_high", "policy_pressure" } },
	{ "Packets per statistics interval", "packets", { "packets" } },
};

static size_t write_series(struct rep *r, const struct rd_series *s, const char *file)
{
	FILE *f = rep_open(r, file);
	if (!f)
		return 0;
	char label[200];
	plot_label(s->name, label, sizeof label);
	fprintf(f, "# %s: time (s), value\n", label);
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "%.9f %.17g\n", (double)s->t[i] / 1e9, s->v[i]);
	rep_close(r, f, file);
	return s->n;
}

static void time_series(struct rep *r, FILE *html, const struct rundata *rd)
{
	fprintf(html, "<h2>Time series</h2>\n");
	unsigned char *used = calloc(rd->n_series ? rd->n_series : 1, 1);
	size_t ng = sizeof groups / sizeof groups[0];
	for (size_t g = 0; g < ng + rd->n_series; g++) {
		const char *names[5] = { 0 }, *title, *ylabel;
		char own[300];
		if (g < ng) {
			memcpy(names, groups[g].names, sizeof names);
			title = groups[g].title;
			ylabel = groups[g].ylabel;
		} else {
			size_t k = g - ng;
			if (used && used[k])
				continue;
			names[0] = rd->series[k].name;
			snprintf(own, sizeof own, "%s", rd->series[k].name);
			title = own;
			ylabel = "value";
		}
		char script[4096], fig[400];
		size_t rows = 0, n = 0;
		int len = snprintf(script, sizeof script, "set xlabel 'simulated time (s)'\nset ylabel '%s'\nplot ", ylabel);
		for (int j = 0; j < 5 && names[j]; j++) {
			const struct rd_series *s = rundata_series(rd, names[j]);
			if (!s)
				continue;
			if (used)
				used[s - rd->series] = 1;
			char safe[200], file[300], q[200];
			rep_safe(s->name, safe, sizeof safe);
			snprintf(file, sizeof file, "run-%" PRId64 "-ts-%s.dat", rd->info.id, safe);
			rows += write_series(r, s, file);
			plot_quote(s->name, q, sizeof q);
			len += snprintf(script + len, sizeof script - (size_t)len, "%s'%s' using 1:2 with steps lw 1.5 title '%s'",
					n++ ? ", " : "", file, q);
			if (len >= (int)sizeof script)
				break;
		}
		if (!n && g < ng)
			continue; /* a series this run does not have: no figure */
		char safe[200];
		rep_safe(names[0], safe, sizeof safe);
		snprintf(fig, sizeof fig, "run-%" PRId64 "-ts-%s", rd->info.id, safe);
		rep_figure(r, html, fig, title, script, rows);
	}
	if (!rd->n_series)
		fprintf(html, "<p class=\"empty\">No time series in the database for this run.</p>\n");
	free(used);
}

/* The CDF of every latency histogram, in one figure. */
static void latency_cdf(struct rep *r, FILE *html, const struct rundata *rd)
{
	fprintf(html, "<h2>Per-packet latency</h2>\n");
	char script[4096];
	int len = snprintf(script, sizeof script,
			   "set logscale x\nset xlabel 'latency through the shaper (ns)'\nset ylabel 'fraction of packets'\n"
			   "set yrange [0:1.02]\nplot ");
	size_t rows = 0, n = 0;
	for (size_t i = 0; i < rd->n_hists; i++) {
		const struct rd_hist *h = &rd->hists[i];
		if (!strstr(h->name, "latency"))
			continue;
		uint64_t total = 0;
		for (size_t k = 0; k < h->n; k++)
			total += h->count[k];
		char safe[200], file[300], q[200];
		rep_safe(h->name, safe, sizeof safe);
		snprintf(file, sizeof file, "run-%" PRId64 "-cdf-%s.dat", rd->info.id, safe);
		FILE *f = rep_open(r, file);
		if (!f)
			continue;
		char label[200];
		plot_label(h->name, label, sizeof label);
		fprintf(f, "# %s: bin upper edge (ns), fraction of packets at or below it, bin count (the first row: the\n"
			   "# first bin's lower edge, 0)\n", label);
		uint64_t c = 0;
		/* The curve starts at 0 at the first bin's lower edge: a histogram of one bin (every
		 * packet in one bin, as the baseline's often is) is then a step, not a lone point that
		 * 'with steps' does not draw. */
		if (h->n)
			fprintf(f, "%.17g 0 0\n", h->lo[0] > 0 ? h->lo[0] : 1);
		for (size_t k = 0; k < h->n; k++) {
			c += h->count[k];
			fprintf(f, "%.17g %.17g %" PRIu64 "\n", h->hi[k], total ? (double)c / (double)total : 0.0, h->count[k]);
		}
		rep_close(r, f, file);
		rows += h->n;
		plot_quote(h->name, q, sizeof q);
		len += snprintf(script + len, sizeof script - (size_t)len, "%s'%s' using 1:2 with steps lw 2 title '%s'",
				n++ ? ", " : "", file, q);
		if (len >= (int)sizeof script)
			break;
	}
	char fig[100];
	snprintf(fig, sizeof fig, "run-%" PRId64 "-latency-cdf", rd->info.id);
	rep_figure(r, html, fig, "CDF of per-packet latency: this run and the baseline server on the same arrivals", script, rows);
}

static int by_packets(const void *a, const void *b)
{
	const struct recorder_flow *x = *(const struct recorder_flow *const *)a, *y = *(const struct recorder_flow *const *)b;
	return x->packets < y->packets ? 1 : x->packets > y->packets ? -1 : (x->flow_id > y->flow_id) - (x->flow_id < y->flow_id);
}

static void flows(struct rep *r, FILE *html, const struct rundata *rd)
{
	fprintf(html, "<h2>Flows</h2>\n");
	char file[100], fig[100];
	snprintf(file, sizeof file, "run-%" PRId64 "-flows.dat", rd->info.id);
	snprintf(fig, sizeof fig, "run-%" PRId64 "-flows", rd->info.id);
	FILE *f = rep_open(r, file);
	if (f) {
		fprintf(f, "# flow_id packets hits misses wasted hit_ratio\n");
		for (size_t i = 0; i < rd->n_flows; i++) {
			const struct recorder_flow *fl = &rd->flows[i];
			fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %.6f\n", fl->flow_id, fl->packets,
				fl->hits, fl->misses, fl->wasted, fl->packets ? (double)fl->hits / (double)fl->packets : 0.0);
		}
		rep_close(r, f, file);
	}
	char script[1024];
	snprintf(script, sizeof script,
		 "set logscale x\nset xlabel 'flow length (packets)'\nset ylabel 'hit ratio'\nset yrange [-0.02:1.02]\n"
		 "plot '%s' using 2:6 with points pt 7 ps 0.5 title 'one flow'",
		 file);
	rep_figure(r, html, fig, "Hit ratio against flow length, one point per flow", script, rd->n_flows);
	if (!rd->n_flows)
		return;
	const struct recorder_flow **top = malloc(rd->n_flows * sizeof *top);
	if (!top)
		return;
	for (size_t i = 0; i < rd->n_flows; i++)
		top[i] = &rd->flows[i];
	qsort(top, rd->n_flows, sizeof *top, by_packets);
	size_t n = rd->n_flows < 20 ? rd->n_flows : 20;
	fprintf(html, "<h3>Top %zu flows by packets (of %zu)</h3>\n<table>\n<tr><th>flow</th><th>proto</th><th>from</th>"
		      "<th>to</th><th>packets</th><th>bytes</th><th>hits</th><th>misses</th><th>wasted</th><th>hit ratio</th></tr>\n",
		n, rd->n_flows);
	for (size_t i = 0; i < n; i++) {
		const struct recorder_flow *fl = top[i];
		fprintf(html, "<tr><td>%" PRIu64 "</td><td>%u</td><td>", fl->flow_id, fl->proto);
		rep_esc(html, fl->src);
		fprintf(html, ":%u</td><td>", fl->sport);
		rep_esc(html, fl->dst);
		fprintf(html,
			":%u</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64
			"</td><td>%.3f</td></tr>\n",
			fl->dport, fl->packets, fl->bytes, fl->hits, fl->misses, fl->wasted,
			fl->packets ? (double)fl->hits / (double)fl->packets : 0.0);
	}
	fprintf(html, "</table>\n");
	free(top);
}

/* An eval run: its scores. */
static void eval_scores(FILE *html, const struct rundata *rd)
{
	fprintf(html, "<h2>Scores</h2>\n<table class=\"kv\">\n");
	for (size_t i = 0; i < rd->n_scalars; i++) {
		fprintf(html, "<tr><th>");
		rep_esc(html, rd->scalars[i].name);
		fprintf(html, "</th><td>");
		rep_num(html, &rd->scalars[i].value);
		fprintf(html, "</td></tr>\n");
	}
	fprintf(html, "</table>\n");
}

void rep_run_page(struct rep *r, const struct rundata *rd)
{
	char name[64], title[128];
	snprintf(name, sizeof name, "run-%" PRId64 ".html", rd->info.id);
	snprintf(title, sizeof title, "precraft run %" PRId64, rd->info.id);
	FILE *html = rep_open(r, name);
	if (!html)
		return;
	rep_head(html, title);
	fprintf(html, "<p><a href=\"index.html\">all runs</a></p>\n<h1>Run %" PRId64 "</h1>\n<p class=\"cmd\">", rd->info.id);
	rep_esc(html, rd->info.command);
	fprintf(html, "</p>\n<p>status <b>");
	rep_esc(html, rd->info.status);
	fprintf(html, "</b>, seed %" PRIu64 ", run number %" PRIu64 ", built from ", rd->info.seed, rd->info.run_number);
	rep_esc(html, rd->info.git_rev[0] ? rd->info.git_rev : "(unknown)");
	fprintf(html, ", started ");
	rep_esc(html, rd->info.started_at);
	fprintf(html, ", finished ");
	rep_esc(html, rd->info.finished_at[0] ? rd->info.finished_at : "(not)");
	fprintf(html, "</p>\n");
	if (rd->damage[0]) {
		fprintf(html, "<p class=\"failed\">The database is damaged here: ");
		rep_esc(html, rd->damage);
		fprintf(html, "; that series is shown up to the damage.</p>\n");
	}
	if (rundata_is_eval(rd)) {
		eval_scores(html, rd);
	} else {
		summary(html, rd);
		time_series(r, html, rd);
		latency_cdf(r, html, rd);
		flows(r, html, rd);
	}
	fprintf(html, "<h2>Parameters</h2>\n<details><summary>%zu parameters</summary>\n<table class=\"kv\">\n",
		rd->n_params);
	for (size_t i = 0; i < rd->n_params; i++) {
		fprintf(html, "<tr><th>");
		rep_esc(html, rd->params[i].name);
		fprintf(html, "</th><td>");
		rep_esc(html, rd->params[i].value);
		fprintf(html, "</td></tr>\n");
	}
	fprintf(html, "</table>\n</details>\n");
	rep_foot(html);
	rep_close(r, html, name);
}
