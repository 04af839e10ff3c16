/* runner: forward on real interfaces, and what replay and capture share with it (see runner.h;
 * replay.c: replay and capture). */
#define _GNU_SOURCE /* pthread_setaffinity_np, CPU_SET, sched_getaffinity */
#include "runner.h"
#include "runner_impl.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/engine.h"
#include "core/hc.h"
#include "core/lathist.h"
#include "core/rcu.h"
#include "core/route.h"
#include "core/stats.h"
#include "netio.h"
#include "pcapio.h"
#include "quota.h"
#include "traces/trace.h"


uint64_t hil__wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A spinning worker's pause: lets the sibling hyperthread run and saves power. */
static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* A spinning sink's pause: it gives its core to whatever else is runnable there (in the lab the
 * generator shares it), so that spinning costs the sink only the time nobody else wants, and
 * the DUT's send need not wake a sleeping sink (an IPI: several microseconds in a VM). */
void hil__yield_cpu(void)
{
	sched_yield();
}

bool hil__stopped(const struct hil_cfg *c)
{
	return c->stop && *c->stop;
}

/* Drops root to 'user' after the handles are open. */
int hil__drop_privileges(const char *user, struct errbuf *eb)
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

int hil__touch(const char *path, struct errbuf *eb)
{
	if (!path)
		return 0;
	FILE *f = fopen(path, "w");
	if (!f || fclose(f))
		return err_set(eb, -ERR_IO, "%s: cannot create the ready file: %s", path, strerror(errno));
	return 0;
}

/* An injector: libpcap or libnet, as chosen, with a buffer to gather a frame in. */

int hil__injector_open(struct injector *inj, const struct hil_cfg *c, struct hil_result *res, struct errbuf *eb)
{
	memset(inj, 0, sizeof *inj);
	inj->res = res;
	if (!(inj->buf = malloc(MAX_FRAME)))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	return c->inject == HIL_INJECT_LIBNET ? netio_open(c->out, &inj->ln, eb)
						: pcapio_open(c->out, 1, &inj->pc, eb); /* its ring is never read */
}

/* A frame not sent: counted, the first one's error kept (from inj->eb). */
static void inject_failed(struct injector *inj)
{
	if (!inj->res->inject_errors++)
		snprintf(inj->res->inject_error, sizeof inj->res->inject_error, "%s", inj->eb.msg);
}

void hil__injector_send(struct injector *inj, const uint8_t *f, uint32_t len)
{
	int rc = inj->ln ? netio_send(inj->ln, f, len, &inj->eb) : pcapio_inject(inj->pc, f, len, &inj->eb);
	if (rc == 0) {
		inj->res->sent++;
		return;
	}
	inject_failed(inj);
}

void hil__injector_close(struct injector *inj)
{
	netio_close(inj->ln);
	pcapio_close(inj->pc);
	free(inj->buf);
}

/* ---- the capture loop of forward and capture ------------------------------------------- */


/* The packet count: one handle's own, or the workers' shared quota (quota.h). */
static bool count_reached(const struct hil_cfg *c, const struct hil_result *res, struct quota *q)
{
	return q ? quota_reached(q) : c->count && res->packets >= c->count;
}

/* Reads 'in' until the count, the duration or Ctrl-C, handing each packet to 'fn' and calling
 * 'idle' (may be NULL) before each wait.  With c->busy_poll it never sleeps: 'relax' is called
 * when nothing was waiting.  Returns 0, or -ERR_IO when capture failed ('res' holds what came
 * before). */
int hil__capture_loop(const struct hil_cfg *c, struct pcapio *in, on_packet_fn *fn, void (*idle)(void *arg),
			void (*relax)(void), void *arg, struct hil_result *res, struct quota *q,
			struct errbuf *eb)
{
	res->started = true;
	uint64_t start = hil__wall_ns();
	uint64_t deadline = c->duration_s > 0 ? start + (uint64_t)(c->duration_s * 1e9) : UINT64_MAX;
	int rc = 0;
	while (!hil__stopped(c) && !count_reached(c, res, q) && hil__wall_ns() < deadline) {
		if (idle)
			idle(arg);
		if (!c->busy_poll && (rc = pcapio_wait(in, 20, eb)) < 0)
			break;
		struct pcapio_pkt p;
		bool got = false;
		/* One handle stops before reading past its count; a worker claims what it has read,
		 * one atomic add per packet (quota.h). */
		while ((q || !count_reached(c, res, NULL)) && (rc = pcapio_next(in, &p, eb)) == 1) {
			if (q && !quota_claim(q))
				break; /* past the count: the other workers have the rest */
			got = true;
			res->packets++;
			res->bytes += p.wirelen;
			fn(arg, &p);
		}
		if (rc < 0)
			break;
		if (c->busy_poll && !got)
			relax();
	}
	res->seconds = (double)(hil__wall_ns() - start) / 1e9;
	res->interrupted = hil__stopped(c);
	return rc > 0 ? 0 : rc;
}

