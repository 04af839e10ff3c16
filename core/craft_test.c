/* craft_test: the pre-built packet's dependency masks pinned against what the slow path does
 * (pkt_write_headers after fwd_rewrite, through a baseline engine).  For a flow whose next
 * packet is pre-built, every byte of that packet's headers is changed in turn:
 *   - soundness: whatever the change, precraft mode sends byte for byte what baseline mode
 *     sends (a byte wrongly marked late-bound would be sent from the prediction instead);
 *   - completeness: a change inside a field that moves from packet to packet (named by its
 *     pkt_wire.h offset: IPv4 ID and checksum, TCP sequence, acknowledgement, window, checksum,
 *     TSval and TSecr; UDP checksum; the IPv6 flow label) is still a hit;
 *   - a change anywhere else (addresses, ports, TTL, protocol, option layout) is not.
 * A mask that drifts from the layout fails one of the three. */
#include "engine_stats.h"

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine_testlib.h"
#include "pkt_wire.h"
#include "tests/pktgen.h"

#define WARM 6 /* packets before the one changed: the flow's next is pre-built by then */

struct flow_frames {
	uint8_t buf[WARM + 1][512];
	uint32_t len[WARM + 1];
};

/* Runs the frames through a fresh engine of 'mode'; returns the hits of the last packet (0 or
 * 1) and its egress in 'out'. */
static unsigned run_mode(enum engine_mode mode, const struct route_table *rt, const struct flow_frames *f,
			 struct capture *out)
{
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.mode = mode;
	c.routes = rt;
	c.flow_capacity = 64;
	c.pool_budget = 2u << 20;
	c.pool_large_slots = 1;
	memset(out, 0, sizeof *out);
	c.tx = cap_tx;
	c.tx_arg = out;
	struct engine *e = NULL;
	struct errbuf eb;
	CU_ASSERT_FATAL(engine_create(&c, &e, &eb) == 0);
	struct engine_stats before, after;
	for (unsigned i = 0; i <= WARM; i++) {
		if (i == WARM)
			engine_get_stats(e, &before);
		engine_process(e, f->buf[i], f->len[i], f->len[i], 1, 1000000ull * (i + 1), NULL);
	}
	engine_get_stats(e, &after);
	engine_destroy(e);
	return (unsigned)(after.hits - before.hits);
}

/* What changing byte 'at' of the last frame must do. */
enum want { ANY, HIT, MISS };

struct sweep {
	unsigned tried, hits, wrong_egress, missed_late, hit_fixed;
};

/* Flips byte 'at' of the last frame (xor 'x') and checks the two modes against each other and
 * against 'want'. */
