/* host: precraft's side of a host simulator (ns-3: ns3/), in C, so that the C++ adapter stays a
 * thin layer that moves frames and time.
 *
 * A session is one run in a results database (cli/run.h), its parameters the base scenario's
 * as `precraft sim` records them, plus the host's own.  Each shaper node (sim/node.h) is set
 * up from a scenario as `precraft sim` sets up its shaper (cli/sim_setup.h: routes, tunnel,
 * predictor, cost profile) and writes through the session's recorder: the run's one node as
 * `precraft sim` writes (its scalars, series and flow rows under their own names), every other
 * one under its name ("leaf0.hits"; its flows' rows left to the host's transport flows). */
#ifndef PRECRAFT_CLI_HOST_H
#define PRECRAFT_CLI_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "core/recorder.h"
#include "sim/model.h"
#include "sim/node.h"
#include "sim/scenario.h"

struct host;
struct host_node;

/* Loads scenario 'path' (NULL: the defaults, no sources) and applies 'sets' ("SECTION.KEY=VALUE"):
 * '*out' malloc'd.  Returns 0, or the exit code (2) after printing the error. */
int host_scenario(const char *path, const char *const *sets, unsigned n_sets, struct scenario **out);

/* A node's scenario: 'base' without its sources, 'sets' applied ('*out' malloc'd).  Returns 0,
 * or the exit code (2) after printing the error. */
int host_node_scenario(const struct scenario *base, const char *const *sets, unsigned n_sets, struct scenario **out);

/* A shipped data file's path ('default.ini', 'aes-gcm.costs': where precraft finds its data,
 * PRECRAFT_DATA first) into 'out'; 0: not found. */
int host_find_data(const char *name, char *out, size_t cap);

/* Begins the run in 'db' (NULL: none) as 'command', with the scenario's seed and run number and
 * parameters, and the extra parameters 'params' (n pairs).  Returns 0 or an exit code (printed). */
int host_begin(const struct scenario *scn, const char *db, const char *command, const char *const (*params)[2],
	       unsigned n_params, struct host **out);
const struct recorder *host_recorder(const struct host *h);
/* The run's id in the database (0 without one). */
int64_t host_run_id(const struct host *h);

/* A shaper node for 'scn' (borrowed until closed), named 'name' ("" for the run's one node).
 * Returns 0 or an exit code (printed). */
int host_node_open(struct host *h, const struct scenario *scn, const char *name, const struct sim_node_io *io,
		   struct host_node **out);
struct sim_node *host_node_sim(struct host_node *hn);
/* Ends the node's run at 'now' ('sum' as sim_run's) and frees it.  Returns 0 or an exit code
 * (printed). */
int host_node_close(struct host_node *hn, uint64_t now, struct sim_summary *sum);
/* A node's failure while running (sim_node_run, sim_node_frame): printed, the exit code. */
int host_fail(const struct errbuf *eb, int rc);

/* Ends the run with 'status' and 'code' (cli_run_end) and frees the session.  Returns the exit code. */
int host_end(struct host *h, const char *status, int code);

#endif
