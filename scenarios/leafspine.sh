#!/bin/sh
# The leaf-spine study inside ns-3 (scenarios/leafspine.ini): flow completion times with the
# switches' pre-crafting off, static and adaptive, at 30, 50 and 70 % load, TCP Cubic and DCTCP,
# 5 replications each (ns-3's run number: other arrivals, sizes and pairs; the same across the
# policies of one run), by `precraft sweep --exec build/precraft-ns3` in 2 workers (or under
# mpirun: MPI=N), then the summary (mean and 95 % CI over the replications) of the slowdown and
# FCT by flow-size bucket, and the switches' hits.
# Usage: sh scenarios/leafspine.sh [BUILD_DIR] [DB]   (default: build, leafspine.db; a DB that
# exists is finished with --resume, never deleted).  About 10 minutes on 2 cores.
set -eu
here=$(pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
B=$(abs "${1:-build}")
DB=$(abs "${2:-leafspine.db}")
cd "$(dirname "$0")/.."
[ -x "$B/precraft-ns3" ] || { echo "leafspine.sh: $B/precraft-ns3 not built (make ns3)" >&2; exit 2; }
resume=""
[ -f "$DB" ] && resume=--resume
set -- --grid ns3.load=0.3,0.5,0.7 --grid ns3.tcp=cubic,dctcp --grid policy.kind=off,static,adaptive --runs 5 \
	--exec "$B/precraft-ns3" --db "$DB" --quiet $resume
if [ -n "${MPI:-}" ]; then
	mpirun --allow-run-as-root --oversubscribe -np "$MPI" "$B/precraft" sweep scenarios/leafspine.ini "$@"
else
	"$B/precraft" sweep scenarios/leafspine.ini -j 2 "$@"
fi
"$B/precraft" summary "$DB" --by ns3.load,ns3.tcp,policy.kind \
	--metric slowdown_p50_small,slowdown_p99_small,slowdown_p50_medium,slowdown_p99_medium,slowdown_p50_large,slowdown_p99_large,fct_mean_ns_small,fct_p99_ns_small,fct_mean_ns_all,fct_p99_ns_all,flows_done_all,flows_all,hit_ratio,switch_queue_drops,ce_marked
