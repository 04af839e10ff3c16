/* rundata: a run in memory (see rundata.h). */
#include "rundata.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Grows '*arr' (of '*cap' elements of 'size' bytes) to hold one more; -ERR_NOMEM when it
 * cannot. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, c * size);
	if (!p)
		return -ERR_NOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static char *dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int on_param(void *arg, const char *name, const char *value)
{
	struct rundata *rd = arg;
	if (grow((void **)&rd->params, &rd->cap_params, rd->n_params, sizeof *rd->params))
		return -ERR_NOMEM;
	struct rd_param *p = &rd->params[rd->n_params];
	p->name = dup(name);
	p->value = dup(value);
	rd->n_params++;
	return p->name && p->value ? 0 : -ERR_NOMEM;
}

static int on_scalar(void *arg, const char *name, double value)
{
	struct rundata *rd = arg;
	if (grow((void **)&rd->scalars, &rd->cap_scalars, rd->n_scalars, sizeof *rd->scalars))
		return -ERR_NOMEM;
	struct rd_scalar *s = &rd->scalars[rd->n_scalars];
	s->value = value;
	s->name = dup(name);
	rd->n_scalars++;
	return s->name ? 0 : -ERR_NOMEM;
}

/* Rows come grouped by name: a new name starts a new series. */
static int on_vector(void *arg, const char *name, uint64_t t_ns, double value)
{
	struct rundata *rd = arg;
	struct rd_series *s = rd->n_series ? &rd->series[rd->n_series - 1] : NULL;
	if (!s || strcmp(s->name, name) != 0) {
		if (grow((void **)&rd->series, &rd->cap_series, rd->n_series, sizeof *rd->series))
			return -ERR_NOMEM;
		s = &rd->series[rd->n_series++];
		memset(s, 0, sizeof *s);
		if (!(s->name = dup(name)))
			return -ERR_NOMEM;
	}
	if (s->n == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 64;
		uint64_t *t = realloc(s->t, c * sizeof *t);
		if (!t)
			return -ERR_NOMEM;
		s->t = t;
		double *v = realloc(s->v, c * sizeof *v);
		if (!v)
			return -ERR_NOMEM;
		s->v = v;
		s->cap = c;
	}
	s->t[s->n] = t_ns;
	s->v[s->n++] = value;
	return 0;
}

static int on_flow(void *arg, const struct recorder_flow *f)
{
	struct rundata *rd = arg;
	if (grow((void **)&rd->flows, &rd->cap_flows, rd->n_flows, sizeof *rd->flows))
		return -ERR_NOMEM;
	rd->flows[rd->n_flows++] = *f;
	return 0;
}

static int on_hist(void *arg, const char *name, double lo, double hi, uint64_t count)
{
	struct rundata *rd = arg;
	struct rd_hist *h = rd->n_hists ? &rd->hists[rd->n_hists - 1] : NULL;
	if (!h || strcmp(h->name, name) != 0) {
		if (grow((void **)&rd->hists, &rd->cap_hists, rd->n_hists, sizeof *rd->hists))
			return -ERR_NOMEM;
		h = &rd->hists[rd->n_hists++];
		memset(h, 0, sizeof *h);
		if (!(h->name = dup(name)))
			return -ERR_NOMEM;
	}
	if (h->n == h->cap) {
		size_t c = h->cap ? h->cap * 2 : 64;
		double *lo2 = realloc(h->lo, c * sizeof *lo2);
		if (!lo2)
			return -ERR_NOMEM;
		h->lo = lo2;
		double *hi2 = realloc(h->hi, c * sizeof *hi2);
		if (!hi2)
			return -ERR_NOMEM;
		h->hi = hi2;
		uint64_t *n2 = realloc(h->count, c * sizeof *n2);
		if (!n2)
			return -ERR_NOMEM;
		h->count = n2;
		h->cap = c;
	}
	h->lo[h->n] = lo;
	h->hi[h->n] = hi;
	h->count[h->n++] = count;
	return 0;
}

static const struct recorder_ops rd_ops = { on_param, on_scalar, on_vector, on_flow, on_hist };

static int by_param_name(const void *a, const void *b)
{
	return strcmp(((const struct rd_param *)a)->name, ((const struct rd_param *)b)->name);
}

static int by_scalar_name(const void *a, const void *b)
{
	return strcmp(((const struct rd_scalar *)a)->name, ((const struct rd_scalar *)b)->name);
}

