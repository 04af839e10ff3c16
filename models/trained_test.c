/* trained_test: the trained predictors (ml, xgb) learn across flows what the per-flow ones
 * cannot, their model files round-trip and bad ones are refused; eval counts the flows a DNS
 * answer announced. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "eval.h"
#include "core/predict.h"
#include "ml.h"
#include "modelfile.h"
#include "predictors.h"
#include "xgb.h"
#include "tests/pktgen.h"
#include "traces/trace.h"

static struct pred_pkt pkts[4000];

static int short_flows(int flows, uint16_t port)
{
	static const uint32_t size[8] = { 0, 0, 0, 40, 12, 22, 13, 30 };
	static const uint8_t dir[8] = { 0, 1, 0, 1, 0, 1, 0, 1 };
	int n = 0;
	for (int f = 0; f < flows; f++)
		for (int i = 0; i < 8; i++)
			pkts[n++] = (struct pred_pkt){ .t_ns = (uint64_t)(f * 8 + i) * 1000000, .dir = dir[i], .proto = 6,
						       .family = 4, .sport = dir[i] ? port : 40000, .dport = dir[i] ? 40000 : port,
						       .payload_len = size[i], .position = (uint32_t)i, .tcp_flags = 0x10 };
	return n;
}

/* Creates an empty temporary file for a model and puts its name in 'path' (mkstemp replaces
 * the template's last six characters). */
static void tmp_file(char path[static 24])
{
	strcpy(path, "/tmp/precraft-ml-XXXXXX");
	int fd = mkstemp(path);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	close(fd);
}

static int train_on(const struct pred_pkt *p, int n, const char *path)
{
	struct ml_trainer *t;
	struct errbuf eb;
	struct ml_model m;
	if (ml_trainer_create(4, 1, &t, &eb))
		return -1;
	for (int pass = 1; pass <= 2; pass++) {
		struct ml_ctx c;
		for (int i = 0; i < n; i++) {
			if (p[i].position == 0)
				memset(&c, 0, sizeof c);
			ml_train_packet(t, pass, &c, &p[i]);
		}
		if (ml_train_end_pass(t, pass, &m, &eb))
			return -1;
	}
	ml_trainer_destroy(t);
	int rc = ml_model_save(path, &m, &eb);
	ml_model_free(&m);
	return rc;
}

/* Size accuracy over flows each predicted from a fresh flow state (one predictor instance), on
 * the packets of direction 'dir' (-1: both). */
static double per_flow_size_acc(const struct predictor_ops *ops, const char *mf, const struct pred_pkt *p, int n,
				int dir)
{
	void *self;
	struct errbuf eb;
	if (ops->create(mf, &self, &eb))
		return -1;
	void *st = calloc(1, ops->flow_state_size);
	struct pred_out pred[2];
	int has[2] = { 0, 0 }, right = 0, scored = 0;
	struct pred_pkt last[2];
	for (int i = 0; i < n; i++) {
		const struct pred_pkt *a = &p[i];
		if (a->position == 0) {
			memset(st, 0, ops->flow_state_size);
			has[0] = has[1] = 0;
		}
		unsigned pd = has[a->dir] ? a->dir : !a->dir;
		if (has[pd] && a->position >= 2 && (dir < 0 || a->dir == dir)) {
			right += pred[pd].payload_len == a->payload_len;
			scored++;
		}
		ops->observe(self, st, a);
		last[a->dir] = *a;
		for (unsigned d = 0; d < 2; d++)
			if (d == a->dir || has[d]) {
				memset(&pred[d], 0, sizeof pred[d]);
				has[d] = ops->predict(self, st, &last[d], &pred[d]);
			}
	}
	free(st);
	ops->destroy(self);
	return scored ? (double)right / scored : 0;
}

static void test_models_ml_learns_across_flows(void)
{
	char path[24];
	tmp_file(path);
	int n = short_flows(200, 21);
	CU_ASSERT_EQUAL_FATAL(train_on(pkts, n, path), 0);
	n = short_flows(100, 21); /* the same service, seen again */
	double ml = per_flow_size_acc(&predictor_ml, path, pkts, n, -1);
	double mk = per_flow_size_acc(&predictor_markov1, NULL, pkts, n, -1);
	CU_ASSERT_TRUE(ml >= 0.99);
	CU_ASSERT_TRUE(mk < 0.5);
	/* Without a model file ml learns the same online, after the first flows. */
	CU_ASSERT_TRUE(per_flow_size_acc(&predictor_ml, NULL, pkts, n, -1) >= 0.9);
	remove(path);
}

