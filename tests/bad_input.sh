# tests/bad_input.sh: malformed captures and bad input, each one clear line and no crash.
# Sourced (after tests/lib.sh) by integration.sh, under the sanitizers, and by valgrind.sh,
# under valgrind, which sees the uninitialised reads the sanitizers cannot.

# Malformed captures: exit 0 or 2, at most one line on stderr, no sanitizer or valgrind
# report, and the packets before the damage are kept.
for m in traces/malformed/*; do
	pc replay "$m" --egress "$TMP/mal.pcap" > "$TMP/mal.out" 2> "$TMP/mal.err"
	rc=$?
	lines=$(wc -l < "$TMP/mal.err")
	if { [ $rc -eq 0 ] || [ $rc -eq 2 ]; } && [ "$lines" -le 1 ] && ! grep -q Sanitizer "$TMP/mal.err"; then
		ok "malformed $(basename "$m"): exit $rc, $(cat "$TMP/mal.err")"
	else
		bad "malformed $(basename "$m"): exit $rc, $lines stderr lines"
		cat "$TMP/mal.err"
	fi
	pc replay "$m" --timed --db "$TMP/mal.db" --quiet > /dev/null 2> "$TMP/mal.err"
	rc=$?
	if { [ $rc -eq 0 ] || [ $rc -eq 2 ]; } && [ "$(wc -l < "$TMP/mal.err")" -le 1 ]; then
		ok "malformed $(basename "$m"), timed: exit $rc"
	else
		bad "malformed $(basename "$m"), timed: exit $rc, $(cat "$TMP/mal.err")"
	fi
done
pc replay traces/malformed/markofu-http-fault-post.pcap --egress "$TMP/cut.pcap" > /dev/null 2>&1
kept=$(count "$TMP/cut.pcap")
check "a capture cut short keeps the 25 packets before the cut" [ "$kept" -eq 25 ]

# Usage and input errors: one line naming the problem, exit 2.
expect_usage "no such capture" "cannot open" replay /nonexistent.pcap
expect_usage "no such capture, with --db" "cannot open" replay /nonexistent.pcap --db "$TMP/none.db"
expect_usage "not a capture" "not a readable capture" replay Makefile
expect_usage "bad mode" "--mode" replay traces/ndpi-fix.pcap --mode fast
expect_usage "unknown option" "unknown or incomplete option" replay traces/ndpi-fix.pcap --bogus
expect_usage "two traces" "replay: expected 1 argument, got 2" replay traces/ndpi-fix.pcap traces/ndpi-ocs.pcap
expect_usage "bad number" "--flows" replay traces/ndpi-fix.pcap --flows 12x
expect_usage "bad seed" "--seed" replay traces/ndpi-fix.pcap --seed -1
expect_usage "unknown predictor" "unknown predictor" replay traces/ndpi-fix.pcap --predictor oracle
expect_usage "unknown command" "unknown command" frobnicate
expect_usage "compare with one capture" "compare: expected 2 arguments, got 1" compare traces/ndpi-fix.pcap
expect_usage "an unknown policy" "expected off, static or adaptive" replay traces/ndpi-fix.pcap --policy eager
printf '0.0.0.0/0 00:00:5e:00:53:01\n10.0.0.0/8 nonsense\n' > "$TMP/bad.routes"
expect_usage "bad route file names file:line" "bad.routes:2: bad next-hop MAC" replay traces/ndpi-fix.pcap --routes "$TMP/bad.routes"
expect_usage "unwritable egress" "cannot write" replay traces/ndpi-fix.pcap --egress /nonexistent-dir/x.pcap
printf '[run]\nseed = 1\n[link.in]\nloss_p = 1.5\n' > "$TMP/bad.ini"
expect_usage "bad scenario value names file:line" "bad.ini:4: bad value '1.5' for link.in.loss_p" sim "$TMP/bad.ini" --db "$TMP/x.db"
printf '[run]\nsead = 1\n' > "$TMP/bad2.ini"
expect_usage "unknown scenario key names file:line" "bad2.ini:2: unknown key 'sead'" sim "$TMP/bad2.ini" --db "$TMP/x.db"
expect_usage "bad --set" "--set shaper.flows=0" sim scenarios/default.ini --set shaper.flows=0 --db "$TMP/x.db"
expect_usage "64 CPUs with the default pool name the keys" "shaper.pool_mb=64 split over shaper.cpus=64.*at least 84" sim scenarios/default.ini --set shaper.cpus=64 --db "$TMP/x.db"
# Arithmetic at the limits (issue 34, 4): configured quantities bounded so that derived times fit.
expect_usage "a link of 1e-200 Mbit/s (was infinitely fast)" "link.in.rate_mbps: expected 0 (infinite) or from 0.001" sim scenarios/default.ini --set link.in.rate_mbps=1e-200 --db "$TMP/x.db"
expect_usage "a link of 1e-9 Mbit/s (wrapped delays)" "link.out.rate_mbps" sim scenarios/default.ini --set link.out.rate_mbps=1e-9 --db "$TMP/x.db"
expect_usage "shaper.cpu_speed=1e-6 with a 1000 s cost: the cost named, not memory" "shaper.slow_ns = 1e+12 ns over shaper.cpu_speed = 1e-06" sim scenarios/default.ini --set shaper.slow_ns=1e12 --set shaper.cpu_speed=1e-6 --db "$TMP/x.db"
pc replay traces/ndpi-fix.pcap --idle-s 1e-10 > "$TMP/idle.txt" 2>&1
check "--idle-s 1e-10 is 1 ns, not 'no timeout' ($(awk '$1 == "flow_expirations" { print $2 }' "$TMP/idle.txt") expirations)" \
	sh -c "awk '\$1 == \"flow_expirations\" && \$2 > 1000 { ok = 1 } END { exit !ok }' '$TMP/idle.txt'"
# A failed write is never silent, and an output that is a device stays one (issue 34, 8): train's
# rename over /dev/full made it a regular file and exited 0.  A full device of the test's own.
if [ "$(id -u)" = 0 ] && mknod "$TMP/full" c 1 7 2> /dev/null; then
	pc train traces/ndpi-fix.pcap --model ml -o "$TMP/full" > /dev/null 2> "$TMP/full.err"
	rc=$?
	check "train -o a full device: exit 1, one line, still a device ($(cat "$TMP/full.err"))" \
		sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/full.err') -eq 1 ] && [ -c '$TMP/full' ]"
	pc calibrate traces/ndpi-fix.pcap --repeat 1 -o "$TMP/full" > /dev/null 2> "$TMP/full.err"
	rc=$?
	check "calibrate -o a full device: exit 1, one line, still a device ($(cat "$TMP/full.err"))" \
		sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/full.err') -eq 1 ] && [ -c '$TMP/full' ]"
else
	echo "skip: train/calibrate -o a full device (needs root for mknod)"
fi
# Names and values land in the database and from there in reports: no control characters.
expect_usage "a --set source name with a newline" "control character (0x0a)" sim scenarios/default.ini --set "source.a
!touch $TMP/pwn.type=poisson" --db "$TMP/x.db"
expect_usage "a --set value with a tab" "control character (0x09)" sim scenarios/default.ini --set "shaper.predictor=la	st" --db "$TMP/x.db"
printf '[source.a\033b]\ntype = poisson\n' > "$TMP/ctl.ini"
expect_usage "a scenario's section with an escape byte names file:line" "ctl.ini:1: a control character (0x1b)" sim "$TMP/ctl.ini" --db "$TMP/x.db"
printf '[run]\nseed = 1\001\n' > "$TMP/ctl2.ini"
expect_usage "a scenario's value with a control byte names file:line" "ctl2.ini:2: a control character (0x01)" sim "$TMP/ctl2.ini" --db "$TMP/x.db"
expect_usage "a bad policy port list names the key" "policy.high_ports" sim scenarios/shaper-idle.ini --set policy.high_ports=80,x --db "$TMP/x.db"
expect_usage "eval with an unknown model" "unknown predictor 'oracle'" eval traces/ndpi-fix.pcap --models oracle
expect_usage "eval --cross with one capture" "at least 2 captures" eval traces/ndpi-fix.pcap --cross
expect_usage "eval --cross with a model file" "no --model-file" eval traces/ndpi-fix.pcap traces/zeek-smb2.pcap --cross --model-file x
expect_usage "a capture given as a model file" "not a precraft model file" eval traces/ndpi-fix.pcap --models ml --model-file traces/ndpi-fix.pcap
printf 'precraft-model 1\ngarbage\n' > "$TMP/junk.model"
expect_usage "replay with a corrupt model file" "model file" replay traces/ndpi-fix.pcap --predictor ml --model-file "$TMP/junk.model"
expect_usage "train without -o" "-o FILE is required" train traces/ndpi-fix.pcap --model ml
expect_usage "train an untrainable model" "the trained predictors" train traces/ndpi-fix.pcap --model header -o "$TMP/x.model"
expect_usage "hil forward without --out" "--in IF and --out IF are required" hil forward --in lo
expect_usage "hil replay --pps with --topspeed" "exclude each other" hil replay --out lo traces/ndpi-fix.pcap --pps 10 --topspeed
expect_usage "hil forward --ring-mb 0" "--ring-mb" hil forward --in lo --out lo --ring-mb 0
expect_usage "hil capture --ring-mb beyond 4096" "--ring-mb" hil capture --in lo --ring-mb 5000
expect_usage "hil forward with a bad model file" "model file" hil forward --in lo --out lo --predictor ml --model-file "$TMP/junk.model"

# Issue 10, hostile configuration and files: each refused by name, at its file and line.
# A comment longer than any read buffer stays a comment: the route inside it is not installed
# (a line read in pieces would have made its tail a route), and a line over the limit is
# refused at its own line.
{ printf '0.0.0.0/0 00:00:5e:00:53:01\n# '; head -c 600 /dev/zero | tr '\0' 'x'; printf ' 10.0.0.0/8 00:00:5e:00:53:09\n'; } > "$TMP/long-comment.routes"
pc replay traces/ndpi-fix.pcap --routes "$TMP/long-comment.routes" --egress "$TMP/lc.pcap" --quiet
pc replay traces/ndpi-fix.pcap --routes "$TMP/long-comment.routes" --egress "$TMP/lc2.pcap" --quiet
check "a long comment in a route file stays a comment (no route from its text)" \
	sh -c "! tcpdump -enr '$TMP/lc.pcap' 2> /dev/null | grep -q '00:00:5e:00:53:09'"
{ printf '0.0.0.0/0 00:00:5e:00:53:01\n# '; head -c 5000 /dev/zero | tr '\0' 'x'; printf '\n'; } > "$TMP/too-long.routes"
expect_usage "an over-long route line, named at its line" "too-long.routes:2: line longer than 4096 bytes" replay traces/ndpi-fix.pcap --routes "$TMP/too-long.routes"
{ printf '\357\273\277'; cat scenarios/default.routes; } > "$TMP/bom.routes"
check "a route file with a UTF-8 byte-order mark is read" pc replay traces/ndpi-fix.pcap --routes "$TMP/bom.routes" --quiet
printf '[run]\nseed = 1\000\n' > "$TMP/nul.ini"
expect_usage "a NUL byte in a scenario" "nul.ini:2: a NUL byte" sim "$TMP/nul.ini"
printf '[shaper]\nsnat = 1.2.3\n' > "$TMP/snat.ini"
expect_usage "a bad shaper.snat, at its line" "snat.ini:2: bad value '1.2.3' for shaper.snat" sim "$TMP/snat.ini"
printf '[policy]\nhigh_ports = 80,x\n' > "$TMP/ports.ini"
expect_usage "a bad policy.high_ports, at its line" "ports.ini:2: bad value '80,x' for policy.high_ports" sim "$TMP/ports.ini"
printf '[shaper]\npredictor = oracle\n' > "$TMP/pred.ini"
expect_usage "an unknown shaper.predictor, at its line" "pred.ini:2: bad value 'oracle' for shaper.predictor" sim "$TMP/pred.ini"
printf '[shaper]\nroutes = missing.routes\n' > "$TMP/routes.ini"
expect_usage "a missing routes file named in a scenario, at its line" "routes.ini:2: bad value 'missing.routes' for shaper.routes" sim "$TMP/routes.ini"
printf '[source.t]\ntype = trace\nfile = %s/traces/ndpi-fix.pcap\nspeed = 0.000001\nloop = 1000000000\n' "$(pwd)" > "$TMP/time.ini"
expect_usage "simulated time past 2^62 ns is refused, not wrapped" "simulated time passes 146 years" sim "$TMP/time.ini" --quiet
expect_usage "a model file that is /dev/zero, refused at once" "not a precraft model file" replay traces/ndpi-fix.pcap --predictor ml --model-file /dev/zero
sqlite3 "$TMP/other.db" 'CREATE TABLE notes(x); INSERT INTO notes VALUES(1);'
cp "$TMP/other.db" "$TMP/other.orig"
expect_usage "another program's database is refused" "not a precraft results database" replay traces/ndpi-fix.pcap --db "$TMP/other.db"
check "another program's database is left untouched" sh -c "cmp -s '$TMP/other.db' '$TMP/other.orig' && [ ! -e '$TMP/other.db-wal' ]"
expect_usage "calibrate on a capture without hits" "nothing to time" calibrate --repeat 1 traces/malformed/zeek-trunc_ipv4-truncated-broken-header.pcap
# Malformed captures through the tunnel: sealed or dropped, never a crash.
for m in traces/malformed/*; do
	pc replay "$m" --tunnel scenarios/default.tunnel --mode shadow --quiet > /dev/null 2> "$TMP/mal.err"
	rc=$?
	if { [ $rc -eq 0 ] || [ $rc -eq 2 ]; } && [ "$(wc -l < "$TMP/mal.err")" -le 1 ]; then
		ok "malformed $(basename "$m") through the tunnel, shadow: exit $rc"
	else
		bad "malformed $(basename "$m") through the tunnel: exit $rc, $(cat "$TMP/mal.err")"
	fi
done
