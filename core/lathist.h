/* lathist: the one latency histogram, used by every runner (simulator, replay, HIL).
 *
 * Log-linear bins, as HdrHistogram keeps them: bin 0 holds 0 ns; bin 1 + 32e + j holds
 * [2^e (1 + j/32), 2^e (1 + (j+1)/32)) ns, 32 bins per power of two from 1 ns up to 2^50 ns
 * (about 13 days), so a bin's width is under 3.2 % of its lower edge.  Adding a sample is a few
 * bit operations and never allocates.  The exact count, sum, minimum and maximum are kept beside
 * the bins.
 *
 * The definition of every latency quantile precraft writes (latency_p50_ns and the others,
 * in sim, replay and hil alike): the nearest rank.  The q-quantile of n samples is the
 * ceil(q n)-th smallest; lathist_quantile interpolates it inside the bin that holds it, the
 * bin's c samples taken as spread evenly over its whole nanoseconds (the k-th of them at
 * first + (last - first)(k - 1/2)/c; the value itself below 64 ns), clamped to the exact
 * minimum and maximum.  Its error is at most the bin's width, 3.2 % of the value (1.6 % when the
 * bin holds one sample), and it moves with the counts inside the bin, as the true quantile does. 
 *
 * The struct is public because runners embed it (13 KB, no allocation); read it through the
 * functions. */
#ifndef PRECRAFT_LATHIST_H
#define PRECRAFT_LATHIST_H

#include <stdint.h>

#define LATHIST_PER_OCTAVE 32
#define LATHIST_OCTAVES 50
#define LATHIST_BINS (1 + LATHIST_PER_OCTAVE * LATHIST_OCTAVES)

struct lathist {
	uint64_t bin[LATHIST_BINS];
	uint64_t n, min_ns, max_ns;
	double sum_ns;
};

struct recorder;

void lathist_init(struct lathist *h);
void lathist_add(struct lathist *h, uint64_t ns);
/* The nearest-rank q-quantile (0 < q <= 1), as above; 0 when empty. */
double lathist_quantile(const struct lathist *h, double q);
double lathist_mean(const struct lathist *h);
/* Bin i's range [lo, hi) in ns. */
void lathist_bin_range(unsigned i, double *lo, double *hi);

/* The latencies every runner measures, each packet once in 'all' and once in 'hit' or 'slow'
 * by the path it took; 'baseline' is the slow path's latency for the same packets (the
 * simulator's baseline server; in replay and hil, the packets that took the slow path). */
struct latency_set {
	struct lathist all, hit, slow, baseline;
};

void latency_set_init(struct latency_set *ls);
/* Adds the samples of 'from' to 'into' (the workers of one run: their totals). */
void latency_set_merge(struct latency_set *into, const struct latency_set *from);

/* The latency scalars (the names in LATENCY_SCALAR_MAP) and the non-empty histogram bins of
 * 'all' and 'baseline' ("latency", "baseline_latency").  Returns the first error. */
int latency_set_record(const struct latency_set *ls, const struct recorder *r);

/* The latency scalar names, once: every runner writes exactly these.  Each value is an
 * expression of a `const struct latency_set *ls` in scope where the map is expanded. */
#define LATENCY_SCALAR_MAP(X)                                                  \
	X(latency_p50_ns, lathist_quantile(&ls->all, 0.5))                     \
	X(latency_p99_ns, lathist_quantile(&ls->all, 0.99))                    \
	X(latency_mean_ns, lathist_mean(&ls->all))                             \
	X(latency_max_ns, (double)ls->all.max_ns)                              \
	X(hit_latency_p50_ns, lathist_quantile(&ls->hit, 0.5))                 \
	X(hit_latency_p99_ns, lathist_quantile(&ls->hit, 0.99))                \
	X(slow_latency_p50_ns, lathist_quantile(&ls->slow, 0.5))               \
	X(slow_latency_p99_ns, lathist_quantile(&ls->slow, 0.99))              \
	X(baseline_latency_p50_ns, lathist_quantile(&ls->baseline, 0.5))       \
	X(baseline_latency_p99_ns, lathist_quantile(&ls->baseline, 0.99))      \
	X(baseline_latency_mean_ns, lathist_mean(&ls->baseline))

#endif
