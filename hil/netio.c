/* netio: libnet link-layer injection (see netio.h).  libnet's BSD feature macros are given to
 * this file alone by the Makefile (STYLE.md §0). */
#include "netio.h"

#include <libnet.h>
#include <stdlib.h>

struct netio {
	libnet_t *l;
};

int netio_open(const char *ifname, struct netio **out, struct errbuf *eb)
{
	char le[LIBNET_ERRBUF_SIZE] = "";
	libnet_t *l = libnet_init(LIBNET_LINK_ADV, ifname, le);
	if (!l)
		return err_set(eb, -ERR_IO, "%s: cannot open for injection: %s", ifname, le);
	struct netio *n = malloc(sizeof *n);
	if (!n) {
		libnet_destroy(l);
		return err_set(eb, -ERR_NOMEM, "%s: out of memory", ifname);
	}
	n->l = l;
	*out = n;
	return 0;
}

void netio_close(struct netio *n)
{
	if (!n)
		return;
	libnet_destroy(n->l);
	free(n);
}

int netio_send(struct netio *n, const uint8_t *frame, uint32_t len, struct errbuf *eb)
{
	if (libnet_adv_write_link(n->l, frame, len) != (int)len)
		return err_set(eb, -ERR_IO, "inject: %s", libnet_geterror(n->l));
	return 0;
}
