/* tools: rewrite for the lab, and compare (see tools.h). */
#include "tools.h"

#include <stdlib.h>
#include <string.h>

#include "core/csum.h"
#include "core/dns.h"
#include "core/flow.h"
#include "core/pkt.h"
#include "trace.h"

#define MAX_FRAME (262144 + 64)

/* Original address -> lab address, open addressing. */
struct addr_map {
	struct slot {
		uint8_t used, family;
		uint8_t from[16], to[16];
	} *s;
	size_t cap, n;
	uint32_t next4;            /* offset in 198.18.0.0/15 */
	uint64_t next6;            /* offset in 2001:2::/48 */
};

static uint64_t h16(const uint8_t *a, int family)
{
	uint64_t x, y;
	memcpy(&x, a, 8);
	memcpy(&y, a + 8, 8);
	uint64_t h = (x * 0x9e3779b97f4a7c15ull) ^ (y + (uint64_t)family) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 31);
}

/* Maps 'a' (4 or 16 bytes) in place.  Returns -1 when the range is exhausted or memory is out. */
static int map_addr(struct addr_map *m, uint8_t *a, int family)
{
	size_t n = family == 4 ? 4 : 16;
	uint8_t key[16] = { 0 };
	memcpy(key, a, n);
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct slot *s = calloc(cap, sizeof *s);
		if (!s)
			return -1;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->s[i].used)
				continue;
			size_t j = h16(m->s[i].from, m->s[i].family) & (cap - 1);
			while (s[j].used)
				j = (j + 1) & (cap - 1);
			s[j] = m->s[i];
		}
		free(m->s);
		m->s = s;
		m->cap = cap;
	}
	size_t j = h16(key, family) & (m->cap - 1);
	while (m->s[j].used && !(m->s[j].family == family && memcmp(m->s[j].from, key, 16) == 0))
		j = (j + 1) & (m->cap - 1);
	struct slot *sl = &m->s[j];
	if (!sl->used) {
		sl->used = 1;
		sl->family = (uint8_t)family;
		memcpy(sl->from, key, 16);
		if (family == 4) {
			if (m->next4 >= 0x1fffe)
				return -1;
			pkt_wr32(sl->to, 0xc6120000u + ++m->next4); /* 198.18.0.1 upward */
		} else {
			static const uint8_t pfx[6] = { 0x20, 0x01, 0x00, 0x02, 0x00, 0x00 };
			memcpy(sl->to, pfx, 6);
			uint64_t k = ++m->next6;
			for (int i = 15; i >= 6; i--, k >>= 8)
				sl->to[i] = (uint8_t)k;
		}
		m->n++;
	}
	memcpy(a, sl->to, n);
	return 0;
}

/* Maps the addresses of 'k' DNS records in the UDP datagram 'udp' ('ulen' bytes) as the headers
 * are, adding the change to the UDP checksum's words into '*delta'.  Nonzero when the ranges are
 * full. */
static int map_records(struct addr_map *map, uint8_t *udp, uint32_t ulen, const struct dns_record *rec, unsigned k,
		       uint32_t *delta)
{
	int fail = 0;
	for (unsigned i = 0; i < k && !fail; i++) {
		uint32_t n = rec[i].family == 4 ? 4 : 16, at = 8 + rec[i].off;
		/* The 16-bit words of the UDP checksum the address touches, from an even offset of the
		 * UDP header (a byte past the end counts as 0). */
		uint32_t w0 = at & ~1u, w1 = (at + n + 1) & ~1u;
		uint8_t before[20] = { 0 }, after[20] = { 0 };
		memcpy(before, udp + w0, (w1 <= ulen ? w1 : ulen) - w0);
		fail |= map_addr(map, udp + at, rec[i].family);
		memcpy(after, udp + w0, (w1 <= ulen ? w1 : ulen) - w0);
		for (uint32_t b = 0; b < w1 - w0; b += 2)
			*delta = csum_delta16(*delta, pkt_rd16(before + b), pkt_rd16(after + b));
	}
	return fail;
}

