/* model_impl: the simulated topology's parts, shared by the files of the model (model.c: the
 * run, packets and statistics; cpu.c: the shaper's CPU, the baseline server and the sink;
 * source.c: trace and synthetic sources).  Not a public header: only sim/model*.c, cpu.c and
 * source.c include it. */
#ifndef PRECRAFT_SIM_MODEL_IMPL_H
#define PRECRAFT_SIM_MODEL_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"
#include "core/err.h"
#include "core/flow.h"
#include "core/lathist.h"
#include "costs.h"
#include "link.h"
#include "model.h"
#include "node.h"
#include "rng.h"
#include "sched.h"

/* Simulated time is 64-bit nanoseconds; what is scheduled stays below 2^62 (146 years) so that
 * no later sum of times, delays and costs can wrap (each is bounded by the scenario's table:
 * costs by SCN_COST_MAX_NS, link rates by SCN_RATE_MIN_MBPS).  Past it a run fails, named. */
#define SIM_TIME_MAX (UINT64_C(1) << 62)
#include "tstream.h"
#define INLINE_FRAME 2048

/* A packet in flight, from its source to the sink. */
struct simpkt {
	struct sched_event ev;
	struct simpkt *next;       /* free list, or the ingress queue */
	const uint8_t *frame;      /* 'buf', 'big', or a trace's record read in place (borrowed:
				      valid until the trace is closed, after the run) */
	uint8_t *big;              /* its own allocation for a frame above INLINE_FRAME, or NULL */
	uint8_t *eg;               /* two gateways: the first's egress, the second's frame; kept with
				      the packet's slot for its next use (eg_cap bytes) */
	uint32_t eg_cap;
	bool eg_set;               /* 'eg' holds this packet's egress */
	uint32_t caplen, wirelen, eg_wirelen;
	int linktype;
	uint64_t t_src, t_arrive;
	uint64_t flow_id;
	struct simflow *flow;      /* valid while flow->id == flow_id */
	uint8_t buf[INLINE_FRAME];
};

/* Per-flow statistics the simulator adds to the engine's (the flow's application area). */
struct simflow {
	uint64_t id;
	uint64_t delay_sum_ns, jitter_sum_ns, last_delay_ns, rx, lost;
};

struct model;

/* One emitting instance: a clone of a trace, or a synthetic source. */
struct source {
	struct sched_event ev;
	struct model *m;
	const struct scn_source *cfg;
	struct tstream ts;         /* trace: the record to emit next (each clone reads its own) */
	uint32_t clone;
	uint64_t loop;
	uint64_t t0;               /* emission time of record 0 of this loop */
	/* synthetic */
	struct rng *rng;
	uint64_t *flow_gen;
	uint32_t *left, *seq;
	uint64_t next_gen, end_ns, period_end;
	int on;
	uint16_t ip_id;
};

struct craft_job {
	struct engine_ticket ticket;
	uint64_t remaining_ns;
};

/* One of the shaper's CPUs (shaper.cpus): its queue, its engine (a shard: engine_cfg.shards),
 * its crafting jobs, and the analytical baseline server that stands for it. */
struct simcpu {
	struct model *m;
	unsigned gw;               /* 0: the shaper (gateway 1); 1: the second gateway */
	struct engine *eng;
	struct sched_event ev;     /* the completion of the packet or job it is working on */
	struct simpkt *q_head, *q_tail;
	uint64_t q_len;
	struct simpkt *serving;
	struct engine_result serving_res;
	int job_running;           /* running a crafting job */
	struct craft_job job;      /* the one running */
	uint64_t job_started;
	struct craft_job *jobs;    /* deque of waiting jobs */
	size_t jobs_head, jobs_n, jobs_cap;
	/* the baseline server, analytical */
	uint64_t *b_ring;
	uint32_t b_head, b_count, b_cap;
	uint64_t b_busy_until;
	double base_esp_ns;        /* the baseline's sealing work (a tunnel) */
	uint64_t packets, pkt_ns, craft_ns, jobs_run, jobs_skipped, jobs_preempted;
	/* what the policy is told, every control period: the last period's conditions */
	uint64_t sig_next, sig_t, sig_cpu, sig_wait_ns, sig_waits, sig_lost, sig_offered, sig_out_bytes;
	uint64_t iv_busy;          /* pkt_ns + craft_ns when the last statistics interval closed */
	char util_name[24];        /* its utilisation series: cpu_util_IDX */
};

