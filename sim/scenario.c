/* scenario: the INI reader and the one table of keys (see scenario.h). */
#include "scenario.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/lines.h"
#include "scenario_impl.h"

enum ktype { K_U64, K_DBL, K_STR, K_ENUM };

struct key {
	const char *section;       /* "source" matches every [source.NAME] */
	const char *name;
	enum ktype type;
	size_t off;                /* in struct scenario, or struct scn_source for "source" */
	size_t size;               /* K_STR: buffer size */
	double lo, hi;
	const char *values;        /* K_ENUM: names separated by '|', in enum order */
	const char *def;
	const char *unit;
	const char *help;
	/* A K_STR value's meaning, checked where it is set so that a bad one is named at its file
	 * and line: NULL when it is good, else what it should be.  NULL = any string. */
	const char *(*check)(const struct scenario *s, const char *v);
};


#define S(f) offsetof(struct scenario, f), sizeof(((struct scenario *)0)->f)
#define L(side, f) offsetof(struct scenario, side.f), 0
#define R(f) offsetof(struct scn_source, f), sizeof(((struct scn_source *)0)->f)
#define LINK_KEYS(sec, side)                                                                       \
	{ sec, "rate_mbps", K_DBL, L(side, rate_mbps), 0, 1e9, NULL, "10000", "Mbit/s", "bandwidth, 0 (infinite) or at least 0.001", scn__check_rate }, \
	{ sec, "delay_us", K_DBL, L(side, delay_us), 0, 1e9, NULL, "10", "us", "propagation delay", NULL }, \
	{ sec, "queue_pkts", K_U64, L(side, queue_pkts), 1, 1e9, NULL, "1000", "packets", "drop-tail queue capacity", NULL }, \
	{ sec, "loss", K_ENUM, L(side, loss), 0, 0, "none|bernoulli|gilbert", "none", "", "loss model", NULL }, \
	{ sec, "loss_p", K_DBL, L(side, loss_p), 0, 1, NULL, "0", "probability", "Bernoulli loss per packet", NULL }, \
	{ sec, "ge_p_gb", K_DBL, L(side, ge_p_gb), 0, 1, NULL, "0.001", "probability", "Gilbert-Elliott good to bad, per packet", NULL }, \
	{ sec, "ge_p_bg", K_DBL, L(side, ge_p_bg), 0, 1, NULL, "0.1", "probability", "Gilbert-Elliott bad to good, per packet", NULL }, \
	{ sec, "ge_loss_good", K_DBL, L(side, ge_loss_good), 0, 1, NULL, "0", "probability", "loss in the good state", NULL }, \
	{ sec, "ge_loss_bad", K_DBL, L(side, ge_loss_bad), 0, 1, NULL, "0.5", "probability", "loss in the bad state", NULL }

