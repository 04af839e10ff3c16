/* decompress_cmd: `precraft decompress C.pcap -o OUT.pcap`: the far end of a compressed link.
 *
 * Reads a capture of the link's frames (what `replay --compress` writes), makes the decompressor
 * its hello names, and writes the frames it rebuilds; --drop loses a fraction of the link's
 * frames first (each with probability P, from --seed's stream), as a lossy link would, and tells
 * the decompressor of each loss (the link's error signal, which vj needs). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/pkt.h"
#include "hc_setup.h"
#include "sim/rng.h"
#include "traces/trace.h"

const char decompress_usage[] =
	"usage: precraft decompress LINK.pcap -o OUT.pcap [options]\n"
	"  Rebuilds the frames of a compressed link (from 'precraft replay TRACE --compress NAME\n"
	"  --egress LINK.pcap', link type 147; or a capture of 'hil forward --compress': Ethernet frames\n"
	"  of type 0x88b5, the others skipped) and writes them, in order, as Ethernet frames.\n"
	"  -o FILE             where the rebuilt frames go (required)\n"
	"  --drop P            lose each link frame with probability P first (0 to 1; default 0)\n"
	"  --seed S            the losses' random stream (default 1)\n"
	"  --model-file FILE   the trained model the link was compressed with (ml, xgb)\n"
	"  --quiet             print nothing but errors\n"
	"Prints the counters: frames read, frames lost, and the decompressor's (delivered,\n"
	"crc_failures, hc_dropped_gap, hc_dropped_no_context, hc_dropped_malformed).\n"
	"Exit: 0 done, 1 runtime failure, 2 bad usage or input.\n";

enum { O_DROP = 256, O_SEED, O_MODEL, O_QUIET, O_HELP };
const struct option decompress_options[] = {
	{ "drop", required_argument, 0, O_DROP },         { "seed", required_argument, 0, O_SEED },
	{ "model-file", required_argument, 0, O_MODEL }, { "quiet", no_argument, 0, O_QUIET },
	{ "help", no_argument, 0, O_HELP },               { 0, 0, 0, 0 },
};

struct dec_opts {
	const char *in, *out, *model;
	double drop;
	uint64_t seed;
	bool quiet;
};

static int parse_args(const struct cli_args *a, struct dec_opts *o)
{
	o->seed = 1;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case 'o': o->out = arg; break;
		case O_DROP:
			if (!cli_double("--drop", arg, 0, 1, &o->drop))
				return EXIT_USAGE;
			break;
		case O_SEED:
			if (!cli_u64("--seed", arg, 0, UINT64_MAX, &o->seed))
				return EXIT_USAGE;
			break;
		case O_MODEL: o->model = arg; break;
		case O_QUIET: o->quiet = true; break;
		}
	}
	o->in = a->pos[0];
	if (!o->out) {
		cli_error("decompress: -o OUT.pcap is required");
		return EXIT_USAGE;
	}
	return 0;
}

static void print_scalar(void *arg, const char *name, double v)
{
	if (strncmp(name, "hc_", 3) == 0 && strcmp(name, "hc_delivered") && strncmp(name, "hc_dropped", 10))
		return; /* the compressor's counters are 0 here */
	if (!strcmp(name, "context_refreshes") || !strncmp(name, "header_bytes", 12) ||
	    !strncmp(name, "link_bytes", 10) || !strcmp(name, "compress_ratio"))
		return;
	cli_print_scalar(arg, name, v);
}

/* A rebuilt frame: the largest record a capture holds, and a header more. */
#define DEC_BUF ((1u << 18) + HC_HDR_MAX + 64)

/* A record as a link frame: itself (link type 147), or what an Ethernet frame of type
 * HC_ETHERTYPE carries (the lab's wire); NULL for any other frame. */
static const uint8_t *link_frame(int linktype, const struct trace_rec *rec, uint32_t *len)
{
	if (linktype == HC_LINKTYPE) {
		*len = rec->caplen;
		return rec->data;
	}
	if (rec->caplen < 14 || pkt_rd16(rec->data + 12) != HC_ETHERTYPE)
		return NULL;
	*len = rec->caplen - 14;
	return rec->data + 14;
}

struct dec_run {
	struct trace *tr;
	struct trace_writer *tw;
	struct cli_hc hc;
	struct rng *rng;
	uint8_t *buf;
	uint64_t frames, lost, other;
	int linktype;
};

