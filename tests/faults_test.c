/* faults_test: allocation k fails, for every k (SQLite's faultsim idea), in engine creation
 * and in a whole run's life in the store (open, begin, rows, end, close).  Required: every
 * failure is a clean error with a message, nothing leaks (LeakSanitizer checks at exit), and a
 * run the store began is never left 'running' nor called 'complete' when a row was lost.
 *
 * The allocations counted are precraft's own (malloc, calloc, realloc and strdup wrapped at
 * link time: -Wl,--wrap; free is wrapped too, for the scan of freed memory in esp_test) and SQLite's (its allocator replaced through SQLITE_CONFIG_MALLOC).
 * Each fault is transient: allocation k fails, the ones after it succeed. */
#include <CUnit/CUnit.h>
#include <malloc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/store.h"
#include "core/engine.h"
#include "core/route.h"
#include "models/registry.h"

static long countdown = -1; /* allocations left before the one that fails; -1: none fails */
static bool fired;

static bool fail_now(void)
{
	if (countdown < 0)
		return false;
	if (countdown-- == 0) {
		fired = true;
		return true;
	}
	return false;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
void __real_free(void *p);
void __wrap_free(void *p);

void (*faults_free_scan)(void *p, size_t n);

/* Every block precraft frees can be looked at first (esp_test: no key left in it). */
void __wrap_free(void *p)
{
	if (p && faults_free_scan)
		faults_free_scan(p, malloc_usable_size(p));
	__real_free(p);
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	return fail_now() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

/* SQLite's allocator, through the same countdown. */
static sqlite3_mem_methods sq_orig;

static void *sq_malloc(int n)
{
	return fail_now() ? NULL : sq_orig.xMalloc(n);
}

static void *sq_realloc(void *p, int n)
{
	return fail_now() ? NULL : sq_orig.xRealloc(p, n);
}

static void sqlite_faults(bool on)
{
	CU_ASSERT_FATAL(sqlite3_shutdown() == SQLITE_OK);
	if (on) {
		CU_ASSERT_FATAL(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sq_orig) == SQLITE_OK);
		sqlite3_mem_methods m = sq_orig;
		m.xMalloc = sq_malloc;
		m.xRealloc = sq_realloc;
		CU_ASSERT_FATAL(sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK);
	} else {
		CU_ASSERT_FATAL(sqlite3_config(SQLITE_CONFIG_MALLOC, &sq_orig) == SQLITE_OK);
	}
	CU_ASSERT_FATAL(sqlite3_initialize() == SQLITE_OK);
}

static void test_faults_engine_creation(void)
{
	struct route_table *rt = NULL;
	CU_ASSERT_FATAL(route_table_create(&rt) == 0);
	static const char *const preds[] = { "last", "header", "markov1", "mode" };
	for (unsigned p = 0; p < 4; p++) {
		long k = 0;
		for (;; k++) {
			struct engine_cfg c;
			engine_cfg_defaults(&c);
			c.routes = rt;
			c.predictor = models_find(preds[p]);
			c.flow_capacity = 256;
			c.pool_budget = 4u << 20;
			c.pool_large_slots = 2;
			struct engine *e = NULL;
			struct errbuf eb = { "" };
			fired = false;
			countdown = k;
			int rc = engine_create(&c, &e, &eb);
			countdown = -1;
			if (rc == 0) {
				engine_destroy(e);
				if (!fired)
					break; /* every allocation has been made to fail once */
				CU_FAIL("engine_create succeeded although an allocation failed");
				continue;
			}
			CU_ASSERT(rc < 0 && eb.msg[0]);
			if (!fired || k > 10000) {
				/* Failing by itself, or not ending: not an allocation fault. */
				fprintf(stderr, "engine_create with fault %ld: %s\n", k, eb.msg);
				CU_FAIL("engine_create fails without an allocation fault");
				break;
			}
		}
		CU_ASSERT(k >= 3); /* engine, flow table, pool at least */
		printf("\n  faults: engine creation (%s): each of %ld allocations failed once, all cleanly", preds[p], k);
	}
	route_table_destroy(rt);
}

/* A whole run: open, begin, a parameter, a scalar, flows, end, close. */
static int one_run(const char *path, int64_t *id)
{
	struct store *st = NULL;
	struct errbuf eb = { "" };
	*id = 0;
	int rc = store_open(path, &st, &eb);
	if (rc) {
		CU_ASSERT(eb.msg[0]);
		return rc;
	}
	if ((rc = store_run_begin(st, "precraft test", 1, 1, id, &eb)) != 0) {
		CU_ASSERT(eb.msg[0]);
		*id = 0;
		(void)store_close(st, NULL);
		return rc;
	}
	(void)store_param(st, *id, "mode", "precraft");
	(void)store_scalar(st, *id, "packets_in", 42);
	for (unsigned i = 0; i < 20; i++) {
		struct recorder_flow f;
		memset(&f, 0, sizeof f);
		f.flow_id = i + 1;
		f.proto = 6;
		snprintf(f.src, sizeof f.src, "10.0.%u.%u", i >> 8, i & 255);
		snprintf(f.dst, sizeof f.dst, "10.1.0.1");
		(void)store_flow(st, *id, &f);
	}
	rc = store_run_end(st, *id, "complete", &eb);
	int rc2 = store_close(st, &eb);
	return rc ? rc : rc2;
}

static void test_faults_store_run(void)
{
	char dir[] = "/tmp/precraft-faults.XXXXXX", path[64], status[16];
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/r.db", dir);
	sqlite_faults(true);
	long k = 0, failed_runs = 0;
	for (;; k++) {
		unlink(path);
		fired = false;
		countdown = k;
		int64_t id;
		int rc = one_run(path, &id);
		countdown = -1;
		/* What the database says of the run, read without faults. */
		status[0] = 0;
		sqlite3 *db = NULL;
		if (id && sqlite3_open(path, &db) == SQLITE_OK) {
			sqlite3_stmt *q = NULL;
			if (sqlite3_prepare_v2(db, "SELECT status FROM run WHERE id = ?", -1, &q, NULL) == SQLITE_OK) {
				sqlite3_bind_int64(q, 1, id);
				if (sqlite3_step(q) == SQLITE_ROW)
					snprintf(status, sizeof status, "%s", (const char *)sqlite3_column_text(q, 0));
			}
			sqlite3_finalize(q);
		}
		sqlite3_close(db);
		if (!fired) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_STRING_EQUAL(status, "complete");
			break;
		}
		if (id) {
			/* Begun: never left running; complete only if the fault cost no row. */
			CU_ASSERT(strcmp(status, "running") != 0);
			if (rc) {
				CU_ASSERT(strcmp(status, "complete") != 0);
			}
			failed_runs += strcmp(status, "failed") == 0;
		}
		if (k > 200000) {
			CU_FAIL("the fault loop does not end");
			break;
		}
	}
	sqlite_faults(false);
	printf("\n  faults: a run in the store: each of %ld allocations failed once; %ld begun runs marked failed, none left running",
	       k, failed_runs);
	CU_ASSERT(k > 50);
	CU_ASSERT(failed_runs > 0);
	unlink(path);
	char side[80];
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	rmdir(dir);
}

int faults_test_register(void)
{
	CU_pSuite s = CU_add_suite("faults", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "allocation k fails in engine creation, for every k", test_faults_engine_creation);
	CU_add_test(s, "allocation k fails in a run's life in the store, for every k", test_faults_store_run);
	return 0;
}
