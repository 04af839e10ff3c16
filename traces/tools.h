/* tools: the trace tools, `precraft rewrite` and `precraft compare`, over the one capture
 * reader and writer (trace.h).
 *
 * trace_rewrite_lab: every IP address of a capture is mapped into the benchmarking ranges that
 * the lab's sink owns, 198.18.0.0/15 (RFC 2544) and 2001:2::/48 (RFC 5180), one new address per
 * original address in order of first appearance, so flows stay distinct and both directions stay
 * paired; the A and AAAA records of DNS answers are mapped the same way, so a connection still
 * goes to the address its answer named; checksums are updated incrementally (RFC 1624), so a
 * packet that was valid stays valid.
 * What cannot be sent into the lab as it was captured, or would carry other addresses in a header
 * a router reads, is left out and counted: non-IP frames (ARP carries addresses), truncated
 * records, tunnels (IP-in-IP, GRE, ESP and the like), frames above the lab MTU.  Other link types
 * become Ethernet with locally administered MACs.
 *
 * trace_compare: two captures, packet by packet, bytes only (not times); and flow by flow, for
 * a sender whose flows take different paths (a multi-worker shaper): each flow's packets (by
 * the canonical 5-tuple, both directions one flow; frames that are not IP one group) compared in
 * their order, the interleaving between flows left out. */
#ifndef PRECRAFT_TRACES_TOOLS_H
#define PRECRAFT_TRACES_TOOLS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct trace_lab_stats {
	uint64_t kept, addresses_v4, addresses_v6;
	uint64_t dns_records;      /* A and AAAA records of DNS answers mapped as the headers are */
	uint64_t non_ip, truncated, tunnel, too_big, malformed; /* left out */
};

/* Rewrites capture 'in' into 'out' for the lab, frames up to 'mtu' bytes of IP.  Returns 0,
 * -ERR_IO / -ERR_FORMAT (a file that cannot be read or written, with detail), or -ERR_FULL
 * (more addresses than the ranges hold, or out of memory).  'st' counts what was done. */
int trace_rewrite_lab(const char *in, const char *out, uint32_t mtu, struct trace_lab_stats *st,
		      struct errbuf *eb) WARN_UNUSED;

struct trace_cmp {
	uint64_t expected, got, same;
	uint64_t first_diff;       /* 1-based packet number of the first difference, 0: none */
	/* flow by flow (trace_compare_flows) */
	uint64_t flows, flows_same; /* flows in 'expected'; those whose packets all match in order */
	uint64_t same_in_flow;     /* packets equal to their flow's packet of the same rank */
};

/* Compares capture 'got' with 'expected'.  Returns 0 (the counts say whether they are equal) or
 * -ERR_IO / -ERR_FORMAT with detail. */
int trace_compare(const char *expected, const char *got, struct trace_cmp *c, struct errbuf *eb) WARN_UNUSED;

/* Whether 'got' holds a subsequence of 'expected''s packets (in order, some missing: what a
 * lossy link that never delivers a wrong packet gives): '*is_subseq', and in c->same how many of
 * got's packets matched (greedily, each to the first unmatched equal packet).  Returns 0 or
 * -ERR_IO / -ERR_FORMAT with detail. */
int trace_compare_subseq(const char *expected, const char *got, struct trace_cmp *c, bool *is_subseq,
			 struct errbuf *eb) WARN_UNUSED;

/* The flow-by-flow counts of 'c' (both captures read into memory).  Returns 0, -ERR_IO /
 * -ERR_FORMAT with detail, or -ERR_NOMEM. */
int trace_compare_flows(const char *expected, const char *got, struct trace_cmp *c, struct errbuf *eb) WARN_UNUSED;

#endif
