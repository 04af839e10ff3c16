/* models_test: each predictor on synthetic flows of known structure reaches the accuracy that
 * structure allows after its warm-up, and none is over-confident on random sizes. */
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

static const struct predictor_ops *const all[] = { &predictor_last, &predictor_mode, &predictor_markov1,
						   &predictor_header, &predictor_ml, &predictor_xgb };
static const char *model_file; /* handed to create() by run() */
#define N_ALL (sizeof all / sizeof all[0])

/* What run() scores: the size; the size and every header field; one field alone. */
enum check { CHECK_SIZE, CHECK_HEADER, CHECK_TSVAL, CHECK_IPID };

/* A flow: packets fed in order; after each, both directions are predicted (as eval does).
 * Returns the share of packets after 'warmup' whose 'what' was predicted right; '*mean_conf' is
 * the mean stated confidence then. */
static double run(const struct predictor_ops *ops, const struct pred_pkt *pk, int n, int warmup, enum check what,
		  double *mean_conf)
{
	void *self = NULL;
	struct errbuf eb;
	if (ops->create(model_file, &self, &eb))
		return -1;
	void *st = calloc(1, ops->flow_state_size);
	struct pred_out pred[2];
	struct pred_pkt last[2];
	int has[2] = { 0, 0 }, right = 0, scored = 0;
	double conf = 0;
	for (int i = 0; i < n; i++) {
		const struct pred_pkt *a = &pk[i];
		unsigned d = a->dir;
		if (i >= warmup && has[d]) {
			const struct pred_out *p = &pred[d];
			int ok = p->payload_len == a->payload_len;
			if (what == CHECK_HEADER)
				ok = ok && p->ip_id == a->ip_id && p->seq == a->seq && p->ack == a->ack &&
				     p->tcp_flags == a->tcp_flags && p->win == a->win;
			else if (what == CHECK_TSVAL)
				ok = p->tsval == a->tsval;
			else if (what == CHECK_IPID)
				ok = p->ip_id == a->ip_id;
			right += ok;
			scored++;
			conf += p->confidence;
		}
		ops->observe(self, st, a);
		last[d] = *a;
		for (unsigned dd = 0; dd < 2; dd++)
			if (dd == d || has[dd]) {
				memset(&pred[dd], 0, sizeof pred[dd]);
				has[dd] = ops->predict(self, st, &last[dd], &pred[dd]);
			}
	}
	free(st);
	ops->destroy(self);
	*mean_conf = scored ? conf / scored : 0;
	return scored ? (double)right / scored : 0;
}

static struct pred_pkt pkts[4000];

static void test_models_constant_size_flow(void)
{
	for (int i = 0; i < 200; i++)
		pkts[i] = (struct pred_pkt){ .t_ns = (uint64_t)i * 20000000, .dir = 0, .proto = 17, .family = 4,
					     .ip_id = (uint16_t)(7 + i), .payload_len = 160 };
	for (size_t m = 0; m < N_ALL; m++) {
		double conf, acc = run(all[m], pkts, 200, 5, CHECK_SIZE, &conf);
		CU_ASSERT_DOUBLE_EQUAL(acc, 1.0, 1e-9);
		CU_ASSERT_TRUE(conf > 0.8); /* a regular flow earns its confidence */
	}
	/* The header model also gets every IP ID of a counting host. */
	double conf;
	CU_ASSERT_DOUBLE_EQUAL(run(&predictor_header, pkts, 200, 5, CHECK_HEADER, &conf), 1.0, 1e-9);
}

/* Client requests of 20 bytes, server responses of 300, each acknowledging the other. */
static int request_response(int n)
{
	uint32_t cseq = 1000, sseq = 50000;
	for (int i = 0; i < n; i++) {
		int server = i % 2;
		struct pred_pkt *p = &pkts[i];
		*p = (struct pred_pkt){ .t_ns = (uint64_t)i * 1000000, .dir = (uint8_t)server, .proto = 6, .family = 4,
					.tcp_flags = 0x18, .win = 512 };
		p->ip_id = (uint16_t)(server ? 900 + i / 2 : 100 + i / 2);
		p->payload_len = server ? 300 : 20;
		p->seq = server ? sseq : cseq;
		p->ack = server ? cseq : sseq; /* each side's next sequence number */
		if (server)
			sseq += 300;
		else
			cseq += 20;
	}
	return n;
}

