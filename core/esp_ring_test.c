/* esp_ring_test: the keystream ring's entries sized by what the SA expects: the flows' predicted
 * next packets in the order they are expected, each at least the floor times the SA's mean, the
 * mean past them; expectations replaced by the flow's next and forgotten when overdue. */
#include "esp.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esp_testlib.h"
#include "route.h"
#include "tests/suites.h"

static const char TEXT[] = "esp r spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key "
			   "3d1f0c7a5e92b4468a0e2c5b7d9f13a6c8e04b2d6f819a3c5e7b0d2f4a6c8e10 salt 5a5b5c5d match 0.0.0.0/0\n";

struct fixture {
	struct esp_conf *c;
	struct route_table *rt;
	struct esp_tunnel *t;
};

static void setup(struct fixture *x, float floor)
{
	struct errbuf eb = { 0 };
	CU_ASSERT_EQUAL_FATAL(esp_test_load(TEXT, &x->c, &eb), 0);
	static const uint8_t any[16];
	struct route_nexthop nh = { .mac = { 2 }, .port = 1 };
	CU_ASSERT_FATAL(route_table_create(&x->rt) == 0 && route_add(x->rt, 4, any, 0, &nh) == 0 &&
			route_table_freeze(x->rt) == 0);
	uint8_t mac[6] = { 2 };
	CU_ASSERT_EQUAL_FATAL(esp_tunnel_create(x->c, x->rt, mac, 8, 2048, &x->t), 0);
	esp_ring_floor(x->t, floor);
	/* Ten packets of 998 bytes: the SA's mean plaintext is 1000. */
	uint8_t in[998] = { 0x45 };
	for (int i = 0; i < 10; i++) {
		const uint8_t *f;
		uint32_t l;
		enum esp_how h;
		bool d;
		CU_ASSERT_EQUAL(esp_seal(x->t, 0, in, sizeof in, NULL, 0, sizeof in, 0, false, &f, &l, &h, &d), ESP_OK);
	}
}

static void teardown(struct fixture *x)
{
	esp_tunnel_destroy(x->t);
	esp_conf_destroy(x->c);
	route_table_destroy(x->rt);
}

/* The bytes of the next 'n' entries made. */
static uint64_t fill(struct fixture *x, unsigned n)
{
	uint32_t gen;
	return esp_ring_fill(x->t, 0, 8, n, 0, 0, &gen);
}

static void test_by_expected_order(void)
{
	struct fixture x;
	setup(&x, 0);
	/* Three flows expect packets at 300, 100 and 200 ns: the entries go 1408, 128, 64 (by time),
	 * then the mean (1024, rounded up to 64). */
	esp_ring_expect(x.t, 0, 1, 300, 60, 0);
	esp_ring_expect(x.t, 0, 2, 100, 1400, 0);
	esp_ring_expect(x.t, 0, 3, 200, 100, 0);
	CU_ASSERT_EQUAL(fill(&x, 1), 1408);
	CU_ASSERT_EQUAL(fill(&x, 1), 128);
	CU_ASSERT_EQUAL(fill(&x, 1), 64);
	CU_ASSERT_EQUAL(fill(&x, 1), 1024);
	teardown(&x);
	/* A flow's next expectation replaces its last; 0 forgets it; one overdue by more than 10 ms
	 * is forgotten by the next call. */
	setup(&x, 0);
	esp_ring_expect(x.t, 0, 1, 100, 60, 0);
	esp_ring_expect(x.t, 0, 1, 200, 300, 0);
	esp_ring_expect(x.t, 0, 2, 150, 100, 0);
	esp_ring_expect(x.t, 0, 2, 0, 0, 0);
	CU_ASSERT_EQUAL(fill(&x, 1), 320);
	CU_ASSERT_EQUAL(fill(&x, 1), 1024);
	teardown(&x);
	setup(&x, 0);
	esp_ring_expect(x.t, 0, 1, 100, 60, 0);
	esp_ring_expect(x.t, 0, 2, 20000200, 200, 20000100);
	CU_ASSERT_EQUAL(fill(&x, 1), 256);
	teardown(&x);
}

static void test_floor(void)
{
	struct fixture x;
	setup(&x, 0.5f);
	esp_ring_expect(x.t, 0, 1, 100, 60, 0);
	esp_ring_expect(x.t, 0, 2, 200, 1400, 0);
	CU_ASSERT_EQUAL(fill(&x, 1), 512); /* 60, raised to half the mean of 1000 */
	CU_ASSERT_EQUAL(fill(&x, 1), 1408);
	teardown(&x);
	/* More expectations than the SA keeps: the soonest 16 stay. */
	setup(&x, 0);
	for (uint64_t k = 0; k < 40; k++)
		esp_ring_expect(x.t, 0, k + 1, 1000 - k, 16 + (uint32_t)k * 16, 0);
	CU_ASSERT_EQUAL(fill(&x, 1), 640); /* the soonest: the last told (16 + 39 x 16) */
	for (int i = 0; i < 6; i++)
		(void)fill(&x, 1);
	CU_ASSERT_EQUAL(fill(&x, 1), 576); /* the 8th soonest: k = 32, 528 rounded up to 64 */
	teardown(&x);
}

int esp_ring_test_register(void)
{
	CU_pSuite s = CU_add_suite("esp-ring", NULL, NULL);
	if (!s)
		return -1;
	return (!CU_add_test(s, "entries sized by the packets expected, in their order", test_by_expected_order) ||
		!CU_add_test(s, "the floor, and the soonest kept", test_floor))
		       ? -1
		       : 0;
}
