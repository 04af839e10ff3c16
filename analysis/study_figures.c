/* study_figures: the study's heat maps and headline figures (see study.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "study_impl.h"

/* The axis the maps and headline figures are drawn against: the numeric one with the most
 * values (the load); 0 when none is numeric. */
static size_t values_of(const struct study *s, size_t a, const char **out)
{
	size_t n = 0;
	int numeric = 1;
	for (size_t c = 0; c < s->n_cells; c++) {
		const char *v = study__val(&s->rd[s->cell_first[c]], s->axes[a]);
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
		const char *v = study__val(&s->rd[s->cell_first[c]], s->axes[a]);
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
		int ok = !strcmp(study__val(r, s->axes[x]), xv) && (y == SIZE_MAX || !strcmp(study__val(r, s->axes[y]), yv));
		for (size_t a = 0; ok && a < s->n_axes; a++)
			if (a != x && a != y)
				ok = !strcmp(study__val(r, s->axes[a]), study__val(pr, s->axes[a]));
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
			const char *v = study__val(&s->rd[s->cell_first[panel]], s->axes[a]), *slash = strrchr(v, '/');
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
static void study__map_label(const struct study *s, size_t mi, char *out, size_t n)
{
	switch (mi) {
	case 0: snprintf(out, n, "%s gain over %s (%%)", s->m50, s->base); break;
	case 1: snprintf(out, n, "%s gain over %s (%%)", s->m99, s->base); break;
	case 2:
		if (study__relative(s))
			snprintf(out, n, "extra CPU over the baseline (%%)");
		else
			snprintf(out, n, "%s change over %s (%%)", s->change, s->base);
		break;
	default: snprintf(out, n, "%s", s->value);
	}
}

/* Heat maps (two axes or more) and the headline lines, per policy and panel. */
void study__figures(struct rep *r, FILE *html, const struct study *s)
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
			study__map_label(s, 0, yl, sizeof yl);
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
				study__map_label(s, mi, ml, sizeof ml);
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
