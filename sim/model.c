/* model: the simulated topology and its run (see model.h). */
#include "model.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/engine.h"
#include "core/lathist.h"
#include "core/pkt.h"
#include "core/recorder.h"
#include "core/stats.h"
#include "costs.h"
#include "frames.h"
#include "link.h"
#include "rng.h"
#include "sched.h"
#include "tstream.h"
#include "traces/trace.h"

#define INLINE_FRAME 2048

/* A packet in flight, from its source to the sink. */
struct simpkt {
	struct sched_event ev;
	struct simpkt *next;       /* free list, or the ingress queue */
	uint8_t *frame;            /* 'buf', or its own allocation for frames above INLINE_FRAME */
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
	uint64_t ticket;
	uint64_t remaining_ns;
};

struct model {
	const struct scenario *scn;
	const struct sim_opts *o;
	struct sched *s;
	struct engine *eng;
	const struct recorder *rec;  /* may be NULL */
	struct link in, out;
	struct rng *rng_in, *rng_out;
	struct cost_profile cost;
	/* sources */
	struct source *srcs;
	size_t n_srcs, srcs_live, n_srcs_made; /* made: allocated, for teardown */
	char trace_path[SCN_MAX_SOURCES][SCN_PATH * 2]; /* resolved, for the streams */
	/* packets */
	struct simpkt *free_pkts;
	struct simpkt **pkt_blocks;
	size_t n_blocks, in_flight;
	/* the CPU */
	struct simpkt *q_head, *q_tail;
	uint64_t q_len;
	struct sched_event cpu_ev;
	struct simpkt *serving;
	struct engine_result serving_res;
	int cpu_job;               /* running a crafting job */
	struct craft_job job;      /* the one running */
	uint64_t job_started;
	struct craft_job *jobs;    /* deque of waiting jobs */
	size_t jobs_head, jobs_n, jobs_cap;
	/* the baseline server, analytical */
	uint64_t *b_ring;
	uint32_t b_head, b_count, b_cap;
	uint64_t b_busy_until;
	/* statistics */
	struct latency_set *lat;   /* the shaper's (all, hit, slow) and the baseline server's */
	uint64_t interval_ns, iv_end;  /* the time series' period, and the end of the current one */
	uint64_t stop_ns;
	uint64_t iv_pkts, iv_hits;
	uint64_t source_packets, shaper_queue_drops, baseline_queue_drops, sink_packets, source_overflow;
	uint64_t cpu_pkt_ns, cpu_craft_ns, jobs_run, jobs_skipped, jobs_preempted;
	/* what the policy is told, every control period: the last period's conditions */
	uint64_t sig_next, sig_t, sig_cpu, sig_wait_ns, sig_waits, sig_lost, sig_offered, sig_out_bytes;
	uint64_t delay_sum_ns;
	int failed, failed_input;
	char fail_msg[ERR_MSG_LEN];
};

/* ---- packets ---------------------------------------------------------------------------- */

static struct simpkt *pkt_get(struct model *m)
{
	if (!m->free_pkts) {
		enum { BLOCK = 1024 };
		struct simpkt *blk = malloc(BLOCK * sizeof *blk);
		struct simpkt **blocks = realloc(m->pkt_blocks, (m->n_blocks + 1) * sizeof *blocks);
		if (!blk || !blocks) {
			free(blk);
			if (blocks)
				m->pkt_blocks = blocks;
			return NULL;
		}
		m->pkt_blocks = blocks;
		m->pkt_blocks[m->n_blocks++] = blk;
		for (int i = 0; i < BLOCK; i++) {
			blk[i].frame = blk[i].buf;
			blk[i].next = m->free_pkts;
			m->free_pkts = &blk[i];
		}
	}
	struct simpkt *p = m->free_pkts;
	m->free_pkts = p->next;
	p->next = NULL;
	sched_event_init(&p->ev);
	p->frame = p->buf;
	p->flow = NULL;
	p->flow_id = 0;
	m->in_flight++;
	return p;
}

static void pkt_put(struct model *m, struct simpkt *p)
{
	if (p->frame != p->buf)
		free(p->frame);
	p->frame = p->buf;
	p->next = m->free_pkts;
	m->free_pkts = p;
	m->in_flight--;
}

/* Copies a frame into a packet (its own allocation when large: rare, GRO captures). */
static int pkt_fill(struct simpkt *p, const uint8_t *data, uint32_t caplen)
{
	if (caplen > INLINE_FRAME && !(p->frame = malloc(caplen))) {
		p->frame = p->buf;
		return -1;
	}
	memcpy(p->frame, data, caplen);
	p->caplen = caplen;
	return 0;
}

