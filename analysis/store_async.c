/* store_async: a recorder whose rows a thread of their own writes to the store (see store.h).
 *
 * The producer (the simulator, a runner) appends encoded rows to the batch it holds; a full
 * batch goes to the writer, which decodes it and calls the store, and comes back empty.  32
 * batches of 256 KB (8 MB of address space; a batch's pages are touched when it is first
 * filled): the producer waits only when the writer is that far behind, so the writer's pauses
 * (a WAL checkpoint's fdatasync takes tens of milliseconds here) do not stop the simulation;
 * with 4 batches the 1M-packet workload at 10 ms statistics (2.5 M rows) waited about 80 ms for
 * them.  Rows are written in the order they were recorded, so the database's content is what
 * the store's own recorder would have written; a row that fails is remembered by the store
 * (store_failed), as always, and the run ends failed. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define BATCH_BYTES (256u << 10)
#define N_BATCHES 32

enum kind { K_PARAM, K_SCALAR, K_VECTOR, K_FLOW, K_HIST };

/* An encoded row: this header, then the kind's fixed part, then the name (and a parameter's
 * value), each NUL-terminated. */
struct head {
	uint32_t len;              /* of the whole row */
	uint32_t kind;
};

struct batch {
	struct batch *next;
	size_t used;
	unsigned char data[BATCH_BYTES];
};

struct store_async {
	struct store *st;
	int64_t run_id;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;         /* every change of the lists below, broadcast */
	struct batch *full, *full_tail, *empty;
	struct batch *cur;         /* the producer's */
	bool busy, stop;
};

static void write_row(struct store_async *a, const unsigned char *p)
{
	struct head h;
	memcpy(&h, p, sizeof h);
	p += sizeof h;
	switch (h.kind) {
	case K_PARAM: {
		const char *name = (const char *)p;
		store_param(a->st, a->run_id, name, name + strlen(name) + 1);
		break;
	}
	case K_SCALAR: {
		double v;
		memcpy(&v, p, sizeof v);
		store_scalar(a->st, a->run_id, (const char *)p + sizeof v, v);
		break;
	}
	case K_VECTOR: {
		uint64_t t;
		double v;
		memcpy(&t, p, sizeof t);
		memcpy(&v, p + sizeof t, sizeof v);
		store_vector(a->st, a->run_id, (const char *)p + sizeof t + sizeof v, t, v);
		break;
	}
	case K_FLOW: {
		struct recorder_flow f;
		memcpy(&f, p, sizeof f);
		store_flow(a->st, a->run_id, &f);
		break;
	}
	default: {
		double lo, hi;
		uint64_t n;
		memcpy(&lo, p, sizeof lo);
		memcpy(&hi, p + 8, sizeof hi);
		memcpy(&n, p + 16, sizeof n);
		store_histogram(a->st, a->run_id, (const char *)p + 24, lo, hi, n);
		break;
	}
	}
}

