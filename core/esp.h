/* esp: the shaper as a VPN gateway, both ways: ESP tunnel mode (RFC 4303) with
 * ChaCha20-Poly1305 (RFC 7634) or AES-256-GCM (RFC 4106), and WireGuard's transport data
 * messages; sealing what leaves, opening what arrives, and the keystreams made before the packets
 * that use them.
 *
 * The tunnel file (esp_conf_load) holds one security association a line, each one direction, in
 * the spirit of `ip xfrm state`:
 *     esp NAME spi 0xHEX src ADDR dst ADDR key HEX64 salt HEX8 match PREFIX[,PREFIX...]
 *         [cipher chacha20-poly1305|aes-256-gcm] [oseq N] [replay N] [slices N]
 *     wg NAME index 0xHEX src ADDR dst ADDR port N key HEX64 match PREFIX[,PREFIX...]
 *         [counter N] [replay N] [slices N]
 * A routed packet whose destination falls in a 'match' prefix (longest match over every SA's
 * prefixes) leaves inside that SA, when the SA seals here; 'oseq' is the last ESP sequence number
 * already sent (default 0; as ip xfrm's replay-oseq), 'counter' the first WireGuard counter to
 * send (default 0), 'replay' the receiving side's anti-replay window (default 64, 1..4096),
 * 'slices' the number of workers the sending gateway runs (default 1, 1..64): each sends its own
 * slice of the numbers, far apart, so the receiver keeps one window per slice (one window would
 * take every number of a lower slice for too old).  A
 * WireGuard line is one direction of a session with static keys (no handshake): 'index' is the
 * receiver's index the data messages carry, 'port' the UDP port at both ends.  Keys stay in this
 * module: nothing prints, logs or stores them, and they are wiped when the configuration is
 * destroyed.
 *
 * Where each SA works: a gateway's local addresses (esp_conf_set_local; --local, shaper.local)
 * make an SA seal where its 'src' is local and open where its 'dst' is; without them every SA
 * seals and none opens (a one-way gateway, as before the receiving side existed).
 *
 * Sealing (esp_seal) an inner IP packet of 'len' bytes into SA 's':
 *   ESP: Ethernet (to the next hop of the SA's 'dst') | outer IPv4 (20 B) or IPv6 (40 B) |
 *        SPI | sequence number | IV (8 B) | AEAD(inner | padding 1,2,3.. | pad length |
 *        next header) | ICV (16 B)
 *        IV = the 64-bit sequence number, big-endian; nonce = salt | IV; AAD = SPI | sequence
 *        number; padding to a 4-byte boundary.  The two ciphers differ in nothing else.
 *   WireGuard: Ethernet | outer IPv4 or IPv6 | UDP (port to port; IPv4 checksum 0, IPv6's
 *        computed) | type 4 | 3 zero bytes | receiver index (LE) | counter (64-bit LE) |
 *        ChaCha20-Poly1305(inner | zeros to a 16-byte boundary) | tag (16 B)
 *        nonce = 4 zero bytes | counter (LE); no AAD.
 * The sequence number (counter) is the SA's next one, assigned here, at transmit time, so the
 * order of numbers is the order of transmission whichever path made the packet.  The outer IPv4
 * header's identification is the number's low 16 bits, DF clear, TTL 64, the inner TOS copied;
 * IPv6: the inner traffic class, flow label 0, hop limit 64.  Deterministic: the same inner
 * packets give the same egress bytes.  ESP sends nothing after number 2^32 - 1 (RFC 4303
 * §3.3.3: no wrap without ESN); WireGuard nothing at or after 2^64 - 2^13 - 1 (its
 * Reject-After-Messages).
 *
 * Opening (esp_open) a frame addressed to an SA that opens here: the SA found by SPI (index), the
 * number checked against the SA's anti-replay window (RFC 4303 §3.4.3) before anything else is
 * done with it, the ICV verified before a byte of plaintext is read, then the padding (ESP: 1, 2,
 * 3, ..., a pad length that fits, a next header matching the inner version; WireGuard: zeros, an
 * inner IP length that fits), and only then the window moved.
 *
 * Pre-computation, two layers, neither of which depends on a prediction being right:
 *   - per SA, a ring of keystreams for the next numbers (esp_ring_fill; ChaCha20 only; an
 *     opening SA of a sliced sender keeps each slice's next numbers): packet
 *     number s of the SA takes the entry made for s, if one is ready, and pays only the XOR
 *     and Poly1305 over its own bytes (and the keystream its entry lacks, when it is longer
 *     than the entry); an entry is used once, for its own number.  Sealing SAs make entries for
 *     the numbers they will send, opening SAs for the numbers they expect (above the highest
 *     accepted);
 *   - per SA, one anticipated packet (esp_anticipate): the plaintext a flow's predictor
 *     expects for a given number, sealed ahead; when the real plaintext is the same and gets
 *     that number, sending it is a compare; when an arriving packet's bytes are those sealed,
 *     it opens to that plaintext (equal ciphertext and tag under one key and nonce: equal
 *     plaintext, authentic) by a compare.
 * Whatever path seals or opens a packet, its bytes are those of the one-shot AEAD (the choice
 * checks nothing but lengths, numbers and equality of bytes). */