/* ---- forward ------------------------------------------------------------------------------ */

/* A worker: its own capture handle, injector, engine and figures.  On the per-packet path it
 * shares only the packet count ('quota', with --count) and the published route table (read
 * without a lock: rcu.h). */
struct worker {
	const struct hil_cfg *c;
	unsigned idx;
	int cpu;
	struct pcapio *in;
	struct injector inj;
	struct engine *eng;
	int linktype;
	struct latency_set lat;
	struct hil_result res;
	struct quota *quota;
	struct rcu *routes;        /* the published route table: this worker is reader 'idx' */
	uint64_t t_sent;           /* when the packet being processed was injected, 0 before */
	uint8_t *hcbuf;            /* compress: the Ethernet frame carrying a link frame */
	bool hello_sent;
	uint64_t rnd;              /* tx_loss's xorshift64 state */
	const struct route_table *cur; /* the one its engine routes by */
	atomic_uint *done;         /* workers finished */
	pthread_t th;
	bool thread;
	int rc;
	struct errbuf eb;
};

/* One packet through the engine; its latency from the kernel's capture timestamp to the end of
 * its injection (the engine learns and pre-builds the flow's next packet after that: work the
 * packet does not wait for), or to the end of its processing when it was dropped. */
static void fwd_packet(void *arg, const struct pcapio_pkt *p)
{
	struct worker *w = arg;
	struct engine_result r;
	const struct route_table *rt = rcu_get(w->routes);
	if (rt != w->cur) {
		engine_set_routes(w->eng, rt);
		w->cur = rt;
	}
	w->t_sent = 0;
	engine_process(w->eng, p->data, p->caplen, p->wirelen, w->linktype, p->t_ns, &r);
	rcu_quiescent(w->routes, w->idx); /* the packet is done: the worker holds no table */
	uint64_t now = w->t_sent ? w->t_sent : hil__wall_ns(), d = now > p->t_ns ? now - p->t_ns : 0;
	lathist_add(&w->lat.all, d);
	if (r.path == ENGINE_PATH_HIT) {
		lathist_add(&w->lat.hit, d);
	} else if (r.path == ENGINE_PATH_SLOW) {
		lathist_add(&w->lat.slow, d);
		lathist_add(&w->lat.baseline, d);
	}
}

/* The frame in inj->buf ('len' bytes) compressed, inside Ethernet (its own addresses, type
 * HC_ETHERTYPE), after the hello the first time. */
static void send_compressed(struct worker *w, uint32_t len, uint64_t t_ns)
{
	uint8_t *e = w->hcbuf;
	memcpy(e, len >= 12 ? w->inj.buf : (const uint8_t *)"\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	e[12] = HC_ETHERTYPE >> 8;
	e[13] = HC_ETHERTYPE & 0xff;
	if (!w->hello_sent) {
		uint32_t n = hc_hello(w->c->compress, e + 14);
		hil__injector_send(&w->inj, e, 14 + n);
		w->hello_sent = true;
	}
	uint32_t n = hc_compress(w->c->compress, w->inj.buf, len, len, t_ns, e + 14);
	if (w->c->tx_loss > 0) {
		w->rnd ^= w->rnd << 13;
		w->rnd ^= w->rnd >> 7;
		w->rnd ^= w->rnd << 17;
		if ((double)(w->rnd >> 11) * 0x1p-53 < w->c->tx_loss) {
			w->res.tx_lost++;
			return;
		}
	}
	hil__injector_send(&w->inj, e, 14 + n);
}

static void fwd_tx(void *arg, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload, uint32_t payload_len,
		   uint32_t wirelen, uint64_t t_ns)
{
	(void)wirelen;
	struct worker *w = arg;
	struct injector *inj = &w->inj;
	if (hdr_len > MAX_FRAME || payload_len > MAX_FRAME - hdr_len) {
		/* Not a frame any interface takes: refused here, counted, never truncated. */
		err_set(&inj->eb, -ERR_NOBUFS, "a %u-byte frame is larger than the transmit buffer", hdr_len + payload_len);
		inject_failed(inj);
		return;
	}
	memcpy(inj->buf, hdr, hdr_len);
	if (payload_len)
		memcpy(inj->buf + hdr_len, payload, payload_len);
	if (w->c->compress)
		send_compressed(w, hdr_len + payload_len, t_ns);
	else
		hil__injector_send(inj, inj->buf, hdr_len + payload_len);
	w->t_sent = hil__wall_ns();
}

/* The i-th CPU of the process's affinity mask (mod their number), or -1. */
static int nth_cpu(unsigned i)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return -1;
	int n = CPU_COUNT(&set);
	if (n <= 0)
		return -1;
	unsigned k = i % (unsigned)n;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && k-- == 0)
			return cpu;
	return -1;
}