static const struct key keys[] = {
	{ "run", "seed", K_U64, S(seed), 0, 1.8e19, NULL, "1", "", "seed of every random stream (--seed overrides)", NULL },
	{ "run", "run", K_U64, S(run), 0, 1e9, NULL, "1", "", "run number: independent replications of one seed (--run overrides)", NULL },
	{ "run", "stop_s", K_DBL, S(stop_s), 0, 1e9, NULL, "0", "s", "simulated time to stop at; 0 = when the sources are done", NULL },
	{ "run", "load", K_DBL, S(load), 0, 100, NULL, "0", "", "offered load: the sources (and stop_s) scaled in time so that the baseline's CPUs would be busy this share of the time (1 = saturated, above = overload); 0 = the sources as they are", NULL },
	{ "run", "exact", K_ENUM, S(exact), 0, 0, "off|on", "off", "", "on: every trace clone starts exactly clone_spacing_ms after the one before, the same in every run; off: each (but the first) at a phase of its own in [0, clone_spacing_ms) after that, drawn from the run's random stream, so replications differ", NULL },
	{ "run", "stats_interval_ms", K_DBL, S(stats_interval_ms), 0.001, 1e9, NULL, "10", "ms", "period of the time series in the vector table", NULL },
	{ "shaper", "mode", K_ENUM, S(mode), 0, 0, "baseline|precraft|shadow", "precraft", "", "processing mode", NULL },
	{ "shaper", "predictor", K_STR, S(predictor), 0, 0, NULL, "last", "", "predictor name (precraft predictors)", scn__check_predictor },
	{ "shaper", "model_file", K_STR, S(model_file), 0, 0, NULL, "", "", "model file of a trained predictor (precraft train); empty = none", NULL },
	{ "shaper", "routes", K_STR, S(routes), 0, 0, NULL, "default", "", "route table file, or 'default'", scn__check_file },
	{ "shaper", "tunnel", K_STR, S(tunnel), 0, 0, NULL, "", "", "ESP tunnel file (SAs, one a line); empty or none = no tunnel", scn__check_file_opt },
	{ "shaper", "local", K_STR, S(local), 0, 0, NULL, "", "ADDR[,ADDR]", "tunnel: this gateway's own addresses: an SA seals where its src is one and opens where its dst is; empty = every SA seals, none opens", NULL },
	{ "shaper", "gateways", K_U64, S(gateways), 1, 2, NULL, "1", "gateways", "2: a second gateway (its own CPUs, engines and tunnel view, shaper.local2) after link.out opens what the first seals, then the sink: source -> gateway 1 -> link.out -> gateway 2 -> sink; needs a tunnel and both local keys", NULL },
	{ "shaper", "local2", K_STR, S(local2), 0, 0, NULL, "", "ADDR[,ADDR]", "tunnel, shaper.gateways = 2: the second gateway's own addresses", NULL },
	{ "shaper", "ks_depth", K_U64, S(ks_depth), 0, 64, NULL, "8", "keystreams", "tunnel: keystreams made ahead per SA, at most; 0 = none", NULL },
	{ "shaper", "ks_bytes", K_U64, S(ks_bytes), 64, 65472, NULL, "2048", "bytes", "tunnel: keystream bytes per ring entry, at most (longer packets are sealed in one shot)", NULL },
	{ "shaper", "ks_floor", K_DBL, S(ks_floor), 0, 1, NULL, "0.75", "", "tunnel: each keystream entry at least this fraction of the SA's recent mean packet, however small the packet expected to take it (lower: less waste, more entries extended on the packet's path)", NULL },
	{ "shaper", "costs", K_STR, S(costs), 0, 0, NULL, "default", "", "cost profile from 'precraft calibrate', or 'default'", scn__check_file },
	{ "shaper", "flows", K_U64, S(flows), 1, 1e8, NULL, "65536", "flows", "flow table capacity", NULL },
	{ "shaper", "idle_s", K_DBL, S(idle_s), 0, 1e6, NULL, "120", "s", "flow idle timeout; 0 = none", NULL },
	{ "shaper", "pool_mb", K_U64, S(pool_mb), 2, 1e6, NULL, "64", "MiB", "pre-built packet pool budget", NULL },
	{ "shaper", "min_confidence", K_DBL, S(min_confidence), 0, 1, NULL, "0", "", "confidence a prediction needs to be built", NULL },
	{ "shaper", "dns_prefetch_s", K_DBL, S(dns_prefetch_s), 0, 1e6, NULL, "60", "s", "pre-build the first packets of flows forwarded DNS answers announce, held for the record's TTL, at most this long; 0 = off", NULL },
	{ "shaper", "snat", K_STR, S(snat), 0, 0, NULL, "", "IPv4 address", "source NAT address; empty = no NAT", scn__check_ipv4 },
	{ "shaper", "queue_pkts", K_U64, S(queue_pkts), 1, 1e9, NULL, "1000", "packets", "ingress queue in front of each CPU", NULL },
	{ "shaper", "cpus", K_U64, S(cpus), 1, 64, NULL, "1", "CPUs", "CPUs, flows spread over them by a symmetric hash of their addresses and ports (RSS); each has its own queue, engine and crafting, and a share of the flow table and pool", NULL },
	{ "shaper", "cpu_speed", K_DBL, S(cpu_speed), 1e-6, 1e6, NULL, "1", "", "CPU speed factor: every cost is divided by it", NULL },
	{ "shaper", "slow_ns", K_DBL, S(slow_ns), 0, 1e12, NULL, "0", "ns", "slow-path cost; 0 = from the cost profile", NULL },
	{ "shaper", "hit_ns", K_DBL, S(hit_ns), 0, 1e12, NULL, "0", "ns", "hit cost; 0 = from the cost profile", NULL },
	{ "shaper", "miss_ns", K_DBL, S(miss_ns), 0, 1e12, NULL, "0", "ns", "miss cost in pre-crafting mode; 0 = from the profile", NULL },
	{ "shaper", "craft_ns", K_DBL, S(craft_ns), 0, 1e12, NULL, "0", "ns", "learning, predicting and pre-building one packet; 0 = from the profile", NULL },
	{ "shaper", "drop_ns", K_DBL, S(drop_ns), 0, 1e12, NULL, "0", "ns", "cost of a packet dropped as malformed; 0 = from the profile", NULL },
	{ "policy", "kind", K_ENUM, S(policy), 0, 0, "off|static|adaptive", "static", "", "how aggressively to pre-build (--policy overrides)", NULL },
	{ "policy", "admit_packets", K_U64, S(admit_packets), 0, 1e9, NULL, "0", "packets", "packets a flow sends before it is built for; 0 = static 1, adaptive 3", NULL },
	{ "policy", "admit_rate", K_DBL, S(admit_rate), 1, 1e9, NULL, "10000", "flows/s", "adaptive: flows admitted per second (token bucket)", NULL },
	{ "policy", "precision_floor", K_DBL, S(precision_floor), 0, 1, NULL, "0.6", "", "adaptive: used / built below which a flow backs off and the shaper feels pressure", NULL },
	{ "policy", "overhead_ceiling", K_DBL, S(overhead_ceiling), 0, 100, NULL, "0.1", "", "adaptive: extra CPU time and pool memory over the baseline, as a fraction", NULL },
	{ "policy", "queue_target_us", K_DBL, S(queue_target_us), 0, 1e9, NULL, "20", "us", "adaptive: queueing delay through the shaper counted as pressure beyond this", NULL },
	{ "policy", "control_ms", K_DBL, S(control_ms), 0.001, 1e6, NULL, "1", "ms", "adaptive: period of the global controller", NULL },
	{ "policy", "payload", K_ENUM, S(payload), 0, 0, "off|on", "on", "", "payload anticipation allowed", NULL },
	{ "policy", "high_dscp", K_U64, S(high_dscp), 0, 63, NULL, "0", "", "flows with at least this DSCP are high priority; 0 = none", NULL },
	{ "policy", "high_ports", K_STR, S(high_ports), 0, 0, NULL, "", "", "comma-separated ports whose flows are high priority (at most 8)", scn__check_ports },
	{ "policy", "low_ports", K_STR, S(low_ports), 0, 0, NULL, "", "", "comma-separated ports whose flows are low priority (at most 8)", scn__check_ports },
	LINK_KEYS("link.in", in),
	LINK_KEYS("link.out", out),
	{ "link.out", "compress", K_STR, S(out_compress), 0, 0, NULL, "none", "", "header compression on link.out (core/hc.h): vj (RFC 1144) or a predictor's name (last, header, ml, xgb), the same at both ends; the link carries the compressed frames, the far end rebuilds them (a packet it cannot rebuild is lost); none = off", scn__check_compress },
	{ "link.out", "compress_refresh", K_U64, S(out_compress_refresh), 0, 1e9, NULL, "64", "packets", "packets of a flow between refreshes of its compression context (no feedback: a lost frame costs its flow until the next); 0 = only after 1 s of silence", NULL },
	{ "link.out", "compress_feedback", K_ENUM, S(out_compress_feedback), 0, 0, "off|on", "off", "", "on: the far end's decompressor sends feedback back (the flows it lost step with), arriving a link.out delay later (not queued, not lost); the compressor refreshes such a flow with its next packet instead of waiting for compress_refresh", NULL },
	{ "link.out", "compress_model", K_STR, S(out_compress_model), 0, 0, NULL, "", "", "the compressor's model file (ml, xgb); empty = none", scn__check_file_opt },
	{ "ns3", "topology", K_ENUM, S(ns3.topology), 0, 0, "path|leafspine|vpn", "path", "", "precraft-ns3: path = this scenario's sources through one shaper node on ns-3's links (cross-validation); leafspine = a fabric of shaper nodes carrying TCP flows; vpn = two gateway nodes carrying TCP through the tunnel", NULL },
	{ "ns3", "load", K_DBL, S(ns3.load), 0.01, 0.95, NULL, "0.5", "", "leafspine: flows arrive (Poisson) to load each host's link this share; vpn: the WAN link", NULL },
	{ "ns3", "tcp", K_ENUM, S(ns3.tcp), 0, 0, "cubic|dctcp|newreno", "cubic", "", "ns-3's TCP congestion control at the hosts", NULL },
	{ "ns3", "sizes", K_ENUM, S(ns3.sizes), 0, 0, "websearch|datamining", "websearch", "", "leafspine: flow sizes from the web-search or data-mining distribution (pFabric, HPCC)", NULL },
	{ "ns3", "duration_ms", K_DBL, S(ns3.duration_ms), 0.1, 1e6, NULL, "20", "ms", "leafspine, vpn: flows start for this long; the run ends when they finish, or at 4 times this plus 20 ms (vpn: plus 20 WAN round trips); flows not done then are counted, not timed", NULL },
	{ "ns3", "max_flow_mb", K_DBL, S(ns3.max_flow_mb), 0.001, 1e6, NULL, "30", "MB", "leafspine: a flow size drawn above this is cut to it (data mining's tail reaches 1 GB); the arrival rate is set from the sizes as cut", NULL },
	{ "ns3", "spines", K_U64, S(ns3.spines), 1, 64, NULL, "2", "switches", "leafspine: spine switches", NULL },
	{ "ns3", "leaves", K_U64, S(ns3.leaves), 2, 64, NULL, "4", "switches", "leafspine: leaf switches", NULL },
	{ "ns3", "hosts", K_U64, S(ns3.hosts), 1, 64, NULL, "8", "hosts", "leafspine: hosts per leaf; vpn: hosts per site", NULL },
	{ "ns3", "host_gbps", K_DBL, S(ns3.host_gbps), 0.001, 400, NULL, "10", "Gbit/s", "leafspine, vpn: hosts' links", NULL },
	{ "ns3", "fabric_gbps", K_DBL, S(ns3.fabric_gbps), 0.001, 400, NULL, "40", "Gbit/s", "leafspine: leaf-spine links", NULL },
	{ "ns3", "hop_us", K_DBL, S(ns3.hop_us), 0, 1e6, NULL, "1", "us", "leafspine, vpn: propagation delay of each site link", NULL },
	{ "ns3", "ecn_k", K_U64, S(ns3.ecn_k), 1, 1e6, NULL, "65", "packets", "dctcp: a switch marks CE on packets it sends into a queue longer than this", NULL },
	{ "ns3", "port_queue", K_U64, S(ns3.port_queue), 1, 1e6, NULL, "200", "packets", "leafspine, vpn: each link's drop-tail queue at both ends (the WAN's: at least a round trip's worth)", NULL },
	{ "ns3", "cipher", K_ENUM, S(ns3.cipher), 0, 0, "chacha20-poly1305|aes-256-gcm", "chacha20-poly1305", "", "vpn: the tunnel's AEAD", NULL },
	{ "ns3", "bulk", K_U64, S(ns3.bulk), 0, 1024, NULL, "2", "flows", "vpn: bulk transfers through the tunnel, each way", NULL },
	{ "ns3", "rr", K_U64, S(ns3.rr), 0, 1024, NULL, "8", "clients", "vpn: request/response clients (Poisson, 500 requests a second each, of 100 B, answered with 2-64 KB; new connections each; while the bulk transfers run, or over duration_ms without bulk)", NULL },
	{ "ns3", "wan_mbps", K_DBL, S(ns3.wan_mbps), 0.001, 4e5, NULL, "10000", "Mbit/s", "vpn: the link between the gateways", NULL },
	{ "ns3", "wan_ms", K_DBL, S(ns3.wan_ms), 0, 1e4, NULL, "1", "ms", "vpn: its one-way delay", NULL },
	{ "source", "type", K_ENUM, R(type), 0, 0, "trace|poisson|onoff", "trace", "", "what generates the packets", NULL },
	{ "source", "start_s", K_DBL, R(start_s), 0, 1e9, NULL, "0", "s", "when the source starts", NULL },
	{ "source", "file", K_STR, R(file), 0, 0, NULL, "", "", "trace: capture file (pcap, pcapng, gzip), relative to the scenario", NULL },
	{ "source", "speed", K_DBL, R(speed), 1e-6, 1e9, NULL, "1", "", "trace: time scale, 2 = twice as fast", NULL },
	{ "source", "loop", K_U64, R(loop), 1, 1e9, NULL, "1", "times", "trace: replays, one after the other", NULL },
	{ "source", "clones", K_U64, R(clones), 1, 65536, NULL, "1", "copies", "trace: copies on new addresses (198.18.0.0/15, 2001:2::/48), started clone_spacing_ms apart", NULL },
	{ "source", "clone_spacing_ms", K_DBL, R(clone_spacing_ms), 0, 1e9, NULL, "1", "ms", "trace: start offset between clones", NULL },
	{ "source", "ts_policy", K_ENUM, R(ts_policy), 0, 0, "clamp|skip", "clamp", "", "trace: a timestamp going back or jumping more than max_gap_s is clamped, or its packet skipped", NULL },
	{ "source", "max_gap_s", K_DBL, R(max_gap_s), 0, 1e9, NULL, "10", "s", "trace: largest gap taken as it is", NULL },
	{ "source", "rate_pps", K_DBL, R(rate_pps), 0, 1e12, NULL, "10000", "packets/s", "poisson/onoff: packet rate (while on)", NULL },
	{ "source", "flows", K_U64, R(flows), 1, 1e8, NULL, "100", "flows", "poisson/onoff: concurrent flows", NULL },
	{ "source", "proto", K_ENUM, R(proto), 0, 0, "udp|tcp", "udp", "", "poisson/onoff: transport", NULL },
	{ "source", "payload_bytes", K_U64, R(payload_bytes), 0, 1400, NULL, "200", "bytes", "poisson/onoff: payload per packet", NULL },
	{ "source", "flow_pkts_shape", K_DBL, R(flow_pkts_shape), 0, 100, NULL, "0", "", "poisson/onoff: Pareto shape of packets per flow (heavy tail); 0 = flows never end", NULL },
	{ "source", "flow_pkts_min", K_DBL, R(flow_pkts_min), 1, 1e9, NULL, "10", "packets", "poisson/onoff: Pareto scale (smallest flow)", NULL },
	{ "source", "on_ms", K_DBL, R(on_ms), 0, 1e9, NULL, "100", "ms", "onoff: mean on period (exponential)", NULL },
	{ "source", "off_ms", K_DBL, R(off_ms), 0, 1e9, NULL, "100", "ms", "onoff: mean off period (exponential)", NULL },
	{ "source", "duration_s", K_DBL, R(duration_s), 0, 1e9, NULL, "1", "s", "poisson/onoff: how long the source runs", NULL },
};

