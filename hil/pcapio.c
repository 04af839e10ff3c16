/* pcapio: libpcap live handles (see pcapio.h).  pcap_geterr text is copied into the caller's
 * errbuf and mapped to our codes. */
#include "pcapio.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct pcapio {
	pcap_t *pc;
	int fd;
	char name[64];
};

int pcapio_open(const char *ifname, unsigned ring_mb, struct pcapio **out, struct errbuf *eb)
{
	char pe[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc = pcap_create(ifname, pe);
	if (!pc)
		return err_set(eb, -ERR_IO, "%s: %s", ifname, pe);
	pcap_set_snaplen(pc, 262144);
	pcap_set_promisc(pc, 1);
	pcap_set_immediate_mode(pc, 1);
	pcap_set_buffer_size(pc, (int)((ring_mb ? ring_mb : 256u) << 20));
	pcap_set_tstamp_precision(pc, PCAP_TSTAMP_PRECISION_NANO);
	int rc = pcap_activate(pc);
	if (rc < 0) {
		int code = rc == PCAP_ERROR_NO_SUCH_DEVICE ? -ERR_NOTFOUND : -ERR_IO;
		const char *why = rc == PCAP_ERROR_NO_SUCH_DEVICE   ? "no such interface"
				  : rc == PCAP_ERROR_PERM_DENIED    ? "not permitted (capture needs root or CAP_NET_RAW)"
				  : rc == PCAP_ERROR_IFACE_NOT_UP   ? "interface is down"
								    : pcap_geterr(pc);
		err_set(eb, code, "%s: cannot open: %s", ifname, why);
		pcap_close(pc);
		return code;
	}
	if (pcap_setdirection(pc, PCAP_D_IN) < 0 || pcap_setnonblock(pc, 1, pe) < 0) {
		err_set(eb, -ERR_IO, "%s: %s", ifname, pcap_geterr(pc));
		pcap_close(pc);
		return -ERR_IO;
	}
	struct pcapio *io = calloc(1, sizeof *io);
	if (!io) {
		pcap_close(pc);
		return err_set(eb, -ERR_NOMEM, "%s: out of memory", ifname);
	}
	io->pc = pc;
	io->fd = pcap_get_selectable_fd(pc);
	snprintf(io->name, sizeof io->name, "%s", ifname);
	*out = io;
	return 0;
}

void pcapio_close(struct pcapio *io)
{
	if (!io)
		return;
	pcap_close(io->pc);
	free(io);
}

int pcapio_wait(struct pcapio *io, int timeout_ms, struct errbuf *eb)
{
	struct pollfd p = { .fd = io->fd, .events = POLLIN };
	int rc = poll(&p, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : err_set(eb, -ERR_IO, "%s: poll: %s", io->name, strerror(errno));
	if (rc > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return err_set(eb, -ERR_IO, "%s: the interface went away", io->name);
	return rc > 0;
}

int pcapio_next(struct pcapio *io, struct pcapio_pkt *p, struct errbuf *eb)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(io->pc, &h, &data);
	if (rc == 0)
		return 0; /* nothing waiting */
	if (rc != 1)
		return err_set(eb, -ERR_IO, "%s: %s", io->name, rc == PCAP_ERROR ? pcap_geterr(io->pc) : "capture ended");
	p->data = data;
	p->caplen = h->caplen;
	p->wirelen = h->len;
	p->t_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
	return 1;
}

int pcapio_fanout(struct pcapio *io, unsigned group, struct errbuf *eb)
{
	int arg = (int)((group & 0xffffu) | (unsigned)PACKET_FANOUT_HASH << 16);
	if (setsockopt(pcap_fileno(io->pc), SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0)
		return err_set(eb, -ERR_IO, "%s: cannot join packet fanout group %u: %s", io->name, group & 0xffffu,
			       strerror(errno));
	return 0;
}

int pcapio_inject(struct pcapio *io, const uint8_t *frame, uint32_t len, struct errbuf *eb)
{
	if (pcap_inject(io->pc, frame, len) != (int)len)
		return err_set(eb, -ERR_IO, "%s: inject: %s", io->name, pcap_geterr(io->pc));
	return 0;
}

void pcapio_stats(struct pcapio *io, uint64_t *received, uint64_t *dropped)
{
	struct pcap_stat st;
	memset(&st, 0, sizeof st);
	if (pcap_stats(io->pc, &st) == 0) {
		*received = st.ps_recv;
		*dropped = (uint64_t)st.ps_drop + st.ps_ifdrop;
	} else {
		*received = *dropped = 0;
	}
}

int pcapio_linktype(const struct pcapio *io)
{
	return pcap_datalink(io->pc);
}
