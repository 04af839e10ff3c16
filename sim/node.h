/* node: the simulated shaper as a node of another simulator (ns-3: the adapter in ns3/).
 *
 * The same model as `precraft sim` (model.h): the scenario's sources, the shaper's CPUs with
 * their queues, costs, crafting jobs in idle time and policy, the baseline server beside them,
 * the statistics and the scalars written through the same recorder.  Only the links and the
 * sink belong to the host: a source's frame is handed to the host to carry (io.emit), the host
 * hands the node every frame that reaches it (sim_node_frame), the node hands back each frame
 * its shaper sends (io.egress), and the host reports what reached a sink (sim_node_sink).
 *
 * Time is the host's: the node keeps its own events (sources' emissions, CPU completions) in
 * its own scheduler and asks to be woken at each one's time (io.wake); the host calls
 * sim_node_run at that time.  A frame reaching the node at time T is taken after the node's
 * events before T and before its events at T, as an arrival scheduled earlier is in `precraft
 * sim` (a link delivers a frame long after it schedules its arrival), so a run through the host
 * gives the same service order as `precraft sim` when the host's links time frames as ours.
 *
 * Not in a node: link.out's header compression and a second gateway (the host builds two
 * nodes for two gateways); both are refused at open.  The time series link_out_backlog is not
 * recorded: link.out is the host's (ns-3 traces its own queues).  run.load scales the sources as in
 * `precraft sim` (the same pilot run). */
#ifndef PRECRAFT_SIM_NODE_H
#define PRECRAFT_SIM_NODE_H

#include <stdint.h>

#include "core/err.h"

struct scenario;
struct sim_opts;
struct sim_summary;
struct sim_node;

/* What the host carries with a frame the shaper sent, back to sim_node_sink: when its source
 * emitted it and the flow the engine found for it (for the flow's delays; checked against the
 * flow's id before use, as a flow's slot may be reused). */
struct sim_node_ref {
	uint64_t t_src;
	uint64_t flow_id;
	void *flow;
};

struct sim_node_io {
	void *arg;
	/* A source of the scenario emits a frame now ('t_ns', the host's now).  NULL: the
	 * scenario may have no sources. */
	void (*emit)(void *arg, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype, uint64_t t_ns);
	/* The shaper sends 'frame' (its egress) now; ref->t_src is what sim_node_frame was given. */
	void (*egress)(void *arg, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, const struct sim_node_ref *ref,
		       uint64_t t_ns);
	/* The node has an event at 't_ns' (>= now): call sim_node_run(n, t_ns) then.  Called
	 * once for each event scheduled; a call for a time with nothing left due does nothing. */
	void (*wake)(void *arg, uint64_t t_ns);
};

/* What the host's links did, for the policy's signals (loss, egress utilisation) and the
 * link scalars: counted as `precraft sim`'s links count (sim/link.h). */
enum sim_node_count {
	SIM_NODE_IN_OFFERED,
	SIM_NODE_IN_QUEUE_DROP,
	SIM_NODE_IN_LOST,
	SIM_NODE_OUT_OFFERED,
	SIM_NODE_OUT_QUEUE_DROP,
	SIM_NODE_OUT_LOST,
	SIM_NODE_OUT_BYTES
};

/* Opens a node for 'scn' (borrowed until close) with the command line's setup 'o'.  The
 * sources' first emissions are asked for (io.wake) before it returns.  Returns 0 or a
 * negative ERR_* with one line in 'eb'. */
int sim_node_open(const struct scenario *scn, const struct sim_opts *o, const struct sim_node_io *io,
		  struct sim_node **out, struct errbuf *eb) WARN_UNUSED;

/* The run's stop time in ns (run.stop_s, scaled with the sources by run.load), UINT64_MAX for
 * none: the host stops there. */
uint64_t sim_node_stop_ns(const struct sim_node *n);

/* Runs the node's events due by 'now'.  Returns 0, or the run's failure (-ERR_NOMEM, a source's
 * file found damaged: -ERR_FORMAT) with the message in 'eb': the host then stops. */
int sim_node_run(struct sim_node *n, uint64_t now, struct errbuf *eb) WARN_UNUSED;

/* A frame (of pcap link type 'linktype') reaches the shaper now; 't_src' is when its source
 * emitted it (carried by the host). */
int sim_node_frame(struct sim_node *n, uint64_t now, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		   int linktype, uint64_t t_src, struct errbuf *eb) WARN_UNUSED;

/* A frame of 'wirelen' bytes the shaper sent (with 'ref', as egress gave it) reached the sink now:
 * the run's and its flow's delays, as `precraft sim`'s sink records them. */
void sim_node_sink(struct sim_node *n, uint64_t now, uint32_t wirelen, const struct sim_node_ref *ref);

/* Adds 'v' to one of the host's link counters. */
void sim_node_count(struct sim_node *n, enum sim_node_count which, uint64_t v);

/* Ends the run at 'now': flows end (their rows written), the scalars written and 'sum' filled
 * as sim_run's.  Frees the node.  Returns 0 or the run's failure. */
int sim_node_close(struct sim_node *n, uint64_t now, struct sim_summary *sum, struct errbuf *eb);

#endif
