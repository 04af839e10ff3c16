/* xgb: the tree walker, the features, the model file and the predictor (see xgb.h). */
#include "xgb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "modelfile.h"

/* The leaf tree 't' sends 'x' to. */
static inline uint32_t leaf(const struct xgb_ensemble *e, uint32_t t, const float x[XGB_NF])
{
	uint32_t i = e->root[t];
	while (e->node[i].feat >= 0)
		i = x[e->node[i].feat] < e->node[i].value ? e->node[i].yes : e->node[i].yes + 1;
	return i;
}

float xgb_walk(const struct xgb_ensemble *e, const float x[XGB_NF])
{
	float sum = e->base;
	for (uint32_t t = 0; t < e->n_trees; t++) {
		sum += e->node[leaf(e, t, x)].value;
	}
	return sum;
}

unsigned xgb_walk_class(const struct xgb_ensemble *e, const float x[XGB_NF], float *margin)
{
	uint32_t k = e->n_class;
	for (uint32_t c = 0; c < k; c++)
		margin[c] = e->base;
	/* Tree t scores class t % k: counted, not divided, per tree. */
	for (uint32_t t = 0, c = 0; t < e->n_trees; t++, c = c + 1 == k ? 0 : c + 1) {
		margin[c] += e->node[leaf(e, t, x)].value;
	}
	unsigned best = 0;
	for (uint32_t c = 1; c < k; c++)
		if (margin[c] > margin[best])
			best = c;
	return best;
}

/* ---- the features ---- */

static float lg(double us)
{
	return (float)log2(1.0 + us);
}

uint64_t xgb_prior_key(const struct xgb_flow *f, unsigned d)
{
	if (!f->n)
		return 0;
	return 1ull << 63 | (uint64_t)f->proto << 40 | (uint64_t)f->port << 24 | (uint64_t)(f->n < 7 ? f->n : 7) << 8 |
	       (uint64_t)f->h[0].dir << 5 | (uint64_t)size_class(f->h[0].len) << 1 | (d & 1);
}

static uint32_t prior_slot(uint64_t key, uint32_t cap)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

const struct xgb_prior *xgb_prior_find(const struct xgb_model *m, uint64_t key)
{
	if (!m->prior_cap || !key)
		return NULL;
	for (uint32_t i = prior_slot(key, m->prior_cap), k = 0; k < m->prior_cap; k++, i = (i + 1) & (m->prior_cap - 1)) {
		if (m->prior[i].key == key)
			return &m->prior[i];
		if (!m->prior[i].key)
			return NULL;
	}
	return NULL;
}

int xgb_prior_alloc(struct xgb_model *m, uint32_t n)
{
	uint32_t cap = 16;
	while (cap < 2 * ((uint64_t)n + XGB_PRIOR_ROOM))
		cap <<= 1;
	free(m->prior);
	m->n_prior = 0;
	m->prior_cap = 0;
	if (!(m->prior = calloc(cap, sizeof *m->prior)))
		return -ERR_NOMEM;
	m->prior_cap = cap;
	return 0;
}

void xgb_prior_put(struct xgb_model *m, uint64_t key, uint16_t size, uint8_t share)
{
	if (!key || m->n_prior * 2 + 2 > m->prior_cap)
		return;
	uint32_t i = prior_slot(key, m->prior_cap);
	while (m->prior[i].key && m->prior[i].key != key)
		i = (i + 1) & (m->prior_cap - 1);
	if (m->prior[i].key)
		return;
	m->prior[i] = (struct xgb_prior){ .key = key, .size = size, .share = share };
	m->n_prior++;
}

void xgb_prior_learn(struct xgb_model *m, uint64_t key, uint16_t size)
{
	struct xgb_prior *p = (struct xgb_prior *)xgb_prior_find(m, key);
	if (!p) {
		xgb_prior_put(m, key, size, 128);
		return;
	}
	p->share = (uint8_t)((p->share * 7u + (p->size == size ? 255u : 0u)) / 8u);
	if (p->share < 64) {
		p->size = size;
		p->share = 128;
	}
}

