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
# The receiving side: opening in one shot, from keystreams and anticipated packets, shadow mode's
# check; WireGuard and AES-GCM; the simulator's two gateways.
"$PRECRAFT" replay traces/pcapplusplus-DnsPackets.pcap --tunnel scenarios/gateways.tunnel --local 192.0.2.1,2001:db8::1 \
	--predictor header --egress "$TMP/sealed.pcap" --quiet
check "valgrind: replay, the opening gateway, header predictor" pc replay "$TMP/sealed.pcap" --tunnel scenarios/gateways.tunnel \
	--local 203.0.113.1,2001:db8:ffff::1 --predictor header --quiet
check "valgrind: replay, the opening gateway, shadow" pc replay "$TMP/sealed.pcap" --tunnel scenarios/gateways.tunnel \
	--local 203.0.113.1,2001:db8:ffff::1 --mode shadow --quiet
grep -v '^#' scenarios/gateways.tunnel | sed -E 's/^esp (\S+) spi (\S+) (src \S+ dst \S+) (key \S+) salt \S+ /wg \1 index \2 \3 port 51820 \4 /' > "$TMP/wg.tunnel"
grep -v '^#' scenarios/gateways.tunnel | sed 's/ match / cipher aes-256-gcm match /' > "$TMP/gcm.tunnel"
for k in wg gcm; do
	"$PRECRAFT" replay traces/ndpi-fix.pcap --tunnel "$TMP/$k.tunnel" --local 192.0.2.1,2001:db8::1 --egress "$TMP/s-$k.pcap" --quiet
	check "valgrind: replay, $k sealed and opened" sh -c "$RUN '$PRECRAFT' replay traces/ndpi-fix.pcap --tunnel '$TMP/$k.tunnel' --local 192.0.2.1,2001:db8::1 --quiet && $RUN '$PRECRAFT' replay '$TMP/s-$k.pcap' --tunnel '$TMP/$k.tunnel' --local 203.0.113.1,2001:db8:ffff::1 --mode shadow --quiet"
done
check "valgrind: sim, two gateways" pc sim scenarios/gateways-30.ini --set run.stop_s=0.02 --db "$TMP/v2.db" --quiet
# Header compression (issue 38): both ends, every compressor kind, the option words (MPTCP), a
# lossy link, and the simulator's compressed link.out.
for c in vj header; do
	check "valgrind: replay --compress $c, decompress with loss" sh -c "$RUN '$PRECRAFT' replay traces/tcpdump-mptcp-v0.pcap --compress $c --egress '$TMP/hc-$c.pcap' --quiet && $RUN '$PRECRAFT' decompress '$TMP/hc-$c.pcap' -o '$TMP/hc-$c-out.pcap' --drop 0.05 --quiet"
done
check "valgrind: sim, link.out compressed" pc sim scenarios/narrow-iot.ini --set run.stop_s=5 --db "$TMP/v3.db" --quiet
# precraft inside ns-3 (when built): the node's C model fed by ns-3, in each topology.
if [ -n "${PRECRAFT_NS3:-}" ] && [ -x "$PRECRAFT_NS3" ]; then
	check "valgrind: precraft-ns3, the default scenario's path" $RUN "$PRECRAFT_NS3" --db="$TMP/n.db" --quiet
	check "valgrind: precraft-ns3, a small leaf-spine" $RUN "$PRECRAFT_NS3" --topology=leafspine --set=ns3.spines=1 \
		--set=ns3.leaves=2 --set=ns3.hosts=2 --set=ns3.duration_ms=1 --db="$TMP/n.db" --flowmon=none --quiet
	check "valgrind: precraft-ns3, the VPN" $RUN "$PRECRAFT_NS3" --topology=vpn --set=ns3.hosts=1 --set=ns3.duration_ms=2 \
		--set=ns3.rr=1 --set=ns3.bulk=1 --load=0.05 --db="$TMP/n.db" --flowmon=none --quiet
else
	echo "skip valgrind of precraft-ns3: not built (ns-3 absent)"
fi
check "valgrind: eval" sh -c "$RUN '$PRECRAFT' eval traces/ndpi-fix.pcap --models last,header > /dev/null"
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
