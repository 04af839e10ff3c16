/* store_merge: copying the runs of one results database into another (see store.h): the shards
 * of a sweep into its database, and `precraft merge`.  All in SQL over an attached database, in
 * one transaction, so that a merge that fails leaves the destination as it was. */
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "store_impl.h"

/* A run's chunks, with the t0 and step that 'cols' gives them. */
#define COPY_CHUNKS(cols)                                                                                   \
	"INSERT INTO main.vector_chunk(vector_id, chunk, samples, t0, step) SELECT m.id, c.chunk, c.samples, " cols \
	" FROM shard.vector_chunk c JOIN shard.vector_name o ON o.id = c.vector_id"                          \
	" JOIN main.vector_name m ON m.run_id = ?1 AND m.name = o.name WHERE o.run_id = ?2"
#define CHUNK_ROWS 5 /* the index of COPY_CHUNKS in copy_rows */

/* Copy a run's rows: ?1 is its new id, ?2 its id in the shard. */
static const char *const copy_rows[] = {
	"INSERT INTO main.run_param(run_id, name, value) SELECT ?1, name, value FROM shard.run_param WHERE run_id = ?2",
	"INSERT INTO main.scalar(run_id, name, value) SELECT ?1, name, value FROM shard.scalar WHERE run_id = ?2",
	"INSERT INTO main.flow SELECT ?1, flow_id, proto, src, dst, sport, dport, packets, bytes, hits, misses,"
	" wasted, delay_sum_ns, jitter_sum_ns, lost, first_ns, last_ns FROM shard.flow WHERE run_id = ?2",
	"INSERT INTO main.histogram(run_id, name, bin_lo, bin_hi, count)"
	" SELECT ?1, name, bin_lo, bin_hi, count FROM shard.histogram WHERE run_id = ?2",
	"INSERT INTO main.vector_name(run_id, name) SELECT ?1, name FROM shard.vector_name WHERE run_id = ?2 ORDER BY id",
	COPY_CHUNKS("c.t0, c.step"),
	"INSERT INTO main.vector_data(vector_id, t_ns, value) SELECT m.id, d.t_ns, d.value FROM shard.vector_data d"
	" JOIN shard.vector_name o ON o.id = d.vector_id JOIN main.vector_name m ON m.run_id = ?1 AND m.name = o.name"
	" WHERE o.run_id = ?2",
};
#define N_COPY (sizeof copy_rows / sizeof copy_rows[0])

/* The runs of the shard, a sweep's in the order of their jobs, the others after them by id. */
static const char list_runs[] =
	"SELECT r.id, r.status = 'complete', r.run_number,"
	" (SELECT value FROM shard.run_param WHERE run_id = r.id AND name = 'sweep.key'),"
	" (SELECT CAST(value AS INTEGER) FROM shard.run_param WHERE run_id = r.id AND name = 'sweep.job') AS job"
	" FROM shard.run r ORDER BY job IS NULL, job, r.id";

static const char already_done[] =
	"SELECT 1 FROM main.run d JOIN main.run_param q ON q.run_id = d.id AND q.name = 'sweep.key'"
	" WHERE d.status = 'complete' AND d.run_number = ?2 AND q.value = ?1";

