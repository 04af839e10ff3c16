/* model: the simulated topology and its run (see model.h): packets, statistics, setup and
 * teardown.  The shaper's CPU is in cpu.c, the sources in source.c. */
#include "model.h"

#include <gsl/gsl_errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock_mono.h"
#include "core/lathist.h"
#include "core/recorder.h"
#include "core/stats.h"
#include "model_impl.h"

/* ---- packets ---------------------------------------------------------------------------- */

struct simpkt *model__pkt_get(struct model *m)
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
			blk[i].big = NULL;
			blk[i].eg = NULL;
			blk[i].eg_cap = 0;
			blk[i].next = m->free_pkts;
			m->free_pkts = &blk[i];
		}
	}
	struct simpkt *p = m->free_pkts;
	m->free_pkts = p->next;
	p->next = NULL;
	sched_event_init(&p->ev);
	p->frame = p->buf; /* 'big' is NULL in every free packet */
	p->flow = NULL;
	p->flow_id = 0;
	p->eg_set = false;
	m->in_flight++;
	return p;
}

void model__pkt_put(struct model *m, struct simpkt *p)
{
	free(p->big);
	p->big = NULL;
	p->frame = p->buf;
	p->next = m->free_pkts;
	m->free_pkts = p;
	m->in_flight--;
}

/* Copies a frame into a packet (its own allocation when large: rare, GRO captures). */
uint8_t *model__pkt_fill(struct simpkt *p, const uint8_t *data, uint32_t caplen)
{
	uint8_t *w = p->buf;
	if (caplen > INLINE_FRAME && !(w = p->big = malloc(caplen)))
		return NULL;
	memcpy(w, data, caplen);
	p->frame = w;
	p->caplen = caplen;
	return w;
}

void model__fail(struct model *m, int err, const char *msg)
{
	if (!m->fail_err) {
		m->fail_err = err;
		snprintf(m->fail_msg, sizeof m->fail_msg, "%s", msg);
	}
	sched_stop(m->s);
}

/* What a refused event means: a time past SIM_TIME_MAX is the configuration's extremes, not a
 * shortage of memory. */
static void schedule_failed(struct model *m, int rc, uint64_t t)
{
	char msg[256];
	if (t > SIM_TIME_MAX || rc == -ERR_INVAL) {
		snprintf(msg, sizeof msg,
			 "simulator: simulated time passes 146 years (an event at %.3g s): the costs (shaper.*_ns, "
			 "shaper.cpu_speed = %g), link rates or source timing are too extreme",
			 (double)t / 1e9, m->scn->cpu_speed);
		model__fail(m, -ERR_INVAL, msg);
	} else {
		model__fail(m, -ERR_NOMEM, "simulator: out of memory scheduling an event");
	}
}

void model__at(struct model *m, struct sched_event *ev, uint64_t t, sched_fn *fn)
{
	int rc = t > SIM_TIME_MAX ? -ERR_INVAL : sched_at(m->s, ev, t, fn);
	if (rc)
		schedule_failed(m, rc, t);
	else if (m->io)
		m->io->wake(m->io->arg, t);
}

void model__arrive_at(struct model *m, struct sched_event *ev, uint64_t t, sched_fn *fn)
{
	int rc = t > SIM_TIME_MAX ? -ERR_INVAL : sched_at_fifo(m->s, m->in_fifo, ev, t, fn);
	if (rc)
		schedule_failed(m, rc, t);
	else if (m->io)
		m->io->wake(m->io->arg, t);
}

/* ---- statistics ------------------------------------------------------------------------- */

/* The time series: one row per name for every interval in which a packet was served, written
 * when a later packet (or the end) shows the interval is over.  Idle intervals cost nothing, so a
 * capture with hour-long gaps simulates as fast as a dense one. */
