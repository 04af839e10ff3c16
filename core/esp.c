/* esp: ESP tunnel mode with ChaCha20-Poly1305 (see esp.h): the tunnel's state, framing and
 * sealing; esp_ring.c makes the keystreams and anticipated packets ahead, esp_conf.c reads
 * tunnel files. */
#include "esp.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "esp_impl.h"
#include "csum.h"
#include "route.h"


size_t esp_ring_bytes(size_t n_sa, unsigned depth, uint32_t ks_cap)
{
	size_t cap = ((size_t)ks_cap + 63u) & ~(size_t)63u;
	/* depth <= 64 and cap < 2^17: a per-SA figure under 2^24, times at most ESP_MAX_SA SAs. */
	return n_sa * ((size_t)depth * (CRYPTO_KS_HEAD + cap) + (depth ? 2u * (cap + ESP_OVERHEAD_MAX) : 0));
}

int esp_tunnel_create(const struct esp_conf *c, const struct route_table *routes, const uint8_t self_mac[6],
		      unsigned depth, uint32_t ks_cap, struct esp_tunnel **out)
{
	if (depth > 64 || ks_cap > ESP_INNER_MAX + 8u)
		return -ERR_INVAL;
	size_t n_sa = esp_conf_count(c);
	if (esp_ring_bytes(n_sa, depth, ks_cap) > ESP_RING_BYTES_MAX)
		return -ERR_INVAL;
	ks_cap = (ks_cap + 63u) & ~63u;
	struct esp_tunnel *t = calloc(1, sizeof *t);
	if (!t)
		return -ERR_NOMEM;
	t->n = n_sa;
	t->depth = depth;
	t->ks_cap = ks_cap;
	size_t per_sa = esp_ring_bytes(1, depth, ks_cap);
	t->mem_len = per_sa * n_sa;
	t->sa = calloc(n_sa, sizeof *t->sa);
	t->entries = depth ? calloc((size_t)depth * n_sa, sizeof *t->entries) : NULL;
	t->mem = t->mem_len ? malloc(t->mem_len) : NULL;
	t->buf = malloc(FRAME_BUF);
	t->vbuf = malloc(FRAME_BUF);
	if (!t->sa || (depth && (!t->entries || !t->mem)) || !t->buf || !t->vbuf) {
		esp_tunnel_destroy(t);
		return -ERR_NOMEM;
	}
	if (t->mem)
		memset(t->mem, 0, t->mem_len);
	t->st.esp_mem_bytes = t->mem_len;
	for (size_t i = 0; i < n_sa; i++) {
		struct sa_state *s = &t->sa[i];
		s->c = esp_conf_sa(c, i);
		if (crypto_aead_create(s->c->key, &s->cx)) {
			esp_tunnel_destroy(t);
			return -ERR_NOMEM;
		}
		s->next_seq = (uint64_t)s->c->oseq + 1;
		s->last_seq = ESP_SEQ_MAX;
		uint32_t nh = s->c->family == 4 ? route_lookup4(routes, s->c->dst) : route_lookup6(routes, s->c->dst);
		if (nh != ROUTE_NONE) {
			s->routed = true;
			memcpy(s->eth, route_nexthop(routes, nh)->mac, 6);
			memcpy(s->eth + 6, self_mac, 6);
			s->eth[12] = s->c->family == 4 ? 0x08 : 0x86;
			s->eth[13] = s->c->family == 4 ? 0x00 : 0xdd;
		}
		if (!depth)
			continue;
		uint8_t *m = t->mem + i * per_sa;
		s->ring = &t->entries[i * depth];
		for (unsigned j = 0; j < depth; j++, m += CRYPTO_KS_HEAD + ks_cap)
			s->ring[j].ks = m;
		s->ant.plain = m;
		s->ant.frame = m + ks_cap + ESP_OVERHEAD_MAX;
	}
	*out = t;
	return 0;
}

