/* pkt: decode a captured frame into header structs, and write headers back to bytes.
 *
 * Link types: Ethernet (802.1Q, 802.1ad/QinQ, MPLS stacks, PPPoE session), Linux cooked SLL
 * and SLL2, raw IP, BSD null/loopback.  Network: IPv4 with options and fragments, IPv6 with its
 * extension-header chain, fragments and the RFC 2675 jumbo payload option.  Transport: TCP
 * (options walked on request), UDP, ICMP, ICMPv6.  Only the outermost IP header is decoded:
 * tunnels (GRE, VXLAN, ESP) are forwarded as their outer packet.
 *
 * A decoded struct pkt points into the frame it came from (options, extension headers,
 * payload, trailer): it is valid only while that frame is.  pkt_write() serialises every
 * header from the struct fields, so a parse followed by a write reproduces the input bytes,
 * and a field changed in the struct is what gets written.
 *
 * Truncated (the capture ended inside a header, ERR_TRUNC) and malformed (fields contradict
 * each other, ERR_MALFORMED) are different errors; pkt.status says at which layer. */
#ifndef PRECRAFT_PKT_H
#define PRECRAFT_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Link types, numbered as pcap's LINKTYPE_/DLT_ values so a reader can pass them through. */
enum pkt_link {
	PKT_LINK_NULL = 0,    /* BSD loopback: 4-byte address family, writer's byte order */
	PKT_LINK_ETH = 1,     /* Ethernet II */
	PKT_LINK_RAW_BSD = 12, /* DLT_RAW on most systems */
	PKT_LINK_RAW_OBSD = 14,
	PKT_LINK_RAW = 101,   /* LINKTYPE_RAW */
	PKT_LINK_LOOP = 108,  /* OpenBSD loopback: family in network byte order */
	PKT_LINK_SLL = 113,   /* Linux cooked v1 */
	PKT_LINK_IPV4 = 228,
	PKT_LINK_IPV6 = 229,
	PKT_LINK_SLL2 = 276,  /* Linux cooked v2 */
};

/* True for the link types pkt_parse() understands. */
bool pkt_link_supported(int linktype);

/* Where parsing stopped, for counting errors by kind. */
#define PKT_STATUS_MAP(X)                                                      \
	X(OK, "ok")                                                            \
	X(NON_IP, "non_ip")                                                    \
	X(TRUNC_L2, "truncated_l2")                                            \
	X(TRUNC_L3, "truncated_l3")                                            \
	X(TRUNC_L4, "truncated_l4")                                            \
	X(MALFORMED_L2, "malformed_l2")                                        \
	X(MALFORMED_L3, "malformed_l3")                                        \
	X(MALFORMED_L4, "malformed_l4")                                        \
	X(BAD_LINK, "unsupported_link")

enum pkt_status {
#define PKT__ST(name, text) PKT_ST_##name,
	PKT_STATUS_MAP(PKT__ST)
#undef PKT__ST
	PKT_ST__COUNT
};

const char *pkt_status_name(enum pkt_status st);

#define PKT_MAX_TAGS 4
#define PKT_MAX_MPLS 8
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd

/* Link layer, as found. */
struct pkt_link_hdr {
	int linktype;
	uint32_t hdr_len;          /* bytes before the IP header */
	uint16_t eth_type;         /* Ethernet: the type field after the tags, as written */
	uint16_t ethertype;        /* of the payload after tags, MPLS and PPPoE (0 if none) */
	/* Ethernet */
	uint8_t dst[6], src[6];
	uint8_t n_tags;
	struct {
		uint16_t tpid, tci;
	} tags[PKT_MAX_TAGS];
	uint8_t n_mpls;
	uint32_t mpls[PKT_MAX_MPLS]; /* label stack entries, outermost first */
	bool has_pppoe;
	uint8_t pppoe_vt, pppoe_code;
	uint16_t pppoe_session, pppoe_len, ppp_proto;
	/* SLL / SLL2 / null: their header bytes are kept verbatim (they are never rewritten). */
	const uint8_t *raw;
	uint8_t raw_len;
};

