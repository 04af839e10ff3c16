/* hostile-gen DIR [--flood N]: writes the hostile-input corpus, one capture per attack class,
 * and all.pcap with every class in one capture (each class shifted in time after the one
 * before); with --flood, flood-big.pcap instead: N one-way flows beside live conversations (the
 * soak run's flood).
 *
 * Every address is in the benchmarking ranges (198.18.0.0/15, 2001:2::/48, RFC 2544 and 5180)
 * that the lab's sink owns, so the corpus may be sent on the lab's wires as it is.
 *
 * Each class is a few live conversations (so that predictors learn and pre-build) into which
 * the attack is mixed: what an attacker on the path can send to make the fast path and the slow
 * path disagree, or to make either read, write or send what it should not.  The frames are
 * built here, byte by byte, independently of core/pkt.c: the corpus must not share the parser's
 * mistakes.  tests/hostile.sh runs the corpus through every mode, predictor and policy and
 * requires identical egress and no divergence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/pkt.h"
#include "tests/hostile/frame.h"
#include "traces/trace.h"

static void class_ttl_tos_label(struct out *o)
{
	struct hf c, u;
	conv_init(&c, 4, 6, 1);
	conv_init(&u, 6, 17, 2);
	for (unsigned i = 0; i < 40; i++) {
		c.ttl = i == 10 ? 5 : i == 15 ? 1 : i == 16 ? 0 : i == 17 ? 2 : 64;
		c.tos = i >= 20 && i < 25 ? 0xb8 : i == 30 ? 0x03 : 0;
		u.flowlabel = i >= 12 && i < 18 ? 0xabcde : i == 25 ? 1 : 0x12345;
		u.ttl = i == 14 ? 1 : i == 15 ? 0 : 64;
		u.tos = i == 20 ? 0xff : 0;
		step(o, &c, i);
		step(o, &u, i);
	}
}

static void class_ip_options(struct out *o)
{
	static const uint8_t nops[4] = { 1, 1, 1, 1 }, rr[8] = { 7, 7, 4, 0, 0, 0, 0, 0 },
			     zero_len[4] = { 0x44, 0, 0, 0 }, eol_junk[4] = { 0, 0xde, 0xad, 0xbe },
			     big[40] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 },
			     overlong[4] = { 0x83, 40, 4, 0 };
	static const uint8_t *const opts[] = { nops, rr, zero_len, eol_junk, big, overlong };
	static const size_t lens[] = { 4, 8, 4, 4, 40, 4 };
	struct hf c;
	conv_init(&c, 4, 17, 3);
	steady(o, &c, 8);
	for (unsigned i = 0; i < 36; i++) {
		unsigned k = i / 6;
		c.ipopt = i % 2 ? opts[k] : NULL;
		c.ipoptlen = i % 2 ? lens[k] : 0;
		step(o, &c, i);
	}
	/* An IHL below 5, and one pointing past the frame. */
	static uint8_t f[MAXF];
	c.ipopt = NULL;
	c.ipoptlen = 0;
	size_t n = build(&c, f);
	f[14] = 0x44;
	put(o, f, (uint32_t)n, (uint32_t)n);
	f[14] = 0x4f;
	put(o, f, 14 + 40, 14 + 40);
}

static void class_tcp_options(struct out *o)
{
	static const uint8_t ts[12] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 },
			     ts_moved[12] = { 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 },
			     len0[4] = { 2, 0, 5, 0xb4 }, len1[4] = { 3, 1, 1, 1 },
			     over[8] = { 5, 40, 0, 0, 0, 0, 0, 0 }, eol_junk[8] = { 0, 8, 10, 1, 2, 3, 4, 5 },
			     sack[12] = { 1, 1, 5, 10, 0, 0, 1, 0, 0, 0, 2, 0 };
	static const uint8_t *const opts[] = { ts, ts_moved, len0, len1, over, eol_junk, sack };
	static const size_t lens[] = { 12, 12, 4, 4, 8, 8, 12 };
	struct hf c;
	conv_init(&c, 4, 6, 4);
	c.tcpopt = ts;
	c.tcpoptlen = 12;
	steady(o, &c, 8);
	for (unsigned i = 0; i < 28; i++) {
		c.tcpopt = i % 2 ? opts[i / 4] : ts;
		c.tcpoptlen = i % 2 ? lens[i / 4] : 12;
		step(o, &c, i);
	}
	/* Data offsets below 5 and past the segment. */
	static uint8_t f[MAXF];
	c.tcpopt = NULL;
	c.tcpoptlen = 0;
	c.plen = 8;
	size_t n = build(&c, f);
	f[14 + 20 + 12] = 0x40;
	put(o, f, (uint32_t)n, (uint32_t)n);
	f[14 + 20 + 12] = 0xf0;
	put(o, f, (uint32_t)n, (uint32_t)n);
}

