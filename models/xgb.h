/* xgb: the gradient-boosted tree predictor.
 *
 * Trained offline by XGBoost (models/xgb_train.c, the one file that uses the library) on features
 * of a flow's latest packets; at run time its trees are walked by our own code (xgb_walk), so a
 * prediction costs a few dozen node visits and no library call.  Two ensembles of trees.  The
 * size is a choice among candidates the flow itself offers (a classification, one
 * tree per candidate per round, the largest summed margin wins): its own table's size for the
 * context, the direction's last size, a bare ACK's 0, the direction's size before last, its
 * latest non-zero size, the service prior's size (learnt in training, for short flows that have
 * no memory of their own yet), or none of them (then the own table's, else the last).  So what the trees learn is when to trust which
 * memory, which carries over to flows and captures they never saw.  The gap is header's median
 * for the transition where it has two gaps or more (ml's rule too); before that a regression of
 * log2(1 + gap µs), as a step from header's single gap where there is one.  Header fields come from `header`, whose state it embeds (as ml does); without a model
 * file sizes are the direction's last.  The model file's format: doc/model-format.md. */
#ifndef PRECRAFT_MODELS_XGB_H
#define PRECRAFT_MODELS_XGB_H

#include <stdint.h>

#include "common.h"
#include "core/predict.h"
#include "predictors.h"

/* The features, in this order (-1 where a packet is missing):
 *   0 the direction asked for   1 the flow's packets so far (capped at 255)   2 IP protocol
 *   3 service port (the first packet's destination port)
 *   4-7 the payload sizes of the flow's 4 latest packets, newest first   8-11 their directions
 *   12-15 log2(1 + the gap before each, µs)   16-19 their TCP flags
 *   20 the direction's own latest size
 *   21 the size the flow's own table gives for the context (latest direction and size class,
 *      direction asked) and 22 its votes (0-3)
 *   23 log2(1 + the transition's median gap, µs, from header) and 24 how many gaps it is of
 *   25 the direction's size before its last   26 the direction's latest non-zero size
 *   27 the service prior's size (what flows of the same service did next at the same point of
 *      their life: the model's table, trained and learnt online) and 28 its share (0-255) */
#define XGB_NF 29
/* The size candidates, in the order of the classes the size trees score. */
enum { XGB_C_TABLE, XGB_C_LAST, XGB_C_ACK, XGB_C_LAST2, XGB_C_DATA, XGB_C_PRIOR, XGB_C_NONE, XGB_N_CAND };
#define XGB_HIST 4
#define XGB_FILE_VERSION 1
#define XGB_MAX_TREES 1024
#define XGB_MAX_NODES (1u << 20)
#define XGB_MAX_PRIORS (1u << 20)
#define XGB_PRIOR_ROOM (1u << 15) /* priors a model can learn online beyond its file's */

/* A node: a leaf (feat < 0) holds its value; a split sends x[feat] < value to node 'yes' and the
 * rest to 'yes + 1' (children follow their parent, so a walk always ends). */
struct xgb_flow;

struct xgb_node {
	int32_t feat;
	float value;
	uint32_t yes;
};

struct xgb_ensemble {
	float base;
	uint32_t n_class;          /* 1: a regression; K: tree t scores class t % K */
	uint32_t n_trees;
	uint32_t *root;            /* each tree's first node; tree t ends where tree t + 1 starts */
	uint32_t n_nodes;
	struct xgb_node *node;
};

/* A service prior: for a key (xgb_prior_key), the size flows of that service sent next most
 * often in training, and its share of them. */
struct xgb_prior {
	uint64_t key;              /* 0: an empty slot */
	uint16_t size;
	uint8_t share;             /* × 255 */
	uint8_t pad;
};

struct xgb_model {
	struct xgb_ensemble size, gap; /* size: XGB_N_CAND classes; gap: a regression */
	struct xgb_prior *prior;   /* an open-addressed table of prior_cap slots (a power of two) */
	uint32_t n_prior, prior_cap;
	uint64_t trained_packets, trained_flows;
};

/* The service prior's key for the next packet of direction 'd' of flow 'f' (0 before the
 * flow's first packet): IP protocol, service port, the flow's packets so far (capped at 7), the
 * latest packet's direction and size class, the direction asked. */
