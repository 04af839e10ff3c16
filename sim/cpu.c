/* cpu: the shaper's CPUs and the RSS hash that feeds them, the analytical baseline servers, and
 * the sink (see model.h for the model they make). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lathist.h"
#include "core/pkt.h"
#include "model_impl.h"

/* ---- the sink and link.out ------------------------------------------------------------- */

/* The sink only records: a packet's arrival time is known when it leaves the shaper, so it is
 * recorded then, without an event (the run's stop time is respected). */
void model__sink_flow(struct model *m, uint64_t arrive, uint64_t t_src, uint32_t wirelen, struct simflow *f,
		      uint64_t flow_id)
{
	if (arrive > m->stop_ns)
		return;
	uint64_t d = arrive - t_src;
	m->sink_packets++;
	m->sink_bytes += wirelen;
	lathist_add(m->e2e, d);
	m->delay_sum_ns += d;
	if (f && f->id == flow_id) {
		f->delay_sum_ns += d;
		if (f->rx)
			f->jitter_sum_ns += d > f->last_delay_ns ? d - f->last_delay_ns : f->last_delay_ns - d;
		f->last_delay_ns = d;
		f->rx++;
	}
}

void model__sink(struct model *m, struct simpkt *p, uint64_t arrive)
{
	model__sink_flow(m, arrive, p->t_src, p->eg_wirelen, p->flow, p->flow_id);
}

static void forward(struct model *m, struct simpkt *p)
{
	uint64_t arrive;
	if (m->io) { /* a node of another simulator: its link.out is the host's */
		struct sim_node_ref ref = { p->t_src, p->flow_id, p->flow };
		if (p->eg_set)
			m->io->egress(m->io->arg, p->eg, p->eg_wirelen, p->eg_wirelen, &ref, sched_now(m->s));
		model__pkt_put(m, p);
		return;
	}
	enum link_verdict v = m->hcl ? model__hcl_send(m, p, &arrive) : link_send(&m->out, sched_now(m->s), p->eg_wirelen, &arrive);
	if (v != LINK_OK) {
		if (p->flow && p->flow->id == p->flow_id)
			p->flow->lost++;
		model__pkt_put(m, p);
		return;
	}
	model__sink(m, p, arrive);
	model__pkt_put(m, p);
}

/* ---- a CPU ------------------------------------------------------------------------------ */

static void cpu_next(struct simcpu *c);
static double path_cost_plain(const struct model *m, const struct engine_result *r);

void model__tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
	       uint32_t wirelen, uint64_t t_ns)
{
	(void)t_ns;
	struct simcpu *c = arg;
	struct simpkt *p = c->serving;
	p->eg_wirelen = wirelen;
	if (c->gw || (!c->m->cpus2 && !c->m->hcl && !c->m->io))
		return;
	/* The second gateway (or link.out's compressor) receives these bytes: kept apart (the frame the engine still reads is
	 * the ingress one), in the slot's buffer, grown only past its largest frame yet. */
	if (wirelen > p->eg_cap) {
		uint8_t *n = realloc(p->eg, wirelen);
		if (!n) {
			model__fail(c->m, -ERR_NOMEM, "simulator: out of memory keeping a frame for the second gateway");
			return;
		}
		p->eg = n;
		p->eg_cap = wirelen;
	}
	p->eg_set = true;
	memcpy(p->eg, hdr, hdr_len);
	if (payload_len)
		memcpy(p->eg + hdr_len, payload, payload_len);
	memset(p->eg + hdr_len + payload_len, 0, wirelen - hdr_len - payload_len);
}

