/* tstream: captures as streaming simulation sources (see tstream.h). */
#include "tstream.h"

#include <string.h>

#include "scenario.h"
#include "traces/trace.h"

/* Reads records until one is kept. */
int tstream_next(struct tstream *ts, struct errbuf *eb)
{
	uint64_t max_gap = ts->max_gap_ns;
	struct trace_rec r;
	int rc;
	while ((rc = trace_next(ts->tr, &r, eb)) == 1) {
		if (ts->first) {
			ts->first = false;
			ts->prev_ns = r.t_ns;
			ts->rel_ns = 0;
		} else {
			bool back = r.t_ns < ts->prev_ns, jump = !back && r.t_ns - ts->prev_ns > max_gap;
			if (ts->pass == 0) {
				ts->backwards += back;
				ts->jumps += jump;
			}
			if ((back || jump) && ts->cfg->ts_policy == SCN_TS_SKIP) {
				ts->skipped += ts->pass == 0;
				continue;
			}
			uint64_t d = back ? 0 : jump ? max_gap : r.t_ns - ts->prev_ns;
			ts->rel_ns = d > UINT64_MAX - ts->rel_ns ? UINT64_MAX : ts->rel_ns + d; /* source.c refuses it */
			ts->prev_ns = r.t_ns;
		}
		ts->data = r.data;
		ts->stable = r.stable;
		ts->caplen = r.caplen;
		ts->wirelen = r.wirelen;
		return 1;
	}
	return rc;
}

/* Reads the pass's first kept record ('ts->tr' open at the start of the file). */
static int first_record(struct tstream *ts, struct errbuf *eb)
{
	ts->first = true;
	int rc = tstream_next(ts, eb);
	if (rc == 0)
		return err_set(eb, -ERR_FORMAT, "%s: no packets", ts->path);
	return rc < 0 ? rc : 0;
}

static int start(struct tstream *ts, struct errbuf *eb)
{
	int rc = trace_open(ts->path, &ts->tr, eb);
	if (rc)
		return rc;
	ts->linktype = trace_linktype(ts->tr);
	return first_record(ts, eb);
}

int tstream_open(struct tstream *ts, const char *path, const struct scn_source *cfg, struct errbuf *eb)
{
	memset(ts, 0, sizeof *ts);
	ts->path = path;
	ts->cfg = cfg;
	ts->max_gap_ns = (uint64_t)(cfg->max_gap_s * 1e9);
	return start(ts, eb);
}

int tstream_rewind(struct tstream *ts, struct errbuf *eb)
{
	ts->pass++;
	/* In place when the trace can (the records of the pass before, which packets in flight may
	 * still point to, stay valid); else the file is opened again. */
	if (trace_rewind(ts->tr) == 0)
		return first_record(ts, eb);
	trace_close(ts->tr);
	ts->tr = NULL;
	return start(ts, eb);
}

void tstream_close(struct tstream *ts)
{
	trace_close(ts->tr);
	ts->tr = NULL;
}
