/* trace: capture files through libpcap (see trace.h). */
#include "trace.h"
#include "trace_guard.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define TRACE_BUF (256u << 10)
#define DIRECT_CHUNK (16u << 20)
#define PAGERS_MAX 2

/* Classic pcap records are read directly: a record header and its bytes parsed in place in a
 * read-only mapping of the whole file, instead of libpcap's two copies (the kernel's into
 * stdio's buffer, stdio's into libpcap's) and its per-record stdio calls.  A mapping copies
 * nothing (the kernel's copy into a read buffer was an eighth of a simulation of a large
 * capture), and its records stay where they are until the trace is closed, so that a reader may
 * keep pointers to them instead of copies (trace_rec.stable).  The pages are made present a
 * chunk ahead (MADV_POPULATE_READ: one call instead of a fault each) and let go a chunk behind
 * (MADV_DONTNEED, so that resident memory does not grow with the file; a page let go that is
 * read again is mapped again from the file, the same bytes); for a file of a few chunks and
 * more, a thread of the trace's own (the pager, at most PAGERS_MAX in the process) does that
 * beside the reader, since the page tables' work was a tenth of a simulation of a large capture.
 * Only the case in which libpcap would hand out the record unchanged is read here (version 2.4,
 * the plain 16-byte record header, the record complete and within the snapshot length); anything
 * else (the end of the file as it was when opened, a truncated or oversized record) hands the
 * file back to libpcap at that record's offset, so that what it returns and every error it
 * reports are libpcap's own.  A file cut shorter while it is mapped (rotated, still being written,
 * a hostile writer) makes the next read past its new end a SIGBUS: see trace_guard.h. */
struct pager;

/* The mapping's chunks [dropped, done) are made present and not let go. */
struct pages {
	size_t done, dropped;
};

struct direct {
	bool on;                   /* false: libpcap reads */
	bool swapped, nsec;
	uint32_t snapshot;
	const uint8_t *map;        /* the file as it was when opened, or NULL (not mapped) */
	size_t size;
	size_t pos;                /* the next record */
	size_t seen;               /* the end of the chunk the reader was last told to be in */
	struct pages pages;        /* kept by the reader itself when it has no pager */
	struct pager *pager;       /* NULL: the reader keeps its pages itself */
	struct guard *guard;       /* the mapping's entry in 'guards' */
};

/* The pager's state: the chunk the reader is in ('want'), told under 'mu'. */
struct pager {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const uint8_t *map;
	size_t size;
	size_t want;
	unsigned gen;              /* bumped by a rewind: the pager starts again from chunk 0 */
	bool stop;
};

static atomic_uint n_pagers;
static struct pager *pager_start(const uint8_t *map, size_t size);

struct trace {
	pcap_t *pc;
	FILE *fp;                  /* the (inflated) file libpcap reads */
	char *buf;                 /* fp's stdio buffer */
	char *path;
	uint64_t index, total;
	struct direct d;
};

static uint32_t rd32(const uint8_t *p, bool swapped)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

/* Sets up the direct reader when the file is classic pcap 2.4 and can be mapped (see struct
 * direct). */
