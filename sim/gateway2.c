/* gateway2: the second gateway of shaper.gateways = 2 (see model.h):
 *
 *   source(s) --link.in--> gateway 1 --link.out--> gateway 2 --> sink
 *
 * Gateway 1 is the shaper as with one gateway; what it sends (the sealed frames, kept by
 * model__tx) crosses link.out and reaches gateway 2, whose CPUs, engines and tunnel view (the
 * same tunnel file with shaper.local2: its SAs open there) are the first's in every other
 * respect: the same costs, queue, policy and RSS hash (of the outer headers, as a NIC's).  Its
 * baseline server opens every packet in one shot.  Its flows write no rows (they are the first
 * gateway's flows, whose rows carry the delays to the sink). */
#include <stdlib.h>
#include <string.h>

#include "core/lathist.h"
#include "core/recorder.h"
#include "core/stats.h"
#include "model.h"
#include "model_impl.h"

int model__gw2_setup(struct model *m, const struct engine_cfg *ec2, struct errbuf *eb)
{
	if (!m->cost.esp_open)
		return err_set(eb, -ERR_FORMAT,
			       "%s: no opening costs (esp_open_ns, ...) for shaper.gateways = 2: make a profile with 'precraft calibrate -o FILE'",
			       m->o->costs_path);
	if (!(m->lat2 = malloc(sizeof *m->lat2)))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	latency_set_init(m->lat2);
	return model__cpus_setup(m, ec2, 1, eb);
}

/* The inner length a sealed frame of 'wirelen' bytes carries, near enough for the baseline's
 * cost (the outer headers, the tunnel's header and tag; not the padding). */
static double inner_len(const struct simpkt *p)
{
	uint32_t ip = p->caplen > 14 && p->frame[14] >> 4 == 6 ? 40u : 20u;
	uint32_t over = 14u + ip + 32u;
	return p->wirelen > over ? (double)(p->wirelen - over) : 0;
}

static void arrive(struct sched *s, struct sched_event *ev)
{
	struct simpkt *p = container_of(ev, struct simpkt, ev);
	struct model *m = sched_user(s);
	p->frame = p->eg;
	p->caplen = p->wirelen = p->eg_wirelen;
	p->linktype = 1; /* Ethernet: what gateway 1 writes */
	struct simcpu *c = model__rss(m, m->cpus2, p);
	model__cpu_arrive(m, c, p, sched_now(s), costs_esp(&m->cost, COSTS_ESP_OPEN, inner_len(p)));
}

void model__to_gw2(struct model *m, struct simpkt *p)
{
	uint64_t at;
	if (!p->eg_set || link_send(&m->out, sched_now(m->s), p->eg_wirelen, &at) != LINK_OK) {
		if (p->flow && p->flow->id == p->flow_id)
			p->flow->lost++;
		model__pkt_put(m, p);
		return;
	}
	model__at(m, &p->ev, at, arrive);
}

void model__gw2_scalars(struct model *m, struct sim_summary *sum)
{
	struct engine_stats es = { 0 };
	uint64_t pkt_ns = 0, craft_ns = 0;
	for (unsigned i = 0; i < m->n_cpus; i++) {
		struct engine_stats one;
		engine_finish(m->cpus2[i].eng);
		engine_get_stats(m->cpus2[i].eng, &one);
		engine_stats_add(&es, &one);
		pkt_ns += m->cpus2[i].pkt_ns;
		craft_ns += m->cpus2[i].craft_ns;
	}
	sum->gw2_latency_p50_ns = lathist_quantile(&m->lat2->all, 0.5);
	sum->gw2_latency_p99_ns = lathist_quantile(&m->lat2->all, 0.99);
	sum->gw2_baseline_latency_p50_ns = lathist_quantile(&m->lat2->baseline, 0.5);
	sum->gw2_baseline_latency_p99_ns = lathist_quantile(&m->lat2->baseline, 0.99);
	sum->gw2_opened = es.esp.esp_in_packets;
	sum->gw2_opened_keystream = es.esp.esp_opened_keystream;
	sum->gw2_opened_anticipated = es.esp.esp_opened_anticipated;
	sum->gw2_esp_drops = es.dropped[ENGINE_DROP_ESP_REPLAY] + es.dropped[ENGINE_DROP_ESP_ICV] +
			     es.dropped[ENGINE_DROP_ESP_UNKNOWN_SPI] + es.dropped[ENGINE_DROP_ESP_MALFORMED];
	if (!m->rec)
		return;
	uint64_t built = es.esp.ks_bytes_built;
	const struct {
		const char *name;
		double v;
	} sc[] = {
		{ "gw2_packets_in", (double)es.packets_in },
		{ "gw2_packets_out", (double)es.packets_out },
		{ "gw2_hits", (double)es.hits },
		{ "gw2_misses", (double)es.misses },
		{ "gw2_divergent_packets", (double)es.divergent_packets },
		{ "gw2_esp_in_packets", (double)es.esp.esp_in_packets },
		{ "gw2_esp_opened_oneshot", (double)es.esp.esp_opened_oneshot },
		{ "gw2_esp_opened_keystream", (double)es.esp.esp_opened_keystream },
		{ "gw2_esp_opened_anticipated", (double)es.esp.esp_opened_anticipated },
		{ "gw2_dropped_esp_replay", (double)es.dropped[ENGINE_DROP_ESP_REPLAY] },
		{ "gw2_dropped_esp_icv", (double)es.dropped[ENGINE_DROP_ESP_ICV] },
		{ "gw2_dropped_esp_unknown_spi", (double)es.dropped[ENGINE_DROP_ESP_UNKNOWN_SPI] },
		{ "gw2_dropped_esp_malformed", (double)es.dropped[ENGINE_DROP_ESP_MALFORMED] },
		{ "gw2_ks_bytes_built", (double)built },
		{ "gw2_ks_waste_ratio", built ? (double)es.esp.ks_bytes_wasted / (double)built : 0 },
		{ "gw2_latency_p50_ns", sum->gw2_latency_p50_ns },
		{ "gw2_latency_p99_ns", sum->gw2_latency_p99_ns },
		{ "gw2_baseline_latency_p50_ns", sum->gw2_baseline_latency_p50_ns },
		{ "gw2_baseline_latency_p99_ns", sum->gw2_baseline_latency_p99_ns },
		{ "gw2_queue_drops", (double)m->gw2_queue_drops },
		{ "gw2_baseline_queue_drops", (double)m->gw2_baseline_queue_drops },
		{ "gw2_cpu_packet_ns", (double)pkt_ns },
		{ "gw2_cpu_craft_ns", (double)craft_ns },
	};
	for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
		rec_scalar(m->rec, sc[i].name, sc[i].v);
}
