/* sched: the scheduler as a radix heap (see sched.h).
 *
 * A discrete-event simulation never schedules before 'now', so its pending set is a monotone
 * priority queue, and a radix heap (Ahuja, Mehlhorn, Orlin, Tarjan 1990) serves it: bucket i
 * (1..64) holds the events whose time differs from the last time popped first in bit i-1;
 * bucket 0 holds those at exactly that time.  Insert computes the bucket from one XOR and a
 * count of leading zeros and appends; pop takes bucket 0's head, or, when it is empty, refills
 * it by redistributing the lowest non-empty bucket around that bucket's minimum time.  Each
 * event moves down at most 64 times and usually two or three: O(1) amortised, with sequential
 * memory access only, which is what keeps a million pending events fast.
 *
 * Order among equal times: events of one time always share a bucket, buckets are FIFO and
 * redistribution keeps their order, so equal-time events run in the order scheduled.  Ties
 * cost nothing extra and cannot degrade the structure.
 *
 * Buckets are FIFO lists of 64-entry chunks from one free list, so slack is at most a chunk per
 * bucket.  Cancellation marks the event (O(1)); its entry is skipped when met, recognised by the
 * sequence number it carries, so a cancelled event may be scheduled again at once.  Chosen over
 * a 4-ary heap by measurement: see the closing note of the simulator issue and `make bench`.
 *
 * Lanes (sched_lane): the few events rescheduled at nearly every step stay out of the heap,
 * each in a slot of its own; FIFOs (sched_at_fifo): events scheduled in the order of their times
 * wait in a list.  A step runs the earliest of the heap's head, the pending lanes and the FIFOs'
 * heads by (time, sequence).  On the simulator's trace replay three of every four events are
 * lane events (the CPU's completions of packets and of crafting jobs, the source's next
 * emission) and the fourth a FIFO's (the packet's arrival over the ingress link), so the heap is
 * left the events that come in no order. */
#include "sched.h"

#include <assert.h>
#include <stdlib.h>

#define CHUNK 32
#define NBUCKETS 65

struct ent {
	uint64_t t;
	uint64_t seq;              /* the event's sequence number when scheduled */
	struct sched_event *ev;
};

struct chunk {
	struct chunk *next;
	uint32_t head, tail;       /* entries [head, tail) are live */
	struct ent e[CHUNK];
};

struct bucket {
	struct chunk *first, *last;
	size_t n;                  /* entries, stale ones included */
};

struct sched {
	struct bucket b[NBUCKETS];
	struct chunk *free_chunks;
	size_t n_free;             /* kept > max_bucket, so that redistribution never allocates */
	unsigned max_bucket;       /* the highest bucket ever used */
	uint64_t nonempty;         /* bit i-1: bucket i (1..64) has entries */
	size_t chunks;             /* allocated */
	size_t pending;            /* live events */
	uint64_t now;              /* the time of the last event run */
	uint64_t base;             /* the radix base: <= every entry, >= now only until a pop */
	uint64_t next_seq;
	struct sched_event *lanes[SCHED_LANES];
	unsigned n_lanes;
	struct bucket fifos[SCHED_FIFOS]; /* a FIFO's entries, in the order scheduled */
	uint64_t fifo_last[SCHED_FIFOS];  /* the time of its latest entry */
	unsigned n_fifos;
	bool stopping;
	void *user;
};

int sched_create(size_t cap_hint, struct sched **out)
{
	(void)cap_hint;
	struct sched *s = calloc(1, sizeof *s);
	if (!s)
		return -ERR_NOMEM;
	*out = s;
	return 0;
}

static void free_list(struct chunk *c)
{
	while (c) {
		struct chunk *n = c->next;
		free(c);
		c = n;
	}
}

