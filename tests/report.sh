# tests/report.sh: reports and exports of a results database, sourced by integration.sh (after
# lib.sh).  A real sim run (the default scenario), a replay run (no time series: figures say
# so), a tunnel sim run and eval runs into one database; then:
#   - precraft report: every page loads in headless Chromium, every image it shows decoded
#     (the page counts the images the browser could not show), every link and image resolves to
#     a non-empty file; each figure's data file has the rows the database has;
#   - gnuplot missing: the pages say why a figure is missing, the report still completes;
#   - bad input: not a precraft database, a run that does not exist, a missing file: one line, exit 2;
#   - compare-runs: every scalar of both runs, difference and ratio;
#   - export --csv: the row counts of the database; --flowmon: xmllint parses it and its totals
#     are the flow table's.
RD="$TMP/report"
mkdir -p "$RD"
RDB="$RD/r.db"
pc sim scenarios/default.ini --db "$RDB" --quiet
pc replay traces/ndpi-fix.pcap --db "$RDB" --quiet
pc sim scenarios/tunnel-30.ini --set run.stop_s=0.05 --db "$RDB" --quiet
"$PRECRAFT" eval traces/ndpi-fix.pcap traces/zeek-smb2.pcap --models last,markov1,header --db "$RDB" > /dev/null
q() { sqlite3 "$RDB" "$1"; }
nruns=$(q "SELECT count(*) FROM run")
check "report: $nruns runs in the database" [ "$nruns" -eq 9 ]
out=$(pc report "$RDB" --out "$RD/html" 2>&1)
check "report writes the pages ($out)" sh -c "[ -s '$RD/html/index.html' ] && [ -s '$RD/html/run-1.html' ] && [ -s '$RD/html/run-9.html' ]"

# Every figure's data file against the database.
bad_rows=""
for name in $(q "SELECT DISTINCT name FROM vector WHERE run_id = 1"); do
	db=$(q "SELECT count(*) FROM vector WHERE run_id = 1 AND name = '$name'")
	f=$(grep -vc '^#' "$RD/html/run-1-ts-$name.dat")
	[ "$db" = "$f" ] || bad_rows="$bad_rows ts-$name($db/$f)"
done
for name in $(q "SELECT DISTINCT name FROM histogram WHERE run_id = 1"); do
	db=$(q "SELECT count(*) FROM histogram WHERE run_id = 1 AND name = '$name'")
	f=$(($(grep -vc '^#' "$RD/html/run-1-cdf-$name.dat") - 1)) # less the curve's starting row
	[ "$db" = "$f" ] || bad_rows="$bad_rows cdf-$name($db/$f)"
done
for r in 1 3; do
	db=$(q "SELECT count(*) FROM flow WHERE run_id = $r")
	f=$(grep -vc '^#' "$RD/html/run-$r-flows.dat")
	[ "$db" = "$f" ] || bad_rows="$bad_rows flows-$r($db/$f)"
done
db=$(q "SELECT count(*) FROM run_param WHERE name = 'model'")
f=$(grep -v '^#' "$RD/html/eval-size_exact_acc.dat" | awk '{ n += NF - 1 } END { print n }')
[ "$db" = "$f" ] || bad_rows="$bad_rows leaderboard($db/$f)"
db=$(q "SELECT count(*) FROM (SELECT DISTINCT p.value, h.bin_lo FROM histogram h JOIN run_param p ON p.run_id = h.run_id AND p.name = 'model' WHERE h.name = 'calibration_predictions')")
f=$(cat "$RD/html"/eval-calibration-*.dat | grep -vc '^#')
[ "$db" = "$f" ] || bad_rows="$bad_rows calibration($db/$f)"
# Per class of flow: a cell for each (class, model) that scored packets of that class, the
# packet-weighted mean of its captures; a calibration file per (class, model).
db=$(q "SELECT count(*) FROM (SELECT DISTINCT p.value, s.name FROM scalar s JOIN run_param p ON p.run_id = s.run_id AND p.name = 'model' WHERE s.name IN ('class_short_packets_scored', 'class_reqresp_packets_scored', 'class_bulk_packets_scored', 'class_media_packets_scored') AND s.value > 0)")
f=$(grep -v '^#' "$RD/html/eval-class-size_exact_acc.dat" | awk '{ for (i = 2; i <= NF; i++) n += $i != "NaN" } END { print n + 0 }')
[ "$db" = "$f" ] && [ "$f" -gt 0 ] || bad_rows="$bad_rows per-class($db/$f)"
want=$(q "SELECT sum(s.value * w.value) / sum(w.value) FROM scalar s JOIN scalar w ON w.run_id = s.run_id AND w.name = 'class_short_packets_scored' JOIN run_param p ON p.run_id = s.run_id AND p.name = 'model' AND p.value = 'header' WHERE s.name = 'class_short_size_exact_acc'")
got=$(awk '$1 == "\"short\"" { print $4 }' "$RD/html/eval-class-size_exact_acc.dat")
awk -v a="$want" -v b="$got" 'BEGIN { exit !(a - b < 1e-5 && b - a < 1e-5) }' || bad_rows="$bad_rows per-class-short-header($want/$got)"
check "report: each figure's data file has the database's rows${bad_rows:+ (differ:$bad_rows)}" [ -z "$bad_rows" ]
check "report: the replay run (no time series) says so on its page" grep -q "No time series in the database" "$RD/html/run-2.html"
# A model scored in place and leave-one-capture-out: two entries of the leaderboard, not one.
"$PRECRAFT" eval traces/ndpi-fix.pcap traces/zeek-smb2.pcap --models ml --db "$RD/cross.db" > /dev/null
"$PRECRAFT" eval traces/ndpi-fix.pcap traces/zeek-smb2.pcap --models ml --cross --db "$RD/cross.db" > /dev/null
pc report "$RD/cross.db" --out "$RD/cross" > /dev/null 2>&1
check "report: eval --cross runs are their own leaderboard entry" sh -c "head -1 '$RD/cross/eval-size_exact_acc.dat' | grep -qx '# capture ml ml (cross)' && [ \"\$(grep -v '^#' '$RD/cross/eval-size_exact_acc.dat' | awk '{ n += NF - 1 } END { print n }')\" = 4 ]"

