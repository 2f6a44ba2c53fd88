#!/usr/bin/env bash
# The long soak (issue 18 part 5): the real daemon in a tmux pane with the real model and a real
# SQLite file, driven by simulated shoppers for SOAK_SECS, sampled every SOAK_EVERY_SECS. The
# shoppers, the fast clock, what is sampled and the bounds it fails on are documented at the top
# of tests/soak.rs; the CI version is `soak_short` there (about 75 s).
#
#   scripts/soak.sh                      # 20 minutes, a sample a minute
#   SOAK_SECS=900 SOAK_EVERY_SECS=30 scripts/soak.sh
#
# Writes target/soak/long-<unix time>.csv (one line per sample, the summary as the last line,
# `# SOAK long: ...`) and long-<unix time>.stderr (the daemon's standard error), prints the
# summary, and exits non-zero when a bound is broken or the daemon panicked. Needs tmux and the
# model (models/fetch.sh). Say the machine's load when you quote its figures: copy latency on two
# cores shared with a build is not the kiosk's.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SECS="${SOAK_SECS:-1200}"
export SOAK_EVERY_SECS="${SOAK_EVERY_SECS:-60}"
export SHELFTALK_REQUIRE_MODEL=1
command -v tmux >/dev/null || { echo "soak.sh: tmux is needed" >&2; exit 2; }
echo "soak: ${SOAK_SECS} s of shoppers, a sample every ${SOAK_EVERY_SECS} s; load: $(cat /proc/loadavg)"
set +e
cargo test --test soak -- --ignored --exact soak_long --nocapture 2>&1 | tee target/soak-last.log
status=${PIPESTATUS[0]}
set -e
grep -h '^SOAK ' target/soak-last.log || true
exit "$status"
