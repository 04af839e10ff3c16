/* rng: random-number streams for the simulator, from GSL.
 *
 * Every random choice in a run draws from a named stream whose generator (GSL's MT19937) is
 * seeded from (seed, run number, stream id) through SplitMix64, so that run numbers give
 * independent, reproducible replications (as ns-3's RngRun does) and adding a stream does not
 * disturb the others. */
#ifndef PRECRAFT_SIM_RNG_H
#define PRECRAFT_SIM_RNG_H

#include <stdint.h>

#include "core/err.h"

struct rng;

int rng_create(uint64_t seed, uint64_t run, uint64_t stream, struct rng **out) WARN_UNUSED;
void rng_destroy(struct rng *r);

double rng_uniform(struct rng *r);            /* [0, 1) */
double rng_exponential(struct rng *r, double mean);
double rng_pareto(struct rng *r, double shape, double scale);
uint32_t rng_below(struct rng *r, uint32_t n); /* [0, n) */
int rng_bernoulli(struct rng *r, double p);

#endif
