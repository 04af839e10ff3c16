/* pool: the flow-aware buffer pool that holds pre-built packets.
 *
 * One arena, allocated at creation and bounded by a byte budget, is cut into 64 KiB pages.
 * Size classes (slots of 64 B, 128 B, ... 64 KiB, header included) take pages on demand and
 * carve them into slots; a few large slots for frames above 64 KiB (GRO, BIG TCP) are reserved
 * at creation.  Get and put are O(1) (a free list per class, or a bump in the class's current
 * page) and never call malloc.  A page, once given to a class, stays with it: a slab allocator
 * without rebalancing, honest about the fragmentation that can cause when the size mix moves.
 *
 * Flow-aware: each get names an owner counter (a flow's bytes held) and a per-owner quota, so
 * one flow cannot take the pool.  Every buffer carries a cookie that catches a double put. */
#ifndef PRECRAFT_POOL_H
#define PRECRAFT_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define POOL_PAGE (64u * 1024u)
#define POOL_N_CLASSES 11 /* 64 B .. 64 KiB */
#define POOL_CLASS_LARGE 0xff

/* A buffer's header, in front of its data.  Public so that the engine can reach the data
 * without a call on the per-packet path; its fields belong to the pool. */
struct pool_buf {
	uint32_t cookie;
	uint8_t cls;
	uint8_t pad_[3];
	uint32_t cap;              /* data bytes */
	uint32_t slot_bytes;       /* what the buffer counts against budget and quota */
	uint32_t *owner;           /* owner's bytes-held counter, may be NULL */
	struct pool_buf *next_free;
};

static inline uint8_t *pool_buf_data(struct pool_buf *b)
{
	return (uint8_t *)(b + 1);
}

struct pool_cfg {
	size_t budget_bytes;       /* everything the pool may hold, large slots included */
	uint32_t flow_quota_bytes; /* per owner, 0 = none */
	uint32_t large_slots;      /* buffers for frames above the largest class */
	uint32_t large_bytes;      /* data bytes of each large buffer */
	int poison;                /* fill returned buffers with 0x6b (debug builds) */
};

struct pool_stats {
	uint64_t gets, puts, failed_nobufs, failed_quota, double_puts;
	uint64_t held_bytes, peak_bytes, budget_bytes;
	uint64_t pages_used, pages_total;
};

struct pool;

/* Allocates the arena.  Returns 0 and '*out', -ERR_INVAL when the budget cannot hold the large
 * slots and one page, or -ERR_NOMEM.  The caller owns the pool (pool_destroy). */
int pool_create(const struct pool_cfg *cfg, struct pool **out) WARN_UNUSED;
/* The smallest budget pool_create accepts for 'cfg's large slots: theirs and one page. */
size_t pool_min_budget(const struct pool_cfg *cfg);
void pool_destroy(struct pool *pool);

/* Takes a buffer with at least 'size' data bytes for 'owner' (a bytes-held counter the pool
 * updates; NULL for none).  Returns 0 and '*out', -ERR_NOBUFS (budget or class exhausted),
 * -ERR_QUOTA (the owner would exceed its quota) or -ERR_INVAL (larger than any buffer).
 * On failure nothing changes but the failure counters. */
int pool_get(struct pool *pool, uint32_t size, uint32_t *owner, struct pool_buf **out) WARN_UNUSED;

/* Returns 'b' to the pool.  Returns 0, or -ERR_DOUBLE_PUT (counted, nothing changed) when 'b'
 * is not a buffer in use. */
int pool_put(struct pool *pool, struct pool_buf *b);

/* Moves buffer 'b' (in use) to another owner counter ('owner', may be NULL): the old one no
 * longer counts it, the new one does.  No quota is checked: the buffer was admitted once (the
 * engine hands a flow the pre-built first packet an announcement made for it). */
void pool_set_owner(struct pool_buf *b, uint32_t *owner);

void pool_get_stats(const struct pool *pool, struct pool_stats *st);

/* Data capacity of the class that a request of 'size' bytes would get, 0 if none. */
uint32_t pool_class_capacity(uint32_t size);

#endif
