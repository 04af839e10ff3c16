/* engine_diff: the engine differentially.  The input is a few configuration bytes and a
 * sequence of frames; the same frames go through a baseline, a precraft and a shadow engine
 * of the same configuration.  Required: the three egress streams are byte-identical, shadow
 * counts no divergence, and every engine accounts for every packet (in = out + drops).
 *
 * Input: byte 0 the predictor, 1 the policy, 2 flags (1 --snat, 2 a 16-flow table, 4 IPv4 raw
 * frames instead of Ethernet, 8 an ESP tunnel over 10/8 and fd00::/8 with short keystreams, so
 * that rings, extension at sealing and anticipation all run; 16 the same tunnel's receiving
 * gateway, with a WireGuard SA beside the ESP ones: the engines open), then records of
 * [op][length, 2 bytes][wire-length delta] and the frame.  op & 1: the frame is the previous one
 * with the record's bytes XORed over its start (a flow's next packet: what predictors learn from;
 * a sealed packet tampered with).  With flag 16, op & 0x80: the record's bytes are an inner IP
 * packet that the harness seals first, into SA (op >> 5 & 3) % 3 of the sending gateway, so that
 * authentic messages reach the receiving side (and, XORed by the next record, tampered ones). */
#include <string.h>

#include "core/engine_stats.h"
#include "core/engine.h"
#include "core/esp.h"
#include "core/route.h"
#include "fuzz.h"
#include "models/registry.h"

struct sink {
	uint64_t hash, n, bytes;
};

static void sink_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		    uint32_t wirelen, uint64_t t_ns)
{
	(void)t_ns;
	struct sink *s = arg;
	FUZZ_REQUIRE(hdr_len > 0 && (uint64_t)hdr_len + payload_len <= wirelen);
	uint64_t h = s->hash ^ wirelen;
	for (uint32_t i = 0; i < hdr_len; i++)
		h = (h ^ hdr[i]) * 0x100000001b3ull;
	for (uint32_t i = 0; i < payload_len; i++)
		h = (h ^ payload[i]) * 0x100000001b3ull;
	s->hash = (h ^ hdr_len) * 0x100000001b3ull;
	s->n++;
	s->bytes += hdr_len + payload_len;
}

static struct route_table *rt;

static void routes_once(void)
{
	if (rt)
		return;
	FUZZ_REQUIRE(route_table_create(&rt) == 0);
	struct route_nexthop a = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 }, .port = 1 },
			     b = { .mac = { 0, 0, 0x5e, 0, 0x53, 2 }, .port = 2 };
	const uint8_t any[16] = { 0 }, ten[4] = { 10, 0, 0, 0 }, fd[16] = { 0xfd };
	FUZZ_REQUIRE(route_add(rt, 4, any, 1, &a) == 0); /* 0/1: half the addresses have no route */
	FUZZ_REQUIRE(route_add(rt, 4, ten, 8, &b) == 0);
	FUZZ_REQUIRE(route_add(rt, 6, fd, 8, &b) == 0);
	FUZZ_REQUIRE(route_add(rt, 6, any, 1, &a) == 0);
	FUZZ_REQUIRE(route_table_freeze(rt) == 0);
}

static struct esp_conf *tunnel;

static void tunnel_once(void)
{
	if (tunnel)
		return;
	static const char text[] =
		"esp a spi 0x1001 src 192.0.2.1 dst 10.9.9.9 key 01b8d19504d297fadb8264eab4480c732814e4cc86ce1fcbee560ad796588a77 salt 27a94be4 match 10.0.0.0/8\n"
		"esp b spi 0x1002 src 2001:db8::1 dst fd00::9 key 7c60fb0536825110cd59705c6a453de75c54814c9274924e6d2a0974f8258309 salt 3e57cc89 match fd00::/8 oseq 4294967200\n";
	struct errbuf eb;
	FUZZ_REQUIRE(esp_conf_load(fuzz_file((const uint8_t *)text, sizeof text - 1, ""), &tunnel, &eb) == 0);
	fuzz_file_close();
}

/* The receiving gateway's tunnel (flag 16), and the sending gateway's, which seals the records
 * that ask for it. */
static struct esp_conf *tun_in, *tun_out;
static struct esp_tunnel *sealer;

static void receiving_once(void)
{
	if (tun_in)
		return;
	static const char text[] =
		"esp a spi 0x1001 src 192.0.2.1 dst 10.9.9.9 key 01b8d19504d297fadb8264eab4480c732814e4cc86ce1fcbee560ad796588a77 salt 27a94be4 match 10.0.0.0/8 replay 32\n"
		"esp b spi 0x1002 src 2001:db8::1 dst fd00::9 key 7c60fb0536825110cd59705c6a453de75c54814c9274924e6d2a0974f8258309 salt 3e57cc89 match fd00::/8 oseq 4294967200 cipher aes-256-gcm\n"
		"wg c index 0x1001 src 192.0.2.1 dst 10.9.9.9 port 51820 key 5d2e8f3a9c4b7e1f06a3d8c2b5e9f4a17c3e6b0d9f2a5c8e1b4d7f0a3c6e9b2d match 10.64.0.0/10 slices 2\n";
	struct errbuf eb;
	for (int k = 0; k < 2; k++) {
		struct esp_conf **c = k ? &tun_out : &tun_in;
		FUZZ_REQUIRE(esp_conf_load(fuzz_file((const uint8_t *)text, sizeof text - 1, ""), c, &eb) == 0);
		fuzz_file_close();
		FUZZ_REQUIRE(esp_conf_set_local(*c, k ? "192.0.2.1,2001:db8::1" : "10.9.9.9,fd00::9", "local", &eb) == 0);
	}
	const uint8_t mac[6] = { 2 };
	FUZZ_REQUIRE(esp_tunnel_create(tun_out, rt, mac, 0, 64, &sealer) == 0);
}

