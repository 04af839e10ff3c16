/* shaper: the one shaper setup, shared by every runner (replay, replay --timed, sim, hil forward).
 *
 * The engine options a researcher sets on the command line (--mode, --predictor, --model-file,
 * --min-confidence, --policy, --routes, --snat, --flows, --idle-s, --pool-mb, --seed) are parsed
 * here once, from one option table, and turned here once into the engine's configuration: the
 * route table loaded (the shipped default.routes unless --routes), the predictor found, the
 * policy chosen.  The simulator's scenario keys (shaper.*, policy.kind) map onto the same
 * options (shaper_from_scenario), so a scenario and a command line mean the same thing.
 *
 * A command joins shaper_options to its own getopt_long table (shaper_options_join), hands each
 * option it does not know to shaper_option(), then calls shaper_setup(). */
#ifndef PRECRAFT_CLI_SHAPER_H
#define PRECRAFT_CLI_SHAPER_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"
#include "core/err.h"

struct recorder;
struct route_table;
struct scenario;

/* What the options say, before anything is loaded. */
struct shaper_opts {
	enum engine_mode mode;
	const char *predictor;     /* name (default "last") */
	const char *model_file;    /* NULL: none */
	const char *routes;        /* NULL: the shipped default.routes */
	enum policy_kind policy;
	float min_confidence;
	const char *snat;          /* IPv4 address text, NULL: no source NAT */
	uint64_t flows, pool_mb, seed;
	double idle_s;
	/* Which options were given, so that --timed and sim apply only those over a scenario. */
	bool has_mode, has_predictor, has_model_file, has_routes, has_policy, has_min_confidence, has_snat,
		has_flows, has_idle_s, has_pool_mb, has_seed;
};

/* The options, for a command's --help. */
extern const char shaper_usage[];

/* Fills 'o' with the defaults (the engine's own). */
void shaper_opts_defaults(struct shaper_opts *o);

/* Copies 'own' (ending with a zero row) and the shaper's options into 'out' (room for 'cap'
 * rows).  Returns false when they do not fit. */
bool shaper_options_join(const struct option *own, struct option *out, size_t cap);

/* Handles getopt_long's return 'c' with 'arg' when it is a shaper option: returns 1 (taken),
 * 0 (not a shaper option), or -1 (a bad value: the error is printed). */
int shaper_option(int c, const char *arg, struct shaper_opts *o);

/* The scenario's shaper keys as options (the scenario's defaults are the engine's); paths in
 * the scenario are resolved against its folder into 'paths' storage held by the caller. */
struct shaper_paths {
	char routes[1024], model_file[1024];
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
	char routes_path[1024];
};

/* Loads the route table, finds the predictor and fills 'sh'.  Returns 0, or a negative ERR_*
 * with one line in 'eb' (an unknown predictor, a bad route table: -ERR_FORMAT or -ERR_IO). */
int shaper_setup(const struct shaper_opts *o, struct shaper *sh, struct errbuf *eb) WARN_UNUSED;
void shaper_fini(struct shaper *sh);

/* Records the options as run parameters, and the content hash of each input file (routes,
 * model file) as NAME_sha256. */
void shaper_record_params(const struct shaper_opts *o, const struct shaper *sh, const struct recorder *r);

/* Records 'path''s SHA-256 as parameter 'name'_sha256. */
void shaper_record_file(const struct recorder *r, const char *name, const char *path);

#endif
