/* trace_test: the capture reader against libpcap's own.  trace.c parses classic pcap records
 * itself and hands the file to libpcap only for what it does not read (see struct direct there);
 * these files, written here, take both ways: either byte order, micro- and nanosecond magic,
 * second counts past 2^31, a record bigger than the reader's buffer, one over the snapshot
 * length (libpcap cuts it), and the endings libpcap reports as errors (a truncated record
 * header, truncated data, an absurd capture length).  Every record, the error and the progress
 * at the end must be what reading the file through pcap_next_ex alone gives. */
#include <CUnit/CUnit.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/csum.h"
#include "core/dns.h"
#include "traces/tools.h"
#include "traces/trace.h"

struct rec {
	uint32_t sec, frac, caplen, wirelen, fill;
};

/* Writes the low 'n' bytes of 'v', most significant first when 'be'. */
static void put(FILE *f, uint32_t v, int n, int be)
{
	for (int i = 0; i < n; i++)
		fputc((int)(v >> 8 * (be ? n - 1 - i : i)) & 0xff, f);
}

/* Writes a pcap file: 'tail' bytes of extra junk after the records (a truncated record). */
static void write_pcap(const char *path, int be, uint32_t magic, uint32_t snaplen, uint32_t linktype,
		       const struct rec *r, size_t n, const uint8_t *tail, size_t tail_len)
{
	FILE *f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	put(f, magic, 4, be);
	put(f, 2, 2, be); /* version 2.4 */
	put(f, 4, 2, be);
	put(f, 0, 4, be);
	put(f, 0, 4, be);
	put(f, snaplen, 4, be);
	put(f, linktype, 4, be);
	for (size_t i = 0; i < n; i++) {
		put(f, r[i].sec, 4, be);
		put(f, r[i].frac, 4, be);
		put(f, r[i].caplen, 4, be);
		put(f, r[i].wirelen, 4, be);
		for (uint32_t k = 0; k < r[i].caplen; k++)
			fputc((int)((r[i].fill + k * 7u) & 0xff), f);
	}
	if (tail_len)
		fwrite(tail, 1, tail_len, f);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

/* Reads 'path' with trace_next and with pcap_next_ex alone; every record and the ending agree. */
static void compare(const char *path, int expect_error)
{
	struct trace *t = NULL;
	struct errbuf eb = { 0 };
	CU_ASSERT_FATAL(trace_open(path, &t, &eb) == 0);
	char pe[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, pe);
	CU_ASSERT_FATAL(pc != NULL);
	uint64_t n = 0;
	for (;;) {
		struct trace_rec r;
		struct pcap_pkthdr *h;
		const u_char *d;
		int a = trace_next(t, &r, &eb), b = pcap_next_ex(pc, &h, &d);
		if (b != 1) {
			CU_ASSERT_EQUAL(a, b == PCAP_ERROR_BREAK ? 0 : -ERR_FORMAT);
			CU_ASSERT_EQUAL(b == PCAP_ERROR_BREAK ? 0 : 1, expect_error);
			if (b != PCAP_ERROR_BREAK) {
				CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, pcap_geterr(pc)));
				char want[64];
				snprintf(want, sizeof want, ": packet %llu: ", (unsigned long long)n + 1);
				CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, want));
			}
			break;
		}
		CU_ASSERT_EQUAL_FATAL(a, 1);
		n++;
		CU_ASSERT_EQUAL(r.index, n);
		CU_ASSERT_EQUAL(r.caplen, h->caplen);
		CU_ASSERT_EQUAL(r.wirelen, h->len);
		CU_ASSERT_EQUAL(r.t_ns, (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec);
		CU_ASSERT(r.caplen == h->caplen && memcmp(r.data, d, h->caplen) == 0);
	}
	CU_ASSERT(n > 0);
	uint64_t done, total;
	trace_progress(t, &done, &total);
	CU_ASSERT(done <= total && total > 0);
	if (!expect_error)
		CU_ASSERT_EQUAL(done, total);
	pcap_close(pc);
	trace_close(t);
}