static void test_models_request_response(void)
{
	int n = request_response(400);
	double conf;
	/* Sizes repeat per direction: every predictor gets them. */
	for (size_t m = 0; m < N_ALL; m++)
		CU_ASSERT_DOUBLE_EQUAL(run(all[m], pkts, n, 10, CHECK_SIZE, &conf), 1.0, 1e-9);
	/* Only the header model follows the acknowledgements across directions. */
	double h = run(&predictor_header, pkts, n, 10, CHECK_HEADER, &conf);
	double l = run(&predictor_last, pkts, n, 10, CHECK_HEADER, &conf);
	CU_ASSERT_DOUBLE_EQUAL(h, 1.0, 1e-9);
	CU_ASSERT_TRUE(l < 0.1);
}

static void test_models_bulk_segments(void)
{
	/* A bulk transfer whose segments repeat 1448, 1448, 1448, 512: a chain learns the pattern,
	 * persistence cannot. */
	static const uint32_t pat[4] = { 1448, 1448, 1448, 512 };
	uint32_t seq = 1;
	for (int i = 0; i < 800; i++) {
		pkts[i] = (struct pred_pkt){ .t_ns = (uint64_t)i * 100000, .dir = 0, .proto = 6, .family = 4,
					     .tcp_flags = 0x10, .win = 1000, .seq = seq, .payload_len = pat[i % 4] };
		seq += pat[i % 4];
	}
	double conf;
	double mk = run(&predictor_markov1, pkts, 800, 40, CHECK_SIZE, &conf);
	double la = run(&predictor_last, pkts, 800, 40, CHECK_SIZE, &conf);
	/* From 1448 the next is 1448 two times in three: the chain's best is 2/3 of those plus the
	 * certain 512 -> 1448; persistence is right only for 1448 -> 1448. */
	CU_ASSERT_TRUE(mk >= 0.74);
	CU_ASSERT_TRUE(la <= 0.51);
	CU_ASSERT_TRUE(mk > la);
}

static void test_models_random_sizes_not_over_confident(void)
{
	srand(17);
	for (int i = 0; i < 2000; i++)
		pkts[i] = (struct pred_pkt){ .t_ns = (uint64_t)i * 1000, .dir = (uint8_t)(rand() % 2), .proto = 17,
					     .family = 4, .ip_id = (uint16_t)rand(), .payload_len = (uint32_t)(rand() % 1400) };
	for (size_t m = 0; m < N_ALL; m++) {
		double conf, acc = run(all[m], pkts, 2000, 20, CHECK_SIZE, &conf);
		CU_ASSERT_TRUE(acc < 0.05);
		/* What a predictor states is close to what it gets. */
		CU_ASSERT_TRUE(conf < acc + 0.1);
	}
}

/* Modbus/TCP as on the wire (zeek-modbusBig): a poll, its bare ACK with the window shrunk by
 * the bytes not yet read, the response, its bare ACK; data goes with PSH and the full window. */
static int modbus_rhythm(int n)
{
	uint32_t cseq = 1000, sseq = 70000;
	uint16_t cid = 100, sid = 900;
	for (int i = 0; i < n; i++) {
		int phase = i % 4, server = phase == 1 || phase == 2;
		struct pred_pkt *p = &pkts[i];
		uint32_t len = phase == 0 ? 12 : phase == 2 ? 10 : 0;
		*p = (struct pred_pkt){ .t_ns = (uint64_t)i * 3000000, .dir = (uint8_t)server, .proto = 6, .family = 4,
					.tcp_flags = len ? 0x18 : 0x10, .payload_len = len, .position = (uint32_t)i };
		p->win = (uint16_t)(phase == 1 ? 8192 - 12 : phase == 3 ? 8192 - 10 : 8192);
		p->ip_id = server ? sid++ : cid++;
		p->seq = server ? sseq : cseq;
		p->ack = server ? cseq : sseq;
		if (server)
			sseq += len;
		else
			cseq += len;
	}
	return n;
}

static void test_models_modbus_rhythm(void)
{
	int n = modbus_rhythm(400);
	double conf;
	/* Flags and window follow the request/response rhythm: the header model learns it per
	 * state; persistence gets every field wrong half the time. */
	double h = run(&predictor_header, pkts, n, 40, CHECK_HEADER, &conf);
	double l = run(&predictor_last, pkts, n, 40, CHECK_HEADER, &conf);
	CU_ASSERT_TRUE(h >= 0.99);
	CU_ASSERT_TRUE(l < 0.1);
	CU_ASSERT_TRUE(conf < 0.6); /* last's stated confidence is not its hit rate of 0 */
}

