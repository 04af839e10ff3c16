/* policy_test: the adaptive controller's reactions, each on its own. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "policy.h"

#define MS 1000000ull

static struct policy mk(void)
{
	struct policy_cfg c;
	policy_cfg_defaults(&c);
	c.kind = POLICY_ADAPTIVE;
	c.admit_packets = 3;
	c.overhead_ceiling = 10.0f; /* the CPU budget out of the way unless a test wants it */
	struct policy p;
	policy_init(&p, &c);
	p.credit_ns = p.credit_cap_ns * 1e6; /* and a credit that does not run out */
	return p;
}

/* 'n' packets at 'per' ns apart from '*t', running the controller when it is due. */
static void packets(struct policy *p, uint64_t *t, int n, uint64_t per, float pool_used)
{
	for (int i = 0; i < n; i++, *t += per)
		if (policy_packet(p, *t))
			policy_control(p, pool_used, 0.0f);
}

static bool decide(struct policy *p, struct policy_flow *pf, uint32_t pkts, uint64_t t)
{
	float mc;
	bool pay;
	return policy_decide(p, pf, pkts, true, t, &mc, &pay);
}

static void test_policy_pressure_lowers_levels_then_recovers(void)
{
	struct policy p = mk();
	uint64_t t = 1;
	packets(&p, &t, 100, 100000, 0.0f);
	CU_ASSERT_DOUBLE_EQUAL(policy_level(&p, POLICY_NORMAL), 1.0, 1e-6);
	struct policy_signals s = { .cpu_util = 0.99f };
	policy_set_signals(&p, &s);
	packets(&p, &t, 100, 100000, 0.0f); /* 10 ms of a saturated CPU */
	CU_ASSERT_TRUE(policy_level(&p, POLICY_LOW) < 0.05f);
	CU_ASSERT_TRUE(policy_level(&p, POLICY_NORMAL) < 0.05f);
	s.cpu_util = 0.3f;
	policy_set_signals(&p, &s);
	packets(&p, &t, 200, 100000, 0.0f); /* 20 ms of slack */
	CU_ASSERT_DOUBLE_EQUAL(policy_level(&p, POLICY_NORMAL), 1.0, 1e-6);
	/* Queueing delay and pool memory are pressure too. */
	s = (struct policy_signals){ .queue_delay_us = 200.0f };
	policy_set_signals(&p, &s);
	packets(&p, &t, 100, 100000, 0.0f);
	CU_ASSERT_TRUE(policy_level(&p, POLICY_NORMAL) < 0.05f);
	s = (struct policy_signals){ 0 };
	policy_set_signals(&p, &s);
	packets(&p, &t, 200, 100000, 0.0f);
	packets(&p, &t, 100, 100000, 0.99f);
	CU_ASSERT_TRUE(policy_level(&p, POLICY_NORMAL) < 0.05f);
}

static void test_policy_high_priority_keeps_its_share(void)
{
	struct policy p = mk();
	uint64_t t = 1;
	/* Moderate pressure (0.5): the low class gives way, the high class keeps building. */
	struct policy_signals s = { .cpu_util = 0.925f };
	policy_set_signals(&p, &s);
	packets(&p, &t, 100, 100000, 0.0f);
	CU_ASSERT_TRUE(policy_level(&p, POLICY_LOW) < 0.05f);
	CU_ASSERT_TRUE(policy_level(&p, POLICY_NORMAL) < 0.05f);
	CU_ASSERT_DOUBLE_EQUAL(policy_level(&p, POLICY_HIGH), 1.0, 1e-6);
	struct policy_flow hi = { .cls = POLICY_HIGH, .cls_set = 1 }, lo = { .cls = POLICY_LOW, .cls_set = 1 };
	CU_ASSERT_TRUE(decide(&p, &hi, 10, t));
	CU_ASSERT_FALSE(decide(&p, &lo, 10, t));
	/* Classes by port and DSCP. */
	p.cfg.high_ports[0] = 445, p.cfg.n_high_ports = 1;
	p.cfg.low_ports[0] = 4433, p.cfg.n_low_ports = 1;
	p.cfg.high_dscp = 46;
	CU_ASSERT_EQUAL(policy_classify(&p, 0, 49208, 445), POLICY_HIGH);
	CU_ASSERT_EQUAL(policy_classify(&p, 0, 1024, 4433), POLICY_LOW);
	CU_ASSERT_EQUAL(policy_classify(&p, 46, 1024, 4433), POLICY_HIGH);
	CU_ASSERT_EQUAL(policy_classify(&p, 0, 1024, 80), POLICY_NORMAL);
}

