/* model_test: the simulator: determinism, exact timing under known costs, links, scenarios,
 * frames. */
#include "model.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/store.h"
#include "cli/shaper.h"
#include "core/recorder.h"
#include "core/pkt.h"
#include "frames.h"
#include "link.h"
#include "rng.h"
#include "scenario.h"
#include "tests/pktgen.h"

static void set(struct scenario *s, const char *a)
{
	struct errbuf eb;
	if (scenario_set(s, a, &eb)) {
		fprintf(stderr, "\n  %s\n", eb.msg);
		CU_FAIL("scenario_set");
	}
}

/* A scenario with every kind of randomness: Poisson sources, Bernoulli and Gilbert loss, and
 * a cloned trace. */
static void busy_scenario(struct scenario *s)
{
	scenario_defaults(s);
	set(s, "link.in.loss=bernoulli");
	set(s, "link.in.loss_p=0.02");
	set(s, "link.out.loss=gilbert");
	set(s, "link.out.ge_p_gb=0.01");
	set(s, "source.poisson.type=poisson");
	set(s, "source.poisson.rate_pps=200000");
	set(s, "source.poisson.flows=300");
	set(s, "source.poisson.flow_pkts_shape=1.5");
	set(s, "source.poisson.duration_s=0.02");
	set(s, "source.onoff.type=onoff");
	set(s, "source.onoff.on_ms=2");
	set(s, "source.onoff.off_ms=3");
	set(s, "source.onoff.duration_s=0.02");
	set(s, "source.onoff.proto=tcp");
	set(s, "source.fix.file=traces/ndpi-fix.pcap");
	set(s, "source.fix.clones=3");
	set(s, "source.fix.speed=1000");
	set(s, "run.stats_interval_ms=1");
}

/* Runs 's' as `precraft sim` does: the shaper keys through the one shaper setup, the shipped
 * cost profile unless the scenario names one. */
static int run_sim(const struct scenario *s, const struct recorder *rec, struct sim_summary *sum, struct errbuf *eb)
{
	struct shaper_opts so;
	struct shaper_paths paths;
	struct shaper sh;
	shaper_from_scenario(s, &so, &paths);
	so.routes = "scenarios/default.routes";
	int rc = shaper_setup(&so, &sh, eb);
	if (rc)
		return rc;
	char costs[1024];
	if (strcmp(s->costs, "default") == 0)
		snprintf(costs, sizeof costs, "scenarios/default.costs");
	else
		scenario_resolve(s, s->costs, costs, sizeof costs);
	struct sim_opts o = { .engine = &sh.cfg, .costs_path = costs, .rec = rec };
	rc = sim_run(s, &o, sum, eb);
	shaper_fini(&sh);
	return rc;
}

/* Runs 's' into a fresh database and returns the canonical dump (caller frees). */
static char *run_and_dump(const struct scenario *s)
{
	char path[] = "/tmp/precraft-sim-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	struct store *st = NULL;
	struct errbuf eb;
	CU_ASSERT_FATAL(store_open(path, &st, &eb) == 0);
	int64_t run_id;
	CU_ASSERT_FATAL(store_run_begin(st, "test", s->seed, s->run, &run_id, &eb) == 0);
	struct recorder rec;
	store_recorder(st, run_id, &rec);
	struct sim_summary sum;
	int rc = run_sim(s, &rec, &sum, &eb);
	if (rc)
		fprintf(stderr, "\n  %s\n", eb.msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(sum.sink_packets > 1000);
	CU_ASSERT_EQUAL(store_run_end(st, run_id, "complete", &eb), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	CU_ASSERT_EQUAL(store_dump(st, mem, &eb), 0);
	fclose(mem);
	store_close(st, NULL);
	unlink(path);
	return buf;
}

static void test_sim_same_seed_same_results(void)
{
	struct scenario *s = malloc(sizeof *s);
	busy_scenario(s);
	char *a = run_and_dump(s), *b = run_and_dump(s);
	CU_ASSERT_TRUE(strlen(a) > 10000);
	CU_ASSERT_STRING_EQUAL(a, b); /* byte-identical content */
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "vector|1|hit_ratio"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "flow|1|"));
	/* Another run number: another replication, which reproduces too. */
	s->run = 2;
	char *c = run_and_dump(s), *d = run_and_dump(s);
	CU_ASSERT_STRING_NOT_EQUAL(a, c);
	CU_ASSERT_STRING_EQUAL(c, d);
	free(a);
	free(b);
	free(c);
	free(d);
	free(s);
}

