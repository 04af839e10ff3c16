/* ml: the trained predictor (see ml.h), its context keys and its model file.
 *
 * Per packet it costs a few table probes: the flow's own first-order table (indexed, no
 * search), then at most two hashed prior lookups.  Header fields come from the `header`
 * predictor, whose state it embeds: ml models what header does not (the next size and gap).
 * The size it picks, in order:
 *   1. the flow's own table for the context (the latest packet's direction and size class, the
 *      direction asked for), once the flow has confirmed that context: a flow is its own best
 *      model;
 *   2. the prior for the flow's class (after its first ML_DIMS packets), then the prior for its
 *      service and position: what flows like it did next;
 *   3. the direction's last size (persistence).
 * The gap: the median of the flow's last gaps for that transition (direction to direction),
 * else the prior's median gap. */
#include "ml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "modelfile.h"
#include "predictors.h"

/* ---- context keys ---- */

static uint64_t key_class(unsigned cl, unsigned pdir, unsigned pclass, unsigned dir)
{
	return 1ull << 62 | (uint64_t)cl << 32 | pdir << 5 | pclass << 1 | dir;
}

static uint64_t key_service(unsigned proto, unsigned port, unsigned pos, unsigned pdir, unsigned pclass, unsigned dir)
{
	return 2ull << 62 | (uint64_t)proto << 40 | (uint64_t)port << 24 | (pos < 7 ? pos : 7u) << 8 | pdir << 5 |
	       pclass << 1 | dir;
}

unsigned ml_ctx_keys(const struct ml_ctx *c, unsigned dir, uint64_t key[2])
{
	if (!c->n)
		return 0;
	/* Early in a flow its position says most (a handshake, a login exchange); later its class
	 * does.  The first key is the one to trust first. */
	uint64_t svc = key_service(c->proto, c->port, c->n, c->pdir, c->pclass, dir);
	if (c->cluster == ML_NO_CLUSTER) {
		key[0] = svc;
		return 1;
	}
	uint64_t cls = key_class(c->cluster, c->pdir, c->pclass, dir);
	key[0] = c->n < 7 ? svc : cls;
	key[1] = c->n < 7 ? cls : svc;
	return 2;
}

void ml_features(const uint16_t first[ML_DIMS], double x[ML_DIMS])
{
	for (int i = 0; i < ML_DIMS; i++) {
		double v = log2(1.0 + (double)(first[i] & 0x7fff));
		x[i] = (first[i] & 0x8000) ? -v : v;
	}
}

unsigned ml_nearest_x(const struct ml_model *m, const double x[ML_DIMS])
{
	unsigned best = 0;
	double bd = INFINITY;
	for (unsigned k = 0; k < m->k; k++) {
		double d = 0;
		for (int i = 0; i < ML_DIMS; i++)
			d += (x[i] - m->centroid[k][i]) * (x[i] - m->centroid[k][i]);
		if (d < bd) {
			bd = d;
			best = k;
		}
	}
	return best;
}

unsigned ml_nearest_class(const struct ml_model *m, const uint16_t first[ML_DIMS])
{
	double x[ML_DIMS];
	ml_features(first, x);
	return ml_nearest_x(m, x);
}

void ml_ctx_update(struct ml_ctx *c, const struct ml_model *m, const struct pred_pkt *pk)
{
	unsigned d = pk->dir & 1;
	if (c->n == 0) {
		c->proto = pk->proto;
		c->port = d ? pk->sport : pk->dport;
		c->cluster = ML_NO_CLUSTER;
	}
	if (c->n < ML_DIMS) {
		c->first[c->n] = (uint16_t)(d << 15 | (pk->payload_len > 0x7fff ? 0x7fff : pk->payload_len));
		if (c->n + 1 == ML_DIMS && m && m->k)
			c->cluster = (uint8_t)ml_nearest_class(m, c->first);
	}
	c->pdir = (uint8_t)d;
	c->pclass = (uint8_t)size_class(pk->payload_len);
	c->last_t = pk->t_ns;
	if (c->n < 255)
		c->n++;
}

/* ---- the prior table ---- */

static inline uint32_t slot_of(const struct ml_model *m, uint64_t key)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (m->cap - 1);
}