static void fail(struct model *m, const char *msg)
{
	if (!m->failed)
		snprintf(m->fail_msg, sizeof m->fail_msg, "%s", msg);
	m->failed = 1;
	sched_stop(m->s);
}

/* A source's file turned out damaged part way: the run stops, as one with bad input. */
static void fail_input(struct model *m, const char *msg)
{
	if (!m->failed)
		snprintf(m->fail_msg, sizeof m->fail_msg, "%s", msg);
	m->failed = 1;
	m->failed_input = 1;
	sched_stop(m->s);
}

static void at(struct model *m, struct sched_event *ev, uint64_t t, sched_fn *fn)
{
	if (sched_at(m->s, ev, t, fn))
		fail(m, "simulator: out of memory scheduling an event");
}

/* ---- the sink and link.out ------------------------------------------------------------- */

/* The sink only records: a packet's arrival time is known when it leaves the shaper, so it is
 * recorded then, without an event (the run's stop time is respected). */
static void sink_record(struct model *m, struct simpkt *p, uint64_t arrive)
{
	if (arrive > m->stop_ns)
		return;
	uint64_t d = arrive - p->t_src;
	m->sink_packets++;
	m->delay_sum_ns += d;
	struct simflow *f = p->flow;
	if (f && f->id == p->flow_id) {
		f->delay_sum_ns += d;
		if (f->rx)
			f->jitter_sum_ns += d > f->last_delay_ns ? d - f->last_delay_ns : f->last_delay_ns - d;
		f->last_delay_ns = d;
		f->rx++;
	}
}

static void forward(struct model *m, struct simpkt *p)
{
	uint64_t arrive;
	if (link_send(&m->out, sched_now(m->s), p->eg_wirelen, &arrive) != LINK_OK) {
		if (p->flow && p->flow->id == p->flow_id)
			p->flow->lost++;
		pkt_put(m, p);
		return;
	}
	sink_record(m, p, arrive);
	pkt_put(m, p);
}

/* ---- the CPU ---------------------------------------------------------------------------- */

static void cpu_next(struct model *m);
static void stats_at(struct model *m, uint64_t now);

static void sim_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		   uint32_t wirelen, uint64_t t_ns)
{
	(void)hdr, (void)hdr_len, (void)payload, (void)payload_len, (void)t_ns;
	struct model *m = arg;
	m->serving->eg_wirelen = wirelen;
}

static double path_cost(const struct model *m, const struct engine_result *r)
{
	switch (r->path) {
	case ENGINE_PATH_HIT:
		return m->cost.hit_ns;
	case ENGINE_PATH_SLOW:
		/* A miss whose pre-built packet failed paid for the failure; one with nothing
		 * pre-built paid the slow path (and a probe, which calibration finds negligible). */
		return r->prebuilt_failed ? m->cost.miss_ns : m->cost.slow_ns;
	case ENGINE_PATH_DROP:
		break;
	}
	return r->flow_app ? m->cost.slow_ns : m->cost.drop_ns; /* no route / TTL: the slow path ran */
}

static void jobs_push(struct model *m, struct craft_job j, int front)
{
	if (m->jobs_n == m->jobs_cap) {
		size_t cap = m->jobs_cap ? m->jobs_cap * 2 : 1024;
		struct craft_job *n = malloc(cap * sizeof *n);
		if (!n) {
			fail(m, "simulator: out of memory queueing crafting work");
			return;
		}
		for (size_t i = 0; i < m->jobs_n; i++)
			n[i] = m->jobs[(m->jobs_head + i) % m->jobs_cap];
		free(m->jobs);
		m->jobs = n;
		m->jobs_cap = cap;
		m->jobs_head = 0;
	}
	if (front) {
		m->jobs_head = (m->jobs_head + m->jobs_cap - 1) % m->jobs_cap;
		m->jobs[m->jobs_head] = j;
	} else {
		m->jobs[(m->jobs_head + m->jobs_n) % m->jobs_cap] = j;
	}
	m->jobs_n++;
}

