"""Hooks of the property-based API test (tests/e2e/tests/openapi_fuzz.rs, schemathesis.toml).

- settings_refusals_are_documented: a schema-valid settings document may be refused (400
  invalid_settings) only for a rule between fields that infra/openapi.yaml's ShopSettings description
  lists, because OpenAPI 3.0 cannot state it as a schema. Any other problem of a schema-valid
  document means the document and the code disagree about a field.
- refused_without_a_valid_token (the bad-token run only): every request is 401 with one plain
  sentence. schemathesis' own ignored_auth check does not handle the document's security scheme
  (oauth2, as API Gateway's JWT authorizer needs it), so the test does it here.
"""

import itertools
import json
import os
import re

import schemathesis

# (rule number in ShopSettings' description, problem field, problem message), as regular expressions.
DOCUMENTED_CROSS_FIELD_RULES = [
    (2, r"(shopify\.access_token_secret_id|bc\.credentials_secret_id)", r"must be a secret of this shop"),
    (3, r"locations\[\d+\]\.shopify_location_id", r"is listed twice"),
    (4, r"locations", r"locations have stock calculation on, but without inventory_availability_page"),
    (5, r"bc\.company_name", r"is required with inventory_availability_page"),
    (5, r"locations\[\d+\]\.bc_location_codes", r"must name at least one BC location"),
    (6, r"locations", r"sync-inventory is enabled but no location has stock calculation on"),
    (6, r"sku_mapping", r"sync-inventory needs a SKU mapping|vendor_item_no is not exposed|variant mappings need"),
    (7, r"bc\.company_name", r"is required with (shipment_tracking_page|sales_prices_page)"),
    (8, r"default_customer_no", r"is required when customer_mapping_type is default_customer"),
]
# Rule 1: the body's code is the shop in the path (one message, no problems list).
CODE_IS_THE_PATH = r"the body is for shop '.*' but the path names shop '.*'"


def _is_settings_put(case):
    return case.operation.method.upper() == "PUT" and case.operation.path == "/shops/{shop}/settings"


@schemathesis.check
def settings_refusals_are_documented(ctx, response, case):
    meta = case.meta
    if not _is_settings_put(case) or meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code != 400:
        return None
    error = response.json().get("error", {})
    if error.get("code") != "invalid_settings":
        raise AssertionError(f"a schema-valid settings document was refused with {error}")
    problems = error.get("problems") or []
    if not problems:
        if re.fullmatch(CODE_IS_THE_PATH, error.get("message", "")):
            return None
        raise AssertionError(f"a schema-valid settings document was refused without a documented reason: {error}")
    undocumented = [
        p
        for p in problems
        if not any(
            re.fullmatch(field, p.get("field", "")) and re.search(message, p.get("message", ""))
            for _, field, message in DOCUMENTED_CROSS_FIELD_RULES
        )
    ]
    if undocumented:
        raise AssertionError(
            "a schema-valid settings document was refused for problems the document does not describe: "
            f"{undocumented}"
        )
    return None


# The second run of the test sends every request with a bad token instead of the good one: the
# `Authorization` values (None = no header) come from SHOPSYNC_FUZZ_BAD_TOKENS, one after the other.
BAD_TOKENS = json.loads(os.environ.get("SHOPSYNC_FUZZ_BAD_TOKENS", "null"))
PLAIN_REFUSALS = {
    "missing bearer token",
    "the Authorization header must be 'Bearer <token>'",
    "token expired",
    "token not yet valid",
    "invalid token",
}
_sent = itertools.count()


@schemathesis.hook
def before_call(context, case, kwargs):
    if BAD_TOKENS is None:
        return
    headers = dict(case.headers or {})
    headers.pop("Authorization", None)
    value = BAD_TOKENS[next(_sent) % len(BAD_TOKENS)]
    if value is not None:
        headers["Authorization"] = value
    case.headers = headers


@schemathesis.check
def refused_without_a_valid_token(ctx, response, case):
    """With a bad token every request is 401, with one plain sentence and a small answer."""
    if BAD_TOKENS is None:
        return None
    if response.status_code != 401:
        raise AssertionError(f"a request with a bad token was answered {response.status_code}: {response.text[:300]}")
    if len(response.content) >= 1024:
        raise AssertionError(f"a 401 of {len(response.content)} bytes")
    error = response.json()["error"]
    if error["code"] != "unauthorized" or error["message"] not in PLAIN_REFUSALS:
        raise AssertionError(f"a 401 that is not one plain sentence: {error}")
    return None
