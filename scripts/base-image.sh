#!/usr/bin/env bash
# Makes the base image every ferry image builds on, once: Debian 12 (bookworm) minbase from
# Debian's own repositories with debootstrap, imported into podman as
# localhost/debian:bookworm-minbase. No registry is needed (none may be reachable); a second
# run finds the image and does nothing.
#   scripts/base-image.sh            uses podman's default storage
#   PODMAN="podman --root R --runroot RR" scripts/base-image.sh   a private store
set -euo pipefail

PODMAN=${PODMAN:-podman}
IMAGE=localhost/debian:bookworm-minbase
$PODMAN image exists "$IMAGE" && exit 0

# The mirror this machine's apt uses (deb822 or the one-line format), else Debian's CDN.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
  grep -v security | head -n1 || true)
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/ferry-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "base-image: debootstrap --variant=minbase bookworm from $mirror (about a minute)"
start=$(date +%s)
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  exit 1
}
# apt in the image reaches the same mirror as the host.
rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
$PODMAN import --quiet --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  "$work/rootfs.tar" "$IMAGE" >/dev/null
echo "base-image: $IMAGE made in $(($(date +%s) - start)) s"
