/* costs: the cost profile, nanoseconds per operation of the real core, measured by
 * `precraft calibrate` and charged by the simulated shaper CPU.
 *
 * File format: '#' comments and `name = value` lines for slow_ns, hit_ns, miss_ns, craft_ns,
 * drop_ns (all required). */
#ifndef PRECRAFT_SIM_COSTS_H
#define PRECRAFT_SIM_COSTS_H

#include "core/err.h"

struct cost_profile {
	double slow_ns;            /* a packet through the slow path, baseline mode */
	double hit_ns;             /* a hit: probe, validate, patch, transmit */
	double miss_ns;            /* a miss in pre-crafting mode (failed validation included) */
	double craft_ns;           /* learning from a packet, predicting and pre-building the next */
	double drop_ns;            /* a packet dropped as malformed */
};

int costs_load(const char *path, struct cost_profile *c, struct errbuf *eb) WARN_UNUSED;
int costs_save(const char *path, const struct cost_profile *c, const char *comment, struct errbuf *eb) WARN_UNUSED;

#endif