#define N_KEYS (sizeof keys / sizeof keys[0])

static bool is_source_key(const struct key *k)
{
	return strcmp(k->section, "source") == 0;
}

static int set_value(void *base, const struct key *k, const char *v, char *why, size_t why_n)
{
	char *p = (char *)base + k->off;
	char *end;
	errno = 0;
	switch (k->type) {
	case K_U64: {
		unsigned long long x = strtoull(v, &end, 10);
		if (!*v || *end || errno || v[0] == '-' || (double)x < k->lo || (double)x > k->hi) {
			snprintf(why, why_n, "a whole number from %.0f to %.0f", k->lo, k->hi);
			return -1;
		}
		*(uint64_t *)(void *)p = x;
		return 0;
	}
	case K_DBL: {
		double x = strtod(v, &end);
		if (!*v || *end || errno || !(x >= k->lo && x <= k->hi)) {
			snprintf(why, why_n, "a number from %g to %g", k->lo, k->hi);
			return -1;
		}
		*(double *)(void *)p = x;
		return 0;
	}
	case K_STR:
		if (strlen(v) >= k->size) {
			snprintf(why, why_n, "at most %zu characters", k->size - 1);
			return -1;
		}
		strcpy(p, v);
		return 0; /* the meaning: assign() */
	case K_ENUM: {
		uint64_t i = 0;
		for (const char *s = k->values; *s; i++) {
			size_t n = strcspn(s, "|");
			if (strlen(v) == n && strncmp(s, v, n) == 0) {
				*(uint64_t *)(void *)p = i;
				return 0;
			}
			s += n + (s[n] == '|');
		}
		snprintf(why, why_n, "one of %s", k->values);
		return -1;
	}
	}
	return -1;
}

