/* scenario: the simulator's configuration, read from an INI file and --set overrides.
 *
 * Every key is declared once, in a table in scenario.c, with its type, unit, range and default;
 * scenarios/README.md documents the same table.  An unknown section or key, or a value out of
 * range, is an error naming the file and line (or the --set argument).  After loading, every
 * key has a value, and scenario_each() lists them all, defaults included, for run_param. */
#ifndef PRECRAFT_SIM_SCENARIO_H
#define PRECRAFT_SIM_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/engine.h"
#include "core/err.h"

#define SCN_MAX_SOURCES 8
#define SCN_PATH 512
#define SCN_RATE_MIN_MBPS 0.001    /* a link's slowest rate other than 0 (infinite) */
/* The most a packet's cost (after shaper.cpu_speed) may be: 1000 s.  With every other bound of
 * the table, sums of simulated times then stay far from 2^64 ns (sim/model_impl.h). */
#define SCN_COST_MAX_NS 1e12

enum scn_loss { SCN_LOSS_NONE, SCN_LOSS_BERNOULLI, SCN_LOSS_GILBERT };
enum scn_src { SCN_SRC_TRACE, SCN_SRC_POISSON, SCN_SRC_ONOFF };
enum scn_ts { SCN_TS_CLAMP, SCN_TS_SKIP };

struct scn_link {
	double rate_mbps;          /* 0 = infinitely fast */
	double delay_us;
	uint64_t queue_pkts;
	uint64_t loss;             /* enum scn_loss */
	double loss_p;             /* Bernoulli loss probability */
	double ge_p_gb, ge_p_bg;   /* Gilbert-Elliott: good->bad, bad->good per packet */
	double ge_loss_good, ge_loss_bad;
};

struct scn_source {
	char name[32];
	uint64_t type;             /* enum scn_src */
	double start_s;
	/* trace */
	char file[SCN_PATH];
	double speed;              /* time scale: 2 = twice as fast */
	uint64_t loop;
	uint64_t clones;           /* copies of the trace on new addresses */
	double clone_spacing_ms;
	uint64_t ts_policy;        /* enum scn_ts: what to do with timestamps that go back or jump */
	double max_gap_s;
	/* synthetic */
	double rate_pps;
	uint64_t flows;
	uint64_t proto;            /* 6 or 17 */
	uint64_t payload_bytes;
	double flow_pkts_shape;    /* Pareto shape of packets per flow (0 = endless flows) */
	double flow_pkts_min;
	double on_ms, off_ms;      /* on/off periods, exponential means */
	double duration_s;
};

/* [ns3]: the closed-loop topologies of build/precraft-ns3 (ns3/); `precraft sim` ignores them. */
struct scn_ns3 {
	uint64_t topology;         /* 0 path (the scenario's own), 1 leafspine, 2 vpn */
	double load;               /* the hosts' links' offered load, 0..1 */
	uint64_t tcp;              /* 0 cubic, 1 dctcp, 2 newreno */
	uint64_t sizes;            /* 0 websearch, 1 datamining */
	double duration_ms;        /* flows arrive for this long */
	double max_flow_mb;        /* flow sizes drawn above this are cut to it */
	uint64_t spines, leaves, hosts;  /* hosts per leaf */
	double host_gbps, fabric_gbps, hop_us;
	uint64_t ecn_k;            /* dctcp: CE mark above this many packets queued */
	uint64_t port_queue;       /* switch and host ports' drop-tail queues, packets */
	uint64_t cipher;           /* vpn: 0 chacha20-poly1305, 1 aes-256-gcm */
	uint64_t bulk, rr;         /* vpn: bulk flows, request/response clients */
	double wan_mbps, wan_ms;   /* vpn: the link between the gateways */
};

