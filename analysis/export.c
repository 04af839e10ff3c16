/* export: CSV and ns-3 FlowMonitor XML (see export.h). */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rundata.h"

/* RFC 4180: a field in quotes, quotes doubled. */
static void csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* XML 1.0 attribute text: the five special characters as entities, tab, newline and carriage
 * return as character references (so that attribute normalisation keeps them), and the other
 * control bytes, which XML 1.0 cannot carry at all, and bytes outside ASCII (the database may hold
 * anything; a byte that is not UTF-8 would make the file unreadable) as '?'. */
static void xml_attr(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\t': fputs("&#9;", f); break;
		case '\n': fputs("&#10;", f); break;
		case '\r': fputs("&#13;", f); break;
		default: fputc(*p < 0x20 || *p >= 0x7f ? '?' : *p, f);
		}
	}
}

static void note_damage(struct export_totals *tot, const struct rundata *rd)
{
	if (rd->damage[0] && !tot->damaged++)
		snprintf(tot->first_damage, sizeof tot->first_damage, "%s", rd->damage);
}

enum { F_RUNS, F_PARAMS, F_SCALARS, F_VECTORS, F_HISTS, F_FLOWS, F_N };
static const char *const csv_names[F_N] = { "runs.csv", "params.csv", "scalars.csv", "vectors.csv", "histograms.csv",
					    "flows.csv" };
static const char *const csv_heads[F_N] = {
	"run_id,status,command,seed,run_number,started_at,finished_at,git_rev",
	"run_id,name,value",
	"run_id,name,value",
	"run_id,name,t_ns,value",
	"run_id,name,bin_lo,bin_hi,count",
	"run_id,flow_id,proto,src,sport,dst,dport,packets,bytes,hits,misses,wasted,delay_sum_ns,jitter_sum_ns,lost,first_ns,last_ns",
};