static void defaults_for(void *base, bool source)
{
	char why[128];
	for (size_t i = 0; i < N_KEYS; i++)
		if (is_source_key(&keys[i]) == source)
			(void)set_value(base, &keys[i], keys[i].def, why, sizeof why);
}

void scenario_defaults(struct scenario *s)
{
	memset(s, 0, sizeof *s);
	defaults_for(s, false);
}

static struct scn_source *find_source(struct scenario *s, const char *name, bool create)
{
	for (unsigned i = 0; i < s->n_src; i++)
		if (strcmp(s->src[i].name, name) == 0)
			return &s->src[i];
	if (!create || s->n_src == SCN_MAX_SOURCES || strlen(name) >= sizeof s->src[0].name || !*name)
		return NULL;
	struct scn_source *src = &s->src[s->n_src++];
	memset(src, 0, sizeof *src);
	defaults_for(src, true);
	strcpy(src->name, name);
	return src;
}

/* The first control byte (below 0x20, or DEL) in 's', or 0.  Names and values land in the
 * results database and from there in reports and plots: they are printable text. */
static int control_byte(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return *p;
	return 0;
}

/* Assigns 'value' to 'key' of 'section'.  'where' prefixes errors ("file:line" or "--set"). */
static int assign(struct scenario *s, const char *section, const char *key, const char *value, const char *where,
		  struct errbuf *eb)
{
	int cb = control_byte(section) ? control_byte(section) : control_byte(key) ? control_byte(key) : control_byte(value);
	if (cb)
		return err_set(eb, -ERR_FORMAT, "%s: a control character (0x%02x) in a section, key or value: they are printable text",
			       where, cb);
	void *base = s;
	bool source = strncmp(section, "source.", 7) == 0;
	if (source) {
		base = find_source(s, section + 7, true);
		if (!base)
			return err_set(eb, -ERR_FORMAT, "%s: cannot add source '%s' (at most %d, names up to 31 characters)",
				       where, section + 7, SCN_MAX_SOURCES);
	}
	bool section_known = source;
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		if (source ? !is_source_key(k) : strcmp(k->section, section) != 0)
			continue;
		section_known = true;
		if (strcmp(k->name, key) != 0)
			continue;
		char why[128];
		const char *bad = NULL;
		if (set_value(base, k, value, why, sizeof why))
			bad = why;
		else if (k->check)
			bad = k->check(s, value);
		if (bad)
			return err_set(eb, -ERR_FORMAT, "%s: bad value '%s' for %s.%s: expected %s", where, value, section,
				       key, bad);
		return 0;
	}
	if (!section_known)
		return err_set(eb, -ERR_FORMAT, "%s: unknown section [%s] (run, shaper, policy, link.in, link.out, ns3, source.NAME)",
			       where, section);
	return err_set(eb, -ERR_FORMAT, "%s: unknown key '%s' in [%s] (see scenarios/README.md)", where, key, section);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

