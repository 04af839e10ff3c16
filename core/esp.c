/* esp: ESP tunnel mode with ChaCha20-Poly1305 and pre-computed keystreams (see esp.h). */
#include "esp.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "csum.h"
#include "route.h"

#define ESP_PROTO 50
#define OUTER_TTL 64
/* The inner packet sits at one offset whatever the outer family: an IPv4 SA's frame starts 20
 * bytes later in the buffer (IPv6's outer header is 20 bytes longer). */
#define INNER_OFF (14u + 40u + 8u + 8u)
#define RECENT_WINDOW 256 /* packets over which an SA's largest packet is remembered */

/* ---- the runtime state ------------------------------------------------------------------- */

struct ks_entry {
	uint64_t seq, ready_ns;
	uint32_t len, gen;         /* keystream bytes after the head; batch */
	uint8_t *ks;               /* CRYPTO_KS_HEAD + ks_cap bytes */
};

struct anticipated {
	bool valid;
	uint64_t seq, ready_ns;
	uint32_t len, gen, frame_len;
	uint8_t *plain, *frame;    /* the inner packet; the sealed frame */
};

struct sa_state {
	const struct esp_sa_conf *c;
	struct crypto_aead *cx;    /* the library's cipher state, keyed with the SA's key */
	uint64_t next_seq;
	uint64_t last_seq;         /* the last number this instance may send (esp_tunnel_slice) */
	uint8_t eth[14];
	bool routed;
	uint64_t win_sum, prev_sum;  /* plaintext bytes, this window and the last */
	uint32_t win_n;
	struct ks_entry *ring;
	unsigned head, count;
	uint32_t gen;
	struct anticipated ant;
};

struct esp_tunnel {
	struct sa_state *sa;
	size_t n;
	unsigned depth;
	uint32_t ks_cap;
	uint8_t *mem;              /* every ring's keystreams and anticipated buffers */
	size_t mem_len;
	struct ks_entry *entries;
	uint8_t *buf, *vbuf;       /* egress frame; shadow mode's one-shot check */
	struct esp_stats st;
};

#define FRAME_BUF (INNER_OFF + ESP_INNER_MAX + 8u + 16u + 16u)

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

