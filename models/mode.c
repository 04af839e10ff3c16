/* mode: the most frequent payload size so far in each direction (ties: the most recent).
 *
 * Exact frequencies would need a table per flow; a Misra-Gries summary of four counters per
 * direction finds every size above a fifth of the packets, which is where "the mode" means
 * something, in 32 bytes.  Header fields are carried from the last packet, as `last` does. */
#include "predictors.h"

#include "common.h"

#define K 4

struct mode_state {
	uint16_t size[2][K];
	uint16_t count[2][K];
	uint16_t hit_q[2];         /* EWMA of "the mode was right" */
	uint8_t seen[2];
};

static int mode_create(const char *model_file, void **self, struct errbuf *eb)
{
	(void)model_file, (void)eb;
	*self = NULL;
	return 0;
}

static void mode_destroy(void *self)
{
	(void)self;
}

static int best(const struct mode_state *s, unsigned d)
{
	int b = -1;
	for (int i = 0; i < K; i++)
		if (s->count[d][i] && (b < 0 || s->count[d][i] >= s->count[d][b]))
			b = i; /* >=: later slots were touched more recently on ties */
	return b;
}

static void mode_observe(void *self, void *fs, const struct pred_pkt *pk)
{
	(void)self;
	struct mode_state *s = fs;
	unsigned d = pk->dir & 1;
	uint16_t len = pk->payload_len > 0xffff ? 0xffff : (uint16_t)pk->payload_len;
	int b = best(s, d);
	s->hit_q[d] = s->seen[d] ? ewma_q16(s->hit_q[d], b >= 0 && s->size[d][b] == len) : 32768;
	s->seen[d] = 1;
	int free_slot = -1;
	for (int i = 0; i < K; i++) {
		if (s->count[d][i] && s->size[d][i] == len) {
			if (s->count[d][i] < 0xffff)
				s->count[d][i]++;
			return;
		}
		if (!s->count[d][i] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		s->size[d][free_slot] = len;
		s->count[d][free_slot] = 1;
		return;
	}
	for (int i = 0; i < K; i++) /* Misra-Gries: everyone pays for the newcomer */
		s->count[d][i]--;
}

static bool mode_predict(void *self, const void *fs, const struct pred_pkt *last, struct pred_out *o)
{
	(void)self;
	const struct mode_state *s = fs;
	unsigned d = last->dir & 1;
	int b = best(s, d);
	if (b < 0)
		return false;
	predictors_carry_header(last, o);
	o->fields |= PRED_LEN;
	o->payload_len = s->size[d][b];
	if (last->proto == 6)
		o->seq = last->seq + last->payload_len + ((last->tcp_flags & 3) ? 1u : 0u);
	o->confidence = (float)s->hit_q[d] / 65535.0f;
	return true;
}

const struct predictor_ops predictor_mode = {
	.name = "mode",
	.summary = "the most frequent payload size of the direction (Misra-Gries, 4 counters)",
	.flow_state_size = sizeof(struct mode_state),
	.create = mode_create,
	.destroy = mode_destroy,
	.observe = mode_observe,
	.predict = mode_predict,
};
