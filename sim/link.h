/* link: a point-to-point link with bandwidth, propagation delay, a finite drop-tail queue and
 * loss (Bernoulli or Gilbert-Elliott).
 *
 * A FIFO link's timing can be computed when a packet is offered: it starts transmitting when
 * the link is free, takes size / bandwidth, and arrives a propagation delay after it finishes.
 * So a packet costs the simulator one event (its arrival at the far end), not three.  The queue
 * is the set of packets offered but not yet finished, kept as a ring of finish times; a packet
 * that finds it full is dropped.  A lost packet uses the link like any other, then disappears. */
#ifndef PRECRAFT_SIM_LINK_H
#define PRECRAFT_SIM_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "scenario.h"

struct rng;

enum link_verdict { LINK_OK, LINK_QUEUE_DROP, LINK_LOST };

struct link {
	struct scn_link cfg;
	struct rng *rng;           /* borrowed */
	uint64_t delay_ns;         /* the propagation delay, rounded once */
	uint64_t busy_until;
	uint64_t *ring;            /* finish times of packets in the link, oldest first */
	uint32_t head, count, cap;
	int ge_bad;
	uint64_t offered, queue_drops, lost, delivered, bytes;
};

int link_init(struct link *l, const struct scn_link *cfg, struct rng *rng) WARN_UNUSED;
void link_fini(struct link *l);

/* Offers a packet of 'bytes' at 't_ns'.  On LINK_OK, '*arrive_ns' is when it reaches the far end. */
enum link_verdict link_send(struct link *l, uint64_t t_ns, uint32_t bytes, uint64_t *arrive_ns);

/* True when a packet offered at 't_ns' would find the queue full (link_send would drop it). */
static inline bool link_full(struct link *l, uint64_t t_ns);

/* Packets in the link (queued or transmitting) at 't_ns'. */
uint32_t link_backlog(struct link *l, uint64_t t_ns);

static inline bool link_full(struct link *l, uint64_t t_ns)
{
	return link_backlog(l, t_ns) >= l->cap;
}

#endif
