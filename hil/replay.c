/* replay: a capture sent on an interface on its own schedule, and an interface captured to a
 * file (see runner.h). */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock_mono.h"
#include "core/lathist.h"
#include "runner_impl.h"
#include "traces/memtrace.h"
#include "traces/trace.h"

/* ---- replay ------------------------------------------------------------------------------- */

/* Waits until 'target' (CLOCK_MONOTONIC): sleeps to 50 us before it, then spins, yielding the
 * CPU while it spins so that a device under test on the same machine is not starved. */
static void wait_until(const struct hil_cfg *c, uint64_t target)
{
	uint64_t now = clock_mono_ns();
	if (target > now + 100000) {
		uint64_t t = target - 50000;
		struct timespec ts = { (time_t)(t / 1000000000ull), (long)(t % 1000000000ull) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !hil__stopped(c))
			;
	}
	while (clock_mono_ns() < target && !hil__stopped(c))
		sched_yield();
}

int hil_replay(const struct hil_cfg *c, const char *trace, struct hil_result *res, struct errbuf *eb)
{
	memset(res, 0, sizeof *res);
	struct mem_trace f;
	memset(&f, 0, sizeof f);
	struct injector inj;
	memset(&inj, 0, sizeof inj);
	struct lathist *err = malloc(sizeof *err);
	int rc = err ? 0 : err_set(eb, -ERR_NOMEM, "out of memory");
	if (rc || (rc = mem_trace_load(&f, trace, eb)) != 0 || (rc = hil__injector_open(&inj, c, res, eb)) != 0 ||
	    (rc = hil__drop_privileges(c->user, eb)) != 0)
		goto out;
	lathist_init(err);
	res->started = true;
	uint64_t start = clock_mono_ns() + 1000000, target = start, total = 0;
	uint64_t deadline = c->duration_s > 0 ? start + (uint64_t)(c->duration_s * 1e9) : UINT64_MAX;
	uint64_t span = f.ts[f.n - 1] >= f.ts[0] ? f.ts[f.n - 1] - f.ts[0] : 0;
	bool done = false;
	for (uint64_t loop = 0; !done && (c->loop == 0 || loop < c->loop); loop++) {
		uint64_t base = start + (uint64_t)((double)loop * ((double)span + 1e6) / c->speed);
		for (size_t i = 0; i < f.n; i++, total++) {
			if (hil__stopped(c) || (c->count && total >= c->count)) {
				done = true;
				break;
			}
			if (c->topspeed)
				target = clock_mono_ns();
			else if (c->pps > 0)
				target = start + (uint64_t)((double)total * 1e9 / c->pps);
			else
				target = base + (uint64_t)((double)(f.ts[i] >= f.ts[0] ? f.ts[i] - f.ts[0] : 0) / c->speed);
			if (target >= deadline) {
				done = true;
				break;
			}
			wait_until(c, target);
			hil__injector_send(&inj, mem_trace_frame(&f, i), f.caplen[i]);
			uint64_t now = clock_mono_ns();
			lathist_add(err, now > target ? now - target : 0);
		}
	}
	uint64_t end = clock_mono_ns();
	/* Drift: how much longer than scheduled the whole replay took. */
	double sched_span = (double)(target - start), real_span = (double)(end - start);
	res->drift = sched_span > 0 ? (real_span - sched_span) / sched_span : 0;
	res->seconds = real_span / 1e9;
	res->send_error_p50_ns = lathist_quantile(err, 0.5);
	res->send_error_p99_ns = lathist_quantile(err, 0.99);
	res->send_error_max_ns = (double)err->max_ns;
	res->interrupted = hil__stopped(c);
out:
	hil__injector_close(&inj);
	mem_trace_free(&f);
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
	if ((rc = pcapio_open(c->in, c->ring_mb, &in, eb)) != 0 ||
	    (c->write && (rc = trace_writer_open(c->write, pcapio_linktype(in), &w, eb)) != 0) ||
	    (rc = hil__drop_privileges(c->user, eb)) != 0 || (rc = hil__touch(c->ready, eb)) != 0)
		goto out;
	rc = hil__capture_loop(c, in, capture_packet, NULL, hil__yield_cpu, w, res, NULL, eb);
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
