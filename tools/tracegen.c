/* tracegen: the captures the benchmarks and the lab replay, made from nothing or from the
 * shipped captures, the same on every machine.
 *
 *   tracegen mktrace OUT N CAPTURE...  concatenate Ethernet captures, again and again, into a
 *                                   pcap of at least N packets (timestamps kept increasing)
 *   tracegen floodtrace RANDOM COLLIDE N [keyed]  two captures of N one-way UDP flows, two
 *                                   packets each: random flows, and flows chosen offline to
 *                                   share the low 16 bits of the unkeyed hash precraft used
 *                                   before it was keyed (the hash-flooding attack of issue
 *                                   10), or with 'keyed' of the keyed hash under seed 0
 *   tracegen frames OUT SIZE FLOWS N   RFC 2544's test stream: N Ethernet IPv4 UDP frames of
 *                                   SIZE bytes on the wire (frame check sequence included, so
 *                                   SIZE - 4 captured), FLOWS flows in turn, addresses in the
 *                                   lab sink's 198.18.0.0/15 (hil/lab rfc2544)
 *
 * Exit: 0 written, 1 a capture could not be read or written, 2 bad usage. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csum.h"
#include "core/flow.h"
#include "core/pkt.h"
#include "sim/rng.h"
#include "traces/trace.h"

static int mktrace(const char *out, uint64_t want, int n, char **files)
{
	struct trace_writer *w;
	struct errbuf eb;
	if (trace_writer_open(out, 1, &w, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return 1;
	}
	uint64_t written = 0, base = 0, last = 0;
	while (written < want) {
		uint64_t before = written;
		for (int i = 0; i < n && written < want; i++) {
			struct trace *t;
			if (trace_open(files[i], &t, &eb)) {
				fprintf(stderr, "%s\n", eb.msg);
				return 1;
			}
			if (trace_linktype(t) != 1) {
				trace_close(t);
				continue;
			}
			struct trace_rec r;
			uint64_t first = 0;
			bool have_first = false;
			while (written < want && trace_next(t, &r, &eb) == 1) {
				if (!have_first) {
					first = r.t_ns;
					have_first = true;
				}
				/* Each copy starts 1 ms after the previous packet; gaps inside kept. */
				uint64_t ts = base + (r.t_ns >= first ? r.t_ns - first : 0);
				if (ts < last)
					ts = last;
				last = ts;
				trace_writer_put(w, r.data, r.caplen, r.wirelen, ts);
				written++;
			}
			trace_close(t);
			base = last + 1000000;
		}
		if (written == before) {
			fprintf(stderr, "tracegen: no Ethernet packets in the captures given\n");
			return 1;
		}
	}
	printf("packets %llu\n", (unsigned long long)written);
	return trace_writer_close(w, &eb) ? 1 : 0;
}

/* The flow hash of precraft before issue 10: unkeyed multiply-xorshift over the key's five
 * words, "keyed" by xoring the public seed in, as an attacker computes it offline, one word
 * at a time (the words that do not change are mixed once). */
static inline uint64_t old_mix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0xff51afd7ed558ccdull;
	return h ^ h >> 32;
}

/* An Ethernet IPv4 UDP frame 11.x.y.z:sport -> 10.2.0.1:53 with 18 payload bytes. */
static size_t flood_frame(uint8_t *f, uint32_t src, uint16_t sport)
{
	static const uint8_t head[14] = { 0, 0, 0x5e, 0, 0x53, 9, 0x02, 0, 0, 0, 0, 1, 0x08, 0 };
	memset(f, 0, 60);
	memcpy(f, head, 14);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	ip[3] = 20 + 8 + 18;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 11, ip[13] = (uint8_t)(src >> 16), ip[14] = (uint8_t)(src >> 8), ip[15] = (uint8_t)src;
	ip[16] = 10, ip[17] = 2, ip[18] = 0, ip[19] = 1;
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8), ip[11] = (uint8_t)~sum;
	uint8_t *u = ip + 20;
	u[0] = (uint8_t)(sport >> 8), u[1] = (uint8_t)sport, u[2] = 0, u[3] = 53, u[5] = 8 + 18;
	return 14 + 20 + 8 + 18;
}

