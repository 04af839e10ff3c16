#!/bin/sh
# tests/tsan.sh: the threads precraft runs, under ThreadSanitizer (make tsan; a short pass in make
# test).  The store's writer thread (analysis/store_async.c): simulator runs whose time series
# fill many of its batches (so that the hand-over between the threads runs thousands of times), a
# replay, and a sweep with two workers; the trace reader's pager thread (traces/trace.c); the rcu unit suite (the route table swapped 1,000 times
# while two engines forward in threads); and, as root, hil forward with 2 and 4 worker threads
# on the lab NIC pair (their flows' rows go to the one recorder) and with its route table
# re-read on SIGHUP while they forward.  A report from ThreadSanitizer fails the
# check (halt_on_error, exit 66), as does any row missing from the database.
#   PRECRAFT   the ThreadSanitizer build (default build/tsan/precraft)
#   RUN_TESTS  its unit tests (default build/tsan/run_tests): the rcu suite swaps the route table
#              1,000 times while two worker threads forward
PRECRAFT=${PRECRAFT:-build/tsan/precraft}
RUN_TESTS=${RUN_TESTS:-build/tsan/run_tests}
TMP=$(mktemp -d /tmp/precraft-tsan.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
pass=0
fail=0
tcheck() { # tcheck NAME COMMAND... : exit 0 and no ThreadSanitizer report
	name=$1
	shift
	"$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	if [ $rc -eq 0 ] && ! grep -q ThreadSanitizer "$TMP/err"; then
		pass=$((pass + 1))
		echo "ok   tsan: $name"
	else
		fail=$((fail + 1))
		echo "FAIL tsan: $name (exit $rc)"
		grep -m5 -A8 "ThreadSanitizer" "$TMP/err"
	fi
}
tcheck "sim, 500 kpps with statistics every 10 us (the writer's batches handed over many times)" \
	"$PRECRAFT" sim scenarios/policy-sweep.ini --set run.stats_interval_ms=0.01 --db "$TMP/a.db" --quiet
rows=$(sqlite3 "$TMP/a.db" "SELECT count(*) FROM vector")
if [ "$rows" -gt 30000 ]; then
	pass=$((pass + 1))
	echo "ok   tsan: $rows vector samples written (more than 4 batches of 256 KB)"
else
	fail=$((fail + 1))
	echo "FAIL tsan: only $rows vector samples: the pass did not fill the writer's batches"
fi
tcheck "the route table replaced 1,000 times while 2 workers forward (run_tests rcu)" "$RUN_TESTS" rcu
tcheck "replay into a database" "$PRECRAFT" replay traces/ndpi-fix.pcap --db "$TMP/b.db" --quiet
tcheck "a capture of several chunks read in place, its pages kept by the pager thread, rewound (run_tests trace)" \
	"$RUN_TESTS" trace
tcheck "sweep -j 2" "$PRECRAFT" sweep scenarios/policy-sweep.ini --grid policy.kind=off,adaptive --runs 2 \
	--set source.load.duration_s=0.02 -j 2 --db "$TMP/c.db" --quiet
if [ "$(id -u)" = 0 ] && command -v ip > /dev/null && command -v tcpdump > /dev/null; then
	# Flows idle for 1 ms end while the workers run, so their rows reach the recorder from
	# both threads (without hil_cmd's lock this reports a race in the store's queue).
	for w in 2 4; do
		tcheck "hil forward --workers $w on the lab NIC pair, shadow, flows ending in every worker" \
			env PRECRAFT="$PRECRAFT" timeout 300 hil/lab check traces/sanders-http_espn.pcapng --mode shadow \
			--workers $w --pps 5000 -- --idle-s 0.001
	done
	tcheck "hil forward --workers 2, the route table re-read on SIGHUP while they forward" \
		env PRECRAFT="$PRECRAFT" timeout 300 sh tests/routes_reload.sh
else
	echo "skip tsan: hil forward --workers: needs root, ip and tcpdump (make deps)"
fi
echo "tsan: $pass passed, $fail failed"
[ $fail -eq 0 ]
