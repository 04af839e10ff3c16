/* engine_prefetch: DNS prefetching, the first packets of flows a DNS answer announces, pre-built
 * (see engine.h, cfg.prefetch_hold_ns).
 *
 * A client that resolves a name connects to the answer's address within milliseconds.  When the
 * engine forwards a DNS answer, it pre-builds, for each A and AAAA record, the egress form of the
 * first packet the client would send there: a TCP SYN to port 80 and to 443, and a UDP datagram
 * to 443 (QUIC's Initial).  Everything of that packet but its source port, sequence number, IP
 * ID, lengths and TCP timestamps is known: the client's link header, TTL, TOS, IP options and
 * the SYN's TCP option layout are those of the latest new flow the client started with that
 * protocol (its latest SYN; its latest new UDP flow, the DNS query itself), the destination is
 * the record's address, the route and the egress rewrite are run now.  The source port is
 * late-bound (craft_build_first).  With source NAT the flow's port is allocated at its first
 * packet, in every mode as in baseline (allocating it at the answer would make the translated
 * ports depend on the mode, and the egress with them), and bound to the template then
 * (craft_adopt): two checksum additions.
 *
 * The templates live in a table of 4-way sets keyed by (client, address, protocol, port), held
 * for the answer's TTL and at most cfg.prefetch_hold_ns.  A new flow's first packet takes the
 * template of its key (engine__prefetch_adopt) and validates it like any pre-built packet: what
 * it sends is the slow path's output byte for byte, or the slow path runs.  Templates that
 * expire, are displaced by a newer answer's, or are still held at the end are waste.
 *
 * Which templates: those of the ports the client has started flows to before (TCP 443 and 80
 * for a client of no record).  The others are noted unbuilt in the table: the first connection
 * to such a key makes the template of the next one from its own packet, as every connection
 * that takes a template does (a browser opens several to one address).  A client that had not
 * sent a SYN when the answer came gets its TCP templates at its first SYN (up to PF_PENDING
 * addresses: bounded work, whatever the answers).
 *
 * Per packet, nothing runs unless the packet starts a flow (one set looked up) or is a DNS
 * answer the engine forwarded (parsed with every length checked: dns.h). */
#include <stdlib.h>
#include <string.h>

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

int engine__prefetch_create(struct engine *e)
{
	if (!e->cfg.prefetch_hold_ns || e->cfg.mode == ENGINE_BASELINE)
		return 0;
	uint32_t sets = 1;
	while (sets * PF_WAYS < e->cfg.prefetch_slots && sets < (1u << 20))
		sets <<= 1;
	struct prefetch *pf = calloc(1, sizeof *pf);
	if (!pf || !(pf->set = calloc((size_t)sets * PF_WAYS, sizeof *pf->set))) {
		free(pf);
		return -ERR_NOMEM;
	}
	pf->set_mask = sets - 1;
	e->pf = pf;
	return 0;
}

/* A template that no flow took, released as waste. */
static void entry_drop(struct engine *e, struct pf_entry *x)
{
	if (x->b) {
		pool_put(e->pool, x->b);
		e->st.wasted++;
		e->st.prefetch_wasted++;
		policy_outcome(&e->pol, NULL, false, false);
	}
	memset(x, 0, sizeof *x);
}

void engine__prefetch_flush(struct engine *e)
{
	if (!e->pf)
		return;
	for (size_t i = 0; i <= (size_t)e->pf->set_mask * PF_WAYS + PF_WAYS - 1; i++)
		if (e->pf->set[i].key.pb)
			entry_drop(e, &e->pf->set[i]);
}

void engine__prefetch_destroy(struct engine *e)
{
	if (!e->pf)
		return;
	engine__prefetch_flush(e);
	free(e->pf->set);
	free(e->pf);
	e->pf = NULL;
}

static void make_key(struct flow_key *k, uint8_t family, const uint8_t *client, const uint8_t *server,
		     uint8_t proto, uint16_t port)
{
	memset(k, 0, sizeof *k);
	size_t n = family == 4 ? 4 : 16;
	memcpy(k->a, client, n);
	memcpy(k->b, server, n);
	k->pb = port;
	k->proto = proto;
	k->family = family;
}

