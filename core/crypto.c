/* crypto: libsodium behind one file (see crypto.h). */
#include "crypto.h"

#include <sodium.h>
#include <string.h>

/* sodium_init is idempotent and thread-safe; the hash and key functions below do not need it,
 * the random generator does. */
uint64_t crypto_keyed_hash(const void *in, size_t len, const uint8_t key[CRYPTO_HASH_KEY_LEN])
{
	_Static_assert(crypto_shorthash_siphash24_BYTES == 8 && crypto_shorthash_siphash24_KEYBYTES == CRYPTO_HASH_KEY_LEN,
		       "SipHash-2-4: 64-bit output, 128-bit key");
	uint8_t out[8];
	uint64_t h;
	crypto_shorthash_siphash24(out, in, len, key);
	memcpy(&h, out, sizeof h);
	return h;
}

void crypto_derive_key(uint64_t seed, const char *what, uint8_t *key, size_t len)
{
	uint8_t s[8];
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(seed >> (8 * i)); /* the same key on any byte order */
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, len);
	crypto_generichash_update(&st, (const unsigned char *)what, strlen(what));
	crypto_generichash_update(&st, s, sizeof s);
	crypto_generichash_final(&st, key, len);
}

uint64_t crypto_random_u64(void)
{
	uint64_t v;
	if (sodium_init() < 0)
		return 0; /* cannot happen on Linux: libsodium fails only without any entropy source */
	randombytes_buf(&v, sizeof v);
	return v;
}
