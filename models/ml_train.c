/* ml_train: fits the ml model (see ml.h) from packets in flow order.
 *
 * Pass 1 gathers each flow's first ML_DIMS sizes and fits k classes by k-means (k-means++ seeds
 * drawn from GSL's MT19937 with a fixed seed, so the same captures give the same model; Lloyd
 * iterations until no flow changes class).  Pass 2 replays the packets with the classes known
 * and counts, per context key, every next size seen and a reservoir of gaps; the model keeps,
 * per key seen at least twice, the most frequent size, its share, and the median gap. */
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "flowwalk.h"
#include "ml.h"

#define RESERVOIR 32

struct acc {                       /* one context key */
	uint64_t key;
	uint64_t gaps_seen;
	uint32_t total;
	uint32_t top_size, top_count;
	uint32_t gap[RESERVOIR];
};

struct size_count {                /* one (context key, size) */
	uint64_t key;
	uint32_t size, count;
};

struct ml_trainer {
	uint32_t k_wanted;
	gsl_rng *rng;
	double (*x)[ML_DIMS];          /* pass 1: flows' features */
	size_t nx, capx;
	uint64_t flows, packets;
	struct ml_model classes;       /* the centroids, after pass 1 */
	struct acc *acc;               /* open addressing on key */
	uint32_t acc_cap, acc_used;
	struct size_count *sc;         /* open addressing on (key, size) */
	uint32_t sc_cap, sc_used;
};

