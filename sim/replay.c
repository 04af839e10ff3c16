/* replay: the `precraft replay` subcommand.
 *
 * Reads a capture in file order and hands each packet to the engine at its capture time, with
 * no timing model: the packet-level replay that the byte-for-byte equivalence checks and the
 * throughput benchmark use.  Writes the egress as a pcap file on request and prints a summary of
 * the counters as "name value" lines. */
#include "replay.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/store.h"
#include "cliutil.h"
#include "scenario.h"
#include "simcmd.h"
#include "core/engine.h"
#include "core/pkt.h"
#include "core/predict.h"
#include "core/route.h"
#include "core/policy.h"
#include "models/registry.h"
#include "trace.h"

const char replay_usage[] =
	"usage: precraft replay TRACE [options]\n"
	"  Runs every packet of TRACE (pcap, pcapng, optionally gzip-compressed) through the shaper.\n"
	"  --mode M            baseline | precraft (default) | shadow (both paths, count divergences)\n"
	"  --predictor NAME    predictor for pre-crafting (default: last; see 'precraft predictors')\n"
	"  --model-file FILE   model file handed to the predictor\n"
	"  --min-confidence X  build only predictions at least this confident, 0..1 (default 0)\n"
	"  --policy P          pre-building policy: off, static (default) or adaptive (core/policy.h)\n"
	"  --egress FILE.pcap  write every transmitted frame, in order\n"
	"  --routes FILE       route table (default: default.routes shipped with precraft)\n"
	"  --snat ADDR         source-NAT IPv4 TCP/UDP flows to ADDR in their first direction\n"
	"  --flows N           flow table capacity (default 65536)\n"
	"  --idle-s S          flow idle timeout in seconds (default 120, 0 = none)\n"
	"  --pool-mb N         pre-built packet pool budget in MiB (default 64)\n"
	"  --db FILE           write the run (parameters, counters, one row per flow) to this SQLite file\n"
	"  --timed             run the capture through the simulated topology instead (latency, queues;\n"
	"                      see 'precraft sim --help'), with the scenario's defaults or --scenario\n"
	"  --scenario FILE     the topology for --timed (its sources are replaced by TRACE)\n"
	"  --quiet             print nothing but errors\n"
	"Exit: 0 done, 1 runtime failure, 2 bad usage or input, 3 shadow mode saw divergent packets.\n";

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct replay_opts {
	const char *trace, *egress, *routes, *predictor, *model_file, *db, *scenario;
	struct engine_cfg ecfg;
	bool quiet, timed, mode_set, policy_set;
};

static void egress_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload,
		      uint32_t payload_len, uint32_t wirelen, uint64_t t_ns)
{
	trace_writer_put2(arg, hdr, hdr_len, payload, payload_len, wirelen, t_ns);
}