int export_csv(const char *db, const int64_t *runs, size_t n_runs, const char *dir, struct export_totals *tot,
	       struct errbuf *eb)
{
	memset(tot, 0, sizeof *tot);
	struct store *st;
	int rc = store_open_read(db, &st, eb);
	if (rc)
		return rc;
	struct rundata_runs sel = { 0 };
	FILE *f[F_N] = { 0 };
	if ((rc = rundata_select(st, db, runs, n_runs, &sel, eb)) != 0)
		goto out;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		rc = err_set(eb, -ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
		goto out;
	}
	for (int k = 0; k < F_N; k++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, csv_names[k]);
		if (!(f[k] = fopen(path, "w"))) {
			rc = err_set(eb, -ERR_IO, "%s: cannot write: %s", path, strerror(errno));
			goto out;
		}
		fprintf(f[k], "%s\n", csv_heads[k]);
	}
	for (size_t i = 0; i < sel.n && !rc; i++) {
		struct rundata rd;
		if ((rc = rundata_load(st, &sel.v[i], &rd, eb)) != 0)
			break;
		note_damage(tot, &rd);
		const struct store_run *r = &rd.info;
		/* Every text field quoted: the database's text is anyone's (RFC 4180 §2). */
		fprintf(f[F_RUNS], "%" PRId64 ",", r->id);
		csv_str(f[F_RUNS], r->status);
		fputc(',', f[F_RUNS]);
		csv_str(f[F_RUNS], r->command);
		fprintf(f[F_RUNS], ",%" PRIu64 ",%" PRIu64 ",", r->seed, r->run_number);
		csv_str(f[F_RUNS], r->started_at);
		fputc(',', f[F_RUNS]);
		csv_str(f[F_RUNS], r->finished_at);
		fputc(',', f[F_RUNS]);
		csv_str(f[F_RUNS], r->git_rev);
		fputc('\n', f[F_RUNS]);
		for (size_t p = 0; p < rd.n_params; p++) {
			fprintf(f[F_PARAMS], "%" PRId64 ",", r->id);
			csv_str(f[F_PARAMS], rd.params[p].name);
			fputc(',', f[F_PARAMS]);
			csv_str(f[F_PARAMS], rd.params[p].value);
			fputc('\n', f[F_PARAMS]);
		}
		for (size_t s = 0; s < rd.n_scalars; s++) {
			fprintf(f[F_SCALARS], "%" PRId64 ",", r->id);
			csv_str(f[F_SCALARS], rd.scalars[s].name);
			fprintf(f[F_SCALARS], ",%.17g\n", rd.scalars[s].value);
		}
		for (size_t s = 0; s < rd.n_series; s++)
			for (size_t j = 0; j < rd.series[s].n; j++) {
				fprintf(f[F_VECTORS], "%" PRId64 ",", r->id);
				csv_str(f[F_VECTORS], rd.series[s].name);
				fprintf(f[F_VECTORS], ",%" PRIu64 ",%.17g\n", rd.series[s].t[j], rd.series[s].v[j]);
			}
		for (size_t h = 0; h < rd.n_hists; h++)
			for (size_t j = 0; j < rd.hists[h].n; j++) {
				fprintf(f[F_HISTS], "%" PRId64 ",", r->id);
				csv_str(f[F_HISTS], rd.hists[h].name);
				fprintf(f[F_HISTS], ",%.17g,%.17g,%" PRIu64 "\n", rd.hists[h].lo[j], rd.hists[h].hi[j],
					rd.hists[h].count[j]);
			}
		for (size_t j = 0; j < rd.n_flows; j++) {
			const struct recorder_flow *fl = &rd.flows[j];
			fprintf(f[F_FLOWS], "%" PRId64 ",%" PRIu64 ",%u,", r->id, fl->flow_id, fl->proto);
			csv_str(f[F_FLOWS], fl->src);
			fprintf(f[F_FLOWS], ",%u,", fl->sport);
			csv_str(f[F_FLOWS], fl->dst);
			fprintf(f[F_FLOWS],
				",%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
				",%" PRIu64 ",%" PRIu64 "\n",
				fl->dport, fl->packets, fl->bytes, fl->hits, fl->misses, fl->wasted, fl->delay_sum_ns,
				fl->jitter_sum_ns, fl->lost, fl->first_ns, fl->last_ns);
			tot->tx_packets += fl->packets;
		}
		tot->runs++;
		tot->flows += rd.n_flows;
		tot->rows += 1 + rd.n_params + rd.n_scalars + rd.n_flows;
		for (size_t s = 0; s < rd.n_series; s++)
			tot->rows += rd.series[s].n;
		for (size_t h = 0; h < rd.n_hists; h++)
			tot->rows += rd.hists[h].n;
		rundata_free(&rd);
	}
out:
	for (int k = 0; k < F_N; k++)
		if (f[k] && fclose(f[k]) != 0 && !rc)
			rc = err_set(eb, -ERR_IO, "%s/%s: write failed", dir, csv_names[k]);
	free(sel.v);
	store_close(st, NULL);
	return rc;
}

/* ns-3 prints a Time as its value in the unit with a sign: "+1.5e+06ns". */
static void ns3_time(FILE *f, const char *attr, double ns)
{
	fprintf(f, " %s=\"+%.1fns\"", attr, ns);
}

