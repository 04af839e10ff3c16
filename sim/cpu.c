/* cpu: the shaper as a CPU, the analytical baseline server beside it, and the sink (see
 * model.h for the model they make). */
#include <stdlib.h>
#include <string.h>

#include "core/lathist.h"
#include "model_impl.h"

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
		model__pkt_put(m, p);
		return;
	}
	sink_record(m, p, arrive);
	model__pkt_put(m, p);
}

/* ---- the CPU ---------------------------------------------------------------------------- */

static void cpu_next(struct model *m);
static double path_cost_plain(const struct model *m, const struct engine_result *r);

void model__tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		   uint32_t wirelen, uint64_t t_ns)
{
	(void)hdr, (void)hdr_len, (void)payload, (void)payload_len, (void)t_ns;
	struct model *m = arg;
	m->serving->eg_wirelen = wirelen;
}

/* What sealing cost, by how it was sealed (esp.h), over the path's own cost. */
static double esp_cost(const struct model *m, const struct engine_result *r)
{
	static const int kind[] = { -1, COSTS_ESP_SEAL, COSTS_ESP_KEYED, COSTS_ESP_ANTICIPATED };
	if (!r->esp_how || r->esp_how > 3)
		return 0;
	return costs_esp(&m->cost, (enum costs_esp_kind)kind[r->esp_how], r->esp_len);
}

static double path_cost(const struct model *m, const struct engine_result *r)
{
	return path_cost_plain(m, r) + esp_cost(m, r);
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

static void jobs_push(struct model *m, struct craft_job j, int front)
{
	if (m->jobs_n == m->jobs_cap) {
		size_t cap = m->jobs_cap ? m->jobs_cap * 2 : 1024;
		struct craft_job *n = malloc(cap * sizeof *n);
		if (!n) {
			model__fail(m, -ERR_NOMEM, "simulator: out of memory queueing crafting work");
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
		model__pkt_put(m, p);
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
		model__stats_at(m, now);
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
		if (r->esp_ks_bytes || r->esp_ant_bytes) {
			/* the ESP work made ahead: keystreams, and the anticipated packet sealed */
			double ns = (r->esp_ks_bytes ? costs_esp(&m->cost, COSTS_ESP_KEYSTREAM, r->esp_ks_bytes) : 0) +
				    (r->esp_ant_bytes ? costs_esp(&m->cost, COSTS_ESP_SEAL, r->esp_ant_bytes) : 0);
			jobs_push(m, (struct craft_job){ r->esp_ticket, (uint64_t)(ns + 0.5) }, 0);
		}
		if (r->esp_how) /* the baseline seals every packet in one shot */
			m->base_esp_ns += costs_esp(&m->cost, COSTS_ESP_SEAL, r->esp_len);
		uint64_t service = (uint64_t)(path_cost(m, r) + 0.5);
		m->cpu_pkt_ns += service;
		model__at(m, &m->cpu_ev, now + service, cpu_done);
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
		model__at(m, &m->cpu_ev, now + j.remaining_ns, cpu_done);
		return;
	}
}

/* ---- the baseline server, analytical ---------------------------------------------------- */

/* Returns the baseline's latency for a packet arriving now, or -1 when its queue is full. */
static int64_t baseline_latency(struct model *m, uint64_t now, double esp_ns)
{
	while (m->b_count && m->b_ring[m->b_head] <= now) {
		m->b_head = m->b_head + 1 == m->b_cap ? 0 : m->b_head + 1;
		m->b_count--;
	}
	if (m->b_count >= m->b_cap)
		return -1;
	uint64_t start = m->b_busy_until > now ? m->b_busy_until : now;
	m->b_busy_until = start + (uint64_t)(m->cost.slow_ns + esp_ns + 0.5);
	uint32_t tail = m->b_head + m->b_count;
	m->b_ring[tail >= m->b_cap ? tail - m->b_cap : tail] = m->b_busy_until;
	m->b_count++;
	return (int64_t)(m->b_busy_until - now);
}

/* ---- the shaper's ingress --------------------------------------------------------------- */

void model__shaper_arrive(struct sched *s, struct sched_event *ev)
{
	struct simpkt *p = container_of(ev, struct simpkt, ev);
	struct model *m = sched_user(s);
	uint64_t now = sched_now(s);
	p->t_arrive = now;
	/* With a tunnel, the baseline seals every packet its routes send into an SA, in one shot. */
	uint32_t tl = m->o->engine->tunnel ? engine_tunnel_len(m->eng, p->frame, p->caplen, p->wirelen, p->linktype) : 0;
	int64_t bl = baseline_latency(m, now, tl ? costs_esp(&m->cost, COSTS_ESP_SEAL, tl) : 0);
	if (bl < 0)
		m->baseline_queue_drops++;
	else
		lathist_add(&m->lat->baseline, (uint64_t)bl);
	if (m->q_len + (m->serving ? 1 : 0) > m->scn->queue_pkts) {
		m->shaper_queue_drops++;
		model__pkt_put(m, p);
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

