/* model_scalars: a simulator run's results as scalars (the engine's, the links', the CPUs',
 * the policy's) and its summary (see model_impl.h). */
#include "model.h"

#include <stddef.h>

#include "core/lathist.h"
#include "core/recorder.h"
#include "core/stats.h"
#include "model_impl.h"

/* The offered load: the baseline's work for the packets that reached the shaper (what each
 * would cost it, whether it was served or dropped) over the CPUs' time from the first arrival
 * to the last. */
static double offered_load(const struct model *m)
{
	if (m->arrivals < 2 || m->last_arrive <= m->first_arrive)
		return 0;
	return m->offered_ns / ((double)m->n_cpus * (double)(m->last_arrive - m->first_arrive));
}

void model__write_scalars(struct model *m, const struct engine_stats *es, struct sim_summary *sum)
{
	uint64_t sim_ns = sched_now(m->s);
	sum->offered_load = offered_load(m);
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
	sum->e2e_delay_p50_ns = lathist_quantile(m->e2e, 0.5);
	sum->e2e_delay_p99_ns = lathist_quantile(m->e2e, 0.99);
	sum->sim_seconds = (double)sim_ns / 1e9;
	sum->goodput_mbps = sim_ns ? (double)m->sink_bytes * 8e3 / (double)sim_ns : 0;
	model__hcl_summary(m, sum);
	if (!m->rec)
		return;
	engine_stats_record(es, m->rec);
	latency_set_record(m->lat, m->rec);
	/* The CPUs: their totals, and each one's load (busy time) and packets. */
	uint64_t pkt_ns = 0, craft_ns = 0, jobs_run = 0, jobs_skipped = 0, jobs_preempted = 0;
	uint64_t admitted = 0, refused = 0, backoffs = 0, budget_denied = 0, level_denied = 0;
	double base_esp_ns = 0, busy_max = 0;
	for (unsigned i = 0; i < m->n_cpus; i++) {
		const struct simcpu *c = &m->cpus[i];
		const struct policy *pol = engine_policy(c->eng);
		pkt_ns += c->pkt_ns, craft_ns += c->craft_ns, base_esp_ns += c->base_esp_ns;
		jobs_run += c->jobs_run, jobs_skipped += c->jobs_skipped, jobs_preempted += c->jobs_preempted;
		admitted += pol->admitted, refused += pol->refused_admission, backoffs += pol->backoffs;
		budget_denied += pol->budget_denied, level_denied += pol->level_denied;
		double busy = (double)(c->pkt_ns + c->craft_ns);
		if (busy > busy_max)
			busy_max = busy;
		char name[48];
		snprintf(name, sizeof name, "cpu%u_packets", i);
		rec_scalar(m->rec, name, (double)c->packets);
		snprintf(name, sizeof name, "cpu%u_busy_ns", i);
		rec_scalar(m->rec, name, busy);
	}
	double busy_mean = (double)(pkt_ns + craft_ns) / m->n_cpus;
	uint64_t back = 0, jumps = 0, skipped = 0;
	for (size_t i = 0; i < m->n_srcs; i++) /* each trace once: its first clone */
		if (m->srcs[i].cfg->type == SCN_SRC_TRACE && m->srcs[i].clone == 0) {
			back += m->srcs[i].ts.backwards;
			jumps += m->srcs[i].ts.jumps;
			skipped += m->srcs[i].ts.skipped;
		}
	double base_cpu = (double)es->packets_in * m->cost.slow_ns + base_esp_ns;
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
		{ "e2e_delay_p50_ns", sum->e2e_delay_p50_ns },
		{ "e2e_delay_p99_ns", sum->e2e_delay_p99_ns },
		{ "sink_bytes", (double)m->sink_bytes },
		{ "goodput_mbps", sum->goodput_mbps },
		{ "link_in_queue_drops", (double)m->in.queue_drops },
		{ "link_in_lost", (double)m->in.lost },
		{ "link_out_queue_drops", (double)m->out.queue_drops },
		{ "link_out_lost", (double)m->out.lost },
		{ "shaper_queue_drops", (double)m->shaper_queue_drops },
		{ "baseline_queue_drops", (double)m->baseline_queue_drops },
		{ "cpus", (double)m->n_cpus },
		/* The load of the busiest CPU over the mean: what the flow hash's spread costs. */
		{ "cpu_imbalance", busy_mean > 0 ? busy_max / busy_mean : 1 },
		{ "cpu_packet_ns", (double)pkt_ns },
		{ "cpu_craft_ns", (double)craft_ns },
		{ "cpu_baseline_ns", base_cpu },
		{ "craft_jobs_run", (double)jobs_run },
		{ "craft_jobs_skipped", (double)jobs_skipped },
		{ "craft_jobs_preempted", (double)jobs_preempted },
		{ "sim_time_ns", (double)sim_ns },
		/* The share of the run the baseline's CPUs were busy with the packets they served. */
		{ "baseline_utilisation", sim_ns ? base_cpu / ((double)sim_ns * m->n_cpus) : 0 },
		/* The offered load, measured (run.load is the target): see offered_load(). */
		{ "offered_load", sum->offered_load },
		{ "offered_work_ns", m->offered_ns },
		{ "load_time_scale", m->time_scale },
		{ "cost_slow_ns", m->cost.slow_ns },
		{ "cost_hit_ns", m->cost.hit_ns },
		{ "cost_miss_ns", m->cost.miss_ns },
		{ "cost_craft_ns", m->cost.craft_ns },
		/* The budgets: extra CPU time and memory over the baseline. */
		{ "extra_cpu", base_cpu > 0 ? ((double)(pkt_ns + craft_ns) - base_cpu) / base_cpu : 0 },
		{ "extra_memory", es->flow_table_bytes ? (double)es->pool_bytes_peak / (double)es->flow_table_bytes : 0 },
		{ "policy_admitted", (double)admitted },
		{ "policy_refused_admission", (double)refused },
		{ "policy_backoffs", (double)backoffs },
		{ "policy_budget_denied", (double)budget_denied },
		{ "policy_level_denied", (double)level_denied },
	};
	for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
		rec_scalar(m->rec, sc[i].name, sc[i].v);
	model__hcl_scalars(m);
}
