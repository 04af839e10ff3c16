/* run_tests: the CUnit runner.  Suites register themselves from a table; the exit code is
 * non-zero when any assertion failed.  Run from the project root (tests read traces/). */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"

static const struct {
	const char *name;
	int (*reg)(void);
} suites[] = {
	{ "csum", csum_test_register },     { "pkt", pkt_test_register },
	{ "flow", flow_test_register },     { "policy", policy_test_register },     { "pool", pool_test_register },
	{ "route", route_test_register },   { "craft", craft_test_register },
	{ "dns-fwd", dns_fwd_test_register }, { "replay-window", replay_window_test_register },   { "engine", engine_test_register },
	{ "engine-attack", engine_attack_test_register }, { "engine-api", engine_api_test_register },
	{ "engine-shards", engine_shard_test_register }, { "faults", faults_test_register },
	{ "trace", trace_test_register },   { "golden", golden_test_register }, { "sched", sched_test_register },
	{ "sim", model_test_register },     { "scenario", scenario_test_register },      { "models", models_test_register }, { "trained", trained_test_register },
	{ "lathist", lathist_test_register }, { "esp", esp_test_register }, { "esp-open", esp_open_test_register }, { "esp-ring", esp_ring_test_register }, { "hc", hc_test_register }, { "grid", grid_test_register },
	{ "store", store_test_register },   { "rcu", rcu_test_register },
	{ "prefetch", prefetch_test_register }, { "quota", quota_test_register },
};

int main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
		if (argc > 1 && strcmp(argv[1], suites[i].name) != 0)
			continue;
		if (suites[i].reg() != 0) {
			fprintf(stderr, "run_tests: cannot register suite %s\n", suites[i].name);
			CU_cleanup_registry();
			return 1;
		}
	}
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	unsigned run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	return failed || run == 0 ? 1 : 0;
}
