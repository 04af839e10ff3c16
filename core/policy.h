/* policy: how aggressively the engine pre-builds, per flow and per priority class.
 *
 * Three policies (engine_cfg.policy.kind, `--policy` on the command line):
 *   off        nothing is pre-built (the baseline's work, through the pre-crafting engine);
 *   static     every flow past 'admit_packets' is built for when its prediction is at least
 *              'min_confidence' sure (fixed depth 1 and threshold);
 *   adaptive   the controller below.
 *
 * The adaptive controller decides, per flow, whether its next packet is pre-built (depth 0 or
 * 1: the crafter keeps one pre-built packet per direction), the confidence its prediction needs,
 * whether its payload may be anticipated, and whether it may hold pool memory at all; from:
 *   - the flow's own precision (pre-built packets used / built, an EWMA): under the floor it
 *     backs off for 16, 32, ... its packets (exponential, capped), then tries again, and a run
 *     of good outcomes shortens the next back-off (recovery);
 *   - admission: a flow is admitted after 'admit_packets' packets and only with a token from a
 *     bucket refilled at 'admit_rate' flows per second (a flow of four times that many packets
 *     needs none: it has shown it is no flood), so a flood of short or spoofed flows
 *     neither gets pool memory nor evicts established flows (the engine protects flows heard
 *     from both ends in the flow table's LRU: a spoofed or scanning flood is one-way, so it
 *     evicts itself; admission alone does not protect, or a flood's long flows would crowd
 *     the protected set.  Open vSwitch's lesson: inserting on every miss thrashed);
 *   - a CPU budget: extra work over the baseline (crafting, failed validations, less the time
 *     hits save) is paid from a credit that grows by 'overhead_ceiling' times the baseline's
 *     cost of each packet, so the extra CPU time stays under the ceiling by construction; when
 *     the credit runs low only high-priority flows and flows of proven precision are built for;
 *   - a memory budget: pool memory in use over 'overhead_ceiling' times what the baseline holds
 *     (the flow table), within the pool's own budget; over it, only high priority builds;
 *   - global pressure, every 'control_ns': CPU utilisation, queueing delay through the shaper,
 *     pool memory in use, loss, egress utilisation, the shaper's precision and its failed
 *     validations (over 0.5 % of packets they would set the p99 latency), folded into one
 *     pressure in [0, 1]; each priority class has a level in [0, 1] that falls by half when the
 *     pressure passes its class's mark (low 0, normal 0.3, high 0.7) and rises by 0.1 when it
 *     does not (AIMD), so low-priority flows give way first and high-priority flows keep their
 *     pre-built packets longest.  A lower level asks for more confidence and, under 0.75, no
 *     payload anticipation.
 * Priority classes come from DSCP or ports (policy_classify).
 *
 * It is plain data and arithmetic, no allocation and no clock of its own: the engine hands it
 * the packet time, so it runs the same in the simulator and on real interfaces. */
#ifndef PRECRAFT_POLICY_H
#define PRECRAFT_POLICY_H

#include <stdbool.h>
#include <stdint.h>

enum policy_kind { POLICY_OFF, POLICY_STATIC, POLICY_ADAPTIVE };

enum policy_class { POLICY_LOW, POLICY_NORMAL, POLICY_HIGH, POLICY_CLASSES };

/* "off", "static", "adaptive" → kind; -1 for others. */
int policy_kind_parse(const char *s);
const char *policy_kind_name(enum policy_kind k);
const char *policy_class_name(unsigned cls);

#define POLICY_MAX_PORTS 8

struct policy_cfg {
	enum policy_kind kind;
	float min_confidence;      /* static: the threshold; adaptive: the least asked */
	uint32_t admit_packets;    /* packets a flow has sent before it is built for */
	bool payload;              /* payload anticipation allowed at all */
	/* adaptive */
	float admit_rate;          /* flows admitted per second */
	float precision_floor;     /* pre-built packets used / built, per flow and overall */
	float overhead_ceiling;    /* extra CPU time over the baseline, as a fraction */
	float queue_target_us;     /* queueing delay through the shaper counted as pressure */
	uint64_t control_ns;       /* period of the global controller */
	/* cost weights of the CPU budget, ns (the cost profile's) */
	float slow_ns, hit_ns, miss_ns, craft_ns;
	/* and with an ESP tunnel, ns = a + b * bytes: sealing in one shot, sealing with a
	 * keystream made ahead, making a keystream */
	float esp_seal_a, esp_seal_b, esp_keyed_a, esp_keyed_b, esp_ks_a, esp_ks_b;
	/* priority classes: high by DSCP (at least high_dscp, when non-zero) or port; low by port */
	uint8_t high_dscp;
	uint8_t n_high_ports, n_low_ports;
	uint16_t high_ports[POLICY_MAX_PORTS], low_ports[POLICY_MAX_PORTS];
};

/* Fills 'cfg' with the defaults: static, threshold 0, every flow, payload on; the adaptive
 * knobs at their documented defaults (floor 0.6, ceiling 0.1, 10000 admissions/s, 4 packets
 * for adaptive admission, 1 ms control period). */
