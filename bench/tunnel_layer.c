/* bench tunnel, the layer (bench/tunnel.c runs it after each size): the tunnel's own calls alone,
 * without the engine, and the libraries' one-shot AEADs beside them, at the inner size 'len' of
 * SA 0 of the tunnel (its framing and cipher):
 *   seal_oneshot_ns, seal_ks_ns, seal_ant_ns   esp_seal with nothing made ahead, with the
 *                                              number's keystream made, with the packet sealed
 *   open_oneshot_ns, open_ks_ns, open_ant_ns   esp_open likewise
 *   lib_ossl_ns, lib_sodium_ns                 OpenSSL's one-shot seal of the same plaintext
 *                                              (through core/crypto.c) and libsodium's (for
 *                                              AES-GCM only where the CPU has AES-NI; else -1)
 *   ks_ns, poly_ns                             ChaCha20's keystream and the Poly1305 MAC alone
 * The work made ahead is made untimed before each timed call; each figure is the median of
 * 'reps' means of ITERS calls, the clock's own cost taken off. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "core/clock_mono.h"
#include "core/crypto.h"
#include "core/esp.h"
#include "core/route.h"

enum { ITERS = 4000 };
enum way { ONESHOT, KEYSTREAM, ANTICIPATED };

static double med(double *v, int n)
{
	double lo, hi;
	return bench_median_spread(v, (size_t)n, &lo, &hi);
}

/* A tunnel of the configuration's SAs, rings 8 deep, every destination routed. */
static struct esp_tunnel *tunnel(const struct esp_conf *c, struct route_table *rt)
{
	static const uint8_t mac[6] = { 2 };
	struct esp_tunnel *t = NULL;
	return esp_tunnel_create(c, rt, mac, 8, 2048, &t) ? NULL : t;
}

/* ns per esp_seal of the inner packet 'in' ('len' bytes) with 'way' made ahead. */
static double seal_ns(struct esp_tunnel *t, const uint8_t *in, uint32_t len, enum way way, double clock_ns)
{
	uint64_t sum = 0;
	for (int i = 0; i < ITERS; i++) {
		uint32_t gen, fl;
		const uint8_t *f;
		enum esp_how how;
		bool d;
		if (way == KEYSTREAM)
			(void)esp_ring_fill(t, 0, 1, 1, esp_plain_len(t, 0, len), 0, &gen);
		else if (way == ANTICIPATED)
			(void)esp_anticipate(t, 0, in, len, 0, &gen);
		uint64_t a = clock_mono_ns();
		(void)esp_seal(t, 0, in, len, NULL, 0, len, 0, false, &f, &fl, &how, &d);
		sum += clock_mono_ns() - a;
	}
	return (double)sum / ITERS - clock_ns;
}

/* ns per esp_open at 'rx' of what 'tx' seals of 'in', with 'way' made ahead at 'rx'. */
static double open_ns(struct esp_tunnel *tx, struct esp_tunnel *rx, const struct esp_sa_conf *sa, const uint8_t *in,
		      uint32_t len, enum way way, double clock_ns)
{
	uint64_t sum = 0;
	static uint8_t msg[70000];
	uint32_t skip = 14u + (sa->family == 4 ? 20u : 40u) + (sa->kind == ESP_KIND_WG ? 8u : 0u);
	for (int i = 0; i < ITERS; i++) {
		uint32_t gen, fl;
		const uint8_t *f;
		enum esp_how how;
		bool d;
		if (esp_seal(tx, 0, in, len, NULL, 0, len, 0, false, &f, &fl, &how, &d) != ESP_OK)
			return -1;
		memcpy(msg, f + skip, fl - skip);
		if (way == KEYSTREAM)
			(void)esp_ring_fill(rx, 0, 1, 1, esp_plain_len(rx, 0, len), 0, &gen);
		else if (way == ANTICIPATED)
			(void)esp_anticipate(rx, 0, in, len, 0, &gen);
		struct esp_opened o;
		uint64_t a = clock_mono_ns();
		enum esp_open_verdict v = esp_open(rx, sa->kind, sa->family, sa->dst, msg, fl - skip, 0, false, &o);
		sum += clock_mono_ns() - a;
		if (v != ESP_OPENED || o.how != (way == ONESHOT ? ESP_ONESHOT : way == KEYSTREAM ? ESP_KEYSTREAM : ESP_ANTICIPATED))
			return -1; /* the way asked for did not serve: the figure would be another's */
	}
	return (double)sum / ITERS - clock_ns;
}

