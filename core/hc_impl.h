/* hc_impl: what the compressor and decompressor share inside core/ (not part of hc.h's contract).
 *
 * hc.c: creation, hello, counters; hc_comp.c: the predictive compressor; hc_dec.c: its
 * decompressor; hc_ctx.c: contexts, the prediction both ends make, the rebuild and the CRC
 * (one function each, called by both ends, so that what the compressor checks is what the
 * decompressor does); hc_vj.c: RFC 1144. */
#ifndef PRECRAFT_HC_IMPL_H
#define PRECRAFT_HC_IMPL_H

#include <string.h>

#include "flow.h"
#include "hc.h"
#include "pkt.h"
#include "predict.h"

#define HC_RAW 0x00
#define HC_IR 0x01
#define HC_IR2 0x02
#define HC_HELLO 0x03
#define HC_NACK 0x04
#define HC_REFRESH_IDLE_NS 1000000000ull

/* Mask bits, in the order of the corrections. */
enum {
	HC_F_IPID = 1u << 0, HC_F_SEQ = 1u << 1, HC_F_ACK = 1u << 2, HC_F_WIN = 1u << 3,
	HC_F_FLAGS = 1u << 4, HC_F_TSVAL = 1u << 5, HC_F_TSECR = 1u << 6,
	HC_F_TOS = 1u << 7, HC_F_TTL = 1u << 8, HC_F_URG = 1u << 9, HC_F_OPTS = 1u << 10,
	HC_F_TRAILER = 1u << 11, HC_F_IPCSUM = 1u << 12,
	HC_F_OPTWORDS = 1u << 13,  /* the options' 4-byte words that changed, by a bitmap */
	HC_F_ALL = (1u << 14) - 1,
};
#define HC_OPT_WORDS 10            /* 40 bytes of TCP options */

/* A packet's header fields as a compressed packet carries them. */
struct hc_fields {
	uint16_t ipid, win, urg, l4csum, ipcsum;
	uint32_t seq, ack, tsval, tsecr;
	uint8_t flags, tos, ttl;
	bool ipcsum_known;         /* compressor: ipcsum is the header's own (no need to compute it) */
	uint32_t mask;
	const uint8_t *opts, *trailer;
	uint32_t opts_len, trailer_len, payload_len;
	uint32_t words_map;        /* HC_F_OPTWORDS: option word k (bit k) moves by the next of
				      'words' (32-bit differences, big-endian, modulo 2^32) */
	const uint8_t *words;
	uint8_t words_buf[4 * HC_OPT_WORDS]; /* their room */
};

/* One direction of a flow. */
struct hc_dir {
	uint8_t hdr[HC_HDR_MAX];   /* the last packet's link, IP and transport headers */
	uint16_t hlen, l3_off, l4_off;
	uint8_t l4;                /* PKT_L4_TCP or PKT_L4_UDP */
	uint8_t v4;
	uint8_t ts_at;             /* offset of TSval from l4_off, 0 without a timestamp option */
	uint8_t valid;             /* decompressor: usable */
	uint8_t no_pad;            /* its last short frame had no padding (a capture at the sender) */
	uint8_t ipcsum_bad;        /* its IPv4 checksum was not the header's (offload): the next
				      packet's is predicted to be the same value */
	uint8_t flags_by_len[2];   /* TCP flags of its last packet without payload, and with */
	uint8_t flags_seen;        /* bit per entry of flags_by_len */
	int8_t flags_vote;         /* > 0: flags_by_len has been right where the predictor was not,
				      more often than the other way (both ends keep it alike) */
	struct pred_pkt last;      /* the predictor's view of it (payload NULL) */
	struct hc_fields pred;     /* the next packet as predicted, made after the flow's latest */
};

/* A flow: its two directions, then the predictor's state (flow_state_size bytes). */
struct hc_flow {
	struct hc_dir d[2];
	uint64_t last_ns;
	uint32_t position;         /* packets since the predictor state was reset */
	uint32_t since_refresh;
	uint8_t msn;               /* the next packet's sequence number */
	uint8_t pending;           /* compressor: bit per direction that must be refreshed; 4: the
				      decompressor asked for a refresh (feedback) */
	uint8_t synced;            /* decompressor: in step since the last reset (no drop since) */
	uint8_t known;             /* bit per direction that has had a context in the flow's life */
	uint8_t pad_[4];
	struct hc_flow_acct acct;  /* compressor: its figures */
};

struct vj_state;

struct hc {
	struct hc_cfg cfg;
	bool dec;
	size_t flow_size;          /* sizeof(struct hc_flow) + the predictor's state, 8-aligned */
	struct flow_table *ft;     /* compressor: flows by key; the cid is 2 x index + direction */
	uint8_t *flows;            /* decompressor: flows by index */
	struct vj_state *vj;
	uint32_t nack;             /* decompressor: 1 + the context id the last frame put out of step */
	struct hc_stats st;
};

/* The flow at index 'i' of a decompressor, and a flow's predictor state. */
struct hc_flow *hc__dec_flow(struct hc *h, uint32_t i);
static inline void *hc__pstate(struct hc_flow *f)
{
	return f + 1;
}

/* A flow made anew at a reset IR, the same way at both ends: its contexts, its predictor state,
 * what the two ends learnt of it, all cleared; its sequence number, the compressor's figures and
 * bookkeeping (the refreshes owed, the directions it has known) kept. */
void hc__flow_restart(struct hc *h, struct hc_flow *f);

