/* lathist: log-linear latency histograms (see lathist.h). */
#include "lathist.h"

#include <math.h>
#include <string.h>

#include "recorder.h"

void lathist_init(struct lathist *h)
{
	memset(h, 0, sizeof *h);
}

/* The bin from the bits of 'ns' instead of a search. */
static unsigned bin_of(uint64_t ns)
{
	if (!ns)
		return 0;
	unsigned e = 63u - (unsigned)__builtin_clzll(ns);
	uint64_t j = e >= 5 ? (ns >> (e - 5)) & 31u : ((ns - (1ull << e)) << 5) >> e;
	unsigned b = 1 + e * LATHIST_PER_OCTAVE + (unsigned)j;
	return b < LATHIST_BINS ? b : LATHIST_BINS - 1;
}

void lathist_add(struct lathist *h, uint64_t ns)
{
	h->bin[bin_of(ns)]++;
	if (!h->n || ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->n++;
	h->sum_ns += (double)ns;
}

void lathist_bin_range(unsigned i, double *lo, double *hi)
{
	if (i == 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	unsigned e = (i - 1) / LATHIST_PER_OCTAVE, j = (i - 1) % LATHIST_PER_OCTAVE;
	*lo = ldexp(1.0 + (double)j / LATHIST_PER_OCTAVE, (int)e);
	*hi = ldexp(1.0 + (double)(j + 1) / LATHIST_PER_OCTAVE, (int)e);
}

double lathist_quantile(const struct lathist *h, double q)
{
	if (!h->n)
		return 0;
	/* Nearest rank: the ceil(q n)-th smallest sample, at least the first. */
	double r = ceil(q * (double)h->n);
	uint64_t rank = r < 1 ? 1 : r > (double)h->n ? h->n : (uint64_t)r;
	uint64_t acc = 0;
	for (unsigned i = 0; i < LATHIST_BINS; i++) {
		if (acc + h->bin[i] >= rank) {
			double lo, hi;
			lathist_bin_range(i, &lo, &hi);
			/* Samples are whole nanoseconds in [first, last]: the bin's c samples taken as
			 * spread evenly over it, the k-th at first + (last - first)(k - 1/2)/c (one
			 * sample: the midpoint; a bin narrower than 2 ns: its one value exactly).  So a
			 * quantile moves with the counts inside its bin, as the true one does, instead of
			 * jumping a bin's width at a time (replications could not differ by less). */
			double first = ceil(lo), last = ceil(hi) - 1;
			double k = (double)(rank - acc), c = (double)h->bin[i];
			double v = i == 0 ? 0 : last > first ? first + (last - first) * (k - 0.5) / c : first;
			if (v < (double)h->min_ns)
				v = (double)h->min_ns;
			if (v > (double)h->max_ns)
				v = (double)h->max_ns;
			return v;
		}
		acc += h->bin[i];
	}
	return (double)h->max_ns;
}

double lathist_mean(const struct lathist *h)
{
	return h->n ? h->sum_ns / (double)h->n : 0;
}

void latency_set_init(struct latency_set *ls)
{
	lathist_init(&ls->all);
	lathist_init(&ls->hit);
	lathist_init(&ls->slow);
	lathist_init(&ls->baseline);
}

static void lathist_merge(struct lathist *into, const struct lathist *h)
{
	if (!h->n)
		return;
	for (unsigned i = 0; i < LATHIST_BINS; i++)
		into->bin[i] += h->bin[i];
	if (!into->n || h->min_ns < into->min_ns)
		into->min_ns = h->min_ns;
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
	into->n += h->n;
	into->sum_ns += h->sum_ns;
}

void latency_set_merge(struct latency_set *into, const struct latency_set *from)
{
	lathist_merge(&into->all, &from->all);
	lathist_merge(&into->hit, &from->hit);
	lathist_merge(&into->slow, &from->slow);
	lathist_merge(&into->baseline, &from->baseline);
}

static int record_bins(const struct lathist *h, const char *name, const struct recorder *r)
{
	int first = 0;
	for (unsigned i = 0; i < LATHIST_BINS; i++) {
		if (!h->bin[i])
			continue;
		double lo, hi;
		lathist_bin_range(i, &lo, &hi);
		int rc = rec_histogram(r, name, lo, hi, h->bin[i]);
		if (rc && !first)
			first = rc;
	}
	return first;
}

int latency_set_record(const struct latency_set *ls, const struct recorder *r)
{
	int first = 0, rc;
#define LATHIST__REC(name, value)                                              \
	if ((rc = rec_scalar(r, #name, (value))) != 0 && !first)                \
		first = rc;
	LATENCY_SCALAR_MAP(LATHIST__REC)
#undef LATHIST__REC
	if ((rc = record_bins(&ls->all, "latency", r)) != 0 && !first)
		first = rc;
	if ((rc = record_bins(&ls->baseline, "baseline_latency", r)) != 0 && !first)
		first = rc;
	return first;
}