static void cpu_done(struct sched *s, struct sched_event *ev)
{
	struct model *m = container_of(ev, struct model, cpu_ev);
	uint64_t now = sched_now(s);
	if (m->cpu_job) {
		m->cpu_job = 0;
		m->cpu_craft_ns += now - m->job_started;
		m->jobs_run++;
		engine_craft_ready(m->eng, m->job.ticket, now);
		cpu_next(m);
		return;
	}
	struct simpkt *p = m->serving;
	m->serving = NULL;
	lathist_add(&m->lat->all, now - p->t_arrive);
	if (m->serving_res.path == ENGINE_PATH_HIT)
		lathist_add(&m->lat->hit, now - p->t_arrive);
	else if (m->serving_res.path == ENGINE_PATH_SLOW)
		lathist_add(&m->lat->slow, now - p->t_arrive);
	if (m->serving_res.path == ENGINE_PATH_DROP)
		pkt_put(m, p);
	else
		forward(m, p);
	cpu_next(m);
}

/* Tells the engine's policy what the shaper went through since the last time: CPU busy
 * fraction, mean queueing delay, loss on the path (link losses and queue drops over what was
 * offered) and egress utilisation. */
static void policy_signals(struct model *m, uint64_t now)
{
	uint64_t dt = now - m->sig_t, cpu = m->cpu_pkt_ns + m->cpu_craft_ns;
	uint64_t lost = m->in.lost + m->in.queue_drops + m->out.lost + m->out.queue_drops + m->shaper_queue_drops;
	uint64_t offered = m->in.offered + m->out.offered;
	if (dt && m->sig_t) {
		struct policy_signals sg = { 0 };
		sg.cpu_util = (float)((double)(cpu - m->sig_cpu) / (double)dt);
		sg.queue_delay_us = m->sig_waits ? (float)((double)m->sig_wait_ns / (double)m->sig_waits / 1e3) : 0.0f;
		sg.loss = offered > m->sig_offered ? (float)((double)(lost - m->sig_lost) / (double)(offered - m->sig_offered))
						   : 0.0f;
		double cap = m->scn->out.rate_mbps * 1e6 / 8.0 * (double)dt / 1e9;
		sg.egress_util = cap > 0 ? (float)((double)(m->out.bytes - m->sig_out_bytes) / cap) : 0.0f;
		engine_policy_signals(m->eng, &sg);
	}
	m->sig_t = now;
	m->sig_cpu = cpu;
	m->sig_lost = lost;
	m->sig_offered = offered;
	m->sig_out_bytes = m->out.bytes;
	m->sig_wait_ns = m->sig_waits = 0;
	m->sig_next = now + engine_policy(m->eng)->cfg.control_ns;
}

/* Starts the next piece of work: the oldest waiting packet, else the oldest crafting job. */
static void cpu_next(struct model *m)
{
	uint64_t now = sched_now(m->s);
	struct simpkt *p = m->q_head;
	if (p) {
		m->q_head = p->next;
		if (!m->q_head)
			m->q_tail = NULL;
		m->q_len--;
		p->next = NULL;
		m->serving = p;
		stats_at(m, now);
		if (now >= m->sig_next)
			policy_signals(m, now);
		m->sig_wait_ns += now - p->t_arrive;
		m->sig_waits++;
		engine_process(m->eng, p->frame, p->caplen, p->wirelen, p->linktype, now, &m->serving_res);
		struct engine_result *r = &m->serving_res;
		if (r->flow_app) {
			struct simflow *f = r->flow_app;
			if (f->id != r->flow_id) {
				memset(f, 0, sizeof *f);
				f->id = r->flow_id;
			}
			p->flow = f;
			p->flow_id = r->flow_id;
		}
		m->iv_pkts++;
		m->iv_hits += r->path == ENGINE_PATH_HIT;
		if (r->crafted)
			jobs_push(m, (struct craft_job){ r->ticket, (uint64_t)(m->cost.craft_ns + 0.5) }, 0);
		uint64_t service = (uint64_t)(path_cost(m, r) + 0.5);
		m->cpu_pkt_ns += service;
		at(m, &m->cpu_ev, now + service, cpu_done);
		return;
	}
	while (m->jobs_n) {
		struct craft_job j = m->jobs[m->jobs_head];
		m->jobs_head = (m->jobs_head + 1) % m->jobs_cap;
		m->jobs_n--;
		if (!engine_craft_waiting(m->eng, j.ticket)) {
			m->jobs_skipped++; /* superseded or gone: not worth building any more */
			continue;
		}
		m->cpu_job = 1;
		m->job = j;
		m->job_started = now;
		at(m, &m->cpu_ev, now + j.remaining_ns, cpu_done);
		return;
	}
}

/* ---- the baseline server, analytical ---------------------------------------------------- */

