#!/bin/sh
# Compares the pre-building policies (off, static, adaptive) on the research scenarios: every
# scenario under every policy into one SQLite database, then one table read back from it.
# Runs in shadow mode: the slow path runs beside every hit and any difference is counted
# (the "divergent" column), while the timing is that of pre-crafting.
# Usage: sh scenarios/policy-compare.sh [BUILD_DIR] [DB]   (default: build, policy.db)
#   SCENARIOS="flood priorities" runs those only; SIM_ARGS="--set run.stop_s=0.1" is added to
#   every run.  BUILD_DIR and DB are taken from where the script is run; a DB that exists is
#   added to (the table shows this invocation's runs), never deleted.
set -eu
here=$(pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
B=$(abs "${1:-build}")
DB=$(abs "${2:-policy.db}")
root=$(cd "$(dirname "$0")/.." && pwd)
first=$( [ -f "$DB" ] && sqlite3 "$DB" 'SELECT coalesce(max(id), 0) + 1 FROM run' 2> /dev/null || echo 1)
SCENARIOS=${SCENARIOS:-"loss-0pct loss-0.1pct loss-1pct shaper-idle shaper-saturated flows-10k flows-100k flows-1m flood priorities"}
SIM_ARGS=${SIM_ARGS:-}
total=$(( $(echo $SCENARIOS | wc -w) * 4 ))
done_runs=0
start=$(date +%s)
# One progress line per run on stderr, since the whole comparison takes minutes.
run() { # run SCENARIO LABEL ARGS...
	s=$1 label=$2
	shift 2
	done_runs=$((done_runs + 1))
	printf '[%d/%d, %ds] %s, %s\n' "$done_runs" "$total" $(( $(date +%s) - start )) "$s" "$label" >&2
	# shellcheck disable=SC2086
	"$B/precraft" sim "$root/scenarios/$s.ini" "$@" --set shaper.mode=shadow $SIM_ARGS --db "$DB" --quiet
}
for s in $SCENARIOS; do
	for p in off static adaptive; do
		run "$s" "$p" --policy "$p"
	done
	# What the policies cost when the CPU budget is lifted: the latency there is to win.
	run "$s" "adaptive (ceiling 1)" --policy adaptive --set policy.overhead_ceiling=1
done
# One row per run of this invocation, within 120 columns: latencies in microseconds against the
# baseline server on the same arrivals; the last column answers the scenario's question (its
# file's first comment line): the established flows' hit ratio under a flood, the high- and
# low-priority flows' under contention, elsewhere the p50 gain over the baseline.
sqlite3 -header -column "$DB" <<SQL
WITH r AS (
  SELECT run.id,
         (SELECT replace(replace(value, rtrim(value, replace(value, '/', '')), ''), '.ini', '')
          FROM run_param WHERE run_id = run.id AND name = 'scenario') AS scenario,
         (SELECT value FROM run_param WHERE run_id = run.id AND name = 'policy.kind') ||
           CASE WHEN (SELECT value FROM run_param WHERE run_id = run.id AND name = 'policy.overhead_ceiling') = '1'
                THEN ' (ceil 1)' ELSE '' END AS policy
  FROM run WHERE run.id >= $first),
v AS (
  SELECT r.*,
    (SELECT value FROM scalar WHERE run_id = r.id AND name = 'latency_p50_ns') AS p50,
    (SELECT value FROM scalar WHERE run_id = r.id AND name = 'baseline_latency_p50_ns') AS b50,
    (SELECT value FROM scalar WHERE run_id = r.id AND name = 'latency_p99_ns') AS p99,
    (SELECT value FROM scalar WHERE run_id = r.id AND name = 'baseline_latency_p99_ns') AS b99
  FROM r)
SELECT v.scenario, v.policy AS policy,
  printf('%.3f', (SELECT value FROM scalar WHERE run_id = v.id AND name = 'hit_ratio')) AS hits,
  printf('%.3g/%.3g', v.p50 / 1000, v.b50 / 1000) AS "p50/base us",
  printf('%.3g/%.3g', v.p99 / 1000, v.b99 / 1000) AS "p99/base us",
  printf('%+.1f%%', 100 * (SELECT value FROM scalar WHERE run_id = v.id AND name = 'extra_cpu')) AS cpu,
  printf('%.0f', (SELECT value FROM scalar WHERE run_id = v.id AND name = 'divergent_packets')) AS div,
  CASE v.scenario
    WHEN 'flood' THEN 'established flows hit ' ||
      (SELECT printf('%.3f', 1.0 * sum(hits) / sum(packets)) FROM flow WHERE run_id = v.id AND sport <> 4433 AND dport <> 4433)
    WHEN 'priorities' THEN 'hits: high ' ||
      (SELECT printf('%.3f', 1.0 * sum(hits) / sum(packets)) FROM flow WHERE run_id = v.id AND (sport = 445 OR dport = 445)) || ', low ' ||
      (SELECT printf('%.3f', 1.0 * sum(hits) / sum(packets)) FROM flow WHERE run_id = v.id AND (sport = 4433 OR dport = 4433))
    ELSE printf('p50 %+.0f%% vs base', 100 * (v.p50 - v.b50) / v.b50) END AS answer
FROM v ORDER BY v.id;
SQL
