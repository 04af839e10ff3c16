/* xgb_train: the xgb predictor's training, the one file that uses XGBoost (its C API).
 *
 * One pass over the captures collects a row per packet after its flow's first: the features the
 * predictor would have had for that packet's direction just before it (xgb_features on the
 * flow's state then), and what came: its size class, and log2(1 + its gap in µs) where the gap
 * is valid (REFERENCE.md: at most 60 s; other rows weigh 0 for the gap), each as the correction
 * to its reference (xgb.h).  The service priors are learnt along the way exactly as the predictor
 * learns them online (xgb_prior_learn), from an empty table: so the trees learn how far to trust
 * a prior as it stands at run time, on a capture whose services training never saw.  (Counting
 * them first over the whole training set, and starting from those, did worse across captures:
 * 0.675 against 0.691 size exact, leave-one-capture-out on the development captures.)  The
 * table learnt is saved with the model, the predictor's starting point.  Two boosters of
 * regression trees are fitted (squared error, XGBoost's exact method, one thread: the same
 * captures give the same model), dumped as text and read into our own node arrays; then every
 * training row is predicted both by XGBoost and by xgb_walk, and the largest difference is
 * reported, so an export that walked differently would show. */
#include "xgb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowwalk.h"

#ifdef HAVE_XGBOOST
#include <xgboost/c_api.h>
#endif

struct rows {
	struct xgb_model *m;       /* the priors, learnt as the rows come */
	float *x, *y_size, *y_gap, *w_gap;
	uint64_t n, cap;
	int capped;
	uint64_t flows;
	void *header;
};

static int grow(struct rows *r)
{
	uint64_t cap = r->cap ? r->cap * 2 : 65536;
	if (cap > XGB_MAX_ROWS)
		cap = XGB_MAX_ROWS;
	float *x = realloc(r->x, (size_t)cap * XGB_NF * sizeof *x);
	if (x)
		r->x = x;
	float *a = x ? realloc(r->y_size, (size_t)cap * sizeof *a) : NULL;
	if (a)
		r->y_size = a;
	float *b = a ? realloc(r->y_gap, (size_t)cap * sizeof *b) : NULL;
	if (b)
		r->y_gap = b;
	float *c = b ? realloc(r->w_gap, (size_t)cap * sizeof *c) : NULL;
	if (!c)
		return -ERR_NOMEM;
	r->w_gap = c;
	r->cap = cap;
	return 0;
}

static int row_packet(void *arg, void *user, const struct pred_pkt *pk)
{
	struct rows *r = arg;
	struct xgb_flow *f = user;
	uint32_t len = pk->payload_len > 0xfffe ? 0xfffe : pk->payload_len;
	if (pk->position == 0)
		r->flows++;
	if (f->n && !r->capped) {
		if (r->n == r->cap && (r->cap == XGB_MAX_ROWS || grow(r))) {
			if (r->cap < XGB_MAX_ROWS)
				return -ERR_NOMEM;
			r->capped = 1;
		}
		if (!r->capped) {
			unsigned d = pk->dir & 1;
			float *x = &r->x[r->n * XGB_NF];
			xgb_features(r->m, f, d, x);
			/* The labels (xgb.h): the first candidate that is right, and the gap's step. */
			unsigned c = 0;
			while (c < XGB_C_NONE && xgb_candidate(x, c) != (float)len)
				c++;
			r->y_size[r->n] = (float)c;
			int gap_ok = pk->t_ns >= f->last_t && pk->t_ns - f->last_t <= IAT_MAX_NS;
			r->y_gap[r->n] = gap_ok ? (float)log2(1.0 + (double)(pk->t_ns - f->last_t) / 1000.0) - xgb_gap_ref(x)
						: 0.0f;
			/* Where header has two gaps of the transition or more, its median is the forecast
			 * (xgb.h): the trees learn the rest. */
			r->w_gap[r->n] = gap_ok && x[24] < 2 ? 1.0f : 0.0f;
			r->n++;
		}
	}
	/* What the predictor learns online after each packet, the training learns too. */
	if (f->n)
		xgb_prior_learn(r->m, xgb_prior_key(f, pk->dir & 1), (uint16_t)len);
	xgb_flow_update(r->header, f, pk);
	return 0;
}

