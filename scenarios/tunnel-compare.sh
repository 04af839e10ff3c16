#!/bin/sh
# The tunnel question: does pre-computing ESP work pay on a VPN gateway, under which policy, as
# the CPU fills?  scenarios/tunnel-30, -60 and -90 (offered load 30, 60 and 90 % of the
# baseline's CPU) under every policy (off, static, adaptive), in shadow mode (the slow path
# runs beside every hit, differences counted: "divergent"; timing is that of pre-crafting),
# into one SQLite database, then one table read back from it.
# Usage: sh scenarios/tunnel-compare.sh [BUILD_DIR] [DB]   (default: build, tunnel.db)
# BUILD_DIR and DB are taken from where the script is run; a DB that exists is added to (its
# runs read back with the new ones), never deleted.
set -eu
here=$(pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
B=$(abs "${1:-build}")
DB=$(abs "${2:-tunnel.db}")
root=$(cd "$(dirname "$0")/.." && pwd)
first=$( [ -f "$DB" ] && sqlite3 "$DB" 'SELECT coalesce(max(id), 0) + 1 FROM run' 2> /dev/null || echo 1)
total=9
n=0
start=$(date +%s)
for u in 30 60 90; do
	for p in off static adaptive; do
		n=$((n + 1))
		printf '[%d/%d, %ds] tunnel-%s, %s\n' "$n" "$total" $(( $(date +%s) - start )) "$u" "$p" >&2
		"$B/precraft" sim "$root/scenarios/tunnel-$u.ini" --policy "$p" --set shaper.mode=shadow --db "$DB" --quiet
	done
done
sqlite3 -header -column "$DB" <<SQL
WITH r AS (
  SELECT run.id,
         (SELECT printf('%.0f%%', 100 * value) FROM run_param WHERE run_id = run.id AND name = 'run.load') AS target,
         (SELECT value FROM run_param WHERE run_id = run.id AND name = 'policy.kind') AS policy
  FROM run WHERE run.id >= $first)
SELECT r.target, r.policy,
  printf('%.1f%%', 100 * (SELECT value FROM scalar WHERE run_id = r.id AND name = 'offered_load')) AS offered,
  printf('%.0f / %.0f', (SELECT value FROM scalar WHERE run_id = r.id AND name = 'latency_p50_ns'),
                        (SELECT value FROM scalar WHERE run_id = r.id AND name = 'baseline_latency_p50_ns')) AS p50_vs_base,
  printf('%.0f / %.0f', (SELECT value FROM scalar WHERE run_id = r.id AND name = 'latency_p99_ns'),
                        (SELECT value FROM scalar WHERE run_id = r.id AND name = 'baseline_latency_p99_ns')) AS p99_vs_base,
  printf('%.3f', (SELECT value FROM scalar WHERE run_id = r.id AND name = 'hit_ratio')) AS hit_ratio,
  printf('%.3f', 1.0 * (SELECT value FROM scalar WHERE run_id = r.id AND name = 'esp_sealed_keystream') /
                  (SELECT value FROM scalar WHERE run_id = r.id AND name = 'esp_packets')) AS ks_sealed,
  printf('%.3f', 1.0 * (SELECT value FROM scalar WHERE run_id = r.id AND name = 'esp_sealed_anticipated') /
                  (SELECT value FROM scalar WHERE run_id = r.id AND name = 'esp_packets')) AS anticip,
  printf('%.2f', (SELECT value FROM scalar WHERE run_id = r.id AND name = 'ks_waste_ratio')) AS ks_waste,
  printf('%+.1f%%', 100 * (SELECT value FROM scalar WHERE run_id = r.id AND name = 'extra_cpu')) AS extra_cpu,
  printf('%+.2f%%', 100 * ((SELECT value FROM scalar WHERE run_id = r.id AND name = 'pool_bytes_peak') +
                           (SELECT value FROM scalar WHERE run_id = r.id AND name = 'esp_mem_bytes')) /
                          (SELECT value FROM scalar WHERE run_id = r.id AND name = 'flow_table_bytes')) AS extra_mem,
  (SELECT value FROM scalar WHERE run_id = r.id AND name = 'shaper_queue_drops') AS drops,
  (SELECT value FROM scalar WHERE run_id = r.id AND name = 'baseline_queue_drops') AS base_drops,
  (SELECT value FROM scalar WHERE run_id = r.id AND name = 'divergent_packets') AS divergent
FROM r ORDER BY r.id;
SQL
