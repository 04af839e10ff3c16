# tests/hc.sh: header compression on a narrow link (issue 38), sourced by integration.sh after
# the training checks ($TMP/ml.model).  Required:
#   - on every shipped capture, for every compressor (vj, last, header, ml, xgb): decompress
#     (compress (egress)) is the egress byte for byte, and the counters add up;
#   - at 1 % and 5 % lost link frames, what the decompressor delivers is a subsequence of the
#     egress (nothing wrong is delivered), with drops counted;
#   - a damaged link capture, a bad hello, a model file other than the link's: exit 2, one line;
#     random link frames: no crash.
HD="$TMP/hc"
mkdir -p "$HD"
"$PRECRAFT" train traces/ndpi-fix.pcap traces/zeek-smb2.pcap traces/pcapplusplus-DnsPackets.pcap --model xgb -o "$HD/xgb.model" > /dev/null
hscalar() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? -1 : v) }' "$2"; } # -1: absent
for t in $(cat tests/data/golden.list); do
	"$PRECRAFT" replay "traces/$t" --egress "$HD/egress.pcap" --quiet
	fails=""
	for c in vj last header ml xgb; do
		mf=""
		[ $c = ml ] && mf="--model-file $TMP/ml.model"
		[ $c = xgb ] && mf="--model-file $HD/xgb.model"
		# shellcheck disable=SC2086
		pc replay "traces/$t" --compress $c $mf --egress "$HD/link.pcap" > "$HD/c.txt" || fails="$fails $c:replay"
		# shellcheck disable=SC2086
		pc decompress "$HD/link.pcap" -o "$HD/back.pcap" $mf > "$HD/d.txt" || fails="$fails $c:decompress"
		cmp -s "$HD/egress.pcap" "$HD/back.pcap" || fails="$fails $c:bytes"
		n=$(hscalar hc_packets "$HD/c.txt")
		sum=$(($(hscalar hc_raw "$HD/c.txt") + $(hscalar hc_ir "$HD/c.txt") + $(hscalar hc_co "$HD/c.txt")))
		[ "$n" = "$sum" ] && [ "$n" = "$(hscalar hc_delivered "$HD/d.txt")" ] || fails="$fails $c:counts"
	done
	if [ -z "$fails" ]; then ok "hc: $t: decompress(compress(egress)) = egress for vj, last, header, ml, xgb"; else bad "hc: $t:$fails"; fi
done

for t in zeek-smb2.pcap sanders-http_espn.pcapng ndpi-fix.pcap suricata-smb-length-5770_input.pcap; do
	"$PRECRAFT" replay "traces/$t" --egress "$HD/egress.pcap" --quiet
	for c in header vj; do
		"$PRECRAFT" replay "traces/$t" --compress $c --egress "$HD/link.pcap" --quiet
		for p in 0.01 0.05; do
			fails=""
			pc decompress "$HD/link.pcap" -o "$HD/lossy.pcap" --drop $p --seed 7 > "$HD/d.txt" || fails="$fails exit"
			pc compare --subsequence "$HD/egress.pcap" "$HD/lossy.pcap" > "$HD/s.txt" || fails="$fails not-a-subsequence"
			lost=$(hscalar link_lost "$HD/d.txt")
			del=$(hscalar hc_delivered "$HD/d.txt")
			frames=$(hscalar link_frames "$HD/d.txt")
			drops=$(($(hscalar crc_failures "$HD/d.txt") + $(hscalar hc_dropped_gap "$HD/d.txt") + $(hscalar hc_dropped_no_context "$HD/d.txt") + $(hscalar hc_dropped_malformed "$HD/d.txt")))
			[ "$lost" -gt 0 ] && [ $((del + drops + lost)) -eq "$frames" ] || fails="$fails counts($frames=$del+$drops+$lost)"
			if [ -z "$fails" ]; then ok "hc: $t $c, $p lost: $(cat "$HD/s.txt")"; else bad "hc: $t $c $p:$fails"; fi
		done
	done
done

"$PRECRAFT" replay traces/ndpi-fix.pcap --compress header --egress "$HD/link.pcap" --quiet
expect_usage "decompress: not a compressed link" "not a compressed link" decompress traces/ndpi-fix.pcap -o "$HD/x.pcap"
expect_usage "decompress: -o required" "-o OUT.pcap is required" decompress "$HD/link.pcap"
expect_usage "decompress: --drop out of range" "--drop" decompress "$HD/link.pcap" -o "$HD/x.pcap" --drop 2
expect_usage "replay: unknown compressor" "unknown name 'zip'" replay traces/ndpi-fix.pcap --compress zip --egress "$HD/x.pcap"
expect_usage "replay: ml needs its model" "needs --model-file" replay traces/ndpi-fix.pcap --compress ml --egress "$HD/x.pcap"
"$PRECRAFT" replay traces/ndpi-fix.pcap --compress ml --model-file "$TMP/ml.model" --egress "$HD/ml.pcap" --quiet
expect_usage "decompress: another model file" "another model" decompress "$HD/ml.pcap" -o "$HD/x.pcap" --model-file "$HD/xgb.model"
# A link capture cut short: the frames before the cut are rebuilt, exit 2, one line.
head -c 20000 "$HD/link.pcap" > "$HD/cut.pcap"
expect_usage "decompress: a capture cut short" "truncated\|cut\|short" decompress "$HD/cut.pcap" -o "$HD/x.pcap" --quiet