static void class_fragments(struct out *o)
{
	struct hf c, v;
	conv_init(&c, 4, 17, 5);
	conv_init(&v, 6, 17, 6);
	steady(o, &c, 8);
	steady(o, &v, 8);
	/* IPv4: a first fragment of 8 payload bytes (the UDP header alone), one of 1 byte past it
	 * (tiny: the header split), overlapping ones, an offset-0 fragment without MF. */
	static const uint16_t frag[] = { 0x2000, 0x2001, 0x2000, 0x0001, 0x2000, 0x0000, 0x4000, 0x3fff };
	static const size_t plen[] = { 0, 0, 200, 8, 100, 100, 100, 20 };
	for (unsigned i = 0; i < 16; i++) {
		c.frag = frag[i % 8];
		c.plen = plen[i % 8];
		step(o, &c, i);
	}
	c.frag = 0;
	c.plen = 100;
	steady(o, &c, 4);
	/* IPv6: a fragment header mid-flow: atomic (offset 0, M=0), first, later, overlapping. */
	uint8_t fh[8] = { 0, 0, 0, 0, 0, 0, 0, 9 };
	static const uint8_t t44[1] = { 44 };
	static const uint16_t off6[] = { 0x0000, 0x0001, 0x0008, 0x0009, 0x0010, 0xfff9 };
	for (unsigned i = 0; i < 12; i++) {
		if (i % 2) {
			wr16(fh + 2, off6[i / 2]);
			v.ext = fh;
			v.ext_types = t44;
			v.n_ext = 1;
			v.extlen = 8;
		} else {
			v.n_ext = v.extlen = 0;
		}
		step(o, &v, i);
	}
}

static void class_ext_midflow(struct out *o)
{
	static const uint8_t padn[8] = { 0, 0, 1, 4, 0, 0, 0, 0 }, dst[8] = { 0, 0, 1, 4, 0, 0, 0, 0 },
			     rt0[24] = { 0, 2, 0, 1 }, pad1s[8] = { 0, 0, 0, 0, 0, 0, 0, 0 },
			     badopt[8] = { 0, 0, 5, 9, 0, 0, 0, 0 }, two[16] = { 0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 1, 4 };
	static const uint8_t t0[1] = { 0 }, t60[1] = { 60 }, t43[1] = { 43 }, t0_60[2] = { 0, 60 };
	struct hf c;
	conv_init(&c, 6, 6, 7);
	steady(o, &c, 8);
	struct {
		const uint8_t *ext, *types;
		size_t n, len;
	} ex[] = { { padn, t0, 1, 8 }, { dst, t60, 1, 8 }, { rt0, t43, 1, 24 }, { pad1s, t0, 1, 8 },
		   { badopt, t0, 1, 8 }, { two, t0_60, 2, 16 } };
	for (unsigned i = 0; i < 24; i++) {
		unsigned k = i / 4;
		bool on = i % 2;
		c.ext = on ? ex[k].ext : NULL;
		c.ext_types = ex[k].types;
		c.n_ext = on ? ex[k].n : 0;
		c.extlen = on ? ex[k].len : 0;
		step(o, &c, i);
	}
	/* A chain claiming more than the frame holds, and one of 255 8-byte words. */
	static uint8_t f[MAXF];
	c.ext = padn;
	c.ext_types = t0;
	c.n_ext = 1;
	c.extlen = 8;
	size_t n = build(&c, f);
	f[14 + 41] = 200;
	put(o, f, (uint32_t)n, (uint32_t)n);
	f[14 + 41] = 255;
	put(o, f, (uint32_t)n, 70000);
}

