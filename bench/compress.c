/* compress: `bench compress TRACE ROUTES [ML_MODEL]`, header compression's cost per packet
 * beside the slow path's routing cost, in one run.
 *
 * The trace (in memory) goes once through a baseline engine whose egress frames are kept; then,
 * REPS times each, a fresh compressor compresses every egress frame and a fresh decompressor
 * rebuilds them (the rebuilt frames are checked against the egress, so that what is timed is a
 * working link).  The routing figure is the baseline engine's whole run over the same trace, per
 * packet.  Medians with the spread (min-max). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/clock_mono.h"
#include "core/engine.h"
#include "core/hc.h"
#include "core/predict.h"
#include "core/route.h"
#include "models/registry.h"
#include "traces/memtrace.h"

struct frames {
	uint8_t *bytes;
	uint32_t *len;
	uint64_t *off, *ts;
	size_t n, cap, blen, bcap;
};

static int put(struct frames *f, const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn, uint64_t t)
{
	if (f->n == f->cap) {
		size_t c = f->cap ? f->cap * 2 : 4096;
		uint32_t *l = realloc(f->len, c * sizeof *l);
		uint64_t *o = l ? realloc(f->off, c * sizeof *o) : NULL;
		if (l)
			f->len = l;
		if (o)
			f->off = o;
		uint64_t *ts = o ? realloc(f->ts, c * sizeof *ts) : NULL;
		if (!ts)
			return -1;
		f->ts = ts;
		f->cap = c;
	}
	if (f->blen + an + bn > f->bcap) {
		size_t c = (f->bcap + an + bn) * 2;
		uint8_t *b2 = realloc(f->bytes, c);
		if (!b2)
			return -1;
		f->bytes = b2;
		f->bcap = c;
	}
	f->off[f->n] = f->blen;
	memcpy(f->bytes + f->blen, a, an);
	if (bn)
		memcpy(f->bytes + f->blen + an, b, bn);
	f->len[f->n] = an + bn;
	f->ts[f->n++] = t;
	f->blen += an + bn;
	return 0;
}

static bool put_failed;
static void keep_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		    uint32_t wirelen, uint64_t t_ns)
{
	(void)wirelen;
	put_failed |= put(arg, hdr, hdr_len, payload, payload_len, t_ns) != 0;
}

/* The baseline engine over 'm': seconds; its egress into 'eg' when not NULL. */
static double route_all(const struct mem_trace *m, struct route_table *rt, struct frames *eg)
{
	struct engine_cfg c;
	engine_cfg_defaults(&c);
	c.mode = ENGINE_BASELINE;
	c.routes = rt;
	c.flow_capacity = 1 << 20;
	c.tx = eg ? keep_tx : NULL;
	c.tx_arg = eg;
	struct engine *e;
	struct errbuf eb;
	if (engine_create(&c, &e, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		exit(1);
	}
	uint64_t t0 = clock_mono_ns();
	for (size_t i = 0; i < m->n; i++)
		engine_process(e, mem_trace_frame(m, i), m->caplen[i], m->wirelen[i], m->linktype, m->ts[i], NULL);
	double s = (double)(clock_mono_ns() - t0) / 1e9;
	engine_finish(e);
	engine_destroy(e);
	return s;
}

static uint64_t clock_cb(void *arg)
{
	(void)arg;
	return clock_mono_ns();
}

static struct hc *make(const char *name, const struct predictor_ops *ops, void *pred, bool dec, bool timed)
{
	struct hc_cfg cfg = { .contexts = HC_CONTEXTS_DEFAULT, .refresh = HC_REFRESH_DEFAULT, .ops = ops, .pred = pred,
			      .now_ns = timed ? clock_cb : NULL };
	snprintf(cfg.name, sizeof cfg.name, "%s", name);
	struct hc *h;
	struct errbuf eb;
	if (hc_create(&cfg, dec, &h, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		exit(1);
	}
	return h;
}

/* A fresh instance of predictor 'ops' in '*pred'. */
static int renew(const struct predictor_ops *ops, const char *model, void **pred)
{
	struct errbuf eb;
	ops->destroy(*pred);
	*pred = NULL;
	if (ops->create(model, pred, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return 1;
	}
	return 0;
}

/* One compressor over the egress, REPS times both ways; prints its figures. */
static int one(const char *name, const char *model, const struct frames *eg, struct frames *link, int reps,
	       double clock_ns)
{
	const struct predictor_ops *ops = strcmp(name, "vj") ? models_find(name) : NULL;
	void *pred = NULL;
	struct errbuf eb;
	if (ops && ops->create(model, &pred, &eb)) {
		fprintf(stderr, "%s: %s\n", name, eb.msg);
		return 1;
	}
	enum { MAXREPS = 15 };
	double cns[MAXREPS], dns[MAXREPS], cpath[MAXREPS], cafter[MAXREPS], dpath[MAXREPS], dafter[MAXREPS], lo, hi;
	uint8_t *out = malloc((1u << 18) + HC_HDR_MAX + 64);
	if (!out)
		return 1;
	double hdr_out = 0, hdr_in = 0;
	/* The link's frames, kept once (untimed) for the decompressor; the timed runs compress
	 * into one scratch frame, as a sender that transmits each at once. */
	struct hc *c = make(name, ops, pred, false, false);
	link->n = link->blen = 0;
	for (size_t i = 0; i < eg->n; i++) {
		uint32_t n = hc_compress(c, eg->bytes + eg->off[i], eg->len[i], eg->len[i], eg->ts[i], out);
		if (put(link, out, n, NULL, 0, eg->ts[i]))
			return 1;
	}
	hdr_in = (double)hc_get_stats(c)->header_bytes_in;
	hdr_out = (double)hc_get_stats(c)->header_bytes_out;
	hc_destroy(c);
	/* Untimed runs (the whole call, nothing added) alternate with runs timed inside (on the
	 * packet's path, and after it), less the clock's own cost per interval. */
	for (int r = 0; r < 2 * reps; r++) {
		bool timed = r & 1;
		if (ops && renew(ops, model, &pred))
			return 1;
		c = make(name, ops, pred, false, timed);
		uint64_t t0 = clock_mono_ns();
		struct hc_tail tail;
		for (size_t i = 0; i < eg->n; i++)
			(void)hc_compress_split(c, eg->bytes + eg->off[i], eg->len[i], eg->len[i], eg->ts[i], out, &tail);
		double whole = (double)(clock_mono_ns() - t0) / (double)eg->n;
		const struct hc_stats *st = hc_get_stats(c);
		if (timed) {
			cpath[r / 2] = (double)st->path_ns / (double)eg->n - clock_ns;
			cafter[r / 2] = st->after_ns ? (double)st->after_ns / (double)eg->n - clock_ns : 0;
		} else {
			cns[r / 2] = whole;
		}
		hc_destroy(c);
		/* The decompressor's predictor starts from nothing, as the far end's would. */
		if (ops && renew(ops, model, &pred))
			return 1;
		struct hc *d = make(name, ops, pred, true, timed);
		size_t bad = 0;
		t0 = clock_mono_ns();
		for (size_t i = 0; i < link->n; i++) {
			uint32_t n = hc_decompress(d, link->bytes + link->off[i], link->len[i], link->ts[i], out,
						   (1u << 18) + HC_HDR_MAX + 64);
			bad += n != eg->len[i];
		}
		whole = (double)(clock_mono_ns() - t0) / (double)link->n;
		st = hc_get_stats(d);
		if (timed) {
			dpath[r / 2] = (double)st->path_ns / (double)link->n - clock_ns;
			dafter[r / 2] = st->after_ns ? (double)st->after_ns / (double)link->n - clock_ns : 0;
		} else {
			dns[r / 2] = whole;
		}
		hc_destroy(d);
		if (bad) {
			fprintf(stderr, "%s: %zu frames not rebuilt\n", name, bad);
			return 1;
		}
	}
	double m = bench_median_spread(cns, (size_t)reps, &lo, &hi);
	printf("compress_ns_%s %.1f\ncompress_ns_%s_spread %.0f-%.0f\n", name, m, name, lo, hi);
	m = bench_median_spread(dns, (size_t)reps, &lo, &hi);
	printf("decompress_ns_%s %.1f\ndecompress_ns_%s_spread %.0f-%.0f\n", name, m, name, lo, hi);
	m = bench_median_spread(cpath, (size_t)reps, &lo, &hi);
	printf("compress_path_ns_%s %.1f\n", name, m);
	m = bench_median_spread(cafter, (size_t)reps, &lo, &hi);
	printf("compress_after_ns_%s %.1f\n", name, m);
	m = bench_median_spread(dpath, (size_t)reps, &lo, &hi);
	printf("decompress_path_ns_%s %.1f\n", name, m);
	m = bench_median_spread(dafter, (size_t)reps, &lo, &hi);
	printf("decompress_after_ns_%s %.1f\n", name, m);
	printf("header_bytes_per_packet_%s %.2f\n", name, hdr_out / (double)eg->n);
	if (!strcmp(name, "vj"))
		printf("header_bytes_in_per_packet %.2f\n", hdr_in / (double)eg->n);
	if (ops)
		ops->destroy(pred);
	free(out);
	(void)eb;
	return 0;
}

int bench_compress(const char *trace, const char *routes, const char *model)
{
	struct mem_trace m;
	struct errbuf eb;
	if (mem_trace_load(&m, trace, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return 1;
	}
	struct route_table *rt;
	if (route_table_create(&rt) || route_load_file(rt, routes, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return 1;
	}
	const char *env = getenv("BENCH_REPS");
	int reps = env ? atoi(env) : 5;
	if (reps < 1 || reps > 15)
		reps = 5;
	struct frames eg = { 0 }, link = { 0 };
	/* The clock's own cost, subtracted from each timed interval. */
	uint64_t t0 = clock_mono_ns(), dummy = 0;
	for (int i = 0; i < 1000000; i++)
		dummy += clock_mono_ns();
	double clock_ns = (double)(clock_mono_ns() - t0) / 1e6;
	(void)dummy;
	printf("clock_ns %.1f\n", clock_ns);
	route_all(&m, rt, &eg);
	if (put_failed)
		return 1;
	double rs[15], lo, hi;
	for (int r = 0; r < reps; r++)
		rs[r] = route_all(&m, rt, NULL) * 1e9 / (double)m.n;
	double med = bench_median_spread(rs, (size_t)reps, &lo, &hi);
	printf("compress_packets %zu\nrouting_ns %.1f\nrouting_ns_spread %.0f-%.0f\n", eg.n, med, lo, hi);
	int rc = 0;
	const char *names[] = { "vj", "last", "header", "ml" };
	for (size_t i = 0; i < 4 && !rc; i++)
		if (strcmp(names[i], "ml") || model)
			rc = one(names[i], strcmp(names[i], "ml") ? NULL : model, &eg, &link, reps, clock_ns);
	free(eg.bytes), free(eg.len), free(eg.off), free(eg.ts);
	free(link.bytes), free(link.len), free(link.off), free(link.ts);
	route_table_destroy(rt);
	mem_trace_free(&m);
	return rc;
}
