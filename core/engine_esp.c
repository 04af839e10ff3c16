/* engine_esp: the engine's tunnel (engine_cfg.tunnel; esp.h): opening what arrives for it,
 * sealing at transmit, and the work made ahead after both. */
#include <string.h>

#include "csum.h"
#include "engine_impl.h"
#include "pkt.h"

/* The SA for an inner IP packet of 'len' bytes at 'ip', or -1. */
static int sa_of(const struct engine *e, const uint8_t *ip, uint32_t len)
{
	if (len >= 20 && ip[0] >> 4 == 4)
		return esp_conf_match(e->cfg.tunnel, 4, ip + 16);
	if (len >= 40 && ip[0] >> 4 == 6)
		return esp_conf_match(e->cfg.tunnel, 6, ip + 24);
	return -1;
}

/* The frame's tunnel message, when it is one for this gateway: ESP (protocol 50) or a WireGuard
 * data message (UDP to a port a WireGuard SA opens on, type 4) to a local address. */
static bool for_us(const struct engine *e, const struct pkt *p, enum esp_kind *kind)
{
	int fam = p->l3 == PKT_L3_IPV4 ? 4 : 6;
	if (!esp_conf_is_local(e->cfg.tunnel, fam, fam == 4 ? p->ip4.dst : p->ip6.dst))
		return false;
	if (p->proto == 50) {
		*kind = ESP_KIND_ESP;
		return true;
	}
	*kind = ESP_KIND_WG;
	return p->l4 == PKT_L4_UDP && esp_conf_wg_port(e->cfg.tunnel, p->udp.dport);
}

static const enum engine_drop open_drop[] = {
	[ESP_OPEN_KEEPALIVE] = ENGINE_DROP_ESP_KEEPALIVE, [ESP_OPEN_UNKNOWN] = ENGINE_DROP_ESP_UNKNOWN_SPI,
	[ESP_OPEN_REPLAY] = ENGINE_DROP_ESP_REPLAY,	  [ESP_OPEN_ICV] = ENGINE_DROP_ESP_ICV,
	[ESP_OPEN_MALFORMED] = ENGINE_DROP_ESP_MALFORMED, [ESP_OPEN_CRYPTO] = ENGINE_DROP_ESP_CRYPTO,
};

bool engine__esp_open(struct engine *e, struct pktx *c)
{
	enum esp_kind kind;
	if (!engine__decode(c) || !for_us(e, &c->p, &kind))
		return true; /* the stages route it (or count it undecoded) */
	const struct pkt *p = &c->p;
	int fam = p->l3 == PKT_L3_IPV4 ? 4 : 6;
	struct esp_opened o;
	enum esp_open_verdict v;
	/* A fragment, or a message the capture cut short, cannot be authenticated. */
	if (p->is_fragment || p->payload_avail != p->payload_len || p->status != PKT_ST_OK)
		v = ESP_OPEN_MALFORMED;
	else
		v = esp_open(e->esp, kind, fam, fam == 4 ? p->ip4.dst : p->ip6.dst, p->payload, p->payload_len, c->t_ns,
			     e->cfg.mode == ENGINE_SHADOW, &o);
	if (v != ESP_OPENED) {
		e->st.dropped[open_drop[v]]++;
		if (c->res)
			c->res->path = ENGINE_PATH_DROP;
		return false;
	}
	e->st.divergent_packets += o.diverged;
	c->esp_ext += esp_last_extended(e->esp);
	/* The inner packet as an Ethernet frame, between the outer frame's addresses. */
	uint8_t *eth = o.inner - 14;
	if (c->linktype == PKT_LINK_ETH && c->caplen >= 12)
		memcpy(eth, c->frame, 12);
	else
		memset(eth, 0, 12);
	eth[12] = o.inner[0] >> 4 == 6 ? 0x86 : 0x08;
	eth[13] = o.inner[0] >> 4 == 6 ? 0xdd : 0x00;
	c->in_sa = o.sa;
	c->in_how = (uint8_t)o.how;
	c->in_len = o.len;
	c->frame = eth;
	c->caplen = c->wirelen = o.len + 14;
	c->linktype = PKT_LINK_ETH;
	c->decoded = false;
	return true;
}