struct model {
	const struct scenario *scn;
	const struct sim_opts *o;
	const struct sim_node_io *io; /* a node of another simulator (node.h), NULL in `precraft sim` */
	struct sched *s;
	struct engine *eng;
	const struct recorder *rec;  /* may be NULL */
	struct link in, out;
	unsigned in_fifo;          /* the scheduler's FIFO of arrivals over 'in' (a FIFO link) */
	struct rng *rng_in, *rng_out;
	struct rng *rng_phase;     /* trace clones' start phases (run.exact = off); NULL when exact */
	struct cost_profile cost;
	/* sources */
	struct source *srcs;
	size_t n_srcs, srcs_live;  /* allocated (zeroed until made), still emitting */
	char trace_path[SCN_MAX_SOURCES][SCN_PATH * 2]; /* resolved, for the streams */
	/* packets */
	struct simpkt *free_pkts;
	struct simpkt **pkt_blocks;
	size_t n_blocks, in_flight;
	/* the CPUs, flows spread over them by a symmetric hash of their key (RSS) */
	struct simcpu *cpus;
	unsigned n_cpus;
	struct flow_hash_key rss_key;
	/* shaper.gateways = 2: the second gateway after link.out (gateway2.c), as many CPUs */
	struct simcpu *cpus2;      /* NULL with one gateway */
	struct latency_set *lat2;
	uint64_t gw2_queue_drops, gw2_baseline_queue_drops;
	/* statistics */
	struct latency_set *lat;   /* the shaper's (all, hit, slow) and the baseline server's */
	uint64_t interval_ns, iv_end;  /* the time series' period, and the end of the current one */
	uint64_t stop_ns;
	uint64_t iv_pkts, iv_hits;
	uint64_t source_packets, shaper_queue_drops, baseline_queue_drops, sink_packets, source_overflow;
	uint64_t delay_sum_ns;
	/* The offered load: the baseline's work for every packet that reached the shaper (its
	 * cost whatever became of it), and when the first and last reached it. */
	double offered_ns;
	uint64_t first_arrive, last_arrive;
	uint64_t arrivals;
	double time_scale;         /* the sources' times divided by it (run.load), 1 without */
	/* link.out.compress (hc_link.c), NULL without; the sink's end-to-end delays and bytes */
	struct hc_link *hcl;
	struct lathist *e2e;
	uint64_t sink_bytes;
	int fail_err;              /* the first failure's ERR_*, 0 while none */
	char fail_msg[ERR_MSG_LEN];
};

/* model.c */
/* The model set up for 'scn' (sources scheduled), or an error; model__finish ends a run (flows
 * end, scalars written, 'sum' filled), model__close frees it (NULL is fine). */
int model__open(const struct scenario *scn, const struct sim_opts *o, double scale, const struct sim_node_io *io,
		struct model **out, struct errbuf *eb) WARN_UNUSED;
void model__finish(struct model *m, struct sim_summary *sum);
void model__close(struct model *m);
/* run.load: 'scn' scaled in time to offer that load (the pilot run), '*scaled' NULL without
 * run.load (or when interrupted during the pilot); the caller frees it. */
int model__scaled(const struct scenario *scn, const struct sim_opts *o, struct scenario **scaled, double *f,
		  struct errbuf *eb) WARN_UNUSED;
/* model_setup.c: the cost profile into m->cost (scaled, checked), and the engine's policy from
 * the scenario's [policy]. */
int model__load_costs(struct model *m, struct errbuf *eb) WARN_UNUSED;
int model__policy(struct model *m, struct policy_cfg *pc, struct errbuf *eb) WARN_UNUSED;
/* Writes the time series' rows of the interval that is over. */
void model__stats_flush(struct model *m);
struct simpkt *model__pkt_get(struct model *m);
void model__pkt_put(struct model *m, struct simpkt *p);
/* Copies a frame into a packet (its own allocation when large); returns the copy, which the
 * caller may change, or NULL when out of memory. */
