#!/bin/sh
# Integration tests of the precraft program on the captures shipped in traces/.
# Run from the project root with PRECRAFT set to the binary (make check does this).
# Prints one line per check and closes with "N passed, N failed".
set -u
. tests/lib.sh

# 1. Byte-for-byte equivalence of baseline and pre-crafting egress; shadow finds no divergence.
for t in $(cat tests/data/golden.list); do
	for nat in "" "--snat 198.18.0.1"; do
		# shellcheck disable=SC2086
		"$PRECRAFT" replay "traces/$t" --mode baseline --egress "$TMP/base.pcap" --quiet $nat
		rb=$?
		# shellcheck disable=SC2086
		"$PRECRAFT" replay "traces/$t" --mode precraft --egress "$TMP/pc.pcap" --quiet $nat
		rp=$?
		# shellcheck disable=SC2086
		"$PRECRAFT" replay "traces/$t" --mode shadow --quiet $nat
		rs=$?
		label="$t${nat:+ (snat)}"
		if [ $rb -eq 0 ] && [ $rp -eq 0 ] && cmp -s "$TMP/base.pcap" "$TMP/pc.pcap"; then
			ok "egress identical: $label"
		else
			bad "egress identical: $label (exit $rb/$rp)"
		fi
		if [ $rs -eq 0 ]; then ok "shadow, 0 divergences: $label"; else bad "shadow exit $rs: $label"; fi
	done
done

# 1b. Hostile input: the attack corpus through every mode, predictor and policy.
. tests/hostile.sh

# 2. The egress is a capture other tools read: tcpdump counts what precraft says it sent.
"$PRECRAFT" replay traces/ndpi-fix.pcap --egress "$TMP/fix.pcap" > "$TMP/fix.txt"
sent=$(awk '$1 == "packets_out" { print $2 }' "$TMP/fix.txt")
read_back=$(count "$TMP/fix.pcap")
check "tcpdump reads the egress ($read_back of $sent packets)" sh -c "[ '$sent' -gt 0 ] && [ '$read_back' -eq '$sent' ]"

# 3. gzip-compressed and pcapng captures read like plain ones.
gzip -c traces/ndpi-fix.pcap > "$TMP/fix.pcap.gz"
"$PRECRAFT" replay "$TMP/fix.pcap.gz" --egress "$TMP/fixgz.pcap" --quiet
check "gzip capture gives the same egress" cmp -s "$TMP/fix.pcap" "$TMP/fixgz.pcap"
cp traces/ndpi-fix.pcap "$TMP/misnamed.pcapng"
"$PRECRAFT" replay "$TMP/misnamed.pcapng" --egress "$TMP/fixmis.pcap" --quiet
check "the file name's extension does not matter" cmp -s "$TMP/fix.pcap" "$TMP/fixmis.pcap"
check "pcapng capture replays" "$PRECRAFT" replay traces/sanders-http_espn.pcapng --quiet

# 4, 5. Malformed captures and bad input (shared with the valgrind pass).
. tests/bad_input.sh

# 6. No route: packets are dropped and counted, the run still succeeds.
printf '10.0.0.0/8 00:00:5e:00:53:01\n' > "$TMP/narrow.routes"
"$PRECRAFT" replay traces/ndpi-fix.pcap --routes "$TMP/narrow.routes" > "$TMP/nr.txt"
noroute=$(awk '$1 == "dropped_no_route" { print $2 }' "$TMP/nr.txt")
check "packets without a route are dropped and counted ($noroute)" [ "$noroute" -gt 0 ]

