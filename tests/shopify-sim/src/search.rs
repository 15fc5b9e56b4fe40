//! Shopify search syntax (`query:` argument), the subset the sync uses:
//! `field:value` terms joined by whitespace (AND) and `OR`, comparators `:>`, `:>=`, `:<`,
//! `:<=` on ids, `-field:value` negation, quoted values and a trailing `*` prefix match.
//! Dates compare as instants (`updated_at:>='2026-05-01T00:00:00Z'`, a bare date is midnight
//! UTC); `status:` on orders takes `open`, `closed`, `cancelled`, `not_closed` and `any`.
//! Unknown fields are ignored, as Shopify ignores invalid search terms.

use crate::store::{StoreData, parse_gid};

#[derive(Debug, Clone)]
struct Term {
    field: String,
    op: &'static str,
    value: String,
    negate: bool,
}

/// Disjunction of conjunctions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Search {
    any: Vec<Vec<Term>>,
}

fn tokenize(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in q.chars() {
        match quote {
            Some(qc) if c == qc => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Search {
    pub(crate) fn parse(q: Option<&str>) -> Self {
        let Some(q) = q else {
            return Self::default();
        };
        let mut any = vec![Vec::new()];
        for tok in tokenize(q) {
            if tok == "OR" {
                any.push(Vec::new());
                continue;
            }
            if tok == "AND" {
                continue;
            }
            let (negate, tok) = match tok.strip_prefix('-') {
                Some(t) => (true, t.to_string()),
                None => (false, tok),
            };
            let Some((field, rest)) = tok.split_once(':') else {
                continue;
            };
            let (op, value) = [">=", "<=", ">", "<"]
                .iter()
                .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
                .unwrap_or(("=", rest));
            if let Some(last) = any.last_mut() {
                last.push(Term {
                    field: field.to_ascii_lowercase(),
                    op,
                    value: value.to_string(),
                    negate,
                });
            }
        }
        any.retain(|c| !c.is_empty());
        Self { any }
    }

    fn eval(&self, check: impl Fn(&Term) -> Option<bool>) -> bool {
        if self.any.is_empty() {
            return true;
        }
        self.any.iter().any(|conj| {
            conj.iter().all(|t| match check(t) {
                Some(r) => r != t.negate,
                None => true,
            })
        })
    }

    /// Positions to scan when every branch pins an exact sku (uses the sku index).
    pub(crate) fn sku_candidates(&self, st: &StoreData) -> Option<Vec<usize>> {
        if self.any.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for conj in &self.any {
            let t = conj.iter().find(|t| {
                t.field == "sku" && t.op == "=" && !t.negate && !t.value.ends_with('*')
            })?;
            if let Some(v) = st.sku_index.get(&t.value) {
                out.extend(v.iter().map(|&x| x as usize));
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    pub(crate) fn matches_variant(&self, st: &StoreData, i: usize) -> bool {
        let v = &st.variants[i];
        self.eval(|t| match t.field.as_str() {
            "sku" => Some(text_match(v.sku.as_deref().unwrap_or(""), &t.value)),
            "barcode" => Some(text_match(v.barcode.as_deref().unwrap_or(""), &t.value)),
            "title" => Some(text_match(&v.title, &t.value)),
            "id" => Some(num_match((i + 1) as u64, t)),
            "product_id" => Some(num_match(v.product as u64 + 1, t)),
            "tracked" => Some(v.tracked.to_string() == t.value),
            _ => None,
        })
    }

    pub(crate) fn matches_location(&self, st: &StoreData, i: usize) -> bool {
        let l = &st.locations[i];
        self.eval(|t| match t.field.as_str() {
            "name" => Some(text_match(&l.name, &t.value)),
            "id" => Some(num_match((i + 1) as u64, t)),
            "active" => Some(l.active.to_string() == t.value),
            _ => None,
        })
    }

    pub(crate) fn matches_order(&self, st: &StoreData, i: usize) -> bool {
        let b = &st.book;
        let o = &b.orders[i];
        self.eval(|t| match t.field.as_str() {
            "updated_at" => Some(time_match(o.updated_at, t)),
            "created_at" => Some(time_match(o.created_at, t)),
            "processed_at" => Some(time_match(o.processed_at, t)),
            "status" => Some(match t.value.to_ascii_lowercase().as_str() {
                "open" => o.closed_at.is_none() && o.cancelled_at.is_none(),
                "closed" => o.closed_at.is_some(),
                "cancelled" => o.cancelled_at.is_some(),
                "not_closed" => o.closed_at.is_none(),
                _ => true,
            }),
            "financial_status" => Some(
                o.financial_status
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&t.value)),
            ),
            "fulfillment_status" => Some(b.fulfillment_status(i).eq_ignore_ascii_case(&t.value)),
            "name" => Some(text_match(&o.name, &t.value)),
            "email" => Some(text_match(o.email.as_deref().unwrap_or(""), &t.value)),
            "test" => Some(o.test.to_string() == t.value),
            "id" => Some(num_match((i + 1) as u64, t)),
            _ => None,
        })
    }

    /// A customer (`customers.rs`): `updated_at`/`created_at` as instants, `email` and `phone`
    /// as text, `id` as a number.
    pub(crate) fn matches_customer(&self, st: &StoreData, i: usize) -> bool {
        let c = &st.book.customers[i];
        let ext = &st.customers_ext;
        self.eval(|t| match t.field.as_str() {
            "updated_at" => Some(ext.updated_at.get(i).is_some_and(|&at| time_match(at, t))),
            "created_at" => Some(ext.created_at.get(i).is_some_and(|&at| time_match(at, t))),
            "email" => Some(text_match(c.email.as_deref().unwrap_or(""), &t.value)),
            "phone" => Some(text_match(c.phone.as_deref().unwrap_or(""), &t.value)),
            "id" => Some(num_match((i + 1) as u64, t)),
            _ => None,
        })
    }

    /// A company (`companies.rs`): `updated_at`/`created_at` as instants, `name` and
    /// `external_id` as text, `id` as a number.
    pub(crate) fn matches_company(&self, st: &StoreData, i: usize) -> bool {
        let ext = &st.companies.companies[i];
        self.eval(|t| match t.field.as_str() {
            "updated_at" => Some(time_match(ext.updated_at, t)),
            "created_at" => Some(time_match(ext.created_at, t)),
            "name" => Some(text_match(&st.book.companies[i], &t.value)),
            "external_id" => Some(text_match(
                ext.external_id.as_deref().unwrap_or(""),
                &t.value,
            )),
            "id" => Some(num_match((i + 1) as u64, t)),
            _ => None,
        })
    }

    pub(crate) fn matches_payout(&self, st: &StoreData, i: usize) -> bool {
        let p = &st.book.payouts[i];
        self.eval(|t| match t.field.as_str() {
            "id" => Some(num_match((i + 1) as u64, t)),
            "issued_at" => Some(time_match(p.issued_at, t)),
            "status" => Some(p.status.eq_ignore_ascii_case(&t.value)),
            _ => None,
        })
    }

    pub(crate) fn matches_balance(&self, st: &StoreData, i: usize) -> bool {
        let x = &st.book.balance[i];
        self.eval(|t| match t.field.as_str() {
            "id" => Some(num_match((i + 1) as u64, t)),
            "processed_at" => Some(time_match(x.processed_at, t)),
            "transaction_type" => Some(x.transaction_type.eq_ignore_ascii_case(&t.value)),
            _ => None,
        })
    }

    pub(crate) fn matches_bulk(&self, st: &StoreData, i: usize) -> bool {
        let b = &st.bulk_ops[i];
        self.eval(|t| match t.field.as_str() {
            "status" => Some(b.status.as_str().eq_ignore_ascii_case(&t.value)),
            "operation_type" => Some(t.value.eq_ignore_ascii_case("query")),
            "id" => Some(num_match(b.id, t)),
            _ => None,
        })
    }
}

fn text_match(actual: &str, pattern: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => actual
            .to_ascii_lowercase()
            .starts_with(&prefix.to_ascii_lowercase()),
        None => actual.eq_ignore_ascii_case(pattern),
    }
}

/// A date term; a value that is no date matches nothing.
fn time_match(actual: i64, t: &Term) -> bool {
    let Some(want) = crate::orders::parse_time(&t.value) else {
        return false;
    };
    match t.op {
        ">" => actual > want,
        ">=" => actual >= want,
        "<" => actual < want,
        "<=" => actual <= want,
        _ => actual == want,
    }
}

fn num_match(actual: u64, t: &Term) -> bool {
    let want = t
        .value
        .parse::<u64>()
        .ok()
        .or_else(|| {
            // Accept full GIDs as values too.
            t.value
                .rsplit('/')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
        })
        .or_else(|| parse_gid("", &t.value).map(|x| x as u64 + 1));
    let Some(want) = want else {
        return false;
    };
    match t.op {
        ">" => actual > want,
        ">=" => actual >= want,
        "<" => actual < want,
        "<=" => actual <= want,
        _ => actual == want,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_or_and_quotes() {
        let s = Search::parse(Some("sku:'A 1' OR sku:B id:>5"));
        assert_eq!(s.any.len(), 2);
        assert_eq!(s.any[0][0].value, "A 1");
        assert_eq!(s.any[1][1].op, ">");
    }
}