int scenario_load(struct scenario *s, const char *path, struct errbuf *eb)
{
	if (strlen(path) >= sizeof s->path)
		return err_set(eb, -ERR_FORMAT, "a scenario path longer than %zu bytes", sizeof s->path - 1);
	struct lines ls;
	int rc = lines_open(&ls, path, eb);
	if (rc)
		return rc;
	snprintf(s->path, sizeof s->path, "%s", path);
	char *line, section[64] = "", where[SCN_PATH + 32];
	unsigned n = 0;
	while (!rc && (rc = lines_next(&ls, &line, eb)) == 1) {
		n = ls.no;
		rc = 0;
		snprintf(where, sizeof where, "%s:%u", path, n);
		char *c = strpbrk(line, "#;");
		if (c)
			*c = 0;
		char *t = trim(line);
		if (!*t)
			continue;
		if (*t == '[') {
			char *close = strchr(t, ']');
			if (!close || close[1] || close - t - 1 >= (long)sizeof section) {
				rc = err_set(eb, -ERR_FORMAT, "%s: bad section header '%s'", where, t);
				break;
			}
			*close = 0;
			snprintf(section, sizeof section, "%s", trim(t + 1));
			if (control_byte(section)) {
				rc = err_set(eb, -ERR_FORMAT, "%s: a control character (0x%02x) in a section name: names are printable text",
					     where, control_byte(section));
				break;
			}
			if (strncmp(section, "source.", 7) == 0 && !find_source(s, section + 7, true))
				rc = err_set(eb, -ERR_FORMAT, "%s: cannot add source '%s'", where, section + 7);
			continue;
		}
		char *eq = strchr(t, '=');
		if (!eq) {
			rc = err_set(eb, -ERR_FORMAT, "%s: expected 'key = value', got '%s'", where, t);
			break;
		}
		*eq = 0;
		if (!*section) {
			rc = err_set(eb, -ERR_FORMAT, "%s: key '%s' before any [section]", where, trim(t));
			break;
		}
		rc = assign(s, section, trim(t), trim(eq + 1), where, eb);
	}
	lines_close(&ls);
	return rc;
}

