#!/bin/sh
# tests/soak.sh [SECONDS]: the soak run in the lab (make soak; make test runs 20 seconds).
# hil forward runs for SECONDS (default 180) on the lab NIC pair under mixed traffic from three
# generators at once: real captures (rewritten into the lab's ranges), the hostile corpus
# (tests/hostile/gen.c, already in the lab's ranges) and a flood of 100,000 one-way flows.
# Required: forward exits 0; its counters add up (in = out + drops by kind, out = injected +
# injection errors); its anonymous resident memory (heap: what a leak grows; the capture rings,
# mapped from the kernel, are file-backed and fill as traffic passes) after the first half
# stays within 10% (+4 MiB) of what it was then (a 4,096-flow table and a 2 MiB pool, so that
# both are full, and their pages resident, well before).  Run it on a release build: under
# AddressSanitizer the quarantine of freed memory (SQLite's, writing flow rows) fills for
# minutes and the resident figure says nothing about leaks.  Prints the figures.  Needs root; removes the lab on any exit.
set -u
secs=${1:-180}
PRECRAFT=${PRECRAFT:-build/precraft}
GEN=${HOSTILE_GEN:-$(dirname "$PRECRAFT")/hostile-gen}
[ "$(id -u)" = 0 ] || { echo "soak: needs root (network namespaces)" >&2; exit 2; }
T=$(mktemp -d /tmp/precraft-soak.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2> /dev/null; done
	hil/lab down
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "soak: $*" >&2; exit 1; }

"$GEN" "$T" > /dev/null && "$GEN" "$T" --flood 100000 > /dev/null || fail "the hostile generator failed"
for t in ndpi-fix zeek-smb2 pcapplusplus-DnsPackets tcpdump-mptcp-v0 zeek-NTP_sync; do
	"$PRECRAFT" rewrite "traces/$t.pcap" -o "$T/lab-$t.pcap" --lab > /dev/null || fail "rewrite $t failed"
done
hil/lab up > /dev/null || fail "hil/lab up failed"

ip netns exec pc-dut "$PRECRAFT" hil forward --in pcd0 --out pcd1 --duration "$secs" --flows 4096 --pool-mb 2 \
	--snat 198.18.0.1 --policy adaptive --db "$T/soak.db" --ready "$T/ready" > "$T/dut.txt" 2> "$T/dut.err" &
dut=$!
pids="$dut"
i=0
while [ ! -e "$T/ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -e "$T/ready" ] || fail "hil forward did not start: $(cat "$T/dut.err")"
# Three generators at once, interleaving on the wire; they stop a second before the DUT.
g=$((secs - 1))
for f in "$T"/lab-*.pcap; do
	ip netns exec pc-gen "$PRECRAFT" hil replay --out pcg0 "$f" --loop 0 --duration "$g" --pps 600 --quiet 2>> "$T/gen.err" &
	pids="$pids $!"
done
ip netns exec pc-gen "$PRECRAFT" hil replay --out pcg0 "$T/all.pcap" --loop 0 --duration "$g" --pps 2000 --quiet 2>> "$T/gen.err" &
pids="$pids $!"
ip netns exec pc-gen "$PRECRAFT" hil replay --out pcg0 "$T/flood-big.pcap" --loop 0 --duration "$g" --pps 5000 --quiet 2>> "$T/gen.err" &
pids="$pids $!"

rss() { awk '$1 == "RssAnon:" { print $2 }' "/proc/$dut/status" 2> /dev/null; }
vmrss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$dut/status" 2> /dev/null; }
rss_start=""
rss_end=""
rss_max=0
vm_end=""
t0=$(date +%s)
while kill -0 "$dut" 2> /dev/null; do
	r=$(rss)
	if [ -n "$r" ]; then
		now=$(date +%s)
		[ -z "$rss_start" ] && [ $((now - t0)) -ge $((secs / 2)) ] && rss_start=$r
		[ "$r" -gt "$rss_max" ] && rss_max=$r
		rss_end=$r
		vm_end=$(vmrss)
	fi
	sleep 1
done
wait "$dut"
rc=$?
for p in $pids; do wait "$p" 2> /dev/null; done
pids=""
[ $rc -eq 0 ] || fail "hil forward exited $rc: $(cat "$T/dut.err")"
v() { awk -v k="$1" '$1 == k { print $2 }' "$T/dut.txt"; }
in=$(v packets_in)
out=$(v packets_out)
sent=$(v injected)
inj=$(v inject_errors)
drops=$(awk '$1 ~ /^dropped_/ { s += $2 } END { print s + 0 }' "$T/dut.txt")
# The generator cannot send the hostile corpus's frames above the MTU (64 KB, jumbograms).
echo "soak: generators: $(cat "$T/gen.err" 2> /dev/null | tr '\n' ' ')"
echo "soak: ${secs}s, kernel drops $(v capture_dropped), in $in, out $out, dropped $drops ($(awk '$1 ~ /^dropped_/ && $2 > 0 { printf "%s %s ", $1, $2 }' "$T/dut.txt")), injected $sent, injection errors $inj, flows $(v flows), evictions $(v flow_evictions)"
echo "soak: anonymous resident memory ${rss_start:-?} KiB at $((secs / 2)) s, ${rss_end:-?} KiB at the end, ${rss_max} KiB at most (all resident, capture rings included: ${vm_end:-?} KiB)"
[ "$in" -gt 0 ] || fail "nothing was forwarded"
[ "$in" -eq $((out + drops)) ] || fail "in $in != out $out + dropped $drops"
[ "$out" -eq $((sent + inj)) ] || fail "out $out != injected $sent + injection errors $inj"
[ -n "$rss_start" ] && [ "$rss_end" -le $((rss_start + rss_start / 10 + 4096)) ] ||
	fail "resident memory grew from ${rss_start:-?} to $rss_end KiB"
st=$(sqlite3 "$T/soak.db" 'SELECT status FROM run')
[ "$st" = complete ] || fail "the run is '$st'"
echo "soak: ok"