/* What sealing cost, by how it was sealed (esp.h), over the path's own cost. */
static double esp_cost(const struct model *m, const struct engine_result *r)
{
	static const int kind[] = { -1, COSTS_ESP_SEAL, COSTS_ESP_KEYED, COSTS_ESP_ANTICIPATED };
	if (!r->esp_how || r->esp_how > 3)
		return 0;
	/* A ring entry shorter than the packet: the rest of its keystream made on the path. */
	return costs_esp(&m->cost, (enum costs_esp_kind)kind[r->esp_how], r->esp_len) +
	       (r->esp_extended ? costs_esp(&m->cost, COSTS_ESP_KEYSTREAM, r->esp_extended) : 0);
}

/* What opening cost (a second gateway), by how it was opened. */
static double open_cost(const struct model *m, const struct engine_result *r)
{
	static const int kind[] = { -1, COSTS_ESP_OPEN, COSTS_ESP_OPEN_KEYED, COSTS_ESP_OPEN_ANTICIPATED };
	if (!r->esp_open_how || r->esp_open_how > 3)
		return 0;
	return costs_esp(&m->cost, (enum costs_esp_kind)kind[r->esp_open_how], r->esp_open_len);
}

static double path_cost(const struct model *m, const struct engine_result *r)
{
	return path_cost_plain(m, r) + esp_cost(m, r) + open_cost(m, r);
}

static double path_cost_plain(const struct model *m, const struct engine_result *r)
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

/* The job deque is a ring of a power-of-two size: positions wrap with a mask, not a division
 * (two a packet). */
static void jobs_push(struct simcpu *c, struct craft_job j, int front)
{
	if (c->jobs_n == c->jobs_cap) {
		size_t cap = c->jobs_cap ? c->jobs_cap * 2 : 1024;
		struct craft_job *n = malloc(cap * sizeof *n);
		if (!n) {
			model__fail(c->m, -ERR_NOMEM, "simulator: out of memory queueing crafting work");
			return;
		}
		for (size_t i = 0; i < c->jobs_n; i++)
			n[i] = c->jobs[(c->jobs_head + i) & (c->jobs_cap - 1)];
		free(c->jobs);
		c->jobs = n;
		c->jobs_cap = cap;
		c->jobs_head = 0;
	}
	if (front) {
		c->jobs_head = (c->jobs_head - 1) & (c->jobs_cap - 1);
		c->jobs[c->jobs_head] = j;
	} else {
		c->jobs[(c->jobs_head + c->jobs_n) & (c->jobs_cap - 1)] = j;
	}
	c->jobs_n++;
}

static void cpu_done(struct sched *s, struct sched_event *ev)
{
	struct simcpu *c = container_of(ev, struct simcpu, ev);
	struct model *m = c->m;
	uint64_t now = sched_now(s);
	if (c->job_running) {
		c->job_running = 0;
		c->craft_ns += now - c->job_started;
		c->jobs_run++;
		engine_work_ready(c->eng, &c->job.ticket, now);
		cpu_next(c);
		return;
	}
	struct simpkt *p = c->serving;
	c->serving = NULL;
	struct latency_set *lat = c->gw ? m->lat2 : m->lat;
	lathist_add(&lat->all, now - p->t_arrive);
	if (c->serving_res.path == ENGINE_PATH_HIT)
		lathist_add(&lat->hit, now - p->t_arrive);
	else if (c->serving_res.path == ENGINE_PATH_SLOW)
		lathist_add(&lat->slow, now - p->t_arrive);
	if (c->serving_res.path == ENGINE_PATH_DROP) {
		model__pkt_put(m, p);
	} else if (c->gw) { /* the second gateway hands its packets to the sink */
		model__sink(m, p, now);
		model__pkt_put(m, p);
	} else if (m->cpus2) {
		model__to_gw2(m, p);
	} else {
		forward(m, p);
	}
	cpu_next(c);
}

/* Tells the CPU's policy what it went through since the last time: its busy fraction, the mean
 * queueing delay in front of it, loss on the path (link losses and queue drops over what was
 * offered) and egress utilisation. */