int rundata_load(struct store *st, const struct store_run *info, struct rundata *rd, struct errbuf *eb)
{
	memset(rd, 0, sizeof *rd);
	rd->info = *info;
	struct recorder r = { &rd_ops, rd };
	/* A damaged chunk loses its vector's samples from the damage on, not the run: the run is
	 * read and the damage named in rd->damage for the caller to say. */
	int rc = store_read_run(st, info->id, &r, eb, rd->damage, sizeof rd->damage);
	if (rc) {
		rundata_free(rd);
		return rc;
	}
	/* Sorted by name (the store reads them so; sorted again only if not), so that a look-up is
	 * a binary search: a report of runs with 100,000 parameters each was quadratic. */
	for (size_t i = 1; i < rd->n_params; i++)
		if (strcmp(rd->params[i - 1].name, rd->params[i].name) > 0) {
			qsort(rd->params, rd->n_params, sizeof *rd->params, by_param_name);
			break;
		}
	for (size_t i = 1; i < rd->n_scalars; i++)
		if (strcmp(rd->scalars[i - 1].name, rd->scalars[i].name) > 0) {
			qsort(rd->scalars, rd->n_scalars, sizeof *rd->scalars, by_scalar_name);
			break;
		}
	return 0;
}

static int add_run(void *arg, const struct store_run *r)
{
	struct rundata_runs *rs = arg;
	if (grow((void **)&rs->v, &rs->cap, rs->n, sizeof *rs->v))
		return -ERR_NOMEM;
	rs->v[rs->n++] = *r;
	return 0;
}

int rundata_select(struct store *st, const char *db, const int64_t *ids, size_t n_ids, struct rundata_runs *out,
		   struct errbuf *eb)
{
	struct rundata_runs all = { 0 };
	memset(out, 0, sizeof *out);
	int rc = store_each_run(st, add_run, &all, eb);
	if (rc) {
		free(all.v);
		return eb->msg[0] ? rc : err_set(eb, rc, "%s: %s", db, err_str(rc));
	}
	if (!ids) {
		*out = all;
		return 0;
	}
	for (size_t i = 0; i < n_ids && !rc; i++) {
		size_t j = 0;
		while (j < all.n && all.v[j].id != ids[i])
			j++;
		if (j == all.n)
			rc = err_set(eb, -ERR_FORMAT, "%s: no run %" PRId64 " (the database has %zu run%s)", db, ids[i], all.n,
				     all.n == 1 ? "" : "s");
		else if ((rc = add_run(out, &all.v[j])) != 0)
			err_set(eb, rc, "out of memory");
	}
	free(all.v);
	if (rc) {
		free(out->v);
		memset(out, 0, sizeof *out);
	}
	return rc;
}

void rundata_lighten(struct rundata *rd)
{
	for (size_t i = 0; i < rd->n_series; i++) {
		free(rd->series[i].name);
		free(rd->series[i].t);
		free(rd->series[i].v);
	}
	free(rd->series);
	rd->series = NULL;
	rd->n_series = rd->cap_series = 0;
	free(rd->flows);
	rd->flows = NULL;
	rd->n_flows = rd->cap_flows = 0;
}

void rundata_free(struct rundata *rd)
{
	for (size_t i = 0; i < rd->n_params; i++) {
		free(rd->params[i].name);
		free(rd->params[i].value);
	}
	for (size_t i = 0; i < rd->n_scalars; i++)
		free(rd->scalars[i].name);
	for (size_t i = 0; i < rd->n_series; i++) {
		free(rd->series[i].name);
		free(rd->series[i].t);
		free(rd->series[i].v);
	}
	for (size_t i = 0; i < rd->n_hists; i++) {
		free(rd->hists[i].name);
		free(rd->hists[i].lo);
		free(rd->hists[i].hi);
		free(rd->hists[i].count);
	}
	free(rd->params);
	free(rd->scalars);
	free(rd->series);
	free(rd->hists);
	free(rd->flows);
	memset(rd, 0, sizeof *rd);
}

const char *rundata_param(const struct rundata *rd, const char *name)
{
	struct rd_param key = { .name = (char *)name };
	const struct rd_param *p = rd->n_params ? bsearch(&key, rd->params, rd->n_params, sizeof key, by_param_name) : NULL;
	return p ? p->value : NULL;
}

