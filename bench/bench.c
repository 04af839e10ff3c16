/* bench: the measurements behind `make bench` (bench/bench.sh runs them and prints ratios).
 *
 *   bench engine TRACE ROUTES [N4 N6]  per-packet cost of the slow path, the hit path and
 *                                   crafting, timed by the engine itself, trace in memory
 *   bench sched PENDING MEAN OPS    scheduler hold model (ns-3 bench-scheduler), events/s
 *   bench flows N                   flow-table lookups/s with N flows resident; bytes per flow
 *   bench routes N4 N6              route lookups/s with N4 IPv4 and N6 IPv6 prefixes
 *   bench tunnel ROUTES TUNNEL L1 L2  the VPN gateway's costs by size, both ways (gateway 1
 *                                   local L1 seals, gateway 2 local L2 opens), and the
 *                                   libraries' own (bench/tunnel.c, tunnel_layer.c)
 *   bench compress TRACE ROUTES [MODEL]  header compression (vj, last, header, ml with MODEL):
 *                                   compress and decompress ns per packet, beside the baseline
 *                                   engine's routing ns per packet (bench/compress.c)
 *   bench stalls SECONDS            the floor under a busy-polling reader's latency on this
 *                                   CPU (the caller pins it): a loop that only reads the clock,
 *                                   its gaps of 1 us and more (the vCPU or the core taken away:
 *                                   interrupts, the hypervisor), and the wait a packet arriving
 *                                   at a random time would have for the loop to run again
 *
 * Numbers only mean something relative to each other within one run on one machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "core/engine_stats.h"
#include "core/clock_mono.h"
#include "core/csum.h"
#include "core/engine.h"
#include "core/flow.h"
#include "core/pkt.h"
#include "core/route.h"
#include "models/registry.h"
#include "models/flowwalk.h"
#include "sim/rng.h"
#include "sim/sched.h"
#include "traces/memtrace.h"
#include "traces/trace.h"

static uint64_t clock_cb(void *arg)
{
	(void)arg;
	return clock_mono_ns();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of 'n' values (sorted in place), with their minimum and maximum. */