static void policy_signals(struct simcpu *c, uint64_t now)
{
	struct model *m = c->m;
	uint64_t dt = now - c->sig_t, cpu = c->pkt_ns + c->craft_ns;
	uint64_t lost = m->in.lost + m->in.queue_drops + m->out.lost + m->out.queue_drops + m->shaper_queue_drops;
	uint64_t offered = m->in.offered + m->out.offered;
	if (dt && c->sig_t) {
		struct policy_signals sg = { 0 };
		sg.cpu_util = (float)((double)(cpu - c->sig_cpu) / (double)dt);
		sg.queue_delay_us = c->sig_waits ? (float)((double)c->sig_wait_ns / (double)c->sig_waits / 1e3) : 0.0f;
		sg.loss = offered > c->sig_offered ? (float)((double)(lost - c->sig_lost) / (double)(offered - c->sig_offered))
						   : 0.0f;
		double cap = m->scn->out.rate_mbps * 1e6 / 8.0 * (double)dt / 1e9;
		sg.egress_util = cap > 0 ? (float)((double)(m->out.bytes - c->sig_out_bytes) / cap) : 0.0f;
		engine_policy_signals(c->eng, &sg);
	}
	c->sig_t = now;
	c->sig_cpu = cpu;
	c->sig_lost = lost;
	c->sig_offered = offered;
	c->sig_out_bytes = m->out.bytes;
	c->sig_wait_ns = c->sig_waits = 0;
	c->sig_next = now + engine_policy(c->eng)->cfg.control_ns;
}

/* What each kind of work made ahead (engine.h) costs the CPU, in nanoseconds. */
static double build_work_cost(const struct cost_profile *k, const struct engine_work *w)
{
	return k->craft_ns * w->units;
}

static double esp_work_cost(const struct cost_profile *k, const struct engine_work *w)
{
	/* keystreams, and the anticipated packet sealed */
	return (w->units ? costs_esp(k, COSTS_ESP_KEYSTREAM, w->units) : 0) +
	       (w->units2 ? costs_esp(k, COSTS_ESP_SEAL, w->units2) : 0);
}

static double (*const work_cost[ENGINE_WORK__COUNT])(const struct cost_profile *, const struct engine_work *) = {
	[ENGINE_WORK_BUILD] = build_work_cost,
	[ENGINE_WORK_ESP] = esp_work_cost,
	[ENGINE_WORK_PREFETCH] = build_work_cost, /* the templates a DNS answer announced: one build each */
};

/* Starts the next piece of work: the oldest waiting packet, else the oldest crafting job. */
static void cpu_next(struct simcpu *c)
{
	struct model *m = c->m;
	uint64_t now = sched_now(m->s);
	struct simpkt *p = c->q_head;
	if (p) {
		c->q_head = p->next;
		if (!c->q_head)
			c->q_tail = NULL;
		c->q_len--;
		p->next = NULL;
		c->serving = p;
		model__stats_at(m, now);
		if (now >= c->sig_next)
			policy_signals(c, now);
		c->sig_wait_ns += now - p->t_arrive;
		c->sig_waits++;
		engine_process(c->eng, p->frame, p->caplen, p->wirelen, p->linktype, now, &c->serving_res);
		struct engine_result *r = &c->serving_res;
		/* The flow's delays are the first gateway's flow's: the second's flows write no rows. */
		if (r->flow_app && !c->gw) {
			struct simflow *f = r->flow_app;
			if (f->id != r->flow_id) {
				memset(f, 0, sizeof *f);
				f->id = r->flow_id;
			}
			p->flow = f;
			p->flow_id = r->flow_id;
		}
		c->packets++;
		m->iv_pkts++;
		m->iv_hits += r->path == ENGINE_PATH_HIT;
		for (unsigned i = 0; i < r->n_work; i++) {
			const struct engine_work *w = &r->work[i];
			jobs_push(c, (struct craft_job){ w->t, (uint64_t)(work_cost[w->t.kind](&m->cost, w) + 0.5) }, 0);
		}
		if (r->esp_how) /* the baseline seals every packet in one shot */
			c->base_esp_ns += costs_esp(&m->cost, COSTS_ESP_SEAL, r->esp_len);
		if (r->esp_open_how) /* and opens each in one shot */
			c->base_esp_ns += costs_esp(&m->cost, COSTS_ESP_OPEN, r->esp_open_len);
		uint64_t service = (uint64_t)(path_cost(m, r) + 0.5);
		c->pkt_ns += service;
		model__at(m, &c->ev, now + service, cpu_done);
		return;
	}
	while (c->jobs_n) {
		struct craft_job j = c->jobs[c->jobs_head];
		c->jobs_head = (c->jobs_head + 1) & (c->jobs_cap - 1);
		c->jobs_n--;
		if (!engine_work_waiting(c->eng, &j.ticket)) {
			c->jobs_skipped++; /* superseded or gone: not worth building any more */
			continue;
		}
		c->job_running = 1;
		c->job = j;
		c->job_started = now;
		model__at(m, &c->ev, now + j.remaining_ns, cpu_done);
		return;
	}
}

