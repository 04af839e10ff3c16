/* esp_frame: the tunnel's two framings (see esp.h): ESP's (RFC 4303 with RFC 7634's or RFC
 * 4106's nonce and AAD) and WireGuard's transport data message, around an inner packet that
 * sits at one offset in the buffer whichever it is; the nonce each makes of a number, and the
 * one-shot seal. */
#include <string.h>

#include "crypto.h"
#include "csum.h"
#include "esp_impl.h"

void esp__make_nonce(const struct esp_sa_conf *c, uint64_t seq, uint8_t nonce[12])
{
	if (c->kind == ESP_KIND_WG) {
		/* WireGuard: 32 zero bits, then the counter little-endian. */
		memset(nonce, 0, 4);
		for (int i = 0; i < 8; i++)
			nonce[4 + i] = (uint8_t)(seq >> (8 * i));
		return;
	}
	memcpy(nonce, c->salt, 4); /* salt | IV, the IV the 64-bit number big-endian */
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* ESP's trailer (RFC 4303 §2.4: padding 1, 2, 3, ..., its length, the next header) and header. */
static void esp_around(const struct sa_state *s, uint8_t *inner, uint32_t len, uint64_t seq, uint32_t plain,
		       unsigned ver)
{
	uint8_t *tr = inner + len;
	uint32_t pad = plain - len - 2u;
	for (uint32_t i = 0; i < pad; i++)
		tr[i] = (uint8_t)(i + 1);
	tr[pad] = (uint8_t)pad;
	tr[pad + 1] = ver == 6 ? 41 : 4; /* IPv6 or IPv4 inside */
	uint8_t *esp = inner - ESP_HDR;
	wr32(esp, s->c->spi);
	wr32(esp + 4, (uint32_t)seq);
	for (int i = 0; i < 8; i++)
		esp[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

/* WireGuard's zero padding to 16 bytes, its data message header and the UDP header before it
 * (checksum 0 for now: esp__finish). */
static void wg_around(const struct sa_state *s, uint8_t *inner, uint32_t len, uint64_t seq, uint32_t plain)
{
	memset(inner + len, 0, plain - len);
	uint8_t *m = inner - WG_HDR;
	m[0] = WG_TYPE_DATA, m[1] = m[2] = m[3] = 0;
	for (int i = 0; i < 4; i++)
		m[4 + i] = (uint8_t)(s->c->spi >> (8 * i)); /* the receiver index, little-endian */
	for (int i = 0; i < 8; i++)
		m[8 + i] = (uint8_t)(seq >> (8 * i));
	uint8_t *u = m - 8;
	uint32_t ulen = 8u + WG_HDR + plain + 16u;
	u[0] = u[2] = (uint8_t)(s->c->port >> 8), u[1] = u[3] = (uint8_t)s->c->port;
	u[4] = (uint8_t)(ulen >> 8), u[5] = (uint8_t)ulen;
	u[6] = u[7] = 0;
}

/* Writes the trailer after the 'len' inner bytes at 'inner' (an IPv'ver' packet with TOS or
 * traffic class 'tos') and the headers before them.  Returns the frame's start. */
uint8_t *esp__frame_around(const struct sa_state *s, uint8_t *inner, uint32_t len, uint64_t seq, uint32_t plain,
			   unsigned ver, uint8_t tos)
{
	bool wg = s->c->kind == ESP_KIND_WG;
	if (wg)
		wg_around(s, inner, len, seq, plain);
	else
		esp_around(s, inner, len, seq, plain, ver);
	uint8_t *l4 = inner - s->hdr;
	uint32_t l4_len = s->hdr + plain + CRYPTO_AEAD_TAG_LEN;
	uint8_t proto = wg ? UDP_PROTO : ESP_PROTO;
	uint8_t *ip;
	if (s->c->family == 4) {
		ip = l4 - 20;
		uint32_t tot = 20u + l4_len;
		ip[0] = 0x45, ip[1] = tos;
		ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
		ip[4] = (uint8_t)(seq >> 8), ip[5] = (uint8_t)seq;
		ip[6] = ip[7] = 0;
		ip[8] = OUTER_TTL, ip[9] = proto;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, s->c->src, 4);
		memcpy(ip + 16, s->c->dst, 4);
		uint16_t cs = csum_fold(csum_partial(ip, 20, 0));
		ip[10] = (uint8_t)(cs >> 8), ip[11] = (uint8_t)cs;
	} else {
		ip = l4 - 40;
		ip[0] = (uint8_t)(0x60 | tos >> 4), ip[1] = (uint8_t)(tos << 4);
		ip[2] = ip[3] = 0;
		ip[4] = (uint8_t)(l4_len >> 8), ip[5] = (uint8_t)l4_len;
		ip[6] = proto, ip[7] = OUTER_TTL;
		memcpy(ip + 8, s->c->src, 16);
		memcpy(ip + 24, s->c->dst, 16);
	}
	memcpy(ip - 14, s->eth, 14);
	return ip - 14;
}

void esp__finish(const struct sa_state *s, uint8_t *frame, uint32_t frame_len)
{
	/* UDP over IPv4 may leave its checksum 0 (RFC 768), as WireGuard's ciphertext needs none;
	 * over IPv6 it must carry one (RFC 8200 §8.1). */
	if (s->c->kind != ESP_KIND_WG || s->c->family != 6)
		return;
	uint8_t *ip = frame + 14, *u = ip + 40;
	uint32_t ulen = frame_len - 54u;
	uint32_t pseudo = csum_partial(ip + 8, 32, 0) + UDP_PROTO + (ulen >> 16) + (ulen & 0xffff);
	uint16_t c = csum_fold(csum_partial(u, ulen, pseudo));
	if (c == 0)
		c = 0xffff;
	u[6] = (uint8_t)(c >> 8), u[7] = (uint8_t)c;
}

/* An inner packet's version and TOS (traffic class for IPv6), from its first two bytes. */
void esp__inner_tos(const uint8_t *p, unsigned *ver, uint8_t *tos)
{
	*ver = p[0] >> 4;
	*tos = *ver == 6 ? (uint8_t)((p[0] << 4) | (p[1] >> 4)) : p[1];
}

int esp__seal_oneshot(const struct sa_state *s, uint8_t *inner, uint32_t plain, uint64_t seq)
{
	uint8_t nonce[12];
	const uint8_t *aad;
	uint32_t aad_len = esp__aad(s, inner, &aad);
	esp__make_nonce(s->c, seq, nonce);
	return crypto_aead_seal(s->cx, nonce, aad, aad_len, inner, plain, inner, inner + plain);
}

uint32_t esp_plain_len(const struct esp_tunnel *t, unsigned sa, uint32_t len)
{
	return esp__plain(&t->sa[sa], len);
}
