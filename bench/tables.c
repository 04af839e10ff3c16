/* tables: the flow table's and the route table's lookups timed (bench flows, routes, routefile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/clock_mono.h"
#include "core/engine_stats.h"
#include "core/flow.h"
#include "core/route.h"

/* xorshift64*: a fixed, fast generator so that runs are repeatable. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
uint64_t bench_rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

int bench_flows(size_t n)
{
	struct flow_table_cfg c = { .capacity = n, .user_size = 0 };
	/* The engine's user area per flow: its own state and the `last` predictor's. */
	struct engine_cfg ec;
	engine_cfg_defaults(&ec);
	struct flow_table *ft;
	struct route_table *rt;
	if (route_table_create(&rt))
		return 1;
	ec.routes = rt;
	ec.flow_capacity = n;
	struct engine *e;
	if (engine_create(&ec, &e, NULL))
		return 1;
	struct engine_stats st;
	engine_get_stats(e, &st);
	engine_destroy(e);
	printf("flow_table_bytes_per_flow %.1f\n", (double)st.flow_table_bytes / (double)n);

	if (flow_table_create(&c, &ft))
		return 1;
	struct flow_key *keys = malloc(n * sizeof *keys);
	for (size_t i = 0; i < n; i++) {
		memset(&keys[i], 0, sizeof keys[i]);
		uint64_t r = bench_rnd();
		memcpy(keys[i].a, &r, 4);
		memcpy(keys[i].b, (uint8_t *)&r + 4, 4);
		keys[i].pa = (uint16_t)bench_rnd();
		keys[i].pb = 443;
		keys[i].proto = 6;
		keys[i].family = 4;
		bool created;
		flow_table_get(ft, &keys[i], flow_key_hash(&keys[i], NULL), true, i, &created);
	}
	size_t q = 10000000;
	uint64_t t0 = clock_mono_ns(), found = 0;
	for (size_t i = 0; i < q; i++) {
		const struct flow_key *k = &keys[bench_rnd() % n];
		bool created;
		found += !flow_table_get(ft, k, flow_key_hash(k, NULL), true, n + i, &created)->in_use ? 0 : !created;
	}
	double s = (double)(clock_mono_ns() - t0) / 1e9;
	printf("flows_resident %zu\n", flow_table_count(ft));
	printf("flow_lookups_per_s %.0f\n", (double)q / s);
	printf("flow_lookups_found %llu\n", (unsigned long long)found);
	free(keys);
	flow_table_destroy(ft);
	route_table_destroy(rt);
	return 0;
}

int bench_add_random_routes(struct route_table *rt, size_t n4, size_t n6)
{
	struct route_nexthop nh = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 } };
	for (size_t i = 0; i < n4; i++) {
		/* A full-table-like length mix: most /24, the rest /8../32. */
		unsigned r = (unsigned)(bench_rnd() % 100);
		unsigned len = r < 60 ? 24 : r < 75 ? 16 + (unsigned)(bench_rnd() % 8) : r < 95 ? 19 + (unsigned)(bench_rnd() % 5) : 8 + (unsigned)(bench_rnd() % 25);
		uint32_t a = (uint32_t)bench_rnd();
		uint8_t p[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a };
		nh.port = (uint16_t)(i % 64);
		if (route_add(rt, 4, p, len, &nh))
			return 1;
	}
	for (size_t i = 0; i < n6; i++) {
		unsigned r = (unsigned)(bench_rnd() % 100);
		unsigned len = r < 50 ? 48 : r < 80 ? 32 + (unsigned)(bench_rnd() % 16) : 20 + (unsigned)(bench_rnd() % 44);
		uint8_t p[16] = { 0x20, (uint8_t)(bench_rnd() % 16) };
		uint64_t x = bench_rnd();
		memcpy(p + 2, &x, 8);
		nh.port = (uint16_t)(i % 64);
		if (route_add(rt, 6, p, len, &nh))
			return 1;
	}
	return route_table_freeze(rt) ? 1 : 0;
}

int bench_routes(size_t n4, size_t n6)
{
	struct route_table *rt;
	if (route_table_create(&rt))
		return 1;
	uint64_t t0 = clock_mono_ns();
	if (bench_add_random_routes(rt, n4, n6))
		return 1;
	double build = (double)(clock_mono_ns() - t0) / 1e9;
	size_t q = 20000000;
	uint32_t *addrs = malloc(q * sizeof *addrs);
	for (size_t i = 0; i < q; i++)
		addrs[i] = (uint32_t)bench_rnd();
	uint64_t acc = 0;
	t0 = clock_mono_ns();
	for (size_t i = 0; i < q; i++) {
		uint8_t a[4] = { (uint8_t)(addrs[i] >> 24), (uint8_t)(addrs[i] >> 16), (uint8_t)(addrs[i] >> 8), (uint8_t)addrs[i] };
		acc += route_lookup4(rt, a);
	}
	double s4 = (double)(clock_mono_ns() - t0) / 1e9;
	size_t q6 = 2000000;
	t0 = clock_mono_ns();
	for (size_t i = 0; i < q6; i++) {
		uint8_t a[16] = { 0x20, (uint8_t)(bench_rnd() % 16) };
		uint64_t x = bench_rnd();
		memcpy(a + 2, &x, 8);
		acc += route_lookup6(rt, a);
	}
	double s6 = (double)(clock_mono_ns() - t0) / 1e9;
	printf("routes_v4 %zu\nroutes_v6 %zu\n", route_count4(rt), route_count6(rt));
	printf("route_table_mib %.1f\n", (double)route_bytes(rt) / 1048576.0);
	printf("route_build_s %.2f\n", build);
	printf("route4_lookups_per_s %.0f\n", (double)q / s4);
	printf("route6_lookups_per_s %.0f\n", (double)q6 / s6);
	printf("route_checksum %llu\n", (unsigned long long)(acc & 0xffff));
	free(addrs);
	route_table_destroy(rt);
	return 0;
}

/* A route file read into a table, as a run does (route_load_file), timed: the median of 3. */
int bench_route_file(const char *path)
{
	double t[3];
	size_t nh = 0;
	for (int i = 0; i < 3; i++) {
		struct route_table *rt;
		struct errbuf eb = { "" };
		if (route_table_create(&rt))
			return 1;
		uint64_t t0 = clock_mono_ns();
		int rc = route_load_file(rt, path, &eb);
		t[i] = (double)(clock_mono_ns() - t0) / 1e9;
		nh = route_bytes(rt);
		route_table_destroy(rt);
		if (rc) {
			fprintf(stderr, "%s\n", eb.msg);
			return 1;
		}
	}
	double lo = 0, hi = 0, med = bench_median_spread(t, 3, &lo, &hi);
	printf("route_file_load_s %.4f\nroute_file_load_s_min %.4f\nroute_file_load_s_max %.4f\nroute_table_mib %.1f\n", med,
	       lo, hi, (double)nh / 1048576.0);
	return 0;
}

