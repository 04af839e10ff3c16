/* tracecmd: rewrite and compare (see tracecmd.h).
 *
 * rewrite --lab: every IP address of a capture is mapped into the benchmarking ranges that the
 * lab's sink owns, 198.18.0.0/15 (RFC 2544) and 2001:2::/48 (RFC 5180), one new address per
 * original address in order of first appearance, so flows stay distinct and both directions stay
 * paired; checksums are updated incrementally (RFC 1624), so a packet that was valid stays valid.
 * What cannot be sent into the lab as it was captured, or would carry other addresses in a header
 * a router reads, is left out and counted: non-IP frames (ARP carries addresses), truncated
 * records, tunnels (IP-in-IP, GRE, ESP and the like), frames above the lab MTU.  Other link types
 * become Ethernet with locally administered MACs. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/csum.h"
#include "core/pkt.h"
#include "traces/trace.h"

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

const char rewrite_usage[] =
	"usage: precraft rewrite TRACE -o OUT.pcap --lab [--mtu BYTES]\n"
	"  Maps every IP address into 198.18.0.0/15 and 2001:2::/48 (what the lab's sink owns), one new\n"
	"  address per original, checksums fixed; leaves out what cannot be sent into the lab as captured\n"
	"  (non-IP, truncated records, tunnels, frames above the MTU, default 1500).\n";

int rewrite_main(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	bool lab = false;
	uint64_t mtu = 1500;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(rewrite_usage, stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (strcmp(argv[i], "--lab") == 0) {
			lab = true;
		} else if (strcmp(argv[i], "--mtu") == 0 && i + 1 < argc) {
			if (!cli_u64("--mtu", argv[++i], 68, 65535, &mtu))
				return EXIT_USAGE;
		} else if (argv[i][0] == '-' || in) {
			cli_error("rewrite: unexpected '%s' (see 'precraft rewrite --help')", argv[i]);
			return EXIT_USAGE;
		} else {
			in = argv[i];
		}
	}
	if (!in || !out || !lab) {
		cli_error("rewrite: expected TRACE -o OUT --lab (see 'precraft rewrite --help')");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct trace *t = NULL;
	struct trace_writer *w = NULL;
	if (trace_open(in, &t, &eb) || trace_writer_open(out, PKT_LINK_ETH, &w, &eb)) {
		cli_error("%s", eb.msg);
		trace_close(t);
		return EXIT_USAGE;
	}
	int lt = trace_linktype(t);
	struct addr_map map = { 0 };
	uint64_t kept = 0, non_ip = 0, truncated = 0, tunnel = 0, too_big = 0, bad = 0;
	static uint8_t f[262144 + 64];
	struct trace_rec r;
	int rc, code = EXIT_OK;
	while ((rc = trace_next(t, &r, &eb)) == 1) {
		struct pkt p;
		if (r.caplen < r.wirelen) {
			truncated++;
			continue;
		}
		if (pkt_parse(r.data, r.caplen, r.wirelen, lt, &p) != 0) {
			bad++;
			continue;
		}
		if (p.l3 == PKT_L3_NONE) {
			non_ip++;
			continue;
		}
		if (p.proto != IPPROTO_NUM_TCP && p.proto != IPPROTO_NUM_UDP && p.proto != IPPROTO_NUM_ICMP &&
		    p.proto != IPPROTO_NUM_ICMP6) {
			tunnel++;
			continue;
		}
		/* The frame as it will be sent: its own Ethernet header, or a new one. */
		uint32_t l2 = lt == PKT_LINK_ETH ? p.l3_off : 14, ip_len = p.l3_len;
		if (l2 + ip_len > mtu + 18 || ip_len > mtu) {
			too_big++;
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
		uint8_t *addr[2] = { fam == 4 ? ip + 12 : ip + 8, fam == 4 ? ip + 16 : ip + 24 };
		uint32_t delta = 0;
		int fail = 0;
		for (int i = 0; i < 2; i++) {
			size_t n = fam == 4 ? 4 : 16;
			uint8_t old[16];
			memcpy(old, addr[i], n);
			fail |= map_addr(&map, addr[i], fam);
			for (size_t k = 0; k < n; k += 2)
				delta = csum_delta16(delta, pkt_rd16(old + k), pkt_rd16(addr[i] + k));
		}
		if (fail) {
			cli_error("%s: more addresses than the lab ranges hold, or out of memory", in);
			code = EXIT_RUNTIME;
			break;
		}
		if (fam == 4)
			pkt_wr16(ip + 10, csum_apply(pkt_rd16(ip + 10), delta));
		uint8_t *l4 = ip + p.l3_hdr_len;
		if (p.l4 == PKT_L4_TCP)
			pkt_wr16(l4 + 16, csum_apply(pkt_rd16(l4 + 16), delta));
		else if (p.l4 == PKT_L4_UDP)
			pkt_wr16(l4 + 6, csum_apply_udp(pkt_rd16(l4 + 6), delta));
		else if (p.l4 == PKT_L4_ICMP6)
			pkt_wr16(l4 + 2, csum_apply(pkt_rd16(l4 + 2), delta));
		trace_writer_put(w, f, l2 + ip_len, l2 + ip_len, r.t_ns);
		kept++;
	}
	if (rc < 0) {
		cli_error("%s", eb.msg);
		code = EXIT_USAGE;
	}
	trace_close(t);
	if (trace_writer_close(w, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
	}
	printf("kept                   %llu\naddresses_v4           %u\naddresses_v6           %llu\n",
	       (unsigned long long)kept, map.next4, (unsigned long long)map.next6);
	printf("left_out_non_ip        %llu\nleft_out_truncated     %llu\nleft_out_tunnel        %llu\n"
	       "left_out_too_big       %llu\nleft_out_malformed     %llu\n",
	       (unsigned long long)non_ip, (unsigned long long)truncated, (unsigned long long)tunnel,
	       (unsigned long long)too_big, (unsigned long long)bad);
	free(map.s);
	return code;
}