/* ns per one-shot seal of 'plain' bytes by OpenSSL (through core/crypto.c), by libsodium, or
 * ChaCha20's keystream and Poly1305 alone. */
enum lib { OSSL, SODIUM, KS, POLY };

static double lib_ns(const struct esp_sa_conf *sa, enum lib what, uint32_t plain)
{
	static uint8_t in[70000], out[70000], ks[70100], tag[16];
	uint8_t nonce[12] = { 4 };
	bool gcm = sa->kind == ESP_KIND_ESP && sa->cipher == ESP_AES_256_GCM;
	if (what == SODIUM && gcm && !crypto_aead_aes256gcm_is_available())
		return -1;
	if ((what == KS || what == POLY) && gcm)
		return -1;
	struct crypto_aead *cx;
	if (crypto_aead_create(gcm ? CRYPTO_AES_256_GCM : CRYPTO_CHACHA20_POLY1305, sa->key, &cx))
		return -1;
	uint64_t a = clock_mono_ns();
	for (int i = 0; i < ITERS; i++) {
		nonce[11] = (uint8_t)i;
		unsigned long long tl;
		if (what == OSSL)
			(void)crypto_aead_seal(cx, nonce, in, 8, in, plain, out, tag);
		else if (what == SODIUM && gcm)
			crypto_aead_aes256gcm_encrypt_detached(out, tag, &tl, in, plain, in, 8, NULL, nonce, sa->key);
		else if (what == SODIUM)
			crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag, &tl, in, plain, in, 8, NULL, nonce, sa->key);
		else if (what == KS)
			(void)crypto_keystream(cx, nonce, ks, plain);
		else
			crypto_mac_keystream(ks, in, 8, out, plain, tag);
	}
	double ns = (double)(clock_mono_ns() - a) / ITERS;
	crypto_aead_destroy(cx);
	return ns;
}

int bench_tunnel_layer(const struct esp_conf *c, uint32_t len, int reps, double clock_ns)
{
	struct route_table *rt;
	static const uint8_t any[16];
	struct route_nexthop nh = { .mac = { 2, 0, 0, 0, 0, 1 }, .port = 1 };
	if (route_table_create(&rt) || route_add(rt, 4, any, 0, &nh) || route_add(rt, 6, any, 0, &nh) ||
	    route_table_freeze(rt) || sodium_init() < 0)
		return -1;
	const struct esp_sa_conf *sa = esp_conf_sa(c, 0);
	static uint8_t f[2048];
	uint32_t n = bench_tunnel_frame(f, len, 7, 1);
	const uint8_t *in = f + 14;
	(void)n;
	static const char *const name[3] = { "oneshot", "ks", "ant" };
	for (int w = 0; w < 3; w++) {
		double vs[15], vo[15];
		for (int r = 0; r < reps; r++) {
			struct esp_tunnel *a = tunnel(c, rt), *b = tunnel(c, rt), *d = tunnel(c, rt);
			if (!a || !b || !d)
				return -1;
			/* AES-GCM makes no keystream: its 'ks' figures are its one-shot's. */
			enum way way = w == KEYSTREAM && sa->kind == ESP_KIND_ESP && sa->cipher == ESP_AES_256_GCM ? ONESHOT
														   : (enum way)w;
			vs[r] = seal_ns(a, in, len, way, clock_ns);
			vo[r] = open_ns(b, d, sa, in, len, way, clock_ns);
			esp_tunnel_destroy(a);
			esp_tunnel_destroy(b);
			esp_tunnel_destroy(d);
			if (vo[r] < 0) {
				fprintf(stderr, "bench tunnel: opening %s at %u B did not go the way measured\n", name[w], len);
				return -1;
			}
		}
		printf("size_%u_seal_%s_ns %.1f\n", len, name[w], med(vs, reps));
		printf("size_%u_open_%s_ns %.1f\n", len, name[w], med(vo, reps));
	}
	struct esp_tunnel *t = tunnel(c, rt);
	uint32_t plain = t ? esp_plain_len(t, 0, len) : len;
	esp_tunnel_destroy(t);
	static const char *const lname[4] = { "lib_ossl", "lib_sodium", "ks", "poly" };
	for (int k = 0; k < 4; k++) {
		double v[15];
		for (int r = 0; r < reps; r++)
			v[r] = lib_ns(sa, (enum lib)k, plain);
		printf("size_%u_%s_ns %.1f\n", len, lname[k], med(v, reps));
	}
	route_table_destroy(rt);
	return 0;
}