struct ml_entry *ml_model_find(const struct ml_model *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (uint32_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->slot[i].key == key)
			return &m->slot[i];
		if (!m->slot[i].key)
			return NULL;
	}
}

struct ml_entry *ml_model_insert(struct ml_model *m, uint64_t key)
{
	if (!m->cap || (m->used + 1) * 4 > m->cap * 3)
		return NULL;
	uint32_t i = slot_of(m, key);
	while (m->slot[i].key && m->slot[i].key != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->slot[i].key) {
		memset(&m->slot[i], 0, sizeof m->slot[i]);
		m->slot[i].key = key;
		m->slot[i].gap_us = UINT32_MAX;
		m->used++;
	}
	return &m->slot[i];
}

int ml_model_init(struct ml_model *m, uint32_t cap, struct errbuf *eb)
{
	memset(m, 0, sizeof *m);
	uint32_t c = 1024;
	while (c < cap && c < (1u << 28))
		c <<= 1;
	m->slot = calloc(c, sizeof *m->slot);
	if (!m->slot)
		return err_set(eb, -ERR_NOMEM, "ml model: out of memory");
	m->cap = c;
	return 0;
}

void ml_model_free(struct ml_model *m)
{
	free(m->slot);
	memset(m, 0, sizeof *m);
}

/* ---- the model file (doc/model-format.md): little-endian throughout ---- */

static const char ml_magic[8] = { 'P', 'C', 'R', 'F', 'T', 'M', 'L', '\n' };
#define ENTRY_BYTES 20u
#define HEADER_BYTES 48u

int ml_model_save(const char *path, const struct ml_model *m, struct errbuf *eb)
{
	size_t bytes = HEADER_BYTES + (size_t)m->k * ML_DIMS * 8 + (size_t)m->used * ENTRY_BYTES + 8;
	struct mf_buf w = { malloc(bytes), 0, bytes };
	if (!w.p)
		return err_set(eb, -ERR_NOMEM, "ml model: out of memory");
	memcpy(w.p, ml_magic, 8);
	w.n = 8;
	mf_put(&w, ML_FILE_VERSION, 4);
	mf_put(&w, HEADER_BYTES, 4);
	mf_put(&w, m->k, 4);
	mf_put(&w, ML_DIMS, 4);
	mf_put(&w, m->used, 4);
	mf_put(&w, 0, 4); /* reserved */
	mf_put(&w, m->trained_packets, 8);
	mf_put(&w, m->trained_flows, 8);
	for (uint32_t k = 0; k < m->k; k++)
		for (int i = 0; i < ML_DIMS; i++) {
			uint64_t b;
			memcpy(&b, &m->centroid[k][i], 8);
			mf_put(&w, b, 8);
		}
	for (uint32_t i = 0; i < m->cap; i++) {
		const struct ml_entry *e = &m->slot[i];
		if (!e->key)
			continue;
		mf_put(&w, e->key, 8);
		mf_put(&w, e->gap_us, 4);
		mf_put(&w, e->count, 4);
		mf_put(&w, e->size, 2);
		mf_put(&w, e->share, 1);
		mf_put(&w, 0, 1);
	}
	int rc = mf_write(path, &w, eb);
	free(w.p);
	return rc;
}

/* The length of the model file whose first 'n' bytes (at least the header, if the file has
 * one) are at 'p', from its header. */
static int model_size(const char *path, const uint8_t *p, size_t n, size_t *want, struct errbuf *eb)
{
	if (n < 8 || memcmp(p, ml_magic, 8) != 0)
		return err_set(eb, -ERR_FORMAT, "%s: not a precraft model file (bad magic)", path);
	if (n < HEADER_BYTES + 8)
		return err_set(eb, -ERR_FORMAT, "%s: model file truncated (%zu bytes)", path, n);
	uint32_t version = (uint32_t)mf_get(p + 8, 4), hdr = (uint32_t)mf_get(p + 12, 4);
	uint32_t k = (uint32_t)mf_get(p + 16, 4), dims = (uint32_t)mf_get(p + 20, 4), entries = (uint32_t)mf_get(p + 24, 4);
	if (version != ML_FILE_VERSION)
		return err_set(eb, -ERR_FORMAT, "%s: model file version %u, this precraft reads version %u", path,
			       version, ML_FILE_VERSION);
	if (hdr != HEADER_BYTES || dims != ML_DIMS || k > ML_MAX_CLUSTERS || entries > (1u << 26))
		return err_set(eb, -ERR_FORMAT, "%s: model header inconsistent (header %u bytes, %u classes of %u dims, %u entries)",
			       path, hdr, k, dims, entries);
	*want = HEADER_BYTES + (size_t)k * ML_DIMS * 8 + (size_t)entries * ENTRY_BYTES + 8;
	return 0;
}