static void test_policy_flow_backs_off_and_recovers(void)
{
	struct policy p = mk();
	struct policy_flow f = { .cls = POLICY_NORMAL, .cls_set = 1 };
	uint64_t t = 1;
	uint32_t pkts = 3;
	CU_ASSERT_TRUE(decide(&p, &f, pkts, t));
	/* Its pre-built packets keep going to waste: it backs off. */
	int tries = 0;
	while (decide(&p, &f, pkts, t) && tries < 100) {
		policy_built(&p, &f);
		policy_outcome(&p, &f, false, false);
		tries++;
	}
	CU_ASSERT_TRUE(tries < 20);
	CU_ASSERT_EQUAL(p.backoffs, 1);
	uint32_t until = f.backoff_until;
	CU_ASSERT_EQUAL(until, pkts + 16);
	CU_ASSERT_FALSE(decide(&p, &f, until - 1, t));
	/* After the back-off it tries again; right predictions keep it building. */
	CU_ASSERT_TRUE(decide(&p, &f, until, t));
	for (int i = 0; i < 50; i++) {
		CU_ASSERT_TRUE(decide(&p, &f, until + (uint32_t)i, t));
		policy_built(&p, &f);
		policy_outcome(&p, &f, true, false);
	}
	CU_ASSERT_EQUAL(p.backoffs, 1);
	CU_ASSERT_EQUAL(f.backoff_exp, 0); /* recovered: the next back-off is short again */
	/* Failing again backs off again, and a repeat offender's back-off grows. */
	for (int i = 0; i < 40 && decide(&p, &f, 100, t); i++) {
		policy_built(&p, &f);
		policy_outcome(&p, &f, false, true);
	}
	uint32_t again = f.backoff_until;
	for (int i = 0; i < 40 && decide(&p, &f, again, t); i++) {
		policy_built(&p, &f);
		policy_outcome(&p, &f, false, true);
	}
	CU_ASSERT_EQUAL(p.backoffs, 3);
	CU_ASSERT_TRUE(f.backoff_until - f.packets > 16);
}

static void test_policy_admission_is_rate_limited(void)
{
	struct policy p = mk();
	p.cfg.admit_rate = 1000.0f; /* burst 10 */
	p.tokens = 10.0;
	struct policy_flow fl[1000];
	memset(fl, 0, sizeof fl);
	uint64_t t = 1;
	int admitted = 0;
	/* A flood: 1000 new flows within 1 ms, each at its third packet. */
	for (int i = 0; i < 1000; i++)
		admitted += decide(&p, &fl[i], 3, t + (uint64_t)i * 1000);
	CU_ASSERT_TRUE(admitted >= 10 && admitted <= 12);
	CU_ASSERT_TRUE(p.refused_admission >= 988);
	/* An established flow (twelve packets and more) is admitted without a token. */
	struct policy_flow est = { 0 };
	CU_ASSERT_TRUE(decide(&p, &est, 40, t + 1000000));
	/* Too young: never admitted. */
	struct policy_flow young = { 0 };
	CU_ASSERT_FALSE(decide(&p, &young, 2, t + 5 * MS));
	/* While flows are being evicted, only protected flows are built for. */
	policy_control(&p, 0.0f, 0.05f);
	float mc;
	bool pay;
	CU_ASSERT_FALSE(policy_decide(&p, &est, 41, false, t + 6 * MS, &mc, &pay));
	CU_ASSERT_TRUE(policy_decide(&p, &est, 41, true, t + 6 * MS, &mc, &pay));
}

static void test_policy_cpu_budget_holds_the_ceiling(void)
{
	struct policy_cfg c;
	policy_cfg_defaults(&c);
	c.kind = POLICY_ADAPTIVE;
	c.admit_packets = 1;
	struct policy p;
	policy_init(&p, &c);
	struct policy_flow f = { .cls = POLICY_NORMAL, .cls_set = 1 };
	uint64_t built = 0, hits = 0, n = 100000, t = 1;
	for (uint64_t i = 0; i < n; i++, t += 1000) {
		if (policy_packet(&p, t))
			policy_control(&p, 0.0f, 0.0f);
		if (decide(&p, &f, 100, t)) {
			policy_built(&p, &f);
			policy_outcome(&p, &f, true, false); /* every one used */
			built++;
			hits++;
		}
	}
	/* Extra CPU: crafting, less what hits save, over the baseline's slow path. */
	double extra = ((double)built * c.craft_ns - (double)hits * (c.slow_ns - c.hit_ns)) / ((double)n * c.slow_ns);
	CU_ASSERT_TRUE(extra <= 0.1 + 1e-3);
	CU_ASSERT_TRUE(extra >= 0.09); /* and the budget is used, not wasted */
	/* Static and off do what they say. */
	c.kind = POLICY_OFF;
	policy_init(&p, &c);
	CU_ASSERT_FALSE(decide(&p, &f, 100, t));
	c.kind = POLICY_STATIC;
	policy_init(&p, &c);
	CU_ASSERT_TRUE(decide(&p, &f, 100, t));
}

int policy_test_register(void)
{
	CU_pSuite s = CU_add_suite("policy", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "pressure lowers the levels; slack restores them", test_policy_pressure_lowers_levels_then_recovers);
	CU_add_test(s, "a high-priority class keeps its share", test_policy_high_priority_keeps_its_share);
	CU_add_test(s, "a flow whose precision drops backs off and recovers", test_policy_flow_backs_off_and_recovers);
	CU_add_test(s, "admission is rate-limited; a flood cannot crowd out", test_policy_admission_is_rate_limited);
	CU_add_test(s, "the CPU budget holds the overhead ceiling", test_policy_cpu_budget_holds_the_ceiling);
	return 0;
}
