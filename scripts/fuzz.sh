#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser input reaches (AFL++ through cargo-afl, stable Rust).
#
#   scripts/fuzz.sh [TARGET...]        # every target (default) or the ones named
#
# Environment:
#   FUZZ_SECS=300        seconds of fuzzing per target (CI: 20, see README § Fuzzing)
#   FUZZ_TIMEOUT_MS=5000 an execution slower than this is a hang
#   FUZZ_JOBS=$(nproc)   targets fuzzed at a time (each AFL instance takes one core)
#   FUZZ_OUT=fuzz/out    AFL's output (corpus, crashes, hangs, fuzzer_stats) per target
#   AFL_OPT_LEVEL=3      cargo-afl's optimisation of the targets (CI's smoke run builds at 1)
#   SHELFTALK_REAL_DATA  the shared real data (default ../shared/data): when present, a few
#                        records of each real file join the committed seeds of the targets
#                        that read that format; without it the committed seeds alone are used
#
# Per target: replays fuzz/regressions/<target>/* (inputs that once crashed; each must pass),
# fuzzes for FUZZ_SECS from fuzz/seeds/<target>/ (+ real samples, + the regressions), then prints
# executions, execs/s, crashes and hangs from AFL's fuzzer_stats. The summary is also written to
# $FUZZ_OUT/summary.md. Exit status 1 when any target crashed or hung, 2 on a set-up error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ALL_TARGETS=(
    catalog_flipkart catalog_csv catalog_jsonl
    events_rees46 events_online_retail events_jsonl
    import_catalog import_events
    hq_ingest control config prompt_pack model_manifest release_sig
)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    [ -d "fuzz/seeds/$t" ] || { echo "fuzz.sh: unknown target $t (known: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

secs=${FUZZ_SECS:-300}
timeout_ms=${FUZZ_TIMEOUT_MS:-5000}
out=${FUZZ_OUT:-$root/fuzz/out}
real=${SHELFTALK_REAL_DATA:-$(cd .. && pwd)/shared/data}
jobs_max=${FUZZ_JOBS:-$(nproc)}
[[ "$jobs_max" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: FUZZ_JOBS must be a positive number, not '$jobs_max'" >&2; exit 2; }

if ! cargo afl --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-afl (builds AFL++; a few minutes, once)"
    cargo install --locked cargo-afl
fi

echo "fuzz.sh: building the targets (cargo afl build, fuzz/target)"
(cd fuzz && cargo afl build --bins)
bin="$root/fuzz/target/debug"

# Directories of target processes AFL kills are never cleaned by their Drop: give them one root
# that goes when this script ends.
base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && base=/dev/shm
scratch=$(mktemp -d "$base/shelftalk-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export SHELFTALK_FUZZ_SCRATCH="$scratch"

# A few real records for the targets reading that format (not committed: the shared data's
# README asks that its files are not copied into the project; README § Fuzzing).
real_seeds() {
    local t=$1 dir=$2
    [ -d "$real" ] || return 0
    local flipkart="$real/flipkart_catalog_700.csv" rees="$real/rees46_events_10k.csv"
    local retail="$real/online_retail_2011-12-05.csv"
    case $t in
        catalog_flipkart|import_catalog)
            [ -f "$flipkart" ] && python3 - "$flipkart" "$dir/real_flipkart.csv" <<'EOF'
import csv, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, newline="", encoding="utf-8") as f, open(dst, "w", newline="", encoding="utf-8") as o:
    w = csv.writer(o, lineterminator="\n")
    for i, row in enumerate(csv.reader(f)):
        if i > 4:
            break
        w.writerow(row)
EOF
            ;;
        events_rees46)
            [ -f "$rees" ] && head -n 16 "$rees" > "$dir/real_rees46.csv" ;;
        events_online_retail)
            [ -f "$retail" ] && { head -n 12 "$retail"; grep '^C' "$retail" | head -n 4; } > "$dir/real_retail.csv" ;;
        import_events)
            [ -f "$rees" ] && head -n 16 "$rees" > "$dir/real_rees46.csv"
            [ -f "$retail" ] && { head -n 12 "$retail"; grep '^C' "$retail" | head -n 4; } > "$dir/real_retail.csv" ;;
    esac
    return 0
}

