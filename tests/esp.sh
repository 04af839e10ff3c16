# tests/esp.sh: the ESP tunnel, sourced by integration.sh (after lib.sh, once $TMP/ml.model is
# trained).  Required:
#   - on every shipped capture, with the shipped tunnel (everything encapsulated): precraft
#     egress identical to baseline egress, for the last, header and ml predictors and the three
#     policies, and shadow mode exits 0 (no divergence);
#   - an independent decryption (build/esp-decrypt: libsodium's ChaCha20-Poly1305, where
#     precraft seals with OpenSSL; its own tunnel-file reader) of every ESP frame: every ICV verifies, the inner packets are exactly
#     the egress of the same run without the tunnel, no (SPI, sequence number) repeats;
#   - tshark dissects the egress as ESP with the file's SPIs and sequence numbers 1, 2, ...,
#     nothing malformed;
#   - the hostile corpus through the tunnel: identical egress, 0 divergences;
#   - sequence numbers run out without wrapping: the SA sends its last numbers, then drops;
#   - bad tunnel files: one line naming file:line, exit 2, never the key; no key in a database.
DEC=${ESP_DECRYPT:-$(dirname "$PRECRAFT")/esp-decrypt}
TUN=scenarios/default.tunnel
ED="$TMP/esp"
mkdir -p "$ED"
for t in $(cat tests/data/golden.list); do
	"$PRECRAFT" replay "traces/$t" --mode baseline --egress "$ED/plain.pcap" --quiet
	"$PRECRAFT" replay "traces/$t" --mode baseline --tunnel $TUN --egress "$ED/base.pcap" --quiet
	rb=$?
	fails=""
	for pred in last header ml; do
		for pol in static adaptive; do
			mf=""
			[ $pred = ml ] && mf="--model-file $TMP/ml.model"
			# shellcheck disable=SC2086
			"$PRECRAFT" replay "traces/$t" --tunnel $TUN --predictor $pred $mf --policy $pol --egress "$ED/pc.pcap" --quiet
			rp=$?
			# shellcheck disable=SC2086
			"$PRECRAFT" replay "traces/$t" --tunnel $TUN --mode shadow --predictor $pred $mf --policy $pol --quiet
			rs=$?
			if [ $rb -ne 0 ] || [ $rp -ne 0 ] || [ $rs -ne 0 ] || ! cmp -s "$ED/base.pcap" "$ED/pc.pcap"; then
				fails="$fails $pred/$pol(exit $rb/$rp/$rs)"
			fi
		done
	done
	if [ -z "$fails" ]; then
		ok "tunnel: egress identical, shadow 0 divergences (last, header, ml; static, adaptive): $t"
	else
		bad "tunnel: egress or shadow differs:$fails: $t"
	fi
	if out=$("$DEC" $TUN "$ED/pc.pcap" "$ED/plain.pcap" 2>&1); then
		ok "tunnel: libsodium decrypts the egress to the plain egress: $t (${out#esp-decrypt: })"
	else
		bad "tunnel: independent decryption: $t: $out"
	fi
done

