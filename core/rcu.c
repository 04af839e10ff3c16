/* rcu: quiescent-state-based reclamation of one published pointer (see rcu.h). */
#include "rcu.h"

#include <sched.h>
#include <stdlib.h>

int rcu_init(struct rcu *r, unsigned readers, void *initial)
{
	if (!readers)
		return -ERR_INVAL;
	r->readers = aligned_alloc(_Alignof(struct rcu_reader), readers * sizeof *r->readers);
	if (!r->readers)
		return -ERR_NOMEM;
	r->n_readers = readers;
	r->replaced = 0;
	atomic_init(&r->epoch, 0);
	for (unsigned i = 0; i < readers; i++)
		atomic_init(&r->readers[i].seen, 0);
	atomic_init(&r->ptr, initial);
	return 0;
}

void rcu_fini(struct rcu *r)
{
	free(r->readers);
	r->readers = NULL;
	r->n_readers = 0;
}

void rcu_offline(struct rcu *r, unsigned i)
{
	atomic_store_explicit(&r->readers[i].seen, RCU_OFFLINE, memory_order_release);
}

/* Sequentially consistent, unlike the quiescent point: a writer that found the reader offline
 * must not have swapped a pointer the reader then loads from before the swap.  Rare: the cost
 * does not matter. */
void rcu_online(struct rcu *r, unsigned i)
{
	atomic_store(&r->readers[i].seen, atomic_load(&r->epoch));
	atomic_thread_fence(memory_order_seq_cst);
}

void *rcu_replace(struct rcu *r, void *obj)
{
	void *old = atomic_exchange(&r->ptr, obj);
	uint64_t e = atomic_fetch_add(&r->epoch, 1) + 1;
	for (unsigned i = 0; i < r->n_readers; i++)
		for (;;) {
			uint64_t s = atomic_load(&r->readers[i].seen);
			if (s == RCU_OFFLINE || s >= e)
				break;
			sched_yield();
		}
	r->replaced++;
	return old;
}
