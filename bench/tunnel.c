/* bench tunnel ROUTES TUNNEL: the ESP tunnel's per-packet costs (bench/bench.sh, "tunnel").
 *
 * Synthetic UDP traffic at inner IP sizes of 64, 512 and 1400 bytes, in memory, timed by the
 * engine itself (its cost clock), each figure the median of REPS runs:
 *   route_ns      the slow path without the tunnel (routing only), baseline mode
 *   slow_ns       the slow path with the tunnel: routing and the one-shot seal
 *   hit_ns        a hit whose payload was not predicted: sealed with the keystream made ahead
 *                 (16 flows in turn, the payload a counter)
 *   ant_ns        a hit whose whole packet was predicted: sent as sealed ahead (one flow, a
 *                 constant payload: a poll)
 * and, as the physical anchor, the library calls alone at the same sizes (plaintext with the
 * ESP trailer): OpenSSL's one-shot EVP ChaCha20-Poly1305 through core/crypto.c (aead_ns), its
 * keystream (ks_ns), and libsodium's one-shot, keystream and Poly1305 (the tunnel's MAC)
 * (sodium_*), the comparison behind the choice of library. */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "core/engine_stats.h"
#include "core/clock_mono.h"
#include "core/crypto.h"
#include "core/csum.h"
#include "core/engine.h"
#include "core/esp.h"
#include "core/route.h"
#include "models/registry.h"

int bench_tunnel(const char *routes, const char *tunnel);

static uint64_t tclock(void *arg)
{
	(void)arg;
	return clock_mono_ns();
}

enum { PKTS = 100000, FLOWS = 16 };

/* Packet k of the workload: Ethernet, IPv4 (ID counting per flow), UDP, payload; checksums
 * right.  'one_flow': a single flow with a constant payload, else FLOWS flows in turn whose
 * payload starts with a counter. */
static uint32_t frame(uint8_t *f, uint32_t ip_len, unsigned k, int one_flow)
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

struct run_out {
	double slow, hit;          /* ns per packet, by path */
	uint64_t anticipated, keystream, oneshot, packets;
};

static int run(struct route_table *rt, const struct esp_conf *tun, enum engine_mode mode, uint32_t ip_len,
	       int one_flow, double clock_ns, struct run_out *o)
{
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.mode = mode;
	c.routes = rt;
	c.tunnel = tun;
	c.predictor = models_find("header");
	c.cost_clock.now_ns = tclock;
	struct engine *e;
	struct errbuf eb;
	if (engine_create(&c, &e, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	static uint8_t f[2048];
	for (unsigned k = 0; k < PKTS; k++) {
		uint32_t n = frame(f, ip_len, k, one_flow);
		engine_process(e, f, n, n, PKT_LINK_ETH, 1000000ull + 10000ull * k, NULL);
	}
	struct engine_stats st;
	engine_finish(e);
	engine_get_stats(e, &st);
	engine_destroy(e);
	o->slow = st.cost_slow_n ? (double)st.cost_slow_ns / (double)st.cost_slow_n - clock_ns : 0;
	o->hit = st.cost_hit_n ? (double)st.cost_hit_ns / (double)st.cost_hit_n - clock_ns : 0;
	o->anticipated = st.esp.esp_sealed_anticipated;
	o->keystream = st.esp.esp_sealed_keystream;
	o->oneshot = st.esp.esp_sealed_oneshot;
	o->packets = st.packets_in;
	return 0;
}

static double med(double *v, int n)
{
	double lo, hi;
	return bench_median_spread(v, (size_t)n, &lo, &hi);
}

/* ns per call of 'what' at 'len' plaintext bytes, the median of 'reps' loops. */
enum lib_op { OSSL_AEAD, OSSL_KS, NA_AEAD, NA_KS, NA_POLY };

static double lib_ns(struct crypto_aead *cx, enum lib_op what, uint32_t len, int reps)
{
	static const uint8_t key[32] = { 1, 2, 3 };
	static uint8_t nonce[12] = { 4 }, in[2048], out[2048], ks[2200], tag[16];
	enum { ITERS = 20000 };
	double v[15];
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = clock_mono_ns();
		for (int i = 0; i < ITERS; i++) {
			nonce[11] = (uint8_t)i;
			switch (what) {
			case OSSL_AEAD:
				(void)crypto_aead_seal(cx, nonce, in, 8, in, len, out, tag);
				break;
			case OSSL_KS:
				(void)crypto_keystream(cx, nonce, ks, len);
				break;
			case NA_AEAD:
				crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag, NULL, in, len, in, 8, NULL, nonce, key);
				break;
			case NA_KS:
				crypto_stream_chacha20_ietf(ks, CRYPTO_KS_HEAD + len, nonce, key);
				break;
			case NA_POLY: {
				crypto_onetimeauth_poly1305_state st;
				crypto_onetimeauth_poly1305_init(&st, ks);
				crypto_onetimeauth_poly1305_update(&st, in, 8);
				crypto_onetimeauth_poly1305_update(&st, out, len);
				crypto_onetimeauth_poly1305_final(&st, tag);
				break;
			}
			}
		}
		v[r] = (double)(clock_mono_ns() - t0) / ITERS;
	}
	return med(v, reps);
}

