/* esp_impl: the tunnel's runtime state, shared by its files (esp.c: state, framing, sealing;
 * esp_ring.c: keystreams and anticipated packets made ahead).  Not a public interface. */
#ifndef PRECRAFT_ESP_IMPL_H
#define PRECRAFT_ESP_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "esp.h"

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

void esp__make_nonce(const struct esp_sa_conf *c, uint64_t seq, uint8_t nonce[12]);
/* Writes the outer headers around the inner packet at 'inner' (INNER_OFF into a frame buffer):
 * returns where the frame starts. */
uint8_t *esp__frame_around(const struct sa_state *s, uint8_t *inner, uint32_t len, uint64_t seq, uint32_t plain,
			   unsigned ver, uint8_t tos);
/* The inner packet's IP version and traffic class (copied to the outer header, RFC 4301). */
void esp__inner_tos(const uint8_t *p, unsigned *ver, uint8_t *tos);
/* Seals 'plain' bytes at 'inner' in place with the library's one-shot AEAD. */
int esp__seal_oneshot(const struct sa_state *s, uint8_t *inner, uint32_t plain, uint64_t seq);
/* Notes a packet of 'plain' bytes sealed (the mean that sizes the ring's entries). */
void esp__note_len(struct sa_state *s, uint32_t plain);
/* The ring entry made for number 'seq', or NULL; entries for earlier numbers are let go. */
struct ks_entry *esp__take_entry(struct esp_tunnel *t, struct sa_state *s, uint64_t seq);

#endif