const char compare_usage[] =
	"usage: precraft compare EXPECTED.pcap GOT.pcap\n"
	"  Compares two captures packet by packet (bytes, not times); exit 0 when GOT holds exactly\n"
	"  EXPECTED's packets in order, 1 otherwise, 2 on bad usage or an unreadable capture.\n";

int compare_main(int argc, char **argv)
{
	if (!cli_positional("compare", argc - 1))
		return EXIT_USAGE;
	struct errbuf eb = { "" };
	struct trace *a = NULL, *b = NULL;
	if (trace_open(argv[1], &a, &eb) || trace_open(argv[2], &b, &eb)) {
		cli_error("%s", eb.msg);
		trace_close(a);
		return EXIT_USAGE;
	}
	uint64_t m = 0, got = 0, same = 0, first_diff = 0;
	struct trace_rec x, y;
	int ra, rb;
	static uint8_t keep[262144 + 64];
	for (;;) {
		ra = trace_next(a, &x, &eb);
		if (ra == 1) {
			memcpy(keep, x.data, x.caplen); /* the next read may reuse the buffer */
			m++;
		}
		rb = trace_next(b, &y, &eb);
		if (rb == 1)
			got++;
		if (ra == 1 && rb == 1) {
			if (x.caplen == y.caplen && memcmp(keep, y.data, x.caplen) == 0)
				same++;
			else if (!first_diff)
				first_diff = m;
		}
		if (ra != 1 && rb != 1)
			break;
	}
	trace_close(a);
	trace_close(b);
	if (ra < 0 || rb < 0) {
		cli_error("%s", eb.msg);
		return EXIT_USAGE;
	}
	uint64_t drops = m > got ? m - got : 0, extra = got > m ? got - m : 0;
	printf("identical: %llu/%llu, drops: %llu", (unsigned long long)same, (unsigned long long)m,
	       (unsigned long long)drops);
	if (extra)
		printf(", extra: %llu", (unsigned long long)extra);
	if (first_diff)
		printf(", first difference at packet %llu", (unsigned long long)first_diff);
	putchar('\n');
	return same == m && got == m ? EXIT_OK : EXIT_RUNTIME;
}
