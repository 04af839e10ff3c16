/* hil_cmd: `precraft hil forward|replay|capture`, the runner on real interfaces (hil/runner.h).
 *
 * forward takes every shaper option replay takes, through the same setup (shaper.h), and
 * records the same scalars (core/stats.h, core/lathist.h) plus its own (injection, capture). */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/crypto.h"
#include "core/lathist.h"
#include "core/stats.h"
#include "hc_setup.h"
#include "hil/runner.h"
#include "run.h"
#include "shaper.h"

const char hil_usage[] =
	"usage: precraft hil forward --in IF --out IF [shaper options] [--db FILE] [--count N | --duration S]\n"
	"                            [--inject pcap|libnet] [--workers N] [--pin] [--busy-poll] [--ring-mb N]\n"
	"                            [--compress NAME [--tx-loss P]]\n"
	"       precraft hil replay --out IF TRACE [--speed X | --pps N | --topspeed] [--loop N] [--count N]\n"
	"                            [--duration S] [--inject pcap|libnet]\n"
	"       precraft hil capture --in IF [-w FILE.pcap] [--count N | --duration S] [--busy-poll] [--ring-mb N]\n"
	"  forward is the device under test; replay a traffic generator (TRACE: pcap, pcapng, gzip);\n"
	"  capture a sink.  --loop 0 replays until --count, --duration or Ctrl-C (as tcpreplay).\n"
	"  common: -Z USER (drop root after opening the interfaces), --ready FILE (created once capturing),\n"
	"          --quiet.  Every mode stops by count, duration or Ctrl-C and keeps what it measured.\n"
	"  forward's latency is capture timestamp to the end of the packet's injection, per packet.\n"
	"  --workers N: N threads, each with its own capture handle (the kernel's packet fanout by flow\n"
	"  hash: both directions of a flow reach one worker), injector and engine (a share of --flows and\n"
	"  --pool-mb); --pin puts worker i on the i-th CPU.  Scalars are the totals, with worker<i>_*.\n"
	"  --busy-poll: each worker spins on its ring (no poll() sleep), pinned: latency without the\n"
	"  kernel's wake-up, for a whole CPU per worker.\n"
	"  --ring-mb N: each capture handle's kernel ring (default 256 MiB, >100k frames at MTU 1500);\n"
	"  a few MiB, like a NIC's ring, turns an overload into loss instead of a growing queue, and with\n"
	"  --busy-poll halves the p50 (slots still in the cache: 4.5 instead of 8.6 us on the lab pair).\n"
	"  --compress NAME: the egress crosses a compressed link (" CLI_HC_NAMES "; one worker):\n"
	"  each frame compressed, inside an Ethernet frame of type 0x88b5 with its own addresses, the\n"
	"  compressor's hello first; the predictors see no time (the far end's clock is not this one);\n"
	"  'precraft decompress' rebuilds a capture of them.  --tx-loss P: each compressed frame is not\n"
	"  sent with probability P (from --seed): a lossy wire where the kernel has no tc netem.\n"
	"  SIGHUP: forward re-reads its route table (--routes) and swaps it in while the workers run.\n"
	"%s"
	"  The lab NIC pair (network namespaces, veth) is set up by hil/lab: see 'hil/lab help'.\n";

struct hil_opts {
	struct hil_cfg c;
	struct shaper_opts sh;
	const char *db, *trace, *compress;
	bool quiet, has_speed;     /* --speed given (1, its default, may be given too) */
};

enum {
	O_IN = 256, O_OUT, O_DB, O_READY, O_INJECT, O_COUNT, O_DURATION, O_SPEED, O_PPS, O_TOPSPEED, O_LOOP, O_QUIET,
	O_HELP, O_WORKERS, O_PIN, O_BUSY_POLL, O_RING_MB, O_COMPRESS, O_TX_LOSS
};

