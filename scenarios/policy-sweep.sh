#!/bin/sh
# The shipped research sweep: which pre-building policy pays as the shaper's CPU fills and the
# flows grow?  scenarios/policy-sweep.ini under policy x offered load x flows, 5 replications
# each (135 runs), then the summary (mean, 95 % CI over the replications) and the report.
# Usage: sh scenarios/policy-sweep.sh [BUILD_DIR] [DB] [-j N]   (default: build, policy-sweep.db, -j 2)
#   MPI instead of -j:  MPI="mpirun --allow-run-as-root --oversubscribe -np 4" sh scenarios/policy-sweep.sh
#   BUILD_DIR and DB are taken from where the script is run; a DB that exists is finished
#   (--resume: only the runs it lacks), never deleted.
set -eu
here=$(pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
B=$(abs "${1:-build}")
DB=$(abs "${2:-policy-sweep.db}")
J=${4:-2}
[ "${3:-}" = -j ] || [ -z "${3:-}" ] || { echo "usage: $0 [BUILD_DIR] [DB] [-j N]" >&2; exit 2; }
cd "$(dirname "$0")/.."
resume=""
[ -f "$DB" ] && resume=--resume && echo "policy-sweep: $DB exists: finishing it (--resume)" >&2
GRID="--grid policy.kind=off,static,adaptive --grid source.load.rate_pps=250000,500000,800000 --grid source.load.flows=100,1000,10000 --runs 5 $resume"
start=$(date +%s)
if [ -n "${MPI:-}" ]; then
	# shellcheck disable=SC2086
	$MPI "$B/precraft" sweep scenarios/policy-sweep.ini $GRID --db "$DB" --quiet
else
	# shellcheck disable=SC2086
	"$B/precraft" sweep scenarios/policy-sweep.ini $GRID -j "$J" --db "$DB" --quiet
fi
echo "sweep: $(sqlite3 "$DB" "SELECT count(*) FROM run WHERE status = 'complete'") runs in $(( $(date +%s) - start )) s into $DB" >&2
"$B/precraft" summary "$DB" --by source.load.flows,source.load.rate_pps,policy.kind \
	--metric baseline_utilisation,latency_p50_ns,baseline_latency_p50_ns,latency_p99_ns,hit_ratio,precision,extra_cpu,divergent_packets
"$B/precraft" report "$DB" --out "${DB%.db}-report" > /dev/null
echo "report: ${DB%.db}-report/index.html (the comparison page: every point's mean and CI)" >&2
