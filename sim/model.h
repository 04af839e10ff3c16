/* model: the simulated topology around the shaper, and its run.
 *
 *   source(s) --link.in--> [ ingress queue -> CPU: engine ] x shaper.cpus --link.out--> sink
 *
 * or, with shaper.gateways = 2 (a VPN tunnel's two ends: gateway2.c), a second gateway of as many
 * CPUs between link.out and the sink, opening what the first sealed.
 *
 * Sources replay captures against absolute time from their first packet (scaled, looped,
 * cloned onto new addresses) or generate Poisson or on/off traffic with heavy-tailed flow sizes.
 * The shaper is a CPU: a packet is served, in arrival order, for the calibrated cost of the path
 * it actually took in the engine (hit, miss, slow path, drop).  Crafting the next packet of a
 * flow is a job that runs only while no packet waits, and an arriving packet preempts it (it
 * resumes later): pre-crafting helps only when the node has slack, as in reality.  A pre-built
 * packet whose job has not finished when its packet is served cannot be used (a late miss).
 * With shaper.cpus > 1 there are that many CPUs, each with its own queue, engine (a shard with
 * its share of the flow table and pool: engine_cfg.shards) and jobs; a packet goes to the CPU its
 * flow's canonical key hashes to (the same for both directions, as a symmetric RSS hash), so no
 * state is shared between CPUs, as between a multi-core shaper's workers.
 *
 * The baseline is simulated on the same arrivals: a second, analytical FIFO server per CPU charges
 * every packet the slow-path cost, so every run measures both latencies through the shaper for the
 * same packets.  Results go to the SQLite store: scalars, per-flow rows (FlowMonitor-like), and
 * time series. */
#ifndef PRECRAFT_SIM_MODEL_H
#define PRECRAFT_SIM_MODEL_H

#include <signal.h>
#include <stdint.h>

#include "core/err.h"
#include "scenario.h"

struct engine_cfg;
struct recorder;

/* What the command line set up for the run: the engine's configuration (route table loaded,
 * predictor found: cli/shaper.h), the cost profile found, where results go. */
struct sim_opts {
	const struct engine_cfg *engine; /* mode, predictor, routes, flows, pool...; the model sets
					  * the policy from the scenario and the callbacks */
	const struct engine_cfg *engine2; /* shaper.gateways = 2: the second gateway's (its own
					   * view of the tunnel); NULL: one gateway */
	const char *costs_path;    /* the cost profile (sim/costs.h) */
	const struct recorder *rec; /* may be NULL */
	volatile sig_atomic_t *interrupted; /* polled; may be NULL */
	/* Called about once per statistics interval: simulated time, the stop time (0: none) and
	 * packets sent so far.  May be NULL. */
	void (*progress)(void *arg, uint64_t sim_ns, uint64_t stop_ns, uint64_t packets);
	void *progress_arg;
};

/* A few figures for the command's summary; the full set goes to the store. */
struct sim_summary {
	uint64_t source_packets, packets_in, packets_out, sink_packets, flows;
	uint64_t hits, strict_hits, misses, late, crafted, wasted, divergent_packets;
	double latency_p50_ns, latency_p99_ns, baseline_latency_p50_ns, baseline_latency_p99_ns;
	double e2e_delay_mean_ns, e2e_delay_p50_ns, e2e_delay_p99_ns;
	double goodput_mbps;       /* the sink's egress bytes over the simulated time */
	/* link.out.compress: header bytes per packet in and out, packets the far end could not
	 * rebuild (CRC, a flow waiting for its refresh), 0 when off */
	int compressed;
	double hc_header_in, hc_header_out;
	uint64_t hc_not_rebuilt;
	/* shaper.gateways = 2: the second gateway's */
	double gw2_latency_p50_ns, gw2_latency_p99_ns, gw2_baseline_latency_p50_ns, gw2_baseline_latency_p99_ns;
	uint64_t gw2_opened, gw2_opened_keystream, gw2_opened_anticipated, gw2_esp_drops;
	double offered_load;       /* measured: the baseline's work over the CPUs' time (model.c) */
	double sim_seconds, wall_seconds;
	uint64_t events;
	int interrupted;
};

/* Runs 'scn'.  Returns 0, or a negative ERR_* with detail (a bad file named in the scenario
 * is -ERR_FORMAT or -ERR_IO). */
int sim_run(const struct scenario *scn, const struct sim_opts *o, struct sim_summary *sum, struct errbuf *eb)
	WARN_UNUSED;

#endif
