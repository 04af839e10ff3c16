/* bench tunnel ROUTES TUNNEL LOCAL1 LOCAL2: the VPN gateway's per-packet costs (bench/bench.sh,
 * "tunnel"), both ways, for the tunnel file's framing and cipher (ESP with ChaCha20-Poly1305 or
 * AES-256-GCM, or WireGuard): gateway 1 (--local LOCAL1) seals, gateway 2 (LOCAL2) opens.
 *
 * Synthetic UDP traffic at inner IP sizes of 64, 512 and 1400 bytes, in memory, timed by the
 * engine itself (its cost clock), each figure the median of REPS runs.  Outbound, at gateway 1:
 *   route_ns      the slow path without the tunnel (routing only), baseline mode
 *   slow_ns       the slow path with the tunnel: routing and the one-shot seal
 *   hit_ns        a hit whose payload was not predicted: sealed with the keystream made ahead
 *                 (16 flows in turn, the payload a counter)
 *   ant_ns        a hit whose whole packet was predicted: sent as sealed ahead (one flow, a
 *                 constant payload: a poll)
 * Inbound, at gateway 2, on what gateway 1 sealed of the same workloads (every packet's cost,
 * from its arrival sealed to its transmit routed):
 *   in_slow_ns    baseline: the library's one-shot open, then the slow path
 *   in_hit_ns     precraft, 16 flows: opened with the keystream made for its number
 *   in_ant_ns     precraft, one flow: opened by comparing it with the packet sealed ahead
 * with the share of packets each way served.  tunnel_layer.c adds the tunnel's own calls alone
 * and the libraries' one-shot AEADs as the physical anchor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/clock_mono.h"
#include "core/csum.h"
#include "core/engine.h"
#include "core/engine_stats.h"
#include "core/esp.h"
#include "core/route.h"
#include "models/registry.h"

static uint64_t tclock(void *arg)
{
	(void)arg;
	return clock_mono_ns();
}

enum { PKTS = 100000, PKTS_IN = 20000, FLOWS = 16 };

uint32_t bench_tunnel_frame(uint8_t *f, uint32_t ip_len, unsigned k, int one_flow)
{
	unsigned fl = one_flow ? 0 : k % FLOWS, n = one_flow ? k : k / FLOWS;
	memset(f, 0, 14 + ip_len);
	f[0] = 0x02, f[5] = 1, f[6] = 0x02, f[11] = 2, f[12] = 0x08;
	uint8_t *ip = f + 14, *u = ip + 20;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8), ip[3] = (uint8_t)ip_len;
	ip[4] = (uint8_t)(n >> 8), ip[5] = (uint8_t)n;
	ip[8] = 64, ip[9] = 17;
	ip[12] = 172, ip[13] = 16, ip[15] = (uint8_t)(fl + 1);
	ip[16] = 10, ip[17] = 1, ip[19] = (uint8_t)(fl + 1);
	uint16_t c = csum_fold(csum_partial(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	uint32_t ul = ip_len - 20;
	u[0] = 0x13, u[1] = (uint8_t)(0x88 + fl), u[2] = 0x01, u[3] = 0xf6; /* 5000+fl -> 502 */
	u[4] = (uint8_t)(ul >> 8), u[5] = (uint8_t)ul;
	for (uint32_t i = 8; i < ul; i++)
		u[i] = (uint8_t)(i * 13);
	if (!one_flow && ul >= 12)
		memcpy(u + 8, &n, 4);
	uint32_t ps = csum_partial(ip + 12, 8, 0) + 17 + ul;
	c = csum_fold(csum_partial(u, ul, ps));
	c = c ? c : 0xffff;
	u[6] = (uint8_t)(c >> 8), u[7] = (uint8_t)c;
	return 14 + ip_len;
}

/* What gateway 1 sent: frames one after another, each after its length. */
struct capture {
	uint8_t *buf;
	size_t len, cap;
	unsigned n;
};

