# tests/hostile.sh: the hostile-input suite, sourced by integration.sh (after lib.sh).
# build/hostile-gen writes one capture per attack class (tests/hostile/gen.c) and all.pcap
# with every class; all.pcap goes through every predictor, every policy, with and without
# --snat, with the default flow table and with one of 16 flows (eviction under a flood), in
# baseline, precraft and shadow mode.  Required: every egress identical to the baseline's of
# the same --snat and --flows (whatever the mode, predictor or policy), shadow exits 0 (no
# divergence), and every class alone replays without a crash in every mode.
GEN=${HOSTILE_GEN:-$(dirname "$PRECRAFT")/hostile-gen}
HD="$TMP/hostile"
mkdir -p "$HD"
if ! "$GEN" "$HD" > "$HD/classes.txt"; then
	bad "hostile: the generator failed"
else
	ok "hostile: $(wc -l < "$HD/classes.txt") captures, $(awk '$1 == "all" { print $2 }' "$HD/classes.txt") frames"
	"$PRECRAFT" train "$HD/all.pcap" --model ml -o "$HD/ml.model" > /dev/null
	"$PRECRAFT" train "$HD/all.pcap" --model xgb -o "$HD/xgb.model" > /dev/null || bad "hostile: xgb does not train on the attack corpus"
	for cls in $(awk '$1 != "all" { print $1 }' "$HD/classes.txt"); do
		r=""
		for m in baseline precraft shadow; do
			pc replay "$HD/$cls.pcap" --mode "$m" --snat 198.18.0.1 --egress "$HD/c-$m.pcap" --quiet
			r="$r$?"
		done
		if [ "$r" = 000 ] && cmp -s "$HD/c-baseline.pcap" "$HD/c-precraft.pcap" && cmp -s "$HD/c-baseline.pcap" "$HD/c-shadow.pcap"; then
			ok "hostile class $cls: egress identical in the three modes"
		else
			bad "hostile class $cls: exits $r, or the egress differs"
		fi
	done
	for flows in 65536 16; do
		for nat in "" "--snat 198.18.0.1"; do
			set -- --flows "$flows" $nat
			label="--flows $flows${nat:+ --snat}"
			"$PRECRAFT" replay "$HD/all.pcap" --mode baseline "$@" --egress "$HD/ref.pcap" --quiet
			for pol in off static adaptive; do
				"$PRECRAFT" replay "$HD/all.pcap" --mode baseline --policy $pol "$@" --egress "$HD/b.pcap" --quiet
				cmp -s "$HD/ref.pcap" "$HD/b.pcap" || bad "hostile: baseline egress under --policy $pol differs ($label)"
				for pred in $("$PRECRAFT" predictors | awk '{ print $1 }'); do
					mf=""
					[ "$pred" = ml ] && mf="--model-file $HD/ml.model"
					[ "$pred" = xgb ] && mf="--model-file $HD/xgb.model"
					# shellcheck disable=SC2086
					"$PRECRAFT" replay "$HD/all.pcap" --mode precraft --predictor "$pred" $mf --policy $pol "$@" --egress "$HD/p.pcap" --quiet
					rp=$?
					# shellcheck disable=SC2086
					"$PRECRAFT" replay "$HD/all.pcap" --mode shadow --predictor "$pred" $mf --policy $pol "$@" --egress "$HD/s.pcap" --quiet
					rs=$?
					if [ $rp -eq 0 ] && [ $rs -eq 0 ] && cmp -s "$HD/ref.pcap" "$HD/p.pcap" && cmp -s "$HD/ref.pcap" "$HD/s.pcap"; then
						ok "hostile: egress identical, 0 divergences: $pred, --policy $pol, $label"
					else
						bad "hostile: $pred, --policy $pol, $label: exits $rp/$rs or the egress differs from the baseline's"
					fi
				done
			done
		done
	done
fi

# The reproducers of issue 10 (tests/data/repro), each with what it once broke.
R=tests/data/repro
same_egress() { # same_egress FILE ARGS...: every mode and policy sends what baseline with --policy off sends
	f=$1
	shift
	"$PRECRAFT" replay "$f" --mode baseline --policy off "$@" --egress "$HD/r-ref.pcap" > "$HD/r-ref.txt" || return 1
	for m in baseline precraft shadow; do
		for pol in off static adaptive; do
			"$PRECRAFT" replay "$f" --mode $m --policy $pol "$@" --egress "$HD/r.pcap" --quiet || return 1
			cmp -s "$HD/r-ref.pcap" "$HD/r.pcap" || return 1
		done
	done
}
check "repro: an IPv6 jumbo length that wraps 32 bits is malformed, in every mode and policy" same_egress "$R/ipv6-jumbo-length-wraps.pcap"
check "repro: the jumbo frames are counted as malformed ($(awk '$1 == "parse_malformed_l3" { print $2 }' "$HD/r-ref.txt"))" \
	[ "$(awk '$1 == "parse_malformed_l3" { print $2 }' "$HD/r-ref.txt")" -ge 8 ]
check "repro: wire lengths below the IP header's offset: the fast path sends what the slow path sends" \
	same_egress "$R/wirelen-below-l3-offset.pcap" --snat 198.18.0.1
check "repro: a flood into a full table with --snat: the policy does not change the egress" \
	same_egress "$R/snat-full-table-flood.pcap" --snat 198.18.0.1 --flows 16
