/* predict: the `last` persistence predictor (see predict.h).
 *
 * Its confidence is an exponentially weighted hit rate of "the size repeats" per direction,
 * so that a flow of varying sizes is not built for with false certainty. */
#include "predict.h"

#include <stdlib.h>
#include <string.h>

#include "pkt.h"

/* The TCP option kinds in order, folded into 32 bits (0 when there are none). */
static uint32_t opt_kinds(const struct pkt_tcp *t)
{
	uint32_t h = 0;
	unsigned n = t->doff_bytes > 20 ? t->doff_bytes - 20u : 0u;
	for (unsigned i = 0; i < n;) {
		uint8_t k = t->opts[i];
		h = h * 31u + k + 1u;
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || t->opts[i + 1] < 2)
			break;
		i += t->opts[i + 1];
	}
	return h;
}

void pred_pkt_fill(struct pred_pkt *pk, const struct pkt *p, unsigned dir, uint64_t t_ns, uint32_t position)
{
	memset(pk, 0, sizeof *pk);
	bool v4 = p->l3 == PKT_L3_IPV4;
	pk->t_ns = t_ns;
	pk->dir = (uint8_t)dir;
	pk->proto = p->proto;
	pk->family = v4 ? 4 : 6;
	pk->ttl = v4 ? p->ip4.ttl : p->ip6.hlim;
	pk->tos = v4 ? p->ip4.tos : (uint8_t)(p->ip6.vtcfl >> 20);
	pk->ip_id = v4 ? p->ip4.id : 0;
	pk->src_hash = pred_addr_hash(v4 ? p->ip4.src : p->ip6.src, v4 ? 4u : 16u);
	if (v4) {
		uint32_t h = p->ip4.frag & 0xe000u;
		for (unsigned i = 20; i < p->ip4.ihl_bytes; i++)
			h = h * 31u + p->ip4.opts[i - 20];
		pk->ip_flags = h;
	} else {
		pk->ip_flags = p->ip6.vtcfl & 0xfffffu;
	}
	pk->payload_len = p->payload_len;
	pk->payload = p->payload;
	pk->payload_avail = p->payload_avail;
	pk->position = position;
	if (p->l4 == PKT_L4_TCP) {
		pk->tcp_flags = p->tcp.flags;
		pk->seq = p->tcp.seq;
		pk->ack = p->tcp.ack;
		pk->win = p->tcp.win;
		pk->urg = p->tcp.urg;
		pk->sport = p->tcp.sport;
		pk->dport = p->tcp.dport;
		pk->opt_kinds = opt_kinds(&p->tcp);
		pk->has_ts = p->tcp.ts_off != 0xff;
		pk->tsval = p->tcp.tsval;
		pk->tsecr = p->tcp.tsecr;
	} else if (p->l4 == PKT_L4_UDP) {
		pk->sport = p->udp.sport;
		pk->dport = p->udp.dport;
	}
}

struct last_state {
	uint16_t ipid[2];
	int16_t ipid_step[2];
	uint32_t len[2];
	uint16_t repeat_q[2];      /* EWMA of size repeats, Q16 fixed point */
	uint8_t seen[2];
};

static int last_create(const char *model_file, void **self, struct errbuf *eb)
{
	(void)model_file;
	(void)eb;
	*self = NULL;
	return 0;
}

static void last_destroy(void *self)
{
	(void)self;
}

static void last_observe(void *self, void *fs, const struct pred_pkt *pk)
{
	(void)self;
	struct last_state *s = fs;
	unsigned d = pk->dir & 1;
	if (s->seen[d]) {
		s->ipid_step[d] = (int16_t)(uint16_t)(pk->ip_id - s->ipid[d]);
		uint32_t hit = pk->payload_len == s->len[d] ? 65535u : 0u;
		s->repeat_q[d] = (uint16_t)((s->repeat_q[d] * 3u + hit) / 4u);
	} else {
		s->repeat_q[d] = 32768; /* no evidence yet: even odds */
	}
	s->ipid[d] = pk->ip_id;
	s->len[d] = pk->payload_len;
	s->seen[d] = 1;
}

static bool last_predict(void *self, const void *fs, const struct pred_pkt *last, struct pred_out *o)
{
	(void)self;
	const struct last_state *s = fs;
	unsigned d = last->dir & 1;
	if (!s->seen[d])
		return false;
	o->fields = PRED_LEN | PRED_IPID | PRED_FLAGS | PRED_WIN;
	o->payload_len = last->payload_len;
	o->ip_id = (uint16_t)(last->ip_id + s->ipid_step[d]);
	o->tcp_flags = last->tcp_flags;
	o->win = last->win;
	if (last->proto == 6) {
		uint32_t adv = last->payload_len + ((last->tcp_flags & 0x03) ? 1u : 0u); /* SYN, FIN */
		o->fields |= PRED_SEQ | PRED_ACK | PRED_TS;
		o->seq = last->seq + adv;
		o->ack = last->ack;
		o->tsval = last->tsval;
		o->tsecr = last->tsecr;
	}
	o->confidence = (float)s->repeat_q[d] / 65535.0f;
	return true;
}

const struct predictor_ops predictor_last = {
	.name = "last",
	.summary = "persistence: repeat the last packet of the direction (seq advanced, IP ID stepped)",
	.flow_state_size = sizeof(struct last_state),
	.create = last_create,
	.destroy = last_destroy,
	.observe = last_observe,
	.predict = last_predict,
};