/* Flows where the server sends four segments of 1448 bytes, the last with PSH, and the client ACKs
 * each with a bare ACK, except the one with PSH, which it answers with its next request (200
 * bytes).  The sizes of the client's packets follow the server's flags, which no size chain sees:
 * markov1 and ml's own tables expect the ACK. */
static int push_answered(int flows, uint16_t port)
{
	int n = 0;
	uint32_t cseq = 1, sseq = 1;
	for (int f = 0; f < flows; f++)
		for (int i = 0; i < 48; i++) {
			int server = i % 2 == 0, seg = (i / 2) % 4;
			uint32_t len = server ? 1448 : seg == 3 ? 200 : 0;
			pkts[n] = (struct pred_pkt){ .t_ns = (uint64_t)n * 100000, .dir = (uint8_t)server, .proto = 6,
						     .family = 4, .sport = server ? port : 40000, .dport = server ? 40000 : port,
						     .payload_len = len, .position = (uint32_t)i,
						     .tcp_flags = (uint8_t)(server && seg == 3 ? 0x18 : 0x10) };
			pkts[n].seq = server ? sseq : cseq;
			if (server)
				sseq += len;
			else
				cseq += len;
			n++;
		}
	return n;
}

static void test_models_xgb_learns_what_markov1_cannot(void)
{
	char path[24];
	tmp_file(path);
	int n = push_answered(40, 8080);
	struct xgb_model m;
	struct xgb_train_report rep;
	struct errbuf eb = { "" };
	const struct xgb_train_cfg cfg = XGB_TRAIN_DEFAULTS;
	CU_ASSERT_EQUAL_FATAL(xgb_train_packets(pkts, (size_t)n, &cfg, &m, &rep, &eb), 0);
	/* Our walk of the exported trees is XGBoost's own prediction, on every training row. */
	CU_ASSERT_TRUE(rep.rows == (uint64_t)(n - 40));
	CU_ASSERT_TRUE(rep.size_max_diff < 1e-5 && rep.gap_max_diff < 1e-5);
	CU_ASSERT_EQUAL_FATAL(xgb_model_save(path, &m, &eb), 0);
	xgb_model_free(&m);
	n = push_answered(20, 8080);
	double x = per_flow_size_acc(&predictor_xgb, path, pkts, n, 0);
	double mk = per_flow_size_acc(&predictor_markov1, NULL, pkts, n, 0);
	double ml = per_flow_size_acc(&predictor_ml, NULL, pkts, n, 0);
	printf("\n    client sizes after the server's PSH: xgb %.3f, markov1 %.3f, ml %.3f ", x, mk, ml);
	CU_ASSERT_TRUE(x >= 0.95);
	CU_ASSERT_TRUE(mk <= 0.8);
	CU_ASSERT_TRUE(ml <= 0.8);
	remove(path);
}

static void expect_xgb_rejected(const char *path, const char *what)
{
	struct xgb_model m;
	struct errbuf eb = { "" };
	CU_ASSERT_EQUAL(xgb_model_load(path, &m, &eb), -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, what));
	void *self;
	CU_ASSERT_NOT_EQUAL(predictor_xgb.create(path, &self, &eb), 0);
}

