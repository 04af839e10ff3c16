/* node: the simulated shaper as a node of another simulator (see node.h): the model of
 * `precraft sim` (model.c, cpu.c, source.c) with the host's links and sink around it. */
#include "node.h"

#include <stdlib.h>
#include <string.h>

#include "model_impl.h"

struct sim_node {
	struct model *m;
	struct scenario *scaled;   /* run.load: the scenario scaled (NULL without) */
	struct sim_node_io io;
};

static int failed(struct model *m, struct errbuf *eb)
{
	return m->fail_err ? err_set(eb, m->fail_err, "%s", m->fail_msg) : 0;
}

int sim_node_open(const struct scenario *scn, const struct sim_opts *o, const struct sim_node_io *io,
		  struct sim_node **out, struct errbuf *eb)
{
	*out = NULL;
	if (!io || !io->egress || !io->wake || (scn->n_src && !io->emit))
		return err_set(eb, -ERR_INVAL, "a node needs its host's egress, wake and (with sources) emit");
	if (scn->gateways == 2 || o->engine2)
		return err_set(eb, -ERR_FORMAT, "shaper.gateways = 2 in a node: the host makes each gateway a node of its own");
	if (scn->out_compress[0] && strcmp(scn->out_compress, "none") != 0)
		return err_set(eb, -ERR_FORMAT, "link.out.compress in a node: link.out is the host's (its links compress nothing)");
	struct sim_node *n = calloc(1, sizeof *n);
	if (!n)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	n->io = *io;
	double f;
	int rc = model__scaled(scn, o, &n->scaled, &f, eb);
	if (!rc)
		rc = model__open(n->scaled ? n->scaled : scn, o, f, &n->io, &n->m, eb);
	if (rc) {
		free(n->scaled);
		free(n);
		return rc;
	}
	*out = n;
	return 0;
}

uint64_t sim_node_stop_ns(const struct sim_node *n)
{
	return n->m->stop_ns;
}

/* Runs the node's events due by 'now', or by the run's stop time (as `precraft sim` stops). */
static void run_until(struct model *m, uint64_t now)
{
	if (now > m->stop_ns)
		now = m->stop_ns;
	sched_run(m->s, now);
	sched_advance(m->s, now);
}

int sim_node_run(struct sim_node *n, uint64_t now, struct errbuf *eb)
{
	run_until(n->m, now);
	return failed(n->m, eb);
}

int sim_node_frame(struct sim_node *n, uint64_t now, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		   int linktype, uint64_t t_src, struct errbuf *eb)
{
	struct model *m = n->m;
	if (now > m->stop_ns)
		return 0; /* after the run's stop time: not taken, as `precraft sim` stops */
	/* The node's events before 'now' first; its events at 'now' after this arrival. */
	if (now > 0)
		sched_run(m->s, now - 1);
	sched_advance(m->s, now);
	int rc = failed(m, eb);
	if (rc)
		return rc;
	struct simpkt *p = model__pkt_get(m);
	if (!p || !model__pkt_fill(p, frame, caplen)) {
		if (p)
			model__pkt_put(m, p);
		return err_set(eb, -ERR_NOMEM, "node: out of memory for a frame");
	}
	p->wirelen = wirelen < caplen ? caplen : wirelen;
	p->linktype = linktype;
	p->t_src = t_src;
	model__shaper_arrive(m->s, &p->ev);
	return failed(m, eb);
}

void sim_node_sink(struct sim_node *n, uint64_t now, uint32_t wirelen, const struct sim_node_ref *ref)
{
	model__sink_flow(n->m, now, ref->t_src, wirelen, ref->flow, ref->flow_id);
}

void sim_node_count(struct sim_node *n, enum sim_node_count which, uint64_t v)
{
	struct model *m = n->m;
	switch (which) {
	case SIM_NODE_IN_OFFERED: m->in.offered += v; break;
	case SIM_NODE_IN_QUEUE_DROP: m->in.queue_drops += v; break;
	case SIM_NODE_IN_LOST: m->in.lost += v; break;
	case SIM_NODE_OUT_OFFERED: m->out.offered += v; break;
	case SIM_NODE_OUT_QUEUE_DROP: m->out.queue_drops += v; break;
	case SIM_NODE_OUT_LOST: m->out.lost += v; break;
	case SIM_NODE_OUT_BYTES: m->out.bytes += v; break;
	}
}

int sim_node_close(struct sim_node *n, uint64_t now, struct sim_summary *sum, struct errbuf *eb)
{
	struct model *m = n->m;
	run_until(m, now);
	int rc = failed(m, eb);
	memset(sum, 0, sizeof *sum);
	model__finish(m, sum);
	model__close(m);
	free(n->scaled);
	free(n);
	return rc;
}
