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
#include "core/hc.h"
#include "core/lathist.h"
#include "core/stats.h"
#include "hc_setup.h"
#include "models/eval.h"
#include "run.h"
#include "shaper.h"
#include "sim/scenario.h"
#include "traces/trace.h"

/* The longest egress frame joined for the compressor. */
#define REPLAY_FRAME_MAX (1u << 18)

const char replay_usage[] =
	"usage: precraft replay TRACE [options]\n"
	"  Runs every packet of TRACE (pcap, pcapng, optionally gzip-compressed) through the shaper.\n"
	"  --egress FILE.pcap  write every transmitted frame, in order\n"
	"  --db FILE           write the run (parameters, counters, latency, one row per flow) to this SQLite file\n"
	"  --timed             run the capture through the simulated topology instead (latency, queues;\n"
	"                      see 'precraft sim --help'), with the scenario's defaults or --scenario\n"
	"  --scenario FILE     the topology for --timed (its sources are replaced by TRACE)\n"
	"  --compress NAME     the egress crosses a narrow link compressed by NAME (" CLI_HC_NAMES "):\n"
	"                      --egress gets the link's frames (link type 147, 'precraft decompress'\n"
	"                      rebuilds them); counters header_bytes_in/out, compress_ratio, ...\n"
	"  --contexts N        flows the compressor keeps contexts for (default 16384; vj: 256 at most)\n"
	"  --refresh N         packets of a flow between its context refreshes (default 64; 0: none)\n"
	"  --quiet             print nothing but errors\n"
	"%s"
	"Latency without --timed is the engine's processing time per packet (arrival to transmit),\n"
	"measured with --db only (it costs clock reads on every packet).\n"
	"Exit: 0 done, 1 runtime failure, 2 bad usage or input, 3 shadow mode saw divergent packets.\n";

struct replay_opts {
	const char *trace, *egress, *db, *scenario, *compress;
	uint64_t contexts, refresh;
	struct shaper_opts sh;
	bool quiet, timed;
};

enum { O_EGRESS = 256, O_QUIET, O_HELP, O_DB, O_TIMED, O_SCENARIO, O_COMPRESS, O_CONTEXTS, O_REFRESH };
const struct option replay_options[] = {
	{ "egress", required_argument, 0, O_EGRESS }, { "quiet", no_argument, 0, O_QUIET },
	{ "help", no_argument, 0, O_HELP },           { "db", required_argument, 0, O_DB },
	{ "timed", no_argument, 0, O_TIMED },         { "scenario", required_argument, 0, O_SCENARIO },
	{ "compress", required_argument, 0, O_COMPRESS }, { "contexts", required_argument, 0, O_CONTEXTS },
	{ "refresh", required_argument, 0, O_REFRESH },   { 0, 0, 0, 0 },
};

static int parse_args(const struct cli_args *a, struct replay_opts *o)
{
	o->sh = *a->shaper;
	o->contexts = HC_CONTEXTS_DEFAULT;
	o->refresh = HC_REFRESH_DEFAULT;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case O_EGRESS: o->egress = arg; break;
		case O_DB: o->db = arg; break;
		case O_TIMED: o->timed = true; break;
		case O_SCENARIO: o->scenario = arg; o->timed = true; break;
		case O_QUIET: o->quiet = true; break;
		case O_COMPRESS: o->compress = arg; break;
		case O_CONTEXTS:
			if (!cli_u64("--contexts", arg, 1, 1u << 24, &o->contexts))
				return EXIT_USAGE;
			break;
		case O_REFRESH:
			if (!cli_u64("--refresh", arg, 0, UINT32_MAX, &o->refresh))
				return EXIT_USAGE;
			break;
		}
	}
	o->trace = a->pos[0];
	if (o->compress && o->timed) {
		cli_error("replay: --compress is for the untimed replay");
		return EXIT_USAGE;
	}
	if (o->compress && strlen(o->compress) >= HC_NAME_MAX) {
		cli_error("--compress: unknown compressor '%s' (%s)", o->compress, CLI_HC_NAMES);
		return EXIT_USAGE;
	}
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
	struct cli_hc hc;          /* --compress: the link's compressor */
	uint8_t *frame, *link;     /* an egress frame joined, and its compressed form */
	bool hello_sent;
	struct hc_flow_acct cls[EVAL_CLASS_N]; /* the compressor's flows by class (eval's rule) */
	uint64_t cls_flows[EVAL_CLASS_N];
	struct cli_run run;
	struct latency_set *lat;
};

