# tests/ns3.sh: precraft inside ns-3 (build/precraft-ns3, make ns3), sourced by integration.sh
# (after lib.sh).  PRECRAFT_NS3 names the program; empty when ns-3 (libns3-dev) is not installed,
# and then these checks are skipped with the reason.
#   - cross-validation: a scenario through ns-3's links and the shaper node gives every scalar,
#     flow row, histogram bin and time-series row of `precraft sim` equal (but link.out's backlog,
#     which is ns-3's there), on three scenarios (one with run.load, stop_s and the tunnel);
#   - the leaf-spine fabric: every flow complete, FCT by bucket, a flow row per flow,
#     FlowMonitor's XML well formed; hits with pre-crafting and none with it off; ns-3's own
#     routers in the same fabric; the same run twice, the same content;
#   - the VPN: both gateways seal and open, bulk and transactions complete, both ciphers;
#   - precraft summary groups ns-3 runs by policy; sweep --exec -j 2 (and mpirun -np 2) give the
#     content of -j 1;
#   - bad input: one line, exit 2.
PRECRAFT_NS3=${PRECRAFT_NS3:-}
if [ -z "$PRECRAFT_NS3" ] || [ ! -x "$PRECRAFT_NS3" ]; then
	echo "skip ns-3: precraft-ns3 not built (ns-3's headers, /usr/include/ns3, absent: make deps installs libns3-dev)"
