/* pkt_wire: the headers as they lie on the wire, shared by the files of pkt (pkt.c: the
 * frame as a whole and the probe; pkt_link.c; pkt_ip.c; pkt_l4.c).  Not installed.
 *
 * Every field is a byte array (tcpdump's netdissect.h nd_uint16_t), so a struct has no padding
 * and no alignment, can lie anywhere in a frame, and cannot be read without an accessor that
 * handles the byte order: wire16(w->tot_len).  A header is overlaid on the frame only after
 * the cursor has checked that its bytes were captured (cur_need), once per header. */
#ifndef PRECRAFT_PKT_WIRE_H
#define PRECRAFT_PKT_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"

typedef uint8_t be16[2];
typedef uint8_t be32[4];

static inline uint16_t wire16(const be16 v)
{
	return pkt_rd16(v);
}

static inline uint32_t wire32(const be32 v)
{
	return pkt_rd32(v);
}

/* Ethernet II (IEEE 802.3): destination, source, EtherType or TPID. */
struct eth_wire {
	uint8_t dst[6], src[6];
	be16 type;
};

/* An 802.1Q/802.1ad tag after its TPID: TCI, then the next EtherType or TPID. */
struct vlan_wire {
	be16 tci, type;
};

/* PPPoE session header (RFC 2516) and the PPP protocol field. */
struct pppoe_wire {
	uint8_t ver_type, code;
	be16 session, len, ppp_proto;
};

/* Linux cooked capture v1: packet type, ARPHRD, address length, address, protocol. */
struct sll_wire {
	be16 pkttype, hatype, halen;
	uint8_t addr[8];
	be16 protocol;
};

/* Linux cooked capture v2: protocol first. */
struct sll2_wire {
	be16 protocol, reserved;
	be32 ifindex;
	be16 hatype;
	uint8_t pkttype, halen;
	uint8_t addr[8];
};

/* IPv4 (RFC 791), options follow. */
struct ip4_wire {
	uint8_t ver_ihl, tos;
	be16 tot_len, id, frag;
	uint8_t ttl, proto;
	be16 csum;
	uint8_t src[4], dst[4];
};

/* IPv6 (RFC 8200), extension headers follow. */
struct ip6_wire {
	be32 ver_tc_flow;
	be16 plen;
	uint8_t nxt, hlim;
	uint8_t src[16], dst[16];
};

/* The start of every IPv6 extension header but the fragment header: next header, length. */
struct ip6_ext_wire {
	uint8_t nxt, len;
};

/* IPv6 fragment header (RFC 8200 §4.5). */
struct ip6_frag_wire {
	uint8_t nxt, reserved;
	be16 off_flags;
	be32 id;
};

/* A hop-by-hop option (RFC 8200 §4.2); the jumbo payload option (RFC 2675) is type 0xc2. */
struct ip6_opt_wire {
	uint8_t type, len;
};

/* TCP (RFC 9293), options follow. */
struct tcp_wire {
	be16 sport, dport;
	be32 seq, ack;
	uint8_t off, flags;
	be16 win, csum, urg;
};

/* UDP (RFC 768). */
struct udp_wire {
	be16 sport, dport, len, csum;
};

/* ICMP (RFC 792) and ICMPv6 (RFC 4443): the first four bytes; four more follow when present. */
struct icmp_wire {
	uint8_t type, code;
	be16 csum;
};

_Static_assert(sizeof(struct eth_wire) == 14 && sizeof(struct vlan_wire) == 4 && sizeof(struct pppoe_wire) == 8,
	       "link wire structs are packed");
_Static_assert(sizeof(struct sll_wire) == 16 && sizeof(struct sll2_wire) == 20, "cooked wire structs are packed");
_Static_assert(sizeof(struct ip4_wire) == 20 && sizeof(struct ip6_wire) == 40 && sizeof(struct ip6_frag_wire) == 8,
	       "IP wire structs are packed");
_Static_assert(sizeof(struct tcp_wire) == 20 && sizeof(struct udp_wire) == 8 && sizeof(struct icmp_wire) == 4,
	       "transport wire structs are packed");

/* A cursor over the captured bytes of one frame. */
struct pkt_cur {
	const uint8_t *base;
	uint32_t cap;              /* captured bytes in the frame */
};

/* True when 'n' bytes at 'off' were captured.  Compares lengths and never forms a pointer
 * past the end (tcpdump ND_TTEST_LEN). */
static inline bool cur_need(const struct pkt_cur *c, uint32_t off, uint32_t n)
{
	return off <= c->cap && c->cap - off >= n;
}

/* The header at 'off', once cur_need has said it is there. */
#define CUR_AT(c, off, type) ((const struct type *)(const void *)((c)->base + (off)))

/* Records where parsing stopped; returns 'code'. */
static inline int pkt__fail(struct pkt *p, enum pkt_status st, int code)
{
	p->status = st;
	return code;
}

/* pkt_link.c */
int pkt__parse_link(const struct pkt_cur *c, int linktype, struct pkt *p);
uint32_t pkt__link_len(const struct pkt_link_hdr *l);
uint8_t *pkt__write_link(const struct pkt_link_hdr *l, uint8_t *o);
bool pkt__is_vlan_tpid(uint16_t tpid);

/* pkt_ip.c */
int pkt__parse_ip4(const struct pkt_cur *c, struct pkt *p);
int pkt__parse_ip6(const struct pkt_cur *c, struct pkt *p);
uint8_t *pkt__write_l3(const struct pkt *p, uint8_t *o);

/* pkt_l4.c */
int pkt__parse_l4(const struct pkt_cur *c, struct pkt *p);
uint8_t *pkt__write_l4(const struct pkt *p, uint8_t *o);

#endif