static void class_link(struct out *o)
{
	struct hf c;
	conv_init(&c, 4, 6, 8);
	steady(o, &c, 8);
	for (unsigned i = 0; i < 24; i++) {
		c.smac[5] = i % 3 == 1 ? 0x66 : 1; /* a spoofed source MAC on the live 5-tuple */
		c.dmac[0] = i % 5 == 2 ? 0xff : 2;  /* and broadcast/multicast destinations */
		c.vlan = i % 4 == 3 ? 100 : 0;      /* a VLAN tag appearing mid-flow */
		c.vlan2 = i == 15 ? 200 : 0;        /* QinQ */
		step(o, &c, i);
	}
}

/* Records whose wire length disagrees with what was captured: above (a snap length) and below
 * (an attacker's or a broken writer's), down to below the link and IP headers. */
static void class_wirelen(struct out *o)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		for (uint8_t proto = 6; proto <= 17; proto = (uint8_t)(proto + 11)) {
			struct hf c;
			conv_init(&c, fam, proto, (unsigned)(9 + fam + proto));
			steady(o, &c, 8);
			static uint8_t f[MAXF];
			size_t l3 = 14, hdr = (fam == 4 ? 20u : 40u) + (proto == 6 ? 20u : 8u);
			uint32_t wl[] = { 0, 1, 13, 14, (uint32_t)(l3 + 10), (uint32_t)(l3 + hdr - 1), (uint32_t)(l3 + hdr) };
			for (unsigned i = 0; i < 7; i++) {
				size_t n = build(&c, f);
				put(o, f, (uint32_t)n, wl[i]);
				c.seq += (uint32_t)c.plen;
				c.ipid++;
				size_t m = build(&c, f);
				put(o, f, (uint32_t)(m > 40 ? m - 40 : m), (uint32_t)m); /* truncated capture */
				c.seq += (uint32_t)c.plen;
				c.ipid++;
			}
			/* Truncated inside the headers, and a wire length of 4 GiB. */
			size_t n = build(&c, f);
			put(o, f, (uint32_t)(l3 + hdr - 3), (uint32_t)n);
			put(o, f, (uint32_t)n, UINT32_MAX);
		}
	}
}

/* IPv6 jumbograms (RFC 2675): a jumbo payload length near 2^32 (40 + it wraps a 32-bit
 * sum), one that fits, one with a nonzero payload length beside it; 64 KB IPv4 frames and a
 * zero total length (segmentation offload). */
static void class_jumbo(struct out *o)
{
	static uint8_t f[MAXF];
	static const uint8_t t0[1] = { 0 };
	uint8_t hbh[8] = { 0, 0, 0xc2, 4, 0, 0, 0, 0 };
	struct hf c;
	conv_init(&c, 6, 17, 30);
	steady(o, &c, 8);
	static const uint32_t jl[] = { 0xffffffd8u, 0xffffffc4u, 0xfffffff0u, 0xffffffffu, 70000u, 0u };
	for (unsigned i = 0; i < 6; i++) {
		c.ext = hbh;
		c.ext_types = t0;
		c.n_ext = 1;
		c.extlen = 8;
		c.plen = i == 4 ? 70000 - 8 - 8 : 40;
		size_t n = build(&c, f);
		wr16(f + 14 + 4, 0);
		wr32(f + 14 + 40 + 4, jl[i]);
		put(o, f, (uint32_t)n, (uint32_t)n);
		put(o, f, (uint32_t)n, (uint32_t)n); /* twice: the second may meet a pre-built one */
		c.seq += 1;
	}
	c.n_ext = c.extlen = 0;
	c.plen = 100;
	steady(o, &c, 4);

	struct hf b;
	conv_init(&b, 4, 17, 31);
	b.plen = 65535 - 28;
	steady(o, &b, 6);
	b.plen = 1000;
	steady(o, &b, 4);
	size_t n = build(&b, f);
	wr16(f + 14 + 2, 0); /* total length 0: the frame is the length */
	put(o, f, (uint32_t)n, (uint32_t)n);
	put(o, f, (uint32_t)n, (uint32_t)n);
	wr16(f + 14 + 2, 65535); /* more than the frame */
	put(o, f, (uint32_t)n, (uint32_t)n);
}