/* Waiting for packets, a worker holds no table either. */
static void fwd_idle(void *arg)
{
	struct worker *w = arg;
	rcu_quiescent(w->routes, w->idx);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
			w->cpu = -1; /* reported as not pinned */
	}
	w->rc = hil__capture_loop(w->c, w->in, fwd_packet, fwd_idle, cpu_relax, w, &w->res, w->quota, &w->eb);
	rcu_offline(w->routes, w->idx);
	atomic_fetch_add(w->done, 1);
	return NULL;
}

/* Opens worker i: capture handle (joined to the fanout group when there are several), injector,
 * engine shard. */
static int worker_open(struct worker *w, const struct hil_cfg *c, const struct engine_cfg *ecfg0, unsigned n,
		       unsigned group, struct errbuf *eb)
{
	int rc;
	if ((rc = pcapio_open(c->in, c->ring_mb, &w->in, eb)) != 0 || (n > 1 && (rc = pcapio_fanout(w->in, group, eb)) != 0) ||
	    (rc = hil__injector_open(&w->inj, c, &w->res, eb)) != 0)
		return rc;
	if (c->compress && n > 1)
		return err_set(eb, -ERR_INVAL, "hil forward: --compress takes one worker (one link, one compressor)");
	if (c->compress && !(w->hcbuf = malloc(MAX_FRAME + 14 + HC_OVERHEAD_MAX)))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	w->rnd = c->tx_seed * 0x9e3779b97f4a7c15ull + 1; /* never 0 */
	if (!w->rnd)
		w->rnd = 1;
	struct engine_cfg ec = *ecfg0;
	ec.tx = fwd_tx;
	ec.tx_arg = w;
	engine_cfg_shard(&ec, w->idx, n); /* the machine's memory split between the workers */
	if ((rc = engine_create(&ec, &w->eng, eb)) != 0)
		return rc;
	w->linktype = pcapio_linktype(w->in);
	w->cur = ecfg0->routes;
	latency_set_init(&w->lat);
	return 0;
}

/* The route file read again and published; the table it replaces freed once no worker can hold
 * it ('original' is the caller's: never freed here). */
static void reload_routes(const struct hil_cfg *c, struct rcu *r, const struct route_table *original,
			  struct hil_result *res)
{
	struct route_table *rt = NULL;
	struct errbuf eb = { "" };
	int rc = route_table_create(&rt);
	if (rc)
		err_set(&eb, rc, "out of memory");
	else
		rc = route_load_file(rt, c->routes_path, &eb);
	if (rc) {
		route_table_destroy(rt);
		res->routes_reload_errors++;
		if (c->on_reload)
			c->on_reload(c->on_reload_arg, rc, eb.msg);
		return;
	}
	struct route_table *old = rcu_replace(r, rt);
	if (old != original)
		route_table_destroy(old);
	res->routes_reloads++;
	if (c->on_reload)
		c->on_reload(c->on_reload_arg, 0, c->routes_path);
}

/* Worker w's figures into the totals; its handles closed. */
static void worker_close(struct worker *w, struct hil_result *res, struct latency_set *lat, struct engine_stats *es)
{
	struct hil_worker_result *wr = &res->worker[w->idx];
	memset(wr, 0, sizeof *wr);
	wr->cpu = w->cpu;
	if (w->in)
		pcapio_stats(w->in, &w->res.capture_received, &w->res.capture_dropped);
	if (w->eng) {
		struct engine_stats one;
		engine_finish(w->eng);
		engine_get_stats(w->eng, &one);
		engine_stats_add(es, &one);
		wr->flows = one.flows;
		wr->hits = one.hits;
	}
	latency_set_merge(lat, &w->lat);
	wr->packets = w->res.packets;
	wr->sent = w->res.sent;
	wr->capture_dropped = w->res.capture_dropped;
	wr->latency_p50_ns = lathist_quantile(&w->lat.all, 0.5);
	wr->latency_p99_ns = lathist_quantile(&w->lat.all, 0.99);
	res->packets += w->res.packets;
	res->bytes += w->res.bytes;
	res->sent += w->res.sent;
	res->tx_lost += w->res.tx_lost;
	res->capture_received += w->res.capture_received;
	res->capture_dropped += w->res.capture_dropped;
	if (w->res.inject_errors && !res->inject_errors)
		snprintf(res->inject_error, sizeof res->inject_error, "%s", w->res.inject_error);
	res->inject_errors += w->res.inject_errors;
	if (w->res.seconds > res->seconds)
		res->seconds = w->res.seconds;
	res->started = res->started || w->res.started;
	res->interrupted = res->interrupted || w->res.interrupted;
	engine_destroy(w->eng);
	pcapio_close(w->in);
	hil__injector_close(&w->inj);
	free(w->hcbuf);
	w->hcbuf = NULL;
}

