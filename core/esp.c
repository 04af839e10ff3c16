/* esp: ESP tunnel mode with ChaCha20-Poly1305 and pre-computed keystreams (see esp.h). */
#include "esp.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "csum.h"
#include "lines.h"
#include "route.h"

#define ESP_PROTO 50
#define OUTER_TTL 64
/* The inner packet sits at one offset whatever the outer family: an IPv4 SA's frame starts 20
 * bytes later in the buffer (IPv6's outer header is 20 bytes longer). */
#define INNER_OFF (14u + 40u + 8u + 8u)
#define RECENT_WINDOW 256 /* packets over which an SA's largest packet is remembered */

/* A match prefix as read, kept until the file is read whole to find one prefix given twice. */
struct esp_prefix {
	uint8_t addr[16];          /* host bits zero */
	uint8_t family, len;
	uint16_t sa;
	unsigned line;
};

struct esp_conf {
	struct esp_sa_conf *sa;
	size_t n;
	struct route_table *match; /* next hop "port" = SA index */
	unsigned *line;            /* the line of each SA */
	struct esp_prefix *pfx;    /* while loading */
	size_t n_pfx, cap_pfx;
};

/* ---- the tunnel file --------------------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 'n' bytes of hex (an optional 0x first).  0 or -1. */
static int parse_hex(const char *s, uint8_t *out, size_t n)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int parse_addr(const char *s, uint8_t *out)
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 6;
	return 0;
}

/* "PREFIX/LEN[,PREFIX/LEN...]" added to the match table for SA 'idx'. */
static int add_matches(struct esp_conf *c, char *list, size_t idx, const char *path, unsigned no, struct errbuf *eb)
{
	char *save = NULL;
	int any = 0;
	for (char *pf = strtok_r(list, ",", &save); pf; pf = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(pf, '/'), *end = NULL;
		uint8_t a[16];
		int fam = 0;
		unsigned long len = 0;
		if (slash) {
			*slash = 0;
			fam = parse_addr(pf, a);
			len = strtoul(slash + 1, &end, 10);
		}
		if (!slash || !fam || end == slash + 1 || *end || len > (fam == 4 ? 32u : 128u))
			return err_set(eb, -ERR_FORMAT, "%s:%u: bad match prefix '%s%s%s'", path, no, pf,
				       slash ? "/" : "", slash ? slash + 1 : "");
		/* Host bits set ('10.9.0.1/8') say the writer meant something else: refused, not masked. */
		for (unsigned b = (unsigned)len; b < (fam == 4 ? 32u : 128u); b++)
			if (a[b / 8] & (0x80u >> (b % 8)))
				return err_set(eb, -ERR_FORMAT, "%s:%u: match prefix '%s/%lu' has host bits set (bit %u)", path,
					       no, pf, len, b);
		if (c->n_pfx == c->cap_pfx) {
			size_t cap = c->cap_pfx ? 2 * c->cap_pfx : 64;
			void *m = realloc(c->pfx, cap * sizeof *c->pfx);
			if (!m)
				return err_set(eb, -ERR_NOMEM, "%s:%u: out of memory", path, no);
			c->pfx = m;
			c->cap_pfx = cap;
		}
		struct esp_prefix *e = &c->pfx[c->n_pfx++];
		memset(e, 0, sizeof *e);
		memcpy(e->addr, a, fam == 4 ? 4 : 16);
		e->family = (uint8_t)fam;
		e->len = (uint8_t)len;
		e->sa = (uint16_t)idx;
		e->line = no;
		struct route_nexthop nh = { .port = (uint16_t)idx };
		int rc = route_add(c->match, fam, a, (unsigned)len, &nh);
		if (rc)
			return err_set(eb, rc, "%s:%u: %s", path, no, err_str(rc));
		any = 1;
	}
	return any ? 0 : err_set(eb, -ERR_FORMAT, "%s:%u: 'match' needs at least one prefix", path, no);
}

