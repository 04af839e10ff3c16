/* store_write: the results' writer: runs, parameters, scalars, flows and histograms, batched
 * into transactions, and the recorder interface the runners write through (see store.h; the
 * vectors' chunks are store_series.c's). */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "git_rev.h"
#include "store.h"
#include "store_impl.h"

/* Runs a prepared insert and counts it toward the batch; 'name' or 'id' name the row for the
 * error (lost_row), formatted only when it failed. */
static int step(struct store *st, sqlite3_stmt *s, enum row kind, const char *name, uint64_t id)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return store__lost_row(st, kind, name, id);
	st->pending_kind[kind]++;
	if (++st->pending >= BATCH_ROWS)
		return store_commit(st, NULL);
	return 0;
}

static void now_text(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int store_run_begin(struct store *st, const char *command, uint64_t seed, uint64_t run_number,
		    int64_t *run_id, struct errbuf *eb)
{
	int rc = store_commit(st, eb);
	if (rc)
		return rc;
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO run(started_at, status, command, seed, run_number, git_rev)"
			       " VALUES(?, 'running', ?, ?, ?, ?)",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, eb, "cannot start a run");
	char when[32];
	now_text(when, sizeof when);
	sqlite3_bind_text(s, 1, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, command, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)seed);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)run_number);
#ifdef PRECRAFT_GIT_REV
	sqlite3_bind_text(s, 5, PRECRAFT_GIT_REV, -1, SQLITE_STATIC);
#else
	sqlite3_bind_null(s, 5);
#endif
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, eb, "cannot start a run");
	*run_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int store_run_end(struct store *st, int64_t run_id, const char *status, struct errbuf *eb)
{
	/* A run that lost a row is not complete, whatever its caller thought. */
	int lost_rc = store_commit(st, NULL);
	if (st->lost) {
		lost_rc = store_failed(st, eb);
		status = "failed";
		st->lost = 0;
	}
	/* The run's final status is written even when the writes before it failed: a run left
	 * 'running' would look alive forever.  A full filesystem gets the reserve back, a
	 * transient failure (an allocation, a lock held past the busy timeout) another try. */
	int rc = SQLITE_ERROR;
	for (int attempt = 0; attempt < 3 && rc != SQLITE_DONE; attempt++) {
		if (attempt)
			store__reserve_release(st);
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(st->db, "UPDATE run SET finished_at = ?, status = ? WHERE id = ?", -1, &s,
				       NULL) != SQLITE_OK)
			continue;
		char when[32];
		now_text(when, sizeof when);
		sqlite3_bind_text(s, 1, when, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, status, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 3, run_id);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_DONE)
		return lost_rc ? lost_rc : store_fail(st, eb, "cannot end a run");
	return lost_rc;
}

int store_param(struct store *st, int64_t run_id, const char *name, const char *value)
{
	if (store__begin(st))
		return store__lost_row(st, ROW_PARAM, name, 0);
	sqlite3_bind_int64(st->ins_param, 1, run_id);
	sqlite3_bind_text(st->ins_param, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st->ins_param, 3, value, -1, SQLITE_TRANSIENT);
	return step(st, st->ins_param, ROW_PARAM, name, 0);
}

int store_scalar(struct store *st, int64_t run_id, const char *name, double value)
{
	if (store__begin(st))
		return store__lost_row(st, ROW_SCALAR, name, 0);
	sqlite3_bind_int64(st->ins_scalar, 1, run_id);
	sqlite3_bind_text(st->ins_scalar, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st->ins_scalar, 3, value);
	return step(st, st->ins_scalar, ROW_SCALAR, name, 0);
}

int store_flow(struct store *st, int64_t run_id, const struct recorder_flow *f)
{
	if (store__begin(st))
		return store__lost_row(st, ROW_FLOW, NULL, f->flow_id);
	sqlite3_stmt *s = st->ins_flow;
	int i = 1;
	sqlite3_bind_int64(s, i++, run_id);
	sqlite3_bind_int64(s, i++, (sqlite3_int64)f->flow_id);
	sqlite3_bind_int(s, i++, f->proto);
	sqlite3_bind_text(s, i++, f->src, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, i++, f->dst, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, f->sport);
	sqlite3_bind_int(s, i++, f->dport);
	const uint64_t v[] = { f->packets, f->bytes, f->hits, f->misses, f->wasted, f->delay_sum_ns,
			       f->jitter_sum_ns, f->lost, f->first_ns, f->last_ns };
	for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
		sqlite3_bind_int64(s, i++, (sqlite3_int64)v[k]);
	return step(st, s, ROW_FLOW, NULL, f->flow_id);
}

int store_histogram(struct store *st, int64_t run_id, const char *name, double lo, double hi, uint64_t count)
{
	if (store__begin(st))
		return store__lost_row(st, ROW_HISTOGRAM, name, 0);
	sqlite3_stmt *s = st->ins_hist;
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(s, 3, lo);
	sqlite3_bind_double(s, 4, hi);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)count);
	return step(st, s, ROW_HISTOGRAM, name, 0);
}

/* ---- the recorder interface ---- */

static int r_param(void *arg, const char *name, const char *value)
{
	struct store *st = arg;
	return store_param(st, st->rec_run, name, value);
}

static int r_scalar(void *arg, const char *name, double value)
{
	struct store *st = arg;
	return store_scalar(st, st->rec_run, name, value);
}

static int r_vector(void *arg, const char *name, uint64_t t_ns, double value)
{
	struct store *st = arg;
	return store_vector(st, st->rec_run, name, t_ns, value);
}

static int r_flow(void *arg, const struct recorder_flow *f)
{
	struct store *st = arg;
	return store_flow(st, st->rec_run, f);
}

static int r_hist(void *arg, const char *name, double lo, double hi, uint64_t count)
{
	struct store *st = arg;
	return store_histogram(st, st->rec_run, name, lo, hi, count);
}

static const struct recorder_ops store_ops = { r_param, r_scalar, r_vector, r_flow, r_hist };

void store_recorder(struct store *st, int64_t run_id, struct recorder *out)
{
	st->rec_run = run_id;
	out->ops = &store_ops;
	out->arg = st;
}
