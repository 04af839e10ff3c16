/* shaper: the one shaper setup (see shaper.h). */
#include "shaper.h"

#include <arpa/inet.h>
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/esp.h"
#include "core/recorder.h"
#include "core/route.h"
#include "models/registry.h"
#include "sim/scenario.h"

const char shaper_usage[] =
	"  shaper (the same for replay, replay --timed, sim and hil forward):\n"
	"  --mode M            baseline | precraft (default) | shadow (both paths, count divergences)\n"
	"  --predictor NAME    predictor for pre-crafting (default: last; see 'precraft predictors')\n"
	"  --model-file FILE   model file handed to the predictor (from 'precraft train')\n"
	"  --min-confidence X  build only predictions at least this confident, 0..1 (default 0)\n"
	"  --policy P          pre-building policy: off, static (default) or adaptive\n"
	"  --routes FILE       route table (default: default.routes shipped with precraft)\n"
	"  --tunnel FILE       VPN tunnel: SAs, one a line ('esp NAME spi 0xHEX src A dst A key HEX64\n"
	"                      salt HEX8 match PREFIX[,...] [cipher aes-256-gcm]' or 'wg NAME index 0xHEX\n"
	"                      src A dst A port N key HEX64 match PREFIX[,...]'); matching packets leave sealed\n"
	"  --local A[,A...]    tunnel: this gateway's addresses: SAs seal where their src is one and open\n"
	"                      where their dst is (default: every SA seals, none opens)\n"
	"  --ks-depth N        tunnel: keystreams made ahead per SA, at most (default 8; 0 = none)\n"
	"  --ks-bytes N        tunnel: keystream bytes per entry, at most (default 2048)\n"
	"  --ks-floor F        tunnel: each entry at least F times the SA's recent mean packet, 0..1\n"
	"                      (default 0.75; lower wastes less keystream, extends more on the path)\n"
	"  --dns-prefetch S    pre-build the first packets of flows forwarded DNS answers announce (TCP SYN to\n                      80 and 443, UDP to 443), held for the record's TTL, at most S seconds (default 60;\n                      0 = off)\n"
	"  --snat ADDR         source-NAT IPv4 TCP/UDP flows to ADDR in their first direction\n"
	"  --flows N           flow table capacity (default 65536)\n"
	"  --idle-s S          flow idle timeout in seconds (default 120, 0 = none)\n"
	"  --pool-mb N         pre-built packet pool budget in MiB (default 64)\n"
	"  --seed N            the run's seed: keys the flow table's hash (and the simulator's RNG streams);\n                      hil forward draws a random one unless given (it is recorded)\n";

enum {
	SO_MODE = 1000, SO_PRED, SO_MODEL, SO_CONF, SO_POLICY, SO_ROUTES, SO_TUNNEL, SO_LOCAL, SO_KS_DEPTH, SO_KS_BYTES, SO_KS_FLOOR,
	SO_DNS_PREFETCH, SO_SNAT, SO_FLOWS, SO_IDLE, SO_POOL, SO_SEED
};

static const struct option shaper_options[] = {
	{ "mode", required_argument, 0, SO_MODE },        { "predictor", required_argument, 0, SO_PRED },
	{ "model-file", required_argument, 0, SO_MODEL }, { "min-confidence", required_argument, 0, SO_CONF },
	{ "policy", required_argument, 0, SO_POLICY },    { "routes", required_argument, 0, SO_ROUTES },
	{ "snat", required_argument, 0, SO_SNAT },        { "flows", required_argument, 0, SO_FLOWS },
	{ "idle-s", required_argument, 0, SO_IDLE },      { "pool-mb", required_argument, 0, SO_POOL },
	{ "seed", required_argument, 0, SO_SEED },        { "tunnel", required_argument, 0, SO_TUNNEL },
	{ "ks-depth", required_argument, 0, SO_KS_DEPTH }, { "ks-bytes", required_argument, 0, SO_KS_BYTES },
	{ "dns-prefetch", required_argument, 0, SO_DNS_PREFETCH }, { "local", required_argument, 0, SO_LOCAL },
	{ "ks-floor", required_argument, 0, SO_KS_FLOOR },
	{ 0, 0, 0, 0 },
};