int export_flowmon(const char *db, const int64_t *runs, size_t n_runs, const char *file, struct export_totals *tot,
		   struct errbuf *eb)
{
	memset(tot, 0, sizeof *tot);
	struct store *st;
	int rc = store_open_read(db, &st, eb);
	if (rc)
		return rc;
	struct rundata_runs sel = { 0 };
	FILE *f = NULL, *c4 = NULL, *c6 = NULL;
	if ((rc = rundata_select(st, db, runs, n_runs, &sel, eb)) != 0)
		goto out;
	/* The classifiers follow the stats in the file: kept aside while the flows are read. */
	if (!(f = fopen(file, "w")) || !(c4 = tmpfile()) || !(c6 = tmpfile())) {
		rc = err_set(eb, -ERR_IO, "%s: cannot write: %s", file, strerror(errno));
		goto out;
	}
	fprintf(f, "<?xml version=\"1.0\" ?>\n<FlowMonitor>\n  <FlowStats>\n");
	for (size_t i = 0; i < sel.n && !rc; i++) {
		struct rundata rd;
		if ((rc = rundata_load(st, &sel.v[i], &rd, eb)) != 0)
			break;
		note_damage(tot, &rd);
		for (size_t j = 0; j < rd.n_flows; j++) {
			const struct recorder_flow *fl = &rd.flows[j];
			uint64_t id = (uint64_t)rd.info.id << 32 | (fl->flow_id & 0xffffffffu);
			uint64_t rx = fl->packets > fl->lost ? fl->packets - fl->lost : 0;
			double rx_bytes = fl->packets ? (double)fl->bytes * (double)rx / (double)fl->packets : 0;
			fprintf(f, "    <Flow flowId=\"%" PRIu64 "\"", id);
			ns3_time(f, "timeFirstTxPacket", (double)fl->first_ns);
			ns3_time(f, "timeFirstRxPacket", (double)fl->first_ns);
			ns3_time(f, "timeLastTxPacket", (double)fl->last_ns);
			ns3_time(f, "timeLastRxPacket", (double)fl->last_ns);
			ns3_time(f, "delaySum", (double)fl->delay_sum_ns);
			ns3_time(f, "jitterSum", (double)fl->jitter_sum_ns);
			ns3_time(f, "lastDelay", 0);
			fprintf(f,
				" txBytes=\"%" PRIu64 "\" rxBytes=\"%.0f\" txPackets=\"%" PRIu64 "\" rxPackets=\"%" PRIu64
				"\" lostPackets=\"%" PRIu64 "\" timesForwarded=\"%" PRIu64 "\" precraftRun=\"%" PRId64
				"\" precraftHits=\"%" PRIu64 "\">\n    </Flow>\n",
				fl->bytes, rx_bytes, fl->packets, rx, fl->lost, rx, rd.info.id, fl->hits);
			FILE *c = strchr(fl->src, ':') ? c6 : c4;
			fprintf(c, "    <Flow flowId=\"%" PRIu64 "\" sourceAddress=\"", id);
			xml_attr(c, fl->src);
			fprintf(c, "\" destinationAddress=\"");
			xml_attr(c, fl->dst);
			fprintf(c, "\" protocol=\"%u\" sourcePort=\"%u\" destinationPort=\"%u\">\n    </Flow>\n", fl->proto,
				fl->sport, fl->dport);
			tot->flows++;
			tot->tx_packets += fl->packets;
			tot->rx_packets += rx;
			tot->lost_packets += fl->lost;
		}
		tot->runs++;
		rundata_free(&rd);
	}
	fprintf(f, "  </FlowStats>\n");
	const char *tags[2] = { "Ipv4FlowClassifier", "Ipv6FlowClassifier" };
	FILE *cs[2] = { c4, c6 };
	for (int k = 0; k < 2 && !rc; k++) {
		fprintf(f, "  <%s>\n", tags[k]);
		rewind(cs[k]);
		char buf[8192];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, cs[k])) > 0)
			if (fwrite(buf, 1, n, f) != n)
				break;
		fprintf(f, "  </%s>\n", tags[k]);
	}
	fprintf(f, "</FlowMonitor>\n");
out:
	if (c4)
		fclose(c4);
	if (c6)
		fclose(c6);
	if (f && fclose(f) != 0 && !rc)
		rc = err_set(eb, -ERR_IO, "%s: write failed", file);
	free(sel.v);
	store_close(st, NULL);
	return rc;
}