/* The value of scalar 'name' of run 1 in a dump, or -1. */
static double dump_scalar(const char *dump, const char *name)
{
	char key[96];
	snprintf(key, sizeof key, "scalar|1|%s|", name);
	const char *at = strstr(dump, key);
	return at ? strtod(at + strlen(key), NULL) : -1;
}

/* shaper.cpus: the flows spread over the CPUs by a symmetric hash, both directions of a flow on
 * one CPU (so the flows counted are those of one CPU), every packet served by exactly one, the
 * run as reproducible as with one CPU. */
static void test_sim_cpus_share_flows_by_a_symmetric_hash(void)
{
	struct scenario *s = malloc(sizeof *s);
	busy_scenario(s);
	char *one = run_and_dump(s);
	set(s, "shaper.cpus=4");
	char *a = run_and_dump(s), *b = run_and_dump(s);
	CU_ASSERT_STRING_EQUAL(a, b);
	double flows = dump_scalar(one, "flows"), pkts = dump_scalar(one, "packets_in");
	CU_ASSERT_TRUE(flows > 300);
	CU_ASSERT_EQUAL(dump_scalar(a, "flows"), flows);
	CU_ASSERT_EQUAL(dump_scalar(a, "packets_in"), pkts);
	CU_ASSERT_EQUAL(dump_scalar(a, "cpus"), 4);
	CU_ASSERT_EQUAL(dump_scalar(one, "cpu_imbalance"), 1);
	double sum = 0, max = 0;
	for (int i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof name, "cpu%d_packets", i);
		double n = dump_scalar(a, name);
		CU_ASSERT_TRUE(n > pkts / 10); /* every CPU has its share */
		sum += n;
		snprintf(name, sizeof name, "cpu%d_busy_ns", i);
		if (dump_scalar(a, name) > max)
			max = dump_scalar(a, name);
	}
	CU_ASSERT_EQUAL(sum, pkts);
	CU_ASSERT_EQUAL(dump_scalar(a, "cpu4_packets"), -1);
	double mean = (dump_scalar(a, "cpu_packet_ns") + dump_scalar(a, "cpu_craft_ns")) / 4;
	CU_ASSERT_DOUBLE_EQUAL(dump_scalar(a, "cpu_imbalance"), max / mean, 1e-9);
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "vector|1|cpu_util_3|"));
	CU_ASSERT_PTR_NULL(strstr(one, "vector|1|cpu_util_1|"));
	free(one);
	free(a);
	free(b);
	free(s);
}

/* One flow of equal packets far apart: every packet after the first hits, and its latency
 * through the shaper is exactly the hit cost; the baseline's is the slow-path cost. */
static void test_sim_latency_is_the_cost_of_the_path(void)
{
	struct scenario *s = malloc(sizeof *s);
	scenario_defaults(s);
	set(s, "shaper.slow_ns=1000");
	set(s, "shaper.hit_ns=200");
	set(s, "shaper.miss_ns=1500");
	set(s, "shaper.craft_ns=800");
	set(s, "source.one.type=poisson");
	set(s, "source.one.flows=1");
	set(s, "source.one.rate_pps=1000");
	set(s, "source.one.duration_s=1");
	struct sim_summary sum;
	struct errbuf eb;
	CU_ASSERT_EQUAL_FATAL(run_sim(s, NULL, &sum, &eb), 0);
	CU_ASSERT_TRUE(sum.packets_in > 900);
	CU_ASSERT_EQUAL(sum.hits, sum.packets_in - 1);
	CU_ASSERT_EQUAL(sum.late, 0);
	/* Log-linear bins: within 2 %. */
	CU_ASSERT_DOUBLE_EQUAL(sum.latency_p50_ns, 200, 4);
	CU_ASSERT_DOUBLE_EQUAL(sum.baseline_latency_p50_ns, 1000, 20);
	/* Back to back, the CPU has no time to craft: pre-built packets are late. */
	set(s, "source.one.rate_pps=50000000");
	set(s, "source.one.duration_s=0.0001");
	set(s, "link.in.rate_mbps=0");
	CU_ASSERT_EQUAL_FATAL(run_sim(s, NULL, &sum, &eb), 0);
	CU_ASSERT_TRUE(sum.late > sum.packets_in / 2);
	free(s);
}

