/* route_file: route files read into a table (see route.h: one route a line, every refusal
 * naming the file and line). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "route.h"

int route_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -ERR_INVAL;
		char hex[3] = { s[0], s[1], 0 };
		mac[i] = (uint8_t)strtoul(hex, NULL, 16);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -ERR_INVAL;
	}
	return *s ? -ERR_INVAL : 0;
}

int route_load_file(struct route_table *rt, const char *path, struct errbuf *eb)
{
	struct lines ls;
	int rc = lines_open(&ls, path, eb);
	if (rc)
		return rc;
	char *line;
	while ((rc = lines_next(&ls, &line, eb)) == 1) {
		unsigned lineno = ls.no;
		rc = 0;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *save = NULL;
		char *pfx = strtok_r(line, " \t\r\n", &save);
		if (!pfx)
			continue;
		char *mac = strtok_r(NULL, " \t\r\n", &save);
		char *kw = strtok_r(NULL, " \t\r\n", &save);
		char *portv = kw ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		char *extra = portv ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		struct route_nexthop nh = { .port = 0 };
		char *slash = strchr(pfx, '/');
		uint8_t addr[16];
		int family = strchr(pfx, ':') ? 6 : 4;
		char *end = NULL;
		unsigned long len = 0;
		if (!slash || !mac) {
			rc = err_set(eb, -ERR_FORMAT, "%s:%u: expected 'PREFIX/LEN NEXTHOP-MAC [port N]'", path, lineno);
			break;
		}
		*slash = 0;
		len = strtoul(slash + 1, &end, 10);
		if (end == slash + 1 || *end || inet_pton(family == 4 ? AF_INET : AF_INET6, pfx, addr) != 1 ||
		    len > (family == 4 ? 32u : 128u)) {
			rc = err_set(eb, -ERR_FORMAT, "%s:%u: bad prefix '%s/%s'", path, lineno, pfx, slash + 1);
			break;
		}
		if (route_parse_mac(mac, nh.mac)) {
			rc = err_set(eb, -ERR_FORMAT, "%s:%u: bad next-hop MAC '%s'", path, lineno, mac);
			break;
		}
		if (kw) {
			unsigned long port = portv ? strtoul(portv, &end, 10) : 0;
			if (strcmp(kw, "port") || !portv || *end || port > 0xffff || extra) {
				rc = err_set(eb, -ERR_FORMAT, "%s:%u: unexpected '%s' (only 'port N' may follow the MAC)",
					     path, lineno, kw);
				break;
			}
			nh.port = (uint16_t)port;
		}
		if ((rc = route_add(rt, family, addr, (unsigned)len, &nh)) != 0) {
			err_set(eb, rc, "%s:%u: %s", path, lineno, err_str(rc));
			break;
		}
	}
	lines_close(&ls);
	if (!rc && route_table_freeze(rt))
		rc = err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
	return rc;
}