/* Returns the baseline's latency for a packet arriving now, or -1 when its queue is full. */
static int64_t baseline_latency(struct model *m, uint64_t now)
{
	while (m->b_count && m->b_ring[m->b_head] <= now) {
		m->b_head = m->b_head + 1 == m->b_cap ? 0 : m->b_head + 1;
		m->b_count--;
	}
	if (m->b_count >= m->b_cap)
		return -1;
	uint64_t start = m->b_busy_until > now ? m->b_busy_until : now;
	m->b_busy_until = start + (uint64_t)(m->cost.slow_ns + 0.5);
	uint32_t tail = m->b_head + m->b_count;
	m->b_ring[tail >= m->b_cap ? tail - m->b_cap : tail] = m->b_busy_until;
	m->b_count++;
	return (int64_t)(m->b_busy_until - now);
}

/* ---- the shaper's ingress --------------------------------------------------------------- */

static void shaper_arrive(struct sched *s, struct sched_event *ev)
{
	struct simpkt *p = container_of(ev, struct simpkt, ev);
	struct model *m = sched_user(s);
	uint64_t now = sched_now(s);
	p->t_arrive = now;
	int64_t bl = baseline_latency(m, now);
	if (bl < 0)
		m->baseline_queue_drops++;
	else
		lathist_add(&m->lat->baseline, (uint64_t)bl);
	if (m->q_len + (m->serving ? 1 : 0) > m->scn->queue_pkts) {
		m->shaper_queue_drops++;
		pkt_put(m, p);
		return;
	}
	if (m->q_tail)
		m->q_tail->next = p;
	else
		m->q_head = p;
	m->q_tail = p;
	m->q_len++;
	if (m->cpu_job) { /* an arriving packet preempts crafting; the job resumes later */
		sched_cancel(s, &m->cpu_ev);
		m->cpu_job = 0;
		m->cpu_craft_ns += now - m->job_started;
		m->job.remaining_ns -= now - m->job_started;
		m->jobs_preempted++;
		jobs_push(m, m->job, 1);
	}
	if (!m->serving)
		cpu_next(m);
}

/* ---- sources ---------------------------------------------------------------------------- */

static void emit(struct model *m, struct simpkt *p)
{
	uint64_t arrive;
	m->source_packets++;
	if (link_send(&m->in, sched_now(m->s), p->wirelen, &arrive) != LINK_OK) {
		pkt_put(m, p);
		return;
	}
	at(m, &p->ev, arrive, shaper_arrive);
}

static void source_done(struct model *m)
{
	m->srcs_live--;
}

static uint64_t trace_time(const struct source *src)
{
	return src->t0 + (uint64_t)((double)src->ts.rel_ns / src->cfg->speed + 0.5);
}

static void trace_fire(struct sched *s, struct sched_event *ev)
{
	struct source *src = container_of(ev, struct source, ev);
	struct model *m = src->m;
	struct tstream *ts = &src->ts;
	struct simpkt *p = pkt_get(m);
	if (!p || pkt_fill(p, ts->data, ts->caplen)) {
		m->source_overflow++;
		if (p)
			pkt_put(m, p);
	} else {
		p->wirelen = ts->wirelen;
		p->linktype = ts->linktype;
		p->t_src = sched_now(s);
		frames_clone(p->frame, p->caplen, p->wirelen, p->linktype, src->clone);
		emit(m, p);
	}
	/* The next kept record, of this pass or the next. */
	struct errbuf eb;
	int rc = tstream_next(ts, &eb);
	if (rc == 0) {
		if (++src->loop >= src->cfg->loop) {
			source_done(m);
			return;
		}
		src->t0 += (uint64_t)((double)(ts->rel_ns + 1000) / src->cfg->speed + 0.5);
		rc = tstream_rewind(ts, &eb) == 0 ? 1 : -1;
	}
	if (rc < 0) {
		fail_input(m, eb.msg);
		return;
	}
	uint64_t next = trace_time(src);
	at(m, &src->ev, next > sched_now(s) ? next : sched_now(s), trace_fire);
}

/* A new synthetic flow in slot i. */
static void new_flow(struct source *src, uint32_t i)
{
	src->flow_gen[i] = src->next_gen++;
	src->seq[i] = 1;
	double n = src->cfg->flow_pkts_shape > 0 ? rng_pareto(src->rng, src->cfg->flow_pkts_shape, src->cfg->flow_pkts_min)
						 : 0;
	src->left[i] = n > 4e9 ? UINT32_MAX : (uint32_t)n;
}

