/* hil: the shaper on real interfaces (see hil.h).
 *
 *   forward  the device under test: captures on one interface, runs every packet through the
 *            engine, injects what it transmits on the other; measures per-packet processing
 *            latency from the kernel's capture timestamp to the end of the injection.
 *   replay   a traffic generator: sends a capture's frames, each at its absolute time from the
 *            first (sleeping to just before it, then spinning), so errors do not add up as they
 *            do when sleeping delta by delta; reports its own send-time error and drift.
 *   capture  a sink: counts what arrives, optionally writing it to a file.
 *
 * Every mode stops by count or duration, or on Ctrl-C, and keeps what it measured.  Handles are
 * opened first; -Z USER then drops root, as tcpdump -Z does. */
#include "hil.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis/store.h"
#include "core/engine.h"
#include "core/route.h"
#include "models/registry.h"
#include "netio.h"
#include "pcapio.h"
#include "sim/cliutil.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Drops root to 'user' after the handles are open. */
static int drop_privileges(const char *user)
{
	if (!user)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		cli_error("-Z: no such user '%s'", user);
		return -1;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		cli_error("-Z %s: cannot drop privileges: %s", user, strerror(errno));
		return -1;
	}
	return 0;
}

static void touch(const char *path)
{
	if (!path)
		return;
	FILE *f = fopen(path, "w");
	if (f)
		fclose(f);
}

/* Samples kept for exact percentiles. */
struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void sample_add(struct samples *s, uint64_t x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		if (cap > (64u << 20))
			return; /* bounded: the first 64 M samples */
		uint64_t *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(struct samples *s, double q)
{
	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof *s->v, cmp_u64);
	size_t i = (size_t)(q * (double)(s->n - 1) + 0.5);
	return (double)s->v[i];
}

/* Common options of the three modes. */
struct hil_opts {
	const char *in, *out, *db, *ready, *user, *predictor, *routes, *inject, *write;
	enum engine_mode mode;
	enum policy_kind policy;
	uint64_t count;            /* 0 = no limit */
	double duration_s;         /* 0 = no limit */
	double speed, pps;
	bool topspeed, quiet;
	uint64_t loop;
	const char *trace;
};

enum {
	O_IN = 256, O_OUT, O_DB, O_READY, O_MODE, O_PRED, O_ROUTES, O_INJECT, O_COUNT, O_DURATION, O_SPEED, O_PPS,
	O_TOPSPEED, O_LOOP, O_QUIET, O_HELP, O_POLICY
};

static const char usage[] =
	"usage: precraft hil forward --in IF --out IF [--mode baseline|precraft|shadow] [--predictor NAME]\n"
	"                            [--policy off|static|adaptive] [--db FILE] [--count N | --duration S] [--routes FILE] [--inject pcap|libnet]\n"
	"       precraft hil replay --out IF TRACE [--speed X | --pps N | --topspeed] [--loop N] [--inject pcap|libnet]\n"
	"       precraft hil capture --in IF [-w FILE.pcap] [--count N | --duration S]\n"
	"  common: -Z USER (drop root after opening the interfaces), --ready FILE (created once capturing),\n"
	"          --quiet.  Every mode stops by count, duration or Ctrl-C and keeps what it measured.\n"
	"  The lab NIC pair (network namespaces, veth) is set up by hil/lab: see 'hil/lab help'.\n";

