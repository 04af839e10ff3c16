/* link: analytical FIFO link (see link.h). */
#include "link.h"

#include <stdlib.h>

#include "rng.h"

int link_init(struct link *l, const struct scn_link *cfg, struct rng *rng)
{
	*l = (struct link){ .cfg = *cfg, .rng = rng, .delay_ns = (uint64_t)(cfg->delay_us * 1000.0 + 0.5) };
	l->cap = (uint32_t)(cfg->queue_pkts + 1); /* the queue plus the packet on the wire */
	l->ring = malloc(l->cap * sizeof *l->ring);
	return l->ring ? 0 : -ERR_NOMEM;
}

void link_fini(struct link *l)
{
	free(l->ring);
	l->ring = NULL;
}

uint32_t link_backlog(struct link *l, uint64_t t_ns)
{
	while (l->count && l->ring[l->head] <= t_ns) {
		l->head = l->head + 1 == l->cap ? 0 : l->head + 1;
		l->count--;
	}
	return l->count;
}

static int lose(struct link *l)
{
	switch (l->cfg.loss) {
	case SCN_LOSS_BERNOULLI:
		return l->cfg.loss_p > 0 && rng_bernoulli(l->rng, l->cfg.loss_p);
	case SCN_LOSS_GILBERT:
		if (l->ge_bad)
			l->ge_bad = !rng_bernoulli(l->rng, l->cfg.ge_p_bg);
		else
			l->ge_bad = rng_bernoulli(l->rng, l->cfg.ge_p_gb);
		return rng_bernoulli(l->rng, l->ge_bad ? l->cfg.ge_loss_bad : l->cfg.ge_loss_good);
	}
	return 0;
}

enum link_verdict link_send(struct link *l, uint64_t t_ns, uint32_t bytes, uint64_t *arrive_ns)
{
	l->offered++;
	if (link_backlog(l, t_ns) >= l->cap) {
		l->queue_drops++;
		return LINK_QUEUE_DROP;
	}
	uint64_t start = l->busy_until > t_ns ? l->busy_until : t_ns;
	uint64_t tx = l->cfg.rate_mbps > 0 ? (uint64_t)((double)bytes * 8000.0 / l->cfg.rate_mbps + 0.5) : 0;
	l->busy_until = start + tx;
	uint32_t tail = l->head + l->count;
	l->ring[tail >= l->cap ? tail - l->cap : tail] = l->busy_until;
	l->count++;
	l->bytes += bytes;
	if (lose(l)) {
		l->lost++;
		return LINK_LOST;
	}
	l->delivered++;
	*arrive_ns = l->busy_until + l->delay_ns;
	return LINK_OK;
}
