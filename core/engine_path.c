/* engine_path: the per-packet stages, slow path and fast path, in the three modes (see
 * engine.h).  One context (struct pktx) goes through them: the probe finds a pre-built packet
 * from the undecoded frame, or decoding, the flow and the flow's pre-built packet do; then one
 * tail, whichever found it: the mode's choice of egress (shadow mode: the slow path's, checked
 * against the pre-built one), the transmit, the release, the cost, and the learning and the work
 * made ahead. */
#include <string.h>

#include "csum.h"
#include "engine_impl.h"
#include "predict.h"

/* The slow path: everything a router does for a packet it knows nothing about, on the decoded
 * packet.  Returns -1 when the packet must be dropped ('*why' says why), else 0 with the egress
 * headers written to 'hdr' and described, with the payload, in 'out'. */
static int slow_path(struct engine *e, const struct pktx *c, uint8_t *hdr, struct egress *out,
		     enum engine_drop *why)
{
	const struct pkt *p = &c->p;
	uint32_t nh;
	enum fwd_verdict v = fwd_route(&e->fwd, p, &nh);
	if (v != FWD_OK) {
		*why = v == FWD_NO_ROUTE ? ENGINE_DROP_NO_ROUTE : ENGINE_DROP_TTL_EXPIRED;
		return -1;
	}
	if (engine__nat_missing(e, c->uf, p, c->dir)) {
		*why = ENGINE_DROP_NAT_EXHAUSTED;
		return -1;
	}
	struct pkt q = *p;
	struct fwd_plan plan;
	fwd_rewrite(&e->fwd, &q, nh, c->dir, c->uf->nat_port, &plan);
	int hl = pkt_write_headers(&q, hdr, ENGINE_MAX_HDR);
	if (hl < 0) {
		*why = ENGINE_DROP_PARSE;
		return -1;
	}
	out->hdr = hdr;
	out->hdr_len = (uint32_t)hl;
	out->payload = p->payload;
	out->payload_len = p->payload_avail;
	out->wirelen = (uint32_t)hl + p->payload_len;
	return 0;
}

/* Sends 'o' (sealed into its SA when a tunnel matches it).  Returns 0, or -1 when the tunnel
 * could not send it: the drop is counted. */
static int tx(struct engine *e, struct pktx *c, const struct egress *o)
{
	if (e->esp) {
		bool sealed;
		enum engine_drop why;
		if (engine__esp_tx(e, c, o, &sealed, &why)) {
			e->st.dropped[why]++;
			return -1;
		}
		if (sealed)
			return 0;
	}
	e->st.packets_out++;
	e->st.bytes_out += o->wirelen;
	if (e->cfg.tx)
		e->cfg.tx(e->cfg.tx_arg, o->hdr, o->hdr_len, o->payload, o->payload_len, o->wirelen, c->t_ns);
	return 0;
}

static bool same_egress(const struct egress *a, const struct egress *b)
{
	return a->hdr_len == b->hdr_len && a->payload_len == b->payload_len && a->wirelen == b->wirelen &&
	       memcmp(a->hdr, b->hdr, a->hdr_len) == 0 &&
	       (a->payload == b->payload || memcmp(a->payload, b->payload, a->payload_len) == 0);
}

static inline uint64_t cost_now(const struct engine *e)
{
	return e->cfg.cost_clock.now_ns ? e->cfg.cost_clock.now_ns(e->cfg.cost_clock.arg) : 0;
}

static void sample(struct engine *e, int kind, uint64_t ns)
{
	if (e->cfg.cost_sample)
		e->cfg.cost_sample(e->cfg.cost_sample_arg, kind, ns);
}

/* RFC 1812 header checksum verification, on every packet whichever path it takes: a wrong
 * checksum is counted and the packet forwarded all the same (captures taken with checksum
 * offload carry many). */
static inline void verify_ip4(struct engine *e, const uint8_t *ip, uint32_t ihl)
{
	if (csum_fold(csum_partial(ip, ihl, 0)) != 0)
		e->st.ip_csum_bad++;
}

static inline bool decode(struct pktx *c)
{
	return engine__decode(c);
}

/* A frame that did not decode to IP: dropped, counted by kind. */
static void count_undecoded(struct engine *e, const struct pktx *c)
{
	const struct pkt *p = &c->p;
	if (p->l3 == PKT_L3_NONE && p->status == PKT_ST_NON_IP) {
		e->st.dropped[ENGINE_DROP_NON_IP]++;
	} else {
		e->st.parse_errors[p->status]++;
		e->st.dropped[ENGINE_DROP_PARSE]++;
	}
}

