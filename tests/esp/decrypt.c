/* esp-decrypt: the independent check of precraft's tunnel egress (tests/esp.sh, tests/gateways.sh,
 * hil/lab check).
 *
 *   esp-decrypt [--slices N] [--out INNER.pcap] TUNNEL-FILE ESP.pcap [PLAIN.pcap]
 *
 * Decrypts every frame of ESP.pcap with libsodium (precraft seals with OpenSSL's libcrypto: two
 * libraries, one answer): ChaCha20-Poly1305, or AES-256-GCM for an SA with 'cipher aes-256-gcm'
 * (libsodium's needs AES-NI: without it, exit 2 saying so), with the keys read from TUNNEL-FILE by
 * a parser of its own, and checks each one against RFC 4303 with RFC 7634 or RFC 4106: Ethernet,
 * outer IPv4 (checksum, length, protocol 50) or IPv6, an SPI of the file, IV equal to the 64-bit
 * sequence number, the ICV verified, padding 1, 2, 3, ..., to a 4-byte boundary, the next header
 * matching the inner version; or, for a 'wg' SA, against WireGuard's transport data message: UDP
 * from the SA's port to it (IPv4 checksum 0 or right, IPv6 right), type 4, zero reserved bytes,
 * the receiver index of the file, the counter as nonce, the tag verified, zero padding to 16
 * bytes; and no (SPI, number) twice.  Sequence numbers: with one slice (the default)
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
	int wg, gcm;               /* the framing and cipher */
	uint32_t spi;              /* ESP: SPI; WireGuard: receiver index */
	uint16_t port;
	uint8_t key[32], salt[4];
	uint64_t first, max;       /* the numbers it may send: ESP oseq + 1 .. 2^32 - 1, WireGuard counter .. */
	uint64_t slice_last[MAX_SLICES]; /* the largest number seen in each slice (its first - 1
					  * before any) */
};

