/* engine: configuration, lifetime, crafting and statistics (see engine.h); the per-packet
 * stages are in engine_path.c. */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "predict.h"

static const char *const drop_names[] = {
#define ENGINE__DNAME(name, text) text,
	ENGINE_DROP_MAP(ENGINE__DNAME)
#undef ENGINE__DNAME
};

const char *engine_drop_name(unsigned d)
{
	return d < ENGINE_DROP__COUNT ? drop_names[d] : "unknown";
}

int engine_mode_parse(const char *s, enum engine_mode *mode)
{
	static const char *const names[] = { "baseline", "precraft", "shadow" };
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*mode = (enum engine_mode)i;
			return 0;
		}
	return -ERR_INVAL;
}

const char *engine_mode_name(enum engine_mode mode)
{
	return mode == ENGINE_BASELINE ? "baseline" : mode == ENGINE_PRECRAFT ? "precraft" : "shadow";
}

void engine_cfg_defaults(struct engine_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->version = ENGINE_CFG_VERSION;
	cfg->size = (uint32_t)sizeof *cfg;
	cfg->mode = ENGINE_PRECRAFT;
	cfg->flow_capacity = 65536;
	cfg->flow_idle_ns = 120ull * 1000000000ull;
	cfg->pool_budget = 64u << 20;
	cfg->pool_flow_quota = 256u << 10;
	cfg->pool_large_slots = 4;
	policy_cfg_defaults(&cfg->policy);
	/* 00:00:5e:00:53:00 is the documentation MAC range (RFC 7042). */
	static const uint8_t mac[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x00 };
	memcpy(cfg->self_mac, mac, 6);
	cfg->ks_depth = 8;
	cfg->ks_cap = 2048;
	cfg->ks_floor = 0.75f;
	cfg->prefetch_hold_ns = 60ull * 1000000000ull;
	cfg->prefetch_slots = 4096;
}

#define NAT_FIRST 1024u
#define NAT_PORTS (65536u - NAT_FIRST)

/* What fwd_rewrite translates: IPv4 TCP and UDP. */
static inline bool nat_translates(const struct engine *e, uint8_t family, uint8_t proto)
{
	return e->fwd.snat && family == 4 && (proto == IPPROTO_NUM_TCP || proto == IPPROTO_NUM_UDP);
}

uint16_t engine__nat_alloc(struct engine *e, const struct flow_entry *f)
{
	if (!nat_translates(e, f->key.family, f->key.proto) || e->nat_live >= e->nat_cap)
		return 0;
	/* Next fit from the last port given, a word of 64 ports at a time where all are taken: a
	 * port is reused only after its flow ended. */
	uint32_t p = e->next_nat_port;
	for (;;) {
		uint64_t w = e->nat_used[p / 64];
		if (w == UINT64_MAX) {
			p = (p / 64 + 1) * 64;
		} else if (w & (1ull << (p % 64))) {
			p++;
		} else {
			break;
		}
		if (p > 0xffff)
			p = NAT_FIRST;
	}
	e->nat_used[p / 64] |= 1ull << (p % 64);
	e->nat_live++;
	e->next_nat_port = p == 0xffff ? NAT_FIRST : (uint16_t)(p + 1);
	return (uint16_t)p;
}

bool engine__nat_missing(const struct engine *e, const struct eflow *uf, const struct pkt *p, unsigned dir)
{
	return uf->nat_port == 0 && dir == 0 && !p->is_fragment && e->fwd.snat && p->l3 == PKT_L3_IPV4 &&
	       (p->l4 == PKT_L4_TCP || p->l4 == PKT_L4_UDP);
}

static void nat_free(struct engine *e, struct eflow *uf)
{
	if (!uf->nat_port)
		return;
	e->nat_used[uf->nat_port / 64] &= ~(1ull << (uf->nat_port % 64));
	e->nat_live--;
	uf->nat_port = 0;
}