/* The pre-built packet 'b' validated against the frame: a hit, its egress in c->hit. */
static void take_hit(struct engine *e, struct pktx *c, const struct craft_out *o, enum craft_result r)
{
	e->st.hits++;
	c->uf->hits++;
	e->st.strict_hits += r == CRAFT_HIT_STRICT;
	e->st.payload_hits += o->payload_hit;
	if (o->payload_predicted)
		c->uf->payload_ok = o->payload_hit;
	c->pb = PB_HIT;
	c->hit = (struct egress){ o->hdr, o->payload, o->hdr_len, o->payload_len, o->wirelen };
}

/* Validates pre-built packet 'b' against the frame: a hit when it is finished, routed by the
 * current table, and matches (strictly or as a template). */
static enum craft_result validate(struct engine *e, const struct pktx *c, struct pool_buf *b, struct craft_out *o)
{
	if (craft_route_gen(b) != e->route_gen)
		return CRAFT_MISMATCH; /* built with an older route table: its next hop may be gone */
	return craft_validate(b, c->frame, c->caplen, c->wirelen, c->linktype, o);
}

/* Stage 1, the probe cache: a pre-built packet found from the undecoded frame.  True on a hit
 * (the flow is known, accounted, and c->hit is the egress); anything else is left to the
 * decoding stages, which count it. */
static bool probe_stage(struct engine *e, struct pktx *c)
{
	if (e->cfg.mode == ENGINE_BASELINE)
		return false;
	uint32_t h = c->probe = pkt_probe(c->frame, c->caplen, c->linktype);
	struct pool_buf *b = h ? e->probe_cache[h & e->probe_mask] : NULL;
	if (!b || craft_probe(b) != h || craft_ready(b) > c->t_ns)
		return false;
	struct craft_out o;
	enum craft_result r = validate(e, c, b, &o);
	if (r != CRAFT_HIT_STRICT && r != CRAFT_HIT_TEMPLATE)
		return false;
	struct flow_entry *f = craft_flow(b);
	/* What flow_table_get would do differently for this packet, the decoding path does. */
	if ((f->tcp_state != FLOW_TCP_NONE && flow_tcp_is_restart(f, o.tcp_flags)) ||
	    !flow_table_touch(e->flows, f, c->t_ns))
		return false;
	c->f = f;
	c->uf = eflow_of(e, f);
	c->dir = craft_dir(b);
	if (o.ip4_hdr_len)
		verify_ip4(e, c->frame + o.l3_off, o.ip4_hdr_len);
	flow_account(f, c->dir, c->wirelen, c->t_ns);
	if (f->tcp_state != FLOW_TCP_NONE)
		flow_tcp_update(f, c->dir, o.tcp_flags);
	take_hit(e, c, &o, r);
	e->st.probe_hits++;
	return true;
}

/* Stage 2, decoding: false when the frame is not IP or not sound (counted, dropped). */
static bool decode_stage(struct engine *e, struct pktx *c)
{
	if (decode(c))
		return true;
	count_undecoded(e, c);
	if (e->cfg.cost_clock.now_ns)
		sample(e, ENGINE_COST_DROP, cost_now(e) - c->t0);
	return false;
}

/* Stage 3, the flow: lookup (a TCP SYN after the end restarts it), accounting, the IPv4
 * header checksum. */
static void flow_stage(struct engine *e, struct pktx *c)
{
	const struct pkt *p = &c->p;
	struct flow_key key;
	bool src_is_a, created;
	flow_key_from_pkt(p, &key, &src_is_a);
	struct flow_entry *f =
		flow_table_get(e->flows, &key, flow_key_hash(&key, &e->hkey), src_is_a, c->t_ns, &created);
	if (!created && p->l4 == PKT_L4_TCP && flow_tcp_is_restart(f, p->tcp.flags)) {
		flow_table_restart(e->flows, f, src_is_a, c->t_ns);
		created = true;
	}
	c->f = f;
	c->uf = eflow_of(e, f);
	c->dir = flow_dir(f, src_is_a);
	c->first = created;
	if (created) {
		e->st.flows++;
		c->uf->nat_port = engine__nat_alloc(e, f);
		engine__prefetch_adopt(e, c);
	}
	if (p->l3 == PKT_L3_IPV4)
		verify_ip4(e, c->frame + p->l3_off, p->ip4.ihl_bytes);
	flow_account(f, c->dir, c->wirelen, c->t_ns);
	if (p->l4 == PKT_L4_TCP)
		flow_tcp_update(f, c->dir, p->tcp.flags);
}

