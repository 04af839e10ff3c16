/* route_test: longest-prefix match against a brute-force reference, and the file loader. */
#include "route.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ref_route {
	uint8_t addr[16];
	unsigned len;
	uint16_t port;
};

static bool covers(const uint8_t *pfx, unsigned len, const uint8_t *a)
{
	for (unsigned i = 0; i < len; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;
		if (((pfx[byte] >> bit) & 1) != ((a[byte] >> bit) & 1))
			return false;
	}
	return true;
}

/* The longest covering route's port; the latest added wins a tie, as in route_add. */
static int ref_lookup(const struct ref_route *r, int n, const uint8_t *a)
{
	int best = -1;
	for (int i = 0; i < n; i++)
		if (covers(r[i].addr, r[i].len, a) && (best < 0 || r[i].len >= r[best].len))
			best = i;
	return best < 0 ? -1 : r[best].port;
}

static void random_addr(uint8_t *a, int bytes)
{
	for (int i = 0; i < bytes; i++)
		a[i] = (uint8_t)rand();
	if (rand() % 2)
		a[0] = (uint8_t)(rand() % 4); /* crowd a few /8s so that prefixes overlap */
}

static void check_family(int family)
{
	int bytes = family == 4 ? 4 : 16, maxlen = family == 4 ? 32 : 128;
	enum { N = 3000 };
	static struct ref_route r[N];
	struct route_table *rt = NULL;
	CU_ASSERT_EQUAL_FATAL(route_table_create(&rt), 0);
	srand(family);
	for (int i = 0; i < N; i++) {
		memset(r[i].addr, 0, sizeof r[i].addr);
		random_addr(r[i].addr, bytes);
		r[i].len = (unsigned)(i == 0 ? 0 : rand() % (maxlen + 1));
		/* Store the masked prefix, as route_add sees it. */
		for (unsigned b = r[i].len; b < (unsigned)maxlen; b++)
			r[i].addr[b / 8] &= (uint8_t)~(1u << (7 - b % 8));
		r[i].port = (uint16_t)(i + 1);
		struct route_nexthop nh = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 }, .port = r[i].port };
		CU_ASSERT_EQUAL_FATAL(route_add(rt, family, r[i].addr, r[i].len, &nh), 0);
	}
	for (int pass = 0; pass < 2; pass++) {
	if (pass == 1)
		CU_ASSERT_EQUAL_FATAL(route_table_freeze(rt), 0);
	for (int q = 0; q < 15000; q++) {
		uint8_t a[16] = { 0 };
		if (q % 2) { /* near a prefix */
			memcpy(a, r[rand() % N].addr, 16);
			a[bytes - 1] ^= (uint8_t)rand();
		} else {
			random_addr(a, bytes);
		}
		int want = ref_lookup(r, N, a);
		uint32_t got = family == 4 ? route_lookup4(rt, a) : route_lookup6(rt, a);
		int got_port = got == ROUTE_NONE ? -1 : route_nexthop(rt, got)->port;
		if (got_port != want) {
			CU_FAIL(pass ? "frozen lookup differs from the reference" : "lookup differs from the reference");
			break;
		}
	}
	}
	route_table_destroy(rt);
}

static void test_route_ipv4_matches_reference(void)
{
	check_family(4);
}

static void test_route_ipv6_matches_reference(void)
{
	check_family(6);
}

static void test_route_order_does_not_matter(void)
{
	struct route_table *a = NULL, *b = NULL;
	CU_ASSERT_EQUAL_FATAL(route_table_create(&a), 0);
	CU_ASSERT_EQUAL_FATAL(route_table_create(&b), 0);
	struct route_nexthop n1 = { .port = 1 }, n2 = { .port = 2 }, n3 = { .port = 3 };
	const uint8_t p8[4] = { 10, 0, 0, 0 }, p24[4] = { 10, 1, 2, 0 }, p30[4] = { 10, 1, 2, 4 };
	CU_ASSERT_EQUAL(route_add(a, 4, p8, 8, &n1), 0);
	CU_ASSERT_EQUAL(route_add(a, 4, p24, 24, &n2), 0);
	CU_ASSERT_EQUAL(route_add(a, 4, p30, 30, &n3), 0);
	CU_ASSERT_EQUAL(route_add(b, 4, p30, 30, &n3), 0);
	CU_ASSERT_EQUAL(route_add(b, 4, p24, 24, &n2), 0);
	CU_ASSERT_EQUAL(route_add(b, 4, p8, 8, &n1), 0);
	const uint8_t q[][4] = { { 10, 9, 9, 9 }, { 10, 1, 2, 9 }, { 10, 1, 2, 5 }, { 11, 0, 0, 0 } };
	const int want[] = { 1, 2, 3, -1 };
	for (int i = 0; i < 4; i++) {
		uint32_t x = route_lookup4(a, q[i]), y = route_lookup4(b, q[i]);
		CU_ASSERT_EQUAL(x == ROUTE_NONE ? -1 : route_nexthop(a, x)->port, want[i]);
		CU_ASSERT_EQUAL(y == ROUTE_NONE ? -1 : route_nexthop(b, y)->port, want[i]);
	}
	route_table_destroy(a);
	route_table_destroy(b);
}

static int load_text(const char *text, struct errbuf *eb)
{
	char path[] = "/tmp/precraft-routes-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	struct route_table *rt = NULL;
	if (route_table_create(&rt))
		return -ERR_NOMEM;
	int rc = route_load_file(rt, path, eb);
	route_table_destroy(rt);
	remove(path);
	return rc;
}

static void test_route_file_errors_name_the_line(void)
{
	struct errbuf eb;
	CU_ASSERT_EQUAL(load_text("# ok\n10.0.0.0/8 00:00:5e:00:53:01 port 3\n\n::/0 00:00:5e:00:53:02\n", &eb), 0);
	CU_ASSERT_EQUAL(load_text("10.0.0.0/8 00:00:5e:00:53:01\n10.0.0.0/33 00:00:5e:00:53:01\n", &eb), -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, ":2: bad prefix"));
	CU_ASSERT_EQUAL(load_text("10.0.0.0/8 00:00:5e:00:53\n", &eb), -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, ":1: bad next-hop MAC"));
	CU_ASSERT_EQUAL(load_text("10.0.0.0 00:00:5e:00:53:01\n", &eb), -ERR_FORMAT);
	CU_ASSERT_EQUAL(load_text("10.0.0.0/8 00:00:5e:00:53:01 via 3\n", &eb), -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "unexpected 'via'"));
	struct route_table *rt = NULL;
	CU_ASSERT_EQUAL_FATAL(route_table_create(&rt), 0);
	CU_ASSERT_EQUAL(route_load_file(rt, "/nonexistent/routes", &eb), -ERR_IO);
	route_table_destroy(rt);
}

int route_test_register(void)
{
	CU_pSuite s = CU_add_suite("route", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "IPv4 LPM matches a brute-force reference", test_route_ipv4_matches_reference);
	CU_add_test(s, "IPv6 LPM matches a brute-force reference", test_route_ipv6_matches_reference);
	CU_add_test(s, "insertion order does not matter", test_route_order_does_not_matter);
	CU_add_test(s, "file errors name the line", test_route_file_errors_name_the_line);
	return 0;
}
