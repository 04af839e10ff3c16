/* engine_prefetch_test: DNS prefetching on synthetic exchanges whose every outcome is known: a
 * client starts a flow, resolves a name, and connects to the answer's address.  The invariant
 * holds as everywhere: precraft and shadow transmit the bytes baseline transmits. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_stats.h"
#include "dns.h"
#include "engine.h"
#include "esp.h"
#include "route.h"
#include "tests/pktgen.h"

static void test_dns_answer_addresses(void)
{
	const uint8_t *resp = gen_dns_resp;
	uint32_t len = gen_dns_resp_len;
	struct dns_record r[DNS_MAX_RECORDS];
	CU_ASSERT_EQUAL_FATAL(dns_answer_addrs(resp, len, r), 2);
	static const uint8_t a[4] = { 93, 184, 216, 34 };
	CU_ASSERT_TRUE(r[0].family == 4 && memcmp(r[0].addr, a, 4) == 0 && r[0].ttl == 300);
	CU_ASSERT_TRUE(r[1].family == 6 && r[1].addr[0] == 0x20 && r[1].addr[15] == 1);
	CU_ASSERT_EQUAL(r[1].ttl, 0); /* a TTL with the top bit set reads as 0 (RFC 2181) */
	/* Cut anywhere, the records before the cut and nothing else: every length is checked. */
	for (uint32_t n = 0; n < len; n++) {
		unsigned k = dns_answer_addrs(resp, n, r);
		CU_ASSERT_EQUAL(k, n >= 83 ? 1u : 0u); /* the A record ends at byte 83 */
	}
	uint8_t *m = malloc(len);
	CU_ASSERT_FATAL(m != NULL);
	memcpy(m, resp, len);
	m[2] &= 0x7f; /* a query announces nothing */
	CU_ASSERT_EQUAL(dns_answer_addrs(m, len, r), 0);
	memcpy(m, resp, len);
	m[12] = 0x80; /* a label type that does not exist */
	CU_ASSERT_EQUAL(dns_answer_addrs(m, len, r), 0);
	memcpy(m, resp, len);
	m[7] = 0xff; /* more answers than the message holds */
	CU_ASSERT_EQUAL(dns_answer_addrs(m, len, r), 2);
	free(m);
	/* Random bytes never read outside the message (ASan watches). */
	uint32_t lcg = 3;
	for (int i = 0; i < 20000; i++) {
		uint32_t n = 12 + (uint32_t)(i % 60);
		uint8_t *b = malloc(n);
		CU_ASSERT_FATAL(b != NULL);
		for (uint32_t j = 0; j < n; j++) {
			lcg = lcg * 1664525u + 1013904223u;
			b[j] = (uint8_t)(lcg >> 24);
		}
		b[2] |= 0x80;
		b[3] &= 0xf0;
		CU_ASSERT_TRUE(dns_answer_addrs(b, n, r) <= DNS_MAX_RECORDS);
		free(b);
	}
}

/* ---- the exchange ---- */

struct frames {
	uint8_t buf[1 << 16];
	uint32_t lens[64];
	uint64_t t[64];
	size_t len;
	unsigned n;
};

static void add(struct frames *f, const struct gen_pkt *g, uint64_t t_us)
{
	size_t n = gen_frame(g, f->buf + f->len, sizeof f->buf - f->len);
	CU_ASSERT_FATAL(n > 0 && f->n < 64);
	f->t[f->n] = t_us * 1000;
	f->lens[f->n++] = (uint32_t)n;
	f->len += n;
}

static const uint8_t client[4] = { 10, 0, 0, 1 }, resolver[4] = { 10, 0, 0, 53 }, site[4] = { 93, 184, 216, 34 },
		     earlier[4] = { 198, 51, 100, 9 };