void esp_tunnel_destroy(struct esp_tunnel *t)
{
	if (!t)
		return;
	if (t->mem) {
		crypto_wipe(t->mem, t->mem_len);
		free(t->mem);
	}
	if (t->buf) {
		crypto_wipe(t->buf, FRAME_BUF);
		free(t->buf);
	}
	if (t->vbuf) {
		crypto_wipe(t->vbuf, FRAME_BUF);
		free(t->vbuf);
	}
	for (size_t i = 0; t->sa && i < t->n; i++)
		crypto_aead_destroy(t->sa[i].cx);
	free(t->entries);
	free(t->sa);
	free(t);
}

uint8_t *esp_inner(struct esp_tunnel *t)
{
	return t->buf + INNER_OFF;
}

uint32_t esp_plain_len(uint32_t len)
{
	return (len + 2u + 3u) & ~3u;
}

void esp__make_nonce(const struct esp_sa_conf *c, uint64_t seq, uint8_t nonce[12])
{
	memcpy(nonce, c->salt, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Writes the trailer after the 'len' inner bytes at 'inner' (an IPv'ver' packet with TOS or
 * traffic class 'tos') and the headers before them (the frame starts at 'inner' - INNER_OFF + 20
 * for an IPv4 SA).  Returns the frame's start. */
uint8_t *esp__frame_around(const struct sa_state *s, uint8_t *inner, uint32_t len, uint64_t seq, uint32_t plain,
			     unsigned ver, uint8_t tos)
{
	uint8_t *tr = inner + len;
	uint32_t pad = plain - len - 2u;
	for (uint32_t i = 0; i < pad; i++)
		tr[i] = (uint8_t)(i + 1); /* RFC 4303 §2.4: 1, 2, 3, ... */
	tr[pad] = (uint8_t)pad;
	tr[pad + 1] = ver == 6 ? 41 : 4; /* IPv6 or IPv4 inside */
	uint8_t *esp = inner - 16;
	wr32(esp, s->c->spi);
	wr32(esp + 4, (uint32_t)seq);
	for (int i = 0; i < 8; i++)
		esp[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
	uint32_t esp_len = 16u + plain + CRYPTO_AEAD_TAG_LEN;
	uint8_t *ip;
	if (s->c->family == 4) {
		ip = esp - 20;
		uint32_t tot = 20u + esp_len;
		ip[0] = 0x45, ip[1] = tos;
		ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
		ip[4] = (uint8_t)(seq >> 8), ip[5] = (uint8_t)seq;
		ip[6] = ip[7] = 0;
		ip[8] = OUTER_TTL, ip[9] = ESP_PROTO;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, s->c->src, 4);
		memcpy(ip + 16, s->c->dst, 4);
		uint16_t cs = csum_fold(csum_partial(ip, 20, 0));
		ip[10] = (uint8_t)(cs >> 8), ip[11] = (uint8_t)cs;
	} else {
		ip = esp - 40;
		ip[0] = (uint8_t)(0x60 | tos >> 4), ip[1] = (uint8_t)(tos << 4);
		ip[2] = ip[3] = 0;
		ip[4] = (uint8_t)(esp_len >> 8), ip[5] = (uint8_t)esp_len;
		ip[6] = ESP_PROTO, ip[7] = OUTER_TTL;
		memcpy(ip + 8, s->c->src, 16);
		memcpy(ip + 24, s->c->dst, 16);
	}
	memcpy(ip - 14, s->eth, 14);
	return ip - 14;
}

/* An inner packet's version and TOS (traffic class for IPv6), from its first two bytes. */
void esp__inner_tos(const uint8_t *p, unsigned *ver, uint8_t *tos)
{
	*ver = p[0] >> 4;
	*tos = *ver == 6 ? (uint8_t)((p[0] << 4) | (p[1] >> 4)) : p[1];
}

/* The one-shot seal of the frame whose inner bytes (with trailer) are at 'inner'. */
int esp__seal_oneshot(const struct sa_state *s, uint8_t *inner, uint32_t plain, uint64_t seq)
{
	uint8_t nonce[12];
	esp__make_nonce(s->c, seq, nonce);
	return crypto_aead_seal(s->cx, nonce, inner - 16, 8, inner, plain, inner, inner + plain);
}

/* out[i] = src[i] ^ k[i] for 'n' bytes (src may be out). */
static void xor_into(uint8_t *out, const uint8_t *src, const uint8_t *k, uint32_t n)
{
	uint32_t i = 0;
	for (; i + 32 <= n; i += 32) {
		uint64_t x[4], y[4];
		memcpy(x, src + i, 32);
		memcpy(y, k + i, 32);
		for (int j = 0; j < 4; j++)
			x[j] ^= y[j];
		memcpy(out + i, x, 32);
	}
	for (; i < n; i++)
		out[i] = src[i] ^ k[i];
}

/* Does the gathered packet equal 'plain'? */
static bool same_plain(const uint8_t *plain, const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl,
		       uint32_t len)
{
	if (memcmp(plain, a, al) != 0 || (bl && memcmp(plain + al, b, bl) != 0))
		return false;
	for (uint32_t i = al + bl; i < len; i++)
		if (plain[i])
			return false;
	return true;
}

enum esp_verdict esp_seal(struct esp_tunnel *t, unsigned sa, const uint8_t *a, uint32_t al, const uint8_t *b,
			  uint32_t bl, uint32_t len, uint64_t now_ns, bool verify, const uint8_t **frame,
			  uint32_t *frame_len, enum esp_how *how, bool *diverged)
{
	struct sa_state *s = &t->sa[sa];
	*diverged = false;
	if (!s->routed)
		return ESP_NO_ROUTE;
	if (len > ESP_INNER_MAX || al < 2 || (uint64_t)al + bl > len)
		return ESP_TOO_BIG;
	if (s->next_seq > s->last_seq) {
		t->st.esp_exhausted_drops++;
		return ESP_EXHAUSTED;
	}
	uint64_t seq = s->next_seq++;
	uint32_t plain = esp_plain_len(len);
	esp__note_len(s, plain);
	unsigned ver;
	uint8_t tos;
	esp__inner_tos(a, &ver, &tos);
	uint8_t *inner = esp_inner(t);
	struct ks_entry *e = esp__take_entry(t, s, seq);
	uint32_t flen = 14u + (s->c->family == 4 ? 20u : 40u) + 16u + plain + CRYPTO_AEAD_TAG_LEN;
	struct anticipated *an = &s->ant;
	if (an->valid && an->seq <= seq) {
		an->valid = false;
		if (an->seq == seq && an->ready_ns <= now_ns && an->len == len && same_plain(an->plain, a, al, b, bl, len)) {
			if (e)
				t->st.ks_bytes_wasted += e->len;
			*frame = an->frame;
			*how = ESP_ANTICIPATED;
			t->st.esp_sealed_anticipated++;
			goto sent;
		}
		t->st.esp_anticipated_wasted++;
	}
	uint8_t *f = esp__frame_around(s, inner, len, seq, plain, ver, tos);
	int rc;
	if (e && e->ready_ns <= now_ns && plain <= t->ks_cap) {
		rc = 0;
		if (e->len < plain) {
			/* Made shorter than this packet: the rest of its keystream now. */
			uint8_t nonce[12];
			esp__make_nonce(s->c, seq, nonce);
			rc = crypto_keystream_extend(s->cx, nonce, e->ks, e->len, plain);
			t->st.ks_bytes_used += e->len;
			t->st.ks_short++;
		} else {
			t->st.ks_bytes_used += plain;
			t->st.ks_bytes_wasted += e->len - plain;
		}
		/* The copy and the XOR in one pass, from where the packet lies. */
		const uint8_t *k = e->ks + CRYPTO_KS_HEAD;
		xor_into(inner, a, k, al);
		if (bl)
			xor_into(inner + al, b, k + al, bl);
		memcpy(inner + al + bl, k + al + bl, len - al - bl); /* zeros XOR the keystream */
		xor_into(inner + len, inner + len, k + len, plain - len);
		if (!rc)
			crypto_mac_keystream(e->ks, inner - 16, 8, inner, plain, inner + plain);
		t->st.esp_sealed_keystream++;
		*how = ESP_KEYSTREAM;
	} else {
		if (e) {
			t->st.ks_bytes_wasted += e->len;
			if (e->ready_ns > now_ns)
				t->st.ks_late++;
		}
		if (a != inner)
			memmove(inner, a, al);
		if (bl)
			memcpy(inner + al, b, bl);
		memset(inner + al + bl, 0, len - al - bl);
		rc = esp__seal_oneshot(s, inner, plain, seq);
		t->st.esp_sealed_oneshot++;
		*how = ESP_ONESHOT;
	}
	if (rc) {
		/* The library failed: nothing half-made leaves; the number is spent. */
		t->st.esp_crypto_errors++;
		return ESP_CRYPTO_FAILED;
	}
	*frame = f;
sent:
	if (verify && *how != ESP_ONESHOT) {
		/* Shadow mode: the same packet sealed the reference way, in one shot, must be the
		 * same bytes. */
		uint8_t *ref = t->vbuf + INNER_OFF;
		memcpy(ref, a, al);
		if (bl)
			memcpy(ref + al, b, bl);
		memset(ref + al + bl, 0, len - al - bl);
		uint8_t *rf = esp__frame_around(s, ref, len, seq, plain, ver, tos);
		*diverged = esp__seal_oneshot(s, ref, plain, seq) != 0 || memcmp(rf, *frame, flen) != 0;
	}
	*frame_len = flen;
	t->st.esp_packets++;
	t->st.esp_bytes += flen;
	return ESP_OK;
}

int esp_tunnel_slice(struct esp_tunnel *t, unsigned slice, unsigned slices)
{
	if (!slices || slice >= slices)
		return -ERR_INVAL;
	for (size_t i = 0; i < t->n; i++) {
		struct sa_state *s = &t->sa[i];
		if (s->count || s->ant.valid || s->next_seq != (uint64_t)s->c->oseq + 1)
			return -ERR_INVAL; /* something was sealed or made ahead already */
	}
	for (size_t i = 0; i < t->n; i++) {
		struct sa_state *s = &t->sa[i];
		uint64_t first = (uint64_t)s->c->oseq + 1, avail = ESP_SEQ_MAX - (uint64_t)s->c->oseq, per = avail / slices;
		s->next_seq = first + slice * per;
		s->last_seq = slice + 1 == slices ? ESP_SEQ_MAX : first + (slice + 1) * per - 1;
	}
	return 0;
}

uint64_t esp_next_seq(const struct esp_tunnel *t, unsigned sa)
{
	const struct sa_state *s = &t->sa[sa];
	return s->next_seq > s->last_seq ? (uint64_t)ESP_SEQ_MAX + 1 : s->next_seq;
}

size_t esp_tunnel_count(const struct esp_tunnel *t)
{
	return t->n;
}

void esp_get_stats(const struct esp_tunnel *t, struct esp_stats *st)
{
	*st = t->st;
	/* Keystreams still in the rings at the end were made for nothing. */
	for (size_t i = 0; i < t->n; i++) {
		const struct sa_state *s = &t->sa[i];
		for (unsigned j = 0; j < s->count; j++)
			st->ks_bytes_wasted += s->ring[(s->head + j) % t->depth].len;
		st->esp_anticipated_wasted += s->ant.valid;
	}
}

const uint8_t *esp__ring_mem(const struct esp_tunnel *t, size_t *len)
{
	*len = t->mem_len;
	return t->mem;
}
