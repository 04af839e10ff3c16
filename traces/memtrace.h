/* memtrace: a capture read whole into memory, so that reading it disturbs nothing that is timed
 * (hil replay's schedule, the benchmark's per-packet figures). */
#ifndef PRECRAFT_TRACES_MEMTRACE_H
#define PRECRAFT_TRACES_MEMTRACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct mem_trace {
	uint8_t *bytes;            /* the frames, one after another */
	uint64_t *off, *ts;        /* frame i at bytes + off[i], captured at ts[i] (ns) */
	uint32_t *caplen, *wirelen;
	size_t n;
	int linktype;
	size_t cap, blen, bcap;    /* (the arrays' room) */
};

/* Reads every packet of the capture at 'path' into 'm'.  Returns 0; -ERR_FORMAT when it has
 * no packets; the reader's error or -ERR_NOMEM otherwise ('eb' says which packet).  'm' is
 * freed on failure. */
int mem_trace_load(struct mem_trace *m, const char *path, struct errbuf *eb);
void mem_trace_free(struct mem_trace *m);

static inline const uint8_t *mem_trace_frame(const struct mem_trace *m, size_t i)
{
	return m->bytes + m->off[i];
}

#endif