static const uint8_t client6[16] = { 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 },
		     resolver6[16] = { 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53 },
		     site6[16] = { 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static void syn(struct frames *f, int family, const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
		uint16_t mss, uint64_t t_us)
{
	struct gen_pkt g;
	gen_default(&g);
	g.family = family;
	memcpy(g.src, src, family == 4 ? 4 : 16);
	memcpy(g.dst, dst, family == 4 ? 4 : 16);
	g.sport = sport;
	g.dport = dport;
	g.flags = 0x02;
	g.seq = 0x10000000u + sport * 7919u; /* the client's ISN, never predictable */
	g.ack = 0;
	g.win = 64240;
	g.ipid = (uint16_t)(sport * 31u);
	g.mss = mss;
	g.ts = true;
	g.tsval = (uint32_t)t_us;
	add(f, &g, t_us);
}

static void udp(struct frames *f, int family, const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
		const uint8_t *payload, uint32_t plen, uint64_t t_us)
{
	struct gen_pkt g;
	gen_default(&g);
	g.family = family;
	memcpy(g.src, src, family == 4 ? 4 : 16);
	memcpy(g.dst, dst, family == 4 ? 4 : 16);
	g.proto = 17;
	g.sport = sport;
	g.dport = dport;
	g.ipid = (uint16_t)(sport * 13u);
	g.payload = payload;
	g.plen = plen;
	add(f, &g, t_us);
}

/* The client's query: the answer's question, as a query. */
static void query(struct frames *f, int family, const uint8_t *src, const uint8_t *dst, uint64_t t_us)
{
	static uint8_t q[33];
	memcpy(q, gen_dns_resp, sizeof q);
	q[2] = 0x01;
	q[3] = 0;
	q[7] = 0;
	udp(f, family, src, dst, 5353, 53, q, sizeof q, t_us);
}

/* A client that has connected to TCP 443 and 80 (its SYN: MSS 1460, timestamps) and UDP 443
 * resolves www.example.com (A 93.184.216.34, AAAA 2001:db8::1) and then connects. */
static void exchange(struct frames *f)
{
	static uint8_t quic[1200];
	memset(quic, 0xc3, sizeof quic);
	syn(f, 4, client, earlier, 40000, 443, 1460, 1000);
	syn(f, 4, client, earlier, 39999, 80, 1460, 1100);
	udp(f, 4, client, earlier, 39998, 443, quic, sizeof quic, 1200);
	query(f, 4, client, resolver, 2000);
	udp(f, 4, resolver, client, 53, 5353, gen_dns_resp, gen_dns_resp_len, 3000);
	syn(f, 4, client, site, 40001, 443, 1460, 4000);           /* hit */
	udp(f, 4, client, site, 40002, 443, quic, sizeof quic, 5000); /* hit (QUIC Initial) */
	syn(f, 4, client, site, 40003, 22, 1460, 6000);            /* no template for 22 */
	syn(f, 4, client, site, 40004, 80, 1400, 7000);            /* another MSS: fails validation */
	syn(f, 4, client, earlier, 40005, 80, 1460, 8000);         /* an address no answer named */
	syn(f, 4, client, site, 40006, 443, 1460, 9000);           /* a second connection: hit */
}

struct out {
	uint8_t *buf;
	size_t len, cap;
	unsigned n;
};

static void cap_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		   uint32_t wirelen, uint64_t t_ns)
{
	struct out *o = arg;
	(void)t_ns;
	size_t need = o->len + 8 + hdr_len + payload_len;
	if (need > o->cap) {
		o->cap = need * 2;
		o->buf = realloc(o->buf, o->cap);
	}
	memcpy(o->buf + o->len, &hdr_len, 4);
	memcpy(o->buf + o->len + 4, &wirelen, 4);
	memcpy(o->buf + o->len + 8, hdr, hdr_len);
	if (payload_len)
		memcpy(o->buf + o->len + 8 + hdr_len, payload, payload_len);
	o->len = need;
	o->n++;
}

struct run {
	struct engine_stats st;
	struct out out;
	enum engine_path path[64];
};

