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
 * answer the engine forwarded (parsed with every length checked: dns.h).
 *
 * This file keeps the table (templates made, taken, expired, marked ready);
 * engine_prefetch_dns.c learns the clients and reads the answers after each packet. */
#include <stdlib.h>
#include <string.h>

#include "engine_prefetch_impl.h"


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

void pf__make_key(struct flow_key *k, uint8_t family, const uint8_t *client, const uint8_t *server,
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

struct pf_client *pf__client_of(struct engine *e, uint8_t family, const uint8_t *addr)
{
	struct flow_key k;
	pf__make_key(&k, family, addr, addr, 0, 0);
	return &e->pf->client[flow_key_hash(&k, &e->hkey) & (PF_CLIENTS - 1)];
}

const uint8_t *pf__src_addr(const struct pkt *p)
{
	return p->l3 == PKT_L3_IPV4 ? p->ip4.src : p->ip6.src;
}

const uint8_t *pf__dst_addr(const struct pkt *p)
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
	pf__make_key(&k, family, pf__src_addr(p), pf__dst_addr(p), p->l4 == PKT_L4_TCP ? IPPROTO_NUM_TCP : IPPROTO_NUM_UDP,
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
unsigned pf__build_one(struct engine *e, const struct flow_key *k, struct pkt *q, uint64_t until, uint64_t now)
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
void pf__note(struct engine *e, const struct flow_key *k, uint64_t until, uint64_t now)
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
unsigned pf__build_from(struct engine *e, const struct pf_client *c, unsigned kind, const struct flow_key *k,
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
	return pf__build_one(e, k, &q, until, now);
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