void xgb_features(const struct xgb_model *m, const struct xgb_flow *f, unsigned d, float x[XGB_NF])
{
	x[0] = (float)d;
	x[1] = (float)f->n;
	x[2] = (float)f->proto;
	x[3] = (float)f->port;
	for (unsigned i = 0; i < XGB_HIST; i++) {
		int have = i < f->n;
		x[4 + i] = have ? (float)f->h[i].len : -1.0f;
		x[8 + i] = have ? (float)f->h[i].dir : -1.0f;
		x[12 + i] = have ? f->h[i].lgap : -1.0f;
		x[16 + i] = have ? (float)f->h[i].flags : -1.0f;
	}
	x[20] = f->seen[d] ? (float)f->last_size[d] : -1.0f;
	x[21] = -1.0f;
	x[22] = 0.0f;
	if (f->n) {
		const struct xgb_vote *v = &f->vote[f->h[0].dir][size_class(f->h[0].len)][d];
		if (v->votes) {
			x[21] = (float)v->size;
			x[22] = (float)v->votes;
		}
	}
	x[25] = f->seen[d] >= 2 ? (float)f->last2_size[d] : -1.0f;
	x[26] = f->data_size[d] ? (float)(f->data_size[d] - 1) : -1.0f;
	uint32_t g = 0;
	unsigned n = f->n ? header_gap_us(f->header, f->h[0].dir, d, &g) : 0;
	x[23] = n ? lg(g) : -1.0f;
	x[24] = (float)n;
	const struct xgb_prior *pr = xgb_prior_find(m, xgb_prior_key(f, d));
	x[27] = pr ? (float)pr->size : -1.0f;
	x[28] = pr ? (float)pr->share : 0.0f;
}

float xgb_candidate(const float x[XGB_NF], unsigned c)
{
	switch (c) {
	case XGB_C_TABLE: return x[21];
	case XGB_C_LAST: return x[20];
	case XGB_C_ACK: return 0.0f;
	case XGB_C_LAST2: return x[25];
	case XGB_C_DATA: return x[26];
	case XGB_C_PRIOR: return x[27];
	default: return -1.0f;
	}
}

void xgb_flow_update(void *header_self, struct xgb_flow *f, const struct pred_pkt *pk)
{
	unsigned d = pk->dir & 1;
	uint16_t len = pk->payload_len > 0xfffe ? 0xfffe : (uint16_t)pk->payload_len;
	predictor_header.observe(header_self, f->header, pk);
	if (f->n) {
		struct xgb_vote *v = &f->vote[f->h[0].dir][size_class(f->h[0].len)][d];
		if (v->votes == 0 || v->size == len) {
			v->size = len;
			v->votes = (uint8_t)(v->votes < 3 ? v->votes + 1 : 3);
		} else {
			v->votes--;
		}
	} else {
		f->proto = pk->proto;
		f->port = d ? pk->sport : pk->dport;
	}
	float lgap = f->n && pk->t_ns >= f->last_t && pk->t_ns - f->last_t <= IAT_MAX_NS
			     ? lg((double)(pk->t_ns - f->last_t) / 1000.0)
			     : -1.0f;
	memmove(&f->h[1], &f->h[0], (XGB_HIST - 1) * sizeof f->h[0]);
	f->h[0].len = len;
	f->h[0].dir = (uint8_t)d;
	f->h[0].flags = pk->tcp_flags;
	f->h[0].lgap = lgap;
	f->last2_size[d] = f->last_size[d];
	f->last_size[d] = len;
	if (len)
		f->data_size[d] = (uint16_t)(len + 1);
	if (f->seen[d] < 2)
		f->seen[d]++;
	f->last_t = pk->t_ns;
	if (f->n < 255)
		f->n++;
}

/* ---- the model file (doc/model-format.md) ---- */

static const char xgb_magic[8] = { 'P', 'C', 'R', 'F', 'T', 'X', 'G', '\n' };
#define HEADER_BYTES 64u
#define NODE_BYTES 12u
#define PRIOR_BYTES 12u

static void ensemble_free(struct xgb_ensemble *e)
{
	free(e->root);
	free(e->node);
	memset(e, 0, sizeof *e);
}

void xgb_model_free(struct xgb_model *m)
{
	ensemble_free(&m->size);
	ensemble_free(&m->gap);
	free(m->prior);
	m->prior = NULL;
	m->n_prior = m->prior_cap = 0;
}

static uint32_t f2u(float v)
{
	uint32_t u;
	memcpy(&u, &v, 4);
	return u;
}

static float u2f(uint32_t u)
{
	float v;
	memcpy(&v, &u, 4);
	return v;
}

static uint32_t tree_nodes(const struct xgb_ensemble *e, uint32_t t)
{
	return (t + 1 < e->n_trees ? e->root[t + 1] : e->n_nodes) - e->root[t];
}