int engine__esp_tx(struct engine *e, struct pktx *c, const struct egress *o, bool *sealed,
		   enum engine_drop *why)
{
	const uint8_t *hdr = o->hdr, *payload = o->payload;
	uint32_t hdr_len = o->hdr_len, payload_len = o->payload_len, wirelen = o->wirelen;
	uint64_t t_ns = c->t_ns;
	c->sa = -1;
	c->esp_how = ESP_NONE;
	*sealed = false;
	if (hdr_len <= 14 || wirelen < hdr_len)
		return 0;
	const uint8_t *ip = hdr + 14;
	uint32_t h = hdr_len - 14, len = wirelen - 14;
	int sa = sa_of(e, ip, h);
	if (sa < 0)
		return 0;
	*sealed = true;
	if (len > ESP_INNER_MAX) {
		*why = ENGINE_DROP_ESP_TOO_BIG;
		return -1;
	}
	/* The inner packet from where it lies (headers, payload); a capture cut short (snap
	 * length) is sealed with zeros for the bytes it lacks, as tcpreplay --fixlen=pad sends
	 * them, and counted. */
	uint32_t pl = h + payload_len > len ? len - h : payload_len;
	if (h > len)
		return 0; /* cannot happen: the headers are within the wire length */
	if (h + pl < len)
		e->st.esp_zero_filled++;
	const uint8_t *frame;
	uint32_t flen;
	enum esp_how how;
	bool diverged;
	enum esp_verdict v = esp_seal(e->esp, (unsigned)sa, ip, h, payload, pl, len, t_ns, e->cfg.mode == ENGINE_SHADOW,
				      &frame, &flen, &how, &diverged);
	if (v != ESP_OK) {
		*why = v == ESP_NO_ROUTE    ? ENGINE_DROP_NO_ROUTE
		       : v == ESP_EXHAUSTED ? ENGINE_DROP_ESP_EXHAUSTED
		       : v == ESP_TOO_BIG   ? ENGINE_DROP_ESP_TOO_BIG
					    : ENGINE_DROP_ESP_CRYPTO;
		return -1;
	}
	e->st.divergent_packets += diverged;
	c->esp_ext += esp_last_extended(e->esp);
	c->sa = sa;
	c->esp_how = (uint8_t)how;
	c->esp_len = len;
	policy_esp_sealed(&e->pol, len, how != ESP_ONESHOT);
	e->st.packets_out++;
	e->st.bytes_out += flen;
	if (e->cfg.tx)
		e->cfg.tx(e->cfg.tx_arg, frame, flen, NULL, 0, flen, t_ns);
	return 0;
}

/* Recomputes the IPv4 header checksum and the TCP/UDP checksum of the 'len'-byte packet at
 * 'ip' (a predicted packet: what a sender with correct checksums would send).  False when the
 * layout is not one it knows (the packet is then not anticipated). */
static bool fix_checksums(uint8_t *ip, uint32_t len)
{
	uint32_t l4, pseudo;
	uint8_t proto;
	bool v4 = ip[0] >> 4 == 4;
	if (v4) {
		uint32_t ihl = (ip[0] & 15u) * 4u;
		if (ihl < 20 || ihl > len)
			return false;
		ip[10] = ip[11] = 0;
		uint16_t c = csum_fold(csum_partial(ip, ihl, 0));
		ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
		proto = ip[9];
		l4 = ihl;
		pseudo = csum_partial(ip + 12, 8, 0) + proto + (len - ihl);
	} else {
		if (len < 40)
			return false;
		proto = ip[6];
		l4 = 40;
		pseudo = csum_partial(ip + 8, 32, 0) + proto + ((len - 40) >> 16) + ((len - 40) & 0xffff);
	}
	uint32_t l4len = len - l4, off;
	if (proto == 6 && l4len >= 20) {
		off = 16;
	} else if (proto == 17 && l4len >= 8) {
		off = 6;
		if (v4 && ip[l4 + 6] == 0 && ip[l4 + 7] == 0)
			return true; /* no UDP checksum */
	} else {
		return false;
	}
	ip[l4 + off] = ip[l4 + off + 1] = 0;
	uint16_t c = csum_fold(csum_partial(ip + l4, l4len, pseudo));
	if (proto == 17 && c == 0)
		c = 0xffff;
	ip[l4 + off] = (uint8_t)(c >> 8), ip[l4 + off + 1] = (uint8_t)c;
	return true;
}

