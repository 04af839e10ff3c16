/* hc: header compression on a narrow link between two cooperating nodes, the predictor as the
 * compressor.
 *
 * Both ends keep, per flow, one context per direction (the last header image and the
 * predictor's view of the last packet) and one predictor state for the flow, updated only from
 * the packets both ends have: the compressor from what it sends, the decompressor from what it
 * rebuilds.  A compressed packet carries what the shared prediction got wrong; the decompressor
 * predicts the same, applies the corrections, and checks a CRC over the header it rebuilt before
 * it delivers anything.  `vj` is Van Jacobson's TCP/IPv4 compression (RFC 1144) on the same
 * link, as the classic anchor.
 *
 * The link's frames (pcap link type HC_LINKTYPE, LINKTYPE_USER0): the stream's first frame is a
 * hello naming the compressor, then one frame per egress frame, first byte:
 *   0x00  raw: the frame follows unchanged (non-IP, not TCP/UDP, fragments, truncated captures,
 *         headers longer than HC_HDR_MAX): every packet is accounted, at one byte
 *   0x01  IR: cid (varint), flow sequence number (1 byte), the frame whole; resets the flow's
 *         predictor state at both ends, and the other direction must be refreshed too
 *   0x02  IR of the other direction after a 0x01 (the state is not reset)
 *   0x03  hello (first frame only): "precraft-hc 1 NAME CONTEXTS REFRESH MODELHASH timed|untimed"
 *   1Mmmmccc  compressed (predictors): M = a mask follows, mmm = the flow's sequence number mod
 *         8, ccc = cid 0..6 or 7 = a varint cid follows; then the mask (LEB128: ip id, seq, ack,
 *         window, flags, tsval, tsecr | tos, ttl, urgent, options, trailer, IP checksum, option
 *         words), each wrong field's correction (zigzag varint of the difference from the
 *         prediction; flags, tos, ttl, urgent and the IP checksum literal; options and trailer
 *         as length and bytes; option words as a bitmap of the 4-byte words that changed and
 *         each one's difference, a zigzag varint), the CRC-8 of the rebuilt header, the
 *         transport checksum as sent (2 bytes; none for a UDP flow whose checksum is 0), the
 *         payload
 *   1CIPSAWU  compressed (vj): RFC 1144's change mask and fields after it
 * The IP lengths are those of the frame; Ethernet padding to 60 bytes is implied.
 *
 * Both ends make the prediction for a direction's next packet ahead, after the flow's latest
 * packet (as pre-crafting builds a packet ahead): on a packet's path there remain the compare and
 * the encoding (compressor), the corrections and the CRC (decompressor).
 *
 * Nothing wrong is delivered: a header whose CRC fails is dropped and counted, and so is every
 * packet of a flow after a gap in its sequence numbers, until the compressor's next refresh
 * (every 'refresh' packets of a flow, or after a second of silence: there is no feedback).  The
 * CRC is CRC-8 (polynomial x^8+x^2+x+1, as ROHC's): it detects every error of an odd number of
 * bits and every burst of 8 bits or fewer; any other error passes with probability 2^-8, and
 * only after the sequence number check has passed (a lost frame of the flow changes it unless 8k
 * of them are lost in a row). */
#ifndef PRECRAFT_HC_H
#define PRECRAFT_HC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct predictor_ops;

#define HC_LINKTYPE 147            /* LINKTYPE_USER0 */
#define HC_ETHERTYPE 0x88b5        /* the link's frames inside Ethernet on a real wire (the lab):
				      IEEE 802's local experimental type */
#define HC_HDR_MAX 192             /* longest header kept in a context (link + IP + transport) */
#define HC_OVERHEAD_MAX 8          /* a compressed frame is at most this much longer than its frame */
#define HC_CONTEXTS_DEFAULT 16384  /* flows (two contexts each) */
#define HC_REFRESH_DEFAULT 64      /* packets of a flow between refreshes */
#define HC_NAME_MAX 16

#define HC_COUNTERS(X)                                                         \
	X(hc_packets)              /* frames in */                             \
	X(hc_raw)                  /* sent with the one-byte marker */         \
	X(hc_ir)                   /* sent whole with a context */             \
	X(hc_co)                   /* sent compressed */                       \
	X(context_refreshes)       /* IRs after a flow's first packet */       \
	X(header_bytes_in)         /* IP and transport headers */              \
	X(header_bytes_out)        /* what carries them on the link */         \
	X(header_bytes_co)         /* of it, the compressed frames' */          \
	X(link_bytes_in)           /* whole frames */                          \
	X(link_bytes_out)                                                      \
	X(hc_delivered)            /* decompressor: rebuilt and passed on */   \
	X(crc_failures)            /* rebuilt header failed its CRC: dropped */ \
	X(hc_dropped_gap)          /* a gap in a flow's sequence numbers */    \
	X(hc_dropped_no_context)   /* a flow waiting for its refresh */        \
	X(hc_dropped_malformed)    /* not a frame of this link */               \
	X(hc_feedback_refreshes)   /* refreshes the decompressor asked for */

