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
 * rate, so a flow whose fields keep changing is not built for. */
#include "predictors.h"

#include "common.h"

enum { F_IPID, F_ACK, F_TSVAL, F_TSECR, F_FLAGS, F_WIN, F_SIZE, F_N };
#define TRUSTED 3

struct dir_state {
	uint32_t next_seq;         /* seq + payload (+1 for SYN/FIN) of the last packet */
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

static int h_create(const char *model_file, void **self, struct errbuf *eb)
{
	(void)model_file, (void)eb;
	*self = NULL;
	return 0;
}

static void h_destroy(void *self)
{
	(void)self;
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
	x->seen = 1;
}

static bool h_predict(void *self, const void *fs, const struct pred_pkt *last, struct pred_out *o)
{
	(void)self;
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
