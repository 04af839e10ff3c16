/* clock: the one time interface of the core.  The core never reads a clock itself: the
 * simulator hands it simulated time, the hardware-in-the-loop runner and the benchmarks a
 * wall or CPU clock.  Time is integer nanoseconds. */
#ifndef PRECRAFT_CLOCK_H
#define PRECRAFT_CLOCK_H

#include <stdint.h>

struct clock_src {
	uint64_t (*now_ns)(void *arg);
	void *arg;
};

#endif