/* Stage 4, the flow's pre-built packet, for a packet the probe did not find it for (precraft
 * and shadow modes): a hit, or a miss (nothing pre-built, late, or failing validation: the
 * buffer is released as waste). */
static void prebuilt_stage(struct engine *e, struct pktx *c)
{
	struct eflow *uf = c->uf;
	struct pool_buf *b = uf->craft[c->dir];
	struct craft_out o;
	enum craft_result r;
	if (!b) {
		c->pb = PB_NONE;
		e->st.no_prediction++;
	} else if (craft_ready(b) > c->t_ns) {
		c->pb = PB_LATE;
		e->st.late++;
		release(e, uf, c->dir, REL_WASTED);
	} else if ((r = validate(e, c, b, &o)) == CRAFT_HIT_STRICT || r == CRAFT_HIT_TEMPLATE) {
		take_hit(e, c, &o, r);
	} else {
		c->pb = PB_FAILED;
		e->st.validation_failures++;
		release(e, uf, c->dir, REL_FAILED);
	}
	/* A template a DNS answer announced (prefetching) was used, or was not. */
	if (uf->announced) {
		if (c->pb == PB_HIT)
			e->st.prefetch_hits += uf->announced;
		else if (b)
			e->st.prefetch_failed += uf->announced;
		uf->announced = 0;
	}
	if (c->pb != PB_HIT) {
		e->st.misses++;
		uf->misses++;
	}
}

/* The slow path's egress into 'hdr', or false with the drop counted. */
static bool slow_egress(struct engine *e, struct pktx *c, uint8_t *hdr, struct egress *out)
{
	enum engine_drop why;
	if (!decode(c)) {
		count_undecoded(e, c);
		return false;
	}
	if (slow_path(e, c, hdr, out, &why) == 0)
		return true;
	e->st.dropped[why]++;
	return false;
}

/* Stage 5, what is sent: the egress (the pre-built packet's in c->hit, or the slow path's in
 * '*buf'), or NULL when the packet is dropped (counted).  Baseline: the slow path.  Precraft:
 * the pre-built packet on a hit, else the slow path.  Shadow: the slow path always (the
 * reference), and a packet whose two outputs differ is counted: the pre-built packet's on a hit,
 * else a second run of the slow path.  (A hit's egress is used where take_hit wrote it: copied
 * whole right after its fields were written, it stalled on store forwarding.) */
static const struct egress *egress_stage(struct engine *e, struct pktx *c, struct egress *buf)
{
	if (e->cfg.mode == ENGINE_PRECRAFT && c->pb == PB_HIT)
		return &c->hit;
	if (e->cfg.mode != ENGINE_SHADOW)
		return slow_egress(e, c, e->hdr_a, buf) ? buf : NULL;
	struct egress second;
	const struct egress *other = c->pb == PB_HIT ? &c->hit : &second;
	enum engine_drop why;
	bool ref = slow_egress(e, c, e->hdr_a, buf);
	bool alt = c->pb == PB_HIT || (c->decoded && slow_path(e, c, e->hdr_b, &second, &why) == 0);
	if (ref != alt || (ref && !same_egress(buf, other)))
		e->st.divergent_packets++;
	return ref ? buf : NULL;
}

/* The cost of the packet's path, from arrival to now (with a cost clock). */
static uint64_t cost_path(struct engine *e, const struct pktx *c)
{
	uint64_t t1 = cost_now(e);
	if (c->pb == PB_HIT) {
		e->st.cost_hit_ns += t1 - c->t0;
		e->st.cost_hit_n++;
		sample(e, ENGINE_COST_HIT, t1 - c->t0);
	} else {
		e->st.cost_slow_ns += t1 - c->t0;
		e->st.cost_slow_n++;
		sample(e,
		       e->cfg.mode == ENGINE_BASELINE ? ENGINE_COST_SLOW
		       : c->pb == PB_FAILED	      ? ENGINE_COST_MISS
						      : ENGINE_COST_NOPRED,
		       t1 - c->t0);
	}
	return t1;
}

/* The tail, whichever stage found the packet's egress: transmit, release the pre-built packet
 * (sent when the packet was handed to transmit, wasted when shadow mode's reference dropped
 * it), tell the caller, then learn from the packet and make the work ahead: the next packet
 * pre-built, the tunnel's keystreams, DNS prefetching.  Learning needs the decoded packet; it
 * happens after the transmit. */