static void on_flow_end(void *arg, struct flow_entry *f, enum flow_end why)
{
	(void)why;
	struct engine *e = arg;
	struct eflow *uf = eflow_of(e, f);
	release(e, uf, 0, REL_WASTED);
	release(e, uf, 1, REL_WASTED);
	nat_free(e, uf);
	if (!e->cfg.flow_end)
		return;
	struct engine_flow_info fi = {
		.id = f->id,
		.family = f->key.family,
		.proto = f->key.proto,
		.vlan = f->key.vlan,
		.packets = (uint64_t)f->packets[0] + f->packets[1],
		.bytes = f->bytes[0] + f->bytes[1],
		.hits = uf->hits,
		.misses = uf->misses,
		.wasted = uf->wasted,
		.first_ns = f->first_ns,
		.last_ns = f->last_ns,
		.app = app_of(e, uf),
	};
	/* The key keeps endpoints in canonical order; the record names them as the first packet. */
	size_t n = f->key.family == 4 ? 4 : 16;
	const uint8_t *s = f->init_is_a ? f->key.a : f->key.b, *d = f->init_is_a ? f->key.b : f->key.a;
	memcpy(fi.src, s, n);
	memcpy(fi.dst, d, n);
	fi.sport = f->init_is_a ? f->key.pa : f->key.pb;
	fi.dport = f->init_is_a ? f->key.pb : f->key.pa;
	e->cfg.flow_end(e->cfg.flow_end_arg, &fi);
}

static struct pool_cfg pool_cfg_of(const struct engine_cfg *cfg)
{
	return (struct pool_cfg){
		.budget_bytes = cfg->pool_budget,
		.flow_quota_bytes = cfg->pool_flow_quota,
		.large_slots = cfg->pool_large_slots,
		.large_bytes = ENGINE_MAX_FRAME + 1024,
		.poison = cfg->pool_poison,
	};
}

/* The other shards' NAT ports, marked taken for good. */
static void nat_init(struct engine *e, unsigned shards)
{
	e->nat_cap = NAT_PORTS;
	for (uint32_t p = NAT_FIRST; shards > 1 && p <= 0xffff; p++)
		if ((p - NAT_FIRST) % shards != e->cfg.shard) {
			e->nat_used[p / 64] |= 1ull << (p % 64);
			e->nat_cap--;
		}
	e->next_nat_port = NAT_FIRST;
}

/* The engine's tables, once its predictor is made: flows, pool, probe cache, egress headers,
 * prefetching and the tunnel.  Returns 0 or an error (in 'eb'); the caller destroys 'e'. */
static int tables_create(struct engine *e, unsigned shards, struct errbuf *eb)
{
	const struct engine_cfg *cfg = &e->cfg;
	struct flow_table_cfg fc = {
		.capacity = cfg->flow_capacity,
		.user_size = e->app_off + cfg->app_flow_size,
		.idle_ns = cfg->flow_idle_ns,
		.on_end = on_flow_end,
		.on_end_arg = e,
		.id_first = cfg->shard + 1u,
		.id_step = shards,
	};
	struct pool_cfg pc = pool_cfg_of(cfg);
	int rc;
	if ((rc = flow_table_create(&fc, &e->flows)) != 0)
		return err_set(eb, rc, "engine: flow table of %zu flows: %s", cfg->flow_capacity, err_str(rc));
	if ((rc = pool_create(&pc, &e->pool)) != 0)
		return err_set(eb, rc, "engine: pool of %zu bytes: %s (it must hold %u large buffers and a page)",
			       cfg->pool_budget, err_str(rc), cfg->pool_large_slots);
	/* Two probe slots per flow (one pre-built packet per direction), up to 2^21. */
	size_t slots = 64;
	while (slots < 2 * cfg->flow_capacity && slots < (1u << 21))
		slots <<= 1;
	e->probe_mask = (uint32_t)(slots - 1);
	e->probe_cache = calloc(slots, sizeof *e->probe_cache);
	e->hdr_a = malloc(ENGINE_MAX_HDR);
	e->hdr_b = malloc(ENGINE_MAX_HDR);
	if (!e->probe_cache || !e->hdr_a || !e->hdr_b || engine__prefetch_create(e) != 0)
		return err_set(eb, -ERR_NOMEM, "engine: out of memory");
	/* Baseline mode makes nothing ahead: no rings. */
	if (cfg->tunnel &&
	    (rc = esp_tunnel_create(cfg->tunnel, cfg->routes, cfg->self_mac, cfg->mode == ENGINE_BASELINE ? 0 : cfg->ks_depth,
				    cfg->ks_cap, &e->esp)) != 0)
		return err_set(eb, rc, "engine: tunnel (%u keystreams of %u bytes per SA): %s", cfg->ks_depth,
			       cfg->ks_cap, err_str(rc));
	e->opens = cfg->tunnel && esp_conf_opens(cfg->tunnel);
	if (e->esp)
		esp_ring_floor(e->esp, cfg->ks_floor);
	/* Several engines with the same SAs: each sends its own slice of their sequence numbers. */
	if (e->esp && shards > 1 && (rc = esp_tunnel_slice(e->esp, cfg->shard, shards)) != 0)
		return err_set(eb, rc, "engine: tunnel: sequence slice %u of %u", cfg->shard, shards);
	return 0;
}