static int parse(int argc, char **argv, struct hil_opts *o)
{
	static const struct option lo[] = {
		{ "in", required_argument, 0, O_IN },           { "out", required_argument, 0, O_OUT },
		{ "db", required_argument, 0, O_DB },           { "ready", required_argument, 0, O_READY },
		{ "mode", required_argument, 0, O_MODE },       { "predictor", required_argument, 0, O_PRED },
		{ "routes", required_argument, 0, O_ROUTES },   { "inject", required_argument, 0, O_INJECT },
		{ "count", required_argument, 0, O_COUNT },     { "duration", required_argument, 0, O_DURATION },
		{ "speed", required_argument, 0, O_SPEED },     { "pps", required_argument, 0, O_PPS },
		{ "topspeed", no_argument, 0, O_TOPSPEED },     { "loop", required_argument, 0, O_LOOP },
		{ "quiet", no_argument, 0, O_QUIET },           { "help", no_argument, 0, O_HELP },
		{ "policy", required_argument, 0, O_POLICY },
		{ 0, 0, 0, 0 },
	};
	memset(o, 0, sizeof *o);
	o->policy = POLICY_STATIC;
	o->mode = ENGINE_PRECRAFT;
	o->predictor = "last";
	o->inject = "pcap";
	o->speed = 1;
	o->loop = 1;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "Z:w:", lo, NULL)) != -1) {
		switch (c) {
		case O_IN: o->in = optarg; break;
		case O_OUT: o->out = optarg; break;
		case O_DB: o->db = optarg; break;
		case O_READY: o->ready = optarg; break;
		case O_PRED: o->predictor = optarg; break;
		case O_ROUTES: o->routes = optarg; break;
		case 'Z': o->user = optarg; break;
		case 'w': o->write = optarg; break;
		case O_QUIET: o->quiet = true; break;
		case O_TOPSPEED: o->topspeed = true; break;
		case O_POLICY: {
			int k = policy_kind_parse(optarg);
			if (k < 0) {
				cli_error("--policy: expected off, static or adaptive, not '%s'", optarg);
				return EXIT_USAGE;
			}
			o->policy = (enum policy_kind)k;
			break;
		}
		case O_MODE:
			if (engine_mode_parse(optarg, &o->mode)) {
				cli_error("--mode: '%s' is not one of baseline, precraft, shadow", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_INJECT:
			if (strcmp(optarg, "pcap") && strcmp(optarg, "libnet")) {
				cli_error("--inject: '%s' is not pcap or libnet", optarg);
				return EXIT_USAGE;
			}
			o->inject = optarg;
			break;
		case O_COUNT:
			if (!cli_u64("--count", optarg, 1, UINT64_MAX, &o->count))
				return EXIT_USAGE;
			break;
		case O_LOOP:
			if (!cli_u64("--loop", optarg, 1, 1000000, &o->loop))
				return EXIT_USAGE;
			break;
		case O_DURATION:
			if (!cli_double("--duration", optarg, 0.001, 1e7, &o->duration_s))
				return EXIT_USAGE;
			break;
		case O_SPEED:
			if (!cli_double("--speed", optarg, 1e-6, 1e9, &o->speed))
				return EXIT_USAGE;
			break;
		case O_PPS:
			if (!cli_double("--pps", optarg, 1e-3, 1e9, &o->pps))
				return EXIT_USAGE;
			break;
		case O_HELP:
			fputs(usage, stdout);
			return -1;
		default:
			cli_error("hil: unknown or incomplete option '%s' (see 'precraft hil --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		o->trace = argv[optind++];
	if (optind < argc) {
		cli_error("hil: unexpected '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	return 0;
}

/* An injector: libpcap or libnet, as chosen. */
struct injector {
	struct pcapio *pc;
	struct netio *ln;
	uint8_t *buf;
	uint64_t errors;
	struct errbuf eb;
};

static int injector_open(struct injector *inj, const char *ifname, const char *how, struct errbuf *eb)
{
	memset(inj, 0, sizeof *inj);
	inj->buf = malloc(262144 + 4096);
	if (!inj->buf)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	return strcmp(how, "libnet") == 0 ? netio_open(ifname, &inj->ln, eb) : pcapio_open(ifname, &inj->pc, eb);
}

static int injector_send(struct injector *inj, const uint8_t *f, uint32_t len)
{
	int rc = inj->ln ? netio_send(inj->ln, f, len, &inj->eb) : pcapio_inject(inj->pc, f, len, &inj->eb);
	inj->errors += rc != 0;
	return rc;
}

static void injector_close(struct injector *inj)
{
	netio_close(inj->ln);
	pcapio_close(inj->pc);
	free(inj->buf);
}

/* ---- forward ------------------------------------------------------------------------------ */

struct fwd_ctx {
	struct injector inj;
	uint64_t t_capture;
	struct samples lat_all, lat_hit, lat_slow;
	uint64_t sent;
	struct store *st;
	int64_t run_id;
};

static void fwd_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		   uint32_t wirelen, uint64_t t_ns)
{
	(void)wirelen, (void)t_ns;
	struct fwd_ctx *c = arg;
	memcpy(c->inj.buf, hdr, hdr_len);
	if (payload_len)
		memcpy(c->inj.buf + hdr_len, payload, payload_len);
	if (injector_send(&c->inj, c->inj.buf, hdr_len + payload_len) == 0)
		c->sent++;
}

static void fwd_flow(void *arg, const struct engine_flow_info *fi)
{
	struct fwd_ctx *c = arg;
	if (!c->st)
		return;
	struct store_flow f;
	store_flow_init(&f, fi);
	store_flow(c->st, c->run_id, &f);
}

static int forward(const struct hil_opts *o, int argc, char **argv)
{
	if (!o->in || !o->out) {
		cli_error("hil forward: --in IF and --out IF are required");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct fwd_ctx c;
	memset(&c, 0, sizeof c);
	struct pcapio *in = NULL;
	struct route_table *rt = NULL;
	struct engine *eng = NULL;
	int code = EXIT_OK, rc = 0;
	char routes[4096];
	const char *status = "complete";
	double secs = 0;
	if ((rc = pcapio_open(o->in, &in, &eb)) != 0 || (rc = injector_open(&c.inj, o->out, o->inject, &eb)) != 0) {
		cli_error("%s", eb.msg);
		code = rc == -ERR_NOTFOUND || rc == -ERR_IO ? EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	if (!o->routes && !cli_find_data("default.routes", routes, sizeof routes)) {
		cli_error("no route table found: give one with --routes FILE");
		code = EXIT_USAGE;
		goto out;
	}
	if (route_table_create(&rt) || route_load_file(rt, o->routes ? o->routes : routes, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_USAGE;
		goto out;
	}
	const struct predictor_ops *pops = models_find(o->predictor);
	if (!pops) {
		cli_error("--predictor: unknown predictor '%s'", o->predictor);
		code = EXIT_USAGE;
		goto out;
	}
	if (o->db) {
		char command[2048];
		cli_command_line("precraft hil", argc, argv, command, sizeof command);
		if (store_open(o->db, &c.st, &eb) || store_run_begin(c.st, command, 0, 0, &c.run_id, &eb)) {
			cli_error("%s", eb.msg);
			code = EXIT_USAGE;
			goto out;
		}
		store_param(c.st, c.run_id, "in", o->in);
		store_param(c.st, c.run_id, "out", o->out);
		store_param(c.st, c.run_id, "mode", engine_mode_name(o->mode));
		store_param(c.st, c.run_id, "predictor", o->predictor);
		store_param(c.st, c.run_id, "policy", policy_kind_name(o->policy));
		store_param(c.st, c.run_id, "inject", o->inject);
	}
	struct engine_cfg ec;
	engine_cfg_defaults(&ec);
	ec.mode = o->mode;
	ec.routes = rt;
	ec.predictor = pops;
	policy_cfg_kind(&ec.policy, o->policy);
	ec.tx = fwd_tx;
	ec.tx_arg = &c;
	ec.flow_end = fwd_flow;
	ec.flow_end_arg = &c;
	if (engine_create(&ec, &eng, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
		goto out;
	}
	if (drop_privileges(o->user)) {
		code = EXIT_USAGE;
		status = "failed";
		goto finish;
	}
	catch_signals();
	touch(o->ready);
	int lt = pcapio_linktype(in);
	uint64_t start = wall_ns(), packets = 0;
	uint64_t deadline = o->duration_s > 0 ? start + (uint64_t)(o->duration_s * 1e9) : UINT64_MAX;
	while (!stop_flag && (!o->count || packets < o->count) && wall_ns() < deadline) {
		rc = pcapio_wait(in, 20, &eb);
		if (rc < 0)
			break;
		struct pcapio_pkt p;
		while ((!o->count || packets < o->count) && (rc = pcapio_next(in, &p, &eb)) == 1) {
			struct engine_result res;
			engine_process(eng, p.data, p.caplen, p.wirelen, lt, p.t_ns, &res);
			uint64_t lat = wall_ns() - p.t_ns;
			packets++;
			sample_add(&c.lat_all, lat);
			sample_add(res.path == ENGINE_PATH_HIT ? &c.lat_hit : &c.lat_slow, lat);
		}
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		cli_error("%s (the %llu packets before are kept)", eb.msg, (unsigned long long)packets);
		status = "failed";
		code = EXIT_RUNTIME;
	} else if (stop_flag) {
		status = "interrupted";
	}
	secs = (double)(wall_ns() - start) / 1e9;
finish:;
	uint64_t recv = 0, drop = 0;
	if (in)
		pcapio_stats(in, &recv, &drop);
	engine_finish(eng);
	struct engine_stats es;
	engine_get_stats(eng, &es);
	double p50 = pct(&c.lat_all, 0.5), p99 = pct(&c.lat_all, 0.99);
	double h50 = pct(&c.lat_hit, 0.5), s50 = pct(&c.lat_slow, 0.5);
	if (c.st) {
		const struct {
			const char *n;
			double v;
		} sc[] = {
			{ "packets_in", (double)es.packets_in },    { "packets_out", (double)es.packets_out },
			{ "injected", (double)c.sent },             { "inject_errors", (double)c.inj.errors },
			{ "hits", (double)es.hits },                { "strict_hits", (double)es.strict_hits },
			{ "misses", (double)es.misses },            { "crafted", (double)es.crafted },
			{ "wasted", (double)es.wasted },            { "validation_failures", (double)es.validation_failures },
			{ "divergent_packets", (double)es.divergent_packets }, { "flows", (double)es.flows },
			{ "pool_bytes_peak", (double)es.pool_bytes_peak },
			{ "latency_p50_ns", p50 },                  { "latency_p99_ns", p99 },
			{ "hit_latency_p50_ns", h50 },              { "slow_latency_p50_ns", s50 },
			{ "capture_received", (double)recv },       { "capture_dropped", (double)drop },
			{ "seconds", secs },
		};
		for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
			store_scalar(c.st, c.run_id, sc[i].n, sc[i].v);
		if (store_run_end(c.st, c.run_id, status, &eb))
			cli_error("%s", eb.msg);
	}
	if (!o->quiet) {
		printf("packets_in             %llu\npackets_out            %llu\ninjected               %llu\n",
		       (unsigned long long)es.packets_in, (unsigned long long)es.packets_out, (unsigned long long)c.sent);
		printf("hits                   %llu\nmisses                 %llu\ndivergent_packets      %llu\n",
		       (unsigned long long)es.hits, (unsigned long long)es.misses, (unsigned long long)es.divergent_packets);
		printf("latency_p50_ns         %.0f\nlatency_p99_ns         %.0f\n", p50, p99);
		printf("hit_latency_p50_ns     %.0f\nslow_latency_p50_ns    %.0f\n", h50, s50);
		printf("capture_received       %llu\ncapture_dropped        %llu\ninject_errors          %llu\n",
		       (unsigned long long)recv, (unsigned long long)drop, (unsigned long long)c.inj.errors);
	}
	if (code == EXIT_OK && o->mode == ENGINE_SHADOW && es.divergent_packets)
		code = EXIT_DIVERGED;
out:
	engine_destroy(eng);
	route_table_destroy(rt);
	if (c.st && store_close(c.st, &eb))
		cli_error("%s", eb.msg);
	pcapio_close(in);
	injector_close(&c.inj);
	free(c.lat_all.v);
	free(c.lat_hit.v);
	free(c.lat_slow.v);
	return code;
}

/* ---- replay ------------------------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Waits until 'target' (CLOCK_MONOTONIC): sleeps to 50 us before it, then spins, yielding the
 * CPU while it spins so that a device under test on the same machine is not starved. */
static void wait_until(uint64_t target)
{
	uint64_t now = mono_ns();
	if (target > now + 100000) {
		uint64_t t = target - 50000;
		struct timespec ts = { (time_t)(t / 1000000000ull), (long)(t % 1000000000ull) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop_flag)
			;
	}
	while (mono_ns() < target && !stop_flag)
		sched_yield();
}

static int replay(const struct hil_opts *o)
{
	if (!o->out || !o->trace) {
		cli_error("hil replay: --out IF and a TRACE are required");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct pcapio *file = NULL;
	struct injector inj;
	memset(&inj, 0, sizeof inj);
	int rc;
	if (pcapio_open_file(o->trace, &file, &eb)) {
		cli_error("%s", eb.msg);
		return EXIT_USAGE;
	}
	/* The capture in memory, so that reading it does not disturb the schedule. */
	uint8_t *bytes = NULL;
	uint64_t *off = NULL, *ts = NULL;
	uint32_t *len = NULL;
	size_t n = 0, cap = 0, blen = 0, bcap = 0;
	struct pcapio_pkt p;
	while ((rc = pcapio_next(file, &p, &eb)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			off = realloc(off, cap * sizeof *off);
			ts = realloc(ts, cap * sizeof *ts);
			len = realloc(len, cap * sizeof *len);
		}
		if (blen + p.caplen > bcap) {
			bcap = (blen + p.caplen) * 2;
			bytes = realloc(bytes, bcap);
		}
		if (!off || !ts || !len || !bytes) {
			rc = err_set(&eb, -ERR_NOMEM, "out of memory");
			break;
		}
		memcpy(bytes + blen, p.data, p.caplen);
		off[n] = blen;
		len[n] = p.caplen;
		ts[n++] = p.t_ns;
		blen += p.caplen;
	}
	pcapio_close(file);
	int code = EXIT_OK;
	if (rc < 0 || n == 0) {
		cli_error("%s", rc < 0 ? eb.msg : "the capture has no packets");
		code = EXIT_USAGE;
		goto out;
	}
	if ((rc = injector_open(&inj, o->out, o->inject, &eb)) != 0) {
		cli_error("%s", eb.msg);
		code = EXIT_USAGE;
		goto out;
	}
	if (drop_privileges(o->user)) {
		code = EXIT_USAGE;
		goto out;
	}
	catch_signals();
	struct samples err = { 0 };
	uint64_t start = mono_ns() + 1000000, target = start, sent = 0, total = 0, late_max = 0;
	uint64_t span = ts[n - 1] >= ts[0] ? ts[n - 1] - ts[0] : 0;
	for (uint64_t loop = 0; loop < o->loop && !stop_flag; loop++) {
		uint64_t base = start + (uint64_t)((double)loop * ((double)span + 1e6) / o->speed);
		for (size_t i = 0; i < n && !stop_flag; i++, total++) {
			if (o->topspeed)
				target = mono_ns();
			else if (o->pps > 0)
				target = start + (uint64_t)((double)total * 1e9 / o->pps);
			else
				target = base + (uint64_t)((double)(ts[i] >= ts[0] ? ts[i] - ts[0] : 0) / o->speed);
			wait_until(target);
			if (injector_send(&inj, bytes + off[i], len[i]) == 0)
				sent++;
			uint64_t now = mono_ns(), e = now > target ? now - target : 0;
			sample_add(&err, e);
			if (e > late_max)
				late_max = e;
		}
	}
	uint64_t end = mono_ns();
	/* Drift: how much longer than scheduled the whole replay took. */
	double sched_span = (double)(target - start), real_span = (double)(end - start);
	double drift = sched_span > 0 ? (real_span - sched_span) / sched_span : 0;
	if (!o->quiet) {
		printf("sent                   %llu\ninject_errors          %llu\n", (unsigned long long)sent,
		       (unsigned long long)inj.errors);
		printf("seconds                %.6f\nrate_pps               %.0f\n", real_span / 1e9,
		       real_span > 0 ? (double)sent / (real_span / 1e9) : 0);
		printf("send_error_p50_ns      %.0f\nsend_error_p99_ns      %.0f\nsend_error_max_ns      %llu\n",
		       pct(&err, 0.5), pct(&err, 0.99), (unsigned long long)late_max);
		printf("drift_percent          %.4f\n", drift * 100);
	}
	if (inj.errors)
		cli_error("%s: %llu frames could not be sent (first: %s)", o->out, (unsigned long long)inj.errors, inj.eb.msg);
	if (stop_flag)
		code = EXIT_RUNTIME;
	free(err.v);
out:
	injector_close(&inj);
	free(bytes);
	free(off);
	free(ts);
	free(len);
	return code;
}

/* ---- capture ------------------------------------------------------------------------------ */

static int capture(const struct hil_opts *o)
{
	if (!o->in) {
		cli_error("hil capture: --in IF is required");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct pcapio *in = NULL;
	int rc;
	if ((rc = pcapio_open(o->in, &in, &eb)) != 0 || (o->write && pcapio_dump_to(in, o->write, &eb))) {
		cli_error("%s", eb.msg);
		pcapio_close(in);
		return EXIT_USAGE;
	}
	if (drop_privileges(o->user)) {
		pcapio_close(in);
		return EXIT_USAGE;
	}
	catch_signals();
	touch(o->ready);
	uint64_t start = wall_ns(), packets = 0, bytes = 0;
	uint64_t deadline = o->duration_s > 0 ? start + (uint64_t)(o->duration_s * 1e9) : UINT64_MAX;
	rc = 0;
	while (!stop_flag && (!o->count || packets < o->count) && wall_ns() < deadline) {
		if ((rc = pcapio_wait(in, 20, &eb)) < 0)
			break;
		struct pcapio_pkt p;
		while ((!o->count || packets < o->count) && (rc = pcapio_next(in, &p, &eb)) == 1) {
			packets++;
			bytes += p.wirelen;
		}
		if (rc < 0)
			break;
	}
	uint64_t recv, drop;
	pcapio_stats(in, &recv, &drop);
	pcapio_close(in);
	if (!o->quiet)
		printf("packets                %llu\nbytes                  %llu\ncapture_received       %llu\ncapture_dropped        %llu\n",
		       (unsigned long long)packets, (unsigned long long)bytes, (unsigned long long)recv,
		       (unsigned long long)drop);
	if (rc < 0) {
		cli_error("%s (the %llu packets before are kept)", eb.msg, (unsigned long long)packets);
		return EXIT_RUNTIME;
	}
	return stop_flag ? EXIT_RUNTIME : EXIT_OK;
}

int hil_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	struct hil_opts o;
	int rc = parse(argc - 1, argv + 1, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (strcmp(argv[1], "forward") == 0)
		return forward(&o, argc, argv);
	if (strcmp(argv[1], "replay") == 0)
		return replay(&o);
	if (strcmp(argv[1], "capture") == 0)
		return capture(&o);
	cli_error("hil: unknown mode '%s' (forward, replay, capture)", argv[1]);
	return EXIT_USAGE;
}
