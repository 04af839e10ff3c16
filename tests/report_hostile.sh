# tests/report_hostile.sh: a results database whose names were chosen by an attacker (issue 34),
# sourced by integration.sh (after lib.sh).  Every kind of name the report draws (a parameter the
# runs differ in, a time series, a latency histogram, an eval run's model and capture) gets a
# newline followed by a gnuplot command ('!touch FILE', 'system(...)', a backquote): no file
# may appear, and every script the report leaves starts each line with set, unset or plot.
# Then the exports: CSV fields with ',', '"' and newlines read back by a CSV parser (RFC 4180),
# the FlowMonitor XML with '<', '&' and '"' in addresses read back by xmllint.
HD="$TMP/hostile-report"
mkdir -p "$HD"
HDB="$HD/h.db"
pc sim scenarios/default.ini --set run.stop_s=0.05 --db "$HDB" --quiet
pc sim scenarios/default.ini --set run.stop_s=0.05 --db "$HDB" --quiet
"$PRECRAFT" eval traces/ndpi-fix.pcap --models last --db "$HDB" > /dev/null
nl="' || char(10) || '"
evil() { # evil TAG: a name that ends gnuplot's string and runs commands, each making a file
	printf "x''%s!touch %s/pwn-%s-bang%sx=system(''touch %s/pwn-%s-sys'')%sset title ''\`touch %s/pwn-%s-bq\`" \
		"$nl" "$HD" "$1" "$nl" "$HD" "$1" "$nl" "$HD" "$1"
}
sqlite3 "$HDB" "
INSERT INTO run_param VALUES (1, '$(evil param)', '1');
INSERT INTO run_param VALUES (2, '$(evil param)', '2');
UPDATE vector_name SET name = '$(evil vector)' WHERE name = 'hit_ratio';
UPDATE vector_name SET name = 'cpu' || char(10) || '!touch $HD/pwn-vector2' WHERE name = 'pool_bytes';
UPDATE histogram SET name = 'latency$(evil hist)' WHERE name = 'latency';
UPDATE scalar SET name = '$(evil scalar)' WHERE name = 'dropped_no_route';
UPDATE run_param SET value = '$(evil model)' WHERE name = 'model';
UPDATE run_param SET value = 'a/$(evil trace)' WHERE name = 'trace';
UPDATE run SET git_rev = 'a,"b"' || char(10) || 'c' WHERE id = 2;
UPDATE run SET command = '$(evil command)' WHERE id = 1;
UPDATE flow SET src = '<a&b\"' || char(10) || 'c>', dst = 'x,y\"z' WHERE run_id = 1;
" || bad "report, hostile names: sqlite3 could not plant them"
pc report "$HDB" --out "$HD/html" > /dev/null 2> "$HD/report.err"
rc=$?
made=$(ls "$HD" | grep pwn- | tr '\n' ' ')
check "report, hostile names: exit $rc, no command ran${made:+ (made: $made)}" sh -c "[ $rc -eq 0 ] && [ -z '$made' ]"
check "report, hostile names: the figures were still drawn" sh -c "ls '$HD/html'/*.svg | grep -q grid- && ls '$HD/html'/*.svg | grep -q -- -ts-x && ls '$HD/html'/*.svg | grep -q eval-"
badl=$(cat "$HD/html"/*.gp | grep -v -e '^set ' -e '^unset ' -e '^plot ' -e '^$' | head -3)
check "report, hostile names: every script line is set, unset or plot${badl:+ (not: $badl)}" [ -z "$badl" ]
# The exports of the same database.
pc export "$HDB" --csv "$HD/csv" --flowmon "$HD/flows.xml" > /dev/null 2> "$HD/export.err"
rc=$?
check "export, hostile names: exit $rc ($(head -1 "$HD/export.err"))" [ $rc -eq 0 ]
check "export --flowmon, hostile addresses: xmllint parses it" sh -c "xmllint --noout '$HD/flows.xml' 2> /dev/null"
# The first classifier's source address, as xmllint reads it, against the database's.
xmllint --xpath 'string((//Ipv4FlowClassifier/Flow | //Ipv6FlowClassifier/Flow)[1]/@sourceAddress)' "$HD/flows.xml" > "$HD/x.src" 2> /dev/null
id=$(xmllint --xpath 'string((//Ipv4FlowClassifier/Flow | //Ipv6FlowClassifier/Flow)[1]/@flowId)' "$HD/flows.xml" 2> /dev/null)
sqlite3 "$HDB" "SELECT src FROM flow WHERE run_id = ${id:-0} / 4294967296 AND flow_id = ${id:-0} % 4294967296" > "$HD/d.src"
check "export --flowmon: an address with '<', '&', '\"' and a newline reads back as the database's" \
	sh -c "[ -n '$id' ] && [ \"\$(cat '$HD/x.src')\" = \"\$(cat '$HD/d.src')\" ]"
# RFC 4180: sqlite3's CSV reader gets back exactly the database's values (compared sorted: the
# export's order within a run is its own).
csvcheck() { # csvcheck FILE TABLE COLUMN
	sqlite3 "$HD/csv.db" "DROP TABLE IF EXISTS t" ".import --csv $1 t" 2> /dev/null || return 1
	[ "$(sqlite3 "$HD/csv.db" "SELECT quote($3) FROM t ORDER BY 1")" = \
	  "$(sqlite3 "$HDB" "SELECT quote(CAST($3 AS TEXT)) FROM $2 ORDER BY 1")" ]
}
for t in run:runs:command run:runs:git_rev run_param:params:name run_param:params:value scalar:scalars:name \
	vector:vectors:name flow:flows:src flow:flows:dst histogram:histograms:name; do
	tab=${t%%:*} rest=${t#*:}
	check "export --csv, hostile names: ${rest%%:*}.csv's ${rest#*:} reads back as the database's" \
		csvcheck "$HD/csv/${rest%%:*}.csv" "$tab" "${rest#*:}"
done
# A damaged vector chunk and a NULL scalar (issue 34, 8): summary, compare-runs, report and export
# keep working, name the damaged run in one line, and print no value for a NULL scalar (it was 0).
DDB="$HD/damaged.db"
pc sim scenarios/default.ini --set run.stop_s=0.05 --run 1 --db "$DDB" --quiet
pc sim scenarios/default.ini --set run.stop_s=0.05 --run 2 --db "$DDB" --quiet
sqlite3 "$DDB" "UPDATE vector_chunk SET samples = '[[1,2],[bad' WHERE rowid = (SELECT min(c.rowid) FROM vector_chunk c JOIN vector_name n ON n.id = c.vector_id WHERE n.run_id = 2); UPDATE scalar SET value = NULL WHERE name = 'hits' AND run_id = 1"
for c in "summary $DDB" "compare-runs $DDB 1 2" "report $DDB --out $HD/dmg" "export $DDB --csv $HD/dmgcsv"; do
	# shellcheck disable=SC2086
	pc $c > "$HD/dmg.out" 2> "$HD/dmg.err"
	rc=$?
	check "a damaged vector chunk: ${c%% *} exits 0 and names run 2 in one line ($(cat "$HD/dmg.err"))" \
		sh -c "[ $rc -eq 0 ] && [ \$(wc -l < '$HD/dmg.err') -eq 1 ] && grep -q 'run 2: a damaged chunk of vector' '$HD/dmg.err'"
done
pc compare-runs "$DDB" 1 2 2> /dev/null > "$HD/null.txt"
check "a NULL scalar is no value, not 0 ($(grep -w hits "$HD/null.txt" | tr -s ' '))" sh -c "awk '\$1 == \"hits\" && \$2 == \"-\" { ok = 1 } END { exit !ok }' '$HD/null.txt'"
check "report: the damaged run's page says so" grep -q "The database is damaged here" "$HD/dmg/run-2.html"
# A results database on read-only media (issue 34, 8): read as an immutable file, and said so
# in one line (it was "not a precraft results database": WAL needs its shared-memory file).
if [ "$(id -u)" = 0 ] && mkdir -p "$HD/ro" && mount -t tmpfs -o size=16m tmpfs "$HD/ro" 2> /dev/null; then
	pc sim scenarios/default.ini --set run.stop_s=0.05 --db "$HD/ro/r.db" --quiet
	mount -o remount,ro "$HD/ro"
	for c in "summary $HD/ro/r.db" "compare-runs $HD/ro/r.db 1 1" "report $HD/ro/r.db --out $HD/ro-report" "export $HD/ro/r.db --csv $HD/ro-csv"; do
		# shellcheck disable=SC2086
		pc $c > /dev/null 2> "$HD/ro.err"
		rc=$?
		check "a database on read-only media: ${c%% *} reads it and says so ($(cat "$HD/ro.err"))" \
			sh -c "[ $rc -eq 0 ] && [ \$(wc -l < '$HD/ro.err') -eq 1 ] && grep -q 'on read-only media: read as an immutable file' '$HD/ro.err'"
	done
	pc replay traces/ndpi-fix.pcap --db "$HD/ro/new.db" --quiet > /dev/null 2> "$HD/ro.err"
	check "--db on read-only media names the folder and why ($(cat "$HD/ro.err"))" grep -q "in the folder $HD/ro: Read-only file system" "$HD/ro.err"
	umount "$HD/ro"
else
	echo "skip: a database on read-only media (needs root for a tmpfs)"
fi
pc replay traces/ndpi-fix.pcap --db "$HD/no/such/folder/x.db" --quiet > /dev/null 2> "$HD/nf.err"
check "--db into a missing folder names it ($(cat "$HD/nf.err"))" grep -q "the folder $HD/no/such/folder: No such file or directory" "$HD/nf.err"