struct scenario {
	char path[SCN_PATH];       /* the file read, "" for defaults only */
	/* [run] */
	uint64_t seed, run;
	double stop_s;             /* 0 = when the sources are done */
	double load;               /* the offered load to scale the sources to; 0 = as they are */
	uint64_t exact;            /* 1: trace clones at their places, the same in every run */
	double stats_interval_ms;
	/* [shaper] */
	uint64_t mode;             /* enum engine_mode */
	char predictor[32];
	char model_file[SCN_PATH]; /* "" = none */
	char routes[SCN_PATH];
	char tunnel[SCN_PATH];     /* "" = none */
	uint64_t ks_depth, ks_bytes; /* the tunnel's keystream rings */
	double ks_floor;           /* each entry at least this times the SA's mean */
	char costs[SCN_PATH];
	uint64_t flows;
	double idle_s;
	uint64_t pool_mb;
	double min_confidence;
	double dns_prefetch_s;     /* DNS prefetching's hold time; 0 = off */
	char snat[32];
	char local[256];           /* the gateway's own addresses (tunnel), empty = none */
	uint64_t gateways;         /* 1, or 2: a second gateway opens what the first seals */
	char local2[256];          /* the second gateway's addresses */
	uint64_t queue_pkts;
	uint64_t cpus;             /* the shaper's CPUs, flows hashed to them */
	double cpu_speed;          /* costs are divided by this */
	double slow_ns, hit_ns, miss_ns, craft_ns, drop_ns; /* 0 = from the cost profile */
	/* [policy] */
	uint64_t policy;           /* enum policy_kind */
	uint64_t admit_packets;    /* 0 = the policy's default (static 1, adaptive 3) */
	double admit_rate, precision_floor, overhead_ceiling, queue_target_us, control_ms;
	uint64_t payload;          /* 0 off, 1 on */
	uint64_t high_dscp;
	char high_ports[64], low_ports[64];
	/* [link.in], [link.out] */
	struct scn_link in, out;
	char out_compress[16];     /* link.out's header compressor (core/hc.h), "" or "none" = none */
	uint64_t out_compress_refresh;
	uint64_t out_compress_feedback; /* 1: the decompressor's feedback comes back, a link delay late */
	char out_compress_model[SCN_PATH]; /* its model file (ml, xgb), "" = none */
	struct scn_ns3 ns3;        /* [ns3]: read by build/precraft-ns3 only (ns3/), ignored by `precraft sim` */
	/* [source.NAME] */
	struct scn_source src[SCN_MAX_SOURCES];
	unsigned n_src;
};

/* Fills 's' with every default and no source. */
void scenario_defaults(struct scenario *s);

/* Reads 'path' over the defaults.  Returns 0, or -ERR_FORMAT / -ERR_IO with "file:line: what". */
int scenario_load(struct scenario *s, const char *path, struct errbuf *eb) WARN_UNUSED;

/* Applies "section.key=value" (e.g. "link.in.loss_p=0.01", "source.main.speed=2").  A source
 * section that does not exist yet is created. */
int scenario_set(struct scenario *s, const char *assignment, struct errbuf *eb) WARN_UNUSED;

/* Replaces every source with one trace source, "main", replaying capture 'trace' (a path from
 * the current folder) with the source defaults. */
int scenario_only_trace(struct scenario *s, const char *trace, struct errbuf *eb) WARN_UNUSED;

/* Resolves a path given in the scenario relative to the scenario file's folder. */
/* Parses a comma-separated list of at most POLICY_MAX_PORTS ports.  Returns 0 or -ERR_FORMAT. */
int scenario_ports(const char *list, uint16_t *ports, uint8_t *n);
void scenario_resolve(const struct scenario *s, const char *in, char *out, size_t cap);

/* Calls 'fn' with every key's full name and current value, in a fixed order. */
void scenario_each(const struct scenario *s, void (*fn)(void *arg, const char *name, const char *value),
		   void *arg);

/* Prints the key table as Markdown (the body of scenarios/README.md). */
void scenario_print_keys(FILE *out);

#endif
