/* pktgen: test frame builder (see pktgen.h).  Written independently of core/pkt.c so that it
 * can serve as an oracle for the parser. */
#include "pktgen.h"

#include <string.h>

#include "core/csum.h"

void gen_default(struct gen_pkt *g)
{
	memset(g, 0, sizeof *g);
	g->family = 4;
	const uint8_t s[4] = { 10, 0, 0, 1 }, d[4] = { 10, 0, 0, 2 };
	memcpy(g->src, s, 4);
	memcpy(g->dst, d, 4);
	g->proto = 6;
	g->sport = 1000;
	g->dport = 80;
	g->seq = 1000;
	g->ack = 5000;
	g->flags = 0x18;
	g->win = 512;
	g->ttl = 64;
	g->ipid = 100;
}

static void w16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void w32(uint8_t *b, uint32_t v)
{
	w16(b, (uint16_t)(v >> 16));
	w16(b + 2, (uint16_t)v);
}

static uint32_t pseudo(int family, const uint8_t *ip, uint8_t proto, uint32_t l4len)
{
	uint32_t s = 0;
	if (family == 4)
		s = csum_partial(ip + 12, 8, 0);
	else
		s = csum_partial(ip + 8, 32, 0);
	s += proto;
	s += l4len >> 16;
	s += l4len & 0xffff;
	return s;
}

size_t gen_frame(const struct gen_pkt *g, uint8_t *out, size_t cap)
{
	size_t l2 = 14 + (g->vlan ? 4 : 0);
	size_t l3h = g->family == 4 ? 20 : 40;
	size_t l4h = g->proto == 6 ? 20u + (g->mss ? 4u : 0u) + (g->ts ? 12u : 0u) : 8;
	size_t total = l2 + l3h + l4h + g->plen;
	if (total > cap)
		return 0;
	memset(out, 0, l2 + l3h + l4h);
	const uint8_t dmac[6] = { 2, 0, 0, 0, 0, 2 }, smac[6] = { 2, 0, 0, 0, 0, 1 };
	memcpy(out, dmac, 6);
	memcpy(out + 6, smac, 6);
	uint8_t *p = out + 12;
	if (g->vlan) {
		w16(p, 0x8100);
		w16(p + 2, g->vlan);
		p += 4;
	}
	w16(p, g->family == 4 ? 0x0800 : 0x86dd);
	uint8_t *ip = out + l2, *l4 = ip + l3h;
	uint32_t l4len = (uint32_t)(l4h + g->plen);
	if (g->family == 4) {
		ip[0] = 0x45;
		ip[1] = g->tos;
		w16(ip + 2, (uint16_t)(l3h + l4len));
		w16(ip + 4, g->ipid);
		w16(ip + 6, 0x4000);
		ip[8] = g->ttl;
		ip[9] = g->proto;
		memcpy(ip + 12, g->src, 4);
		memcpy(ip + 16, g->dst, 4);
		w16(ip + 10, csum_fold(csum_partial(ip, 20, 0)));
	} else {
		w32(ip, 0x60000000u | (uint32_t)g->tos << 20 | 0x12345);
		w16(ip + 4, (uint16_t)l4len);
		ip[6] = g->proto;
		ip[7] = g->ttl;
		memcpy(ip + 8, g->src, 16);
		memcpy(ip + 24, g->dst, 16);
	}
	w16(l4, g->sport);
	w16(l4 + 2, g->dport);
	if (g->proto == 6) {
		w32(l4 + 4, g->seq);
		w32(l4 + 8, g->ack);
		l4[12] = (uint8_t)((l4h / 4) << 4);
		l4[13] = g->flags;
		w16(l4 + 14, g->win);
		uint8_t *o = l4 + 20;
		if (g->mss) {
			o[0] = 2;
			o[1] = 4;
			w16(o + 2, g->mss);
			o += 4;
		}
		if (g->ts) {
			o[0] = 1;
			o[1] = 1;
			o[2] = 8;
			o[3] = 10;
			w32(o + 4, g->tsval);
			w32(o + 8, g->tsecr);
		}
	} else {
		w16(l4 + 4, (uint16_t)l4len);
	}
	if (g->plen)
		memcpy(l4 + l4h, g->payload, g->plen);
	uint16_t c = csum_fold(csum_partial(l4, l4len, pseudo(g->family, ip, g->proto, l4len)));
	if (g->proto == 17 && c == 0)
		c = 0xffff;
	w16(l4 + (g->proto == 6 ? 16 : 6), c);
	return total;
}

const uint8_t gen_dns_resp[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
	0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'c', 'd', 'n', 0xc0, 16,              /* CNAME */
	0xc0, 45, 0, 15, 0, 1, 0, 0, 0, 60, 0, 4, 0, 10, 0xc0, 16,                          /* MX */
	0xc0, 45, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 93, 184, 216, 34,                          /* A, TTL 300 */
	0xc0, 45, 0, 28, 0, 1, 0x80, 0, 0, 0, 0, 16, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};
const uint32_t gen_dns_resp_len = sizeof gen_dns_resp;

bool gen_checksums_ok(const uint8_t *f, size_t len)
{
	if (len < 14)
		return false;
	uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
	size_t off = 14;
	if (et == 0x8100) {
		et = (uint16_t)(f[16] << 8 | f[17]);
		off = 18;
	}
	const uint8_t *ip = f + off;
	int family = et == 0x0800 ? 4 : 6;
	size_t l3h = family == 4 ? (size_t)(ip[0] & 15) * 4 : 40;
	uint32_t l3len = family == 4 ? (uint32_t)(ip[2] << 8 | ip[3]) : 40u + (uint32_t)(ip[4] << 8 | ip[5]);
	uint8_t proto = family == 4 ? ip[9] : ip[6];
	if (off + l3len > len)
		return false;
	if (family == 4 && csum_fold(csum_partial(ip, l3h, 0)) != 0)
		return false;
	uint32_t l4len = l3len - (uint32_t)l3h;
	if (proto != 6 && proto != 17)
		return true;
	if (proto == 17 && family == 4 && ip[l3h + 6] == 0 && ip[l3h + 7] == 0)
		return true;
	return csum_fold(csum_partial(ip + l3h, l4len, pseudo(family, ip, proto, l4len))) == 0;
}
