/* crypto: the one file of core/ that uses the crypto library (libsodium; DESIGN.md §2).
 *
 * What the shaper needs from it: a keyed hash for tables whose keys an attacker chooses
 * (SipHash-2-4, the hash of Linux's and Python's hash tables for that reason), and keys
 * derived from a run's seed, so that a run stays reproducible while an attacker who does not
 * know the seed cannot aim at buckets. */
#ifndef PRECRAFT_CRYPTO_H
#define PRECRAFT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_HASH_KEY_LEN 16

/* SipHash-2-4 of 'len' bytes at 'in' under 'key'. */
uint64_t crypto_keyed_hash(const void *in, size_t len, const uint8_t key[CRYPTO_HASH_KEY_LEN]);

/* Derives a 'len'-byte key (16..64) for the purpose named 'what' from 'seed' (BLAKE2b of
 * both): different purposes of one seed get unrelated keys. */
void crypto_derive_key(uint64_t seed, const char *what, uint8_t *key, size_t len);

/* A random 64-bit value from the system's generator (for a seed nobody chose). */
uint64_t crypto_random_u64(void);

#endif
