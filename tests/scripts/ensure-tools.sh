#!/usr/bin/env bash
# Installs what the local stack and the tests need, once, into venvs at the repository root:
#   .venv          moto (the local DynamoDB/SQS/Secrets Manager stand-in), cfn-lint and
#                  aws-sam-translator (offline SAM -> CloudFormation, tests/scripts/sam-translate.py)
#   .venv-checkov  checkov, in its own venv because its install downgrades boto3/botocore
#   .venv-schemathesis  schemathesis, the property-based test of the API against infra/openapi.yaml
#                  (tests/e2e/tests/suite/openapi_fuzz.rs), in its own venv to keep its dependencies apart
# Idempotent and quiet when everything is there. Every tool is pinned; a version change reinstalls.
# SHOPSYNC_SKIP_IAC_VALIDATION=1 skips the template tools (cfn-lint, translator, checkov) on machines
# that cannot install them; the template tests then say they were skipped instead of failing.
# SHOPSYNC_SKIP_API_FUZZ=1 does the same for schemathesis and the property-based API test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
checkov_venv="$root/.venv-checkov"
schemathesis_venv="$root/.venv-schemathesis"
pip_quiet=(--quiet --disable-pip-version-check)
want_moto="5.2.5"
want_cfn_lint="1.58.0"
want_sam_translator="1.115.0"
want_checkov="3.3.30"
want_schemathesis="4.32.5"

# version_is VENV DIST VERSION: the venv has exactly that version of the distribution.
version_is() {
  [ -x "$1/bin/python" ] && "$1/bin/python" - "$2" "$3" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]) == sys.argv[2] else 1)
PY
}

# The venvs are independent: each is installed in its own background job (the downloads overlap),
# and the script fails if one that must be there failed.
install_moto_and_template_tools() {
  if [ ! -x "$venv/bin/moto_server" ] || ! version_is "$venv" moto "$want_moto"; then
    echo "==> installing moto $want_moto into .venv (first run only)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install "${pip_quiet[@]}" "moto[dynamodb,sqs,server]==$want_moto" >&2
  fi
  if [ "${SHOPSYNC_SKIP_IAC_VALIDATION:-}" != "1" ] \
    && { ! version_is "$venv" cfn-lint "$want_cfn_lint" || ! version_is "$venv" aws-sam-translator "$want_sam_translator"; }; then
    echo "==> installing cfn-lint $want_cfn_lint and aws-sam-translator $want_sam_translator into .venv (first run only)" >&2
    "$venv/bin/pip" install "${pip_quiet[@]}" "cfn-lint==$want_cfn_lint" "aws-sam-translator==$want_sam_translator" >&2 \
      || echo "cfn-lint/aws-sam-translator could not be installed: the template tests will fail and say so" >&2
  fi
}

install_checkov() {
  if ! version_is "$checkov_venv" checkov "$want_checkov"; then
    echo "==> installing checkov $want_checkov into .venv-checkov (first run only, about a minute)" >&2
    { python3 -m venv "$checkov_venv" && "$checkov_venv/bin/pip" install "${pip_quiet[@]}" "checkov==$want_checkov" >&2; } \
      || echo "checkov could not be installed: the template tests will fail and say so" >&2
  fi
}

install_schemathesis() {
  if ! version_is "$schemathesis_venv" schemathesis "$want_schemathesis"; then
    echo "==> installing schemathesis $want_schemathesis into .venv-schemathesis (first run only)" >&2
    { python3 -m venv "$schemathesis_venv" && "$schemathesis_venv/bin/pip" install "${pip_quiet[@]}" "schemathesis==$want_schemathesis" >&2; } \
      || echo "schemathesis could not be installed: the property-based API test will fail and say so" >&2
  fi
}

install_moto_and_template_tools &
moto_job=$!
jobs_to_wait=()
if [ "${SHOPSYNC_SKIP_IAC_VALIDATION:-}" = "1" ]; then
  echo "==> SHOPSYNC_SKIP_IAC_VALIDATION=1: not installing cfn-lint, aws-sam-translator, checkov" >&2
else
  install_checkov &
  jobs_to_wait+=($!)
fi
if [ "${SHOPSYNC_SKIP_API_FUZZ:-}" = "1" ]; then
  echo "==> SHOPSYNC_SKIP_API_FUZZ=1: not installing schemathesis" >&2
else
  install_schemathesis &
  jobs_to_wait+=($!)
fi
# moto is required: its failure fails the script. The others say what failed and let the tests say so.
wait "$moto_job" || { echo "moto could not be installed" >&2; exit 1; }
for j in "${jobs_to_wait[@]}"; do wait "$j" || true; done

if ! command -v cargo >/dev/null; then
  echo "cargo is not installed: install Rust (rustup) first" >&2
  exit 1
fi
