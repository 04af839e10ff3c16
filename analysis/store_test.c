/* store_test: time series through the store.  A chunk stores its times as t0 + k * step (see
 * the schema in store.c); these series take every shape that encoding must keep exact: a
 * regular grid, a grid with gaps, times with no common divisor, times out of order and repeated,
 * a single sample, times near 2^62, values that are integers, fractions, negative, NaN.  Each is
 * read back through the 'vector' view (store_dump) and through the reader (store_read_run), and
 * must be what was written.  A database written before t0 and step (built here with the old
 * schema) must read as before, take new runs after the upgrade, and merge as a shard. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/store.h"

struct sample {
	uint64_t t;
	double v;
};

#define MAX_SAMPLES 4096

struct series {
	const char *name;
	size_t n;
	struct sample s[MAX_SAMPLES];
};

static struct series series[6];

static void make_series(void)
{
	struct series *s = series;
	memset(series, 0, sizeof series);
	s[0].name = "grid"; /* 1500 samples every 10 ms: three chunks */
	for (size_t i = 0; i < 1500; i++)
		s[0].s[s[0].n++] = (struct sample){ 551180000000ull + i * 10000000ull, (double)(i % 7) };
	s[1].name = "gaps"; /* the grid with every third interval missing, ratios as values */
	for (size_t i = 0; i < 1200; i++)
		if (i % 3)
			s[1].s[s[1].n++] = (struct sample){ 1000000000ull + i * 10000000ull, (double)i / 3.0 };
	s[2].name = "irregular"; /* offsets with no common divisor */
	uint64_t t = 17;
	for (size_t i = 0; i < 700; i++, t += 7 + (i * i) % 13)
		s[2].s[s[2].n++] = (struct sample){ t, -(double)i * 0.001 };
	s[3].name = "unordered"; /* backwards, repeated times */
	for (size_t i = 0; i < 600; i++)
		s[3].s[s[3].n++] = (struct sample){ 5000000000ull - (i / 2) * 3000ull, i % 5 ? (double)i : NAN };
	s[4].name = "single";
	s[4].s[s[4].n++] = (struct sample){ 42, 0.1 };
	s[5].name = "huge"; /* near 2^62 ns, offsets of a nanosecond */
	for (size_t i = 0; i < 900; i++)
		s[5].s[s[5].n++] = (struct sample){ (1ull << 62) + i * (i % 2 ? 1 : 1000000000ull), 1e300 / (double)(i + 1) };
}

static char *db_path(char *tmpl)
{
	int fd = mkstemp(tmpl);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	unlink(tmpl);
	return tmpl;
}

static void rm_db(const char *path)
{
	char p[256];
	unlink(path);
	const char *suffix[] = { "-wal", "-shm", "-reserve" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", path, suffix[i]);
		unlink(p);
	}
}

/* What the view must show for run 'run_id': "vector|run|name|t|value" lines, as store_dump
 * orders them (name, t, value; NaN is NULL and sorts first). */
static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (isnan(x->v) || isnan(y->v))
		return isnan(y->v) - isnan(x->v);
	return x->v < y->v ? -1 : x->v > y->v;
}

static int cmp_series(const void *a, const void *b)
{
	return strcmp(((const struct series *)a)->name, ((const struct series *)b)->name);
}

static void expect_lines(FILE *f, int64_t run_id)
{
	struct series sorted[6];
	memcpy(sorted, series, sizeof sorted);
	qsort(sorted, 6, sizeof sorted[0], cmp_series);
	for (size_t k = 0; k < 6; k++) {
		qsort(sorted[k].s, sorted[k].n, sizeof sorted[k].s[0], cmp_sample);
		for (size_t i = 0; i < sorted[k].n; i++) {
			char v[40];
			if (isnan(sorted[k].s[i].v))
				snprintf(v, sizeof v, "NULL");
			else
				snprintf(v, sizeof v, "%.17g", sorted[k].s[i].v);
			fprintf(f, "vector|%lld|%s|%llu|%s\n", (long long)run_id, sorted[k].name,
				(unsigned long long)sorted[k].s[i].t, v);
		}
	}
}