int scenario_set(struct scenario *s, const char *a, struct errbuf *eb)
{
	char buf[1024];
	if (strlen(a) >= sizeof buf)
		return err_set(eb, -ERR_FORMAT, "--set: longer than %zu bytes", sizeof buf - 1);
	snprintf(buf, sizeof buf, "%s", a);
	char *eq = strchr(buf, '=');
	char *dot = NULL;
	for (char *q = buf; eq && q < eq; q++) /* the last dot before '=' ends the section */
		if (*q == '.')
			dot = q;
	if (!eq || !dot || dot == buf)
		return err_set(eb, -ERR_FORMAT, "--set %s: expected section.key=value", a);
	*eq = 0;
	*dot = 0;
	char where[1100];
	if (control_byte(a)) /* not echoed: a newline would split the one error line */
		snprintf(where, sizeof where, "--set");
	else
		snprintf(where, sizeof where, "--set %s", a);
	return assign(s, trim(buf), trim(dot + 1), trim(eq + 1), where, eb);
}

int scenario_only_trace(struct scenario *s, const char *trace, struct errbuf *eb)
{
	s->n_src = 0;
	struct scn_source *src = find_source(s, "main", true);
	src->type = SCN_SRC_TRACE;
	/* The trace is named relative to where the command runs, not to the scenario's folder. */
	char cwd[SCN_PATH];
	int n;
	if (trace[0] == '/' || !getcwd(cwd, sizeof cwd))
		n = snprintf(src->file, sizeof src->file, "%s", trace);
	else
		n = snprintf(src->file, sizeof src->file, "%s/%s", cwd, trace);
	if (n < 0 || (size_t)n >= sizeof src->file)
		return err_set(eb, -ERR_INVAL, "%s: the path is longer than %d bytes", trace, SCN_PATH - 1);
	return 0;
}