/* Parses a whole model file image (its length and checksum checked by mf_read). */
static int parse_model(const char *path, const uint8_t *p, struct ml_model *m, struct errbuf *eb)
{
	uint32_t k = (uint32_t)mf_get(p + 16, 4), entries = (uint32_t)mf_get(p + 24, 4);
	int rc;
	rc = ml_model_init(m, entries * 2u + 16u, eb);
	if (rc)
		return rc;
	m->k = k;
	m->trained_packets = mf_get(p + 32, 8);
	m->trained_flows = mf_get(p + 40, 8);
	const uint8_t *q = p + HEADER_BYTES;
	for (uint32_t c = 0; c < k; c++)
		for (int i = 0; i < ML_DIMS; i++, q += 8) {
			uint64_t b = mf_get(q, 8);
			memcpy(&m->centroid[c][i], &b, 8);
			if (!isfinite(m->centroid[c][i])) {
				ml_model_free(m);
				return err_set(eb, -ERR_FORMAT, "%s: model class %u has a non-finite centroid", path, c);
			}
		}
	for (uint32_t i = 0; i < entries; i++, q += ENTRY_BYTES) {
		uint64_t key = mf_get(q, 8);
		struct ml_entry *e = key ? ml_model_find(m, key) : NULL;
		if (!key || e) {
			ml_model_free(m);
			return err_set(eb, -ERR_FORMAT, "%s: model entry %u has a %s key", path, i, key ? "duplicate" : "zero");
		}
		e = ml_model_insert(m, key);
		e->gap_us = (uint32_t)mf_get(q + 8, 4);
		e->count = (uint32_t)mf_get(q + 12, 4);
		e->size = (uint16_t)mf_get(q + 16, 2);
		e->share = (uint8_t)mf_get(q + 18, 1);
		e->votes = (uint8_t)(e->count > 255 ? 255 : e->count);
	}
	return 0;
}

int ml_model_load(const char *path, struct ml_model *m, struct errbuf *eb)
{
	memset(m, 0, sizeof *m);
	uint8_t *p;
	size_t n;
	int rc = mf_read(path, HEADER_BYTES + 8, model_size, &p, &n, eb);
	if (!rc) {
		rc = parse_model(path, p, m, eb);
		free(p);
	}
	return rc;
}

/* ---- the predictor ---- */

struct vote {
	uint16_t size;
	uint8_t votes, pad;
};

struct ml_flow {
	uint8_t header[HEADER_FLOW_STATE_BYTES]; /* the header predictor's state */
	struct ml_ctx ctx;
	struct vote vote[2][N_SIZE_CLASSES][2];  /* [latest dir][latest class][dir asked] */
	uint16_t last_size[2];
	uint8_t seen[2];
};

struct ml_self {
	struct ml_model m;
	void *header;
};

static int ml_create(const char *model_file, void **self, struct errbuf *eb)
{
	struct ml_self *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(eb, -ERR_NOMEM, "ml predictor: out of memory");
	/* Without a model file the tables start empty and everything is learned online. */
	int rc = model_file ? ml_model_load(model_file, &s->m, eb) : ml_model_init(&s->m, 1u << 14, eb);
	if (!rc)
		rc = predictor_header.create(NULL, &s->header, eb);
	if (rc) {
		ml_model_free(&s->m);
		free(s);
		return rc;
	}
	*self = s;
	return 0;
}

static void ml_destroy(void *self)
{
	struct ml_self *s = self;
	if (!s)
		return;
	predictor_header.destroy(s->header);
	ml_model_free(&s->m);
	free(s);
}