/* The vector lines of store_dump. */
static char *dump_vectors(struct store *st)
{
	char *all = NULL, *out = NULL;
	size_t n = 0, m = 0;
	struct errbuf eb;
	FILE *f = open_memstream(&all, &n);
	CU_ASSERT_EQUAL(store_dump(st, f, &eb), 0);
	fclose(f);
	f = open_memstream(&out, &m);
	for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, "vector|", 7) == 0)
			fprintf(f, "%s\n", line);
	fclose(f);
	free(all);
	return out;
}

/* Whether dump lines 'a' and 'b' agree: all but the value exactly, the value within SQLite's
 * printf, which gives 16 digits of a "%.17g" (the reader's test checks values exactly). */
static bool same_lines(const char *a, const char *b)
{
	while (*a && *b) {
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		const char *va = ea, *vb = eb;
		while (va > a && va[-1] != '|')
			va--;
		while (vb > b && vb[-1] != '|')
			vb--;
		if (!ea || !eb || va - a != vb - b || memcmp(a, b, (size_t)(va - a)) != 0)
			return false;
		bool na = strncmp(va, "NULL", 4) == 0, nb = strncmp(vb, "NULL", 4) == 0;
		double x = strtod(va, NULL), y = strtod(vb, NULL);
		if (na != nb || (!na && fabs(x - y) > 1e-15 * fabs(y)))
			return false;
		a = ea + 1;
		b = eb + 1;
	}
	return !*a && !*b;
}

static char *expected(int64_t run_id)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	expect_lines(f, run_id);
	fclose(f);
	return out;
}

/* The reader's samples: by series, each in the order written (by chunk, and in a chunk). */
struct got {
	size_t pos[6], bad, count;
};

static int got_vector(void *arg, const char *name, uint64_t t, double v)
{
	struct got *g = arg;
	g->count++;
	size_t k = 0;
	while (k < 6 && strcmp(series[k].name, name) != 0)
		k++;
	if (k == 6 || g->pos[k] >= series[k].n) {
		g->bad++;
		return 0;
	}
	const struct sample *s = &series[k].s[g->pos[k]++];
	if (s->t != t || !(s->v == v || (isnan(s->v) && isnan(v))))
		g->bad++;
	return 0;
}

static int no_param(void *a, const char *n, const char *v) { (void)a, (void)n, (void)v; return 0; }
static int no_scalar(void *a, const char *n, double v) { (void)a, (void)n, (void)v; return 0; }
static int no_flow(void *a, const struct recorder_flow *f) { (void)a, (void)f; return 0; }
static int no_hist(void *a, const char *n, double l, double h, uint64_t c) { (void)a, (void)n, (void)l, (void)h, (void)c; return 0; }
static const struct recorder_ops got_ops = { no_param, no_scalar, got_vector, no_flow, no_hist };

static void check_reader(const char *path, int64_t run_id, size_t want)
{
	struct store *rd;
	struct errbuf eb;
	CU_ASSERT_FATAL(store_open_read(path, &rd, &eb) == 0);
	struct got g = { 0 };
	struct recorder r = { &got_ops, &g };
	CU_ASSERT_EQUAL(store_read_run(rd, run_id, &r, &eb, NULL, 0), 0);
	CU_ASSERT_EQUAL(g.bad, 0);
	CU_ASSERT_EQUAL(g.count, want);
	store_close(rd, NULL);
}

static size_t total(void)
{
	size_t n = 0;
	for (size_t k = 0; k < 6; k++)
		n += series[k].n;
	return n;
}