enum pkt_l3 { PKT_L3_NONE = 0, PKT_L3_IPV4 = 4, PKT_L3_IPV6 = 6 };

struct pkt_ip4 {
	uint8_t ihl_bytes;         /* header length, 20..60 */
	uint8_t tos;
	uint16_t tot_len;          /* as written (0 in TSO/GRO captures) */
	uint16_t id;
	uint16_t frag;             /* flags and fragment offset */
	uint8_t ttl, proto;
	uint16_t csum;
	uint8_t src[4], dst[4];
	const uint8_t *opts;       /* ihl_bytes - 20 bytes, in the frame */
};

struct pkt_ip6 {
	uint32_t vtcfl;            /* version, traffic class, flow label */
	uint16_t plen;
	uint8_t nxt, hlim;
	uint8_t src[16], dst[16];
	const uint8_t *ext;        /* extension-header chain, in the frame */
	uint16_t ext_len;
	uint8_t final_nxt;         /* upper-layer protocol after the chain */
	uint32_t jumbo_len;        /* RFC 2675 jumbo payload length, or 0 */
	uint16_t ext_frag_off;     /* offset of the fragment header in 'ext', or 0xffff */
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

struct pkt_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t doff_bytes;        /* header length, 20..60 */
	uint8_t off_byte;          /* byte 12 as written: data offset and reserved/NS bits */
	uint8_t flags;             /* byte 13 */
	uint16_t win, csum, urg;
	const uint8_t *opts;       /* doff_bytes - 20 bytes, in the frame */
	/* Filled by pkt_tcp_opts(); offsets are into 'opts', 0xff when absent. */
	bool opts_walked, opts_bad;
	uint8_t ts_off, sack_off, sack_len, mss_off, ws_off;
	uint32_t tsval, tsecr;
	uint16_t mss;
	uint8_t wscale;
};

struct pkt_udp {
	uint16_t sport, dport, len, csum;
};

struct pkt_icmp {
	uint8_t type, code;
	uint16_t csum;
	uint8_t rest[4];           /* identifier and sequence for echo */
	uint8_t rest_len;          /* 0 or 4 */
};

enum pkt_l4 { PKT_L4_NONE = 0, PKT_L4_TCP, PKT_L4_UDP, PKT_L4_ICMP, PKT_L4_ICMP6 };

#define IPPROTO_NUM_ICMP 1
#define IPPROTO_NUM_TCP 6
#define IPPROTO_NUM_UDP 17
#define IPPROTO_NUM_ICMP6 58

struct pkt {
	enum pkt_status status;
	const uint8_t *frame;      /* the decoded frame */
	uint32_t caplen, wirelen;  /* of the frame */
	struct pkt_link_hdr link;
	enum pkt_l3 l3;
	union {
		struct pkt_ip4 ip4;
		struct pkt_ip6 ip6;
	};
	uint32_t l3_off;           /* offset of the IP header in the frame */
	uint32_t l3_hdr_len;       /* IP header plus extension headers */
	uint32_t l3_len;           /* IP packet length: from the length fields, else the frame */
	uint8_t proto;             /* upper-layer protocol number */
	bool is_fragment;          /* any fragment */
	bool is_later_fragment;    /* not the first fragment: no L4 header */
	enum pkt_l4 l4;
	union {
		struct pkt_tcp tcp;
		struct pkt_udp udp;
		struct pkt_icmp icmp;
	};
	uint32_t l4_hdr_len;
	const uint8_t *payload;    /* after the last decoded header */
	uint32_t payload_len;      /* declared by the length fields */
	uint32_t payload_avail;    /* present in the capture (<= payload_len) */
	const uint8_t *trailer;    /* bytes after the IP packet (Ethernet padding, trailers) */
	uint32_t trailer_len;
};

/* Decodes 'caplen' captured bytes of a frame of 'wirelen' bytes on the wire.  Returns 0 (also
 * for non-IP frames, with p->l3 == PKT_L3_NONE and status NON_IP), -ERR_TRUNC, -ERR_MALFORMED
 * or -ERR_UNSUPPORTED (unknown link type); p->status names the layer.  TCP options are not
 * walked (see pkt_tcp_opts). */
int pkt_parse(const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype,
	      struct pkt *p);

