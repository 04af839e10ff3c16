/* route: longest-prefix-match route lookup for IPv4 and IPv6, and the route file loader.
 *
 * IPv4 uses a 16-8-8 multibit trie with prefix expansion (as DPDK's DIR-24-8, with a smaller
 * first level): at most three dependent memory reads per lookup whatever the table size, and
 * memory that grows with the prefixes (a full Internet table of about a million prefixes takes
 * some tens of MiB).  Each slot keeps the length of the prefix that filled it, so prefixes can
 * be added in any order.  IPv6 keeps its prefixes in hash sets by length and, once the table is
 * frozen, looks up by binary search on the lengths present, with markers that carry their best
 * matching prefix (Waldvogel et al., SIGCOMM 1997): log2(lengths) probes, memory in proportion
 * to the prefixes.  Before freezing, IPv6 lookups probe every length, longest first.
 *
 * A route resolves to a next hop: the MAC address the shaper rewrites as the destination and an
 * output port number.  Tables are built before a run and read-only during it. */
#ifndef PRECRAFT_ROUTE_H
#define PRECRAFT_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct route_nexthop {
	uint8_t mac[6];
	uint16_t port;
};

#define ROUTE_NONE UINT32_MAX

struct route_table;

int route_table_create(struct route_table **out) WARN_UNUSED;
void route_table_destroy(struct route_table *rt);

/* Adds (or replaces) the route 'prefix'/'len' ('family' 4 or 6; 'prefix' 4 or 16 bytes; bits
 * beyond 'len' are ignored) to next hop 'nh'.  Returns 0, -ERR_INVAL or -ERR_NOMEM. */
int route_add(struct route_table *rt, int family, const uint8_t *prefix, unsigned len,
	      const struct route_nexthop *nh) WARN_UNUSED;

/* Reads a route file: one route a line, `PREFIX/LEN NEXTHOP-MAC [port N]`, '#' comments, blank
 * lines ignored.  On a bad line returns -ERR_FORMAT with "file:line: what" in 'eb'. */
int route_load_file(struct route_table *rt, const char *path, struct errbuf *eb) WARN_UNUSED;

/* Builds the IPv6 search structure after the last route_add (route_load_file does it).
 * Returns 0 or -ERR_NOMEM (the table then keeps answering, more slowly). */
int route_table_freeze(struct route_table *rt) WARN_UNUSED;

/* Longest-prefix match: the next-hop index, or ROUTE_NONE. */
uint32_t route_lookup4(const struct route_table *rt, const uint8_t addr[4]);
uint32_t route_lookup6(const struct route_table *rt, const uint8_t addr[16]);

const struct route_nexthop *route_nexthop(const struct route_table *rt, uint32_t idx);

size_t route_count4(const struct route_table *rt);
size_t route_count6(const struct route_table *rt);
size_t route_bytes(const struct route_table *rt);

/* Parses "aa:bb:cc:dd:ee:ff".  Returns 0 or -ERR_INVAL. */
int route_parse_mac(const char *s, uint8_t mac[6]);

#endif