int hil_forward(const struct hil_cfg *c, struct engine_cfg *ecfg, struct latency_set *lat, struct engine_stats *es,
		struct hil_result *res, struct errbuf *eb)
{
	memset(res, 0, sizeof *res);
	memset(es, 0, sizeof *es);
	latency_set_init(lat);
	unsigned n = c->workers ? c->workers : 1;
	if (n > HIL_MAX_WORKERS)
		return err_set(eb, -ERR_INVAL, "--workers: at most %d", HIL_MAX_WORKERS);
	struct worker *ws = calloc(n, sizeof *ws);
	if (!ws)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	struct quota quota;
	quota_init(&quota, c->count);
	atomic_uint done = 0;
	struct rcu routes;
	if (rcu_init(&routes, n, (void *)ecfg->routes) != 0) {
		free(ws);
		return err_set(eb, -ERR_NOMEM, "out of memory");
	}
	/* A group id of this process's own: another precraft's group on the interface stays apart. */
	unsigned group = (unsigned)getpid() & 0xffffu;
	int rc = 0;
	res->workers = n;
	for (unsigned i = 0; i < n; i++) {
		ws[i].c = c;
		ws[i].idx = i;
		ws[i].cpu = c->pin || c->busy_poll ? nth_cpu(i) : -1;
		ws[i].quota = n > 1 ? &quota : NULL;
		ws[i].routes = &routes;
		ws[i].done = &done;
	}
	for (unsigned i = 0; i < n && !rc; i++)
		if ((rc = worker_open(&ws[i], c, ecfg, n, group, eb)) != 0 && n > 1 && eb) {
			char msg[ERR_MSG_LEN];
			snprintf(msg, sizeof msg, "%s", eb->msg);
			err_set(eb, rc, "worker %u: %s", i, msg);
		}
	if (!rc && !(rc = hil__drop_privileges(c->user, eb)) && !(rc = hil__touch(c->ready, eb))) {
		/* The workers are threads; this one supervises: it re-reads the route table when
		 * asked, until they are done. */
		unsigned started = 0;
		for (unsigned i = 0; i < n; i++) {
			int e = pthread_create(&ws[i].th, NULL, worker_run, &ws[i]);
			if (e) {
				/* The ones started stop at once; what they took is kept. */
				rc = err_set(eb, -ERR_NOMEM, "worker %u: cannot start a thread: %s", i, strerror(e));
				if (c->stop)
					*c->stop = 1;
				for (unsigned k = i; k < n; k++)
					rcu_offline(&routes, k);
				break;
			}
			ws[i].thread = true;
			started++;
		}
		while (atomic_load(&done) < started) {
			if (c->reload && *c->reload && c->routes_path) {
				*c->reload = 0;
				reload_routes(c, &routes, ecfg->routes, res);
			}
			struct timespec ts = { 0, 2000000 }; /* a supervisor's pace: 2 ms */
			nanosleep(&ts, NULL);
		}
		for (unsigned i = 0; i < n; i++)
			if (ws[i].thread)
				pthread_join(ws[i].th, NULL);
		for (unsigned i = 0; i < n && !rc; i++)
			if (ws[i].rc) {
				rc = ws[i].rc;
				err_set(eb, rc, "%s%s", n > 1 ? "a worker: " : "", ws[i].eb.msg);
			}
	}
	for (unsigned i = 0; i < n; i++)
		worker_close(&ws[i], res, lat, es);
	const struct route_table *last = rcu_get(&routes);
	if (last != ecfg->routes)
		route_table_destroy((struct route_table *)last);
	rcu_fini(&routes);
	free(ws);
	return rc;
}
