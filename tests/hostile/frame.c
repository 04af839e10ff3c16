/* frame: see frame.h. */
#include "frame.h"

#include <string.h>

#include "traces/trace.h"

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

void wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

void wr32(uint8_t *b, uint32_t v)
{
	wr16(b, (uint16_t)(v >> 16));
	wr16(b + 2, (uint16_t)v);
}

/* Lays 'h' out as an Ethernet frame in 'f'; returns its length.  Checksums are valid. */
size_t build(const struct hf *h, uint8_t *f)
{
	size_t o = 0;
	memcpy(f, h->dmac, 6);
	memcpy(f + 6, h->smac, 6);
	o = 12;
	if (h->vlan) {
		wr16(f + o, h->vlan2 ? 0x88a8 : 0x8100);
		wr16(f + o + 2, h->vlan);
		o += 4;
	}
	if (h->vlan2) {
		wr16(f + o, 0x8100);
		wr16(f + o + 2, h->vlan2);
		o += 4;
	}
	wr16(f + o, h->fam == 4 ? 0x0800 : 0x86dd);
	o += 2;
	size_t l3 = o, l4hdr = h->proto == 6 ? 20 + h->tcpoptlen : h->proto == 17 ? 8 : 8;
	size_t l4len = l4hdr + h->plen;
	uint8_t *ip = f + l3;
	size_t l4off;
	if (h->fam == 4) {
		size_t ihl = 20 + h->ipoptlen;
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = h->tos;
		wr16(ip + 2, (uint16_t)(ihl + l4len));
		wr16(ip + 4, h->ipid);
		wr16(ip + 6, h->frag);
		ip[8] = h->ttl;
		ip[9] = h->proto;
		wr16(ip + 10, 0);
		memcpy(ip + 12, h->src, 4);
		memcpy(ip + 16, h->dst, 4);
		if (h->ipoptlen)
			memcpy(ip + 20, h->ipopt, h->ipoptlen);
		wr16(ip + 10, fold(sum16(ip, ihl, 0)));
		l4off = l3 + ihl;
	} else {
		wr32(ip, 0x60000000u | (uint32_t)h->tos << 20 | (h->flowlabel & 0xfffff));
		wr16(ip + 4, (uint16_t)(h->extlen + l4len));
		ip[6] = h->n_ext ? h->ext_types[0] : h->proto;
		ip[7] = h->ttl;
		memcpy(ip + 8, h->src, 16);
		memcpy(ip + 24, h->dst, 16);
		if (h->extlen)
			memcpy(ip + 40, h->ext, h->extlen);
		/* Each extension header's next-header byte names the one after it. */
		size_t pos = 40;
		for (size_t i = 0; i < h->n_ext; i++) {
			uint8_t t = h->ext_types[i];
			ip[pos] = i + 1 < h->n_ext ? h->ext_types[i + 1] : h->proto;
			pos += t == 44 ? 8 : t == 51 ? ((size_t)ip[pos + 1] + 2) * 4 : ((size_t)ip[pos + 1] + 1) * 8;
		}
		l4off = l3 + 40 + h->extlen;
	}
	uint8_t *l4 = f + l4off;
	if (h->proto == 6) {
		wr16(l4, h->sport);
		wr16(l4 + 2, h->dport);
		wr32(l4 + 4, h->seq);
		wr32(l4 + 8, h->ack);
		l4[12] = (uint8_t)(l4hdr / 4 << 4);
		l4[13] = h->flags;
		wr16(l4 + 14, 65535);
		wr16(l4 + 16, 0);
		wr16(l4 + 18, 0);
		if (h->tcpoptlen)
			memcpy(l4 + 20, h->tcpopt, h->tcpoptlen);
	} else if (h->proto == 17) {
		wr16(l4, h->sport);
		wr16(l4 + 2, h->dport);
		wr16(l4 + 4, (uint16_t)l4len);
		wr16(l4 + 6, 0);
	} else { /* ICMP echo request */
		l4[0] = h->fam == 4 ? 8 : 128;
		l4[1] = 0;
		wr16(l4 + 2, 0);
		wr16(l4 + 4, h->sport);
		wr16(l4 + 6, (uint16_t)h->seq);
	}
	for (size_t i = 0; i < h->plen; i++)
		l4[l4hdr + i] = h->pay ? h->pay[i] : (uint8_t)(h->pseed + i * 7);
	/* The transport checksum over the pseudo-header (not for later fragments' bytes: computed
	 * as if unfragmented, which is what a sender does). */
	uint32_t s = 0;
	if (h->fam == 4) {
		s = sum16(h->src, 4, sum16(h->dst, 4, 0)) + h->proto + (uint32_t)l4len;
	} else {
		s = sum16(h->src, 16, sum16(h->dst, 16, 0)) + h->proto + (uint32_t)l4len;
	}
	if (h->proto == 1)
		s = 0;
	size_t co = h->proto == 6 ? 16 : h->proto == 17 ? 6 : 2;
	uint16_t c = fold(sum16(l4, l4len, s));
	if (h->proto == 17 && c == 0)
		c = 0xffff;
	wr16(l4 + co, c);
	return l4off + l4len;
}