int trace_rewrite_lab(const char *in, const char *out, uint32_t mtu, struct trace_lab_stats *st,
		      struct errbuf *eb)
{
	memset(st, 0, sizeof *st);
	struct trace *t = NULL;
	struct trace_writer *w = NULL;
	int rc = trace_open(in, &t, eb);
	if (rc || (rc = trace_writer_open(out, PKT_LINK_ETH, &w, eb)) != 0) {
		trace_close(t);
		return rc;
	}
	int lt = trace_linktype(t);
	struct addr_map map = { 0 };
	static uint8_t f[MAX_FRAME];
	struct trace_rec r;
	while ((rc = trace_next(t, &r, eb)) == 1) {
		struct pkt p;
		if (r.caplen < r.wirelen) {
			st->truncated++;
			continue;
		}
		if (pkt_parse(r.data, r.caplen, r.wirelen, lt, &p) != 0) {
			st->malformed++;
			continue;
		}
		if (p.l3 == PKT_L3_NONE) {
			st->non_ip++;
			continue;
		}
		if (p.proto != IPPROTO_NUM_TCP && p.proto != IPPROTO_NUM_UDP && p.proto != IPPROTO_NUM_ICMP &&
		    p.proto != IPPROTO_NUM_ICMP6) {
			st->tunnel++;
			continue;
		}
		/* The frame as it will be sent: its own Ethernet header, or a new one. */
		uint32_t l2 = lt == PKT_LINK_ETH ? p.l3_off : 14, ip_len = p.l3_len;
		if (l2 + ip_len > mtu + 18 || ip_len > mtu || l2 + ip_len > sizeof f) {
			st->too_big++;
			continue;
		}
		if (lt == PKT_LINK_ETH) {
			memcpy(f, r.data, p.l3_off);
		} else {
			static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 2 }, src[6] = { 0x02, 0, 0, 0, 0, 1 };
			memcpy(f, dst, 6);
			memcpy(f + 6, src, 6);
			pkt_wr16(f + 12, p.l3 == PKT_L3_IPV4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
		}
		memcpy(f + l2, r.data + p.l3_off, ip_len);
		uint8_t *ip = f + l2;
		int fam = p.l3 == PKT_L3_IPV4 ? 4 : 6;
		uint8_t *addr[2];
		pkt_addr_fields(&p, ip, addr);
		uint32_t delta = 0, dns_delta = 0; /* the addresses' change; the DNS payload's (UDP only) */
		int fail = 0;
		for (int i = 0; i < 2; i++) {
			size_t n = fam == 4 ? 4 : 16;
			uint8_t old[16];
			memcpy(old, addr[i], n);
			fail |= map_addr(&map, addr[i], fam);
			for (size_t k = 0; k < n; k += 2)
				delta = csum_delta16(delta, pkt_rd16(old + k), pkt_rd16(addr[i] + k));
		}
		/* A DNS answer's A and AAAA records name addresses the capture's later flows go to:
		 * mapped as the headers are, so a connection still follows its answer (DNS
		 * prefetching), with the UDP checksum moved by the change. */
		if (!fail && p.l4 == PKT_L4_UDP && p.udp.sport == 53 && p.payload_avail == p.payload_len) {
			uint8_t *udp = ip + p.l3_hdr_len, *msg = udp + 8;
			uint32_t ulen = 8 + p.payload_len;
			struct dns_record rec[DNS_MAX_RECORDS];
			/* Every record, a batch at a time (an answer of 80 left 48 in place); mapping an
			 * address changes no length, so each batch parses the message as the first did. */
			unsigned k = DNS_MAX_RECORDS;
			for (unsigned done = 0; !fail && k == DNS_MAX_RECORDS; done += k) {
				k = dns_answer_addrs_from(msg, p.payload_len, done, rec);
				fail |= map_records(&map, udp, ulen, rec, k, &dns_delta);
				st->dns_records += k;
			}
		}
		if (fail) {
			rc = err_set(eb, -ERR_FULL, "%s: more addresses than the lab ranges hold, or out of memory", in);
			break;
		}
		pkt_readdressed(&p, ip, delta, p.l4 == PKT_L4_UDP ? dns_delta : 0);
		trace_writer_put(w, f, l2 + ip_len, l2 + ip_len, r.t_ns);
		st->kept++;
	}
	trace_close(t);
	st->addresses_v4 = map.next4;
	st->addresses_v6 = map.next6;
	free(map.s);
	int wrc = trace_writer_close(w, rc < 0 ? NULL : eb);
	return rc < 0 ? rc : wrc;
}

