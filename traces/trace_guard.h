/* trace_guard: the SIGBUS guard of the captures trace.c reads in place from a mapping.
 *
 * A mapped file cut shorter by another process: a read of a page past the new end raises
 * SIGBUS, which would end the run with no word (exit 135, the run left 'running').  Each mapping
 * is registered here; the handler, for an address inside one, maps zero pages over the rest of
 * it (MAP_FIXED: the read that faulted then reads zeros) and marks the mapping cut, and the
 * reader returns an error naming the file and the record at its next record.  A SIGBUS outside
 * every mapping goes to the handler there was before, or ends the process as it would have.
 * (mmap is a plain system call; the handler takes no lock and calls nothing else.) */
#ifndef PRECRAFT_TRACES_TRACE_GUARD_H
#define PRECRAFT_TRACES_TRACE_GUARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guard {
	_Atomic uintptr_t lo, hi;  /* [lo, hi): the mapping, page-rounded; 0: a free slot */
	atomic_int cut;
};

/* The slot guarding [map, map + size), or NULL (none free, or no handler could be installed:
 * the file is then not mapped). */
struct guard *trace_guard_take(const uint8_t *map, size_t size);
/* Frees the slot (NULL: nothing). */
void trace_guard_give(struct guard *g);
/* True once a read past the file's new end has been caught: the mapping reads zeros there. */
bool trace_guard_cut(struct guard *g);

#endif
