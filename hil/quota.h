/* quota: a packet count shared by hil forward's workers, so that together they process exactly
 * 'limit' packets.
 *
 * A worker claims a packet after reading it from its ring: one atomic add per packet, nothing
 * to give back when its ring is empty.  The count is reached when 'limit' packets were claimed,
 * each by the worker that holds it.  A packet read after that is past the count and not
 * processed, as one left in the ring would not be.  (Reserving before reading, and giving the
 * reservation back when the ring was empty, let another worker see the count reached for an
 * instant and stop with the last packet unread in its ring: hil/lab check's one lost frame.) */
#ifndef PRECRAFT_HIL_QUOTA_H
#define PRECRAFT_HIL_QUOTA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct quota {
	uint64_t limit;            /* 0 = no limit */
	atomic_uint_fast64_t claimed;
};

static inline void quota_init(struct quota *q, uint64_t limit)
{
	q->limit = limit;
	atomic_init(&q->claimed, 0);
}

/* For a packet already read: true when it is within the count (the caller processes it). */
static inline bool quota_claim(struct quota *q)
{
	return !q->limit || atomic_fetch_add(&q->claimed, 1) < q->limit;
}

static inline bool quota_reached(struct quota *q)
{
	return q->limit && atomic_load(&q->claimed) >= q->limit;
}

#endif