static void class_retrans(struct out *o)
{
	struct hf c;
	conv_init(&c, 4, 6, 32);
	steady(o, &c, 10);
	for (unsigned i = 0; i < 30; i++) {
		struct hf d = c;
		if (i % 5 == 1)
			d.seq -= (uint32_t)(2 * c.plen); /* a retransmission */
		put_hf(o, &d);
		if (i % 7 == 3)
			put_hf(o, &d); /* a duplicate */
		if (i % 6 == 4) {
			struct hf later = c;
			later.seq += (uint32_t)c.plen;
			put_hf(o, &later); /* reordered: the next one first */
			put_hf(o, &d);
		}
		c.seq += (uint32_t)c.plen;
		c.ipid++;
		if (i % 2) {
			struct hf r = reply_of(&c);
			put_hf(o, &r);
		}
	}
	/* The end and a restart of the same 5-tuple, a reset mid-flow. */
	c.flags = 0x11;
	put_hf(o, &c);
	c.flags = 0x02;
	c.seq = 7;
	put_hf(o, &c);
	c.flags = 0x18;
	steady(o, &c, 6);
	c.flags = 0x04;
	put_hf(o, &c);
	c.flags = 0x18;
	steady(o, &c, 4);
}

/* Length fields that disagree with the frame: IPv4 total length above and below it (padding
 * and trailers), UDP lengths above, below and under 8. */
static void class_lengths(struct out *o)
{
	static uint8_t f[MAXF];
	struct hf c;
	conv_init(&c, 4, 17, 33);
	steady(o, &c, 8);
	static const int dt[] = { 10, -10, -100, 1 - 128, 0 };
	static const int du[] = { 0, 0, 0, 0, 20, -20, -100, 0 };
	for (unsigned i = 0; i < 8; i++) {
		size_t n = build(&c, f);
		uint8_t *ip = f + 14, *udp = ip + 20;
		if (i < 4) {
			int tl = (int)(ip[2] << 8 | ip[3]) + dt[i];
			wr16(ip + 2, (uint16_t)(tl < 0 ? 0 : tl));
		} else {
			int ul = (int)(udp[4] << 8 | udp[5]) + du[i];
			wr16(udp + 4, (uint16_t)(ul < 0 ? 3 : ul));
		}
		put(o, f, (uint32_t)n, (uint32_t)n);
		put(o, f, (uint32_t)n + 30, (uint32_t)n + 30); /* with an Ethernet trailer */
		c.ipid++;
	}
	steady(o, &c, 4);
}

/* A one-way flood of new flows (spoofed sources) beside live conversations: with a small
 * flow table, eviction decides who keeps state, and with --snat, which ports later flows get. */
static unsigned flood_flows = 1500;

static void class_flood(struct out *o)
{
	struct hf conv[4];
	for (unsigned k = 0; k < 4; k++)
		conv_init(&conv[k], k % 2 ? 6 : 4, k < 2 ? 6 : 17, 40 + k);
	uint32_t x = 12345;
	for (unsigned i = 0; i < flood_flows; i++) {
		if (i % 25 == 0)
			for (unsigned k = 0; k < 4; k++)
				step(o, &conv[k], i / 25);
		struct hf s;
		x = x * 1103515245u + 12345u;
		conv_init(&s, 4, (x >> 16) & 1 ? 17 : 6, 100 + (x >> 20 & 0xff));
		s.src[2] = (uint8_t)(x >> 8);
		s.src[3] = (uint8_t)(x >> 24);
		s.sport = (uint16_t)(x >> 5);
		s.flags = 0x02;
		s.plen = 0;
		put_hf(o, &s);
	}
}