int engine_create(const struct engine_cfg *cfg, struct engine **out, struct errbuf *eb)
{
	if (cfg->version != ENGINE_CFG_VERSION || cfg->size != sizeof *cfg)
		return err_set(eb, -ERR_INVAL,
			       "engine: a configuration of version %u (%u bytes), this library's is %u (%zu bytes): "
			       "start it with engine_cfg_defaults and build against this library's header",
			       cfg->version, cfg->size, ENGINE_CFG_VERSION, sizeof *cfg);
	if (!cfg->routes)
		return err_set(eb, -ERR_INVAL, "engine: no route table");
	unsigned shards = cfg->shards ? cfg->shards : 1;
	if (cfg->shard >= shards)
		return err_set(eb, -ERR_INVAL, "engine: shard %u of %u", cfg->shard, shards);
	if ((uint64_t)cfg->flow_capacity > UINT32_MAX) /* a flow's slot is a ticket's 32-bit index */
		return err_set(eb, -ERR_INVAL, "engine: %zu flows: at most %u", cfg->flow_capacity, UINT32_MAX);
	struct engine *e = calloc(1, sizeof *e);
	if (!e)
		return err_set(eb, -ERR_NOMEM, "engine: out of memory");
	e->cfg = *cfg;
	e->pops = cfg->predictor ? cfg->predictor : &predictor_last;
	e->fwd.routes = cfg->routes;
	memcpy(e->fwd.self_mac, cfg->self_mac, 6);
	e->fwd.snat = cfg->snat;
	memcpy(e->fwd.snat_addr, cfg->snat_addr, 4);
	nat_init(e, shards);
	flow_hash_key_init(&e->hkey, cfg->seed);
	struct policy_cfg pcfg = cfg->policy;
	if (cfg->min_confidence > pcfg.min_confidence)
		pcfg.min_confidence = cfg->min_confidence;
	policy_init(&e->pol, &pcfg);
	int rc = e->pops->create(cfg->model_file, &e->pred, eb);
	if (rc) {
		free(e);
		return rc;
	}
	e->pred_off = (sizeof(struct eflow) + 7) & ~(size_t)7;
	e->app_off = (e->pred_off + e->pops->flow_state_size + 7) & ~(size_t)7;
	if ((rc = tables_create(e, shards, eb)) != 0) {
		engine_destroy(e);
		return rc;
	}
	*out = e;
	return 0;
}

void engine_finish(struct engine *e)
{
	if (e && e->flows)
		flow_table_flush(e->flows);
	if (e)
		engine__work_flush(e);
}

void engine_destroy(struct engine *e)
{
	if (!e)
		return;
	engine_finish(e);
	engine__prefetch_destroy(e);
	flow_table_destroy(e->flows);
	pool_destroy(e->pool);
	if (e->pred)
		e->pops->destroy(e->pred);
	esp_tunnel_destroy(e->esp);
	free(e->probe_cache);
	free(e->hdr_a);
	free(e->hdr_b);
	free(e);
}

size_t engine_pool_min(const struct engine_cfg *cfg)
{
	struct pool_cfg pc = pool_cfg_of(cfg);
	return pool_min_budget(&pc);
}