static void test_reader_matches_libpcap(void)
{
	char path[] = "/tmp/precraft-trace-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	enum { N = 300 };
	static struct rec r[N];
	uint32_t sec = 0x7ffffff8u; /* crosses 2^31 seconds (2038) part way */
	for (unsigned i = 0; i < N; i++)
		r[i] = (struct rec){ sec + i / 20, (i * 37u) % 1000000u, 14 + (i * 97u) % 1500u, 1514, i };
	for (int be = 0; be <= 1; be++)
		for (int nsec = 0; nsec <= 1; nsec++) {
			write_pcap(path, be, nsec ? 0xa1b23c4du : 0xa1b2c3d4u, 65535, 1, r, N, NULL, 0);
			compare(path, 0);
		}
	/* Records over the snapshot length: libpcap cuts them to it, and the reader takes over again
	 * where libpcap left off (it does not), so the whole file must still agree. */
	write_pcap(path, 0, 0xa1b2c3d4u, 200, 1, r, N, NULL, 0);
	compare(path, 0);
	/* A record bigger than the reader's first buffer (USBPcap allows 1 MB). */
	struct rec big[3] = { { 1, 2, 1u << 20, 1u << 20, 3 }, { 1, 3, 5000, 5000, 4 }, { 1, 4, (1u << 20) - 1, 1u << 20, 5 } };
	write_pcap(path, 0, 0xa1b2c3d4u, 0, 249, big, 3, NULL, 0);
	compare(path, 0);
	/* Damaged endings: half a record header, a record's data cut short, an absurd length. */
	uint8_t tail[40] = { 1, 2, 3, 4, 5, 6, 7 };
	write_pcap(path, 0, 0xa1b2c3d4u, 65535, 1, r, N, tail, 7);
	compare(path, 1);
	uint8_t cut[16 + 20] = { 1, 0, 0, 0, 2, 0, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0 };
	write_pcap(path, 0, 0xa1b2c3d4u, 65535, 1, r, N, cut, sizeof cut);
	compare(path, 1);
	uint8_t huge[16 + 8] = { 1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 100, 0, 0, 0 };
	write_pcap(path, 0, 0xa1b2c3d4u, 65535, 1, r, N, huge, sizeof huge);
	compare(path, 1);
	unlink(path);
}

/* Records read in place are 'stable': their bytes stay readable and unchanged until the trace
 * is closed, after their pages were let go (a file of several of the reader's 16 MiB chunks,
 * kept by its pager thread) and after trace_rewind, which gives the same records again from the
 * start. */
static void test_stable_records_and_rewind(void)
{
	char path[] = "/tmp/precraft-trace-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	enum { N = 120000 }; /* about 65 MiB: four chunks, a pager thread */
	struct rec *r = malloc(N * sizeof *r);
	CU_ASSERT_FATAL(r != NULL);
	for (unsigned i = 0; i < N; i++)
		r[i] = (struct rec){ 1 + i / 1000, i % 1000, 100 + (i * 131u) % 900u, 1514, i };
	write_pcap(path, 0, 0xa1b2c3d4u, 65535, 1, r, N, NULL, 0);
	struct trace *t = NULL;
	struct errbuf eb = { 0 };
	CU_ASSERT_FATAL(trace_open(path, &t, &eb) == 0);
	const uint8_t **held = malloc(N * sizeof *held);
	CU_ASSERT_FATAL(held != NULL);
	for (int pass = 0; pass < 2; pass++) {
		unsigned n = 0, bad = 0;
		struct trace_rec rec;
		while (trace_next(t, &rec, &eb) == 1) {
			CU_ASSERT_FATAL(n < N && rec.stable);
			bad += rec.caplen != r[n].caplen || rec.index != n + 1 || rec.data[0] != (uint8_t)r[n].fill;
			if (pass == 0)
				held[n] = rec.data;
			else
				bad += rec.data != held[n]; /* the same place: the mapping stays */
			n++;
		}
		CU_ASSERT_EQUAL(n, N);
		CU_ASSERT_EQUAL(bad, 0);
		/* Every record handed out still holds its bytes, the pages let go behind included. */
		for (unsigned i = 0; i < N; i++)
			for (uint32_t k = 0; k < r[i].caplen; k += 61)
				bad += held[i][k] != (uint8_t)((r[i].fill + k * 7u) & 0xff);
		CU_ASSERT_EQUAL(bad, 0);
		if (pass == 0)
			CU_ASSERT_FATAL(trace_rewind(t) == 0);
	}
	trace_close(t);
	free(held);
	free(r);
	unlink(path);
}

