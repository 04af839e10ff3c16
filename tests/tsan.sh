#!/bin/sh
# tests/tsan.sh: the threads precraft runs, under ThreadSanitizer (make tsan; a short pass in make
# test).  Today that is the store's writer thread (analysis/store_async.c): simulator runs whose
# time series fill many of its batches (so that the hand-over between the threads runs thousands
# of times), a replay, and a sweep with two workers.  A report from ThreadSanitizer fails the
# check (halt_on_error, exit 66), as does any row missing from the database.
#   PRECRAFT  the ThreadSanitizer build (default build/tsan/precraft)
PRECRAFT=${PRECRAFT:-build/tsan/precraft}
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
tcheck "replay into a database" "$PRECRAFT" replay traces/ndpi-fix.pcap --db "$TMP/b.db" --quiet
tcheck "sweep -j 2" "$PRECRAFT" sweep scenarios/policy-sweep.ini --grid policy.kind=off,adaptive --runs 2 \
	--set source.load.duration_s=0.02 -j 2 --db "$TMP/c.db" --quiet
echo "tsan: $pass passed, $fail failed"
[ $fail -eq 0 ]