/* The size and gap the model forecasts for the next packet of direction 'd'. */
static uint32_t forecast(const struct ml_self *s, const struct ml_flow *f, unsigned d, uint64_t *gap_ns,
			 int *have_gap)
{
	const struct ml_ctx *c = &f->ctx;
	uint64_t key[2];
	unsigned nk = ml_ctx_keys(c, d, key);
	/* Of the priors found, the one whose size has been right most often. */
	const struct ml_entry *e = NULL;
	for (unsigned i = 0; i < nk; i++) {
		const struct ml_entry *q = ml_model_find(&s->m, key[i]);
		if (q && q->votes && (!e || q->share > e->share))
			e = q;
	}
	/* The flow's own gaps (kept by the header state) once it has two for the transition. */
	uint32_t own;
	unsigned n_own = header_gap_us(f->header, c->pdir, d, &own);
	*have_gap = 1;
	if (n_own >= 2 || (n_own == 1 && !(e && e->gap_us != UINT32_MAX)))
		*gap_ns = (uint64_t)own * 1000;
	else if (e && e->gap_us != UINT32_MAX)
		*gap_ns = (uint64_t)e->gap_us * 1000;
	else
		*have_gap = 0;
	/* The flow's own table once it has confirmed the context; before that, what flows like it
	 * did (a context seen once in a short flow may mean something else at another point). */
	const struct vote *v = &f->vote[c->pdir][c->pclass][d];
	if (v->votes >= 2)
		return v->size;
	if (e && e->votes)
		return e->size;
	if (v->votes)
		return v->size;
	return f->seen[d] ? f->last_size[d] : f->last_size[!d];
}

static void ml_observe(void *self, void *fs, const struct pred_pkt *pk)
{
	struct ml_self *s = self;
	struct ml_flow *f = fs;
	unsigned d = pk->dir & 1;
	uint16_t size = pk->payload_len > 0xffff ? 0xffff : (uint16_t)pk->payload_len;
	predictor_header.observe(s->header, f->header, pk);
	struct ml_ctx *c = &f->ctx;
	if (c->n) {
		/* The flow's own table, then the model's priors: a vote each. */
		struct vote *v = &f->vote[c->pdir][c->pclass][d];
		if (v->votes == 0 || v->size == size) {
			v->size = size;
			v->votes = (uint8_t)(v->votes < 3 ? v->votes + 1 : 3);
		} else {
			v->votes--;
		}
		uint64_t key[2];
		unsigned nk = ml_ctx_keys(c, d, key);
		for (unsigned i = 0; i < nk; i++) {
			struct ml_entry *e = ml_model_find(&s->m, key[i]);
			if (!e && (e = ml_model_insert(&s->m, key[i])) == NULL)
				continue;
			/* 'share' follows how often the entry's size comes true (an EWMA, 1/8). */
			e->share = (uint8_t)((e->share * 7u + (e->votes && e->size == size ? 255u : 0u)) / 8u);
			if (e->votes == 0 || e->size == size) {
				e->size = size;
				e->votes = (uint8_t)(e->votes < 255 ? e->votes + 1 : 255);
			} else {
				e->votes--;
			}
		}
	}
	ml_ctx_update(c, &s->m, pk);
	f->last_size[d] = size;
	f->seen[d] = 1;
}

static bool ml_predict(void *self, const void *fs, const struct pred_pkt *last, struct pred_out *o)
{
	const struct ml_self *s = self;
	const struct ml_flow *f = fs;
	unsigned d = last->dir & 1;
	if (!predictor_header.predict(s->header, f->header, last, o))
		return false;
	uint64_t gap;
	int have_gap;
	uint32_t size = forecast(s, f, d, &gap, &have_gap);
	/* An anticipated payload fixes the size: it was confirmed on this flow. */
	if (!(o->fields & PRED_PAYLOAD))
		o->payload_len = size;
	o->fields |= PRED_LEN;
	if (have_gap) {
		o->fields |= PRED_IAT;
		o->iat_ns = gap;
	}
	return true;
}

const struct predictor_ops predictor_ml = {
	.name = "ml",
	.summary = "trained: flow classes from the first 4 sizes, per-class and per-flow tables (precraft train)",
	.flow_state_size = sizeof(struct ml_flow),
	.create = ml_create,
	.destroy = ml_destroy,
	.observe = ml_observe,
	.predict = ml_predict,
};
