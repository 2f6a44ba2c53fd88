#!/usr/bin/env bash
# The appliance on ARM, built and run here: cross-compiles the release binary (llama.cpp included)
# with Debian's Rust (`rustc-web`, `cargo-web`, the target's `libstd-rust-web-dev`) and gcc cross
# toolchains, then runs it under qemu-user:
#   1. `selftest` with the default model (keys, integrity, model hash and load, a test generation
#      that must come from the model and pass the guardrails; its speed is printed),
#   2. `bench store` (sealing, opening, import on the emulated CPU),
#   3. the unit tests of the pure modules (crypto golden vectors, guardrails, numbers, ingest,
#      recommend, the wire format), so a byte-order or word-size bug shows.
#
# Usage: scripts/arm-check.sh [TARGET ...]
#   TARGET: aarch64 (default) and/or armv7. `ARM_CHECK_INSTALL=0` skips the apt-get step.
#   `ARM_PROFILE=arm-ci` builds with CI's profile (Cargo.toml: the release profile without fat
#   LTO and with parallel codegen) instead of the shipped `release`.
# Prints each step's wall time and, for the README, the binary size, `selftest` wall time and the
# generation speed under emulation beside the native x86 figures of the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
targets=("${@:-aarch64}")
profile=${ARM_PROFILE:-release}

say() { printf '\n== %s\n' "$*"; }
secs() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(secs)" 'BEGIN { printf "%.1f s", b - a }'; }

declare -A TRIPLE=([aarch64]=aarch64-unknown-linux-gnu [armv7]=armv7-unknown-linux-gnueabihf)
declare -A GNU=([aarch64]=aarch64-linux-gnu [armv7]=arm-linux-gnueabihf)
declare -A DEBARCH=([aarch64]=arm64 [armv7]=armhf)
declare -A QEMU=([aarch64]=qemu-aarch64 [armv7]=qemu-arm)

for t in "${targets[@]}"; do
    [[ -n "${TRIPLE[$t]:-}" ]] || { echo "unknown target '$t' (aarch64 or armv7)" >&2; exit 2; }
done

if [[ "${ARM_CHECK_INSTALL:-1}" == 1 ]]; then
    say "installing the cross toolchains (Debian packages)"
    packages=(rustc-web cargo-web qemu-user cmake libclang-dev)
    for t in "${targets[@]}"; do
        a=${DEBARCH[$t]} g=${GNU[$t]}
        dpkg --add-architecture "$a"
        packages+=("libstd-rust-web-dev:$a" "gcc-$g" "g++-$g" "libc6:$a")
    done
    export DEBIAN_FRONTEND=noninteractive
    # A mirror caught mid-sync for one architecture fails `update` for all; the index files that
    # did arrive are used and a missing package fails the install below, which names it.
    apt-get update -qq || echo "apt-get update reported errors; going on with the indexes it has"
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# Debian's cargo and rustc (they carry the ARM standard libraries); rustup's come first in PATH.
export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
export CARGO_TARGET_DIR="$ROOT/target/arm"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cargo --version

MODEL="$ROOT/models/gemma-3-270m-q4_k_m-en-zh.gguf"
[[ -f "$MODEL" ]] || models/fetch.sh

