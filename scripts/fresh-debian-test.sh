#!/bin/sh
# scripts/fresh-debian-test.sh: `make test` as a new user runs it, on a fresh minimal Debian 12
# (debootstrap --variant=minbase with build-essential, git, ca-certificates and pkg-config only),
# in a chroot of its own, from a clone of this checkout's HEAD.  The chroot's root is bind-
# mounted onto itself so that `ip netns exec` works inside it.  Needs root and Debian's mirror;
# takes a while (the packages `make deps` installs are downloaded).  Not part of make test.
#   sh scripts/fresh-debian-test.sh [DIR]     (default /var/tmp/precraft-fresh; removed after)
set -eu
[ "$(id -u)" = 0 ] || { echo "fresh-debian-test: needs root" >&2; exit 2; }
command -v debootstrap > /dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap > /dev/null; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
CH=${1:-/var/tmp/precraft-fresh}
cleanup() {
	for m in "$CH/work/shared" "$CH/sys" "$CH/proc" "$CH/dev/pts" "$CH/dev" "$CH/run" "$CH"; do
		mountpoint -q "$m" 2>/dev/null && umount -l "$m"
	done
	rm -rf "$CH"
}
trap cleanup EXIT INT TERM
cleanup
mkdir -p "$CH"
debootstrap --variant=minbase --include=build-essential,git,ca-certificates,pkg-config bookworm "$CH" \
	http://deb.debian.org/debian > "$CH.debootstrap.log" 2>&1 || { tail -20 "$CH.debootstrap.log" >&2; exit 1; }
mount --bind "$CH" "$CH"
mount -t proc proc "$CH/proc"
mount -t sysfs sysfs "$CH/sys"
mount --bind /dev "$CH/dev"
mount --bind /dev/pts "$CH/dev/pts"
mount -t tmpfs tmpfs "$CH/run"
cp /etc/resolv.conf "$CH/etc/resolv.conf"
mkdir -p "$CH/work"
git clone -q "$SRC" "$CH/work/main"
if [ -d "$SRC/../shared" ]; then
	mkdir -p "$CH/work/shared"
	mount --bind -o ro "$SRC/../shared" "$CH/work/shared"
fi
rc=0
chroot "$CH" /bin/sh -c 'cd /work/main && CI=true make test < /dev/null' > "$CH.test.log" 2>&1 || rc=$?
tail -3 "$CH.test.log"
echo "fresh-debian-test: make test exit $rc (log: $CH.test.log)"
exit $rc
