/* esp-decrypt: the independent check of precraft's ESP egress (tests/esp.sh).
 *
 *   esp-decrypt TUNNEL-FILE ESP.pcap PLAIN.pcap
 *
 * Decrypts every frame of ESP.pcap with libsodium's ChaCha20-Poly1305 (precraft seals with
 * OpenSSL's libcrypto: two libraries, one answer), with the keys read from TUNNEL-FILE by a parser of its
 * own, and checks each one against RFC 4303 and RFC 7634: Ethernet, outer IPv4 (checksum, length,
 * protocol 50) or IPv6, an SPI of the file, IV equal to the 64-bit sequence number, the ICV
 * verified, padding 1, 2, 3, ..., to a 4-byte boundary, the next header matching the inner
 * version, no (SPI, sequence number) twice, and sequence numbers increasing by one per SA from
 * its first.  The inner packets, in order, must be exactly the IP packets of PLAIN.pcap (the
 * same run without the tunnel; a frame PLAIN.pcap captured short is compared on its captured
 * bytes and the rest must be zeros; one too big for ESP must be absent).  Prints a summary line; exit 0 when every packet passed,
 * 1 with the first failure otherwise. */
#include <pcap/pcap.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SA 64

struct sa {
	uint32_t spi;
	uint8_t key[32], salt[4];
	uint64_t last_seq;
	int seen;
};

static struct sa sas[MAX_SA];
static int n_sa;

