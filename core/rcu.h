/* rcu: one pointer that several reader threads follow and one writer replaces while they run,
 * with quiescent-state-based reclamation (QSBR, as liburcu's urcu-qsbr flavour): no lock and no
 * atomic read-modify-write on the readers' path.
 *
 * A reader loads the pointer (rcu_get) and may use what it points to until its next quiescent
 * point (rcu_quiescent), where it holds nothing it loaded: for a shaper's worker, between two
 * packets and while it waits for packets.  The writer publishes a new object with rcu_replace,
 * which returns the old one once every reader has passed a quiescent point since the swap (or
 * is offline): no reader can still hold it, and the caller frees it.
 *
 * Ordering: rcu_replace swaps the pointer, then advances the epoch; a reader's quiescent point
 * records the epoch it read (a release store after everything it did with the object), so a
 * reader that recorded the new epoch did all its work with the old object before, and loads
 * only the new one after.  A reader that stops calling rcu_quiescent for good goes offline
 * (rcu_offline), or the writer waits for it forever. */
#ifndef PRECRAFT_RCU_H
#define PRECRAFT_RCU_H

#include <stdatomic.h>
#include <stdint.h>

#include "err.h"

/* Each reader's record on a cache line of its own: readers never write a shared line. */
struct rcu_reader {
	_Alignas(64) atomic_uint_fast64_t seen; /* the epoch at its last quiescent point */
};

struct rcu {
	_Alignas(64) _Atomic(void *) ptr;
	atomic_uint_fast64_t epoch;
	unsigned n_readers;
	struct rcu_reader *readers;
	uint64_t replaced;         /* objects replaced so far (the writer's count) */
};

#define RCU_OFFLINE UINT64_MAX

/* Sets up 'r' for 'readers' readers (all online at epoch 0), publishing 'initial'.  Returns 0
 * or -ERR_NOMEM / -ERR_INVAL (no readers). */
int rcu_init(struct rcu *r, unsigned readers, void *initial) WARN_UNUSED;
/* Frees the readers' records (not the object, which the caller owns). */
void rcu_fini(struct rcu *r);

/* A reader: the current object, valid until the reader's next quiescent point. */
static inline void *rcu_get(struct rcu *r)
{
	return atomic_load_explicit(&r->ptr, memory_order_acquire);
}

/* Reader i holds nothing it loaded. */
static inline void rcu_quiescent(struct rcu *r, unsigned i)
{
	atomic_store_explicit(&r->readers[i].seen, atomic_load_explicit(&r->epoch, memory_order_acquire),
			      memory_order_release);
}

/* Reader i stops reading (its last quiescent point); rcu_online before it reads again. */
void rcu_offline(struct rcu *r, unsigned i);
void rcu_online(struct rcu *r, unsigned i);

/* The writer (one at a time): publishes 'obj' and returns the object it replaced once no reader
 * can hold it any more.  Waits (yielding the CPU) for the readers' quiescent points. */
void *rcu_replace(struct rcu *r, void *obj);

#endif