static int floodtrace(const char *random_path, const char *collide_path, uint32_t n, bool keyed)
{
	/* keyed: collisions of today's keyed hash under replay's default seed (0), for an
	 * attacker who knows the seed: what the chain bound must absorb. */
	struct flow_hash_key hk;
	flow_hash_key_init(&hk, 0);
	struct trace_writer *tw[2];
	struct errbuf eb;
	if (trace_writer_open(random_path, 1, &tw[0], &eb) || trace_writer_open(collide_path, 1, &tw[1], &eb)) {
		fprintf(stderr, "tracegen: %s\n", eb.msg);
		return 1;
	}
	uint32_t *src[2], *port[2];
	for (int k = 0; k < 2; k++) {
		src[k] = malloc(n * sizeof *src[k]);
		port[k] = malloc(n * sizeof *port[k]);
		if (!src[k] || !port[k])
			return 1;
	}
	struct rng *r;
	if (rng_create(7, 1, 0, &r))
		return 1;
	/* The key as flow_key_from_pkt builds it (endpoint a = 10.2.0.1, the lower address),
	 * checked against it once below. */
	struct flow_key k;
	memset(&k, 0, sizeof k);
	k.a[0] = 10, k.a[1] = 2, k.a[3] = 1;
	k.b[0] = 11;
	k.pa = 53;
	k.proto = 17;
	k.family = 4;
	uint32_t found = 0, target = 0x5eed;
	uint64_t tried = 0;
	for (uint32_t i = 0; i < n; i++) {
		src[0][i] = rng_below(r, 0x1000000u);
		port[0][i] = 1024 + rng_below(r, 64000);
	}
	uint64_t w[5];
	for (uint32_t s = 0; found < n && s < 0x1000000u; s++) {
		k.b[1] = (uint8_t)(s >> 16), k.b[2] = (uint8_t)(s >> 8), k.b[3] = (uint8_t)s;
		memcpy(w, &k, sizeof w);
		uint64_t h3 = old_mix(old_mix(old_mix(0x9e3779b97f4a7c15ull ^ 0, w[0]), w[1]), w[2]); /* replay's seed, 0 */
		h3 = old_mix(h3, w[3]);
		for (uint32_t p = 1024; p < 65536 && found < n; p++, tried++) {
			k.pb = (uint16_t)p;
			memcpy(&w[4], (const uint8_t *)&k + 32, 8);
			uint32_t h = keyed ? flow_key_hash(&k, &hk) : (uint32_t)old_mix(h3, w[4]);
			if ((h & 0xffff) == target) {
				src[1][found] = s;
				port[1][found++] = p;
			}
		}
	}
	uint8_t f[64];
	struct pkt pk;
	struct flow_key chk;
	bool sa;
	size_t len = flood_frame(f, src[1][0], (uint16_t)port[1][0]);
	k.b[1] = (uint8_t)(src[1][0] >> 16), k.b[2] = (uint8_t)(src[1][0] >> 8), k.b[3] = (uint8_t)src[1][0];
	k.pb = (uint16_t)port[1][0];
	if (pkt_parse(f, (uint32_t)len, (uint32_t)len, 1, &pk) || !flow_key_from_pkt(&pk, &chk, &sa) ||
	    memcmp(&chk, &k, sizeof k) != 0) {
		fprintf(stderr, "tracegen: the flood's keys are not the engine's keys\n");
		return 1;
	}
	uint64_t t = 1700000000ull * 1000000000ull;
	for (int kind = 0; kind < 2; kind++)
		for (int pass = 0; pass < 2; pass++)
			for (uint32_t i = 0; i < n; i++) {
				len = flood_frame(f, src[kind][i], (uint16_t)port[kind][i]);
				trace_writer_put(tw[kind], f, (uint32_t)len, (uint32_t)len, t += 1000);
			}
	int rc = trace_writer_close(tw[0], &eb) || trace_writer_close(tw[1], &eb);
	printf("flows %u\ncolliding %u\ntried %llu\n", n, found, (unsigned long long)tried);
	for (int kk = 0; kk < 2; kk++) {
		free(src[kk]);
		free(port[kk]);
	}
	rng_destroy(r);
	return rc;
}