# tshark: ESP with the file's SPIs, sequence numbers 1, 2, ... per SPI, nothing malformed.
if command -v tshark > /dev/null; then
	for t in ndpi-fix.pcap tcpdump-mptcp-v0.pcap sanders-http_espn.pcapng; do
		"$PRECRAFT" replay "traces/$t" --tunnel $TUN --egress "$ED/ts.pcap" --quiet
		sent=$(count "$ED/ts.pcap")
		tshark -r "$ED/ts.pcap" -T fields -e esp.spi -e esp.sequence > "$ED/ts.txt" 2> /dev/null
		malformed=$(tshark -r "$ED/ts.pcap" -Y '_ws.malformed || _ws.expert.severity >= 8388608' 2> /dev/null | wc -l)
		verdict=$(awk -v sent="$sent" '
			$1 != "0x00001001" && $1 != "0x00001002" { print "SPI " $1; exit }
			{ if ($2 != ++next_seq[$1]) { print "sequence " $2 " after " next_seq[$1] - 1 " in " $1; exit } n++ }
			END { if (n != sent) print n " of " sent " dissected as ESP" }' "$ED/ts.txt")
		check "tshark: $sent ESP packets, SPIs and sequence numbers right, $malformed malformed: $t${verdict:+ ($verdict)}" \
			sh -c "[ -z '$verdict' ] && [ '$malformed' -eq 0 ] && [ '$sent' -gt 0 ]"
	done
else
	bad "tshark is not installed (make deps installs it)"
fi

# esp-decrypt's multi-worker check (hil/lab check --tunnel --workers N) fails what it must: a
# (SPI, sequence number) sent twice, and a number skipped within a slice.
"$PRECRAFT" replay traces/sanders-http_espn.pcapng --tunnel $TUN --egress "$ED/sl.pcap" --quiet
check "esp-decrypt --slices 2: one engine's numbers are one run of slice 0" \
	sh -c "'$DEC' --slices 2 --out '$ED/sl-in.pcap' $TUN '$ED/sl.pcap' | grep -q ' 1 (SA, slice) runs'"
{ cat "$ED/sl.pcap"; tail -c +25 "$ED/sl.pcap"; } > "$ED/sl-dup.pcap" # every record twice
out=$("$DEC" --slices 2 --out "$ED/x.pcap" $TUN "$ED/sl-dup.pcap" 2>&1)
rc=$?
check "esp-decrypt --slices 2 fails a repeated (SPI, sequence number) (exit $rc): $out" \
	sh -c "[ $rc = 1 ] && echo '$out' | grep -q 'sent twice'"
if command -v editcap > /dev/null; then
	editcap "$ED/sl.pcap" "$ED/sl-gap.pcap" 5
	out=$("$DEC" --slices 2 --out "$ED/x.pcap" $TUN "$ED/sl-gap.pcap" 2>&1)
	rc=$?
	check "esp-decrypt --slices 2 fails a skipped number (exit $rc): $out" \
		sh -c "[ $rc = 1 ] && echo '$out' | grep -q 'number 5 skipped'"
else
	bad "editcap is not installed (make deps installs tshark, which brings it)"
fi

# The hostile corpus (tests/hostile.sh made it) through the tunnel.
if [ -f "$TMP/hostile/all.pcap" ]; then
	"$PRECRAFT" replay "$TMP/hostile/all.pcap" --mode baseline --tunnel $TUN --egress "$ED/hb.pcap" --quiet
	r="$?"
	for pol in static adaptive; do
		pc replay "$TMP/hostile/all.pcap" --tunnel $TUN --policy $pol --egress "$ED/hp.pcap" --quiet
		r="$r$?"
		cmp -s "$ED/hb.pcap" "$ED/hp.pcap" || r="${r}x"
		pc replay "$TMP/hostile/all.pcap" --tunnel $TUN --policy $pol --mode shadow --quiet
		r="$r$?"
	done
	check "tunnel: the hostile corpus, egress identical and 0 divergences (exits $r)" [ "$r" = 00000 ]
fi

# Exhaustion: 'oseq 4294967290' leaves five numbers; the rest is dropped, in every mode alike.
sed 's/ match 0.0.0.0\/0/ match 0.0.0.0\/0 oseq 4294967290/' $TUN > "$ED/ex.tunnel"
"$PRECRAFT" replay traces/ndpi-fix.pcap --mode baseline --tunnel "$ED/ex.tunnel" --egress "$ED/exb.pcap" > "$ED/exb.txt"
"$PRECRAFT" replay traces/ndpi-fix.pcap --tunnel "$ED/ex.tunnel" --egress "$ED/exp.pcap" > "$ED/exp.txt"
sent=$(awk '$1 == "packets_out" { print $2 }' "$ED/exp.txt")
dropped=$(awk '$1 == "dropped_esp_exhausted" { print $2 }' "$ED/exp.txt")
last=$(tcpdump -nr "$ED/exp.pcap" 2> /dev/null | sed -n 's/.*seq=\(0x[0-9a-f]*\).*/\1/p' | tail -1)
check "tunnel: exhaustion sends 5 packets (last seq $last), drops $dropped, no wrap" \
	sh -c "[ '$sent' = 5 ] && [ '$dropped' = 1256 ] && [ '$last' = 0xffffffff ]"
check "tunnel: exhaustion, precraft egress identical to baseline" cmp -s "$ED/exb.pcap" "$ED/exp.pcap"

# Bad tunnel files: one line, file:line, exit 2, never the key.
KEY=01b8d19504d297fadb8264eab4480c732814e4cc86ce1fcbee560ad796588a77
good="esp a spi 0x1001 src 192.0.2.1 dst 203.0.113.1 key $KEY salt 27a94be4 match 10.0.0.0/8"
bad_tunnel() { # bad_tunnel NAME PATTERN CONTENT
	printf '%s\n' "$3" > "$ED/bad.tunnel"
	expect_usage "tunnel file: $1" "$2" replay traces/ndpi-fix.pcap --tunnel "$ED/bad.tunnel"
	grep -q "$KEY" "$TMP/err" && bad "tunnel file: $1: the error shows the key"
}
bad_tunnel "bad hex key" "bad.tunnel:1: bad key" "$(echo "$good" | sed 's/a77 /a7g /')"
bad_tunnel "short key" "bad.tunnel:1: bad key (expected 64 hex digits" "$(echo "$good" | sed 's/a77 / /')"
bad_tunnel "bad salt" "bad.tunnel:1: bad salt" "$(echo "$good" | sed 's/salt 27a94be4/salt 27a94/')"
bad_tunnel "duplicate SPI" "bad.tunnel:2: duplicate spi 0x1001" "$good
$(echo "$good" | sed 's/esp a /esp b /')"
bad_tunnel "duplicate name" "bad.tunnel:2: duplicate SA name 'a'" "$good
$(echo "$good" | sed 's/0x1001/0x1002/')"
bad_tunnel "family mismatch" "bad.tunnel:1: SA 'a': src is IPv4 but dst is IPv6" "$(echo "$good" | sed 's/dst 203.0.113.1/dst 2001:db8::1/')"
bad_tunnel "bad prefix" "bad.tunnel:1: bad match prefix" "$(echo "$good" | sed 's/10.0.0.0\/8/10.0.0.0\/40/')"
bad_tunnel "empty" "no SA" "# nothing here"
# The refusals that keep the crypto's promises (issue 34, 2).
bad_tunnel "the key and salt of an earlier SA" "bad.tunnel:2: SA 'b' has the key and salt of SA 'a' (line 1)" "$good
$(echo "$good" | sed 's/esp a spi 0x1001/esp b spi 0x1002/; s/10.0.0.0\/8/11.0.0.0\/8/')"
bad_tunnel "match given twice (the first prefix would leave in clear)" "bad.tunnel:1: 'match' given twice" "$good match 11.0.0.0/8"
bad_tunnel "salt given twice" "bad.tunnel:1: 'salt' given twice" "$good salt 00000001"
bad_tunnel "one prefix in two SAs" "bad.tunnel:2: match prefix 10.0.0.0/8 is already SA 'a''s (line 1)" "$good
$(echo "$good" | sed 's/esp a spi 0x1001/esp b spi 0x1002/; s/salt 27a94be4/salt 27a94be5/')"
bad_tunnel "host bits in a prefix" "bad.tunnel:1: match prefix '10.9.0.1/8' has host bits set" "$(echo "$good" | sed 's/10.0.0.0\/8/10.9.0.1\/8/')"
# Ring memory: 4,096 SAs x --ks-depth 64 x --ks-bytes 65472 would be 17.6 GB: refused by name.
awk -v k="$KEY" 'BEGIN { for (i = 0; i < 4096; i++) printf "esp s%d spi 0x%x src 192.0.2.1 dst 203.0.113.1 key %s salt %08x match 10.%d.%d.0/24\n", i, 4096 + i, k, i, int(i / 256), i % 256 }' > "$ED/many.tunnel"
expect_usage "tunnel rings over the cap name the keys" "lower --ks-depth or --ks-bytes" replay traces/ndpi-fix.pcap --tunnel "$ED/many.tunnel" --ks-depth 64 --ks-bytes 65472
expect_usage "tunnel rings over the cap, sim, name the scenario's keys" "lower shaper.ks_depth or shaper.ks_bytes" sim scenarios/tunnel-30.ini --set shaper.tunnel="$ED/many.tunnel" --set shaper.ks_depth=64 --set shaper.ks_bytes=65472 --db "$ED/many.db"
check "tunnel: 4,096 SAs with the default rings still run" sh -c "'$PRECRAFT' replay traces/ndpi-fix.pcap --tunnel '$ED/many.tunnel' --quiet > /dev/null"
expect_usage "tunnel file: missing" "cannot open" replay traces/ndpi-fix.pcap --tunnel "$ED/none.tunnel"
expect_usage "tunnel file: sim scenario key, missing file" "shaper.tunnel" sim scenarios/default.ini --set shaper.tunnel=/nonexistent
# The run's parameters name the SAs and SPIs; no key anywhere in the database.
pc replay traces/ndpi-fix.pcap --tunnel $TUN --db "$ED/t.db" --quiet
sas=$(sqlite3 "$ED/t.db" "SELECT value FROM run_param WHERE name = 'tunnel_sas'")
check "tunnel: run_param tunnel_sas = $sas" [ "$sas" = "vpn4:0x00001001,vpn6:0x00001002" ]
check "tunnel: no key bytes in the database" sh -c "! sqlite3 '$ED/t.db' .dump | grep -qi -e '$KEY' -e 7c60fb0536825110"

# The simulator with a tunnel: shadow mode finds no divergence, keystreams are used, the same
# run twice gives the same results, and a cost profile without ESP costs is refused.
for i in 1 2; do
	pc sim scenarios/tunnel-30.ini --set shaper.mode=shadow --set run.stop_s=0.1 --db "$ED/sim$i.db" --quiet
done
sv() { sqlite3 "$ED/sim1.db" "SELECT value FROM scalar WHERE name = '$1'"; }
check "sim tunnel-30, shadow: 0 divergences, $(sv esp_sealed_keystream) of $(sv esp_packets) sealed from keystreams made ahead, p50 $(sv latency_p50_ns) ns vs baseline $(sv baseline_latency_p50_ns) ns" \
	sh -c "[ '$(sv divergent_packets)' = 0.0 ] && awk 'BEGIN { exit !($(sv esp_sealed_keystream) > 0.5 * $(sv esp_packets)) }'"
# Offered load as a knob (issue 35): run.load = 0.3, 0.6, 0.9 on the tunnel scenario measure
# that load, within 0.02, and the busier runs queue more.
for l in 0.3 0.6 0.9; do
	pc sim scenarios/tunnel-30.ini --set run.load=$l --set run.stop_s=0.2 --db "$ED/load.db" --quiet
done
lq() { sqlite3 "$ED/load.db" "SELECT group_concat(printf('%.4f', s.value), ' ') FROM scalar s JOIN run_param p ON p.run_id = s.run_id AND p.name = 'run.load' WHERE s.name = '$1' ORDER BY s.run_id"; }
check "run.load 0.3 0.6 0.9: offered_load $(lq offered_load), each within 0.02" \
	sh -c "echo '$(lq offered_load)' | awk '{ exit !(\$1 > 0.28 && \$1 < 0.32 && \$2 > 0.58 && \$2 < 0.62 && \$3 > 0.88 && \$3 < 0.92) }'"
check "run.load: baseline p50 grows with the load ($(lq baseline_latency_p50_ns))" \
	sh -c "echo '$(lq baseline_latency_p50_ns)' | awk '{ exit !(\$1 < \$2 && \$2 < \$3) }'"
expect_usage "run.load out of range" "run.load: expected a number from 0 to 100" sim scenarios/tunnel-30.ini --set run.load=-1 --db "$ED/load.db"
if command -v sqlite3 > /dev/null && type dump > /dev/null 2>&1; then
	check "sim tunnel-30 twice: identical results" [ "$(dump "$ED/sim1.db")" = "$(dump "$ED/sim2.db")" ]
fi
grep -v '^esp_' scenarios/default.costs > "$ED/noesp.costs"
expect_usage "sim with a tunnel and a cost profile without ESP costs" "no ESP costs" \
	sim scenarios/tunnel-30.ini --set shaper.costs="$ED/noesp.costs" --db "$ED/noesp.db"