const char *rundata_param_any(const struct rundata *rd, const char *const *names)
{
	for (; *names; names++) {
		const char *v = rundata_param(rd, *names);
		if (v)
			return v;
	}
	return NULL;
}

const double *rundata_scalar(const struct rundata *rd, const char *name)
{
	struct rd_scalar key = { .name = (char *)name };
	struct rd_scalar *s = rd->n_scalars ? bsearch(&key, rd->scalars, rd->n_scalars, sizeof key, by_scalar_name) : NULL;
	return s ? &s->value : NULL;
}

const struct rd_series *rundata_series(const struct rundata *rd, const char *name)
{
	for (size_t i = 0; i < rd->n_series; i++)
		if (!strcmp(rd->series[i].name, name))
			return &rd->series[i];
	return NULL;
}

const struct rd_hist *rundata_hist(const struct rundata *rd, const char *name)
{
	for (size_t i = 0; i < rd->n_hists; i++)
		if (!strcmp(rd->hists[i].name, name))
			return &rd->hists[i];
	return NULL;
}

int rundata_is_eval(const struct rundata *rd)
{
	return rundata_param(rd, "model") && rundata_param(rd, "trace") && rundata_scalar(rd, "packets_scored");
}

int rundata_replication_param(const char *name)
{
	return !strcmp(name, "run.run") || !strcmp(name, "run.seed") || !strcmp(name, "seed") || !strcmp(name, "run") ||
	       !strcmp(name, "sweep.job");
}

int rundata_bookkeeping_param(const char *name)
{
	size_t n = strlen(name);
	return rundata_replication_param(name) || !strcmp(name, "sweep.point") || !strcmp(name, "sweep.key") ||
	       (n > 7 && !strcmp(name + n - 7, "_sha256"));
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Scenario keys (dotted names) before other names, each kind in name order. */
static int by_keys_first(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int dx = strchr(x, '.') != NULL, dy = strchr(y, '.') != NULL;
	return dx != dy ? dy - dx : strcmp(x, y);
}

static int same_value(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int rundata_varying(const struct rundata *rd, size_t n, const char ***names, size_t *n_names)
{
	*names = NULL;
	*n_names = 0;
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += rd[i].n_params;
	if (!total)
		return 0;
	const char **all = malloc(total * sizeof *all);
	if (!all)
		return -ERR_NOMEM;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t p = 0; p < rd[i].n_params; p++)
			if (!rundata_bookkeeping_param(rd[i].params[p].name))
				all[m++] = rd[i].params[p].name;
	qsort(all, m, sizeof *all, by_keys_first);
	/* A parameter that varies exactly as one kept before it (the tunnel's SA list with the
	 * tunnel file, a derived name with its key) is the same axis: kept once, by the scenario
	 * key (a dotted name) when there is one.  Runs are compared by the class of their value:
	 * cls[r] is the first run with the same value. */
	size_t *cls = malloc(n * sizeof *cls), *kept_cls = NULL;
	size_t k = 0;
	if (!cls) {
		free(all);
		return -ERR_NOMEM;
	}
	for (size_t i = 0; i < m; i++) {
		if (i && !strcmp(all[i], all[i - 1]))
			continue; /* each name once */
		int differs = 0;
		for (size_t r = 0; r < n; r++) {
			const char *v = rundata_param(&rd[r], all[i]);
			cls[r] = r;
			for (size_t q = 0; q < r; q++)
				if (same_value(v, rundata_param(&rd[q], all[i]))) {
					cls[r] = q;
					break;
				}
			differs |= cls[r] != 0;
		}
		if (!differs)
			continue;
		int dup = 0;
		for (size_t j = 0; j < k && !dup; j++)
			dup = !memcmp(kept_cls + j * n, cls, n * sizeof *cls);
		if (dup)
			continue;
		size_t *grown = realloc(kept_cls, (k + 1) * n * sizeof *grown);
		if (!grown) {
			free(cls);
			free(kept_cls);
			free(all);
			return -ERR_NOMEM;
		}
		kept_cls = grown;
		memcpy(kept_cls + k * n, cls, n * sizeof *cls);
		all[k++] = all[i];
	}
	free(cls);
	free(kept_cls);
	if (!k) {
		free(all);
		return 0;
	}
	qsort(all, k, sizeof *all, by_str);
	*names = all;
	*n_names = k;
	return 0;
}