uint64_t xgb_prior_key(const struct xgb_flow *f, unsigned d);
/* The prior for 'key' in 'm', or NULL. */
const struct xgb_prior *xgb_prior_find(const struct xgb_model *m, uint64_t key);
/* Makes room for 'n' priors in 'm' (an empty table); returns 0 or -ERR_NOMEM. */
int xgb_prior_alloc(struct xgb_model *m, uint32_t n);
/* Adds a prior to 'm' (room made by xgb_prior_alloc; a key already there is left). */
void xgb_prior_put(struct xgb_model *m, uint64_t key, uint16_t size, uint8_t share);
/* Learns online that 'size' came after 'key' (as ml's tables do: what flows of the capture at
 * hand do counts, not only what training saw): the share follows how often the prior's size
 * comes true (an EWMA, 1/8), and a prior right less than a quarter of the time takes the new
 * size.  A key not there is added while the table has room. */
void xgb_prior_learn(struct xgb_model *m, uint64_t key, uint16_t size);

/* A regression: base + the sum of the trees' leaves for features 'x'. */
float xgb_walk(const struct xgb_ensemble *e, const float x[XGB_NF]);
/* A classification: each class's margin (base + its trees' leaves) into 'margin[e->n_class]'
 * (at most XGB_N_CAND); returns the class with the largest, the first of equals. */
unsigned xgb_walk_class(const struct xgb_ensemble *e, const float x[XGB_NF], float *margin);

void xgb_model_free(struct xgb_model *m);
int xgb_model_save(const char *path, const struct xgb_model *m, struct errbuf *eb) WARN_UNUSED;
int xgb_model_load(const char *path, struct xgb_model *m, struct errbuf *eb) WARN_UNUSED;

/* The per-flow state (the features' memory), shared by the predictor and the trainer. */
struct xgb_vote {
	uint16_t size;
	uint8_t votes, pad;
};

struct xgb_flow {
	uint8_t header[HEADER_FLOW_STATE_BYTES];
	struct {
		uint16_t len;
		uint8_t dir, flags;
		float lgap;        /* log2(1 + gap µs), -1 for the flow's first packet */
	} h[XGB_HIST];             /* newest first */
	struct xgb_vote vote[2][N_SIZE_CLASSES][2]; /* [latest dir][latest class][dir asked] */
	uint64_t last_t;
	uint16_t port, last_size[2], last2_size[2], data_size[2]; /* data_size: + 1; 0: none */
	uint8_t proto, n, seen[2]; /* seen: packets of each direction, saturating at 2 */
};

/* The features for the next packet of direction 'd' of flow 'f', with the priors of 'm'. */
void xgb_features(const struct xgb_model *m, const struct xgb_flow *f, unsigned d, float x[XGB_NF]);
/* The size candidate 'c' in features 'x', or -1 where the flow has none. */
float xgb_candidate(const float x[XGB_NF], unsigned c);
/* What the gap ensemble's output is added to: header's log2 gap (0 where there is none). */
static inline float xgb_gap_ref(const float x[XGB_NF])
{
	return x[24] > 0 ? x[23] : 0.0f;
}
/* Learns packet 'pk' into 'f' (and into the embedded header state, with header predictor
 * instance 'header_self'). */
void xgb_flow_update(void *header_self, struct xgb_flow *f, const struct pred_pkt *pk);

/* Training (models/xgb_train.c). */
struct xgb_train_cfg {
	unsigned size_rounds, gap_rounds, depth;
	double eta;
};
#define XGB_TRAIN_DEFAULTS { 2, 8, 4, 0.3 }
#define XGB_MAX_ROWS 1000000u /* 116 MB of features; more captures than that are cut there */

struct xgb_train_report {
	uint64_t rows;             /* training rows (packets after their flow's first) */
	int capped;                /* the captures held more than XGB_MAX_ROWS rows */
	double size_max_diff, gap_max_diff; /* the largest difference between xgb_walk and XGBoost's
					       own prediction over the training rows */
};

/* Trains on the captures 'paths[0..n-1]' into '*out' (free with xgb_model_free).  Returns 0,
 * -ERR_UNSUPPORTED when precraft was built without XGBoost, or another negative ERR_* with
 * detail.  Deterministic: XGBoost's exact method on one thread. */
int xgb_train_files(const char *const *paths, size_t n, const struct xgb_train_cfg *cfg, struct xgb_model *out,
		    struct xgb_train_report *rep, struct errbuf *eb) WARN_UNUSED;

/* The same from packets in memory: flows one after another, each starting at position 0. */
int xgb_train_packets(const struct pred_pkt *pk, size_t n, const struct xgb_train_cfg *cfg, struct xgb_model *out,
		      struct xgb_train_report *rep, struct errbuf *eb) WARN_UNUSED;

extern const struct predictor_ops predictor_xgb;

#endif
