/* sim_cmd: `precraft sim SCENARIO.ini`, and the simulator run that `replay --timed` shares.
 *
 * The scenario is read, --set and the shaper options applied over it, then the one shaper
 * setup (shaper.h) turns its shaper keys into the engine's configuration, and sim_run()
 * (sim/model.h) runs it into the results store. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/esp.h"
#include "commands.h"
#include "sim_setup.h"
#include "run.h"
#include "shaper.h"
#include "sim/model.h"
#include "sim/scenario.h"

const char sim_usage[] =
	"usage: precraft sim SCENARIO.ini [options]\n"
	"  Runs the discrete-event simulation of a scenario (scenarios/README.md lists every key).\n"
	"  --set SECTION.KEY=VALUE   override a key (repeatable), e.g. --set link.in.loss_p=0.01\n"
	"  --db FILE                 results database (default results.db)\n"
	"  --run N                   run number (replications of one seed); --seed N sets run.seed\n"
	"  --quiet                   print nothing but errors\n"
	"  --keys                    print every scenario key (Markdown) and exit\n"
	"%s"
	"  The shaper options override the scenario's keys of the same names (shaper.*, policy.kind).\n"
	"Exit: 0 done, 1 runtime failure or interrupted (results kept), 2 bad usage or input.\n";

static void put_param(void *arg, const char *name, const char *value)
{
	rec_param(arg, name, value);
}

static void on_progress(void *arg, uint64_t sim_ns, uint64_t stop_ns, uint64_t packets)
{
	cli_progress_update(arg, sim_ns, stop_ns, packets);
}

static void print_summary(const struct scenario *scn, const struct sim_summary *sum, const char *status, const struct cli_run *run,
			  double written_s)
{
	printf("run                    %lld (%s)%s%s\n", (long long)run->id, status, run->db ? " in " : "",
	       run->db ? run->db : "");
	printf("simulated              %.6f s in %.3f s (%llu events)\n", sum->sim_seconds, sum->wall_seconds,
	       (unsigned long long)sum->events);
	if (run->db)
		printf("results written        %.3f s after the start (the database's last row included)\n", written_s);
	printf("packets                %llu sent, %llu through the shaper, %llu delivered\n",
	       (unsigned long long)sum->source_packets, (unsigned long long)sum->packets_in,
	       (unsigned long long)sum->sink_packets);
	printf("flows                  %llu\n", (unsigned long long)sum->flows);
	printf("hits                   %llu (strict %llu), misses %llu (late %llu)\n", (unsigned long long)sum->hits,
	       (unsigned long long)sum->strict_hits, (unsigned long long)sum->misses, (unsigned long long)sum->late);
	printf("crafted / wasted       %llu / %llu\n", (unsigned long long)sum->crafted, (unsigned long long)sum->wasted);
	printf("shaper latency p50/p99 %.0f / %.0f ns, queueing + processing (baseline %.0f / %.0f ns)\n",
	       sum->latency_p50_ns, sum->latency_p99_ns, sum->baseline_latency_p50_ns, sum->baseline_latency_p99_ns);
	if (scn->gateways == 2)
		printf("gateway 2 p50/p99      %.0f / %.0f ns (baseline %.0f / %.0f ns); opened %llu (keystream %llu, anticipated %llu), "
		       "%llu refused\n",
		       sum->gw2_latency_p50_ns, sum->gw2_latency_p99_ns, sum->gw2_baseline_latency_p50_ns,
		       sum->gw2_baseline_latency_p99_ns, (unsigned long long)sum->gw2_opened,
		       (unsigned long long)sum->gw2_opened_keystream, (unsigned long long)sum->gw2_opened_anticipated,
		       (unsigned long long)sum->gw2_esp_drops);
	printf("end-to-end delay       mean %.0f ns, p50 %.0f, p99 %.0f, source to sink (links included); goodput %.4g Mbit/s\n",
	       sum->e2e_delay_mean_ns, sum->e2e_delay_p50_ns, sum->e2e_delay_p99_ns, sum->goodput_mbps);
	if (sum->compressed)
		printf("link.out compression   %s: %.2f header bytes per packet for %.2f; %llu packets not rebuilt at the far end\n",
		       scn->out_compress, sum->hc_header_out, sum->hc_header_in, (unsigned long long)sum->hc_not_rebuilt);
	printf("offered load           %.4g of the baseline's CPU time (measured)", sum->offered_load);
	if (scn->load > 0 && fabs(sum->offered_load - scn->load) > 0.05 * scn->load)
		printf(": run.load asked %g; what reaches the shaper is limited (the ingress link's rate?)", scn->load);
	printf("\n");
	if (run->db)
		printf("query                  sqlite3 %s \"SELECT name, value FROM scalar WHERE run_id = %lld\"\n", run->db,
		       (long long)run->id);
}

/* shaper.gateways = 2: the second gateway's engines are the first's but for their view of the
 * tunnel: the same file, its SAs opening at shaper.local2. */