static void make_nonce(const struct esp_sa_conf *c, uint64_t seq, uint8_t nonce[12])
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
static uint8_t *frame_around(const struct sa_state *s, uint8_t *inner, uint32_t len, uint64_t seq, uint32_t plain,
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
static void inner_tos(const uint8_t *p, unsigned *ver, uint8_t *tos)
{
	*ver = p[0] >> 4;
	*tos = *ver == 6 ? (uint8_t)((p[0] << 4) | (p[1] >> 4)) : p[1];
}

/* The one-shot seal of the frame whose inner bytes (with trailer) are at 'inner'. */
static int seal_oneshot(const struct sa_state *s, uint8_t *inner, uint32_t plain, uint64_t seq)
{
	uint8_t nonce[12];
	make_nonce(s->c, seq, nonce);
	return crypto_aead_seal(s->cx, nonce, inner - 16, 8, inner, plain, inner, inner + plain);
}

static void note_len(struct sa_state *s, uint32_t plain)
{
	s->win_sum += plain;
	if (++s->win_n == RECENT_WINDOW) {
		s->prev_sum = s->win_sum;
		s->win_sum = 0;
		s->win_n = 0;
	}
}

/* The SA's mean plaintext over the last window or two. */
static uint32_t recent_mean(const struct sa_state *s)
{
	uint64_t n = s->win_n + (s->prev_sum ? RECENT_WINDOW : 0);
	return n ? (uint32_t)((s->win_sum + s->prev_sum) / n) : 0;
}

/* The ring entry for 'seq', taken out of the ring, or NULL; older entries are wasted. */
static struct ks_entry *take_entry(struct esp_tunnel *t, struct sa_state *s, uint64_t seq)
{
	while (s->count) {
		struct ks_entry *e = &s->ring[s->head];
		s->head = s->head + 1 == t->depth ? 0 : s->head + 1;
		s->count--;
		if (e->seq == seq)
			return e;
		t->st.ks_bytes_wasted += e->len; /* cannot happen: numbers are taken in order */
	}
	return NULL;
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
	note_len(s, plain);
	unsigned ver;
	uint8_t tos;
	inner_tos(a, &ver, &tos);
	uint8_t *inner = esp_inner(t);
	struct ks_entry *e = take_entry(t, s, seq);
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
	uint8_t *f = frame_around(s, inner, len, seq, plain, ver, tos);
	int rc;
	if (e && e->ready_ns <= now_ns && plain <= t->ks_cap) {
		rc = 0;
		if (e->len < plain) {
			/* Made shorter than this packet: the rest of its keystream now. */
			uint8_t nonce[12];
			make_nonce(s->c, seq, nonce);
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
		rc = seal_oneshot(s, inner, plain, seq);
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
		uint8_t *rf = frame_around(s, ref, len, seq, plain, ver, tos);
		*diverged = seal_oneshot(s, ref, plain, seq) != 0 || memcmp(rf, *frame, flen) != 0;
	}
	*frame_len = flen;
	t->st.esp_packets++;
	t->st.esp_bytes += flen;
	return ESP_OK;
}

uint64_t esp_ring_fill(struct esp_tunnel *t, unsigned sa, unsigned depth, unsigned max_new, uint32_t hint,
		       uint64_t ready_ns, uint32_t *gen)
{
	struct sa_state *s = &t->sa[sa];
	if (depth > t->depth)
		depth = t->depth;
	uint32_t want = hint ? hint : recent_mean(s);
	want = (want + 63u) & ~63u;
	if (want > t->ks_cap)
		want = t->ks_cap; /* larger packets are sealed in one shot */
	if (!want)
		return 0;
	uint64_t bytes = 0;
	*gen = ++s->gen;
	while (s->count < depth && max_new--) {
		uint64_t seq = s->next_seq + s->count;
		if (seq > s->last_seq)
			break;
		if (s->count && recent_mean(s))
			want = (recent_mean(s) + 63u) & ~63u; /* the hint is for the next packet only */
		if (want > t->ks_cap)
			want = t->ks_cap;
		if (!want)
			break;
		unsigned slot = (s->head + s->count) % t->depth;
		struct ks_entry *e = &s->ring[slot];
		uint8_t nonce[12];
		make_nonce(s->c, seq, nonce);
		if (crypto_keystream(s->cx, nonce, e->ks, want)) {
			t->st.esp_crypto_errors++;
			break;
		}
		e->seq = seq;
		e->len = want;
		e->gen = s->gen;
		e->ready_ns = ready_ns;
		s->count++;
		bytes += want;
		t->st.ks_entries_built++;
	}
	t->st.ks_bytes_built += bytes;
	return bytes;
}

uint32_t esp_anticipate(struct esp_tunnel *t, unsigned sa, const uint8_t *inner, uint32_t len, uint64_t ready_ns,
			uint32_t *gen)
{
	struct sa_state *s = &t->sa[sa];
	struct anticipated *a = &s->ant;
	if (!t->depth || !s->routed || s->next_seq > s->last_seq || len < 2 || esp_plain_len(len) > t->ks_cap)
		return 0;
	if (a->valid)
		t->st.esp_anticipated_wasted++;
	uint32_t plain = esp_plain_len(len);
	/* Built in the verify buffer (free between packets), then kept. */
	uint8_t *in = t->vbuf + INNER_OFF;
	memcpy(in, inner, len);
	unsigned ver;
	uint8_t tos;
	inner_tos(inner, &ver, &tos);
	uint8_t *f = frame_around(s, in, len, s->next_seq, plain, ver, tos);
	if (seal_oneshot(s, in, plain, s->next_seq)) {
		a->valid = false;
		t->st.esp_crypto_errors++;
		return 0;
	}
	a->frame_len = 14u + (s->c->family == 4 ? 20u : 40u) + 16u + plain + CRYPTO_AEAD_TAG_LEN;
	memcpy(a->frame, f, a->frame_len);
	memcpy(a->plain, inner, len);
	a->len = len;
	a->seq = s->next_seq;
	a->valid = true;
	a->ready_ns = ready_ns;
	*gen = a->gen = ++s->gen;
	t->st.esp_anticipated_built++;
	return plain;
}

static inline bool gen_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

void esp_mark_ready(struct esp_tunnel *t, unsigned sa, uint32_t gen, uint64_t ready_ns)
{
	struct sa_state *s = &t->sa[sa];
	for (unsigned i = 0; i < s->count; i++) {
		struct ks_entry *e = &s->ring[(s->head + i) % t->depth];
		if (e->ready_ns == UINT64_MAX && gen_le(e->gen, gen))
			e->ready_ns = ready_ns;
	}
	if (s->ant.valid && s->ant.ready_ns == UINT64_MAX && gen_le(s->ant.gen, gen))
		s->ant.ready_ns = ready_ns;
}

bool esp_pending(const struct esp_tunnel *t, unsigned sa, uint32_t gen)
{
	const struct sa_state *s = &t->sa[sa];
	for (unsigned i = 0; i < s->count; i++) {
		const struct ks_entry *e = &s->ring[(s->head + i) % t->depth];
		if (e->ready_ns == UINT64_MAX && gen_le(e->gen, gen))
			return true;
	}
	return s->ant.valid && s->ant.ready_ns == UINT64_MAX && gen_le(s->ant.gen, gen);
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