static uint64_t opt_hold_ns = 10ull * 1000000000ull;
static uint32_t opt_slots = 4096;
static const struct esp_conf *opt_tunnel;

static void run_frames(enum engine_mode mode, bool snat, const struct frames *f, struct run *r)
{
	struct route_table *rt = NULL;
	CU_ASSERT_FATAL(route_table_create(&rt) == 0);
	struct route_nexthop hop = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 }, .port = 1 };
	const uint8_t any[16] = { 0 };
	CU_ASSERT(route_add(rt, 4, any, 0, &hop) == 0);
	CU_ASSERT(route_add(rt, 6, any, 0, &hop) == 0);
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.mode = mode;
	c.routes = rt;
	c.flow_capacity = 256;
	c.pool_budget = 4u << 20;
	c.pool_large_slots = 2;
	c.pool_poison = 1;
	c.prefetch_hold_ns = opt_hold_ns;
	c.prefetch_slots = opt_slots;
	c.tunnel = opt_tunnel;
	c.snat = snat;
	const uint8_t nat[4] = { 198, 18, 0, 1 };
	memcpy(c.snat_addr, nat, 4);
	memset(r, 0, sizeof *r);
	c.tx = cap_tx;
	c.tx_arg = &r->out;
	struct engine *e = NULL;
	struct errbuf eb;
	CU_ASSERT_FATAL(engine_create(&c, &e, &eb) == 0);
	size_t off = 0;
	for (unsigned i = 0; i < f->n; i++) {
		struct engine_result res;
		engine_process(e, f->buf + off, f->lens[i], f->lens[i], 1, f->t[i], &res);
		r->path[i] = res.path;
		off += f->lens[i];
	}
	engine_finish(e);
	engine_get_stats(e, &r->st);
	engine_destroy(e);
	route_table_destroy(rt);
}

/* Baseline, precraft and shadow; the invariant checked, the precraft run returned in 'pc'. */
static void run_all(const struct frames *f, bool snat, struct run *pc)
{
	struct run base, sh;
	run_frames(ENGINE_BASELINE, snat, f, &base);
	run_frames(ENGINE_PRECRAFT, snat, f, pc);
	run_frames(ENGINE_SHADOW, snat, f, &sh);
	CU_ASSERT_EQUAL(base.out.n, pc->out.n);
	CU_ASSERT_TRUE(base.out.len == pc->out.len && memcmp(base.out.buf, pc->out.buf, base.out.len) == 0);
	CU_ASSERT_TRUE(base.out.len == sh.out.len && memcmp(base.out.buf, sh.out.buf, base.out.len) == 0);
	CU_ASSERT_EQUAL(sh.st.divergent_packets, 0);
	CU_ASSERT_EQUAL(sh.st.prefetch_hits, pc->st.prefetch_hits);
	CU_ASSERT_EQUAL(base.st.prefetch_built, 0);
	/* Every template is accounted for: used, failed, or wasted; nothing held at the end. */
	CU_ASSERT_EQUAL(pc->st.prefetch_built, pc->st.prefetch_hits + pc->st.prefetch_failed + pc->st.prefetch_wasted);
	CU_ASSERT_EQUAL(pc->st.crafted, pc->st.hits + pc->st.wasted);
	CU_ASSERT_EQUAL(pc->st.pool_bytes_held, 0);
	free(base.out.buf);
	free(sh.out.buf);
}

