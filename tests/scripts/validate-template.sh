#!/usr/bin/env bash
# The template's validation chain by hand (the tests in tests/e2e/tests/suite/template.rs run the same):
# cfn-lint on infra/template.yaml, offline SAM translation, cfn-lint on the translation, checkov on
# both forms. Prints each tool's findings; exits non-zero on the first failing step.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash tests/scripts/ensure-tools.sh
out="${TMPDIR:-/tmp}/shopsync-template.cfn.json"
export BC_SKIP_MAPPING=TRUE
echo "==> cfn-lint infra/template.yaml"
.venv/bin/cfn-lint infra/template.yaml
echo "==> sam-translate.py -> $out"
.venv/bin/python tests/scripts/sam-translate.py infra/template.yaml "$out"
echo "==> cfn-lint (translated)"
.venv/bin/cfn-lint "$out"
echo "==> checkov infra/template.yaml"
.venv-checkov/bin/checkov --framework cloudformation --compact --quiet -f infra/template.yaml
echo "==> checkov (translated)"
.venv-checkov/bin/checkov --framework cloudformation --compact --quiet -f "$out"
echo "template OK"