void policy_cfg_defaults(struct policy_cfg *cfg);
/* Sets the kind, and the admission length that goes with it (static 1 packet, adaptive 3). */
void policy_cfg_kind(struct policy_cfg *cfg, enum policy_kind k);

/* What the host measures of the shaper's conditions (the simulator's model, the HIL runner). */
struct policy_signals {
	float cpu_util;            /* busy fraction of the shaper's CPU, [0, 1] */
	float queue_delay_us;      /* queueing delay through the shaper */
	float loss;                /* recent loss rate on the path, [0, 1] */
	float egress_util;         /* egress link utilisation, [0, 1] */
};

/* Per flow, in the engine's flow area (zeroed when the flow starts). */
struct policy_flow {
	uint32_t packets;          /* the flow's packets when last asked */
	uint32_t backoff_until;    /* not built for before this many packets */
	uint16_t prec_q;           /* EWMA of "the pre-built packet was used", Q16 */
	uint16_t outcomes;         /* saturating */
	uint8_t backoff_exp, cls, admitted, cls_set;
};

struct policy {
	struct policy_cfg cfg;
	float level[POLICY_CLASSES];
	double credit_ns, credit_cap_ns;
	double tokens;
	uint64_t tokens_t, next_control;
	float pool_used, table_churn;
	struct policy_signals sig;
	/* the current control interval */
	uint64_t iv_built, iv_used, iv_failed, iv_packets;
	uint64_t packets, packets_at_control;
	float pressure, fail_pressure, prec_pressure;
	/* totals */
	uint64_t admitted, refused_admission, backoffs, budget_denied, level_denied;
};

void policy_init(struct policy *p, const struct policy_cfg *cfg);

/* The priority class of a flow whose first packet carried 'dscp' between 'sport' and 'dport'. */
unsigned policy_classify(const struct policy *p, uint8_t dscp, uint16_t sport, uint16_t dport);

/* Every packet the engine processes: the CPU credit it earns.  Returns true when the
 * controller's period is over: the caller then runs policy_control. */
bool policy_packet(struct policy *p, uint64_t now_ns);
/* The global controller: new class levels from the signals, the interval's precision and
 * 'pool_used' (the pool's bytes in use over its budget) and 'table_churn' (flow-table
 * evictions per packet: when flows are being evicted, a flow that is not protected would lose
 * its pre-built packet before it is used, so only protected flows are built for). */
void policy_control(struct policy *p, float pool_used, float table_churn);

/* After the predictor has learned from a packet of a flow with 'flow_packets' packets
 * ('protected_flow': heard from both ends, so safe from eviction): may the
 * flow's next packet be pre-built?  If so, '*min_conf' is the confidence the prediction needs
 * and '*payload' whether its payload may be anticipated. */
bool policy_decide(struct policy *p, struct policy_flow *pf, uint32_t flow_packets, bool protected_flow,
		   uint64_t now_ns, float *min_conf, bool *payload);

/* May 'n' first packets of flows a DNS answer announces be pre-built now (prefetch.h)?  off:
 * never; static: always; adaptive: as for a normal-priority flow of no record yet, while the
 * normal class's level is at least 0.5, the pool is not short of memory and the CPU credit
 * pays for all 'n' (an announcement is a guess about flows that do not exist yet: it gives way
 * before any flow's own prediction does).  Each one built is then policy_built(p, NULL). */
bool policy_prefetch(struct policy *p, unsigned n);
/* A pre-built packet was made for the flow ('pf' may be NULL: an announced flow). */
void policy_built(struct policy *p, struct policy_flow *pf);
/* A pre-built packet of the flow was used (a hit) or not (wasted; 'failed': it failed
 * validation against the arriving packet, which costs a slower miss).  'pf' may be NULL: an
 * announced flow's first packet that no flow adopted (prefetch.h). */
void policy_outcome(struct policy *p, struct policy_flow *pf, bool used, bool failed);

/* ESP (esp.h).  How many keystreams an SA's ring should hold now, at most 'max_depth' (the
 * memory the rings were given: engine_cfg.ks_depth, ks_cap), each of 'bytes': off none, static
 * all; adaptive in proportion to the normal class's level, and only while the CPU credit pays
 * for the next one and the pool is not short of memory. */
unsigned policy_keystream(const struct policy *p, unsigned max_depth, uint32_t bytes);
/* ESP work made ahead of 'bytes' bytes ('keystream': a keystream, else an anticipated
 * packet sealed). */
void policy_esp_built(struct policy *p, uint32_t bytes, bool keystream);
/* A packet of 'bytes' was sealed: the baseline's cost of sealing it earns credit as the slow
 * path does; 'ahead' says it was sealed from work made ahead (the saving is paid back). */
void policy_esp_sealed(struct policy *p, uint32_t bytes, bool ahead);
/* The cost model: ns for 'bytes' (0 one-shot seal, 1 keyed seal, 2 keystream). */
float policy_esp_cost(const struct policy_cfg *c, int what, uint32_t bytes);

void policy_set_signals(struct policy *p, const struct policy_signals *s);

/* The class's level in [0, 1]: 1 = as the static policy, 0 = nothing built. */
static inline float policy_level(const struct policy *p, unsigned cls)
{
	return p->level[cls < POLICY_CLASSES ? cls : (unsigned)POLICY_NORMAL];
}

#endif