static int unhex(const char *s, uint8_t *out, size_t n)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int load_sas(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[8192];
	while (fgets(line, sizeof line, f)) {
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char *save = NULL, *w = strtok_r(line, " \t\r\n", &save);
		if (!w || strcmp(w, "esp") || n_sa == MAX_SA || !strtok_r(NULL, " \t\r\n", &save)) /* the name */
			continue;
		struct sa *s = &sas[n_sa];
		memset(s, 0, sizeof *s);
		int got = 0;
		while ((w = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
			char *v = strtok_r(NULL, " \t\r\n", &save);
			if (!v)
				break;
			if (!strcmp(w, "spi"))
				s->spi = (uint32_t)strtoul(v, NULL, 16), got |= 1;
			else if (!strcmp(w, "key") && !unhex(v, s->key, 32))
				got |= 2;
			else if (!strcmp(w, "salt") && !unhex(v, s->salt, 4))
				got |= 4;
			else if (!strcmp(w, "oseq"))
				s->last_seq = strtoull(v, NULL, 10);
		}
		if (got == 7)
			n_sa++;
	}
	fclose(f);
	return n_sa ? 0 : -1;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int fail(unsigned long n, const char *what)
{
	fprintf(stderr, "esp-decrypt: packet %lu: %s\n", n, what);
	return 1;
}

static int open_chacha(const struct sa *s, const uint8_t nonce[12], const uint8_t *aad, const uint8_t *ct, int len,
		       const uint8_t *tag, uint8_t *out)
{
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, ct, (unsigned long long)len, tag, aad, 8,
								  nonce, s->key);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: esp-decrypt TUNNEL-FILE ESP.pcap PLAIN.pcap\n");
		return 2;
	}
	if (sodium_init() < 0 || load_sas(argv[1])) {
		fprintf(stderr, "esp-decrypt: %s: no SA\n", argv[1]);
		return 2;
	}
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *pe = pcap_open_offline(argv[2], eb), *pp = pe ? pcap_open_offline(argv[3], eb) : NULL;
	if (!pe || !pp) {
		fprintf(stderr, "esp-decrypt: %s\n", eb);
		return 2;
	}
	static uint8_t plain[70000];
	struct pcap_pkthdr *he, *hp;
	const uint8_t *fe, *fp;
	unsigned long n = 0, zero_tail = 0, too_big = 0;
	int re;
	while ((re = pcap_next_ex(pe, &he, &fe)) == 1) {
		n++;
		/* A plain packet ESP cannot carry (an outer IPv4 length would pass 65535) is dropped
		 * by the tunnel, counted: skip it. */
		do {
			if (pcap_next_ex(pp, &hp, &fp) != 1)
				return fail(n, "more ESP packets than plain ones");
		} while (hp->len > 14 + 65478 && ++too_big);
		if (he->caplen != he->len || he->len < 14 + 20 + 16 + 4 + 16)
			return fail(n, "ESP frame captured short or too short");
		unsigned et = (unsigned)fe[12] << 8 | fe[13];
		const uint8_t *ip = fe + 14, *esp;
		uint32_t esp_len;
		if (et == 0x0800) {
			unsigned cs = 0;
			for (int i = 0; i < 20; i += 2)
				cs += (unsigned)ip[i] << 8 | ip[i + 1];
			while (cs >> 16)
				cs = (cs & 0xffff) + (cs >> 16);
			if (ip[0] != 0x45 || ip[9] != 50 || cs != 0xffff ||
			    ((unsigned)ip[2] << 8 | ip[3]) != he->len - 14)
				return fail(n, "bad outer IPv4 header");
			esp = ip + 20;
			esp_len = he->len - 34;
		} else if (et == 0x86dd) {
			if (ip[0] >> 4 != 6 || ip[6] != 50 || ((unsigned)ip[4] << 8 | ip[5]) != he->len - 54)
				return fail(n, "bad outer IPv6 header");
			esp = ip + 40;
			esp_len = he->len - 54;
		} else {
			return fail(n, "not IPv4 or IPv6 outside");
		}
		uint32_t spi = rd32(esp), seq = rd32(esp + 4);
		struct sa *s = NULL;
		for (int i = 0; i < n_sa; i++)
			if (sas[i].spi == spi)
				s = &sas[i];
		if (!s)
			return fail(n, "unknown SPI");
		if (rd32(esp + 8) != 0 || rd32(esp + 12) != seq)
			return fail(n, "IV is not the 64-bit sequence number");
		if (seq != s->last_seq + 1)
			return fail(n, "sequence number repeated or skipped");
		s->last_seq = seq;
		s->seen++;
		int ct_len = (int)esp_len - 16 - 16;
		if (ct_len < 4 || ct_len % 4)
			return fail(n, "ciphertext not a multiple of 4 bytes");
		uint8_t nonce[12];
		memcpy(nonce, s->salt, 4);
		memcpy(nonce + 4, esp + 8, 8);
		if (open_chacha(s, nonce, esp, esp + 16, ct_len, esp + 16 + ct_len, plain))
			return fail(n, "ICV does not verify (libsodium)");
		unsigned pad = plain[ct_len - 2], nh = plain[ct_len - 1];
		if (pad > 3 || (int)pad + 2 > ct_len)
			return fail(n, "padding longer than the alignment needs");
		for (unsigned i = 0; i < pad; i++)
			if (plain[ct_len - 2 - pad + i] != i + 1)
				return fail(n, "padding bytes not 1, 2, 3, ...");
		uint32_t in_len = (uint32_t)ct_len - 2 - pad;
		unsigned ver = plain[0] >> 4;
		if (!((ver == 4 && nh == 4) || (ver == 6 && nh == 41)))
			return fail(n, "next header does not match the inner packet");
		if (hp->len < 14 || hp->len - 14 != in_len)
			return fail(n, "inner length differs from the plain egress");
		uint32_t have = hp->caplen - 14;
		if (memcmp(plain, fp + 14, have) != 0)
			return fail(n, "inner packet differs from the plain egress");
		for (uint32_t i = have; i < in_len; i++)
			if (plain[i])
				return fail(n, "bytes the plain capture lacks are not zeros");
		zero_tail += have < in_len;
	}
	if (re != PCAP_ERROR_BREAK)
		return fail(n, "reading the ESP capture");
	while (pcap_next_ex(pp, &hp, &fp) == 1)
		if (hp->len <= 14 + 65478 || !++too_big)
			return fail(n, "more plain packets than ESP ones");
	printf("esp-decrypt: %lu packets decrypted by libsodium, every ICV verified, inner packets identical "
	       "(%lu zero-filled; %lu too big for ESP, not sent), sequence numbers 1 by 1 in %d SA(s)\n",
	       n, zero_tail, too_big, n_sa);
	pcap_close(pe);
	pcap_close(pp);
	return 0;
}