static int parse_value(int c, const char *arg, struct hil_opts *o)
{
	switch (c) {
	case O_IN: o->c.in = arg; return 0;
	case O_OUT: o->c.out = arg; return 0;
	case O_DB: o->db = arg; return 0;
	case O_TX_LOSS: return cli_double("--tx-loss", arg, 0, 1, &o->c.tx_loss) ? 0 : EXIT_USAGE;
	case O_COMPRESS:
		if (strlen(arg) >= HC_NAME_MAX) {
			cli_error("--compress: unknown compressor '%s' (%s)", arg, CLI_HC_NAMES);
			return EXIT_USAGE;
		}
		o->compress = arg;
		return 0;
	case O_READY: o->c.ready = arg; return 0;
	case 'Z': o->c.user = arg; return 0;
	case 'w': o->c.write = arg; return 0;
	case O_QUIET: o->quiet = true; return 0;
	case O_TOPSPEED: o->c.topspeed = true; return 0;
	case O_PIN: o->c.pin = true; return 0;
	case O_BUSY_POLL: o->c.busy_poll = true; return 0;
	case O_WORKERS: {
		uint64_t n;
		if (!cli_u64("--workers", arg, 1, HIL_MAX_WORKERS, &n))
			return EXIT_USAGE;
		o->c.workers = (unsigned)n;
		return 0;
	}
	case O_RING_MB: {
		uint64_t n;
		if (!cli_u64("--ring-mb", arg, 1, 4096, &n))
			return EXIT_USAGE;
		o->c.ring_mb = (unsigned)n;
		return 0;
	}
	case O_INJECT:
		if (strcmp(arg, "pcap") && strcmp(arg, "libnet")) {
			cli_error("--inject: '%s' is not pcap or libnet", arg);
			return EXIT_USAGE;
		}
		o->c.inject = strcmp(arg, "libnet") == 0 ? HIL_INJECT_LIBNET : HIL_INJECT_PCAP;
		return 0;
	case O_COUNT: return cli_u64("--count", arg, 1, UINT64_MAX, &o->c.count) ? 0 : EXIT_USAGE;
	case O_LOOP: return cli_u64("--loop", arg, 0, 1000000000, &o->c.loop) ? 0 : EXIT_USAGE;
	case O_DURATION: return cli_double("--duration", arg, 0.001, 1e7, &o->c.duration_s) ? 0 : EXIT_USAGE;
	case O_SPEED:
		o->has_speed = true;
		return cli_double("--speed", arg, 1e-6, 1e9, &o->c.speed) ? 0 : EXIT_USAGE;
	case O_PPS:
		return cli_double("--pps", arg, 1e-3, 1e9, &o->c.pps) ? 0 : EXIT_USAGE;
	}
	return 0; /* (the dispatcher takes --help and the shaper's) */
}

const struct option hil_options[] = {
	{ "in", required_argument, 0, O_IN },           { "out", required_argument, 0, O_OUT },
	{ "db", required_argument, 0, O_DB },           { "ready", required_argument, 0, O_READY },
	{ "inject", required_argument, 0, O_INJECT },   { "count", required_argument, 0, O_COUNT },
	{ "duration", required_argument, 0, O_DURATION }, { "speed", required_argument, 0, O_SPEED },
	{ "pps", required_argument, 0, O_PPS },         { "topspeed", no_argument, 0, O_TOPSPEED },
	{ "loop", required_argument, 0, O_LOOP },       { "quiet", no_argument, 0, O_QUIET },
	{ "workers", required_argument, 0, O_WORKERS }, { "pin", no_argument, 0, O_PIN },
	{ "busy-poll", no_argument, 0, O_BUSY_POLL }, { "ring-mb", required_argument, 0, O_RING_MB },
	{ "compress", required_argument, 0, O_COMPRESS }, { "tx-loss", required_argument, 0, O_TX_LOSS },
	{ "help", no_argument, 0, O_HELP },             { 0, 0, 0, 0 },
};

static int parse(const struct cli_args *a, struct hil_opts *o)
{
	memset(o, 0, sizeof *o);
	o->sh = *a->shaper;
	o->c.speed = 1;
	o->c.loop = 1;
	o->c.stop = &cli_stop;
	for (size_t i = 0; i < a->n_opt; i++) {
		int r = parse_value(a->opt[i].id, a->opt[i].arg, o);
		if (r)
			return r;
	}
	o->trace = a->n_pos > 1 ? a->pos[1] : NULL;
	if (o->c.topspeed + (o->c.pps > 0) + o->has_speed > 1) {
		cli_error("hil replay: --speed, --pps and --topspeed exclude each other: give one");
		return EXIT_USAGE;
	}
	return 0;
}

struct fwd_ctx {
	struct cli_run run;
	pthread_mutex_t mu;        /* the workers' flows ending: the recorder has one producer */
};

static void fwd_flow(void *arg, const struct engine_flow_info *fi)
{
	struct fwd_ctx *c = arg;
	struct recorder_flow f;
	recorder_flow_init(&f, fi);
	pthread_mutex_lock(&c->mu);
	rec_flow(&c->run.rec, &f);
	pthread_mutex_unlock(&c->mu);
}

/* Each re-read of the route table (SIGHUP), one line on standard error. */
static void on_reload(void *arg, int rc, const char *msg)
{
	const bool *quiet = arg;
	if (rc)
		cli_error("SIGHUP: the route table was not replaced: %s", msg);
	else if (!*quiet)
		fprintf(stderr, "precraft: SIGHUP: routes re-read from %s\n", msg);
}