native="$ROOT/target/release/shelftalk"
for t in "${targets[@]}"; do
    triple=${TRIPLE[$t]} gnu=${GNU[$t]}
    upper=$(echo "$triple" | tr 'a-z-' 'A-Z_')
    lower=${triple//-/_}
    # qemu's -L prefix is only tried first: a path missing under it falls back to the host's. The
    # cross ld.so (libc6-<arch>-cross, /usr/$gnu/lib) reads the host's /etc/ld.so.cache, which lists
    # the multiarch /lib/$gnu/libc.so.6 of `libc6:<arch>` (another Debian build of glibc), so the
    # program ran with a dynamic loader and a libc from two builds. Their private ABI differs
    # (`_rtld_global`'s layout): the first pthread_create walked a list that is not one and spun
    # forever, before its clone. LD_LIBRARY_PATH comes before the cache: every library now comes
    # from the same sysroot as the loader, the one the binary was linked against.
    export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc"
    export "CARGO_TARGET_${upper}_RUNNER=${QEMU[$t]} -L /usr/$gnu -E LD_LIBRARY_PATH=/usr/$gnu/lib"
    export "CC_${lower}=$gnu-gcc" "CXX_${lower}=$gnu-g++" "AR_${lower}=$gnu-ar"
    export "BINDGEN_EXTRA_CLANG_ARGS_${lower}=--sysroot=/usr/$gnu"
    run=("${QEMU[$t]}" -L "/usr/$gnu" -E "LD_LIBRARY_PATH=/usr/$gnu/lib")

    say "$t: $profile build ($triple)"
    start=$(secs)
    cargo build --profile "$profile" --locked --target "$triple" --bin shelftalk
    bin="$CARGO_TARGET_DIR/$triple/$profile/shelftalk"
    echo "built in $(took "$start"); binary $(du -h "$bin" | cut -f1) ($(stat -c %s "$bin") bytes)"
    file "$bin" 2>/dev/null || true

    data=$(mktemp -d)
    trap 'rm -rf "$data"' EXIT
    export SHELFTALK_DATA_DIR="$data" SHELFTALK_MODEL_PATH="$MODEL"
    # Emulation runs the model 40-60x slower than this machine does natively (a 453-token prompt
    # took 165 s under qemu-aarch64 on 2 loaded cores): with 120 s the budget ran out before the
    # first token and the copy came from the template. 10 minutes for one copy.
    export SHELFTALK_ENGINE_BUDGET_MS=600000

    say "$t: keys, demo catalog"
    "${run[@]}" "$bin" keys init >/dev/null
    "${run[@]}" "$bin" import catalog demo/catalog.csv >/dev/null

    say "$t: selftest under qemu"
    # One test generation through the model (the catalog's first SKU, uncached): it must come from
    # the model and pass the guardrails, not merely be clean when the budget ran out (which
    # `selftest` accepts from a busy board). Its line gives the tokens and the generation speed.
    start=$(secs)
    report=$("${run[@]}" "$bin" selftest --json)
    echo "selftest under qemu: $(took "$start")"
    python3 - "$report" "under qemu" <<'EOF'
import json, sys
report, where = json.loads(sys.argv[1]), sys.argv[2]
for c in report["checks"]:
    print(f"{c['status']:<4} {c['name']:<10} {c['detail']}")
generation = next(c for c in report["checks"] if c["name"] == "generation")
if not report["healthy"] or generation["status"] != "ok" or "passed the guardrails" not in generation["detail"]:
    sys.exit(f"selftest {where}: not healthy, or the test copy did not come from the model through the guardrails")
EOF
    # The native figures are for comparison only: a native binary older than this checkout (it
    # is not rebuilt here) is reported and skipped, never fails the check.
    if [[ -x "$native" ]]; then
        start=$(secs)
        if native_report=$("$native" selftest --json 2>/dev/null); then
            echo "selftest native x86 (same data dir): $(took "$start")"
            python3 -c '
import json, sys
g = next(c for c in json.loads(sys.argv[1])["checks"] if c["name"] == "generation")
print("native x86 generation:", g["detail"])' "$native_report"
        else
            echo "native x86 selftest skipped: $native failed (stale? cargo build --release first)"
        fi
    fi

    say "$t: bench store under qemu"
    start=$(secs)
    "${run[@]}" "$bin" bench store
    echo "bench store under qemu: $(took "$start")"
    rm -rf "$data"
    trap - EXIT
    unset SHELFTALK_DATA_DIR SHELFTALK_MODEL_PATH SHELFTALK_ENGINE_BUDGET_MS

    say "$t: unit tests of the pure modules under qemu"
    start=$(secs)
    # The same profile as the binary: the dependencies built for it are reused.
    cargo test --profile "$profile" --locked --target "$triple" --lib -- \
        crypto:: copy::guardrails:: numbers:: ingest:: recommend:: wire:: vocab:: redact::
    echo "unit tests under qemu: $(took "$start")"
done
say "ARM check passed: ${targets[*]}"
