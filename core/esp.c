/* esp: the VPN gateway (see esp.h): the tunnel's state and sealing; esp_frame.c writes the
 * framings, esp_open.c opens, esp_ring.c makes the keystreams and anticipated packets ahead,
 * esp_conf.c reads tunnel files. */
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
	t->conf = c;
	t->floor = 1.0f;
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
	t->obuf = malloc(FRAME_BUF);
	size_t n_win = 0;
	for (size_t i = 0; i < n_sa; i++)
		n_win += esp_conf_role(c, i) & ESP_OPENS ? esp_conf_sa(c, i)->slices : 0;
	t->wins = n_win ? calloc(n_win, sizeof *t->wins) : NULL;
	t->expects = n_win ? calloc(n_win, sizeof *t->expects) : NULL;
	if (!t->sa || (depth && (!t->entries || !t->mem)) || !t->buf || !t->vbuf || !t->obuf ||
	    (n_win && (!t->wins || !t->expects))) {
		esp_tunnel_destroy(t);
		return -ERR_NOMEM;
	}
	if (t->mem)
		memset(t->mem, 0, t->mem_len);
	t->st.esp_mem_bytes = t->mem_len;
	for (size_t i = 0, w = 0; i < n_sa; i++) {
		struct sa_state *s = &t->sa[i];
		s->win = t->wins ? &t->wins[w] : NULL;
		s->expect = t->expects ? &t->expects[w] : NULL;
		if (esp_conf_role(c, i) & ESP_OPENS)
			w += esp_conf_sa(c, i)->slices;
		if (esp__sa_init(s, c, i)) {
			esp_tunnel_destroy(t);
			return -ERR_NOMEM;
		}
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

int esp__sa_init(struct sa_state *s, const struct esp_conf *c, size_t i)
{
	s->c = esp_conf_sa(c, i);
	s->role = esp_conf_role(c, i);
	s->stream = s->c->kind == ESP_KIND_WG || s->c->cipher == ESP_CHACHA20_POLY1305;
	s->hdr = s->c->kind == ESP_KIND_WG ? 8u + WG_HDR : ESP_HDR;
	s->next_seq = s->c->first_seq;
	s->last_seq = esp__seq_max(s->c);
	if (s->role & ESP_OPENS) {
		for (unsigned k = 0; k < s->c->slices; k++) {
			if (replay_window_init(&s->win[k], s->c->replay))
				return -ERR_NOMEM; /* cannot happen: the file's reader bounds it */
			s->expect[k] = esp__slice_first(s, k);
		}
		s->slices_seen = s->c->slices == 1; /* one slice: its numbers are expected from the start */
	} else {
		s->win = NULL;
		s->expect = NULL;
	}
	return crypto_aead_create(s->stream ? CRYPTO_CHACHA20_POLY1305 : CRYPTO_AES_256_GCM, s->c->key, &s->cx) ? -ERR_NOMEM
														     : 0;
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
	if (t->obuf) {
		crypto_wipe(t->obuf, FRAME_BUF);
		free(t->obuf);
	}
	free(t->wins);
	free(t->expects);
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
	t->extended = 0;
	if (!s->routed)
		return ESP_NO_ROUTE;
	if (len > (s->c->kind == ESP_KIND_WG ? WG_INNER_MAX : ESP_INNER_MAX) || al < 2 || (uint64_t)al + bl > len)
		return ESP_TOO_BIG;
	if (s->next_seq > s->last_seq) {
		t->st.esp_exhausted_drops++;
		return ESP_EXHAUSTED;
	}
	uint64_t seq = s->next_seq++;
	uint32_t plain = esp__plain(s, len);
	esp__note_len(s, plain);
	unsigned ver;
	uint8_t tos;
	esp__inner_tos(a, &ver, &tos);
	uint8_t *inner = esp_inner(t);
	struct ks_entry *e = esp__take_entry(t, s, seq);
	uint32_t flen = esp__frame_len(s, plain);
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
			t->extended = plain - e->len;
		} else {
			t->st.ks_bytes_used += plain;
			t->st.ks_bytes_wasted += e->len - plain;
		}
		/* The copy and the XOR in one pass, from where the packet lies. */
		const uint8_t *k = e->ks + CRYPTO_KS_HEAD;
		esp__xor(inner, a, k, al);
		if (bl)
			esp__xor(inner + al, b, k + al, bl);
		memcpy(inner + al + bl, k + al + bl, len - al - bl); /* zeros XOR the keystream */
		esp__xor(inner + len, inner + len, k + len, plain - len);
		const uint8_t *aad;
		uint32_t aad_len = esp__aad(s, inner, &aad);
		if (!rc)
			crypto_mac_keystream(e->ks, aad, aad_len, inner, plain, inner + plain);
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
	esp__finish(s, f, flen);
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
		int vrc = esp__seal_oneshot(s, ref, plain, seq);
		esp__finish(s, rf, flen);
		*diverged = vrc != 0 || memcmp(rf, *frame, flen) != 0;
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
		if (s->count || s->ant.valid || s->next_seq != s->c->first_seq)
			return -ERR_INVAL; /* something was sealed or made ahead already */
	}
	for (size_t i = 0; i < t->n; i++) {
		struct sa_state *s = &t->sa[i];
		if (!(s->role & ESP_SEALS))
			continue; /* a receiver's numbers are the sender's */
		uint64_t first = s->c->first_seq, max = esp__seq_max(s->c);
		s->next_seq = esp__slice_start(first, max, slice, slices);
		s->last_seq = slice + 1 == slices ? max : esp__slice_start(first, max, slice + 1, slices) - 1;
	}
	return 0;
}

uint64_t esp_next_seq(const struct esp_tunnel *t, unsigned sa)
{
	const struct sa_state *s = &t->sa[sa];
	return s->next_seq > s->last_seq ? UINT64_MAX : s->next_seq;
}

uint32_t esp_last_extended(const struct esp_tunnel *t)
{
	return t->extended;
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
