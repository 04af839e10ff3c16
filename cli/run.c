/* run: a run's record in the results store (see run.h). */
#include "run.h"

#include <string.h>

#include "analysis/store.h"
#include "cli.h"

int cli_run_begin(struct cli_run *r, const char *db, const char *command, uint64_t seed, uint64_t run_number)
{
	memset(r, 0, sizeof *r);
	r->db = db;
	if (!db)
		return 0;
	struct errbuf eb = { "" };
	int rc = store_open(db, &r->st, &eb);
	if (rc || (rc = store_run_begin(r->st, command ? command : cli_command_line(), seed, run_number, &r->id, &eb)) != 0) {
		cli_error("%s", eb.msg);
		(void)store_close(r->st, NULL);
		r->st = NULL;
		return rc == -ERR_FORMAT ? EXIT_USAGE : EXIT_RUNTIME; /* another program's file: bad input */
	}
	store_async_start(r->st, r->id, &r->rec, &r->async);
	return 0;
}

int cli_run_end(struct cli_run *r, const char *status, int code)
{
	if (!r->st)
		return code;
	store_async_stop(r->async);
	r->async = NULL;
	struct errbuf eb = { "" };
	if (store_run_end(r->st, r->id, status, &eb)) {
		cli_error("%s; run %lld is marked failed", eb.msg, (long long)r->id);
		code = EXIT_RUNTIME;
	}
	eb.msg[0] = 0;
	if (store_close(r->st, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
	}
	r->st = NULL;
	memset(&r->rec, 0, sizeof r->rec);
	return code;
}
