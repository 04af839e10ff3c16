/* netio: link-layer injection through libnet, the only file that includes <libnet.h>. */
#ifndef PRECRAFT_HIL_NETIO_H
#define PRECRAFT_HIL_NETIO_H

#include <stdint.h>

#include "core/err.h"

struct netio;

/* Opens 'ifname' for raw link-layer writes.  Returns 0, or -ERR_IO with detail (no such
 * interface, not permitted). */
int netio_open(const char *ifname, struct netio **out, struct errbuf *eb) WARN_UNUSED;
void netio_close(struct netio *n);

/* Sends a whole frame.  Returns 0 or -ERR_IO with detail. */
int netio_send(struct netio *n, const uint8_t *frame, uint32_t len, struct errbuf *eb);

#endif
