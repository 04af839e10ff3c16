/* esp-decrypt: the independent check of precraft's ESP egress (tests/esp.sh, hil/lab check).
 *
 *   esp-decrypt [--slices N] [--out INNER.pcap] TUNNEL-FILE ESP.pcap [PLAIN.pcap]
 *
 * Decrypts every frame of ESP.pcap with libsodium's ChaCha20-Poly1305 (precraft seals with
 * OpenSSL's libcrypto: two libraries, one answer), with the keys read from TUNNEL-FILE by a parser of its
 * own, and checks each one against RFC 4303 and RFC 7634: Ethernet, outer IPv4 (checksum, length,
 * protocol 50) or IPv6, an SPI of the file, IV equal to the 64-bit sequence number, the ICV
 * verified, padding 1, 2, 3, ..., to a 4-byte boundary, the next header matching the inner
 * version, and no (SPI, sequence number) twice.  Sequence numbers: with one slice (the default)
 * they increase by one per SA from its first, in capture order; with --slices N (a shaper of N
 * workers, each sending its own slice of every SA's numbers: esp_tunnel_slice) each number lies
 * in a slice, and each slice's numbers of an SA are consecutive from the slice's first (none
 * skipped, none twice); those that come out of order in the capture are counted and printed.
 * Given PLAIN.pcap, the inner packets, in order, must be exactly the IP packets of PLAIN.pcap
 * (the same run without the tunnel; a frame PLAIN.pcap captured short is compared on its captured
 * bytes and the rest must be zeros; one too big for ESP must be absent).  --out writes the inner
 * packets, in order, as a raw-IP capture (so that `precraft compare --per-flow` can compare the
 * flows inside a tunnel whose sequence numbers differ between runs).  Prints a summary line;
 * exit 0 when every packet passed, 1 with the first failure otherwise, 2 on bad usage. */
#include <pcap/pcap.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SA 64

#define MAX_SLICES 64
#define SEQ_MAX 0xffffffffu

struct sa {
	uint32_t spi;
	uint8_t key[32], salt[4];
	uint64_t oseq;             /* the file's: the last number sent before the run */
	uint64_t slice_last[MAX_SLICES]; /* the largest number seen in each slice (its first - 1
					  * before any) */
};