/* Both captures of a comparison open, or neither. */
static int open_pair(const char *expected, const char *got, struct trace **a, struct trace **b, struct errbuf *eb)
{
	*a = *b = NULL;
	int rc = trace_open(expected, a, eb);
	if (rc || (rc = trace_open(got, b, eb)) != 0) {
		trace_close(*a);
		*a = NULL;
	}
	return rc;
}

int trace_compare(const char *expected, const char *got, struct trace_cmp *c, struct errbuf *eb)
{
	memset(c, 0, sizeof *c);
	struct trace *a, *b;
	int rc = open_pair(expected, got, &a, &b, eb);
	if (rc)
		return rc;
	struct trace_rec x, y;
	int ra, rb;
	static uint8_t keep[MAX_FRAME];
	for (;;) {
		uint32_t kept_len = 0;
		ra = trace_next(a, &x, eb);
		if (ra == 1) {
			/* The next read may reuse the reader's buffer; a longer record than any
			 * snapshot length is compared by its first MAX_FRAME bytes and its length. */
			kept_len = x.caplen < sizeof keep ? x.caplen : (uint32_t)sizeof keep;
			memcpy(keep, x.data, kept_len);
			c->expected++;
		}
		rb = ra < 0 ? 0 : trace_next(b, &y, eb);
		if (rb == 1)
			c->got++;
		if (ra == 1 && rb == 1) {
			if (x.caplen == y.caplen && memcmp(keep, y.data, kept_len) == 0)
				c->same++;
			else if (!c->first_diff)
				c->first_diff = c->expected;
		}
		if ((ra != 1 && rb != 1) || ra < 0 || rb < 0)
			break;
	}
	trace_close(a);
	trace_close(b);
	return ra < 0 ? ra : rb < 0 ? rb : 0;
}

int trace_compare_subseq(const char *expected, const char *got, struct trace_cmp *c, bool *is_subseq,
			 struct errbuf *eb)
{
	memset(c, 0, sizeof *c);
	*is_subseq = true;
	struct trace *a, *b;
	int rc = open_pair(expected, got, &a, &b, eb);
	if (rc)
		return rc;
	struct trace_rec x, y;
	static uint8_t keep[MAX_FRAME];
	int ra = 1, rb;
	while ((rb = trace_next(b, &y, eb)) == 1) {
		c->got++;
		uint32_t kept_len = y.caplen < sizeof keep ? y.caplen : (uint32_t)sizeof keep;
		memcpy(keep, y.data, kept_len);
		bool found = false;
		while (!found && (ra = trace_next(a, &x, eb)) == 1) {
			c->expected++;
			found = x.caplen == y.caplen && memcmp(keep, x.data, kept_len) == 0;
		}
		if (!found) {
			if (!c->first_diff)
				c->first_diff = c->got;
			*is_subseq = false;
			break;
		}
		c->same++;
	}
	while (ra == 1 && (ra = trace_next(a, &x, eb)) == 1)
		c->expected++;
	trace_close(a);
	trace_close(b);
	return ra < 0 ? ra : rb < 0 ? rb : 0;
}

/* ---- flow by flow --------------------------------------------------------------------------- */

/* A capture in memory, each record with its flow's key. */
struct flow_rec {
	struct flow_key key;       /* zero for frames that are not IP: one group */
	uint64_t idx;              /* position in the capture: the order within a flow */
	uint32_t len;              /* caplen */
	size_t off;                /* into the capture's bytes */
};

