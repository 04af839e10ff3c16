/* esp_open: the receiving side of the tunnel (see esp.h): a frame addressed to an SA that opens
 * here is checked against the SA's anti-replay window, authenticated (from the anticipated
 * packet, a keystream made ahead, or the library's one-shot open), its padding checked, and
 * only then counted as accepted. */
#include <string.h>

#include "crypto.h"
#include "esp_impl.h"

static inline uint32_t rd32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t rd64(const uint8_t *p, bool le)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (le ? 8 * i : 56 - 8 * i);
	return v;
}

/* The window counts from 1 (0: nothing accepted); WireGuard's counter from 0. */
static inline uint64_t win_num(const struct sa_state *s, uint64_t seq)
{
	return s->c->kind == ESP_KIND_WG ? seq + 1 : seq;
}

/* As esp_tunnel_slice cuts the numbers first .. last into equal slices, the last taking the
 * remainder. */
unsigned esp__slice_of(const struct sa_state *s, uint64_t seq)
{
	unsigned n = s->c->slices;
	if (n == 1 || seq < s->c->first_seq)
		return 0;
	uint64_t per = (s->last_seq - s->c->first_seq + 1) / n, k = per ? (seq - s->c->first_seq) / per : 0;
	return k < n ? (unsigned)k : n - 1;
}

uint64_t esp__slice_first(const struct sa_state *s, unsigned k)
{
	return esp__slice_start(s->c->first_seq, s->last_seq, k, s->c->slices);
}

/* The ring's entry at position 'pos' from its head. */
static inline struct ks_entry *at(const struct esp_tunnel *t, const struct sa_state *s, unsigned pos)
{
	return &s->ring[(s->head + pos) % t->depth];
}

/* An opening SA's ring is a set: entries for each slice's next numbers (one slice: consecutive
 * numbers), in no order that matters.  The entry made for 'seq', left in the ring (a forged
 * packet must not spend it), or NULL. */
static struct ks_entry *peek_entry(const struct esp_tunnel *t, const struct sa_state *s, uint64_t seq)
{
	for (unsigned i = 0; i < s->count; i++)
		if (at(t, s, i)->seq == seq)
			return at(t, s, i);
	return NULL;
}

/* After number 'seq' was accepted: the entries of its slice at or below it leave the ring (those
 * below it unused: waste; each moved to the ring's end with its buffer before the count drops, so
 * no two entries share one), and so does an anticipated packet for them; the slice expects the
 * number after it, and the anticipated packet is made for it next. */
static void passed(struct esp_tunnel *t, struct sa_state *s, uint64_t seq, const struct ks_entry *used)
{
	unsigned k = esp__slice_of(s, seq);
	for (unsigned i = 0; i < s->count;) {
		struct ks_entry *e = at(t, s, i);
		if (e->seq > seq || esp__slice_of(s, e->seq) != k) {
			i++;
			continue;
		}
		if (!used || e->seq != seq) /* (the entry used, wherever the moves put it, is seq's) */
			t->st.ks_bytes_wasted += e->len;
		struct ks_entry gone = *e;
		for (unsigned j = i; j + 1 < s->count; j++)
			*at(t, s, j) = *at(t, s, j + 1);
		*at(t, s, s->count - 1) = gone;
		s->count--;
	}
	if (seq >= s->expect[k])
		s->expect[k] = seq + 1;
	s->slices_seen |= 1ull << k;
	if (s->ant.valid && esp__slice_of(s, s->ant.seq) == k && s->ant.seq <= seq) {
		s->ant.valid = false;
		t->st.esp_anticipated_wasted++;
	}
	s->next_seq = s->expect[k];
}

uint64_t esp__fill_opening(struct esp_tunnel *t, struct sa_state *s, unsigned depth, unsigned max_new,
			   uint32_t hint, uint64_t ready_ns)
{
	uint64_t bytes = 0;
	for (bool first = true; s->count < depth && max_new-- && s->slices_seen; first = false) {
		/* The slice seen with the fewest entries, and its next number not in the ring. */
		unsigned best_n = UINT32_MAX;
		uint64_t next = 0;
		for (unsigned k = 0; k < s->c->slices; k++) {
			if (!(s->slices_seen >> k & 1))
				continue;
			unsigned n = 0;
			uint64_t nx = s->expect[k];
			for (unsigned i = 0; i < s->count; i++)
				if (esp__slice_of(s, at(t, s, i)->seq) == k) {
					n++;
					nx = at(t, s, i)->seq >= nx ? at(t, s, i)->seq + 1 : nx;
				}
			if (n < best_n && nx <= s->last_seq && esp__slice_of(s, nx) == k)
				best_n = n, next = nx;
		}
		if (best_n == UINT32_MAX)
			break;
		uint32_t want = first && hint ? hint : esp__entry_size(t, s, best_n);
		if (!want)
			want = hint; /* nothing opened yet to take a mean of */
		if (!want || esp__make_entry(t, s, at(t, s, s->count), next, want, ready_ns))
			break;
		bytes += at(t, s, s->count - 1)->len;
	}
	return bytes;
}