static inline uint32_t mix(uint64_t v, uint32_t cap)
{
	return (uint32_t)((v * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

/* Doubles a table, rehashing; 'T' is the element type and 'keyexpr' hashes an element 'e'. */
#define GROW(tab, cap, T, keyexpr, eqexpr)                                                  \
	do {                                                                                \
		uint32_t ncap = (cap) ? (cap) * 2 : 4096;                                   \
		T *n = calloc(ncap, sizeof(T));                                             \
		if (!n)                                                                     \
			return -ERR_NOMEM;                                                  \
		for (uint32_t i_ = 0; i_ < (cap); i_++) {                                   \
			const T *e = &(tab)[i_];                                            \
			if (!e->key)                                                        \
				continue;                                                   \
			uint32_t j_ = mix(keyexpr, ncap);                                   \
			while (n[j_].key)                                                   \
				j_ = (j_ + 1) & (ncap - 1);                                 \
			n[j_] = *e;                                                         \
		}                                                                           \
		free(tab);                                                                  \
		(tab) = n;                                                                  \
		(cap) = ncap;                                                               \
	} while (0)

static int acc_get(struct ml_trainer *t, uint64_t key, struct acc **out)
{
	if ((t->acc_used + 1) * 2 > t->acc_cap)
		GROW(t->acc, t->acc_cap, struct acc, e->key, 0);
	uint32_t i = mix(key, t->acc_cap);
	while (t->acc[i].key && t->acc[i].key != key)
		i = (i + 1) & (t->acc_cap - 1);
	if (!t->acc[i].key) {
		t->acc[i].key = key;
		t->acc_used++;
	}
	*out = &t->acc[i];
	return 0;
}

static int sc_add(struct ml_trainer *t, uint64_t key, uint32_t size)
{
	if ((t->sc_used + 1) * 2 > t->sc_cap)
		GROW(t->sc, t->sc_cap, struct size_count, e->key ^ (uint64_t)e->size << 47, 0);
	uint64_t h = key ^ (uint64_t)size << 47;
	uint32_t i = mix(h, t->sc_cap);
	while (t->sc[i].key && !(t->sc[i].key == key && t->sc[i].size == size))
		i = (i + 1) & (t->sc_cap - 1);
	if (!t->sc[i].key) {
		t->sc[i].key = key;
		t->sc[i].size = size;
		t->sc_used++;
	}
	t->sc[i].count++;
	return 0;
}

int ml_trainer_create(uint32_t k, uint64_t seed, struct ml_trainer **out, struct errbuf *eb)
{
	struct ml_trainer *t = calloc(1, sizeof *t);
	if (!t || !(t->rng = gsl_rng_alloc(gsl_rng_mt19937))) {
		free(t);
		return err_set(eb, -ERR_NOMEM, "ml trainer: out of memory");
	}
	gsl_rng_set(t->rng, (unsigned long)seed);
	t->k_wanted = k < 1 ? 1 : k > ML_MAX_CLUSTERS ? ML_MAX_CLUSTERS : k;
	*out = t;
	return 0;
}

void ml_trainer_destroy(struct ml_trainer *t)
{
	if (!t)
		return;
	gsl_rng_free(t->rng);
	free(t->x);
	free(t->acc);
	free(t->sc);
	free(t);
}

int ml_train_packet(struct ml_trainer *t, int pass, struct ml_ctx *c, const struct pred_pkt *pk)
{
	if (pass == 1) {
		if (c->n == 0)
			t->flows++;
		ml_ctx_update(c, NULL, pk);
		if (c->n == ML_DIMS) {
			if (t->nx == t->capx) {
				size_t cap = t->capx ? t->capx * 2 : 1024;
				double(*x)[ML_DIMS] = realloc(t->x, cap * sizeof *x);
				if (!x)
					return -ERR_NOMEM;
				t->x = x;
				t->capx = cap;
			}
			ml_features(c->first, t->x[t->nx++]);
		}
		return 0;
	}
	unsigned d = pk->dir & 1;
	uint64_t key[2];
	unsigned nk = ml_ctx_keys(c, d, key);
	uint32_t size = pk->payload_len > 0xffff ? 0xffff : pk->payload_len;
	int gap_ok = pk->t_ns >= c->last_t && pk->t_ns - c->last_t <= IAT_MAX_NS;
	for (unsigned i = 0; i < nk; i++) {
		struct acc *a;
		int rc = acc_get(t, key[i], &a);
		if (rc || (rc = sc_add(t, key[i], size)) != 0)
			return rc;
		a->total++;
		if (gap_ok) {
			/* Reservoir sampling keeps a uniform sample of the key's gaps. */
			uint32_t g = (uint32_t)((pk->t_ns - c->last_t) / 1000);
			if (a->gaps_seen < RESERVOIR)
				a->gap[a->gaps_seen] = g;
			else {
				uint64_t j = gsl_rng_uniform_int(t->rng, a->gaps_seen + 1);
				if (j < RESERVOIR)
					a->gap[j] = g;
			}
			a->gaps_seen++;
		}
	}
	t->packets++;
	ml_ctx_update(c, &t->classes, pk);
	return 0;
}

/* k-means++ seeding then Lloyd's iterations, on the flows' features. */
static void kmeans(struct ml_trainer *t, struct ml_model *m)
{
	size_t n = t->nx;
	uint32_t k = t->k_wanted < n ? t->k_wanted : (uint32_t)n;
	m->k = k;
	if (!k)
		return;
	double *d2 = malloc(n * sizeof *d2);
	uint8_t *cls = calloc(n, 1);
	if (!d2 || !cls) {
		m->k = 0;
		free(d2);
		free(cls);
		return;
	}
	memcpy(m->centroid[0], t->x[gsl_rng_uniform_int(t->rng, n)], sizeof m->centroid[0]);
	for (uint32_t c = 1; c < k; c++) {
		double sum = 0;
		for (size_t i = 0; i < n; i++) {
			double best = INFINITY;
			for (uint32_t j = 0; j < c; j++) {
				double d = 0;
				for (int q = 0; q < ML_DIMS; q++)
					d += (t->x[i][q] - m->centroid[j][q]) * (t->x[i][q] - m->centroid[j][q]);
				best = d < best ? d : best;
			}
			d2[i] = best;
			sum += best;
		}
		size_t pick = 0;
		if (sum > 0) {
			double r = gsl_rng_uniform(t->rng) * sum;
			while (pick + 1 < n && (r -= d2[pick]) > 0)
				pick++;
		} else {
			pick = gsl_rng_uniform_int(t->rng, n);
		}
		memcpy(m->centroid[c], t->x[pick], sizeof m->centroid[c]);
	}
	for (int iter = 0; iter < 100; iter++) {
		size_t changed = 0;
		for (size_t i = 0; i < n; i++) {
			uint8_t c = (uint8_t)ml_nearest_x(m, t->x[i]);
			changed += c != cls[i] || iter == 0;
			cls[i] = c;
		}
		if (!changed)
			break;
		double sum[ML_MAX_CLUSTERS][ML_DIMS] = { { 0 } };
		size_t cnt[ML_MAX_CLUSTERS] = { 0 };
		for (size_t i = 0; i < n; i++) {
			cnt[cls[i]]++;
			for (int q = 0; q < ML_DIMS; q++)
				sum[cls[i]][q] += t->x[i][q];
		}
		for (uint32_t c = 0; c < k; c++)
			if (cnt[c])
				for (int q = 0; q < ML_DIMS; q++)
					m->centroid[c][q] = sum[c][q] / (double)cnt[c];
	}
	free(d2);
	free(cls);
}

int ml_train_end_pass(struct ml_trainer *t, int pass, struct ml_model *out, struct errbuf *eb)
{
	if (pass == 1) {
		memset(&t->classes, 0, sizeof t->classes);
		kmeans(t, &t->classes);
		return 0;
	}
	/* The most frequent size per key (ties: the smaller size, so that the result does not
	 * depend on the hash order). */
	for (uint32_t i = 0; i < t->sc_cap; i++) {
		const struct size_count *sc = &t->sc[i];
		if (!sc->key)
			continue;
		struct acc *a;
		if (acc_get(t, sc->key, &a))
			return err_set(eb, -ERR_NOMEM, "ml trainer: out of memory");
		if (sc->count > a->top_count || (sc->count == a->top_count && sc->size < a->top_size)) {
			a->top_count = sc->count;
			a->top_size = sc->size;
		}
	}
	uint32_t keep = 0;
	for (uint32_t i = 0; i < t->acc_cap; i++)
		keep += t->acc[i].key && t->acc[i].total >= 2;
	int rc = ml_model_init(out, keep * 2u + 16u, eb);
	if (rc)
		return rc;
	out->k = t->classes.k;
	memcpy(out->centroid, t->classes.centroid, sizeof out->centroid);
	out->trained_packets = t->packets;
	out->trained_flows = t->flows;
	for (uint32_t i = 0; i < t->acc_cap; i++) {
		const struct acc *a = &t->acc[i];
		if (!a->key || a->total < 2)
			continue;
		struct ml_entry *e = ml_model_insert(out, a->key);
		e->count = a->total;
		e->votes = (uint8_t)(a->total > 255 ? 255 : a->total);
		e->size = (uint16_t)a->top_size;
		e->share = (uint8_t)((uint64_t)a->top_count * 255u / a->total);
		if (a->gaps_seen) {
			uint32_t n = a->gaps_seen < RESERVOIR ? (uint32_t)a->gaps_seen : RESERVOIR;
			double g[RESERVOIR];
			for (uint32_t j = 0; j < n; j++)
				g[j] = a->gap[j];
			gsl_sort(g, 1, n);
			e->gap_us = (uint32_t)gsl_stats_median_from_sorted_data(g, 1, n);
		}
	}
	return 0;
}

struct pass_arg {
	struct ml_trainer *t;
	int pass;
};

static int train_packet(void *arg, void *user, const struct pred_pkt *pk)
{
	struct pass_arg *a = arg;
	return ml_train_packet(a->t, a->pass, user, pk);
}

int ml_train_files(const char *const *paths, size_t n, uint32_t k, uint64_t seed, struct ml_model *out,
		   struct errbuf *eb)
{
	struct ml_trainer *t = NULL;
	int rc = ml_trainer_create(k, seed, &t, eb);
	memset(out, 0, sizeof *out);
	for (int pass = 1; pass <= 2 && !rc; pass++) {
		struct pass_arg a = { t, pass };
		for (size_t i = 0; i < n && !rc; i++)
			if ((rc = flowwalk(paths[i], sizeof(struct ml_ctx), train_packet, &a, eb)) != 0 &&
			    (!eb || !eb->msg[0]))
				err_set(eb, rc, "%s: training ran out of memory", paths[i]);
		if (!rc)
			rc = ml_train_end_pass(t, pass, out, eb);
	}
	if (t)
		ml_trainer_destroy(t);
	if (rc)
		ml_model_free(out);
	return rc;
}