# Links and images resolve to non-empty files.
broken=""
for page in "$RD/html"/*.html; do
	for ref in $(grep -o -e 'src="[^"]*"' -e 'href="[^"]*"' "$page" | sed 's/^[a-z]*="//; s/"$//'); do
		[ -s "$RD/html/$ref" ] || broken="$broken $(basename "$page"):$ref"
	done
done
check "report: every link and image resolves to a non-empty file${broken:+ (broken:$broken)}" [ -z "$broken" ]
nimg=$(cat "$RD/html"/*.html | grep -o '<img ' | wc -l)
check "report: $nimg figures drawn" [ "$nimg" -ge 20 ]

# The pages in a real browser.
if command -v chromium > /dev/null; then
	bad_pages=""
	for page in "$RD/html"/*.html; do
		dom=$(timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 --dump-dom "file://$page" 2> /dev/null)
		imgs=$(echo "$dom" | sed -n 's/.*data-images="\([0-9]*\)".*/\1/p' | head -1)
		brk=$(echo "$dom" | sed -n 's/.*data-broken-images="\([0-9]*\)".*/\1/p' | head -1)
		want=$(grep -o '<img ' "$page" | wc -l)
		{ [ -n "$imgs" ] && [ "$imgs" = "$want" ] && [ "$brk" = 0 ] && echo "$dom" | grep -q '<h1>'; } ||
			bad_pages="$bad_pages $(basename "$page")(images ${imgs:-?}/$want, broken ${brk:-?})"
	done
	check "report: every page loads in headless Chromium, every image decoded${bad_pages:+ ($bad_pages)}" [ -z "$bad_pages" ]
	timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2400 \
		--screenshot="$RD/shot.png" "file://$RD/html/run-1.html" > /dev/null 2>&1
	check "report: a screenshot of a run's page ($(wc -c < "$RD/shot.png" 2> /dev/null) bytes)" [ -s "$RD/shot.png" ]
else
	bad "report: chromium is not installed (make deps installs it)"
fi

# gnuplot missing: the report completes and its pages say why figures are missing.
mkdir -p "$RD/nognuplot"
for t in sqlite3 sh; do ln -sf "$(command -v $t)" "$RD/nognuplot/$t"; done
PATH="$RD/nognuplot" "$PRECRAFT" report "$RDB" --run 1 --out "$RD/nog" > /dev/null 2> "$RD/nog.err"
rc=$?
check "report without gnuplot: exit 0, pages say why, one line on stderr ($(cat "$RD/nog.err"))" \
	sh -c "[ $rc -eq 0 ] && grep -q 'gnuplot is not installed' '$RD/nog/run-1.html' && [ \$(wc -l < '$RD/nog.err') -eq 1 ]"

# Bad input: one line, exit 2.
expect_usage "report on a file that is not a results database" "not a precraft results database" report Makefile --out "$RD/x"
sqlite3 "$RD/other.db" 'CREATE TABLE notes(x); INSERT INTO notes VALUES(1);'
expect_usage "report on another program's database" "not a precraft results database" report "$RD/other.db" --out "$RD/x"
expect_usage "report on a missing database" "cannot open" report "$RD/none.db" --out "$RD/x"
expect_usage "report of a run that does not exist" "no run 99 (the database has 9 runs)" report "$RDB" --run 99 --out "$RD/x"
expect_usage "report --format jpg" "svg or png" report "$RDB" --format jpg
expect_usage "compare-runs with a run that does not exist" "no run 42" compare-runs "$RDB" 1 42
expect_usage "export without a format" "say what to write" export "$RDB"
pc report "$RDB" --run 1 --format png --out "$RD/png" > /dev/null
check "report --format png draws PNG figures" sh -c "[ \"\$(head -c 4 '$RD/png/run-1-latency-cdf.png' | tail -c 3)\" = PNG ]"