/* ESP's trailer (RFC 4303 §2.4): the padding 1, 2, 3, ..., a pad length that fits, a next header
 * naming the inner version.  The inner length, or 0 when it is malformed. */
static uint32_t esp_trailer(const uint8_t *pt, uint32_t plain)
{
	uint32_t pad = pt[plain - 2], nh = pt[plain - 1];
	if (pad + 2u > plain)
		return 0;
	uint32_t len = plain - 2u - pad;
	for (uint32_t i = 0; i < pad; i++)
		if (pt[len + i] != (uint8_t)(i + 1))
			return 0;
	unsigned ver = len ? pt[0] >> 4 : 0;
	if (!((nh == 4 && ver == 4 && len >= 20) || (nh == 41 && ver == 6 && len >= 40)))
		return 0;
	return len;
}

/* WireGuard's: the inner IP packet's own length within the plaintext, zeros after it, fewer
 * than 16 of them. */
static uint32_t wg_trailer(const uint8_t *pt, uint32_t plain)
{
	uint32_t len;
	if (plain >= 20 && pt[0] >> 4 == 4)
		len = (uint32_t)pt[2] << 8 | pt[3];
	else if (plain >= 40 && pt[0] >> 4 == 6)
		len = 40u + ((uint32_t)pt[4] << 8 | pt[5]);
	else
		return 0;
	if (len < (pt[0] >> 4 == 4 ? 20u : 40u) || len > plain || plain - len >= 16)
		return 0;
	for (uint32_t i = len; i < plain; i++)
		if (pt[i])
			return 0;
	return len;
}

/* Authenticates and decrypts the message's plaintext into 'out'.  ESP_OPENED, ESP_OPEN_ICV or
 * ESP_OPEN_CRYPTO; '*how' says which work did it, '*used' the ring entry it took, and '*known' the
 * inner length when the anticipated packet's (its trailer is the one sealed here: no need to read
 * it back). */
static enum esp_open_verdict decrypt(struct esp_tunnel *t, struct sa_state *s, const uint8_t *msg, uint32_t msg_len,
				     uint64_t seq, bool iv_is_seq, uint64_t now_ns, uint8_t *out, enum esp_how *how,
				     const struct ks_entry **used, uint32_t *known)
{
	const uint8_t *ct = msg + 16, *tag = ct + (msg_len - 32u), *aad = msg;
	uint32_t plain = msg_len - 32u, aad_len = s->c->kind == ESP_KIND_WG ? 0 : 8;
	const struct anticipated *an = &s->ant;
	/* The anticipated packet: the tag compared in constant time first (only the genuine
	 * packet has it), then the rest; equal bytes under one key and nonce are one plaintext. */
	if (an->valid && an->seq == seq && iv_is_seq && an->ready_ns <= now_ns &&
	    an->frame_len == esp__frame_len(s, plain) &&
	    crypto_tag_equal(tag, an->frame + an->frame_len - 16) &&
	    !memcmp(msg, an->frame + an->frame_len - msg_len, msg_len - 16)) {
		memcpy(out, an->plain, an->len);
		*known = an->len;
		*how = ESP_ANTICIPATED;
		return ESP_OPENED;
	}
	struct ks_entry *e = iv_is_seq && s->stream ? peek_entry(t, s, seq) : NULL;
	if (e && e->ready_ns <= now_ns && plain <= t->ks_cap) {
		uint8_t nonce[12], mac[16];
		esp__make_nonce(s->c, seq, nonce);
		if (e->len < plain) {
			if (crypto_keystream_extend(s->cx, nonce, e->ks, e->len, plain))
				return ESP_OPEN_CRYPTO;
			t->st.ks_short++;
			t->extended = plain - e->len;
			e->len = plain;
		}
		crypto_mac_keystream(e->ks, aad, aad_len, ct, plain, mac);
		if (!crypto_tag_equal(mac, tag))
			return ESP_OPEN_ICV; /* nothing decrypted; the entry stays for the genuine packet */
		esp__xor(out, ct, e->ks + CRYPTO_KS_HEAD, plain);
		*used = e;
		*how = ESP_KEYSTREAM;
		return ESP_OPENED;
	}
	/* The library's one-shot open writes plaintext as it goes and checks the tag at the end:
	 * nothing reads 'out' before, and a failure wipes it. */
	uint8_t nonce[12];
	if (s->c->kind == ESP_KIND_WG)
		esp__make_nonce(s->c, seq, nonce);
	else
		memcpy(nonce, s->c->salt, 4), memcpy(nonce + 4, msg + 8, 8); /* the packet's own IV */
	if (crypto_aead_open(s->cx, nonce, aad, aad_len, ct, plain, tag, out)) {
		crypto_wipe(out, plain);
		return ESP_OPEN_ICV;
	}
	*how = ESP_ONESHOT;
	return ESP_OPENED;
}

