# tests/gateways.sh: the VPN gateway both ways (issue 37), sourced by integration.sh after
# esp.sh (lib.sh's helpers; $DEC the independent decrypter).  Two gateways from one tunnel file
# (scenarios/gateways.tunnel), each with its own --local: gateway 1 seals, gateway 2 opens.
# Required:
#   - every shipped capture through seal -> open, for ESP with ChaCha20-Poly1305, ESP with
#     AES-256-GCM and WireGuard, in baseline, precraft and shadow modes: gateway 2's egress is the
#     plain egress routed twice, byte for byte (a packet too big for the tunnel is counted and
#     absent), and shadow mode exits 0 at both gateways (no divergence);
#   - libsodium opens gateway 1's egress to the plain egress routed once (esp-decrypt);
#   - anti-replay: the sealed capture fed twice, the second copy dropped whole, counted;
#   - tampering, strangers: a flipped byte is an ICV drop, an SPI nobody opens an unknown-SPI
#     drop, in every mode alike;
#   - tshark dissects WireGuard and AES-GCM ESP egress without a malformed packet;
#   - bad --local and bad wg / cipher lines: one line, exit 2.
DEC=${DEC:-$(dirname "$PRECRAFT")/esp-decrypt}
GW=scenarios/gateways.tunnel
L1="--local 192.0.2.1,2001:db8::1"
L2="--local 203.0.113.1,2001:db8:ffff::1"
GD="$TMP/gw"
mkdir -p "$GD"
grep -v '^#' $GW | sed 's/ match / cipher aes-256-gcm match /' > "$GD/gcm.tunnel"
grep -v '^#' $GW | sed -E 's/^esp (\S+) spi (\S+) (src \S+ dst \S+) (key \S+) salt \S+ /wg \1 index \2 \3 port 51820 \4 /' > "$GD/wg.tunnel"
scalar() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
for t in $(cat tests/data/golden.list); do
	"$PRECRAFT" replay "traces/$t" --mode baseline --egress "$GD/p1.pcap" --quiet
	"$PRECRAFT" replay "$GD/p1.pcap" --mode baseline --egress "$GD/p2.pcap" --quiet
	for tun in $GW "$GD/gcm.tunnel" "$GD/wg.tunnel"; do
		name=$(basename "$tun" .tunnel)
		fails=""
		for m in baseline precraft shadow; do
			"$PRECRAFT" replay "traces/$t" --mode $m --tunnel "$tun" $L1 --egress "$GD/s.pcap" > "$GD/s.txt"
			r1=$?
			"$PRECRAFT" replay "$GD/s.pcap" --mode $m --tunnel "$tun" $L2 --egress "$GD/o.pcap" > "$GD/o.txt"
			r2=$?
			big=$(scalar dropped_esp_too_big "$GD/s.txt")
			if [ "${big:-0}" -gt 0 ]; then
				# what the tunnel could not carry is absent, the rest equal: compared by the
				# decrypter below; here the counts
				same=$([ "$(count "$GD/o.pcap")" -eq $(($(count "$GD/p2.pcap") - big)) ] && echo y)
			else
				same=$(cmp -s "$GD/p2.pcap" "$GD/o.pcap" && echo y)
			fi
			[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$same" = y ] || fails="$fails $m(exit $r1/$r2${same:- differs})"
			[ $m = precraft ] && cp "$GD/s.pcap" "$GD/pc.pcap" && cp "$GD/o.txt" "$GD/pc.txt"
		done
		if [ -z "$fails" ]; then
			ok "gateways ($name): opened egress = plain routed twice, shadow 0 divergences: $t ($(scalar esp_opened_keystream "$GD/pc.txt") of $(scalar esp_in_packets "$GD/pc.txt") opened from keystreams)"
		else
			bad "gateways ($name): seal -> open:$fails: $t"
		fi
		out=$("$DEC" "$tun" "$GD/pc.pcap" "$GD/p1.pcap" 2>&1)
		rc=$?
		if [ $rc -eq 0 ]; then
			ok "gateways ($name): libsodium opens gateway 1's egress to the plain egress: $t"
		elif [ $rc -eq 2 ] && [ "$name" = gcm ] && echo "$out" | grep -q AES-NI; then
			echo "skip gateways (gcm): $out"
		else
			bad "gateways ($name): independent opening: $t: $out"
		fi
	done
done

# Anti-replay: the same sealed capture twice in a row; the second copy is dropped whole.
"$PRECRAFT" replay traces/ndpi-fix.pcap --tunnel $GW $L1 --egress "$GD/s.pcap" --quiet
n=$(count "$GD/s.pcap")
{ cat "$GD/s.pcap"; tail -c +25 "$GD/s.pcap"; } > "$GD/twice.pcap"
for m in baseline precraft shadow; do
	"$PRECRAFT" replay "$GD/twice.pcap" --mode $m --tunnel $GW $L2 --egress "$GD/o.pcap" > "$GD/o.txt"
	rc=$?
	check "anti-replay ($m): $n packets fed twice: $(scalar packets_out "$GD/o.txt") out, $(scalar dropped_esp_replay "$GD/o.txt") dropped as replays (exit $rc)" \
		sh -c "[ $rc = 0 ] && [ '$(scalar packets_out "$GD/o.txt")' = '$n' ] && [ '$(scalar dropped_esp_replay "$GD/o.txt")' = '$n' ]"
done

# A flipped ciphertext byte (the first frame: pcap header 24, record header 16, Ethernet 14,
# IPv4 20, ESP 16, then ciphertext): one ICV drop; the rest opened.
cp "$GD/s.pcap" "$GD/flip.pcap"
b=$(od -An -tu1 -j 100 -N 1 "$GD/flip.pcap" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$GD/flip.pcap" bs=1 seek=100 conv=notrunc 2> /dev/null
for m in baseline precraft; do
	"$PRECRAFT" replay "$GD/flip.pcap" --mode $m --tunnel $GW $L2 --egress "$GD/o.pcap" > "$GD/o.txt"
	check "tampering ($m): a flipped ciphertext byte is one ICV drop ($(scalar dropped_esp_icv "$GD/o.txt")), the other $((n - 1)) opened" \
		sh -c "[ '$(scalar dropped_esp_icv "$GD/o.txt")' = 1 ] && [ '$(scalar packets_out "$GD/o.txt")' = $((n - 1)) ]"
done
sed 's/spi 0x00001001/spi 0x00001009/' $GW > "$GD/other.tunnel"
"$PRECRAFT" replay "$GD/s.pcap" --tunnel "$GD/other.tunnel" $L2 > "$GD/o.txt"
check "an SPI nobody opens here: every packet an unknown-SPI drop ($(scalar dropped_esp_unknown_spi "$GD/o.txt") of $n)" \
	[ "$(scalar dropped_esp_unknown_spi "$GD/o.txt")" = "$n" ]

# tshark: WireGuard and AES-GCM ESP egress dissect, nothing malformed.
if command -v tshark > /dev/null; then
	for tun in "$GD/wg.tunnel" "$GD/gcm.tunnel"; do
		"$PRECRAFT" replay traces/sanders-http_espn.pcapng --tunnel "$tun" $L1 --egress "$GD/ts.pcap" --quiet
		sent=$(count "$GD/ts.pcap")
		seen=$(tshark -r "$GD/ts.pcap" -Y 'wg.type == 4 || esp.spi' 2> /dev/null | wc -l)
		malformed=$(tshark -r "$GD/ts.pcap" -Y '_ws.malformed || _ws.expert.severity >= 8388608' 2> /dev/null | wc -l)
		check "tshark: $seen of $sent $(basename "$tun" .tunnel) packets dissected, $malformed malformed" \
			sh -c "[ '$seen' = '$sent' ] && [ '$malformed' = 0 ] && [ '$sent' -gt 0 ]"
	done
else
	bad "tshark is not installed (make deps installs it)"
fi

# Bad input: one line, exit 2.
expect_usage "--local without a tunnel" "--local: only with a tunnel" replay traces/ndpi-fix.pcap --local 192.0.2.1
expect_usage "--local not an address" "--local: bad address '192.0.2'" replay traces/ndpi-fix.pcap --tunnel $GW --local 192.0.2
expect_usage "--local holding both ends of an SA" "both its src and its dst" replay traces/ndpi-fix.pcap --tunnel $GW --local 192.0.2.1,203.0.113.1
expect_usage "--local no SA knows" "no SA of the tunnel starts or ends at 198.51.100.9" replay traces/ndpi-fix.pcap --tunnel $GW --local 198.51.100.9
expect_usage "shaper.local without a tunnel" "shaper.local: only with a tunnel" sim scenarios/default.ini --set shaper.local=192.0.2.1 --db "$GD/x.db"
WK=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
bad_gw() { # bad_gw NAME PATTERN LINE
	printf '%s\n' "$3" > "$GD/bad.tunnel"
	expect_usage "tunnel file: $1" "$2" replay traces/ndpi-fix.pcap --tunnel "$GD/bad.tunnel"
}
bad_gw "wg without an index" "bad.tunnel:1: SA 'w' has no 'index'" "wg w src 192.0.2.1 dst 192.0.2.2 key $WK match 10.0.0.0/8"
bad_gw "wg with a salt" "bad.tunnel:1: unknown word 'salt' on a wg line" "wg w index 0x1 src 192.0.2.1 dst 192.0.2.2 key $WK salt 00000001 match 10.0.0.0/8"
bad_gw "wg port 0" "bad.tunnel:1: bad port '0'" "wg w index 0x1 src 192.0.2.1 dst 192.0.2.2 port 0 key $WK match 10.0.0.0/8"
bad_gw "an unknown cipher" "bad.tunnel:1: unknown cipher 'aes-128-gcm'" "esp e spi 0x1001 src 192.0.2.1 dst 192.0.2.2 key $WK salt 00000001 match 10.0.0.0/8 cipher aes-128-gcm"
bad_gw "a replay window too wide" "bad.tunnel:1: bad replay window '5000'" "esp e spi 0x1001 src 192.0.2.1 dst 192.0.2.2 key $WK salt 00000001 match 10.0.0.0/8 replay 5000"
bad_gw "two wg SAs with one key" "bad.tunnel:2: SA 'v' has the key of SA 'w'" "wg w index 0x1 src 192.0.2.1 dst 192.0.2.2 key $WK match 10.0.0.0/8
wg v index 0x2 src 192.0.2.2 dst 192.0.2.1 key $WK match 11.0.0.0/8"

# The simulator's two gateways (scenarios/gateways-30.ini, shortened): every packet gateway 1
# seals reaches gateway 2 and is opened there (but those still on link.out at the stop), nothing refused, most from keystreams made ahead,
# gateway 2's latency under its baseline's (which opens every packet in one shot); the same
# seed gives the same figures; the keys' errors.
g2() { sqlite3 "$1" "SELECT printf('%.0f', value) FROM scalar WHERE name = '$2'"; }
pc sim scenarios/gateways-30.ini --set run.stop_s=0.25 --db "$GD/g2a.db" > /dev/null
pc sim scenarios/gateways-30.ini --set run.stop_s=0.25 --db "$GD/g2b.db" > /dev/null
sealed=$(g2 "$GD/g2a.db" esp_packets)
opened=$(g2 "$GD/g2a.db" gw2_esp_in_packets)
ks=$(g2 "$GD/g2a.db" gw2_esp_opened_keystream)
refused=$(( $(g2 "$GD/g2a.db" gw2_dropped_esp_replay) + $(g2 "$GD/g2a.db" gw2_dropped_esp_icv) + $(g2 "$GD/g2a.db" gw2_dropped_esp_unknown_spi) + $(g2 "$GD/g2a.db" gw2_dropped_esp_malformed) ))
p50=$(g2 "$GD/g2a.db" gw2_latency_p50_ns)
b50=$(g2 "$GD/g2a.db" gw2_baseline_latency_p50_ns)
check "sim, two gateways: $sealed sealed, $opened opened ($ks from keystreams), $refused refused; gateway 2 p50 $p50 ns, its baseline $b50 ns" \
	sh -c "[ '$sealed' -gt 10000 ] && [ \$(( ($sealed - $opened) * 1000 )) -le '$sealed' ] && [ $refused = 0 ] && [ \$(( $ks * 2 )) -gt '$opened' ] && [ '$p50' -lt '$b50' ]"
same=$(sqlite3 "$GD/g2a.db" "SELECT group_concat(value) FROM scalar WHERE name LIKE 'gw2_%' AND name NOT LIKE '%cpu%'")
check "sim, two gateways: the same seed, the same gw2 figures" [ "$same" = "$(sqlite3 "$GD/g2b.db" "SELECT group_concat(value) FROM scalar WHERE name LIKE 'gw2_%' AND name NOT LIKE '%cpu%'")" ]
expect_usage "shaper.gateways = 2 without shaper.local2" "needs both gateways' addresses" sim scenarios/gateways-30.ini --set shaper.local2= --db "$GD/x.db"
expect_usage "shaper.gateways = 2 without a tunnel" "needs a tunnel between them" sim scenarios/default.ini --set shaper.gateways=2 --db "$GD/x.db"
expect_usage "shaper.local2 that no SA knows" "shaper.local2: no SA of the tunnel starts or ends at 198.51.100.9" sim scenarios/gateways-30.ini --set shaper.local2=198.51.100.9 --db "$GD/x.db"

# The hostile corpus (tests/hostile.sh made it) at a receiving gateway, and a sealed frame with
# each of its first 100 bytes flipped in turn: identical egress in every mode, no divergence,
# nothing crashes; only the genuine message opened, every flipped one refused and counted (or,
# no longer addressed to this gateway, routed on as any packet).
if [ -f "$TMP/hostile/all.pcap" ]; then
	r=""
	"$PRECRAFT" replay "$TMP/hostile/all.pcap" --mode baseline --tunnel $GW $L2 --egress "$GD/hb.pcap" --quiet
	r="$r$?"
	for m in precraft shadow; do
		pc replay "$TMP/hostile/all.pcap" --mode $m --tunnel $GW $L2 --egress "$GD/hp.pcap" --quiet
		r="$r$?"
		cmp -s "$GD/hb.pcap" "$GD/hp.pcap" || r="${r}x"
	done
	check "gateway 2: the hostile corpus, egress identical, 0 divergences (exits $r)" [ "$r" = 000 ]
fi
"$PRECRAFT" replay traces/zeek-NTP_sync.pcap --tunnel $GW $L1 --egress "$GD/ntp.pcap" --quiet
len=$(od -An -tu4 -j 32 -N 4 "$GD/ntp.pcap" | tr -d ' ') # the first record's captured length
head -c $((24 + 16 + len)) "$GD/ntp.pcap" > "$GD/one.pcap" # the file header and that record
cat "$GD/one.pcap" > "$GD/flips.pcap"
i=0
while [ $i -lt 100 ] && [ $i -lt "$len" ]; do
	off=$((24 + 16 + i))
	b=$(od -An -tu1 -j $off -N 1 "$GD/one.pcap" | tr -d ' ')
	tail -c +25 "$GD/one.pcap" > "$GD/rec"
	printf "$(printf '\\%03o' $((b ^ 0x5a)))" | dd of="$GD/rec" bs=1 seek=$((16 + i)) conv=notrunc 2> /dev/null
	cat "$GD/rec" >> "$GD/flips.pcap"
	i=$((i + 1))
done
for m in baseline precraft shadow; do
	pc replay "$GD/flips.pcap" --mode $m --tunnel $GW $L2 --egress "$GD/fo-$m.pcap" > "$GD/fo.txt"
	rc=$?
	out=$(scalar packets_out "$GD/fo.txt")
	opened=$(scalar esp_in_packets "$GD/fo.txt")
	why=$(awk '$1 ~ /^dropped_/ && $2 != 0 { sub(/^dropped_/, "", $1); printf "%s%s %s", s, $1, $2; s = ", " }' "$GD/fo.txt")
	check "gateway 2, $m: a sealed frame and $i copies with one byte flipped: $opened opened, $out forwarded (the genuine one, and the 5 whose destination or protocol no longer names this gateway, routed on), refused: $why (exit $rc)" \
		sh -c "[ $rc = 0 ] && [ '$opened' = 1 ] && [ '$out' = 6 ]"
done
check "gateway 2: the flipped frames give the same egress in every mode" sh -c "cmp -s '$GD/fo-baseline.pcap' '$GD/fo-precraft.pcap' && cmp -s '$GD/fo-baseline.pcap' '$GD/fo-shadow.pcap'"
