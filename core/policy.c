/* policy: the pre-building policies (see policy.h). */
#include "policy.h"

#include <string.h>

static const char *const kind_names[] = { "off", "static", "adaptive" };
static const char *const class_names[] = { "low", "normal", "high" };

/* Where each class starts giving way: the pressure above which its level is halved. */
static const float class_mark[POLICY_CLASSES] = { 0.0f, 0.3f, 0.7f };

#define PREC_ONE 65535u
#define MIN_OUTCOMES 4      /* a flow's precision is judged after this many pre-built packets */
#define BACKOFF_BASE 16u    /* packets of the first back-off */
#define BACKOFF_MAX_EXP 8   /* longest: 16 << 8 = 4096 packets */
#define MIN_IV_BUILT 32     /* the shaper's precision is judged on at least this many */

int policy_kind_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return -1;
}

const char *policy_kind_name(enum policy_kind k)
{
	return (unsigned)k < 3 ? kind_names[k] : "?";
}

const char *policy_class_name(unsigned cls)
{
	return cls < POLICY_CLASSES ? class_names[cls] : "?";
}

void policy_cfg_defaults(struct policy_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->kind = POLICY_STATIC;
	c->min_confidence = 0.0f;
	c->admit_packets = 1;
	c->payload = true;
	c->admit_rate = 10000.0f;
	c->precision_floor = 0.6f;
	c->overhead_ceiling = 0.1f;
	c->queue_target_us = 20.0f;
	c->control_ns = 1000000;
	c->slow_ns = 90.0f, c->hit_ns = 60.0f, c->miss_ns = 140.0f, c->craft_ns = 100.0f;
	/* Measured on the development machines (make bench, the tunnel section); the simulator
	 * takes its own from the cost profile. */
	c->esp_seal_a = 330.0f, c->esp_seal_b = 1.05f;
	c->esp_keyed_a = 120.0f, c->esp_keyed_b = 0.40f;
	c->esp_ks_a = 150.0f, c->esp_ks_b = 0.70f;
}

void policy_cfg_kind(struct policy_cfg *c, enum policy_kind k)
{
	c->kind = k;
	c->admit_packets = k == POLICY_ADAPTIVE ? 3u : 1u;
}

void policy_init(struct policy *p, const struct policy_cfg *cfg)
{
	memset(p, 0, sizeof *p);
	p->cfg = *cfg;
	for (int c = 0; c < POLICY_CLASSES; c++)
		p->level[c] = cfg->kind == POLICY_OFF ? 0.0f : 1.0f;
	/* The credit holds up to 1,000 packets' worth of allowance and starts empty: crafting is
	 * paid for by packets already forwarded, never on trust. */
	p->credit_cap_ns = (double)cfg->overhead_ceiling * (cfg->slow_ns + policy_esp_cost(cfg, 0, 1500)) * 1000.0;
	p->credit_ns = 0.0;
	p->tokens = cfg->admit_rate > 100.0f ? cfg->admit_rate / 100.0f : 1.0;
}

unsigned policy_classify(const struct policy *p, uint8_t dscp, uint16_t sport, uint16_t dport)
{
	const struct policy_cfg *c = &p->cfg;
	if (c->high_dscp && dscp >= c->high_dscp)
		return POLICY_HIGH;
	for (unsigned i = 0; i < c->n_high_ports; i++)
		if (sport == c->high_ports[i] || dport == c->high_ports[i])
			return POLICY_HIGH;
	for (unsigned i = 0; i < c->n_low_ports; i++)
		if (sport == c->low_ports[i] || dport == c->low_ports[i])
			return POLICY_LOW;
	return POLICY_NORMAL;
}