static void test_models_xgb_file_round_trip_and_rejects(void)
{
	char path[24], path2[24];
	tmp_file(path);
	tmp_file(path2);
	int n = push_answered(10, 8080);
	struct xgb_model m;
	struct xgb_train_report rep;
	struct errbuf eb = { "" };
	const struct xgb_train_cfg cfg = XGB_TRAIN_DEFAULTS;
	CU_ASSERT_EQUAL_FATAL(xgb_train_packets(pkts, (size_t)n, &cfg, &m, &rep, &eb), 0);
	CU_ASSERT_EQUAL_FATAL(xgb_model_save(path, &m, &eb), 0);
	xgb_model_free(&m);
	CU_ASSERT_EQUAL_FATAL(xgb_model_load(path, &m, &eb), 0);
	CU_ASSERT_EQUAL(m.size.n_trees, cfg.size_rounds * XGB_N_CAND);
	CU_ASSERT_EQUAL(m.trained_flows, 10);
	CU_ASSERT_EQUAL(xgb_model_save(path2, &m, &eb), 0);
	xgb_model_free(&m);
	static uint8_t buf[1 << 17], buf2[1 << 17], cp[1 << 17];
	FILE *f = fopen(path, "rb");
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	f = fopen(path2, "rb");
	CU_ASSERT_EQUAL(fread(buf2, 1, sizeof buf2, f), len); /* saving what was loaded: the same bytes */
	fclose(f);
	CU_ASSERT_EQUAL(memcmp(buf, buf2, len), 0);
	/* The first node of the first tree (after the 64-byte header and the tree table): a split
	 * whose child points back at itself, checksum recomputed, would loop a walk forever. */
	size_t node0 = 64 + 4 * (size_t)(cfg.size_rounds * XGB_N_CAND + cfg.gap_rounds);
	struct {
		size_t off;
		uint8_t val;
		size_t len;
		int rehash;
		const char *what;
	} bad[] = {
		{ 70, 0xff, len, 0, "checksum" },    /* a flipped byte */
		{ 0, 'X', len, 0, "bad magic" },     /* someone else's file */
		{ 8, 2, len, 0, "version 2" },       /* a future version */
		{ 0, 0, len - 9, 0, "bytes" },       /* truncated */
		{ 16, 99, len, 1, "inconsistent" },  /* another feature count */
		{ node0 + 8, 0, len, 1, "points outside" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(cp, buf, len);
		if (bad[i].len == len)
			cp[bad[i].off] = bad[i].off == 70 ? (uint8_t)(cp[70] ^ 0xff) : bad[i].val;
		if (bad[i].rehash) {
			uint64_t h = mf_hash(cp, len - 8);
			for (int b = 0; b < 8; b++)
				cp[len - 8 + b] = (uint8_t)(h >> (8 * b));
		}
		if (bad[i].off == node0 + 8) /* make sure node 0 is a split, so its child counts */
			CU_ASSERT_NOT_EQUAL(mf_get(cp + node0, 4), 0xffffffffu);
		f = fopen(path2, "wb");
		fwrite(cp, 1, bad[i].len, f);
		fclose(f);
		expect_xgb_rejected(path2, bad[i].what);
	}
	remove(path);
	remove(path2);
}

/* A client resolves www.example.com (the answer above: an A and an AAAA record, TTL 300 s for the
 * A) and connects: to the announced address on 443 (a template's hit) and on 22 (announced, no
 * template), to an address no answer named, and to the announced one again after its TTL. */
static void test_models_dns_announced_flows(void)
{
	char path[24];
	tmp_file(path);
	struct trace_writer *w;
	struct errbuf eb = { "" };
	CU_ASSERT_EQUAL_FATAL(trace_writer_open(path, 1, &w, &eb), 0);
	static const uint8_t client[4] = { 10, 0, 0, 1 }, resolver[4] = { 10, 0, 0, 53 }, site[4] = { 93, 184, 216, 34 },
			     other[4] = { 198, 51, 100, 7 };
	struct {
		const uint8_t *src, *dst;
		uint8_t proto;
		uint16_t sport, dport;
		uint64_t t_s;
	} pk[] = {
		{ client, resolver, 17, 5353, 53, 1 },  { resolver, client, 17, 53, 5353, 1 },
		{ client, site, 6, 40001, 443, 2 },     { client, site, 6, 40002, 22, 3 },
		{ client, other, 6, 40003, 443, 4 },    { client, site, 6, 40004, 443, 400 },
	};
	for (size_t i = 0; i < sizeof pk / sizeof pk[0]; i++) {
		struct gen_pkt g;
		gen_default(&g);
		memcpy(g.src, pk[i].src, 4);
		memcpy(g.dst, pk[i].dst, 4);
		g.proto = pk[i].proto;
		g.sport = pk[i].sport;
		g.dport = pk[i].dport;
		g.flags = 0x02;
		if (i == 1) { /* the answer */
			g.payload = gen_dns_resp;
			g.plen = gen_dns_resp_len;
		} else if (i == 0) { /* the question: the answer's first 33 bytes, as a query */
			static uint8_t q[33];
			memcpy(q, gen_dns_resp, sizeof q);
			q[2] = 0x01;
			q[3] = 0;
			q[7] = 0;
			g.payload = q;
			g.plen = sizeof q;
		}
		uint8_t frame[512];
		size_t len = gen_frame(&g, frame, sizeof frame);
		CU_ASSERT_FATAL(len > 0);
		trace_writer_put(w, frame, (uint32_t)len, (uint32_t)len, pk[i].t_s * 1000000000ull);
	}
	CU_ASSERT_EQUAL_FATAL(trace_writer_close(w, &eb), 0);
	struct eval_result r;
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL_FATAL(eval_trace(path, &predictor_last, NULL, &r, &eb), 0);
	CU_ASSERT_EQUAL(r.dns.answers, 1);
	CU_ASSERT_EQUAL(r.dns.pairs, 2);           /* (client, A) and (client, AAAA) */
	CU_ASSERT_EQUAL(r.dns.new_flows, 4);       /* the DNS flow itself left out */
	CU_ASSERT_EQUAL(r.dns.announced_flows, 2); /* 443 and 22 before the TTL ran out */
	CU_ASSERT_EQUAL(r.dns.first_hits, 1);      /* 443 only */
	CU_ASSERT_EQUAL(r.dns.templates, 2 * EVAL_DNS_TEMPLATES);
	CU_ASSERT_EQUAL(r.dns.templates_used, 1);
	eval_result_fini(&r);
	remove(path);
}

static void expect_rejected(const char *path, const char *what)
{
	struct ml_model m;
	struct errbuf eb = { "" };
	int rc = ml_model_load(path, &m, &eb);
	CU_ASSERT_EQUAL(rc, -ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, what));
	void *self;
	CU_ASSERT_NOT_EQUAL(predictor_ml.create(path, &self, &eb), 0);
}

