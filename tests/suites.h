/* suites: the register function of every CUnit suite; tests/run_tests.c calls them in order. */
#ifndef PRECRAFT_TESTS_SUITES_H
#define PRECRAFT_TESTS_SUITES_H

int csum_test_register(void);
int pkt_test_register(void);
int flow_test_register(void);
int pool_test_register(void);
int route_test_register(void);
int craft_test_register(void);
int dns_fwd_test_register(void);
int replay_window_test_register(void);
int engine_test_register(void);
int engine_attack_test_register(void);
int engine_api_test_register(void);
int engine_shard_test_register(void);
int faults_test_register(void);
int golden_test_register(void);
int sched_test_register(void);
int model_test_register(void);
int scenario_test_register(void);
int models_test_register(void);
int trained_test_register(void);
int policy_test_register(void);
int lathist_test_register(void);
int esp_test_register(void);
int esp_open_test_register(void);
int esp_ring_test_register(void);
int grid_test_register(void);
int trace_test_register(void);
int store_test_register(void);
int rcu_test_register(void);
int prefetch_test_register(void);
int quota_test_register(void);
int hc_test_register(void);

#include <stddef.h>
/* When set, called with every block precraft frees, before it is freed (faults_test.c). */
extern void (*faults_free_scan)(void *p, size_t n);

#endif
