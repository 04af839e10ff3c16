#!/bin/sh
# pgo-train.sh PRECRAFT: the training run of the profile-guided build (Makefile, PGO): the
# instrumented program through what users run most, on the shipped scenarios and captures only
# (not make bench's workload): simulations of the research scenarios (trace and synthetic
# sources, the tunnel, several CPUs), replays in every mode, a sweep point's statistics.  The
# profile it leaves decides which paths are compiled for speed; paths it does not run are compiled
# as without a profile.
set -eu
P=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/precraft-pgo.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
export PRECRAFT_DATA="$(pwd)/scenarios"
for s in default shaper-idle shaper-saturated flows-10k priorities loss-1pct flood; do
	"$P" sim "scenarios/$s.ini" --db "$T/r.db" --quiet --set run.stop_s=1
done
"$P" sim scenarios/tunnel-30.ini --db "$T/r.db" --quiet --set run.stop_s=0.3
"$P" sim scenarios/flows-10k.ini --db "$T/r.db" --quiet --set shaper.cpus=2 --set run.stop_s=0.5
"$P" sim scenarios/default.ini --db "$T/r.db" --quiet --set run.stats_interval_ms=10 --set run.stop_s=2
for f in traces/*.pcap traces/*.pcapng; do
	"$P" replay "$f" --timed --db "$T/r.db" --quiet > /dev/null
	for m in precraft shadow baseline; do
		"$P" replay "$f" --mode "$m" --quiet > /dev/null
	done
done