void shaper_opts_defaults(struct shaper_opts *o)
{
	struct engine_cfg d;
	engine_cfg_defaults(&d);
	memset(o, 0, sizeof *o);
	o->mode = d.mode;
	o->predictor = "last";
	o->policy = d.policy.kind;
	o->min_confidence = d.min_confidence;
	o->flows = d.flow_capacity;
	o->idle_s = (double)d.flow_idle_ns / 1e9;
	o->pool_mb = d.pool_budget >> 20;
	o->ks_depth = d.ks_depth;
	o->ks_bytes = d.ks_cap;
	o->ks_floor = d.ks_floor;
	o->dns_prefetch_s = (double)d.prefetch_hold_ns / 1e9;
}

void shaper_join_options(const struct option *own, bool with_shaper, struct option *out, size_t cap)
{
	/* The tables are the program's own: one that does not fit is a programmer error. */
	size_t n = 0;
	for (const struct option *p = own; p->name; p++) {
		assert(n + 1 < cap);
		out[n++] = *p;
	}
	for (const struct option *p = shaper_options; with_shaper && p->name; p++) {
		assert(n + 1 < cap);
		out[n++] = *p;
	}
	memset(&out[n], 0, sizeof out[n]);
}

int shaper_apply_option(int c, const char *arg, struct shaper_opts *o)
{
	uint64_t u;
	double d;
	uint8_t a4[4];
	switch (c) {
	case SO_MODE:
		if (engine_mode_parse(arg, &o->mode)) {
			cli_error("--mode: '%s' is not one of baseline, precraft, shadow", arg);
			return -1;
		}
		o->has_mode = true;
		return 1;
	case SO_PRED:
		if (!models_find(arg)) {
			cli_error("--predictor: unknown predictor '%s' (see 'precraft predictors')", arg);
			return -1;
		}
		o->predictor = arg;
		o->has_predictor = true;
		return 1;
	case SO_MODEL:
		o->model_file = arg;
		o->has_model_file = true;
		return 1;
	case SO_CONF:
		if (!cli_double("--min-confidence", arg, 0, 1, &d))
			return -1;
		o->min_confidence = (float)d;
		o->has_min_confidence = true;
		return 1;
	case SO_POLICY: {
		int k = policy_kind_parse(arg);
		if (k < 0) {
			cli_error("--policy: expected off, static or adaptive, not '%s'", arg);
			return -1;
		}
		o->policy = (enum policy_kind)k;
		o->has_policy = true;
		return 1;
	}
	case SO_ROUTES:
		o->routes = arg;
		o->has_routes = true;
		return 1;
	case SO_TUNNEL:
		o->tunnel = arg;
		o->has_tunnel = true;
		return 1;
	case SO_LOCAL:
		o->local = arg;
		o->has_local = true;
		return 1;
	case SO_KS_DEPTH:
		if (!cli_u64("--ks-depth", arg, 0, 64, &o->ks_depth))
			return -1;
		o->has_ks_depth = true;
		return 1;
	case SO_KS_BYTES:
		if (!cli_u64("--ks-bytes", arg, 64, 65472, &o->ks_bytes))
			return -1;
		o->has_ks_bytes = true;
		return 1;
	case SO_KS_FLOOR:
		if (!cli_double("--ks-floor", arg, 0, 1, &o->ks_floor))
			return -1;
		o->has_ks_floor = true;
		return 1;
	case SO_DNS_PREFETCH:
		if (!cli_double("--dns-prefetch", arg, 0, 1e6, &o->dns_prefetch_s))
			return -1;
		o->has_dns_prefetch = true;
		return 1;
	case SO_SNAT:
		if (inet_pton(AF_INET, arg, a4) != 1) {
			cli_error("--snat: '%s' is not an IPv4 address", arg);
			return -1;
		}
		o->snat = arg;
		o->has_snat = true;
		return 1;
	case SO_FLOWS:
		if (!cli_u64("--flows", arg, 1, 100000000, &o->flows))
			return -1;
		o->has_flows = true;
		return 1;
	case SO_IDLE:
		if (!cli_double("--idle-s", arg, 0, 1e6, &o->idle_s))
			return -1;
		o->has_idle_s = true;
		return 1;
	case SO_POOL:
		if (!cli_u64("--pool-mb", arg, 2, 1 << 20, &u))
			return -1;
		o->pool_mb = u;
		o->has_pool_mb = true;
		return 1;
	case SO_SEED:
		if (!cli_u64("--seed", arg, 0, UINT64_MAX, &o->seed))
			return -1;
		o->has_seed = true;
		return 1;
	}
	return 0;
}