static struct pf_entry *set_of(struct engine *e, const struct flow_key *k)
{
	return &e->pf->set[(size_t)(flow_key_hash(k, &e->hkey) & e->pf->set_mask) * PF_WAYS];
}

static struct pf_client *client_of(struct engine *e, uint8_t family, const uint8_t *addr)
{
	struct flow_key k;
	make_key(&k, family, addr, addr, 0, 0);
	return &e->pf->client[flow_key_hash(&k, &e->hkey) & (PF_CLIENTS - 1)];
}

static const uint8_t *src_addr(const struct pkt *p)
{
	return p->l3 == PKT_L3_IPV4 ? p->ip4.src : p->ip6.src;
}

static const uint8_t *dst_addr(const struct pkt *p)
{
	return p->l3 == PKT_L3_IPV4 ? p->ip4.dst : p->ip6.dst;
}

void engine__prefetch_adopt(struct engine *e, const struct pktx *c)
{
	const struct pkt *p = &c->p;
	struct flow_entry *f = c->f;
	struct eflow *uf = c->uf;
	if (!e->pf || p->is_fragment || (p->l4 != PKT_L4_TCP && p->l4 != PKT_L4_UDP))
		return;
	uint8_t family = p->l3 == PKT_L3_IPV4 ? 4 : 6;
	struct flow_key k;
	make_key(&k, family, src_addr(p), dst_addr(p), p->l4 == PKT_L4_TCP ? IPPROTO_NUM_TCP : IPPROTO_NUM_UDP,
		 p->l4 == PKT_L4_TCP ? p->tcp.dport : p->udp.dport);
	struct pf_entry *s = set_of(e, &k);
	for (unsigned w = 0; w < PF_WAYS; w++) {
		struct pf_entry *x = &s[w];
		if (!x->key.pb || memcmp(&x->key, &k, sizeof k) != 0)
			continue;
		if (x->until_ns < c->t_ns || (x->b && !craft_adopt(x->b, f, uf->nat_port))) {
			entry_drop(e, x); /* expired, or NAT has no port for the flow */
			return;
		}
		/* After its transmit, the packet makes the template of the next connection to the
		 * address: again if it takes one now, for the first time if its key was announced
		 * but not built. */
		e->pf->refill = true;
		e->pf->refill_key = k;
		e->pf->refill_until = x->until_ns;
		if (x->b) {
			/* The flow's first packet: it has nothing pre-built of its own yet. */
			release(e, uf, 0, REL_WASTED);
			pool_set_owner(x->b, &uf->pool_bytes);
			uf->craft[0] = x->b;
			uf->serial[0]++;
			uf->announced = 1;
			e->st.prefetch_flows++;
		}
		memset(x, 0, sizeof *x);
		return;
	}
}

/* The way of key 'k' in its set: its own entry, else one to take, else NULL.  An entry to be
 * built ('built') may take an empty, expired or unbuilt way, else the built one that expires
 * first (displaced: waste); an unbuilt one only an empty, expired or unbuilt way. */
static struct pf_entry *way_of(struct engine *e, const struct flow_key *k, bool built, uint64_t now)
{
	struct pf_entry *s = set_of(e, k), *victim = NULL;
	for (unsigned w = 0; w < PF_WAYS; w++)
		if (s[w].key.pb && memcmp(&s[w].key, k, sizeof *k) == 0)
			return &s[w];
	for (unsigned w = 0; w < PF_WAYS; w++) {
		struct pf_entry *x = &s[w];
		if (!x->key.pb || x->until_ns < now || !x->b)
			return x;
		if (built && (!victim || x->until_ns < victim->until_ns))
			victim = x;
	}
	return victim;
}

/* Pre-builds the template of key 'k' from 'q', the packet as it is expected to arrive, held
 * until 'until'.  Returns 1 when it built one. */
