#!/bin/sh
# make demo: the main job on the bundled default capture.  Replays an SMB2 bulk transfer
# (traces/zeek-smb2.pcap) through the shaper in baseline and precraft mode, checks that both
# sent the same bytes, and prints what pre-crafting did.
set -eu
PRECRAFT=${1:-build/precraft}
TRACE=traces/zeek-smb2.pcap
OUT=demo-out
mkdir -p "$OUT"
echo "== precraft demo: $TRACE"
"$PRECRAFT" replay "$TRACE" --mode baseline --egress "$OUT/baseline.pcap" > "$OUT/baseline.txt"
"$PRECRAFT" replay "$TRACE" --mode precraft --egress "$OUT/precraft.pcap" > "$OUT/precraft.txt"
"$PRECRAFT" replay "$TRACE" --mode shadow > "$OUT/shadow.txt"
get() { awk -v k="$2" '$1 == k { print $2 }' "$OUT/$1.txt"; }
printf '  packets in/out        %s / %s\n' "$(get precraft packets_in)" "$(get precraft packets_out)"
printf '  hits (strict)         %s (%s)\n' "$(get precraft hits)" "$(get precraft strict_hits)"
printf '  hit ratio, precision  %s, %s\n' "$(get precraft hit_ratio)" "$(get precraft precision)"
printf '  crafted / wasted      %s / %s\n' "$(get precraft crafted)" "$(get precraft wasted)"
printf '  pool peak bytes       %s\n' "$(get precraft pool_bytes_peak)"
printf '  shadow divergences    %s\n' "$(get shadow divergent_packets)"
if cmp -s "$OUT/baseline.pcap" "$OUT/precraft.pcap"; then
	echo "  egress: baseline and precraft sent identical bytes ($OUT/precraft.pcap)"
else
	echo "  egress: DIFFERENT, this is a bug" >&2
	exit 1
fi
echo "Full counters: $OUT/precraft.txt.  Try: $PRECRAFT replay --help"
