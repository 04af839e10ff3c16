#!/bin/sh
# tests/routes_reload.sh: hil forward's route table replaced while 2 workers forward, on the lab
# NIC pair (hil/lab up: namespaces and veth pairs of its own, removed on exit, also on failure).
# The generator sends a capture (rewritten into the sink's ranges); meanwhile the route file is
# switched between two tables, A and B, that differ only in the next hop's MAC, each switch
# followed by a SIGHUP.  Passes when the sink received every frame, each addressed to A's or B's
# next hop (never anything else: a freed table would give garbage or a crash), both were used,
# the DUT re-read the table at least 20 times with no error, and nothing was dropped.
#   PRECRAFT  the binary (default build/precraft); prints one "ok"/"FAIL" line, exit 0 on pass
PRECRAFT=${PRECRAFT:-build/precraft}
TMP=$(mktemp -d /tmp/precraft-reload.XXXXXX)
DUT=""
cleanup() {
	[ -n "$DUT" ] && kill "$DUT" 2> /dev/null
	wait 2> /dev/null
	hil/lab down
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL routes reload: $*"; exit 1; }

hil/lab up > /dev/null || fail "hil/lab up"
"$PRECRAFT" rewrite traces/sanders-http_espn.pcapng -o "$TMP/lab.pcap" --lab > /dev/null || fail "rewrite"
for t in a:0a b:0b; do
	printf '0.0.0.0/0 02:00:5e:00:53:%s port 1\n::/0 02:00:5e:00:53:%s port 1\n' "${t#*:}" "${t#*:}" > "$TMP/${t%%:*}.routes"
done
cp "$TMP/a.routes" "$TMP/cur.routes"
loops=6
m=$(( $(tcpdump --count -r "$TMP/lab.pcap" 2> /dev/null | awk '/packets/ { print $1 }') * loops ))
ip netns exec pc-sink "$PRECRAFT" hil capture --in pcs0 -w "$TMP/got.pcap" --count "$m" --duration 60 \
	--ready "$TMP/sink.ready" > "$TMP/sink.txt" 2>&1 &
ip netns exec pc-dut "$PRECRAFT" hil forward --in pcd0 --out pcd1 --workers 2 --routes "$TMP/cur.routes" \
	--count "$m" --duration 60 --ready "$TMP/dut.ready" > "$TMP/dut.txt" 2> "$TMP/dut.err" &
DUT=$!
i=0
while { [ ! -e "$TMP/sink.ready" ] || [ ! -e "$TMP/dut.ready" ]; } && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
[ -e "$TMP/dut.ready" ] || fail "the DUT did not start: $(cat "$TMP/dut.err")"
ip netns exec pc-gen "$PRECRAFT" hil replay --out pcg0 "$TMP/lab.pcap" --pps 2000 --loop $loops > "$TMP/gen.txt" 2>&1 &
GEN=$!
# Switch tables while the generator runs (each file replaced whole, by rename, then the signal).
k=0
while kill -0 "$GEN" 2> /dev/null; do
	k=$((k + 1))
	if [ $((k % 2)) = 0 ]; then cp "$TMP/a.routes" "$TMP/next.routes"; else cp "$TMP/b.routes" "$TMP/next.routes"; fi
	mv "$TMP/next.routes" "$TMP/cur.routes"
	kill -HUP "$DUT" 2> /dev/null
	sleep 0.01
done
wait "$GEN"
wait "$DUT"
rc=$?
DUT=""
wait
reloads=$(awk '$1 == "routes_reloads" { print $2 }' "$TMP/dut.txt")
errors=$(awk '$1 == "routes_reload_errors" { print $2 }' "$TMP/dut.txt")
drops=$(awk '$1 == "capture_dropped" { print $2 }' "$TMP/dut.txt")
got=$(tcpdump --count -r "$TMP/got.pcap" 2> /dev/null | awk '/packets/ { print $1 }')
tcpdump -nn -e -r "$TMP/got.pcap" 2> /dev/null | awk '{ d = $4; sub(/,$/, "", d); n[d]++ } END { for (k in n) print k, n[k] }' \
	> "$TMP/macs.txt"
to_a=$(awk '$1 == "02:00:5e:00:53:0a" { print $2 }' "$TMP/macs.txt")
to_b=$(awk '$1 == "02:00:5e:00:53:0b" { print $2 }' "$TMP/macs.txt")
other=$(awk '$1 != "02:00:5e:00:53:0a" && $1 != "02:00:5e:00:53:0b" { s += $2 } END { print s + 0 }' "$TMP/macs.txt")
line="$k signals, $reloads reloads ($errors errors); sink got $got/$m frames: ${to_a:-0} to A, ${to_b:-0} to B, $other elsewhere; DUT drops $drops, exit $rc"
if [ "$rc" = 0 ] && [ "$got" = "$m" ] && [ "$other" = 0 ] && [ "${to_a:-0}" -gt 0 ] && [ "${to_b:-0}" -gt 0 ] &&
	[ "${reloads:-0}" -ge 20 ] && [ "$errors" = 0 ] && [ "$drops" = 0 ]; then
	echo "ok   routes reload under 2 workers: $line"
else
	echo "FAIL routes reload under 2 workers: $line"
	head -5 "$TMP/dut.err"
	exit 1
fi