int bench_tunnel(const char *routes, const char *tunnel)
{
	struct route_table *rt;
	struct esp_conf *tun;
	struct crypto_aead *cx;
	struct errbuf eb;
	if (route_table_create(&rt) || route_load_file(rt, routes, &eb) || esp_conf_load(tunnel, &tun, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return 1;
	}
	static const uint8_t key[32] = { 1, 2, 3 };
	if (sodium_init() < 0 || crypto_aead_create(key, &cx)) {
		fprintf(stderr, "bench tunnel: the crypto libraries do not start\n");
		return 1;
	}
	uint64_t t0 = clock_mono_ns(), dummy = 0;
	for (int i = 0; i < 1000000; i++)
		dummy += clock_mono_ns();
	double clock_ns = (double)(clock_mono_ns() - t0) / 1e6;
	(void)dummy;
	const char *env = getenv("BENCH_REPS");
	int reps = env ? atoi(env) : 5;
	if (reps < 1 || reps > 15)
		reps = 5;
	static const uint32_t sizes[] = { 64, 512, 1400 };
	printf("tunnel_reps %d\n", reps);
	for (int s = 0; s < 3; s++) {
		uint32_t L = sizes[s];
		double route[15], slow[15], hit[15], ant[15];
		struct run_out o, oh = { 0 }, oa = { 0 };
		for (int r = 0; r < reps; r++) {
			if (run(rt, NULL, ENGINE_BASELINE, L, 0, clock_ns, &o) || (route[r] = o.slow, 0) ||
			    run(rt, tun, ENGINE_BASELINE, L, 0, clock_ns, &o) || (slow[r] = o.slow, 0) ||
			    run(rt, tun, ENGINE_PRECRAFT, L, 0, clock_ns, &oh) || (hit[r] = oh.hit, 0) ||
			    run(rt, tun, ENGINE_PRECRAFT, L, 1, clock_ns, &oa) || (ant[r] = oa.hit, 0))
				return 1;
		}
		uint32_t plain = esp_plain_len(L);
		printf("size_%u_route_ns %.1f\n", L, med(route, reps));
		printf("size_%u_slow_ns %.1f\n", L, med(slow, reps));
		printf("size_%u_hit_ns %.1f\n", L, med(hit, reps));
		printf("size_%u_ant_ns %.1f\n", L, med(ant, reps));
		printf("size_%u_hit_keystream_share %.3f\n", L, (double)oh.keystream / (double)oh.packets);
		printf("size_%u_ant_anticipated_share %.3f\n", L, (double)oa.anticipated / (double)oa.packets);
		printf("size_%u_aead_ns %.1f\n", L, lib_ns(cx, OSSL_AEAD, plain, reps));
		printf("size_%u_ks_ns %.1f\n", L, lib_ns(cx, OSSL_KS, plain, reps));
		printf("size_%u_sodium_aead_ns %.1f\n", L, lib_ns(cx, NA_AEAD, plain, reps));
		printf("size_%u_sodium_ks_ns %.1f\n", L, lib_ns(cx, NA_KS, plain, reps));
		printf("size_%u_sodium_poly_ns %.1f\n", L, lib_ns(cx, NA_POLY, plain, reps));
	}
	crypto_aead_destroy(cx);
	esp_conf_destroy(tun);
	route_table_destroy(rt);
	return 0;
}
