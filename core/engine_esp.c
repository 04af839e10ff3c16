/* engine_esp: the engine's tunnel (engine_cfg.tunnel; esp.h): sealing at transmit and the ESP
 * work made ahead after it. */
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

void engine__esp_ahead(struct engine *e, struct pktx *c)
{
	if (!e->esp || c->sa < 0 || e->cfg.mode == ENGINE_BASELINE)
		return;
	struct eflow *uf = c->uf;
	unsigned dir = c->dir, sa = (unsigned)c->sa;
	uint64_t ready = e->cfg.craft_ready_explicit ? UINT64_MAX : 0;
	uint32_t gen = 0, plain = esp_plain_len(c->esp_len);
	unsigned depth = policy_keystream(&e->pol, e->cfg.ks_depth, plain);
	struct pool_buf *b = uf->craft[dir];
	/* The next entry as long as this flow's predicted next packet (in an SA that one flow
	 * dominates, it is the next packet sealed); two entries a packet at most: the ring fills
	 * over a few packets, and no packet pays for many. */
	uint32_t hint = b ? esp_plain_len(craft_predicted_ip_len(b)) : 0;
	uint64_t ks = depth ? esp_ring_fill(e->esp, sa, depth, 2, hint, ready, &gen) : 0;
	if (ks)
		policy_esp_built(&e->pol, (uint32_t)ks, true);
	uint32_t ant = 0;
	const uint8_t *h, *pl;
	uint32_t hl, pll;
	/* Sealing ahead costs a whole seal: the adaptive policy spends it only on a flow whose last
	 * predicted payload was right. */
	bool try_ant = e->pol.cfg.kind == POLICY_STATIC || (uf->payload_ok && policy_keystream(&e->pol, 1, plain));
	if (b && try_ant && craft_predicted(b, &h, &hl, &pl, &pll) && hl > 14 && hl - 14 + pll <= e->cfg.ks_cap) {
		uint32_t len = hl - 14 + pll;
		uint8_t *in = esp_inner(e->esp);
		memcpy(in, h + 14, hl - 14);
		memcpy(in + hl - 14, pl, pll);
		if (sa_of(e, in, hl - 14) == (int)sa && fix_checksums(in, len) &&
		    (ant = esp_anticipate(e->esp, sa, in, len, ready, &gen)) != 0)
			policy_esp_built(&e->pol, ant, false);
	}
	if (ks || ant)
		engine__work_add(c, ENGINE_WORK_ESP, 0, sa, gen, (uint32_t)ks, ant);
}

uint32_t engine_tunnel_len(struct engine *e, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype)
{
	if (!e->esp)
		return 0;
	struct pkt p;
	uint32_t nh;
	if (pkt_parse(frame, caplen, wirelen, linktype, &p) != 0 || p.l3 == PKT_L3_NONE ||
	    fwd_route(&e->fwd, &p, &nh) != FWD_OK)
		return 0;
	const uint8_t *dst = p.l3 == PKT_L3_IPV4 ? p.ip4.dst : p.ip6.dst;
	if (esp_conf_match(e->cfg.tunnel, p.l3 == PKT_L3_IPV4 ? 4 : 6, dst) < 0)
		return 0;
	return p.l3_hdr_len + p.l4_hdr_len + p.payload_len;
}
