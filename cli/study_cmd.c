/* study_cmd: `precraft study DB [--out DIR] [--format svg|png]`: where does pre-crafting pay
 * (analysis/study.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "analysis/study.h"
#include "cli.h"
#include "commands.h"

const char study_usage[] =
	"usage: precraft study DB [--out DIR] [--format svg|png] [--compare KEY=BASELINE] [--metrics P50,P99,CHANGE,VALUE]\n"
	"  Reads the runs of DB (a sweep with policy.kind among its axes, off among its values: make\n"
	"  study makes one) as a regime map: in every cell (a combination of the other parameters the\n"
	"  runs differ in) each policy is compared with off run number by run number, and its p50 and\n"
	"  p99 gains, extra CPU and hit ratio given with 95 % intervals over the pairs.  Writes\n"
	"  DIR/index.html (default study/): the answer per cell (pays, does not pay, uncertain), the\n"
	"  command that reproduces it, heat maps and the p50 gain against the load.\n"
	"  --out DIR      where to write (default study)\n"
	"  --format F     svg (default) or png\n"
	"  --compare KEY=BASELINE  what is compared with what (default policy.kind=off; the narrow-link\n"
	"                 study: link.out.compress=none)\n"
	"  --metrics P50,P99,CHANGE,VALUE  the two quantiles whose gains decide (lower is better), a\n"
	"                 scalar given as its change over the baseline in % and one as it is (default\n"
	"                 latency_p50_ns,latency_p99_ns,extra_cpu,hit_ratio; the narrow-link study:\n"
	"                 e2e_delay_p50_ns,e2e_delay_p99_ns,goodput_mbps,compress_ratio)\n";

const struct option study_options[] = {
	{ "out", required_argument, 0, 'o' },
	{ "format", required_argument, 0, 'f' },
	{ "compare", required_argument, 0, 'c' },
	{ "metrics", required_argument, 0, 'm' },
	{ 0, 0, 0, 0 },
};

int study_main(const struct cli_args *a)
{
	struct study_opts o = { .out_dir = "study", .format = "svg" };
	char cmp[256], met[512];
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		if (a->opt[i].id == 'c') {
			char *eq;
			if (strlen(arg) >= sizeof cmp || !(eq = strchr(strcpy(cmp, arg), '=')) || eq == cmp || !eq[1]) {
				cli_error("study: --compare: KEY=BASELINE (policy.kind=off), not '%s'", arg);
				return EXIT_USAGE;
			}
			*eq = 0;
			o.axis = cmp;
			o.baseline = eq + 1;
		} else if (a->opt[i].id == 'm') {
			char *f[4], *save = NULL;
			size_t n = 0;
			if (strlen(arg) < sizeof met)
				for (char *t = strtok_r(strcpy(met, arg), ",", &save); t && n < 5; t = strtok_r(NULL, ",", &save))
					n < 4 ? (void)(f[n++] = t) : (void)n++;
			if (n != 4) {
				cli_error("study: --metrics: four scalar names P50,P99,CHANGE,VALUE, not '%s'", arg);
				return EXIT_USAGE;
			}
			o.m50 = f[0], o.m99 = f[1], o.change = f[2], o.value = f[3];
		} else if (a->opt[i].id == 'o') {
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
