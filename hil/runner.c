/* runner: forward, replay and capture on real interfaces (see runner.h). */
#include "runner.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/engine.h"
#include "core/lathist.h"
#include "netio.h"
#include "pcapio.h"
#include "traces/trace.h"

#define MAX_FRAME (262144 + 4096)

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool stopped(const struct hil_cfg *c)
{
	return c->stop && *c->stop;
}

/* Drops root to 'user' after the handles are open. */
static int drop_privileges(const char *user, struct errbuf *eb)
{
	if (!user)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return err_set(eb, -ERR_NOTFOUND, "-Z: no such user '%s'", user);
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
		return err_set(eb, -ERR_IO, "-Z %s: cannot drop privileges: %s", user, strerror(errno));
	return 0;
}

static int touch(const char *path, struct errbuf *eb)
{
	if (!path)
		return 0;
	FILE *f = fopen(path, "w");
	if (!f || fclose(f))
		return err_set(eb, -ERR_IO, "%s: cannot create the ready file: %s", path, strerror(errno));
	return 0;
}

/* An injector: libpcap or libnet, as chosen, with a buffer to gather a frame in. */
struct injector {
	struct pcapio *pc;
	struct netio *ln;
	uint8_t *buf;
	struct hil_result *res;
	struct errbuf eb;
};

static int injector_open(struct injector *inj, const struct hil_cfg *c, struct hil_result *res, struct errbuf *eb)
{
	memset(inj, 0, sizeof *inj);
	inj->res = res;
	if (!(inj->buf = malloc(MAX_FRAME)))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	return c->inject == HIL_INJECT_LIBNET ? netio_open(c->out, &inj->ln, eb) : pcapio_open(c->out, &inj->pc, eb);
}

/* A frame not sent: counted, the first one's error kept (from inj->eb). */
static void inject_failed(struct injector *inj)
{
	if (!inj->res->inject_errors++)
		snprintf(inj->res->inject_error, sizeof inj->res->inject_error, "%s", inj->eb.msg);
}

static void injector_send(struct injector *inj, const uint8_t *f, uint32_t len)
{
	int rc = inj->ln ? netio_send(inj->ln, f, len, &inj->eb) : pcapio_inject(inj->pc, f, len, &inj->eb);
	if (rc == 0) {
		inj->res->sent++;
		return;
	}
	inject_failed(inj);
}

static void injector_close(struct injector *inj)
{
	netio_close(inj->ln);
	pcapio_close(inj->pc);
	free(inj->buf);
}

/* ---- the capture loop of forward and capture ------------------------------------------- */

typedef void on_packet_fn(void *arg, const struct pcapio_pkt *p);

/* Reads 'in' until the count, the duration or Ctrl-C, handing each packet to 'fn'.  Returns 0,
 * or -ERR_IO when capture failed ('res' holds what came before). */
static int capture_loop(const struct hil_cfg *c, struct pcapio *in, on_packet_fn *fn, void *arg,
			struct hil_result *res, struct errbuf *eb)
{
	res->started = true;
	uint64_t start = clock_ns(CLOCK_REALTIME);
	uint64_t deadline = c->duration_s > 0 ? start + (uint64_t)(c->duration_s * 1e9) : UINT64_MAX;
	int rc = 0;
	while (!stopped(c) && (!c->count || res->packets < c->count) && clock_ns(CLOCK_REALTIME) < deadline) {
		if ((rc = pcapio_wait(in, 20, eb)) < 0)
			break;
		struct pcapio_pkt p;
		while ((!c->count || res->packets < c->count) && (rc = pcapio_next(in, &p, eb)) == 1) {
			res->packets++;
			res->bytes += p.wirelen;
			fn(arg, &p);
		}
		if (rc < 0)
			break;
	}
	res->seconds = (double)(clock_ns(CLOCK_REALTIME) - start) / 1e9;
	res->interrupted = stopped(c);
	return rc > 0 ? 0 : rc;
}

/* ---- forward ------------------------------------------------------------------------------ */

struct fwd_ctx {
	struct engine *eng;
	int linktype;
	struct latency_set *lat;
};

/* One packet through the engine; its latency from the kernel's capture timestamp to now, the
 * end of its processing and injection. */
static void fwd_packet(void *arg, const struct pcapio_pkt *p)
{
	struct fwd_ctx *f = arg;
	struct engine_result r;
	engine_process(f->eng, p->data, p->caplen, p->wirelen, f->linktype, p->t_ns, &r);
	uint64_t now = clock_ns(CLOCK_REALTIME), d = now > p->t_ns ? now - p->t_ns : 0;
	lathist_add(&f->lat->all, d);
	if (r.path == ENGINE_PATH_HIT) {
		lathist_add(&f->lat->hit, d);
	} else if (r.path == ENGINE_PATH_SLOW) {
		lathist_add(&f->lat->slow, d);
		lathist_add(&f->lat->baseline, d);
	}
}

