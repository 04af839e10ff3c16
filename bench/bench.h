/* bench: what the benchmark's files share (bench.c: main, the engine, the scheduler, the
 * predictors, stalls; tables.c: the flow and route tables; tunnel.c, tunnel_layer.c: the VPN
 * gateway). */
#ifndef PRECRAFT_BENCH_H
#define PRECRAFT_BENCH_H

#include <stddef.h>
#include <stdint.h>

struct route_table;

/* xorshift64*: a fixed, fast generator so that runs are repeatable. */
uint64_t bench_rnd(void);
/* Adds n4 IPv4 and n6 IPv6 random prefixes of realistic lengths (a routing table's mix). */
int bench_add_random_routes(struct route_table *rt, size_t n4, size_t n6);

/* The median of the n values at v (sorted in place: the mean of the two middle ones when n is
 * even), with their minimum and maximum: the one median of the benchmarks. */
double bench_median_spread(double *v, size_t n, double *lo, double *hi);

int bench_flows(size_t n);
int bench_routes(size_t n4, size_t n6);
int bench_route_file(const char *path);
/* Header compression's cost per packet beside routing's (compress.c). */
int bench_compress(const char *trace, const char *routes, const char *model);
int bench_tunnel(const char *routes, const char *tunnel, const char *local1, const char *local2);
/* Packet k of the tunnel's workload (Ethernet, IPv4, UDP; checksums right): FLOWS flows in turn
 * whose payload starts with a counter, or one flow with a constant payload ('one_flow'). */
uint32_t bench_tunnel_frame(uint8_t *f, uint32_t ip_len, unsigned k, int one_flow);
struct esp_conf;
/* The tunnel's calls alone at one size, and the libraries' (tunnel_layer.c). */
int bench_tunnel_layer(const struct esp_conf *c, uint32_t len, int reps, double clock_ns);

#endif