/* The DNS answer to a question seen before is anticipated under the new query's ID. */
static void test_models_dns_answer_anticipated(void)
{
	static const uint8_t q[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 2, 'e', 'x',
				     0, 0, 1, 0, 1 };
	uint8_t qa[sizeof q], ans[sizeof q + 16], qb[sizeof q];
	memcpy(qa, q, sizeof q);
	memcpy(qb, q, sizeof q);
	qb[0] = 0x77, qb[1] = 0x01; /* the same question, a new ID */
	memcpy(ans, q, sizeof q);
	ans[2] = 0x81, ans[3] = 0x80, ans[7] = 1; /* a response with one answer */
	memset(ans + sizeof q, 0xab, 16);
	void *self;
	struct errbuf eb;
	CU_ASSERT_EQUAL_FATAL(predictor_header.create(NULL, &self, &eb), 0);
	void *st = calloc(1, predictor_header.flow_state_size);
	struct pred_pkt c = { .dir = 0, .proto = 17, .family = 4, .sport = 5353, .dport = 53 };
	struct pred_pkt r = { .dir = 1, .proto = 17, .family = 4, .sport = 53, .dport = 5353 };
	c.payload = qa, c.payload_len = c.payload_avail = sizeof qa;
	r.payload = ans, r.payload_len = r.payload_avail = sizeof ans;
	predictor_header.observe(self, st, &c);
	predictor_header.observe(self, st, &r);
	c.payload = qb;
	predictor_header.observe(self, st, &c);
	struct pred_out o;
	memset(&o, 0, sizeof o);
	CU_ASSERT_TRUE(predictor_header.predict(self, st, &r, &o));
	CU_ASSERT_TRUE(o.fields & PRED_PAYLOAD);
	CU_ASSERT_EQUAL(o.payload_len, sizeof ans);
	if (o.payload && o.payload_len == sizeof ans) {
		CU_ASSERT_EQUAL(o.payload[0], 0x77);
		CU_ASSERT_EQUAL(o.payload[1], 0x01);
		CU_ASSERT_EQUAL(memcmp(o.payload + 2, ans + 2, sizeof ans - 2), 0);
	}
	free(st);
	predictor_header.destroy(self);
}

/* Short flows of one service, all alike (a login exchange): no flow lives long enough for a
 * per-flow model, but the trained model knows what such flows do next. */
/* A deterministic jitter in [-span, span] ns. */
static int64_t jitter(uint32_t *lcg, int64_t span)
{
	*lcg = *lcg * 1664525u + 1013904223u;
	return (int64_t)(*lcg >> 8) % (2 * span + 1) - span;
}

/* A paced request/response flow timestamped by 1 kHz clocks (REFERENCE.md's failing TSval class):
 * every 20 ms (± 100 µs) the client sends a request with PSH, the server ACKs it 200 µs later and
 * answers 300 µs after that, and the client ACKs the answer.  Each side's TSval is its own 1 kHz
 * clock, each with its own phase. */
static int paced_ts_flow(int rounds)
{
	uint32_t lcg = 7, cseq = 1, sseq = 1;
	int n = 0;
	for (int r = 0; r < rounds; r++) {
		uint64_t t = 1000000000ull + (uint64_t)r * 20000000ull + (uint64_t)(jitter(&lcg, 100000) + 100000);
		const struct {
			uint64_t dt;
			uint8_t dir, flags;
			uint32_t len;
		} step[4] = { { 0, 0, 0x18, 40 }, { 200000, 1, 0x10, 0 }, { 500000, 1, 0x18, 200 }, { 560000, 0, 0x10, 0 } };
		for (int k = 0; k < 4; k++) {
			struct pred_pkt *p = &pkts[n++];
			uint64_t at = t + step[k].dt;
			unsigned d = step[k].dir;
			*p = (struct pred_pkt){ .t_ns = at, .dir = (uint8_t)d, .proto = 6, .family = 4, .tcp_flags = step[k].flags,
						.win = 501, .has_ts = true, .payload_len = step[k].len, .position = (uint32_t)(n - 1) };
			p->seq = d ? sseq : cseq;
			p->ack = d ? cseq : sseq;
			/* The clocks: 1 kHz, the client's 0.37 ms into its tick at t = 0, the server's 0.81. */
			p->tsval = d ? 900000u + (uint32_t)((at + 810000) / 1000000) : 4000u + (uint32_t)((at + 370000) / 1000000);
			if (d)
				sseq += step[k].len;
			else
				cseq += step[k].len;
		}
	}
	for (int i = 0; i < n; i++) /* each echoes the other side's latest TSval */
		for (int j = i - 1; j >= 0; j--)
			if (pkts[j].dir != pkts[i].dir) {
				pkts[i].tsecr = pkts[j].tsval;
				break;
			}
	return n;
}

