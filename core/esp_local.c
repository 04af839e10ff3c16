/* esp_local: where each SA of a tunnel works (see esp.h): the gateway's own addresses, the role
 * they give each SA (sealing where its src is local, opening where its dst is), and the opening
 * SAs found by SPI (WireGuard: receiver index). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_conf_impl.h"

bool esp_conf_is_local(const struct esp_conf *c, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < c->n_local; i++)
		if (c->local[i].family == family && !memcmp(c->local[i].addr, addr, family == 4 ? 4 : 16))
			return true;
	return false;
}

static uint64_t open_key(unsigned kind, uint32_t spi)
{
	return ((uint64_t)kind << 32 | spi) << 12;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int esp_conf_set_local(struct esp_conf *c, const char *list, const char *what, struct errbuf *eb)
{
	char buf[1024];
	if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf)
		return err_set(eb, -ERR_FORMAT, "%s: too long", what);
	char *save = NULL;
	c->n_local = 0;
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (c->n_local == ESP_LOCAL_MAX)
			return err_set(eb, -ERR_FORMAT, "%s: more than %d addresses", what, ESP_LOCAL_MAX);
		struct local_addr *l = &c->local[c->n_local];
		memset(l, 0, sizeof *l);
		if (!(l->family = (uint8_t)esp__parse_addr(w, l->addr)))
			return err_set(eb, -ERR_FORMAT, "%s: bad address '%s'", what, w);
		c->n_local++;
	}
	if (!c->n_local)
		return err_set(eb, -ERR_FORMAT, "%s: no address", what);
	free(c->opens);
	c->n_opens = 0;
	if (!(c->opens = malloc((c->n ? c->n : 1) * sizeof *c->opens)))
		return err_set(eb, -ERR_NOMEM, "%s: out of memory", what);
	bool any = false;
	for (size_t i = 0; i < c->n; i++) {
		const struct esp_sa_conf *sa = &c->sa[i];
		unsigned r = (esp_conf_is_local(c, sa->family, sa->src) ? ESP_SEALS : 0) |
			     (esp_conf_is_local(c, sa->family, sa->dst) ? ESP_OPENS : 0);
		if (r == (ESP_SEALS | ESP_OPENS))
			return err_set(eb, -ERR_FORMAT, "%s: SA '%s' has both its src and its dst here: it would open what it sealed",
				       what, sa->name);
		c->role[i] = (uint8_t)r;
		any |= r != 0;
		if (r & ESP_OPENS)
			c->opens[c->n_opens++] = open_key(sa->kind, sa->spi) | i;
	}
	if (!any)
		return err_set(eb, -ERR_FORMAT, "%s: no SA of the tunnel starts or ends at %s", what, list);
	qsort(c->opens, c->n_opens, sizeof *c->opens, by_u64);
	return 0;
}

unsigned esp_conf_role(const struct esp_conf *c, size_t i)
{
	return i < c->n ? c->role[i] : 0;
}

int esp_conf_find(const struct esp_conf *c, enum esp_kind kind, uint32_t spi)
{
	uint64_t k = open_key(kind, spi);
	size_t lo = 0, hi = c->n_opens;
	while (lo < hi) { /* the first entry at or above k */
		size_t mid = lo + (hi - lo) / 2;
		if (c->opens[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n_opens && (c->opens[lo] >> 12) == (k >> 12) ? (int)(c->opens[lo] & 0xfff) : -1;
}

bool esp_conf_opens(const struct esp_conf *c)
{
	return c->n_opens > 0;
}

bool esp_conf_wg_port(const struct esp_conf *c, uint16_t port)
{
	for (size_t i = 0; i < c->n_opens; i++) {
		const struct esp_sa_conf *sa = &c->sa[c->opens[i] & 0xfff];
		if (sa->kind == ESP_KIND_WG && sa->port == port)
			return true;
	}
	return false;
}