#ifndef PRECRAFT_ESP_H
#define PRECRAFT_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct route_table;

#define ESP_NAME_MAX 32
#define ESP_MAX_SA 4096
#define ESP_SEQ_MAX 0xffffffffu
/* WireGuard's last counter: Reject-After-Messages (2^64 - 2^13 - 1) less one. */
#define WG_COUNTER_MAX (UINT64_MAX - 8192u - 1u)
#define WG_PORT_DEFAULT 51820
/* Bytes an inner packet gains, at most: Ethernet 14 + outer IPv6 40 + UDP 8 + WireGuard's 16
 * (ESP: 8 + IV 8) + trailer (WireGuard: up to 15 zeros; ESP: up to 3 padding, pad length, next
 * header) + ICV 16. */
#define ESP_OVERHEAD_MAX (14u + 40u + 8u + 16u + 15u + 16u)
/* The largest inner packet: an outer IPv4 total length must fit 16 bits (ESP: 8 + IV 8 +
 * trailer 5 + ICV 16; WireGuard: UDP 8 + 16 + padding 15 + tag 16). */
#define ESP_INNER_MAX (65535u - 20u - 8u - 8u - 5u - 16u)
#define WG_INNER_MAX (65535u - 20u - 8u - 16u - 15u - 16u)

enum esp_kind { ESP_KIND_ESP, ESP_KIND_WG };
enum esp_cipher { ESP_CHACHA20_POLY1305, ESP_AES_256_GCM };

/* One security association as configured. */
struct esp_sa_conf {
	char name[ESP_NAME_MAX];
	uint8_t kind;              /* enum esp_kind: the framing */
	uint8_t cipher;            /* enum esp_cipher (WireGuard: ChaCha20-Poly1305) */
	uint8_t family;            /* of the outer header: 4 or 6 */
	uint16_t port;             /* WireGuard: the UDP port at both ends */
	uint32_t spi;              /* ESP: the SPI; WireGuard: the receiver index */
	uint8_t src[16], dst[16];
	uint8_t key[32], salt[4];  /* WireGuard: no salt (zeros) */
	uint64_t first_seq;        /* the first number this SA sends (ESP: oseq + 1; WireGuard: counter) */
	uint32_t replay;           /* the anti-replay window of the receiving side */
	uint16_t slices;           /* the sender's workers, each sending a slice of the numbers
				    * (esp_tunnel_slice): the receiver keeps a window per slice */
};

struct esp_conf;

/* Reads a tunnel file.  On a bad line returns -ERR_FORMAT with "file:line: what" in 'eb'
 * (bad hex, a key that is not 32 bytes, a salt that is not 4, a duplicate SPI (WireGuard:
 * index) or name, source and destination of different families, a bad prefix, port, cipher,
 * window, counter or slice count, a missing or unknown word, or one the other kind of line
 * takes: a salt on a wg line); the
 * refusals that keep the crypto's promises: a word given twice on a line (the second would
 * replace the first: 'match A match B' sent A in clear), a key and salt an earlier SA has (the
 * same nonces), a prefix with host bits set, a prefix given to two SAs (or twice to one).
 * -ERR_IO when the file cannot be read.  No message contains key or salt bytes. */
int esp_conf_load(const char *path, struct esp_conf **out, struct errbuf *eb) WARN_UNUSED;
/* A configuration of the one SA 'sa' (copied), matching every destination (0.0.0.0/0, ::/0),
 * without a file (calibration); an ESP first_seq of 0 counts from 1, a replay or slices of 0
 * are the defaults.  0 or -ERR_NOMEM. */
