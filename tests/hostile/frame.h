/* frame: the hostile corpus's frames, laid out byte by byte independently of core/pkt.c (the
 * corpus must not share the parser's mistakes), and the conversations they are mixed into. */
#ifndef PRECRAFT_TESTS_HOSTILE_FRAME_H
#define PRECRAFT_TESTS_HOSTILE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define MAXF (70000u + 128u)

/* One frame's fields; build() lays them out. */
struct hf {
	int fam;                   /* 4 or 6 */
	uint8_t smac[6], dmac[6];
	uint16_t vlan, vlan2;      /* 802.1Q tags, outer first; 0 = none */
	uint8_t src[16], dst[16];
	uint8_t tos, ttl;
	uint32_t flowlabel;
	uint16_t ipid, frag;       /* IPv4 flags and fragment offset field, as on the wire */
	const uint8_t *ipopt;      /* IPv4 options (a multiple of 4) */
	size_t ipoptlen;
	const uint8_t *ext;        /* IPv6 extension headers; each one's next-header byte is set here */
	const uint8_t *ext_types;  /* their types, in order */
	size_t n_ext, extlen;
	uint8_t proto;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *tcpopt;     /* a multiple of 4 */
	size_t tcpoptlen;
	size_t plen;               /* payload bytes: 'pay', or a pattern from 'pseed' */
	const uint8_t *pay;
	uint8_t pseed;
};

/* The writer and the running clock. */
struct out {
	struct trace_writer *one, *all;
	uint64_t t_ns;
	unsigned frames;
};

/* Big-endian stores. */
void wr16(uint8_t *b, uint16_t v);
void wr32(uint8_t *b, uint32_t v);
/* Lays out 'h' at 'f' (MAXF bytes); returns the frame's length. */
size_t build(const struct hf *h, uint8_t *f);
/* Writes a frame to the class's capture and to all.pcap, 1 ms after the one before. */
void put(struct out *o, const uint8_t *f, uint32_t caplen, uint32_t wirelen);
void put_hf(struct out *o, const struct hf *h);
/* A conversation's two ends: 'c' the client's first packet (family 'fam', protocol, id). */
void conv_init(struct hf *c, int fam, uint8_t proto, unsigned id);
/* The reply of 'c': ends swapped. */
struct hf reply_of(const struct hf *c);
/* One step of conversation 'c' (a client packet, every other step its reply); 'n' steps. */
void step(struct out *o, struct hf *c, unsigned i);
void steady(struct out *o, struct hf *c, unsigned n);

#endif
