#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS TARGET...: runs each libFuzzer target, first on its
# regression inputs (tests/fuzz/regress/TARGET: every crash ever found, each must now pass),
# then for SECONDS from its seed corpus (tests/fuzz/corpus/TARGET; new inputs go to
# BUILD/corpus/TARGET, never into the committed corpus).  A crash leaves BUILD/crash-TARGET-*,
# prints the command that reproduces it, and fails the run.  Prints per target: executions,
# coverage (edges), corpus size, crashes.
set -u
build=$1
secs=$2
shift 2
failed=0
for t in "$@"; do
	bin="$build/fuzz-$t"
	mkdir -p "$build/corpus/$t"
	reg=$(ls tests/fuzz/regress/"$t"/* 2>/dev/null | wc -l)
	if [ "$reg" -gt 0 ] && ! "$bin" -runs=0 tests/fuzz/regress/"$t"/* > "$build/$t.regress.log" 2>&1; then
		echo "fuzz $t: a regression input fails again (see $build/$t.regress.log)"
		failed=1
		continue
	fi
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$build/crash-$t-" "$build/corpus/$t" tests/fuzz/corpus/"$t" > "$build/$t.log" 2>&1
	rc=$?
	execs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$build/$t.log")
	cov=$(grep -o 'cov: [0-9]*' "$build/$t.log" | tail -1 | awk '{ print $2 }')
	units=$(ls "$build/corpus/$t" | wc -l)
	if [ $rc -ne 0 ]; then
		crash=$(ls -t "$build"/crash-"$t"-* 2>/dev/null | head -1)
		echo "fuzz $t: CRASH after ${execs:-?} executions: $crash (reproduce: $bin $crash; then add it to tests/fuzz/regress/$t/)"
		grep -m3 -E 'ERROR|required|runtime error' "$build/$t.log"
		failed=1
	else
		echo "fuzz $t: ${execs:-?} executions in ${secs}s, coverage ${cov:-?} edges, $reg regression inputs, $units new corpus units, 0 crashes"
	fi
done
exit $failed
