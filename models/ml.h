/* ml: the trained predictor's model, its file format and its trainer.
 *
 * The model (after Bernaille et al., 2006: the sizes of a flow's first packets tell its
 * application) has two parts:
 *   - flow classes: k-means centroids over the signed log-sizes of a flow's first 4 packets
 *     (sign = direction), so an established flow is matched to a class of flows that began
 *     like it;
 *   - prior tables: for a context (the flow's class or its service, the position in the flow
 *     for the first packets, the direction and size class of the flow's latest packet, and the
 *     direction asked for), the most frequent next payload size, its share, and the median gap.
 * At run time a flow's own first-order table takes over where it has seen the context (online
 * adaptation per flow), and the prior tables are voted on as flows go by (online adaptation of
 * the model; new contexts are learned into free slots).
 *
 * The file format is documented in doc/model-format.md; ml_model_load rejects anything that is
 * not exactly a version-1 file written by ml_model_save. */
#ifndef PRECRAFT_MODELS_ML_H
#define PRECRAFT_MODELS_ML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/predict.h"

#define ML_DIMS 4                  /* first packets that make a flow's class */
#define ML_MAX_CLUSTERS 64
#define ML_DEFAULT_CLASSES 16      /* precraft train --classes */
#define ML_NO_CLUSTER 0xff
#define ML_FILE_VERSION 1

/* One context of the prior tables. */
struct ml_entry {
	uint64_t key;              /* 0: empty slot */
	uint32_t gap_us;           /* median gap from the flow's latest packet; UINT32_MAX: none */
	uint32_t count;            /* training samples */
	uint16_t size;             /* most frequent next payload size (capped at 65535) */
	uint8_t share;             /* its share of the samples, /255 */
	uint8_t votes;             /* online: Boyer-Moore votes for 'size' */
};

struct ml_model {
	uint32_t k;                                  /* clusters */
	double centroid[ML_MAX_CLUSTERS][ML_DIMS];
	struct ml_entry *slot;                       /* open addressing, 'cap' a power of two */
	uint32_t cap, used;
	uint64_t trained_packets, trained_flows;
};

/* The per-flow context both the predictor and the trainer keep. */
struct ml_ctx {
	uint64_t last_t;           /* the flow's latest packet */
	uint16_t first[ML_DIMS];   /* dir << 15 | min(size, 32767) of the first packets */
	uint16_t port;             /* service port: the first packet's destination port */
	uint8_t proto, cluster;
	uint8_t pdir, pclass;      /* the latest packet's direction and size class */
	uint8_t n;                 /* packets seen, saturating at 255 */
};

/* The context keys for the next packet of direction 'dir', the one to trust first first: by
 * service and position early in the flow (a handshake, a login exchange), by class later
 * (once the flow has one).  Returns how many keys (1 or 2); 0 before any packet. */
unsigned ml_ctx_keys(const struct ml_ctx *c, unsigned dir, uint64_t key[2]);
/* The class nearest to a flow that began with these packets. */
unsigned ml_nearest_class(const struct ml_model *m, const uint16_t first[ML_DIMS]);
unsigned ml_nearest_x(const struct ml_model *m, const double x[ML_DIMS]);
/* The class features of a flow: signed log2(1 + size) of its first packets (sign: direction). */
void ml_features(const uint16_t first[ML_DIMS], double x[ML_DIMS]);
/* Advances the context past packet 'pk' (classifying the flow after its ML_DIMS-th packet). */
void ml_ctx_update(struct ml_ctx *c, const struct ml_model *m, const struct pred_pkt *pk);

struct ml_entry *ml_model_find(const struct ml_model *m, uint64_t key);
/* Inserts 'key' (zeroed entry) when the table is under 3/4 full; NULL otherwise. */
struct ml_entry *ml_model_insert(struct ml_model *m, uint64_t key);
int ml_model_init(struct ml_model *m, uint32_t cap, struct errbuf *eb);
void ml_model_free(struct ml_model *m);
int ml_model_load(const char *path, struct ml_model *m, struct errbuf *eb);
int ml_model_save(const char *path, const struct ml_model *m, struct errbuf *eb);

/* The trainer: two passes over the same packets (flows keyed by the caller, each with a zeroed
 * 'struct ml_ctx' per pass).  Pass 1 collects the flows' first sizes and fits the classes; pass
 * 2 fills the prior tables. */
struct ml_trainer;
int ml_trainer_create(uint32_t k, uint64_t seed, struct ml_trainer **t, struct errbuf *eb);
void ml_trainer_destroy(struct ml_trainer *t);
int ml_train_packet(struct ml_trainer *t, int pass, struct ml_ctx *c, const struct pred_pkt *pk);
/* Ends pass 1 (fits the classes) or pass 2 (builds the tables into 'out'). */
int ml_train_end_pass(struct ml_trainer *t, int pass, struct ml_model *out, struct errbuf *eb);

/* The whole training: both passes over the captures 'paths[0..n-1]' (flows keyed as eval and the
 * engine key them) into '*out' (free it with ml_model_free).  Returns 0, or a negative ERR_* with
 * detail: -ERR_NOMEM, or what reading a capture failed with. */
int ml_train_files(const char *const *paths, size_t n, uint32_t k, uint64_t seed, struct ml_model *out,
		   struct errbuf *eb) WARN_UNUSED;

extern const struct predictor_ops predictor_ml;

#endif
