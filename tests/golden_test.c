/* golden_test: the shipped real captures.
 *   - every packet that decodes writes back to its own bytes (headers, payload, trailer);
 *   - the number of packets read matches the independent count in traces/MANIFEST.tsv;
 *   - the engine's counters in shadow mode (pre-crafting checked against the slow path) match tests/data/<capture>.expected, lines of
 *     "name value" recorded from a reviewed run (a change in them is a change in behaviour).
 * The list of cases is tests/data/golden.list, one capture file name a line. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine_stats.h"
#include "core/engine.h"
#include "core/pkt.h"
#include "core/route.h"
#include "traces/trace.h"

static long manifest_packets(const char *name)
{
	FILE *f = fopen("traces/MANIFEST.tsv", "r");
	if (!f)
		return -1;
	char line[8192];
	long n = -1;
	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *file = strtok_r(line, "\t", &save);
		if (!file || strcmp(file, name) != 0)
			continue;
		for (int col = 1; col < 8; col++) /* column 8: packets */
			file = strtok_r(NULL, "\t", &save);
		n = file ? strtol(file, NULL, 10) : -1;
	}
	fclose(f);
	return n;
}

static uint64_t stat_by_name(const struct engine_stats *s, const char *name, bool *known)
{
	*known = true;
#define S(field) if (strcmp(name, #field) == 0) return s->field
	S(packets_in); S(packets_out); S(bytes_out); S(flows); S(hits); S(strict_hits); S(misses);
	S(no_prediction); S(validation_failures); S(crafted); S(wasted); S(craft_failures);
	S(divergent_packets); S(ip_csum_bad); S(dns_answers); S(prefetch_built); S(prefetch_flows); S(prefetch_hits);
	S(prefetch_failed); S(prefetch_wasted);
#undef S
	for (unsigned i = 0; i < ENGINE_DROP__COUNT; i++) {
		char n[64];
		snprintf(n, sizeof n, "dropped_%s", engine_drop_name(i));
		if (strcmp(name, n) == 0)
			return s->dropped[i];
	}
	for (unsigned i = 0; i < PKT_ST__COUNT; i++) {
		char n[64];
		snprintf(n, sizeof n, "parse_%s", pkt_status_name((enum pkt_status)i));
		if (strcmp(name, n) == 0)
			return s->parse_errors[i];
	}
	*known = false;
	return 0;
}

static void check_capture(const char *name, struct route_table *rt)
{
	char path[512], exp_path[512];
	snprintf(path, sizeof path, "traces/%s", name);
	snprintf(exp_path, sizeof exp_path, "tests/data/%s.expected", name);
	struct trace *tr = NULL;
	struct errbuf eb;
	if (trace_open(path, &tr, &eb)) {
		CU_FAIL("cannot open a shipped capture");
		return;
	}
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.routes = rt;
	c.mode = ENGINE_SHADOW; /* the pre-crafting counters, plus divergences measured */
	struct engine *e = NULL;
	CU_ASSERT_FATAL(engine_create(&c, &e, &eb) == 0);
	int lt = trace_linktype(tr);
	struct trace_rec rec;
	long n = 0, mismatched = 0;
	static uint8_t out[300000];
	while (trace_next(tr, &rec, &eb) == 1) {
		n++;
		struct pkt p;
		if (pkt_parse(rec.data, rec.caplen, rec.wirelen, lt, &p) == 0 && p.l3 != PKT_L3_NONE) {
			pkt_tcp_opts(&p);
			int h = pkt_write_headers(&p, out, sizeof out);
			uint32_t total = (uint32_t)h + p.payload_avail + p.trailer_len;
			if (h < 0 || total != rec.caplen) {
				mismatched++;
			} else {
				memcpy(out + h, p.payload, p.payload_avail);
				if (p.trailer_len)
					memcpy(out + h + p.payload_avail, p.trailer, p.trailer_len);
				mismatched += memcmp(out, rec.data, rec.caplen) != 0;
			}
		}
		engine_process(e, rec.data, rec.caplen, rec.wirelen, lt, rec.t_ns, NULL);
	}
	trace_close(tr);
	engine_finish(e);
	struct engine_stats st;
	engine_get_stats(e, &st);
	engine_destroy(e);

	if (mismatched)
		fprintf(stderr, "\n  %s: %ld packets did not round-trip\n", name, mismatched);
	CU_ASSERT_EQUAL(mismatched, 0);
	CU_ASSERT_EQUAL(n, manifest_packets(name));

	FILE *f = fopen(exp_path, "r");
	if (!f) {
		CU_FAIL("missing expected file");
		return;
	}
	char key[64];
	unsigned long long want;
	int checked = 0;
	while (fscanf(f, "%63s %llu", key, &want) == 2) {
		bool known;
		uint64_t got = stat_by_name(&st, key, &known);
		CU_ASSERT_TRUE(known);
		if (known && got != want)
			fprintf(stderr, "\n  %s: %s is %llu, expected %llu\n", name, key, (unsigned long long)got, want);
		CU_ASSERT_EQUAL(got, want);
		checked++;
	}
	fclose(f);
	CU_ASSERT_TRUE(checked >= 10);
}

static void test_golden_shipped_captures(void)
{
	struct route_table *rt = NULL;
	struct errbuf eb;
	CU_ASSERT_FATAL(route_table_create(&rt) == 0);
	CU_ASSERT_FATAL(route_load_file(rt, "scenarios/default.routes", &eb) == 0);
	FILE *list = fopen("tests/data/golden.list", "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	char name[256];
	int cases = 0;
	while (fscanf(list, "%255s", name) == 1) {
		check_capture(name, rt);
		cases++;
	}
	fclose(list);
	CU_ASSERT_TRUE(cases >= 10);
	route_table_destroy(rt);
}

int golden_test_register(void)
{
	CU_pSuite s = CU_add_suite("golden", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "shipped captures: round trip, counts, counters", test_golden_shipped_captures);
	return 0;
}
