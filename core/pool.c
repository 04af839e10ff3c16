/* pool: slab-style size classes over one arena (see pool.h). */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#define COOKIE_USED 0x50c4a11cu
#define COOKIE_FREE 0xdeadf4eeu

struct pool_class {
	uint32_t slot_bytes;       /* header + data */
	struct pool_buf *free;
	uint8_t *bump;             /* next uncarved slot in the current page */
	uint32_t bump_left;        /* slots left there */
};

struct pool {
	uint8_t *arena;
	size_t n_pages, next_page;
	uint8_t *pages;            /* first page after the large slots */
	struct pool_class cls[POOL_N_CLASSES];
	struct pool_buf *large_free;
	uint32_t large_slot_bytes;
	uint32_t quota;
	int poison;
	struct pool_stats st;
};

static unsigned class_of(uint32_t size)
{
	uint32_t need = size + (uint32_t)sizeof(struct pool_buf);
	unsigned c = 0;
	uint32_t s = 64;
	while (s < need && c < POOL_N_CLASSES) {
		s <<= 1;
		c++;
	}
	return c; /* POOL_N_CLASSES when too big */
}

uint32_t pool_class_capacity(uint32_t size)
{
	unsigned c = class_of(size);
	return c < POOL_N_CLASSES ? (64u << c) - (uint32_t)sizeof(struct pool_buf) : 0;
}

static size_t large_slot_of(const struct pool_cfg *cfg)
{
	return cfg->large_slots ? ((size_t)cfg->large_bytes + sizeof(struct pool_buf) + POOL_PAGE - 1) / POOL_PAGE * POOL_PAGE
				: 0;
}

size_t pool_min_budget(const struct pool_cfg *cfg)
{
	return large_slot_of(cfg) * cfg->large_slots + POOL_PAGE;
}

int pool_create(const struct pool_cfg *cfg, struct pool **out)
{
	size_t large_slot = large_slot_of(cfg);
	size_t large_total = large_slot * cfg->large_slots;
	if (cfg->budget_bytes < pool_min_budget(cfg))
		return -ERR_INVAL;
	struct pool *p = calloc(1, sizeof *p);
	if (!p)
		return -ERR_NOMEM;
	size_t pages = (cfg->budget_bytes - large_total) / POOL_PAGE;
	/* Aligned for the buffers' 8-byte headers; calloc leaves pages untouched until used. */
	p->arena = calloc(1, large_total + pages * POOL_PAGE);
	if (!p->arena) {
		free(p);
		return -ERR_NOMEM;
	}
	for (uint32_t i = 0; i < cfg->large_slots; i++) {
		struct pool_buf *b = (struct pool_buf *)(p->arena + i * large_slot);
		b->cookie = COOKIE_FREE;
		b->cls = POOL_CLASS_LARGE;
		b->cap = (uint32_t)(large_slot - sizeof *b);
		b->slot_bytes = (uint32_t)large_slot;
		b->next_free = p->large_free;
		p->large_free = b;
	}
	p->large_slot_bytes = (uint32_t)large_slot;
	p->pages = p->arena + large_total;
	p->n_pages = pages;
	for (unsigned c = 0; c < POOL_N_CLASSES; c++)
		p->cls[c].slot_bytes = 64u << c;
	p->quota = cfg->flow_quota_bytes;
	p->poison = cfg->poison;
	p->st.budget_bytes = large_total + pages * POOL_PAGE;
	p->st.pages_total = pages;
	*out = p;
	return 0;
}

void pool_destroy(struct pool *pool)
{
	if (!pool)
		return;
	free(pool->arena);
	free(pool);
}

static struct pool_buf *class_take(struct pool *p, unsigned c)
{
	struct pool_class *k = &p->cls[c];
	struct pool_buf *b = k->free;
	if (b) {
		k->free = b->next_free;
		return b;
	}
	if (k->bump_left == 0) {
		if (p->next_page == p->n_pages)
			return NULL;
		k->bump = p->pages + p->next_page++ * (size_t)POOL_PAGE;
		k->bump_left = POOL_PAGE / k->slot_bytes;
		p->st.pages_used = p->next_page;
	}
	b = (struct pool_buf *)k->bump;
	k->bump += k->slot_bytes;
	k->bump_left--;
	b->cls = (uint8_t)c;
	b->cap = k->slot_bytes - (uint32_t)sizeof *b;
	b->slot_bytes = k->slot_bytes;
	return b;
}

int pool_get(struct pool *p, uint32_t size, uint32_t *owner, struct pool_buf **out)
{
	unsigned c = class_of(size);
	uint32_t slot = c < POOL_N_CLASSES ? 64u << c : p->large_slot_bytes;
	if (c == POOL_N_CLASSES && (!p->large_slot_bytes || size > p->large_slot_bytes - sizeof(struct pool_buf)))
		return -ERR_INVAL;
	if (owner && p->quota && *owner + (uint64_t)slot > p->quota) {
		p->st.failed_quota++;
		return -ERR_QUOTA;
	}
	struct pool_buf *b;
	if (c < POOL_N_CLASSES)
		b = class_take(p, c);
	else if ((b = p->large_free) != NULL)
		p->large_free = b->next_free;
	if (!b) {
		p->st.failed_nobufs++;
		return -ERR_NOBUFS;
	}
	b->cookie = COOKIE_USED;
	b->owner = owner;
	b->next_free = NULL;
	if (owner)
		*owner += b->slot_bytes;
	p->st.gets++;
	p->st.held_bytes += b->slot_bytes;
	if (p->st.held_bytes > p->st.peak_bytes)
		p->st.peak_bytes = p->st.held_bytes;
	*out = b;
	return 0;
}

int pool_put(struct pool *p, struct pool_buf *b)
{
	if (!b || b->cookie != COOKIE_USED) {
		p->st.double_puts++;
		return -ERR_DOUBLE_PUT;
	}
	b->cookie = COOKIE_FREE;
	if (b->owner)
		*b->owner -= b->slot_bytes;
	b->owner = NULL;
	if (p->poison)
		memset(pool_buf_data(b), 0x6b, b->cap);
	if (b->cls == POOL_CLASS_LARGE) {
		b->next_free = p->large_free;
		p->large_free = b;
	} else {
		b->next_free = p->cls[b->cls].free;
		p->cls[b->cls].free = b;
	}
	p->st.puts++;
	p->st.held_bytes -= b->slot_bytes;
	return 0;
}

void pool_set_owner(struct pool_buf *b, uint32_t *owner)
{
	if (b->owner)
		*b->owner -= b->slot_bytes;
	b->owner = owner;
	if (owner)
		*owner += b->slot_bytes;
}

void pool_get_stats(const struct pool *p, struct pool_stats *st)
{
	*st = p->st;
}