#ifdef HAVE_XGBOOST

/* Reads one tree of XGBoost's text dump ("ID:[fF<T] yes=A,no=B,missing=C" and "ID:leaf=V", one
 * node per line) into 'node' from index 'first', children laid out after their parent (yes, then
 * no beside it).  Returns the number of nodes, or 0 for a dump it does not understand. */
static uint32_t read_tree(const char *dump, struct xgb_node *node, uint32_t first, uint32_t room)
{
	enum { MAXN = 4096 };
	static struct {
		int feat;
		float value;
		unsigned yes, no;
		int seen;
	} raw[MAXN];
	memset(raw, 0, sizeof raw);
	for (const char *l = dump; *l;) {
		while (*l == '\t' || *l == '\n' || *l == ' ')
			l++;
		if (!*l)
			break;
		char *end;
		unsigned long id = strtoul(l, &end, 10);
		if (end == l || *end != ':' || id >= MAXN)
			return 0;
		l = end + 1;
		unsigned f, yes, no, miss;
		float v;
		int k;
		if (sscanf(l, "leaf=%g%n", &v, &k) == 1) {
			raw[id].feat = -1;
			raw[id].value = v;
		} else if (sscanf(l, "[f%u<%g] yes=%u,no=%u,missing=%u%n", &f, &v, &yes, &no, &miss, &k) == 5 &&
			   f < XGB_NF && yes < MAXN && no < MAXN) {
			raw[id].feat = (int)f;
			raw[id].value = v;
			raw[id].yes = yes;
			raw[id].no = no;
		} else {
			return 0;
		}
		raw[id].seen = 1;
		l += k;
		while (*l && *l != '\n')
			l++;
	}
	/* Breadth first: out[i] is raw node src[i]. */
	static unsigned src[MAXN];
	uint32_t n = 1;
	src[0] = 0;
	if (!raw[0].seen)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		unsigned r = src[i];
		if (i >= room)
			return 0;
		node[first + i].feat = raw[r].feat;
		node[first + i].value = raw[r].value;
		node[first + i].yes = 0;
		if (raw[r].feat < 0)
			continue;
		if (n + 2 > MAXN || !raw[raw[r].yes].seen || !raw[raw[r].no].seen)
			return 0;
		node[first + i].yes = first + n;
		src[n++] = raw[r].yes;
		src[n++] = raw[r].no;
	}
	return n;
}

static int xgb_fail(struct errbuf *eb, const char *what)
{
	return err_set(eb, -ERR_IO, "xgb training: %s: %s", what, XGBGetLastError());
}

/* Fits one ensemble on labels 'y' (weights 'w', or NULL): a regression for 'classes' == 1, else
 * a classification into 'classes' classes (labels 0..classes-1).  Reads it into 'e'; '*max_diff'
 * is the largest difference between XGBoost's prediction (margins, for classes) and our walk's
 * over the rows. */