static int parse_line(struct esp_conf *c, char *line, const char *path, unsigned no, struct errbuf *eb)
{
	char *save = NULL;
	char *w = strtok_r(line, " \t", &save);
	if (!w)
		return 0;
	if (strcmp(w, "esp") != 0)
		return err_set(eb, -ERR_FORMAT, "%s:%u: expected 'esp NAME spi 0xHEX src ADDR dst ADDR key HEX64 salt HEX8 match PREFIX[,...]'",
			       path, no);
	if (c->n == ESP_MAX_SA)
		return err_set(eb, -ERR_FORMAT, "%s:%u: more than %d SAs", path, no, ESP_MAX_SA);
	struct esp_sa_conf *sa = &c->sa[c->n];
	memset(sa, 0, sizeof *sa);
	char *name = strtok_r(NULL, " \t", &save);
	if (!name || strlen(name) >= ESP_NAME_MAX)
		return err_set(eb, -ERR_FORMAT, "%s:%u: an SA needs a name of 1..%d characters", path, no, ESP_NAME_MAX - 1);
	snprintf(sa->name, sizeof sa->name, "%s", name);
	int have_spi = 0, have_key = 0, have_salt = 0, fam_src = 0, fam_dst = 0;
	char *match = NULL;
	char *k, *v;
	static const char *const words[] = { "spi", "src", "dst", "key", "salt", "match", "oseq" };
	unsigned seen = 0;
	while ((k = strtok_r(NULL, " \t", &save)) != NULL) {
		v = strtok_r(NULL, " \t", &save);
		if (!v)
			return err_set(eb, -ERR_FORMAT, "%s:%u: '%s' needs a value", path, no, k);
		/* A word given twice would silently replace the first ('match A match B' sent A's
		 * traffic in clear): refused. */
		for (unsigned i = 0; i < sizeof words / sizeof words[0]; i++)
			if (!strcmp(k, words[i])) {
				if (seen & (1u << i))
					return err_set(eb, -ERR_FORMAT, "%s:%u: '%s' given twice in SA '%s'", path, no, k,
						       sa->name);
				seen |= 1u << i;
			}
		if (!strcmp(k, "spi")) {
			char *end = NULL;
			unsigned long long s = strtoull(v, &end, 16);
			if (strncmp(v, "0x", 2) != 0 || end == v + 2 || *end || s > 0xffffffffull)
				return err_set(eb, -ERR_FORMAT, "%s:%u: bad spi '%s' (expected 0xHEX, 32 bits)", path, no, v);
			if (s < 256)
				return err_set(eb, -ERR_FORMAT, "%s:%u: spi %s is reserved (RFC 4303 §2.1: 1..255 and 0)", path,
					       no, v);
			sa->spi = (uint32_t)s;
			have_spi = 1;
		} else if (!strcmp(k, "src")) {
			if (!(fam_src = parse_addr(v, sa->src)))
				return err_set(eb, -ERR_FORMAT, "%s:%u: bad src address '%s'", path, no, v);
		} else if (!strcmp(k, "dst")) {
			if (!(fam_dst = parse_addr(v, sa->dst)))
				return err_set(eb, -ERR_FORMAT, "%s:%u: bad dst address '%s'", path, no, v);
		} else if (!strcmp(k, "key")) {
			/* The value is never echoed: it is a secret. */
			if (parse_hex(v, sa->key, sizeof sa->key))
				return err_set(eb, -ERR_FORMAT, "%s:%u: bad key (expected 64 hex digits: 32 bytes)", path, no);
			have_key = 1;
		} else if (!strcmp(k, "salt")) {
			if (parse_hex(v, sa->salt, sizeof sa->salt))
				return err_set(eb, -ERR_FORMAT, "%s:%u: bad salt (expected 8 hex digits: 4 bytes)", path, no);
			have_salt = 1;
		} else if (!strcmp(k, "match")) {
			match = v;
		} else if (!strcmp(k, "oseq")) {
			char *end = NULL;
			unsigned long long s = strtoull(v, &end, 10);
			if (end == v || *end || s > ESP_SEQ_MAX || v[0] == '-')
				return err_set(eb, -ERR_FORMAT, "%s:%u: bad oseq '%s' (0..4294967295)", path, no, v);
			sa->oseq = (uint32_t)s;
		} else {
			return err_set(eb, -ERR_FORMAT, "%s:%u: unknown word '%s'", path, no, k);
		}
	}
	const char *missing = !have_spi ? "spi" : !fam_src ? "src" : !fam_dst ? "dst" : !have_key ? "key"
			      : !have_salt ? "salt" : !match ? "match" : NULL;
	if (missing)
		return err_set(eb, -ERR_FORMAT, "%s:%u: SA '%s' has no '%s'", path, no, sa->name, missing);
	if (fam_src != fam_dst)
		return err_set(eb, -ERR_FORMAT, "%s:%u: SA '%s': src is IPv%d but dst is IPv%d", path, no, sa->name,
			       fam_src, fam_dst);
	sa->family = (uint8_t)fam_src;
	for (size_t i = 0; i < c->n; i++) {
		if (c->sa[i].spi == sa->spi)
			return err_set(eb, -ERR_FORMAT, "%s:%u: duplicate spi 0x%x (SA '%s')", path, no, sa->spi,
				       c->sa[i].name);
		if (!strcmp(c->sa[i].name, sa->name))
			return err_set(eb, -ERR_FORMAT, "%s:%u: duplicate SA name '%s'", path, no, sa->name);
		/* Both start at the same sequence numbers: one (key, nonce) twice, and the XOR of two
		 * ciphertexts is the XOR of their plaintexts (RFC 7634 §2: never reuse a nonce). */
		if (!memcmp(c->sa[i].key, sa->key, sizeof sa->key) && !memcmp(c->sa[i].salt, sa->salt, sizeof sa->salt))
			return err_set(eb, -ERR_FORMAT,
				       "%s:%u: SA '%s' has the key and salt of SA '%s' (line %u): they would seal with the same nonces",
				       path, no, sa->name, c->sa[i].name, c->line[i]);
	}
	c->line[c->n] = no;
	int rc = add_matches(c, match, c->n, path, no, eb);
	if (rc)
		return rc;
	c->n++;
	return 0;
}