/* Walks the TCP options of a decoded TCP packet and fills the option offsets and values.
 * Malformed options set p->tcp.opts_bad; they never make the packet an error, since a router
 * forwards them untouched. */
void pkt_tcp_opts(struct pkt *p);

/* Bytes pkt_write_headers() will produce for 'p' with 'link' as the link header. */
uint32_t pkt_headers_len(const struct pkt *p);

/* Writes the link, IP and transport headers of 'p' into 'out' ('cap' bytes), from the struct
 * fields (raw option and extension bytes copied from where they point).  Returns the number of
 * bytes written, or -ERR_NOBUFS when 'cap' is too small. */
int pkt_write_headers(const struct pkt *p, uint8_t *out, uint32_t cap) WARN_UNUSED;

/* Writes the link header of 'p' alone (pkt_write_headers' first bytes) into 'out', which holds
 * pkt_headers_len(p) bytes at least; returns its length. */
uint32_t pkt_write_link(const struct pkt *p, uint8_t *out);

/* Readdressing a decoded IP packet in place, 'ip' the image of its IP header on (the frame it
 * was decoded from, or a copy): where its source and destination addresses lie (4 or 16 bytes
 * each); and, once they have changed by 'delta' (a checksum difference: csum_delta16/32), the
 * IPv4 header checksum and the TCP, UDP or ICMPv6 checksum moved by it, the transport's by
 * 'l4_extra' more (a change of its payload).  ICMPv4 and later fragments have nothing more to
 * move.  The simulator's clones and the lab's rewrite readdress through these. */
void pkt_addr_fields(const struct pkt *p, uint8_t *ip, uint8_t *addr[2]);
void pkt_readdressed(const struct pkt *p, uint8_t *ip, uint32_t delta, uint32_t l4_extra);

/* Header fields, for pkt_patch_headers: those that change from one packet of a flow to the next
 * in a direction (the IPv4 total length and ID, the IPv6 payload length, the UDP length, the TCP
 * sequence and acknowledgement numbers, flags, window and timestamps), and those a router
 * rewrites (the IPv4 TTL, header checksum and source address, the IPv6 hop limit, the transport
 * source port and checksum: fwd_rewrite's). */
#define PKT_PATCH_NEXT 1u
#define PKT_PATCH_ROUTED 2u

/* Writes the fields 'which' (PKT_PATCH_*) of 'p' into 'l3', an image of its IP and transport
 * headers (pkt_write_headers' bytes from the IP header on, l3_hdr_len + l4_hdr_len of them).
 * When the image's other fields hold p's values already (it is the frame 'p' was decoded from,
 * or such an image patched), it becomes what pkt_write_headers writes, for a fraction of the
 * work. */
void pkt_patch_headers(const struct pkt *p, uint8_t *l3, unsigned which);

/* A cheap look at a frame, before any parse: finds the IP header behind a plain link header
 * (Ethernet with VLAN tags, SLL, SLL2, null, raw) and hashes the fields that name a flow
 * direction: the IP header's offset, version, header length, protocol, addresses, and the four
 * bytes after the IP header (the ports, for TCP and UDP).  It reads only bytes the masked
 * compare of a pre-built packet covers, so a frame that matches a pre-built packet has the
 * pre-built packet's probe hash.  Returns 0 when the frame is not of that plain shape. */
uint32_t pkt_probe(const uint8_t *frame, uint32_t caplen, int linktype);

/* The length a frame had on the wire, as the parser and the validator both take it: a record
 * may claim fewer bytes on the wire than it captured (an attacker's or a broken writer's), and
 * then the captured bytes are the frame. */
static inline uint32_t pkt_frame_len(uint32_t caplen, uint32_t wirelen)
{
	return wirelen < caplen ? caplen : wirelen;
}

/* The bytes of a 'len'-byte span from offset 'off' on: never wraps (0 when 'off' is past it). */
static inline uint32_t pkt_rest(uint32_t len, uint32_t off)
{
	return len > off ? len - off : 0;
}

static inline uint16_t pkt_rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline uint32_t pkt_rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline void pkt_wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}
static inline void pkt_wr32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

#endif
