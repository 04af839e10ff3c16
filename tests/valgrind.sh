#!/bin/sh
# The valgrind pass of make test: malformed captures and bad input (tests/bad_input.sh) on a
# build without sanitizers, under memcheck, which catches reads of uninitialised memory that
# ASan and UBSan cannot see.  A memcheck error makes the run exit 99, which fails its check.
# Run from the project root with PRECRAFT set to a build without sanitizers.
set -u
if ! command -v valgrind > /dev/null; then
	echo "valgrind is missing (make deps installs it)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
RUN="valgrind -q --error-exitcode=99 --track-origins=yes"
. tests/lib.sh
. tests/bad_input.sh
# The sanitizers never see these: a run of each kind that succeeds, with a store.
check "valgrind: replay --db" pc replay traces/ndpi-fix.pcap --db "$TMP/v.db" --quiet
check "valgrind: replay --timed --db" pc replay traces/ndpi-fix.pcap --timed --db "$TMP/v.db" --quiet
check "valgrind: sim" pc sim scenarios/default.ini --db "$TMP/v.db" --quiet
# The tunnel: sealing in one shot, from keystreams, anticipated packets, shadow mode's check, in
# the replay and in the simulator (OpenSSL and libsodium underneath).
check "valgrind: replay --tunnel, header predictor" pc replay traces/pcapplusplus-DnsPackets.pcap --tunnel scenarios/default.tunnel --predictor header --quiet
check "valgrind: replay --tunnel, shadow" pc replay traces/ndpi-fix.pcap --tunnel scenarios/default.tunnel --mode shadow --quiet
check "valgrind: sim with a tunnel" pc sim scenarios/tunnel-30.ini --set run.stop_s=0.02 --db "$TMP/v.db" --quiet
check "valgrind: eval" sh -c "$RUN '$PRECRAFT' eval traces/ndpi-fix.pcap --models last,header > /dev/null"
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
