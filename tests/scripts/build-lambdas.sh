#!/usr/bin/env bash
# Builds every Lambda function (each package under functions/) for arm64 (provided.al2023, Graviton)
# with cargo-lambda, in ONE cargo invocation sharing the workspace's target dir, and checks the
# footprint bar: every bootstrap <= 8 MB (8 * 1024 * 1024 bytes). Prints a size table.
#
#   tests/scripts/build-lambdas.sh            # build, print sizes, fail if one is too big
#   tests/scripts/build-lambdas.sh --tools    # only install the build tools (CI does it early)
#
# Installs cargo-lambda (pip, pinned) and zig (the cross linker, pinned) into .venv-lambda if missing,
# and the aarch64-unknown-linux-gnu rustup target. Output: target/lambda-arm64/<package>/bootstrap
# (the layout `sam build` / BuildMethod rust-cargolambda produces, so these binaries are what deploys).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv="$root/.venv-lambda"
want_cargo_lambda="1.9.2"
want_zig="0.17.1"
limit=$((8 * 1024 * 1024))
target_dir="${CARGO_TARGET_DIR:-$root/target}"
lambda_dir="$target_dir/lambda-arm64"

version_is() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$1" "$2" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]) == sys.argv[2] else 1)
PY
}
if ! version_is cargo-lambda "$want_cargo_lambda" || ! version_is ziglang "$want_zig"; then
  echo "==> installing cargo-lambda $want_cargo_lambda and ziglang $want_zig into .venv-lambda" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "cargo-lambda==$want_cargo_lambda" "ziglang==$want_zig" >&2
fi
export PATH="$venv/bin:$PATH"

if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "==> rustup target add aarch64-unknown-linux-gnu" >&2
  rustup target add aarch64-unknown-linux-gnu >&2
fi

if [ "${1:-}" = "--tools" ]; then
  exit 0
fi

# Every package under functions/ (whatever exists: a new task function is picked up by itself).
packages=()
for manifest in functions/*/Cargo.toml; do
  name="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n1)"
  [ -n "$name" ] && packages+=("$name")
done
if [ "${#packages[@]}" -eq 0 ]; then
  echo "no packages under functions/" >&2
  exit 1
fi

args=()
for p in "${packages[@]}"; do args+=(--package "$p"); done
echo "==> cargo lambda build --release --arm64 ${args[*]}" >&2
start=$(date +%s)
cargo lambda build --release --arm64 --locked --lambda-dir "$lambda_dir" "${args[@]}"
elapsed=$(( $(date +%s) - start ))

status=0
printf '%-24s %12s %8s\n' function bytes MB
for p in "${packages[@]}"; do
  bin="$lambda_dir/$p/bootstrap"
  if [ ! -f "$bin" ]; then
    printf '%-24s %12s %8s  MISSING (%s)\n' "$p" - - "$bin"
    status=1
    continue
  fi
  bytes=$(stat -c %s "$bin")
  mb=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
  flag=""
  if [ "$bytes" -gt "$limit" ]; then flag="  OVER the 8 MB limit"; status=1; fi
  printf '%-24s %12d %8s%s\n' "$p" "$bytes" "$mb" "$flag"
done
echo "arm64 build: ${elapsed}s; binaries in ${lambda_dir#"$root"/}" >&2
if command -v file >/dev/null; then
  for p in "${packages[@]}"; do
    [ -f "$lambda_dir/$p/bootstrap" ] && { file -b "$lambda_dir/$p/bootstrap" | grep -q 'ARM aarch64' \
      || { echo "$p: bootstrap is not an aarch64 binary" >&2; status=1; }; }
  done
fi
exit $status
