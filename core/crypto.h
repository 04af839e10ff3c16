/* crypto: the one file of core/ that uses the crypto libraries (libsodium and OpenSSL's
 * libcrypto; DESIGN.md §2).
 *
 * What the shaper needs from it: a keyed hash for tables whose keys an attacker chooses
 * (SipHash-2-4, the hash of Linux's and Python's hash tables for that reason), and keys
 * derived from a run's seed, so that a run stays reproducible while an attacker who does not
 * know the seed cannot aim at buckets; and ChaCha20-Poly1305 (RFC 8439, the AEAD of ESP in
 * RFC 7634) both in one shot and split in two: the keystream, which depends only on the key
 * and the nonce and so can be made before the packet exists, and the XOR and Poly1305 over the
 * packet, which cannot.  The split form gives the same bytes as the one-shot call. */
#ifndef PRECRAFT_CRYPTO_H
#define PRECRAFT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define CRYPTO_HASH_KEY_LEN 16

/* SipHash-2-4 of 'len' bytes at 'in' under 'key'. */
uint64_t crypto_keyed_hash(const void *in, size_t len, const uint8_t key[CRYPTO_HASH_KEY_LEN]);

/* Derives a 'len'-byte key (16..64) for the purpose named 'what' from 'seed' (BLAKE2b of
 * both): different purposes of one seed get unrelated keys. */
void crypto_derive_key(uint64_t seed, const char *what, uint8_t *key, size_t len);

/* A random 64-bit value from the system's generator (for a seed nobody chose). */
uint64_t crypto_random_u64(void);

/* Lets libsodium pick its fastest implementations for this CPU (sodium_init).  Idempotent,
 * thread-safe.  0, or -1 when it cannot start. */
int crypto_init(void);

/* ChaCha20-Poly1305, measured for this split use against both libraries on the development
 * machines (make bench, "tunnel", prints the figures): ChaCha20 and the one-shot AEAD come from
 * OpenSSL's libcrypto (EVP; its keystream is about twice as fast as libsodium 1.0.18's at 1400
 * bytes, its one-shot a third faster there), Poly1305 from libsodium (crypto_onetimeauth:
 * faster than OpenSSL's EVP_MAC at every size, and without a context).  A context holds one
 * key's cipher state in OpenSSL, the key schedule made once: each packet sets only its nonce
 * (nothing on the per-packet path allocates or expands a key); one context per key and
 * thread.  The library cleanses the key schedule when the context is destroyed. */
#define CRYPTO_AEAD_KEY_LEN 32
#define CRYPTO_AEAD_NONCE_LEN 12
#define CRYPTO_AEAD_TAG_LEN 16
/* A keystream starts with ChaCha20's block 0, whose first 32 bytes are the Poly1305 one-time
 * key; the bytes that encrypt the message follow (block 1 onwards). */
#define CRYPTO_KS_HEAD 64

struct crypto_aead;

/* The AEADs a context may hold.  AES-256-GCM (NIST SP 800-38D; ESP's in RFC 4106) comes whole
 * from OpenSSL (AES-NI and carry-less multiplication where the CPU has them): the library keeps
 * GHASH inside the cipher, so it has no keystream to make ahead (crypto_keystream refuses it). */
enum crypto_cipher { CRYPTO_CHACHA20_POLY1305, CRYPTO_AES_256_GCM };

/* A context of 'cipher' for 'key'.  0, or -1 when the library cannot make it. */
int crypto_aead_create(enum crypto_cipher cipher, const uint8_t key[CRYPTO_AEAD_KEY_LEN], struct crypto_aead **out);
void crypto_aead_destroy(struct crypto_aead *a);

/* Every call below returns 0, or -1 when the library failed (nothing it produced is to be
 * used). */

/* ChaCha20-Poly1305 in one call: 'len' bytes of 'in' encrypted to 'out' (may be 'in'), the
 * tag over 'aad' and the ciphertext in 'tag'. */
int crypto_aead_seal(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const uint8_t *aad, size_t aad_len, const uint8_t *in,
		     size_t len, uint8_t *out, uint8_t tag[CRYPTO_AEAD_TAG_LEN]);

/* Decrypts and verifies: 0, or -1 when the tag does not verify (then 'out' holds nothing of
 * use: the caller wipes it, and reads none of it). */
int crypto_aead_open(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const uint8_t *aad, size_t aad_len, const uint8_t *in,
		     size_t len, const uint8_t tag[CRYPTO_AEAD_TAG_LEN], uint8_t *out);

/* The keystream for 'nonce' (ChaCha20-Poly1305 contexts only; -1 for AES-GCM): CRYPTO_KS_HEAD +
 * 'len' bytes into 'ks', enough to seal or open a message of up to 'len' bytes: the XOR with the
 * bytes from CRYPTO_KS_HEAD on, and crypto_mac_keystream. */
int crypto_keystream(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], uint8_t *ks, size_t len);

/* Extends keystream 'ks' (made for 'from' bytes, a multiple of 64) to 'to' bytes. */
int crypto_keystream_extend(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], uint8_t *ks, size_t from, size_t to);

/* The second half of crypto_aead_seal given the keystream 'ks' of the same key and nonce: the
 * tag over 'aad' and the ciphertext 'ct' the caller made by XOR (esp.c fuses it with its copy);
 * the same tag as the one-shot call's. */
void crypto_mac_keystream(const uint8_t *ks, const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
			  uint8_t tag[CRYPTO_AEAD_TAG_LEN]);

/* Whether two tags are equal, in time that does not depend on where they differ (an opener must
 * not tell a forger how many bytes of its guess were right). */
bool crypto_tag_equal(const uint8_t a[CRYPTO_AEAD_TAG_LEN], const uint8_t b[CRYPTO_AEAD_TAG_LEN]);

/* Overwrites 'len' bytes with zeros in a way the compiler may not remove (keys, keystreams). */
void crypto_wipe(void *p, size_t len);

/* The SHA-256 of everything left to read in 'f' (OpenSSL's: the CPU's SHA instructions where it
 * has them, four times libsodium's portable code on a 500 MB capture).  Returns 0, or -ERR_IO
 * when reading fails, -ERR_NOMEM. */
int crypto_sha256_file(FILE *f, uint8_t out[32]);

#endif