static int fit(const struct rows *r, const float *y, const float *w, unsigned classes, unsigned rounds,
	       const struct xgb_train_cfg *cfg, struct xgb_ensemble *e, double *max_diff, struct errbuf *eb)
{
	DMatrixHandle dm = NULL;
	BoosterHandle b = NULL;
	int rc = 0;
	/* The base score: the labels' (weighted) mean, so the trees fit what is left. */
	double sum = 0, wsum = 0;
	for (uint64_t i = 0; i < r->n; i++) {
		double wi = w ? w[i] : 1.0;
		sum += wi * y[i];
		wsum += wi;
	}
	char base[32], depth[16], eta[32], ncls[16];
	snprintf(base, sizeof base, "%.9g", classes > 1 ? 0.5 : wsum > 0 ? sum / wsum : 0.0);
	snprintf(ncls, sizeof ncls, "%u", classes);
	snprintf(depth, sizeof depth, "%u", cfg->depth);
	snprintf(eta, sizeof eta, "%.9g", cfg->eta);
	if (XGDMatrixCreateFromMat(r->x, r->n, XGB_NF, NAN, &dm) || XGDMatrixSetFloatInfo(dm, "label", y, r->n) ||
	    (w && XGDMatrixSetFloatInfo(dm, "weight", w, r->n)))
		return xgb_fail(eb, "cannot build the training matrix");
	const char *params[][2] = {
		{ "objective", classes > 1 ? "multi:softmax" : "reg:squarederror" },
		{ "num_class", classes > 1 ? ncls : "1" },
		{ "tree_method", "exact" }, { "nthread", "1" },    { "seed", "0" },
		{ "verbosity", "0" },       { "max_depth", depth }, { "eta", eta }, { "base_score", base },
	};
	size_t n_params = sizeof params / sizeof params[0];
	if (XGBoosterCreate(&dm, 1, &b)) {
		rc = xgb_fail(eb, "cannot create a booster");
		goto out;
	}
	for (size_t i = 0; i < n_params; i++)
		if ((classes > 1 || strcmp(params[i][0], "num_class") != 0) && XGBoosterSetParam(b, params[i][0], params[i][1])) {
			rc = xgb_fail(eb, "a parameter was refused");
			goto out;
		}
	for (unsigned it = 0; it < rounds; it++)
		if (XGBoosterUpdateOneIter(b, (int)it, dm)) {
			rc = xgb_fail(eb, "a boosting round failed");
			goto out;
		}
	bst_ulong n_dump;
	const char **dump;
	if (XGBoosterDumpModelEx(b, "", 0, "text", &n_dump, &dump)) {
		rc = xgb_fail(eb, "cannot dump the trees");
		goto out;
	}
	e->base = (float)strtod(base, NULL);
	e->n_class = classes;
	e->n_trees = (uint32_t)n_dump;
	uint32_t room = (uint32_t)n_dump << (cfg->depth + 1);
	e->root = malloc((n_dump + 1) * sizeof *e->root);
	e->node = malloc(((size_t)room + 1) * sizeof *e->node);
	if (!e->root || !e->node) {
		rc = err_set(eb, -ERR_NOMEM, "xgb training: out of memory");
		goto out;
	}
	uint32_t used = 0;
	for (bst_ulong t = 0; t < n_dump; t++) {
		uint32_t k = read_tree(dump[t], e->node, used, room - used);
		if (!k) {
			rc = err_set(eb, -ERR_FORMAT, "xgb training: XGBoost's dump of tree %llu was not understood",
				     (unsigned long long)t);
			goto out;
		}
		e->root[t] = used;
		used += k;
	}
	e->n_nodes = used;
	bst_ulong n_pred;
	const float *pred;
	/* Option 1: the raw margins, what the walk sums (before softmax, for classes). */
	if (XGBoosterPredict(b, dm, 1, 0, 0, &n_pred, &pred) || n_pred != r->n * classes) {
		rc = xgb_fail(eb, "cannot predict the training rows");
		goto out;
	}
	*max_diff = 0;
	for (uint64_t i = 0; i < r->n; i++) {
		float margin[XGB_N_CAND] = { 0 };
		if (classes > 1)
			xgb_walk_class(e, &r->x[i * XGB_NF], margin);
		else
			margin[0] = xgb_walk(e, &r->x[i * XGB_NF]);
		for (unsigned c = 0; c < classes; c++) {
			double d = fabs((double)margin[c] - (double)pred[i * classes + c]);
			if (d > *max_diff)
				*max_diff = d;
		}
	}
out:
	if (b)
		XGBoosterFree(b);
	XGDMatrixFree(dm);
	return rc;
}

