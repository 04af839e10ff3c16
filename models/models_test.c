/* models_test: each predictor on synthetic flows of known structure reaches the accuracy that
 * structure allows after its warm-up, and none is over-confident on random sizes. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "core/predict.h"
#include "predictors.h"

static const struct predictor_ops *const all[] = { &predictor_last, &predictor_mode, &predictor_markov1,
						   &predictor_header };
#define N_ALL (sizeof all / sizeof all[0])

/* A flow: packets fed in order; after each, both directions are predicted (as eval does).
 * Returns the share of packets after 'warmup' whose size (and, with 'header', every header
 * field) was predicted right; '*mean_conf' is the mean stated confidence then. */
static double run(const struct predictor_ops *ops, const struct pred_pkt *pk, int n, int warmup, int header,
		  double *mean_conf)
{
	void *self = NULL;
	if (ops->create(NULL, &self, NULL))
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
			if (header)
				ok = ok && p->ip_id == a->ip_id && p->seq == a->seq && p->ack == a->ack &&
				     p->tcp_flags == a->tcp_flags && p->win == a->win;
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
		double conf, acc = run(all[m], pkts, 200, 5, 0, &conf);
		CU_ASSERT_DOUBLE_EQUAL(acc, 1.0, 1e-9);
		CU_ASSERT_TRUE(conf > 0.8); /* a regular flow earns its confidence */
	}
	/* The header model also gets every IP ID of a counting host. */
	double conf;
	CU_ASSERT_DOUBLE_EQUAL(run(&predictor_header, pkts, 200, 5, 1, &conf), 1.0, 1e-9);
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
		CU_ASSERT_DOUBLE_EQUAL(run(all[m], pkts, n, 10, 0, &conf), 1.0, 1e-9);
	/* Only the header model follows the acknowledgements across directions. */
	double h = run(&predictor_header, pkts, n, 10, 1, &conf);
	double l = run(&predictor_last, pkts, n, 10, 1, &conf);
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
	double mk = run(&predictor_markov1, pkts, 800, 40, 0, &conf);
	double la = run(&predictor_last, pkts, 800, 40, 0, &conf);
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
		double conf, acc = run(all[m], pkts, 2000, 20, 0, &conf);
		CU_ASSERT_TRUE(acc < 0.05);
		/* What a predictor states is close to what it gets. */
		CU_ASSERT_TRUE(conf < acc + 0.1);
	}
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
	return 0;
}
