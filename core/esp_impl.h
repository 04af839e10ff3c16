/* esp_impl: the tunnel's runtime state, shared by its files (esp.c: state and sealing;
 * esp_frame.c: the two framings' headers, trailers, nonces; esp_open.c: opening; esp_ring.c:
 * keystreams and anticipated packets made ahead).  Not a public interface. */
#ifndef PRECRAFT_ESP_IMPL_H
#define PRECRAFT_ESP_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "esp.h"
#include "replay_window.h"

#define ESP_PROTO 50
#define UDP_PROTO 17
#define OUTER_TTL 64
#define WG_TYPE_DATA 4
/* The inner packet sits at one offset whatever the outer family and framing: the frame starts
 * later in the buffer for an IPv4 SA (its outer header is 20 bytes shorter) and for ESP (8 + 8
 * bytes where WireGuard has UDP's 8 and its own 16). */
#define INNER_OFF (14u + 40u + 8u + 16u)
#define ESP_HDR 16u                /* SPI, sequence number, IV */
#define WG_HDR 16u                 /* type, reserved, receiver index, counter */
#define RECENT_WINDOW 256 /* packets over which an SA's mean packet is taken */
#define UPCOMING 16        /* the flows' next packets an SA expects, soonest first */
#define UPCOMING_STALE_NS 10000000ull /* a prediction this overdue is forgotten */

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
	unsigned role;             /* ESP_SEALS, ESP_OPENS (esp_conf_role) */
	bool stream;               /* ChaCha20: keystreams can be made ahead */
	uint32_t hdr;              /* bytes between the outer IP header and the inner packet */
	/* Sealing: the next number to send; opening: the next number expected (above the highest
	 * accepted), which the ring and the anticipated packet are made for. */
	uint64_t next_seq;
	uint64_t last_seq;         /* the last number this instance may send (esp_tunnel_slice) */
	struct replay_window *win; /* opening: the numbers accepted, a window per sender's slice */
	uint64_t *expect;          /* opening: each slice's next number expected */
	uint64_t slices_seen;      /* opening: the slices a packet came from (bits; one slice: set) */
	uint8_t eth[14];
	bool routed;
	uint64_t win_sum, prev_sum;  /* plaintext bytes, this window and the last */
	uint32_t win_n;
	/* The next packets of the flows that use the SA, as their predictors expect them, sorted
	 * by expected arrival: the ring's k-th entry is sized for the k-th of them. */
	struct upcoming {
		uint64_t key, t;
		uint32_t plain;
	} up[UPCOMING];
	unsigned n_up;
	struct ks_entry *ring;
	unsigned head, count;
	uint32_t gen;
	struct anticipated ant;
};

struct esp_tunnel {
	const struct esp_conf *conf;
	struct sa_state *sa;
	size_t n;
	unsigned depth;
	uint32_t ks_cap;
	uint8_t *mem;              /* every ring's keystreams and anticipated buffers */
	size_t mem_len;
	struct ks_entry *entries;
	uint8_t *buf, *vbuf;       /* egress frame; shadow mode's one-shot check */
	uint8_t *obuf;             /* an opened packet (apart from 'buf': it may be sealed again) */
	struct replay_window *wins; /* the opening SAs' windows */
	uint64_t *expects;         /* and their slices' next numbers */
	uint32_t extended;         /* keystream bytes the last seal or open made itself (ks_short) */
	float floor;               /* entries at least this times the SA's mean (esp_ring_floor) */
	struct esp_stats st;
};

#define FRAME_BUF (INNER_OFF + ESP_INNER_MAX + 16u + 16u + 16u)

/* The plaintext an SA seals for an inner packet of 'len' bytes (with its padding and trailer). */
static inline uint32_t esp__plain(const struct sa_state *s, uint32_t len)
{
	return s->c->kind == ESP_KIND_WG ? (len + 15u) & ~15u : (len + 2u + 3u) & ~3u;
}
/* The whole frame's length for 'plain' bytes of plaintext. */
static inline uint32_t esp__frame_len(const struct sa_state *s, uint32_t plain)
{
	return 14u + (s->c->family == 4 ? 20u : 40u) + s->hdr + plain + 16u;
}