static unsigned build_one(struct engine *e, const struct flow_key *k, struct pkt *q, uint64_t until, uint64_t now)
{
	struct pf_entry *x = way_of(e, k, true, now);
	if (x->b && x->until_ns >= now && memcmp(&x->key, k, sizeof *k) == 0) {
		if (until > x->until_ns)
			x->until_ns = until; /* announced again: held longer, not built again */
		return 0;
	}
	if (x->key.pb)
		entry_drop(e, x);
	uint32_t nh;
	if (!craft_eligible(q) || fwd_route(&e->fwd, q, &nh) != FWD_OK)
		return 0; /* the slow path would drop it: nothing to build */
	if (q->l4 == PKT_L4_TCP)
		pkt_tcp_opts(q);
	struct pool_buf *b;
	x->bytes = 0;
	if (craft_build_first(e->pool, &x->bytes, q, &e->fwd, nh, &b)) {
		e->st.craft_failures++;
		return 0;
	}
	craft_set_route_gen(b, e->route_gen);
	if (e->cfg.craft_ready_explicit)
		craft_set_ready(b, UINT64_MAX);
	x->key = *k;
	x->b = b;
	x->until_ns = until;
	x->batch = e->pf->batch;
	if (e->cfg.craft_ready_explicit) {
		__typeof__(e->pf->recent[0]) *r = &e->pf->recent[e->pf->batch % PF_RECENT];
		if (r->batch != e->pf->batch) {
			r->batch = e->pf->batch;
			r->n = 0;
		}
		if (r->n < PF_BATCH_MAX)
			r->slot[r->n++] = (uint32_t)(x - e->pf->set);
	}
	policy_built(&e->pol, NULL);
	e->st.crafted++;
	e->st.prefetch_built++;
	return 1;
}

/* Notes key 'k' as announced, not built (the client has not shown that kind of first packet, or
 * not that port): its first connection makes the template of the next. */
static void note(struct engine *e, const struct flow_key *k, uint64_t until, uint64_t now)
{
	struct pf_entry *x = way_of(e, k, false, now);
	if (!x)
		return; /* every way holds a template still to be used: they come first */
	if (x->key.pb && memcmp(&x->key, k, sizeof *k) == 0) {
		if (until > x->until_ns)
			x->until_ns = until;
		return;
	}
	if (x->key.pb)
		entry_drop(e, x);
	x->key = *k;
	x->until_ns = until;
}

/* Builds the template of key 'k' (to k->b, port k->pb) from the client's profile 'kind'. */
static unsigned build_from(struct engine *e, const struct pf_client *c, unsigned kind, const struct flow_key *k,
			   uint64_t until, uint64_t now)
{
	/* The packet as it will arrive: the client's latest of its kind, to the address. */
	struct pkt q;
	if (pkt_parse(c->hdr[kind], c->len[kind], c->wirelen[kind], c->linktype[kind], &q) != 0 ||
	    q.l3 != (c->family == 4 ? PKT_L3_IPV4 : PKT_L3_IPV6) ||
	    (q.l4 != (k->proto == IPPROTO_NUM_TCP ? PKT_L4_TCP : PKT_L4_UDP)))
		return 0;
	if (q.l3 == PKT_L3_IPV4)
		memcpy(q.ip4.dst, k->b, 4);
	else
		memcpy(q.ip6.dst, k->b, 16);
	if (q.l4 == PKT_L4_TCP)
		q.tcp.dport = k->pb;
	else
		q.udp.dport = k->pb;
	return build_one(e, k, &q, until, now);
}

static void keep(struct pf_client *c, int kind, const struct pkt *p, uint32_t n, uint8_t own)
{
	memcpy(c->hdr[kind], p->frame, n);
	c->len[kind] = (uint16_t)n;
	c->linktype[kind] = p->link.linktype;
	c->wirelen[kind] = p->wirelen;
	c->have[kind] = own;
}

/* Keeps the headers of a client's first packet of a new flow: its SYN or UDP datagram.  A
 * client's first SYN builds the TCP templates of the addresses announced to it before.
 * Returns how many it built. */