static void class_icmp(struct out *o)
{
	struct hf a, b;
	conv_init(&a, 4, 1, 50);
	conv_init(&b, 6, 58, 51);
	b.proto = 58;
	for (unsigned i = 0; i < 16; i++) {
		a.seq = b.seq = i;
		put_hf(o, &a);
		put_hf(o, &b);
	}
}

/* DNS over UDP: a question, an answer larger than any cache slot (EDNS0 lets one reach 64 KB),
 * the question again; and answers of every small size. */
static void class_dns(struct out *o)
{
	static uint8_t q[64], a[9000];
	static const uint8_t name[] = { 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1 };
	struct hf c;
	conv_init(&c, 4, 17, 60);
	for (unsigned round = 0; round < 6; round++) {
		memset(q, 0, sizeof q);
		q[0] = 0x12;
		q[1] = (uint8_t)round;
		q[5] = 1;
		memcpy(q + 12, name, sizeof name);
		c.pay = q;
		c.plen = 12 + sizeof name;
		put_hf(o, &c);
		struct hf r = reply_of(&c);
		memset(a, 0xaa, sizeof a);
		memcpy(a, q, 12 + sizeof name);
		a[2] = 0x81;
		a[7] = 1;
		r.pay = a;
		r.plen = round % 2 ? sizeof a : 17 + round * 300;
		put_hf(o, &r);
	}
}

struct cls {
	const char *name;
	void (*fn)(struct out *o);
};

static const struct cls classes[] = {
	{ "ttl-tos-label", class_ttl_tos_label }, { "ip-options", class_ip_options },
	{ "tcp-options", class_tcp_options },     { "fragments", class_fragments },
	{ "ext-midflow", class_ext_midflow },     { "link", class_link },
	{ "wirelen", class_wirelen },             { "jumbo", class_jumbo },
	{ "retrans", class_retrans },             { "lengths", class_lengths },
	{ "flood", class_flood },                 { "icmp", class_icmp },
	{ "dns", class_dns },
};

int main(int argc, char **argv)
{
	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--flood") == 0)) {
		fprintf(stderr, "usage: hostile-gen DIR [--flood N]\n");
		return 2;
	}
	char path[4096];
	struct errbuf eb = { "" };
	struct out o = { 0 };
	o.t_ns = 1700000000ull * 1000000000ull;
	if (argc == 4) {
		flood_flows = (unsigned)strtoul(argv[3], NULL, 10);
		snprintf(path, sizeof path, "%s/flood-big.pcap", argv[1]);
		if (trace_writer_open(path, PKT_LINK_ETH, &o.all, &eb) || trace_writer_open("/dev/null", PKT_LINK_ETH, &o.one, &eb)) {
			fprintf(stderr, "hostile-gen: %s\n", eb.msg);
			return 1;
		}
		class_flood(&o);
		int bad = trace_writer_close(o.one, &eb) | trace_writer_close(o.all, &eb);
		printf("flood-big %u\n", o.frames);
		return bad ? 1 : 0;
	}
	snprintf(path, sizeof path, "%s/all.pcap", argv[1]);
	if (trace_writer_open(path, PKT_LINK_ETH, &o.all, &eb)) {
		fprintf(stderr, "hostile-gen: %s\n", eb.msg);
		return 1;
	}
	int rc = 0;
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
		snprintf(path, sizeof path, "%s/%s.pcap", argv[1], classes[i].name);
		if (trace_writer_open(path, PKT_LINK_ETH, &o.one, &eb)) {
			fprintf(stderr, "hostile-gen: %s\n", eb.msg);
			return 1;
		}
		unsigned before = o.frames;
		classes[i].fn(&o);
		if (trace_writer_close(o.one, &eb)) {
			fprintf(stderr, "hostile-gen: %s\n", eb.msg);
			rc = 1;
		}
		printf("%s %u\n", classes[i].name, o.frames - before);
	}
	if (trace_writer_close(o.all, &eb)) {
		fprintf(stderr, "hostile-gen: %s\n", eb.msg);
		rc = 1;
	}
	printf("all %u\n", o.frames);
	return rc;
}