/* Seals 'len' bytes at 'in' into SA 'sa' of the sending gateway: the frame in 'out' (without its
 * Ethernet header for a raw link), or 0 when it cannot (too short, numbers used up). */
static uint32_t seal_record(unsigned sa, const uint8_t *in, uint32_t len, int lt, uint8_t *out)
{
	const uint8_t *f;
	uint32_t fl;
	enum esp_how how;
	bool d;
	if (len < 2 || esp_seal(sealer, sa, in, len, NULL, 0, len, 0, false, &f, &fl, &how, &d) != ESP_OK)
		return 0;
	uint32_t skip = lt == PKT_LINK_RAW ? 14 : 0;
	memcpy(out, f + skip, fl - skip);
	return fl - skip;
}

static const char *const predictors[] = { "last", "mode", "markov1", "header" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	routes_once();
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.routes = rt;
	c.predictor = models_find(predictors[data[0] % 4]);
	policy_cfg_kind(&c.policy, (enum policy_kind)(data[1] % 3));
	c.snat = data[2] & 1;
	const uint8_t nat[4] = { 198, 18, 0, 1 };
	memcpy(c.snat_addr, nat, 4);
	c.flow_capacity = data[2] & 2 ? 16 : 1024;
	c.pool_budget = 1u << 20;
	c.pool_large_slots = 1;
	c.pool_poison = 1;
	c.seed = 7;
	if (data[2] & 24) {
		if (data[2] & 16) {
			receiving_once();
			c.tunnel = tun_in;
		} else {
			tunnel_once();
			c.tunnel = tunnel;
		}
		c.ks_depth = 4;
		c.ks_cap = 256;
	}
	int lt = data[2] & 4 ? PKT_LINK_RAW : PKT_LINK_ETH;
	static const enum engine_mode modes[3] = { ENGINE_BASELINE, ENGINE_PRECRAFT, ENGINE_SHADOW };
	struct engine *e[3];
	struct sink sk[3];
	memset(sk, 0, sizeof sk);
	for (int m = 0; m < 3; m++) {
		struct errbuf eb;
		c.mode = modes[m];
		c.tx = sink_tx;
		c.tx_arg = &sk[m];
		FUZZ_REQUIRE(engine_create(&c, &e[m], &eb) == 0);
	}
	static uint8_t prev[65536], cur[65536];
	uint32_t prev_len = 0;
	uint64_t t = 1000;
	size_t off = 3;
	while (off + 4 <= size) {
		uint8_t op = data[off];
		uint32_t len = (uint32_t)(data[off + 1] << 8 | data[off + 2]);
		int8_t d = (int8_t)data[off + 3];
		off += 4;
		if (len > size - off)
			len = (uint32_t)(size - off);
		uint32_t caplen;
		if (op & 1) {
			memcpy(cur, prev, prev_len);
			for (uint32_t i = 0; i < len && i < prev_len; i++)
				cur[i] ^= data[off + i];
			caplen = prev_len;
		} else if ((data[2] & 16) && (op & 0x80) && (caplen = seal_record((op >> 5 & 3) % 3, data + off, len, lt, cur))) {
			/* sealed: an authentic message for the receiving engines */
		} else {
			memcpy(cur, data + off, len);
			caplen = len;
		}
		off += len;
		uint32_t wirelen = d < 0 ? (caplen > (uint32_t)-d ? caplen + (uint32_t)d : 0)
				 : d > 100 ? caplen + (uint32_t)d * 1000u : caplen;
		t += (uint64_t)(op >> 1) * 1000;
		/* An exact-size copy per engine: ASan sees any read past the capture. */
		for (int m = 0; m < 3; m++) {
			uint8_t *f = malloc(caplen ? caplen : 1);
			memcpy(f, cur, caplen);
			engine_process(e[m], f, caplen, wirelen, lt, t, NULL);
			free(f);
		}
		memcpy(prev, cur, caplen);
		prev_len = caplen;
	}
	struct engine_stats st[3];
	for (int m = 0; m < 3; m++) {
		engine_finish(e[m]);
		engine_get_stats(e[m], &st[m]);
		uint64_t drops = 0;
		for (int k = 0; k < ENGINE_DROP__COUNT; k++)
			drops += st[m].dropped[k];
		FUZZ_REQUIRE(st[m].packets_in == st[m].packets_out + drops);
		FUZZ_REQUIRE(st[m].pool_bytes_held == 0);
		engine_destroy(e[m]);
	}
	FUZZ_REQUIRE(sk[0].n == sk[1].n && sk[0].hash == sk[1].hash && sk[0].bytes == sk[1].bytes);
	FUZZ_REQUIRE(sk[0].n == sk[2].n && sk[0].hash == sk[2].hash && sk[0].bytes == sk[2].bytes);
	FUZZ_REQUIRE(st[2].divergent_packets == 0);
	return 0;
}