static unsigned learn_client(struct engine *e, const struct pktx *x)
{
	const struct pkt *p = &x->p;
	uint32_t n = p->l3_off + p->l3_hdr_len + p->l4_hdr_len;
	bool syn = p->l4 == PKT_L4_TCP && (p->tcp.flags & 0x12) == 0x02;
	if ((p->l4 == PKT_L4_TCP && !syn) || !craft_eligible(p) || n > p->caplen)
		return 0;
	uint8_t family = p->l3 == PKT_L3_IPV4 ? 4 : 6;
	struct pf_client *c = client_of(e, family, src_addr(p));
	if (c->family != family || memcmp(c->addr, src_addr(p), family == 4 ? 4 : 16) != 0) {
		memset(c, 0, sizeof *c - sizeof c->hdr);
		c->family = family;
		memcpy(c->addr, src_addr(p), family == 4 ? 4 : 16);
	}
	uint16_t dport = syn ? p->tcp.dport : p->udp.dport;
	for (unsigned t = 0; t < PF_TEMPLATES; t++)
		if (pf_tmpl[t].port == dport && (pf_tmpl[t].kind == PF_SYN) == syn)
			c->used |= (uint8_t)(1u << t);
	if (!syn) {
		keep(c, PF_UDP, p, n, 2);
		/* Any datagram stands in for QUIC's until the client has sent one to 443 itself. */
		if (p->udp.dport == 443 || c->have[PF_QUIC] < 2)
			keep(c, PF_QUIC, p, n, p->udp.dport == 443 ? 2 : 1);
		return 0;
	}
	bool first = !c->have[PF_SYN];
	keep(c, PF_SYN, p, n, 2);
	if (!first)
		return 0;
	/* The addresses announced to it before it had shown a SYN: their TCP templates now. */
	unsigned built = 0;
	for (unsigned i = 0; i < c->n_pend; i++) {
		if (c->pend_until[i] < x->t_ns)
			continue;
		for (unsigned t = 0; t < PF_TEMPLATES; t++) {
			if (pf_tmpl[t].kind != PF_SYN)
				continue;
			struct flow_key k;
			make_key(&k, family, c->addr, c->pend[i], pf_tmpl[t].proto, pf_tmpl[t].port);
			built += build_from(e, c, PF_SYN, &k, c->pend_until[i], x->t_ns);
		}
	}
	c->n_pend = 0;
	return built;
}

/* Builds the templates of one announced address for the client of 'c'; returns how many. */
static unsigned announce(struct engine *e, struct pf_client *c, const struct dns_record *r, uint64_t until,
			 uint64_t now)
{
	unsigned built = 0;
	if (!c->have[PF_SYN] && c->n_pend < PF_PENDING) {
		memcpy(c->pend[c->n_pend], r->addr, 16);
		c->pend_until[c->n_pend++] = until;
	}
	for (unsigned t = 0; t < PF_TEMPLATES; t++) {
		unsigned kind = pf_tmpl[t].kind;
		struct flow_key k;
		make_key(&k, c->family, c->addr, r->addr, pf_tmpl[t].proto, pf_tmpl[t].port);
		/* The ports the client has used; a client of no record yet gets TCP's two. */
		bool wanted = c->used ? (c->used >> t & 1) : kind == PF_SYN;
		if (c->have[kind] && wanted)
			built += build_from(e, c, kind, &k, until, now);
		else
			note(e, &k, until, now);
	}
	return built;
}

/* The addresses a forwarded DNS answer announces to its receiver: templates for each.  Returns
 * how many it built; '*sa' is the tunnel SA the first announced address that got one leaves
 * through, if any (it is left as it is otherwise). */
static unsigned answer(struct engine *e, const struct pktx *x, int *sa)
{
	const struct pkt *p = &x->p;
	if (p->payload_avail != p->payload_len)
		return 0; /* captured short: the records cannot all be read */
	struct dns_record rec[DNS_MAX_RECORDS];
	unsigned n = dns_answer_addrs(p->payload, p->payload_avail, rec);
	if (!n)
		return 0;
	e->st.dns_answers++;
	uint8_t family = p->l3 == PKT_L3_IPV4 ? 4 : 6;
	struct pf_client *c = client_of(e, family, dst_addr(p));
	if (c->family != family || memcmp(c->addr, dst_addr(p), family == 4 ? 4 : 16) != 0 ||
	    !policy_prefetch(&e->pol, n * (unsigned)PF_TEMPLATES))
		return 0; /* a client never seen starting a flow, or the policy says no */
	unsigned built = 0;
	for (unsigned i = 0; i < n; i++) {
		if (rec[i].family != family)
			continue; /* an AAAA for an IPv4 client: its SYN would come from another address */
		uint64_t ttl_ns = (uint64_t)(rec[i].ttl ? rec[i].ttl : 1) * 1000000000ull;
		uint64_t hold = ttl_ns < e->cfg.prefetch_hold_ns ? ttl_ns : e->cfg.prefetch_hold_ns;
		unsigned b = announce(e, c, &rec[i], x->t_ns + hold, x->t_ns);
		built += b;
		if (b && e->esp && *sa < 0)
			*sa = esp_conf_match(e->cfg.tunnel, family, rec[i].addr);
	}
	return built;
}

