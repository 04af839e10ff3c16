#!/bin/sh
# The VPN study inside ns-3 (scenarios/vpn.ini): bulk throughput and transaction times through
# the two gateways at half and 90 % of the WAN, keystream pre-computation off (shaper.ks_depth =
# 0) and on (8 a SA), with ChaCha20-Poly1305 and AES-256-GCM (its cost profile aes-gcm.costs),
# 5 replications each (about 10 minutes on 2 cores), by
# `precraft sweep --exec build/precraft-ns3`, then the summary (mean, 95 % CI).
# Usage: sh scenarios/vpn.sh [BUILD_DIR] [DB]   (default: build, vpn.db; resumed when it exists)
set -eu
here=$(pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
B=$(abs "${1:-build}")
DB=$(abs "${2:-vpn.db}")
cd "$(dirname "$0")/.."
[ -x "$B/precraft-ns3" ] || { echo "vpn.sh: $B/precraft-ns3 not built (make ns3)" >&2; exit 2; }
resume=""
[ -f "$DB" ] && resume=--resume
"$B/precraft" sweep scenarios/vpn.ini --grid ns3.load=0.5,0.9 --grid ns3.cipher=chacha20-poly1305,aes-256-gcm --grid shaper.ks_depth=0,8 \
	--runs 5 -j 2 --exec "$B/precraft-ns3" --db "$DB" --quiet $resume
"$B/precraft" summary "$DB" --by ns3.load,ns3.cipher,shaper.ks_depth \
	--metric bulk_throughput_mbps,bulk_throughput_min_mbps,fct_mean_ns_rr_all,fct_p99_ns_rr_all,gwA.latency_p50_ns,gwA.latency_p99_ns,gwA.cpu_packet_ns,gwA.cpu_craft_ns,gwB.latency_p50_ns,gwA.esp_sealed_keystream,flows_done_rr_all
