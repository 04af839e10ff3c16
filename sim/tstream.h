/* tstream: a capture read as a simulation source, one record ahead.
 *
 * The simulator never holds a capture in memory: each trace source (each clone of one) reads
 * its file as it emits, keeping only the record it will emit next, so memory does not grow with
 * the trace (a million-packet capture runs in the memory of its packets in flight).  Timestamps
 * are cleaned as they are read, by the source's policy: one that goes backwards, or jumps by
 * more than max_gap_s, is clamped (time does not move, or moves by max_gap_s) or its packet
 * skipped.  A loop rewinds the file; the same file read twice gives the same records and times,
 * so a run is reproducible. */
#ifndef PRECRAFT_SIM_TSTREAM_H
#define PRECRAFT_SIM_TSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct scn_source;
struct trace;

struct tstream {
	struct trace *tr;
	const char *path;          /* borrowed: outlives the stream */
	const struct scn_source *cfg;
	uint64_t max_gap_ns;       /* the cfg's max_gap_s */
	int linktype;
	/* The record to emit next: valid until tstream_next(), or until tstream_close() when
	 * 'stable' (the trace reads it in place: traces/trace.h). */
	const uint8_t *data;
	bool stable;
	uint32_t caplen, wirelen;
	uint64_t rel_ns;           /* its time from the pass's first record, cleaned */
	uint64_t prev_ns;          /* the last record's capture time */
	bool first;
	/* Counted on the first pass only. */
	unsigned pass;
	uint64_t backwards, jumps, skipped;
};

/* Opens 'path' and reads its first kept record.  Returns 0, or -ERR_IO / -ERR_FORMAT with
 * "path: what" (no packets is -ERR_FORMAT). */
int tstream_open(struct tstream *ts, const char *path, const struct scn_source *cfg, struct errbuf *eb) WARN_UNUSED;

/* Reads the next kept record: 1, 0 at the end of the pass ('rel_ns' then holds the pass's
 * duration), or -ERR_FORMAT with "path: packet N: what". */
int tstream_next(struct tstream *ts, struct errbuf *eb) WARN_UNUSED;

/* Starts the next pass at the first kept record. */
int tstream_rewind(struct tstream *ts, struct errbuf *eb) WARN_UNUSED;

void tstream_close(struct tstream *ts);

#endif