static int prior_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct xgb_prior *)a)->key, y = ((const struct xgb_prior *)b)->key;
	return x < y ? -1 : x > y;
}

int xgb_model_save(const char *path, const struct xgb_model *m, struct errbuf *eb)
{
	const struct xgb_ensemble *en[2] = { &m->size, &m->gap };
	size_t bytes = HEADER_BYTES + 8 + (size_t)m->n_prior * PRIOR_BYTES;
	for (int k = 0; k < 2; k++)
		bytes += (size_t)en[k]->n_trees * 4 + (size_t)en[k]->n_nodes * NODE_BYTES;
	struct mf_buf w = { malloc(bytes), 0, bytes };
	if (!w.p)
		return err_set(eb, -ERR_NOMEM, "xgb model: out of memory");
	memcpy(w.p, xgb_magic, 8);
	w.n = 8;
	mf_put(&w, XGB_FILE_VERSION, 4);
	mf_put(&w, HEADER_BYTES, 4);
	mf_put(&w, XGB_NF, 4);
	mf_put(&w, m->size.n_trees, 4);
	mf_put(&w, m->gap.n_trees, 4);
	mf_put(&w, m->size.n_nodes + m->gap.n_nodes, 4);
	mf_put(&w, m->trained_packets, 8);
	mf_put(&w, m->trained_flows, 8);
	mf_put(&w, f2u(m->size.base), 4);
	mf_put(&w, f2u(m->gap.base), 4);
	mf_put(&w, m->size.n_class, 4);
	mf_put(&w, m->n_prior, 4);
	for (int k = 0; k < 2; k++)
		for (uint32_t t = 0; t < en[k]->n_trees; t++)
			mf_put(&w, tree_nodes(en[k], t), 4);
	/* Child indices are stored relative to their tree's first node. */
	for (int k = 0; k < 2; k++)
		for (uint32_t t = 0; t < en[k]->n_trees; t++)
			for (uint32_t i = en[k]->root[t], end = i + tree_nodes(en[k], t); i < end; i++) {
				const struct xgb_node *n = &en[k]->node[i];
				mf_put(&w, (uint32_t)n->feat, 4);
				mf_put(&w, f2u(n->value), 4);
				mf_put(&w, n->feat >= 0 ? n->yes - en[k]->root[t] : 0, 4);
			}
	/* The priors in key order, so that the same model is the same bytes. */
	struct xgb_prior *sorted = m->n_prior ? malloc((size_t)m->n_prior * sizeof *sorted) : NULL;
	if (m->n_prior && !sorted) {
		free(w.p);
		return err_set(eb, -ERR_NOMEM, "xgb model: out of memory");
	}
	uint32_t k = 0;
	for (uint32_t i = 0; i < m->prior_cap && k < m->n_prior; i++)
		if (m->prior[i].key)
			sorted[k++] = m->prior[i];
	qsort(sorted, k, sizeof *sorted, prior_cmp);
	for (uint32_t i = 0; i < k; i++) {
		mf_put(&w, sorted[i].key, 8);
		mf_put(&w, sorted[i].size, 2);
		mf_put(&w, sorted[i].share, 1);
		mf_put(&w, 0, 1);
	}
	free(sorted);
	int rc = mf_write(path, &w, eb);
	free(w.p);
	return rc;
}

static int model_size(const char *path, const uint8_t *p, size_t n, size_t *want, struct errbuf *eb)
{
	if (n < 8 || memcmp(p, xgb_magic, 8) != 0)
		return err_set(eb, -ERR_FORMAT, "%s: not a precraft xgb model file (bad magic)", path);
	if (n < HEADER_BYTES + 8)
		return err_set(eb, -ERR_FORMAT, "%s: model file truncated (%zu bytes)", path, n);
	uint32_t version = (uint32_t)mf_get(p + 8, 4), hdr = (uint32_t)mf_get(p + 12, 4), nf = (uint32_t)mf_get(p + 16, 4);
	uint32_t ts = (uint32_t)mf_get(p + 20, 4), tg = (uint32_t)mf_get(p + 24, 4), nodes = (uint32_t)mf_get(p + 28, 4);
	uint32_t classes = (uint32_t)mf_get(p + 56, 4), priors = (uint32_t)mf_get(p + 60, 4);
	if (version != XGB_FILE_VERSION)
		return err_set(eb, -ERR_FORMAT, "%s: model file version %u, this precraft reads version %u", path, version,
			       XGB_FILE_VERSION);
	if (hdr != HEADER_BYTES || nf != XGB_NF || ts > XGB_MAX_TREES || tg > XGB_MAX_TREES || nodes > XGB_MAX_NODES ||
	    (ts && classes != XGB_N_CAND) || ts % XGB_N_CAND || priors > XGB_MAX_PRIORS)
		return err_set(eb, -ERR_FORMAT,
			       "%s: model header inconsistent (header %u bytes, %u features, %u + %u trees, %u nodes, %u classes, "
			       "%u priors)",
			       path, hdr, nf, ts, tg, nodes, classes, priors);
	*want = HEADER_BYTES + ((size_t)ts + tg) * 4 + (size_t)nodes * NODE_BYTES + (size_t)priors * PRIOR_BYTES + 8;
	return 0;
}

