# tests/study.sh: `precraft study` on a small regime map (issue 35), sourced by integration.sh
# (after lib.sh): 2 loads x 2 captures x off/static, 3 replications, one capture with a tunnel
# cell; the answer table has a row per cell and policy with its pairs, the FIX request/response
# capture pays with an interval above 0, the figures are drawn; bad input: one line, exit 2.
ST="$TMP/study"
mkdir -p "$ST"
pc sweep scenarios/study.ini --grid run.load=0.3,0.9 \
	--grid source.main.file=../traces/zeek-smb2.pcap,../traces/ndpi-fix.pcap --grid policy.kind=off,static \
	--runs 3 --set source.main.clones=5 --db "$ST/s.db" --quiet 2> /dev/null
out=$(pc study "$ST/s.db" --out "$ST/out" 2>&1)
rc=$?
check "study: exit $rc, 4 cells ($out)" sh -c "[ $rc -eq 0 ] && echo '$out' | grep -q '24 runs, 4 cells x policies'"
rows=$(grep -c '<td>static</td><td>3</td>' "$ST/out/index.html")
check "study: a row per cell with its 3 pairs ($rows)" [ "$rows" = 4 ]
check "study: the request/response capture pays at load 0.3, its interval above 0" \
	sh -c "grep -o '<td>0.3</td><td>ndpi-fix.pcap</td><td>static</td><td>3</td><td>[^<]*</td>.*' '$ST/out/index.html' | grep -q 'class=\"v1\">pays<'"
check "study: each row names the command that reproduces it" sh -c "grep -c 'precraft sim scenarios/study.ini' '$ST/out/index.html' | grep -qx 4"
check "study: heat maps and the headline drawn" sh -c "ls '$ST/out'/map-p50-*.svg '$ST/out'/headline-*.svg > /dev/null 2>&1"
expect_usage "study of runs that do not differ in policy" "do not differ in policy.kind" study "$TMP/reps.db" --out "$ST/x"
expect_usage "study of a missing database" "cannot open" study "$ST/none.db"
# policy-compare.sh (issue 35): its table fits 120 columns and answers each scenario's question;
# run from another folder with relative paths, it keeps an existing database and adds to it.
mkdir -p "$ST/elsewhere"
here=$(pwd)
pc sim scenarios/default.ini --set run.stop_s=0.01 --db "$ST/elsewhere/pc.db" --quiet
(cd "$ST/elsewhere" && SCENARIOS="flood priorities" SIM_ARGS="--set run.stop_s=0.02" \
	sh "$here/scenarios/policy-compare.sh" "$(dirname "$here/$PRECRAFT")" pc.db > table.txt 2> /dev/null)
w=$(awk '{ if (length > m) m = length } END { print m + 0 }' "$ST/elsewhere/table.txt")
check "policy-compare.sh: 8 rows, at most 120 columns ($w)" \
	sh -c "[ $w -le 120 ] && [ \$(grep -c '^flood\\|^priorities' '$ST/elsewhere/table.txt') = 8 ]"
check "policy-compare.sh: the question column answers (flood: established flows' hits; priorities: high and low)" \
	sh -c "grep '^flood  *static' '$ST/elsewhere/table.txt' | grep -q 'established flows hit 0\\.[0-9]' && grep '^priorities  *adaptive ' '$ST/elsewhere/table.txt' | grep -q 'hits: high 0\\.[0-9]*, low 0\\.'"
check "policy-compare.sh: the database it was given kept its run and gained 8" \
	[ "$(sqlite3 "$ST/elsewhere/pc.db" 'SELECT count(*) FROM run')" = 9 ]
# The narrow-link study (issue 38): each compressor against none on two narrow hops, at four
# loss rates; on the IoT hop without loss, header compression pays (delay and goodput).
(sh scenarios/narrow.sh "$(dirname "$PRECRAFT")" "$ST/narrow.db" "$ST/narrow" > "$ST/narrow.txt" 2>&1)
rc=$?
check "narrow.sh: exit $rc, two study pages" sh -c "[ $rc -eq 0 ] && [ -s '$ST/narrow/narrow-iot/index.html' ] && [ -s '$ST/narrow/narrow-satellite/index.html' ]"
row=$(grep -o '<td>0</td><td>header</td><td>5</td>.*' "$ST/narrow/narrow-iot/index.html" | head -1)
check "narrow.sh: IoT hop, no loss, header: p50 gain and goodput change above 0, pays ($(echo "$row" | sed 's/<[^>]*>/ /g' | cut -c1-90))" \
	sh -c "echo '$row' | grep -q 'class=\"v1\">pays<' && echo '$row' | awk -F'</td><td>' '{ exit !(\$6 + 0 > 0) }'"
check "narrow.sh: the headline figures drawn" sh -c "ls '$ST/narrow/narrow-iot'/headline-header.svg '$ST/narrow/narrow-satellite'/headline-header.svg > /dev/null 2>&1"
expect_usage "study --compare without a baseline" "KEY=BASELINE" study "$ST/s.db" --compare policy.kind
expect_usage "study --metrics with three names" "four scalar names" study "$ST/s.db" --metrics a,b,c
