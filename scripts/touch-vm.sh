#!/usr/bin/env bash
# Prepares the touch VM of tests/display_touch.rs in target/touch-vm (once; again when Debian's
# kernel or Debian 13's foot changes):
#   vmlinuz, initrd.gz   Debian 12's amd64 kernel (the Debian package linux-image-amd64 names the
#                        version) and a busybox initramfs with the modules the VM needs: virtio and
#                        9p (the host's / shared read-only, a writable share for screenshots),
#                        virtio_console (the terminal line and the control line to the test),
#                        uinput and evdev (the emulated touch screen)
#   foot/                foot 1.21 from Debian 13 (trixie) with its libraries and Debian 13's C
#                        library, unpacked, never installed: foot takes touch input from 1.15 on,
#                        Debian 12 has 1.13. The guest runs it through Debian 13's own loader.
# Every download comes from deb.debian.org and is checked against the SHA-256 in Debian's signed
# package index (the kernel through apt; foot's packages against trixie's Packages file, fetched
# over HTTPS). x86_64 hosts only (qemu-system-x86_64 runs the VM); elsewhere it does nothing.
set -euo pipefail

[ "$(uname -m)" = x86_64 ] || { echo "touch VM: x86_64 only, skipped" >&2; exit 0; }
cd "$(dirname "$0")/.."
out=target/touch-vm
mirror=https://deb.debian.org/debian
foot_packages=(foot libfcft4t64 libutf8proc3 libc6)
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache
         9pnet 9pnet_virtio 9p overlay virtio_console uinput evdev)

kernel=$(apt-cache depends linux-image-amd64 2>/dev/null |
         awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$kernel" ] || { echo "error: touch VM: apt knows no linux-image-amd64 (apt-get update?)" >&2; exit 1; }
stamp="$kernel script:$(sha256sum "$0" | cut -c1-16) foot:$(printf '%s ' "${foot_packages[@]}") modules:${modules[*]}"
if [ -f "$out/ready" ] && [ "$(cat "$out/ready")" = "$stamp" ]; then
  exit 0
fi
echo "preparing the touch VM ($kernel, foot from Debian 13) in $out" >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"

# The kernel and the modules, from the package apt downloads and verifies.
sandbox=()
[ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root) # root's temporary directory is 0700
# A stale package list names a kernel the mirror no longer has: refresh it once and ask again.
if ! (cd "$work" && apt-get download -qq "${sandbox[@]}" "$kernel" >/dev/null); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  kernel=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  (cd "$work" && apt-get download -qq "${sandbox[@]}" "$kernel" >/dev/null)
fi
mkdir "$work/kernel"
patterns=("./boot/vmlinuz-*")
for m in "${modules[@]}"; do patterns+=("*/$m.ko"); done
dpkg-deb --fsys-tarfile "$work"/"$kernel"_*.deb |
  tar -x -C "$work/kernel" --wildcards "${patterns[@]}"
cp "$work"/kernel/boot/vmlinuz-* "$out/vmlinuz"

# The initramfs: busybox, the modules in load order, and an init that mounts the host's / (read
# only) under a tmpfs overlay as the guest's root (the guest writes where it needs to, /tmp for
# Xwayland's sockets say, and nothing reaches the host), a tmpfs on /run, and the test's share on
# /run/out, then runs the guest script the kernel command line names
# (`guest=…`, passed to init in its environment).
ird="$work/initramfs"
mkdir -p "$ird"/{bin,dev,proc,sys,host,rw,newroot,modules}
cp "$(command -v busybox)" "$ird/bin/busybox"
file "$ird/bin/busybox" 2>/dev/null | grep -q 'statically linked' ||
  ldd "$ird/bin/busybox" 2>&1 | grep -q 'not a dynamic' ||
  { echo "error: touch VM: busybox is not static (Debian package busybox-static)" >&2; exit 1; }
for m in "${modules[@]}"; do
  found=$(find "$work/kernel/lib/modules" -name "$m.ko" | head -1)
  [ -n "$found" ] || { echo "error: touch VM: module $m not in $kernel" >&2; exit 1; }
  cp "$found" "$ird/modules/"
  echo "$m.ko" >> "$ird/modules/order"
done
cat > "$ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
fail() { echo "touch VM init: $*"; echo o > /proc/sysrq-trigger; sleep 60; }
for m in $(cat /modules/order); do insmod "/modules/$m" || fail "insmod $m"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot /host || fail "mount the host's /"
mount -t tmpfs tmpfs /rw && mkdir /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
  fail "overlay the host's /"
for d in proc sys dev; do mount --move "/$d" "/newroot/$d"; done
mount -t tmpfs tmpfs /newroot/run
mkdir -p /newroot/run/out
mount -t 9p -o trans=virtio,version=9p2000.L out /newroot/run/out || fail "mount the share"
[ -n "$guest" ] || fail "no guest= on the kernel command line"
exec switch_root /newroot /bin/sh "$guest"
INIT
chmod 755 "$ird/init"
(cd "$ird" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$OLDPWD/$out/initrd.gz")

# foot and what it needs that Debian 12 lacks, from Debian 13's index (checked by SHA-256).
curl -fsS -o "$work/Packages.xz" "$mirror/dists/trixie/main/binary-amd64/Packages.xz"
xz -d "$work/Packages.xz"
mkdir "$out/foot"
for p in "${foot_packages[@]}"; do
  read -r file sha < <(awk -v p="$p" '
    /^Package: / { hit = ($2 == p) }
    hit && /^Filename: / { f = $2 }
    hit && /^SHA256: / { print f, $2; exit }' "$work/Packages")
  [ -n "${file:-}" ] || { echo "error: touch VM: $p not in Debian 13's index" >&2; exit 1; }
  curl -fsS -o "$work/$p.deb" "$mirror/$file"
  echo "$sha  $work/$p.deb" | sha256sum -c --quiet -
  dpkg-deb -x "$work/$p.deb" "$out/foot"
done
# Only foot, its libraries, the loader and the C library are used; the rest is not kept.
rm -rf "$out/foot/usr/share/locale" "$out/foot/usr/share/doc" "$out/foot/usr/share/man" \
       "$out/foot/usr/lib/x86_64-linux-gnu/gconv"
echo "$stamp" > "$out/ready"
echo "touch VM ready: $(du -sh "$out" | cut -f1) in $out" >&2
