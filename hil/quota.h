/* quota: a packet count shared by hil forward's workers, so that together they read exactly
 * 'limit' packets.
 *
 * A worker takes a packet (reserves it) before reading, and gives the reservation back when
 * nothing was waiting in its ring.  The count is reached when 'limit' packets were read, never
 * when they were only taken: a worker that stopped because another held the last reservation,
 * which the other then gave back, would leave the last packet unread in its own ring (fanout
 * sends each flow to one worker).  That was hil/lab check's one lost frame under load. */
#ifndef PRECRAFT_HIL_QUOTA_H
#define PRECRAFT_HIL_QUOTA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct quota {
	uint64_t limit;            /* 0 = no limit */
	atomic_uint_fast64_t taken;
	atomic_uint_fast64_t read;
};

static inline void quota_init(struct quota *q, uint64_t limit)
{
	q->limit = limit;
	atomic_init(&q->taken, 0);
	atomic_init(&q->read, 0);
}

/* True when the caller may read one more packet; it then calls quota_read or quota_give_back. */
static inline bool quota_take(struct quota *q)
{
	if (!q->limit)
		return true;
	if (atomic_fetch_add(&q->taken, 1) < q->limit)
		return true;
	atomic_fetch_sub(&q->taken, 1);
	return false;
}

static inline void quota_give_back(struct quota *q)
{
	if (q->limit)
		atomic_fetch_sub(&q->taken, 1);
}

static inline void quota_read(struct quota *q)
{
	if (q->limit)
		atomic_fetch_add(&q->read, 1);
}

static inline bool quota_reached(struct quota *q)
{
	return q->limit && atomic_load(&q->read) >= q->limit;
}

#endif