static void synth_fire(struct sched *s, struct sched_event *ev)
{
	struct source *src = container_of(ev, struct source, ev);
	struct model *m = src->m;
	const struct scn_source *c = src->cfg;
	uint64_t now = sched_now(s);
	if (now >= src->end_ns) {
		source_done(m);
		return;
	}
	if (c->type == SCN_SRC_ONOFF && now >= src->period_end) {
		src->on = !src->on;
		src->period_end = now + (uint64_t)(rng_exponential(src->rng, (src->on ? c->on_ms : c->off_ms) * 1e6) + 1);
		if (!src->on) {
			at(m, &src->ev, src->period_end, synth_fire);
			return;
		}
	}
	uint32_t i = rng_below(src->rng, (uint32_t)c->flows);
	struct simpkt *p = pkt_get(m);
	if (!p) {
		m->source_overflow++;
	} else {
		int proto = c->proto == 1 ? 6 : 17;
		p->caplen = p->wirelen = frames_synth(p->frame, INLINE_FRAME, src->flow_gen[i], proto, src->seq[i],
						      src->ip_id++, (uint32_t)c->payload_bytes);
		p->linktype = PKT_LINK_ETH;
		p->t_src = now;
		src->seq[i] += (uint32_t)c->payload_bytes;
		if (src->left[i] && --src->left[i] == 0)
			new_flow(src, i);
		emit(m, p);
	}
	double gap = c->rate_pps > 0 ? rng_exponential(src->rng, 1e9 / c->rate_pps) : 1e18;
	at(m, &src->ev, now + (uint64_t)gap + 1, synth_fire);
}

static int setup_sources(struct model *m, struct errbuf *eb)
{
	const struct scenario *scn = m->scn;
	size_t n = 0;
	for (unsigned i = 0; i < scn->n_src; i++)
		n += scn->src[i].type == SCN_SRC_TRACE ? scn->src[i].clones : 1;
	if (n == 0)
		return err_set(eb, -ERR_FORMAT, "%s: the scenario has no [source.NAME] section",
			       *scn->path ? scn->path : "scenario");
	m->srcs = calloc(n, sizeof *m->srcs);
	if (!m->srcs)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	m->n_srcs_made = n; /* zeroed: teardown may free them all, made or not */
	size_t k = 0;
	for (unsigned i = 0; i < scn->n_src; i++) {
		const struct scn_source *c = &scn->src[i];
		uint64_t start = (uint64_t)(c->start_s * 1e9);
		if (c->type == SCN_SRC_TRACE) {
			char *path = m->trace_path[i];
			if (!*c->file)
				return err_set(eb, -ERR_FORMAT, "%s: [source.%s] is a trace and needs file =",
					       *scn->path ? scn->path : "scenario", c->name);
			scenario_resolve(scn, c->file, path, sizeof m->trace_path[i]);
			for (uint64_t cl = 0; cl < c->clones; cl++) {
				struct source *src = &m->srcs[k++];
				sched_event_init(&src->ev);
				src->m = m;
				src->cfg = c;
				src->clone = (uint32_t)cl;
				int rc = tstream_open(&src->ts, path, c, eb);
				if (rc)
					return rc;
				src->t0 = start + (uint64_t)((double)cl * c->clone_spacing_ms * 1e6);
				at(m, &src->ev, trace_time(src), trace_fire);
			}
		} else {
			struct source *src = &m->srcs[k++];
			sched_event_init(&src->ev);
			src->m = m;
			src->cfg = c;
			if (rng_create(scn->seed, scn->run, 10 + i, &src->rng))
				return err_set(eb, -ERR_NOMEM, "out of memory");
			src->flow_gen = calloc(c->flows, sizeof *src->flow_gen);
			src->left = calloc(c->flows, sizeof *src->left);
			src->seq = calloc(c->flows, sizeof *src->seq);
			if (!src->flow_gen || !src->left || !src->seq)
				return err_set(eb, -ERR_NOMEM, "out of memory for %llu flows", (unsigned long long)c->flows);
			/* Flow numbers are unique across sources. */
			src->next_gen = (uint64_t)i << 40;
			for (uint32_t f = 0; f < c->flows; f++)
				new_flow(src, f);
			src->end_ns = start + (uint64_t)(c->duration_s * 1e9);
			src->on = c->type != SCN_SRC_ONOFF;
			src->period_end = start;
			at(m, &src->ev, start, synth_fire);
		}
	}
	m->n_srcs = m->srcs_live = k;
	return 0;
}

/* ---- statistics ------------------------------------------------------------------------- */

/* The time series: one row per name for every interval in which a packet was served, written
 * when a later packet (or the end) shows the interval is over.  Idle intervals cost nothing, so a
 * capture with hour-long gaps simulates as fast as a dense one. */
