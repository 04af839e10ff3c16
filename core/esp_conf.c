/* esp_conf: the tunnel file (see esp.h): one security association a line, with the refusals
 * that keep the crypto's promises, and the match table of every SA's prefixes. */
#include "esp.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "lines.h"
#include "route.h"

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
