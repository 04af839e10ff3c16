/* pcapio: live capture and injection through libpcap, the only file that opens live pcap
 * handles.  Capture files are read and written by traces/trace.h, the one offline reader.
 *
 * Capture runs in immediate mode with a large kernel buffer and nanosecond timestamps, sees only
 * packets coming in (not what this host sends), and never blocks: the caller waits on the
 * handle's selectable descriptor with poll(), since a blocking pcap_dispatch in immediate mode
 * did not return on its timeout here when no traffic came. */
#ifndef PRECRAFT_HIL_PCAPIO_H
#define PRECRAFT_HIL_PCAPIO_H

#include <stdint.h>

#include "core/err.h"

struct pcapio;

struct pcapio_pkt {
	const uint8_t *data;       /* valid until the next pcapio_next() */
	uint32_t caplen, wirelen;
	uint64_t t_ns;             /* kernel receive time, CLOCK_REALTIME */
};

/* Opens 'ifname' for capture (and injection) with a kernel ring of 'ring_mb' MiB (0: 256, which
 * holds over 100,000 frames of a 1500-byte MTU when the interface segments nothing: libpcap
 * sizes each slot for the largest frame the interface can hand up).  Returns 0, -ERR_NOTFOUND
 * (no such interface), -ERR_IO (not permitted, or another failure) with detail. */
int pcapio_open(const char *ifname, unsigned ring_mb, struct pcapio **out, struct errbuf *eb) WARN_UNUSED;
void pcapio_close(struct pcapio *io);

/* Waits up to 'timeout_ms' for packets.  Returns 1 when some may be read, 0 on timeout, or
 * -ERR_IO when the interface went away. */
int pcapio_wait(struct pcapio *io, int timeout_ms, struct errbuf *eb);

/* Reads one packet without blocking: 1 with '*p', 0 when none is waiting, -ERR_IO on failure
 * (the interface disappeared) with detail. */
int pcapio_next(struct pcapio *io, struct pcapio_pkt *p, struct errbuf *eb);

/* Joins the handle to the kernel's packet fanout group 'group' (PACKET_FANOUT_HASH): packets
 * arriving on the interface are spread over the group's handles by the kernel's flow hash
 * (skb_get_hash, which orders addresses and ports before hashing, so both directions of a flow
 * reach one handle).  Returns 0 or -ERR_IO with detail (a kernel without fanout, a group of
 * another type). */
int pcapio_fanout(struct pcapio *io, unsigned group, struct errbuf *eb);

/* Sends a frame.  Returns 0 or -ERR_IO with detail. */
int pcapio_inject(struct pcapio *io, const uint8_t *frame, uint32_t len, struct errbuf *eb);

/* The kernel's counters: packets received and dropped by the capture. */
void pcapio_stats(struct pcapio *io, uint64_t *received, uint64_t *dropped);

int pcapio_linktype(const struct pcapio *io);

#endif
