#!/usr/bin/env bash
# Lays out a runtime image's whole file system in ROOTFS: the given binaries (in
# /usr/local/bin), exactly the shared libraries `ldd` says they load (and the dynamic
# loader), the copyright files of the Debian packages those come from, a non-root user
# `ferry` (uid and gid 10001) and its data dir /var/lib/ferry. Nothing else: no shell, no
# package manager. Runs in the build stage of the Dockerfiles (ferryd's and the examples').
#   scripts/image-rootfs.sh ROOTFS BINARY...
set -euo pipefail

root=$1
shift
bins=("$@")

mkdir -p "$root"/usr/local/bin "$root"/etc "$root"/var/lib/ferry "$root"/tmp
for b in "${bins[@]}"; do
  install -m 0755 -s "$b" "$root/usr/local/bin/"
done

# Every library ldd resolves (a "not found" fails the build), copied to the path it was
# found at; the loader by its own path.
libs=$(for b in "${bins[@]}"; do ldd "$b"; done |
  awk '/not found/ { print "MISSING " $1; next }
       /=>/ { if ($3 ~ /^\//) print $3; next }
       $1 ~ /^\// { print $1 }' | sort -u)
if grep -q '^MISSING' <<<"$libs"; then
  echo "image-rootfs: unresolved libraries: $(grep '^MISSING' <<<"$libs" | tr '\n' ' ')" >&2
  exit 1
fi
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
ldconfig -r "$root"  # the loader's cache, so it finds them without searching

# Licences of what ships: the copyright file of each package a library comes from.
for lib in $libs; do
  real=$(readlink -f "$lib")
  dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || true
done | cut -d: -f1 | sort -u | while read -r pkg; do
  if [ -f "/usr/share/doc/$pkg/copyright" ]; then
    mkdir -p "$root/usr/share/doc/$pkg"
    cp "/usr/share/doc/$pkg/copyright" "$root/usr/share/doc/$pkg/"
  fi
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
ferry:x:10001:10001:ferry:/var/lib/ferry:/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
ferry:x:10001:
EOF
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chown 10001:10001 "$root/var/lib/ferry"
chmod 1777 "$root/tmp"
echo "image-rootfs: $(du -sh "$root" | cut -f1) in $root ($(wc -w <<<"$libs") libraries)"
