/* trace_write: the capture writer (see trace.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* The writer: pcap with nanosecond timestamps (magic 0xa1b23c4d, host byte order, as libpcap
 * writes it), or pcapng when the path ends in ".pcapng" (one section, one interface with
 * if_tsresol = 9, enhanced packet blocks), written with stdio so that a frame in two pieces
 * needs no joining. */
struct trace_writer {
	FILE *f;
	char *path;
	bool pcapng;
};

#define WRITER_SNAPLEN (262144 + 1024)

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f);
}

static void put16(FILE *f, uint16_t v)
{
	fwrite(&v, 2, 1, f);
}

static void write_header(struct trace_writer *w, int linktype)
{
	FILE *f = w->f;
	if (!w->pcapng) {
		put32(f, 0xa1b23c4du); /* nanosecond pcap */
		put16(f, 2);
		put16(f, 4);
		put32(f, 0);
		put32(f, 0);
		put32(f, WRITER_SNAPLEN);
		put32(f, (uint32_t)linktype);
		return;
	}
	/* Section header block: type, length, byte-order magic, version 1.0, section length unknown. */
	put32(f, 0x0a0d0d0au);
	put32(f, 28);
	put32(f, 0x1a2b3c4du);
	put16(f, 1);
	put16(f, 0);
	put32(f, 0xffffffffu);
	put32(f, 0xffffffffu);
	put32(f, 28);
	/* Interface description block with if_tsresol (option 9) = 9: nanoseconds. */
	put32(f, 1);
	put32(f, 32);
	put16(f, (uint16_t)linktype);
	put16(f, 0);
	put32(f, WRITER_SNAPLEN);
	put16(f, 9);
	put16(f, 1);
	put32(f, 9); /* the value byte, padded to 4 */
	put32(f, 0); /* opt_endofopt */
	put32(f, 32);
}

int trace_writer_open(const char *path, int linktype, struct trace_writer **out, struct errbuf *eb)
{
	struct trace_writer *w = calloc(1, sizeof *w);
	if (!w || !(w->path = strdup(path))) {
		free(w);
		return err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
	}
	w->pcapng = ends_with(path, ".pcapng");
	if (!(w->f = fopen(path, "wb"))) {
		int rc = err_set(eb, -ERR_IO, "%s: cannot write: %s", path, strerror(errno));
		free(w->path);
		free(w);
		return rc;
	}
	write_header(w, linktype);
	*out = w;
	return 0;
}

void trace_writer_put2(struct trace_writer *w, const uint8_t *hdr, uint32_t hdr_len, const uint8_t *payload,
		       uint32_t payload_len, uint32_t wirelen, uint64_t t_ns)
{
	FILE *f = w->f;
	uint32_t caplen = hdr_len + payload_len, pad = 0;
	if (!w->pcapng) {
		uint32_t rec[4] = { (uint32_t)(t_ns / 1000000000ull), (uint32_t)(t_ns % 1000000000ull), caplen, wirelen };
		fwrite(rec, sizeof rec, 1, f);
	} else {
		/* Enhanced packet block: the data padded to 4 bytes, the length repeated after. */
		pad = (4 - caplen % 4) % 4;
		uint32_t blk[7] = { 6, 32 + caplen + pad, 0, (uint32_t)(t_ns >> 32), (uint32_t)t_ns, caplen, wirelen };
		fwrite(blk, sizeof blk, 1, f);
	}
	fwrite(hdr, 1, hdr_len, f);
	if (payload_len)
		fwrite(payload, 1, payload_len, f);
	if (w->pcapng) {
		static const uint8_t zero[4];
		fwrite(zero, 1, pad, f);
		put32(f, 32 + caplen + pad);
	}
}

void trace_writer_put(struct trace_writer *w, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		      uint64_t t_ns)
{
	trace_writer_put2(w, frame, caplen, NULL, 0, wirelen, t_ns);
}

int trace_writer_close(struct trace_writer *w, struct errbuf *eb)
{
	if (!w)
		return 0;
	int rc = 0;
	if (fflush(w->f) != 0 || ferror(w->f))
		rc = err_set(eb, -ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
	if (fclose(w->f) != 0 && !rc)
		rc = err_set(eb, -ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
	free(w->path);
	free(w);
	return rc;
}