static int by_prefix(const void *a, const void *b)
{
	const struct esp_prefix *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	int d = memcmp(x->addr, y->addr, sizeof x->addr);
	return d ? d : (x->line > y->line) - (x->line < y->line);
}

/* One prefix in two SAs (or twice in one): the later would win silently; refused, naming the
 * later line. */
static int one_owner(struct esp_conf *c, const char *path, struct errbuf *eb)
{
	if (c->n_pfx > 1)
		qsort(c->pfx, c->n_pfx, sizeof *c->pfx, by_prefix);
	for (size_t i = 1; i < c->n_pfx; i++) {
		const struct esp_prefix *a = &c->pfx[i - 1], *b = &c->pfx[i];
		if (a->family == b->family && a->len == b->len && !memcmp(a->addr, b->addr, sizeof a->addr)) {
			char txt[INET6_ADDRSTRLEN];
			inet_ntop(b->family == 4 ? AF_INET : AF_INET6, b->addr, txt, sizeof txt);
			return err_set(eb, -ERR_FORMAT, "%s:%u: match prefix %s/%u is already SA '%s''s (line %u)", path,
				       b->line, txt, b->len, c->sa[a->sa].name, a->line);
		}
	}
	free(c->pfx);
	c->pfx = NULL;
	c->n_pfx = c->cap_pfx = 0;
	return 0;
}

int esp_conf_load(const char *path, struct esp_conf **out, struct errbuf *eb)
{
	struct esp_conf *c = calloc(1, sizeof *c);
	if (!c || !(c->sa = calloc(ESP_MAX_SA, sizeof *c->sa)) || !(c->line = calloc(ESP_MAX_SA, sizeof *c->line)) ||
	    route_table_create(&c->match)) {
		esp_conf_destroy(c);
		return err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
	}
	struct lines ls;
	int rc = lines_open(&ls, path, eb);
	if (rc) {
		esp_conf_destroy(c);
		return rc;
	}
	char *line;
	while ((rc = lines_next(&ls, &line, eb)) == 1) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		if ((rc = parse_line(c, line, path, ls.no, eb)) != 0)
			break;
	}
	lines_close(&ls);
	if (!rc && c->n == 0)
		rc = err_set(eb, -ERR_FORMAT, "%s: no SA ('esp NAME ...' lines)", path);
	if (!rc)
		rc = one_owner(c, path, eb);
	if (!rc && route_table_freeze(c->match))
		rc = err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
	if (rc) {
		esp_conf_destroy(c);
		return rc;
	}
	*out = c;
	return 0;
}

