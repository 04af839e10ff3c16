# tests/sweep.sh: parameter sweeps, sourced by integration.sh (after lib.sh).  A small grid
# (a range × a list, 3 replications) of the shipped policy sweep, shortened:
#   - every run complete, with its grid point, key and job in run_param, and recorded under the
#     `precraft sim` command that reproduces it alone (checked by running that command);
#   - determinism: the same sweep twice gives the same content; replications differ;
#   - -j 2, --shard I/N + merge, and mpirun -np 4 (when OpenMPI is installed) give the content
#     of -j 1, keyed by grid point and run number; merging twice adds nothing;
#   - a worker killed (SIGKILL) mid-sweep, a sweep interrupted (SIGTERM), an MPI rank killed:
#     the complete runs are kept and --resume finishes with the content of -j 1;
#   - summary: one row per point with its 3 replications;
#   - bad input: one line, exit 2.
SW="$TMP/sweep"
mkdir -p "$SW"
SWS=scenarios/policy-sweep.ini
SWG="--grid source.load.rate_pps=2e5..4e5:1e5 --grid policy.kind=off,adaptive --runs 3 --set source.load.duration_s=0.02"
# The content of a database's complete runs, every row keyed by (grid point, run number)
# instead of its run id, in one canonical order.
content() {
	sqlite3 "$1" <<'SQL'
WITH k AS (SELECT r.id, coalesce((SELECT value FROM run_param WHERE run_id = r.id AND name = 'sweep.point'), '-')
                        || '#' || r.run_number AS key
           FROM run r WHERE status = 'complete')
SELECT * FROM (
SELECT key, 'run', command, seed, run_number, '', '' FROM run JOIN k ON k.id = run.id
UNION ALL SELECT key, 'param', name, value, '', '', '' FROM run_param JOIN k ON k.id = run_id
UNION ALL SELECT key, 'scalar', name, printf('%.17g', value), '', '', '' FROM scalar JOIN k ON k.id = run_id
UNION ALL SELECT key, 'flow', flow_id, proto || ' ' || src || ' ' || dst || ' ' || sport || ' ' || dport,
                 packets || ' ' || bytes || ' ' || hits || ' ' || misses || ' ' || wasted,
                 delay_sum_ns || ' ' || jitter_sum_ns || ' ' || lost, first_ns || ' ' || last_ns FROM flow JOIN k ON k.id = run_id
UNION ALL SELECT key, 'vector', name, t_ns, printf('%.17g', value), '', '' FROM vector JOIN k ON k.id = run_id
UNION ALL SELECT key, 'histogram', name, printf('%.17g', bin_lo), printf('%.17g', bin_hi), count, '' FROM histogram
                 JOIN k ON k.id = run_id
) ORDER BY 1, 2, 3, 4, 5, 6, 7;
SQL
}
swq() { sqlite3 "$1" "$2"; }
# Complete runs in a database another process is writing: 0 while it does not exist (the
# sqlite3 shell would create it).
completed() { if [ -e "$1" ]; then sqlite3 -readonly "$1" "SELECT count(*) FROM run WHERE status = 'complete'" 2> /dev/null || echo 0; else echo 0; fi; }
# Waits (at most 60 s) until database $1 holds $2 complete runs: the "mid" of a sweep to kill.
wait_complete() {
	for _ in $(seq 1 600); do
		[ "$(completed "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# shellcheck disable=SC2086
pc sweep "$SWS" $SWG --db "$SW/j1.db" --quiet
rc=$?
content "$SW/j1.db" > "$SW/j1.txt"
check "sweep -j 1: 18 runs (3 rates x 2 policies x 3), all complete (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && [ \"\$(sqlite3 '$SW/j1.db' \"SELECT count(*) FROM run WHERE status = 'complete'\")\" = 18 ]"
check "sweep: the range 2e5..4e5:1e5 gave 200000, 300000, 400000" [ "$(swq "$SW/j1.db" "SELECT group_concat(v, ' ') FROM (SELECT DISTINCT value AS v FROM run_param WHERE name = 'source.load.rate_pps' ORDER BY 0 + value)")" = "200000 300000 400000" ]
check "sweep: run_param holds sweep.point, sweep.key and sweep.job of every run" [ "$(swq "$SW/j1.db" "SELECT count(*) FROM run_param WHERE name IN ('sweep.point', 'sweep.key', 'sweep.job')")" = 54 ]
check "sweep: 6 points, one key each" [ "$(swq "$SW/j1.db" "SELECT count(DISTINCT value) FROM run_param WHERE name = 'sweep.key'")" = 6 ]
check "sweep: replications of a point differ (packets_in of run 1..3 at 300 kpps, off)" [ "$(swq "$SW/j1.db" "SELECT count(DISTINCT s.value) FROM scalar s JOIN run_param p ON p.run_id = s.run_id AND p.name = 'sweep.point' WHERE s.name = 'packets_in' AND p.value = 'source.load.rate_pps=300000 policy.kind=off'")" = 3 ]
# The recorded command reproduces its run alone: run it, compare that run's rows.
cmd=$(swq "$SW/j1.db" "SELECT command FROM run WHERE id = 11")
# shellcheck disable=SC2086
set -- $cmd
shift
pc "$@" --db "$SW/alone.db" --quiet
alone=$(sqlite3 "$SW/alone.db" "SELECT group_concat(name || '=' || printf('%.17g', value), ' ') FROM (SELECT * FROM scalar WHERE run_id = 1 ORDER BY name)")
in_sweep=$(sqlite3 "$SW/j1.db" "SELECT group_concat(name || '=' || printf('%.17g', value), ' ') FROM (SELECT * FROM scalar WHERE run_id = 11 ORDER BY name)")
check "sweep: a run's command ($cmd) reproduces its scalars alone" sh -c "[ -n '$alone' ] && [ '$alone' = '$in_sweep' ]"

# shellcheck disable=SC2086
pc sweep "$SWS" $SWG --db "$SW/again.db" --quiet
check "sweep: the same sweep twice, the same content" cmp -s "$SW/j1.txt" "$(content "$SW/again.db" > "$SW/again.txt"; echo "$SW/again.txt")"
# shellcheck disable=SC2086
pc sweep "$SWS" $SWG -j 2 --db "$SW/j2.db" --quiet
content "$SW/j2.db" > "$SW/j2.txt"
check "sweep -j 2: the content of -j 1, no shard left" sh -c "cmp -s '$SW/j1.txt' '$SW/j2.txt' && ! ls '$SW'/j2.db.part-* > /dev/null 2>&1"

# A batch array: three slices, merged.
for i in 1 2 3; do
	# shellcheck disable=SC2086
	pc sweep "$SWS" $SWG --shard $i/3 --db "$SW/slice$i.db" --quiet
done
n1=$(swq "$SW/slice1.db" "SELECT count(*) FROM run")
pc merge "$SW/merged.db" "$SW/slice1.db" "$SW/slice2.db" "$SW/slice3.db" 2> "$SW/merge.err"
content "$SW/merged.db" > "$SW/merged.txt"
check "sweep --shard 1/3..3/3 (6 runs each: $n1) + merge: the content of -j 1" sh -c "[ '$n1' = 6 ] && cmp -s '$SW/j1.txt' '$SW/merged.txt'"
pc merge "$SW/merged.db" "$SW/slice2.db" 2> "$SW/merge2.err"
check "merge: a shard merged twice adds nothing ($(cat "$SW/merge2.err"))" sh -c "[ \"\$(sqlite3 '$SW/merged.db' 'SELECT count(*) FROM run')\" = 18 ] && grep -q '6 already there' '$SW/merge2.err'"

# A worker killed mid-sweep: its complete runs and the other worker's are kept, --resume
# finishes.  The runs are longer here so that there is a "mid".
SWL="$SWG --set source.load.duration_s=0.2"
# shellcheck disable=SC2086
pc sweep "$SWS" $SWL --db "$SW/long-ref.db" --quiet
content "$SW/long-ref.db" > "$SW/long-ref.txt"
# shellcheck disable=SC2086
"$PRECRAFT" sweep "$SWS" $SWL -j 2 --db "$SW/kill.db" 2> "$SW/kill.err" &
sweep_pid=$!
victim=""
wait_complete "$SW/kill.db.part-0" 1 && victim=$(pgrep -P $sweep_pid | head -1)
[ -n "$victim" ] && kill -9 "$victim"
wait $sweep_pid
rc=$?
kept=$(swq "$SW/kill.db" "SELECT count(*) FROM run WHERE status = 'complete'")
check "sweep -j 2, worker 1 killed mid-sweep: exit 1, $kept of 18 runs kept ($(tail -1 "$SW/kill.err"))" sh -c "[ -n '$victim' ] && [ $rc -eq 1 ] && [ $kept -ge 1 ] && [ $kept -lt 18 ]"
check "sweep -j 2, worker killed: the last line says what is there, not what was planned ($(tail -1 "$SW/kill.err"))" \
	sh -c "tail -1 '$SW/kill.err' | grep -q '^sweep: $kept of 18 runs complete in .*--resume. runs the $((18 - kept)) missing'"
# shellcheck disable=SC2086
pc sweep "$SWS" $SWL -j 2 --db "$SW/kill.db" --resume 2> "$SW/resume.err"
content "$SW/kill.db" > "$SW/kill.txt"
check "sweep --resume after the kill: $(grep -o '[0-9]* of 18 runs already complete' "$SW/resume.err"), the content of -j 1" cmp -s "$SW/long-ref.txt" "$SW/kill.txt"

# SIGTERM to the sweep (-j 1): the run under way is marked interrupted, exit 1; --resume
# finishes.
# shellcheck disable=SC2086
"$PRECRAFT" sweep "$SWS" $SWL --db "$SW/term.db" --quiet &
sweep_pid=$!
wait_complete "$SW/term.db" 2
kill -TERM $sweep_pid
wait $sweep_pid
rc=$?
st=$(swq "$SW/term.db" "SELECT group_concat(DISTINCT status) FROM run WHERE status <> 'complete'")
# shellcheck disable=SC2086
pc sweep "$SWS" $SWL --db "$SW/term.db" --resume --quiet
content "$SW/term.db" > "$SW/term.txt"
check "sweep interrupted by SIGTERM (exit $rc, runs left: ${st:-none}), --resume: the content of -j 1" sh -c "[ $rc -eq 1 ] && cmp -s '$SW/long-ref.txt' '$SW/term.txt'"

# summary over the sweep: 6 groups of 3 replications.
pc summary "$SW/j1.db" --by sweep.point --metric latency_p50_ns > "$SW/summary.txt"
check "summary --by sweep.point: 6 points, n = 3 each" [ "$(grep -c ' 3 *$' "$SW/summary.txt")" = 6 ]
# Without --by, summary and the report know the grid (issue 35): groups named by the swept keys'
# values, bookkeeping (sweep.point, sweep.key) set aside; each metric against the numeric axis,
# one line per policy, and a heat map of the two.
pc summary "$SW/j1.db" --metric latency_p50_ns > "$SW/summary2.txt"
check "summary of a 2-axis sweep: columns policy.kind and source.load.rate_pps, 6 groups of 3 ($(tail -1 "$SW/summary2.txt"))" \
	sh -c "head -1 '$SW/summary2.txt' | grep -q '^policy.kind  *source.load.rate_pps  *metric' && grep -c ' 3\$' '$SW/summary2.txt' | grep -qx 6 && tail -1 '$SW/summary2.txt' | grep -q '^6 groups of 18 complete runs' && ! grep -q 'e+0' '$SW/summary2.txt'"
pc report "$SW/j1.db" --out "$SW/report" > /dev/null
check "report of a 2-axis sweep: the runs differ in 2 parameters, each metric against source.load.rate_pps with a line per policy, heat maps" \
	sh -c "grep -q 'differ in 2 parameters.*policy.kind, source.load.rate_pps' '$SW/report/index.html' && [ -s '$SW/report/grid-latency_p50_ns-by-source.load.rate_pps.svg' ] && [ \$(grep -c \"index\" '$SW/report/grid-latency_p50_ns-by-source.load.rate_pps.gp') -ge 1 ] && grep -q \"title 'policy.kind=adaptive'\" '$SW/report/grid-latency_p50_ns-by-source.load.rate_pps.gp' && [ -s '$SW/report/heat-latency_p50_ns.svg' ]"
check "report of a 2-axis sweep: each line has its 3 points with intervals from 3 replications" \
	sh -c "grep -v '^#' '$SW/report/grid-latency_p50_ns-by-source.load.rate_pps.dat' | awk 'NF >= 5 && \$4 == 3 { n++ } END { exit n != 6 }'"

expect_usage "sweep --grid without '='" "--grid 'policy.kind'" sweep "$SWS" --grid policy.kind --db "$SW/bad.db"
expect_usage "sweep: an unknown key" "nosuchkey" sweep "$SWS" --grid policy.nosuchkey=1,2 --db "$SW/bad.db"
expect_usage "sweep: a bad value" "bogus" sweep "$SWS" --grid policy.kind=off,bogus --db "$SW/bad.db"
expect_usage "sweep: a descending range" "FROM <= TO" sweep "$SWS" --grid source.load.flows=10..1:1 --db "$SW/bad.db"
expect_usage "sweep: a value given twice (two points, one key)" "the value 'off' is given twice" sweep "$SWS" --grid policy.kind=off,off,static --db "$SW/bad.db"
expect_usage "sweep: run.run as an axis" "run.run is the replication number" sweep "$SWS" --grid run.run=1,2 --db "$SW/bad.db"
check "sweep: no database was made by the refused grids" sh -c "! [ -e '$SW/bad.db' ]"
expect_usage "sweep --shard 0/2" "numbered from 1" sweep "$SWS" --shard 0/2 --db "$SW/bad.db"
expect_usage "sweep -j with --shard" "choose one" sweep "$SWS" -j 2 --shard 1/2 --db "$SW/bad.db"
touch "$SW/left.db.part-0"
expect_usage "sweep: shards left without --resume" "resume" sweep "$SWS" --db "$SW/left.db"
echo "not sqlite" > "$SW/junk.db"
expect_usage "merge: a shard that is not a results database" "junk.db" merge "$SW/m.db" "$SW/junk.db"
check "sweep: no bad input wrote a run" [ ! -e "$SW/bad.db" ]

# MPI: 4 ranks, the content of -j 1; one rank killed mid-sweep, then --resume.
if command -v mpirun > /dev/null 2>&1; then
	# Leak checking is off under mpirun: OpenMPI keeps what MPI_Init allocates, in components it
	# loads and unloads, where LeakSanitizer cannot tell whose it is.  The sweep's own code is
	# leak-checked by the -j and --shard runs above; ASan still checks every access here.
	MPIRUN="mpirun --allow-run-as-root --oversubscribe -x ASAN_OPTIONS=detect_leaks=0"
	# shellcheck disable=SC2086
	$MPIRUN -np 4 "$PRECRAFT" sweep "$SWS" $SWG --db "$SW/mpi.db" --quiet > "$SW/mpi.log" 2>&1
	rc=$?
	content "$SW/mpi.db" > "$SW/mpi.txt"
	check "mpirun -np 4 sweep: the content of -j 1 (exit $rc, $(swq "$SW/mpi.db" 'SELECT count(*) FROM run') runs)" sh -c "[ $rc -eq 0 ] && cmp -s '$SW/j1.txt' '$SW/mpi.txt' && ! ls '$SW'/mpi.db.part-* > /dev/null 2>&1"
	# shellcheck disable=SC2086
	$MPIRUN -np 4 "$PRECRAFT" sweep "$SWS" $SWL --db "$SW/mkill.db" --quiet > "$SW/mkill.log" 2>&1 &
	mpi_pid=$!
	victim=""
	if wait_complete "$SW/mkill.db.part-1" 1; then
		for p in $(pgrep -f "sweep $SWS" 2> /dev/null); do
			{ tr '\0' '\n' < "/proc/$p/environ"; } 2> /dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
		done
	fi
	[ -n "$victim" ] && kill -9 "$victim"
	wait $mpi_pid
	rc=$?
	kept=0
	for f in "$SW"/mkill.db.part-[0-9]; do
		kept=$((kept + $(completed "$f")))
	done
	check "mpirun -np 4, rank 1 killed mid-sweep: mpirun fails (exit $rc), $kept complete runs kept in the shards" sh -c "[ -n '$victim' ] && [ $rc -ne 0 ] && [ $kept -ge 1 ]"
	# shellcheck disable=SC2086
	$MPIRUN -np 2 "$PRECRAFT" sweep "$SWS" $SWL --db "$SW/mkill.db" --resume > "$SW/mresume.log" 2>&1
	rc=$?
	content "$SW/mkill.db" > "$SW/mkill.txt"
	check "mpirun -np 2 sweep --resume: $(grep -o '[0-9]* of 18 runs already complete' "$SW/mresume.log"), the content of -j 1 (exit $rc)" sh -c "[ $rc -eq 0 ] && cmp -s '$SW/long-ref.txt' '$SW/mkill.txt'"
else
	bad "mpirun not found: make deps installs openmpi-bin (the MPI sweep tests need it)"
fi

# Ctrl-C during a merge (issue 34, 8): the shard under way is rolled back and kept, exit 1 (it was
# ignored).  The merge is stopped as soon as it has the shard open, then interrupted.
pc sim scenarios/default.ini --set source.main.type=poisson --set source.main.rate_pps=1000000 \
	--set source.main.flows=100000 --set source.main.duration_s=1 --set run.stats_interval_ms=1 --db "$SW/bigshard.db" --quiet
"$PRECRAFT" merge "$SW/intr.db" "$SW/bigshard.db" > /dev/null 2> "$SW/intr.err" &
mpid=$!
i=0
while ! ls -l /proc/$mpid/fd 2> /dev/null | grep -q bigshard.db && [ $i -lt 2000 ]; do sleep 0.002; i=$((i + 1)); done
kill -STOP $mpid 2> /dev/null
kill -INT $mpid 2> /dev/null
kill -CONT $mpid 2> /dev/null
wait $mpid
rc=$?
nr=$(sqlite3 "$SW/intr.db" "SELECT count(*) FROM run" 2> /dev/null)
check "merge interrupted by SIGINT: exit 1, nothing half-merged (${nr:-0} runs), the shard kept ($(cat "$SW/intr.err"))" \
	sh -c "[ $rc -eq 1 ] && [ '${nr:-0}' = 0 ] && [ -s '$SW/bigshard.db' ] && grep -q 'merge: interrupted' '$SW/intr.err'"

# A sweep -j 2 whose parent is killed (SIGKILL): its workers die with it (they ran on).
# shellcheck disable=SC2086
"$PRECRAFT" sweep "$SWS" $SWL --runs 400 -j 2 --db "$SW/orphan.db" --quiet 2> /dev/null &
spid=$!
i=0
while [ "$(pgrep -P $spid | wc -l)" -lt 2 ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
kids=$(pgrep -P $spid | tr '\n' ' ')
kill -9 $spid
wait $spid 2> /dev/null
i=0
alive=$kids
while [ -n "$alive" ] && [ $i -lt 1000 ]; do # 10 s (a worker ends its run under way first): they had 1,200 runs to go
	alive=""
	for k in $kids; do kill -0 "$k" 2> /dev/null && alive="$alive $k"; done
	sleep 0.01
	i=$((i + 1))
done
check "sweep -j 2, parent killed: its workers ($kids) end too${alive:+ (still running:$alive)}" sh -c "[ -n '$kids' ] && [ -z '$alive' ]"
for k in $alive; do kill -9 "$k" 2> /dev/null; done