# The simulator's compressed link.out: nothing rebuilt wrong; without loss and with room in the
# queue, every packet arrives, compressed or not; with loss, what compression saves is counted.
sq() { sqlite3 "$1" "SELECT value FROM scalar WHERE name = '$2'"; }
for c in none header vj; do
	rm -f "$HD/sim-$c.db"
	pc sim scenarios/narrow-iot.ini --set link.out.compress=$c --set link.out.loss=none \
		--set link.out.queue_pkts=1000000 --db "$HD/sim-$c.db" > /dev/null || bad "hc: sim narrow-iot $c exit"
done
if [ "$(sq "$HD/sim-none.db" sink_packets)" = "$(sq "$HD/sim-header.db" sink_packets)" ] &&
	[ "$(sq "$HD/sim-none.db" sink_packets)" = "$(sq "$HD/sim-vj.db" sink_packets)" ] &&
	[ "$(sq "$HD/sim-header.db" hc_wrong)" = "0.0" ] && [ "$(sq "$HD/sim-header.db" hc_dropped_gap)" = "0.0" ] &&
	awk -v a="$(sq "$HD/sim-header.db" header_bytes_out)" -v b="$(sq "$HD/sim-header.db" header_bytes_in)" 'BEGIN { exit !(a * 2 < b) }'; then
	ok "hc: sim narrow-iot without loss: every packet delivered with compression (header, vj) as without, headers halved and more"
else
	bad "hc: sim narrow-iot without loss: sink $(sq "$HD/sim-none.db" sink_packets) / $(sq "$HD/sim-header.db" sink_packets) / $(sq "$HD/sim-vj.db" sink_packets), wrong $(sq "$HD/sim-header.db" hc_wrong)"
fi
rm -f "$HD/sim-loss.db"
pc sim scenarios/narrow-satellite.ini --db "$HD/sim-loss.db" > /dev/null
if [ "$(sq "$HD/sim-loss.db" hc_wrong)" = "0.0" ] && [ "$(sq "$HD/sim-loss.db" link_out_lost)" != "0.0" ] &&
	awk -v s="$(sq "$HD/sim-loss.db" link_out_bytes_saved)" 'BEGIN { exit !(s > 0) }'; then
	ok "hc: sim narrow-satellite: frames lost ($(sq "$HD/sim-loss.db" link_out_lost)), none rebuilt wrong, $(sq "$HD/sim-loss.db" link_out_bytes_saved) bytes saved"
else
	bad "hc: sim narrow-satellite: wrong $(sq "$HD/sim-loss.db" hc_wrong), lost $(sq "$HD/sim-loss.db" link_out_lost)"
fi
expect_usage "sim: unknown compressor" "link.out.compress" sim scenarios/narrow-iot.ini --set link.out.compress=zip
# Feedback (link.out.compress_feedback): the decompressor's word back makes the compressor refresh
# a flow that lost step at once: fewer packets lost to compression at 2 % loss, none wrong.
for f in off on; do
	rm -f "$HD/fb-$f.db"
	pc sim scenarios/narrow-iot.ini --set link.out.loss_p=0.02 --set link.out.compress_feedback=$f --db "$HD/fb-$f.db" > /dev/null
done
nr() { sqlite3 "$1" "SELECT sum(value) FROM scalar WHERE name IN ('crc_failures', 'hc_dropped_gap', 'hc_dropped_no_context')"; }
if [ "$(sq "$HD/fb-on.db" hc_wrong)" = "0.0" ] && awk -v a="$(nr "$HD/fb-on.db")" -v b="$(nr "$HD/fb-off.db")" -v r="$(sq "$HD/fb-on.db" hc_feedback_refreshes)" 'BEGIN { exit !(a * 2 < b && r > 0) }'; then
	ok "hc: sim feedback: packets not rebuilt $(nr "$HD/fb-off.db") without, $(nr "$HD/fb-on.db") with ($(sq "$HD/fb-on.db" hc_feedback_refreshes) refreshes asked for)"
else
	bad "hc: sim feedback: not rebuilt $(nr "$HD/fb-off.db") / $(nr "$HD/fb-on.db"), wrong $(sq "$HD/fb-on.db" hc_wrong)"
fi
