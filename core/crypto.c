/* crypto: libsodium and OpenSSL behind one file (see crypto.h). */
#include "crypto.h"

#include <limits.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

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

struct crypto_aead {
	EVP_CIPHER_CTX *aead, *stream; /* both keyed once, at creation; no stream for AES-GCM */
};

int crypto_aead_create(enum crypto_cipher cipher, const uint8_t key[CRYPTO_AEAD_KEY_LEN], struct crypto_aead **out)
{
	struct crypto_aead *a = calloc(1, sizeof *a);
	if (!a)
		return -1;
	bool chacha = cipher == CRYPTO_CHACHA20_POLY1305;
	a->aead = EVP_CIPHER_CTX_new();
	a->stream = chacha ? EVP_CIPHER_CTX_new() : NULL;
	static const uint8_t iv0[16];
	/* GCM's nonce is 12 bytes by default, as ESP's salt and IV make it (RFC 4106 §4). */
	if (sodium_init() < 0 || !a->aead || (chacha && !a->stream) ||
	    EVP_EncryptInit_ex(a->aead, chacha ? EVP_chacha20_poly1305() : EVP_aes_256_gcm(), NULL, key, iv0) != 1 ||
	    (chacha && EVP_EncryptInit_ex(a->stream, EVP_chacha20(), NULL, key, iv0) != 1)) {
		crypto_aead_destroy(a);
		return -1;
	}
	*out = a;
	return 0;
}

void crypto_aead_destroy(struct crypto_aead *a)
{
	if (!a)
		return;
	/* The library cleanses key schedules when it frees its contexts. */
	EVP_CIPHER_CTX_free(a->aead);
	EVP_CIPHER_CTX_free(a->stream);
	free(a);
}

int crypto_aead_seal(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const uint8_t *aad,
		     size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[CRYPTO_AEAD_TAG_LEN])
{
	int l;
	/* A NULL key keeps the context's: only the nonce is set. */
	if (len > INT_MAX || aad_len > INT_MAX || EVP_EncryptInit_ex(a->aead, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(a->aead, NULL, &l, aad, (int)aad_len) != 1 ||
	    EVP_EncryptUpdate(a->aead, out, &l, in, (int)len) != 1 || EVP_EncryptFinal_ex(a->aead, out + l, &l) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->aead, EVP_CTRL_AEAD_GET_TAG, CRYPTO_AEAD_TAG_LEN, tag) != 1)
		return -1;
	return 0;
}

int crypto_aead_open(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const uint8_t *aad,
		     size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[CRYPTO_AEAD_TAG_LEN], uint8_t *out)
{
	int l;
	if (len > INT_MAX || aad_len > INT_MAX || EVP_DecryptInit_ex(a->aead, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(a->aead, NULL, &l, aad, (int)aad_len) != 1 ||
	    EVP_DecryptUpdate(a->aead, out, &l, in, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->aead, EVP_CTRL_AEAD_SET_TAG, CRYPTO_AEAD_TAG_LEN, (void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(a->aead, out + l, &l) != 1)
		return -1;
	return 0;
}

/* ChaCha20's raw keystream from block 'counter': the cipher over zeros (EVP's ChaCha20 IV is
 * the 32-bit little-endian block counter, then the 96-bit nonce, RFC 8439 §2.3). */
static int stream(struct crypto_aead *a, const uint8_t *nonce, uint32_t counter, uint8_t *out, size_t len)
{
	uint8_t iv[16];
	for (int i = 0; i < 4; i++)
		iv[i] = (uint8_t)(counter >> (8 * i));
	memcpy(iv + 4, nonce, 12);
	if (!a->stream)
		return -1; /* AES-GCM: no keystream apart from the library's seal */
	memset(out, 0, len);
	int l;
	return len <= INT_MAX && EVP_EncryptInit_ex(a->stream, NULL, NULL, NULL, iv) == 1 &&
			       EVP_EncryptUpdate(a->stream, out, &l, out, (int)len) == 1
		       ? 0
		       : -1;
}

int crypto_keystream(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], uint8_t *ks, size_t len)
{
	/* Counter 0 onwards: block 0 (the Poly1305 key) and then the message's blocks, exactly the
	 * blocks the AEAD draws (RFC 8439 §2.8). */
	return stream(a, nonce, 0, ks, CRYPTO_KS_HEAD + len);
}

int crypto_keystream_extend(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], uint8_t *ks,
			    size_t from, size_t to)
{
	/* Message byte 'from' starts block 1 + from / 64. */
	return stream(a, nonce, (uint32_t)(1 + from / 64), ks + CRYPTO_KS_HEAD + from, to - from);
}

static const uint8_t zeros16[16];

void crypto_mac_keystream(const uint8_t *ks, const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
			  uint8_t tag[CRYPTO_AEAD_TAG_LEN])
{
	/* RFC 8439 §2.8: AAD, padding to 16, ciphertext, padding, both lengths. */
	uint8_t lens[16];
	for (int j = 0; j < 8; j++) {
		lens[j] = (uint8_t)((uint64_t)aad_len >> (8 * j));
		lens[8 + j] = (uint8_t)((uint64_t)len >> (8 * j));
	}
	crypto_onetimeauth_poly1305_state st;
	crypto_onetimeauth_poly1305_init(&st, ks);
	crypto_onetimeauth_poly1305_update(&st, aad, aad_len);
	crypto_onetimeauth_poly1305_update(&st, zeros16, (16 - aad_len % 16) % 16);
	crypto_onetimeauth_poly1305_update(&st, ct, len);
	crypto_onetimeauth_poly1305_update(&st, zeros16, (16 - len % 16) % 16);
	crypto_onetimeauth_poly1305_update(&st, lens, sizeof lens);
	crypto_onetimeauth_poly1305_final(&st, tag);
	sodium_memzero(&st, sizeof st);
}

bool crypto_tag_equal(const uint8_t a[CRYPTO_AEAD_TAG_LEN], const uint8_t b[CRYPTO_AEAD_TAG_LEN])
{
	/* Every byte read whatever the others hold: the OR of the differences, tested once
	 * (sodium_memcmp's volatile byte loop does the same at several times the cost). */
	uint64_t x[2], y[2];
	memcpy(x, a, 16);
	memcpy(y, b, 16);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

void crypto_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

int crypto_sha256_file(FILE *f, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(1 << 20);
	int rc = ctx && buf && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 ? 0 : -ERR_NOMEM;
	size_t n;
	while (!rc && (n = fread(buf, 1, 1 << 20, f)) > 0)
		if (EVP_DigestUpdate(ctx, buf, n) != 1)
			rc = -ERR_NOMEM;
	unsigned len = 0;
	if (!rc && (ferror(f) || EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32))
		rc = -ERR_IO;
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}
