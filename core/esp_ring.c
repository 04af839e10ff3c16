/* esp_ring: the work an SA makes ahead (see esp.h): its ring of keystreams, made for the
 * numbers it will send next and sized by what it sealed lately, and the anticipated packet,
 * sealed whole before it arrives; a timed model marks each batch finished. */
#include <string.h>

#include "crypto.h"
#include "esp_impl.h"

void esp__note_len(struct sa_state *s, uint32_t plain)
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
struct ks_entry *esp__take_entry(struct esp_tunnel *t, struct sa_state *s, uint64_t seq)
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

void esp_ring_expect(struct esp_tunnel *t, unsigned sa, uint64_t key, uint64_t t_ns, uint32_t plain, uint64_t now_ns)
{
	struct sa_state *s = &t->sa[sa];
	unsigned n = 0;
	/* The flow's earlier expectation (its packet came: this one), and the stale, leave. */
	for (unsigned i = 0; i < s->n_up; i++)
		if (s->up[i].key != key && s->up[i].t + UPCOMING_STALE_NS >= now_ns)
			s->up[n++] = s->up[i];
	s->n_up = n;
	if (!plain || !t_ns)
		return;
	if (n == UPCOMING) {
		if (t_ns >= s->up[n - 1].t)
			return; /* later than every one kept */
		n = --s->n_up;
	}
	while (n && s->up[n - 1].t > t_ns) {
		s->up[n] = s->up[n - 1];
		n--;
	}
	s->up[n] = (struct upcoming){ key, t_ns, plain };
	s->n_up++;
}

void esp_ring_floor(struct esp_tunnel *t, float floor)
{
	t->floor = floor < 0 ? 0 : floor > 1 ? 1 : floor;
}

/* The plaintext the ring's entry at position 'pos' (from its head) is made for: the packet
 * expected there, but no less than the floor of the mean (measured on the tunnel scenarios: the
 * expected order is often wrong, and a packet whose entry is short pays for the rest of its
 * keystream on its path). */
uint32_t esp__entry_size(const struct esp_tunnel *t, const struct sa_state *s, unsigned pos)
{
	uint32_t m = recent_mean(s), f = (uint32_t)((float)m * t->floor);
	return pos < s->n_up ? (s->up[pos].plain > f ? s->up[pos].plain : f) : m;
}

uint64_t esp_ring_fill(struct esp_tunnel *t, unsigned sa, unsigned depth, unsigned max_new, uint32_t hint,
		       uint64_t ready_ns, uint32_t *gen)
{
	struct sa_state *s = &t->sa[sa];
	if (depth > t->depth)
		depth = t->depth;
	if (!s->stream)
		return 0; /* AES-GCM: the library makes no keystream apart from its seal */
	*gen = ++s->gen;
	if (s->role & ESP_OPENS)
		return esp__fill_opening(t, s, depth, max_new, hint, ready_ns);
	uint64_t bytes = 0;
	for (bool first = true; s->count < depth && max_new--; first = false) {
		uint64_t seq = s->next_seq + s->count;
		if (seq > s->last_seq)
			break;
		uint32_t want = first && hint ? hint : esp__entry_size(t, s, s->count);
		if (!want)
			want = hint; /* nothing sealed yet to take a mean of: the hint for every entry */
		struct ks_entry *e = &s->ring[(s->head + s->count) % t->depth];
		if (!want || esp__make_entry(t, s, e, seq, want, ready_ns))
			break;
		bytes += e->len;
	}
	return bytes;
}

int esp__make_entry(struct esp_tunnel *t, struct sa_state *s, struct ks_entry *e, uint64_t seq, uint32_t want,
		    uint64_t ready_ns)
{
	want = (want + 63u) & ~63u;
	if (want > t->ks_cap)
		want = t->ks_cap; /* larger packets are sealed in one shot */
	uint8_t nonce[12];
	esp__make_nonce(s->c, seq, nonce);
	if (crypto_keystream(s->cx, nonce, e->ks, want)) {
		t->st.esp_crypto_errors++;
		return -1;
	}
	e->seq = seq;
	e->len = want;
	e->gen = s->gen;
	e->ready_ns = ready_ns;
	s->count++;
	t->st.ks_entries_built++;
	t->st.ks_bytes_built += want;
	return 0;
}

uint32_t esp_anticipate(struct esp_tunnel *t, unsigned sa, const uint8_t *inner, uint32_t len, uint64_t ready_ns,
			uint32_t *gen)
{
	struct sa_state *s = &t->sa[sa];
	struct anticipated *a = &s->ant;
	if (!t->depth || (!s->routed && !(s->role & ESP_OPENS)) || s->next_seq > s->last_seq || len < 2 ||
	    esp__plain(s, len) > t->ks_cap)
		return 0;
	if (a->valid)
		t->st.esp_anticipated_wasted++;
	uint32_t plain = esp__plain(s, len);
	/* Built in the verify buffer (free between packets), then kept. */
	uint8_t *in = t->vbuf + INNER_OFF;
	memcpy(in, inner, len);
	unsigned ver;
	uint8_t tos;
	esp__inner_tos(inner, &ver, &tos);
	uint8_t *f = esp__frame_around(s, in, len, s->next_seq, plain, ver, tos);
	if (esp__seal_oneshot(s, in, plain, s->next_seq)) {
		a->valid = false;
		t->st.esp_crypto_errors++;
		return 0;
	}
	a->frame_len = esp__frame_len(s, plain);
	esp__finish(s, f, a->frame_len);
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