static void flip(const struct route_table *rt, const struct flow_frames *base, uint32_t at, uint8_t x,
		 enum want want, struct sweep *sw)
{
	struct flow_frames *f = malloc(sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	memcpy(f, base, sizeof *f);
	f->buf[WARM][at] ^= x;
	struct capture b, p;
	run_mode(ENGINE_BASELINE, rt, f, &b);
	unsigned hit = run_mode(ENGINE_PRECRAFT, rt, f, &p);
	sw->tried++;
	sw->hits += hit;
	if (b.n != p.n || b.len != p.len || memcmp(b.buf, p.buf, b.len) != 0)
		sw->wrong_egress++;
	if (want == HIT && !hit)
		sw->missed_late++;
	if (want == MISS && hit)
		sw->hit_fixed++;
	free(b.buf);
	free(p.buf);
	free(f);
}

static bool within(uint32_t at, uint32_t off, uint32_t len)
{
	return at >= off && at < off + len;
}

/* An IPv4 TCP bulk flow with timestamps: every header byte of its next packet changed. */
static void test_craft_masks_ip4_tcp(void)
{
	struct route_table *rt = routes(true);
	struct flow_frames *f = calloc(1, sizeof *f);
	uint8_t pay[100];
	memset(pay, 'p', sizeof pay);
	struct gen_pkt g;
	gen_default(&g);
	g.payload = pay;
	g.plen = sizeof pay;
	g.ts = true;
	for (unsigned i = 0; i <= WARM; i++) {
		g.seq = 1000 + i * (uint32_t)sizeof pay;
		g.ipid = (uint16_t)(7 + i);
		g.tsval = 500 + i;
		g.tsecr = 90;
		f->len[i] = (uint32_t)gen_frame(&g, f->buf[i], sizeof f->buf[i]);
		CU_ASSERT_FATAL(f->len[i] > 0);
	}
	struct capture b, p;
	run_mode(ENGINE_BASELINE, rt, f, &b);
	CU_ASSERT_EQUAL(run_mode(ENGINE_PRECRAFT, rt, f, &p), 1); /* unchanged: a hit */
	free(b.buf);
	free(p.buf);
	const uint32_t l3 = 14, l4 = l3 + 20, opt = l4 + (uint32_t)sizeof(struct tcp_wire);
	/* gen_frame's TCP options: NOP NOP, then timestamps (kind, length, TSval, TSecr). */
	const uint32_t ts = opt + 2 + 2;
	struct sweep sw = { 0 };
	for (uint32_t at = 0; at < opt + 12; at++) {
		enum want w = MISS;
		if (within(at, l3 + offsetof(struct ip4_wire, id), 2) || within(at, l3 + offsetof(struct ip4_wire, csum), 2) ||
		    within(at, l4 + offsetof(struct tcp_wire, seq), 4) || within(at, l4 + offsetof(struct tcp_wire, ack), 4) ||
		    within(at, l4 + offsetof(struct tcp_wire, win), 2) || within(at, l4 + offsetof(struct tcp_wire, csum), 2) ||
		    within(at, l4 + offsetof(struct tcp_wire, urg), 2) || within(at, ts, 8))
			w = HIT;
		else if (within(at, l3 + offsetof(struct ip4_wire, tot_len), 2) ||
			 within(at, l4 + offsetof(struct tcp_wire, flags), 1) || at < 12)
			w = ANY; /* lengths that no longer fit the frame, flags that end or restart the
				  * flow, the destination MAC (the shaper's own): either way, as long as
				  * the egress is the slow path's */
		flip(rt, f, at, 0x01, w, &sw);
		flip(rt, f, at, 0x80, w, &sw);
	}
	CU_ASSERT_EQUAL(sw.wrong_egress, 0);
	CU_ASSERT_EQUAL(sw.missed_late, 0);
	CU_ASSERT_EQUAL(sw.hit_fixed, 0);
	CU_ASSERT(sw.hits >= 2 * 26); /* the 26 bytes that move, both flips */
	free(f);
	route_table_destroy(rt);
}

/* An IPv6 UDP flow: the flow label and UDP checksum move; nothing else may. */
static void test_craft_masks_ip6_udp(void)
{
	struct route_table *rt = routes(false);
	const uint8_t any6[16] = { 0 };
	struct route_nexthop a = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 }, .port = 1 };
	CU_ASSERT_FATAL(route_add(rt, 6, any6, 0, &a) == 0);
	struct flow_frames *f = calloc(1, sizeof *f);
	uint8_t pay[64];
	memset(pay, 'u', sizeof pay);
	struct gen_pkt g;
	gen_default(&g);
	g.family = 6;
	memset(g.src, 0, 16);
	memset(g.dst, 0, 16);
	g.src[0] = 0x20, g.src[1] = 0x01, g.src[2] = 0x0d, g.src[3] = 0xb8, g.src[15] = 1;
	g.dst[0] = 0x20, g.dst[1] = 0x01, g.dst[2] = 0x0d, g.dst[3] = 0xb8, g.dst[15] = 2;
	g.proto = 17;
	g.payload = pay;
	g.plen = sizeof pay;
	for (unsigned i = 0; i <= WARM; i++) {
		f->len[i] = (uint32_t)gen_frame(&g, f->buf[i], sizeof f->buf[i]);
		CU_ASSERT_FATAL(f->len[i] > 0);
	}
	const uint32_t l3 = 14, l4 = l3 + (uint32_t)sizeof(struct ip6_wire), end = l4 + (uint32_t)sizeof(struct udp_wire);
	struct sweep sw = { 0 };
	for (uint32_t at = 12; at < end; at++) {
		enum want w = MISS;
		if (within(at, l4 + offsetof(struct udp_wire, csum), 2) ||
		    within(at, l3 + offsetof(struct ip6_wire, ver_tc_flow) + 2, 2))
			w = HIT;
		else if (within(at, l3 + offsetof(struct ip6_wire, ver_tc_flow) + 1, 1) ||
			 within(at, l3 + offsetof(struct ip6_wire, plen), 2) ||
			 within(at, l4 + offsetof(struct udp_wire, len), 2))
			w = ANY; /* the flow label's nibble beside the traffic class; lengths */
		flip(rt, f, at, 0x01, w, &sw);
		flip(rt, f, at, 0x80, w, &sw);
	}
	CU_ASSERT_EQUAL(sw.wrong_egress, 0);
	CU_ASSERT_EQUAL(sw.missed_late, 0);
	CU_ASSERT_EQUAL(sw.hit_fixed, 0);
	CU_ASSERT(sw.hits >= 2 * 4);
	free(f);
	route_table_destroy(rt);
}

int craft_test_register(void)
{
	CU_pSuite s = CU_add_suite("craft", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "IPv4 TCP: every header byte changed; masks agree with the slow path", test_craft_masks_ip4_tcp);
	CU_add_test(s, "IPv6 UDP: every header byte changed; masks agree with the slow path", test_craft_masks_ip6_udp);
	return 0;
}