static int parse_args(int argc, char **argv, struct replay_opts *o)
{
	enum { O_MODE = 256, O_PRED, O_MODEL, O_CONF, O_EGRESS, O_ROUTES, O_SNAT, O_FLOWS, O_IDLE, O_POOL, O_QUIET, O_HELP,
	       O_DB, O_TIMED, O_SCENARIO, O_POLICY };
	static const struct option lo[] = {
		{ "mode", required_argument, 0, O_MODE },       { "predictor", required_argument, 0, O_PRED },
		{ "model-file", required_argument, 0, O_MODEL }, { "min-confidence", required_argument, 0, O_CONF },
		{ "egress", required_argument, 0, O_EGRESS },   { "routes", required_argument, 0, O_ROUTES },
		{ "snat", required_argument, 0, O_SNAT },       { "flows", required_argument, 0, O_FLOWS },
		{ "idle-s", required_argument, 0, O_IDLE },     { "pool-mb", required_argument, 0, O_POOL },
		{ "quiet", no_argument, 0, O_QUIET },           { "help", no_argument, 0, O_HELP },
		{ "db", required_argument, 0, O_DB },           { "timed", no_argument, 0, O_TIMED },
		{ "scenario", required_argument, 0, O_SCENARIO }, { "policy", required_argument, 0, O_POLICY },
		{ 0, 0, 0, 0 },
	};
	engine_cfg_defaults(&o->ecfg);
	o->predictor = "last";
	optind = 1;
	opterr = 0;
	int c;
	uint64_t u;
	double d;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_MODE:
			if (engine_mode_parse(optarg, &o->ecfg.mode)) {
				cli_error("--mode: '%s' is not one of baseline, precraft, shadow", optarg);
				return EXIT_USAGE;
			}
			o->mode_set = true;
			break;
		case O_DB:
			o->db = optarg;
			break;
		case O_TIMED:
			o->timed = true;
			break;
		case O_SCENARIO:
			o->scenario = optarg;
			o->timed = true;
			break;
		case O_PRED:
			o->predictor = optarg;
			break;
		case O_MODEL:
			o->model_file = optarg;
			break;
		case O_POLICY: {
			int k = policy_kind_parse(optarg);
			if (k < 0) {
				cli_error("--policy: expected off, static or adaptive, not '%s'", optarg);
				return EXIT_USAGE;
			}
			policy_cfg_kind(&o->ecfg.policy, (enum policy_kind)k);
			o->policy_set = true;
			break;
		}
		case O_CONF:
			if (!cli_double("--min-confidence", optarg, 0, 1, &d))
				return EXIT_USAGE;
			o->ecfg.min_confidence = (float)d;
			break;
		case O_EGRESS:
			o->egress = optarg;
			break;
		case O_ROUTES:
			o->routes = optarg;
			break;
		case O_SNAT:
			if (inet_pton(AF_INET, optarg, o->ecfg.snat_addr) != 1) {
				cli_error("--snat: '%s' is not an IPv4 address", optarg);
				return EXIT_USAGE;
			}
			o->ecfg.snat = true;
			break;
		case O_FLOWS:
			if (!cli_u64("--flows", optarg, 1, 100000000, &u))
				return EXIT_USAGE;
			o->ecfg.flow_capacity = u;
			break;
		case O_IDLE:
			if (!cli_u64("--idle-s", optarg, 0, 1000000, &u))
				return EXIT_USAGE;
			o->ecfg.flow_idle_ns = u * 1000000000ull;
			break;
		case O_POOL:
			if (!cli_u64("--pool-mb", optarg, 2, 1 << 20, &u))
				return EXIT_USAGE;
			o->ecfg.pool_budget = (size_t)u << 20;
			break;
		case O_QUIET:
			o->quiet = true;
			break;
		case O_HELP:
			fputs(replay_usage, stdout);
			return -1;
		default:
			cli_error("replay: unknown or incomplete option '%s' (see 'precraft replay --help')",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("replay: expected one TRACE (see 'precraft replay --help')");
		return EXIT_USAGE;
	}
	o->trace = argv[optind];
	return 0;
}

struct replay_store {
	struct store *st;
	int64_t run_id;
};

static void record_flow(void *arg, const struct engine_flow_info *fi)
{
	struct replay_store *rs = arg;
	struct store_flow f;
	store_flow_init(&f, fi);
	store_flow(rs->st, rs->run_id, &f);
}

static void store_stats(struct replay_store *rs, const struct engine_stats *s)
{
#define W(name, v) store_scalar(rs->st, rs->run_id, name, (double)(v))
	W("packets_in", s->packets_in);
	W("packets_out", s->packets_out);
	W("hits", s->hits);
	W("strict_hits", s->strict_hits);
	W("template_hits", s->hits - s->strict_hits);
	W("probe_hits", s->probe_hits);
	W("misses", s->misses);
	W("no_prediction", s->no_prediction);
	W("crafted", s->crafted);
	W("wasted", s->wasted);
	W("validation_failures", s->validation_failures);
	W("divergent_packets", s->divergent_packets);
	W("flows", s->flows);
	W("pool_bytes_peak", s->pool_bytes_peak);
	W("ip_csum_bad", s->ip_csum_bad);
	W("hit_ratio", s->packets_in ? (double)s->hits / (double)s->packets_in : 0);
	W("precision", s->crafted ? (double)s->hits / (double)s->crafted : 0);
	for (unsigned i = 0; i < ENGINE_DROP__COUNT; i++) {
		char name[64];
		snprintf(name, sizeof name, "dropped_%s", engine_drop_name(i));
		W(name, s->dropped[i]);
	}
#undef W
}

/* --timed: the capture as the only source of the simulated topology. */
static int replay_timed(const struct replay_opts *o, int argc, char **argv)
{
	struct scenario *scn = malloc(sizeof *scn);
	if (!scn)
		return EXIT_RUNTIME;
	scenario_defaults(scn);
	struct errbuf eb = { "" };
	if (o->scenario && scenario_load(scn, o->scenario, &eb)) {
		cli_error("%s", eb.msg);
		free(scn);
		return EXIT_USAGE;
	}
	scn->n_src = 0;
	char set[SCN_PATH + 64];
	snprintf(set, sizeof set, "source.main.file=%s", o->trace);
	int rc = scenario_set(scn, set, &eb);
	if (!rc && o->trace[0] != '/') {
		/* The trace is named relative to where we are, not to the scenario. */
		char cwd[SCN_PATH], full[2 * SCN_PATH];
		if (getcwd(cwd, sizeof cwd)) {
			int n = snprintf(full, sizeof full, "%s/%s", cwd, o->trace);
			if (n > 0 && (size_t)n < sizeof scn->src[0].file)
				memcpy(scn->src[0].file, full, (size_t)n + 1);
		}
	}
	if (!rc && o->mode_set)
		scn->mode = o->ecfg.mode;
	if (!rc && o->policy_set)
		scn->policy = o->ecfg.policy.kind;
	if (!rc)
		snprintf(scn->predictor, sizeof scn->predictor, "%s", o->predictor);
	if (rc) {
		cli_error("%s", eb.msg);
		free(scn);
		return EXIT_USAGE;
	}
	int code = simcmd_run(scn, o->db, argc, argv, o->quiet);
	free(scn);
	return code;
}