# compare-runs: every scalar of the two runs.
pc compare-runs "$RDB" 1 3 > "$RD/cmp.txt"
n1=$(q "SELECT count(*) FROM (SELECT name FROM scalar WHERE run_id = 1 UNION SELECT name FROM scalar WHERE run_id = 3)")
nl=$(awk 'NR > 2 && /scalars differ/ { exit } NR > 2 { n++ } END { print n }' "$RD/cmp.txt")
check "compare-runs lists the $n1 scalars of both runs ($nl lines)" [ "$n1" = "$nl" ]
check "compare-runs shows difference and ratio" sh -c "awk '\$1 == \"packets_in\" { ok = (NF == 5) } END { exit !ok }' '$RD/cmp.txt'"

# Exports.
pc export "$RDB" --csv "$RD/csv" --flowmon "$RD/flows.xml" > "$RD/export.txt"
bad_csv=""
for t in run:runs run_param:params scalar:scalars vector:vectors histogram:histograms flow:flows; do
	db=$(q "SELECT count(*) FROM ${t%%:*}")
	f=$(($(wc -l < "$RD/csv/${t#*:}.csv") - 1))
	[ "$db" = "$f" ] || bad_csv="$bad_csv ${t#*:}($db/$f)"
done
check "export --csv: every table's rows${bad_csv:+ (differ:$bad_csv)}" [ -z "$bad_csv" ]
if command -v xmllint > /dev/null; then
	check "export --flowmon: xmllint parses it" xmllint --noout "$RD/flows.xml"
	tx=$(xmllint --xpath 'sum(//FlowStats/Flow/@txPackets)' "$RD/flows.xml")
	lost=$(xmllint --xpath 'sum(//FlowStats/Flow/@lostPackets)' "$RD/flows.xml")
	nfl=$(xmllint --xpath 'count(//FlowStats/Flow)' "$RD/flows.xml")
	ncl=$(xmllint --xpath 'count(//Ipv4FlowClassifier/Flow) + count(//Ipv6FlowClassifier/Flow)' "$RD/flows.xml")
	dbtx=$(q "SELECT sum(packets) FROM flow") dblost=$(q "SELECT sum(lost) FROM flow") dbn=$(q "SELECT count(*) FROM flow")
	check "export --flowmon: totals are the database's (flows $nfl/$dbn, classifiers $ncl, txPackets $tx/$dbtx, lost $lost/$dblost)" \
		sh -c "[ '$nfl' = '$dbn' ] && [ '$ncl' = '$dbn' ] && [ '$tx' = '$dbtx' ] && [ '$lost' = '$dblost' ]"
else
	bad "xmllint is not installed (make deps installs it)"
fi

# Metric against the one parameter runs differ in, with the 95 % interval over replications.
CDB="$RD/ci.db"
for p in 0.01 0.05; do
	for r in 1 2 3; do
		pc sim scenarios/loss-1pct.ini --set link.in.loss_p=$p --run $r --db "$CDB" --quiet
	done
done
pc report "$CDB" --out "$RD/ci" > /dev/null
check "report: the runs differ in one parameter, named on the page" grep -q 'differ in 1 parameter.*link.in.loss_p' "$RD/ci/index.html"
check "report: hit ratio against link.in.loss_p: 2 values, 3 replications each, intervals > 0" \
	sh -c "grep -v '^#' '$RD/ci/grid-hit_ratio-by-link.in.loss_p.dat' | awk '\$4 == 3 && \$3 > 0 { n++ } END { exit n != 2 }'"
# precraft summary: the same means and intervals, per group of runs.
pc summary "$CDB" --by link.in.loss_p --metric hit_ratio > "$RD/summary.txt"
mean=$(grep -v '^#' "$RD/ci/grid-hit_ratio-by-link.in.loss_p.dat" | awk 'NR == 1 { printf "%.6g", $2 }')
check "summary: 2 groups of 3 replications, the report's mean ($mean)" \
	sh -c "awk '\$2 == \"hit_ratio\" && \$6 == 3 { n++ } \$1 == \"0.01\" { m = \$3 } END { d = m - $mean; exit !(n == 2 && d * d < 1e-6 * $mean * $mean) }' '$RD/summary.txt'"
expect_usage "summary of a scalar no run has" "no run has the scalar 'nope'" summary "$CDB" --metric nope
expect_usage "summary by a parameter no run has" "no run has the parameter 'nope'" summary "$CDB" --by nope
