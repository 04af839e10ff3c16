#!/bin/sh
# Installs the Debian packages precraft needs, but only when something is missing, so that
# `make`, `make test` and `make demo` can call it every time at no cost.
set -e
need=""
pkg-config --exists libpcap gsl sqlite3 cunit zlib libsodium libcrypto ompi-c 2>/dev/null || need=yes
command -v libnet-config >/dev/null 2>&1 || pkg-config --exists libnet 2>/dev/null || need=yes
# sysctl (procps), ip (iproute2) and ethtool: the HIL lab; valgrind: the uninitialised-read pass of make
# test; GNU time and tcpreplay: peak memory and the lab anchor in make bench; clang and its
# libFuzzer runtime: make fuzz (and the fuzzing minute of make test); tshark and openssl (with
# libssl-dev's libcrypto): the tunnel's independent checks and make bench's AEAD anchor.
# chromium and xmllint (libxml2-utils): the report's checks in a headless browser and of its
# FlowMonitor XML.  OpenMPI (libopenmpi-dev, openmpi-bin): sweeps under mpirun.
for tool in gnuplot tcpdump ip ethtool sqlite3 sysctl valgrind /usr/bin/time tcpreplay clang tshark openssl chromium xmllint mpirun; do
	command -v "$tool" >/dev/null 2>&1 || need=yes
done
# XGBoost (libxgboost-dev): training the xgb predictor.
[ -e /usr/include/xgboost/c_api.h ] || need=yes
# ns-3 (libns3-dev): make bench's anchors, measured in the same run.
[ -e /usr/include/ns3/core-module.h ] || need=yes
[ -n "$(find /usr/lib/llvm-* -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null | head -1)" ] || need=yes
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "precraft: missing build dependencies; run 'sudo $0' once" >&2
	exit 1
fi
echo "precraft: installing missing Debian packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential pkg-config libpcap-dev libnet1-dev libgsl-dev libsqlite3-dev \
	libcunit1-dev zlib1g-dev libsodium-dev gnuplot-nox tcpdump iproute2 ethtool procps sqlite3 valgrind time tcpreplay \
	clang libclang-rt-dev libssl-dev openssl tshark chromium libxml2-utils libopenmpi-dev openmpi-bin libxgboost-dev libns3-dev >/dev/null