static void stats_flush(struct model *m)
{
	if (m->rec && m->iv_pkts) {
		uint64_t t = m->iv_end;
		struct engine_stats es;
		engine_get_stats(m->eng, &es);
		rec_vector(m->rec, "hit_ratio", t, (double)m->iv_hits / (double)m->iv_pkts);
		rec_vector(m->rec, "packets", t, (double)m->iv_pkts);
		rec_vector(m->rec, "pool_bytes", t, (double)es.pool_bytes_held);
		rec_vector(m->rec, "shaper_queue", t, (double)m->q_len);
		rec_vector(m->rec, "link_out_backlog", t, (double)link_backlog(&m->out, t));
		rec_vector(m->rec, "flows_active", t, (double)es.flows_active);
		/* The policy's level per priority class: what it chose, as a time series. */
		const struct policy *pol = engine_policy(m->eng);
		if (pol->cfg.kind == POLICY_ADAPTIVE) {
			static const char *const lv[POLICY_CLASSES] = { "policy_level_low", "policy_level_normal",
									 "policy_level_high" };
			for (unsigned c = 0; c < POLICY_CLASSES; c++)
				rec_vector(m->rec, lv[c], t, policy_level(pol, c));
			rec_vector(m->rec, "policy_pressure", t, pol->pressure);
		}
	}
	m->iv_pkts = m->iv_hits = 0;
}

/* Called before a packet is served at 'now'. */
static void stats_at(struct model *m, uint64_t now)
{
	if (now < m->iv_end)
		return;
	stats_flush(m);
	m->iv_end = (now / m->interval_ns + 1) * m->interval_ns;
	if (m->o->interrupted && *m->o->interrupted)
		sched_stop(m->s);
	if (m->o->progress)
		m->o->progress(m->o->progress_arg, now, m->stop_ns == UINT64_MAX ? 0 : m->stop_ns, m->source_packets);
}

static void record_flow(void *arg, const struct engine_flow_info *fi)
{
	struct model *m = arg;
	if (!m->rec)
		return;
	const struct simflow *sf = fi->app;
	struct recorder_flow f;
	recorder_flow_init(&f, fi);
	if (sf->id == fi->id) {
		f.delay_sum_ns = sf->delay_sum_ns;
		f.jitter_sum_ns = sf->jitter_sum_ns;
		f.lost = sf->lost;
	}
	rec_flow(m->rec, &f);
}

/* ---- the run ---------------------------------------------------------------------------- */

static int load_costs(struct model *m, struct errbuf *eb)
{
	const struct scenario *scn = m->scn;
	int rc = costs_load(m->o->costs_path, &m->cost, eb);
	if (rc)
		return rc;
	double *c[] = { &m->cost.slow_ns, &m->cost.hit_ns, &m->cost.miss_ns, &m->cost.craft_ns, &m->cost.drop_ns };
	const double over[] = { scn->slow_ns, scn->hit_ns, scn->miss_ns, scn->craft_ns, scn->drop_ns };
	for (int i = 0; i < 5; i++) {
		if (over[i] > 0)
			*c[i] = over[i];
		*c[i] /= scn->cpu_speed;
	}
	return 0;
}

/* Parses "445,502" into at most POLICY_MAX_PORTS ports. */
static int parse_ports(const char *key, const char *s, uint16_t *ports, uint8_t *n, struct errbuf *eb)
{
	*n = 0;
	while (*s) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || v > 65535 || (*end && *end != ',') || *n == POLICY_MAX_PORTS)
			return err_set(eb, -ERR_FORMAT, "policy.%s: expected up to %d comma-separated ports, not '%s'", key,
				       POLICY_MAX_PORTS, s);
		ports[(*n)++] = (uint16_t)v;
		s = *end ? end + 1 : end;
	}
	return 0;
}

/* The engine's policy from the scenario's [policy] section, with the CPU budget's weights
 * from the cost profile. */