/* ---- the baseline server, analytical ---------------------------------------------------- */

/* Returns the baseline's latency for a packet arriving now, or -1 when its queue is full. */
static int64_t baseline_latency(struct simcpu *c, uint64_t now, double esp_ns)
{
	while (c->b_count && c->b_ring[c->b_head] <= now) {
		c->b_head = c->b_head + 1 == c->b_cap ? 0 : c->b_head + 1;
		c->b_count--;
	}
	if (c->b_count >= c->b_cap)
		return -1;
	uint64_t start = c->b_busy_until > now ? c->b_busy_until : now;
	c->b_busy_until = start + (uint64_t)(c->m->cost.slow_ns + esp_ns + 0.5);
	uint32_t tail = c->b_head + c->b_count;
	c->b_ring[tail >= c->b_cap ? tail - c->b_cap : tail] = c->b_busy_until;
	c->b_count++;
	return (int64_t)(c->b_busy_until - now);
}

/* ---- the shaper's ingress --------------------------------------------------------------- */

/* The CPU a frame's flow is hashed to: a hash of the flow's canonical key, the same for both
 * directions (a symmetric RSS); frames that are not IP, or not sound, go to CPU 0. */
struct simcpu *model__rss(struct model *m, struct simcpu *cpus, const struct simpkt *p)
{
	if (m->n_cpus == 1)
		return &cpus[0];
	struct pkt pk;
	struct flow_key key;
	bool src_is_a;
	if (pkt_parse(p->frame, p->caplen, p->wirelen, p->linktype, &pk) != 0 || pk.l3 == PKT_L3_NONE ||
	    !flow_key_from_pkt(&pk, &key, &src_is_a))
		return &cpus[0];
	return &cpus[flow_key_hash(&key, &m->rss_key) % m->n_cpus];
}

void model__shaper_arrive(struct sched *s, struct sched_event *ev)
{
	struct simpkt *p = container_of(ev, struct simpkt, ev);
	struct model *m = sched_user(s);
	uint64_t now = sched_now(s);
	struct simcpu *c = model__rss(m, m->cpus, p);
	/* With a tunnel, the baseline seals every packet its routes send into an SA in one shot,
	 * and a gateway that also opens (ns-3's VPN gateways, each both ways) opens what comes to it
	 * in one shot. */
	bool opens = false;
	uint32_t tl = m->o->engine->tunnel ? engine_tunnel_len(c->eng, p->frame, p->caplen, p->wirelen, p->linktype, &opens) : 0;
	double esp_ns = !tl ? 0 : !opens ? costs_esp(&m->cost, COSTS_ESP_SEAL, tl)
			 : m->cost.esp_open ? costs_esp(&m->cost, COSTS_ESP_OPEN, tl) : 0;
	if (!m->arrivals++)
		m->first_arrive = now;
	m->last_arrive = now;
	m->offered_ns += m->cost.slow_ns + esp_ns;
	model__cpu_arrive(m, c, p, now, esp_ns);
}