static void tail(struct engine *e, struct pktx *c)
{
	struct egress buf;
	const struct egress *out = egress_stage(e, c, &buf);
	bool send = out != NULL;
	c->path = !send || tx(e, c, out) != 0 ? ENGINE_PATH_DROP
		  : c->pb == PB_HIT		    ? ENGINE_PATH_HIT
						    : ENGINE_PATH_SLOW;
	if (c->pb == PB_HIT)
		release(e, c->uf, c->dir, send ? REL_SENT : REL_FAILED);
	if (c->res) {
		struct engine_result *r = c->res;
		r->path = c->path;
		r->esp_how = c->sa >= 0 ? c->esp_how : 0;
		r->esp_len = c->sa >= 0 ? c->esp_len : 0;
		r->esp_open_how = c->in_sa >= 0 ? c->in_how : 0;
		r->esp_open_len = c->in_sa >= 0 ? c->in_len : 0;
		r->esp_extended = c->esp_ext;
		r->prebuilt_failed = c->pb == PB_FAILED;
		r->dir = c->dir;
		r->flow_app = app_of(e, c->uf);
		r->flow_id = c->f->id;
	}
	uint64_t t1 = e->cfg.cost_clock.now_ns ? cost_path(e, c) : 0;
	if (e->cfg.mode == ENGINE_BASELINE || !decode(c))
		return;
	engine__work_after(e, c);
	if (e->cfg.cost_clock.now_ns) {
		uint64_t t2 = cost_now(e);
		e->st.cost_craft_ns += t2 - t1;
		e->st.cost_craft_n++;
		sample(e, ENGINE_COST_CRAFT, t2 - t1);
	}
}

/* Stage 0: every control period, the policy is told the pool's fill and the flow churn. */
static void policy_tick(struct engine *e, uint64_t t_ns)
{
	if (e->cfg.mode == ENGINE_BASELINE || !policy_packet(&e->pol, t_ns))
		return;
	struct pool_stats ps;
	pool_get_stats(e->pool, &ps);
	/* The adaptive policy's memory budget: its overhead ceiling over what the baseline holds
	 * (the flow table and probe cache), within the pool's own budget. */
	double base = (double)(flow_table_bytes(e->flows) + ((size_t)e->probe_mask + 1) * sizeof(*e->probe_cache));
	double budget = (double)e->pol.cfg.overhead_ceiling * base;
	if (budget > (double)ps.budget_bytes || budget <= 0)
		budget = (double)ps.budget_bytes;
	uint64_t ev = flow_table_evictions(e->flows);
	float churn = e->st.packets_in > e->pol_packets
			      ? (float)(ev - e->pol_evictions) / (float)(e->st.packets_in - e->pol_packets)
			      : 0.0f;
	e->pol_evictions = ev;
	e->pol_packets = e->st.packets_in;
	policy_control(&e->pol, budget > 0 ? (float)((double)ps.held_bytes / budget) : 0.0f, churn);
}

/* Finds the packet's egress path, stage by stage; false when it was dropped (counted).  The
 * tunnel's receiving side comes after the probe: a tunnel message for this gateway never has a
 * pre-built packet (its flow is never crafted), so transit hits pay nothing for it; an opened
 * packet goes through the probe in its turn. */
static bool stages(struct engine *e, struct pktx *c)
{
	if (probe_stage(e, c))
		return true;
	if (e->opens) {
		if (!engine__esp_open(e, c)) {
			if (e->cfg.cost_clock.now_ns)
				sample(e, ENGINE_COST_DROP, cost_now(e) - c->t0);
			return false;
		}
		if (c->in_sa >= 0 && probe_stage(e, c))
			return true;
	}
	if (!decode_stage(e, c))
		return false;
	flow_stage(e, c);
	if (e->cfg.mode != ENGINE_BASELINE)
		prebuilt_stage(e, c);
	return true;
}

/* The stages in order, as Open vSwitch's dp_netdev_input__ runs its caches, then the
 * classifier, then the upcall: the probe cache (a hit without decoding), else the tunnel's
 * opening (then the probe again, for the inner packet), decoding, the flow and its pre-built
 * packet; then the one tail. */
void engine_process(struct engine *e, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		    int linktype, uint64_t t_ns, struct engine_result *res)
{
	struct pktx c;
	c.frame = frame;
	c.caplen = caplen;
	c.wirelen = wirelen;
	c.linktype = linktype;
	c.t_ns = t_ns;
	c.t0 = cost_now(e);
	c.res = res;
	c.probe = 0;
	c.decoded = false;
	c.first = false;
	c.pb = PB_NONE;
	c.sa = -1;
	e->st.packets_in++;
	e->st.bytes_in += wirelen;
	if (res)
		memset(res, 0, sizeof *res);
	c.in_sa = -1;
	c.esp_ext = 0;
	policy_tick(e, t_ns);
	if (stages(e, &c))
		tail(e, &c);
}