static void check_exchange(bool snat)
{
	struct frames *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	exchange(f);
	struct run r;
	run_all(f, snat, &r);
	CU_ASSERT_EQUAL(r.st.dns_answers, 1);
	/* TCP 443, TCP 80, UDP 443 for the A record; each made again after a flow took it */
	CU_ASSERT_EQUAL(r.st.prefetch_built, 3 + 4);
	CU_ASSERT_EQUAL(r.st.prefetch_flows, 4);
	CU_ASSERT_EQUAL(r.st.prefetch_hits, 3);
	CU_ASSERT_EQUAL(r.st.prefetch_failed, 1);
	CU_ASSERT_EQUAL(r.st.prefetch_wasted, 3); /* the three made again, held at the end */
	CU_ASSERT_EQUAL(r.path[5], ENGINE_PATH_HIT);
	CU_ASSERT_EQUAL(r.path[6], ENGINE_PATH_HIT);
	CU_ASSERT_EQUAL(r.path[7], ENGINE_PATH_SLOW);
	CU_ASSERT_EQUAL(r.path[8], ENGINE_PATH_SLOW);
	CU_ASSERT_EQUAL(r.path[9], ENGINE_PATH_SLOW);
	CU_ASSERT_EQUAL(r.path[10], ENGINE_PATH_HIT);
	free(r.out.buf);
	free(f);
}

static void test_prefetch_first_packets_hit(void)
{
	check_exchange(false);
}

static void test_prefetch_first_packets_hit_with_nat(void)
{
	check_exchange(true); /* the flow's port bound at its first packet, the checksum with it */
}

static void test_prefetch_ipv6(void)
{
	struct frames *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	syn(f, 6, client6, site6, 41000, 8443, 1440, 1000);
	query(f, 6, client6, resolver6, 2000);
	udp(f, 6, resolver6, client6, 53, 5353, gen_dns_resp, gen_dns_resp_len, 3000);
	syn(f, 6, client6, site6, 41001, 443, 1440, 4000);
	struct run r;
	run_all(f, false, &r);
	/* The AAAA record's TTL reads as 0: held one second, enough for a connection 1 ms later. */
	/* A client with no record of the templates' ports: TCP 443 and 80 */
	CU_ASSERT_EQUAL(r.st.prefetch_built, 2 + 1);
	CU_ASSERT_EQUAL(r.st.prefetch_hits, 1);
	CU_ASSERT_EQUAL(r.path[3], ENGINE_PATH_HIT);
	CU_ASSERT_EQUAL(r.st.prefetch_wasted, 2); /* TCP 80 and the 443 made again */
	free(r.out.buf);
	free(f);
}

static void test_prefetch_expires(void)
{
	struct frames *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	exchange(f);
	opt_hold_ns = 500000; /* 0.5 ms: gone before the client connects */
	struct run r;
	run_all(f, false, &r);
	opt_hold_ns = 10ull * 1000000000ull;
	CU_ASSERT_EQUAL(r.st.prefetch_built, 3);
	CU_ASSERT_EQUAL(r.st.prefetch_hits, 0);
	CU_ASSERT_EQUAL(r.st.prefetch_flows, 0);
	CU_ASSERT_EQUAL(r.st.prefetch_wasted, 3);
	CU_ASSERT_EQUAL(r.path[5], ENGINE_PATH_SLOW);
	free(r.out.buf);
	free(f);
}

/* A client whose first connection follows the answer (no SYN of its own seen yet): that SYN
 * builds the TCP templates of the addresses announced before; and a port announced but not
 * built (UDP 443 for a client that never used QUIC) is built from the first connection to it. */
static void test_prefetch_learnt_after_the_answer(void)
{
	struct frames *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	static uint8_t quic[1200];
	memset(quic, 0xc3, sizeof quic);
	query(f, 4, client, resolver, 1000);
	udp(f, 4, resolver, client, 53, 5353, gen_dns_resp, gen_dns_resp_len, 2000);
	syn(f, 4, client, site, 40001, 443, 1460, 3000);              /* 2: no SYN seen before: slow */
	syn(f, 4, client, site, 40002, 443, 1460, 4000);              /* 3: hit */
	syn(f, 4, client, site, 40003, 80, 1460, 5000);               /* 4: hit */
	udp(f, 4, client, site, 40004, 443, quic, sizeof quic, 6000); /* 5: announced, not built */
	udp(f, 4, client, site, 40005, 443, quic, sizeof quic, 7000); /* 6: hit */
	struct run r;
	run_all(f, false, &r);
	CU_ASSERT_EQUAL(r.path[2], ENGINE_PATH_SLOW);
	CU_ASSERT_EQUAL(r.path[3], ENGINE_PATH_HIT);
	CU_ASSERT_EQUAL(r.path[4], ENGINE_PATH_HIT);
	CU_ASSERT_EQUAL(r.path[5], ENGINE_PATH_SLOW);
	CU_ASSERT_EQUAL(r.path[6], ENGINE_PATH_HIT);
	CU_ASSERT_EQUAL(r.st.prefetch_hits, 3);
	free(r.out.buf);
	free(f);
}

