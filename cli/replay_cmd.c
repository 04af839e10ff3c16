/* replay_cmd: `precraft replay TRACE`.
 *
 * Reads a capture in file order and hands each packet to the engine at its capture time, with
 * no timing model: the packet-level replay that the byte-for-byte equivalence checks and the
 * throughput benchmark use.  Latency here is the engine's own processing time per packet, from
 * arrival to transmit, measured with the monotonic clock (no queueing: use --timed for that).
 * --timed hands the capture to the simulator instead, as the only source of its topology.
 * Writes the egress as a pcap file on request and prints the counters as "name value" lines. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "core/engine.h"
#include "core/lathist.h"
#include "core/stats.h"
#include "run.h"
#include "shaper.h"
#include "sim/scenario.h"
#include "traces/trace.h"

const char replay_usage[] =
	"usage: precraft replay TRACE [options]\n"
	"  Runs every packet of TRACE (pcap, pcapng, optionally gzip-compressed) through the shaper.\n"
	"  --egress FILE.pcap  write every transmitted frame, in order\n"
	"  --db FILE           write the run (parameters, counters, latency, one row per flow) to this SQLite file\n"
	"  --timed             run the capture through the simulated topology instead (latency, queues;\n"
	"                      see 'precraft sim --help'), with the scenario's defaults or --scenario\n"
	"  --scenario FILE     the topology for --timed (its sources are replaced by TRACE)\n"
	"  --quiet             print nothing but errors\n"
	"%s"
	"Latency without --timed is the engine's processing time per packet (arrival to transmit),\n"
	"measured with --db only (it costs clock reads on every packet).\n"
	"Exit: 0 done, 1 runtime failure, 2 bad usage or input, 3 shadow mode saw divergent packets.\n";

struct replay_opts {
	const char *trace, *egress, *db, *scenario;
	struct shaper_opts sh;
	bool quiet, timed;
};

enum { O_EGRESS = 256, O_QUIET, O_HELP, O_DB, O_TIMED, O_SCENARIO };
const struct option replay_options[] = {
	{ "egress", required_argument, 0, O_EGRESS }, { "quiet", no_argument, 0, O_QUIET },
	{ "help", no_argument, 0, O_HELP },           { "db", required_argument, 0, O_DB },
	{ "timed", no_argument, 0, O_TIMED },         { "scenario", required_argument, 0, O_SCENARIO },
	{ 0, 0, 0, 0 },
};

static int parse_args(const struct cli_args *a, struct replay_opts *o)
{
	o->sh = *a->shaper;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case O_EGRESS: o->egress = arg; break;
		case O_DB: o->db = arg; break;
		case O_TIMED: o->timed = true; break;
		case O_SCENARIO: o->scenario = arg; o->timed = true; break;
		case O_QUIET: o->quiet = true; break;
		}
	}
	o->trace = a->pos[0];
	if (o->timed && o->egress) {
		cli_error("replay: --egress is for the untimed replay; --timed writes no egress capture");
		return EXIT_USAGE;
	}
	return 0;
}

/* --timed: the capture as the only source of the simulated topology. */
static int replay_timed(const struct replay_opts *o)
{
	struct scenario *scn = malloc(sizeof *scn);
	if (!scn)
		return EXIT_RUNTIME;
	scenario_defaults(scn);
	struct errbuf eb = { "" };
	int rc = o->scenario ? scenario_load(scn, o->scenario, &eb) : 0;
	if (!rc)
		rc = scenario_only_trace(scn, o->trace, &eb);
	if (!rc)
		rc = shaper_to_scenario(&o->sh, scn, &eb);
	int code;
	if (rc) {
		cli_error("%s", eb.msg);
		code = EXIT_USAGE;
	} else {
		code = sim_cmd_run(scn, o->db, o->quiet, NULL);
	}
	free(scn);
	return code;
}

struct replay_ctx {
	struct trace_writer *tw;
	struct cli_run run;
	struct latency_set *lat;
};

static void egress_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload,
		      uint32_t payload_len, uint32_t wirelen, uint64_t t_ns)
{
	struct replay_ctx *c = arg;
	trace_writer_put2(c->tw, hdr, hdr_len, payload, payload_len, wirelen, t_ns);
}

static void record_flow(void *arg, const struct engine_flow_info *fi)
{
	struct replay_ctx *c = arg;
	struct recorder_flow f;
	recorder_flow_init(&f, fi);
	rec_flow(&c->run.rec, &f);
}

/* The engine's timed intervals: arrival to transmit (or drop) by path; crafting, after the
 * transmit, is not part of a packet's latency. */
static void on_cost(void *arg, int kind, uint64_t ns)
{
	struct replay_ctx *c = arg;
	if (kind == ENGINE_COST_CRAFT)
		return;
	lathist_add(&c->lat->all, ns);
	if (kind == ENGINE_COST_HIT) {
		lathist_add(&c->lat->hit, ns);
	} else if (kind != ENGINE_COST_DROP) {
		lathist_add(&c->lat->slow, ns);
		lathist_add(&c->lat->baseline, ns);
	}
}

static uint64_t mono(void *arg)
{
	(void)arg;
	return cli_now_ns();
}

