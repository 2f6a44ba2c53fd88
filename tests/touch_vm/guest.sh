# The touch VM's own script (tests/display_touch.rs starts the VM; scripts/touch-vm.sh makes its
# kernel and initramfs). It runs as root, as the first process, once the initramfs has mounted
# the host's / (read-only, under a tmpfs overlay: nothing written reaches the host) as the root,
# a tmpfs on /run and the test's writable share on /run/out. The kernel command line gives it
# `guest` (this file), `foot_root` (Debian 13's foot, unpacked) and `foot_ini` (the appliance's
# foot.ini).
#
# It brings up a kiosk's display as the appliance has it, with a touch screen: udev, seatd (the
# seat: input devices for a compositor that is not root), a uinput multi-touch screen
# (touchscreen.py), and cage running foot as nobody (headless output, libinput input). foot's terminal
# is the virtio port shelftalk.term (bridge.sh), a tmux client of the kiosk on the host. Then it
# serves the test on the virtio port shelftalk.control, one request per line, one answer line:
#   size         foot's terminal size -> "size ROWS COLS XPIXEL YPIXEL"
#   tap FX FY    a finger down and up at (FX, FY), fractions of the screen -> "tapped X Y"
#   shot NAME    grim's screenshot of the output into the share as NAME -> "shot NAME" (or
#                "failed shot NAME")
#   off          powers the VM off
# What it prints goes to /run/out/guest.log, cage's and foot's output to /run/out/cage.log: the
# test shows both when it fails.
exec > /run/out/guest.log 2>&1
set -eux
export PATH=/usr/sbin:/usr/bin:/sbin:/bin # Debian's own programs (python3 with evdev), whatever the host adds
here=$(dirname "$guest")
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add
udevadm settle

# The touch screen, there from boot like a kiosk's panel. (cage opens the input devices present
# when it starts; with WLR_LIBINPUT_NO_DEVICES=1, which this script does not set, wlroots 0.16
# skips that and takes them in only at the first input event, so the first tap would be lost.)
mkfifo /run/touch.in /run/touch.out
python3 "$here/touchscreen.py" < /run/touch.in > /run/touch.out &
exec 8> /run/touch.in 7< /run/touch.out
read -r ready device <&7
echo "touch screen: $device"
udevadm settle

# The display side runs as nobody (cage refuses root), in a runtime directory of its own.
runtime=/run/user/65534
mkdir -p "$runtime" /run/home /run/bridge
chown 65534:65534 "$runtime" /run/home /run/bridge
chmod 700 "$runtime" /run/home
chmod 666 /dev/virtio-ports/shelftalk.term
seatd -g nogroup &
until [ -S /run/seatd.sock ]; do sleep 0.05; done
as_nobody() {
  setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH=/usr/bin:/bin HOME=/run/home \
    LANG=C.UTF-8 XDG_RUNTIME_DIR="$runtime" "$@"
}
lib="$foot_root/usr/lib/x86_64-linux-gnu"
as_nobody WLR_BACKENDS=headless,libinput WLR_RENDERER=pixman LIBSEAT_BACKEND=seatd \
  cage -- "$lib/ld-linux-x86-64.so.2" --library-path "$lib:/usr/lib/x86_64-linux-gnu" \
  "$foot_root/usr/bin/foot" --config "$foot_ini" sh "$here/bridge.sh" \
  > /run/out/cage.log 2>&1 &
set +x # what follows polls and serves many requests; it says what happened
until [ -e /run/bridge/tty ]; do sleep 0.05; done
echo "foot's terminal: $(cat /run/bridge/tty)"
# Ready when cage holds the touch screen open.
until ls -l "/proc/$(pidof -s cage)/fd" 2>/dev/null | grep -q " -> $device\$"; do sleep 0.05; done
echo "cage has opened $device; serving the test"
exec 9<> /dev/virtio-ports/shelftalk.control
while read -r request a b <&9; do
  case $request in
    size)
      echo "size $(python3 "$here/touchscreen.py" --size "$(cat /run/bridge/tty)")" >&9 ;;
    tap)
      echo "$a $b" >&8
      read -r answer <&7
      echo "$answer" >&9 ;;
    shot)
      if as_nobody WAYLAND_DISPLAY=wayland-0 grim "/run/out/$a"; then
        echo "shot $a" >&9
      else
        echo "failed shot $a" >&9
      fi ;;
    off)
      break ;;
    *)
      echo "unknown request $request" >&9 ;;
  esac
done
echo o > /proc/sysrq-trigger