static void print_summary(const struct replay_opts *o, const struct engine_stats *s, int linktype,
			  double secs)
{
	printf("trace                  %s\n", o->trace);
	printf("linktype               %d\n", linktype);
	printf("mode                   %s\n", engine_mode_name(o->ecfg.mode));
	printf("predictor              %s\n", o->ecfg.mode == ENGINE_BASELINE ? "-" : o->predictor);
#define U(name, v) printf("%-22s %llu\n", name, (unsigned long long)(v))
	U("packets_in", s->packets_in);
	U("packets_out", s->packets_out);
	U("bytes_in", s->bytes_in);
	U("bytes_out", s->bytes_out);
	U("flows", s->flows);
	U("hits", s->hits);
	U("strict_hits", s->strict_hits);
	U("template_hits", s->hits - s->strict_hits);
	U("payload_hits", s->payload_hits);
	U("probe_hits", s->probe_hits);
	U("misses", s->misses);
	U("no_prediction", s->no_prediction);
	U("validation_failures", s->validation_failures);
	U("crafted", s->crafted);
	U("wasted", s->wasted);
	U("craft_failures", s->craft_failures);
	U("divergent_packets", s->divergent_packets);
	for (unsigned i = 0; i < ENGINE_DROP__COUNT; i++) {
		char name[64];
		snprintf(name, sizeof name, "dropped_%s", engine_drop_name(i));
		U(name, s->dropped[i]);
	}
	for (unsigned i = 0; i < PKT_ST__COUNT; i++) {
		if (i == PKT_ST_OK || i == PKT_ST_NON_IP)
			continue;
		char name[64];
		snprintf(name, sizeof name, "parse_%s", pkt_status_name((enum pkt_status)i));
		U(name, s->parse_errors[i]);
	}
	U("ip_csum_bad", s->ip_csum_bad);
	U("flow_evictions", s->flow_evictions);
	U("flow_expirations", s->flow_expirations);
	U("pool_bytes_peak", s->pool_bytes_peak);
	U("pool_failed_gets", s->pool_failed_gets);
	U("pool_double_puts", s->pool_double_puts);
#undef U
	uint64_t built = s->crafted;
	printf("%-22s %.4f\n", "hit_ratio", s->packets_in ? (double)s->hits / (double)s->packets_in : 0.0);
	printf("%-22s %.4f\n", "precision", built ? (double)s->hits / (double)built : 0.0);
	printf("%-22s %.3f\n", "seconds", secs);
	printf("%-22s %.0f\n", "packets_per_s", secs > 0 ? (double)s->packets_in / secs : 0.0);
}

