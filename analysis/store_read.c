/* store_read: reading a results database back (see store.h): opened read-only (immutable on
 * read-only media), its runs listed, a run's rows handed to a recorder. */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"

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
		if (k == 3 && !store__has_chunks(st))
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