void sched_destroy(struct sched *s)
{
	if (!s)
		return;
	for (int i = 0; i < NBUCKETS; i++) {
		for (struct chunk *c = s->b[i].first; c; c = c->next)
			for (uint32_t k = c->head; k < c->tail; k++)
				if (c->e[k].ev->seq == c->e[k].seq)
					c->e[k].ev->idx = SCHED_IDLE;
		free_list(s->b[i].first);
	}
	for (unsigned i = 0; i < s->n_lanes; i++) {
		s->lanes[i]->idx = SCHED_IDLE;
		s->lanes[i]->lane = 0;
	}
	for (unsigned i = 0; i < s->n_fifos; i++) {
		for (struct chunk *c = s->fifos[i].first; c; c = c->next)
			for (uint32_t k = c->head; k < c->tail; k++)
				if (c->e[k].ev->seq == c->e[k].seq)
					c->e[k].ev->idx = SCHED_IDLE;
		free_list(s->fifos[i].first);
	}
	free_list(s->free_chunks);
	free(s);
}

static inline unsigned bucket_of(uint64_t t, uint64_t base)
{
	return t == base ? 0 : 64u - (unsigned)__builtin_clzll(t ^ base);
}

/* Keeps a free chunk for every bucket that can receive entries: redistributing bucket i moves
 * entries only to buckets below i and adds at most one new chunk per target bucket beyond the
 * chunks it frees, so with this reserve it never allocates.  Sized by the highest bucket in use
 * ('need'), which stays small when pending times span little. */
static int reserve(struct sched *s, unsigned need)
{
	if (need > s->max_bucket)
		s->max_bucket = need;
	while (s->n_free <= s->max_bucket) {
		struct chunk *n = malloc(sizeof *n);
		if (!n)
			return -ERR_NOMEM;
		s->chunks++;
		n->next = s->free_chunks;
		s->free_chunks = n;
		s->n_free++;
	}
	return 0;
}

/* Appends to a bucket, taking a chunk from the reserve when its last one is full. */
static void append(struct sched *s, struct bucket *b, struct ent e)
{
	struct chunk *c = b->last;
	if (!c || c->tail == CHUNK) {
		struct chunk *n = s->free_chunks;
		assert(n != NULL);
		s->free_chunks = n->next;
		s->n_free--;
		n->next = NULL;
		n->head = n->tail = 0;
		if (c)
			c->next = n;
		else
			b->first = n;
		b->last = n;
		c = n;
	}
	c->e[c->tail++] = e;
	b->n++;
}

/* Appends to bucket k, keeping the bitmap of non-empty buckets. */
static inline void put(struct sched *s, unsigned k, struct ent e)
{
	append(s, &s->b[k], e);
	if (k)
		s->nonempty |= 1ull << (k - 1);
}

static void release_chunk(struct sched *s, struct chunk *c)
{
	c->next = s->free_chunks;
	s->free_chunks = c;
	s->n_free++;
}

/* Moves every entry to its bucket relative to a lower base.  O(n); needed only when an event is
 * scheduled before the base, which a refill can move past 'now' when sched_step stops early. */
static void rebase(struct sched *s, uint64_t base)
{
	struct chunk *all[NBUCKETS];
	for (int i = 0; i < NBUCKETS; i++) {
		all[i] = s->b[i].first;
		s->b[i].first = s->b[i].last = NULL;
		s->b[i].n = 0;
	}
	s->nonempty = 0;
	s->base = base;
	for (int i = 0; i < NBUCKETS; i++) {
		for (struct chunk *c = all[i]; c;) {
			for (uint32_t k = c->head; k < c->tail; k++)
				put(s, bucket_of(c->e[k].t, base), c->e[k]);
			struct chunk *n = c->next;
			release_chunk(s, c);
			c = n;
		}
	}
}

int sched_lane(struct sched *s, struct sched_event *ev)
{
	if (ev->idx != SCHED_IDLE)
		return -ERR_INVAL;
	if (ev->lane)
		return 0;
	if (s->n_lanes == SCHED_LANES)
		return -ERR_FULL;
	s->lanes[s->n_lanes++] = ev;
	ev->lane = 1;
	return 0;
}

