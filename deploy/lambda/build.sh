#!/usr/bin/env bash
# Builds the Lambda ingress and packages it as the provided.al2023 custom runtime expects: a zip
# whose root holds an executable named `bootstrap`. Needs cargo, and zip or python3.
#
#   deploy/lambda/build.sh                                  # for the build machine's architecture
#   TARGET=x86_64-unknown-linux-musl deploy/lambda/build.sh # static: runs on any glibc
#
# The zip lands in deploy/lambda/dist/bootstrap.zip (the template's CodeUri).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

# Symbols only weigh on the zip and the cold start (the code is read from it).
export CARGO_PROFILE_RELEASE_STRIP="${CARGO_PROFILE_RELEASE_STRIP:-symbols}"
args=(build --release --locked --features lambda --bin bootstrap)
if [ -n "${TARGET:-}" ]; then args+=(--target "$TARGET"); fi
cargo "${args[@]}"

target_dir="${CARGO_TARGET_DIR:-target}"
binary="$target_dir/${TARGET:+$TARGET/}release/bootstrap"
dist="$here/dist"
mkdir -p "$dist"
rm -f "$dist/bootstrap.zip"
if command -v zip >/dev/null; then
  cp "$binary" "$dist/bootstrap"
  chmod 755 "$dist/bootstrap"
  (cd "$dist" && zip -q -9 bootstrap.zip bootstrap && rm bootstrap)
else
  # Lambda runs the file as it is in the zip: keep its execute bits.
  python3 - "$binary" "$dist/bootstrap.zip" <<'PY'
import sys, zipfile
source, zip_path = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap")
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with open(source, "rb") as f, zipfile.ZipFile(zip_path, "w") as z:
    z.writestr(info, f.read())
PY
fi
ls -l "$dist/bootstrap.zip"