int esp_conf_one(const struct esp_sa_conf *sa, struct esp_conf **out)
{
	struct esp_conf *c = calloc(1, sizeof *c);
	static const uint8_t any[16];
	struct route_nexthop nh = { .port = 0 };
	if (!c || !(c->sa = calloc(ESP_MAX_SA, sizeof *c->sa)) || route_table_create(&c->match) ||
	    route_add(c->match, 4, any, 0, &nh) || route_add(c->match, 6, any, 0, &nh) || route_table_freeze(c->match)) {
		esp_conf_destroy(c);
		return -ERR_NOMEM;
	}
	c->sa[0] = *sa;
	c->n = 1;
	*out = c;
	return 0;
}

void esp_conf_destroy(struct esp_conf *c)
{
	if (!c)
		return;
	if (c->sa) {
		crypto_wipe(c->sa, ESP_MAX_SA * sizeof *c->sa);
		free(c->sa);
	}
	free(c->line);
	free(c->pfx);
	route_table_destroy(c->match);
	free(c);
}

size_t esp_conf_count(const struct esp_conf *c)
{
	return c->n;
}

const struct esp_sa_conf *esp_conf_sa(const struct esp_conf *c, size_t i)
{
	return i < c->n ? &c->sa[i] : NULL;
}

int esp_conf_match(const struct esp_conf *c, int family, const uint8_t *addr)
{
	uint32_t nh = family == 4 ? route_lookup4(c->match, addr) : route_lookup6(c->match, addr);
	return nh == ROUTE_NONE ? -1 : (int)route_nexthop(c->match, nh)->port;
}

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

size_t esp_ring_bytes(size_t n_sa, unsigned depth, uint32_t ks_cap)
{
	size_t cap = ((size_t)ks_cap + 63u) & ~(size_t)63u;
	/* depth <= 64 and cap < 2^17: a per-SA figure under 2^24, times at most ESP_MAX_SA SAs. */
	return n_sa * ((size_t)depth * (CRYPTO_KS_HEAD + cap) + (depth ? 2u * (cap + ESP_OVERHEAD_MAX) : 0));
}

int esp_tunnel_create(const struct esp_conf *c, const struct route_table *routes, const uint8_t self_mac[6],
		      unsigned depth, uint32_t ks_cap, struct esp_tunnel **out)
{
	if (depth > 64 || ks_cap > ESP_INNER_MAX + 8u)
		return -ERR_INVAL;
	if (esp_ring_bytes(c->n, depth, ks_cap) > ESP_RING_BYTES_MAX)
		return -ERR_INVAL;
	ks_cap = (ks_cap + 63u) & ~63u;
	struct esp_tunnel *t = calloc(1, sizeof *t);
	if (!t)
		return -ERR_NOMEM;
	t->n = c->n;
	t->depth = depth;
	t->ks_cap = ks_cap;
	size_t per_sa = esp_ring_bytes(1, depth, ks_cap);
	t->mem_len = per_sa * c->n;
	t->sa = calloc(c->n, sizeof *t->sa);
	t->entries = depth ? calloc((size_t)depth * c->n, sizeof *t->entries) : NULL;
	t->mem = t->mem_len ? malloc(t->mem_len) : NULL;
	t->buf = malloc(FRAME_BUF);
	t->vbuf = malloc(FRAME_BUF);
	if (!t->sa || (depth && (!t->entries || !t->mem)) || !t->buf || !t->vbuf) {
		esp_tunnel_destroy(t);
		return -ERR_NOMEM;
	}
	if (t->mem)
		memset(t->mem, 0, t->mem_len);
	t->st.mem_bytes = t->mem_len;
	for (size_t i = 0; i < c->n; i++) {
		struct sa_state *s = &t->sa[i];
		s->c = &c->sa[i];
		if (crypto_aead_create(s->c->key, &s->cx)) {
			esp_tunnel_destroy(t);
			return -ERR_NOMEM;
		}
		s->next_seq = (uint64_t)s->c->oseq + 1;
		s->last_seq = ESP_SEQ_MAX;
		uint32_t nh = s->c->family == 4 ? route_lookup4(routes, s->c->dst) : route_lookup6(routes, s->c->dst);
		if (nh != ROUTE_NONE) {
			s->routed = true;
			memcpy(s->eth, route_nexthop(routes, nh)->mac, 6);
			memcpy(s->eth + 6, self_mac, 6);
			s->eth[12] = s->c->family == 4 ? 0x08 : 0x86;
			s->eth[13] = s->c->family == 4 ? 0x00 : 0xdd;
		}
		if (!depth)
			continue;
		uint8_t *m = t->mem + i * per_sa;
		s->ring = &t->entries[i * depth];
		for (unsigned j = 0; j < depth; j++, m += CRYPTO_KS_HEAD + ks_cap)
			s->ring[j].ks = m;
		s->ant.plain = m;
		s->ant.frame = m + ks_cap + ESP_OVERHEAD_MAX;
	}
	*out = t;
	return 0;
}

