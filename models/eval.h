/* eval: predictors scored on captures (the scoring of `precraft eval`).
 *
 * Packets are taken in file order; flows as the engine keys them (5-tuple and VLAN, direction 0
 * the first packet's, a SYN after FIN or RST starts a new flow, no idle timeout).  After each
 * packet the model observes it and predicts the next packet of that direction; an arriving
 * packet is scored against the prediction held for its direction, or, before its direction has
 * been seen, the other direction's (REFERENCE.md's fallback).  Definitions follow REFERENCE.md:
 * size is the L4 payload length; inter-arrival time is the gap within the flow; header fields are
 * scored on established packets (position >= 4), a direction's first packet counting as wrong.
 * Differences: size is scored given the true direction only (a pre-builder keeps one prediction
 * per direction, so direction itself is not predicted); flows are keyed by 5-tuple and the
 * outermost VLAN, not the whole tag stack.
 *
 * Every figure is also given per class of flow, the class taken from the whole flow (a first
 * pass over the capture): 'short' under 16 packets; 'bulk' when one direction carries at least
 * 90 % of the payload bytes and 64 KiB; otherwise 'media' for UDP and 'reqresp' (request /
 * response) for TCP. */

#ifndef PRECRAFT_MODELS_EVAL_H
#define PRECRAFT_MODELS_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/predict.h"

/* Header fields as REFERENCE.md scores them, on established packets (position >= 4). */
enum { EVAL_FLD_TTL, EVAL_FLD_IPID, EVAL_FLD_TOS, EVAL_FLD_IPFLAGS, EVAL_FLD_TFLAGS, EVAL_FLD_WIN, EVAL_FLD_URG, EVAL_FLD_SEQ, EVAL_FLD_ACK, EVAL_FLD_OPTS,
       EVAL_FLD_TSVAL, EVAL_FLD_TSECR, EVAL_FLD_N };
extern const char *const eval_field_names[EVAL_FLD_N];
#define EVAL_EST_POSITION 4

struct eval_score {
	uint64_t scored, size_exact, size_class;
	uint64_t est, header_full, packet_full, strict_hit, template_hit;
	uint64_t tcp_est, tcp_header_full, udp_est, udp_header_full;
	uint64_t confident, confident_right;
	uint64_t fld_n[EVAL_FLD_N], fld_ok[EVAL_FLD_N];
	uint64_t pay_n, pay_predicted, pay_ok; /* packets with a payload; anticipated; right */
	uint64_t cal_n[10], cal_ok[10];
	double iat_abs_sum;
	uint64_t iat_n;
	double *rel;               /* relative IAT errors, for the median */
	size_t rel_n, rel_cap;
	double predict_ns;
	uint64_t predictions;
};

enum { EVAL_CLASS_BULK, EVAL_CLASS_REQRESP, EVAL_CLASS_MEDIA, EVAL_CLASS_SHORT, EVAL_CLASS_N };
extern const char *const eval_class_names[EVAL_CLASS_N];
#define EVAL_SHORT_PACKETS 16
#define EVAL_BULK_SHARE 0.9
#define EVAL_BULK_BYTES 65536
/* The class of a flow of 'packets' packets carrying 'bytes[d]' payload bytes in direction d,
 * of protocol 'proto': the one rule, for eval and for header compression's figures. */
unsigned eval_flow_class(uint32_t packets, const uint64_t bytes[2], uint8_t proto);

/* The flows DNS announced: when the shaper forwards an answer, the addresses it names are the
 * ones its client is about to connect to (browsers' "DNS prefetching").  A prefetcher would
 * pre-build, per announced (client, address) pair until the answer's TTL (at most an hour)
 * runs out, the egress template of a connection's first packet to the usual ports (TCP 80 and
 * 443, UDP 443): what these counters measure is how much of that would have been used. */
#define EVAL_DNS_TEMPLATES 3
#define EVAL_DNS_TTL_MAX_S 3600
struct eval_dns {
	uint64_t answers;          /* DNS responses with addresses */
	uint64_t pairs;            /* (client, address) pairs announced (a repeat while one lives
				      refreshes it) */
	uint64_t new_flows;        /* TCP/UDP flows started, DNS's own left out */
	uint64_t announced_flows;  /* of those, to an address an earlier answer announced to them */
	uint64_t first_hits;       /* of those, to a usual port: a pre-built template was there */
	uint64_t templates;        /* templates a prefetcher would build: EVAL_DNS_TEMPLATES per pair */
	uint64_t templates_used;   /* of those, used by a first packet at least once */
	uint64_t table_full;       /* announcements not followed (the table's 2^16 entries in use) */
};

/* The scores of every packet, and of the packets of each class of flow. */
struct eval_result {
	struct eval_score all, cls[EVAL_CLASS_N];
	uint64_t flows[EVAL_CLASS_N];
	struct eval_dns dns;
};

/* Scores predictor 'ops' (started from 'model_file', may be NULL) on capture 'path' into 'r'
 * (zeroed by the caller; eval_result_fini frees it).  Returns 0 or a negative ERR_* with detail. */
int eval_trace(const char *path, const struct predictor_ops *ops, const char *model_file, struct eval_result *r,
	       struct errbuf *eb) WARN_UNUSED;

/* Adds 'b' into 'a' (packet-weighted). */
void eval_merge(struct eval_score *a, const struct eval_score *b);
void eval_result_merge(struct eval_result *a, const struct eval_result *b);

/* The median relative inter-arrival-time error (sorts in place); NAN when none. */
double eval_median_rel(struct eval_score *s);

void eval_score_fini(struct eval_score *s);
void eval_result_fini(struct eval_result *r);

#endif
