/* frames: clone and synthetic frames (see frames.h). */
#include "frames.h"

#include <string.h>

#include "core/csum.h"
#include "core/pkt.h"

static uint32_t clone_mask(uint32_t clone)
{
	uint32_t h = clone * 0x9e3779b1u;
	h ^= h >> 15;
	return (h * 0x85ebca6bu) & 0x00ffffffu; /* keeps the first byte: the address family's */
}

void frames_clone(uint8_t *f, uint32_t caplen, uint32_t wirelen, int linktype, uint32_t clone)
{
	struct pkt p;
	if (clone == 0 || pkt_parse(f, caplen, wirelen, linktype, &p) != 0 || p.l3 == PKT_L3_NONE)
		return;
	uint32_t m = clone_mask(clone);
	uint8_t *ip = f + p.l3_off;
	uint8_t *addr[2];
	pkt_addr_fields(&p, ip, addr);
	uint32_t delta = 0;
	for (int i = 0; i < 2; i++) {
		/* The last four bytes of each address (all of an IPv4 one). */
		uint8_t *a = addr[i] + (p.l3 == PKT_L3_IPV4 ? 0 : 12);
		uint32_t old = pkt_rd32(a), nw = old ^ m;
		delta = csum_delta32(delta, old, nw);
		pkt_wr32(a, nw);
	}
	pkt_readdressed(&p, ip, delta, 0);
}

uint32_t frames_synth(uint8_t *out, uint32_t cap, uint64_t flow, int proto, uint32_t seq, uint16_t ip_id,
		      uint32_t payload_len)
{
	static const uint8_t no_opts[1];
	struct pkt p;
	memset(&p, 0, sizeof p);
	static const uint8_t dmac[6] = { 0, 0, 0x5e, 0, 0x53, 0xfe }, smac[6] = { 0, 0, 0x5e, 0, 0x53, 0x10 };
	p.link.linktype = PKT_LINK_ETH;
	memcpy(p.link.dst, dmac, 6);
	memcpy(p.link.src, smac, 6);
	p.link.eth_type = ETHERTYPE_IPV4;
	p.l3 = PKT_L3_IPV4;
	p.l3_hdr_len = 20;
	uint32_t l4h = proto == 6 ? 20 : 8;
	uint32_t total = 14 + 20 + l4h + payload_len;
	if (total > cap || 20 + l4h + payload_len > 0xffff)
		return 0;
	p.ip4.ihl_bytes = 20;
	p.ip4.tot_len = (uint16_t)(20 + l4h + payload_len);
	p.ip4.id = ip_id;
	p.ip4.frag = 0x4000;
	p.ip4.ttl = 64;
	p.ip4.proto = (uint8_t)proto;
	p.ip4.opts = no_opts;
	/* 198.18.0.0/15: sources in 198.18.x.x, one server per 256 flows in 198.19.x.x. */
	uint32_t s = 0xc6120000u | (uint32_t)(flow & 0xffff);
	uint32_t d = 0xc6130000u | (uint32_t)((flow >> 8) & 0xffff);
	pkt_wr32(p.ip4.src, s);
	pkt_wr32(p.ip4.dst, d);
	uint16_t sport = (uint16_t)(1024 + (flow >> 16) % 60000), dport = proto == 6 ? 443 : 4433;
	if (proto == 6) {
		p.l4 = PKT_L4_TCP;
		p.tcp.sport = sport;
		p.tcp.dport = dport;
		p.tcp.seq = seq;
		p.tcp.ack = 1;
		p.tcp.doff_bytes = 20;
		p.tcp.off_byte = 0x50;
		p.tcp.flags = 0x18;
		p.tcp.win = 502;
		p.tcp.opts = no_opts;
		p.tcp.ts_off = 0xff;
	} else {
		p.l4 = PKT_L4_UDP;
		p.udp.sport = sport;
		p.udp.dport = dport;
		p.udp.len = (uint16_t)(8 + payload_len);
	}
	p.l4_hdr_len = l4h;
	int h = pkt_write_headers(&p, out, cap);
	if (h != (int)(14 + 20 + l4h))
		return 0;
	uint8_t *pay = out + h;
	for (uint32_t i = 0; i < payload_len; i++)
		pay[i] = (uint8_t)(flow + i);
	uint8_t *ip = out + 14, *l4 = ip + 20;
	pkt_wr16(ip + 10, csum_fold(csum_partial(ip, 20, 0)));
	uint32_t l4len = l4h + payload_len;
	uint32_t ph = csum_partial(ip + 12, 8, 0) + (uint32_t)proto + l4len;
	uint16_t c = csum_fold(csum_partial(l4, l4len, ph));
	if (proto == 17 && c == 0)
		c = 0xffff;
	pkt_wr16(l4 + (proto == 6 ? 16 : 6), c);
	return total;
}
