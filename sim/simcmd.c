/* simcmd: `precraft sim SCENARIO.ini` and `precraft calibrate` (see simcmd.h). */
#include "simcmd.h"

#include <getopt.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/store.h"
#include "cliutil.h"
#include "core/policy.h"
#include "core/engine.h"
#include "core/route.h"
#include "costs.h"
#include "model.h"
#include "scenario.h"
#include "trace.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static const char sim_usage[] =
	"usage: precraft sim SCENARIO.ini [options]\n"
	"  Runs the discrete-event simulation of a scenario (scenarios/README.md lists every key).\n"
	"  --set SECTION.KEY=VALUE   override a key (repeatable), e.g. --set link.in.loss_p=0.01\n"
	"  --db FILE                 results database (default results.db)\n"
	"  --seed N, --run N         seed and run number (replications of one seed)\n"
	"  --policy off|static|adaptive  the pre-building policy (scenario key policy.kind)\n"
	"  --quiet                   print nothing but errors\n"
	"  --keys                    print every scenario key (Markdown) and exit\n"
	"Exit: 0 done, 1 runtime failure or interrupted (results kept), 2 bad usage or input.\n";

struct param_ctx {
	struct store *st;
	int64_t run_id;
};

static void put_param(void *arg, const char *name, const char *value)
{
	struct param_ctx *c = arg;
	store_param(c->st, c->run_id, name, value);
}

