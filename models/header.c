/* header: field-by-field header prediction in the style of ROHC (RFC 5795, RFC 6846) and Van
 * Jacobson's TCP header prediction.
 *
 * Each field of each direction is learned as a behaviour and trusted only after it has been
 * confirmed three times in a row (ROHC's optimistic approach), and revalidated on every packet:
 *   IP ID   static, or a constant step (host counters advance by 1; coalesced segments by more)
 *   seq     advances by the payload length (plus one for SYN or FIN)
 *   ack     equals the other direction's next sequence number (it acknowledges all), or static
 *   TSval   a constant step per packet of the direction (0 in bursts)
 *   TSecr   echoes the other direction's last TSval, or static
 *   flags, window, size   as the direction's last packet
 * The confidence is the share of confirmed fields times the direction's recent full-header hit
 * rate, so a flow whose fields keep changing is not built for.
 *
 * Payload anticipation, where the application makes it predictable (REFERENCE.md: repeating the
 * last non-empty payload is right for close to no TCP packet, so this has to know protocols):
 *   repetition   a direction whose payload has repeated (keep-alives, polling, repeated requests)
 *                is predicted to repeat it again;
 *   Modbus/TCP   (port 502) a poll that repeats but for the MBAP transaction ID is predicted with
 *                the ID advanced by its learned step.
 * Both are trusted after two confirmations.  The pre-built packet carries the predicted payload
 * and the validation compares it with the arriving one; a guess is never sent unverified. */
#include "predictors.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

enum { F_IPID, F_ACK, F_TSVAL, F_TSECR, F_FLAGS, F_WIN, F_SIZE, F_N };
#define TRUSTED 3

struct dir_state {
	uint64_t pay_hash;         /* of the last payload */
	uint64_t pay_hash_tail;    /* of the last payload without its first two bytes (Modbus TID) */
	uint32_t next_seq;         /* seq + payload (+1 for SYN/FIN) of the last packet */
	uint16_t tid, tid_step;
	uint8_t repeat_conf, modbus_conf;
	uint32_t ack, tsval, tsecr;
	int32_t tsval_step;
	uint16_t ip_id, win, ipid_step;
	uint16_t len16, hit_q;
	uint8_t flags, seen;
	uint8_t conf[F_N];         /* consecutive confirmations, saturating */
	uint8_t ack_tracks, tsecr_echoes;
};

struct header_state {
	struct dir_state d[2];
};
_Static_assert(sizeof(struct header_state) <= HEADER_FLOW_STATE_BYTES, "raise HEADER_FLOW_STATE_BYTES");

/* The predictor's own memory: where a rewritten payload is put (valid until the next predict). */
struct header_self {
	uint8_t scratch[65536];
};

static int h_create(const char *model_file, void **self, struct errbuf *eb)
{
	(void)model_file;
	*self = malloc(sizeof(struct header_self));
	return *self ? 0 : err_set(eb, -ERR_NOMEM, "header predictor: out of memory");
}

static void h_destroy(void *self)
{
	free(self);
}

/* A Modbus/TCP application data unit: MBAP header with protocol 0 and a consistent length. */
static bool is_modbus(const struct pred_pkt *pk)
{
	const uint8_t *b = pk->payload;
	return pk->proto == 6 && pk->payload_avail == pk->payload_len && pk->payload_len >= 8 &&
	       b[2] == 0 && b[3] == 0 && (uint32_t)(b[4] << 8 | b[5]) + 6 == pk->payload_len;
}

static void confirm(uint8_t *c, int ok)
{
	*c = ok ? (uint8_t)(*c < 15 ? *c + 1 : 15) : 0;
}