struct flow_capture {
	struct flow_rec *r;
	size_t n, cap;
	uint8_t *bytes;
	size_t blen, bcap;
};

static int flow_capture_load(const char *path, struct flow_capture *fc, struct errbuf *eb)
{
	struct trace *t;
	int rc = trace_open(path, &t, eb);
	if (rc)
		return rc;
	int lt = trace_linktype(t);
	struct trace_rec x;
	while ((rc = trace_next(t, &x, eb)) == 1) {
		if (fc->n == fc->cap) {
			size_t cap = fc->cap ? fc->cap * 2 : 1024;
			struct flow_rec *r = realloc(fc->r, cap * sizeof *r);
			if (!r) {
				rc = err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
				break;
			}
			fc->r = r;
			fc->cap = cap;
		}
		if (x.caplen > fc->bcap - fc->blen) {
			size_t bcap = (fc->blen + x.caplen) * 2;
			uint8_t *b = realloc(fc->bytes, bcap);
			if (!b) {
				rc = err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
				break;
			}
			fc->bytes = b;
			fc->bcap = bcap;
		}
		struct flow_rec *r = &fc->r[fc->n];
		memset(&r->key, 0, sizeof r->key);
		struct pkt p;
		bool src_is_a;
		if (pkt_parse(x.data, x.caplen, x.wirelen, lt, &p) != 0 || p.l3 == PKT_L3_NONE ||
		    !flow_key_from_pkt(&p, &r->key, &src_is_a))
			memset(&r->key, 0, sizeof r->key);
		r->idx = fc->n;
		r->len = x.caplen;
		r->off = fc->blen;
		memcpy(fc->bytes + fc->blen, x.data, x.caplen);
		fc->blen += x.caplen;
		fc->n++;
	}
	trace_close(t);
	return rc < 0 ? rc : 0;
}

static int by_flow(const void *a, const void *b)
{
	const struct flow_rec *x = a, *y = b;
	int k = memcmp(&x->key, &y->key, sizeof x->key);
	return k ? k : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The end of the group of records with r[i]'s key. */
static size_t group_end(const struct flow_capture *fc, size_t i)
{
	size_t j = i + 1;
	while (j < fc->n && memcmp(&fc->r[j].key, &fc->r[i].key, sizeof fc->r[i].key) == 0)
		j++;
	return j;
}

int trace_compare_flows(const char *expected, const char *got, struct trace_cmp *c, struct errbuf *eb)
{
	struct flow_capture a = { 0 }, b = { 0 };
	int rc = flow_capture_load(expected, &a, eb);
	if (!rc)
		rc = flow_capture_load(got, &b, eb);
	c->flows = c->flows_same = c->same_in_flow = 0;
	if (!rc) {
		qsort(a.r, a.n, sizeof *a.r, by_flow);
		qsort(b.r, b.n, sizeof *b.r, by_flow);
		size_t i = 0, j = 0;
		while (i < a.n) {
			size_t ie = group_end(&a, i);
			/* B's groups with smaller keys are flows EXPECTED does not have: skipped. */
			while (j < b.n && memcmp(&b.r[j].key, &a.r[i].key, sizeof a.r[i].key) < 0)
				j = group_end(&b, j);
			size_t je = j < b.n && memcmp(&b.r[j].key, &a.r[i].key, sizeof a.r[i].key) == 0 ? group_end(&b, j) : j;
			uint64_t same = 0;
			for (size_t k = 0; i + k < ie && j + k < je; k++) {
				const struct flow_rec *x = &a.r[i + k], *y = &b.r[j + k];
				same += x->len == y->len && memcmp(a.bytes + x->off, b.bytes + y->off, x->len) == 0;
			}
			c->flows++;
			c->same_in_flow += same;
			c->flows_same += same == ie - i && je - j == ie - i;
			i = ie;
			j = je;
		}
	}
	free(a.r);
	free(a.bytes);
	free(b.r);
	free(b.bytes);
	return rc;
}
