/* merge_cmd: `precraft merge` and the merging of a sweep's shards. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analysis/store.h"
#include "cli.h"
#include "commands.h"
#include "sweep.h"

const char merge_usage[] =
	"usage: precraft merge OUT.db SHARD.db...\n"
	"  Copies every run of each shard (a 'sweep --shard' slice, or any precraft database) into\n"
	"  OUT.db under new ids, with all its rows.  A complete sweep run OUT.db already holds (same\n"
	"  sweep.key and run number) is not copied twice.  Each shard is merged in one transaction.\n"
	"Exit: 0 done, 1 a write failed, 2 a shard is not a precraft database (those before it kept).\n";


void sweep_part_path(const char *db, unsigned k, char *out, size_t cap)
{
	snprintf(out, cap, "%s.part-%u", db, k);
}

/* Removes a merged shard and what SQLite and the store leave beside it. */
void sweep_part_remove(const char *path)
{
	static const char *const ext[] = { "", "-wal", "-shm", "-journal", "-reserve" };
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		char p[4200];
		if ((size_t)snprintf(p, sizeof p, "%s%s", path, ext[i]) >= sizeof p)
			continue;
		unlink(p);
	}
}

/* Merges the shards 'paths' into 'db' and removes each one merged.  Returns an exit code. */
int sweep_merge_into(const char *db, char *const *paths, size_t n, bool remove_merged, bool quiet)
{
	struct store *st;
	struct errbuf eb = { "" };
	if (store_open(db, &st, &eb)) {
		cli_error("%s", eb.msg);
		return EXIT_RUNTIME;
	}
	int code = EXIT_OK;
	/* Ctrl-C stops between shards, or rolls back the shard under way: each shard is merged
	 * whole or not at all, and one not merged is kept. */
	cli_catch_signals();
	store_interrupt_on(st, &cli_stop);
	size_t merged = 0;
	for (size_t i = 0; i < n; i++) {
		if (access(paths[i], F_OK) != 0 && remove_merged)
			continue; /* a worker with nothing to run made no shard */
		struct store_merge_result res;
		int rc = cli_stop ? -ERR_IO : store_merge(st, paths[i], &res, &eb);
		if (rc && cli_stop) {
			cli_error("merge: interrupted: %zu of %zu shards merged into %s; %s kept, merged again with %s", merged, n,
				  db, paths[i], remove_merged ? "--resume" : "precraft merge");
			code = EXIT_RUNTIME;
			break;
		}
		if (rc) {
			cli_error("%s", eb.msg);
			code = rc == -ERR_FORMAT ? EXIT_USAGE : EXIT_RUNTIME;
			break;
		}
		merged++;
		if (!quiet)
			fprintf(stderr, "merge: %s: %u runs into %s (%u not complete), %u already there\n", paths[i], res.runs,
				db, res.incomplete, res.skipped);
		if (remove_merged)
			sweep_part_remove(paths[i]);
	}
	store_interrupt_on(st, NULL);
	eb.msg[0] = 0;
	if (store_close(st, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
	}
	return code;
}

int merge_main(const struct cli_args *a)
{
	return sweep_merge_into(a->pos[0], a->pos + 1, (size_t)(a->n_pos - 1), false, false);
}