static int64_t write_run(struct store *st)
{
	struct errbuf eb;
	int64_t id;
	CU_ASSERT_FATAL(store_run_begin(st, "store_test", 1, 1, &id, &eb) == 0);
	/* Interleaved as a run records them: one sample of each series in turn. */
	for (size_t i = 0; i < MAX_SAMPLES; i++)
		for (size_t k = 0; k < 6; k++)
			if (i < series[k].n)
				CU_ASSERT_EQUAL(store_vector(st, id, series[k].name, series[k].s[i].t, series[k].s[i].v), 0);
	CU_ASSERT_EQUAL(store_run_end(st, id, "complete", &eb), 0);
	return id;
}

static void test_vector_times_exact(void)
{
	make_series();
	char tmpl[] = "/tmp/precraft-store-XXXXXX";
	const char *path = db_path(tmpl);
	struct store *st;
	struct errbuf eb;
	CU_ASSERT_FATAL(store_open(path, &st, &eb) == 0);
	int64_t id = write_run(st);
	char *got = dump_vectors(st), *want = expected(id);
	CU_ASSERT_TRUE(same_lines(got, want));
	free(got);
	free(want);
	CU_ASSERT_EQUAL(store_close(st, &eb), 0);
	check_reader(path, id, total());
	rm_db(path);
}

/* The schema of the version before t0 and step: chunks of [t_ns, value]. */
static const char old_schema[] =
	"PRAGMA application_id=1346589254;"
	"CREATE TABLE run( id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL"
	" CHECK(status IN ('running','complete','failed','interrupted')), command TEXT NOT NULL, seed INTEGER NOT NULL,"
	" run_number INTEGER NOT NULL, git_rev TEXT);"
	"CREATE TABLE run_param( run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY(run_id, name));"
	"CREATE TABLE scalar( run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL, value REAL,"
	" PRIMARY KEY(run_id, name));"
	"CREATE TABLE flow( run_id INTEGER NOT NULL REFERENCES run(id), flow_id INTEGER NOT NULL, proto INTEGER,"
	" src TEXT, dst TEXT, sport INTEGER, dport INTEGER, packets INTEGER, bytes INTEGER, hits INTEGER, misses INTEGER,"
	" wasted INTEGER, delay_sum_ns INTEGER, jitter_sum_ns INTEGER, lost INTEGER, first_ns INTEGER, last_ns INTEGER,"
	" PRIMARY KEY(run_id, flow_id));"
	"CREATE TABLE vector_name( id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL,"
	" UNIQUE(run_id, name));"
	"CREATE TABLE vector_chunk( vector_id INTEGER NOT NULL REFERENCES vector_name(id), chunk INTEGER NOT NULL,"
	" samples TEXT NOT NULL, UNIQUE(vector_id, chunk));"
	"CREATE TABLE vector_data( vector_id INTEGER NOT NULL REFERENCES vector_name(id), t_ns INTEGER NOT NULL,"
	" value REAL, PRIMARY KEY(vector_id, t_ns)) WITHOUT ROWID;"
	"CREATE TABLE histogram( run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL, bin_lo REAL NOT NULL,"
	" bin_hi REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(run_id, name, bin_lo));"
	"CREATE VIEW vector(run_id, name, t_ns, value) AS SELECT n.run_id, n.name, j.value ->> 0, j.value ->> 1"
	" FROM vector_name n JOIN vector_chunk c ON c.vector_id = n.id JOIN json_each(c.samples) j"
	" UNION ALL SELECT n.run_id, n.name, d.t_ns, d.value FROM vector_data d JOIN vector_name n ON n.id = d.vector_id;"
	"INSERT INTO run VALUES(1, '2026-12-01', '2026-12-01', 'complete', 'old', 1, 1, NULL);"
	"INSERT INTO vector_name VALUES(1, 1, 'old');"
	"INSERT INTO vector_chunk VALUES(1, 0, '[[1000,1.5],[2000,2],[2500,null]]');"
	"INSERT INTO vector_chunk VALUES(1, 1, '[[551180000000,-3]]');";