static void h_observe(void *self, void *fs, const struct pred_pkt *pk)
{
	(void)self;
	struct header_state *s = fs;
	unsigned d = pk->dir & 1;
	struct dir_state *x = &s->d[d], *y = &s->d[!d];
	if (x->seen) {
		/* Was each learned behaviour right for this packet? */
		uint16_t step = (uint16_t)(pk->ip_id - x->ip_id);
		confirm(&x->conf[F_IPID], step == x->ipid_step);
		x->ipid_step = step;
		int ack_trk = y->seen && pk->ack == y->next_seq;
		confirm(&x->conf[F_ACK], x->ack_tracks ? ack_trk : pk->ack == x->ack);
		x->ack_tracks = (uint8_t)ack_trk;
		int32_t ts_step = (int32_t)(pk->tsval - x->tsval);
		confirm(&x->conf[F_TSVAL], ts_step == x->tsval_step);
		x->tsval_step = ts_step;
		int echo = y->seen && pk->tsecr == y->tsval;
		confirm(&x->conf[F_TSECR], x->tsecr_echoes ? echo : pk->tsecr == x->tsecr);
		x->tsecr_echoes = (uint8_t)echo;
		confirm(&x->conf[F_FLAGS], pk->tcp_flags == x->flags);
		confirm(&x->conf[F_WIN], pk->win == x->win);
		uint16_t len16 = pk->payload_len > 0xffff ? 0xffff : (uint16_t)pk->payload_len;
		confirm(&x->conf[F_SIZE], len16 == x->len16);
		/* Payload rules: did the repetition, or the advanced Modbus poll, come true? */
		if (pk->payload_avail == pk->payload_len && pk->payload_len) {
			uint64_t h = payload_hash(pk->payload, pk->payload_len);
			confirm(&x->repeat_conf, h == x->pay_hash);
			if (is_modbus(pk)) {
				uint16_t tid = (uint16_t)(pk->payload[0] << 8 | pk->payload[1]);
				uint64_t ht = payload_hash(pk->payload + 2, pk->payload_len - 2);
				confirm(&x->modbus_conf, ht == x->pay_hash_tail && (uint16_t)(tid - x->tid) == x->tid_step);
				x->tid_step = (uint16_t)(tid - x->tid);
			} else {
				x->modbus_conf = 0;
			}
		}
		int all = 1;
		for (int f = 0; f < F_N; f++)
			all &= x->conf[f] > 0;
		x->hit_q = ewma_q16(x->hit_q, all);
	} else {
		x->hit_q = 16384;
	}
	x->next_seq = pk->seq + pk->payload_len + ((pk->tcp_flags & 3) ? 1u : 0u);
	x->ack = pk->ack;
	x->tsval = pk->tsval;
	x->tsecr = pk->tsecr;
	x->ip_id = pk->ip_id;
	x->win = pk->win;
	x->flags = pk->tcp_flags;
	x->len16 = pk->payload_len > 0xffff ? 0xffff : (uint16_t)pk->payload_len;
	if (pk->payload_avail == pk->payload_len && pk->payload_len) {
		x->pay_hash = payload_hash(pk->payload, pk->payload_len);
		if (is_modbus(pk)) {
			x->tid = (uint16_t)(pk->payload[0] << 8 | pk->payload[1]);
			x->pay_hash_tail = payload_hash(pk->payload + 2, pk->payload_len - 2);
		}
	}
	x->seen = 1;
}

/* Anticipates the payload of the direction's next packet from 'last' when a rule is trusted. */
static void predict_payload(struct header_self *hs, const struct dir_state *x, const struct pred_pkt *last,
			    struct pred_out *o)
{
	if (!last->payload_len || last->payload_avail != last->payload_len)
		return;
	if (x->modbus_conf >= 2 && is_modbus(last)) {
		memcpy(hs->scratch, last->payload, last->payload_len);
		uint16_t tid = (uint16_t)(x->tid + x->tid_step);
		hs->scratch[0] = (uint8_t)(tid >> 8);
		hs->scratch[1] = (uint8_t)tid;
		o->payload = hs->scratch;
	} else if (x->repeat_conf >= 2) {
		o->payload = last->payload; /* read by the crafter before this packet is gone */
	} else {
		return;
	}
	o->fields |= PRED_PAYLOAD;
	o->payload_len = last->payload_len;
}

static bool h_predict(void *self, const void *fs, const struct pred_pkt *last, struct pred_out *o)
{
	const struct header_state *s = fs;
	unsigned d = last->dir & 1;
	const struct dir_state *x = &s->d[d], *y = &s->d[!d];
	if (!x->seen)
		return false;
	predictors_carry_header(last, o);
	o->fields |= PRED_LEN | PRED_IPID;
	o->payload_len = last->payload_len;
	o->ip_id = (uint16_t)(last->ip_id + x->ipid_step);
	unsigned trusted = 0, fields = 2;
	trusted += x->conf[F_IPID] >= TRUSTED;
	trusted += x->conf[F_SIZE] >= TRUSTED;
	if (last->proto == 6) {
		o->seq = last->seq + last->payload_len + ((last->tcp_flags & 3) ? 1u : 0u);
		o->ack = x->ack_tracks && y->seen ? y->next_seq : last->ack;
		/* A TSval step is taken only once confirmed: timestamp clocks tick with time, not
		 * packets, and an unconfirmed step is worse than none. */
		o->tsval = last->tsval + (x->conf[F_TSVAL] >= TRUSTED ? (uint32_t)x->tsval_step : 0u);
		o->tsecr = x->tsecr_echoes && y->seen ? y->tsval : last->tsecr;
		for (int f = F_ACK; f < F_SIZE; f++)
			trusted += x->conf[f] >= TRUSTED;
		fields += 5;
	}
	o->confidence = ((float)trusted / (float)fields) * ((float)x->hit_q / 65535.0f);
	predict_payload(self, x, last, o);
	return true;
}

const struct predictor_ops predictor_header = {
	.name = "header",
	.summary = "field by field, ROHC / Van Jacobson style: learned behaviours, 3 confirmations",
	.flow_state_size = sizeof(struct header_state),
	.create = h_create,
	.destroy = h_destroy,
	.observe = h_observe,
	.predict = h_predict,
};