void engine_cfg_shard(struct engine_cfg *c, unsigned shard, unsigned shards)
{
	if (shards <= 1)
		return;
	c->flow_capacity = (c->flow_capacity + shards - 1) / shards;
	c->pool_budget = c->pool_budget / shards > ((size_t)1 << 20) ? c->pool_budget / shards : (size_t)1 << 20;
	c->shard = shard;
	c->shards = shards;
}

void engine__craft_next(struct engine *e, struct pktx *c)
{
	struct pkt *p = &c->p;
	struct flow_entry *f = c->f;
	struct eflow *uf = c->uf;
	unsigned dir = c->dir;
	if (!craft_eligible(p))
		return;
	if (p->l4 == PKT_L4_TCP)
		pkt_tcp_opts(p);
	struct pred_pkt pk;
	pred_pkt_fill(&pk, p, dir, f->last_ns, f->packets[0] + f->packets[1] - 1);
	void *state = (uint8_t *)uf + e->pred_off;
	e->pops->observe(e->pred, state, &pk);
	if (!uf->pol.cls_set) {
		uf->pol.cls = (uint8_t)policy_classify(&e->pol, pk.tos >> 2, pk.sport, pk.dport);
		uf->pol.cls_set = 1;
	}
	float min_conf;
	bool payload;
	if (!policy_decide(&e->pol, &uf->pol, f->packets[0] + f->packets[1], f->protected_, c->t_ns, &min_conf,
			   &payload))
		return;

	uint32_t nh;
	if (fwd_route(&e->fwd, p, &nh) != FWD_OK || engine__nat_missing(e, uf, p, dir))
		return;
	struct pred_out po;
	memset(&po, 0, sizeof po);
	if (!e->pops->predict(e->pred, state, &pk, &po) || po.confidence < min_conf)
		return;
	if (!payload)
		po.fields &= ~PRED_PAYLOAD;
	release(e, uf, dir, REL_WASTED);
	struct pool_buf *b;
	if (craft_build(e->pool, &uf->pool_bytes, p, c->probe, &po, &e->fwd, nh, f, dir, uf->nat_port, &b)) {
		e->st.craft_failures++;
		return;
	}
	craft_set_route_gen(b, e->route_gen);
	uf->craft[dir] = b;
	uf->next_t[dir] = po.fields & PRED_IAT ? f->last_ns + po.iat_ns : 0;
	uf->serial[dir]++;
	policy_built(&e->pol, &uf->pol);
	e->probe_cache[craft_probe(b) & e->probe_mask] = b;
	e->st.crafted++;
	if (e->cfg.craft_ready_explicit)
		craft_set_ready(b, UINT64_MAX);
	engine__work_add(c, ENGINE_WORK_BUILD, dir, flow_index(e->flows, f), uf->serial[dir], 1, 0);
}

void engine_set_routes(struct engine *e, const struct route_table *rt)
{
	e->fwd.routes = rt;
	e->cfg.routes = rt;
	e->route_gen++;
}

void engine_policy_signals(struct engine *e, const struct policy_signals *sig)
{
	policy_set_signals(&e->pol, sig);
}

const struct policy *engine_policy(const struct engine *e)
{
	return &e->pol;
}

void engine_get_stats(const struct engine *e, struct engine_stats *st)
{
	*st = e->st;
	struct pool_stats ps;
	pool_get_stats(e->pool, &ps);
	st->pool_bytes_peak = ps.peak_bytes;
	st->pool_bytes_held = ps.held_bytes;
	st->pool_failed_gets = ps.failed_nobufs + ps.failed_quota;
	st->pool_double_puts = ps.double_puts;
	st->flows_active = flow_table_count(e->flows);
	st->flow_evictions = flow_table_evictions(e->flows);
	st->flow_chain_evictions = flow_table_chain_evictions(e->flows);
	st->flow_expirations = flow_table_expirations(e->flows);
	if (e->esp) {
		esp_get_stats(e->esp, &st->esp);
		st->tunnel = true;
	}
	/* The probe cache is part of what each flow costs. */
	st->flow_table_bytes = flow_table_bytes(e->flows) + ((size_t)e->probe_mask + 1) * sizeof(*e->probe_cache);
}

