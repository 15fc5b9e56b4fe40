#!/usr/bin/env python3
"""Translate a SAM template to plain CloudFormation offline, as `sam package` + CloudFormation would.

Usage: sam-translate.py TEMPLATE.yaml OUT.json

Runs with the project venv's python (aws-sam-translator, pinned in tests/scripts/ensure-tools.sh).
No AWS account, credentials or network are needed:

1. `Fn::Transform: {Name: AWS::Include, Parameters: {Location: <local file>}}` is replaced by the
   file's parsed content (path relative to the template), which is what CloudFormation does with the
   S3 copy `sam package` uploads. S3 locations are left alone.
2. Local `CodeUri`s of functions become `s3://placeholder-bucket/<LogicalId>.zip` (what `sam package`
   writes; the translator only accepts S3 URIs).
3. aws-sam-translator's `transform()` runs with a managed-policy loader that reads the policy map
   bundled with the translator instead of calling IAM.
4. Checkov skips (`Metadata.checkov.skip`) written on a SAM resource are copied onto the resources
   SAM generates from it (logical ids starting with the SAM resource's id, e.g. ApiFunction ->
   ApiFunction, ApiFunctionEventInvokeConfig; ShopsyncHttpApi -> ShopsyncHttpApi,
   ShopsyncHttpApiApiGatewayDefaultStage), because SAM drops Metadata on generated resources except
   the function itself. The translated form then carries the same, justified skips as the source.

Exit status: 0 on success; 1 with "SAM ERROR: ..." lines when the translator rejects the template.
"""

import copy
import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.internal.managed_policies import get_bundled_managed_policy_map  # noqa: E402
from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


class OfflineManagedPolicyLoader:
    """Replaces ManagedPolicyLoader(iam_client): the translator's bundled map, no IAM call."""

    def load(self):
        return get_bundled_managed_policy_map("aws") or {}


def inline_includes(node, base_dir):
    """Replace every local AWS::Include by the parsed file, recursively (includes may nest)."""
    if isinstance(node, dict):
        transform_spec = node.get("Fn::Transform")
        if len(node) == 1 and isinstance(transform_spec, dict) and transform_spec.get("Name") == "AWS::Include":
            location = (transform_spec.get("Parameters") or {}).get("Location")
            if not isinstance(location, str):
                raise SystemExit(f"SAM ERROR: AWS::Include without a literal Location: {location!r}")
            if location.startswith("s3://") or location.startswith("https://"):
                return node
            path = os.path.normpath(os.path.join(base_dir, location))
            try:
                with open(path, encoding="utf-8") as f:
                    included = yaml_parse(f.read())
            except OSError as e:
                raise SystemExit(f"SAM ERROR: AWS::Include {location}: {e}")
            return inline_includes(included, os.path.dirname(path))
        return {k: inline_includes(v, base_dir) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_includes(v, base_dir) for v in node]
    return node


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out_path = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        tpl = yaml_parse(f.read())
    tpl = inline_includes(tpl, os.path.dirname(os.path.abspath(src)))

    resources = tpl.get("Resources") or {}
    sam_skips = {}
    for name, res in resources.items():
        props = res.get("Properties") or {}
        if res.get("Type") in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion"):
            key = "CodeUri" if res["Type"] == "AWS::Serverless::Function" else "ContentUri"
            uri = props.get(key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                props[key] = f"s3://placeholder-bucket/{name}.zip"
        if str(res.get("Type", "")).startswith("AWS::Serverless::"):
            skips = ((res.get("Metadata") or {}).get("checkov") or {}).get("skip")
            if skips:
                sam_skips[name] = skips

    try:
        out = transform(tpl, {}, OfflineManagedPolicyLoader())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print("SAM ERROR:", cause.message)
        return 1

    original = set(resources)
    for gen_name, gen in (out.get("Resources") or {}).items():
        owners = [n for n in sam_skips if gen_name.startswith(n)]
        if not owners or (gen_name in original and gen_name not in sam_skips):
            continue
        owner = max(owners, key=len)
        meta = gen.setdefault("Metadata", {})
        checkov = meta.setdefault("checkov", {})
        have = {s.get("id") for s in checkov.get("skip", [])}
        checkov.setdefault("skip", []).extend(
            copy.deepcopy(s) for s in sam_skips[owner] if s.get("id") not in have
        )

    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