/* A file cut shorter while it is read (rotated, still being written, a hostile writer): the
 * records before the cut are read, then an error naming the file and the packet, no SIGBUS
 * (issue 34, 5); records handed out before stay readable. */
static void test_file_cut_while_read(void)
{
	char path[] = "/tmp/precraft-trace-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	enum { N = 60000 }; /* about 33 MiB: three chunks */
	struct rec *r = malloc(N * sizeof *r);
	CU_ASSERT_FATAL(r != NULL);
	for (unsigned i = 0; i < N; i++)
		r[i] = (struct rec){ 1 + i / 1000, i % 1000, 100 + (i * 131u) % 900u, 1514, i };
	write_pcap(path, 0, 0xa1b2c3d4u, 65535, 1, r, N, NULL, 0);
	struct trace *t = NULL;
	struct errbuf eb = { 0 };
	CU_ASSERT_FATAL(trace_open(path, &t, &eb) == 0);
	struct trace_rec rec;
	unsigned n = 0, bad = 0;
	const uint8_t *first = NULL;
	while (n < 1000 && trace_next(t, &rec, &eb) == 1) {
		if (!n)
			first = rec.data;
		bad += rec.caplen != r[n].caplen;
		n++;
	}
	CU_ASSERT_EQUAL_FATAL(n, 1000);
	CU_ASSERT_FATAL(truncate(path, 10u << 20) == 0); /* 10 MiB: the reader is in the first */
	int rc;
	while ((rc = trace_next(t, &rec, &eb)) == 1) {
		if (n < N)
			bad += rec.caplen != r[n].caplen;
		n++;
	}
	CU_ASSERT_EQUAL(rc, -ERR_CHANGED);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "cut short while it was read"));
	CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, path));
	/* Every record wholly before the last page of the new end was read as it is. */
	CU_ASSERT(n > 17000 && n < 20000);
	CU_ASSERT_EQUAL(bad, 0);
	if (bad || rc != -ERR_CHANGED)
		fprintf(stderr, "\n  %u records, %u bad, rc %d: %s\n", n, bad, rc, eb.msg);
	CU_ASSERT_EQUAL(first[0], (uint8_t)r[0].fill); /* handed out before the cut: still there */
	CU_ASSERT_EQUAL(trace_next(t, &rec, &eb), -ERR_CHANGED); /* and it stays an error */
	trace_close(t);
	/* A second reader of the same (now short) file reads it as it is. */
	CU_ASSERT_FATAL(trace_open(path, &t, &eb) == 0);
	unsigned m = 0;
	while ((rc = trace_next(t, &rec, &eb)) == 1)
		m++;
	CU_ASSERT(m > 17000 && rc == -ERR_FORMAT); /* libpcap's 'truncated' for the cut record */
	trace_close(t);
	free(r);
	unlink(path);
}

/* The UDP checksum of an IPv4 datagram at 'ip' (a 20-byte header) verifies. */
static int udp_ok(const uint8_t *ip)
{
	uint32_t ulen = (uint32_t)(ip[24] << 8 | ip[25]);
	uint8_t ph[12] = { 0 };
	memcpy(ph, ip + 12, 8);
	ph[9] = 17;
	ph[10] = (uint8_t)(ulen >> 8);
	ph[11] = (uint8_t)ulen;
	return csum_fold(csum_partial(ip + 20, ulen, csum_partial(ph, 12, 0))) == 0;
}

/* rewrite --lab moves every A record of a DNS answer, not the first 32 (issue 34, 8): an answer
 * of 80 records had 48 left on their public addresses; the UDP checksum still verifies. */