static int second_gateway(const struct scenario *scn, const struct shaper *sh, const struct shaper_paths *paths,
			  struct esp_conf **tun2, struct engine_cfg *cfg2, struct errbuf *eb)
{
	if (!sh->tunnel)
		return err_set(eb, -ERR_FORMAT, "shaper.gateways = 2: needs a tunnel between them (shaper.tunnel)");
	if (!scn->local[0] || !scn->local2[0])
		return err_set(eb, -ERR_FORMAT,
			       "shaper.gateways = 2: needs both gateways' addresses (shaper.local for the first, shaper.local2 for the second)");
	int rc = esp_conf_load(paths->tunnel, tun2, eb);
	if (!rc && (rc = esp_conf_set_local(*tun2, scn->local2, "shaper.local2", eb)) != 0) {
		esp_conf_destroy(*tun2);
		*tun2 = NULL;
	}
	if (!rc && !esp_conf_opens(*tun2))
		rc = err_set(eb, -ERR_FORMAT, "shaper.local2 = %s: no SA of the tunnel opens there", scn->local2);
	*cfg2 = sh->cfg;
	cfg2->tunnel = *tun2;
	return rc;
}

int sim_setup_open(const struct scenario *scn, struct sim_setup *ss, struct errbuf *eb)
{
	memset(ss, 0, sizeof *ss);
	shaper_from_scenario(scn, &ss->so, &ss->paths);
	int rc = shaper_setup(&ss->so, &ss->sh, eb);
	if (rc)
		return rc;
	ss->sh_set = true;
	if (scn->gateways == 2 && (rc = second_gateway(scn, &ss->sh, &ss->paths, &ss->tun2, &ss->cfg2, eb)) != 0)
		return rc;
	if (strcmp(scn->costs, "default") == 0) {
		if (!cli_find_data("default.costs", ss->costs, sizeof ss->costs))
			return err_set(eb, -ERR_IO, "no default cost profile found: set shaper.costs (see 'precraft calibrate')");
	} else {
		scenario_resolve(scn, scn->costs, ss->costs, sizeof ss->costs);
	}
	return 0;
}

void sim_setup_close(struct sim_setup *ss)
{
	esp_conf_destroy(ss->tun2);
	if (ss->sh_set)
		shaper_fini(&ss->sh);
	memset(ss, 0, sizeof *ss);
}

void sim_setup_record(const struct scenario *scn, const struct sim_setup *ss, const struct sim_tag *tag,
		      const struct recorder *rec)
{
	scenario_each(scn, put_param, (void *)rec);
	for (unsigned i = 0; tag && i < tag->n_params; i++)
		rec_param(rec, tag->params[i][0], tag->params[i][1]);
	if (scn->path[0]) /* which scenario, as named: what the report and scripts group runs by */
		rec_param(rec, "scenario", scn->path);
	shaper_record_file(rec, "scenario", scn->path[0] ? scn->path : NULL);
	shaper_record_file(rec, "routes", ss->sh.routes_path);
	shaper_record_file(rec, "costs", ss->costs);
	shaper_record_file(rec, "model_file", ss->so.model_file);
	shaper_record_tunnel(rec, &ss->sh);
	for (unsigned i = 0; i < scn->n_src; i++)
		if (scn->src[i].type == SCN_SRC_TRACE) {
			char name[64], path[2 * SCN_PATH];
			snprintf(name, sizeof name, "source.%s.file", scn->src[i].name);
			scenario_resolve(scn, scn->src[i].file, path, sizeof path);
			shaper_record_file(rec, name, path);
		}
}

