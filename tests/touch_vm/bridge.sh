# foot's end of the kiosk's terminal line in the touch VM (tests/touch_vm/guest.sh runs foot with
# it, as nobody): foot's terminal in raw mode, its name left in /run/bridge/tty (the guest answers
# the test's `size` from it), then the terminal joined to the virtio port shelftalk.term both
# ways, byte for byte. On the host the port is a tmux client of the kiosk's session.
set -eu
exec 3<> /dev/virtio-ports/shelftalk.term
stty raw -echo
tty > /run/bridge/tty.new
mv /run/bridge/tty.new /run/bridge/tty
cat <&3 &
exec cat >&3