void shaper_from_scenario(const struct scenario *scn, struct shaper_opts *o, struct shaper_paths *paths)
{
	shaper_opts_defaults(o);
	o->mode = (enum engine_mode)scn->mode;
	o->predictor = scn->predictor;
	if (scn->model_file[0]) {
		scenario_resolve(scn, scn->model_file, paths->model_file, sizeof paths->model_file);
		o->model_file = paths->model_file;
	}
	if (strcmp(scn->routes, "default") != 0) {
		scenario_resolve(scn, scn->routes, paths->routes, sizeof paths->routes);
		o->routes = paths->routes;
	}
	if (scn->tunnel[0] && strcmp(scn->tunnel, "none") != 0) { /* "none": a sweep's axis value for no tunnel */
		scenario_resolve(scn, scn->tunnel, paths->tunnel, sizeof paths->tunnel);
		o->tunnel = paths->tunnel;
	}
	o->local = scn->local[0] ? scn->local : NULL;
	o->policy = (enum policy_kind)scn->policy;
	o->min_confidence = (float)scn->min_confidence;
	o->snat = scn->snat[0] ? scn->snat : NULL;
	o->flows = scn->flows;
	o->idle_s = scn->idle_s;
	o->pool_mb = scn->pool_mb;
	o->engines = (unsigned)scn->cpus;
	o->from_scenario = true;
	o->seed = scn->seed;
	o->ks_depth = scn->ks_depth;
	o->ks_bytes = scn->ks_bytes;
	o->ks_floor = scn->ks_floor;
	o->dns_prefetch_s = scn->dns_prefetch_s;
}

int shaper_to_scenario(const struct shaper_opts *o, struct scenario *scn, struct errbuf *eb)
{
	char set[1200];
	int rc = 0;
#define SET(cond, ...)                                                         \
	if (!rc && (cond)) {                                                   \
		snprintf(set, sizeof set, __VA_ARGS__);                        \
		rc = scenario_set(scn, set, eb);                               \
	}
	SET(o->has_mode, "shaper.mode=%s", engine_mode_name(o->mode));
	SET(o->has_predictor, "shaper.predictor=%s", o->predictor);
	SET(o->has_model_file, "shaper.model_file=%s", o->model_file);
	SET(o->has_routes, "shaper.routes=%s", o->routes);
	SET(o->has_tunnel, "shaper.tunnel=%s", o->tunnel);
	SET(o->has_local, "shaper.local=%s", o->local);
	SET(o->has_policy, "policy.kind=%s", policy_kind_name(o->policy));
	SET(o->has_min_confidence, "shaper.min_confidence=%g", o->min_confidence);
	SET(o->has_snat, "shaper.snat=%s", o->snat);
	SET(o->has_flows, "shaper.flows=%llu", (unsigned long long)o->flows);
	SET(o->has_idle_s, "shaper.idle_s=%.17g", o->idle_s);
	SET(o->has_pool_mb, "shaper.pool_mb=%llu", (unsigned long long)o->pool_mb);
	SET(o->has_ks_depth, "shaper.ks_depth=%llu", (unsigned long long)o->ks_depth);
	SET(o->has_ks_bytes, "shaper.ks_bytes=%llu", (unsigned long long)o->ks_bytes);
	SET(o->has_ks_floor, "shaper.ks_floor=%.17g", o->ks_floor);
	SET(o->has_dns_prefetch, "shaper.dns_prefetch_s=%.17g", o->dns_prefetch_s);
#undef SET
	if (!rc && o->has_seed)
		scn->seed = o->seed;
	return rc;
}

/* Seconds as nanoseconds, rounded, a positive time at least 1 ns: 0 means "none" for the idle timeout
 * and DNS prefetching, and --idle-s 1e-10 rounded to it meant no timeout at all. */
static uint64_t seconds_ns_up(double s)
{
	if (!(s > 0))
		return 0;
	double ns = floor(s * 1e9 + 0.5);
	return ns < 1 ? 1 : ns >= 1.8e19 ? UINT64_MAX : (uint64_t)ns;
}