int simcmd_run(const struct scenario *scn, const char *db, int argc, char **argv, int quiet)
{
	struct errbuf eb = { "" };
	struct store *st = NULL;
	int64_t run_id = 0;
	char command[2048];
	cli_command_line("precraft", argc, argv, command, sizeof command);
	if (db) {
		if (store_open(db, &st, &eb) || store_run_begin(st, command, scn->seed, scn->run, &run_id, &eb)) {
			cli_error("%s", eb.msg);
			store_close(st, NULL);
			return EXIT_USAGE;
		}
		struct param_ctx pc = { st, run_id };
		scenario_each(scn, put_param, &pc);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct sim_opts o = { .store = st, .run_id = run_id, .interrupted = &interrupted, .quiet = quiet };
	struct sim_summary sum;
	int rc = sim_run(scn, &o, &sum, &eb);
	int code = EXIT_OK;
	const char *status = "complete";
	if (rc) {
		cli_error("%s", eb.msg);
		code = rc == -ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
		status = "failed";
	} else if (sum.interrupted) {
		status = "interrupted";
		code = EXIT_RUNTIME;
	}
	if (st) {
		struct errbuf e2 = { "" };
		if (store_run_end(st, run_id, status, &e2) || store_close(st, &e2)) {
			cli_error("%s", e2.msg);
			code = EXIT_RUNTIME;
		}
	}
	if (!quiet && !rc) {
		printf("run                    %lld (%s)%s%s\n", (long long)run_id, status, db ? " in " : "", db ? db : "");
		printf("simulated              %.6f s in %.3f s (%llu events)\n", sum.sim_seconds, sum.wall_seconds,
		       (unsigned long long)sum.events);
		printf("packets                %llu sent, %llu through the shaper, %llu delivered\n",
		       (unsigned long long)sum.source_packets, (unsigned long long)sum.packets_in,
		       (unsigned long long)sum.sink_packets);
		printf("flows                  %llu\n", (unsigned long long)sum.flows);
		printf("hits                   %llu (strict %llu), misses %llu (late %llu)\n", (unsigned long long)sum.hits,
		       (unsigned long long)sum.strict_hits, (unsigned long long)sum.misses, (unsigned long long)sum.late);
		printf("crafted / wasted       %llu / %llu\n", (unsigned long long)sum.crafted,
		       (unsigned long long)sum.wasted);
		printf("latency p50 / p99      %.0f / %.0f ns (baseline %.0f / %.0f ns)\n", sum.latency_p50_ns,
		       sum.latency_p99_ns, sum.baseline_latency_p50_ns, sum.baseline_latency_p99_ns);
		if (db)
			printf("query                  sqlite3 %s \"SELECT name, value FROM scalar WHERE run_id = %lld\"\n", db,
			       (long long)run_id);
	}
	if (sum.interrupted)
		cli_error("interrupted at %.6f s simulated; the run is marked interrupted, results kept", sum.sim_seconds);
	return code;
}

int sim_main(int argc, char **argv)
{
	enum { O_SET = 256, O_DB, O_SEED, O_RUN, O_QUIET, O_HELP, O_KEYS, O_POLICY };
	static const struct option lo[] = {
		{ "set", required_argument, 0, O_SET }, { "db", required_argument, 0, O_DB },
		{ "seed", required_argument, 0, O_SEED }, { "run", required_argument, 0, O_RUN },
		{ "quiet", no_argument, 0, O_QUIET }, { "help", no_argument, 0, O_HELP },
		{ "keys", no_argument, 0, O_KEYS },   { "policy", required_argument, 0, O_POLICY },
		{ 0, 0, 0, 0 },
	};
	const char *db = "results.db", *sets[257], *policy = NULL;
	int n_sets = 0, quiet = 0, c;
	uint64_t seed = 0, run = 0;
	bool have_seed = false, have_run = false;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_SET:
			if (n_sets == 256) {
				cli_error("--set: at most 256");
				return EXIT_USAGE;
			}
			sets[n_sets++] = optarg;
			break;
		case O_DB:
			db = optarg;
			break;
		case O_SEED:
			if (!cli_u64("--seed", optarg, 0, UINT64_MAX, &seed))
				return EXIT_USAGE;
			have_seed = true;
			break;
		case O_RUN:
			if (!cli_u64("--run", optarg, 0, 1000000000, &run))
				return EXIT_USAGE;
			have_run = true;
			break;
		case O_QUIET:
			quiet = 1;
			break;
		case O_HELP:
			fputs(sim_usage, stdout);
			return EXIT_OK;
		case O_KEYS:
			scenario_print_keys(stdout);
			return EXIT_OK;
		case O_POLICY:
			if (policy_kind_parse(optarg) < 0) {
				cli_error("--policy: expected off, static or adaptive, not '%s'", optarg);
				return EXIT_USAGE;
			}
			policy = optarg;
			break;
		default:
			cli_error("sim: unknown or incomplete option '%s' (see 'precraft sim --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("sim: expected one SCENARIO.ini (see 'precraft sim --help')");
		return EXIT_USAGE;
	}
	struct scenario *scn = malloc(sizeof *scn);
	if (!scn)
		return EXIT_RUNTIME;
	scenario_defaults(scn);
	struct errbuf eb = { "" };
	int rc = scenario_load(scn, argv[optind], &eb);
	char policy_set[64];
	if (policy) {
		snprintf(policy_set, sizeof policy_set, "policy.kind=%s", policy);
		sets[n_sets++] = policy_set;
	}
	for (int i = 0; !rc && i < n_sets; i++)
		rc = scenario_set(scn, sets[i], &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		free(scn);
		return EXIT_USAGE;
	}
	if (have_seed)
		scn->seed = seed;
	if (have_run)
		scn->run = run;
	int code = simcmd_run(scn, db, argc, argv, quiet);
	free(scn);
	return code;
}

/* ---- calibrate ---------------------------------------------------------------------------- */

static const char calibrate_usage[] =
	"usage: precraft calibrate [TRACE...] [-o FILE] [--repeat N]\n"
	"  Runs the real core on captures (default traces/zeek-smb2.pcap and traces/ndpi-fix.pcap) and\n"
	"  measures the median nanoseconds of a slow-path packet, a hit, a miss, crafting and a drop,\n"
	"  then writes the cost profile the simulator charges (default scenarios/default.costs).\n";

struct samples {
	double *v[ENGINE_COST__COUNT];
	size_t n[ENGINE_COST__COUNT], cap[ENGINE_COST__COUNT];
};

static void on_sample(void *arg, int kind, uint64_t ns)
{
	struct samples *s = arg;
	if (s->n[kind] == s->cap[kind]) {
		size_t cap = s->cap[kind] ? s->cap[kind] * 2 : 4096;
		double *v = realloc(s->v[kind], cap * sizeof *v);
		if (!v)
			return;
		s->v[kind] = v;
		s->cap[kind] = cap;
	}
	s->v[kind][s->n[kind]++] = (double)ns;
}

static uint64_t mono(void *arg)
{
	(void)arg;
	return cli_now_ns();
}

static int calibrate_trace(const char *path, struct route_table *rt, unsigned repeat, struct samples *smp)
{
	struct errbuf eb = { "" };
	for (unsigned r = 0; r < repeat; r++) {
		for (int mode = 0; mode < 2; mode++) {
			struct trace *tr;
			if (trace_open(path, &tr, &eb)) {
				cli_error("%s", eb.msg);
				return EXIT_USAGE;
			}
			struct engine_cfg c;
			engine_cfg_defaults(&c);
			c.mode = mode ? ENGINE_PRECRAFT : ENGINE_BASELINE;
			c.routes = rt;
			c.cost_clock.now_ns = mono;
			c.cost_sample = on_sample;
			c.cost_sample_arg = smp;
			struct engine *e;
			if (engine_create(&c, &e, &eb)) {
				cli_error("%s", eb.msg);
				trace_close(tr);
				return EXIT_RUNTIME;
			}
			int lt = trace_linktype(tr);
			struct trace_rec rec;
			int rc;
			while ((rc = trace_next(tr, &rec, &eb)) == 1)
				engine_process(e, rec.data, rec.caplen, rec.wirelen, lt, rec.t_ns, NULL);
			engine_destroy(e);
			trace_close(tr);
			if (rc < 0) {
				cli_error("%s", eb.msg);
				return EXIT_USAGE;
			}
		}
	}
	return EXIT_OK;
}

static double median(double *v, size_t n)
{
	if (!n)
		return 0;
	gsl_sort(v, 1, n);
	return gsl_stats_median_from_sorted_data(v, 1, n);
}

int calibrate_main(int argc, char **argv)
{
	const char *out = NULL, *traces[64];
	int n_traces = 0;
	uint64_t repeat = 5;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(calibrate_usage, stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			if (!cli_u64("--repeat", argv[++i], 1, 1000, &repeat))
				return EXIT_USAGE;
		} else if (argv[i][0] == '-') {
			cli_error("calibrate: unknown or incomplete option '%s' (see 'precraft calibrate --help')", argv[i]);
			return EXIT_USAGE;
		} else if (n_traces < 64) {
			traces[n_traces++] = argv[i];
		}
	}
	if (!n_traces) {
		traces[n_traces++] = "traces/zeek-smb2.pcap";
		traces[n_traces++] = "traces/ndpi-fix.pcap";
	}
	char routes[4096], default_out[4096];
	if (!cli_find_data("default.routes", routes, sizeof routes)) {
		cli_error("no default route table found; set PRECRAFT_DATA");
		return EXIT_USAGE;
	}
	if (!out) {
		/* Beside the default routes: where the simulator looks for default.costs. */
		snprintf(default_out, sizeof default_out, "%.*sdefault.costs", (int)(strrchr(routes, '/') + 1 - routes),
			 routes);
		out = default_out;
	}
	struct route_table *rt;
	struct errbuf eb = { "" };
	if (route_table_create(&rt) || route_load_file(rt, routes, &eb)) {
		cli_error("%s", eb.msg);
		route_table_destroy(rt);
		return EXIT_USAGE;
	}
	struct samples smp;
	memset(&smp, 0, sizeof smp);
	/* The clock's own cost, taken off every sample. */
	double *ck = malloc(100000 * sizeof *ck);
	for (int i = 0; ck && i < 100000; i++) {
		uint64_t a = cli_now_ns();
		ck[i] = (double)(cli_now_ns() - a);
	}
	double clock_ns = ck ? median(ck, 100000) : 0;
	free(ck);
	int code = EXIT_OK;
	for (int i = 0; i < n_traces && code == EXIT_OK; i++)
		code = calibrate_trace(traces[i], rt, (unsigned)repeat, &smp);
	route_table_destroy(rt);
	if (code == EXIT_OK) {
		struct cost_profile cp;
		double m[ENGINE_COST__COUNT];
		for (int k = 0; k < ENGINE_COST__COUNT; k++) {
			m[k] = median(smp.v[k], smp.n[k]) - clock_ns;
			if (m[k] < 1)
				m[k] = 1;
		}
		cp.slow_ns = m[ENGINE_COST_SLOW];
		/* Few misses in some captures: no fewer than a slow path plus a failed validation. */
		cp.miss_ns = smp.n[ENGINE_COST_MISS] >= 100 ? m[ENGINE_COST_MISS] : m[ENGINE_COST_SLOW] + m[ENGINE_COST_HIT] / 2;
		cp.hit_ns = m[ENGINE_COST_HIT];
		cp.craft_ns = m[ENGINE_COST_CRAFT];
		cp.drop_ns = smp.n[ENGINE_COST_DROP] ? m[ENGINE_COST_DROP] : cp.slow_ns / 4;
		char comment[512];
		snprintf(comment, sizeof comment,
			 "samples: slow %zu, hit %zu, miss %zu, craft %zu, drop %zu (no-prediction misses %zu, median %.1f ns, not used); clock %.1f ns subtracted; %d trace(s) x %llu",
			 smp.n[ENGINE_COST_SLOW], smp.n[ENGINE_COST_HIT], smp.n[ENGINE_COST_MISS], smp.n[ENGINE_COST_CRAFT],
			 smp.n[ENGINE_COST_DROP], smp.n[ENGINE_COST_NOPRED], m[ENGINE_COST_NOPRED], clock_ns, n_traces,
			 (unsigned long long)repeat);
		if (costs_save(out, &cp, comment, &eb)) {
			cli_error("%s", eb.msg);
			code = EXIT_USAGE;
		} else {
			printf("slow_ns  %.1f\nhit_ns   %.1f\nmiss_ns  %.1f\ncraft_ns %.1f\ndrop_ns  %.1f\nwritten  %s\n",
			       cp.slow_ns, cp.hit_ns, cp.miss_ns, cp.craft_ns, cp.drop_ns, out);
		}
	}
	for (int k = 0; k < ENGINE_COST__COUNT; k++)
		free(smp.v[k]);
	return code;
}
