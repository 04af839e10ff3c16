/* host: precraft's side of a host simulator (see host.h). */
#include "host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "run.h"
#include "sim_setup.h"

struct host {
	struct cli_run run;
};

/* A named node writes its scalars, series and histograms under "NAME." and leaves the run's
 * parameters and flow rows to the session. */
struct prefixed {
	const struct recorder *to;
	char prefix[40];
};

struct host_node {
	struct host *h;
	struct sim_setup ss;
	struct sim_opts o;
	struct prefixed pre;
	struct recorder rec;
	struct sim_node *n;
};

static int pre_name(const struct prefixed *p, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.%s", p->prefix, name);
	return n < 0 || (size_t)n >= cap ? -ERR_INVAL : 0;
}

static int pre_param(void *arg, const char *name, const char *value)
{
	(void)arg, (void)name, (void)value;
	return 0;
}

static int pre_scalar(void *arg, const char *name, double v)
{
	const struct prefixed *p = arg;
	char n[256];
	return pre_name(p, name, n, sizeof n) ? -ERR_INVAL : rec_scalar(p->to, n, v);
}

static int pre_vector(void *arg, const char *name, uint64_t t, double v)
{
	const struct prefixed *p = arg;
	char n[256];
	return pre_name(p, name, n, sizeof n) ? -ERR_INVAL : rec_vector(p->to, n, t, v);
}

static int pre_flow(void *arg, const struct recorder_flow *f)
{
	(void)arg, (void)f;
	return 0;
}

static int pre_histogram(void *arg, const char *name, double lo, double hi, uint64_t count)
{
	const struct prefixed *p = arg;
	char n[256];
	return pre_name(p, name, n, sizeof n) ? -ERR_INVAL : rec_histogram(p->to, n, lo, hi, count);
}

static const struct recorder_ops prefixed_ops = { pre_param, pre_scalar, pre_vector, pre_flow, pre_histogram };

int host_scenario(const char *path, const char *const *sets, unsigned n_sets, struct scenario **out)
{
	struct scenario *scn = malloc(sizeof *scn);
	*out = NULL;
	if (!scn) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	scenario_defaults(scn);
	struct errbuf eb = { "" };
	int rc = path ? scenario_load(scn, path, &eb) : 0;
	for (unsigned i = 0; !rc && i < n_sets; i++)
		rc = scenario_set(scn, sets[i], &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		free(scn);
		return EXIT_USAGE;
	}
	*out = scn;
	return 0;
}

int host_node_scenario(const struct scenario *base, const char *const *sets, unsigned n_sets, struct scenario **out)
{
	struct scenario *scn = malloc(sizeof *scn);
	*out = NULL;
	if (!scn) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	*scn = *base;
	scn->n_src = 0;
	struct errbuf eb = { "" };
	for (unsigned i = 0; i < n_sets; i++)
		if (scenario_set(scn, sets[i], &eb)) {
			cli_error("%s", eb.msg);
			free(scn);
			return EXIT_USAGE;
		}
	*out = scn;
	return 0;
}

int host_find_data(const char *name, char *out, size_t cap)
{
	return cli_find_data(name, out, cap);
}

int host_begin(const struct scenario *scn, const char *db, const char *command, const char *const (*params)[2],
	       unsigned n_params, struct host **out)
{
	struct host *h = calloc(1, sizeof *h);
	*out = NULL;
	if (!h) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	/* The base scenario's shaper is set up once here, as `precraft sim` would: a bad key, route
	 * table or tunnel is named before anything runs, and the run records what sim records. */
	struct sim_setup ss;
	struct errbuf eb = { "" };
	int rc = sim_setup_open(scn, &ss, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		sim_setup_close(&ss);
		free(h);
		return cli_exit_code(rc);
	}
	int code = cli_run_begin(&h->run, db, command, scn->seed, scn->run);
	if (code) {
		sim_setup_close(&ss);
		free(h);
		return code;
	}
	struct sim_tag tag = { command, params, n_params };
	sim_setup_record(scn, &ss, &tag, &h->run.rec);
	sim_setup_close(&ss);
	cli_catch_signals();
	*out = h;
	return 0;
}

const struct recorder *host_recorder(const struct host *h)
{
	return &h->run.rec;
}

int64_t host_run_id(const struct host *h)
{
	return h->run.st ? h->run.id : 0;
}

int host_fail(const struct errbuf *eb, int rc)
{
	cli_error("%s", eb->msg);
	return cli_exit_code(rc);
}

int host_node_open(struct host *h, const struct scenario *scn, const char *name, const struct sim_node_io *io,
		   struct host_node **out)
{
	struct host_node *hn = calloc(1, sizeof *hn);
	*out = NULL;
	if (!hn) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	hn->h = h;
	const struct recorder *rec = &h->run.rec;
	if (name && *name) {
		hn->pre.to = rec;
		snprintf(hn->pre.prefix, sizeof hn->pre.prefix, "%s", name);
		hn->rec = (struct recorder){ &prefixed_ops, &hn->pre };
		rec = &hn->rec;
	}
	struct errbuf eb = { "" };
	int rc = sim_setup_open(scn, &hn->ss, &eb);
	if (!rc) {
		hn->o = (struct sim_opts){ .engine = &hn->ss.sh.cfg, .costs_path = hn->ss.costs, .rec = rec, .interrupted = &cli_stop };
		rc = sim_node_open(scn, &hn->o, io, &hn->n, &eb);
	}
	if (rc) {
		cli_error("%s%s%s", name && *name ? name : "", name && *name ? ": " : "", eb.msg);
		sim_setup_close(&hn->ss);
		free(hn);
		return cli_exit_code(rc);
	}
	*out = hn;
	return 0;
}

struct sim_node *host_node_sim(struct host_node *hn)
{
	return hn->n;
}

int host_node_close(struct host_node *hn, uint64_t now, struct sim_summary *sum)
{
	struct errbuf eb = { "" };
	int rc = sim_node_close(hn->n, now, sum, &eb);
	int code = rc ? host_fail(&eb, rc) : EXIT_OK;
	sim_setup_close(&hn->ss);
	free(hn);
	return code;
}

int host_end(struct host *h, const char *status, int code)
{
	if (cli_stop && code == EXIT_OK) {
		status = "interrupted";
		code = EXIT_RUNTIME;
	}
	code = cli_run_end(&h->run, status, code);
	free(h);
	return code;
}
