/* export: a results database in other tools' formats (`precraft export`).
 *
 *   CSV, as `opp_scavetool export` writes OMNeT++ results for spreadsheets and pandas: DIR/runs.csv,
 *   params.csv, scalars.csv, vectors.csv, histograms.csv, flows.csv, every row with its run id
 *   (RFC 4180 quoting).
 *   FlowMonitor XML, as ns-3's FlowMonitor::SerializeToXmlFile writes it, so that analysis
 *   scripts written for ns-3 (flowmon-parse-results.py and the like) read precraft's flow table:
 *   <FlowMonitor><FlowStats><Flow flowId=... timeFirstTxPacket="+Tns" ... delaySum="+Tns"
 *   jitterSum="+Tns" lastDelay="+0ns" txBytes txPackets rxBytes rxPackets lostPackets
 *   timesForwarded/></FlowStats><Ipv4FlowClassifier>/<Ipv6FlowClassifier> with the 5-tuples.
 *   ns-3's flows are one direction; precraft's are both directions of a connection, counted
 *   as they arrived at the shaper: txPackets/txBytes are the flow's packets and bytes, rxPackets
 *   those that reached the sink (packets less lost), delaySum and jitterSum the sink's (zero in
 *   runs without a sink, such as replay).  Flow ids are made unique across runs (run id * 2^32 +
 *   flow id); each Flow carries its precraft run id as an extra attribute. */
#ifndef PRECRAFT_ANALYSIS_EXPORT_H
#define PRECRAFT_ANALYSIS_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct export_totals {
	uint64_t runs, rows, flows, tx_packets, rx_packets, lost_packets;
	uint64_t damaged;          /* runs with a damaged vector chunk (its samples from there on left out) */
	char first_damage[200];
};

/* 'runs' NULL: every run.  Returns 0 or a negative ERR_* (-ERR_FORMAT: not a precraft results
 * database, no such run), one line in 'eb'. */
int export_csv(const char *db, const int64_t *runs, size_t n_runs, const char *dir, struct export_totals *tot,
	       struct errbuf *eb) WARN_UNUSED;
int export_flowmon(const char *db, const int64_t *runs, size_t n_runs, const char *file, struct export_totals *tot,
		   struct errbuf *eb) WARN_UNUSED;

#endif