/* Reads ensemble 'e' of 'trees' trees whose node counts are at 'counts' and nodes at '*q'. */
static int parse_ensemble(const char *path, const char *what, const uint8_t *counts, uint32_t trees,
			  const uint8_t **q, uint32_t *nodes_left, struct xgb_ensemble *e, struct errbuf *eb)
{
	uint64_t total = 0;
	for (uint32_t t = 0; t < trees; t++) {
		uint32_t c = (uint32_t)mf_get(counts + 4 * t, 4);
		if (c == 0)
			return err_set(eb, -ERR_FORMAT, "%s: %s tree %u has no nodes", path, what, t);
		total += c;
	}
	if (total > *nodes_left)
		return err_set(eb, -ERR_FORMAT, "%s: the trees' node counts exceed the header's", path);
	e->n_trees = trees;
	e->n_nodes = (uint32_t)total;
	e->root = malloc(((size_t)trees + 1) * sizeof *e->root);
	e->node = malloc(((size_t)total + 1) * sizeof *e->node);
	if (!e->root || !e->node)
		return err_set(eb, -ERR_NOMEM, "%s: out of memory reading the model", path);
	uint32_t i = 0;
	for (uint32_t t = 0; t < trees; t++) {
		uint32_t c = (uint32_t)mf_get(counts + 4 * t, 4), first = i;
		e->root[t] = first;
		for (uint32_t k = 0; k < c; k++, i++, *q += NODE_BYTES) {
			struct xgb_node *n = &e->node[i];
			n->feat = (int32_t)(uint32_t)mf_get(*q, 4);
			n->value = u2f((uint32_t)mf_get(*q + 4, 4));
			uint32_t yes = (uint32_t)mf_get(*q + 8, 4);
			if (!isfinite(n->value) || n->feat < -1 || n->feat >= XGB_NF)
				return err_set(eb, -ERR_FORMAT, "%s: %s tree %u node %u is malformed", path, what, t, k);
			/* A split's children come after it and inside its tree: every walk ends. */
			if (n->feat >= 0 && (yes <= k || yes + 1 >= c))
				return err_set(eb, -ERR_FORMAT, "%s: %s tree %u node %u points outside its tree", path, what,
					       t, k);
			n->yes = n->feat >= 0 ? first + yes : 0;
		}
	}
	*nodes_left -= (uint32_t)total;
	return 0;
}

int xgb_model_load(const char *path, struct xgb_model *m, struct errbuf *eb)
{
	memset(m, 0, sizeof *m);
	uint8_t *p;
	size_t n;
	int rc = mf_read(path, HEADER_BYTES + 8, model_size, &p, &n, eb);
	if (rc)
		return rc;
	uint32_t ts = (uint32_t)mf_get(p + 20, 4), tg = (uint32_t)mf_get(p + 24, 4), nodes = (uint32_t)mf_get(p + 28, 4);
	m->trained_packets = mf_get(p + 32, 8);
	m->trained_flows = mf_get(p + 40, 8);
	m->size.base = u2f((uint32_t)mf_get(p + 48, 4));
	m->gap.base = u2f((uint32_t)mf_get(p + 52, 4));
	m->size.n_class = XGB_N_CAND;
	m->gap.n_class = 1;
	const uint8_t *q = p + HEADER_BYTES;
	const uint8_t *counts = q;
	q += ((size_t)ts + tg) * 4;
	if (!isfinite(m->size.base) || !isfinite(m->gap.base))
		rc = err_set(eb, -ERR_FORMAT, "%s: a non-finite base score", path);
	if (!rc)
		rc = parse_ensemble(path, "size", counts, ts, &q, &nodes, &m->size, eb);
	if (!rc)
		rc = parse_ensemble(path, "gap", counts + 4 * (size_t)ts, tg, &q, &nodes, &m->gap, eb);
	if (!rc && nodes)
		rc = err_set(eb, -ERR_FORMAT, "%s: the header counts %u nodes the trees do not hold", path, nodes);
	uint32_t priors = (uint32_t)mf_get(p + 60, 4);
	if (!rc && xgb_prior_alloc(m, priors))
		rc = err_set(eb, -ERR_NOMEM, "%s: out of memory reading the model", path);
	for (uint32_t k = 0; !rc && k < priors; k++, q += PRIOR_BYTES) {
		uint64_t key = mf_get(q, 8);
		if (!(key >> 63) || xgb_prior_find(m, key))
			rc = err_set(eb, -ERR_FORMAT, "%s: model prior %u has a %s key", path, k,
				     key >> 63 ? "duplicate" : "malformed");
		else
			xgb_prior_put(m, key, (uint16_t)mf_get(q + 8, 2), (uint8_t)mf_get(q + 10, 1));
	}
	free(p);
	if (rc)
		xgb_model_free(m);
	return rc;
}

