#!/bin/sh
# Compares the pre-building policies (off, static, adaptive) on the research scenarios: every
# scenario under every policy into one SQLite database, then one table read back from it.
# Runs in shadow mode: the slow path runs beside every hit and any difference is counted
# (the "divergent" column), while the timing is that of pre-crafting.
# Usage: sh scenarios/policy-compare.sh [BUILD_DIR] [DB]   (default: build, policy.db)
set -eu
B=${1:-build}
DB=${2:-policy.db}
cd "$(dirname "$0")/.."
rm -f "$DB"
SCENARIOS=${SCENARIOS:-"loss-0pct loss-0.1pct loss-1pct shaper-idle shaper-saturated flows-10k flows-100k flows-1m flood priorities"}
total=$(( $(echo $SCENARIOS | wc -w) * 4 ))
done_runs=0
start=$(date +%s)
# One progress line per run on stderr, since the whole comparison takes minutes.
run() { # run SCENARIO LABEL ARGS...
	s=$1 label=$2
	shift 2
	done_runs=$((done_runs + 1))
	printf '[%d/%d, %ds] %s, %s\n' "$done_runs" "$total" $(( $(date +%s) - start )) "$s" "$label" >&2
	"$B/precraft" sim "scenarios/$s.ini" "$@" --set shaper.mode=shadow --db "$DB" --quiet
}
for s in $SCENARIOS; do
	for p in off static adaptive; do
		run "$s" "$p" --policy "$p"
	done
	# What the policies cost when the CPU budget is lifted: the latency there is to win.
	run "$s" "adaptive (ceiling 1)" --policy adaptive --set policy.overhead_ceiling=1
done
sqlite3 -header -column "$DB" <<'SQL'
WITH r AS (
  SELECT run.id,
         replace(substr(run.command, instr(run.command, 'scenarios/') + 10), '.ini', '') AS scenario,
         (SELECT value FROM run_param WHERE run_id = run.id AND name = 'policy.kind') ||
           CASE WHEN (SELECT value FROM run_param WHERE run_id = run.id AND name = 'policy.overhead_ceiling') = '1'
                THEN ' (ceiling 1)' ELSE '' END AS policy
  FROM run)
SELECT r.scenario, r.policy,
  printf('%.3f', (SELECT value FROM scalar WHERE run_id = r.id AND name = 'hit_ratio')) AS hit_ratio,
  printf('%.3f', (SELECT value FROM scalar WHERE run_id = r.id AND name = 'precision')) AS precision,
  printf('%.0f / %.0f', (SELECT value FROM scalar WHERE run_id = r.id AND name = 'latency_p50_ns'),
                        (SELECT value FROM scalar WHERE run_id = r.id AND name = 'baseline_latency_p50_ns')) AS p50_vs_base,
  printf('%.0f / %.0f', (SELECT value FROM scalar WHERE run_id = r.id AND name = 'latency_p99_ns'),
                        (SELECT value FROM scalar WHERE run_id = r.id AND name = 'baseline_latency_p99_ns')) AS p99_vs_base,
  printf('%+.1f%%', 100 * (SELECT value FROM scalar WHERE run_id = r.id AND name = 'extra_cpu')) AS extra_cpu,
  printf('%+.1f%%', 100 * (SELECT value FROM scalar WHERE run_id = r.id AND name = 'extra_memory')) AS extra_mem,
  (SELECT value FROM scalar WHERE run_id = r.id AND name = 'divergent_packets') AS divergent,
  CASE r.scenario
    WHEN 'flood' THEN 'established: ' ||
      (SELECT count(*) FROM flow WHERE run_id = r.id AND sport <> 4433 AND dport <> 4433) || ' flow rows, hits ' ||
      (SELECT printf('%.3f', 1.0 * sum(hits) / sum(packets)) FROM flow WHERE run_id = r.id AND sport <> 4433 AND dport <> 4433)
    WHEN 'priorities' THEN 'hits high ' ||
      (SELECT printf('%.3f', 1.0 * sum(hits) / sum(packets)) FROM flow WHERE run_id = r.id AND (sport = 445 OR dport = 445)) || ', low ' ||
      (SELECT printf('%.3f', 1.0 * sum(hits) / sum(packets)) FROM flow WHERE run_id = r.id AND (sport = 4433 OR dport = 4433))
    ELSE '' END AS question
FROM r ORDER BY r.id;
SQL
