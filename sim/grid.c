/* grid: a sweep's parameter grid (see grid.h). */
#include "grid.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(struct errbuf *eb, const char *spec, const char *what)
{
	return err_set(eb, -ERR_FORMAT, "--grid '%s': %s", spec, what);
}

static int push(struct grid_axis *ax, unsigned *cap, const char *v, size_t len, const char *spec, struct errbuf *eb)
{
	if (len == 0)
		return bad(eb, spec, "an empty value");
	if (len >= GRID_VALUE)
		return bad(eb, spec, "a value longer than 63 characters");
	if (ax->n == GRID_MAX_VALUES)
		return bad(eb, spec, "more than 10000 values");
	if (ax->n == *cap) {
		unsigned nc = *cap ? *cap * 2 : 8;
		void *p = realloc(ax->values, (size_t)nc * sizeof ax->values[0]);
		if (!p)
			return err_set(eb, -ERR_NOMEM, "--grid '%s': out of memory", spec);
		ax->values = p;
		*cap = nc;
	}
	memcpy(ax->values[ax->n], v, len);
	ax->values[ax->n][len] = 0;
	ax->n++;
	return 0;
}

/* A whole number in 's' (up to 'end'), finite. */
static int number(const char *s, const char *end, double *out)
{
	char buf[GRID_VALUE];
	size_t n = (size_t)(end - s);
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *e;
	errno = 0;
	*out = strtod(buf, &e);
	return *e || errno || !isfinite(*out) ? -1 : 0;
}

/* "A..B:STEP" or "A..B*FACTOR" (the item's text is [s, end)). */
static int range(struct grid_axis *ax, unsigned *cap, const char *s, const char *end, const char *spec,
		 struct errbuf *eb)
{
	const char *dots = strstr(s, "..");
	const char *op = dots + 2;
	while (op < end && *op != ':' && *op != '*')
		op++;
	double a, b, by;
	if (op == end || number(s, dots, &a) || number(dots + 2, op, &b) || number(op + 1, end, &by))
		return bad(eb, spec, "a range is FROM..TO:STEP or FROM..TO*FACTOR, with numbers");
	bool geometric = *op == '*';
	if (b < a)
		return bad(eb, spec, "a range goes up: FROM <= TO");
	if (geometric ? !(a > 0 && by > 1) : !(by > 0))
		return bad(eb, spec, geometric ? "a geometric range needs FROM > 0 and FACTOR > 1"
					       : "an arithmetic range needs STEP > 0");
	/* The number of steps is a whole number, decided once: (TO - FROM) / STEP, or log(TO / FROM)
	 * / log(FACTOR), rounded down after a relative tolerance of 1e-9 of that count (so that
	 * 0.1..0.3:0.1 has its 3 values despite binary fractions); no value passes TO, the last is
	 * TO itself when the count landed on it. */
	double steps_f = geometric ? log(b / a) / log(by) : (b - a) / by;
	if (!(steps_f < GRID_MAX_VALUES))
		return bad(eb, spec, "more than 10000 values");
	double fl = floor(steps_f * (1 + 1e-9) + 1e-12);
	unsigned steps = (unsigned)fl;
	for (unsigned i = 0; i <= steps; i++) {
		double v = geometric ? a * pow(by, i) : a + by * i;
		if (v > b || (i == steps && fabs(v - b) <= 1e-9 * fabs(b)))
			v = b;
		char txt[GRID_VALUE];
		int n = snprintf(txt, sizeof txt, "%.12g", v);
		int rc = push(ax, cap, txt, (size_t)n, spec, eb);
		if (rc)
			return rc;
	}
	return 0;
}

/* Two values of one axis that mean the same thing ('off,off', '1,1.0'): two grid points with
 * one key, counted twice by summary and merged into one.  Found by sorting, numbers by value. */
struct val_ref {
	double v;
	int is_num;
	const char *text;
};

static int val_cmp(const void *x, const void *y)
{
	const struct val_ref *a = x, *b = y;
	if (a->is_num != b->is_num)
		return a->is_num - b->is_num;
	if (a->is_num)
		return (a->v > b->v) - (a->v < b->v);
	return strcmp(a->text, b->text);
}