# 7. Install, then embed the installed library in a program of its own (static and shared).
# The release build is what gets installed, whatever build runs these tests.
if env -u MAKEFLAGS -u MAKELEVEL make -s install SAN= BUILD=build DESTDIR="$TMP/root" PREFIX=/usr \
	> "$TMP/install.log" 2>&1; then
	ok "make install"
	root="$TMP/root/usr"
	check "installed man page" [ -f "$root/share/man/man1/precraft.1" ]
	# Each installed header stands alone in strict C11 (no POSIX feature macros: an
	# embedding program chooses its own).
	for h in "$root"/include/precraft/*.h; do
		check "installed header $(basename "$h") compiles alone (-std=c11)" sh -c \
			"printf '#include <precraft/%s>\\n' '$(basename "$h")' | cc -std=c11 -Wall -Werror -pedantic -fsyntax-only -I'$root/include' -x c -"
	done
	check "installed program finds its default routes" \
		"$root/bin/precraft" replay traces/ndpi-fix.pcap --quiet
	# Static linking takes the library's own dependencies (libsodium, libcrypto) from its
	# pkg-config file.
	check "program embedding libprecraft.a" sh -c "cc -std=c11 -I'$root/include' doc/examples/embed.c \
		'$root/lib/libprecraft.a' \$(PKG_CONFIG_PATH='$root/lib/pkgconfig' pkg-config --static --libs-only-l precraft | sed 's/-lprecraft//') \
		-o '$TMP/embed_static' && '$TMP/embed_static'"
	check "installed precraft.pc names the static dependencies" sh -c \
		"PKG_CONFIG_PATH='$root/lib/pkgconfig' pkg-config --static --libs precraft | grep -- -lsodium | grep -q -- -lcrypto"
	check "program embedding libprecraft.so" sh -c "cc -std=c11 -I'$root/include' doc/examples/embed.c \
		-L'$root/lib' -lprecraft -o '$TMP/embed_shared' && LD_LIBRARY_PATH='$root/lib' '$TMP/embed_shared'"
else
	bad "make install"
	cat "$TMP/install.log"
fi

# 8. The simulator.  Every scenario runs and lands in the database as a complete run.
DB="$TMP/scn.db"
for scn in scenarios/*.ini; do
	if grep -q '^topology *= *\(leafspine\|vpn\)' "$scn"; then # ns-3's (tests/ns3.sh): sim says so
		"$PRECRAFT" sim "$scn" --db "$DB" --quiet 2> "$TMP/ns3scn.err"
		rc=$?
		check "scenario $(basename "$scn"): precraft sim names precraft-ns3 (exit $rc, one line)" \
			sh -c "[ $rc -eq 2 ] && [ \$(wc -l < '$TMP/ns3scn.err') -eq 1 ] && grep -q precraft-ns3 '$TMP/ns3scn.err'"
		continue
	fi
	if "$PRECRAFT" sim "$scn" --db "$DB" --quiet; then
		row=$(sqlite3 "$DB" "SELECT r.status, (SELECT value FROM scalar WHERE run_id = r.id AND name = 'packets_in'),
			(SELECT count(*) FROM flow WHERE run_id = r.id) FROM run r WHERE r.id = (SELECT max(id) FROM run)")
		case $row in
		complete\|*) ok "scenario $(basename "$scn"): $row (status, packets, flows)" ;;
		*) bad "scenario $(basename "$scn"): $row" ;;
		esac
	else
		bad "scenario $(basename "$scn") failed"
	fi
done

# The same seed gives the same content; another run number other content.
dump() {
	sqlite3 "$1" "SELECT 'p', name, value FROM run_param ORDER BY name;
		SELECT 's', name, printf('%.17g', value) FROM scalar ORDER BY name;
		SELECT 'f', * FROM flow ORDER BY flow_id;
		SELECT 'v', name, t_ns, printf('%.17g', value) FROM vector ORDER BY name, t_ns" | sha256sum | cut -c1-16
}
for i in 1 2; do
	"$PRECRAFT" sim scenarios/loss-1pct.ini --db "$TMP/det$i.db" --seed 42 --quiet
done
"$PRECRAFT" sim scenarios/loss-1pct.ini --db "$TMP/det3.db" --seed 42 --run 2 --quiet
h1=$(dump "$TMP/det1.db") h2=$(dump "$TMP/det2.db") h3=$(dump "$TMP/det3.db")
check "same scenario and seed: identical results ($h1 = $h2)" [ "$h1" = "$h2" ]
check "another run number: other results ($h3)" [ "$h1" != "$h3" ]
# Replications of captures differ (issue 35): each clone's start phase is the run's own, so
# the latency of 4 runs of the tunnel mix is not one number; run.exact = on gives exact replays.
for r in 1 2 3 4; do
	"$PRECRAFT" sim scenarios/tunnel-30.ini --run $r --set run.stop_s=0.1 --db "$TMP/reps.db" --quiet
done
for r in 1 2; do
	"$PRECRAFT" sim scenarios/tunnel-30.ini --run $r --set run.exact=on --set run.stop_s=0.1 --db "$TMP/exact.db" --quiet
done
p50s=$(sqlite3 "$TMP/reps.db" "SELECT group_concat(printf('%.1f', value), ' ') FROM scalar WHERE name = 'latency_p50_ns'")
check "replications of a capture mix differ: p50 $p50s ns, 4 distinct values" \
	[ "$(sqlite3 "$TMP/reps.db" "SELECT count(DISTINCT value) FROM scalar WHERE name = 'latency_p50_ns'")" = 4 ]
check "run.exact = on: two run numbers, the same latencies and packets" \
	[ "$(sqlite3 "$TMP/exact.db" "SELECT count(*) FROM (SELECT DISTINCT name, value FROM scalar WHERE name IN ('latency_p50_ns', 'latency_p99_ns', 'packets_in'))")" = 3 ]
pc summary "$TMP/reps.db" --metric latency_p50_ns > "$TMP/reps.txt"
check "summary over the replications: a 95 % interval above 0 ($(grep latency_p50_ns "$TMP/reps.txt" | tr -s ' '))" \
	sh -c "awk '/latency_p50_ns/ && \$(NF - 4) > 0 && \$NF == 4 { ok = 1 } END { exit !ok }' '$TMP/reps.txt'"

"$PRECRAFT" sim --keys > "$TMP/keys.md"
check "scenarios/README.md documents every key" sh -c "tail -n +\$(( \$(wc -l < scenarios/README.md) - \$(wc -l < '$TMP/keys.md') + 1 )) scenarios/README.md | cmp -s - '$TMP/keys.md'"

# Crash behaviour.  SIGKILL in the middle of a run: the database opens, keeps the complete run,
# and shows the killed one as running.  SIGINT: the run is marked interrupted, no journal left.
CDB="$TMP/crash.db"
"$PRECRAFT" sim scenarios/default.ini --db "$CDB" --quiet
long="--set source.main.type=poisson --set source.main.rate_pps=2000000 --set source.main.flows=100000 --set source.main.duration_s=60 --set run.stats_interval_ms=1"
# shellcheck disable=SC2086
"$PRECRAFT" sim scenarios/default.ini --db "$CDB" --quiet $long &
pid=$!
sleep 3
kill -KILL $pid
wait $pid 2>/dev/null
check "after SIGKILL the database is intact" sh -c "[ \"\$(sqlite3 '$CDB' 'PRAGMA integrity_check')\" = ok ]"
check "after SIGKILL the complete run is kept" sh -c "[ \"\$(sqlite3 '$CDB' 'SELECT status FROM run WHERE id = 1')\" = complete ]"
check "after SIGKILL the killed run shows as not complete" sh -c "[ \"\$(sqlite3 '$CDB' 'SELECT status FROM run WHERE id = 2')\" = running ]"
IDB="$TMP/int.db"
# shellcheck disable=SC2086
"$PRECRAFT" sim scenarios/default.ini --db "$IDB" --quiet $long 2> "$TMP/int.err" &
pid=$!
sleep 3
kill -INT $pid
wait $pid
rc=$?
check "SIGINT: exit 1 with one line" sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/int.err') -eq 1 ]"
check "SIGINT: the run is marked interrupted" sh -c "[ \"\$(sqlite3 '$IDB' 'SELECT status FROM run')\" = interrupted ]"
check "SIGINT: no journal left behind" sh -c "[ ! -e '$IDB-wal' ] && [ ! -e '$IDB-shm' ] && [ ! -e '$IDB-journal' ]"
check "SIGINT: what was measured is kept" sh -c "[ \"\$(sqlite3 '$IDB' 'SELECT count(*) > 0 FROM vector')\" = 1 ]"

# replay writes to the store too, untimed and timed.
"$PRECRAFT" replay traces/ndpi-fix.pcap --db "$TMP/replay.db" --quiet
"$PRECRAFT" replay traces/ndpi-fix.pcap --timed --db "$TMP/replay.db" --quiet
check "replay --db and --timed land as complete runs" sh -c "[ \"\$(sqlite3 '$TMP/replay.db' \"SELECT group_concat(status) FROM run\")\" = complete,complete ]"

# The predictor leaderboard lands in the store: one run per (model, trace).
"$PRECRAFT" eval traces/ndpi-fix.pcap traces/zeek-smb2.pcap --models last,header --db "$TMP/eval.db" > "$TMP/eval.txt"
check "eval: one run per model and trace, with the required scalars" sh -c "[ \"\$(sqlite3 '$TMP/eval.db' \"SELECT count(*) FROM scalar WHERE name IN ('size_exact_acc','size_class_acc','header_full_acc','packet_full_acc','precision','ns_per_prediction','packets_scored')\")\" = 28 ]"
check "eval prints a calibration table" grep -q "calibration (confidence -> header right)" "$TMP/eval.txt"
check "eval: the flow classes' packets add up to all the packets, per run" sh -c "[ \"\$(sqlite3 '$TMP/eval.db' \"SELECT count(*) FROM scalar a WHERE a.name = 'packets_scored' AND a.value = (SELECT sum(value) FROM scalar c WHERE c.run_id = a.run_id AND c.name IN ('class_bulk_packets_scored', 'class_reqresp_packets_scored', 'class_media_packets_scored', 'class_short_packets_scored'))\")\" = 4 ]"
check "eval prints a row per class of flow" sh -c "grep -q '  bulk (' '$TMP/eval.txt' && grep -q '  reqresp (' '$TMP/eval.txt' && grep -q '  short (' '$TMP/eval.txt'"
# DNS-announced flows, on a real capture of a browser: every connection it opens follows an
# answer that announced its address, and reaches a usual port (the figure of the closing note).
"$PRECRAFT" eval traces/sanders-http_espn.pcapng --models last --db "$TMP/dns.db" > "$TMP/dns.txt"
check "eval: DNS announced all 25 new flows of sanders-http_espn, 25 first packets could hit" grep -q "of 25 new flows 25 were announced (100.0 %), 25 first packets could hit" "$TMP/dns.txt"
check "eval stores the DNS-announced flows" sh -c "[ \"\$(sqlite3 '$TMP/dns.db' \"SELECT value FROM scalar WHERE name = 'dns_announced_flows'\")\" = 25.0 ]"
# The engine pre-builds those first packets when it forwards the answers: in shadow mode with
# source NAT, 24 of the 25 connections' SYNs are sent from a template (the first connection to
# port 80 comes before the browser has shown its SYN), with no divergence; with --dns-prefetch 0
# none is.
"$PRECRAFT" replay traces/sanders-http_espn.pcapng --mode shadow --snat 198.18.0.1 --db "$TMP/pf.db" --quiet
check "replay sanders-http_espn: 24 first packets sent from DNS-announced templates, 0 divergences" sh -c "[ \"\$(sqlite3 '$TMP/pf.db' \"SELECT group_concat(value) FROM (SELECT value FROM scalar WHERE name IN ('prefetch_hits', 'divergent_packets') ORDER BY name)\")\" = '0.0,24.0' ]"
"$PRECRAFT" replay traces/sanders-http_espn.pcapng --dns-prefetch 0 --db "$TMP/pf0.db" --quiet
check "replay --dns-prefetch 0 builds no template" sh -c "[ \"\$(sqlite3 '$TMP/pf0.db' \"SELECT value FROM scalar WHERE name = 'prefetch_built'\")\" = 0.0 ]"
# rewrite --lab maps the answers' A records as it maps the headers: in the lab the connections
# still follow their answers (24 first packets from templates again), and tshark finds every
# rewritten answer's UDP checksum right.
"$PRECRAFT" rewrite traces/sanders-http_espn.pcapng -o "$TMP/labdns.pcap" --lab > "$TMP/labdns.txt"
"$PRECRAFT" replay "$TMP/labdns.pcap" --mode shadow --db "$TMP/labdns.db" --quiet
check "rewrite --lab maps 29 DNS records; the rewritten capture: 24 first packets from templates" sh -c "grep -q '^dns_records  *29\$' '$TMP/labdns.txt' && [ \"\$(sqlite3 '$TMP/labdns.db' \"SELECT value FROM scalar WHERE name = 'prefetch_hits'\")\" = 24.0 ]"
if command -v tshark > /dev/null; then
	good=$(tshark -r "$TMP/labdns.pcap" -o udp.check_checksum:TRUE -Y 'udp.srcport == 53 && udp.checksum.status == 1' 2> /dev/null | wc -l)
	badc=$(tshark -r "$TMP/labdns.pcap" -o udp.check_checksum:TRUE -Y 'udp.srcport == 53 && udp.checksum.status != 1' 2> /dev/null | wc -l)
	alab=$(tshark -r "$TMP/labdns.pcap" -Y dns.a -T fields -e dns.a 2> /dev/null | tr ',' '\n' | grep -vc '^198\.1[89]\.')
	check "tshark: the 14 rewritten answers' UDP checksums right ($good right, $badc not), every A record in the lab range ($alab outside)" sh -c "[ '$good' = 14 ] && [ '$badc' = 0 ] && [ '$alab' = 0 ]"
else
	bad "tshark is not installed (make deps installs it)"
fi
# Leave-one-capture-out: the trained predictor is scored on each capture with a model trained on
# the others only, which is what training on those by hand and evaluating gives.
"$PRECRAFT" eval traces/ndpi-fix.pcap traces/zeek-smb2.pcap traces/ndpi-ocs.pcap --models header,ml,xgb --cross --db "$TMP/cross.db" > "$TMP/cross.txt"
"$PRECRAFT" train traces/zeek-smb2.pcap traces/ndpi-ocs.pcap --model ml -o "$TMP/fold.model" > /dev/null
"$PRECRAFT" eval traces/ndpi-fix.pcap --models ml --model-file "$TMP/fold.model" > "$TMP/fold.txt"
check "eval --cross: a capture's score is that of the model trained on the other captures" sh -c "[ \"\$(grep '^ml .*ndpi-fix' '$TMP/cross.txt' | awk '{ NF--; print }')\" = \"\$(grep '^ml .*ndpi-fix' '$TMP/fold.txt' | awk '{ NF--; print }')\" ]"
check "eval --cross: every run marked, the trained ones with the captures they were trained on" sh -c "[ \"\$(sqlite3 '$TMP/cross.db' \"SELECT (SELECT count(*) FROM run_param WHERE name = 'cross') || ',' || (SELECT group_concat(DISTINCT value) FROM run_param WHERE name = 'trained_on_captures')\")\" = 9,2 ]"
check "eval --cross prints the mean over the captures" grep -q "mean of 3 captures" "$TMP/cross.txt"

# Every pre-building policy keeps the egress byte-identical: shadow mode finds no divergence.
for pol in off static adaptive; do
	div=0
	for t in $(cat tests/data/golden.list); do
		"$PRECRAFT" replay "traces/$t" --mode shadow --policy $pol --quiet || div=$((div + 1))
	done
	check "shadow, --policy $pol: 0 divergences on every golden capture" [ $div -eq 0 ]
done
# The adaptive policy in the simulator: its level per class lands as time series, its budgets as
# scalars; under it the CPU spent over the baseline stays under the ceiling.
"$PRECRAFT" sim scenarios/shaper-idle.ini --policy adaptive --set shaper.mode=shadow --db "$TMP/pol.db" --quiet
check "sim --policy adaptive: levels per class stored as time series" sh -c "[ \"\$(sqlite3 '$TMP/pol.db' \"SELECT count(DISTINCT name) FROM vector WHERE name LIKE 'policy_level_%'\")\" = 3 ]"
check "sim --policy adaptive: 0 divergences in shadow mode" sh -c "[ \"\$(sqlite3 '$TMP/pol.db' \"SELECT value FROM scalar WHERE name = 'divergent_packets'\")\" = 0.0 ]"
check "sim --policy adaptive: extra CPU at most the 10 % ceiling" sh -c "[ \"\$(sqlite3 '$TMP/pol.db' \"SELECT value <= 0.1001 FROM scalar WHERE name = 'extra_cpu'\")\" = 1 ]"

# The trained predictor: train writes a model file that eval and replay read; anything that is
# not exactly such a file is refused with one line.
"$PRECRAFT" train traces/ndpi-fix.pcap traces/zeek-smb2.pcap traces/pcapplusplus-DnsPackets.pcap --model ml -o "$TMP/ml.model" > "$TMP/train.txt"
check "train writes a model file" sh -c "[ -s '$TMP/ml.model' ] && grep -q 'contexts, trained on' '$TMP/train.txt'"
"$PRECRAFT" train traces/ndpi-fix.pcap traces/zeek-smb2.pcap traces/pcapplusplus-DnsPackets.pcap --model ml -o "$TMP/ml2.model" > /dev/null
check "training is deterministic (same captures, same model bytes)" cmp -s "$TMP/ml.model" "$TMP/ml2.model"
"$PRECRAFT" eval traces/ndpi-ocs.pcap --models ml --model-file "$TMP/ml.model" --db "$TMP/evalml.db" > /dev/null
check "eval --model-file stores the model file as a run parameter" sh -c "[ \"\$(sqlite3 '$TMP/evalml.db' \"SELECT count(*) FROM run_param WHERE name = 'model_file'\")\" = 1 ]"
"$PRECRAFT" train traces/ndpi-fix.pcap traces/zeek-smb2.pcap traces/pcapplusplus-DnsPackets.pcap --model xgb -o "$TMP/x.model" > "$TMP/trainx.txt"
"$PRECRAFT" train traces/ndpi-fix.pcap traces/zeek-smb2.pcap traces/pcapplusplus-DnsPackets.pcap --model xgb -o "$TMP/x2.model" > /dev/null
check "train --model xgb: a model file whose walk is XGBoost's prediction on every training row" grep -q "walker vs XGBoost on the training rows: size 0, gap 0 at most" "$TMP/trainx.txt"
check "xgb training is deterministic (same captures, same model bytes)" cmp -s "$TMP/x.model" "$TMP/x2.model"
"$PRECRAFT" replay traces/ndpi-ocs.pcap --predictor xgb --model-file "$TMP/x.model" --mode shadow --quiet
check "replay --predictor xgb with its model: 0 divergences in shadow mode" [ $? -eq 0 ]
expect_usage "an ml model given to xgb" "not a precraft xgb model file" eval traces/ndpi-fix.pcap --models xgb --model-file "$TMP/ml.model"
head -c 100 "$TMP/ml.model" > "$TMP/cut.model"
expect_usage "a truncated model file" "model file" eval traces/ndpi-fix.pcap --models ml --model-file "$TMP/cut.model"
expect_usage "replay with a corrupt model file" "model file" replay traces/ndpi-fix.pcap --predictor ml --model-file "$TMP/cut.model"

# The house: one shaper setup, one list of scalars, runs traced to their inputs, a store that
# reports what it failed to write.
"$PRECRAFT" replay traces/ndpi-fix.pcap --db "$TMP/names.db" --quiet --seed 5
"$PRECRAFT" replay traces/ndpi-fix.pcap --timed --db "$TMP/names.db" --quiet
"$PRECRAFT" sim scenarios/default.ini --db "$TMP/names.db" --quiet
names() { sqlite3 "$TMP/names.db" "SELECT name FROM scalar WHERE run_id = $1 ORDER BY name" | grep -v '^seconds$'; }
names 1 > "$TMP/names1"
for r in 2 3; do
	names $r > "$TMP/names$r"
	missing=$(comm -23 "$TMP/names1" "$TMP/names$r" | tr '\n' ' ')
	check "run $r writes every scalar replay writes (missing: ${missing:-none})" [ -z "$missing" ]
done
required="packets_in packets_out hits strict_hits misses crafted wasted validation_failures divergent_packets flows pool_bytes_peak latency_p50_ns latency_p99_ns baseline_latency_p50_ns baseline_latency_p99_ns"
missing=""
for n in $required; do grep -qx "$n" "$TMP/names1" || missing="$missing $n"; done
check "the one list holds DESIGN.md's scalars (missing:${missing:- none})" [ -z "$missing" ]
check "replay --seed N is the run's seed" sh -c "[ \"\$(sqlite3 '$TMP/names.db' 'SELECT seed FROM run WHERE id = 1')\" = 5 ]"
sha=$(sha256sum traces/ndpi-fix.pcap | cut -d' ' -f1)
check "run_param holds the trace's content hash" sh -c "[ \"\$(sqlite3 '$TMP/names.db' \"SELECT value FROM run_param WHERE run_id = 1 AND name = 'trace_sha256'\")\" = $sha ]"
check "run_param holds the scenario's and the routes' hashes" sh -c "[ \"\$(sqlite3 '$TMP/names.db' \"SELECT count(*) FROM run_param WHERE run_id = 3 AND name IN ('scenario_sha256', 'routes_sha256', 'costs_sha256', 'source.main.file_sha256')\")\" = 4 ]"
check "the latency histograms land in the histogram table" sh -c "[ \"\$(sqlite3 '$TMP/names.db' \"SELECT count(DISTINCT run_id) FROM histogram WHERE name = 'latency'\")\" = 3 ]"
check "the stored command is the command as typed" sh -c "sqlite3 '$TMP/names.db' 'SELECT command FROM run WHERE id = 1' | grep -qx 'precraft replay traces/ndpi-fix.pcap --db $TMP/names.db --quiet --seed 5'"
if rev=$(git rev-parse --short=12 HEAD 2>/dev/null); then
	check "run.git_rev is the commit built ($rev)" sh -c "sqlite3 '$TMP/names.db' 'SELECT git_rev FROM run WHERE id = 1' | grep -q '^$rev'"
fi
"$PRECRAFT" replay traces/ndpi-fix.pcap --seed 99 --egress "$TMP/seed99.pcap" --quiet
check "another --seed keys the flow table, the egress is the same" cmp -s "$TMP/fix.pcap" "$TMP/seed99.pcap"
check "-h prints the usage" sh -c "'$PRECRAFT' -h | grep -q '^usage: precraft COMMAND'"
check "compare -h prints compare's usage, exit 0" sh -c "'$PRECRAFT' compare -h | grep -q '^usage: precraft compare'"
for cmd in replay sim calibrate hil rewrite compare eval train predictors; do
	check "$cmd --help exits 0 with its usage" sh -c "'$PRECRAFT' $cmd --help | grep -q '^usage: precraft $cmd'"
done
for cmd in replay sim calibrate "hil forward" "hil replay" "hil capture" rewrite compare eval train predictors; do
	check "the man page's synopsis has precraft $cmd" grep -q "^.B precraft $cmd\$" doc/precraft.1
done
if command -v script > /dev/null; then
	script -qec "'$PRECRAFT' sim scenarios/flows-100k.ini --db '$TMP/progress.db'" /dev/null > "$TMP/progress.txt" 2>&1
	check "sim on a terminal shows its progress" sh -c "tr '\\r' '\\n' < '$TMP/progress.txt' | grep -q '^[0-9]* packets, [0-9]* s'"
fi
check "hil --help lists the shaper options" sh -c "'$PRECRAFT' hil --help | grep -q -- '--model-file'"
before=$(sha256sum scenarios/default.costs)
abs_precraft=$(cd "$(dirname "$PRECRAFT")" && pwd)/$(basename "$PRECRAFT")
(cd "$TMP" && "$abs_precraft" calibrate --repeat 1 > "$TMP/cal.txt" 2>&1)
check "calibrate runs outside the source tree and rewrites no shipped file" sh -c "[ \"$before\" = \"\$(sha256sum scenarios/default.costs)\" ] && grep -q '^slow_ns' '$TMP/cal.txt'"
"$PRECRAFT" calibrate --repeat 1 -o "$TMP/my.costs" > /dev/null
check "calibrate -o writes a profile sim reads" "$PRECRAFT" sim scenarios/default.ini --set shaper.costs="$TMP/my.costs" --db "$TMP/cal.db" --quiet

# Store failures: a database that cannot be written ends the run failed, one line naming what
# was not written, exit 1, and the runs already in it intact.  On small tmpfs mounts (root).
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP/ro" "$TMP/full" && mount -t tmpfs -o size=4m tmpfs "$TMP/ro" 2>/dev/null; then
	"$PRECRAFT" replay traces/ndpi-fix.pcap --db "$TMP/ro/r.db" --quiet
	mount -o remount,ro "$TMP/ro"
	"$PRECRAFT" replay traces/ndpi-fix.pcap --db "$TMP/ro/r.db" --quiet 2> "$TMP/ro.err"
	rc=$?
	check "a read-only database: exit 1, one line ($(cat "$TMP/ro.err"))" sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/ro.err') -eq 1 ]"
	check "a read-only database: the earlier run is intact" sh -c "[ \"\$(sqlite3 'file:$TMP/ro/r.db?immutable=1' 'SELECT status FROM run')\" = complete ]"
	umount "$TMP/ro"
	if mount -t tmpfs -o size=1m tmpfs "$TMP/full"; then
		"$PRECRAFT" replay traces/ndpi-fix.pcap --db "$TMP/full/f.db" --quiet
		# Fill what is left but a little, then run something that writes far more than that.
		dd if=/dev/zero of="$TMP/full/fill" bs=4k 2>/dev/null
		rm -f "$TMP/full/fill"
		dd if=/dev/zero of="$TMP/full/fill" bs=4k count=$(( $(df -k --output=avail "$TMP/full" | tail -1) / 4 - 24 )) 2>/dev/null
		"$PRECRAFT" sim scenarios/default.ini --set run.stats_interval_ms=0.01 --db "$TMP/full/f.db" --quiet 2> "$TMP/full.err"
		rc=$?
		check "a full database: exit 1, one line naming what was lost ($(cat "$TMP/full.err"))" sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/full.err') -eq 1 ] && grep -q 'not written' '$TMP/full.err'"
		rm -f "$TMP/full/fill"
		check "a full database: that run is failed, the earlier one complete" sh -c "[ \"\$(sqlite3 '$TMP/full/f.db' 'SELECT group_concat(status) FROM run')\" = complete,failed ]"
		check "a full database: the file is intact" sh -c "[ \"\$(sqlite3 '$TMP/full/f.db' 'PRAGMA integrity_check')\" = ok ]"
		umount "$TMP/full"
	fi
else
	echo "skip store failures: need root and tmpfs"
fi

# An installed precraft runs the shipped scenario and calibrates with what it installed.
if [ -x "$TMP/root/usr/bin/precraft" ]; then
	check "installed precraft runs sim on its installed default scenario" sh -c "cd '$TMP' && '$TMP/root/usr/bin/precraft' sim '$TMP/root/usr/share/precraft/scenarios/default.ini' --db '$TMP/inst.db' --quiet"
fi

# Pre-crafting with the header and trained predictors keeps the egress byte-identical.
for t in $(cat tests/data/golden.list); do
	for pred in header ml xgb; do
		mf=""
		[ $pred = ml ] && mf="--model-file $TMP/ml.model"
		[ $pred = xgb ] && mf="--model-file $TMP/x.model"
		# shellcheck disable=SC2086
		"$PRECRAFT" replay "traces/$t" --mode baseline --egress "$TMP/base.pcap" --quiet
		# shellcheck disable=SC2086
		"$PRECRAFT" replay "traces/$t" --mode precraft --predictor $pred $mf --egress "$TMP/pc.pcap" --quiet
		rp=$?
		# shellcheck disable=SC2086
		"$PRECRAFT" replay "traces/$t" --mode shadow --predictor $pred $mf --quiet
		rs=$?
		if [ $rp -eq 0 ] && [ $rs -eq 0 ] && cmp -s "$TMP/base.pcap" "$TMP/pc.pcap"; then
			ok "egress identical with --predictor $pred, shadow 0 divergences: $t"
		else
			bad "egress with --predictor $pred: $t (exit $rp/$rs)"
		fi
	done
done

# The ESP tunnel: equivalence on every capture, the independent decryption, tshark, exhaustion,
# bad tunnel files.
. tests/esp.sh
. tests/gateways.sh
. tests/hc.sh

# Reports, run comparison and exports of a results database (gnuplot, headless Chromium, xmllint).
. tests/report.sh
. tests/report_hostile.sh
. tests/trace_cut.sh

# Parameter sweeps: -j, --shard and merge, mpirun, resume after a kill, determinism.
. tests/sweep.sh
# precraft inside ns-3 (build/precraft-ns3), when ns-3 is installed.
. tests/ns3.sh
. tests/study.sh
. tests/readme.sh

# 8b. Store faults: a full filesystem (a 640 KiB tmpfs: room for the schema's 16 KiB pages and
# the 256 KiB reserve, not for flows-10k's 1 MiB of results) and a database another process
# holds locked.  Clean errors (exit 1, one line), and the run marked failed, never complete or
# running.
if [ "$(id -u)" = 0 ] && command -v mount > /dev/null; then
	mkdir -p "$TMP/full"
	if mount -t tmpfs -o size=640k tmpfs "$TMP/full" 2> /dev/null; then
		pc sim scenarios/flows-10k.ini --db "$TMP/full/r.db" --quiet 2> "$TMP/full.err"
		rc=$?
		st=$(sqlite3 "$TMP/full/r.db" 'SELECT group_concat(status) FROM run' 2>&1)
		check "a full filesystem: exit 1, one line ($(cat "$TMP/full.err"))" \
			sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/full.err') -eq 1 ] && grep -q 'disk is full' '$TMP/full.err'"
		check "a full filesystem: the run is marked failed ($st)" [ "$st" = failed ]
		check "a full filesystem: the space reserve is given back" [ ! -e "$TMP/full/r.db-reserve" ]
		umount "$TMP/full"
	else
		echo "skip full filesystem: cannot mount a tmpfs here"
	fi
	pc replay traces/ndpi-fix.pcap --db "$TMP/locked.db" --quiet
	# Another process holds the database's write lock for longer than the busy timeout (5 s).
	(echo 'BEGIN EXCLUSIVE; SELECT 1;'; sleep 7; echo 'COMMIT;') | sqlite3 "$TMP/locked.db" > /dev/null &
	lock=$!
	i=0
	while ! sqlite3 "$TMP/locked.db" 'BEGIN IMMEDIATE; ROLLBACK;' 2>&1 | grep -q locked && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	pc replay traces/ndpi-fix.pcap --db "$TMP/locked.db" --quiet 2> "$TMP/locked.err"
	rc=$?
	wait $lock
	st=$(sqlite3 "$TMP/locked.db" 'SELECT group_concat(status) FROM run')
	check "a locked database: exit 1, one line ($(cat "$TMP/locked.err"))" \
		sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/locked.err') -eq 1 ] && grep -q 'locked' '$TMP/locked.err'"
	check "a locked database: no run left running or complete by it ($st)" [ "$st" = complete ]
else
	echo "skip store faults: need root (a tmpfs mount)"
fi

# 9. Hardware in the loop, on the lab NIC pair (network namespaces and veth pairs that hil/lab
#    creates and removes; every address sent is one the lab's sink owns).  Needs root, as CI is.
if [ "$(id -u)" = 0 ] && command -v ip > /dev/null; then
	for mode in precraft shadow; do
		if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check traces/ndpi-fix.pcap --mode $mode 2>&1); then
			ok "hil/lab check ndpi-fix, $mode: $out"
		else
			bad "hil/lab check ndpi-fix, $mode: $out"
		fi
	done
	if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check traces/ndpi-KakaoTalk_talk.pcap --mode precraft --pps 20000 2>&1); then
		ok "hil/lab check KakaoTalk (Linux cooked capture), precraft: $out"
	else
		bad "hil/lab check KakaoTalk, precraft: $out"
	fi
	# Workers (packet fanout by the kernel's flow hash): each flow's packets identical and in
	# order (the interleaving between flows may differ), every worker given flows, and each flow
	# on one worker only: a flow whose two directions reached two workers would be counted twice,
	# so the flows counted in all must be the capture's 39.
	for w in 2 4; do
		for mode in precraft shadow; do
			if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check traces/sanders-http_espn.pcapng --mode $mode \
				--workers $w --pps 20000 2>&1) && echo "$out" | grep -q 'flows in all: 39)' &&
				! echo "$out" | grep -Eq 'packets ([0-9/]*/)?0(/|,)'; then
				ok "hil/lab check sanders, $w workers, $mode: $out"
			else
				bad "hil/lab check sanders, $w workers, $mode: $out"
			fi
		done
	done
	# RFC 2544 throughput, one short search: a zero-loss rate found within the trial bound.
	if out=$(PRECRAFT="$PRECRAFT" TRACEGEN="$(dirname "$PRECRAFT")/tracegen" timeout 120 hil/lab rfc2544 \
		traces/ndpi-fix.pcap --sizes 64 --trial-ms 200 --resolution 25 2>&1) &&
		echo "$out" | grep -Eq '64 B: zero-loss rate [1-9][0-9]* pps \(([1-9]|1[0-9]|20) trials'; then
		ok "hil/lab rfc2544: $(echo "$out" | tail -1)"
	else
		bad "hil/lab rfc2544: $out"
	fi
	# The route table re-read on SIGHUP, hundreds of times, while 2 workers forward.
	if out=$(PRECRAFT="$PRECRAFT" timeout 120 sh tests/routes_reload.sh 2>&1); then
		ok "$(echo "$out" | tail -1 | sed 's/^ok   //')"
	else
		bad "$out"
	fi
	# A compressed link between the DUT and the sink (issue 38): the sink's namespace rebuilds
	# the simulated egress byte for byte; with frames lost on the wire, a subsequence of it.
	for hc in header vj; do
		for t in ndpi-fix.pcap sanders-http_espn.pcapng; do
			if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check "traces/$t" --compress $hc 2>&1); then
				ok "hil/lab check $t over a link compressed by $hc: $out"
			else
				bad "hil/lab check $t --compress $hc: $out"
			fi
		done
	done
	for p in 1 5; do
		if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check traces/ndpi-fix.pcap --compress header --netem-loss $p 2>&1) &&
			echo "$out" | grep -q '^subsequence: yes'; then
			ok "hil/lab check ndpi-fix --compress header, $p % of the frames lost: $out"
		else
			bad "hil/lab check ndpi-fix --compress header --netem-loss $p: $out"
		fi
	done
	if out=$(PRECRAFT="$PRECRAFT" hil/lab check traces/ndpi-fix.pcap --compress vj --netem-loss 1 2>&1); then
		bad "hil/lab check --compress vj --netem-loss: accepted ($out)"
	else
		ok "hil/lab check --compress vj --netem-loss refused: $(echo "$out" | tail -1)"
	fi
	# hil replay reads what replay reads: the generator sends the capture as pcapng and gzip.
	for fmt in pcapng gzip; do
		if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check traces/ndpi-fix.pcap --mode precraft --gen-format $fmt 2>&1); then
			ok "hil/lab check ndpi-fix, the generator replays $fmt: $out"
		else
			bad "hil/lab check ndpi-fix, generator $fmt: $out"
		fi
	done
	# hil forward takes every engine option replay takes, from the same setup.
	if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check traces/ndpi-fix.pcap --mode shadow -- --predictor ml \
		--model-file "$TMP/ml.model" --min-confidence 0.1 --snat 198.18.0.1 --flows 4096 --pool-mb 8 \
		--policy adaptive --routes scenarios/default.routes --idle-s 30 --seed 3 2>&1); then
		ok "hil/lab check with the trained model and every engine option, shadow: $out"
	else
		bad "hil/lab check with every engine option: $out"
	fi
	# The tunnel on the NIC pair: the sink receives ESP, packet for packet the simulated egress.
	for t in ndpi-fix.pcap sanders-http_espn.pcapng tcpdump-mptcp-v0.pcap; do
		for mode in precraft shadow; do
			if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check "traces/$t" --mode $mode --tunnel hil/lab.tunnel \
				-- --predictor header 2>&1); then
				ok "hil/lab check $t through the tunnel, $mode: $out"
			else
				bad "hil/lab check $t through the tunnel, $mode: $out"
			fi
		done
	done
	# The tunnel with workers: each worker seals with its own slice of the SAs' sequence
	# numbers, so the sink's ESP is checked by the independent decrypter (every ICV, no (SPI,
	# sequence number) twice, each slice's numbers consecutive) and its inner packets compared
	# flow by flow with the single engine's.
	for wm in 2:precraft 4:precraft 2:shadow; do
		w=${wm%:*} mode=${wm#*:}
		if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check traces/sanders-http_espn.pcapng --mode $mode \
			--workers $w --pps 20000 --tunnel hil/lab.tunnel -- --predictor header 2>&1) &&
			echo "$out" | grep -q 'flows in all: 39)' && echo "$out" | grep -q "no (SPI, sequence number) twice, $w (SA, slice) runs"; then
			ok "hil/lab check sanders through the tunnel, $w workers, $mode: $out"
		else
			bad "hil/lab check sanders through the tunnel, $w workers, $mode: $out"
		fi
	done
	# Two gateways (issue 37): gateway 1 seals, gateway 2 opens (its anti-replay window per
	# slice of gateway 1's workers), the sink receives the plain packets routed twice, packet
	# for packet (flow by flow with workers) the simulated replay's through two routers.
	for t in ndpi-fix.pcap sanders-http_espn.pcapng tcpdump-mptcp-v0.pcap; do
		for w in 1 2; do
			if out=$(PRECRAFT="$PRECRAFT" timeout 120 hil/lab check "traces/$t" --tunnel hil/lab.tunnel --gateways 2 \
				--workers $w --pps 20000 -- --predictor header 2>&1) && echo "$out" | grep -q 'replay 0, ICV 0, unknown SPI 0, malformed 0'; then
				ok "hil/lab check $t, two gateways, $w worker(s): $out"
			else
				bad "hil/lab check $t, two gateways, $w worker(s): $out"
			fi
		done
	done
	# A set-up step of the lab that fails stops it with one clear line, and leaves nothing.
	mkdir -p "$TMP/fakebin"
	printf '#!/bin/sh\nexit 1\n' > "$TMP/fakebin/sysctl"
	chmod +x "$TMP/fakebin/sysctl"
	PATH="$TMP/fakebin:$PATH" hil/lab up > /dev/null 2> "$TMP/lab.err"
	rc=$?
	check "hil/lab up with a failing sysctl: exit 2, one line ($(cat "$TMP/lab.err"))" sh -c "[ $rc -eq 2 ] && [ \$(wc -l < '$TMP/lab.err') -eq 1 ] && grep -q 'sysctl' '$TMP/lab.err'"
	check "hil/lab up with a failing sysctl leaves no namespace" sh -c "! ip netns list | grep -q '^pc-'"
	check "hil/lab leaves no namespace behind" sh -c "! ip netns list | grep -q '^pc-'"
	expect_usage "hil forward on a missing interface" "nosuch0: cannot open: no such interface" hil forward --in nosuch0 --out nosuch1
	if command -v setpriv > /dev/null; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$PRECRAFT" hil capture --in lo --duration 0.2 \
			> /dev/null 2> "$TMP/perm.err"
		rc=$?
		check "hil without privileges: exit 2, '$(cat "$TMP/perm.err")'" sh -c "[ $rc -eq 2 ] && grep -q 'not permitted' '$TMP/perm.err'"
	fi
	# An interface that disappears mid-run: one clear line, the run kept as failed.
	hil/lab up > /dev/null 2>&1
	check "hil capture -Z nobody drops root and keeps capturing" \
		ip netns exec pc-dut "$PRECRAFT" hil capture --in pcd0 -Z nobody --duration 0.2 --quiet
	# The generator's limits: --count, and --loop 0 (until the count, as tcpreplay's forever).
	"$PRECRAFT" rewrite traces/ndpi-fix.pcap -o "$TMP/labfix.pcap" --lab > /dev/null
	sent=$(ip netns exec pc-gen "$PRECRAFT" hil replay --out pcg0 "$TMP/labfix.pcap" --count 10 --topspeed | awk '$1 == "sent" { print $2 }')
	check "hil replay --count 10 sends 10 ($sent)" [ "$sent" = 10 ]
	sent=$(ip netns exec pc-gen "$PRECRAFT" hil replay --out pcg0 "$TMP/labfix.pcap" --loop 0 --count 3000 --topspeed | awk '$1 == "sent" { print $2 }')
	check "hil replay --loop 0 loops until the count (3000 of a 1261-packet capture: $sent)" [ "$sent" = 3000 ]
	# The same scalar list as replay, from a forward run.
	ip netns exec pc-dut "$PRECRAFT" hil forward --in pcd0 --out pcd1 --duration 0.3 --db "$TMP/names.db" --quiet
	names 4 > "$TMP/names4"
	missing=$(comm -23 "$TMP/names1" "$TMP/names4" | tr '\n' ' ')
	check "hil forward writes every scalar replay writes (missing: ${missing:-none})" [ -z "$missing" ]
	check "hil forward's stored command reads 'precraft hil forward'" sh -c "sqlite3 '$TMP/names.db' 'SELECT command FROM run WHERE id = 4' | grep -q '^precraft hil forward --in pcd0'"
	ip netns exec pc-dut "$PRECRAFT" hil forward --in pcd0 --out pcd1 --duration 20 --db "$TMP/gone.db" \
		--ready "$TMP/gone.ready" > /dev/null 2> "$TMP/gone.err" &
	pid=$!
	i=0
	while [ ! -e "$TMP/gone.ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	ip netns exec pc-dut ip link del pcd0
	wait $pid
	rc=$?
	hil/lab down
	check "an interface that disappears: exit 1, one line ($(cat "$TMP/gone.err"))" sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/gone.err') -eq 1 ]"
	check "an interface that disappears: the run is kept as failed" sh -c "[ \"\$(sqlite3 '$TMP/gone.db' 'SELECT status FROM run')\" = failed ]"
else
	echo "skip hil: needs root and iproute2"
fi

# 10. Help and version.
check "--help" "$PRECRAFT" --help > /dev/null
check "replay --help" "$PRECRAFT" replay --help > /dev/null
check "--version" "$PRECRAFT" --version > /dev/null
# The man page against the command table (issue 35): every command --help lists has its entry,
# every long option any command's --help names is in it; no usage text is a printf format.
man_missing=""
for c in $("$PRECRAFT" --help | awk '/^  [a-z]/ { print $1 }'); do
	grep -q "^\.B $(echo "$c" | sed 's/-/\\\\-/g')\( \|\$\)" doc/precraft.1 || man_missing="$man_missing $c"
	"$PRECRAFT" "$c" --help 2> /dev/null >> "$TMP/allhelp.txt"
done
for o in $(grep -o -- '--[a-z][a-z0-9-]*' "$TMP/allhelp.txt" | sort -u); do
	grep -qF -- "$(echo "$o" | sed 's/-/\\-/g')" doc/precraft.1 || man_missing="$man_missing $o"
done
check "the man page documents every command and option of --help${man_missing:+ (missing:$man_missing)}" [ -z "$man_missing" ]
check "report --help says '95 % confidence' (usage texts are not printf formats)" sh -c "'$PRECRAFT' report --help | grep -q '95 % confidence'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