/* out[i] = src[i] ^ k[i] for 'n' bytes (src may be out), 32 bytes a step. */
static inline void esp__xor(uint8_t *out, const uint8_t *src, const uint8_t *k, uint32_t n)
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

void esp__make_nonce(const struct esp_sa_conf *c, uint64_t seq, uint8_t nonce[12]);
/* The AAD of the packet whose inner bytes start at 'inner' (ESP: SPI and sequence number;
 * WireGuard: none). */
static inline uint32_t esp__aad(const struct sa_state *s, const uint8_t *inner, const uint8_t **aad)
{
	*aad = inner - ESP_HDR;
	return s->c->kind == ESP_KIND_WG ? 0 : 8;
}
/* After sealing: what depends on the ciphertext (WireGuard over IPv6: the UDP checksum). */
void esp__finish(const struct sa_state *s, uint8_t *frame, uint32_t frame_len);
/* Writes the outer headers around the inner packet at 'inner' (INNER_OFF into a frame buffer):
 * returns where the frame starts. */
uint8_t *esp__frame_around(const struct sa_state *s, uint8_t *inner, uint32_t len, uint64_t seq, uint32_t plain,
			   unsigned ver, uint8_t tos);
/* The inner packet's IP version and traffic class (copied to the outer header, RFC 4301). */
void esp__inner_tos(const uint8_t *p, unsigned *ver, uint8_t *tos);
/* Seals 'plain' bytes at 'inner' in place with the library's one-shot AEAD (the tag after
 * them); esp__finish is the caller's. */
int esp__seal_oneshot(const struct sa_state *s, uint8_t *inner, uint32_t plain, uint64_t seq);
/* Makes SA 'i''s runtime state (role, cipher context, numbers, the windows at s->win); 0 or
 * -ERR_NOMEM. */
int esp__sa_init(struct sa_state *s, const struct esp_conf *c, size_t i);
/* Notes a packet of 'plain' bytes sealed (the mean that sizes the ring's entries). */
void esp__note_len(struct sa_state *s, uint32_t plain);
/* The last number an SA of configuration 'c' may send: ESP's 2^32 - 1, WireGuard's limit. */
static inline uint64_t esp__seq_max(const struct esp_sa_conf *c)
{
	return c->kind == ESP_KIND_WG ? WG_COUNTER_MAX : ESP_SEQ_MAX;
}
/* Where slice 'k' of 'n' equal slices of the numbers first .. max starts (the last slice takes
 * the remainder): the one cut a sender's workers (esp_tunnel_slice) and a receiver's windows
 * share. */
static inline uint64_t esp__slice_start(uint64_t first, uint64_t max, unsigned k, unsigned n)
{
	return first + k * ((max - first + 1) / n);
}

/* The slice of the sender's numbers (esp_tunnel_slice's cut, as the SA's 'slices' says) that
 * 'seq' lies in, and where slice 'k' starts. */
unsigned esp__slice_of(const struct sa_state *s, uint64_t seq);
uint64_t esp__slice_first(const struct sa_state *s, unsigned k);
/* An opening SA: tops the ring up with entries for the next numbers of the slices its packets
 * came from (one slice: from the start), the slice with the fewest entries first, the first
 * entry 'hint' bytes when not 0 (esp_open.c).  Returns the keystream bytes made. */
uint64_t esp__fill_opening(struct esp_tunnel *t, struct sa_state *s, unsigned depth, unsigned max_new,
			   uint32_t hint, uint64_t ready_ns);
/* Makes ring entry 'e' for number 'seq', 'want' keystream bytes (rounded, capped): 0, or -1 when
 * the library failed (counted). */
int esp__make_entry(struct esp_tunnel *t, struct sa_state *s, struct ks_entry *e, uint64_t seq, uint32_t want,
		    uint64_t ready_ns);
/* The plaintext the ring's entry at position 'pos' (from its head) is made for (esp_ring.c). */
uint32_t esp__entry_size(const struct esp_tunnel *t, const struct sa_state *s, unsigned pos);

/* The ring entry made for number 'seq', or NULL; entries for earlier numbers are let go. */
struct ks_entry *esp__take_entry(struct esp_tunnel *t, struct sa_state *s, uint64_t seq);

#endif
