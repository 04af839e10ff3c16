/* esp_conf_impl: a tunnel configuration's state, shared by esp_conf.c (the file) and
 * esp_local.c (the local addresses, each SA's role, the opening SAs by SPI).  Not a public
 * interface. */
#ifndef PRECRAFT_ESP_CONF_IMPL_H
#define PRECRAFT_ESP_CONF_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "esp.h"

#define ESP_LOCAL_MAX 16

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
	/* Where each SA works (esp_conf_set_local). */
	uint8_t *role;             /* ESP_SEALS | ESP_OPENS, per SA */
	struct local_addr { uint8_t family, addr[16]; } local[ESP_LOCAL_MAX];
	size_t n_local;
	uint64_t *opens;           /* (kind << 32 | spi) << 12 | SA, sorted: the opening SAs */
	size_t n_opens;
};

/* An IPv4 or IPv6 address: 4 or 6, or 0 when it is neither. */
int esp__parse_addr(const char *s, uint8_t *out);

#endif
