/* calibrate_cmd: `precraft calibrate`, the simulator's cost profile measured on the real core.
 *
 * Runs the engine on captures in baseline and precraft mode, timing every packet's work by
 * path with the monotonic clock (the engine's cost clock), and writes the medians (less the
 * clock's own cost) as a cost profile (sim/costs.h).  Without -o it prints the profile and
 * writes nothing: the shipped default.costs changes only when asked to. */
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/crypto.h"
#include "commands.h"
#include "core/engine.h"
#include "core/esp.h"
#include "core/route.h"
#include "sim/costs.h"
#include "traces/trace.h"

const char calibrate_usage[] =
	"usage: precraft calibrate [TRACE...] [-o FILE] [--repeat N] [--cipher NAME]\n"
	"  Runs the real core on captures (default: the shipped zeek-smb2.pcap and ndpi-fix.pcap) and\n"
	"  measures the median nanoseconds of a slow-path packet, a hit, a miss, crafting and a drop,\n"
	"  and the ESP tunnel's costs by packet size (64 to 1500 B), sealing and opening: the cost\n"
	"  profile the simulator charges (scenario key shaper.costs).\n"
	"  -o FILE     write the profile to FILE (without it, the profile is printed and nothing written)\n"
	"  --repeat N  passes over each capture (default 5)\n"
	"  --cipher NAME  the ESP tunnel's AEAD to time: chacha20-poly1305 (default) or aes-256-gcm\n";

struct samples {
	double *v[ENGINE_COST__COUNT];
	size_t n[ENGINE_COST__COUNT], cap[ENGINE_COST__COUNT];
	int failed;
};