/* Every (SPI, sequence number) seen, sorted at the end to find the ones sent twice. */
struct seen {
	uint64_t spi;              /* with the framing in bit 32 */
	uint64_t seq;
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
		if (!w || (strcmp(w, "esp") && strcmp(w, "wg")) || n_sa == MAX_SA || !strtok_r(NULL, " \t\r\n", &save))
			continue; /* (that was the name) */
		struct sa *s = &sas[n_sa];
		memset(s, 0, sizeof *s);
		s->wg = w[0] == 'w';
		s->first = s->wg ? 0 : 1;
		s->max = s->wg ? UINT64_MAX - 8193u : SEQ_MAX;
		s->port = 51820;
		int got = s->wg ? 4 : 0;
		while ((w = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
			char *v = strtok_r(NULL, " \t\r\n", &save);
			if (!v)
				break;
			if (!strcmp(w, "spi") || !strcmp(w, "index"))
				s->spi = (uint32_t)strtoul(v, NULL, 16), got |= 1;
			else if (!strcmp(w, "cipher"))
				s->gcm = !strcmp(v, "aes-256-gcm");
			else if (!strcmp(w, "port"))
				s->port = (uint16_t)strtoul(v, NULL, 10);
			else if (!strcmp(w, "counter"))
				s->first = strtoull(v, NULL, 10);
			else if (!strcmp(w, "key") && !unhex(v, s->key, 32))
				got |= 2;
			else if (!strcmp(w, "salt") && !unhex(v, s->salt, 4))
				got |= 4;
			else if (!strcmp(w, "oseq"))
				s->first = strtoull(v, NULL, 10) + 1;
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

static int open_sa(const struct sa *s, const uint8_t nonce[12], const uint8_t *aad, const uint8_t *ct, int len,
		   const uint8_t *tag, uint8_t *out)
{
	unsigned long long aad_len = s->wg ? 0 : 8;
	if (s->gcm)
		return crypto_aead_aes256gcm_decrypt_detached(out, NULL, ct, (unsigned long long)len, tag, aad, aad_len, nonce,
							      s->key);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, ct, (unsigned long long)len, tag, aad,
								  aad_len, nonce, s->key);
}

static int by_spi_seq(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	if (x->spi != y->spi)
		return x->spi < y->spi ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Slice 'k' of 'slices' of an SA's unused numbers starts here (as esp_tunnel_slice cuts them:
 * equal slices of first .. max, the last one taking the remainder). */
static uint64_t slice_first(const struct sa *s, unsigned k, unsigned slices)
{
	return s->first + k * ((s->max - s->first + 1) / slices);
}

static unsigned slice_of(const struct sa *s, uint64_t seq, unsigned slices)
{
	uint64_t per = (s->max - s->first + 1) / slices;
	uint64_t k = per ? (seq - s->first) / per : 0;
	return k >= slices ? slices - 1 : (unsigned)k;
}

static struct sa *sa_of(int wg, uint32_t spi)
{
	for (int i = 0; i < n_sa; i++)
		if (sas[i].spi == spi && sas[i].wg == wg)
			return &sas[i];
	return NULL;
}

static uint64_t rd64(const uint8_t *p, int le)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (le ? 8 * i : 56 - 8 * i);
	return v;
}

/* The UDP checksum of 'len' bytes at 'u' under the pseudo-header of the IPv4 or IPv6 header 'ip'. */
static unsigned udp_sum(const uint8_t *ip, const uint8_t *u, uint32_t len)
{
	uint64_t cs = 17 + len;
	int v6 = ip[0] >> 4 == 6;
	for (int i = v6 ? 8 : 12; i < (v6 ? 40 : 20); i += 2)
		cs += (unsigned)ip[i] << 8 | ip[i + 1];
	for (uint32_t i = 0; i < len; i += 2)
		cs += (unsigned)u[i] << 8 | (i + 1 < len ? u[i + 1] : 0);
	while (cs >> 16)
		cs = (cs & 0xffff) + (cs >> 16);
	return (unsigned)cs; /* 0xffff when right */
}

/* Frame 'n': Ethernet, the outer IPv4 (checksum, length) or IPv6 header, protocol 50, or UDP
 * (ports, length, checksum) carrying a WireGuard data message; '*esp' the message.  0, or the
 * failure (fail()). */
static int outer(unsigned long n, const struct pcap_pkthdr *he, const uint8_t *fe, const uint8_t **msg, uint32_t *msg_len,
		 int *wgp)
{
	if (he->caplen != he->len || he->len < 14 + 20 + 16 + 4 + 16)
		return fail(n, "tunnel frame captured short or too short");
	unsigned et = (unsigned)fe[12] << 8 | fe[13];
	const uint8_t *ip = fe + 14, *esp;
	uint32_t esp_len;
	unsigned proto;
	if (et == 0x0800) {
		unsigned cs = 0;
		for (int i = 0; i < 20; i += 2)
			cs += (unsigned)ip[i] << 8 | ip[i + 1];
		while (cs >> 16)
			cs = (cs & 0xffff) + (cs >> 16);
		proto = ip[9];
		if (ip[0] != 0x45 || (proto != 50 && proto != 17) || cs != 0xffff ||
		    ((unsigned)ip[2] << 8 | ip[3]) != he->len - 14)
			return fail(n, "bad outer IPv4 header");
		esp = ip + 20;
		esp_len = he->len - 34;
	} else if (et == 0x86dd) {
		proto = ip[6];
		if (he->len < 14 + 40 + 16 + 4 + 16 || ip[0] >> 4 != 6 || (proto != 50 && proto != 17) ||
		    ((unsigned)ip[4] << 8 | ip[5]) != he->len - 54)
			return fail(n, "bad outer IPv6 header");
		esp = ip + 40;
		esp_len = he->len - 54;
	} else {
		return fail(n, "not IPv4 or IPv6 outside");
	}
	int wg = proto == 17;
	if (wg) { /* UDP: ports, length, checksum; then WireGuard's message */
		unsigned sp = (unsigned)esp[0] << 8 | esp[1], dp = (unsigned)esp[2] << 8 | esp[3];
		unsigned ul = (unsigned)esp[4] << 8 | esp[5], uc = (unsigned)esp[6] << 8 | esp[7];
		if (ul != esp_len || sp != dp || (uc && udp_sum(ip, esp, esp_len) != 0xffff) || (!uc && ip[0] >> 4 == 6))
			return fail(n, "bad UDP header (length, ports or checksum)");
		esp += 8;
		esp_len -= 8;
		if (esp[0] != 4 || esp[1] || esp[2] || esp[3])
			return fail(n, "not a WireGuard data message (type 4, reserved zero)");
	}
	*msg = esp;
	*msg_len = esp_len;
	*wgp = wg;
	return 0;
}

/* Opens message 'esp' of SA 's' into 'plain' with libsodium and checks its trailer: '*in_len'
 * the inner packet's length.  0, or the failure. */
static int open_msg(unsigned long n, const struct sa *s, const uint8_t *esp, uint32_t esp_len, uint8_t *plain,
		    uint32_t *in_len)
{
	int wg = s->wg;
	int ct_len = (int)esp_len - 16 - 16;
	if (ct_len < 4 || ct_len % (wg ? 16 : 4))
		return fail(n, wg ? "ciphertext not a multiple of 16 bytes" : "ciphertext not a multiple of 4 bytes");
	uint8_t nonce[12];
	if (wg) {
		memset(nonce, 0, 4);
		memcpy(nonce + 4, esp + 8, 8);
	} else {
		memcpy(nonce, s->salt, 4);
		memcpy(nonce + 4, esp + 8, 8);
	}
	if (open_sa(s, nonce, esp, esp + 16, ct_len, esp + 16 + ct_len, plain))
		return fail(n, "ICV does not verify (libsodium)");
	unsigned ver = plain[0] >> 4;
	if (wg) {
		*in_len = ver == 4 ? ((uint32_t)plain[2] << 8 | plain[3]) : 40u + ((uint32_t)plain[4] << 8 | plain[5]);
		if ((ver != 4 && ver != 6) || *in_len > (uint32_t)ct_len || (uint32_t)ct_len - *in_len >= 16)
			return fail(n, "inner length does not fit the padded plaintext");
		for (uint32_t i = *in_len; i < (uint32_t)ct_len; i++)
			if (plain[i])
				return fail(n, "padding not zeros");
	} else {
		unsigned pad = plain[ct_len - 2], nh = plain[ct_len - 1];
		if (pad > 3 || (int)pad + 2 > ct_len)
			return fail(n, "padding longer than the alignment needs");
		for (unsigned i = 0; i < pad; i++)
			if (plain[ct_len - 2 - pad + i] != i + 1)
				return fail(n, "padding bytes not 1, 2, 3, ...");
		*in_len = (uint32_t)ct_len - 2 - pad;
		if (!((ver == 4 && nh == 4) || (ver == 6 && nh == 41)))
			return fail(n, "next header does not match the inner packet");
	}
	return 0;
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
	/* The largest inner packet the tunnel carries (ESP's; WireGuard's is 18 bytes less). */
	uint32_t inner_max = 65478;
	for (int i = 0; i < n_sa; i++)
		if (sas[i].wg)
			inner_max = 65460;
	for (int i = 0; i < n_sa; i++)
		for (unsigned k = 0; k < slices; k++)
			sas[i].slice_last[k] = slice_first(&sas[i], k, slices) - 1; /* UINT64_MAX for counter 0 */
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
			} while (hp->len > 14 + inner_max && ++too_big);
		const uint8_t *esp;
		uint32_t esp_len;
		int wg, rc = outer(n, he, fe, &esp, &esp_len, &wg);
		if (rc)
			return rc;
		uint32_t spi = wg ? (uint32_t)rd64(esp + 4, 1) : rd32(esp);
		uint64_t seq = wg ? rd64(esp + 8, 1) : rd32(esp + 4);
		struct sa *s = sa_of(wg, spi);
		if (!s)
			return fail(n, wg ? "unknown receiver index" : "unknown SPI");
		if (wg && ((unsigned)esp[-6] << 8 | esp[-5]) != s->port)
			return fail(n, "UDP port is not the SA's");
		if (s->gcm && !crypto_aead_aes256gcm_is_available()) {
			fprintf(stderr, "esp-decrypt: libsodium's AES-256-GCM needs AES-NI, which this CPU lacks\n");
			return 2;
		}
		if (!wg && rd64(esp + 8, 0) != seq)
			return fail(n, "IV is not the 64-bit sequence number");
		/* One slice: in capture order, one by one.  Several: each in a slice, out-of-order
		 * ones counted (the consecutive runs are checked at the end, sorted). */
		if (slices == 1 && seq != s->slice_last[0] + 1)
			return fail(n, "sequence number repeated or skipped");
		if (seq < s->first || seq > s->max)
			return fail(n, "sequence number outside the SA's range");
		unsigned k = slice_of(s, seq, slices);
		reordered += s->slice_last[k] != UINT64_MAX && seq < s->slice_last[k];
		if (seq > s->slice_last[k] || s->slice_last[k] == UINT64_MAX)
			s->slice_last[k] = seq;
		if (n_seen == cap_seen) {
			cap_seen = cap_seen ? 2 * cap_seen : 1024;
			struct seen *ns = realloc(seen, cap_seen * sizeof *seen);
			if (!ns)
				return fail(n, "out of memory");
			seen = ns;
		}
		seen[n_seen++] = (struct seen){ (uint64_t)wg << 32 | spi, seq };
		uint32_t in_len;
		if ((rc = open_msg(n, s, esp, esp_len, plain, &in_len)) != 0)
			return rc;
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
			if (hp->len <= 14 + inner_max || !++too_big)
				return fail(n, "more plain packets than ESP ones");
	/* No (SPI, sequence number) twice; with slices, each slice's numbers consecutive from its
	 * first (a number skipped is a packet sealed and lost, or a slice cut wrongly). */
	if (seen)
		qsort(seen, n_seen, sizeof *seen, by_spi_seq);
	unsigned slices_used = 0;
	for (size_t i = 0; i < n_seen;) {
		const struct sa *s = sa_of((int)(seen[i].spi >> 32), (uint32_t)seen[i].spi);
		unsigned k = slice_of(s, seen[i].seq, slices);
		uint64_t want = slice_first(s, k, slices);
		size_t j = i;
		for (; j < n_seen && seen[j].spi == seen[i].spi && slice_of(s, seen[j].seq, slices) == k; j++, want++) {
			if (j > i && seen[j].seq == seen[j - 1].seq) {
				fprintf(stderr, "esp-decrypt: SPI 0x%08x sequence number %llu sent twice\n", (uint32_t)seen[j].spi,
					(unsigned long long)seen[j].seq);
				return 1;
			}
			if (seen[j].seq != want) {
				fprintf(stderr, "esp-decrypt: SPI 0x%08x slice %u of %u: number %llu skipped (next seen %llu)\n",
					(uint32_t)seen[j].spi, k, slices, (unsigned long long)want, (unsigned long long)seen[j].seq);
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
		printf("esp-decrypt: %lu packets opened by libsodium, every ICV verified, %ssequence numbers 1 by 1 "
		       "in %d SA(s)\n", n, inner, n_sa);
	else
		printf("esp-decrypt: %lu packets opened by libsodium, every ICV verified, %sno (SPI, sequence number) "
		       "twice, %u (SA, slice) runs of consecutive numbers (%u slices), %lu numbers out of order in the "
		       "capture\n", n, inner, slices_used, slices, reordered);
	free(seen);
	pcap_close(pe);
	if (pp)
		pcap_close(pp);
	return 0;
}