int esp_conf_one(const struct esp_sa_conf *sa, struct esp_conf **out) WARN_UNUSED;
/* Wipes the keys and frees. */
void esp_conf_destroy(struct esp_conf *c);

/* The gateway's own addresses, "ADDR[,ADDR...]" (IPv4 or IPv6): an SA seals where its 'src' is
 * one of them and opens where its 'dst' is.  -ERR_FORMAT with a message in 'eb' (naming 'what',
 * the option or key it came from) for a bad address, for an SA whose src and dst are both local
 * (it would open what it sealed), and when no SA starts or ends at any of them. */
int esp_conf_set_local(struct esp_conf *c, const char *list, const char *what, struct errbuf *eb) WARN_UNUSED;
/* What SA 'i' does here: ESP_SEALS, ESP_OPENS, both bits or neither. */
enum { ESP_SEALS = 1, ESP_OPENS = 2 };
unsigned esp_conf_role(const struct esp_conf *c, size_t i);
/* Whether 'addr' (4 or 16 bytes for family 4 or 6) is one of the local addresses. */
bool esp_conf_is_local(const struct esp_conf *c, int family, const uint8_t *addr);
/* The SA of 'kind' with SPI (WireGuard: receiver index) 'spi' that opens here, or -1. */
int esp_conf_find(const struct esp_conf *c, enum esp_kind kind, uint32_t spi);
/* Whether any SA opens here, and whether any WireGuard SA opens on UDP port 'port'. */
bool esp_conf_opens(const struct esp_conf *c);
bool esp_conf_wg_port(const struct esp_conf *c, uint16_t port);
const char *esp_cipher_name(enum esp_cipher c);

size_t esp_conf_count(const struct esp_conf *c);
const struct esp_sa_conf *esp_conf_sa(const struct esp_conf *c, size_t i);
/* The SA whose match prefixes hold the longest match for 'addr' (4 or 16 bytes for
 * 'family' 4 or 6), or -1; also -1 when that SA does not seal here (the address is on this
 * gateway's side of a tunnel that comes the other way). */
int esp_conf_match(const struct esp_conf *c, int family, const uint8_t *addr);

/* The runtime state of every SA of a configuration: sequence numbers, rings, counters. */
struct esp_tunnel;

/* The tunnel's counters, each named once.  ESP_COUNTERS are a run's scalars under these names
 * (core/stats.c records them and adds them across engines); the others are the tunnel's own. */
#define ESP_COUNTERS(X)                                                        \
	X(esp_packets)             /* sealed and sent */                       \
	X(esp_sealed_oneshot)                                                  \
	X(esp_sealed_keystream)                                                \
	X(esp_sealed_anticipated)                                              \
	X(ks_bytes_built)          /* keystream bytes */                       \
	X(ks_bytes_used)                                                       \
	X(ks_bytes_wasted)         /* built, never XORed */                    \
	X(ks_entries_built)        /* ring entries */                          \
	X(ks_late)                 /* not ready when needed */                 \
	X(ks_short)                /* extended at use */                       \
	X(esp_anticipated_built)                                               \
	X(esp_anticipated_wasted)                                              \
	X(esp_mem_bytes)           /* the rings and anticipated buffers */     \
	X(esp_in_packets)          /* opened: authentic, in the window */      \
	X(esp_opened_oneshot)                                                  \
	X(esp_opened_keystream)                                                \
	X(esp_opened_anticipated)
#define ESP_COUNTERS_OWN(X)                                                    \
	X(esp_bytes)               /* outer frame bytes sent */                \
	X(esp_in_bytes)            /* message bytes opened */                  \
	X(esp_keepalives)          /* WireGuard's empty messages */            \
	X(esp_exhausted_drops)     /* packets an SA could not send: numbers used up */ \
	X(esp_crypto_errors)       /* the library failed (nothing it made was sent) */

struct esp_stats {
#define ESP__FIELD(name) uint64_t name;
	ESP_COUNTERS(ESP__FIELD)
	ESP_COUNTERS_OWN(ESP__FIELD)
#undef ESP__FIELD
};

/* The keystream rings' memory of a tunnel of 'n_sa' SAs, 'depth' entries of 'ks_cap' bytes
 * each, with the anticipated packets' buffers.  One tunnel takes at most ESP_RING_BYTES_MAX:
 * 4,096 SAs x 64 entries x 65,472 bytes would be 17.6 GB allocated and zeroed at start. */
#define ESP_RING_BYTES_MAX ((size_t)1 << 30)
size_t esp_ring_bytes(size_t n_sa, unsigned depth, uint32_t ks_cap);