/* The work made ahead for SA 'sa' after packet 'c' went through it: sealed into it ('in'
 * false: the flow's next packet will leave through it) or opened from it ('in': the flow's next
 * packet in this direction will arrive through it, as it arrived before routing). */
static void ahead_sa(struct engine *e, struct pktx *c, unsigned sa, bool in)
{
	struct eflow *uf = c->uf;
	unsigned dir = c->dir;
	uint64_t ready = e->cfg.craft_ready_explicit ? UINT64_MAX : 0;
	uint32_t gen = 0, plain = esp_plain_len(e->esp, sa, in ? c->caplen - 14 : c->esp_len);
	unsigned depth = policy_keystream(&e->pol, e->cfg.ks_depth, plain);
	struct pool_buf *b = uf->craft[dir];
	/* The SA expects this flow's predicted next packet when its predictor says, and sizes its
	 * ring's entries by the flows' next packets in the order they are expected; two entries a
	 * packet at most: the ring fills over a few packets, and no packet pays for many. */
	esp_ring_expect(e->esp, sa, c->f->id, b ? uf->next_t[dir] : 0,
			b ? esp_plain_len(e->esp, sa, craft_predicted_ip_len(b)) : 0, c->t_ns);
	uint64_t ks = depth ? esp_ring_fill(e->esp, sa, depth, 2, 0, ready, &gen) : 0;
	if (ks)
		policy_esp_built(&e->pol, (uint32_t)ks, true);
	uint32_t ant = 0;
	const uint8_t *h, *pl;
	uint32_t hl, pll;
	/* Sealing ahead costs a whole seal: the adaptive policy spends it only on a flow whose last
	 * predicted payload was right.  Inbound, the packet predicted is the one before this hop's
	 * rewrite: one hop more of TTL, and no translated flow. */
	bool try_ant = e->pol.cfg.kind == POLICY_STATIC || (uf->payload_ok && policy_keystream(&e->pol, 1, plain));
	if (b && try_ant && (!in || !uf->nat_port) && craft_predicted(b, &h, &hl, &pl, &pll) && hl > 14 &&
	    hl - 14 + pll <= e->cfg.ks_cap) {
		uint32_t len = hl - 14 + pll;
		uint8_t *ip = esp_inner(e->esp);
		memcpy(ip, h + 14, hl - 14);
		memcpy(ip + hl - 14, pl, pll);
		if (in && ip[0] >> 4 == 4 && ip[8] < 255)
			ip[8]++;
		else if (in && ip[0] >> 4 == 6 && len >= 40 && ip[7] < 255)
			ip[7]++;
		else if (in)
			len = 0;
		if (len && (in || sa_of(e, ip, hl - 14) == (int)sa) && fix_checksums(ip, len) &&
		    (ant = esp_anticipate(e->esp, sa, ip, len, ready, &gen)) != 0)
			policy_esp_built(&e->pol, ant, false);
	}
	if (ks || ant)
		engine__work_add(c, ENGINE_WORK_ESP, 0, sa, gen, (uint32_t)ks, ant);
}

void engine__esp_ahead(struct engine *e, struct pktx *c)
{
	if (!e->esp || e->cfg.mode == ENGINE_BASELINE)
		return;
	if (c->in_sa >= 0)
		ahead_sa(e, c, (unsigned)c->in_sa, true);
	if (c->sa >= 0)
		ahead_sa(e, c, (unsigned)c->sa, false);
}

uint32_t engine_tunnel_len(struct engine *e, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype,
			   bool *opens)
{
	*opens = false;
	struct pkt p;
	if (!e->esp || pkt_parse(frame, caplen, wirelen, linktype, &p) != 0 || p.l3 == PKT_L3_NONE)
		return 0;
	uint32_t nh;
	const uint8_t *dst = p.l3 == PKT_L3_IPV4 ? p.ip4.dst : p.ip6.dst;
	if (fwd_route(&e->fwd, &p, &nh) == FWD_OK && esp_conf_match(e->cfg.tunnel, p.l3 == PKT_L3_IPV4 ? 4 : 6, dst) >= 0)
		return p.l3_hdr_len + p.l4_hdr_len + p.payload_len;
	enum esp_kind kind;
	if (!e->opens || !for_us(e, &p, &kind))
		return 0;
	*opens = true;
	return p.payload_len;
}