void model__stats_flush(struct model *m)
{
	if (m->rec && m->iv_pkts) {
		uint64_t t = m->iv_end, q = 0, pool = 0, flows = 0;
		for (unsigned i = 0; i < m->n_cpus; i++) {
			struct simcpu *c = &m->cpus[i];
			struct engine_stats es;
			engine_get_stats(c->eng, &es);
			q += c->q_len;
			pool += es.pool_bytes_held;
			flows += es.flows_active;
			/* The work started since the last row, over one interval: rows are written only
			 * for intervals in which packets were served.  Only with several CPUs: with one,
			 * an eighth more rows cost the 10 ms runs 8 % of their time. */
			if (m->n_cpus > 1) {
				uint64_t busy = c->pkt_ns + c->craft_ns;
				rec_vector(m->rec, c->util_name, t, (double)(busy - c->iv_busy) / (double)m->interval_ns);
				c->iv_busy = busy;
			}
		}
		rec_vector(m->rec, "hit_ratio", t, (double)m->iv_hits / (double)m->iv_pkts);
		rec_vector(m->rec, "packets", t, (double)m->iv_pkts);
		rec_vector(m->rec, "pool_bytes", t, (double)pool);
		rec_vector(m->rec, "shaper_queue", t, (double)q);
		if (!m->io) /* a node's link.out is the host's */
			rec_vector(m->rec, "link_out_backlog", t, (double)link_backlog(&m->out, t));
		rec_vector(m->rec, "flows_active", t, (double)flows);
		/* The policy's level per priority class: what it chose, as a time series (the mean
		 * over the CPUs, each of which has its own policy). */
		if (engine_policy(m->cpus[0].eng)->cfg.kind == POLICY_ADAPTIVE) {
			static const char *const lv[POLICY_CLASSES] = { "policy_level_low", "policy_level_normal",
									 "policy_level_high" };
			for (unsigned k = 0; k < POLICY_CLASSES; k++) {
				double sum = 0;
				for (unsigned i = 0; i < m->n_cpus; i++)
					sum += policy_level(engine_policy(m->cpus[i].eng), k);
				rec_vector(m->rec, lv[k], t, sum / m->n_cpus);
			}
			double pr = 0;
			for (unsigned i = 0; i < m->n_cpus; i++)
				pr += engine_policy(m->cpus[i].eng)->pressure;
			rec_vector(m->rec, "policy_pressure", t, pr / m->n_cpus);
		}
	}
	m->iv_pkts = m->iv_hits = 0;
}

