/* store_impl: what the store's files share (store.c: schema, writing, reading; store_merge.c:
 * merging shards).  Not installed; nothing outside analysis/store*.c includes it. */
#ifndef PRECRAFT_ANALYSIS_STORE_IMPL_H
#define PRECRAFT_ANALYSIS_STORE_IMPL_H

#include <sqlite3.h>
#include <stdbool.h>

#include "store.h"

#define BATCH_ROWS 32768
#define MAX_SERIES 64

/* Samples of a series are stored in chunks: one row per CHUNK_SAMPLES samples (a JSON array of
 * [k, value] pairs, the time t0 + k * step; see the schema), written when the chunk is full or
 * the transaction commits. */
#define CHUNK_SAMPLES 512

struct sample {
	uint64_t t_ns;
	double value;
};

struct series {
	int64_t run_id, id;
	char *name;                /* NULL: the slot is free */
	int64_t next_chunk;        /* the number the next chunk row gets */
	unsigned n;                /* samples waiting in 'buf' */
	struct sample buf[CHUNK_SAMPLES];
};

/* Space set aside beside the database (PATH-reserve) while it is open: when the filesystem
 * fills, the reserve is given back so that the run can still be marked failed. */
#define RESERVE_BYTES (256u << 10)

/* The kinds of row, for what did not land. */
enum row { ROW_PARAM, ROW_SCALAR, ROW_VECTOR, ROW_FLOW, ROW_HISTOGRAM };

struct store {
	sqlite3 *db;
	char *path;
	bool immutable;            /* opened read-only as an immutable file (read-only media) */
	char *reserve;             /* the reserve file's path; NULL when there is none */
	sqlite3_stmt *ins_param, *ins_scalar, *ins_chunk, *ins_flow, *ins_series, *ins_hist;
	struct series *series;     /* MAX_SERIES slots: the series written lately, with their pending samples */
	unsigned n_series, evict;
	unsigned series_next;       /* the slot after the one written last: rows come in rounds */
	char *chunk_text;          /* the JSON of a chunk being written */
	size_t chunk_cap;
	unsigned pending;          /* rows in the open transaction */
	unsigned pending_kind[5];  /* of them, by enum row */
	int in_tx;
	int64_t rec_run;           /* the run store_recorder() records into */
	/* The first write that failed, sticky until the run ends (store_run_end). */
	uint64_t lost;             /* rows not written */
	char lost_msg[ERR_MSG_LEN];
};

/* "path: what: sqlite's message" in 'eb'; returns -ERR_IO. */
int store_fail(struct store *st, struct errbuf *eb, const char *what);
/* Runs SQL text; -ERR_IO with SQLite's message in 'eb'. */
int store_exec(struct store *st, const char *sql, struct errbuf *eb);
/* The first column of the first row of 'sql' as an integer; '*ok' false when there is none. */
int64_t store_query_int(struct store *st, const char *sql, int *ok);
/* Whether the vector chunks of database 'db' ("main", "shard") have the t0 and step columns
 * (databases written before them have not). */
bool store_chunks_have_t0(struct store *st, const char *db);
/* Whether the database has the chunked vectors table (every database since vector_chunk). */
bool store__has_chunks(struct store *st);

/* Shared by the writer's files (store.c, store_series.c): a row or rows that did not land,
 * remembered and counted (the first one's description); the open transaction, begun if none;
 * every series' pending samples written. */
int store__lose(struct store *st, unsigned rows, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int store__lost_row(struct store *st, enum row kind, const char *name, uint64_t id);
int store__begin(struct store *st);
/* Gives the reserve file back (disk full: room for the rollback and the error).  True when there
 * was one. */
bool store__reserve_release(struct store *st);
int store__flush_all(struct store *st);

/* The application id of a precraft results database (PRAGMA application_id): "PCRF". */
#define STORE_APP_ID 0x50435246

#endif
