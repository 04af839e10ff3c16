/* engine_prefetch_impl: DNS prefetching's tables, shared by its two files (engine_prefetch.c:
 * the table of templates; engine_prefetch_dns.c: clients and answers).  Not installed. */
#ifndef PRECRAFT_ENGINE_PREFETCH_IMPL_H
#define PRECRAFT_ENGINE_PREFETCH_IMPL_H

#include "dns.h"
#include "engine_impl.h"

#define PF_WAYS 4
#define PF_CLIENTS 1024            /* client profiles, direct-mapped */
#define PF_SYN 0                   /* client profile kinds: a TCP SYN, */
#define PF_QUIC 1                  /* a UDP datagram to 443 (QUIC sets DF, a DNS query may not), */
#define PF_UDP 2                   /* any UDP datagram (the DNS query itself) */
#define PF_KINDS 3
#define PF_RECENT 16
#define PF_PENDING 8
#define PF_BATCH_MAX (DNS_MAX_RECORDS * 3 + 1) /* the templates of an answer, and a refill */

/* The templates an announced address can get: protocol and destination port.  It gets those
 * whose ports its client has started flows to before (so a client that never used QUIC gets no
 * UDP template), and one with no record yet gets TCP 443 and 80. */
static const struct {
	uint8_t proto, kind;
	uint16_t port;
} pf_tmpl[] = {
	{ IPPROTO_NUM_TCP, PF_SYN, 443 },
	{ IPPROTO_NUM_TCP, PF_SYN, 80 },
	{ IPPROTO_NUM_UDP, PF_QUIC, 443 },
};
#define PF_TEMPLATES (sizeof pf_tmpl / sizeof pf_tmpl[0])

struct pf_entry {
	struct flow_key key;       /* a: client, b: announced address, pb: port (0: empty) */
	struct pool_buf *b;
	uint64_t until_ns;
	uint32_t batch;            /* the answer that built it (the simulator's readiness) */
	uint32_t bytes;            /* the pool's owner counter */
};

/* What a client's first packets look like: the headers of its latest one. */
struct pf_client {
	uint8_t family, have[PF_KINDS];
	uint8_t used;              /* the templates' ports it has started flows to: bit per pf_tmpl */
	uint8_t addr[16];
	uint16_t len[PF_KINDS];
	int32_t linktype[PF_KINDS];
	uint32_t wirelen[PF_KINDS];
	/* Addresses announced to it before it had sent a SYN: its first SYN builds their TCP
	 * templates (bounded: a spoofed flood of answers buys no more work than one answer). */
	uint8_t n_pend;
	uint8_t pend[PF_PENDING][16];
	uint64_t pend_until[PF_PENDING];
	uint8_t hdr[PF_KINDS][CRAFT_MAX_HDR];
};

struct prefetch {
	struct pf_entry *set;      /* n_sets * PF_WAYS */
	uint32_t set_mask;
	uint32_t batch;
	/* The latest batches' templates by slot, so that the simulator's readiness does not scan
	 * the table (an older batch, overwritten here, is found by a scan). */
	struct {
		uint32_t batch, n;
		uint32_t slot[PF_BATCH_MAX];
	} recent[PF_RECENT];
	/* The packet being processed started a flow that took a template: after its transmit, the
	 * template is made again from it (a browser opens several connections to one address). */
	bool refill;
	struct flow_key refill_key;
	uint64_t refill_until;
	struct pf_client client[PF_CLIENTS];
};

/* The table's key of a template: client 'client', announced address 'server', protocol, port. */
void pf__make_key(struct flow_key *k, uint8_t family, const uint8_t *client, const uint8_t *server, uint8_t proto,
		  uint16_t port);
/* The client profile slot of 'addr' (direct-mapped: it may hold another client). */
struct pf_client *pf__client_of(struct engine *e, uint8_t family, const uint8_t *addr);
const uint8_t *pf__src_addr(const struct pkt *p);
const uint8_t *pf__dst_addr(const struct pkt *p);
/* Pre-builds the template of key 'k' from 'q', the packet as it is expected to arrive, held
 * until 'until' (now: 'now').  Returns 1 when it built one. */
unsigned pf__build_one(struct engine *e, const struct flow_key *k, struct pkt *q, uint64_t until, uint64_t now);
/* Notes key 'k' as announced, not built. */
void pf__note(struct engine *e, const struct flow_key *k, uint64_t until, uint64_t now);
/* Builds the template of key 'k' from the client's profile 'kind'. */
unsigned pf__build_from(struct engine *e, const struct pf_client *c, unsigned kind, const struct flow_key *k,
			uint64_t until, uint64_t now);

#endif