void esp_tunnel_destroy(struct esp_tunnel *t)
{
	if (!t)
		return;
	if (t->mem) {
		crypto_wipe(t->mem, t->mem_len);
		free(t->mem);
	}
	if (t->buf) {
		crypto_wipe(t->buf, FRAME_BUF);
		free(t->buf);
	}
	if (t->vbuf) {
		crypto_wipe(t->vbuf, FRAME_BUF);
		free(t->vbuf);
	}
	for (size_t i = 0; t->sa && i < t->n; i++)
		crypto_aead_destroy(t->sa[i].cx);
	free(t->entries);
	free(t->sa);
	free(t);
}

uint8_t *esp_inner(struct esp_tunnel *t)
{
	return t->buf + INNER_OFF;
}

uint32_t esp_plain_len(uint32_t len)
{
	return (len + 2u + 3u) & ~3u;
}

static void make_nonce(const struct esp_sa_conf *c, uint64_t seq, uint8_t nonce[12])
{
	memcpy(nonce, c->salt, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Writes the trailer after the 'len' inner bytes at 'inner' (an IPv'ver' packet with TOS or
 * traffic class 'tos') and the headers before them (the frame starts at 'inner' - INNER_OFF + 20
 * for an IPv4 SA).  Returns the frame's start. */
static uint8_t *frame_around(const struct sa_state *s, uint8_t *inner, uint32_t len, uint64_t seq, uint32_t plain,
			     unsigned ver, uint8_t tos)
{
	uint8_t *tr = inner + len;
	uint32_t pad = plain - len - 2u;
	for (uint32_t i = 0; i < pad; i++)
		tr[i] = (uint8_t)(i + 1); /* RFC 4303 §2.4: 1, 2, 3, ... */
	tr[pad] = (uint8_t)pad;
	tr[pad + 1] = ver == 6 ? 41 : 4; /* IPv6 or IPv4 inside */
	uint8_t *esp = inner - 16;
	wr32(esp, s->c->spi);
	wr32(esp + 4, (uint32_t)seq);
	for (int i = 0; i < 8; i++)
		esp[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
	uint32_t esp_len = 16u + plain + CRYPTO_AEAD_TAG_LEN;
	uint8_t *ip;
	if (s->c->family == 4) {
		ip = esp - 20;
		uint32_t tot = 20u + esp_len;
		ip[0] = 0x45, ip[1] = tos;
		ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
		ip[4] = (uint8_t)(seq >> 8), ip[5] = (uint8_t)seq;
		ip[6] = ip[7] = 0;
		ip[8] = OUTER_TTL, ip[9] = ESP_PROTO;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, s->c->src, 4);
		memcpy(ip + 16, s->c->dst, 4);
		uint16_t cs = csum_fold(csum_partial(ip, 20, 0));
		ip[10] = (uint8_t)(cs >> 8), ip[11] = (uint8_t)cs;
	} else {
		ip = esp - 40;
		ip[0] = (uint8_t)(0x60 | tos >> 4), ip[1] = (uint8_t)(tos << 4);
		ip[2] = ip[3] = 0;
		ip[4] = (uint8_t)(esp_len >> 8), ip[5] = (uint8_t)esp_len;
		ip[6] = ESP_PROTO, ip[7] = OUTER_TTL;
		memcpy(ip + 8, s->c->src, 16);
		memcpy(ip + 24, s->c->dst, 16);
	}
	memcpy(ip - 14, s->eth, 14);
	return ip - 14;
}

/* An inner packet's version and TOS (traffic class for IPv6), from its first two bytes. */
static void inner_tos(const uint8_t *p, unsigned *ver, uint8_t *tos)
{
	*ver = p[0] >> 4;
	*tos = *ver == 6 ? (uint8_t)((p[0] << 4) | (p[1] >> 4)) : p[1];
}

/* The one-shot seal of the frame whose inner bytes (with trailer) are at 'inner'. */
static int seal_oneshot(const struct sa_state *s, uint8_t *inner, uint32_t plain, uint64_t seq)
{
	uint8_t nonce[12];
	make_nonce(s->c, seq, nonce);
	return crypto_aead_seal(s->cx, nonce, inner - 16, 8, inner, plain, inner, inner + plain);
}

static void note_len(struct sa_state *s, uint32_t plain)
{
	s->win_sum += plain;
	if (++s->win_n == RECENT_WINDOW) {
		s->prev_sum = s->win_sum;
		s->win_sum = 0;
		s->win_n = 0;
	}
}

/* The SA's mean plaintext over the last window or two. */
static uint32_t recent_mean(const struct sa_state *s)
{
	uint64_t n = s->win_n + (s->prev_sum ? RECENT_WINDOW : 0);
	return n ? (uint32_t)((s->win_sum + s->prev_sum) / n) : 0;
}

/* The ring entry for 'seq', taken out of the ring, or NULL; older entries are wasted. */
static struct ks_entry *take_entry(struct esp_tunnel *t, struct sa_state *s, uint64_t seq)
{
	while (s->count) {
		struct ks_entry *e = &s->ring[s->head];
		s->head = s->head + 1 == t->depth ? 0 : s->head + 1;
		s->count--;
		if (e->seq == seq)
			return e;
		t->st.ks_wasted += e->len; /* cannot happen: numbers are taken in order */
	}
	return NULL;
}

/* out[i] = src[i] ^ k[i] for 'n' bytes (src may be out). */
static void xor_into(uint8_t *out, const uint8_t *src, const uint8_t *k, uint32_t n)
{
	uint32_t i = 0;
	for (; i + 32 <= n; i += 32) {
		uint64_t x[4], y[4];
		memcpy(x, src + i, 32);
		memcpy(y, k + i, 32);
		for (int j = 0; j < 4; j++)
			x[j] ^= y[j];
		memcpy(out + i, x, 32);
	}
	for (; i < n; i++)
		out[i] = src[i] ^ k[i];
}

/* Does the gathered packet equal 'plain'? */
static bool same_plain(const uint8_t *plain, const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl,
		       uint32_t len)
{
	if (memcmp(plain, a, al) != 0 || (bl && memcmp(plain + al, b, bl) != 0))
		return false;
	for (uint32_t i = al + bl; i < len; i++)
		if (plain[i])
			return false;
	return true;
}

enum esp_verdict esp_seal(struct esp_tunnel *t, unsigned sa, const uint8_t *a, uint32_t al, const uint8_t *b,
			  uint32_t bl, uint32_t len, uint64_t now_ns, bool verify, const uint8_t **frame,
			  uint32_t *frame_len, enum esp_how *how, bool *diverged)
{
	struct sa_state *s = &t->sa[sa];
	*diverged = false;
	if (!s->routed)
		return ESP_NO_ROUTE;
	if (len > ESP_INNER_MAX || al < 2 || (uint64_t)al + bl > len)
		return ESP_TOO_BIG;
	if (s->next_seq > s->last_seq) {
		t->st.exhausted_drops++;
		return ESP_EXHAUSTED;
	}
	uint64_t seq = s->next_seq++;
	uint32_t plain = esp_plain_len(len);
	note_len(s, plain);
	unsigned ver;
	uint8_t tos;
	inner_tos(a, &ver, &tos);
	uint8_t *inner = esp_inner(t);
	struct ks_entry *e = take_entry(t, s, seq);
	uint32_t flen = 14u + (s->c->family == 4 ? 20u : 40u) + 16u + plain + CRYPTO_AEAD_TAG_LEN;
	struct anticipated *an = &s->ant;
	if (an->valid && an->seq <= seq) {
		an->valid = false;
		if (an->seq == seq && an->ready_ns <= now_ns && an->len == len && same_plain(an->plain, a, al, b, bl, len)) {
			if (e)
				t->st.ks_wasted += e->len;
			*frame = an->frame;
			*how = ESP_ANTICIPATED;
			t->st.sealed_anticipated++;
			goto sent;
		}
		t->st.anticipated_wasted++;
	}
	uint8_t *f = frame_around(s, inner, len, seq, plain, ver, tos);
	int rc;
	if (e && e->ready_ns <= now_ns && plain <= t->ks_cap) {
		rc = 0;
		if (e->len < plain) {
			/* Made shorter than this packet: the rest of its keystream now. */
			uint8_t nonce[12];
			make_nonce(s->c, seq, nonce);
			rc = crypto_keystream_extend(s->cx, nonce, e->ks, e->len, plain);
			t->st.ks_used += e->len;
			t->st.ks_short++;
		} else {
			t->st.ks_used += plain;
			t->st.ks_wasted += e->len - plain;
		}
		/* The copy and the XOR in one pass, from where the packet lies. */
		const uint8_t *k = e->ks + CRYPTO_KS_HEAD;
		xor_into(inner, a, k, al);
		if (bl)
			xor_into(inner + al, b, k + al, bl);
		memcpy(inner + al + bl, k + al + bl, len - al - bl); /* zeros XOR the keystream */
		xor_into(inner + len, inner + len, k + len, plain - len);
		if (!rc)
			crypto_mac_keystream(e->ks, inner - 16, 8, inner, plain, inner + plain);
		t->st.sealed_keystream++;
		*how = ESP_KEYSTREAM;
	} else {
		if (e) {
			t->st.ks_wasted += e->len;
			if (e->ready_ns > now_ns)
				t->st.ks_late++;
		}
		if (a != inner)
			memmove(inner, a, al);
		if (bl)
			memcpy(inner + al, b, bl);
		memset(inner + al + bl, 0, len - al - bl);
		rc = seal_oneshot(s, inner, plain, seq);
		t->st.sealed_oneshot++;
		*how = ESP_ONESHOT;
	}
	if (rc) {
		/* The library failed: nothing half-made leaves; the number is spent. */
		t->st.crypto_errors++;
		return ESP_CRYPTO_FAILED;
	}
	*frame = f;
sent:
	if (verify && *how != ESP_ONESHOT) {
		/* Shadow mode: the same packet sealed the reference way, in one shot, must be the
		 * same bytes. */
		uint8_t *ref = t->vbuf + INNER_OFF;
		memcpy(ref, a, al);
		if (bl)
			memcpy(ref + al, b, bl);
		memset(ref + al + bl, 0, len - al - bl);
		uint8_t *rf = frame_around(s, ref, len, seq, plain, ver, tos);
		*diverged = seal_oneshot(s, ref, plain, seq) != 0 || memcmp(rf, *frame, flen) != 0;
	}
	*frame_len = flen;
	t->st.packets++;
	t->st.bytes += flen;
	return ESP_OK;
}

uint64_t esp_ring_fill(struct esp_tunnel *t, unsigned sa, unsigned depth, unsigned max_new, uint32_t hint,
		       uint64_t ready_ns, uint32_t *gen)
{
	struct sa_state *s = &t->sa[sa];
	if (depth > t->depth)
		depth = t->depth;
	uint32_t want = hint ? hint : recent_mean(s);
	want = (want + 63u) & ~63u;
	if (want > t->ks_cap)
		want = t->ks_cap; /* larger packets are sealed in one shot */
	if (!want)
		return 0;
	uint64_t bytes = 0;
	*gen = ++s->gen;
	while (s->count < depth && max_new--) {
		uint64_t seq = s->next_seq + s->count;
		if (seq > s->last_seq)
			break;
		if (s->count && recent_mean(s))
			want = (recent_mean(s) + 63u) & ~63u; /* the hint is for the next packet only */
		if (want > t->ks_cap)
			want = t->ks_cap;
		if (!want)
			break;
		unsigned slot = (s->head + s->count) % t->depth;
		struct ks_entry *e = &s->ring[slot];
		uint8_t nonce[12];
		make_nonce(s->c, seq, nonce);
		if (crypto_keystream(s->cx, nonce, e->ks, want)) {
			t->st.crypto_errors++;
			break;
		}
		e->seq = seq;
		e->len = want;
		e->gen = s->gen;
		e->ready_ns = ready_ns;
		s->count++;
		bytes += want;
		t->st.ks_entries_built++;
	}
	t->st.ks_built += bytes;
	return bytes;
}

uint32_t esp_anticipate(struct esp_tunnel *t, unsigned sa, const uint8_t *inner, uint32_t len, uint64_t ready_ns,
			uint32_t *gen)
{
	struct sa_state *s = &t->sa[sa];
	struct anticipated *a = &s->ant;
	if (!t->depth || !s->routed || s->next_seq > s->last_seq || len < 2 || esp_plain_len(len) > t->ks_cap)
		return 0;
	if (a->valid)
		t->st.anticipated_wasted++;
	uint32_t plain = esp_plain_len(len);
	/* Built in the verify buffer (free between packets), then kept. */
	uint8_t *in = t->vbuf + INNER_OFF;
	memcpy(in, inner, len);
	unsigned ver;
	uint8_t tos;
	inner_tos(inner, &ver, &tos);
	uint8_t *f = frame_around(s, in, len, s->next_seq, plain, ver, tos);
	if (seal_oneshot(s, in, plain, s->next_seq)) {
		a->valid = false;
		t->st.crypto_errors++;
		return 0;
	}
	a->frame_len = 14u + (s->c->family == 4 ? 20u : 40u) + 16u + plain + CRYPTO_AEAD_TAG_LEN;
	memcpy(a->frame, f, a->frame_len);
	memcpy(a->plain, inner, len);
	a->len = len;
	a->seq = s->next_seq;
	a->valid = true;
	a->ready_ns = ready_ns;
	*gen = a->gen = ++s->gen;
	t->st.anticipated_built++;
	return plain;
}

static inline bool gen_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

void esp_mark_ready(struct esp_tunnel *t, unsigned sa, uint32_t gen, uint64_t ready_ns)
{
	struct sa_state *s = &t->sa[sa];
	for (unsigned i = 0; i < s->count; i++) {
		struct ks_entry *e = &s->ring[(s->head + i) % t->depth];
		if (e->ready_ns == UINT64_MAX && gen_le(e->gen, gen))
			e->ready_ns = ready_ns;
	}
	if (s->ant.valid && s->ant.ready_ns == UINT64_MAX && gen_le(s->ant.gen, gen))
		s->ant.ready_ns = ready_ns;
}

bool esp_pending(const struct esp_tunnel *t, unsigned sa, uint32_t gen)
{
	const struct sa_state *s = &t->sa[sa];
	for (unsigned i = 0; i < s->count; i++) {
		const struct ks_entry *e = &s->ring[(s->head + i) % t->depth];
		if (e->ready_ns == UINT64_MAX && gen_le(e->gen, gen))
			return true;
	}
	return s->ant.valid && s->ant.ready_ns == UINT64_MAX && gen_le(s->ant.gen, gen);
}

int esp_tunnel_slice(struct esp_tunnel *t, unsigned slice, unsigned slices)
{
	if (!slices || slice >= slices)
		return -ERR_INVAL;
	for (size_t i = 0; i < t->n; i++) {
		struct sa_state *s = &t->sa[i];
		if (s->count || s->ant.valid || s->next_seq != (uint64_t)s->c->oseq + 1)
			return -ERR_INVAL; /* something was sealed or made ahead already */
	}
	for (size_t i = 0; i < t->n; i++) {
		struct sa_state *s = &t->sa[i];
		uint64_t first = (uint64_t)s->c->oseq + 1, avail = ESP_SEQ_MAX - (uint64_t)s->c->oseq, per = avail / slices;
		s->next_seq = first + slice * per;
		s->last_seq = slice + 1 == slices ? ESP_SEQ_MAX : first + (slice + 1) * per - 1;
	}
	return 0;
}

uint64_t esp_next_seq(const struct esp_tunnel *t, unsigned sa)
{
	const struct sa_state *s = &t->sa[sa];
	return s->next_seq > s->last_seq ? (uint64_t)ESP_SEQ_MAX + 1 : s->next_seq;
}

size_t esp_tunnel_count(const struct esp_tunnel *t)
{
	return t->n;
}

void esp_get_stats(const struct esp_tunnel *t, struct esp_stats *st)
{
	*st = t->st;
	/* Keystreams still in the rings at the end were made for nothing. */
	for (size_t i = 0; i < t->n; i++) {
		const struct sa_state *s = &t->sa[i];
		for (unsigned j = 0; j < s->count; j++)
			st->ks_wasted += s->ring[(s->head + j) % t->depth].len;
		st->anticipated_wasted += s->ant.valid;
	}
}

const uint8_t *esp__ring_mem(const struct esp_tunnel *t, size_t *len)
{
	*len = t->mem_len;
	return t->mem;
}