void scenario_resolve(const struct scenario *s, const char *in, char *out, size_t cap)
{
	const char *slash = strrchr(s->path, '/');
	if (in[0] == '/' || !slash)
		snprintf(out, cap, "%s", in);
	else
		snprintf(out, cap, "%.*s/%s", (int)(slash - s->path), s->path, in);
}

static void format(const void *base, const struct key *k, char *out, size_t n)
{
	const char *p = (const char *)base + k->off;
	switch (k->type) {
	case K_U64:
		snprintf(out, n, "%llu", (unsigned long long)*(const uint64_t *)(const void *)p);
		break;
	case K_DBL: {
		/* The shortest text that reads back as the same double: 0.3, not 0.29999999999999999. */
		double v = *(const double *)(const void *)p;
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(out, n, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
		break;
	}
	case K_STR:
		snprintf(out, n, "%s", p);
		break;
	case K_ENUM: {
		uint64_t v = *(const uint64_t *)(const void *)p;
		const char *s = k->values;
		for (uint64_t i = 0; i < v && *s; i++)
			s += strcspn(s, "|") + 1;
		snprintf(out, n, "%.*s", (int)strcspn(s, "|"), s);
		break;
	}
	}
}

void scenario_each(const struct scenario *s, void (*fn)(void *arg, const char *name, const char *value), void *arg)
{
	char name[128], value[SCN_PATH];
	for (size_t i = 0; i < N_KEYS; i++) {
		if (is_source_key(&keys[i]))
			continue;
		snprintf(name, sizeof name, "%s.%s", keys[i].section, keys[i].name);
		format(s, &keys[i], value, sizeof value);
		fn(arg, name, value);
	}
	for (unsigned j = 0; j < s->n_src; j++)
		for (size_t i = 0; i < N_KEYS; i++) {
			if (!is_source_key(&keys[i]))
				continue;
			snprintf(name, sizeof name, "source.%s.%s", s->src[j].name, keys[i].name);
			format(&s->src[j], &keys[i], value, sizeof value);
			fn(arg, name, value);
		}
}

void scenario_print_keys(FILE *out)
{
	const char *last = "";
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		if (strcmp(k->section, last) != 0) {
			fprintf(out, "\n### [%s%s]\n\n| key | default | unit | meaning |\n|---|---|---|---|\n", k->section,
				is_source_key(k) ? ".NAME" : "");
			last = k->section;
		}
		fprintf(out, "| `%s` | `%s` | %s | %s%s%s |\n", k->name, *k->def ? k->def : "(empty)", k->unit,
			k->help, k->type == K_ENUM ? ": " : "", k->type == K_ENUM ? k->values : "");
	}
}