/* RFC 2544's frames (§9: UDP over IPv4, sizes with the FCS): flow f is 198.18.0.1:(1024 + f) ->
 * 198.19.0.1:7 (the discard port), IP identification counting, UDP checksum set. */
static int frames(const char *out, uint32_t size, uint32_t flows, uint64_t n)
{
	uint32_t len = size - 4; /* captured without the FCS */
	if (size < 64 || size > 1518 || !flows || flows > 60000) {
		fprintf(stderr, "tracegen frames: SIZE 64..1518, FLOWS 1..60000\n");
		return 2;
	}
	struct trace_writer *w;
	struct errbuf eb;
	if (trace_writer_open(out, 1, &w, &eb)) {
		fprintf(stderr, "tracegen: %s\n", eb.msg);
		return 1;
	}
	uint8_t f[1518];
	uint64_t t = 1700000000ull * 1000000000ull;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t fl = (uint32_t)(i % flows);
		static const uint8_t head[14] = { 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0 };
		memset(f, 0, len);
		memcpy(f, head, 14);
		uint8_t *ip = f + 14, *u = ip + 20;
		uint32_t ip_len = len - 14, udp_len = ip_len - 20;
		ip[0] = 0x45;
		ip[2] = (uint8_t)(ip_len >> 8), ip[3] = (uint8_t)ip_len;
		ip[4] = (uint8_t)(i / flows >> 8), ip[5] = (uint8_t)(i / flows);
		ip[8] = 64;
		ip[9] = 17;
		ip[12] = 198, ip[13] = 18, ip[14] = 0, ip[15] = 1;
		ip[16] = 198, ip[17] = 19, ip[18] = 0, ip[19] = 1;
		uint16_t ic = csum_fold(csum_partial(ip, 20, 0));
		ip[10] = (uint8_t)(ic >> 8), ip[11] = (uint8_t)ic;
		uint16_t sport = (uint16_t)(1024 + fl);
		u[0] = (uint8_t)(sport >> 8), u[1] = (uint8_t)sport, u[3] = 7;
		u[4] = (uint8_t)(udp_len >> 8), u[5] = (uint8_t)udp_len;
		for (uint32_t k = 8; k < udp_len; k++)
			u[k] = (uint8_t)k;
		uint32_t ps = csum_partial(ip + 12, 8, 0) + 17u + udp_len;
		uint16_t uc = csum_fold(csum_partial(u, udp_len, ps));
		if (!uc)
			uc = 0xffff; /* RFC 768: a computed zero is sent as all ones */
		u[6] = (uint8_t)(uc >> 8), u[7] = (uint8_t)uc;
		trace_writer_put(w, f, len, len, t += 1000);
	}
	return trace_writer_close(w, &eb) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "floodtrace") == 0)
		return floodtrace(argv[2], argv[3], (uint32_t)strtoul(argv[4], NULL, 10), argc == 6 && strcmp(argv[5], "keyed") == 0);
	if (argc >= 5 && strcmp(argv[1], "mktrace") == 0)
		return mktrace(argv[2], strtoull(argv[3], NULL, 10), argc - 4, argv + 4);
	if (argc == 6 && strcmp(argv[1], "frames") == 0)
		return frames(argv[2], (uint32_t)strtoul(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10),
			      strtoull(argv[5], NULL, 10));
	fprintf(stderr, "usage: tracegen mktrace OUT N CAPTURE... | floodtrace RANDOM COLLIDE N [keyed] | frames OUT SIZE FLOWS N\n");
	return 2;
}