void model__cpu_arrive(struct model *m, struct simcpu *c, struct simpkt *p, uint64_t now, double base_ns)
{
	struct sched *s = m->s;
	p->t_arrive = now;
	int64_t bl = baseline_latency(c, now, base_ns);
	if (bl < 0)
		++*(c->gw ? &m->gw2_baseline_queue_drops : &m->baseline_queue_drops);
	else if (now + (uint64_t)bl <= m->stop_ns)
		lathist_add(&(c->gw ? m->lat2 : m->lat)->baseline, (uint64_t)bl);
	/* else: it would leave the baseline's CPU after the stop time; the shaper's latency counts
	 * only the packets it served by then, so the baseline's does the same (counting it made
	 * 'off' look faster than the baseline under a queue: the shaper's longest waits at the
	 * stop were never measured, the baseline's were). */
	if (c->q_len + (c->serving ? 1 : 0) > m->scn->queue_pkts) {
		++*(c->gw ? &m->gw2_queue_drops : &m->shaper_queue_drops);
		model__pkt_put(m, p);
		return;
	}
	if (c->q_tail)
		c->q_tail->next = p;
	else
		c->q_head = p;
	c->q_tail = p;
	c->q_len++;
	if (c->job_running) { /* an arriving packet preempts crafting; the job resumes later */
		sched_cancel(s, &c->ev);
		c->job_running = 0;
		c->craft_ns += now - c->job_started;
		c->job.remaining_ns -= now - c->job_started;
		c->jobs_preempted++;
		jobs_push(c, c->job, 1);
	}
	if (!c->serving)
		cpu_next(c);
}

/* ---- setup ------------------------------------------------------------------------------ */

/* A fixed key, as a NIC's RSS key is: the spread of flows over CPUs is a property of the
 * traffic, the same in every run and for every seed. */
#define RSS_KEY_SEED 0x5253535f4b455931ull

int model__cpus_setup(struct model *m, const struct engine_cfg *ec0, unsigned gw, struct errbuf *eb)
{
	unsigned n = (unsigned)m->scn->cpus;
	struct simcpu *cpus = calloc(n, sizeof *cpus);
	if (!cpus)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	*(gw ? &m->cpus2 : &m->cpus) = cpus;
	m->n_cpus = n;
	flow_hash_key_init(&m->rss_key, RSS_KEY_SEED);
	for (unsigned i = 0; i < n; i++) {
		struct simcpu *c = &cpus[i];
		c->m = m;
		c->gw = gw;
		snprintf(c->util_name, sizeof c->util_name, gw ? "gw2_cpu_util_%u" : "cpu_util_%u", i);
		sched_event_init(&c->ev);
		(void)sched_lane(m->s, &c->ev); /* refused past SCHED_LANES: then in the heap */
		struct engine_cfg ec = *ec0;
		engine_cfg_shard(&ec, i, n); /* the machine's memory split between the CPUs */
		ec.tx_arg = c;
		int rc = engine_create(&ec, &c->eng, eb);
		if (rc)
			return rc;
		c->b_cap = (uint32_t)(m->scn->queue_pkts + 1);
		if (!(c->b_ring = malloc(c->b_cap * sizeof *c->b_ring)))
			return err_set(eb, -ERR_NOMEM, "out of memory");
	}
	return 0;
}

void model__cpus_free(struct model *m)
{
	struct simcpu *sets[2] = { m->cpus, m->cpus2 };
	for (int g = 0; g < 2; g++) {
		for (unsigned i = 0; sets[g] && i < m->n_cpus; i++) {
			engine_destroy(sets[g][i].eng);
			free(sets[g][i].jobs);
			free(sets[g][i].b_ring);
		}
		free(sets[g]);
	}
	m->cpus = m->cpus2 = NULL;
}