int sim_cmd_run(const struct scenario *scn, const char *db, bool quiet, const struct sim_tag *tag)
{
	struct errbuf eb = { "" };
	if (scn->ns3.topology != 0) { /* a closed-loop topology: ns-3's TCP, not a trace or source */
		cli_error("%s: ns3.topology = %s runs in ns-3: build/precraft-ns3 --scenario=%s (make ns3); precraft sim runs "
			  "ns3.topology = path",
			  scn->path[0] ? scn->path : "scenario", scn->ns3.topology == 1 ? "leafspine" : "vpn",
			  scn->path[0] ? scn->path : "FILE");
		return EXIT_USAGE;
	}
	struct sim_setup ss;
	int rc = sim_setup_open(scn, &ss, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		sim_setup_close(&ss);
		return cli_exit_code(rc);
	}
	struct cli_run run;
	int code = cli_run_begin(&run, db, tag ? tag->command : NULL, scn->seed, scn->run);
	if (code) {
		sim_setup_close(&ss);
		return code;
	}
	sim_setup_record(scn, &ss, tag, &run.rec);
	cli_catch_signals();
	struct cli_progress pr;
	cli_progress_start(&pr, quiet);
	struct sim_opts o = { .engine = &ss.sh.cfg, .engine2 = ss.tun2 ? &ss.cfg2 : NULL, .costs_path = ss.costs, .rec = &run.rec,
			      .interrupted = &cli_stop, .progress = on_progress, .progress_arg = &pr };
	struct sim_summary sum;
	uint64_t t0 = cli_now_ns();
	rc = sim_run(scn, &o, &sum, &eb);
	cli_progress_end(&pr);
	const char *status = "complete";
	if (rc) {
		cli_error("%s", eb.msg);
		code = cli_exit_code(rc);
		status = "failed";
	} else if (sum.interrupted) {
		status = "interrupted";
		code = EXIT_RUNTIME;
	}
	code = cli_run_end(&run, status, code); /* keeps run.id and run.db for the summary */
	double written_s = (double)(cli_now_ns() - t0) / 1e9;
	if (!quiet && !rc) {
		print_summary(scn, &sum, code == EXIT_RUNTIME && !sum.interrupted ? "failed" : status, &run, written_s);
	}
	if (sum.interrupted)
		cli_error("interrupted at %.6f s simulated; the run is marked interrupted, results kept", sum.sim_seconds);
	sim_setup_close(&ss);
	return code;
}

const struct option sim_options[] = {
	{ "set", required_argument, 0, SIM_O_SET },   { "db", required_argument, 0, SIM_O_DB },
	{ "run", required_argument, 0, SIM_O_RUN },   { "quiet", no_argument, 0, SIM_O_QUIET },
	{ "help", no_argument, 0, SIM_O_HELP },       { "keys", no_argument, 0, SIM_O_KEYS },
	{ 0, 0, 0, 0 },
};

int sim_main(const struct cli_args *a)
{
	const char *db = "results.db", *sets[256];
	int n_sets = 0;
	bool quiet = false, have_run = false;
	uint64_t run = 0;
	struct shaper_opts so = *a->shaper;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case SIM_O_SET:
			if (n_sets == 256) {
				cli_error("--set: at most 256");
				return EXIT_USAGE;
			}
			sets[n_sets++] = arg;
			break;
		case SIM_O_DB: db = arg; break;
		case SIM_O_RUN:
			if (!cli_u64("--run", arg, 0, 1000000000, &run))
				return EXIT_USAGE;
			have_run = true;
			break;
		case SIM_O_QUIET: quiet = true; break;
		case SIM_O_KEYS:
			scenario_print_keys(stdout);
			return EXIT_OK;
		}
	}
	struct scenario *scn = malloc(sizeof *scn);
	if (!scn)
		return EXIT_RUNTIME;
	scenario_defaults(scn);
	struct errbuf eb = { "" };
	int rc = scenario_load(scn, a->pos[0], &eb);
	for (int i = 0; !rc && i < n_sets; i++)
		rc = scenario_set(scn, sets[i], &eb);
	if (!rc)
		rc = shaper_to_scenario(&so, scn, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		free(scn);
		return EXIT_USAGE;
	}
	if (have_run)
		scn->run = run;
	int code = sim_cmd_run(scn, db, quiet, NULL);
	free(scn);
	return code;
}
