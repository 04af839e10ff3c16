/* header_impl: the header predictor's state, shared by its two files (header.c: the header
 * fields and the gaps; header_payload.c: payload anticipation).  Not a public interface. */
#ifndef PRECRAFT_MODELS_HEADER_IMPL_H
#define PRECRAFT_MODELS_HEADER_IMPL_H

#include <stdint.h>

#include "predictors.h"

enum { F_IPID, F_ACK, F_TSVAL, F_TSECR, F_FLAGS, F_WIN, F_SIZE, F_N };
#define TRUSTED 3

/* Candidate rules per field. */
enum { IPID_STEP, IPID_HOST, IPID_SEGS, IPID_N };
enum { FL_LAST, FL_RHYTHM, FL_SERVICE, FL_PERIOD, FL_N };
enum { WIN_LAST, WIN_RHYTHM, WIN_UNACKED, WIN_SERVICE, WIN_N };
enum { TS_STEP, TS_SAME, TS_CLOCK, TS_N };
enum { TE_ECHO, TE_SAME, TE_N };
enum { ACK_ALL, ACK_SAME, ACK_STEP, ACK_N };
enum { SZ_LAST, SZ_RHYTHM, SZ_N };

#define N_RHYTHM 8 /* flow states: (this direction spoke last, with data, with PSH) */

struct vote16 {
	uint16_t v;
	uint8_t n, pad;
};

struct dir_state {
	uint64_t pay_hash;         /* of the last payload */
	uint64_t pay_hash_tail;    /* of the last payload without its first two bytes (Modbus TID, DNS ID) */
	uint64_t ts_t0, ts_t;      /* times of the first and latest packets with a timestamp */
	uint32_t ts0;              /* their TSval at ts_t0 */
	float ph_lo, ph_hi;        /* the clock's phase at ts_t: how far into tick 'tsval' it was,
				      in [ph_lo, ph_hi) (ticks) */
	uint32_t next_seq;         /* seq + payload (+1 for SYN/FIN) of the last packet */
	uint32_t ack, tsval, tsecr;
	int32_t tsval_step;
	uint32_t mss;              /* the wire segment size coalescing divides by (0: not known) */
	uint16_t tid, tid_step;
	uint16_t ip_id, win, ipid_step;
	uint16_t len16;
	uint8_t flags, seen;
	uint8_t repeat_conf, modbus_conf;
	uint64_t dns_q;            /* the question of this direction's latest DNS query */
	uint16_t dns_id;
	uint8_t dns_ask;           /* its latest payload was a DNS query */
	uint8_t conf[F_N];         /* consecutive confirmations of the best rule, saturating */
	uint32_t ack_step;
	uint32_t psh_end, psh_period; /* sequence after the last PSH; bytes between the last two */
	uint8_t s_ack[ACK_N], s_sz[SZ_N];
	struct vote16 rhythm_len[N_RHYTHM];
	uint8_t s_ipid[IPID_N], s_fl[FL_N], s_win[WIN_N], s_ts[TS_N], s_te[TE_N]; /* rule scores */
	uint8_t rhythm_fl[N_RHYTHM];
	struct vote16 rhythm_win[N_RHYTHM], rhythm_wsum[N_RHYTHM];
};

struct header_state {
	struct dir_state d[2];
	uint64_t flow_t;           /* the flow's latest packet */
	uint32_t gap[4][4];        /* [from * 2 + to]: the latest gaps of each transition, µs */
	uint32_t gap_med[4];       /* their median, kept as they come: read on every prediction */
	uint8_t gap_n[4];
	uint16_t port;             /* service port: the first packet's destination port */
	uint8_t state;             /* the flow's rhythm state after its latest packet, per direction */
	uint8_t last_dir, any, n;  /* n: packets seen, saturating */
};
_Static_assert(sizeof(struct header_state) <= HEADER_FLOW_STATE_BYTES, "raise HEADER_FLOW_STATE_BYTES");

#define HOSTS 4096
#define DNS_CACHE 1024
#define DNS_ANSWER_MAX 1024 /* = PAYLOAD_LEARN_MAX: larger payloads are not learnt at all */
#define SERVICE_SLOTS 8192

/* What flows of one service did at one point of their life (position, rhythm state): the
 * rhythm learned across flows, for flows too short to learn their own. */
struct service_slot {
	uint32_t tag;
	struct vote16 win;
	uint8_t flags, pad[3];
};

/* The predictor's own memory: host-wide IP ID counters, a DNS answer cache, and where a
 * rewritten payload is put (valid until the next predict). */
struct header_self {
	struct service_slot svc[SERVICE_SLOTS];
	uint32_t host_tag[HOSTS];
	uint16_t host_id[HOSTS];
	uint64_t dns_q[DNS_CACHE];           /* question hash of the cached answer */
	uint32_t dns_len[DNS_CACHE];
	uint8_t (*dns_answer)[DNS_ANSWER_MAX]; /* DNS_CACHE of them, allocated with the predictor:
						* nothing is allocated per packet (calloc's pages
						* cost memory only once written) */
	uint8_t scratch[65536];
};

/* A run of confirmations of a rule, saturating at 15; a miss starts it again. */
static inline void confirm(uint8_t *c, int ok)
{
	*c = ok ? (uint8_t)(*c < 15 ? *c + 1 : 15) : 0;
}


/* Payload anticipation (header_payload.c): what the direction's payload taught, after each
 * packet; and the payload of its next packet, when a rule is trusted. */
void header__learn_payload(struct header_self *hs, struct dir_state *x, const struct pred_pkt *pk);
void header__predict_payload(struct header_self *hs, const struct dir_state *x, const struct dir_state *y,
			     const struct pred_pkt *last, struct pred_out *o);

#endif
