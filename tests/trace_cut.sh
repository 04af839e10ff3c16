# tests/trace_cut.sh: a capture cut shorter while replay and sim read it (issue 34, 5), sourced
# by integration.sh (after lib.sh).  The reader maps the file: the page past the new end raised
# SIGBUS (exit 135, no word, the run left 'running').  Now: one line naming the file and the
# packet, exit 1, the run 'failed' with the packets before the cut recorded.  The cut is made
# while the process is stopped, right after the file is mapped, so that it lands mid-read.
CUT="$TMP/cut"
mkdir -p "$CUT"
src=traces/zeek-smb2.pcap
{ head -c 24 "$src"; i=0; while [ $i -lt 120 ]; do tail -c +25 "$src"; i=$((i + 1)); done; } > "$CUT/big.pcap"
cut_run() { # cut_run NAME ARGS...: runs precraft ARGS on a copy of big.pcap, cut to 20 MiB mid-read
	name=$1
	shift
	cp "$CUT/big.pcap" "$CUT/run.pcap"
	rm -f "$CUT/cut.db"
	"$PRECRAFT" "$@" --db "$CUT/cut.db" --quiet > /dev/null 2> "$CUT/err" &
	pid=$!
	i=0
	while ! grep -q "$CUT/run.pcap" /proc/$pid/maps 2> /dev/null && [ $i -lt 2000 ]; do
		sleep 0.005
		i=$((i + 1))
	done
	kill -STOP $pid 2> /dev/null
	truncate -s 20M "$CUT/run.pcap"
	kill -CONT $pid 2> /dev/null
	wait $pid
	rc=$?
	status=$(sqlite3 "$CUT/cut.db" "SELECT status FROM run" 2> /dev/null)
	pk=$(sqlite3 "$CUT/cut.db" "SELECT CAST(value AS INTEGER) FROM scalar WHERE name = 'packets_in'" 2> /dev/null)
	check "$name, its capture cut short mid-read: exit 1, one line, the run failed with ${pk:-no} packets kept ($(cat "$CUT/err"))" \
		sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$CUT/err') -eq 1 ] && grep -q 'run.pcap: packet [0-9]*: the file was cut short while it was read' '$CUT/err' && [ '$status' = failed ] && [ 0${pk} -gt 1000 ]"
}
cut_run "replay" replay "$CUT/run.pcap"
cut_run "sim" sim scenarios/default.ini --set source.main.file="$CUT/run.pcap"