static void test_link_timing_queue_and_loss(void)
{
	struct scn_link c = { .rate_mbps = 1000, .delay_us = 5, .queue_pkts = 2, .loss = SCN_LOSS_NONE };
	struct link l;
	struct rng *r;
	CU_ASSERT_FATAL(rng_create(1, 1, 0, &r) == 0);
	CU_ASSERT_FATAL(link_init(&l, &c, r) == 0);
	uint64_t t;
	/* 1250 bytes at 1 Gbit/s: 10 us on the wire, then 5 us of propagation. */
	CU_ASSERT_EQUAL(link_send(&l, 0, 1250, &t), LINK_OK);
	CU_ASSERT_EQUAL(t, 15000);
	CU_ASSERT_EQUAL(link_send(&l, 0, 1250, &t), LINK_OK);
	CU_ASSERT_EQUAL(t, 25000); /* queued behind the first */
	CU_ASSERT_EQUAL(link_send(&l, 0, 1250, &t), LINK_OK);
	CU_ASSERT_EQUAL(link_send(&l, 0, 1250, &t), LINK_QUEUE_DROP); /* 2 queued + 1 on the wire */
	CU_ASSERT_EQUAL(link_backlog(&l, 10000), 2);
	CU_ASSERT_EQUAL(link_send(&l, 10000, 1250, &t), LINK_OK);
	link_fini(&l);
	c = (struct scn_link){ .rate_mbps = 0, .queue_pkts = 10, .loss = SCN_LOSS_BERNOULLI, .loss_p = 0.1 };
	CU_ASSERT_FATAL(link_init(&l, &c, r) == 0);
	for (int i = 0; i < 100000; i++)
		(void)link_send(&l, (uint64_t)i, 100, &t);
	CU_ASSERT_DOUBLE_EQUAL((double)l.lost / 100000.0, 0.1, 0.005);
	link_fini(&l);
	/* Gilbert-Elliott: losses come in bursts. */
	c = (struct scn_link){ .queue_pkts = 10, .loss = SCN_LOSS_GILBERT, .ge_p_gb = 0.01, .ge_p_bg = 0.2,
			       .ge_loss_good = 0, .ge_loss_bad = 1 };
	CU_ASSERT_FATAL(link_init(&l, &c, r) == 0);
	int runs = 0, prev = 0;
	for (int i = 0; i < 100000; i++) {
		int lost = link_send(&l, (uint64_t)i, 100, &t) == LINK_LOST;
		runs += lost && !prev;
		prev = lost;
	}
	/* Stationary bad-state share 0.01 / 0.21 = 4.8 %, in bursts of about 5. */
	CU_ASSERT_DOUBLE_EQUAL((double)l.lost / 100000.0, 0.048, 0.01);
	CU_ASSERT_TRUE((double)l.lost / runs > 3.0);
	link_fini(&l);
	rng_destroy(r);
}

static int load_text(const char *text, struct scenario *s, struct errbuf *eb)
{
	char path[] = "/tmp/precraft-scn-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	scenario_defaults(s);
	int rc = scenario_load(s, path, eb);
	unlink(path);
	return rc;
}