/* The announced flows leave through tunnel SA 'sa': its keystream ring is topped up now, so
 * that their first packets are sealed from keystreams made ahead even when the SA has been idle
 * (after its first packets the ring is kept full by engine__esp_ahead). */
static void prime_sa(struct engine *e, const struct pktx *c, unsigned sa)
{
	uint64_t ready = e->cfg.craft_ready_explicit ? UINT64_MAX : 0;
	uint32_t gen = 0;
	/* The first entry as long as a SYN with options (60 bytes of IP): an idle SA has no
	 * recent mean to size entries by, and a longer first packet has the rest of its keystream
	 * made when it is sealed. */
	uint32_t plain = esp_plain_len(60);
	unsigned depth = policy_keystream(&e->pol, e->cfg.ks_depth, plain);
	uint64_t ks = depth ? esp_ring_fill(e->esp, sa, depth, 2, plain, ready, &gen) : 0;
	if (!ks)
		return;
	policy_esp_built(&e->pol, (uint32_t)ks, true);
	e->st.prefetch_sa_primed++;
	engine__work_add(c, ENGINE_WORK_ESP, 0, sa, gen, (uint32_t)ks, 0);
}

void engine__prefetch_after(struct engine *e, struct pktx *c)
{
	const struct pkt *p = &c->p;
	bool first = c->first, sent = c->path != ENGINE_PATH_DROP;
	if (!e->pf)
		return;
	bool refill = e->pf->refill;
	e->pf->refill = false;
	if (!sent || p->is_fragment || (p->l4 != PKT_L4_TCP && p->l4 != PKT_L4_UDP))
		return;
	bool dns = p->l4 == PKT_L4_UDP && p->udp.sport == 53;
	if (!first && !refill && !dns)
		return;
	e->pf->batch++; /* what this packet builds is one batch, one ticket */
	unsigned built = first ? learn_client(e, c) : 0;
	if (refill) {
		/* The next connection to the address will look like this one (a browser opens several
		 * at once): the template is made again, from this packet. */
		struct pkt q = *p;
		built += build_one(e, &e->pf->refill_key, &q, e->pf->refill_until, c->t_ns);
	}
	int sa = -1;
	if (dns)
		built += answer(e, c, &sa);
	if (sa >= 0)
		prime_sa(e, c, (unsigned)sa);
	if (built)
		engine__work_add(c, ENGINE_WORK_PREFETCH, 0, 0, e->pf->batch, built, 0);
}

/* Calls 'fn' on every template of 'batch' still waiting to be marked built, until it returns
 * true; returns whether one did. */
static bool each_waiting(struct engine *e, uint32_t batch, bool (*fn)(struct pool_buf *b, uint64_t t), uint64_t t)
{
	struct prefetch *pf = e->pf;
	if (!pf)
		return false;
	const __typeof__(pf->recent[0]) *r = &pf->recent[batch % PF_RECENT];
	bool listed = r->batch == batch;
	size_t n = listed ? r->n : (size_t)pf->set_mask * PF_WAYS + PF_WAYS;
	for (size_t i = 0; i < n; i++) {
		struct pf_entry *x = &pf->set[listed ? r->slot[i] : i];
		if (x->b && x->batch == batch && craft_ready(x->b) == UINT64_MAX && fn(x->b, t))
			return true;
	}
	return false;
}

static bool mark_ready(struct pool_buf *b, uint64_t t)
{
	craft_set_ready(b, t);
	return false;
}

static bool found(struct pool_buf *b, uint64_t t)
{
	(void)b;
	(void)t;
	return true;
}

/* The simulator's crafting CPU has built an answer's templates. */
void engine__prefetch_ready(struct engine *e, uint32_t batch, uint64_t ready_ns)
{
	each_waiting(e, batch, mark_ready, ready_ns);
}

bool engine__prefetch_waiting(struct engine *e, uint32_t batch)
{
	return each_waiting(e, batch, found, 0);
}