static void *writer(void *arg)
{
	struct store_async *a = arg;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->full && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		if (!a->full)
			break;
		struct batch *b = a->full;
		if (!(a->full = b->next))
			a->full_tail = NULL;
		a->busy = true;
		pthread_mutex_unlock(&a->mu);
		for (size_t off = 0; off < b->used;) {
			struct head h;
			memcpy(&h, b->data + off, sizeof h);
			write_row(a, b->data + off);
			off += h.len;
		}
		b->used = 0;
		pthread_mutex_lock(&a->mu);
		b->next = a->empty;
		a->empty = b;
		a->busy = false;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Hands the producer's batch to the writer and takes an empty one (waiting for it). */
static void submit(struct store_async *a)
{
	pthread_mutex_lock(&a->mu);
	struct batch *b = a->cur;
	b->next = NULL;
	if (a->full_tail)
		a->full_tail->next = b;
	else
		a->full = b;
	a->full_tail = b;
	pthread_cond_broadcast(&a->cv);
	while (!a->empty)
		pthread_cond_wait(&a->cv, &a->mu);
	a->cur = a->empty;
	a->empty = a->cur->next;
	pthread_mutex_unlock(&a->mu);
}

/* Until the writer has written every batch and waits. */
static void drain(struct store_async *a)
{
	if (a->cur->used)
		submit(a);
	pthread_mutex_lock(&a->mu);
	while (a->full || a->busy)
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

/* Encodes a row at 'p' (see struct head). */
static void encode(unsigned char *p, size_t len, enum kind kind, const void *fixed, size_t n_fixed, const char *s1,
		   size_t l1, const char *s2, size_t l2)
{
	struct head h = { (uint32_t)len, kind };
	memcpy(p, &h, sizeof h);
	p += sizeof h;
	if (n_fixed)
		memcpy(p, fixed, n_fixed);
	p += n_fixed;
	memcpy(p, s1, l1);
	if (l2)
		memcpy(p + l1, s2, l2);
}

/* Appends a row of 'kind': 'fixed' bytes, then the string 's1' and, for a parameter, 's2'.
 * A row too large for a batch (a parameter of hundreds of kilobytes) is written from this
 * thread once the writer is idle. */
static int push(struct store_async *a, enum kind kind, const void *fixed, size_t n_fixed, const char *s1,
		const char *s2)
{
	size_t l1 = strlen(s1) + 1, l2 = s2 ? strlen(s2) + 1 : 0;
	size_t len = (sizeof(struct head) + n_fixed + l1 + l2 + 7) & ~(size_t)7;
	if (len > BATCH_BYTES) {
		drain(a);
		if (kind == K_PARAM)
			return store_param(a->st, a->run_id, s1, s2);
		unsigned char *p = malloc(len);
		if (!p)
			return kind == K_SCALAR ? store_scalar(a->st, a->run_id, s1, *(const double *)fixed) : -ERR_NOMEM;
		encode(p, len, kind, fixed, n_fixed, s1, l1, s2, l2);
		write_row(a, p);
		free(p);
		return 0;
	}
	if (a->cur->used + len > BATCH_BYTES)
		submit(a);
	encode(a->cur->data + a->cur->used, len, kind, fixed, n_fixed, s1, l1, s2, l2);
	a->cur->used += len;
	return 0;
}

static int a_param(void *arg, const char *name, const char *value)
{
	return push(arg, K_PARAM, NULL, 0, name, value);
}

static int a_scalar(void *arg, const char *name, double value)
{
	return push(arg, K_SCALAR, &value, sizeof value, name, NULL);
}

static int a_vector(void *arg, const char *name, uint64_t t_ns, double value)
{
	unsigned char f[16];
	memcpy(f, &t_ns, 8);
	memcpy(f + 8, &value, 8);
	return push(arg, K_VECTOR, f, sizeof f, name, NULL);
}

static int a_flow(void *arg, const struct recorder_flow *fl)
{
	return push(arg, K_FLOW, fl, sizeof *fl, "", NULL);
}

static int a_hist(void *arg, const char *name, double lo, double hi, uint64_t count)
{
	unsigned char f[24];
	memcpy(f, &lo, 8);
	memcpy(f + 8, &hi, 8);
	memcpy(f + 16, &count, 8);
	return push(arg, K_HIST, f, sizeof f, name, NULL);
}

static const struct recorder_ops async_ops = { a_param, a_scalar, a_vector, a_flow, a_hist };

static void free_batches(struct batch *b)
{
	while (b) {
		struct batch *n = b->next;
		free(b);
		b = n;
	}
}

void store_async_start(struct store *st, int64_t run_id, struct recorder *out, struct store_async **ap)
{
	*ap = NULL;
	store_recorder(st, run_id, out); /* what stays if no thread can be had */
	struct store_async *a = calloc(1, sizeof *a);
	if (!a)
		return;
	a->st = st;
	a->run_id = run_id;
	for (int i = 0; i < N_BATCHES; i++) {
		struct batch *b = malloc(sizeof *b);
		if (!b) {
			free_batches(a->empty);
			free(a);
			return;
		}
		b->used = 0;
		b->next = a->empty;
		a->empty = b;
	}
	a->cur = a->empty;
	a->empty = a->cur->next;
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		free_batches(a->empty);
		free(a->cur);
		free(a);
		return;
	}
	if (pthread_cond_init(&a->cv, NULL) != 0 || pthread_create(&a->thread, NULL, writer, a) != 0) {
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		free_batches(a->empty);
		free(a->cur);
		free(a);
		return;
	}
	out->ops = &async_ops;
	out->arg = a;
	*ap = a;
}

void store_async_stop(struct store_async *a)
{
	if (!a)
		return;
	drain(a);
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free_batches(a->empty);
	free(a->cur);
	free(a);
}
