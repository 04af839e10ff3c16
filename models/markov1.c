/* markov1: a first-order Markov chain on size classes, per direction.
 *
 * The state is the size class of the direction's last packet; the prediction is the most
 * frequent next class from that state (a Boyer-Moore majority vote per state, 1 byte each), and
 * the exact size is the latest size seen in that class and direction.  Inter-arrival time is
 * the median of the flow's last 8 gaps (REFERENCE.md's strongest IAT baseline, median-8): the
 * gap from the flow's latest packet to the next, whatever their directions.  Gaps over 60 s or
 * negative are not learned from, as in REFERENCE.md. */
#include "predictors.h"

#include <string.h>

#include "common.h"

struct markov1_state {
	uint8_t vote[2][N_SIZE_CLASSES];   /* high nibble: candidate class, low: count */
	uint16_t size_of[2][N_SIZE_CLASSES];
	uint32_t gap[8];                   /* the flow's last gaps in microseconds */
	uint64_t flow_t;                   /* the flow's latest packet */
	uint8_t last_class[2], n_gaps, seen[2];
	uint16_t hit_q[2];
};

static int m_create(const char *model_file, void **self, struct errbuf *eb)
{
	(void)model_file, (void)eb;
	*self = NULL;
	return 0;
}

static void m_destroy(void *self)
{
	(void)self;
}

static void m_observe(void *self, void *fs, const struct pred_pkt *pk)
{
	(void)self;
	struct markov1_state *s = fs;
	unsigned d = pk->dir & 1, c = size_class(pk->payload_len);
	if (s->seen[d]) {
		uint8_t *v = &s->vote[d][s->last_class[d]];
		unsigned cand = *v >> 4, cnt = *v & 15;
		/* The confidence follows the exact size it predicted, not just the class. */
		unsigned pc = cnt ? cand : s->last_class[d];
		s->hit_q[d] = ewma_q16(s->hit_q[d], s->size_of[d][pc] == pk->payload_len);
		if (cnt == 0)
			*v = (uint8_t)(c << 4 | 1);
		else if (cand == c)
			*v = (uint8_t)(c << 4 | (cnt < 15 ? cnt + 1 : 15));
		else
			*v = (uint8_t)(cand << 4 | (cnt - 1));
	} else {
		s->hit_q[d] = 32768;
	}
	s->size_of[d][c] = pk->payload_len > 0xffff ? 0xffff : (uint16_t)pk->payload_len;
	s->last_class[d] = (uint8_t)c;
	if ((s->seen[0] | s->seen[1]) && pk->t_ns >= s->flow_t && pk->t_ns - s->flow_t <= IAT_MAX_NS) {
		memmove(&s->gap[1], &s->gap[0], 7 * sizeof s->gap[0]);
		s->gap[0] = (uint32_t)((pk->t_ns - s->flow_t) / 1000);
		if (s->n_gaps < 8)
			s->n_gaps++;
	}
	s->flow_t = pk->t_ns;
	s->seen[d] = 1;
}

static bool m_predict(void *self, const void *fs, const struct pred_pkt *last, struct pred_out *o)
{
	(void)self;
	const struct markov1_state *s = fs;
	unsigned d = last->dir & 1;
	if (!s->seen[d])
		return false;
	predictors_carry_header(last, o);
	uint8_t v = s->vote[d][s->last_class[d]];
	unsigned c = (v & 15) ? v >> 4 : s->last_class[d];
	o->fields |= PRED_LEN;
	o->payload_len = s->size_of[d][c];
	if (last->proto == 6)
		o->seq = last->seq + last->payload_len + ((last->tcp_flags & 3) ? 1u : 0u);
	if (s->n_gaps) {
		o->fields |= PRED_IAT;
		o->iat_ns = (uint64_t)median_u32(s->gap, s->n_gaps) * 1000;
	}
	o->confidence = (float)s->hit_q[d] / 65535.0f;
	return true;
}

const struct predictor_ops predictor_markov1 = {
	.name = "markov1",
	.summary = "first-order Markov chain on size classes per direction; IAT: the flow's median of 8",
	.flow_state_size = sizeof(struct markov1_state),
	.create = m_create,
	.destroy = m_destroy,
	.observe = m_observe,
	.predict = m_predict,
};