/* The prediction for the next packet of 'c': 'f' filled with the predicted values (mask 0).
 * hc__learn makes it for both directions after every packet (c->pred). */
void hc__predict(const struct hc *h, struct hc_flow *fl, const struct hc_dir *c, struct hc_fields *f);

/* Writes the header 'f' makes from context 'c' into 'out' (HC_HDR_MAX + 40 bytes); returns its
 * length.  The trailer is not part of it. */
uint32_t hc__rebuild(const struct hc_dir *c, const struct hc_fields *f, uint8_t *out);

/* Takes the decoded frame 'p' (its header 'hdr_len' bytes) as direction 'c''s last packet, lets
 * the predictor observe it, and makes the predictions of the flow's directions ahead.
 * 'ip_ok': p's IPv4 header checksum is right (hc__ip4_csum_ok), as the caller found. */
void hc__learn(struct hc *h, struct hc_flow *fl, struct hc_dir *c, const struct pkt *p, uint32_t hdr_len,
	       unsigned dir, uint64_t t_ns, bool ip_ok);

/* The clock, when the benchmark gave one. */
static inline uint64_t hc__now(const struct hc *h)
{
	return h->cfg.now_ns ? h->cfg.now_ns(h->cfg.now_arg) : 0;
}

/* Decodes an Ethernet frame for a context: 0 when it can be one (IPv4/IPv6, TCP/UDP, no
 * fragment, whole, header within HC_HDR_MAX); its header length in '*hlen'. */
int hc__parse(const uint8_t *frame, uint32_t caplen, uint32_t wirelen, struct pkt *p, uint32_t *hlen);

/* True when an IPv4 packet's header checksum is its header's. */
bool hc__ip4_csum_ok(const struct pkt *p);

uint8_t hc__crc8(const uint8_t *b, uint32_t n);
/* Its tables (hc_crc_tables.h): row k, a byte followed by k zero bytes. */
extern const uint8_t (*const hc__crc_tables)[256];

/* The TCP flags a packet of 'payload_len' bytes of payload may be predicted to have: those of
 * the direction's last packet with (or without) payload, which both ends know once the frame's
 * length is; the predictor's 'predicted' until there was one. */
static inline uint8_t hc__flags_by_len(const struct hc_dir *c, uint32_t payload_len, uint8_t predicted)
{
	unsigned k = payload_len > 0;
	return (c->flags_seen >> k & 1) ? c->flags_by_len[k] : predicted;
}
/* Of the two, the one that has done better in this direction. */
static inline uint8_t hc__flags_for(const struct hc_dir *c, uint32_t payload_len, uint8_t predicted)
{
	return c->flags_vote > 0 ? hc__flags_by_len(c, payload_len, predicted) : predicted;
}

/* Ethernet padding the rebuild implies: zeros up to a 60-byte frame. */
static inline uint32_t hc__pad(uint32_t frame_len)
{
	return frame_len < 60 ? 60 - frame_len : 0;
}
/* The same, as direction 'c' pads (or not, when its last short frame had none). */
static inline uint32_t hc__dir_pad(const struct hc_dir *c, uint32_t frame_len)
{
	return c->no_pad ? 0 : hc__pad(frame_len);
}

/* memcpy for spans that may be empty with no pointer behind them (a packet without payload,
 * options or trailer): memcpy's arguments must not be null even for 0 bytes. */
static inline void hc__copy(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	if (n)
		memcpy(dst, src, n);
}

/* Varints: LEB128, zigzag for signed differences. */
static inline uint8_t *hc__put_var(uint8_t *o, uint32_t v)
{
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}
/* Reads a varint from [*p, end); false when it runs past the end or past 32 bits. */
static inline bool hc__get_var(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	uint32_t r = 0;
	for (unsigned s = 0; s < 35; s += 7) {
		if (*p >= end)
			return false;
		uint8_t b = *(*p)++;
		if (s == 28 && (b & 0xf0))
			return false;
		r |= (uint32_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}
static inline uint32_t hc__zz(int32_t d)
{
	return ((uint32_t)d << 1) ^ (uint32_t)(d >> 31);
}
static inline int32_t hc__unzz(uint32_t z)
{
	return (int32_t)(z >> 1) ^ -(int32_t)(z & 1);
}

/* vj (hc_vj.c) */
int hc__vj_create(struct hc *h, struct errbuf *eb);
void hc__vj_destroy(struct hc *h);
void hc__vj_lost(struct hc *h);
uint32_t hc__vj_compress(struct hc *h, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, uint8_t *out);
uint32_t hc__vj_decompress(struct hc *h, const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap);

/* The predictive compressor and decompressor (hc_comp.c, hc_dec.c). */
uint32_t hc__compress(struct hc *h, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, uint64_t t_ns,
		      uint8_t *out, struct hc_tail *tail);
uint32_t hc__decompress(struct hc *h, const uint8_t *in, uint32_t len, uint64_t t_ns, uint8_t *out,
			uint32_t cap);

/* Accounting a frame sent: 'hdr_in' header bytes it had, 'hdr_out' that carry them. */
static inline void hc__account(struct hc *h, uint32_t caplen, uint32_t out_len, uint32_t hdr_in, uint32_t hdr_out)
{
	h->st.hc_packets++;
	h->st.link_bytes_in += caplen;
	h->st.link_bytes_out += out_len;
	h->st.header_bytes_in += hdr_in;
	h->st.header_bytes_out += hdr_out;
}

#endif