static void print_summary(const struct replay_opts *o, const struct engine_stats *s, const struct latency_set *ls,
			  int linktype, double secs)
{
	printf("%-24s %s\n", "trace", o->trace);
	printf("%-24s %d\n", "linktype", linktype);
	printf("%-24s %s\n", "mode", engine_mode_name(o->sh.mode));
	printf("%-24s %s\n", "predictor", o->sh.mode == ENGINE_BASELINE ? "-" : o->sh.predictor);
	stats_each(s, cli_print_scalar, NULL);
	if (ls->all.n)
		printf("%-24s %.0f / %.0f ns (processing only, no queueing)\n", "latency p50 / p99",
		       lathist_quantile(&ls->all, 0.5), lathist_quantile(&ls->all, 0.99));
	printf("%-24s %.3f\n", "seconds", secs);
	printf("%-24s %.0f\n", "packets_per_s", secs > 0 ? (double)s->packets_in / secs : 0.0);
}

static void record_params(const struct replay_opts *o, const struct shaper *sh, const struct recorder *r)
{
	rec_param(r, "trace", o->trace);
	shaper_record_file(r, "trace", o->trace);
	shaper_record_params(&o->sh, sh, r);
}

int replay_main(const struct cli_args *a)
{
	struct replay_opts o;
	memset(&o, 0, sizeof o);
	int rc = parse_args(a, &o);
	if (rc)
		return rc;
	if (o.timed)
		return replay_timed(&o);

	struct errbuf eb = { "" };
	struct shaper sh;
	if ((rc = shaper_setup(&o.sh, &sh, &eb)) != 0) {
		cli_error("%s", eb.msg);
		return cli_exit_code(rc);
	}
	struct replay_ctx c;
	memset(&c, 0, sizeof c);
	struct trace *tr = NULL;
	struct engine *eng = NULL;
	int code = EXIT_OK;
	const char *status = "failed"; /* until the replay has run */
	if (!(c.lat = malloc(sizeof *c.lat))) {
		code = EXIT_RUNTIME;
		goto out;
	}
	latency_set_init(c.lat);
	if (trace_open(o.trace, &tr, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_USAGE;
		goto out;
	}
	int lt = trace_linktype(tr);
	if (!pkt_link_supported(lt) && !o.quiet)
		cli_error("warning: %s: link type %d is not supported (Ethernet, Linux cooked v1/v2, raw IP "
			  "and BSD null/loopback are): its frames are counted as parse_unsupported_link",
			  o.trace, lt);
	if (o.egress && trace_writer_open(o.egress, PKT_LINK_ETH, &c.tw, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_USAGE;
		goto out;
	}
	if ((code = cli_run_begin(&c.run, o.db, NULL, o.sh.seed, 0)) != 0)
		goto out;
	record_params(&o, &sh, &c.run.rec);
	sh.cfg.tx = c.tw ? egress_tx : NULL;
	sh.cfg.tx_arg = &c;
	sh.cfg.flow_end = record_flow;
	sh.cfg.flow_end_arg = &c;
	if (o.db) {
		/* Timing every packet costs clock reads (a system call on some virtual machines):
		 * only a run that records its latency pays for it. */
		sh.cfg.cost_clock.now_ns = mono;
		sh.cfg.cost_sample = on_cost;
		sh.cfg.cost_sample_arg = &c;
	}
	if ((rc = engine_create(&sh.cfg, &eng, &eb)) != 0) {
		cli_error("%s", eb.msg);
		code = cli_exit_code(rc);
		goto out;
	}

	cli_catch_signals();
	struct cli_progress pr;
	cli_progress_start(&pr, o.quiet);
	uint64_t t0 = cli_now_ns();
	struct trace_rec rec;
	char read_err[ERR_MSG_LEN] = "";
	int read_rc = 0;
	for (;;) {
		rc = trace_next(tr, &rec, &eb);
		if (rc <= 0) {
			if (rc < 0)
				snprintf(read_err, sizeof read_err, "%s", eb.msg);
			read_rc = rc;
			break;
		}
		engine_process(eng, rec.data, rec.caplen, rec.wirelen, lt, rec.t_ns, NULL);
		if ((rec.index & 0xffff) == 0) {
			uint64_t done, total;
			trace_progress(tr, &done, &total);
			cli_progress_update(&pr, done, total, rec.index);
			if (cli_stop)
				break;
		}
	}
	double secs = (double)(cli_now_ns() - t0) / 1e9;
	cli_progress_end(&pr);
	engine_finish(eng);
	struct engine_stats st;
	engine_get_stats(eng, &st);
	if (trace_writer_close(c.tw, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
	}
	c.tw = NULL;
	if (!o.quiet)
		print_summary(&o, &st, c.lat, lt, secs);
	engine_stats_record(&st, &c.run.rec);
	latency_set_record(c.lat, &c.run.rec);
	rec_scalar(&c.run.rec, "seconds", secs);
	status = read_err[0] ? "failed" : cli_stop ? "interrupted" : "complete";
	if (read_err[0]) {
		cli_error("%s (the %llu packets before it were processed)", read_err,
			  (unsigned long long)st.packets_in);
		code = cli_exit_code(read_rc); /* a damaged file: 2; one cut while it was read: 1 */
	} else if (cli_stop) {
		cli_error("interrupted after %llu packets; results so far kept", (unsigned long long)st.packets_in);
		code = EXIT_RUNTIME;
	} else if (o.sh.mode == ENGINE_SHADOW && st.divergent_packets) {
		cli_error("%s: %llu packets diverged between the slow path and pre-crafting", o.trace,
			  (unsigned long long)st.divergent_packets);
		code = EXIT_DIVERGED;
	}
out:
	engine_destroy(eng); /* after engine_finish it ends no flow, so writes no row */
	code = cli_run_end(&c.run, status, code);
	if (c.tw)
		(void)trace_writer_close(c.tw, NULL);
	trace_close(tr);
	shaper_fini(&sh);
	free(c.lat);
	return code;
}
