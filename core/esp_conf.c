/* esp_conf: the tunnel file (see esp.h): one security association a line, with the refusals
 * that keep the crypto's promises, and the match table of every SA's prefixes (esp_local.c:
 * where each SA works). */
#include "esp.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "esp_conf_impl.h"
#include "lines.h"
#include "replay_window.h"
#include "route.h"

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

int esp__parse_addr(const char *s, uint8_t *out)
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
			fam = esp__parse_addr(pf, a);
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

/* A number in 'base' (10 or 16: then with 0x) up to 'max'.  0 or -1. */
static int parse_num(const char *v, int base, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	if (v[0] == '-' || v[0] == '+' || (base == 16 && strncmp(v, "0x", 2) != 0))
		return -1;
	unsigned long long n = strtoull(base == 16 ? v + 2 : v, &end, base);
	if (end == (base == 16 ? v + 2 : v) || *end || n > max)
		return -1;
	*out = n;
	return 0;
}

/* The words of a line, each at most once ('match A match B' would send A's traffic in clear). */
enum { W_SPI, W_INDEX, W_SRC, W_DST, W_PORT, W_KEY, W_SALT, W_MATCH, W_OSEQ, W_COUNTER, W_CIPHER, W_REPLAY, W_SLICES, W_N };
static const char *const words[W_N] = { "spi", "index", "src", "dst", "port", "key", "salt", "match", "oseq", "counter", "cipher", "replay", "slices" };
/* The words each kind of line takes, and those it needs. */
static const unsigned esp_words = 1u << W_SPI | 1u << W_SRC | 1u << W_DST | 1u << W_KEY | 1u << W_SALT | 1u << W_MATCH |
				  1u << W_OSEQ | 1u << W_CIPHER | 1u << W_REPLAY | 1u << W_SLICES;
static const unsigned esp_needs = 1u << W_SPI | 1u << W_SRC | 1u << W_DST | 1u << W_KEY | 1u << W_SALT | 1u << W_MATCH;
static const unsigned wg_words = 1u << W_INDEX | 1u << W_SRC | 1u << W_DST | 1u << W_PORT | 1u << W_KEY | 1u << W_MATCH |
				 1u << W_COUNTER | 1u << W_REPLAY | 1u << W_SLICES;
static const unsigned wg_needs = 1u << W_INDEX | 1u << W_SRC | 1u << W_DST | 1u << W_KEY | 1u << W_MATCH;