/* Every (SPI, sequence number) seen, sorted at the end to find the ones sent twice. */
struct seen {
	uint32_t spi, seq;
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
				s->oseq = strtoull(v, NULL, 10);
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

static int by_spi_seq(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	if (x->spi != y->spi)
		return x->spi < y->spi ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Slice 'k' of 'slices' of an SA's unused numbers starts here (as esp_tunnel_slice cuts them:
 * equal slices of oseq + 1 .. 2^32 - 1, the last one taking the remainder). */
static uint64_t slice_first(const struct sa *s, unsigned k, unsigned slices)
{
	return s->oseq + 1 + k * ((SEQ_MAX - s->oseq) / slices);
}

static unsigned slice_of(const struct sa *s, uint32_t seq, unsigned slices)
{
	uint64_t per = (SEQ_MAX - s->oseq) / slices;
	uint64_t k = per ? (seq - s->oseq - 1) / per : 0;
	return k >= slices ? slices - 1 : (unsigned)k;
}

static struct sa *sa_of(uint32_t spi)
{
	for (int i = 0; i < n_sa; i++)
		if (sas[i].spi == spi)
			return &sas[i];
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: esp-decrypt [--slices N] [--out INNER.pcap] TUNNEL-FILE ESP.pcap [PLAIN.pcap]\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned slices = 1;
	const char *out_path = NULL, *pos[3];
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--slices") && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*end || v < 1 || v > MAX_SLICES)
				return usage();
			slices = (unsigned)v;
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out_path = argv[++i];
		} else if (argv[i][0] == '-' || npos == 3) {
			return usage();
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (npos < 2 || (npos == 2 && !out_path))
		return usage();
	if (sodium_init() < 0 || load_sas(pos[0])) {
		fprintf(stderr, "esp-decrypt: %s: no SA\n", pos[0]);
		return 2;
	}
	for (int i = 0; i < n_sa; i++)
		for (unsigned k = 0; k < slices; k++)
			sas[i].slice_last[k] = slice_first(&sas[i], k, slices) - 1;
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *pe = pcap_open_offline(pos[1], eb), *pp = NULL;
	if (pe && npos == 3)
		pp = pcap_open_offline(pos[2], eb);
	if (!pe || (npos == 3 && !pp)) {
		fprintf(stderr, "esp-decrypt: %s\n", eb);
		return 2;
	}
	pcap_t *dead = NULL;
	pcap_dumper_t *dump = NULL;
	if (out_path) {
		dead = pcap_open_dead(DLT_RAW, 65535);
		dump = dead ? pcap_dump_open(dead, out_path) : NULL;
		if (!dump) {
			fprintf(stderr, "esp-decrypt: %s: %s\n", out_path, dead ? pcap_geterr(dead) : "cannot open");
			return 2;
		}
	}
	static uint8_t plain[70000];
	struct seen *seen = NULL;
	size_t n_seen = 0, cap_seen = 0;
	struct pcap_pkthdr *he, *hp;
	const uint8_t *fe, *fp;
	unsigned long n = 0, zero_tail = 0, too_big = 0, reordered = 0;
	int re;
	while ((re = pcap_next_ex(pe, &he, &fe)) == 1) {
		n++;
		/* A plain packet ESP cannot carry (an outer IPv4 length would pass 65535) is dropped
		 * by the tunnel, counted: skip it. */
		if (pp)
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
			if (he->len < 14 + 40 + 16 + 4 + 16 || ip[0] >> 4 != 6 || ip[6] != 50 ||
			    ((unsigned)ip[4] << 8 | ip[5]) != he->len - 54)
				return fail(n, "bad outer IPv6 header");
			esp = ip + 40;
			esp_len = he->len - 54;
		} else {
			return fail(n, "not IPv4 or IPv6 outside");
		}
		uint32_t spi = rd32(esp), seq = rd32(esp + 4);
		struct sa *s = sa_of(spi);
		if (!s)
			return fail(n, "unknown SPI");
		if (rd32(esp + 8) != 0 || rd32(esp + 12) != seq)
			return fail(n, "IV is not the 64-bit sequence number");
		/* One slice: in capture order, one by one.  Several: each in a slice, out-of-order
		 * ones counted (the consecutive runs are checked at the end, sorted). */
		if (slices == 1 && seq != s->slice_last[0] + 1)
			return fail(n, "sequence number repeated or skipped");
		if (seq <= s->oseq)
			return fail(n, "sequence number at or below the SA's oseq");
		unsigned k = slice_of(s, seq, slices);
		reordered += seq < s->slice_last[k];
		if (seq > s->slice_last[k])
			s->slice_last[k] = seq;
		if (n_seen == cap_seen) {
			cap_seen = cap_seen ? 2 * cap_seen : 1024;
			struct seen *ns = realloc(seen, cap_seen * sizeof *seen);
			if (!ns)
				return fail(n, "out of memory");
			seen = ns;
		}
		seen[n_seen++] = (struct seen){ spi, seq };
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
		if (pp) {
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
		if (dump) {
			struct pcap_pkthdr h = { .ts = he->ts, .caplen = in_len, .len = in_len };
			pcap_dump((u_char *)dump, &h, plain);
		}
	}
	if (re != PCAP_ERROR_BREAK)
		return fail(n, "reading the ESP capture");
	if (pp)
		while (pcap_next_ex(pp, &hp, &fp) == 1)
			if (hp->len <= 14 + 65478 || !++too_big)
				return fail(n, "more plain packets than ESP ones");
	/* No (SPI, sequence number) twice; with slices, each slice's numbers consecutive from its
	 * first (a number skipped is a packet sealed and lost, or a slice cut wrongly). */
	if (seen)
		qsort(seen, n_seen, sizeof *seen, by_spi_seq);
	unsigned slices_used = 0;
	for (size_t i = 0; i < n_seen;) {
		const struct sa *s = sa_of(seen[i].spi);
		unsigned k = slice_of(s, seen[i].seq, slices);
		uint64_t want = slice_first(s, k, slices);
		size_t j = i;
		for (; j < n_seen && seen[j].spi == seen[i].spi && slice_of(s, seen[j].seq, slices) == k; j++, want++) {
			if (j > i && seen[j].seq == seen[j - 1].seq) {
				fprintf(stderr, "esp-decrypt: SPI 0x%08x sequence number %u sent twice\n", seen[j].spi, seen[j].seq);
				return 1;
			}
			if (seen[j].seq != want) {
				fprintf(stderr, "esp-decrypt: SPI 0x%08x slice %u of %u: number %llu skipped (next seen %u)\n",
					seen[j].spi, k, slices, (unsigned long long)want, seen[j].seq);
				return 1;
			}
		}
		slices_used++;
		i = j;
	}
	if (dump) {
		pcap_dump_flush(dump);
		if (ferror(pcap_dump_file(dump))) {
			fprintf(stderr, "esp-decrypt: %s: write failed\n", out_path);
			return 1;
		}
		pcap_dump_close(dump);
		pcap_close(dead);
	}
	char inner[128] = "";
	if (pp)
		snprintf(inner, sizeof inner, "inner packets identical (%lu zero-filled; %lu too big for ESP, not sent), ",
			 zero_tail, too_big);
	if (slices == 1)
		printf("esp-decrypt: %lu packets decrypted by libsodium, every ICV verified, %ssequence numbers 1 by 1 "
		       "in %d SA(s)\n", n, inner, n_sa);
	else
		printf("esp-decrypt: %lu packets decrypted by libsodium, every ICV verified, %sno (SPI, sequence number) "
		       "twice, %u (SA, slice) runs of consecutive numbers (%u slices), %lu numbers out of order in the "
		       "capture\n", n, inner, slices_used, slices, reordered);
	free(seen);
	pcap_close(pe);
	if (pp)
		pcap_close(pp);
	return 0;
}
