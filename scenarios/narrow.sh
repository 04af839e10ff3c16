#!/bin/sh
# The narrow-link study: what header compression by prediction does to goodput and delay on a
# 2 Mbit/s satellite-like hop (scenarios/narrow-satellite.ini: 600 ms round trip, bursty loss)
# and a 250 kbit/s IoT hop (scenarios/narrow-iot.ini), each under link.out.compress = none, vj,
# last, header at four loss rates (satellite: Gilbert-Elliott's good-to-bad probability 0,
# 0.001, 0.002 (the scenario's, 1 % of frames lost), 0.004; IoT: Bernoulli 0, 0.5, 1, 2 %),
# without and with the decompressor's feedback (link.out.compress_feedback), 5 replications each (the loss and the clones' phases differ), then per hop the summary (mean,
# 95 % CI over the replications) and a study page (precraft study --compare
# link.out.compress=none: each compressor against none, run number by run number).
# Usage: sh scenarios/narrow.sh [BUILD_DIR] [DB] [OUT_DIR]   (default: build, narrow.db, study;
# DB names the two databases, DB-satellite and DB-iot; one that exists is finished with
# --resume, never deleted)
set -eu
here=$(pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
B=$(abs "${1:-build}")
DB=$(abs "${2:-narrow.db}")
OUT=$(abs "${3:-study}")
cd "$(dirname "$0")/.."
for s in satellite iot; do
	db="${DB%.db}-$s.db"
	resume=""
	[ -f "$db" ] && resume=--resume
	if [ $s = satellite ]; then loss="--grid link.out.ge_p_gb=0,0.001,0.002,0.004"; else loss="--grid link.out.loss_p=0,0.005,0.01,0.02"; fi
	# shellcheck disable=SC2086
	"$B/precraft" sweep "scenarios/narrow-$s.ini" --grid link.out.compress=none,vj,last,header $loss \
		--grid link.out.compress_feedback=off,on --runs 5 -j 2 \
		--db "$db" --quiet $resume
	echo "== narrow-$s"
	"$B/precraft" summary "$db" \
		--metric goodput_mbps,e2e_delay_p50_ns,e2e_delay_p99_ns,compress_ratio,crc_failures,hc_dropped_gap,hc_dropped_no_context,context_refreshes,hc_feedback_refreshes,sink_packets
	"$B/precraft" study "$db" --out "$OUT/narrow-$s" --compare link.out.compress=none \
		--metrics e2e_delay_p50_ns,e2e_delay_p99_ns,goodput_mbps,compress_ratio
done