/* The records after the hello; returns the exit code. */
static int run(const struct dec_opts *o, struct dec_run *r, struct errbuf *eb)
{
	struct trace_rec rec;
	int rc;
	while ((rc = trace_next(r->tr, &rec, eb)) > 0) {
		uint32_t len;
		const uint8_t *f = link_frame(r->linktype, &rec, &len);
		if (!f) {
			r->other++; /* the wire's other frames (neighbour discovery, ...) */
			continue;
		}
		r->frames++;
		if (r->rng && rng_bernoulli(r->rng, o->drop)) {
			r->lost++;
			hc_lost(r->hc.h);
			continue;
		}
		uint32_t n = hc_decompress(r->hc.h, f, len, rec.t_ns, r->buf, DEC_BUF);
		if (n)
			trace_writer_put(r->tw, r->buf, n, n + (rec.wirelen > rec.caplen ? rec.wirelen - rec.caplen : 0),
					 rec.t_ns);
	}
	if (rc < 0) {
		cli_error("%s (the %llu frames before it were rebuilt)", eb->msg, (unsigned long long)r->frames);
		return cli_exit_code(rc);
	}
	return EXIT_OK;
}

int decompress_main(const struct cli_args *a)
{
	struct dec_opts o;
	memset(&o, 0, sizeof o);
	int code = parse_args(a, &o);
	if (code)
		return code;
	struct dec_run r;
	memset(&r, 0, sizeof r);
	struct errbuf eb = { "" };
	struct trace_rec rec;
	struct hc_cfg cfg;
	int rc = trace_open(o.in, &r.tr, &eb);
	if (!rc)
		r.linktype = trace_linktype(r.tr);
	if (!rc && r.linktype != HC_LINKTYPE && r.linktype != PKT_LINK_ETH)
		rc = err_set(&eb, -ERR_FORMAT, "%s: link type %d is not a compressed link's (%d, or Ethernet frames of type 0x%04x)",
			     o.in, r.linktype, HC_LINKTYPE, HC_ETHERTYPE);
	/* The hello: the first frame of the link (on Ethernet, the first of its type). */
	const uint8_t *hello = NULL;
	uint32_t hlen = 0;
	while (!rc && !hello) {
		if ((rc = trace_next(r.tr, &rec, &eb)) == 0)
			rc = err_set(&eb, -ERR_FORMAT, "%s: not a compressed link: no hello frame", o.in);
		else if (rc > 0 && !(hello = link_frame(r.linktype, &rec, &hlen)))
			r.other++, rc = 0;
	}
	if (rc > 0)
		rc = 0;
	if (!rc)
		rc = hc_hello_parse(hello, hlen, &cfg, &eb);
	if (!rc)
		rc = cli_hc_open(&cfg, o.model, true, cfg.model_hash, &r.hc, &eb);
	if (!rc && o.drop > 0)
		rc = rng_create(o.seed, 0, 0, &r.rng);
	if (!rc && !(r.buf = malloc(DEC_BUF)))
		rc = -ERR_NOMEM;
	if (!rc)
		rc = trace_writer_open(o.out, PKT_LINK_ETH, &r.tw, &eb);
	if (rc) {
		cli_error("%s", eb.msg[0] ? eb.msg : err_str(rc));
		code = cli_exit_code(rc);
		goto out;
	}
	code = run(&o, &r, &eb);
	if (trace_writer_close(r.tw, &eb)) {
		cli_error("%s", eb.msg);
		code = EXIT_RUNTIME;
	}
	r.tw = NULL;
	if (!o.quiet) {
		printf("%-24s %s\n", "link", o.in);
		printf("%-24s %s\n", "compressor", cfg.name);
		printf("%-24s %llu\n", "link_frames", (unsigned long long)r.frames);
		printf("%-24s %llu\n", "link_lost", (unsigned long long)r.lost);
		if (r.linktype == PKT_LINK_ETH)
			printf("%-24s %llu\n", "link_other_frames", (unsigned long long)r.other);
		hc_stats_each(hc_get_stats(r.hc.h), print_scalar, NULL);
	}
out:
	if (r.tw)
		(void)trace_writer_close(r.tw, NULL);
	free(r.buf);
	rng_destroy(r.rng);
	cli_hc_close(&r.hc);
	trace_close(r.tr);
	return code;
}