static int policy_from_scenario(struct model *m, struct policy_cfg *pc, struct errbuf *eb)
{
	const struct scenario *scn = m->scn;
	policy_cfg_defaults(pc);
	policy_cfg_kind(pc, (enum policy_kind)scn->policy);
	if (scn->admit_packets)
		pc->admit_packets = (uint32_t)scn->admit_packets;
	pc->admit_rate = (float)scn->admit_rate;
	pc->precision_floor = (float)scn->precision_floor;
	pc->overhead_ceiling = (float)scn->overhead_ceiling;
	pc->queue_target_us = (float)scn->queue_target_us;
	pc->control_ns = (uint64_t)(scn->control_ms * 1e6);
	pc->payload = scn->payload != 0;
	pc->high_dscp = (uint8_t)scn->high_dscp;
	pc->slow_ns = (float)m->cost.slow_ns, pc->hit_ns = (float)m->cost.hit_ns;
	pc->miss_ns = (float)m->cost.miss_ns, pc->craft_ns = (float)m->cost.craft_ns;
	int rc = parse_ports("high_ports", scn->high_ports, pc->high_ports, &pc->n_high_ports, eb);
	return rc ? rc : parse_ports("low_ports", scn->low_ports, pc->low_ports, &pc->n_low_ports, eb);
}

static int setup(struct model *m, struct errbuf *eb)
{
	const struct scenario *scn = m->scn;
	int rc;
	gsl_set_error_handler_off();
	if ((rc = load_costs(m, eb)) != 0)
		return rc;
	struct engine_cfg ec = *m->o->engine;
	if ((rc = policy_from_scenario(m, &ec.policy, eb)) != 0)
		return rc;
	ec.tx = sim_tx;
	ec.tx_arg = m;
	ec.app_flow_size = sizeof(struct simflow);
	ec.flow_end = record_flow;
	ec.flow_end_arg = m;
	ec.craft_ready_explicit = true;
	if ((rc = engine_create(&ec, &m->eng, eb)) != 0)
		return rc;
	if ((rc = sched_create(1024, &m->s)) != 0)
		return err_set(eb, rc, "out of memory");
	sched_set_user(m->s, m);
	if (rng_create(scn->seed, scn->run, 1, &m->rng_in) || rng_create(scn->seed, scn->run, 2, &m->rng_out) ||
	    link_init(&m->in, &scn->in, m->rng_in) || link_init(&m->out, &scn->out, m->rng_out))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	m->b_cap = (uint32_t)(scn->queue_pkts + 1);
	m->b_ring = malloc(m->b_cap * sizeof *m->b_ring);
	if ((m->lat = malloc(sizeof *m->lat)) != NULL)
		latency_set_init(m->lat);
	if (!m->b_ring || !m->lat)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	sched_event_init(&m->cpu_ev);
	m->interval_ns = (uint64_t)(scn->stats_interval_ms * 1e6);
	if (m->interval_ns == 0)
		m->interval_ns = 1;
	return setup_sources(m, eb);
}