/* One word's value into 'sa'.  0, or the error. */
static int parse_word(struct esp_sa_conf *sa, int w, char *v, char **match, int *fam, const char *path,
		      unsigned no, struct errbuf *eb)
{
	uint64_t n;
	switch (w) {
	case W_SPI:
	case W_INDEX:
		if (parse_num(v, 16, 0xffffffffu, &n))
			return err_set(eb, -ERR_FORMAT, "%s:%u: bad %s '%s' (expected 0xHEX, 32 bits)", path, no, words[w], v);
		if (w == W_SPI && n < 256)
			return err_set(eb, -ERR_FORMAT, "%s:%u: spi %s is reserved (RFC 4303 §2.1: 1..255 and 0)", path, no, v);
		sa->spi = (uint32_t)n;
		return 0;
	case W_SRC:
	case W_DST:
		if (!(fam[w == W_DST] = esp__parse_addr(v, w == W_SRC ? sa->src : sa->dst)))
			return err_set(eb, -ERR_FORMAT, "%s:%u: bad %s address '%s'", path, no, words[w], v);
		return 0;
	case W_PORT:
		if (parse_num(v, 10, 65535, &n) || n == 0)
			return err_set(eb, -ERR_FORMAT, "%s:%u: bad port '%s' (1..65535)", path, no, v);
		sa->port = (uint16_t)n;
		return 0;
	case W_KEY: /* the value is never echoed: it is a secret */
		return parse_hex(v, sa->key, sizeof sa->key)
			       ? err_set(eb, -ERR_FORMAT, "%s:%u: bad key (expected 64 hex digits: 32 bytes)", path, no)
			       : 0;
	case W_SALT:
		return parse_hex(v, sa->salt, sizeof sa->salt)
			       ? err_set(eb, -ERR_FORMAT, "%s:%u: bad salt (expected 8 hex digits: 4 bytes)", path, no)
			       : 0;
	case W_MATCH:
		*match = v;
		return 0;
	case W_OSEQ:
		if (parse_num(v, 10, ESP_SEQ_MAX, &n))
			return err_set(eb, -ERR_FORMAT, "%s:%u: bad oseq '%s' (0..4294967295)", path, no, v);
		sa->first_seq = n + 1;
		return 0;
	case W_COUNTER:
		if (parse_num(v, 10, WG_COUNTER_MAX, &n))
			return err_set(eb, -ERR_FORMAT, "%s:%u: bad counter '%s' (0..%llu)", path, no, v,
				       (unsigned long long)WG_COUNTER_MAX);
		sa->first_seq = n;
		return 0;
	case W_CIPHER:
		if (!strcmp(v, "chacha20-poly1305"))
			sa->cipher = ESP_CHACHA20_POLY1305;
		else if (!strcmp(v, "aes-256-gcm"))
			sa->cipher = ESP_AES_256_GCM;
		else
			return err_set(eb, -ERR_FORMAT, "%s:%u: unknown cipher '%s' (chacha20-poly1305 or aes-256-gcm)", path,
				       no, v);
		return 0;
	case W_SLICES:
		if (parse_num(v, 10, 64, &n) || n == 0)
			return err_set(eb, -ERR_FORMAT, "%s:%u: bad slices '%s' (1..64)", path, no, v);
		sa->slices = (uint16_t)n;
		return 0;
	default: /* W_REPLAY */
		if (parse_num(v, 10, REPLAY_WINDOW_MAX, &n) || n == 0)
			return err_set(eb, -ERR_FORMAT, "%s:%u: bad replay window '%s' (1..%u)", path, no, v,
				       REPLAY_WINDOW_MAX);
		sa->replay = (uint32_t)n;
		return 0;
	}
}

/* What an SA may not share with an earlier one. */
static int unlike_earlier(const struct esp_conf *c, const struct esp_sa_conf *sa, const char *path, unsigned no,
			  struct errbuf *eb)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct esp_sa_conf *o = &c->sa[i];
		if (o->kind == sa->kind && o->spi == sa->spi)
			return err_set(eb, -ERR_FORMAT, "%s:%u: duplicate %s 0x%x (SA '%s')", path, no,
				       sa->kind == ESP_KIND_ESP ? "spi" : "index", sa->spi, o->name);
		if (!strcmp(o->name, sa->name))
			return err_set(eb, -ERR_FORMAT, "%s:%u: duplicate SA name '%s'", path, no, sa->name);
		/* Both start at the same numbers: one (key, nonce) twice, and the XOR of two
		 * ciphertexts is the XOR of their plaintexts (RFC 7634 §2: never reuse a nonce). */
		if (!memcmp(o->key, sa->key, sizeof sa->key) && !memcmp(o->salt, sa->salt, sizeof sa->salt))
			return err_set(eb, -ERR_FORMAT,
				       "%s:%u: SA '%s' has the key%s of SA '%s' (line %u): they would seal with the same nonces",
				       path, no, sa->name, sa->kind == ESP_KIND_ESP && o->kind == ESP_KIND_ESP ? " and salt" : "",
				       o->name, c->line[i]);
	}
	return 0;
}