static void test_models_ml_file_round_trip_and_rejects(void)
{
	char path[24];
	tmp_file(path);
	int n = short_flows(50, 502);
	CU_ASSERT_EQUAL_FATAL(train_on(pkts, n, path), 0);
	struct ml_model m;
	struct errbuf eb;
	CU_ASSERT_EQUAL_FATAL(ml_model_load(path, &m, &eb), 0);
	CU_ASSERT_TRUE(m.k >= 1 && m.used > 0);
	CU_ASSERT_EQUAL(m.trained_flows, 50);
	char path2[24];
	tmp_file(path2);
	CU_ASSERT_EQUAL(ml_model_save(path2, &m, &eb), 0);
	ml_model_free(&m);
	FILE *f = fopen(path, "rb");
	uint8_t buf[1 << 16];
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	/* Saving what was loaded gives the same bytes. */
	f = fopen(path2, "rb");
	uint8_t buf2[1 << 16];
	CU_ASSERT_EQUAL(fread(buf2, 1, sizeof buf2, f), len);
	fclose(f);
	CU_ASSERT_EQUAL(memcmp(buf, buf2, len), 0);
	struct {
		size_t off;
		uint8_t val;
		size_t len;
		const char *what;
	} bad[] = {
		{ 60, 0, len, "checksum" },       /* a flipped byte in the body */
		{ 0, 'X', len, "bad magic" },     /* someone else's file */
		{ 8, 2, len, "version 2" },       /* a future version */
		{ 0, 0, len - 9, "bytes" },       /* truncated */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t cp[1 << 16];
		memcpy(cp, buf, len);
		if (bad[i].off == 60)
			cp[60] ^= 0xff;
		else if (bad[i].len == len)
			cp[bad[i].off] = bad[i].val;
		f = fopen(path2, "wb");
		fwrite(cp, 1, bad[i].len, f);
		fclose(f);
		expect_rejected(path2, bad[i].what);
	}
	remove(path);
	remove(path2);
}

int trained_test_register(void)
{
	CU_pSuite s = CU_add_suite("trained", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "DNS answer then connections: announced flows, template hits, waste", test_models_dns_announced_flows);
	CU_add_test(s, "xgb: trained trees learn what markov1 cannot; the walk is XGBoost's prediction",
		    test_models_xgb_learns_what_markov1_cannot);
	CU_add_test(s, "xgb: model file round trip; corrupt, foreign, future, truncated, looping rejected",
		    test_models_xgb_file_round_trip_and_rejects);
	CU_add_test(s, "ml: a trained model knows short flows of a service", test_models_ml_learns_across_flows);
	CU_add_test(s, "ml: model file round trip; corrupt, foreign, future, truncated rejected",
		    test_models_ml_file_round_trip_and_rejects);
	return 0;
}
