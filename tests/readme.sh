# tests/readme.sh: the README's commands run as written (issue 35), sourced by integration.sh
# (after lib.sh).  In a folder of its own that looks like a fresh clone after `make demo`
# (build/, traces/, scenarios/, scripts/ linked; the demo run there first), every command line
# of the README's code blocks that starts with build/precraft, sh scenarios/, cmp, sqlite3 or
# mpirun (continued over '\' lines) is run with sh, and must exit 0.  Left out, and said: make
# (its own targets are the suite), hil/lab (needs the lab, tested in the lab part), mpirun when
# OpenMPI is absent, and transcripts ('$ ' lines).
RMD="$TMP/readme"
mkdir -p "$RMD"
root=$(pwd)
case $PRECRAFT in /*) bin=$PRECRAFT ;; *) bin="$root/$PRECRAFT" ;; esac
ln -s "$(dirname "$bin")" "$RMD/build"
for d in traces scenarios scripts hil; do ln -s "$root/$d" "$RMD/$d"; done
(cd "$RMD" && sh scripts/demo.sh build/precraft > demo.log 2>&1) || bad "README: make demo's script in a fresh folder (see $RMD/demo.log)"
awk '
	/^```/ { fence = !fence; next }
	{ code = fence || /^    [^ ]/ }
	!code { cont = 0; next }
	{ line = $0; sub(/^    /, "", line) }
	cont { cmd = cmd "\n" line; cont = line ~ /\\$/; if (!cont) print cmd "\n\036"; next }
	line ~ /^(build\/precraft |sh scenarios\/|cmp |sqlite3 |mpirun )/ {
		cmd = line; cont = line ~ /\\$/; if (!cont) print cmd "\n\036"
	}
' README.md > "$TMP/readme.cmds"
n=0
failed=""
while IFS= read -r l || [ -n "$l" ]; do
	if [ "$l" != "$(printf '\036')" ]; then
		printf '%s\n' "$l" >> "$TMP/readme.one"
		continue
	fi
	cmd=$(cat "$TMP/readme.one")
	rm -f "$TMP/readme.one"
	# Leak checking is off under mpirun, as in sweep.sh: OpenMPI keeps what MPI_Init allocates.
	leaks=1
	case $cmd in mpirun*) command -v mpirun > /dev/null || { echo "skip (no OpenMPI): $cmd"; continue; }; leaks=0 ;; esac
	n=$((n + 1))
	if ! (cd "$RMD" && ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=$leaks" sh -c "$cmd") < /dev/null > "$TMP/readme.out" 2>&1; then
		failed="$failed [$(echo "$cmd" | head -1 | cut -c1-70)]"
		tail -3 "$TMP/readme.out"
	fi
done < "$TMP/readme.cmds"
check "README: its $n commands run as written after make demo${failed:+ (failed:$failed)}" sh -c "[ $n -ge 15 ] && [ -z '$failed' ]"
