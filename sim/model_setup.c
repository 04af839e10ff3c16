/* model_setup: what a run's shaper charges and how it pre-builds, from the scenario: the cost
 * profile (overridden by shaper.*_ns, divided by shaper.cpu_speed) and the policy (the [policy]
 * keys, the CPU budget's weights from the costs).  See model_impl.h. */
#include <stdio.h>

#include "model_impl.h"

int model__load_costs(struct model *m, struct errbuf *eb)
{
	const struct scenario *scn = m->scn;
	int rc = costs_load(m->o->costs_path, &m->cost, eb);
	if (rc)
		return rc;
	double *c[] = { &m->cost.slow_ns, &m->cost.hit_ns, &m->cost.miss_ns, &m->cost.craft_ns, &m->cost.drop_ns };
	const double over[] = { scn->slow_ns, scn->hit_ns, scn->miss_ns, scn->craft_ns, scn->drop_ns };
	static const char *const names[] = { "slow_ns", "hit_ns", "miss_ns", "craft_ns", "drop_ns" };
	for (int i = 0; i < 5; i++) {
		if (over[i] > 0)
			*c[i] = over[i];
		*c[i] /= scn->cpu_speed;
		if (!(*c[i] <= SCN_COST_MAX_NS))
			return err_set(eb, -ERR_FORMAT,
				       "shaper.%s = %g ns over shaper.cpu_speed = %g is %g ns a packet: at most %g (1000 s); raise "
				       "shaper.cpu_speed or lower the cost",
				       names[i], *c[i] * scn->cpu_speed, scn->cpu_speed, *c[i], SCN_COST_MAX_NS);
	}
	for (int k = 0; k < COSTS_ESP_KINDS; k++)
		for (unsigned i = 0; i < m->cost.esp_n; i++)
			if (!((m->cost.esp[k][i] /= scn->cpu_speed) <= SCN_COST_MAX_NS))
				return err_set(eb, -ERR_FORMAT,
					       "%s: an ESP cost over shaper.cpu_speed = %g is %g ns a packet: at most %g (1000 s)",
					       m->o->costs_path, scn->cpu_speed, m->cost.esp[k][i], SCN_COST_MAX_NS);
	if (m->o->engine->tunnel && !m->cost.esp_n)
		return err_set(eb, -ERR_FORMAT, "%s: no ESP costs (esp_sizes, ...) for a scenario with a tunnel: make a profile with 'precraft calibrate -o FILE'",
			       m->o->costs_path);
	return 0;
}

/* The least-squares line a + b * bytes through one kind of the ESP table (the policy's cost
 * model). */
static void esp_fit(const struct cost_profile *c, enum costs_esp_kind k, float *a, float *b)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, n = c->esp_n;
	for (unsigned i = 0; i < c->esp_n; i++) {
		sx += c->esp_size[i], sy += c->esp[k][i];
		sxx += c->esp_size[i] * c->esp_size[i], sxy += c->esp_size[i] * c->esp[k][i];
	}
	double d = n * sxx - sx * sx;
	double bb = d > 0 ? (n * sxy - sx * sy) / d : 0;
	*b = (float)(bb > 0 ? bb : 0);
	*a = (float)(n > 0 ? (sy - *b * sx) / n : 0);
	if (*a < 0)
		*a = 0;
}

/* Parses "445,502" into at most POLICY_MAX_PORTS ports. */
static int parse_ports(const char *key, const char *s, uint16_t *ports, uint8_t *n, struct errbuf *eb)
{
	if (scenario_ports(s, ports, n))
		return err_set(eb, -ERR_FORMAT, "policy.%s: expected up to %d comma-separated ports, not '%s'", key,
			       POLICY_MAX_PORTS, s);
	return 0;
}

/* The engine's policy from the scenario's [policy] section, with the CPU budget's weights
 * from the cost profile. */
int model__policy(struct model *m, struct policy_cfg *pc, struct errbuf *eb)
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
	if (m->cost.esp_n) {
		esp_fit(&m->cost, COSTS_ESP_SEAL, &pc->esp_seal_a, &pc->esp_seal_b);
		esp_fit(&m->cost, COSTS_ESP_KEYED, &pc->esp_keyed_a, &pc->esp_keyed_b);
		esp_fit(&m->cost, COSTS_ESP_KEYSTREAM, &pc->esp_ks_a, &pc->esp_ks_b);
	}
	int rc = parse_ports("high_ports", scn->high_ports, pc->high_ports, &pc->n_high_ports, eb);
	return rc ? rc : parse_ports("low_ports", scn->low_ports, pc->low_ports, &pc->n_low_ports, eb);
}
