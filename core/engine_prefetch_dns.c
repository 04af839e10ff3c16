/* engine_prefetch_dns: DNS prefetching after each packet (see engine_prefetch.c): what a client's
 * first packets look like, learnt from its new flows; the addresses a forwarded answer announces,
 * each given its templates; the tunnel SA they leave through primed. */
#include <string.h>

#include "engine_prefetch_impl.h"

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
	struct pf_client *c = pf__client_of(e, family, pf__src_addr(p));
	if (c->family != family || memcmp(c->addr, pf__src_addr(p), family == 4 ? 4 : 16) != 0) {
		memset(c, 0, sizeof *c - sizeof c->hdr);
		c->family = family;
		memcpy(c->addr, pf__src_addr(p), family == 4 ? 4 : 16);
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
			pf__make_key(&k, family, c->addr, c->pend[i], pf_tmpl[t].proto, pf_tmpl[t].port);
			built += pf__build_from(e, c, PF_SYN, &k, c->pend_until[i], x->t_ns);
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
		pf__make_key(&k, c->family, c->addr, r->addr, pf_tmpl[t].proto, pf_tmpl[t].port);
		/* The ports the client has used; a client of no record yet gets TCP's two. */
		bool wanted = c->used ? (c->used >> t & 1) : kind == PF_SYN;
		if (c->have[kind] && wanted)
			built += pf__build_from(e, c, kind, &k, until, now);
		else
			pf__note(e, &k, until, now);
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
	struct pf_client *c = pf__client_of(e, family, pf__dst_addr(p));
	if (c->family != family || memcmp(c->addr, pf__dst_addr(p), family == 4 ? 4 : 16) != 0 ||
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
	uint32_t plain = esp_plain_len(e->esp, sa, 60);
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
		built += pf__build_one(e, &e->pf->refill_key, &q, e->pf->refill_until, c->t_ns);
	}
	int sa = -1;
	if (dns)
		built += answer(e, c, &sa);
	if (sa >= 0)
		prime_sa(e, c, (unsigned)sa);
	if (built)
		engine__work_add(c, ENGINE_WORK_PREFETCH, 0, 0, e->pf->batch, built, 0);
}
