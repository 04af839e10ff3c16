/* sim_setup: what a scenario's run needs from the command line's side, for `precraft sim`
 * (sim_cmd.c) and for a host simulator's nodes (host.c): the shaper built from the scenario's
 * keys (shaper.h), the second gateway's view of the tunnel, the cost profile found; and the run
 * parameters every simulator run records (the scenario's keys, the input files' hashes). */
#ifndef PRECRAFT_CLI_SIM_SETUP_H
#define PRECRAFT_CLI_SIM_SETUP_H

#include <stdbool.h>

#include "core/err.h"
#include "shaper.h"

struct recorder;
struct scenario;
struct sim_tag;

struct sim_setup {
	struct shaper_opts so;
	struct shaper_paths paths;
	struct shaper sh;
	bool sh_set;
	struct esp_conf *tun2;     /* shaper.gateways = 2: the second gateway's tunnel, else NULL */
	struct engine_cfg cfg2;
	char costs[2048];          /* the cost profile's path */
};

/* Sets 'ss' up for 'scn' (borrowed).  Returns 0 or a negative ERR_* with one line in 'eb'; call
 * sim_setup_close in either case. */
int sim_setup_open(const struct scenario *scn, struct sim_setup *ss, struct errbuf *eb) WARN_UNUSED;
void sim_setup_close(struct sim_setup *ss);

/* Records the run's parameters: every scenario key, the tag's, the scenario's name, the SHA-256
 * of each input file (scenario, routes, costs, model, traces), the tunnel's SAs (never a key). */
void sim_setup_record(const struct scenario *scn, const struct sim_setup *ss, const struct sim_tag *tag,
		      const struct recorder *rec);

#endif