static void capture_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		       uint32_t wirelen, uint64_t t_ns)
{
	(void)t_ns;
	(void)wirelen;
	struct capture *c = arg;
	if (c->len + 4 + hdr_len + payload_len > c->cap)
		return; /* sized for the workload: cannot happen */
	uint32_t n = hdr_len + payload_len;
	memcpy(c->buf + c->len, &n, 4);
	memcpy(c->buf + c->len + 4, hdr, hdr_len);
	if (payload_len)
		memcpy(c->buf + c->len + 4 + hdr_len, payload, payload_len);
	c->len += 4 + n;
	c->n++;
}

struct run_out {
	double slow, hit, all;     /* ns per packet: by path, and over every packet */
	uint64_t anticipated, keystream, packets;
};

struct setup {
	struct route_table *rt;
	const struct esp_conf *out, *in; /* gateway 1's and gateway 2's view of the tunnel */
	double clock_ns;
};

/* One engine over the workload ('in': gateway 2 over 'cap', else gateway 1 over fresh frames,
 * captured into 'cap' when it is given). */
static int run(const struct setup *s, bool in, bool tunnel, enum engine_mode mode, uint32_t ip_len, int one_flow,
	       struct capture *cap, struct run_out *o)
{
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.mode = mode;
	c.routes = s->rt;
	c.tunnel = tunnel ? (in ? s->in : s->out) : NULL;
	c.predictor = models_find("header");
	c.cost_clock.now_ns = tclock;
	if (!in && cap) {
		c.tx = capture_tx;
		c.tx_arg = cap;
	}
	struct engine *e;
	struct errbuf eb;
	if (engine_create(&c, &e, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	static uint8_t f[2048];
	if (in) {
		size_t off = 0;
		for (unsigned k = 0; k < cap->n; k++) {
			uint32_t n;
			memcpy(&n, cap->buf + off, 4);
			/* Into a buffer the cache holds, as the outbound frames are made (and as a NIC's
			 * DMA into the cache hands them): the engine's cost, not the memory's. */
			memcpy(f, cap->buf + off + 4, n);
			engine_process(e, f, n, n, PKT_LINK_ETH, 1000000ull + 10000ull * k, NULL);
			off += 4 + n;
		}
	} else {
		for (unsigned k = 0; k < (cap ? PKTS_IN : PKTS); k++) {
			uint32_t n = bench_tunnel_frame(f, ip_len, k, one_flow);
			engine_process(e, f, n, n, PKT_LINK_ETH, 1000000ull + 10000ull * k, NULL);
		}
	}
	struct engine_stats st;
	engine_finish(e);
	engine_get_stats(e, &st);
	engine_destroy(e);
	o->slow = st.cost_slow_n ? (double)st.cost_slow_ns / (double)st.cost_slow_n - s->clock_ns : 0;
	o->hit = st.cost_hit_n ? (double)st.cost_hit_ns / (double)st.cost_hit_n - s->clock_ns : 0;
	uint64_t n = st.cost_slow_n + st.cost_hit_n;
	o->all = n ? (double)(st.cost_slow_ns + st.cost_hit_ns) / (double)n - s->clock_ns : 0;
	o->anticipated = in ? st.esp.esp_opened_anticipated : st.esp.esp_sealed_anticipated;
	o->keystream = in ? st.esp.esp_opened_keystream : st.esp.esp_sealed_keystream;
	o->packets = st.packets_in;
	return 0;
}

static double med(double *v, int n)
{
	double lo, hi;
	return bench_median_spread(v, (size_t)n, &lo, &hi);
}

static int load(const char *path, const char *local, struct esp_conf **c)
{
	struct errbuf eb;
	if (esp_conf_load(path, c, &eb) || esp_conf_set_local(*c, local, "local", &eb)) {
		fprintf(stderr, "bench tunnel: %s\n", eb.msg);
		return -1;
	}
	return 0;
}

/* Outbound and inbound at one size: 'reps' runs of each. */
static int one_size(const struct setup *s, uint32_t L, int reps)
{
	double route[15], slow[15], hit[15], ant[15], islow[15], ihit[15], iant[15];
	struct run_out o, oh = { 0 }, oa = { 0 }, ih = { 0 }, ia = { 0 };
	struct capture many = { .cap = (size_t)PKTS_IN * (L + 200) }, one = many;
	many.buf = malloc(many.cap);
	one.buf = malloc(one.cap);
	if (!many.buf || !one.buf)
		return -1;
	int rc = run(s, false, true, ENGINE_BASELINE, L, 0, &many, &o) || run(s, false, true, ENGINE_BASELINE, L, 1, &one, &o);
	for (int r = 0; !rc && r < reps; r++) {
		rc = run(s, false, false, ENGINE_BASELINE, L, 0, NULL, &o) || (route[r] = o.slow, 0) ||
		     run(s, false, true, ENGINE_BASELINE, L, 0, NULL, &o) || (slow[r] = o.slow, 0) ||
		     run(s, false, true, ENGINE_PRECRAFT, L, 0, NULL, &oh) || (hit[r] = oh.hit, 0) ||
		     run(s, false, true, ENGINE_PRECRAFT, L, 1, NULL, &oa) || (ant[r] = oa.hit, 0) ||
		     run(s, true, true, ENGINE_BASELINE, L, 0, &many, &o) || (islow[r] = o.all, 0) ||
		     run(s, true, true, ENGINE_PRECRAFT, L, 0, &many, &ih) || (ihit[r] = ih.all, 0) ||
		     run(s, true, true, ENGINE_PRECRAFT, L, 1, &one, &ia) || (iant[r] = ia.all, 0);
	}
	free(many.buf);
	free(one.buf);
	if (rc)
		return -1;
	printf("size_%u_route_ns %.1f\n", L, med(route, reps));
	printf("size_%u_slow_ns %.1f\n", L, med(slow, reps));
	printf("size_%u_hit_ns %.1f\n", L, med(hit, reps));
	printf("size_%u_ant_ns %.1f\n", L, med(ant, reps));
	printf("size_%u_hit_keystream_share %.3f\n", L, (double)oh.keystream / (double)oh.packets);
	printf("size_%u_ant_anticipated_share %.3f\n", L, (double)oa.anticipated / (double)oa.packets);
	printf("size_%u_in_slow_ns %.1f\n", L, med(islow, reps));
	printf("size_%u_in_hit_ns %.1f\n", L, med(ihit, reps));
	printf("size_%u_in_ant_ns %.1f\n", L, med(iant, reps));
	printf("size_%u_in_hit_keystream_share %.3f\n", L, (double)ih.keystream / (double)ih.packets);
	printf("size_%u_in_ant_anticipated_share %.3f\n", L, (double)ia.anticipated / (double)ia.packets);
	return 0;
}

int bench_tunnel(const char *routes, const char *tunnel, const char *local1, const char *local2)
{
	struct setup s = { 0 };
	struct esp_conf *out = NULL, *in = NULL;
	struct errbuf eb;
	if (route_table_create(&s.rt) || route_load_file(s.rt, routes, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return 1;
	}
	if (load(tunnel, local1, &out) || load(tunnel, local2, &in))
		return 1;
	s.out = out;
	s.in = in;
	uint64_t t0 = clock_mono_ns(), dummy = 0;
	for (int i = 0; i < 1000000; i++)
		dummy += clock_mono_ns();
	s.clock_ns = (double)(clock_mono_ns() - t0) / 1e6;
	(void)dummy;
	const char *env = getenv("BENCH_REPS");
	int reps = env ? atoi(env) : 5;
	if (reps < 1 || reps > 15)
		reps = 5;
	static const uint32_t sizes[] = { 64, 512, 1400 };
	printf("tunnel_reps %d\n", reps);
	const struct esp_sa_conf *sa = esp_conf_sa(in, 0);
	printf("tunnel_kind %s\n", sa->kind == ESP_KIND_WG ? "wireguard" : esp_cipher_name(sa->cipher));
	for (int k = 0; k < 3; k++)
		if (one_size(&s, sizes[k], reps) || bench_tunnel_layer(in, sizes[k], reps, s.clock_ns))
			return 1;
	esp_conf_destroy(out);
	esp_conf_destroy(in);
	route_table_destroy(s.rt);
	return 0;
}