static void on_sample(void *arg, int kind, uint64_t ns)
{
	struct samples *s = arg;
	if (s->n[kind] == s->cap[kind]) {
		size_t cap = s->cap[kind] ? s->cap[kind] * 2 : 4096;
		double *v = realloc(s->v[kind], cap * sizeof *v);
		if (!v) {
			s->failed = 1;
			return;
		}
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
	return smp->failed ? EXIT_RUNTIME : EXIT_OK;
}

static double median(double *v, size_t n);

/* One timed operation of kind 'k' at 'len' inner bytes: the work it uses made first, untimed.
 * 't' seals; 'rx' opens what 'tx' (a second sender of the same SA) seals. */
static double esp_once(struct esp_tunnel *t, struct esp_tunnel *tx, struct esp_tunnel *rx, const struct esp_sa_conf *sa,
		       int k, const uint8_t *pkt, uint32_t len)
{
	uint32_t gen, fl;
	const uint8_t *fr;
	enum esp_how how;
	bool d;
	if (k >= COSTS_ESP_OPEN) {
		static uint8_t msg[4096];
		if (esp_seal(tx, 0, pkt, 40, pkt + 40, len - 40, len, 0, false, &fr, &fl, &how, &d) != ESP_OK)
			return 0;
		memcpy(msg, fr + 34, fl - 34); /* after Ethernet and the outer IPv4 header */
		if (k == COSTS_ESP_OPEN_KEYED)
			(void)esp_ring_fill(rx, 0, 1, 1, esp_plain_len(rx, 0, len), 0, &gen);
		else if (k == COSTS_ESP_OPEN_ANTICIPATED)
			(void)esp_anticipate(rx, 0, pkt, len, 0, &gen);
		struct esp_opened o;
		uint64_t a = cli_now_ns();
		(void)esp_open(rx, ESP_KIND_ESP, 4, sa->dst, msg, fl - 34, 0, false, &o);
		return (double)(cli_now_ns() - a);
	}
	if (k == COSTS_ESP_KEYED)
		(void)esp_ring_fill(t, 0, 1, 1, esp_plain_len(t, 0, len), 0, &gen);
	else if (k == COSTS_ESP_ANTICIPATED)
		(void)esp_anticipate(t, 0, pkt, len, 0, &gen);
	uint64_t a = cli_now_ns();
	if (k == COSTS_ESP_KEYSTREAM)
		(void)esp_ring_fill(t, 0, 1, 1, esp_plain_len(t, 0, len), 0, &gen);
	else /* as the engine does: headers and payload from where they lie */
		(void)esp_seal(t, 0, pkt, 40, pkt + 40, len - 40, len, 0, false, &fr, &fl, &how, &d);
	double ns = (double)(cli_now_ns() - a);
	if (k == COSTS_ESP_KEYSTREAM) /* use it up, untimed */
		(void)esp_seal(t, 0, pkt, 40, pkt + 40, len - 40, len, 0, false, &fr, &fl, &how, &d);
	return ns;
}

/* The tunnel's costs at each size, on a one-SA tunnel made for the purpose (a random key,
 * never shown): the median of 'iters' of each operation, the clock's cost taken off; sealing,
 * and opening what a second instance of the SA seals. */
static int calibrate_esp(struct route_table *rt, double clock_ns, unsigned iters, enum esp_cipher cipher,
			 struct cost_profile *cp)
{
	static const double sizes[] = { 64, 256, 512, 1024, 1500 };
	/* A one-SA tunnel in memory: the key never touches a file. */
	struct esp_sa_conf sa = { .name = "cal", .spi = 0x1000, .family = 4, .src = { 192, 0, 2, 1 }, .dst = { 192, 0, 2, 2 },
				  .salt = { 1, 2, 3, 4 }, .cipher = cipher };
	for (int i = 0; i < 4; i++) {
		uint64_t r = crypto_random_u64();
		memcpy(sa.key + 8 * i, &r, 8);
	}
	struct esp_conf *conf = NULL, *conf_rx = NULL;
	struct esp_tunnel *t = NULL, *tx = NULL, *rx = NULL;
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct errbuf eb;
	int bad = esp_conf_one(&sa, &conf) || esp_conf_one(&sa, &conf_rx) ||
		  esp_conf_set_local(conf_rx, "192.0.2.2", "calibrate", &eb) || esp_tunnel_create(conf, rt, mac, 1, 2048, &t) ||
		  esp_tunnel_create(conf, rt, mac, 1, 2048, &tx) || esp_tunnel_create(conf_rx, rt, mac, 1, 2048, &rx);
	crypto_wipe(&sa, sizeof sa);
	double *v = malloc(iters * sizeof *v);
	static uint8_t pkt[2048];
	if (bad || !v) {
		free(v);
		esp_tunnel_destroy(t);
		esp_tunnel_destroy(tx);
		esp_tunnel_destroy(rx);
		esp_conf_destroy(conf);
		esp_conf_destroy(conf_rx);
		return EXIT_RUNTIME;
	}
	for (size_t i = 0; i < sizeof pkt; i++)
		pkt[i] = (uint8_t)(i * 7);
	pkt[0] = 0x45;
	cp->esp_n = sizeof sizes / sizeof sizes[0];
	cp->esp_open = true;
	const struct esp_sa_conf *rsa = esp_conf_sa(conf_rx, 0);
	for (unsigned si = 0; si < cp->esp_n; si++) {
		uint32_t len = (uint32_t)sizes[si];
		cp->esp_size[si] = sizes[si];
		pkt[2] = (uint8_t)(len >> 8), pkt[3] = (uint8_t)len; /* an inner length an opener checks */
		for (int k = 0; k < COSTS_ESP_KINDS; k++) {
			for (unsigned it = 0; it < iters; it++)
				v[it] = esp_once(t, tx, rx, rsa, k, pkt, len);
			double m = median(v, iters) - clock_ns;
			cp->esp[k][si] = m > 1 ? m : 1;
		}
	}
	free(v);
	esp_tunnel_destroy(t);
	esp_tunnel_destroy(tx);
	esp_tunnel_destroy(rx);
	esp_conf_destroy(conf);
	esp_conf_destroy(conf_rx);
	return EXIT_OK;
}

static double median(double *v, size_t n)
{
	if (!n)
		return 0;
	gsl_sort(v, 1, n);
	return gsl_stats_median_from_sorted_data(v, 1, n);
}

static void profile_from(struct samples *smp, double clock_ns, struct cost_profile *cp)
{
	double m[ENGINE_COST__COUNT];
	for (int k = 0; k < ENGINE_COST__COUNT; k++) {
		m[k] = median(smp->v[k], smp->n[k]) - clock_ns;
		if (m[k] < 1)
			m[k] = 1;
	}
	cp->slow_ns = m[ENGINE_COST_SLOW];
	/* Few misses in some captures: no fewer than a slow path plus a failed validation. */
	cp->miss_ns = smp->n[ENGINE_COST_MISS] >= 100 ? m[ENGINE_COST_MISS] : m[ENGINE_COST_SLOW] + m[ENGINE_COST_HIT] / 2;
	cp->hit_ns = m[ENGINE_COST_HIT];
	cp->craft_ns = m[ENGINE_COST_CRAFT];
	cp->drop_ns = smp->n[ENGINE_COST_DROP] ? m[ENGINE_COST_DROP] : cp->slow_ns / 4;
}

/* The profile and its comment, for cli_write_output. */
struct profile_out {
	const struct cost_profile *cp;
	const char *comment;
};

static int write_profile(const char *path, const void *arg, struct errbuf *eb)
{
	const struct profile_out *po = arg;
	return costs_save(path, po->cp, po->comment, eb);
}

enum { O_REPEAT = 256, O_CIPHER };
const struct option calibrate_options[] = {
	{ "repeat", required_argument, 0, O_REPEAT },
	{ "cipher", required_argument, 0, O_CIPHER },
	{ 0, 0, 0, 0 },
};

int calibrate_main(const struct cli_args *args)
{
	const char *out = NULL, *traces[64];
	char defaults[2][4096];
	int n_traces = 0;
	uint64_t repeat = 5;
	enum esp_cipher cipher = ESP_CHACHA20_POLY1305;
	for (size_t i = 0; i < args->n_opt; i++) {
		if (args->opt[i].id == 'o')
			out = args->opt[i].arg;
		else if (args->opt[i].id == O_CIPHER && !strcmp(args->opt[i].arg, "aes-256-gcm"))
			cipher = ESP_AES_256_GCM;
		else if (args->opt[i].id == O_CIPHER && strcmp(args->opt[i].arg, "chacha20-poly1305") != 0) {
			cli_error("--cipher: expected chacha20-poly1305 or aes-256-gcm, not '%s'", args->opt[i].arg);
			return EXIT_USAGE;
		}
		else if (args->opt[i].id == O_REPEAT && !cli_u64("--repeat", args->opt[i].arg, 1, 1000, &repeat))
			return EXIT_USAGE;
	}
	for (int i = 0; i < args->n_pos; i++) /* at most 64: the row's bound */
		traces[n_traces++] = args->pos[i];
	if (!n_traces) {
		static const char *const names[2] = { "../traces/zeek-smb2.pcap", "../traces/ndpi-fix.pcap" };
		for (int i = 0; i < 2; i++) {
			if (!cli_find_data(names[i], defaults[i], sizeof defaults[i])) {
				cli_error("calibrate: the default capture %s was not found; name captures to calibrate on",
					  names[i] + 3);
				return EXIT_USAGE;
			}
			traces[n_traces++] = defaults[i];
		}
	}
	char routes[4096];
	if (!cli_find_data("default.routes", routes, sizeof routes)) {
		cli_error("no default route table found; set PRECRAFT_DATA");
		return EXIT_USAGE;
	}
	struct route_table *rt = NULL;
	struct errbuf eb = { "" };
	if (route_table_create(&rt) || route_load_file(rt, routes, &eb)) {
		cli_error("%s", eb.msg);
		route_table_destroy(rt);
		return EXIT_USAGE;
	}
	struct samples smp;
	memset(&smp, 0, sizeof smp);
	/* The clock's own cost, taken off every sample. */
	enum { CLOCK_SAMPLES = 100000 };
	double *ck = malloc(CLOCK_SAMPLES * sizeof *ck);
	for (int i = 0; ck && i < CLOCK_SAMPLES; i++) {
		uint64_t a = cli_now_ns();
		ck[i] = (double)(cli_now_ns() - a);
	}
	double clock_ns = ck ? median(ck, CLOCK_SAMPLES) : 0;
	free(ck);
	int code = EXIT_OK;
	for (int i = 0; i < n_traces && code == EXIT_OK; i++)
		code = calibrate_trace(traces[i], rt, (unsigned)repeat, &smp);
	struct cost_profile cp;
	memset(&cp, 0, sizeof cp);
	if (code == EXIT_OK && (code = calibrate_esp(rt, clock_ns, 400 * (unsigned)repeat, cipher, &cp)) != EXIT_OK)
		cli_error("calibrate: cannot set up the tunnel to time");
	route_table_destroy(rt);
	/* A profile needs measured slow paths, hits and crafting: a capture where nothing is
	 * predicted gives no hit to time, and a made-up figure would pass for a measured one. */
	static const int needed[] = { ENGINE_COST_SLOW, ENGINE_COST_HIT, ENGINE_COST_CRAFT };
	static const char *const needed_name[] = { "slow-path packet", "hit", "pre-built packet" };
	for (int k = 0; code == EXIT_OK && k < 3; k++)
		if (!smp.n[needed[k]]) {
			cli_error("calibrate: no %s in %s%s: nothing to time (calibrate on captures with repeating flows)",
				  needed_name[k], traces[0], n_traces > 1 ? " and the others" : "");
			code = EXIT_USAGE;
		}
	if (code == EXIT_OK) {
		profile_from(&smp, clock_ns, &cp);
		printf("slow_ns  %.1f\nhit_ns   %.1f\nmiss_ns  %.1f\ncraft_ns %.1f\ndrop_ns  %.1f\n", cp.slow_ns, cp.hit_ns,
		       cp.miss_ns, cp.craft_ns, cp.drop_ns);
		printf("esp      bytes  seal_ns  keyed_ns  anticipated_ns  keystream_ns  open_ns  open_keyed_ns  open_anticipated_ns\n");
		for (unsigned i = 0; i < cp.esp_n; i++)
			printf("esp      %5.0f  %7.1f  %8.1f  %14.1f  %12.1f  %7.1f  %13.1f  %19.1f\n", cp.esp_size[i],
			       cp.esp[COSTS_ESP_SEAL][i], cp.esp[COSTS_ESP_KEYED][i], cp.esp[COSTS_ESP_ANTICIPATED][i],
			       cp.esp[COSTS_ESP_KEYSTREAM][i], cp.esp[COSTS_ESP_OPEN][i], cp.esp[COSTS_ESP_OPEN_KEYED][i],
			       cp.esp[COSTS_ESP_OPEN_ANTICIPATED][i]);
		char comment[512];
		snprintf(comment, sizeof comment,
			 "samples: slow %zu, hit %zu, miss %zu, craft %zu, drop %zu (no-prediction misses %zu, not used); clock %.1f ns subtracted; %d trace(s) x %llu; ESP: %s",
			 smp.n[ENGINE_COST_SLOW], smp.n[ENGINE_COST_HIT], smp.n[ENGINE_COST_MISS], smp.n[ENGINE_COST_CRAFT],
			 smp.n[ENGINE_COST_DROP], smp.n[ENGINE_COST_NOPRED], clock_ns, n_traces, (unsigned long long)repeat,
			 cipher == ESP_AES_256_GCM ? "aes-256-gcm" : "chacha20-poly1305");
		struct profile_out po = { &cp, comment };
		if (out && cli_write_output(out, write_profile, &po, &eb)) {
			cli_error("%s", eb.msg);
			code = EXIT_RUNTIME; /* a failed write, no file left half written */
		} else if (out) {
			printf("written  %s\n", out);
		} else {
			printf("(not written: give -o FILE, then shaper.costs = FILE in a scenario)\n");
		}
	}
	for (int k = 0; k < ENGINE_COST__COUNT; k++)
		free(smp.v[k]);
	return code;
}