static float clamp01(float v)
{
	return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* The pressure in [0, 1] from the conditions of the interval just ended. */
static float pressure(struct policy *p)
{
	const struct policy_cfg *c = &p->cfg;
	const struct policy_signals *s = &p->sig;
	float pr = 0.0f, v;
	/* A CPU near saturation has no idle time for crafting: pre-built packets come late. */
	v = clamp01((s->cpu_util - 0.85f) / 0.15f);
	pr = v > pr ? v : pr;
	/* Queueing through the shaper beyond the target. */
	if (c->queue_target_us > 0.0f) {
		v = clamp01(s->queue_delay_us / c->queue_target_us - 1.0f);
		pr = v > pr ? v : pr;
	}
	/* Pool memory: pressure from 80 % full. */
	v = clamp01((p->pool_used - 0.8f) / 0.2f);
	pr = v > pr ? v : pr;
	/* Loss breaks sequence predictions; egress without headroom gains nothing from speed. */
	v = clamp01((s->loss - 0.005f) * 20.0f);
	pr = v > pr ? v : pr;
	v = clamp01((s->egress_util - 0.95f) / 0.05f);
	pr = v > pr ? v : pr;
	/* The tail: a pre-built packet that fails validation costs more than the slow path, so
	 * once failures pass 0.5 % of the packets they would set the 99th percentile. */
	/* Fading is by packets, not periods: sparse traffic has many periods with few packets. */
	float fade = 1.0f - 0.2f * clamp01((float)(p->packets - p->packets_at_control) / 200.0f);
	p->packets_at_control = p->packets;
	if (p->iv_packets >= 200)
		p->fail_pressure = clamp01(((float)p->iv_failed / (float)p->iv_packets - 0.005f) / 0.005f);
	else
		p->fail_pressure *= fade;
	/* The shaper's own precision under the floor. */
	if (p->iv_built >= MIN_IV_BUILT) {
		float prec = (float)p->iv_used / (float)p->iv_built;
		p->prec_pressure = clamp01((c->precision_floor - prec) / c->precision_floor * 2.0f);
	} else {
		p->prec_pressure *= fade;
	}
	/* Both hold until they are judged again, fading meanwhile: a shaper that stopped
	 * building because of them must come back to try again. */
	pr = p->fail_pressure > pr ? p->fail_pressure : pr;
	pr = p->prec_pressure > pr ? p->prec_pressure : pr;
	return pr;
}

static void control(struct policy *p)
{
	p->pressure = pressure(p);
	for (int c = 0; c < POLICY_CLASSES; c++) {
		float l = p->level[c];
		if (p->pressure > class_mark[c])
			l = l * 0.5f < 0.05f ? 0.0f : l * 0.5f;
		else
			l = l + 0.1f > 1.0f ? 1.0f : l + 0.1f;
		p->level[c] = l;
	}
	/* The counts behind the shaper's precision and failure rate are kept over as many
	 * periods as it takes to judge them (a sparse flow mix has few packets per period). */
	if (p->iv_packets >= 200)
		p->iv_failed = p->iv_packets = 0;
	if (p->iv_built >= MIN_IV_BUILT)
		p->iv_built = p->iv_used = 0;
}

bool policy_packet(struct policy *p, uint64_t now_ns)
{
	if (p->cfg.kind != POLICY_ADAPTIVE)
		return false;
	p->iv_packets++;
	p->packets++;
	p->credit_ns += (double)p->cfg.overhead_ceiling * p->cfg.slow_ns;
	if (p->credit_ns > p->credit_cap_ns)
		p->credit_ns = p->credit_cap_ns;
	if (now_ns < p->next_control)
		return false;
	bool due = p->next_control != 0;
	p->next_control = now_ns + p->cfg.control_ns;
	return due;
}

void policy_control(struct policy *p, float pool_used, float table_churn)
{
	p->pool_used = pool_used;
	p->table_churn = table_churn;
	control(p);
}

void policy_set_signals(struct policy *p, const struct policy_signals *s)
{
	p->sig = *s;
}

/* Admission: a token from a bucket refilled at admit_rate per second, burst 1/100 s of it. */
static bool take_token(struct policy *p, uint64_t now_ns)
{
	double burst = p->cfg.admit_rate > 100.0f ? p->cfg.admit_rate / 100.0f : 1.0;
	if (now_ns > p->tokens_t) {
		p->tokens += (double)(now_ns - p->tokens_t) * 1e-9 * p->cfg.admit_rate;
		if (p->tokens > burst)
			p->tokens = burst;
		p->tokens_t = now_ns;
	}
	if (p->tokens < 1.0)
		return false;
	p->tokens -= 1.0;
	return true;
}

bool policy_decide(struct policy *p, struct policy_flow *pf, uint32_t flow_packets, bool protected_flow,
		   uint64_t now_ns, float *min_conf, bool *payload)
{
	const struct policy_cfg *c = &p->cfg;
	pf->packets = flow_packets;
	if (c->kind == POLICY_OFF || flow_packets < c->admit_packets)
		return false;
	*min_conf = c->min_confidence;
	*payload = c->payload;
	if (c->kind == POLICY_STATIC)
		return true;
	if (!protected_flow && p->table_churn > 0.001f) {
		p->level_denied++;
		return false;
	}
	if (!pf->admitted) {
		/* A young flow needs a token; one that has lived four times the admission length has
		 * shown it is no flood and gets in without (heavy flows win, whatever the flood). */
		if (flow_packets < 4 * c->admit_packets && !take_token(p, now_ns)) {
			p->refused_admission++;
			return false;
		}
		pf->admitted = 1;
		pf->prec_q = (uint16_t)(0.8f * PREC_ONE); /* a newcomer's prior: a fair chance */
		p->admitted++;
	}
	if (flow_packets < pf->backoff_until)
		return false;
	float level = policy_level(p, pf->cls);
	if (level <= 0.0f || (p->pool_used >= 0.7f && pf->cls != POLICY_HIGH)) {
		p->level_denied++;
		return false;
	}
	/* The CPU budget: high priority may borrow half the cap, low priority keeps half. */
	double need = pf->cls == POLICY_HIGH ? -p->credit_cap_ns / 2 : pf->cls == POLICY_LOW ? p->credit_cap_ns / 2 : 0.0;
	if (p->credit_ns - c->craft_ns < need) {
		p->budget_denied++;
		return false;
	}
	/* As the credit or the level falls, only flows of proven precision are built for. */
	float scarcity = clamp01(1.0f - (float)(p->credit_ns / p->credit_cap_ns));
	float want = c->precision_floor + (0.95f - c->precision_floor) * (scarcity > 1.0f - level ? scarcity : 1.0f - level);
	if (pf->outcomes >= MIN_OUTCOMES && (float)pf->prec_q / PREC_ONE < want) {
		p->budget_denied++;
		return false;
	}
	float lc = (1.0f - level) * 0.9f;
	*min_conf = lc > c->min_confidence ? lc : c->min_confidence;
	*payload = c->payload && level >= 0.75f && p->pool_used < 0.5f;
	return true;
}

bool policy_prefetch(struct policy *p, unsigned n)
{
	const struct policy_cfg *c = &p->cfg;
	if (c->kind != POLICY_ADAPTIVE)
		return c->kind == POLICY_STATIC;
	if (policy_level(p, POLICY_NORMAL) < 0.5f || p->pool_used >= 0.5f || p->credit_ns - (double)n * c->craft_ns < 0) {
		p->level_denied++;
		return false;
	}
	return true;
}

void policy_built(struct policy *p, struct policy_flow *pf)
{
	(void)pf;
	p->iv_built++;
	if (p->cfg.kind == POLICY_ADAPTIVE)
		p->credit_ns -= p->cfg.craft_ns;
}

void policy_outcome(struct policy *p, struct policy_flow *pf, bool used, bool failed)
{
	const struct policy_cfg *c = &p->cfg;
	p->iv_used += used;
	p->iv_failed += failed;
	if (c->kind != POLICY_ADAPTIVE)
		return;
	if (used)
		p->credit_ns += c->slow_ns - c->hit_ns;
	else if (failed)
		p->credit_ns -= c->miss_ns - c->slow_ns;
	if (!pf)
		return;
	/* The flow's precision, an EWMA moved by 1/8. */
	pf->prec_q = (uint16_t)((pf->prec_q * 7u + (used ? PREC_ONE : 0u)) / 8u);
	if (pf->outcomes < UINT16_MAX)
		pf->outcomes++;
	if (pf->outcomes < MIN_OUTCOMES)
		return;
	float prec = (float)pf->prec_q / PREC_ONE;
	if (prec < c->precision_floor) {
		/* Back off, longer each time; afterwards the flow starts again just at the floor. */
		pf->backoff_until = pf->packets + (BACKOFF_BASE << pf->backoff_exp);
		if (pf->backoff_exp < BACKOFF_MAX_EXP)
			pf->backoff_exp++;
		pf->prec_q = (uint16_t)(c->precision_floor * PREC_ONE + 1.0f);
		pf->outcomes = 0;
		p->backoffs++;
	} else if (used && prec > 0.9f && pf->backoff_exp) {
		pf->backoff_exp--; /* recovery: a reliable flow's next back-off is shorter */
	}
}

float policy_esp_cost(const struct policy_cfg *c, int what, uint32_t bytes)
{
	float b = (float)bytes;
	switch (what) {
	case 0:
		return c->esp_seal_a + c->esp_seal_b * b;
	case 1:
		return c->esp_keyed_a + c->esp_keyed_b * b;
	default:
		return c->esp_ks_a + c->esp_ks_b * b;
	}
}

unsigned policy_keystream(const struct policy *p, unsigned max_depth, uint32_t bytes)
{
	switch (p->cfg.kind) {
	case POLICY_OFF:
		return 0;
	case POLICY_STATIC:
		return max_depth;
	case POLICY_ADAPTIVE:
		break;
	}
	/* A keystream is always used (every number is taken in turn): what it costs is the bytes
	 * made beyond the packet's own and the work moved from one moment to another, paid from the
	 * same credit as crafting. */
	if (p->credit_ns < (double)policy_esp_cost(&p->cfg, 2, bytes) || p->pool_used >= 0.7f)
		return 0; /* no credit, or memory short: the rings stop filling (what is made is kept) */
	float level = p->level[POLICY_NORMAL];
	unsigned d = (unsigned)((float)max_depth * level + 0.5f);
	return d ? d : level > 0.0f;
}

void policy_esp_built(struct policy *p, uint32_t bytes, bool keystream)
{
	if (p->cfg.kind == POLICY_ADAPTIVE)
		p->credit_ns -= policy_esp_cost(&p->cfg, keystream ? 2 : 0, bytes);
}

void policy_esp_sealed(struct policy *p, uint32_t bytes, bool ahead)
{
	if (p->cfg.kind != POLICY_ADAPTIVE)
		return;
	float seal = policy_esp_cost(&p->cfg, 0, bytes);
	p->credit_ns += (double)p->cfg.overhead_ceiling * seal;
	if (ahead)
		p->credit_ns += seal - policy_esp_cost(&p->cfg, 1, bytes);
	if (p->credit_ns > p->credit_cap_ns)
		p->credit_ns = p->credit_cap_ns;
}