void put(struct out *o, const uint8_t *f, uint32_t caplen, uint32_t wirelen)
{
	o->t_ns += 1000000; /* 1 ms apart */
	trace_writer_put(o->one, f, caplen, wirelen, o->t_ns);
	trace_writer_put(o->all, f, caplen, wirelen, o->t_ns);
	o->frames++;
}

void put_hf(struct out *o, const struct hf *h)
{
	static uint8_t f[MAXF];
	size_t n = build(h, f);
	put(o, f, (uint32_t)n, (uint32_t)n);
}

/* A conversation's two ends: 'c' the client's first packet; replies swap the ends. */
void conv_init(struct hf *c, int fam, uint8_t proto, unsigned id)
{
	memset(c, 0, sizeof *c);
	c->fam = fam;
	static const uint8_t a[6] = { 0x02, 0, 0, 0, 0, 1 }, b[6] = { 0x02, 0, 0, 0, 0, 2 };
	memcpy(c->smac, a, 6);
	memcpy(c->dmac, b, 6);
	if (fam == 4) {
		uint8_t s[4] = { 198, 18, (uint8_t)(id >> 8), (uint8_t)id }, d[4] = { 198, 19, 0, 1 };
		memcpy(c->src, s, 4);
		memcpy(c->dst, d, 4);
	} else {
		uint8_t s[16] = { 0x20, 0x01, 0, 2, 0, 0, 0, 1 }, d[16] = { 0x20, 0x01, 0, 2, 0, 0, 0, 2 };
		s[14] = (uint8_t)(id >> 8);
		s[15] = (uint8_t)id;
		d[15] = 1;
		memcpy(c->src, s, 16);
		memcpy(c->dst, d, 16);
	}
	c->ttl = 64;
	c->proto = proto;
	c->sport = (uint16_t)(20000 + id);
	c->dport = proto == 6 ? 80 : 53;
	c->seq = 1000u * id;
	c->ack = 5000u * id;
	c->flags = 0x18;
	c->plen = 100;
	c->pseed = (uint8_t)id;
	c->ipid = (uint16_t)(id * 100);
}

/* The reply of 'c': ends swapped. */
struct hf reply_of(const struct hf *c)
{
	struct hf r = *c;
	memcpy(r.smac, c->dmac, 6);
	memcpy(r.dmac, c->smac, 6);
	memcpy(r.src, c->dst, 16);
	memcpy(r.dst, c->src, 16);
	r.sport = c->dport;
	r.dport = c->sport;
	r.seq = c->ack;
	r.ack = c->seq;
	r.plen = 40;
	return r;
}

/* One step of conversation 'c': a client packet (and every other step its reply), the
 * sequence numbers advanced as a sender advances them. */
void step(struct out *o, struct hf *c, unsigned i)
{
	put_hf(o, c);
	c->seq += (uint32_t)c->plen;
	c->ipid++;
	if (i % 2) {
		struct hf r = reply_of(c);
		put_hf(o, &r);
		c->ack += (uint32_t)r.plen;
	}
}

/* A few steps of 'c' unchanged: what predictors learn from. */
void steady(struct out *o, struct hf *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		step(o, c, i);
}
