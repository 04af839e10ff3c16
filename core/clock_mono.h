/* clock_mono: the monotonic clock in nanoseconds, once for the parts above the core that time
 * their own work (the simulator's wall time, eval, the command line, the benchmarks).  The core
 * itself never calls it (it is handed a struct clock_src, core/clock.h).  Not installed: an
 * embedding program keeps its own clock and its own feature macros. */
#ifndef PRECRAFT_CLOCK_MONO_H
#define PRECRAFT_CLOCK_MONO_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