static void direct_init(struct trace *t)
{
	struct direct *d = &t->d;
	uint8_t magic[4];
	int fd = fileno(t->fp);
	if (fd < 0 || pcap_major_version(t->pc) != 2 || pcap_minor_version(t->pc) != 4 || pcap_snapshot(t->pc) <= 0 ||
	    t->total <= 24 || t->total != (size_t)t->total || pread(fd, magic, 4, 0) != 4)
		return;
	uint32_t m = rd32(magic, false);
	bool swapped = m == 0xd4c3b2a1u || m == 0x4d3cb2a1u;
	if (!swapped && m != 0xa1b2c3d4u && m != 0xa1b23c4du)
		return; /* pcapng, or the 24-byte record headers of Kuznetzov's patched libpcap */
	void *map = mmap(NULL, (size_t)t->total, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return;
	if (!(d->guard = trace_guard_take(map, (size_t)t->total))) {
		munmap(map, (size_t)t->total); /* unguarded, a cut file would kill the process */
		return;
	}
	d->map = map;
	d->size = (size_t)t->total;
	d->on = true;
	d->swapped = swapped;
	d->nsec = rd32(magic, swapped) == 0xa1b23c4du;
	d->snapshot = (uint32_t)pcap_snapshot(t->pc);
	d->pos = 24; /* past the file header, which libpcap has read and checked */
	d->seen = 0;
	d->pages = (struct pages){ 0, 0 };
	d->pager = pager_start(d->map, d->size);
}

/* Hands the file back to libpcap at the next record (the mapping stays: records handed out may
 * still be read). */
static void direct_stop(struct trace *t)
{
	t->d.on = false;
	if (fseeko(t->fp, (off_t)t->d.pos, SEEK_SET) != 0)
		clearerr(t->fp); /* libpcap then reads on from where stdio is and reports what it finds */
}

/* One step of keeping the pages of a reader in chunk 'want': the next chunk up to want + 1 made
 * present, else the chunks before want - 1 let go (both advice: a kernel without
 * MADV_POPULATE_READ faults pages in one by one).  False when there was nothing to do. */
static bool pages_step(const uint8_t *map, size_t size, size_t want, struct pages *pg)
{
	if (pg->done < want + 2) {
		size_t from = pg->done++ * DIRECT_CHUNK;
#ifdef MADV_POPULATE_READ
		if (from < size)
			(void)madvise((void *)(map + from), size - from < DIRECT_CHUNK ? size - from : DIRECT_CHUNK,
				      MADV_POPULATE_READ);
#endif
		return true;
	}
	if (want >= 2 && pg->dropped < want - 1) {
		(void)madvise((void *)(map + pg->dropped * DIRECT_CHUNK), (want - 1 - pg->dropped) * DIRECT_CHUNK,
			      MADV_DONTNEED);
		pg->dropped = want - 1;
		return true;
	}
	return false;
}

/* The pager: the steps of pages_step as the reader moves, beside it. */
static void *pager_main(void *arg)
{
	struct pager *pg = arg;
	struct pages pages = { 0, 0 };
	unsigned gen = 0;
	pthread_mutex_lock(&pg->mu);
	while (!pg->stop) {
		if (gen != pg->gen) { /* rewound: everything was let go */
			gen = pg->gen;
			pages = (struct pages){ 0, 0 };
		}
		size_t want = pg->want;
		pthread_mutex_unlock(&pg->mu);
		bool worked = pages_step(pg->map, pg->size, want, &pages);
		pthread_mutex_lock(&pg->mu);
		if (!worked && want == pg->want && gen == pg->gen && !pg->stop)
			pthread_cond_wait(&pg->cv, &pg->mu);
	}
	pthread_mutex_unlock(&pg->mu);
	return NULL;
}

/* A pager for a mapping of a few chunks and more, when the process has fewer than PAGERS_MAX;
 * NULL otherwise (the reader keeps its pages itself). */
static struct pager *pager_start(const uint8_t *map, size_t size)
{
	if (size < 3 * (size_t)DIRECT_CHUNK)
		return NULL;
	struct pager *pg = atomic_fetch_add(&n_pagers, 1) < PAGERS_MAX ? calloc(1, sizeof *pg) : NULL;
	if (pg) {
		pg->map = map;
		pg->size = size;
		pthread_mutex_init(&pg->mu, NULL);
		pthread_cond_init(&pg->cv, NULL);
		if (pthread_create(&pg->th, NULL, pager_main, pg) == 0)
			return pg;
		pthread_cond_destroy(&pg->cv);
		pthread_mutex_destroy(&pg->mu);
		free(pg);
	}
	atomic_fetch_sub(&n_pagers, 1);
	return NULL;
}

static void pager_stop(struct pager *pg)
{
	if (!pg)
		return;
	pthread_mutex_lock(&pg->mu);
	pg->stop = true;
	pthread_cond_signal(&pg->cv);
	pthread_mutex_unlock(&pg->mu);
	pthread_join(pg->th, NULL);
	pthread_cond_destroy(&pg->cv);
	pthread_mutex_destroy(&pg->mu);
	free(pg);
	atomic_fetch_sub(&n_pagers, 1);
}

/* Tells the pager the reader's chunk ('restart': after a rewind). */
static void pager_tell(struct pager *pg, size_t chunk, bool restart)
{
	pthread_mutex_lock(&pg->mu);
	pg->want = chunk;
	pg->gen += restart;
	pthread_cond_signal(&pg->cv);
	pthread_mutex_unlock(&pg->mu);
}

/* Keeps the pages around 'pos' present: when the reader enters a new chunk, the pager is told,
 * or the steps are taken here. */
static void direct_pages(struct direct *d)
{
	if (d->pos < d->seen)
		return;
	size_t c = d->pos / DIRECT_CHUNK;
	d->seen = (c + 1) * DIRECT_CHUNK;
	if (d->pager)
		pager_tell(d->pager, c, false);
	else
		while (pages_step(d->map, d->size, c, &d->pages))
			;
}

/* 1 with '*rec', or 0 when libpcap must read this record (the reader has then stopped). */
static int direct_next(struct trace *t, struct trace_rec *rec)
{
	struct direct *d = &t->d;
	size_t left = d->size - d->pos;
	if (left < 16)
		goto stop;
	direct_pages(d);
	const uint8_t *h = d->map + d->pos;
	uint32_t caplen = rd32(h + 8, d->swapped);
	if (caplen > d->snapshot || caplen > left - 16)
		goto stop;
	/* The time fields as libpcap 1.10 makes them, so that both readers agree to the nanosecond:
	 * signed 32-bit in the host's byte order (a second count past 2038 wraps), unsigned when it
	 * swaps them. */
	int64_t sec = rd32(h, d->swapped), frac = rd32(h + 4, d->swapped);
	if (!d->swapped) {
		sec = (int32_t)sec;
		frac = (int32_t)frac;
	}
	rec->t_ns = (uint64_t)sec * 1000000000ull + (uint64_t)(d->nsec ? frac : frac * 1000);
	rec->caplen = caplen;
	rec->wirelen = rd32(h + 12, d->swapped);
	rec->data = h + 16;
	rec->stable = true;
	rec->index = ++t->index;
	d->pos += 16 + (size_t)caplen;
	/* The next record's header and its frame's first bytes, asked for now: a record is read a
	 * few hundred nanoseconds after the one before, from memory the cache has not seen. */
	if (d->size - d->pos > 128) {
		__builtin_prefetch(d->map + d->pos);
		__builtin_prefetch(d->map + d->pos + 64);
	}
	return 1;
stop:
	direct_stop(t);
	return 0;
}

/* Inflates gzip file 'path' into an unlinked temporary file, rewound. */
static FILE *inflate_to_tmp(const char *path, struct errbuf *eb)
{
	gzFile gz = gzopen(path, "rb");
	if (!gz) {
		err_set(eb, -ERR_IO, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	FILE *tmp = tmpfile();
	if (!tmp) {
		gzclose(gz);
		err_set(eb, -ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
		return NULL;
	}
	static uint8_t buf[1 << 16];
	int n;
	while ((n = gzread(gz, buf, sizeof buf)) > 0)
		if (fwrite(buf, 1, (size_t)n, tmp) != (size_t)n) {
			n = -1;
			break;
		}
	int errnum = 0;
	const char *gzmsg = n < 0 ? gzerror(gz, &errnum) : NULL;
	if (n < 0) {
		err_set(eb, -ERR_FORMAT, "%s: gzip data is damaged: %s", path, gzmsg ? gzmsg : "write failed");
		gzclose(gz);
		fclose(tmp);
		return NULL;
	}
	gzclose(gz);
	rewind(tmp);
	return tmp;
}

int trace_open(const char *path, struct trace **out, struct errbuf *eb)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return err_set(eb, -ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	/* libpcap reads record by record through stdio: a buffer of our own (glibc's is
	 * st_blksize, 4 KB, whatever setvbuf is told without one) makes that a few thousand system
	 * calls for a capture of hundreds of megabytes instead of one per 4 KB.  Set before the
	 * first read. */
	char *buf = malloc(TRACE_BUF);
	if (buf)
		setvbuf(fp, buf, _IOFBF, TRACE_BUF);
	uint8_t magic[2] = { 0, 0 };
	size_t got = fread(magic, 1, 2, fp);
	rewind(fp);
	if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		fclose(fp);
		free(buf); /* the inflated copy has stdio's own */
		buf = NULL;
		if (!(fp = inflate_to_tmp(path, eb)))
			return -ERR_FORMAT;
	}
	struct stat sb;
	char pe[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, pe);
	if (!pc) {
		fclose(fp);
		free(buf);
		return err_set(eb, -ERR_FORMAT, "%s: not a readable capture: %s", path, pe);
	}
	struct trace *t = calloc(1, sizeof *t);
	if (!t || !(t->path = strdup(path))) {
		free(t);
		pcap_close(pc);
		free(buf);
		return err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
	}
	t->pc = pc;
	t->fp = fp;
	t->buf = buf;
	t->total = fstat(fileno(fp), &sb) == 0 ? (uint64_t)sb.st_size : 0;
	direct_init(t);
	*out = t;
	return 0;
}

int trace_next(struct trace *t, struct trace_rec *rec, struct errbuf *eb)
{
	if (t->d.on && direct_next(t, rec)) {
		if (!trace_guard_cut(t->d.guard))
			return 1;
		struct stat sb;
		t->d.on = false;
		return err_set(eb, -ERR_CHANGED, "%s: packet %llu: the file was cut short while it was read (%llu bytes when opened, %lld now)",
			       t->path, (unsigned long long)rec->index, (unsigned long long)t->total,
			       fstat(fileno(t->fp), &sb) == 0 ? (long long)sb.st_size : -1LL);
	}
	if (t->d.map && trace_guard_cut(t->d.guard))
		return err_set(eb, -ERR_CHANGED, "%s: packet %llu: the file was cut short while it was read", t->path,
			       (unsigned long long)t->index + 1);
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(t->pc, &h, &data);
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	if (rc != 1)
		return err_set(eb, -ERR_FORMAT, "%s: packet %llu: %s", t->path,
			       (unsigned long long)t->index + 1, pcap_geterr(t->pc));
	t->index++;
	rec->data = data;
	rec->stable = false;
	rec->caplen = h->caplen;
	rec->wirelen = h->len;
	/* With nanosecond precision, libpcap puts nanoseconds in tv_usec. */
	rec->t_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
	rec->index = t->index;
	return 1;
}

int trace_rewind(struct trace *t)
{
	struct direct *d = &t->d;
	if (!d->map)
		return -ERR_UNSUPPORTED;
	(void)madvise((void *)d->map, d->size, MADV_DONTNEED); /* the pass before is let go */
	d->on = true;
	d->pos = 24;
	d->seen = 0;
	d->pages = (struct pages){ 0, 0 };
	if (d->pager)
		pager_tell(d->pager, 0, true);
	t->index = 0;
	return 0;
}

int trace_linktype(const struct trace *t)
{
	return pcap_datalink(t->pc);
}

void trace_progress(const struct trace *t, uint64_t *done, uint64_t *total)
{
	long pos = t->d.on ? (long)t->d.pos : ftell(pcap_file(t->pc));
	*done = pos > 0 ? (uint64_t)pos : 0;
	*total = t->total;
}

void trace_close(struct trace *t)
{
	if (!t)
		return;
	pcap_close(t->pc); /* closes t->fp */
	pager_stop(t->d.pager);
	if (t->d.map) {
		trace_guard_give(t->d.guard);
		munmap((void *)t->d.map, t->d.size);
	}
	free(t->buf);
	free(t->path);
	free(t);
}