static int parse_line(struct esp_conf *c, char *line, const char *path, unsigned no, struct errbuf *eb)
{
	char *save = NULL;
	char *w = strtok_r(line, " \t", &save);
	if (!w)
		return 0;
	bool wg = !strcmp(w, "wg");
	if (!wg && strcmp(w, "esp") != 0)
		return err_set(eb, -ERR_FORMAT,
			       "%s:%u: expected 'esp NAME spi 0xHEX src ADDR dst ADDR key HEX64 salt HEX8 match PREFIX[,...]' or "
			       "'wg NAME index 0xHEX src ADDR dst ADDR port N key HEX64 match PREFIX[,...]'",
			       path, no);
	if (c->n == ESP_MAX_SA)
		return err_set(eb, -ERR_FORMAT, "%s:%u: more than %d SAs", path, no, ESP_MAX_SA);
	struct esp_sa_conf *sa = &c->sa[c->n];
	memset(sa, 0, sizeof *sa);
	sa->kind = wg ? ESP_KIND_WG : ESP_KIND_ESP;
	sa->first_seq = wg ? 0 : 1;
	sa->port = WG_PORT_DEFAULT;
	sa->replay = REPLAY_WINDOW_DEFAULT;
	sa->slices = 1;
	char *name = strtok_r(NULL, " \t", &save);
	if (!name || strlen(name) >= ESP_NAME_MAX)
		return err_set(eb, -ERR_FORMAT, "%s:%u: an SA needs a name of 1..%d characters", path, no, ESP_NAME_MAX - 1);
	snprintf(sa->name, sizeof sa->name, "%s", name);
	int fam[2] = { 0, 0 };
	char *match = NULL, *k, *v;
	unsigned seen = 0, allowed = wg ? wg_words : esp_words, needs = wg ? wg_needs : esp_needs;
	while ((k = strtok_r(NULL, " \t", &save)) != NULL) {
		v = strtok_r(NULL, " \t", &save);
		if (!v)
			return err_set(eb, -ERR_FORMAT, "%s:%u: '%s' needs a value", path, no, k);
		int i = 0;
		while (i < W_N && strcmp(k, words[i]) != 0)
			i++;
		if (i == W_N || !(allowed & (1u << i)))
			return err_set(eb, -ERR_FORMAT, "%s:%u: unknown word '%s'%s", path, no, k,
				       i < W_N ? (wg ? " on a wg line" : " on an esp line") : "");
		if (seen & (1u << i))
			return err_set(eb, -ERR_FORMAT, "%s:%u: '%s' given twice in SA '%s'", path, no, k, sa->name);
		seen |= 1u << i;
		int rc = parse_word(sa, i, v, &match, fam, path, no, eb);
		if (rc)
			return rc;
	}
	for (int i = 0; i < W_N; i++)
		if ((needs & ~seen) & (1u << i))
			return err_set(eb, -ERR_FORMAT, "%s:%u: SA '%s' has no '%s'", path, no, sa->name, words[i]);
	if (fam[0] != fam[1])
		return err_set(eb, -ERR_FORMAT, "%s:%u: SA '%s': src is IPv%d but dst is IPv%d", path, no, sa->name, fam[0],
			       fam[1]);
	sa->family = (uint8_t)fam[0];
	int rc = unlike_earlier(c, sa, path, no, eb);
	if (rc)
		return rc;
	c->line[c->n] = no;
	if ((rc = add_matches(c, match, c->n, path, no, eb)) != 0)
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
	    !(c->role = malloc(ESP_MAX_SA)) || route_table_create(&c->match)) {
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
		rc = err_set(eb, -ERR_FORMAT, "%s: no SA ('esp NAME ...' or 'wg NAME ...' lines)", path);
	memset(c->role, ESP_SEALS, ESP_MAX_SA); /* without local addresses, every SA seals */
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
	if (!c || !(c->sa = calloc(ESP_MAX_SA, sizeof *c->sa)) || !(c->role = malloc(ESP_MAX_SA)) ||
	    route_table_create(&c->match) ||
	    route_add(c->match, 4, any, 0, &nh) || route_add(c->match, 6, any, 0, &nh) || route_table_freeze(c->match)) {
		esp_conf_destroy(c);
		return -ERR_NOMEM;
	}
	c->sa[0] = *sa;
	if (c->sa[0].kind == ESP_KIND_ESP && !c->sa[0].first_seq)
		c->sa[0].first_seq = 1; /* ESP counts from 1 */
	if (!c->sa[0].replay)
		c->sa[0].replay = REPLAY_WINDOW_DEFAULT;
	if (!c->sa[0].slices)
		c->sa[0].slices = 1;
	c->n = 1;
	memset(c->role, ESP_SEALS, ESP_MAX_SA);
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
	free(c->role);
	free(c->opens);
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
	if (nh == ROUTE_NONE)
		return -1;
	unsigned sa = route_nexthop(c->match, nh)->port;
	return c->role[sa] & ESP_SEALS ? (int)sa : -1;
}

const char *esp_cipher_name(enum esp_cipher ci)
{
	return ci == ESP_AES_256_GCM ? "aes-256-gcm" : "chacha20-poly1305";
}