uint8_t *model__pkt_fill(struct simpkt *p, const uint8_t *data, uint32_t caplen);
/* Stops the run with the first failure's code and text: -ERR_NOMEM, or a source's file found
 * damaged part way (-ERR_FORMAT, bad input). */
void model__fail(struct model *m, int err, const char *msg);
/* Schedules 'ev' at 't'; a failure stops the run. */
void model__at(struct model *m, struct sched_event *ev, uint64_t t, sched_fn *fn);
/* The same for a packet's arrival over the ingress link, which delivers in order. */
void model__arrive_at(struct model *m, struct sched_event *ev, uint64_t t, sched_fn *fn);
/* Called before a packet is served at 'now': closes statistics intervals. */
void model__stats_at(struct model *m, uint64_t now);

/* cpu.c */
/* Sets up gateway 'gw''s CPUs (m->cpus, or m->cpus2) and their engines from 'ec' (split: flow
 * table and pool). */
int model__cpus_setup(struct model *m, const struct engine_cfg *ec, unsigned gw, struct errbuf *eb);
void model__cpus_free(struct model *m);
void model__shaper_arrive(struct sched *s, struct sched_event *ev);
/* Packet 'p' reaches CPU 'c' at 'now': the baseline server charges it 'base_ns' beyond the
 * slow path, then it queues (or is dropped, the queue full). */
void model__cpu_arrive(struct model *m, struct simcpu *c, struct simpkt *p, uint64_t now, double base_ns);
/* The CPU of 'n' at 'cpus' a frame's flow hashes to (a symmetric RSS). */
struct simcpu *model__rss(struct model *m, struct simcpu *cpus, const struct simpkt *p);
/* The sink records 'p', arrived at 'arrive'. */
void model__sink(struct model *m, struct simpkt *p, uint64_t arrive);
/* What the sink records of a packet of flow 'f' (valid while f->id == flow_id; NULL: none): its
 * end-to-end delay and bytes, the flow's delay and jitter. */
void model__sink_flow(struct model *m, uint64_t arrive, uint64_t t_src, uint32_t wirelen, struct simflow *f,
		      uint64_t flow_id);

/* gateway2.c */
/* The second gateway's setup (its engines: 'ec2', with its own view of the tunnel), and what
 * leaves the first for it: over link.out, then into its CPUs. */
int model__gw2_setup(struct model *m, const struct engine_cfg *ec2, struct errbuf *eb);
void model__to_gw2(struct model *m, struct simpkt *p);
/* Its scalars (gw2_*) and summary, after the run. */
void model__gw2_scalars(struct model *m, struct sim_summary *sum);
/* The engine's transmit callback: notes the egress size of the packet being served. */
void model__tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
	       uint32_t wirelen, uint64_t t_ns);

/* hc_link.c: link.out's header compression, when link.out.compress names one. */
struct hc_link;
int model__hcl_setup(struct model *m, struct errbuf *eb);
void model__hcl_free(struct model *m);
/* Offers 'p''s egress to link.out compressed; LINK_OK when the far end rebuilt it ('*arrive'),
 * LINK_LOST when the link lost it or the far end could not rebuild it. */
enum link_verdict model__hcl_send(struct model *m, struct simpkt *p, uint64_t *arrive);
/* Its scalars (the compressor's, the decompressor's, hc_wrong, link_out_bytes_saved). */
void model__hcl_scalars(struct model *m);
struct sim_summary;
void model__hcl_summary(struct model *m, struct sim_summary *sum);

/* source.c */
int model__setup_sources(struct model *m, struct errbuf *eb);

/* At the end of a run: every scalar into m->rec and the summary 'sum' (model_scalars.c). */
struct engine_stats;
struct sim_summary;
void model__write_scalars(struct model *m, const struct engine_stats *es, struct sim_summary *sum);

#endif