else
NS="$TMP/ns3"
mkdir -p "$NS"
nsq() { sqlite3 "$1" "$2" 2> /dev/null; }
# Every scalar of the newest run of A against B's (same names): how many, how many equal.
same_scalars() {
	sqlite3 "$1" "ATTACH '$2' AS o;
	  SELECT count(*) || ' ' || sum(a.value = b.value) FROM scalar a JOIN o.scalar b ON a.name = b.name
	  WHERE a.run_id = (SELECT max(id) FROM main.run) AND b.run_id = (SELECT max(id) FROM o.run)"
}
for s in default shaper-saturated tunnel-30; do
	set -- ; [ $s = tunnel-30 ] && set -- --set run.stop_s=0.05
	"$PRECRAFT" sim "scenarios/$s.ini" "$@" --db "$NS/sim-$s.db" --quiet
	rs=$?
	set -- ; [ $s = tunnel-30 ] && set -- --set=run.stop_s=0.05
	"$PRECRAFT_NS3" --scenario="scenarios/$s.ini" "$@" --db="$NS/ns3-$s.db" --quiet
	rn=$?
	r=$(same_scalars "$NS/sim-$s.db" "$NS/ns3-$s.db")
	check "ns-3 cross-validation, $s: $r scalars equal to precraft sim's (exit $rs/$rn)" \
		sh -c "[ $rs -eq 0 ] && [ $rn -eq 0 ] && [ '${r% *}' -ge 99 ] && [ '${r% *}' = '${r#* }' ]"
	d=$(sqlite3 "$NS/sim-$s.db" "ATTACH '$NS/ns3-$s.db' AS o;
	  SELECT (SELECT count(*) FROM flow) || ' ' || (SELECT count(*) FROM histogram) || ' ' || (SELECT count(*) FROM vector) || ' ' || (
	  (SELECT count(*) FROM (SELECT flow_id, src, dst, sport, dport, packets, bytes, hits, misses, delay_sum_ns, jitter_sum_ns, lost, first_ns, last_ns FROM main.flow
	   EXCEPT SELECT flow_id, src, dst, sport, dport, packets, bytes, hits, misses, delay_sum_ns, jitter_sum_ns, lost, first_ns, last_ns FROM o.flow)) + 
	  (SELECT count(*) FROM (SELECT name, bin_lo, bin_hi, count FROM main.histogram EXCEPT SELECT name, bin_lo, bin_hi, count FROM o.histogram)) +
	  (SELECT count(*) FROM (SELECT name, t_ns, value FROM main.vector WHERE name != 'link_out_backlog' EXCEPT SELECT name, t_ns, value FROM o.vector)) +
	  (SELECT count(*) FROM (SELECT name, t_ns, value FROM o.vector EXCEPT SELECT name, t_ns, value FROM main.vector)) +
	  abs((SELECT count(*) FROM main.flow) - (SELECT count(*) FROM o.flow)) + abs((SELECT count(*) FROM main.histogram) - (SELECT count(*) FROM o.histogram)))")
	set -- $d
	check "ns-3 cross-validation, $s: $1 flow rows, $2 histogram bins, $3 time-series rows; $4 differ (link.out's backlog aside)" \
		sh -c "[ '$1' -gt 0 ] && [ '$2' -gt 0 ] && [ '$3' -gt 0 ] && [ '$4' = 0 ]"
done
hits=$(nsq "$NS/ns3-default.db" "SELECT value FROM scalar WHERE name = 'hits'")
check "ns-3 cross-validation: the default scenario's hits are there ($hits)" sh -c "[ '${hits%.*}' -gt 1000 ]"

# A small fabric: 1 spine, 2 leaves, 4 hosts each, 2 ms of flows.
LS="--topology=leafspine --set=ns3.spines=1 --set=ns3.leaves=2 --set=ns3.hosts=4 --set=ns3.duration_ms=2"
for p in off static; do
	# shellcheck disable=SC2086
	"$PRECRAFT_NS3" $LS --policy=$p --db="$NS/ls.db" > "$NS/ls-$p.txt" 2>&1
	rc=$?
	id=$(nsq "$NS/ls.db" "SELECT max(id) FROM run")
	v() { nsq "$NS/ls.db" "SELECT CAST(value AS INTEGER) FROM scalar WHERE run_id = $id AND name = '$1'"; }
	fl=$(v flows); done_=$(v flows_done); h=$(v hits); rows=$(nsq "$NS/ls.db" "SELECT count(*) FROM flow WHERE run_id = $id AND last_ns > 0")
	fct=$(v fct_p99_ns_all)
	xml="$NS/ls.db-run$id.flowmon.xml"
	if [ $p = off ]; then want="[ '$h' -eq 0 ]"; else want="[ '$h' -gt 0 ]"; fi
	check "ns-3 leafspine, policy $p: $done_ of $fl flows complete, $rows flow rows, FCT p99 ${fct} ns, hits $h (exit $rc)" \
		sh -c "[ $rc -eq 0 ] && [ '$fl' -gt 5 ] && [ '$done_' = '$fl' ] && [ '$rows' = '$fl' ] && [ '${fct:-0}' -gt 0 ] && $want"
	check "ns-3 leafspine, policy $p: FlowMonitor's XML well formed, a <Flow> per direction" \
		sh -c "xmllint --noout '$xml' && [ \$(grep -c '<Flow flowId' '$xml') -ge $((2 * fl)) ]"
done
# shellcheck disable=SC2086
"$PRECRAFT_NS3" $LS --policy=static --db="$NS/ls2.db" --flowmon=none --quiet
# shellcheck disable=SC2086
"$PRECRAFT_NS3" $LS --policy=static --db="$NS/ls2.db" --flowmon=none --quiet
d=$(sqlite3 "$NS/ls2.db" "SELECT count(*) FROM (SELECT name, value FROM scalar WHERE run_id = 1 EXCEPT SELECT name, value FROM scalar WHERE run_id = 2)")
n=$(nsq "$NS/ls2.db" "SELECT count(*) FROM scalar WHERE run_id = 1")
check "ns-3 leafspine: the same run twice, the same $n scalars ($d differ)" sh -c "[ '$n' -gt 100 ] && [ '$d' = 0 ]"
# shellcheck disable=SC2086
"$PRECRAFT_NS3" $LS --switches=ns3 --db="$NS/ls3.db" --flowmon=none --quiet
rc=$?
fl=$(nsq "$NS/ls3.db" "SELECT CAST(value AS INTEGER) FROM scalar WHERE name = 'flows'")
dn=$(nsq "$NS/ls3.db" "SELECT CAST(value AS INTEGER) FROM scalar WHERE name = 'flows_done'")
check "ns-3 leafspine with ns-3's own routers: $dn of $fl flows complete (exit $rc)" sh -c "[ $rc -eq 0 ] && [ '$fl' -gt 5 ] && [ '$dn' = '$fl' ]"
"$PRECRAFT" summary "$NS/ls.db" --by policy.kind --metric fct_p99_ns_all,hits > "$NS/summary.txt" 2>&1
rc=$?
check "precraft summary groups ns-3 runs by policy.kind (exit $rc)" sh -c "[ $rc -eq 0 ] && grep -q static '$NS/summary.txt' && grep -q off '$NS/summary.txt'"

# The shipped closed-loop scenarios load and run (shortened).
for s in leafspine vpn; do
	"$PRECRAFT_NS3" --scenario="scenarios/$s.ini" --set=ns3.duration_ms=0.5 --set=ns3.hosts=2 --db="$NS/shipped.db" --flowmon=none --quiet
	rc=$?
	check "ns-3: scenarios/$s.ini runs (shortened; exit $rc)" sh -c "[ $rc -eq 0 ] && [ \"\$(sqlite3 '$NS/shipped.db' 'SELECT status FROM run ORDER BY id DESC LIMIT 1')\" = complete ]"
done

# The VPN: 2 hosts a site, 10 ms of traffic (bulk at a tenth of the WAN), both ciphers.
for c in chacha20-poly1305 aes-256-gcm; do
	"$PRECRAFT_NS3" --topology=vpn --set=ns3.hosts=2 --set=ns3.duration_ms=10 --set=ns3.rr=2 --set=ns3.bulk=1 --load=0.1 \
		--set=ns3.cipher=$c --db="$NS/vpn.db" --flowmon=none --quiet
	rc=$?
	id=$(nsq "$NS/vpn.db" "SELECT max(id) FROM run")
	v() { nsq "$NS/vpn.db" "SELECT CAST(value AS INTEGER) FROM scalar WHERE run_id = $id AND name = '$1'"; }
	sa=$(v gwA.esp_packets); sb=$(v gwB.esp_packets); oa=$(v gwA.esp_in_packets); ob=$(v gwB.esp_in_packets)
	tx=$(v transactions); txd=$(v flows_done_rr_all); bd=$(v bulk_done)
	check "ns-3 vpn, $c: gateways sealed $sa / $sb and opened $oa / $ob; $txd of $tx transactions, $bd of 2 bulk done (exit $rc)" \
		sh -c "[ $rc -eq 0 ] && [ '$sa' -gt 100 ] && [ '$sb' -gt 100 ] && [ '$oa' -gt 100 ] && [ '$ob' -gt 100 ] &&
		       [ '$tx' -gt 0 ] && [ '$txd' = '$tx' ] && [ '$bd' = 2 ]"
done

# Sweeps: runs by precraft-ns3, alone, in 2 workers and over 2 MPI ranks: the same content.
SWN="--grid policy.kind=off,static --grid ns3.load=0.3,0.6 --runs 2 --exec $PRECRAFT_NS3"
SWN="$SWN --set ns3.topology=leafspine --set ns3.spines=1 --set ns3.leaves=2 --set ns3.hosts=2 --set ns3.duration_ms=1"
ns_content() { sqlite3 "$1" "WITH k AS (SELECT r.id, (SELECT value FROM run_param WHERE run_id = r.id AND name = 'sweep.point') || '#' || r.run_number AS key FROM run r WHERE status = 'complete')
	SELECT key, name, printf('%.17g', value) FROM scalar JOIN k ON k.id = run_id
	UNION ALL SELECT key, 'run', command FROM run JOIN k ON k.id = run.id
	UNION ALL SELECT key, flow_id, src || dst || sport || bytes || first_ns || last_ns FROM flow JOIN k ON k.id = run_id ORDER BY 1, 2, 3"; }
# shellcheck disable=SC2086
"$PRECRAFT" sweep scenarios/default.ini $SWN --db "$NS/sw1.db" --quiet
r1=$?
# shellcheck disable=SC2086
"$PRECRAFT" sweep scenarios/default.ini $SWN --db "$NS/sw2.db" --quiet -j 2
r2=$?
ns_content "$NS/sw1.db" > "$NS/sw1.txt"
ns_content "$NS/sw2.db" > "$NS/sw2.txt"
n=$(nsq "$NS/sw1.db" "SELECT count(*) FROM run WHERE status = 'complete'")
check "sweep --exec precraft-ns3: $n runs; -j 2 the content of -j 1 (exit $r1/$r2)" \
	sh -c "[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ '$n' = 8 ] && [ -s '$NS/sw1.txt' ] && cmp -s '$NS/sw1.txt' '$NS/sw2.txt'"
if command -v mpirun > /dev/null 2>&1; then
	# shellcheck disable=SC2086
	mpirun --allow-run-as-root --oversubscribe -x ASAN_OPTIONS=detect_leaks=0 -np 2 \
		"$PRECRAFT" sweep scenarios/default.ini $SWN --db "$NS/swm.db" --quiet > "$NS/mpi.log" 2>&1
	rm=$?
	ns_content "$NS/swm.db" > "$NS/swm.txt"
	check "mpirun -np 2 sweep --exec precraft-ns3: the content of -j 1 (exit $rm)" sh -c "[ $rm -eq 0 ] && cmp -s '$NS/sw1.txt' '$NS/swm.txt'"
else
	bad "mpirun not found: make deps installs openmpi-bin"
fi

# Bad input: one line, exit 2.
ns_usage() { # ns_usage NAME PATTERN ARGS...
	name=$1 pat=$2
	shift 2
	"$PRECRAFT_NS3" "$@" > /dev/null 2> "$NS/err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l < "$NS/err")" -eq 1 ] && grep -q -- "$pat" "$NS/err"; then ok "precraft-ns3 usage error: $name"
	else bad "precraft-ns3 usage error: $name (exit $rc: $(cat "$NS/err"))"; fi
}
ns_usage "unknown topology" "ns3.topology" --topology=ring
ns_usage "a scenario that does not exist" "no-such.ini" --scenario=no-such.ini
ns_usage "a load out of range" "ns3.load" --topology=leafspine --load=2
ns_usage "Gilbert-Elliott loss on ns-3's links" "Gilbert-Elliott" --set=link.in.loss=gilbert
ns_usage "--switches=ns3 outside leafspine" "switches" --switches=ns3
fi