/* 'ev' pending at 't_ns' with the next sequence number (its entry, if any, was made with it). */
static void mark_pending(struct sched *s, struct sched_event *ev, uint64_t t_ns, sched_fn *fn)
{
	ev->t_ns = t_ns;
	ev->seq = s->next_seq++;
	ev->fn = fn;
	ev->idx = 0;
	s->pending++;
}

int sched_at(struct sched *s, struct sched_event *ev, uint64_t t_ns, sched_fn *fn)
{
	if (t_ns < s->now || ev->idx != SCHED_IDLE)
		return -ERR_INVAL;
	if (ev->lane) {
		mark_pending(s, ev, t_ns, fn);
		return 0;
	}
	if (t_ns < s->base) {
		/* Entries may climb to any bucket. */
		if (reserve(s, NBUCKETS - 1))
			return -ERR_NOMEM;
		rebase(s, t_ns);
	}
	unsigned k = bucket_of(t_ns, s->base);
	if (reserve(s, k))
		return -ERR_NOMEM;
	put(s, k, (struct ent){ t_ns, s->next_seq, ev });
	mark_pending(s, ev, t_ns, fn);
	return 0;
}

int sched_fifo_create(struct sched *s, unsigned *id)
{
	if (s->n_fifos == SCHED_FIFOS)
		return -ERR_FULL;
	*id = s->n_fifos++;
	return 0;
}

int sched_at_fifo(struct sched *s, unsigned id, struct sched_event *ev, uint64_t t_ns, sched_fn *fn)
{
	if (id >= s->n_fifos)
		return -ERR_INVAL;
	if (ev->lane || (s->fifos[id].n && t_ns < s->fifo_last[id]))
		return sched_at(s, ev, t_ns, fn); /* out of the FIFO's order: the heap keeps it */
	if (t_ns < s->now || ev->idx != SCHED_IDLE)
		return -ERR_INVAL;
	if (reserve(s, 0))
		return -ERR_NOMEM;
	append(s, &s->fifos[id], (struct ent){ t_ns, s->next_seq, ev });
	s->fifo_last[id] = t_ns;
	mark_pending(s, ev, t_ns, fn);
	return 0;
}

void sched_cancel(struct sched *s, struct sched_event *ev)
{
	if (ev->idx == SCHED_IDLE)
		return;
	ev->idx = SCHED_IDLE;
	ev->seq = UINT64_MAX; /* its entry no longer matches: skipped when met */
	s->pending--;
}

static inline bool live(const struct ent *e)
{
	return e->ev->seq == e->seq;
}

/* Refills bucket 0 from the lowest non-empty bucket.  Returns false when nothing is pending.
 * It reads only the entries, never the events (a random access each at a million pending):
 * cancelled entries move along and are skipped when they reach the head of bucket 0. */
static bool refill(struct sched *s)
{
	while (s->nonempty) {
		unsigned i = 1u + (unsigned)__builtin_ctzll(s->nonempty);
		struct bucket *b = &s->b[i];
		s->nonempty &= ~(1ull << (i - 1));
		uint64_t min = UINT64_MAX;
		for (struct chunk *c = b->first; c; c = c->next)
			for (uint32_t k = c->head; k < c->tail; k++)
				if (c->e[k].t < min)
					min = c->e[k].t;
		struct chunk *c = b->first;
		b->first = b->last = NULL;
		b->n = 0;
		s->base = min;
		while (c) {
			for (uint32_t k = c->head; k < c->tail; k++)
				put(s, bucket_of(c->e[k].t, min), c->e[k]);
			struct chunk *n = c->next;
			release_chunk(s, c);
			c = n;
		}
		return true;
	}
	return false;
}

