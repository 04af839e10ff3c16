/* engine_testlib: what the engine's test files share: egress collected in memory, and a route
 * table with a default route or not. */
#ifndef PRECRAFT_ENGINE_TESTLIB_H
#define PRECRAFT_ENGINE_TESTLIB_H

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

/* Egress collected in memory. */
struct capture {
	uint8_t *buf;
	size_t len, cap;
	unsigned n;
};

static inline void cap_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload,
		   uint32_t payload_len, uint32_t wirelen, uint64_t t_ns)
{
	struct capture *c = arg;
	(void)t_ns;
	uint32_t caplen = hdr_len + payload_len;
	size_t need = c->len + caplen + 8;
	if (need > c->cap) {
		c->cap = need * 2;
		c->buf = realloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, &caplen, 4);
	memcpy(c->buf + c->len + 4, &wirelen, 4);
	memcpy(c->buf + c->len + 8, hdr, hdr_len);
	if (payload_len)
		memcpy(c->buf + c->len + 8 + hdr_len, payload, payload_len);
	c->len = need;
	c->n++;
}

static inline struct route_table *routes(bool with_default)
{
	struct route_table *rt = NULL;
	CU_ASSERT_FATAL(route_table_create(&rt) == 0);
	struct route_nexthop a = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 }, .port = 1 };
	struct route_nexthop b = { .mac = { 0, 0, 0x5e, 0, 0x53, 2 }, .port = 2 };
	const uint8_t any[16] = { 0 }, ten[4] = { 10, 0, 0, 0 };
	if (with_default) {
		CU_ASSERT(route_add(rt, 4, any, 0, &a) == 0);
		CU_ASSERT(route_add(rt, 6, any, 0, &a) == 0);
	}
	CU_ASSERT(route_add(rt, 4, ten, 8, &b) == 0);
	return rt;
}

#endif