enum esp_open_verdict esp_open(struct esp_tunnel *t, enum esp_kind kind, int family, const uint8_t *dst,
			       const uint8_t *msg, uint32_t msg_len, uint64_t now_ns, bool verify,
			       struct esp_opened *o)
{
	memset(o, 0, sizeof *o);
	o->sa = -1;
	t->extended = 0;
	/* Header 16, tag 16, and a plaintext of whole blocks: ESP's 4 bytes (RFC 4303 §2.4), at
	 * least a trailer; WireGuard's 16 (0: a keepalive). */
	uint32_t plain = msg_len >= 32 ? msg_len - 32u : 0;
	if (msg_len < 32 || (kind == ESP_KIND_ESP ? plain < 4 || plain % 4 : plain % 16) ||
	    (kind == ESP_KIND_WG && (msg[0] != WG_TYPE_DATA || msg[1] || msg[2] || msg[3])))
		return ESP_OPEN_MALFORMED;
	uint32_t spi = kind == ESP_KIND_WG ? (uint32_t)rd64(msg + 4, true) : rd32be(msg);
	int sa = esp_conf_find(t->conf, kind, spi);
	struct sa_state *s = sa >= 0 ? &t->sa[sa] : NULL;
	if (!s || s->c->family != family || memcmp(s->c->dst, dst, family == 4 ? 4 : 16) != 0)
		return ESP_OPEN_UNKNOWN;
	o->sa = sa;
	if (plain > ESP_INNER_MAX + 16u)
		return ESP_OPEN_MALFORMED;
	uint64_t seq = kind == ESP_KIND_WG ? rd64(msg + 8, true) : rd32be(msg + 4);
	bool iv_is_seq = kind == ESP_KIND_WG || rd64(msg + 8, false) == seq;
	if (kind == ESP_KIND_WG && seq > WG_COUNTER_MAX)
		return ESP_OPEN_REPLAY; /* no sender sends it */
	/* The window first: a replayed packet costs a compare, not a decryption. */
	struct replay_window *w = &s->win[esp__slice_of(s, seq)];
	if (replay_window_check(w, win_num(s, seq)) != REPLAY_NEW)
		return ESP_OPEN_REPLAY;
	uint8_t *out = t->obuf + INNER_OFF;
	const struct ks_entry *used = NULL;
	uint32_t known = 0;
	enum esp_open_verdict v = decrypt(t, s, msg, msg_len, seq, iv_is_seq, now_ns, out, &o->how, &used, &known);
	if (v != ESP_OPENED) {
		if (v == ESP_OPEN_CRYPTO)
			t->st.esp_crypto_errors++;
		return v;
	}
	/* Authentic: its number is spent, whatever its padding holds. */
	replay_window_accept(w, win_num(s, seq));
	if (used) {
		t->st.ks_bytes_used += plain;
		t->st.ks_bytes_wasted += used->len - plain;
	}
	if (o->how == ESP_ANTICIPATED)
		s->ant.valid = false; /* used, not wasted */
	passed(t, s, seq, used);
	esp__note_len(s, plain); /* the mean that sizes the ring's entries */
	t->st.esp_in_packets++;
	t->st.esp_in_bytes += msg_len;
	if (kind == ESP_KIND_WG && plain == 0) {
		t->st.esp_keepalives++;
		return ESP_OPEN_KEEPALIVE;
	}
	uint32_t len = known ? known : kind == ESP_KIND_WG ? wg_trailer(out, plain) : esp_trailer(out, plain);
	if (!len)
		return ESP_OPEN_MALFORMED;
	if (o->how == ESP_ANTICIPATED)
		t->st.esp_opened_anticipated++;
	else if (o->how == ESP_KEYSTREAM)
		t->st.esp_opened_keystream++;
	else
		t->st.esp_opened_oneshot++;
	if (verify && o->how != ESP_ONESHOT) {
		/* Shadow mode: the library's own open of the same bytes must give the same plaintext. */
		uint8_t *ref = t->vbuf + INNER_OFF, nonce[12];
		esp__make_nonce(s->c, seq, nonce);
		o->diverged = crypto_aead_open(s->cx, nonce, msg, kind == ESP_KIND_WG ? 0 : 8, msg + 16, plain,
					       msg + 16 + plain, ref) != 0 ||
			      memcmp(ref, out, len) != 0;
	}
	o->inner = out;
	o->len = len;
	return ESP_OPENED;
}