/* ---- the predictor ---- */

struct xgb_self {
	struct xgb_model m;
	void *header;
};

static int x_create(const char *model_file, void **self, struct errbuf *eb)
{
	struct xgb_self *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(eb, -ERR_NOMEM, "xgb predictor: out of memory");
	int rc = model_file ? xgb_model_load(model_file, &s->m, eb) : 0;
	if (!rc && !model_file && xgb_prior_alloc(&s->m, 0))
		rc = err_set(eb, -ERR_NOMEM, "xgb predictor: out of memory");
	if (!rc)
		rc = predictor_header.create(NULL, &s->header, eb);
	if (rc) {
		xgb_model_free(&s->m);
		free(s);
		return rc;
	}
	*self = s;
	return 0;
}

static void x_destroy(void *self)
{
	struct xgb_self *s = self;
	if (!s)
		return;
	predictor_header.destroy(s->header);
	xgb_model_free(&s->m);
	free(s);
}

static void x_observe(void *self, void *fs, const struct pred_pkt *pk)
{
	struct xgb_self *s = self;
	struct xgb_flow *f = fs;
	if (s->m.prior_cap && f->n)
		xgb_prior_learn(&s->m, xgb_prior_key(f, pk->dir & 1),
				(uint16_t)(pk->payload_len > 0xfffe ? 0xfffe : pk->payload_len));
	xgb_flow_update(s->header, f, pk);
}

static bool x_predict(void *self, const void *fs, const struct pred_pkt *last, struct pred_out *o)
{
	const struct xgb_self *s = self;
	const struct xgb_flow *f = fs;
	unsigned d = last->dir & 1;
	if (!predictor_header.predict(s->header, f->header, last, o))
		return false;
	if (!s->m.size.n_trees) {
		/* No model: the direction's last size, and header's gap. */
		if (!(o->fields & PRED_PAYLOAD))
			o->payload_len = f->seen[d] ? f->last_size[d] : last->payload_len;
		return true;
	}
	float x[XGB_NF], margin[XGB_N_CAND];
	xgb_features(&s->m, f, d, x);
	float size = xgb_candidate(x, xgb_walk_class(&s->m.size, x, margin));
	if (size < 0)
		size = x[21] >= 0 ? x[21] : x[20] >= 0 ? x[20] : (float)last->payload_len;
	/* An anticipated payload fixes the size: it was confirmed on this flow. */
	if (!(o->fields & PRED_PAYLOAD))
		o->payload_len = (uint32_t)size;
	o->fields |= PRED_LEN;
	if (s->m.gap.n_trees && x[24] < 2) {
		float y = xgb_gap_ref(x) + xgb_walk(&s->m.gap, x);
		double us = y > 0.0f ? exp2(y < 36.0f ? y : 36.0f) - 1.0 : 0.0;
		o->fields |= PRED_IAT;
		o->iat_ns = (uint64_t)(us * 1000.0);
	}
	return true;
}

const struct predictor_ops predictor_xgb = {
	.name = "xgb",
	.summary = "trained: gradient-boosted trees (XGBoost) over the last 4 packets, walked by our code (precraft train)",
	.flow_state_size = sizeof(struct xgb_flow),
	.create = x_create,
	.destroy = x_destroy,
	.observe = x_observe,
	.predict = x_predict,
};