/* The compressor's counters (--compress), recorded with the run's. */
static void rec_hc(void *arg, const char *name, double v)
{
	rec_scalar(arg, name, v);
}

static int forward(struct hil_opts *o)
{
	if (!o->c.in || !o->c.out || o->trace) {
		cli_error("hil forward: --in IF and --out IF are required, and no TRACE");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct shaper sh;
	/* On the wire the flow hash's key must be one an attacker cannot know: random unless the
	 * run asks for a seed (the seed is recorded either way). */
	if (!o->sh.has_seed)
		o->sh.seed = crypto_random_u64();
	o->sh.engines = o->c.workers ? o->c.workers : 1;
	int rc = shaper_setup(&o->sh, &sh, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		return cli_exit_code(rc);
	}
	struct cli_hc hc = { 0 };
	if (o->c.tx_loss > 0 && !o->compress) {
		cli_error("hil forward: --tx-loss is for --compress");
		shaper_fini(&sh);
		return EXIT_USAGE;
	}
	o->c.tx_seed = o->sh.seed;
	if (o->compress) {
		struct hc_cfg hcfg = { .contexts = HC_CONTEXTS_DEFAULT, .refresh = HC_REFRESH_DEFAULT, .untimed = true };
		snprintf(hcfg.name, sizeof hcfg.name, "%s", o->compress);
		if ((rc = o->c.workers > 1 ? err_set(&eb, -ERR_INVAL, "hil forward: --compress takes one worker")
					   : cli_hc_open(&hcfg, o->sh.model_file, false, 0, &hc, &eb)) != 0) {
			cli_error("%s", eb.msg);
			shaper_fini(&sh);
			return cli_exit_code(rc);
		}
		o->c.compress = hc.h;
	}
	struct fwd_ctx c;
	struct latency_set *lat = malloc(sizeof *lat);
	struct engine_stats es;
	struct hil_result res;
	int code = lat ? cli_run_begin(&c.run, o->db, NULL, o->sh.seed, 0) : EXIT_RUNTIME;
	if (code) {
		free(lat);
		shaper_fini(&sh);
		cli_hc_close(&hc);
		return code;
	}
	pthread_mutex_init(&c.mu, NULL);
	latency_set_init(lat);
	rec_param(&c.run.rec, "in", o->c.in);
	rec_paramf(&c.run.rec, "workers", "%u", o->c.workers ? o->c.workers : 1);
	rec_param(&c.run.rec, "pin", o->c.pin || o->c.busy_poll ? "on" : "off");
	rec_param(&c.run.rec, "busy_poll", o->c.busy_poll ? "on" : "off");
	rec_paramf(&c.run.rec, "ring_mb", "%u", o->c.ring_mb ? o->c.ring_mb : 256);
	rec_param(&c.run.rec, "out", o->c.out);
	rec_param(&c.run.rec, "inject", o->c.inject == HIL_INJECT_LIBNET ? "libnet" : "pcap");
	shaper_record_params(&o->sh, &sh, &c.run.rec);
	sh.cfg.flow_end = fwd_flow;
	sh.cfg.flow_end_arg = &c;
	cli_catch_signals();
	cli_catch_hup();
	o->c.routes_path = sh.routes_path;
	o->c.reload = &cli_hup;
	o->c.on_reload = on_reload; /* a failure is said even with --quiet */
	o->c.on_reload_arg = &o->quiet;
	rc = hil_forward(&o->c, &sh.cfg, lat, &es, &res, &eb);
	const char *status = "complete";
	if (rc) {
		cli_error("%s (the %llu packets before are kept)", eb.msg, (unsigned long long)res.packets);
		status = "failed";
		code = res.started ? EXIT_RUNTIME : cli_exit_code(rc);
	} else if (res.interrupted) {
		status = "interrupted";
	}
	engine_stats_record(&es, &c.run.rec);
	latency_set_record(lat, &c.run.rec);
	const struct {
		const char *name;
		double v;
	} own[] = {
		{ "injected", (double)res.sent },
		{ "inject_errors", (double)res.inject_errors },
		{ "capture_received", (double)res.capture_received },
		{ "capture_dropped", (double)res.capture_dropped },
		{ "seconds", res.seconds },
		{ "routes_reloads", (double)res.routes_reloads },
		{ "routes_reload_errors", (double)res.routes_reload_errors },
		{ "tx_lost", (double)res.tx_lost },
	};
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		rec_scalar(&c.run.rec, own[i].name, own[i].v);
	if (!o->quiet) {
		stats_each(&es, cli_print_scalar, NULL);
		for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
			cli_print_scalar(NULL, own[i].name, own[i].v);
		/* Latency: capture timestamp to the end of processing and injection. */
		const struct latency_set *ls = lat;
#define HIL__PRINT(name, value) cli_print_scalar(NULL, #name, (value));
		LATENCY_SCALAR_MAP(HIL__PRINT)
#undef HIL__PRINT
	}
	/* Each worker's own, when there are several: what the flow hash gave it, and its latency. */
	for (unsigned w = 0; res.started && res.workers > 1 && w < res.workers; w++) {
		const struct hil_worker_result *wr = &res.worker[w];
		const struct {
			const char *name;
			double v;
		} per[] = {
			{ "packets", (double)wr->packets },   { "injected", (double)wr->sent },
			{ "capture_dropped", (double)wr->capture_dropped }, { "flows", (double)wr->flows },
			{ "hits", (double)wr->hits },         { "latency_p50_ns", wr->latency_p50_ns },
			{ "latency_p99_ns", wr->latency_p99_ns }, { "cpu", (double)wr->cpu },
		};
		for (size_t i = 0; i < sizeof per / sizeof per[0]; i++) {
			char name[64];
			snprintf(name, sizeof name, "worker%u_%s", w, per[i].name);
			rec_scalar(&c.run.rec, name, per[i].v);
			if (!o->quiet)
				cli_print_scalar(NULL, name, per[i].v);
		}
	}
	if (res.inject_errors)
		cli_error("%s: %llu frames could not be sent (first: %s)", o->c.out, (unsigned long long)res.inject_errors,
			  res.inject_error);
	if (code == EXIT_OK && o->sh.mode == ENGINE_SHADOW && es.divergent_packets)
		code = EXIT_DIVERGED;
	if (hc.h) {
		hc_stats_each(hc_get_stats(hc.h), rec_hc, &c.run.rec);
		if (!o->quiet)
			hc_stats_each(hc_get_stats(hc.h), cli_print_scalar, NULL);
	}
	code = cli_run_end(&c.run, status, code);
	pthread_mutex_destroy(&c.mu);
	free(lat);
	shaper_fini(&sh);
	cli_hc_close(&hc);
	return code;
}

static int replay(struct hil_opts *o)
{
	if (!o->c.out || !o->trace) {
		cli_error("hil replay: --out IF and a TRACE are required");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct hil_result res;
	cli_catch_signals();
	int rc = hil_replay(&o->c, o->trace, &res, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		return cli_exit_code(rc);
	}
	if (!o->quiet) {
		cli_print_scalar(NULL, "sent", (double)res.sent);
		cli_print_scalar(NULL, "inject_errors", (double)res.inject_errors);
		printf("%-24s %.6f\n%-24s %.0f\n", "seconds", res.seconds, "rate_pps",
		       res.seconds > 0 ? (double)res.sent / res.seconds : 0);
		printf("%-24s %.0f\n%-24s %.0f\n%-24s %.0f\n", "send_error_p50_ns", res.send_error_p50_ns,
		       "send_error_p99_ns", res.send_error_p99_ns, "send_error_max_ns", res.send_error_max_ns);
		printf("%-24s %.4f\n", "drift_percent", res.drift * 100);
	}
	if (res.inject_errors)
		cli_error("%s: %llu frames could not be sent (first: %s)", o->c.out, (unsigned long long)res.inject_errors,
			  res.inject_error);
	return res.interrupted ? EXIT_RUNTIME : EXIT_OK;
}

static int capture(struct hil_opts *o)
{
	if (!o->c.in) {
		cli_error("hil capture: --in IF is required");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct hil_result res;
	cli_catch_signals();
	int rc = hil_capture(&o->c, &res, &eb);
	if (!o->quiet) {
		cli_print_scalar(NULL, "packets", (double)res.packets);
		cli_print_scalar(NULL, "bytes", (double)res.bytes);
		cli_print_scalar(NULL, "capture_received", (double)res.capture_received);
		cli_print_scalar(NULL, "capture_dropped", (double)res.capture_dropped);
	}
	if (rc) {
		cli_error("%s (the %llu packets before are kept)", eb.msg, (unsigned long long)res.packets);
		return res.started ? EXIT_RUNTIME : cli_exit_code(rc);
	}
	return res.interrupted ? EXIT_RUNTIME : EXIT_OK;
}

int hil_main(const struct cli_args *a)
{
	struct hil_opts o;
	int rc = parse(a, &o);
	if (rc)
		return rc;
	const char *mode = a->pos[0];
	if (strcmp(mode, "forward") == 0)
		return forward(&o);
	if (strcmp(mode, "replay") == 0)
		return replay(&o);
	if (strcmp(mode, "capture") == 0)
		return capture(&o);
	cli_error("hil: unknown mode '%s' (forward, replay, capture)", mode);
	return EXIT_USAGE;
}
