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

int crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

uint64_t crypto_random_u64(void)
{
	uint64_t v;
	if (sodium_init() < 0)
		return 0; /* cannot happen on Linux: libsodium fails only without any entropy source */
	randombytes_buf(&v, sizeof v);
	return v;
}

_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == CRYPTO_AEAD_KEY_LEN &&
		       crypto_aead_chacha20poly1305_ietf_NPUBBYTES == CRYPTO_AEAD_NONCE_LEN &&
		       crypto_aead_chacha20poly1305_ietf_ABYTES == CRYPTO_AEAD_TAG_LEN,
	       "RFC 8439 ChaCha20-Poly1305: 256-bit key, 96-bit nonce, 128-bit tag");

void crypto_aead_seal(const uint8_t key[CRYPTO_AEAD_KEY_LEN], const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
		      const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
		      uint8_t tag[CRYPTO_AEAD_TAG_LEN])
{
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag, NULL, in, len, aad, aad_len, NULL, nonce, key);
}

int crypto_aead_open(const uint8_t key[CRYPTO_AEAD_KEY_LEN], const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
		     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		     const uint8_t tag[CRYPTO_AEAD_TAG_LEN], uint8_t *out)
{
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, in, len, tag, aad, aad_len, nonce, key)
		       ? -1
		       : 0;
}

void crypto_keystream(const uint8_t key[CRYPTO_AEAD_KEY_LEN], const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
		      uint8_t *ks, size_t len)
{
	/* Counter 0 onwards: block 0 (the Poly1305 key) and then the message's blocks, exactly the
	 * blocks the AEAD draws (RFC 8439 §2.8). */
	crypto_stream_chacha20_ietf(ks, CRYPTO_KS_HEAD + len, nonce, key);
}

void crypto_keystream_extend(const uint8_t key[CRYPTO_AEAD_KEY_LEN], const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
			     uint8_t *ks, size_t from, size_t to)
{
	/* Message byte 'from' is in block 1 + from / 64: the raw keystream is its XOR over zeros. */
	uint8_t *p = ks + CRYPTO_KS_HEAD + from;
	memset(p, 0, to - from);
	crypto_stream_chacha20_ietf_xor_ic(p, p, to - from, nonce, (uint32_t)(1 + from / 64), key);
}

static const uint8_t zeros16[16];

void crypto_seal_keystream(const uint8_t *ks, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
			   uint8_t *out, uint8_t tag[CRYPTO_AEAD_TAG_LEN])
{
	const uint8_t *k = ks + CRYPTO_KS_HEAD;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t a, b;
		memcpy(&a, in + i, 8);
		memcpy(&b, k + i, 8);
		a ^= b;
		memcpy(out + i, &a, 8);
	}
	for (; i < len; i++)
		out[i] = in[i] ^ k[i];
	/* The MAC of RFC 8439 §2.8: AAD, padding to 16, ciphertext, padding, both lengths. */
	crypto_onetimeauth_poly1305_state st;
	crypto_onetimeauth_poly1305_init(&st, ks);
	crypto_onetimeauth_poly1305_update(&st, aad, aad_len);
	crypto_onetimeauth_poly1305_update(&st, zeros16, (16 - aad_len % 16) % 16);
	crypto_onetimeauth_poly1305_update(&st, out, len);
	crypto_onetimeauth_poly1305_update(&st, zeros16, (16 - len % 16) % 16);
	uint8_t lens[16];
	for (int j = 0; j < 8; j++) {
		lens[j] = (uint8_t)((uint64_t)aad_len >> (8 * j));
		lens[8 + j] = (uint8_t)((uint64_t)len >> (8 * j));
	}
	crypto_onetimeauth_poly1305_update(&st, lens, sizeof lens);
	crypto_onetimeauth_poly1305_final(&st, tag);
	sodium_memzero(&st, sizeof st);
}

void crypto_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}
