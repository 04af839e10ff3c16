/* study_cmd: `precraft study DB [--out DIR] [--format svg|png]`: where does pre-crafting pay
 * (analysis/study.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "analysis/study.h"
#include "cli.h"
#include "commands.h"

const char study_usage[] =
	"usage: precraft study DB [--out DIR] [--format svg|png]\n"
	"  Reads the runs of DB (a sweep with policy.kind among its axes, off among its values: make\n"
	"  study makes one) as a regime map: in every cell (a combination of the other parameters the\n"
	"  runs differ in) each policy is compared with off run number by run number, and its p50 and\n"
	"  p99 gains, extra CPU and hit ratio given with 95 % intervals over the pairs.  Writes\n"
	"  DIR/index.html (default study/): the answer per cell (pays, does not pay, uncertain), the\n"
	"  command that reproduces it, heat maps and the p50 gain against the load.\n"
	"  --out DIR      where to write (default study)\n"
	"  --format F     svg (default) or png\n";

const struct option study_options[] = {
	{ "out", required_argument, 0, 'o' },
	{ "format", required_argument, 0, 'f' },
	{ 0, 0, 0, 0 },
};

int study_main(const struct cli_args *a)
{
	struct study_opts o = { .out_dir = "study", .format = "svg" };
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		if (a->opt[i].id == 'o') {
			o.out_dir = arg;
		} else if (a->opt[i].id == 'f') {
			if (strcmp(arg, "svg") && strcmp(arg, "png")) {
				cli_error("study: --format: svg or png, not '%s'", arg);
				return EXIT_USAGE;
			}
			o.format = arg;
		}
	}
	o.db = a->pos[0];
	struct errbuf eb = { "" };
	struct study_result res;
	int rc = study_write(&o, &res, &eb);
	if (rc) {
		cli_error("%s", eb.msg);
		return cli_exit_code(rc);
	}
	if (res.failed)
		cli_error("study: %zu figure%s could not be drawn (first: %s)", res.failed, res.failed == 1 ? "" : "s",
			  res.first_failure);
	printf("study: %s/index.html: %zu runs, %zu cells x policies (%zu pay, %zu do not, %zu uncertain), %zu figures\n",
	       o.out_dir, res.runs, res.cells, res.pays, res.does_not_pay, res.uncertain, res.figures);
	return res.failed ? EXIT_RUNTIME : EXIT_OK;
}