static void write_scalars(struct model *m, const struct engine_stats *es, struct sim_summary *sum)
{
	uint64_t sim_ns = sched_now(m->s);
	sum->source_packets = m->source_packets;
	sum->packets_in = es->packets_in;
	sum->packets_out = es->packets_out;
	sum->sink_packets = m->sink_packets;
	sum->flows = es->flows;
	sum->hits = es->hits;
	sum->strict_hits = es->strict_hits;
	sum->misses = es->misses;
	sum->late = es->late;
	sum->crafted = es->crafted;
	sum->wasted = es->wasted;
	sum->divergent_packets = es->divergent_packets;
	sum->latency_p50_ns = lathist_quantile(&m->lat->all, 0.5);
	sum->latency_p99_ns = lathist_quantile(&m->lat->all, 0.99);
	sum->baseline_latency_p50_ns = lathist_quantile(&m->lat->baseline, 0.5);
	sum->baseline_latency_p99_ns = lathist_quantile(&m->lat->baseline, 0.99);
	sum->e2e_delay_mean_ns = m->sink_packets ? (double)m->delay_sum_ns / (double)m->sink_packets : 0;
	sum->sim_seconds = (double)sim_ns / 1e9;
	if (!m->rec)
		return;
	engine_stats_record(es, m->rec);
	latency_set_record(m->lat, m->rec);
	const struct policy *pol = engine_policy(m->eng);
	uint64_t back = 0, jumps = 0, skipped = 0;
	for (size_t i = 0; i < m->n_srcs; i++) /* each trace once: its first clone */
		if (m->srcs[i].cfg->type == SCN_SRC_TRACE && m->srcs[i].clone == 0) {
			back += m->srcs[i].ts.backwards;
			jumps += m->srcs[i].ts.jumps;
			skipped += m->srcs[i].ts.skipped;
		}
	double base_cpu = (double)es->packets_in * m->cost.slow_ns;
	/* The simulator's own scalars: the topology, the CPU model, the policy's work. */
	const struct {
		const char *name;
		double v;
	} sc[] = {
		{ "source_packets", (double)m->source_packets },
		{ "source_overflow", (double)m->source_overflow },
		{ "source_ts_backwards", (double)back },
		{ "source_ts_jumps", (double)jumps },
		{ "source_ts_skipped", (double)skipped },
		{ "sink_packets", (double)m->sink_packets },
		{ "e2e_delay_mean_ns", sum->e2e_delay_mean_ns },
		{ "link_in_queue_drops", (double)m->in.queue_drops },
		{ "link_in_lost", (double)m->in.lost },
		{ "link_out_queue_drops", (double)m->out.queue_drops },
		{ "link_out_lost", (double)m->out.lost },
		{ "shaper_queue_drops", (double)m->shaper_queue_drops },
		{ "baseline_queue_drops", (double)m->baseline_queue_drops },
		{ "cpu_packet_ns", (double)m->cpu_pkt_ns },
		{ "cpu_craft_ns", (double)m->cpu_craft_ns },
		{ "cpu_baseline_ns", base_cpu },
		{ "craft_jobs_run", (double)m->jobs_run },
		{ "craft_jobs_skipped", (double)m->jobs_skipped },
		{ "craft_jobs_preempted", (double)m->jobs_preempted },
		{ "sim_time_ns", (double)sim_ns },
		{ "cost_slow_ns", m->cost.slow_ns },
		{ "cost_hit_ns", m->cost.hit_ns },
		{ "cost_miss_ns", m->cost.miss_ns },
		{ "cost_craft_ns", m->cost.craft_ns },
		/* The budgets: extra CPU time and memory over the baseline. */
		{ "extra_cpu", base_cpu > 0 ? ((double)(m->cpu_pkt_ns + m->cpu_craft_ns) - base_cpu) / base_cpu : 0 },
		{ "extra_memory", es->flow_table_bytes ? (double)es->pool_bytes_peak / (double)es->flow_table_bytes : 0 },
		{ "policy_admitted", (double)pol->admitted },
		{ "policy_refused_admission", (double)pol->refused_admission },
		{ "policy_backoffs", (double)pol->backoffs },
		{ "policy_budget_denied", (double)pol->budget_denied },
		{ "policy_level_denied", (double)pol->level_denied },
	};
	for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
		rec_scalar(m->rec, sc[i].name, sc[i].v);
}

static void teardown(struct model *m)
{
	engine_destroy(m->eng);
	sched_destroy(m->s);
	link_fini(&m->in);
	link_fini(&m->out);
	rng_destroy(m->rng_in);
	rng_destroy(m->rng_out);
	for (size_t i = 0; m->srcs && i < m->n_srcs_made; i++) {
		tstream_close(&m->srcs[i].ts);
		rng_destroy(m->srcs[i].rng);
		free(m->srcs[i].flow_gen);
		free(m->srcs[i].left);
		free(m->srcs[i].seq);
	}
	free(m->srcs);
	for (size_t i = 0; i < m->n_blocks; i++) {
		/* Large frames still held by packets in flight (an interrupted run). */
		for (int k = 0; k < 1024; k++)
			if (m->pkt_blocks[i][k].frame != m->pkt_blocks[i][k].buf)
				free(m->pkt_blocks[i][k].frame);
		free(m->pkt_blocks[i]);
	}
	free(m->pkt_blocks);
	free(m->jobs);
	free(m->b_ring);
	free(m->lat);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int sim_run(const struct scenario *scn, const struct sim_opts *o, struct sim_summary *sum, struct errbuf *eb)
{
	struct model *m = calloc(1, sizeof *m);
	if (!m)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	memset(sum, 0, sizeof *sum);
	m->scn = scn;
	m->o = o;
	m->rec = o->rec;
	int rc = setup(m, eb);
	if (!rc) {
		uint64_t t0 = wall_ns();
		uint64_t stop = scn->stop_s > 0 ? (uint64_t)(scn->stop_s * 1e9) : UINT64_MAX;
		m->stop_ns = stop;
		sum->events = sched_run(m->s, stop);
		sum->wall_seconds = (double)(wall_ns() - t0) / 1e9;
		sum->interrupted = o->interrupted && *o->interrupted;
		if (m->failed)
			rc = err_set(eb, m->failed_input ? -ERR_FORMAT : -ERR_NOMEM, "%s", m->fail_msg);
		struct engine_stats es;
		stats_flush(m);
		engine_finish(m->eng); /* flows end: their rows are written */
		engine_get_stats(m->eng, &es);
		write_scalars(m, &es, sum);
	}
	teardown(m);
	free(m);
	return rc;
}
