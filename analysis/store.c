/* store: SQLite results (see store.h).  sqlite3_errmsg text is copied into the caller's errbuf
 * and SQLite codes are mapped to ours, so that none leaks upward. */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "git_rev.h"
#include "store_impl.h"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	/* Checkpoints after every commit that leaves the write-ahead log above 64 pages (1 MiB),
	 * in the thread that commits (a run's writer), instead of 1000 pages: the 1M-packet
	 * workload's results fit in the log, so closing the database copied them all and synced
	 * them, 23-35 ms of the run's end; now done beside the simulation, 11 ms remain. */
	"PRAGMA wal_autocheckpoint=64;"
	"CREATE TABLE IF NOT EXISTS run("
	" id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,"
	" status TEXT NOT NULL CHECK(status IN ('running','complete','failed','interrupted')),"
	" command TEXT NOT NULL, seed INTEGER NOT NULL, run_number INTEGER NOT NULL, git_rev TEXT);"
	"CREATE TABLE IF NOT EXISTS run_param("
	" run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY(run_id, name));"
	"CREATE TABLE IF NOT EXISTS scalar("
	" run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL, value REAL,"
	" PRIMARY KEY(run_id, name));"
	"CREATE TABLE IF NOT EXISTS flow("
	" run_id INTEGER NOT NULL REFERENCES run(id), flow_id INTEGER NOT NULL, proto INTEGER,"
	" src TEXT, dst TEXT, sport INTEGER, dport INTEGER, packets INTEGER, bytes INTEGER,"
	" hits INTEGER, misses INTEGER, wasted INTEGER, delay_sum_ns INTEGER, jitter_sum_ns INTEGER,"
	" lost INTEGER, first_ns INTEGER, last_ns INTEGER, PRIMARY KEY(run_id, flow_id));"
	/* Time series: a row per series, and its samples in chunks of up to CHUNK_SAMPLES,
	 * clustered by (series, chunk number): one insert per chunk instead of one per sample.  A
	 * chunk is a JSON array of [k, value] pairs, the sample's time being t0 + k * step (step the
	 * greatest common divisor of the chunk's time offsets, so exact): a few characters a time
	 * where the nanoseconds took 11-19.  Chunks of databases written before t0 and step (both
	 * NULL) hold [t_ns, value], and vector_data the samples of databases written before the
	 * chunks (one row each); both are read as before.  'vector' is the view DESIGN.md names: one
	 * row per sample, from all of them. */
	"CREATE TABLE IF NOT EXISTS vector_name("
	" id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL,"
	" UNIQUE(run_id, name));"
	"CREATE TABLE IF NOT EXISTS vector_chunk("
	" vector_id INTEGER NOT NULL REFERENCES vector_name(id), chunk INTEGER NOT NULL, samples TEXT NOT NULL,"
	" t0 INTEGER, step INTEGER, UNIQUE(vector_id, chunk));"
	"CREATE TABLE IF NOT EXISTS vector_data("
	" vector_id INTEGER NOT NULL REFERENCES vector_name(id), t_ns INTEGER NOT NULL, value REAL,"
	" PRIMARY KEY(vector_id, t_ns)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS histogram("
	" run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL, bin_lo REAL NOT NULL,"
	" bin_hi REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(run_id, name, bin_lo));"
	"CREATE VIEW IF NOT EXISTS vector(run_id, name, t_ns, value) AS"
	" SELECT n.run_id, n.name, coalesce(c.t0 + c.step * (j.value ->> 0), j.value ->> 0), j.value ->> 1"
	" FROM vector_name n"
	" JOIN vector_chunk c ON c.vector_id = n.id JOIN json_each(c.samples) j"
	" UNION ALL SELECT n.run_id, n.name, d.t_ns, d.value FROM vector_data d JOIN vector_name n ON n.id = d.vector_id;";


int store_fail(struct store *st, struct errbuf *eb, const char *what)
{
	return err_set(eb, -ERR_IO, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

int store_exec(struct store *st, const char *sql, struct errbuf *eb)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = err_set(eb, -ERR_IO, "%s: %s", st->path, msg ? msg : "SQL failed");
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

/* SQLite's application_id names the program a database belongs to ('PCRF'). */
#define STORE_APP_ID 0x50435246

int64_t store_query_int(struct store *st, const char *sql, int *ok)
{
	sqlite3_stmt *q = NULL;
	int64_t v = 0;
	*ok = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW;
	if (*ok)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* Refuses, untouched, a database that another program made: only an empty one, one marked
 * precraft's, or one of precraft's from before the mark (its run and scalar tables) is
 * written.  Nothing is written before this passes (not even the journal mode). */
static int check_ours(struct store *st, struct errbuf *eb)
{
	int ok, ok2;
	int64_t id = store_query_int(st, "PRAGMA application_id", &ok);
	if (!ok)
		return store_fail(st, eb, "cannot read the database");
	if (id == STORE_APP_ID)
		return 0;
	int64_t tables = store_query_int(st, "SELECT count(*) FROM sqlite_master", &ok);
	int64_t ours = store_query_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('run', 'scalar', 'run_param')", &ok2);
	if (!ok || !ok2)
		return store_fail(st, eb, "cannot read the database");
	if (id != 0 || (tables > 0 && ours != 3))
		return err_set(eb, -ERR_FORMAT, "%s: not a precraft results database (another program's tables); name a new file",
			       st->path);
	char sql[64];
	if (tables == 0 && store_exec(st, "PRAGMA page_size=16384", eb))
		return -ERR_IO;
	snprintf(sql, sizeof sql, "PRAGMA application_id=%d", STORE_APP_ID);
	return store_exec(st, sql, eb);
}

/* Writes the reserve file (real blocks, not a sparse file).  Best effort: a database on a
 * filesystem too full for it opens all the same. */
static void reserve_take(struct store *st)
{
	size_t n = strlen(st->path) + sizeof "-reserve";
	if (strcmp(st->path, ":memory:") == 0 || !(st->reserve = malloc(n)))
		return;
	snprintf(st->reserve, n, "%s-reserve", st->path);
	int fd = open(st->reserve, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	static const uint8_t zero[16384];
	size_t done = 0;
	while (fd >= 0 && done < RESERVE_BYTES) {
		ssize_t w = write(fd, zero, sizeof zero);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (fd < 0 || done < RESERVE_BYTES || fsync(fd) != 0) {
		if (fd >= 0)
			unlink(st->reserve);
		free(st->reserve);
		st->reserve = NULL;
	}
	if (fd >= 0)
		close(fd);
}

/* Gives the reserve back.  Returns true when there was one. */
static bool reserve_release(struct store *st)
{
	if (!st->reserve)
		return false;
	unlink(st->reserve);
	free(st->reserve);
	st->reserve = NULL;
	return true;
}

static bool has_chunks(struct store *st)
{
	int ok;
	return store_query_int(st, "SELECT count(*) FROM sqlite_master WHERE name = 'vector_chunk'", &ok) > 0 && ok;
}

/* Whether the chunks of database 'db' ("main", or an attached one) have t0 and step. */
bool store_chunks_have_t0(struct store *st, const char *db)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('vector_chunk', '%s') WHERE name = 't0'", db);
	int ok;
	return store_query_int(st, sql, &ok) > 0 && ok;
}

/* Brings a database of an older version up to this one: chunks without t0 and step get the
 * columns (NULL in their rows, which the view and the reader take as absolute times), and the
 * 'vector' view of a database from before the chunks (over vector_data alone) or from before
 * t0 is replaced by the schema's. */
static int old_schema_upgrade(struct store *st, struct errbuf *eb)
{
	if (has_chunks(st) && !store_chunks_have_t0(st, "main")) {
		int rc = store_exec(st, "ALTER TABLE vector_chunk ADD COLUMN t0 INTEGER;"
					"ALTER TABLE vector_chunk ADD COLUMN step INTEGER;", eb);
		if (rc)
			return rc;
	}
	int ok;
	int64_t old = store_query_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = 'vector'"
					  " AND sql NOT LIKE '%c.step%'", &ok);
	return ok && old ? store_exec(st, "DROP VIEW vector", eb) : 0;
}

static int interrupt_check(void *arg)
{
	return *(volatile sig_atomic_t *)arg != 0;
}

void store_interrupt_on(struct store *st, volatile sig_atomic_t *flag)
{
	sqlite3_progress_handler(st->db, flag ? 10000 : 0, flag ? interrupt_check : NULL, (void *)flag);
}

/* The folder a results database is written in must exist and take new files (the database,
 * its write-ahead log and shared-memory file): said by name, not as SQLite's "unable to open
 * database file". */
static int check_folder(const char *path, struct errbuf *eb)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return err_set(eb, -ERR_IO, "%s: cannot write the results database: the folder %s: %s", path, dir,
			       strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return err_set(eb, -ERR_IO, "%s: cannot write the results database: %s is not a folder", path, dir);
	if (access(dir, W_OK | X_OK) != 0)
		return err_set(eb, -ERR_IO, "%s: cannot write the results database in the folder %s: %s", path, dir,
			       strerror(errno));
	return 0;
}

int store_open(const char *path, struct store **out, struct errbuf *eb)
{
	struct store *st = calloc(1, sizeof *st);
	if (!st || !(st->path = strdup(path))) {
		free(st);
		return err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
	}
	int rc;
	if ((rc = check_folder(path, eb)) != 0)
		goto out;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		rc = err_set(eb, -ERR_IO, "%s: cannot open the results database: %s", path,
			     st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (!(st->series = calloc(MAX_SERIES, sizeof *st->series))) {
		rc = err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((rc = check_ours(st, eb)) != 0 || (rc = old_schema_upgrade(st, eb)) != 0 || (rc = store_exec(st, schema, eb)) != 0)
		goto out;
	reserve_take(st);
	static const struct {
		sqlite3_stmt **stmt;
		const char *sql;
	} prep[] = {
		{ NULL, "INSERT OR REPLACE INTO run_param(run_id, name, value) VALUES(?,?,?)" },
		{ NULL, "INSERT OR REPLACE INTO scalar(run_id, name, value) VALUES(?,?,?)" },
		{ NULL, "INSERT OR REPLACE INTO vector_chunk(vector_id, chunk, samples, t0, step) VALUES(?,?,?,?,?)" },
		{ NULL, "INSERT OR REPLACE INTO flow VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)" },
		{ NULL, "INSERT OR IGNORE INTO vector_name(run_id, name) VALUES(?,?)" },
		{ NULL, "INSERT OR REPLACE INTO histogram(run_id, name, bin_lo, bin_hi, count) VALUES(?,?,?,?,?)" },
	};
	sqlite3_stmt **stmts[] = { &st->ins_param, &st->ins_scalar, &st->ins_chunk, &st->ins_flow, &st->ins_series,
				   &st->ins_hist };
	for (size_t i = 0; i < sizeof prep / sizeof prep[0]; i++)
		if (sqlite3_prepare_v2(st->db, prep[i].sql, -1, stmts[i], NULL) != SQLITE_OK) {
			rc = store_fail(st, eb, "cannot prepare a statement");
			goto out;
		}
	*out = st;
	return 0;
out:
	store_close(st, NULL);
	return rc;
}

/* Remembers the first row that did not land, and counts them all. */
static int lose(struct store *st, unsigned rows, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lose(struct store *st, unsigned rows, const char *fmt, ...)
{
	if (!st->lost) {
		char what[160];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof what, fmt, ap);
		va_end(ap);
		snprintf(st->lost_msg, sizeof st->lost_msg, "%s: %s not written: %s", st->path, what,
			 sqlite3_errmsg(st->db));
	}
	st->lost += rows ? rows : 1;
	return -ERR_IO;
}

/* The kinds of row, for counting a batch and naming what was lost. */
enum row { ROW_PARAM, ROW_SCALAR, ROW_VECTOR, ROW_FLOW, ROW_HISTOGRAM };
static const char *const row_names[] = { "param", "scalar", "vector", "flow", "histogram" };

/* One row of 'kind' lost: named by 'name', or for a flow (name NULL) by its id. */
static int lost_row(struct store *st, enum row kind, const char *name, uint64_t id)
{
	if (name)
		return lose(st, 1, "%s '%s'", row_names[kind], name);
	return lose(st, 1, "%s %llu", row_names[kind], (unsigned long long)id);
}

static int flush_all(struct store *st);

int store_commit(struct store *st, struct errbuf *eb)
{
	if (!st->in_tx)
		return 0;
	flush_all(st); /* a chunk that fails is counted lost; the rest is committed */
	unsigned rows = st->pending, *k = st->pending_kind;
	st->in_tx = 0;
	st->pending = 0;
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		lose(st, rows, "%u rows (%u parameters, %u scalars, %u vector samples, %u flows, %u histogram bins)", rows,
		     k[0], k[1], k[2], k[3], k[4]);
		memset(st->pending_kind, 0, sizeof st->pending_kind);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return err_set(eb, -ERR_IO, "%s", st->lost_msg);
	}
	memset(st->pending_kind, 0, sizeof st->pending_kind);
	return 0;
}

int store_failed(const struct store *st, struct errbuf *eb)
{
	if (!st || !st->lost)
		return 0;
	return err_set(eb, -ERR_IO, "%s (%llu rows lost in all)", st->lost_msg, (unsigned long long)st->lost);
}

int store_close(struct store *st, struct errbuf *eb)
{
	if (!st)
		return 0;
	int rc = st->db ? store_commit(st, eb) : 0;
	sqlite3_finalize(st->ins_param);
	sqlite3_finalize(st->ins_scalar);
	sqlite3_finalize(st->ins_chunk);
	sqlite3_finalize(st->ins_flow);
	sqlite3_finalize(st->ins_series);
	sqlite3_finalize(st->ins_hist);
	/* The last connection to close checkpoints the WAL and removes it. */
	if (st->db && sqlite3_close(st->db) != SQLITE_OK && !rc)
		rc = err_set(eb, -ERR_IO, "%s: cannot close the results database", st->path);
	reserve_release(st);
	for (unsigned i = 0; st->series && i < MAX_SERIES; i++)
		free(st->series[i].name);
	free(st->series);
	free(st->chunk_text);
	free(st->path);
	free(st);
	return rc;
}

static int begin(struct store *st)
{
	if (st->in_tx)
		return 0;
	if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -ERR_IO;
	st->in_tx = 1;
	return 0;
}

/* Runs a prepared insert and counts it toward the batch; 'name' or 'id' name the row for the
 * error (lost_row), formatted only when it failed. */
static int step(struct store *st, sqlite3_stmt *s, enum row kind, const char *name, uint64_t id)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return lost_row(st, kind, name, id);
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
			reserve_release(st);
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
	if (begin(st))
		return lost_row(st, ROW_PARAM, name, 0);
	sqlite3_bind_int64(st->ins_param, 1, run_id);
	sqlite3_bind_text(st->ins_param, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st->ins_param, 3, value, -1, SQLITE_TRANSIENT);
	return step(st, st->ins_param, ROW_PARAM, name, 0);
}

int store_scalar(struct store *st, int64_t run_id, const char *name, double value)
{
	if (begin(st))
		return lost_row(st, ROW_SCALAR, name, 0);
	sqlite3_bind_int64(st->ins_scalar, 1, run_id);
	sqlite3_bind_text(st->ins_scalar, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st->ins_scalar, 3, value);
	return step(st, st->ins_scalar, ROW_SCALAR, name, 0);
}

/* Writes 'u' in decimal at 'out'; returns the length. */
static size_t put_u64(char *out, uint64_t u)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* Writes 'v' as JSON (integers as integers, exact; others with 17 digits, which read back to
 * the same double; what JSON cannot say as null). */
static size_t json_number(char *out, double v)
{
	if (!isfinite(v)) {
		memcpy(out, "null", 4);
		return 4;
	}
	if (v == (double)(int64_t)v && fabs(v) < 9007199254740992.0) {
		if (v < 0) {
			*out = '-';
			return 1 + put_u64(out + 1, (uint64_t)(-(int64_t)v));
		}
		return put_u64(out, (uint64_t)v);
	}
	return (size_t)sprintf(out, "%.17g", v);
}

/* Writes series sr's pending samples as one chunk row. */
static int flush_series(struct store *st, struct series *sr)
{
	if (!sr->n)
		return 0;
	/* "[k,v]," is at most 20 + 1 + 24 + 3 characters. */
	size_t need = (size_t)sr->n * 56 + 4;
	if (need > st->chunk_cap) {
		char *p = realloc(st->chunk_text, need);
		if (!p) {
			unsigned n = sr->n;
			sr->n = 0;
			return lose(st, n, "vector '%s' (%u samples)", sr->name, n);
		}
		st->chunk_text = p;
		st->chunk_cap = need;
	}
	/* t0 the earliest time, step the greatest common divisor of the offsets from it (1 when
	 * they are all 0): every time is t0 + k * step exactly. */
	uint64_t t0 = sr->buf[0].t_ns, step = 0;
	for (unsigned i = 1; i < sr->n; i++)
		if (sr->buf[i].t_ns < t0)
			t0 = sr->buf[i].t_ns;
	for (unsigned i = 0; i < sr->n && step != 1; i++) {
		uint64_t a = sr->buf[i].t_ns - t0;
		if (step && a % step == 0)
			continue;
		for (uint64_t b = step; b;) {
			uint64_t r = a % b;
			a = b;
			b = r;
		}
		step = a;
	}
	if (!step)
		step = 1;
	char *o = st->chunk_text;
	*o++ = '[';
	for (unsigned i = 0; i < sr->n; i++) {
		if (i)
			*o++ = ',';
		*o++ = '[';
		o += put_u64(o, (sr->buf[i].t_ns - t0) / step);
		*o++ = ',';
		o += json_number(o, sr->buf[i].value);
		*o++ = ']';
	}
	*o++ = ']';
	sqlite3_bind_int64(st->ins_chunk, 1, sr->id);
	sqlite3_bind_int64(st->ins_chunk, 2, sr->next_chunk);
	sqlite3_bind_text(st->ins_chunk, 3, st->chunk_text, (int)(o - st->chunk_text), SQLITE_STATIC);
	sqlite3_bind_int64(st->ins_chunk, 4, (int64_t)t0);
	sqlite3_bind_int64(st->ins_chunk, 5, (int64_t)step);
	int rc = sqlite3_step(st->ins_chunk);
	sqlite3_reset(st->ins_chunk);
	sqlite3_clear_bindings(st->ins_chunk);
	unsigned n = sr->n;
	sr->n = 0;
	if (rc != SQLITE_DONE)
		return lose(st, n, "vector '%s' (%u samples)", sr->name, n);
	sr->next_chunk++;
	return 0;
}

static int flush_all(struct store *st)
{
	int rc = 0;
	for (unsigned i = 0; i < st->n_series; i++)
		if (flush_series(st, &st->series[i]))
			rc = -ERR_IO;
	return rc;
}

static bool series_is(const struct series *sr, int64_t run_id, const char *name)
{
	return sr->name && sr->run_id == run_id && strcmp(sr->name, name) == 0;
}

/* Series 'name' of a run: its slot, created on first use (the row in vector_name, the number of
 * its next chunk) and kept while it is written; the slot written least lately is flushed and
 * given up when all are taken.  NULL when the database refuses. */

static struct series *series_get(struct store *st, int64_t run_id, const char *name)
{
	/* A simulation writes its series in the same order at every interval: the slot after the
	 * last one written is tried first, so a row costs one comparison, not a search. */
	unsigned g = st->series_next < st->n_series ? st->series_next : 0;
	for (unsigned j = 0; j < st->n_series; j++) {
		unsigned i = g + j < st->n_series ? g + j : g + j - st->n_series;
		if (series_is(&st->series[i], run_id, name)) {
			st->series_next = i + 1;
			return &st->series[i];
		}
	}
	struct series *sr;
	if (st->n_series < MAX_SERIES) {
		sr = &st->series[st->n_series++];
	} else {
		sr = &st->series[st->evict];
		st->evict = (st->evict + 1) % MAX_SERIES;
		flush_series(st, sr);
		free(sr->name);
		sr->name = NULL;
	}
	sr->n = 0;
	sr->run_id = run_id;
	if (!(sr->name = strdup(name)))
		goto fail;
	sqlite3_bind_int64(st->ins_series, 1, run_id);
	sqlite3_bind_text(st->ins_series, 2, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st->ins_series);
	sqlite3_reset(st->ins_series);
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT n.id, (SELECT coalesce(max(chunk) + 1, 0) FROM vector_chunk WHERE vector_id = n.id)"
			       " FROM vector_name n WHERE n.run_id = ? AND n.name = ?",
			       -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		sr->id = sqlite3_column_int64(q, 0);
		sr->next_chunk = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_ROW)
		return sr;
fail:
	free(sr->name);
	sr->name = NULL;
	sr->run_id = -1;
	return NULL;
}

int store_vector(struct store *st, int64_t run_id, const char *name, uint64_t t_ns, double value)
{
	if (begin(st))
		return lost_row(st, ROW_VECTOR, name, 0);
	struct series *sr = series_get(st, run_id, name);
	if (!sr)
		return lost_row(st, ROW_VECTOR, name, 0);
	if (sr->n == CHUNK_SAMPLES && flush_series(st, sr))
		return -ERR_IO;
	sr->buf[sr->n].t_ns = t_ns;
	sr->buf[sr->n++].value = value;
	st->pending_kind[ROW_VECTOR]++;
	if (++st->pending >= BATCH_ROWS)
		return store_commit(st, NULL);
	return 0;
}

int store_flow(struct store *st, int64_t run_id, const struct recorder_flow *f)
{
	if (begin(st))
		return lost_row(st, ROW_FLOW, NULL, f->flow_id);
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
	if (begin(st))
		return lost_row(st, ROW_HISTOGRAM, name, 0);
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

int store_get_scalar(struct store *st, int64_t run_id, const char *name, double *value)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "SELECT value FROM scalar WHERE run_id = ? AND name = ?", -1, &s, NULL) !=
	    SQLITE_OK)
		return -ERR_IO;
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	int rc = -ERR_NOTFOUND;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*value = sqlite3_column_double(s, 0);
		rc = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

int store_dump(struct store *st, FILE *out, struct errbuf *eb)
{
	static const char *const q[] = {
		"SELECT 'run', id, status, command, seed, run_number FROM run ORDER BY id",
		"SELECT 'param', run_id, name, value FROM run_param ORDER BY run_id, name",
		/* printf() makes a NULL (a NaN recorded) 0: the iif keeps it NULL. */
		"SELECT 'scalar', run_id, name, iif(value IS NULL, NULL, printf('%.17g', value)) FROM scalar ORDER BY run_id, name",
		"SELECT 'flow', * FROM flow ORDER BY run_id, flow_id",
		"SELECT 'vector', run_id, name, t_ns, iif(value IS NULL, NULL, printf('%.17g', value)) FROM vector"
		" ORDER BY run_id, name, t_ns, value",
		"SELECT 'histogram', run_id, name, printf('%.17g', bin_lo), count FROM histogram"
		" ORDER BY run_id, name, bin_lo",
	};
	int rc = store_commit(st, eb);
	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(st->db, q[i], -1, &s, NULL) != SQLITE_OK)
			return store_fail(st, eb, "cannot read");
		while (sqlite3_step(s) == SQLITE_ROW) {
			int n = sqlite3_column_count(s);
			for (int c = 0; c < n; c++) {
				const unsigned char *t = sqlite3_column_text(s, c);
				fprintf(out, "%s%s", c ? "|" : "", t ? (const char *)t : "NULL");
			}
			fputc('\n', out);
		}
		sqlite3_finalize(s);
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* A database in WAL mode on read-only media (or in a folder we may not write) cannot be read
 * the ordinary way: a reader needs the shared-memory file beside it.  Opened again as an
 * immutable file (a URI, the path percent-encoded): what the main file holds, read without
 * locks; what a write-ahead log beside it holds is not seen (store_read_only_note says so). */
static int reopen_immutable(struct store *st)
{
	size_t n = strlen(st->path);
	char *uri = malloc(3 * n + 32);
	if (!uri)
		return -ERR_NOMEM;
	size_t j = (size_t)sprintf(uri, "file:");
	for (const unsigned char *p = (const unsigned char *)st->path; *p; p++)
		j += (size_t)(isalnum(*p) || strchr("/._-~", *p) ? sprintf(uri + j, "%c", *p) : sprintf(uri + j, "%%%02X", *p));
	strcpy(uri + j, "?immutable=1");
	sqlite3_close(st->db);
	st->db = NULL;
	int rc = sqlite3_open_v2(uri, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	free(uri);
	if (rc != SQLITE_OK)
		return -ERR_IO;
	st->immutable = true;
	return 0;
}

int store_read_only_note(const struct store *st, char *out, size_t n)
{
	if (!st->immutable)
		return 0;
	char wal[4200];
	struct stat sb;
	snprintf(wal, sizeof wal, "%s-wal", st->path);
	bool has_wal = stat(wal, &sb) == 0 && sb.st_size > 0;
	snprintf(out, n, "%s: on read-only media: read as an immutable file%s", st->path,
		 has_wal ? "; its write-ahead log beside it cannot be read, so the runs written last may be missing" : "");
	return 1;
}

int store_open_read(const char *path, struct store **out, struct errbuf *eb)
{
	struct store *st = calloc(1, sizeof *st);
	if (!st || !(st->path = strdup(path))) {
		free(st);
		return err_set(eb, -ERR_NOMEM, "%s: out of memory", path);
	}
	int rc = 0, ok;
	if (access(path, R_OK) != 0) {
		rc = err_set(eb, -ERR_FORMAT, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = err_set(eb, -ERR_FORMAT, "%s: not a results database: %s", path,
			     st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(st->db, 5000);
	int64_t id = store_query_int(st, "PRAGMA application_id", &ok);
	if (!ok && sqlite3_errcode(st->db) == SQLITE_CANTOPEN && reopen_immutable(st) == 0)
		id = store_query_int(st, "PRAGMA application_id", &ok);
	int64_t ours = ok ? store_query_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('run', 'scalar', 'run_param', 'flow', 'histogram', 'vector_name', 'vector_data')", &ok) : 0;
	if (!ok || (id != STORE_APP_ID && id != 0) || ours != 7) {
		rc = err_set(eb, -ERR_FORMAT, "%s: not a precraft results database", path);
		goto out;
	}
	*out = st;
	return 0;
out:
	store_close(st, NULL);
	return rc;
}

static void copy_text(char *dst, size_t n, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

int store_each_run(struct store *st, int (*fn)(void *arg, const struct store_run *r), void *arg, struct errbuf *eb)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, status, command, seed, run_number, started_at, coalesce(finished_at, ''),"
			       " coalesce(git_rev, '') FROM run ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, eb, "cannot read the runs");
	int rc = 0, r;
	while (!rc && (r = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_run run;
		run.id = sqlite3_column_int64(s, 0);
		copy_text(run.status, sizeof run.status, s, 1);
		copy_text(run.command, sizeof run.command, s, 2);
		run.seed = (uint64_t)sqlite3_column_int64(s, 3);
		run.run_number = (uint64_t)sqlite3_column_int64(s, 4);
		copy_text(run.started_at, sizeof run.started_at, s, 5);
		copy_text(run.finished_at, sizeof run.finished_at, s, 6);
		copy_text(run.git_rev, sizeof run.git_rev, s, 7);
		rc = fn(arg, &run);
	}
	if (!rc && r != SQLITE_DONE)
		rc = store_fail(st, eb, "cannot read the runs");
	sqlite3_finalize(s);
	return rc;
}

/* Hands the samples of chunk text 't' ("[[k,v],...]", as flush_series writes it) to 'r', at
 * times t0 + k * step; with 'absolute' (a chunk written before t0 and step), k is the time.
 * Returns 0, a recorder's negative error, or 1 when the text is not a chunk. */
static int chunk_each(const char *t, bool absolute, uint64_t t0, uint64_t step, const char *name,
		      const struct recorder *r)
{
	if (*t++ != '[')
		return 1;
	while (*t == '[') {
		char *e;
		errno = 0;
		unsigned long long ts = strtoull(t + 1, &e, 10);
		if (e == t + 1 || *e != ',' || errno)
			return 1;
		double v;
		if (strncmp(e + 1, "null", 4) == 0) {
			v = NAN;
			e += 5;
		} else {
			const char *vs = e + 1;
			v = strtod(vs, &e);
			if (e == vs)
				return 1;
		}
		if (*e != ']')
			return 1;
		int rc = r->ops->vector(r->arg, name, absolute ? (uint64_t)ts : t0 + step * (uint64_t)ts, v);
		if (rc)
			return rc < 0 ? rc : -ERR_IO;
		t = e + 1;
		if (*t == ',')
			t++;
	}
	return *t == ']' ? 0 : 1;
}

int store_read_run(struct store *st, int64_t run_id, const struct recorder *r, struct errbuf *eb, char *damage,
		   size_t damage_len)
{
	if (damage && damage_len)
		damage[0] = 0;
	static const char *const q[] = {
		"SELECT name, value FROM run_param WHERE run_id = ?1 ORDER BY name",
		"SELECT name, value FROM scalar WHERE run_id = ?1 ORDER BY name",
		"SELECT n.name, d.t_ns, d.value FROM vector_name n JOIN vector_data d ON d.vector_id = n.id"
		" WHERE n.run_id = ?1 ORDER BY n.name, d.t_ns",
		"SELECT n.name, c.samples, c.t0, c.step FROM vector_name n JOIN vector_chunk c ON c.vector_id = n.id"
		" WHERE n.run_id = ?1 ORDER BY n.name, c.chunk",
		"SELECT flow_id, proto, src, dst, sport, dport, packets, bytes, hits, misses, wasted, delay_sum_ns,"
		" jitter_sum_ns, lost, first_ns, last_ns FROM flow WHERE run_id = ?1 ORDER BY flow_id",
		"SELECT name, bin_lo, bin_hi, count FROM histogram WHERE run_id = ?1 ORDER BY name, bin_lo",
	};
	int rc = 0;
	for (size_t k = 0; k < sizeof q / sizeof q[0] && !rc; k++) {
		sqlite3_stmt *s;
		const char *sql = q[k];
		if (k == 3 && !has_chunks(st))
			continue; /* a database from before the chunks */
		if (k == 3 && !store_chunks_have_t0(st, "main"))
			sql = "SELECT n.name, c.samples, NULL, NULL FROM vector_name n JOIN vector_chunk c"
			      " ON c.vector_id = n.id WHERE n.run_id = ?1 ORDER BY n.name, c.chunk";
		if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
			return store_fail(st, eb, "cannot read a run");
		}
		sqlite3_bind_int64(s, 1, run_id);
		int step_rc;
		while (!rc && (step_rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(s, 0);
			switch (k) {
			case 0: {
				const char *v = (const char *)sqlite3_column_text(s, 1);
				rc = r->ops->param(r->arg, name ? name : "", v ? v : "");
				break;
			}
			case 1:
				if (sqlite3_column_type(s, 1) != SQLITE_NULL) /* NULL: no value, not 0 */
					rc = r->ops->scalar(r->arg, name ? name : "", sqlite3_column_double(s, 1));
				break;
			case 2:
				rc = r->ops->vector(r->arg, name ? name : "", (uint64_t)sqlite3_column_int64(s, 1),
						    sqlite3_column_double(s, 2));
				break;
			case 3: {
				const char *t = (const char *)sqlite3_column_text(s, 1);
				bool absolute = sqlite3_column_type(s, 2) == SQLITE_NULL;
				rc = chunk_each(t ? t : "", absolute, (uint64_t)sqlite3_column_int64(s, 2),
						(uint64_t)sqlite3_column_int64(s, 3), name ? name : "", r);
				if (rc > 0 && damage) {
					if (!damage[0] && damage_len)
						snprintf(damage, damage_len, "%s: run %lld: a damaged chunk of vector '%s' (skipped)",
							 st->path, (long long)run_id, name ? name : "");
					rc = 0; /* the chunk's samples before the damage were handed over; the rest not */
				} else if (rc > 0) {
					rc = err_set(eb, -ERR_FORMAT, "%s: run %lld: a damaged chunk of vector '%s'", st->path,
						     (long long)run_id, name ? name : "");
				}
				break;
			}
			case 4: {
				struct recorder_flow f;
				memset(&f, 0, sizeof f);
				f.flow_id = (uint64_t)sqlite3_column_int64(s, 0);
				f.proto = (uint8_t)sqlite3_column_int(s, 1);
				copy_text(f.src, sizeof f.src, s, 2);
				copy_text(f.dst, sizeof f.dst, s, 3);
				f.sport = (uint16_t)sqlite3_column_int(s, 4);
				f.dport = (uint16_t)sqlite3_column_int(s, 5);
				uint64_t *u[] = { &f.packets, &f.bytes, &f.hits, &f.misses, &f.wasted, &f.delay_sum_ns,
						  &f.jitter_sum_ns, &f.lost, &f.first_ns, &f.last_ns };
				for (int c = 0; c < 10; c++)
					*u[c] = (uint64_t)sqlite3_column_int64(s, 6 + c);
				rc = r->ops->flow(r->arg, &f);
				break;
			}
			default:
				rc = r->ops->histogram(r->arg, name ? name : "", sqlite3_column_double(s, 1),
						       sqlite3_column_double(s, 2), (uint64_t)sqlite3_column_int64(s, 3));
				break;
			}
		}
		if (!rc && step_rc != SQLITE_DONE)
			rc = store_fail(st, eb, "cannot read a run");
		sqlite3_finalize(s);
	}
	if (rc > 0 || (rc < 0 && !eb->msg[0]))
		rc = err_set(eb, rc < 0 ? rc : -ERR_NOMEM, "%s: run %lld: %s", st->path, (long long)run_id,
			     err_str(rc < 0 ? rc : -ERR_NOMEM));
	return rc;
}