static const char old_lines[] = "vector|1|old|1000|1.5\nvector|1|old|2000|2\nvector|1|old|2500|NULL\n"
				"vector|1|old|551180000000|-3\n";

static void make_old(const char *path)
{
	sqlite3 *db;
	CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
	CU_ASSERT_FATAL(sqlite3_exec(db, old_schema, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
}

struct old_got {
	size_t n, bad;
};

static int old_vector(void *arg, const char *name, uint64_t t, double v)
{
	static const struct sample want[] = { { 1000, 1.5 }, { 2000, 2 }, { 2500, NAN }, { 551180000000ull, -3 } };
	struct old_got *g = arg;
	if (g->n >= 4 || strcmp(name, "old") != 0 || want[g->n].t != t ||
	    !(want[g->n].v == v || (isnan(v) && isnan(want[g->n].v))))
		g->bad++;
	g->n++;
	return 0;
}

static const struct recorder_ops old_ops = { no_param, no_scalar, old_vector, no_flow, no_hist };

static void test_old_chunks_read_upgrade_merge(void)
{
	make_series();
	char t1[] = "/tmp/precraft-store-XXXXXX", t2[] = "/tmp/precraft-store-XXXXXX";
	const char *old = db_path(t1), *dst = db_path(t2);
	make_old(old);
	struct errbuf eb;
	/* Read as it is (read-only: no upgrade). */
	struct store *rd;
	CU_ASSERT_FATAL(store_open_read(old, &rd, &eb) == 0);
	struct old_got g = { 0 };
	struct recorder r = { &old_ops, &g };
	CU_ASSERT_EQUAL(store_read_run(rd, 1, &r, &eb, NULL, 0), 0);
	CU_ASSERT_EQUAL(g.n, 4);
	CU_ASSERT_EQUAL(g.bad, 0);
	store_close(rd, NULL);
	/* Merged, as a shard of the old version, into a new database. */
	struct store *st;
	CU_ASSERT_FATAL(store_open(dst, &st, &eb) == 0);
	struct store_merge_result mr;
	CU_ASSERT_EQUAL(store_merge(st, old, &mr, &eb), 0);
	CU_ASSERT_EQUAL(mr.runs, 1);
	char *got = dump_vectors(st);
	CU_ASSERT_TRUE(same_lines(got, old_lines));
	free(got);
	CU_ASSERT_EQUAL(store_close(st, &eb), 0);
	/* Opened for writing: upgraded, the old rows as they were, a new run beside them. */
	CU_ASSERT_FATAL(store_open(old, &st, &eb) == 0);
	int64_t id = write_run(st);
	CU_ASSERT_EQUAL(id, 2);
	got = dump_vectors(st);
	char *want = expected(id), *both = malloc(strlen(old_lines) + strlen(want) + 1);
	CU_ASSERT_FATAL(both != NULL);
	strcat(strcpy(both, old_lines), want);
	CU_ASSERT_TRUE(same_lines(got, both));
	free(got);
	free(want);
	free(both);
	CU_ASSERT_EQUAL(store_close(st, &eb), 0);
	check_reader(old, id, total());
	g = (struct old_got){ 0 };
	CU_ASSERT_FATAL(store_open_read(old, &rd, &eb) == 0);
	CU_ASSERT_EQUAL(store_read_run(rd, 1, &r, &eb, NULL, 0), 0);
	CU_ASSERT_EQUAL(g.n, 4);
	CU_ASSERT_EQUAL(g.bad, 0);
	store_close(rd, NULL);
	rm_db(old);
	rm_db(dst);
}

int store_test_register(void)
{
	CU_pSuite s = CU_add_suite("store", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "time series read back exactly, by the view and the reader, in every shape", test_vector_times_exact);
	CU_add_test(s, "chunks written before t0 and step: read, merged and upgraded as before", test_old_chunks_read_upgrade_merge);
	return 0;
}
