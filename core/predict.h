/* predict: the interface every predictor implements, and the trivial `last` predictor.
 *
 * A predictor watches each packet of a flow (observe) and, when asked, forecasts the next
 * packet of one direction (predict): its size, gap, header field values and sometimes its
 * payload, with a confidence in [0, 1].  The engine keeps one prediction per direction, built
 * right after a packet of that direction, so predict() is handed that packet as the template
 * ('last'); a predictor keeps only what the template cannot tell it in its per-flow state.
 *
 * Per-flow state lives in the flow table's user area: 'flow_state_size' bytes, zeroed when the
 * flow starts, no allocation per packet.  Implementations live in models/ (one per file); the
 * `last` baseline lives here so that the engine works end to end on its own. */
#ifndef PRECRAFT_PREDICT_H
#define PRECRAFT_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* A packet as predictors see it. */
struct pred_pkt {
	uint64_t t_ns;
	uint8_t dir;               /* 0 = as the flow's first packet */
	uint8_t proto;             /* IP protocol */
	uint8_t family;            /* 4 or 6 */
	uint8_t tcp_flags;
	uint8_t ttl, tos;
	uint16_t ip_id;            /* IPv4 only */
	uint32_t payload_len;      /* L4 payload length, declared */
	uint32_t seq, ack;
	uint16_t win;
	bool has_ts;
	uint32_t tsval, tsecr;
	const uint8_t *payload;    /* captured payload bytes, valid during the call */
	uint32_t payload_avail;
	uint32_t position;         /* packets of this flow before this one */
	/* Fields the crafter carries from its template (a predictor does not change them; eval
	 * scores them against the direction's previous packet). */
	uint32_t ip_flags;         /* IPv4: flags and options hash; IPv6: flow label */
	uint16_t urg;
	uint16_t sport, dport;     /* TCP/UDP ports as on the wire */
	uint32_t src_hash;         /* of the source address: host-wide state (IP ID counters) */
	uint32_t dst_hash;         /* of the destination address: filled by models/flowwalk (eval's
				      DNS measure) only, 0 from the engine, which has no use for it */
	uint32_t opt_kinds;        /* TCP option kinds in order, hashed (0 without options) */
};

/* The hash of an address ('n' = 4 or 16 bytes) that src_hash and dst_hash hold (FNV-1a). */
static inline uint32_t pred_addr_hash(const uint8_t *a, unsigned n)
{
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < n; i++)
		h = (h ^ a[i]) * 16777619u;
	return h;
}

struct pkt;
/* Fills 'pk' from a decoded packet (TCP options already walked) of direction 'dir' at 't_ns',
 * with 'position' packets of its flow before it.  The engine and eval share it, so that a
 * predictor sees the same packet in both. */
void pred_pkt_fill(struct pred_pkt *pk, const struct pkt *p, unsigned dir, uint64_t t_ns, uint32_t position);

/* Which fields a prediction sets; the others keep the template's value. */
#define PRED_LEN   (1u << 0)
#define PRED_IPID  (1u << 1)
#define PRED_SEQ   (1u << 2)
#define PRED_ACK   (1u << 3)
#define PRED_FLAGS (1u << 4)
#define PRED_WIN   (1u << 5)
#define PRED_TS    (1u << 6)
#define PRED_PAYLOAD (1u << 7)
#define PRED_IAT   (1u << 8)

struct pred_out {
	uint32_t fields;
	float confidence;          /* [0, 1]: how likely the whole prediction is to hit */
	uint64_t iat_ns;           /* gap from the flow's latest packet (either direction) to the
				      next packet of this direction */
	uint32_t payload_len;
	uint16_t ip_id;
	uint8_t tcp_flags;
	uint16_t win;
	uint32_t seq, ack, tsval, tsecr;
	const uint8_t *payload;    /* predicted payload bytes (payload_len of them), owned by the
				      predictor, valid until its next observe or destroy */
};

struct predictor_ops {
	const char *name;
	const char *summary;
	size_t flow_state_size;
	/* 'model_file' may be NULL.  Returns 0 and '*self', or a negative ERR_* with detail. */
	int (*create)(const char *model_file, void **self, struct errbuf *eb);
	void (*destroy)(void *self);
	void (*observe)(void *self, void *flow_state, const struct pred_pkt *pk);
	/* Forecasts the next packet in direction 'last->dir' from 'last', the latest packet of
	 * that direction.  Returns false when it has nothing to say. */
	bool (*predict)(void *self, const void *flow_state, const struct pred_pkt *last,
			struct pred_out *out);
};

/* The persistence baseline: the next packet of a direction repeats the last one's shape, with
 * the TCP sequence advanced by its payload and the IP ID by its last step. */
extern const struct predictor_ops predictor_last;

#endif