/* Rings of 'depth' entries (0..64; 0: no pre-computation) of up to 'ks_cap' keystream bytes
 * each, the outer Ethernet headers routed through 'routes' (an SA whose destination has no
 * route cannot send: its packets are counted as dropped for no route).  Returns 0 or
 * -ERR_NOMEM / -ERR_INVAL (also for rings over ESP_RING_BYTES_MAX). */
int esp_tunnel_create(const struct esp_conf *c, const struct route_table *routes, const uint8_t self_mac[6],
		      unsigned depth, uint32_t ks_cap, struct esp_tunnel **out) WARN_UNUSED;
/* Wipes keystreams and anticipated packets, and frees. */
void esp_tunnel_destroy(struct esp_tunnel *t);

enum esp_how { ESP_NONE, ESP_ONESHOT, ESP_KEYSTREAM, ESP_ANTICIPATED };
enum esp_verdict { ESP_OK = 0, ESP_NO_ROUTE, ESP_EXHAUSTED, ESP_TOO_BIG, ESP_CRYPTO_FAILED };

/* A scratch buffer of ESP_INNER_MAX bytes, free between calls (for building a packet to
 * anticipate, or for a packet to seal from). */
uint8_t *esp_inner(struct esp_tunnel *t);

/* Seals into SA 'sa' at 'now_ns' an inner IPv4 or IPv6 packet of 'len' bytes that lies in two
 * pieces, 'al' bytes at 'a' (at least its first two) and 'bl' at 'b' (may be 0), the rest (a
 * capture cut short) zeros.  Ring entries and anticipated packets not ready by 'now_ns' are not
 * used.  On ESP_OK, '*frame' and '*frame_len' are the egress frame (valid until the next call)
 * and '*how' what sealed it.  With 'verify', a packet sealed from pre-computed work is sealed
 * again in one shot and '*diverged' says whether the two differ (shadow mode). */
enum esp_verdict esp_seal(struct esp_tunnel *t, unsigned sa, const uint8_t *a, uint32_t al, const uint8_t *b,
			  uint32_t bl, uint32_t len, uint64_t now_ns, bool verify, const uint8_t **frame,
			  uint32_t *frame_len, enum esp_how *how, bool *diverged);

/* What an opened packet is. */
enum esp_open_verdict {
	ESP_OPENED,                /* authentic, new, well formed: 'inner' holds it */
	ESP_OPEN_KEEPALIVE,        /* authentic, new, empty (WireGuard's keepalive) */
	ESP_OPEN_UNKNOWN,          /* no SA opens this SPI (index) for this destination here */
	ESP_OPEN_REPLAY,           /* its number was accepted already, or is below the window */
	ESP_OPEN_ICV,              /* its ICV (tag) does not verify */
	ESP_OPEN_MALFORMED,        /* lengths, header, padding or next header wrong */
	ESP_OPEN_CRYPTO,           /* the library failed */
};
struct esp_opened {
	int sa;                    /* the SA, or -1 (unknown) */
	enum esp_how how;          /* what opened it */
	bool diverged;             /* shadow mode: the one-shot open disagreed */
	uint8_t *inner;            /* the inner IP packet (the 14 bytes before it are the caller's
				    * to write: an Ethernet header), valid until the next call */
	uint32_t len;
};

/* Opens the tunnel message of 'kind' at 'msg' ('msg_len' bytes, all present: ESP from its SPI,
 * WireGuard from its type byte, each to the end of the tag) that arrived in an outer IPv'family'
 * packet addressed to 'dst'.  The SA: the one that opens that SPI (index) here with that
 * destination; its window checked before anything else; the ICV verified (the anticipated packet's
 * bytes, a ring entry ready by 'now_ns', else the library) before the plaintext is read; then the
 * number accepted and the trailer checked.  With 'verify', what pre-computed work opened is opened
 * again by the library and 'o->diverged' says whether they differ (shadow mode). */
enum esp_open_verdict esp_open(struct esp_tunnel *t, enum esp_kind kind, int family, const uint8_t *dst,
			       const uint8_t *msg, uint32_t msg_len, uint64_t now_ns, bool verify,
			       struct esp_opened *o);