static void test_models_paced_timestamps(void)
{
	int n = paced_ts_flow(400);
	double conf;
	/* The clock read at the predicted send time gets nearly every TSval; persistence with the last
	 * step (what ROHC does) cannot, since the gaps between a side's packets alternate. */
	double h = run(&predictor_header, pkts, n, 200, CHECK_TSVAL, &conf);
	double l = run(&predictor_last, pkts, n, 200, CHECK_TSVAL, &conf);
	printf("\n    paced 1 kHz timestamps: TSval right, header %.3f, last %.3f ", h, l);
	CU_ASSERT_TRUE(h >= 0.9);
	CU_ASSERT_TRUE(l <= 0.5);
	/* ml takes its header fields from header. */
	CU_ASSERT_DOUBLE_EQUAL(run(&predictor_ml, pkts, n, 200, CHECK_TSVAL, &conf), h, 1e-9);
}

/* A bulk transfer captured behind TSO/GRO: super-segments of 1 to 11 segments of 1448 bytes, every
 * fourth ending a write (a shorter tail, with PSH); the sender's IP ID advances by the wire segments
 * each became.  The receiver ACKs each with its own counter. */
static int tso_flow(int n)
{
	uint32_t lcg = 11, seq = 1;
	uint16_t id = 30000, rid = 5;
	int k = 0;
	for (int i = 0; k + 1 < n; i++) {
		uint32_t segs = 1 + (uint32_t)(jitter(&lcg, 5) + 5);
		int psh = i % 4 == 3;
		uint32_t len = segs * 1448 - (psh ? 700 : 0);
		uint64_t t = (uint64_t)i * 300000;
		pkts[k] = (struct pred_pkt){ .t_ns = t, .dir = 0, .proto = 6, .family = 4, .tcp_flags = psh ? 0x18 : 0x10,
					     .win = 34, .seq = seq, .ack = 1, .payload_len = len, .ip_id = id,
					     .position = (uint32_t)k };
		k++;
		id = (uint16_t)(id + segs);
		seq += len;
		pkts[k] = (struct pred_pkt){ .t_ns = t + 20000, .dir = 1, .proto = 6, .family = 4, .tcp_flags = 0x10,
					     .win = 489, .seq = 1, .ack = seq, .ip_id = rid++, .position = (uint32_t)k };
		k++;
	}
	return k;
}

static void test_models_tso_ip_id(void)
{
	int n = tso_flow(2000);
	double conf;
	double h = run(&predictor_header, pkts, n, 100, CHECK_IPID, &conf);
	double l = run(&predictor_last, pkts, n, 100, CHECK_IPID, &conf);
	printf("\n    TSO sender: IP ID right, header %.3f, last %.3f ", h, l);
	CU_ASSERT_TRUE(h >= 0.95);
	CU_ASSERT_TRUE(l <= 0.65); /* the receiver's +1 only */
}

int models_test_register(void)
{
	CU_pSuite s = CU_add_suite("models", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "constant-size flow", test_models_constant_size_flow);
	CU_add_test(s, "request/response alternation", test_models_request_response);
	CU_add_test(s, "bulk transfer with a segment pattern", test_models_bulk_segments);
	CU_add_test(s, "random sizes: nobody over-confident", test_models_random_sizes_not_over_confident);
	CU_add_test(s, "Modbus rhythm: flags and window by state", test_models_modbus_rhythm);
	CU_add_test(s, "DNS answer anticipated for a repeated question", test_models_dns_answer_anticipated);
	CU_add_test(s, "paced flow, 1 kHz timestamps: TSval from the clock at the predicted time",
		    test_models_paced_timestamps);
	CU_add_test(s, "TSO sender: IP ID advances by the wire segments", test_models_tso_ip_id);
	return 0;
}
