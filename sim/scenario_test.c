/* scenario_test: the scenario's keys read back what they print (every key of every shipped
 * scenario, set from scenario_each's text into the defaults, gives the same scenario), and the
 * `last` predictor's contract on a decoded packet (core/predict.c: pred_pkt_fill, observe,
 * predict). */
#include <CUnit/CUnit.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pkt.h"
#include "core/predict.h"
#include "scenario.h"
#include "tests/pktgen.h"

/* The text of a scenario: every key and value, one a line, in scenario_each's order. */
struct text {
	char *buf;
	size_t len, cap;
	unsigned n;
};

static void put_line(void *arg, const char *name, const char *value)
{
	struct text *t = arg;
	size_t need = strlen(name) + strlen(value) + 3;
	if (t->len + need >= t->cap) {
		t->cap = (t->len + need) * 2;
		t->buf = realloc(t->buf, t->cap);
	}
	t->len += (size_t)snprintf(t->buf + t->len, t->cap - t->len, "%s=%s\n", name, value);
	t->n++;
}

static void as_text(const struct scenario *s, struct text *t)
{
	memset(t, 0, sizeof *t);
	scenario_each(s, put_line, t);
}

static void test_scenario_keys_read_back_what_they_print(void)
{
	glob_t g;
	CU_ASSERT_FATAL(glob("scenarios/*.ini", 0, NULL, &g) == 0);
	CU_ASSERT(g.gl_pathc >= 10);
	struct scenario *a = malloc(sizeof *a), *b = malloc(sizeof *b);
	CU_ASSERT_FATAL(a && b);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct errbuf eb = { "" };
		scenario_defaults(a);
		CU_ASSERT_EQUAL_FATAL(scenario_load(a, g.gl_pathv[i], &eb), 0);
		struct text ta, tb;
		as_text(a, &ta);
		/* The defaults, then every printed key set back from its printed value. */
		scenario_defaults(b);
		memcpy(b->path, a->path, sizeof b->path); /* paths resolve from the file's folder */
		char *save = NULL;
		int bad = 0;
		for (char *line = strtok_r(ta.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (scenario_set(b, line, &eb) != 0) {
				fprintf(stderr, "\n  %s: '%s': %s", g.gl_pathv[i], line, eb.msg);
				bad++;
			}
		}
		CU_ASSERT_EQUAL(bad, 0);
		free(ta.buf);
		as_text(a, &ta); /* (strtok_r cut the first text up) */
		as_text(b, &tb);
		CU_ASSERT_EQUAL(ta.n, tb.n);
		CU_ASSERT_TRUE(ta.len == tb.len && memcmp(ta.buf, tb.buf, ta.len) == 0);
		free(ta.buf);
		free(tb.buf);
	}
	free(a);
	free(b);
	globfree(&g);
}

static void test_predict_last_on_a_decoded_packet(void)
{
	uint8_t pay[300], f[512];
	memset(pay, 'x', sizeof pay);
	struct gen_pkt g;
	gen_default(&g);
	g.payload = pay;
	g.plen = sizeof pay;
	g.ts = true;
	g.tsval = 4242;
	g.tsecr = 17;
	g.seq = 1000;
	g.ack = 77;
	g.ipid = 10;
	g.win = 512;
	struct pkt p;
	size_t n = gen_frame(&g, f, sizeof f);
	CU_ASSERT_FATAL(n > 0 && pkt_parse(f, (uint32_t)n, (uint32_t)n, 1, &p) == 0);
	pkt_tcp_opts(&p);
	struct pred_pkt pk;
	pred_pkt_fill(&pk, &p, 1, 5000, 3);
	CU_ASSERT_EQUAL(pk.dir, 1);
	CU_ASSERT_EQUAL(pk.t_ns, 5000);
	CU_ASSERT_EQUAL(pk.position, 3);
	CU_ASSERT_EQUAL(pk.family, 4);
	CU_ASSERT_EQUAL(pk.proto, 6);
	CU_ASSERT_EQUAL(pk.payload_len, 300);
	CU_ASSERT_EQUAL(pk.seq, 1000);
	CU_ASSERT_EQUAL(pk.ack, 77);
	CU_ASSERT_EQUAL(pk.ip_id, 10);
	CU_ASSERT_EQUAL(pk.win, 512);
	CU_ASSERT_TRUE(pk.has_ts);
	CU_ASSERT_EQUAL(pk.tsval, 4242);
	CU_ASSERT_EQUAL(pk.tsecr, 17);
	CU_ASSERT_EQUAL(pk.sport, g.sport);
	CU_ASSERT_EQUAL(pk.dport, g.dport);
	CU_ASSERT_NOT_EQUAL(pk.opt_kinds, 0);
	/* `last`: nothing before the direction's first packet; then its size again, seq advanced by
	 * the payload, the IP ID by its step, and a confidence that grows with repeats. */
	const struct predictor_ops *ops = &predictor_last;
	void *self = NULL;
	struct errbuf eb;
	CU_ASSERT_FATAL(ops->create(NULL, &self, &eb) == 0);
	uint8_t *state = calloc(1, ops->flow_state_size);
	struct pred_out o;
	memset(&o, 0, sizeof o);
	CU_ASSERT_FALSE(ops->predict(self, state, &pk, &o));
	ops->observe(self, state, &pk);
	float c0 = 0;
	for (int i = 0; i < 4; i++) {
		memset(&o, 0, sizeof o);
		CU_ASSERT_TRUE_FATAL(ops->predict(self, state, &pk, &o));
		CU_ASSERT_EQUAL(o.payload_len, 300);
		CU_ASSERT_EQUAL(o.seq, pk.seq + 300);
		CU_ASSERT_EQUAL(o.ack, pk.ack);
		CU_ASSERT_EQUAL(o.ip_id, (uint16_t)(pk.ip_id + (i ? 1 : 0)));
		CU_ASSERT_TRUE((o.fields & (PRED_LEN | PRED_SEQ | PRED_ACK | PRED_IPID)) ==
			       (PRED_LEN | PRED_SEQ | PRED_ACK | PRED_IPID));
		CU_ASSERT(o.confidence >= c0);
		c0 = o.confidence;
		pk.seq += 300;
		pk.ip_id++;
		ops->observe(self, state, &pk);
	}
	CU_ASSERT(c0 > 0.75f); /* 1/2, then a quarter of the way to 1 per repeat: 0.79 */
	/* A SYN advances seq by one; the other direction knows nothing yet. */
	pk.tcp_flags = 0x02;
	pk.payload_len = 0;
	CU_ASSERT_TRUE(ops->predict(self, state, &pk, &o));
	CU_ASSERT_EQUAL(o.seq, pk.seq + 1);
	pk.dir = 0;
	CU_ASSERT_FALSE(ops->predict(self, state, &pk, &o));
	ops->destroy(self);
	free(state);
}

int scenario_test_register(void)
{
	CU_pSuite s = CU_add_suite("scenario", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "every key of every shipped scenario reads back what it prints",
		    test_scenario_keys_read_back_what_they_print);
	CU_add_test(s, "predict: pred_pkt_fill and the `last` predictor on a decoded packet",
		    test_predict_last_on_a_decoded_packet);
	return 0;
}