static void fwd_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		   uint32_t wirelen, uint64_t t_ns)
{
	(void)wirelen, (void)t_ns;
	struct injector *inj = arg;
	if (hdr_len > MAX_FRAME || payload_len > MAX_FRAME - hdr_len) {
		/* Not a frame any interface takes: refused here, counted, never truncated. */
		err_set(&inj->eb, -ERR_NOBUFS, "a %u-byte frame is larger than the transmit buffer", hdr_len + payload_len);
		inject_failed(inj);
		return;
	}
	memcpy(inj->buf, hdr, hdr_len);
	if (payload_len)
		memcpy(inj->buf + hdr_len, payload, payload_len);
	injector_send(inj, inj->buf, hdr_len + payload_len);
}

int hil_forward(const struct hil_cfg *c, struct engine_cfg *ecfg, struct latency_set *lat, struct engine_stats *es,
		struct hil_result *res, struct errbuf *eb)
{
	memset(res, 0, sizeof *res);
	memset(es, 0, sizeof *es);
	struct pcapio *in = NULL;
	struct injector inj;
	struct engine *eng = NULL;
	int rc;
	memset(&inj, 0, sizeof inj);
	if ((rc = pcapio_open(c->in, &in, eb)) != 0 || (rc = injector_open(&inj, c, res, eb)) != 0)
		goto out;
	ecfg->tx = fwd_tx;
	ecfg->tx_arg = &inj;
	if ((rc = engine_create(ecfg, &eng, eb)) != 0 || (rc = drop_privileges(c->user, eb)) != 0 ||
	    (rc = touch(c->ready, eb)) != 0)
		goto out;
	struct fwd_ctx fc = { eng, pcapio_linktype(in), lat };
	rc = capture_loop(c, in, fwd_packet, &fc, res, eb);
out:
	if (in)
		pcapio_stats(in, &res->capture_received, &res->capture_dropped);
	if (eng) {
		engine_finish(eng);
		engine_get_stats(eng, es);
	}
	engine_destroy(eng);
	pcapio_close(in);
	injector_close(&inj);
	return rc;
}

/* ---- replay ------------------------------------------------------------------------------- */

/* Waits until 'target' (CLOCK_MONOTONIC): sleeps to 50 us before it, then spins, yielding the
 * CPU while it spins so that a device under test on the same machine is not starved. */
static void wait_until(const struct hil_cfg *c, uint64_t target)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	if (target > now + 100000) {
		uint64_t t = target - 50000;
		struct timespec ts = { (time_t)(t / 1000000000ull), (long)(t % 1000000000ull) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stopped(c))
			;
	}
	while (clock_ns(CLOCK_MONOTONIC) < target && !stopped(c))
		sched_yield();
}

/* A capture in memory, so that reading it does not disturb the schedule. */
struct frames {
	uint8_t *bytes;
	uint64_t *off, *ts;
	uint32_t *len;
	size_t n, cap, blen, bcap;
};

static int frames_add(struct frames *f, const struct trace_rec *r)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4096;
		uint64_t *off = realloc(f->off, cap * sizeof *off);
		if (off)
			f->off = off;
		uint64_t *ts = realloc(f->ts, cap * sizeof *ts);
		if (ts)
			f->ts = ts;
		uint32_t *len = realloc(f->len, cap * sizeof *len);
		if (len)
			f->len = len;
		if (!off || !ts || !len)
			return -ERR_NOMEM;
		f->cap = cap;
	}
	if (f->blen + r->caplen > f->bcap) {
		size_t bcap = (f->blen + r->caplen) * 2;
		uint8_t *b = realloc(f->bytes, bcap);
		if (!b)
			return -ERR_NOMEM;
		f->bytes = b;
		f->bcap = bcap;
	}
	memcpy(f->bytes + f->blen, r->data, r->caplen);
	f->off[f->n] = f->blen;
	f->len[f->n] = r->caplen;
	f->ts[f->n++] = r->t_ns;
	f->blen += r->caplen;
	return 0;
}

static void frames_free(struct frames *f)
{
	free(f->bytes);
	free(f->off);
	free(f->ts);
	free(f->len);
}

