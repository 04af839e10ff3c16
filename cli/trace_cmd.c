/* trace_cmd: `precraft rewrite` and `precraft compare`, the trace tools (traces/tools.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "traces/tools.h"

const char rewrite_usage[] =
	"usage: precraft rewrite TRACE -o OUT.pcap --lab [--mtu BYTES]\n"
	"  Maps every IP address into 198.18.0.0/15 and 2001:2::/48 (what the lab's sink owns), one new\n"
	"  address per original (the A and AAAA records of DNS answers too, so connections still follow\n"
	"  their answers), checksums fixed; leaves out what cannot be sent into the lab as captured\n"
	"  (non-IP, truncated records, tunnels, frames above the MTU, default 1500).  OUT ending in\n"
	"  .pcapng is written as pcapng.\n";

enum { O_LAB = 256, O_MTU };
const struct option rewrite_options[] = {
	{ "lab", no_argument, 0, O_LAB },
	{ "mtu", required_argument, 0, O_MTU },
	{ 0, 0, 0, 0 },
};

int rewrite_main(const struct cli_args *a)
{
	const char *in = a->pos[0], *out = NULL;
	bool lab = false;
	uint64_t mtu = 1500;
	for (size_t i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].arg;
		switch (a->opt[i].id) {
		case 'o': out = arg; break;
		case O_LAB: lab = true; break;
		case O_MTU:
			if (!cli_u64("--mtu", arg, 68, 65535, &mtu))
				return EXIT_USAGE;
			break;
		}
	}
	if (!out || !lab) {
		cli_error("rewrite: expected TRACE -o OUT --lab (see 'precraft rewrite --help')");
		return EXIT_USAGE;
	}
	struct errbuf eb = { "" };
	struct trace_lab_stats st;
	int rc = trace_rewrite_lab(in, out, (uint32_t)mtu, &st, &eb);
	if (rc)
		cli_error("%s", eb.msg);
	printf("kept                   %llu\naddresses_v4           %llu\naddresses_v6           %llu\ndns_records            %llu\n",
	       (unsigned long long)st.kept, (unsigned long long)st.addresses_v4, (unsigned long long)st.addresses_v6,
	       (unsigned long long)st.dns_records);
	printf("left_out_non_ip        %llu\nleft_out_truncated     %llu\nleft_out_tunnel        %llu\n"
	       "left_out_too_big       %llu\nleft_out_malformed     %llu\n",
	       (unsigned long long)st.non_ip, (unsigned long long)st.truncated, (unsigned long long)st.tunnel,
	       (unsigned long long)st.too_big, (unsigned long long)st.malformed);
	return rc == 0 ? EXIT_OK : rc == -ERR_FULL || rc == -ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
}

const char compare_usage[] =
	"usage: precraft compare [--per-flow | --subsequence] EXPECTED.pcap GOT.pcap\n"
	"  Compares two captures packet by packet (bytes, not times); exit 0 when GOT holds exactly\n"
	"  EXPECTED's packets in order, 1 otherwise, 2 on bad usage or an unreadable capture.  When they\n"
	"  differ it also compares them flow by flow (a flow's packets in their order, both directions\n"
	"  one flow) and says whether only the interleaving between flows differs; with --per-flow that\n"
	"  is a match (exit 0): what a shaper with several workers must give.  With --subsequence, exit 0\n"
	"  when GOT holds EXPECTED's packets in order with some missing and none other: what a lossy\n"
	"  link must deliver (precraft decompress --drop).\n";

enum { O_PER_FLOW = 256, O_SUBSEQ };
const struct option compare_options[] = {
	{ "per-flow", no_argument, 0, O_PER_FLOW }, { "subsequence", no_argument, 0, O_SUBSEQ },
	{ 0, 0, 0, 0 },
};

int compare_main(const struct cli_args *a)
{
	bool per_flow = false, subseq = false;
	for (size_t i = 0; i < a->n_opt; i++) {
		per_flow |= a->opt[i].id == O_PER_FLOW;
		subseq |= a->opt[i].id == O_SUBSEQ;
	}
	const char *expected = a->pos[0], *got = a->pos[1];
	struct errbuf eb = { "" };
	struct trace_cmp c;
	if (subseq) {
		bool ok;
		if (trace_compare_subseq(expected, got, &c, &ok, &eb)) {
			cli_error("%s", eb.msg);
			return EXIT_USAGE;
		}
		printf("subsequence: %s, %llu of %llu packets delivered", ok ? "yes" : "no", (unsigned long long)c.same,
		       (unsigned long long)c.expected);
		if (!ok)
			printf(", packet %llu of the second capture is none of the first's that remain",
			       (unsigned long long)c.first_diff);
		putchar('\n');
		return ok ? EXIT_OK : EXIT_RUNTIME;
	}
	if (trace_compare(expected, got, &c, &eb)) {
		cli_error("%s", eb.msg);
		return EXIT_USAGE;
	}
	bool strict = c.same == c.expected && c.got == c.expected, flows_ok = false;
	if (!strict) {
		int rc = trace_compare_flows(expected, got, &c, &eb);
		if (rc) {
			cli_error("%s", eb.msg);
			return rc == -ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
		}
		flows_ok = c.got == c.expected && c.same_in_flow == c.expected && c.flows_same == c.flows;
	}
	uint64_t drops = c.expected > c.got ? c.expected - c.got : 0, extra = c.got > c.expected ? c.got - c.expected : 0;
	printf("identical: %llu/%llu, drops: %llu", (unsigned long long)c.same, (unsigned long long)c.expected,
	       (unsigned long long)drops);
	if (extra)
		printf(", extra: %llu", (unsigned long long)extra);
	if (c.first_diff)
		printf(", first difference at packet %llu", (unsigned long long)c.first_diff);
	if (!strict)
		printf("; per flow: %llu/%llu identical, %llu/%llu flows%s", (unsigned long long)c.same_in_flow,
		       (unsigned long long)c.expected, (unsigned long long)c.flows_same, (unsigned long long)c.flows,
		       flows_ok ? ": only the interleaving between flows differs" : "");
	putchar('\n');
	return strict || (per_flow && flows_ok) ? EXIT_OK : EXIT_RUNTIME;
}
