/* clock: the one time interface of the core.  The core never reads a clock itself: the
 * simulator hands it simulated time, the hardware-in-the-loop runner and the benchmarks a
 * wall or CPU clock.  Time is integer nanoseconds. */
#ifndef PRECRAFT_CLOCK_H
#define PRECRAFT_CLOCK_H

#include <stdint.h>
#include <time.h>

struct clock_src {
	uint64_t (*now_ns)(void *arg);
	void *arg;
};

/* The monotonic clock in nanoseconds, once for the parts above the core that time their own
 * work (the simulator's wall time, eval, the command line, the benchmarks, hil); the core
 * itself never calls it (it is handed a struct clock_src). */
static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
