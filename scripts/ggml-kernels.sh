#!/usr/bin/env bash
# Prints the llama.cpp build options for the CPU kernels this machine runs beyond the x86-64-v3
# (AVX2) baseline of .cargo/config.toml, as NAME=ON words for `export`:
#
#     export $(scripts/ggml-kernels.sh)
#
# `make` does the same for every build it runs. llama-cpp-sys-2 passes any GGML_* variable to
# llama.cpp's CMake; only llama.cpp changes, the Rust code stays x86-64-v3. An option already set
# in the environment is left as it is (GGML_AVX512=OFF keeps the portable AVX2 kernels).
#   GGML_AVX512       AVX-512 F, CD, VL, DQ and BW: 32 vector registers, so llama.cpp's 8-bit
#                     matrix kernel computes up to four sequences per read of the weights
#   GGML_AVX512_VNNI  byte dot products in one instruction
# Nothing is printed off x86-64 or on a CPU without AVX-512. The engine refuses to start on a CPU
# lacking what its llama.cpp was compiled with (src/copy/engine/kernels.rs), so a binary carried
# to an older machine says so instead of dying of an illegal instruction.
set -euo pipefail

[ "$(uname -m)" = x86_64 ] || exit 0
flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
has() { [[ $flags == *" $1 "* ]]; }

out=()
if [ -z "${GGML_AVX512+set}" ] \
    && has avx512f && has avx512cd && has avx512vl && has avx512dq && has avx512bw; then
    out+=(GGML_AVX512=ON)
    if [ -z "${GGML_AVX512_VNNI+set}" ] && has avx512_vnni; then
        out+=(GGML_AVX512_VNNI=ON)
    fi
fi
echo "${out[*]}"