static void test_rewrite_lab_every_dns_record(void)
{
	enum { RECS = 80 };
	uint8_t f[14 + 20 + 8 + 12 + 21 + RECS * 16] = { 0 };
	f[12] = 0x08;
	uint8_t *ip = f + 14, *udp = ip + 20, *dns = udp + 8, *q = dns + 12;
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 192, 0, 2, 53, 192, 0, 2, 10 }, 8);
	udp[1] = 53;
	udp[2] = 0x9c;
	dns[2] = 0x81, dns[3] = 0x80, dns[5] = 1, dns[7] = RECS; /* a response, 1 question, 80 answers */
	memcpy(q, "\7example\3com\0\0\1\0\1", 17); /* the question: name, type A, class IN */
	uint8_t *a = q + 17;
	for (int i = 0; i < RECS; i++, a += 16) /* a pointer to the name, A, IN, TTL 60, 93.184.216.i */
		memcpy(a, (uint8_t[]){ 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, (uint8_t)i }, 16);
	uint32_t dns_len = (uint32_t)(a - dns), ulen = 8 + dns_len;
	ip[2] = (uint8_t)((20 + ulen) >> 8), ip[3] = (uint8_t)(20 + ulen);
	uint16_t hc = csum_fold(csum_partial(ip, 20, 0));
	ip[10] = (uint8_t)(hc >> 8), ip[11] = (uint8_t)hc;
	udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
	uint8_t ph[12] = { 192, 0, 2, 53, 192, 0, 2, 10, 0, 17, (uint8_t)(ulen >> 8), (uint8_t)ulen };
	uint16_t uc = csum_fold(csum_partial(udp, ulen, csum_partial(ph, 12, 0)));
	udp[6] = (uint8_t)(uc >> 8), udp[7] = (uint8_t)uc;
	CU_ASSERT_FATAL(udp_ok(ip));
	struct dns_record rec[DNS_MAX_RECORDS];
	CU_ASSERT_EQUAL_FATAL(dns_answer_addrs(dns, dns_len, rec), DNS_MAX_RECORDS);
	char in[] = "/tmp/precraft-dns-XXXXXX", out[64];
	int fd = mkstemp(in);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	snprintf(out, sizeof out, "%s.lab", in);
	struct trace_writer *w;
	struct errbuf eb = { 0 };
	CU_ASSERT_FATAL(trace_writer_open(in, 1, &w, &eb) == 0);
	trace_writer_put(w, f, 14 + 20 + ulen, 14 + 20 + ulen, 1000);
	CU_ASSERT_FATAL(trace_writer_close(w, &eb) == 0);
	struct trace_lab_stats st = { 0 };
	CU_ASSERT_EQUAL_FATAL(trace_rewrite_lab(in, out, 1500, &st, &eb), 0);
	CU_ASSERT_EQUAL(st.dns_records, RECS);
	struct trace *t;
	CU_ASSERT_FATAL(trace_open(out, &t, &eb) == 0);
	struct trace_rec r;
	CU_ASSERT_EQUAL_FATAL(trace_next(t, &r, &eb), 1);
	const uint8_t *rip = r.data + 14;
	CU_ASSERT(udp_ok(rip));
	unsigned moved = 0, seen = 0;
	for (unsigned done = 0, k = DNS_MAX_RECORDS; k == DNS_MAX_RECORDS; done += k) {
		k = dns_answer_addrs_from(rip + 28, dns_len, done, rec);
		for (unsigned i = 0; i < k; i++, seen++)
			moved += rec[i].addr[0] == 198 && (rec[i].addr[1] & 0xfe) == 18;
	}
	CU_ASSERT_EQUAL(seen, RECS);
	CU_ASSERT_EQUAL(moved, RECS);
	trace_close(t);
	unlink(in);
	unlink(out);
}

/* A trace libpcap reads (pcapng here) is not read in place: its records are not stable and it
 * does not rewind in place. */
static void test_pcapng_not_stable(void)
{
	struct trace *t = NULL;
	struct errbuf eb = { 0 };
	CU_ASSERT_FATAL(trace_open("traces/sanders-http_espn.pcapng", &t, &eb) == 0);
	struct trace_rec rec;
	CU_ASSERT_EQUAL_FATAL(trace_next(t, &rec, &eb), 1);
	CU_ASSERT_FALSE(rec.stable);
	CU_ASSERT_EQUAL(trace_rewind(t), -ERR_UNSUPPORTED);
	trace_close(t);
}

int trace_test_register(void)
{
	CU_pSuite s = CU_add_suite("trace", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "the direct pcap reader gives what libpcap gives", test_reader_matches_libpcap);
	CU_add_test(s, "records read in place stay valid, also after rewinding", test_stable_records_and_rewind);
	CU_add_test(s, "pcapng: not read in place, not rewound in place", test_pcapng_not_stable);
	CU_add_test(s, "a file cut short while it is read: an error naming it, no SIGBUS", test_file_cut_while_read);
	CU_add_test(s, "rewrite --lab moves every A record of a long DNS answer", test_rewrite_lab_every_dns_record);
	return 0;
}
