/* pktgen: builds test frames with known fields and valid checksums (the generated oracle of
 * STYLE.md §8), and checks checksums of frames the engine emits. */
#ifndef PRECRAFT_TESTS_PKTGEN_H
#define PRECRAFT_TESTS_PKTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gen_pkt {
	int family;                /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint8_t proto;             /* 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6 */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint8_t ttl;
	uint16_t ipid;
	uint8_t tos;
	uint16_t mss;              /* TCP MSS option first when non-zero */
	bool ts;                   /* TCP timestamp option (with NOP NOP before it) */
	uint32_t tsval, tsecr;
	uint16_t vlan;             /* 0 = untagged */
	const uint8_t *payload;
	uint32_t plen;
};

/* A default IPv4 TCP packet 10.0.0.1:1000 -> 10.0.0.2:80. */
void gen_default(struct gen_pkt *g);
/* Writes an Ethernet frame for 'g'; returns its length (0 when 'cap' is too small). */
size_t gen_frame(const struct gen_pkt *g, uint8_t *out, size_t cap);
/* A DNS response for www.example.com: a CNAME (through a compression pointer), an MX the
 * reader must step over, an A record 93.184.216.34 (TTL 300 s) and an AAAA record 2001:db8::1
 * (a TTL with the top bit set, which reads as 0). */
extern const uint8_t gen_dns_resp[];
extern const uint32_t gen_dns_resp_len;

/* True when the IPv4 header checksum (if any) and the TCP/UDP checksum of the Ethernet frame
 * are valid. */
bool gen_checksums_ok(const uint8_t *frame, size_t len);

#endif