/* Called before a packet is served at 'now'. */
void model__stats_at(struct model *m, uint64_t now)
{
	if (now < m->iv_end)
		return;
	model__stats_flush(m);
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

static int setup(struct model *m, struct errbuf *eb)
{
	const struct scenario *scn = m->scn;
	int rc;
	gsl_set_error_handler_off();
	if ((rc = model__load_costs(m, eb)) != 0)
		return rc;
	struct engine_cfg ec = *m->o->engine;
	if ((rc = model__policy(m, &ec.policy, eb)) != 0)
		return rc;
	ec.tx = model__tx;
	ec.tx_arg = m;
	ec.app_flow_size = sizeof(struct simflow);
	ec.flow_end = record_flow;
	ec.flow_end_arg = m;
	ec.craft_ready_explicit = true;
	if ((rc = sched_create(1024, &m->s)) != 0 || (rc = sched_fifo_create(m->s, &m->in_fifo)) != 0)
		return err_set(eb, rc, "out of memory");
	sched_set_user(m->s, m);
	if ((rc = model__cpus_setup(m, &ec, 0, eb)) != 0)
		return rc;
	if (m->o->engine2) {
		struct engine_cfg ec2 = *m->o->engine2;
		ec2.policy = ec.policy;
		ec2.tx = model__tx;
		ec2.app_flow_size = sizeof(struct simflow);
		ec2.craft_ready_explicit = true; /* no flow_end: gateway 1's flows write the rows */
		if ((rc = model__gw2_setup(m, &ec2, eb)) != 0)
			return rc;
	}
	if ((rc = model__hcl_setup(m, eb)) != 0)
		return rc;
	if (!(m->e2e = malloc(sizeof *m->e2e)))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	lathist_init(m->e2e);
	if (rng_create(scn->seed, scn->run, 1, &m->rng_in) || rng_create(scn->seed, scn->run, 2, &m->rng_out) ||
	    link_init(&m->in, &scn->in, m->rng_in) || link_init(&m->out, &scn->out, m->rng_out))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	if ((m->lat = malloc(sizeof *m->lat)) != NULL)
		latency_set_init(m->lat);
	if (!m->lat)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	m->interval_ns = (uint64_t)(scn->stats_interval_ms * 1e6);
	if (m->interval_ns == 0)
		m->interval_ns = 1;
	return model__setup_sources(m, eb);
}

static void teardown(struct model *m)
{
	sched_destroy(m->s); /* first: it lets go of the CPUs' events */
	model__cpus_free(m);
	model__hcl_free(m);
	free(m->e2e);
	link_fini(&m->in);
	link_fini(&m->out);
	rng_destroy(m->rng_in);
	rng_destroy(m->rng_out);
	rng_destroy(m->rng_phase);
	for (size_t i = 0; m->srcs && i < m->n_srcs; i++) {
		tstream_close(&m->srcs[i].ts);
		rng_destroy(m->srcs[i].rng);
		free(m->srcs[i].flow_gen);
		free(m->srcs[i].left);
		free(m->srcs[i].seq);
	}
	free(m->srcs);
	for (size_t i = 0; i < m->n_blocks; i++) {
		/* Large frames still held by packets in flight (an interrupted run). */
		for (int k = 0; k < 1024; k++) {
			free(m->pkt_blocks[i][k].big);
			free(m->pkt_blocks[i][k].eg);
		}
		free(m->pkt_blocks[i]);
	}
	free(m->pkt_blocks);
	free(m->lat);
	free(m->lat2);
}

/* The scenario with every time of its sources and its stop time divided by 'f' (rates
 * multiplied): the same packets in the same order, f times as dense, so the same work over a
 * window f times as short (link delays and costs are not scaled: that is the point). */
static void scale_time(struct scenario *scn, double f)
{
	if (scn->stop_s > 0)
		scn->stop_s /= f;
	for (unsigned i = 0; i < scn->n_src; i++) {
		struct scn_source *c = &scn->src[i];
		c->start_s /= f;
		c->clone_spacing_ms /= f;
		c->speed *= f;
		c->rate_pps *= f;
		c->duration_s /= f;
		c->on_ms /= f;
		c->off_ms /= f;
	}
}

static int run_once(const struct scenario *scn, const struct sim_opts *o, double scale, struct sim_summary *sum,
		    struct errbuf *eb);

static int run_once(const struct scenario *scn, const struct sim_opts *o, double scale, struct sim_summary *sum,
		    struct errbuf *eb);

/* run.load = rho: a pilot run of the scenario as it is, in baseline mode and recording
 * nothing, measures its offered load rho1 with the same code as every run; the run is then the
 * scenario scaled in time by rho / rho1, whose offered load is rho (exactly, but for what the
 * ingress link's queue does to arrival times at high rates).  '*f' the factor, 'sum' the
 * pilot's. */
static int load_scale(const struct scenario *scn, const struct sim_opts *o, struct sim_summary *sum, double *f,
		      struct errbuf *eb)
{
	struct engine_cfg pilot_engine = *o->engine, pilot_engine2;
	pilot_engine.mode = ENGINE_BASELINE;
	if (o->engine2) {
		pilot_engine2 = *o->engine2;
		pilot_engine2.mode = ENGINE_BASELINE;
	}
	struct sim_opts po = { .engine = &pilot_engine, .engine2 = o->engine2 ? &pilot_engine2 : NULL,
			       .costs_path = o->costs_path, .interrupted = o->interrupted };
	struct scenario *quiet = malloc(sizeof *quiet);
	if (!quiet)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	*quiet = *scn;
	quiet->stats_interval_ms = 1e9; /* no time series: nothing is recorded */
	int rc = run_once(quiet, &po, 1, sum, eb);
	free(quiet);
	double rho1 = sum->offered_load;
	if (!rc && !(rho1 > 0))
		rc = err_set(eb, -ERR_FORMAT, "run.load = %g: the sources offer no load to scale (fewer than 2 packets reach the shaper)",
			     scn->load);
	*f = rc ? 1 : scn->load / rho1;
	if (!rc && !(*f >= 1e-6 && *f <= 1e6))
		rc = err_set(eb, -ERR_FORMAT, "run.load = %g: the sources offer %g; scaling them by %g is past what the sources allow",
			     scn->load, rho1, *f);
	return rc;
}

int model__scaled(const struct scenario *scn, const struct sim_opts *o, struct scenario **scaled, double *f,
		  struct errbuf *eb)
{
	*scaled = NULL;
	*f = 1;
	if (!(scn->load > 0))
		return 0;
	struct sim_summary pilot;
	int rc = load_scale(scn, o, &pilot, f, eb);
	if (rc || (o->interrupted && *o->interrupted))
		return rc;
	if (!(*scaled = malloc(sizeof **scaled)))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	**scaled = *scn;
	scale_time(*scaled, *f);
	return 0;
}

int sim_run(const struct scenario *scn, const struct sim_opts *o, struct sim_summary *sum, struct errbuf *eb)
{
	struct scenario *scaled;
	double f;
	int rc = model__scaled(scn, o, &scaled, &f, eb);
	if (!rc && scn->load > 0 && !scaled) /* interrupted during the pilot */
		memset(sum, 0, sizeof *sum), sum->interrupted = 1;
	else if (!rc)
		rc = run_once(scaled ? scaled : scn, o, f, sum, eb);
	free(scaled);
	return rc;
}

int model__open(const struct scenario *scn, const struct sim_opts *o, double scale, const struct sim_node_io *io,
		struct model **out, struct errbuf *eb)
{
	struct model *m = calloc(1, sizeof *m);
	*out = NULL;
	if (!m)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	m->scn = scn;
	m->o = o;
	m->rec = o->rec;
	m->io = io;
	m->time_scale = scale;
	m->stop_ns = scn->stop_s > 0 ? (uint64_t)(scn->stop_s * 1e9) : UINT64_MAX;
	int rc = setup(m, eb);
	if (rc) {
		model__close(m);
		return rc;
	}
	*out = m;
	return 0;
}

void model__finish(struct model *m, struct sim_summary *sum)
{
	struct engine_stats es = { 0 };
	model__stats_flush(m);
	for (unsigned i = 0; i < m->n_cpus; i++) {
		struct engine_stats one;
		engine_finish(m->cpus[i].eng); /* flows end: their rows are written */
		engine_get_stats(m->cpus[i].eng, &one);
		engine_stats_add(&es, &one);
	}
	model__write_scalars(m, &es, sum);
	if (m->cpus2)
		model__gw2_scalars(m, sum);
}

void model__close(struct model *m)
{
	if (m)
		teardown(m);
	free(m);
}

static int run_once(const struct scenario *scn, const struct sim_opts *o, double scale, struct sim_summary *sum,
		    struct errbuf *eb)
{
	struct model *m;
	memset(sum, 0, sizeof *sum);
	int rc = model__open(scn, o, scale, NULL, &m, eb);
	if (rc)
		return rc;
	uint64_t t0 = clock_mono_ns();
	sum->events = sched_run(m->s, m->stop_ns);
	sum->wall_seconds = (double)(clock_mono_ns() - t0) / 1e9;
	sum->interrupted = o->interrupted && *o->interrupted;
	if (m->fail_err)
		rc = err_set(eb, m->fail_err, "%s", m->fail_msg);
	model__finish(m, sum);
	model__close(m);
	return rc;
}