static int check_duplicates(const struct grid_axis *ax, const char *spec, struct errbuf *eb)
{
	struct val_ref *r = malloc((ax->n ? ax->n : 1) * sizeof *r);
	if (!r)
		return err_set(eb, -ERR_NOMEM, "--grid '%s': out of memory", spec);
	for (unsigned i = 0; i < ax->n; i++) {
		r[i].text = ax->values[i];
		r[i].is_num = number(ax->values[i], ax->values[i] + strlen(ax->values[i]), &r[i].v) == 0;
	}
	qsort(r, ax->n, sizeof *r, val_cmp);
	int rc = 0;
	for (unsigned i = 1; i < ax->n && !rc; i++)
		if (!val_cmp(&r[i - 1], &r[i]))
			rc = err_set(eb, -ERR_FORMAT, "--grid '%s': the value '%s' is given twice%s%s%s", spec, r[i].text,
				     strcmp(r[i - 1].text, r[i].text) ? " (as '" : "",
				     strcmp(r[i - 1].text, r[i].text) ? r[i - 1].text : "",
				     strcmp(r[i - 1].text, r[i].text) ? "')" : "");
	free(r);
	return rc;
}

int grid_add(struct grid *g, const char *spec, struct errbuf *eb)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec)
		return bad(eb, spec, "expected SECTION.KEY=VALUES");
	if ((size_t)(eq - spec) >= GRID_KEY)
		return bad(eb, spec, "a key longer than 95 characters");
	if (g->n_axes == GRID_MAX_AXES)
		return bad(eb, spec, "more than 16 axes");
	struct grid_axis *ax = &g->axis[g->n_axes];
	memset(ax, 0, sizeof *ax);
	memcpy(ax->key, spec, (size_t)(eq - spec));
	for (unsigned i = 0; i < g->n_axes; i++)
		if (strcmp(g->axis[i].key, ax->key) == 0)
			return bad(eb, spec, "this key has an axis already");
	if (strcmp(ax->key, "run.run") == 0)
		return bad(eb, spec, "run.run is the replication number: --runs N gives runs 1..N of every point");
	unsigned cap = 0;
	int rc = 0;
	for (const char *s = eq + 1; !rc;) {
		const char *end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		const char *dots = strstr(s, "..");
		double from;
		/* A range starts with a number: "../traces/x.pcap" is a value. */
		if (dots && dots < end && number(s, dots, &from) == 0)
			rc = range(ax, &cap, s, end, spec, eb);
		else
			rc = push(ax, &cap, s, (size_t)(end - s), spec, eb);
		if (!*end)
			break;
		s = end + 1;
	}
	if (!rc)
		rc = check_duplicates(ax, spec, eb);
	if (!rc) {
		g->n_axes++;
		if (grid_points(g) > GRID_MAX_POINTS) {
			g->n_axes--;
			rc = bad(eb, spec, "more than 1,000,000 grid points");
		}
	}
	if (rc) {
		free(ax->values);
		memset(ax, 0, sizeof *ax);
	}
	return rc;
}

uint64_t grid_points(const struct grid *g)
{
	uint64_t n = 1;
	for (unsigned a = 0; a < g->n_axes; a++) {
		n *= g->axis[a].n;
		if (n > GRID_MAX_POINTS)
			return GRID_MAX_POINTS + 1; /* stays small enough to multiply: every axis < 10^4 */
	}
	return n;
}

const char *grid_value(const struct grid *g, uint64_t i, unsigned a)
{
	for (unsigned k = g->n_axes; k-- > a + 1;)
		i /= g->axis[k].n;
	return g->axis[a].values[i % g->axis[a].n];
}

void grid_point_text(const struct grid *g, uint64_t i, char *out, size_t cap)
{
	size_t n = 0;
	if (cap)
		out[0] = 0;
	for (unsigned a = 0; a < g->n_axes && n < cap; a++)
		n += (size_t)snprintf(out + n, cap - n, "%s%s=%s", a ? " " : "", g->axis[a].key, grid_value(g, i, a));
}

void grid_free(struct grid *g)
{
	for (unsigned a = 0; a < g->n_axes; a++)
		free(g->axis[a].values);
	memset(g, 0, sizeof *g);
}