static const char copy_run[] =
	"INSERT INTO main.run(started_at, finished_at, status, command, seed, run_number, git_rev)"
	" SELECT started_at, finished_at, status, command, seed, run_number, git_rev FROM shard.run WHERE id = ?1";

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int merge_runs(struct store *dst, struct store_merge_result *res, struct errbuf *eb)
{
	sqlite3_stmt *list = NULL, *done = NULL, *run = NULL, *copy[N_COPY] = { 0 };
	int rc = 0;
	bool ok = sqlite3_prepare_v2(dst->db, list_runs, -1, &list, NULL) == SQLITE_OK &&
		  sqlite3_prepare_v2(dst->db, already_done, -1, &done, NULL) == SQLITE_OK &&
		  sqlite3_prepare_v2(dst->db, copy_run, -1, &run, NULL) == SQLITE_OK;
	/* A shard written before t0 and step: its chunks hold absolute times, which NULLs say. */
	bool t0 = store_chunks_have_t0(dst, "shard");
	for (size_t k = 0; ok && k < N_COPY; k++)
		ok = sqlite3_prepare_v2(dst->db, k == CHUNK_ROWS && !t0 ? COPY_CHUNKS("NULL, NULL") : copy_rows[k], -1,
					&copy[k], NULL) == SQLITE_OK;
	if (!ok) {
		rc = store_fail(dst, eb, "cannot read the shard (not a precraft results database of this version?)");
		goto out;
	}
	int step;
	while (!rc && (step = sqlite3_step(list)) == SQLITE_ROW) {
		int64_t old = sqlite3_column_int64(list, 0);
		bool complete = sqlite3_column_int(list, 1) != 0;
		int64_t run_number = sqlite3_column_int64(list, 2);
		const unsigned char *key = sqlite3_column_text(list, 3);
		if (complete && key) {
			sqlite3_bind_text(done, 1, (const char *)key, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(done, 2, run_number);
			int found = sqlite3_step(done);
			sqlite3_reset(done);
			if (found == SQLITE_ROW) {
				res->skipped++;
				continue;
			}
			if (found != SQLITE_DONE) {
				rc = store_fail(dst, eb, "cannot read the runs");
				break;
			}
		}
		sqlite3_bind_int64(run, 1, old);
		if (sqlite3_step(run) != SQLITE_DONE) {
			rc = store_fail(dst, eb, "cannot copy a run");
			break;
		}
		sqlite3_reset(run);
		int64_t id = sqlite3_last_insert_rowid(dst->db);
		for (size_t k = 0; k < N_COPY && !rc; k++) {
			sqlite3_bind_int64(copy[k], 1, id);
			sqlite3_bind_int64(copy[k], 2, old);
			if (sqlite3_step(copy[k]) != SQLITE_DONE)
				rc = store_fail(dst, eb, "cannot copy a run's rows");
			sqlite3_reset(copy[k]);
		}
		res->runs++;
		res->incomplete += !complete;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_fail(dst, eb, "cannot read the shard's runs");
out:
	sqlite3_finalize(list);
	sqlite3_finalize(done);
	sqlite3_finalize(run);
	for (size_t k = 0; k < N_COPY; k++)
		sqlite3_finalize(copy[k]);
	return rc;
}

int store_merge(struct store *dst, const char *shard, struct store_merge_result *res, struct errbuf *eb)
{
	memset(res, 0, sizeof *res);
	if (same_file(dst->path, shard))
		return err_set(eb, -ERR_FORMAT, "%s: cannot merge a database into itself", shard);
	struct store *chk;
	int rc = store_open_read(shard, &chk, eb);
	if (rc)
		return rc;
	store_close(chk, NULL);
	if ((rc = store_commit(dst, eb)) != 0)
		return rc;
	sqlite3_stmt *att;
	if (sqlite3_prepare_v2(dst->db, "ATTACH DATABASE ?1 AS shard", -1, &att, NULL) != SQLITE_OK)
		return store_fail(dst, eb, "cannot attach the shard");
	sqlite3_bind_text(att, 1, shard, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(att);
	sqlite3_finalize(att);
	if (step != SQLITE_DONE)
		return err_set(eb, -ERR_FORMAT, "%s: cannot open: %s", shard, sqlite3_errmsg(dst->db));
	rc = store_exec(dst, "BEGIN IMMEDIATE", eb);
	if (!rc) {
		rc = merge_runs(dst, res, eb);
		if (!rc)
			rc = store_exec(dst, "COMMIT", eb);
		if (rc) {
			sqlite3_exec(dst->db, "ROLLBACK", NULL, NULL, NULL);
			memset(res, 0, sizeof *res);
		}
	}
	sqlite3_exec(dst->db, "DETACH DATABASE shard", NULL, NULL, NULL);
	return rc;
}

int store_each_sweep_done(struct store *st, int (*fn)(void *arg, const char *key, uint64_t run_number), void *arg,
			  struct errbuf *eb)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT q.value, r.run_number FROM run r JOIN run_param q ON q.run_id = r.id"
			       " AND q.name = 'sweep.key' WHERE r.status = 'complete' ORDER BY r.id",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, eb, "cannot read the runs");
	int rc = 0, step;
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *key = sqlite3_column_text(s, 0);
		rc = fn(arg, key ? (const char *)key : "", (uint64_t)sqlite3_column_int64(s, 1));
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_fail(st, eb, "cannot read the runs");
	sqlite3_finalize(s);
	return rc;
}