/* The announced address leaves through a tunnel SA that has sealed nothing yet: the answer tops
 * its keystream ring up, so the connection's first packet is sealed from a keystream too. */
static void test_prefetch_primes_the_tunnel(void)
{
	struct frames *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	exchange(f);
	/* An SA for the announced address's network only. */
	char path[] = "/tmp/precraft-pf-XXXXXX";
	int fd = mkstemp(path); /* mkstemp's XXXXXX: a file name no other run has */
	CU_ASSERT_FATAL(fd >= 0);
	FILE *tf = fdopen(fd, "w");
	CU_ASSERT_FATAL(tf != NULL);
	fprintf(tf, "esp site spi 0x1234 src 198.18.0.1 dst 198.18.0.2 key %s salt 01020304 match 93.184.216.0/24\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	fclose(tf);
	struct esp_conf *tun = NULL;
	struct errbuf eb;
	CU_ASSERT_FATAL(esp_conf_load(path, &tun, &eb) == 0);
	remove(path);
	opt_tunnel = tun;
	struct run r;
	run_all(f, false, &r);
	CU_ASSERT_EQUAL(r.st.prefetch_sa_primed, 1);
	CU_ASSERT_EQUAL(r.st.prefetch_hits, 3);
	CU_ASSERT_EQUAL(r.st.esp.esp_packets, 5);  /* the five packets to the announced address */
	CU_ASSERT_EQUAL(r.st.esp.esp_sealed_oneshot, 0);  /* the first of them sealed from a keystream too */
	free(r.out.buf);
	/* Without the announcement, the SA's first packet is sealed in one shot. */
	opt_hold_ns = 0;
	run_frames(ENGINE_PRECRAFT, false, f, &r);
	CU_ASSERT_EQUAL(r.st.prefetch_sa_primed, 0);
	CU_ASSERT_EQUAL(r.st.esp.esp_sealed_oneshot, 1);
	free(r.out.buf);
	opt_hold_ns = 10ull * 1000000000ull;
	opt_tunnel = NULL;
	esp_conf_destroy(tun);
	free(f);
}

/* A hostile resolver (or whoever spoofs it) floods a client with answers of 32 addresses each:
 * the table stays bounded, displaced templates are waste, and the egress is the baseline's. */
static void test_prefetch_flood_bounded(void)
{
	struct frames *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	syn(f, 4, client, earlier, 40000, 443, 1460, 1000);
	uint8_t m[33 + 32 * 16];
	memcpy(m, gen_dns_resp, 29); /* header and question */
	m[6] = 0;
	m[7] = 32;
	for (unsigned a = 0; a < 20; a++) {
		for (unsigned i = 0; i < 32; i++) {
			uint8_t *rr = m + 33 + 16 * i;
			const uint8_t rec[16] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, (uint8_t)a, (uint8_t)i };
			memcpy(rr, rec, 16);
		}
		memcpy(m + 29, gen_dns_resp + 29, 4);
		udp(f, 4, resolver, client, 53, 5353, m, 33 + 32 * 16, 2000 + a);
	}
	const uint8_t last[4] = { 203, 0, 19, 31 }, first[4] = { 203, 0, 0, 0 };
	syn(f, 4, client, last, 40001, 443, 1460, 3000);  /* the latest answer's: still held */
	syn(f, 4, client, first, 40002, 443, 1460, 3001); /* the first answer's: displaced */
	opt_slots = 64;
	struct run r;
	run_all(f, false, &r);
	opt_slots = 4096;
	CU_ASSERT_EQUAL(r.st.dns_answers, 20);
	CU_ASSERT_EQUAL(r.st.prefetch_built, 20 * 32 + 1); /* the client's port: TCP 443 */
	CU_ASSERT_EQUAL(r.path[21], ENGINE_PATH_HIT);
	CU_ASSERT_EQUAL(r.path[22], ENGINE_PATH_SLOW);
	CU_ASSERT_TRUE(r.st.prefetch_wasted >= 20 * 32 - 64);
	free(r.out.buf);
	free(f);
}

