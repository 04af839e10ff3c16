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
bool store__reserve_release(struct store *st)
{
	if (!st->reserve)
		return false;
	unlink(st->reserve);
	free(st->reserve);
	st->reserve = NULL;
	return true;
}

bool store__has_chunks(struct store *st)
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
	if (store__has_chunks(st) && !store_chunks_have_t0(st, "main")) {
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
int store__lose(struct store *st, unsigned rows, const char *fmt, ...)
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
static const char *const row_names[] = { "param", "scalar", "vector", "flow", "histogram" };

/* One row of 'kind' lost: named by 'name', or for a flow (name NULL) by its id. */
int store__lost_row(struct store *st, enum row kind, const char *name, uint64_t id)
{
	if (name)
		return store__lose(st, 1, "%s '%s'", row_names[kind], name);
	return store__lose(st, 1, "%s %llu", row_names[kind], (unsigned long long)id);
}


int store_commit(struct store *st, struct errbuf *eb)
{
	if (!st->in_tx)
		return 0;
	store__flush_all(st); /* a chunk that fails is counted lost; the rest is committed */
	unsigned rows = st->pending, *k = st->pending_kind;
	st->in_tx = 0;
	st->pending = 0;
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store__lose(st, rows, "%u rows (%u parameters, %u scalars, %u vector samples, %u flows, %u histogram bins)", rows,
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
	store__reserve_release(st);
	for (unsigned i = 0; st->series && i < MAX_SERIES; i++)
		free(st->series[i].name);
	free(st->series);
	free(st->chunk_text);
	free(st->path);
	free(st);
	return rc;
}

int store__begin(struct store *st)
{
	if (st->in_tx)
		return 0;
	if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -ERR_IO;
	st->in_tx = 1;
	return 0;
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