static void egress_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload,
		      uint32_t payload_len, uint32_t wirelen, uint64_t t_ns)
{
	struct replay_ctx *c = arg;
	if (!c->hc.h) {
		trace_writer_put2(c->tw, hdr, hdr_len, payload, payload_len, wirelen, t_ns);
		return;
	}
	if (!c->hello_sent && c->tw) {
		uint32_t n = hc_hello(c->hc.h, c->link);
		trace_writer_put(c->tw, c->link, n, n, t_ns);
		c->hello_sent = true;
	}
	uint32_t caplen = hdr_len + payload_len;
	if (caplen > REPLAY_FRAME_MAX)
		caplen = REPLAY_FRAME_MAX; /* never: the engine's frames are shorter; counted raw if so */
	memcpy(c->frame, hdr, hdr_len < caplen ? hdr_len : caplen);
	if (caplen > hdr_len)
		memcpy(c->frame + hdr_len, payload, caplen - hdr_len);
	struct hc_tail tail;
	uint32_t n = hc_compress_split(c->hc.h, c->frame, caplen, wirelen, t_ns, c->link, &tail);
	if (c->tw)
		trace_writer_put2(c->tw, c->link, n, c->frame + tail.off, tail.len,
				  n + tail.len + (wirelen > caplen ? wirelen - caplen : 0), t_ns);
}

/* The compressor's counters, printed and recorded with the engine's. */
static void rec_hc_scalar(void *arg, const char *name, double v)
{
	rec_scalar(arg, name, v);
}

static void flow_done(void *arg, const struct hc_flow_acct *a)
{
	struct replay_ctx *c = arg;
	unsigned k = eval_flow_class(a->packets, a->payload, a->proto);
	c->cls_flows[k]++;
	c->cls[k].packets += a->packets;
	c->cls[k].header_in += a->header_in;
	c->cls[k].header_out += a->header_out;
}

/* Header bytes per packet by class of flow (eval's classes); what no flow sent (the raw
 * marker's frames) is the rest. */
static void class_figures(const struct replay_ctx *c, bool print)
{
	const struct hc_stats *st = hc_get_stats(c->hc.h);
	uint64_t pk = 0, in = 0, out = 0;
	for (unsigned k = 0; k <= EVAL_CLASS_N; k++) {
		const char *name = k < EVAL_CLASS_N ? eval_class_names[k] : "none";
		const struct hc_flow_acct *a = k < EVAL_CLASS_N ? &c->cls[k] : NULL;
		uint64_t n = a ? a->packets : st->hc_packets - pk, i = a ? a->header_in : st->header_bytes_in - in,
			 o = a ? a->header_out : st->header_bytes_out - out;
		pk += n, in += i, out += o;
		char key[64];
		snprintf(key, sizeof key, "header_bytes_per_packet_%s", name);
		double v = n ? (double)o / (double)n : 0;
		rec_scalar(&c->run.rec, key, v);
		if (print && n)
			printf("%-24s %.2f (of %.2f; %llu packets%s%llu flows)\n", key, v, (double)i / (double)n,
			       (unsigned long long)n, a ? ", " : ", in no flow", a ? (unsigned long long)c->cls_flows[k] : 0ull);
	}
	if (print && st->hc_co)
		printf("%-24s %.2f (the compressed frames alone)\n", "header_bytes_steady",
		       (double)st->header_bytes_co / (double)st->hc_co);
	rec_scalar(&c->run.rec, "header_bytes_steady", st->hc_co ? (double)st->header_bytes_co / (double)st->hc_co : 0);
}

static int open_compressor(const struct replay_opts *o, struct replay_ctx *c, struct errbuf *eb)
{
	struct hc_cfg cfg = { .contexts = (uint32_t)o->contexts, .refresh = (uint32_t)o->refresh, .flow_done = flow_done,
			      .flow_done_arg = c };
	snprintf(cfg.name, sizeof cfg.name, "%s", o->compress);
	int rc = cli_hc_open(&cfg, o->sh.model_file, false, 0, &c->hc, eb);
	if (!rc && (!(c->frame = malloc(REPLAY_FRAME_MAX)) || !(c->link = malloc(REPLAY_FRAME_MAX + HC_OVERHEAD_MAX))))
		rc = err_set(eb, -ERR_NOMEM, "replay: out of memory");
	return rc;
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
	if (o.egress && trace_writer_open(o.egress, o.compress ? HC_LINKTYPE : PKT_LINK_ETH, &c.tw, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_USAGE;
		goto out;
	}
	if (o.compress && (rc = open_compressor(&o, &c, &eb)) != 0) {
		cli_error("%s", eb.msg);
		code = cli_exit_code(rc);
		goto out;
	}
	if ((code = cli_run_begin(&c.run, o.db, NULL, o.sh.seed, 0)) != 0)
		goto out;
	record_params(&o, &sh, &c.run.rec);
	sh.cfg.tx = c.tw || c.hc.h ? egress_tx : NULL;
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
	if (c.hc.h) {
		hc_finish(c.hc.h);
		if (!o.quiet)
			hc_stats_each(hc_get_stats(c.hc.h), cli_print_scalar, NULL);
		hc_stats_each(hc_get_stats(c.hc.h), rec_hc_scalar, &c.run.rec);
		class_figures(&c, !o.quiet);
	}
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
	cli_hc_close(&c.hc);
	free(c.frame);
	free(c.link);
	free(c.lat);
	return code;
}
