/* shaper: the one shaper setup, shared by every runner (replay, replay --timed, sim, hil forward).
 *
 * The engine options a researcher sets on the command line (--mode, --predictor, --model-file,
 * --min-confidence, --policy, --routes, --tunnel, --local, --ks-depth, --ks-bytes, --ks-floor, --dns-prefetch, --snat, --flows, --idle-s, --pool-mb, --seed) are parsed
 * here once, from one option table, and turned here once into the engine's configuration: the
 * route table loaded (the shipped default.routes unless --routes), the predictor found, the
 * policy chosen.  The simulator's scenario keys (shaper.*, policy.kind) map onto the same
 * options (shaper_from_scenario), so a scenario and a command line mean the same thing.
 *
 * The dispatcher (cli/main.c) takes the shaper's options for the rows that have them and hands a
 * handler the result (cli_args.shaper); the handler calls shaper_setup(). */
#ifndef PRECRAFT_CLI_SHAPER_H
#define PRECRAFT_CLI_SHAPER_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"
#include "core/err.h"

struct esp_conf;
struct recorder;
struct route_table;
struct scenario;

/* What the options say, before anything is loaded. */
struct shaper_opts {
	enum engine_mode mode;
	const char *predictor;     /* name (default "last") */
	const char *model_file;    /* NULL: none */
	const char *routes;        /* NULL: the shipped default.routes */
	const char *tunnel;        /* NULL: no ESP tunnel */
	const char *local;         /* the gateway's addresses (esp_conf_set_local), NULL: none */
	enum policy_kind policy;
	float min_confidence;
	const char *snat;          /* IPv4 address text, NULL: no source NAT */
	uint64_t flows, pool_mb, seed;
	uint64_t ks_depth, ks_bytes; /* the tunnel's keystream rings: entries per SA, bytes each */
	double ks_floor;           /* each entry at least this fraction of the SA's mean */
	double idle_s;
	double dns_prefetch_s;     /* how long an announced flow's template is held at most; 0: off */
	unsigned engines;          /* engines that split the memory (shaper.cpus, --workers); 0 = 1 */
	bool from_scenario;        /* errors name the scenario's keys rather than the options */
	/* Which options were given, so that --timed and sim apply only those over a scenario. */
	bool has_mode, has_predictor, has_model_file, has_routes, has_tunnel, has_local, has_policy, has_min_confidence, has_snat,
		has_flows, has_idle_s, has_pool_mb, has_seed, has_ks_depth, has_ks_bytes, has_ks_floor, has_dns_prefetch;
};

/* The options, for a command's --help. */
extern const char shaper_usage[];

/* Fills 'o' with the defaults (the engine's own). */
void shaper_opts_defaults(struct shaper_opts *o);

/* The command's own long options 'own' (a zero row last, values below 1000) and, when
 * 'with_shaper', the shaper's, in one getopt_long table of 'cap' rows (the dispatcher's). */
void shaper_join_options(const struct option *own, bool with_shaper, struct option *out, size_t cap);

/* Takes option 'c' (getopt_long's value) with argument 'arg' into 'o' when it is one of the
 * shaper's: 1 taken, 0 not the shaper's, -1 a bad value (the error said). */
int shaper_apply_option(int c, const char *arg, struct shaper_opts *o);

/* The scenario's shaper keys as options (the scenario's defaults are the engine's); paths in
 * the scenario are resolved against its folder into 'paths' storage held by the caller. */
struct shaper_paths {
	char routes[1024], model_file[1024], tunnel[1024];
};
void shaper_from_scenario(const struct scenario *scn, struct shaper_opts *o, struct shaper_paths *paths);

/* The same options written back as scenario keys (shaper.predictor=..., policy.kind=...), for
 * the options that were given, so that the run's parameters list what it ran with. */
int shaper_to_scenario(const struct shaper_opts *o, struct scenario *scn, struct errbuf *eb) WARN_UNUSED;

/* What setup built: the engine configuration (tx, flow_end and the rest still for the caller to
 * set) and the route table it borrows. */
struct shaper {
	struct engine_cfg cfg;
	struct route_table *routes;
	struct esp_conf *tunnel;   /* NULL without --tunnel */
	char routes_path[1024];
};

/* Loads the route table (and the tunnel file), finds the predictor and fills 'sh'.  Returns 0, or a negative ERR_*
 * with one line in 'eb' (an unknown predictor, a bad route table: -ERR_FORMAT or -ERR_IO). */
int shaper_setup(const struct shaper_opts *o, struct shaper *sh, struct errbuf *eb) WARN_UNUSED;
void shaper_fini(struct shaper *sh);

/* Records the options as run parameters, and the content hash of each input file (routes,
 * model file) as NAME_sha256.  Of a tunnel file only its path and each SA's name and SPI are
 * recorded (tunnel_sas = "name:0xSPI,..."): never the keys, nor a hash of a file that holds
 * them. */
void shaper_record_params(const struct shaper_opts *o, const struct shaper *sh, const struct recorder *r);

/* With a tunnel: its SAs' names and SPIs as tunnel_sas (never a key). */
void shaper_record_tunnel(const struct recorder *r, const struct shaper *sh);

/* Records 'path''s SHA-256 as parameter 'name'_sha256. */
void shaper_record_file(const struct recorder *r, const char *name, const char *path);

#endif
