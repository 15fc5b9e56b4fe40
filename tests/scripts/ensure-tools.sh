#!/usr/bin/env bash
# Installs what the local stack and the tests need, once: moto (the local DynamoDB/SQS/Secrets Manager
# stand-in) and cfn-lint in a project venv at .venv. Idempotent and quiet when everything is there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
want_moto="5.2.5"
if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c "import moto, sys; sys.exit(0 if moto.__version__ == '$want_moto' else 1)" 2>/dev/null; then
  echo "==> installing moto $want_moto into .venv (first run only)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[dynamodb,sqs,server]==$want_moto" >&2
fi
if [ ! -x "$venv/bin/cfn-lint" ]; then
  echo "==> installing cfn-lint into .venv (first run only)" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==1.58.0" >&2 || echo "cfn-lint unavailable; template lint test will say so" >&2
fi
if ! command -v cargo >/dev/null; then
  echo "cargo is not installed: install Rust (rustup) first" >&2
  exit 1
fi
