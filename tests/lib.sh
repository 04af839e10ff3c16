# tests/lib.sh: what the shell tests share.  Sourced by integration.sh and valgrind.sh.
#   PRECRAFT  the program under test (default build/precraft)
#   RUN       a command the program runs under (valgrind.sh sets valgrind); a run whose exit is
#             99 is the tool's error report and fails whatever the check expected
# Prints one line per check; the caller closes with "N passed, N failed".
PRECRAFT=${PRECRAFT:-build/precraft}
RUN=${RUN:-}
TMP=$(mktemp -d /tmp/precraft-it.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # check NAME COMMAND... : passes when the command exits 0
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
pc() { # pc ARGS... : the program, under $RUN
	# shellcheck disable=SC2086
	$RUN "$PRECRAFT" "$@"
}
count() { tcpdump --count -r "$1" 2>/dev/null | awk '/packets?$/ { print $1 }'; } # "1 packet", "2 packets"
expect_usage() { # expect_usage NAME PATTERN ARGS... : exit 2 with one line matching PATTERN
	name=$1
	pat=$2
	shift 2
	pc "$@" > /dev/null 2> "$TMP/err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q -- "$pat" "$TMP/err"; then
		ok "usage error: $name"
	else
		bad "usage error: $name (exit $rc: $(cat "$TMP/err"))"
	fi
}
