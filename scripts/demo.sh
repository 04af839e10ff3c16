#!/bin/sh
# make demo: the main job on the bundled default.  Simulates the default scenario (an SMB2 bulk
# transfer, traces/zeek-smb2.pcap, through source -> link -> shaper -> link -> sink) into
# results.db, then replays the same capture in baseline and precraft mode and checks that both
# sent the same bytes.
set -eu
PRECRAFT=${1:-build/precraft}
DB=results.db
OUT=demo-out
mkdir -p "$OUT"
echo "== precraft demo: scenarios/default.ini -> $DB"
"$PRECRAFT" sim scenarios/default.ini --db "$DB"
run=$(sqlite3 "$DB" "SELECT max(id) FROM run")
echo
echo "== the same capture, untimed, in both modes"
"$PRECRAFT" replay traces/zeek-smb2.pcap --mode baseline --egress "$OUT/baseline.pcap" --quiet
"$PRECRAFT" replay traces/zeek-smb2.pcap --mode precraft --egress "$OUT/precraft.pcap" --quiet
if cmp -s "$OUT/baseline.pcap" "$OUT/precraft.pcap"; then
	echo "  egress: baseline and precraft sent identical bytes ($OUT/*.pcap)"
else
	echo "  egress: DIFFERENT, this is a bug" >&2
	exit 1
fi
echo
echo "== query the results"
echo "  sqlite3 $DB \"SELECT name, value FROM scalar WHERE run_id = $run ORDER BY name\""
echo "  sqlite3 $DB \"SELECT src, dst, packets, hits, misses, delay_sum_ns / packets FROM flow WHERE run_id = $run\""
echo "  sqlite3 $DB \"SELECT t_ns, value FROM vector WHERE run_id = $run AND name = 'hit_ratio'\""
sqlite3 -column -header "$DB" "SELECT name, value FROM scalar WHERE run_id = $run AND name IN
	('hit_ratio','precision','latency_p50_ns','baseline_latency_p50_ns','latency_p99_ns','baseline_latency_p99_ns','pool_bytes_peak')"
echo
echo "== the report of this run (gnuplot figures, HTML)"
"$PRECRAFT" report "$DB" --run "$run" --out report
# The figure the README shows, made here.
if [ -d doc ] && [ -s "report/run-$run-latency-cdf.svg" ]; then
	cp "report/run-$run-latency-cdf.svg" doc/demo-latency-cdf.svg
fi
echo "  open report/index.html (or report/run-$run.html)"
