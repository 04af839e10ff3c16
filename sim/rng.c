/* rng: GSL-backed streams (see rng.h). */
#include "rng.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>

struct rng {
	gsl_rng *g;
};

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

int rng_create(uint64_t seed, uint64_t run, uint64_t stream, struct rng **out)
{
	struct rng *r = malloc(sizeof *r);
	if (!r)
		return -ERR_NOMEM;
	r->g = gsl_rng_alloc(gsl_rng_mt19937);
	if (!r->g) {
		free(r);
		return -ERR_NOMEM;
	}
	uint64_t s = splitmix64(splitmix64(splitmix64(seed) ^ run) ^ (stream * 0x632be59bd9b4e019ull));
	/* MT19937 takes 32 bits of seed; 0 is its default, so avoid it. */
	gsl_rng_set(r->g, (unsigned long)((s ^ (s >> 32)) & 0xffffffffu) | 1u);
	*out = r;
	return 0;
}

void rng_destroy(struct rng *r)
{
	if (!r)
		return;
	gsl_rng_free(r->g);
	free(r);
}

double rng_uniform(struct rng *r)
{
	return gsl_rng_uniform(r->g);
}

double rng_exponential(struct rng *r, double mean)
{
	return gsl_ran_exponential(r->g, mean);
}

double rng_pareto(struct rng *r, double shape, double scale)
{
	return gsl_ran_pareto(r->g, shape, scale);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)gsl_rng_uniform_int(r->g, n) : 0;
}

int rng_bernoulli(struct rng *r, double p)
{
	return gsl_rng_uniform(r->g) < p;
}
