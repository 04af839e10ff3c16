/* store_series: the time series of a run (see store.h): samples gathered per series and
 * written as chunks of JSON pairs, a chunk per series at a time (store_impl.h: struct series). */
#include "store.h"

#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

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
			return store__lose(st, n, "vector '%s' (%u samples)", sr->name, n);
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
		return store__lose(st, n, "vector '%s' (%u samples)", sr->name, n);
	sr->next_chunk++;
	return 0;
}

int store__flush_all(struct store *st)
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
	if (store__begin(st))
		return store__lost_row(st, ROW_VECTOR, name, 0);
	struct series *sr = series_get(st, run_id, name);
	if (!sr)
		return store__lost_row(st, ROW_VECTOR, name, 0);
	if (sr->n == CHUNK_SAMPLES && flush_series(st, sr))
		return -ERR_IO;
	sr->buf[sr->n].t_ns = t_ns;
	sr->buf[sr->n++].value = value;
	st->pending_kind[ROW_VECTOR]++;
	if (++st->pending >= BATCH_ROWS)
		return store_commit(st, NULL);
	return 0;
}