static void test_scenario_errors_name_the_line(void)
{
	struct scenario *s = malloc(sizeof *s);
	struct errbuf eb;
	CU_ASSERT_EQUAL(load_text("[run]\nseed = 7\n\n[link.in]\nloss = gilbert ; comment\n[source.a]\ntype=poisson\n", s, &eb), 0);
	CU_ASSERT_EQUAL(s->seed, 7);
	CU_ASSERT_EQUAL(s->in.loss, SCN_LOSS_GILBERT);
	CU_ASSERT_EQUAL(s->n_src, 1);
	CU_ASSERT_EQUAL(s->src[0].type, SCN_SRC_POISSON);
	CU_ASSERT_EQUAL(load_text("[run]\nseed = 7\nsped = 3\n", s, &eb), -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, ":3: unknown key 'sped' in [run]"));
	CU_ASSERT_EQUAL(load_text("[link.in]\nloss_p = 2\n", s, &eb), -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, ":2: bad value '2' for link.in.loss_p"));
	CU_ASSERT_EQUAL(load_text("[shaper]\nmode = turbo\n", s, &eb), -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "baseline|precraft|shadow"));
	CU_ASSERT_EQUAL(load_text("[links]\nx = 1\n", s, &eb), -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, ":2: unknown section [links]"));
	CU_ASSERT_EQUAL(load_text("seed = 1\n", s, &eb), -ERR_FORMAT);
	CU_ASSERT_EQUAL(load_text("[run\n", s, &eb), -ERR_FORMAT);
	scenario_defaults(s);
	CU_ASSERT_EQUAL(scenario_set(s, "link.out.rate_mbps=x", &eb), -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "--set link.out.rate_mbps=x"));
	CU_ASSERT_EQUAL(scenario_set(s, "noequals", &eb), -ERR_FORMAT);
	CU_ASSERT_EQUAL(scenario_set(s, "source.x.speed=2", &eb), 0);
	CU_ASSERT_DOUBLE_EQUAL(s->src[0].speed, 2, 1e-12);
	free(s);
}

static void test_frames_clone_and_synth_keep_checksums(void)
{
	struct gen_pkt g;
	gen_default(&g);
	uint8_t pay[33];
	memset(pay, 7, sizeof pay);
	g.payload = pay;
	g.plen = sizeof pay;
	for (int proto = 0; proto < 2; proto++) {
		for (int fam = 4; fam <= 6; fam += 2) {
			g.proto = proto ? 17 : 6;
			g.family = fam;
			if (fam == 6) {
				memset(g.src, 0x20, 16);
				memset(g.dst, 0x30, 16);
			}
			uint8_t f[256], r[256];
			uint32_t n = (uint32_t)gen_frame(&g, f, sizeof f);
			/* The reverse direction, to check the pairing survives. */
			struct gen_pkt h = g;
			memcpy(h.src, g.dst, 16);
			memcpy(h.dst, g.src, 16);
			uint32_t m = (uint32_t)gen_frame(&h, r, sizeof r);
			frames_clone(f, n, n, PKT_LINK_ETH, 5);
			frames_clone(r, m, m, PKT_LINK_ETH, 5);
			CU_ASSERT_TRUE(gen_checksums_ok(f, n));
			CU_ASSERT_TRUE(gen_checksums_ok(r, m));
			size_t a = fam == 4 ? 26 : 22, len = fam == 4 ? 4 : 16;
			CU_ASSERT_EQUAL(memcmp(f + a, r + a + len, len), 0); /* src of one is dst of the other */
			CU_ASSERT_NOT_EQUAL(memcmp(f + a, g.src, len), 0);
		}
	}
	uint8_t s[2048];
	for (int proto = 6; proto <= 17; proto += 11) {
		uint32_t n = frames_synth(s, sizeof s, 123456, proto, 99, 7, 300);
		CU_ASSERT_EQUAL(n, 14 + 20 + (proto == 6 ? 20 : 8) + 300);
		CU_ASSERT_TRUE(gen_checksums_ok(s, n));
	}
}

int model_test_register(void)
{
	CU_pSuite s = CU_add_suite("sim", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "same seed, same results; run numbers differ and reproduce", test_sim_same_seed_same_results);
	CU_add_test(s, "latency through the shaper is the cost of the path", test_sim_latency_is_the_cost_of_the_path);
	CU_add_test(s, "CPUs share the flows by a symmetric hash", test_sim_cpus_share_flows_by_a_symmetric_hash);
	CU_add_test(s, "link timing, drop-tail queue, Bernoulli and Gilbert loss", test_link_timing_queue_and_loss);
	CU_add_test(s, "scenario errors name the line", test_scenario_errors_name_the_line);
	CU_add_test(s, "clones and synthetic frames keep valid checksums", test_frames_clone_and_synth_keep_checksums);
	return 0;
}