#endif

/* Fits both ensembles on the collected rows into 'out'. */
static int train_rows(struct rows *r, const struct xgb_train_cfg *cfg, struct xgb_model *out,
		      struct xgb_train_report *rep, struct errbuf *eb)
{
#ifndef HAVE_XGBOOST
	(void)r, (void)cfg, (void)out, (void)rep, (void)eb;
	return -ERR_UNSUPPORTED; /* train() said so already */
#else
	if (r->n == 0)
		return err_set(eb, -ERR_INVAL, "xgb training: the captures hold no flow of two packets or more");
	out->trained_packets = r->n;
	out->trained_flows = r->flows;
	rep->rows = r->n;
	rep->capped = r->capped;
	int rc = fit(r, r->y_size, NULL, XGB_N_CAND, cfg->size_rounds, cfg, &out->size, &rep->size_max_diff, eb);
	if (!rc)
		rc = fit(r, r->y_gap, r->w_gap, 1, cfg->gap_rounds, cfg, &out->gap, &rep->gap_max_diff, eb);
	return rc;
#endif
}

static void rows_free(struct rows *r)
{
	if (r->header)
		predictor_header.destroy(r->header);
	free(r->x);
	free(r->y_size);
	free(r->y_gap);
	free(r->w_gap);
}

/* The pass over the captures 'paths' (or, with 'pk', over those packets), then the fit. */
static int train(const char *const *paths, size_t n, const struct pred_pkt *pk, size_t npk,
		 const struct xgb_train_cfg *cfg, struct xgb_model *out, struct xgb_train_report *rep, struct errbuf *eb)
{
	memset(out, 0, sizeof *out);
	memset(rep, 0, sizeof *rep);
#ifndef HAVE_XGBOOST
	(void)paths, (void)n, (void)pk, (void)npk, (void)cfg;
	return err_set(eb, -ERR_UNSUPPORTED,
		       "xgb: this precraft was built without XGBoost; install libxgboost-dev ('make deps') and rebuild");
#endif
	struct rows r = { .m = out };
	struct xgb_flow *f = calloc(1, sizeof *f);
	int rc = f && xgb_prior_alloc(out, 0) == 0 ? 0 : -ERR_NOMEM;
	if (!rc)
		rc = predictor_header.create(NULL, &r.header, eb);
	for (size_t i = 0; i < n && !rc; i++)
		if ((rc = flowwalk(paths[i], sizeof(struct xgb_flow), row_packet, &r, eb)) != 0 && (!eb || !eb->msg[0]))
			err_set(eb, rc, "%s: training ran out of memory", paths[i]);
	for (size_t i = 0; i < npk && !rc; i++) {
		if (pk[i].position == 0)
			memset(f, 0, sizeof *f);
		rc = row_packet(&r, f, &pk[i]);
	}
	if (rc == -ERR_NOMEM && (!eb || !eb->msg[0]))
		err_set(eb, rc, "xgb training: out of memory");
	if (!rc)
		rc = train_rows(&r, cfg, out, rep, eb);
	free(f);
	rows_free(&r);
	if (rc)
		xgb_model_free(out);
	return rc;
}

int xgb_train_files(const char *const *paths, size_t n, const struct xgb_train_cfg *cfg, struct xgb_model *out,
		    struct xgb_train_report *rep, struct errbuf *eb)
{
	return train(paths, n, NULL, 0, cfg, out, rep, eb);
}

int xgb_train_packets(const struct pred_pkt *pk, size_t n, const struct xgb_train_cfg *cfg, struct xgb_model *out,
		      struct xgb_train_report *rep, struct errbuf *eb)
{
	return train(NULL, 0, pk, n, cfg, out, rep, eb);
}
