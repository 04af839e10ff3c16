/* trace: reading captures and writing egress captures.
 *
 * Reads pcap (either byte order, micro- or nanosecond) and pcapng, whatever the file's name
 * says (pcap records are parsed in place, anything unusual and pcapng through libpcap, with
 * libpcap's results and errors either way), and gzip-compressed captures (detected by their magic, inflated into an anonymous
 * temporary file first, since libpcap reads only plain files).  Timestamps come as integer
 * nanoseconds.  Writes pcap files with nanosecond timestamps, or pcapng when the file's name
 * ends in ".pcapng".  This is the one offline capture reader and writer: sim, replay, eval,
 * train, bench and hil replay all read through it. */
#ifndef PRECRAFT_TRACE_H
#define PRECRAFT_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

struct trace_rec {
	const uint8_t *data;       /* valid until the next trace_next(), or the trace's close when
				      'stable' */
	bool stable;
	uint32_t caplen, wirelen;
	uint64_t t_ns;
	uint64_t index;            /* 1-based packet number in the file */
};

struct trace;

/* Opens 'path'.  Returns 0 and '*out', or -ERR_IO / -ERR_FORMAT with "path: what" in 'eb'. */
int trace_open(const char *path, struct trace **out, struct errbuf *eb) WARN_UNUSED;

/* Reads the next record: 1 with '*rec', 0 at the end, or -ERR_FORMAT with
 * "path: packet N: what" in 'eb' when the file is damaged (records before it were good), or
 * -ERR_CHANGED when the file was cut shorter while it was read (records before the cut were good,
 * bar those in the last page of the new end, which read as zeros; records handed out before
 * stay readable). */
int trace_next(struct trace *t, struct trace_rec *rec, struct errbuf *eb) WARN_UNUSED;

/* Starts again at the first record, keeping the records handed out so far where they are
 * (stable ones stay valid); -ERR_UNSUPPORTED when the trace gave no stable record and must be
 * closed and opened again instead. */
int trace_rewind(struct trace *t) WARN_UNUSED;

int trace_linktype(const struct trace *t);
/* Bytes of the (inflated) file read so far and in all, for progress reports. */
void trace_progress(const struct trace *t, uint64_t *done, uint64_t *total);
void trace_close(struct trace *t);

struct trace_writer;

/* Creates capture file 'path' (pcapng when it ends in ".pcapng", else pcap) for frames of
 * 'linktype'.  Returns 0 or -ERR_IO with detail. */
int trace_writer_open(const char *path, int linktype, struct trace_writer **out, struct errbuf *eb) WARN_UNUSED;
void trace_writer_put(struct trace_writer *w, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		      uint64_t t_ns);
/* The same for a frame in two pieces (headers, then payload), written without joining them. */
void trace_writer_put2(struct trace_writer *w, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload,
		       uint32_t payload_len, uint32_t wirelen, uint64_t t_ns);
/* Flushes and closes; returns 0 or -ERR_IO when anything failed to reach the disk. */
int trace_writer_close(struct trace_writer *w, struct errbuf *eb);

#endif
