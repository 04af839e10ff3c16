/* report: database contents chosen by an attacker, through `precraft report` and the exports
 * (issue 34).  The input is cut at NUL bytes into fields; each field's first byte says what the
 * rest names in one of two runs (so that the report compares them and plots against the one
 * parameter they differ in): a run's command, a parameter name or value, a scalar, a time
 * series, a latency histogram, an eval run's model or capture, a flow's addresses.  The runs
 * are written through the store, as precraft writes them; the report is written with its
 * gnuplot scripts but without running gnuplot.  Required: every script line the report leaves
 * starts with set, unset or plot and holds no control byte, and the guard in plot_write never
 * has to refuse precraft's own script (so no name became script text); the exports complete. */
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analysis/export.h"
#include "analysis/report.h"
#include "analysis/store.h"
#include "fuzz.h"

static char dir[128], db[160];

static void clear_dir(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	char p[512];
	while (dp && (e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", d, e->d_name);
		unlink(p);
	}
	if (dp)
		closedir(dp);
}

/* Every .gp in 'd': lines that start with set/unset/plot, no control byte. */
static void check_scripts(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	char p[512], line[8192];
	while (dp && (e = readdir(dp)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 4 || strcmp(e->d_name + n - 3, ".gp"))
			continue;
		snprintf(p, sizeof p, "%s/%s", d, e->d_name);
		FILE *f = fopen(p, "r");
		FUZZ_REQUIRE(f != NULL);
		while (fgets(line, sizeof line, f)) {
			size_t len = strcspn(line, "\n");
			line[len] = 0;
			FUZZ_REQUIRE(!len || !strncmp(line, "set ", 4) || !strncmp(line, "unset ", 6) || !strncmp(line, "plot ", 5));
			for (size_t i = 0; i < len; i++)
				FUZZ_REQUIRE((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] != 0x7f);
		}
		fclose(f);
	}
	if (dp)
		closedir(dp);
}

/* The database and the files SQLite keeps beside it. */
static void remove_db(void)
{
	char p[200];
	unlink(db);
	snprintf(p, sizeof p, "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", db);
	unlink(p);
}

static void cleanup(void)
{
	char csv[200];
	snprintf(csv, sizeof csv, "%s/csv", dir);
	clear_dir(csv);
	rmdir(csv);
	clear_dir(dir);
	rmdir(dir);
	remove_db();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		atexit(cleanup);
		/* In memory where there is a tmpfs: the store syncs every run it ends. */
		snprintf(dir, sizeof dir, "%s/precraft-fuzz-report-%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
			 (int)getpid());
		snprintf(db, sizeof db, "%s.db", dir);
	}
	char text[4096];
	if (size >= sizeof text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	remove_db();
	struct store *st;
	struct errbuf eb = { "" };
	FUZZ_REQUIRE(store_open(db, &st, &eb) == 0);
	/* Two runs alike but for what the fields give them. */
	int64_t id[2];
	char cmd[2][512] = { "precraft sim a.ini", "precraft sim a.ini" };
	const char *fields[128];
	size_t nf = 0;
	for (size_t i = 0; i < size && nf < 128;) {
		fields[nf++] = text + i;
		i += strlen(text + i) + 1;
	}
	for (size_t i = 0; i < nf; i++)
		if (fields[i][0] == 'c')
			snprintf(cmd[i & 1], sizeof cmd[0], "%s", fields[i] + 1);
	for (int r = 0; r < 2; r++) {
		FUZZ_REQUIRE(store_run_begin(st, cmd[r], 1, (uint64_t)r + 1, &id[r], &eb) == 0);
		store_param(st, id[r], "shaper.mode", "precraft");
		store_scalar(st, id[r], "packets_in", 100 + r);
		store_scalar(st, id[r], "latency_p50_ns", 1000 + r);
		store_histogram(st, id[r], "latency", 100, 200, 5);
		store_vector(st, id[r], "hit_ratio", 1000, 0.5);
	}
	for (size_t i = 0; i < nf; i++) {
		const char *v = fields[i] + 1;
		int64_t r = id[i & 1];
		switch (fields[i][0]) {
		case 'p': /* a parameter both runs have, with values that differ */
			store_param(st, id[0], v, "1");
			store_param(st, id[1], v, "2");
			break;
		case 'q': /* a parameter value */
			store_param(st, r, "policy.kind", v);
			break;
		case 's':
			store_scalar(st, r, v, (double)i);
			break;
		case 'v':
			store_vector(st, r, v, 1000, (double)i);
			store_vector(st, r, v, 2000, (double)i + 1);
			break;
		case 'h':
			store_histogram(st, r, v, 10, 20, 3);
			break;
		case 'm': /* an eval run: model and capture */
			store_param(st, r, "model", v);
			store_param(st, r, "trace", v);
			store_scalar(st, r, "packets_scored", 10);
			store_scalar(st, r, "size_exact_acc", 0.5);
			break;
		case 'f': {
			struct recorder_flow f = { .flow_id = i, .proto = 17, .packets = 3, .bytes = 300 };
			snprintf(f.src, sizeof f.src, "%s", v);
			snprintf(f.dst, sizeof f.dst, "%s", v);
			store_flow(st, r, &f);
			break;
		}
		default:
			break;
		}
	}
	for (int r = 0; r < 2; r++)
		(void)store_run_end(st, id[r], "complete", &eb);
	FUZZ_REQUIRE(store_close(st, &eb) == 0);
	mkdir(dir, 0755);
	clear_dir(dir);
	struct report_opts o = { .db = db, .out_dir = dir, .format = "svg", .scripts_only = true };
	struct report_result res;
	int rc = report_write(&o, &res, &eb);
	FUZZ_REQUIRE(rc == 0 || eb.msg[0]);
	FUZZ_REQUIRE(!res.failed || !strstr(res.first_failure, "script line"));
	check_scripts(dir);
	char csv[200], xml[200];
	snprintf(csv, sizeof csv, "%s/csv", dir);
	snprintf(xml, sizeof xml, "%s/flows.xml", dir);
	struct export_totals t;
	FUZZ_REQUIRE(export_csv(db, NULL, 0, csv, &t, &eb) == 0);
	clear_dir(csv);
	rmdir(csv);
	FUZZ_REQUIRE(export_flowmon(db, NULL, 0, xml, &t, &eb) == 0);
	return 0;
}
