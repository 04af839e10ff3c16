/* memtrace: a capture in memory (see memtrace.h). */
#include "memtrace.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* Room for 'cap' packets: false when memory runs out (what was there is kept). */
static bool room(struct mem_trace *m, size_t cap)
{
	uint64_t *off = realloc(m->off, cap * sizeof *off);
	if (off)
		m->off = off;
	uint64_t *ts = realloc(m->ts, cap * sizeof *ts);
	if (ts)
		m->ts = ts;
	uint32_t *caplen = realloc(m->caplen, cap * sizeof *caplen);
	if (caplen)
		m->caplen = caplen;
	uint32_t *wirelen = realloc(m->wirelen, cap * sizeof *wirelen);
	if (wirelen)
		m->wirelen = wirelen;
	if (!off || !ts || !caplen || !wirelen)
		return false;
	m->cap = cap;
	return true;
}

static int add(struct mem_trace *m, const struct trace_rec *r)
{
	if (m->n == m->cap && !room(m, m->cap ? m->cap * 2 : 4096))
		return -ERR_NOMEM;
	if (m->blen + r->caplen > m->bcap) {
		size_t bcap = (m->blen + r->caplen) * 2;
		uint8_t *b = realloc(m->bytes, bcap);
		if (!b)
			return -ERR_NOMEM;
		m->bytes = b;
		m->bcap = bcap;
	}
	memcpy(m->bytes + m->blen, r->data, r->caplen);
	m->off[m->n] = m->blen;
	m->caplen[m->n] = r->caplen;
	m->wirelen[m->n] = r->wirelen;
	m->ts[m->n++] = r->t_ns;
	m->blen += r->caplen;
	return 0;
}

int mem_trace_load(struct mem_trace *m, const char *path, struct errbuf *eb)
{
	memset(m, 0, sizeof *m);
	struct trace *tr;
	int rc = trace_open(path, &tr, eb);
	if (rc)
		return rc;
	m->linktype = trace_linktype(tr);
	struct trace_rec r;
	while ((rc = trace_next(tr, &r, eb)) == 1)
		if ((rc = add(m, &r)) != 0) {
			err_set(eb, rc, "%s: out of memory at packet %llu", path, (unsigned long long)r.index);
			break;
		}
	trace_close(tr);
	if (rc == 0 && !m->n)
		rc = err_set(eb, -ERR_FORMAT, "%s: the capture has no packets", path);
	if (rc < 0)
		mem_trace_free(m);
	return rc < 0 ? rc : 0;
}

void mem_trace_free(struct mem_trace *m)
{
	free(m->bytes);
	free(m->off);
	free(m->ts);
	free(m->caplen);
	free(m->wirelen);
	memset(m, 0, sizeof *m);
}
