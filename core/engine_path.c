/* engine_path: the per-packet stages, slow path and fast path, in the three modes (see
 * engine.h). */
#include <string.h>

#include "csum.h"
#include "engine_impl.h"
#include "predict.h"

static int slow_path(struct engine *e, struct eflow *uf, unsigned dir, uint8_t *hdr, struct egress *out,
		     enum engine_drop *why)
{
	const struct pkt *p = &e->p;
	uint32_t nh;
	enum fwd_verdict v = fwd_route(&e->fwd, p, &nh);
	if (v != FWD_OK) {
		*why = v == FWD_NO_ROUTE ? ENGINE_DROP_NO_ROUTE : ENGINE_DROP_TTL_EXPIRED;
		return -1;
	}
	if (engine__nat_missing(e, uf, p, dir)) {
		*why = ENGINE_DROP_NAT_EXHAUSTED;
		return -1;
	}
	struct pkt q = *p;
	struct fwd_plan plan;
	fwd_rewrite(&e->fwd, &q, nh, dir, uf->nat_port, &plan);
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
static int tx(struct engine *e, const struct egress *o, uint64_t t_ns)
{
	if (e->esp) {
		bool sealed;
		enum engine_drop why;
		int rc = engine__esp_tx(e, o->hdr, o->hdr_len, o->payload, o->payload_len, o->wirelen, t_ns, &sealed,
					&why);
		if (rc) {
			e->st.dropped[why]++;
			return -1;
		}
		if (sealed)
			return 0;
	}
	e->st.packets_out++;
	e->st.bytes_out += o->wirelen;
	if (e->cfg.tx)
		e->cfg.tx(e->cfg.tx_arg, o->hdr, o->hdr_len, o->payload, o->payload_len, o->wirelen, t_ns);
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

/* RFC 1812 header checksum verification, on every packet whichever path it takes: a wrong
 * checksum is counted and the packet forwarded all the same (captures taken with checksum
 * offload carry many). */
static inline void verify_ip4(struct engine *e, const uint8_t *ip, uint32_t ihl)
{
	if (csum_fold(csum_partial(ip, ihl, 0)) != 0)
		e->st.ip_csum_bad++;
}

/* A frame that pkt_parse did not decode to IP: dropped, counted by kind. */
static void count_undecoded(struct engine *e)
{
	const struct pkt *p = &e->p;
	if (p->l3 == PKT_L3_NONE && p->status == PKT_ST_NON_IP) {
		e->st.dropped[ENGINE_DROP_NON_IP]++;
	} else {
		e->st.parse_errors[p->status]++;
		e->st.dropped[ENGINE_DROP_PARSE]++;
	}
}

static void count_hit(struct engine *e, struct eflow *uf, const struct craft_out *o, enum craft_result r)
{
	e->st.hits++;
	uf->hits++;
	e->st.strict_hits += r == CRAFT_HIT_STRICT;
	e->st.payload_hits += o->payload_hit;
	if (o->payload_predicted)
		uf->payload_ok = o->payload_hit;
}

static void sample(struct engine *e, int kind, uint64_t ns)
{
	if (e->cfg.cost_sample)
		e->cfg.cost_sample(e->cfg.cost_sample_arg, kind, ns);
}

static void after(struct engine *e, struct flow_entry *f, struct eflow *uf, unsigned dir, uint64_t t0,
		  bool hit, bool failed, bool first, bool sent, struct engine_result *res)
{
	if (!e->cfg.cost_clock.now_ns) {
		if (e->cfg.mode != ENGINE_BASELINE) {
			engine__craft_next(e, f, uf, dir, res);
			engine__esp_ahead(e, uf, dir, res);
			engine__prefetch_after(e, first, sent, res);
		}
		return;
	}
	uint64_t t1 = cost_now(e);
	if (hit) {
		e->st.cost_hit_ns += t1 - t0;
		e->st.cost_hit_n++;
		sample(e, ENGINE_COST_HIT, t1 - t0);
	} else {
		e->st.cost_slow_ns += t1 - t0;
		e->st.cost_slow_n++;
		sample(e, e->cfg.mode == ENGINE_BASELINE ? ENGINE_COST_SLOW : failed ? ENGINE_COST_MISS : ENGINE_COST_NOPRED,
		       t1 - t0);
	}
	if (e->cfg.mode == ENGINE_BASELINE)
		return;
	engine__craft_next(e, f, uf, dir, res);
	engine__esp_ahead(e, uf, dir, res);
	engine__prefetch_after(e, first, sent, res);
	uint64_t t2 = cost_now(e);
	e->st.cost_craft_ns += t2 - t1;
	e->st.cost_craft_n++;
	sample(e, ENGINE_COST_CRAFT, t2 - t1);
}

/* The probe path: a pre-built packet found by the frame's probe hash, validated against the
 * undecoded frame.  Returns true when it handled the packet. */
static bool probe_hit(struct engine *e, struct pool_buf *b, const uint8_t *frame, uint32_t caplen,
		      uint32_t wirelen, int linktype, uint64_t t_ns, uint64_t t0, struct engine_result *res)
{
	if (craft_ready(b) > t_ns || craft_route_gen(b) != e->route_gen)
		return false; /* still being built (late), or routed by an older table: the decoding
			       * path counts it */
	struct craft_out o;
	enum craft_result r = craft_validate(b, frame, caplen, wirelen, linktype, &o);
	if (r != CRAFT_HIT_STRICT && r != CRAFT_HIT_TEMPLATE)
		return false; /* the decoding path counts the failure */
	struct flow_entry *f = craft_flow(b);
	unsigned dir = craft_dir(b);
	struct eflow *uf = eflow_of(e, f);
	/* What flow_table_get would do differently for this packet, the decoding path does. */
	if ((f->tcp_state != FLOW_TCP_NONE && flow_tcp_is_restart(f, o.tcp_flags)) ||
	    !flow_table_touch(e->flows, f, t_ns))
		return false;
	if (o.ip4_hdr_len)
		verify_ip4(e, frame + o.l3_off, o.ip4_hdr_len);
	flow_account(f, dir, wirelen, t_ns);
	if (f->tcp_state != FLOW_TCP_NONE)
		flow_tcp_update(f, dir, o.tcp_flags);
	count_hit(e, uf, &o, r);
	e->st.probe_hits++;
	if (res) {
		res->path = ENGINE_PATH_HIT;
		res->dir = dir;
		res->flow_app = app_of(e, uf);
		res->flow_id = f->id;
	}
	struct egress out = { o.hdr, o.payload, o.hdr_len, o.payload_len, o.wirelen };
	bool decoded = false, send = true;
	if (e->cfg.mode == ENGINE_SHADOW) {
		/* The reference: decode and run the slow path on the same packet.  What is sent is the
		 * reference; where there is none, the packet is dropped as the slow path drops it. */
		struct egress ref;
		enum engine_drop why = ENGINE_DROP_PARSE;
		decoded = pkt_parse(frame, caplen, wirelen, linktype, &e->p) == 0 && e->p.l3 != PKT_L3_NONE;
		int rr = decoded ? slow_path(e, uf, dir, e->hdr_a, &ref, &why) : -1;
		if (rr != 0 || !same_egress(&ref, &out))
			e->st.divergent_packets++;
		if (rr == 0) {
			out = ref;
		} else {
			send = false;
			if (decoded)
				e->st.dropped[why]++;
			else
				count_undecoded(e);
			if (res)
				res->path = ENGINE_PATH_DROP;
		}
	}
	bool sent = send && tx(e, &out, t_ns) == 0;
	if (send && !sent && res)
		res->path = ENGINE_PATH_DROP;
	if (res && e->cur_sa >= 0) {
		res->esp_how = e->cur_how;
		res->esp_len = e->cur_len;
	}
	release(e, uf, dir, send ? REL_SENT : REL_FAILED);
	uint64_t t1 = cost_now(e);
	e->st.cost_hit_ns += t1 - t0;
	e->st.cost_hit_n++;
	sample(e, ENGINE_COST_HIT, t1 - t0);
	/* Learning needs the decoded packet; it happens after the transmit. */
	if (decoded || (pkt_parse(frame, caplen, wirelen, linktype, &e->p) == 0 && e->p.l3 != PKT_L3_NONE)) {
		engine__craft_next(e, f, uf, dir, res);
		engine__prefetch_after(e, false, sent, res);
	}
	engine__esp_ahead(e, uf, dir, res);
	uint64_t t2 = cost_now(e);
	e->st.cost_craft_ns += t2 - t1;
	e->st.cost_craft_n++;
	sample(e, ENGINE_COST_CRAFT, t2 - t1);
	return true;
}

/* What the flow's pre-built packet did for a packet the probe did not find it for. */
enum second { SECOND_NONE, SECOND_LATE, SECOND_FAILED, SECOND_HIT };

/* The pre-built packet of the flow, for a packet the probe did not find it for.  On a hit
 * '*out' is the packet to send; a late or mismatching buffer is released as waste. */
static enum second second_chance(struct engine *e, struct eflow *uf, unsigned dir, const uint8_t *frame,
				 uint32_t caplen, uint32_t wirelen, int linktype, struct egress *out)
{
	struct pool_buf *b = uf->craft[dir];
	if (!b) {
		e->st.no_prediction++;
		return SECOND_NONE;
	}
	if (craft_ready(b) > e->now_ns) {
		e->st.late++;
		e->st.prefetch_failed += uf->announced;
		uf->announced = 0;
		release(e, uf, dir, REL_WASTED);
		return SECOND_LATE;
	}
	struct craft_out o;
	/* Built with an older route table: its next hop may be gone, so it is not sent. */
	enum craft_result r = craft_route_gen(b) == e->route_gen ? craft_validate(b, frame, caplen, wirelen, linktype, &o)
								 : CRAFT_MISMATCH;
	if (r == CRAFT_HIT_STRICT || r == CRAFT_HIT_TEMPLATE) {
		count_hit(e, uf, &o, r);
		e->st.prefetch_hits += uf->announced;
		uf->announced = 0;
		*out = (struct egress){ o.hdr, o.payload, o.hdr_len, o.payload_len, o.wirelen };
		return SECOND_HIT;
	}
	e->st.prefetch_failed += uf->announced;
	uf->announced = 0;
	e->st.validation_failures++;
	release(e, uf, dir, REL_FAILED);
	return SECOND_FAILED;
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

/* Stage 1, the probe cache: a pre-built packet found from the undecoded frame.  True when it
 * sent the packet. */
static bool probe_stage(struct engine *e, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype,
			uint64_t t_ns, uint64_t t0, struct engine_result *res)
{
	if (e->cfg.mode == ENGINE_BASELINE)
		return false;
	uint32_t h = e->probe = pkt_probe(frame, caplen, linktype);
	struct pool_buf *b = h ? e->probe_cache[h & e->probe_mask] : NULL;
	return b && craft_probe(b) == h && probe_hit(e, b, frame, caplen, wirelen, linktype, t_ns, t0, res);
}

/* Stage 2, decoding: false when the frame is not IP or not sound (counted, dropped). */
static bool decode_stage(struct engine *e, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype,
			 uint64_t t0)
{
	struct pkt *p = &e->p;
	if (pkt_parse(frame, caplen, wirelen, linktype, p) == 0 && p->l3 != PKT_L3_NONE)
		return true;
	count_undecoded(e);
	if (e->cfg.cost_clock.now_ns)
		sample(e, ENGINE_COST_DROP, cost_now(e) - t0);
	return false;
}

/* Stage 3, the flow: lookup (a TCP SYN after the end restarts it), accounting, the IPv4
 * header checksum.  Returns the flow entry and the packet's direction in it. */
static struct flow_entry *flow_stage(struct engine *e, const uint8_t *frame, uint32_t wirelen, uint64_t t_ns,
				     unsigned *dir, bool *first)
{
	const struct pkt *p = &e->p;
	struct flow_key key;
	bool src_is_a, created;
	flow_key_from_pkt(p, &key, &src_is_a);
	struct flow_entry *f =
		flow_table_get(e->flows, &key, flow_key_hash(&key, &e->hkey), src_is_a, t_ns, &created);
	if (!created && p->l4 == PKT_L4_TCP && flow_tcp_is_restart(f, p->tcp.flags)) {
		flow_table_restart(e->flows, f, src_is_a, t_ns);
		created = true;
	}
	struct eflow *uf = eflow_of(e, f);
	if (created) {
		e->st.flows++;
		uf->nat_port = engine__nat_alloc(e, f);
		engine__prefetch_adopt(e, f, uf);
	}
	if (p->l3 == PKT_L3_IPV4)
		verify_ip4(e, frame + p->l3_off, p->ip4.ihl_bytes);
	*dir = flow_dir(f, src_is_a);
	*first = created;
	flow_account(f, *dir, wirelen, t_ns);
	if (p->l4 == PKT_L4_TCP)
		flow_tcp_update(f, *dir, p->tcp.flags);
	return f;
}

/* The slow path's output sent, or the packet dropped and counted. */
static enum engine_path send_slow(struct engine *e, struct eflow *uf, unsigned dir, uint64_t t_ns)
{
	enum engine_drop why;
	struct egress a;
	if (slow_path(e, uf, dir, e->hdr_a, &a, &why) != 0) {
		e->st.dropped[why]++;
		return ENGINE_PATH_DROP;
	}
	return tx(e, &a, t_ns) == 0 ? ENGINE_PATH_SLOW : ENGINE_PATH_DROP;
}

/* Stage 4 in precraft mode: the flow's pre-built packet, else the slow path (a miss). */
static enum engine_path precraft_stage(struct engine *e, struct eflow *uf, unsigned dir, const uint8_t *frame,
				       uint32_t caplen, uint32_t wirelen, int linktype, uint64_t t_ns,
				       enum second *sc)
{
	struct egress a;
	*sc = second_chance(e, uf, dir, frame, caplen, wirelen, linktype, &a);
	if (*sc == SECOND_HIT) {
		int rc = tx(e, &a, t_ns);
		release(e, uf, dir, REL_SENT);
		return rc == 0 ? ENGINE_PATH_HIT : ENGINE_PATH_DROP;
	}
	e->st.misses++;
	uf->misses++;
	return send_slow(e, uf, dir, t_ns);
}

/* Stage 4 in shadow mode: both paths; the slow path's output is what is sent, and a packet
 * whose two outputs differ is counted. */
static enum engine_path shadow_stage(struct engine *e, struct eflow *uf, unsigned dir, const uint8_t *frame,
				     uint32_t caplen, uint32_t wirelen, int linktype, uint64_t t_ns, enum second *sc)
{
	struct egress a, b;
	enum engine_drop why, why_b;
	int ra = slow_path(e, uf, dir, e->hdr_a, &a, &why), rb = 0;
	*sc = second_chance(e, uf, dir, frame, caplen, wirelen, linktype, &b);
	if (*sc != SECOND_HIT) {
		e->st.misses++;
		uf->misses++;
		rb = slow_path(e, uf, dir, e->hdr_b, &b, &why_b);
	}
	if (ra != rb || (ra == 0 && !same_egress(&a, &b)))
		e->st.divergent_packets++;
	if (ra == 0)
		ra = tx(e, &a, t_ns);
	else
		e->st.dropped[why]++;
	if (*sc == SECOND_HIT)
		release(e, uf, dir, REL_SENT);
	return ra != 0 ? ENGINE_PATH_DROP : *sc == SECOND_HIT ? ENGINE_PATH_HIT : ENGINE_PATH_SLOW;
}

/* The stages in order, as Open vSwitch's dp_netdev_input__ runs its caches, then the
 * classifier, then the upcall: each says what it did, so nothing is learnt by diffing
 * counters.  Learning and pre-building the next packet come last, after the transmit. */
void engine_process(struct engine *e, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		    int linktype, uint64_t t_ns, struct engine_result *res)
{
	uint64_t t0 = cost_now(e);
	e->st.packets_in++;
	e->st.bytes_in += wirelen;
	e->now_ns = t_ns;
	e->cur_sa = -1;
	if (res)
		memset(res, 0, sizeof *res);
	policy_tick(e, t_ns);
	if (probe_stage(e, frame, caplen, wirelen, linktype, t_ns, t0, res) ||
	    !decode_stage(e, frame, caplen, wirelen, linktype, t0))
		return;
	unsigned dir;
	bool first;
	struct flow_entry *f = flow_stage(e, frame, wirelen, t_ns, &dir, &first);
	struct eflow *uf = eflow_of(e, f);
	enum second sc = SECOND_NONE;
	enum engine_path path;
	switch (e->cfg.mode) {
	case ENGINE_PRECRAFT:
		path = precraft_stage(e, uf, dir, frame, caplen, wirelen, linktype, t_ns, &sc);
		break;
	case ENGINE_SHADOW:
		path = shadow_stage(e, uf, dir, frame, caplen, wirelen, linktype, t_ns, &sc);
		break;
	default:
		path = send_slow(e, uf, dir, t_ns);
		break;
	}
	if (res) {
		res->path = path;
		res->esp_how = e->cur_sa >= 0 ? e->cur_how : 0;
		res->esp_len = e->cur_sa >= 0 ? e->cur_len : 0;
		res->prebuilt_failed = sc == SECOND_FAILED;
		res->dir = dir;
		res->flow_app = app_of(e, uf);
		res->flow_id = f->id;
	}
	after(e, f, uf, dir, t0, path == ENGINE_PATH_HIT, sc == SECOND_FAILED, path != ENGINE_PATH_DROP && first, path != ENGINE_PATH_DROP, res);
}