struct hc_stats {
#define HC__FIELD(name) uint64_t name;
	HC_COUNTERS(HC__FIELD)
#undef HC__FIELD
	/* With a clock (hc_cfg.now_ns): time on each packet's path (arrival to its frame out), and
	 * after it (learning the packet, the prediction for the flow's next packets made ahead). */
	uint64_t path_ns, after_ns;
};

/* Calls 'fn' with every counter's name and value, then compress_ratio (header bytes out / in). */
void hc_stats_each(const struct hc_stats *s, void (*fn)(void *arg, const char *name, double value), void *arg);

/* A flow's figures, when the compressor lets it go (evicted, or hc_finish). */
struct hc_flow_acct {
	uint8_t proto;
	uint32_t packets;
	uint64_t payload[2];       /* L4 payload bytes by direction (0: the first packet's) */
	uint64_t header_in, header_out;
};

struct hc_cfg {
	char name[HC_NAME_MAX];    /* "vj", or the predictor's name */
	const struct predictor_ops *ops; /* NULL for vj */
	void *pred;                /* the predictor instance, owned by the caller */
	uint32_t contexts;         /* flows; vj: at most 256 connections */
	uint32_t refresh;          /* packets of a flow between refreshes, 0 = never by count */
	uint64_t model_hash;       /* of the predictor's model file, 0 without one */
	bool untimed;              /* the predictors see no time (a real link: the two ends' clocks
				      differ); else both ends are handed the sender's time */
	uint64_t (*now_ns)(void *arg); /* NULL: no timing (the benchmark sets it) */
	void *now_arg;
	/* compressor: each flow's figures as it leaves (NULL: none), for figures by class of flow */
	void (*flow_done)(void *arg, const struct hc_flow_acct *a);
	void *flow_done_arg;
};

struct hc;

/* A compressor (decompress = false) or a decompressor.  Returns 0 and '*out', or a negative
 * ERR_* with detail. */
int hc_create(const struct hc_cfg *cfg, bool decompress, struct hc **out, struct errbuf *eb) WARN_UNUSED;
void hc_destroy(struct hc *h);

/* The stream's first frame, naming the compressor: its length (at most HC_HELLO_MAX). */
#define HC_HELLO_MAX 96
uint32_t hc_hello(const struct hc *h, uint8_t *out);
/* Reads a hello into 'cfg' (name, contexts, refresh, model hash; no predictor).  Returns 0 or
 * -ERR_FORMAT with detail. */
int hc_hello_parse(const uint8_t *b, uint32_t len, struct hc_cfg *cfg, struct errbuf *eb);

/* Compresses one Ethernet frame of 'caplen' captured bytes ('wirelen' on the wire) seen at
 * 't_ns' into 'out', which holds caplen + HC_OVERHEAD_MAX bytes.  Returns its length. */
uint32_t hc_compress(struct hc *h, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, uint64_t t_ns,
		     uint8_t *out);

/* The same in two pieces, for a sender that writes a frame from pieces (the payload is not
 * copied): the returned number of bytes of 'out', then the 'len' bytes of 'frame' from 'off'. */
struct hc_tail {
	uint32_t off, len;
};
uint32_t hc_compress_split(struct hc *h, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, uint64_t t_ns,
			   uint8_t *out, struct hc_tail *tail);

/* Rebuilds the frame of one link frame of 'len' bytes, 't_ns' the time the compressor saw it,
 * into 'out' ('cap' bytes: len + HC_HDR_MAX + 64 is always enough).  Returns the frame's length,
 * or 0 when the frame is dropped (counted by reason). */
uint32_t hc_decompress(struct hc *h, const uint8_t *in, uint32_t len, uint64_t t_ns, uint8_t *out, uint32_t cap);

/* The link lost or damaged a frame (its error signal).  vj needs it (RFC 1144 §4.1); the
 * predictive decompressors find gaps from the flows' sequence numbers and ignore it. */
void hc_lost(struct hc *h);

/* Feedback, where the link has a way back (the simulator): after hc_decompress, the frame the
 * decompressor sends back when that frame put a flow out of step (0x04, the context id as a
 * varint): its length, 0 when there is none.  The compressor, handed it by
 * hc_take_feedback, refreshes that flow with its next packet instead of waiting for the count
 * or the silence.  Feedback is optional: the link works without it. */
#define HC_FEEDBACK_MAX 8
uint32_t hc_feedback(const struct hc *h, uint8_t *out);
void hc_take_feedback(struct hc *h, const uint8_t *fb, uint32_t len);

const struct hc_stats *hc_get_stats(const struct hc *h);

/* Compressor: hands every flow still kept to cfg.flow_done (the end of a run). */
void hc_finish(struct hc *h);

#endif