/* Drops the head entry of bucket 0 (or of a FIFO), freeing its chunk when emptied; its last
 * chunk stays, empty, for the next entries (with few events pending, the bucket would otherwise
 * take a chunk from the reserve and give it back for every event). */
static void pop_head(struct sched *s, struct bucket *b0)
{
	struct chunk *c = b0->first;
	if (++c->head == c->tail) {
		if (c->next) {
			b0->first = c->next;
			release_chunk(s, c);
		} else {
			c->head = c->tail = 0;
		}
	}
	b0->n--;
}

/* The heap's earliest live entry, stale ones dropped on the way; NULL when it is empty. */
static struct ent *heap_head(struct sched *s)
{
	for (;;) {
		struct bucket *b0 = &s->b[0];
		if (!b0->n && !refill(s))
			return NULL;
		struct ent *e = &b0->first->e[b0->first->head];
		if (live(e))
			return e;
		pop_head(s, b0);
	}
}

static inline bool before(const struct sched_event *a, const struct sched_event *b)
{
	return a->t_ns < b->t_ns || (a->t_ns == b->t_ns && a->seq < b->seq);
}

/* The earliest pending lane event, or NULL. */
static struct sched_event *lane_head(const struct sched *s)
{
	struct sched_event *best = NULL;
	for (unsigned i = 0; i < s->n_lanes; i++) {
		struct sched_event *ev = s->lanes[i];
		if (ev->idx != SCHED_IDLE && (!best || before(ev, best)))
			best = ev;
	}
	return best;
}

/* FIFO i's earliest live entry, cancelled ones dropped on the way; NULL when it is empty. */
static struct ent *fifo_head(struct sched *s, unsigned i)
{
	struct bucket *q = &s->fifos[i];
	while (q->n) {
		struct ent *e = &q->first->e[q->first->head];
		if (live(e))
			return e;
		pop_head(s, q);
	}
	return NULL;
}

static inline bool ent_first(const struct ent *e, const struct sched_event *ev)
{
	return !ev || e->t < ev->t_ns || (e->t == ev->t_ns && e->seq < ev->seq);
}

bool sched_step(struct sched *s, uint64_t stop_ns)
{
	struct sched_event *ev = lane_head(s);
	struct bucket *from = NULL; /* the queue the chosen entry is at the head of */
	struct ent *e = heap_head(s);
	if (e && ent_first(e, ev)) {
		ev = e->ev;
		from = &s->b[0];
	}
	for (unsigned i = 0; i < s->n_fifos; i++)
		if ((e = fifo_head(s, i)) && ent_first(e, ev)) {
			ev = e->ev;
			from = &s->fifos[i];
		}
	if (!ev || ev->t_ns > stop_ns)
		return false;
	if (from)
		pop_head(s, from);
	assert(ev->t_ns >= s->now); /* time never goes backwards */
	s->now = ev->t_ns;
	ev->idx = SCHED_IDLE;
	s->pending--;
	ev->fn(s, ev);
	return true;
}

uint64_t sched_run(struct sched *s, uint64_t stop_ns)
{
	uint64_t n = 0;
	s->stopping = false;
	while (!s->stopping && sched_step(s, stop_ns))
		n++;
	return n;
}

void sched_stop(struct sched *s)
{
	s->stopping = true;
}

void sched_advance(struct sched *s, uint64_t t_ns)
{
	if (t_ns > s->now)
		s->now = t_ns;
}

void sched_set_user(struct sched *s, void *user)
{
	s->user = user;
}

void *sched_user(const struct sched *s)
{
	return s->user;
}

uint64_t sched_now(const struct sched *s)
{
	return s->now;
}

size_t sched_pending(const struct sched *s)
{
	return s->pending;
}

size_t sched_bytes(const struct sched *s)
{
	return s->pending ? s->chunks * sizeof(struct chunk) / s->pending + sizeof(struct sched_event) : 0;
}
