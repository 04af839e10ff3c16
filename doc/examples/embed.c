/* embed: the smallest program that embeds libprecraft.  It pushes a synthetic TCP flow of
 * equal segments through the engine in precraft mode and prints the hit count.  Built and run
 * by tests/integration.sh against an installed copy of the library. */
#include <precraft/precraft.h>
#include <stdio.h>
#include <string.h>

static unsigned sent;

static void tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
	       uint32_t wirelen, uint64_t t_ns)
{
	(void)arg, (void)hdr, (void)hdr_len, (void)payload, (void)payload_len, (void)wirelen, (void)t_ns;
	sent++;
}

int main(void)
{
	struct route_table *rt;
	if (route_table_create(&rt))
		return 1;
	const uint8_t any[4] = { 0 };
	struct route_nexthop nh = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 }, .port = 1 };
	if (route_add(rt, 4, any, 0, &nh))
		return 1;
	struct engine_cfg cfg;
	engine_cfg_defaults(&cfg);
	cfg.routes = rt;
	cfg.tx = tx;
	struct engine *eng;
	struct errbuf eb;
	if (engine_create(&cfg, &eng, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return 1;
	}
	/* Ethernet + IPv4 + TCP, 100 bytes of payload; only seq changes between packets. */
	uint8_t f[154] = { 0, 0, 0x5e, 0, 0x53, 0xfe, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
			   0x45, 0, 0, 140, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
			   0x04, 0x00, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10, 0x10, 0x00 };
	for (uint32_t i = 0; i < 10; i++) {
		uint32_t seq = 1 + 100 * i;
		f[38] = (uint8_t)(seq >> 24), f[39] = (uint8_t)(seq >> 16), f[40] = (uint8_t)(seq >> 8), f[41] = (uint8_t)seq;
		engine_process(eng, f, sizeof f, sizeof f, 1, i * 1000u, NULL);
	}
	double hits = -1;
	if (engine_stat(eng, "hits", &hits))
		return 1;
	printf("sent %u hits %.0f\n", sent, hits);
	engine_destroy(eng);
	route_table_destroy(rt);
	return sent == 10 && hits == 9 ? 0 : 1;
}
