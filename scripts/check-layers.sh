#!/bin/sh
# make check-layers: reads every #include line of the sources and fails when a folder uses one
# that doc/DESIGN.md's layout table (the project's copy of the design notes) does not allow.
#   core/      core/ and libc; analysis/ core/err.h and core/recorder.h, the interfaces it
#              implements; traces/ core/; models/ core/ traces/; sim/ and hil/ core/ models/
#              traces/; cli/ everything; tests and benchmarks everything; tools/ (the
#              generators of the captures the lab and benchmarks replay) core/ traces/ sim/;
#              ns3/ (the C++ adapter to ns-3) cli/host.h, the C interface it drives, and ns-3.
# Libraries: <pcap/pcap.h> only in traces/trace.c (and its test, which checks it against libpcap) and hil/pcapio.c, <libnet.h> only in
# hil/netio.c, <sqlite3.h> only in analysis/store*.c (and tests/), <mpi.h> only in cli/sweep_mpi.c,
# <xgboost/c_api.h> only in models/xgb_train.c, <sodium.h> only in cli/cli.c and core/crypto.c, OpenSSL only in core/crypto.c (both
# also in tests and benchmarks: the tunnel's independent check), GSL nowhere
# in core/.
# Prints one line per violation and "check-layers: N files, N violations".
set -u
cd "$(dirname "$0")/.."
allowed() { # allowed FOLDER INCLUDED-PATH
	case $1 in
	cli | tests | bench | doc) return 0 ;;
	esac
	case $1:$2 in
	*:"$1"/*) return 0 ;;
	core:*) return 1 ;;
	analysis:core/err.h | analysis:core/recorder.h) return 0 ;;
	traces:core/*) return 0 ;;
	models:core/* | models:traces/*) return 0 ;;
	sim:core/* | sim:models/* | sim:traces/*) return 0 ;;
	hil:core/* | hil:models/* | hil:traces/*) return 0 ;;
	tools:core/* | tools:traces/* | tools:sim/*) return 0 ;;
	ns3:cli/host.h) return 0 ;;
	esac
	return 1
}
lib_allowed() { # lib_allowed FILE HEADER
	case $2 in
	pcap.h | pcap/*) case $1 in traces/trace.c | traces/trace_test.c | hil/pcapio.c | tests/esp/decrypt.c) return 0 ;; esac; return 1 ;;
	libnet.h) [ "$1" = hil/netio.c ] ;;
	sqlite3.h) case $1 in analysis/store*.c | analysis/store_impl.h | analysis/store_test.c | tests/*) return 0 ;; esac; return 1 ;;
	mpi.h) [ "$1" = cli/sweep_mpi.c ] ;;
	xgboost/*) [ "$1" = models/xgb_train.c ] ;;
	sodium.h) case $1 in cli/cli.c | core/crypto.c | tests/* | *_test.c | bench/*) return 0 ;; esac; return 1 ;;
	openssl/*) case $1 in core/crypto.c | tests/* | *_test.c | bench/*) return 0 ;; esac; return 1 ;;
	gsl/*) case $1 in core/*) return 1 ;; esac; return 0 ;;
	*) return 0 ;;
	esac
}
# One awk pass prints "FILE<TAB>q|s<TAB>HEADER" for every include line; the shell judges them.
files=$( { find core models traces sim hil analysis cli tests bench tools -name '*.[ch]'; find ns3 -name '*.cc' -o -name '*.h'; } | sort)
bad=0
tab=$(printf '\t')
list=$(awk '
	/^[ \t]*#[ \t]*include[ \t]*"/ { h = $0; sub(/^[^"]*"/, "", h); sub(/".*/, "", h); print FILENAME "\tq\t" h }
	/^[ \t]*#[ \t]*include[ \t]*</ { h = $0; sub(/^[^<]*</, "", h); sub(/>.*/, "", h); print FILENAME "\ts\t" h }
' $files)
while IFS="$tab" read -r f kind inc; do
	[ -n "$f" ] || continue
	dir=${f%%/*}
	case $f in *_test.c) dir=tests ;; esac
	if [ "$kind" = q ]; then
		# A name without a folder is the including file's own folder.
		case $inc in */*) path=$inc ;; *) path=${f%/*}/$inc ;; esac
		if ! allowed "$dir" "$path"; then
			echo "$f: includes \"$inc\": $dir/ may not use ${path%%/*}/"
			bad=$((bad + 1))
		fi
	elif ! lib_allowed "$f" "$inc"; then
		echo "$f: includes <$inc>: only its adapter file may"
		bad=$((bad + 1))
	fi
done <<EOF2
$list
EOF2
# The scripts' calls: which of the programs the build makes each folder's scripts may run.
# The lab (hil/lab) drives precraft and the helpers it needs (tracegen's RFC 2544 frames,
# esp-decrypt's independent check of the tunnel); the research scripts (scenarios/*.sh) and the
# project's own (scripts/*.sh) run precraft alone.  The benchmarks and tests run anything.
programs="precraft tracegen esp-decrypt bench hostile-gen run_tests"
call_allowed() { # call_allowed SCRIPT PROGRAM
	case $1:$2 in
	*:precraft) return 0 ;;
	hil/*:tracegen | hil/*:esp-decrypt) return 0 ;;
	esac
	return 1
}
scripts="hil/lab $(ls scenarios/*.sh scripts/*.sh | grep -v check-layers.sh)"
for f in $scripts; do
	for prog in $programs; do
		# A program is called by its path: build/NAME, $B/NAME, $(dirname "$PRECRAFT")/NAME.
		if grep -Eq "(build[a-z/]*|\\\$B|\\\$BUILD|\\\$\\(dirname \"\\\$PRECRAFT\"\\))/$prog([^a-z_-]|\$)" "$f" &&
			! call_allowed "$f" "$prog"; then
			echo "$f: runs $prog: ${f%%/*}/ scripts may not"
			bad=$((bad + 1))
		fi
	done
done
echo "check-layers: $(echo "$files" | wc -l) files, $(echo "$scripts" | wc -w) scripts, $bad violations"
[ "$bad" -eq 0 ]