/* What the engines will ask for, checked here where the keys that size it are known, so that
 * the error names them (engine_create would say only "pool of N bytes: invalid argument"). */
static int check_memory(const struct shaper_opts *o, const struct shaper *sh, struct errbuf *eb)
{
	unsigned n = o->engines ? o->engines : 1;
	const char *pool = o->from_scenario ? "shaper.pool_mb" : "--pool-mb";
	const char *who = o->from_scenario ? "shaper.cpus" : "--workers";
	struct engine_cfg one = sh->cfg;
	engine_cfg_shard(&one, 0, n);
	size_t need = engine_pool_min(&sh->cfg);
	if (one.pool_budget < need) {
		size_t mb = ((need * n) + ((size_t)1 << 20) - 1) >> 20;
		if (n > 1)
			return err_set(eb, -ERR_FORMAT,
				       "%s=%llu split over %s=%u leaves %zu KiB an engine; each needs %zu KiB (4 buffers for the "
				       "largest frames and a page): set %s to at least %zu, or fewer %s",
				       pool, (unsigned long long)o->pool_mb, who, n, one.pool_budget >> 10, need >> 10, pool, mb, who);
		return err_set(eb, -ERR_FORMAT, "%s=%llu: the pool needs at least %zu KiB", pool,
			       (unsigned long long)o->pool_mb, need >> 10);
	}
	if (sh->tunnel && o->mode != ENGINE_BASELINE) {
		size_t sas = esp_conf_count(sh->tunnel);
		size_t one_t = esp_ring_bytes(sas, (unsigned)o->ks_depth, (uint32_t)o->ks_bytes);
		if (one_t > ESP_RING_BYTES_MAX || one_t > (SIZE_MAX >> 2) / n || one_t * n > ESP_RING_BYTES_MAX)
			return err_set(eb, -ERR_FORMAT,
				       "the tunnel's keystream rings would take %.1f MiB (%zu SAs x %s=%llu x %s=%llu bytes x %u "
				       "engine%s), more than %zu MiB: lower %s or %s, or use fewer SAs",
				       (double)one_t * n / 1048576.0, sas, o->from_scenario ? "shaper.ks_depth" : "--ks-depth",
				       (unsigned long long)o->ks_depth, o->from_scenario ? "shaper.ks_bytes" : "--ks-bytes",
				       (unsigned long long)o->ks_bytes, n, n == 1 ? "" : "s", ESP_RING_BYTES_MAX >> 20,
				       o->from_scenario ? "shaper.ks_depth" : "--ks-depth",
				       o->from_scenario ? "shaper.ks_bytes" : "--ks-bytes");
	}
	return 0;
}

int shaper_setup(const struct shaper_opts *o, struct shaper *sh, struct errbuf *eb)
{
	memset(sh, 0, sizeof *sh);
	const struct predictor_ops *pops = models_find(o->predictor);
	if (!pops)
		return err_set(eb, -ERR_FORMAT, "predictor: unknown predictor '%s' (see 'precraft predictors')",
			       o->predictor);
	if (o->routes) {
		snprintf(sh->routes_path, sizeof sh->routes_path, "%s", o->routes);
	} else if (!cli_find_data("default.routes", sh->routes_path, sizeof sh->routes_path)) {
		return err_set(eb, -ERR_IO, "no route table found: give one with --routes FILE or set PRECRAFT_DATA");
	}
	int rc = route_table_create(&sh->routes);
	if (rc)
		return err_set(eb, rc, "out of memory");
	if ((rc = route_load_file(sh->routes, sh->routes_path, eb)) != 0) {
		shaper_fini(sh);
		return rc;
	}
	if (o->tunnel && (rc = esp_conf_load(o->tunnel, &sh->tunnel, eb)) != 0) {
		shaper_fini(sh);
		return rc;
	}
	const char *local_name = o->from_scenario ? "shaper.local" : "--local";
	if (o->local && !sh->tunnel) {
		shaper_fini(sh);
		return err_set(eb, -ERR_FORMAT, "%s: only with a tunnel (%s)", local_name,
			       o->from_scenario ? "shaper.tunnel" : "--tunnel");
	}
	if (o->local && (rc = esp_conf_set_local(sh->tunnel, o->local, local_name, eb)) != 0) {
		shaper_fini(sh);
		return rc;
	}
	struct engine_cfg *c = &sh->cfg;
	engine_cfg_defaults(c);
	c->tunnel = sh->tunnel;
	c->ks_depth = (unsigned)o->ks_depth;
	c->ks_cap = (uint32_t)o->ks_bytes;
	c->ks_floor = (float)o->ks_floor;
	c->mode = o->mode;
	c->predictor = pops;
	c->model_file = o->model_file;
	c->min_confidence = o->min_confidence;
	policy_cfg_kind(&c->policy, o->policy);
	c->routes = sh->routes;
	c->flow_capacity = (size_t)o->flows;
	c->flow_idle_ns = seconds_ns_up(o->idle_s);
	c->pool_budget = (size_t)o->pool_mb << 20;
	c->seed = o->seed;
	c->prefetch_hold_ns = seconds_ns_up(o->dns_prefetch_s);
	if ((rc = check_memory(o, sh, eb)) != 0) {
		shaper_fini(sh);
		return rc;
	}
	if (o->snat) {
		if (inet_pton(AF_INET, o->snat, c->snat_addr) != 1) {
			shaper_fini(sh);
			return err_set(eb, -ERR_FORMAT, "snat: '%s' is not an IPv4 address", o->snat);
		}
		c->snat = true;
	}
	return 0;
}