/* The simulator's timed crafting: a template is usable only once its batch is marked built. */
static void test_prefetch_ready_explicit(void)
{
	struct frames *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	exchange(f);
	for (int ready = 0; ready < 2; ready++) {
		struct route_table *rt = NULL;
		CU_ASSERT_FATAL(route_table_create(&rt) == 0);
		struct route_nexthop hop = { .mac = { 0, 0, 0x5e, 0, 0x53, 1 }, .port = 1 };
		const uint8_t any[16] = { 0 };
		CU_ASSERT(route_add(rt, 4, any, 0, &hop) == 0);
		struct engine_cfg c;
		engine_cfg_defaults(&c);
		c.routes = rt;
		c.flow_capacity = 256;
		c.pool_budget = 4u << 20;
		c.craft_ready_explicit = true;
		struct engine *e = NULL;
		struct errbuf eb;
		CU_ASSERT_FATAL(engine_create(&c, &e, &eb) == 0);
		size_t off = 0;
		struct engine_result res;
		for (unsigned i = 0; i < 6; i++) {
			engine_process(e, f->buf + off, f->lens[i], f->lens[i], 1, f->t[i], &res);
			if (i == 4) {
				const struct engine_work *w = NULL;
				for (unsigned k = 0; k < res.n_work; k++)
					if (res.work[k].t.kind == ENGINE_WORK_PREFETCH)
						w = &res.work[k];
				CU_ASSERT_FATAL(w != NULL);
				CU_ASSERT_EQUAL(w->units, 3);
				CU_ASSERT_TRUE(engine_work_waiting(e, &w->t));
				if (ready) {
					engine_work_ready(e, &w->t, f->t[i] + 110);
					CU_ASSERT_FALSE(engine_work_waiting(e, &w->t));
				}
			}
			off += f->lens[i];
		}
		CU_ASSERT_EQUAL(res.path, ready ? ENGINE_PATH_HIT : ENGINE_PATH_SLOW);
		struct engine_stats st;
		engine_finish(e);
		engine_get_stats(e, &st);
		CU_ASSERT_EQUAL(st.late, ready ? 0 : 1);
		CU_ASSERT_EQUAL(st.prefetch_hits, ready ? 1 : 0);
		engine_destroy(e);
		route_table_destroy(rt);
	}
	free(f);
}

int prefetch_test_register(void)
{
	CU_pSuite s = CU_add_suite("prefetch", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "DNS answers: the addresses announced, every length checked", test_dns_answer_addresses);
	CU_add_test(s, "announced flows: first packets sent from templates", test_prefetch_first_packets_hit);
	CU_add_test(s, "announced flows with source NAT", test_prefetch_first_packets_hit_with_nat);
	CU_add_test(s, "announced flows over IPv6", test_prefetch_ipv6);
	CU_add_test(s, "templates expire", test_prefetch_expires);
	CU_add_test(s, "templates learnt after the answer", test_prefetch_learnt_after_the_answer);
	CU_add_test(s, "an announced address's tunnel SA primed", test_prefetch_primes_the_tunnel);
	CU_add_test(s, "a flood of answers stays bounded", test_prefetch_flood_bounded);
	CU_add_test(s, "timed crafting: templates usable once built", test_prefetch_ready_explicit);
	return 0;
}