stat_of() { # file key
    awk -F' *: *' -v k="$2" '$1 == k { print $2 }' "$1"
}

mkdir -p "$out"
summary="$out/summary.md"
{
    echo "| target | seconds | executions | execs/s | corpus | crashes | hangs |"
    echo "|---|---|---|---|---|---|---|"
} > "$summary"
# One target: replay its regressions, fuzz it, write its console lines to $out/$t.console, its
# table row to $out/$t.row, and return 1 on a crash, a hang or a failing regression. Targets run
# FUZZ_JOBS at a time (default: the number of cores), each AFL instance on one core.
fuzz_target() {
    local t=$1 failed=0
    echo "== $t: replaying regressions"
    if [ -d "fuzz/regressions/$t" ]; then
        for f in "fuzz/regressions/$t"/*; do
            [ -f "$f" ] || continue
            if ! SHELFTALK_FUZZ_SCRATCH="$scratch" "$bin/$t" < "$f" > "$out/$t.replay.log" 2>&1; then
                echo "   REGRESSION: $f crashes again (see $out/$t.replay.log)"
                failed=1
            fi
        done
    fi
    local in="$out/$t.in"
    rm -rf "${out:?}/$t" "$in"
    mkdir -p "$in"
    cp "fuzz/seeds/$t"/* "$in/"
    [ -d "fuzz/regressions/$t" ] && cp "fuzz/regressions/$t"/* "$in/" 2>/dev/null || true
    real_seeds "$t" "$in"
    local dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=(-x "fuzz/dict/$t.dict")
    echo "== $t: fuzzing ${secs}s from $(ls "$in" | wc -l) seeds"
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        AFL_SKIP_CRASHES=0 AFL_NO_WARN_INSTABILITY=1 \
        cargo afl fuzz -i "$in" -o "$out/$t" -V "$secs" -t "$timeout_ms" "${dict[@]}" \
        "$bin/$t" > "$out/$t.log" 2>&1 || {
            echo "   afl-fuzz failed (see $out/$t.log):"; tail -n 15 "$out/$t.log" | sed 's/^/   /'
            return 1
        }
    local stats="$out/$t/default/fuzzer_stats"
    local execs rate crashes hangs corpus run
    execs=$(stat_of "$stats" execs_done)
    rate=$(stat_of "$stats" execs_per_sec)
    crashes=$(stat_of "$stats" saved_crashes)
    hangs=$(stat_of "$stats" saved_hangs)
    corpus=$(stat_of "$stats" corpus_count)
    run=$(stat_of "$stats" run_time)
    printf '   %s: %s executions in %ss (%s/s), corpus %s, crashes %s, hangs %s\n' \
        "$t" "$execs" "$run" "$rate" "$corpus" "$crashes" "$hangs"
    echo "| \`$t\` | $run | $execs | $rate | $corpus | $crashes | $hangs |" > "$out/$t.row"
    if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
        failed=1
        for f in "$out/$t/default/crashes"/id:* "$out/$t/default/hangs"/id:*; do
            [ -f "$f" ] && echo "   found: $f (reproduce: $bin/$t < FILE)"
        done
    fi
    return $failed
}

echo "fuzz.sh: ${#targets[@]} targets, $jobs_max at a time, ${secs}s each"
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
        wait -n || true
    done
    rm -f "$out/$t.row" "$out/$t.console" "$out/$t.status"
    { status=0; fuzz_target "$t" || status=1; echo "$status" > "$out/$t.status"; } \
        > "$out/$t.console" 2>&1 &
done
wait
# In the order the targets were named; a target without its status line failed to finish.
failed=0
for t in "${targets[@]}"; do
    cat "$out/$t.console"
    [ -f "$out/$t.row" ] && cat "$out/$t.row" >> "$summary"
    [ "$(cat "$out/$t.status" 2>/dev/null)" = 0 ] || failed=1
done
echo
cat "$summary"
if [ $failed != 0 ]; then
    echo "fuzz.sh: FAILED: a crash, hang or regression (above)" >&2
    exit 1
fi
echo "fuzz.sh: no crash, no hang"