void shaper_fini(struct shaper *sh)
{
	route_table_destroy(sh->routes);
	sh->routes = NULL;
	esp_conf_destroy(sh->tunnel);
	sh->tunnel = NULL;
}

void shaper_record_file(const struct recorder *r, const char *name, const char *path)
{
	char hex[65], key[96];
	/* Hashing reads the whole file: only for a run that records it. */
	if (!path || !r || !r->ops || !cli_file_sha256(path, hex))
		return;
	snprintf(key, sizeof key, "%s_sha256", name);
	rec_param(r, key, hex);
}

void shaper_record_params(const struct shaper_opts *o, const struct shaper *sh, const struct recorder *r)
{
	rec_param(r, "mode", engine_mode_name(o->mode));
	rec_param(r, "predictor", o->predictor);
	rec_param(r, "model_file", o->model_file ? o->model_file : "");
	rec_param(r, "policy", policy_kind_name(o->policy));
	rec_param(r, "routes", sh->routes_path);
	rec_paramf(r, "min_confidence", "%g", o->min_confidence);
	rec_param(r, "snat", o->snat ? o->snat : "");
	rec_paramf(r, "flows", "%llu", (unsigned long long)o->flows);
	rec_paramf(r, "idle_s", "%g", o->idle_s);
	rec_paramf(r, "pool_mb", "%llu", (unsigned long long)o->pool_mb);
	rec_paramf(r, "seed", "%llu", (unsigned long long)o->seed);
	shaper_record_file(r, "routes", sh->routes_path);
	shaper_record_file(r, "model_file", o->model_file);
	rec_param(r, "tunnel", o->tunnel ? o->tunnel : "");
	rec_param(r, "local", o->local ? o->local : "");
	rec_paramf(r, "ks_depth", "%llu", (unsigned long long)o->ks_depth);
	rec_paramf(r, "ks_bytes", "%llu", (unsigned long long)o->ks_bytes);
	rec_paramf(r, "ks_floor", "%g", o->ks_floor);
	rec_paramf(r, "dns_prefetch_s", "%g", o->dns_prefetch_s);
	shaper_record_tunnel(r, sh);
}

void shaper_record_tunnel(const struct recorder *r, const struct shaper *sh)
{
	if (!sh->tunnel)
		return;
	char list[4096];
	size_t n = 0;
	list[0] = 0;
	for (size_t i = 0; i < esp_conf_count(sh->tunnel) && n < sizeof list; i++) {
		const struct esp_sa_conf *sa = esp_conf_sa(sh->tunnel, i);
		int w = snprintf(list + n, sizeof list - n, "%s%s:0x%08x", i ? "," : "", sa->name, sa->spi);
		if (w < 0 || (size_t)w >= sizeof list - n)
			break; /* a very long list is cut at a whole SA */
		n += (size_t)w;
	}
	rec_param(r, "tunnel_sas", list);
}