int replay_main(int argc, char **argv)
{
	struct replay_opts o;
	memset(&o, 0, sizeof o);
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (o.timed)
		return replay_timed(&o, argc, argv);

	struct errbuf eb = { "" };
	const struct predictor_ops *pops = models_find(o.predictor);
	if (!pops) {
		cli_error("--predictor: unknown predictor '%s' (see 'precraft predictors')", o.predictor);
		return EXIT_USAGE;
	}
	o.ecfg.predictor = pops;
	o.ecfg.model_file = o.model_file;

	char routes_path[4096];
	if (!o.routes) {
		if (!cli_find_data("default.routes", routes_path, sizeof routes_path)) {
			cli_error("no route table found: give one with --routes FILE or set PRECRAFT_DATA");
			return EXIT_USAGE;
		}
		o.routes = routes_path;
	}
	struct route_table *rt = NULL;
	if (route_table_create(&rt)) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	if ((rc = route_load_file(rt, o.routes, &eb)) != 0) {
		cli_error("%s", eb.msg);
		route_table_destroy(rt);
		return rc == -ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	o.ecfg.routes = rt;

	struct trace *tr = NULL;
	struct trace_writer *tw = NULL;
	struct engine *eng = NULL;
	int exit_code = EXIT_OK;
	if (trace_open(o.trace, &tr, &eb)) {
		cli_error("%s", eb.msg);
		exit_code = EXIT_USAGE;
		goto out;
	}
	int lt = trace_linktype(tr);
	if (!pkt_link_supported(lt) && !o.quiet)
		cli_error("warning: %s: link type %d is not supported (Ethernet, Linux cooked v1/v2, raw IP "
			  "and BSD null/loopback are): its frames are counted as parse_unsupported_link",
			  o.trace, lt);
	if (o.egress && trace_writer_open(o.egress, PKT_LINK_ETH, &tw, &eb)) {
		cli_error("%s", eb.msg);
		exit_code = EXIT_USAGE;
		goto out;
	}
	o.ecfg.tx = tw ? egress_tx : NULL;
	o.ecfg.tx_arg = tw;
	struct replay_store rs = { NULL, 0 };
	if (o.db) {
		char command[2048];
		cli_command_line("precraft", argc, argv, command, sizeof command);
		if (store_open(o.db, &rs.st, &eb) || store_run_begin(rs.st, command, 0, 0, &rs.run_id, &eb)) {
			cli_error("%s", eb.msg);
			exit_code = EXIT_USAGE;
			goto out;
		}
		char v[64];
		store_param(rs.st, rs.run_id, "trace", o.trace);
		store_param(rs.st, rs.run_id, "mode", engine_mode_name(o.ecfg.mode));
		store_param(rs.st, rs.run_id, "predictor", o.predictor);
		store_param(rs.st, rs.run_id, "policy", policy_kind_name(o.ecfg.policy.kind));
		store_param(rs.st, rs.run_id, "routes", o.routes);
		snprintf(v, sizeof v, "%zu", o.ecfg.flow_capacity);
		store_param(rs.st, rs.run_id, "flows", v);
		snprintf(v, sizeof v, "%zu", o.ecfg.pool_budget >> 20);
		store_param(rs.st, rs.run_id, "pool_mb", v);
		snprintf(v, sizeof v, "%g", o.ecfg.min_confidence);
		store_param(rs.st, rs.run_id, "min_confidence", v);
		store_param(rs.st, rs.run_id, "snat", o.ecfg.snat ? "on" : "");
		o.ecfg.flow_end = record_flow;
		o.ecfg.flow_end_arg = &rs;
	}
	if ((rc = engine_create(&o.ecfg, &eng, &eb)) != 0) {
		cli_error("%s", eb.msg);
		exit_code = rc == -ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
		goto out;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct cli_progress pr;
	cli_progress_start(&pr, o.quiet);
	uint64_t t0 = cli_now_ns();
	struct trace_rec rec;
	char read_err[ERR_MSG_LEN] = "";
	for (;;) {
		rc = trace_next(tr, &rec, &eb);
		if (rc <= 0) {
			if (rc < 0)
				snprintf(read_err, sizeof read_err, "%s", eb.msg);
			break;
		}
		engine_process(eng, rec.data, rec.caplen, rec.wirelen, lt, rec.t_ns, NULL);
		if ((rec.index & 0xffff) == 0) {
			uint64_t done, total;
			trace_progress(tr, &done, &total);
			cli_progress_update(&pr, done, total, rec.index);
			if (interrupted)
				break;
		}
	}
	double secs = (double)(cli_now_ns() - t0) / 1e9;
	cli_progress_end(&pr);
	engine_finish(eng);
	struct engine_stats st;
	engine_get_stats(eng, &st);
	if (trace_writer_close(tw, &eb)) {
		cli_error("%s", eb.msg);
		exit_code = EXIT_RUNTIME;
	}
	tw = NULL;
	if (!o.quiet)
		print_summary(&o, &st, lt, secs);
	if (rs.st) {
		store_stats(&rs, &st);
		const char *status = read_err[0] ? "failed" : interrupted ? "interrupted" : "complete";
		if (store_run_end(rs.st, rs.run_id, status, &eb)) {
			cli_error("%s", eb.msg);
			exit_code = EXIT_RUNTIME;
		}
	}
	if (read_err[0]) {
		cli_error("%s (the %llu packets before it were processed)", read_err,
			  (unsigned long long)st.packets_in);
		exit_code = EXIT_USAGE;
	} else if (interrupted) {
		cli_error("interrupted after %llu packets; results so far kept",
			  (unsigned long long)st.packets_in);
		exit_code = EXIT_RUNTIME;
	} else if (o.ecfg.mode == ENGINE_SHADOW && st.divergent_packets) {
		cli_error("%s: %llu packets diverged between the slow path and pre-crafting", o.trace,
			  (unsigned long long)st.divergent_packets);
		exit_code = EXIT_DIVERGED;
	}
out:
	engine_destroy(eng);
	if (rs.st && store_close(rs.st, &eb)) {
		cli_error("%s", eb.msg);
		exit_code = EXIT_RUNTIME;
	}
	if (tw)
		(void)trace_writer_close(tw, NULL);
	trace_close(tr);
	route_table_destroy(rt);
	return exit_code;
}
