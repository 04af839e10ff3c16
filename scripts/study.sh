#!/bin/sh
# make study [QUICK=1] [MPI=N]: the shipped study, "where does pre-crafting pay?"
# (scenarios/study.ini): offered load x tunnel (none, ESP) x capture (SMB2 bulk, FIX
# request/response, DNS small packets) x policy (off, static, adaptive), 5 replications each,
# through `precraft sweep` (-j 2, or mpirun -np N with MPI=N) into study/study.db, then
# `precraft study` writes study/index.html; then the narrow-link study (scenarios/narrow.sh:
# header compression on two narrow hops) writes study/narrow-satellite/ and study/narrow-iot/.
# A study/study.db left by an earlier run is finished (--resume: only the runs it lacks are
# run), never deleted: remove study/ to start again.
# Usage: sh scripts/study.sh BUILD_DIR full|quick [MPI_RANKS]
set -eu
B=$1
what=${2:-full}
ranks=${3:-}
if [ "$what" = quick ]; then
	loads=0.3,0.6,0.9
else
	loads=0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95
fi
mkdir -p study
db=study/study.db
resume=""
[ -f "$db" ] && resume=--resume && echo "study: $db exists: finishing it (--resume); remove study/ to start again" >&2
set -- sweep scenarios/study.ini --grid "run.load=$loads" --grid shaper.tunnel=none,default.tunnel \
	--grid source.main.file=../traces/zeek-smb2.pcap,../traces/ndpi-fix.pcap,../traces/pcapplusplus-DnsPackets.pcap \
	--grid policy.kind=off,static,adaptive --runs 5 --db "$db" --quiet $resume
start=$(date +%s)
if [ -n "$ranks" ]; then
	mpirun --allow-run-as-root --oversubscribe -np "$ranks" "$B/precraft" "$@"
else
	"$B/precraft" "$@" -j 2
fi
"$B/precraft" study "$db" --out study
# The narrow-link part: header compression on a satellite-like and an IoT hop (study/narrow-*).
sh scenarios/narrow.sh "$B" study/narrow.db study > study/narrow.txt
echo "study: $(( $(date +%s) - start )) s; open study/index.html (and study/narrow-satellite/, study/narrow-iot/)" >&2