/* Tops SA 'sa''s ring up to 'depth' entries (at most 'max_new' of them now), for the next
 * numbers it sends (sealing) or expects (opening); nothing for AES-GCM.  The first entry
 * made is 'hint' plaintext bytes long when 'hint' is not 0 (and so are the others while the SA has
 * no mean yet); otherwise, and for the others, the
 * k-th entry of the ring is as long as the k-th packet the SA expects (esp_ring_expect: the
 * flows' predicted next packets, soonest first) but at least the floor (esp_ring_floor) times
 * the SA's recent mean packet, the mean itself past those; rounded up to 64 bytes (ChaCha20's
 * block).  A packet longer than its entry has the rest of its
 * keystream made when it is sealed or opened.  Entries
 * made while 'ready_ns' is UINT64_MAX wait for esp_mark_ready.  Returns the keystream bytes
 * made; '*gen' names this batch. */
uint64_t esp_ring_fill(struct esp_tunnel *t, unsigned sa, unsigned depth, unsigned max_new, uint32_t hint,
		       uint64_t ready_ns, uint32_t *gen);

/* Every entry made from now on is at least 'floor' (0..1; default 1) times the SA's recent mean
 * packet, whatever the packet expected to take it. */
void esp_ring_floor(struct esp_tunnel *t, float floor);

/* Tells SA 'sa' at 'now_ns' that the flow 'key' expects its next packet through it at 't_ns',
 * 'plain' bytes of plaintext (esp_plain_len); 'plain' or 't_ns' 0: it expects nothing (its
 * earlier expectation is forgotten).  The SA keeps the UPCOMING soonest; one overdue by more
 * than 10 ms is forgotten. */
void esp_ring_expect(struct esp_tunnel *t, unsigned sa, uint64_t key, uint64_t t_ns, uint32_t plain, uint64_t now_ns);

/* Seals 'len' bytes of 'inner' ahead for the SA's next number (sealing: the next it sends;
 * opening: the next it expects, the packet it then opens by a compare), replacing any earlier
 * anticipated packet.  Returns the bytes sealed (0 when the SA is exhausted or 'len' too
 * large); '*gen' names the batch as for esp_ring_fill. */
uint32_t esp_anticipate(struct esp_tunnel *t, unsigned sa, const uint8_t *inner, uint32_t len, uint64_t ready_ns,
			uint32_t *gen);

/* Batch 'gen' of SA 'sa' (and every earlier one) is finished at 'ready_ns'; esp_pending says
 * whether anything of batch 'gen' (or an earlier one) still waits. */
void esp_mark_ready(struct esp_tunnel *t, unsigned sa, uint32_t gen, uint64_t ready_ns);
bool esp_pending(const struct esp_tunnel *t, unsigned sa, uint32_t gen);

/* The plaintext bytes SA 'sa' seals for an inner packet of 'len' bytes (its padding and
 * trailer: ESP to 4 bytes with 2 more, WireGuard to 16). */
uint32_t esp_plain_len(const struct esp_tunnel *t, unsigned sa, uint32_t len);
/* Makes this tunnel's instance of every sealing SA send only slice 'slice' of 'slices' equal
 * slices of the SA's unused numbers (first .. 2^32 - 1 for ESP, .. WG_COUNTER_MAX for WireGuard;
 * the last slice takes the remainder), for a shaper whose workers each run an instance of the
 * same SAs: no (SPI, number) pair, and so no nonce, is used twice, without a shared counter on
 * the per-packet path.  A receiver sees each worker's numbers rise, but the workers' numbers
 * interleave far apart: its SA needs 'slices N' (a window per slice), or the SAs one per worker.
 * Opening SAs are left alone.  Call it before anything is sealed or made ahead: -ERR_INVAL after,
 * or for a bad slice. */
int esp_tunnel_slice(struct esp_tunnel *t, unsigned slice, unsigned slices) WARN_UNUSED;
/* The SA's next number (sealing: the next to send; opening: the next expected), UINT64_MAX
 * once a sealing SA's numbers, or its slice's, are used up. */
uint64_t esp_next_seq(const struct esp_tunnel *t, unsigned sa);
size_t esp_tunnel_count(const struct esp_tunnel *t);
/* The keystream bytes the last esp_seal or esp_open made itself: its ring entry was shorter
 * than the packet (ks_short); what a cost model charges beside the keyed seal. */
uint32_t esp_last_extended(const struct esp_tunnel *t);
void esp_get_stats(const struct esp_tunnel *t, struct esp_stats *st);

/* For tests: the keystream ring's memory (to check that it is wiped when freed). */
const uint8_t *esp__ring_mem(const struct esp_tunnel *t, size_t *len);

#endif