double bench_median_spread(double *v, size_t n, double *lo, double *hi)
{
	qsort(v, n, sizeof *v, cmp_double);
	*lo = v[0];
	*hi = v[n - 1];
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int load(const char *path, struct mem_trace *m)
{
	struct errbuf eb;
	if (mem_trace_load(m, path, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	return 0;
}

static void run_engine(const struct mem_trace *m, struct route_table *rt, enum engine_mode mode, bool timed,
		       struct engine_stats *st, double *secs)
{
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.mode = mode;
	c.routes = rt;
	c.flow_capacity = 1 << 20;
	if (timed)
		c.cost_clock.now_ns = clock_cb;
	struct engine *e;
	struct errbuf eb;
	if (engine_create(&c, &e, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		exit(1);
	}
	/* Frames are read ahead the way a dataplane prefetches the rest of a receive burst, so
	 * that the figures are the paths' work rather than DRAM latency on a 0.5 GB trace. */
	enum { AHEAD = 8 };
	uint64_t t0 = clock_mono_ns();
	for (size_t i = 0; i < m->n; i++) {
		if (i + AHEAD < m->n) {
			__builtin_prefetch(mem_trace_frame(m, i + AHEAD));
			__builtin_prefetch(mem_trace_frame(m, i + AHEAD) + 64);
		}
		engine_process(e, mem_trace_frame(m, i), m->caplen[i], m->wirelen[i], m->linktype, m->ts[i], NULL);
	}
	*secs = (double)(clock_mono_ns() - t0) / 1e9;
	engine_finish(e);
	engine_get_stats(e, st);
	engine_destroy(e);
}


static int bench_engine(const char *path, const char *routes, size_t n4, size_t n6)
{
	struct mem_trace m;
	if (load(path, &m))
		return 1;
	struct route_table *rt;
	struct errbuf eb;
	if (route_table_create(&rt) || route_load_file(rt, routes, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return 1;
	}
	/* A full-size table behind the routes of the file: the slow path's lookup then works as
	 * it would on a router of the Internet's default-free zone. */
	if (bench_add_random_routes(rt, n4, n6))
		return 1;
	printf("engine_routes_v4 %zu\nengine_routes_v6 %zu\n", route_count4(rt), route_count6(rt));
	/* The clock's own cost, subtracted from each timed interval. */
	uint64_t t0 = clock_mono_ns(), dummy = 0;
	for (int i = 0; i < 1000000; i++)
		dummy += clock_mono_ns();
	double clock_ns = (double)(clock_mono_ns() - t0) / 1e6;
	(void)dummy;

	/* Each figure is measured directly, REPS times over (timed and untimed runs alternating),
	 * and printed as the median with the spread (min-max), never as the difference of two
	 * runs: the machines are shared and noisy. */
	enum { MAXREPS = 15 };
	const char *env = getenv("BENCH_REPS");
	int reps = env ? atoi(env) : 5;
	if (reps < 1 || reps > MAXREPS)
		reps = 5;
	double f[7][MAXREPS];
	struct engine_stats b, p;
	for (int r = 0; r < reps; r++) {
		double sb, sp, tb, tp;
		run_engine(&m, rt, ENGINE_BASELINE, false, &b, &sb);
		run_engine(&m, rt, ENGINE_PRECRAFT, false, &p, &sp);
		f[0][r] = (double)m.n / sb;
		f[1][r] = (double)m.n / sp;
		run_engine(&m, rt, ENGINE_BASELINE, true, &b, &tb);
		run_engine(&m, rt, ENGINE_PRECRAFT, true, &p, &tp);
		f[2][r] = (double)b.cost_slow_ns / (double)b.cost_slow_n - clock_ns;
		f[3][r] = (double)p.cost_hit_ns / (double)p.cost_hit_n - clock_ns;
		f[4][r] = (double)p.cost_slow_ns / (double)p.cost_slow_n - clock_ns;
		f[5][r] = (double)p.cost_craft_ns / (double)p.cost_craft_n - clock_ns;
		f[6][r] = f[3][r] / f[2][r];
	}
	static const char *const names[7] = { "engine_baseline_pps", "engine_precraft_pps", "slow_path_ns",
					      "hit_path_ns", "miss_path_ns", "craft_ns", "hit_over_slow" };
	printf("engine_packets %zu\nengine_reps %d\n", m.n, reps);
	printf("hit_ratio %.4f\n", (double)p.hits / (double)p.packets_in);
	printf("precision %.4f\n", p.crafted ? (double)p.hits / (double)p.crafted : 0.0);
	printf("clock_read_ns %.1f\n", clock_ns);
	for (int k = 0; k < 7; k++) {
		double lo, hi, med = bench_median_spread(f[k], (size_t)reps, &lo, &hi);
		const char *fmt = k == 6 ? "%s %.3f\n%s_spread %.3f-%.3f\n" : "%s %.1f\n%s_spread %.1f-%.1f\n";
		printf(fmt, names[k], med, names[k], lo, hi);
	}
	mem_trace_free(&m);
	route_table_destroy(rt);
	return 0;
}

/* ns-3's bench-scheduler hold model: pop the earliest event, schedule one at now + an
 * exponential delay (mean 100 ns), 'pending' events in the set.  'mean_ns' 0 gives every event
 * the same timestamp. */
struct hold_ev {
	struct sched_event ev;
};
static struct rng *hold_rng;
static double hold_mean;
static uint64_t hold_left;

static void hold_fire(struct sched *s, struct sched_event *ev)
{
	if (hold_left == 0) {
		sched_stop(s);
		return;
	}
	hold_left--;
	uint64_t d = hold_mean > 0 ? (uint64_t)rng_exponential(hold_rng, hold_mean) : 0;
	if (sched_at(s, ev, sched_now(s) + d, hold_fire))
		sched_stop(s);
}

static int bench_sched(size_t pending, double mean_ns, uint64_t ops)
{
	struct sched *s;
	if (sched_create(pending, &s) || rng_create(1, 1, 0, &hold_rng))
		return 1;
	struct hold_ev *evs = calloc(pending, sizeof *evs);
	hold_mean = mean_ns;
	for (size_t i = 0; i < pending; i++) {
		sched_event_init(&evs[i].ev);
		uint64_t d = mean_ns > 0 ? (uint64_t)rng_exponential(hold_rng, mean_ns) : 0;
		if (sched_at(s, &evs[i].ev, d, hold_fire))
			return 1;
	}
	hold_left = ops;
	uint64_t t0 = clock_mono_ns();
	uint64_t ran = sched_run(s, UINT64_MAX);
	double secs = (double)(clock_mono_ns() - t0) / 1e9;
	printf("sched_pending %zu\nsched_events_per_s %.0f\nsched_bytes_per_event %zu\n", pending,
	       (double)ran / secs, sched_bytes(s) + sizeof(struct hold_ev) - sizeof(struct sched_event));
	sched_destroy(s);
	rng_destroy(hold_rng);
	free(evs);
	return 0;
}

/* Predictors: the packets of a capture, decoded once (flow index and header fields; payloads
 * left out), then each predictor's observe + predict per packet timed over the whole run. */
struct pred_trace {
	struct pred_pkt *pk;
	uint32_t *flow;
	size_t n, cap;
	uint32_t flows;
};

static int collect(void *arg, void *user, const struct pred_pkt *pk)
{
	struct pred_trace *t = arg;
	uint32_t *id = user;
	if (pk->position == 0)
		*id = t->flows++;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 65536;
		struct pred_pkt *p = realloc(t->pk, cap * sizeof *p);
		uint32_t *f = realloc(t->flow, cap * sizeof *f);
		if (p)
			t->pk = p;
		if (f)
			t->flow = f;
		if (!p || !f)
			return -ERR_NOMEM;
		t->cap = cap;
	}
	t->pk[t->n] = *pk;
	t->pk[t->n].payload = NULL;
	t->pk[t->n].payload_avail = 0;
	t->flow[t->n++] = *id;
	return 0;
}

/* The model file predictor 'name' starts from: ml's and xgb's, from the command line. */
static const char *model_of(const char *name, const char *ml_model, const char *xgb_model)
{
	return strcmp(name, "ml") == 0 ? ml_model : strcmp(name, "xgb") == 0 ? xgb_model : NULL;
}

static int bench_predictors(const char *path, const char *model_file, const char *xgb_model)
{
	/* The clock's own cost, subtracted from each timed call. */
	uint64_t c0 = clock_mono_ns(), dummy = 0;
	for (int i = 0; i < 1000000; i++)
		dummy += clock_mono_ns();
	double clock_ns = (double)(clock_mono_ns() - c0) / 1e6;
	(void)dummy;
	struct pred_trace t = { 0 };
	struct errbuf eb = { "" };
	if (flowwalk(path, sizeof(uint32_t), collect, &t, &eb)) {
		fprintf(stderr, "bench: %s\n", eb.msg);
		return 2;
	}
	printf("predict_packets %zu\npredict_flows %u\n", t.n, t.flows);
	for (size_t i = 0; models_at(i); i++) {
		const struct predictor_ops *ops = models_at(i);
		void *self;
		if (ops->create(model_of(ops->name, model_file, xgb_model), &self, &eb)) {
			fprintf(stderr, "bench: %s\n", eb.msg);
			return 2;
		}
		size_t sz = (ops->flow_state_size + 7) & ~(size_t)7;
		uint8_t *st = calloc(t.flows, sz);
		if (!st)
			return 2;
		/* Learning and prediction, each timed directly, in PREPS passes with fresh state and
		 * model: learning as a pass that only learns; prediction, which leaves the flow's
		 * state alone (predict takes it const), as PBATCH calls on each packet's state timed
		 * together, so the clock's cost is spread over them (warm caches: a lower bound). */
		enum { PREPS = 5, PBATCH = 16 };
		double obs[PREPS], pred[PREPS], both[PREPS];
		uint64_t acc = 0;
		for (int r = 0; r < 2 * PREPS; r++) {
			if (r) {
				ops->destroy(self);
				if (ops->create(model_of(ops->name, model_file, xgb_model), &self, &eb))
					return 2;
				memset(st, 0, t.flows * sz);
			}
			bool predicting = r % 2;
			uint64_t t_pred = 0, t0 = clock_mono_ns();
			for (size_t k = 0; k < t.n; k++) {
				void *fs = st + (size_t)t.flow[k] * sz;
				ops->observe(self, fs, &t.pk[k]);
				if (!predicting)
					continue;
				struct pred_out o;
				uint64_t a = clock_mono_ns();
				for (int j = 0; j < PBATCH; j++) {
					memset(&o, 0, sizeof o);
					if (ops->predict(self, fs, &t.pk[k], &o))
						acc += o.payload_len ^ o.ip_id;
				}
				t_pred += clock_mono_ns() - a;
			}
			if (!predicting) {
				obs[r / 2] = (double)(clock_mono_ns() - t0) / (double)t.n;
			} else {
				double v = ((double)t_pred / (double)t.n - clock_ns) / PBATCH;
				pred[r / 2] = v > 0 ? v : 0;
			}
		}
		for (int r = 0; r < PREPS; r++)
			both[r] = obs[r] + pred[r];
		double lo, hi, m;
		m = bench_median_spread(obs, PREPS, &lo, &hi);
		printf("observe_ns_%s %.1f\nobserve_ns_%s_spread %.1f-%.1f\n", ops->name, m, ops->name, lo, hi);
		m = bench_median_spread(pred, PREPS, &lo, &hi);
		printf("predict_ns_%s %.1f\npredict_ns_%s_spread %.1f-%.1f\n", ops->name, m, ops->name, lo, hi);
		m = bench_median_spread(both, PREPS, &lo, &hi);
		printf("packet_ns_%s %.1f\npacket_ns_%s_spread %.1f-%.1f\n", ops->name, m, ops->name, lo, hi);
		printf("predict_checksum_%s %llu\n", ops->name, (unsigned long long)(acc & 0xffff));
		free(st);
		ops->destroy(self);
	}
	free(t.pk);
	free(t.flow);
	return 0;
}

/* The wait W of an arrival at a uniformly random time until the loop runs again: an arrival
 * inside a gap of g waits for the rest of it, so P(W > w) = sum over gaps of max(0, g - w) / T.
 * The quantile q is found by bisection (P(W > w) falls as w grows). */
static double stall_wait_quantile(const uint64_t *gap, size_t n, double total_ns, double q)
{
	double lo = 0, hi = 1e9;
	for (int it = 0; it < 64; it++) {
		double w = (lo + hi) / 2, over = 0;
		for (size_t i = 0; i < n; i++)
			if ((double)gap[i] > w)
				over += (double)gap[i] - w;
		if (over / total_ns > 1 - q)
			lo = w;
		else
			hi = w;
	}
	return lo;
}

static int bench_stalls(double secs)
{
	if (!(secs > 0 && secs <= 60)) {
		fprintf(stderr, "bench stalls: SECONDS is in (0, 60]\n");
		return 2;
	}
	size_t cap = 1u << 22, n = 0;
	uint64_t *gap = malloc(cap * sizeof *gap);
	if (!gap)
		return 1;
	uint64_t t0 = clock_mono_ns(), end = t0 + (uint64_t)(secs * 1e9), prev = t0, loops = 0, longest = 0, stalled = 0;
	static const uint64_t edge[] = { 2000, 5000, 10000, 20000, 50000, 100000, 1000000 };
	uint64_t bin[8] = { 0 };
	for (;;) {
		uint64_t t = clock_mono_ns(), g = t - prev;
		prev = t;
		loops++;
		if (g >= 1000) {
			unsigned k = 0;
			while (k < 7 && g >= edge[k])
				k++;
			bin[k]++;
			stalled += g;
			longest = g > longest ? g : longest;
			if (n < cap)
				gap[n++] = g;
		}
		if (t >= end)
			break;
	}
	double total = (double)(prev - t0);
	printf("loops %llu\nloop_ns %.1f\nstalled_percent %.3f\nlongest_ns %llu\n", (unsigned long long)loops,
	       total / (double)loops, 100.0 * (double)stalled / total, (unsigned long long)longest);
	static const char *name[] = { "1_2us", "2_5us", "5_10us", "10_20us", "20_50us", "50_100us", "100us_1ms", "over_1ms" };
	for (unsigned k = 0; k < 8; k++)
		printf("stalls_%s_per_s %.1f\n", name[k], (double)bin[k] / (total / 1e9));
	printf("arrival_wait_p99_ns %.0f\narrival_wait_p999_ns %.0f\n", stall_wait_quantile(gap, n, total, 0.99),
	       stall_wait_quantile(gap, n, total, 0.999));
	free(gap);
	return 0;
}


int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "tunnel") == 0)
		return bench_tunnel(argv[2], argv[3], argv[4], argv[5]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "compress") == 0)
		return bench_compress(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (argc == 3 && strcmp(argv[1], "routefile") == 0)
		return bench_route_file(argv[2]);
	if (argc == 5 && strcmp(argv[1], "sched") == 0)
		return bench_sched(strtoull(argv[2], NULL, 10), strtod(argv[3], NULL), strtoull(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "engine") == 0)
		return bench_engine(argv[2], argv[3], 0, 0);
	if (argc == 6 && strcmp(argv[1], "engine") == 0)
		return bench_engine(argv[2], argv[3], strtoull(argv[4], NULL, 10), strtoull(argv[5], NULL, 10));
	if (argc >= 3 && argc <= 5 && strcmp(argv[1], "predictors") == 0)
		return bench_predictors(argv[2], argc >= 4 ? argv[3] : NULL, argc == 5 ? argv[4] : NULL);
	if (argc == 3 && strcmp(argv[1], "flows") == 0)
		return bench_flows(strtoull(argv[2], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "routes") == 0)
		return bench_routes(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "stalls") == 0)
		return bench_stalls(strtod(argv[2], NULL));
	fprintf(stderr, "usage: bench engine TRACE ROUTES [N4 N6] | sched PENDING MEAN_NS OPS | predictors TRACE [ML_MODEL [XGB_MODEL]] | flows N | routes N4 N6 | routefile FILE | tunnel ROUTES TUNNEL LOCAL1 LOCAL2 | stalls SECONDS\n"
		"  (the traces it measures come from build/tracegen)\n");
	return 2;
}