static int frames_load(struct frames *f, const char *path, struct errbuf *eb)
{
	struct trace *tr;
	int rc = trace_open(path, &tr, eb);
	if (rc)
		return rc;
	struct trace_rec r;
	while ((rc = trace_next(tr, &r, eb)) == 1)
		if ((rc = frames_add(f, &r)) != 0) {
			err_set(eb, rc, "%s: out of memory at packet %llu", path, (unsigned long long)r.index);
			break;
		}
	trace_close(tr);
	if (rc < 0)
		return rc;
	return f->n ? 0 : err_set(eb, -ERR_FORMAT, "%s: the capture has no packets", path);
}

int hil_replay(const struct hil_cfg *c, const char *trace, struct hil_result *res, struct errbuf *eb)
{
	memset(res, 0, sizeof *res);
	struct frames f;
	memset(&f, 0, sizeof f);
	struct injector inj;
	memset(&inj, 0, sizeof inj);
	struct lathist *err = malloc(sizeof *err);
	int rc = err ? 0 : err_set(eb, -ERR_NOMEM, "out of memory");
	if (rc || (rc = frames_load(&f, trace, eb)) != 0 || (rc = injector_open(&inj, c, res, eb)) != 0 ||
	    (rc = drop_privileges(c->user, eb)) != 0)
		goto out;
	lathist_init(err);
	res->started = true;
	uint64_t start = clock_ns(CLOCK_MONOTONIC) + 1000000, target = start, total = 0;
	uint64_t deadline = c->duration_s > 0 ? start + (uint64_t)(c->duration_s * 1e9) : UINT64_MAX;
	uint64_t span = f.ts[f.n - 1] >= f.ts[0] ? f.ts[f.n - 1] - f.ts[0] : 0;
	bool done = false;
	for (uint64_t loop = 0; !done && (c->loop == 0 || loop < c->loop); loop++) {
		uint64_t base = start + (uint64_t)((double)loop * ((double)span + 1e6) / c->speed);
		for (size_t i = 0; i < f.n; i++, total++) {
			if (stopped(c) || (c->count && total >= c->count)) {
				done = true;
				break;
			}
			if (c->topspeed)
				target = clock_ns(CLOCK_MONOTONIC);
			else if (c->pps > 0)
				target = start + (uint64_t)((double)total * 1e9 / c->pps);
			else
				target = base + (uint64_t)((double)(f.ts[i] >= f.ts[0] ? f.ts[i] - f.ts[0] : 0) / c->speed);
			if (target >= deadline) {
				done = true;
				break;
			}
			wait_until(c, target);
			injector_send(&inj, f.bytes + f.off[i], f.len[i]);
			uint64_t now = clock_ns(CLOCK_MONOTONIC);
			lathist_add(err, now > target ? now - target : 0);
		}
	}
	uint64_t end = clock_ns(CLOCK_MONOTONIC);
	/* Drift: how much longer than scheduled the whole replay took. */
	double sched_span = (double)(target - start), real_span = (double)(end - start);
	res->drift = sched_span > 0 ? (real_span - sched_span) / sched_span : 0;
	res->seconds = real_span / 1e9;
	res->send_error_p50_ns = lathist_quantile(err, 0.5);
	res->send_error_p99_ns = lathist_quantile(err, 0.99);
	res->send_error_max_ns = (double)err->max_ns;
	res->interrupted = stopped(c);
out:
	injector_close(&inj);
	frames_free(&f);
	free(err);
	return rc;
}

/* ---- capture ------------------------------------------------------------------------------ */

static void capture_packet(void *arg, const struct pcapio_pkt *p)
{
	if (arg)
		trace_writer_put(arg, p->data, p->caplen, p->wirelen, p->t_ns);
}

int hil_capture(const struct hil_cfg *c, struct hil_result *res, struct errbuf *eb)
{
	memset(res, 0, sizeof *res);
	struct pcapio *in = NULL;
	struct trace_writer *w = NULL;
	int rc;
	if ((rc = pcapio_open(c->in, &in, eb)) != 0 ||
	    (c->write && (rc = trace_writer_open(c->write, pcapio_linktype(in), &w, eb)) != 0) ||
	    (rc = drop_privileges(c->user, eb)) != 0 || (rc = touch(c->ready, eb)) != 0)
		goto out;
	rc = capture_loop(c, in, capture_packet, w, res, eb);
out:
	if (in)
		pcapio_stats(in, &res->capture_received, &res->capture_dropped);
	pcapio_close(in);
	if (w) {
		int wrc = trace_writer_close(w, rc ? NULL : eb);
		if (!rc)
			rc = wrc;
	}
	return rc;
}
