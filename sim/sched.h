/* sched: the discrete-event scheduler.
 *
 * Events are ordered by (time in integer nanoseconds, insertion sequence), so events at the same
 * time run in the order they were scheduled and a run is reproducible (ns-3's EventKey).  The
 * pending set is a radix heap (sched.c): scheduling and running an event are O(1) amortised,
 * equal timestamps cost nothing extra and never degrade it.  Events may not be scheduled before
 * the current time (a discrete-event simulation never does).  Measured against a binary heap
 * and ns-3's schedulers in `make bench`.
 *
 * Events are intrusive: the caller embeds a struct sched_event in its own object and recovers it
 * with container_of.  Cancellation is lazy and O(1): the event is marked, and its stale entry is
 * skipped when the heap reaches it (recognised by its sequence number), so a cancelled event's
 * memory may be reused, or the event scheduled again, at once.  The scheduler allocates only
 * when its bucket chunks run out (amortised, bounded by the most entries ever pending,
 * cancelled ones included until they are skipped). */
#ifndef PRECRAFT_SIM_SCHED_H
#define PRECRAFT_SIM_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct sched;
struct sched_event;

typedef void sched_fn(struct sched *s, struct sched_event *ev);

/* Embedded by the caller; its fields belong to the scheduler. */
struct sched_event {
	uint64_t t_ns;
	uint64_t seq;
	sched_fn *fn;
	uint32_t idx;              /* 0 while pending, SCHED_IDLE when not */
	uint32_t lane;             /* 1: a lane event (sched_lane), kept beside the heap */
};

#define SCHED_IDLE UINT32_MAX

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void sched_event_init(struct sched_event *ev)
{
	ev->idx = SCHED_IDLE;
	ev->lane = 0;
}

static inline bool sched_event_pending(const struct sched_event *ev)
{
	return ev->idx != SCHED_IDLE;
}

/* Creates a scheduler with room for 'cap_hint' pending events. */
int sched_create(size_t cap_hint, struct sched **out) WARN_UNUSED;
void sched_destroy(struct sched *s);

/* Schedules 'ev' (not pending) to run 'fn' at 't_ns' (>= now).  Returns 0, -ERR_INVAL for a time
 * in the past or an event already pending, -ERR_NOMEM (then 'fn' never runs and the caller keeps
 * 'ev'). */
int sched_at(struct sched *s, struct sched_event *ev, uint64_t t_ns, sched_fn *fn) WARN_UNUSED;

/* Makes 'ev' (not pending) a lane event: one the model reschedules at nearly every step (a
 * CPU's completion, a source's next emission) and of which at most one instance is pending.
 * Its pending instance is held in a slot beside the heap, so scheduling and running it cost a
 * compare instead of a heap insert and pop.  Order is unchanged: lane events take sequence
 * numbers as any other and run by the same (time, sequence) key.  At most SCHED_LANES events
 * are lanes; returns -ERR_FULL beyond that (the event simply stays in the heap) and -ERR_INVAL
 * for a pending event. */
#define SCHED_LANES 8
int sched_lane(struct sched *s, struct sched_event *ev);

/* A FIFO: a class of events scheduled in the order of their times, such as the arrivals at a
 * FIFO link's far end.  Their entries wait in a queue beside the heap, so scheduling and running
 * one cost an append and a pop instead of a heap insert and pop; order is unchanged (the queue's
 * head has the least time and sequence of its events).  An event scheduled earlier than the
 * FIFO's latest goes to the heap instead, so any use is correct and the order is the heap's in
 * every case.  Cancellation is the heap's (lazy).  At most SCHED_FIFOS per scheduler:
 * sched_fifo_create gives the next id, or -ERR_FULL. */
#define SCHED_FIFOS 4
int sched_fifo_create(struct sched *s, unsigned *id) WARN_UNUSED;

/* sched_at for an event of FIFO 'id' (a lane event stays a lane event). */
int sched_at_fifo(struct sched *s, unsigned id, struct sched_event *ev, uint64_t t_ns, sched_fn *fn) WARN_UNUSED;

/* Cancels a pending event in O(1) (its entry is skipped later); does nothing for one that is
 * not pending. */
void sched_cancel(struct sched *s, struct sched_event *ev);

/* Runs events in order until none is left, the next is later than 'stop_ns', or sched_stop()
 * was called.  Returns the number of events run. */
uint64_t sched_run(struct sched *s, uint64_t stop_ns);

/* Pops and runs at most one event due by 'stop_ns'; returns false when none is. */
bool sched_step(struct sched *s, uint64_t stop_ns);

void sched_stop(struct sched *s);

/* Moves 'now' forward to 't_ns' (never back), for an owner whose time is driven from outside
 * (sim/node.c: a node of ns-3) and who has run every event before 't_ns'. */
void sched_advance(struct sched *s, uint64_t t_ns);

/* A pointer the owner keeps with the scheduler, for callbacks to find their world. */
void sched_set_user(struct sched *s, void *user);
void *sched_user(const struct sched *s);
uint64_t sched_now(const struct sched *s);
size_t sched_pending(const struct sched *s);
/* Bytes the scheduler holds per pending event at its current capacity. */
size_t sched_bytes(const struct sched *s);

#endif
