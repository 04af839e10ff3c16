#!/bin/sh
# The narrow-link study: what header compression by prediction does to goodput and delay on a
# 2 Mbit/s satellite-like hop (scenarios/narrow-satellite.ini: 600 ms round trip, 1 % bursty
# loss) and a 250 kbit/s IoT hop (scenarios/narrow-iot.ini: 0.5 % loss), each under
# link.out.compress = none, vj, last, header, 5 replications each (the loss and the clones'
# phases differ), then the summary (mean, 95 % CI over the replications).
# Usage: sh scenarios/narrow.sh [BUILD_DIR] [DB]   (default: build, narrow.db; a DB that exists
# is finished with --resume, never deleted)
set -eu
here=$(pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
B=$(abs "${1:-build}")
DB=$(abs "${2:-narrow.db}")
cd "$(dirname "$0")/.."
resume=""
[ -f "$DB" ] && resume=--resume
for s in narrow-satellite narrow-iot; do
	# shellcheck disable=SC2086
	"$B/precraft" sweep "scenarios/$s.ini" --grid link.out.compress=none,vj,last,header --runs 5 -j 2 \
		--db "${DB%.db}-$s.db" --quiet $resume
	echo "== $s"
	"$B/precraft" summary "${DB%.db}-$s.db" --by link.out.compress \
		--metric goodput_mbps,e2e_delay_p50_ns,e2e_delay_p99_ns,header_bytes_out,link_out_bytes_saved,crc_failures,hc_dropped_gap,hc_dropped_no_context,context_refreshes,sink_packets
done
