//! The slice of OData v4 that BC clients rely on: `$filter` (comparisons joined by `and`/`or`), `$select`,
//! `$top`, `$expand` of a document's lines, server-driven paging with `Prefer: odata.maxpagesize` and
//! `$skiptoken`. Filters are evaluated
//! against the JSON shape of an entity, so every entity set gets them for free and unknown properties are
//! rejected the way BC rejects them.

use crate::text::{parse_iso, pct_encode};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::ops::Bound;

/// A request rejected as BC would (400 with an error code).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryError {
    pub code: &'static str,
    pub message: String,
}

fn bad(message: impl Into<String>) -> QueryError {
    QueryError {
        code: "BadRequest",
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    /// An unquoted `2019-08-18T20:05:51.603Z`.
    DateTime(i64),
}

#[derive(Debug, Clone, PartialEq)]
struct Comparison {
    field: String,
    op: Op,
    value: Literal,
}

/// A parsed `$filter`: a disjunction of conjunctions (`and` binds tighter than `or`; no parentheses).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Filter {
    any_of: Vec<Vec<Comparison>>,
}

fn tokenize(s: &str) -> Result<Vec<String>, QueryError> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut lit = String::from("'");
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(bad(format!("Unterminated string literal in $filter: {s}")));
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        lit.push(ch);
                        i += 1;
                    }
                }
            }
            tokens.push(lit);
        } else if c == '(' || c == ')' {
            return Err(bad(
                "Parentheses in $filter are not supported by the simulator.",
            ));
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        }
    }
    Ok(tokens)
}

fn parse_literal(tok: &str) -> Result<Literal, QueryError> {
    if let Some(s) = tok.strip_prefix('\'') {
        return Ok(Literal::Str(s.to_string()));
    }
    match tok {
        "true" => return Ok(Literal::Bool(true)),
        "false" => return Ok(Literal::Bool(false)),
        "null" => return Ok(Literal::Null),
        _ => {}
    }
    if let Ok(n) = tok.parse::<f64>() {
        return Ok(Literal::Num(n));
    }
    if let Some(ms) = parse_iso(tok) {
        return Ok(Literal::DateTime(ms));
    }
    Err(bad(format!(
        "Syntax error: '{tok}' is not a valid literal in $filter."
    )))
}

impl Filter {
    pub(crate) fn parse(s: &str) -> Result<Filter, QueryError> {
        let tokens = tokenize(s)?;
        let mut any_of = vec![Vec::new()];
        let mut i = 0;
        loop {
            let (Some(field), Some(op), Some(lit)) =
                (tokens.get(i), tokens.get(i + 1), tokens.get(i + 2))
            else {
                return Err(bad(format!(
                    "Syntax error in $filter '{s}': expected <property> <op> <literal>."
                )));
            };
            let op = match op.as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                other => {
                    return Err(bad(format!(
                        "Operator '{other}' in $filter is not supported."
                    )));
                }
            };
            let cmp = Comparison {
                field: field.clone(),
                op,
                value: parse_literal(lit)?,
            };
            any_of
                .last_mut()
                .expect("any_of starts non-empty")
                .push(cmp);
            i += 3;
            match tokens.get(i).map(String::as_str) {
                None => break,
                Some("and") => {}
                Some("or") => any_of.push(Vec::new()),
                Some(other) => return Err(bad(format!("Syntax error in $filter at '{other}'."))),
            }
            i += 1;
        }
        Ok(Filter { any_of })
    }

    /// Reject filters on properties the entity type does not have.
    pub(crate) fn check_fields(
        &self,
        sample: &Map<String, Value>,
        type_name: &str,
    ) -> Result<(), QueryError> {
        for cmp in self.any_of.iter().flatten() {
            if !sample.contains_key(&cmp.field) {
                return Err(bad(format!(
                    "Could not find a property named '{}' on type 'Microsoft.NAV.{type_name}'.",
                    cmp.field
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn matches(&self, entity: &Map<String, Value>) -> bool {
        self.any_of.is_empty()
            || self
                .any_of
                .iter()
                .any(|all| all.iter().all(|c| c.matches(entity)))
    }
}

impl Comparison {
    fn matches(&self, entity: &Map<String, Value>) -> bool {
        use std::cmp::Ordering;
        let field = entity.get(&self.field).unwrap_or(&Value::Null);
        let ord: Option<Ordering> = match (&self.value, field) {
            (Literal::Null, Value::Null) => Some(Ordering::Equal),
            (Literal::Null, _) | (_, Value::Null) => None,
            (Literal::Str(l), Value::String(f)) => match (parse_iso(l), parse_iso(f)) {
                (Some(l), Some(f)) => Some(f.cmp(&l)),
                _ => Some(f.as_str().cmp(l.as_str())),
            },
            (Literal::DateTime(l), Value::String(f)) => parse_iso(f).map(|f| f.cmp(l)),
            (Literal::Num(l), Value::Number(f)) => f.as_f64().and_then(|f| f.partial_cmp(l)),
            (Literal::Bool(l), Value::Bool(f)) => Some(f.cmp(l)),
            _ => None,
        };
        match (self.op, ord) {
            (Op::Ne, None) => !matches!(self.value, Literal::Null) || !field.is_null(),
            (_, None) => false,
            (Op::Eq, Some(o)) => o == Ordering::Equal,
            (Op::Ne, Some(o)) => o != Ordering::Equal,
            (Op::Gt, Some(o)) => o == Ordering::Greater,
            (Op::Ge, Some(o)) => o != Ordering::Less,
            (Op::Lt, Some(o)) => o == Ordering::Less,
            (Op::Le, Some(o)) => o != Ordering::Greater,
        }
    }
}

/// The query options of one collection request.
#[derive(Debug, Clone, Default)]
pub(crate) struct CollectionQuery {
    pub filter: Option<Filter>,
    pub select: Option<Vec<String>>,
    pub top: Option<usize>,
    pub skiptoken: Option<Vec<String>>,
    /// Navigation properties to expand (plain names only, no nested options).
    pub expand: Vec<String>,
    /// Other parameters (kept verbatim in `@odata.nextLink`).
    pub passthrough: Vec<(String, String)>,
    raw_filter: Option<String>,
    raw_select: Option<String>,
    raw_expand: Option<String>,
}

impl CollectionQuery {
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<CollectionQuery, QueryError> {
        let mut q = CollectionQuery::default();
        for (k, v) in pairs {
            match k.as_str() {
                "$filter" => {
                    q.filter = Some(Filter::parse(v)?);
                    q.raw_filter = Some(v.clone());
                }
                "$select" => {
                    q.select = Some(
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    );
                    q.raw_select = Some(v.clone());
                }
                "$top" => {
                    q.top = Some(
                        v.parse()
                            .map_err(|_| bad(format!("Invalid value '{v}' for $top.")))?,
                    )
                }
                "$skiptoken" => {
                    q.skiptoken = Some(
                        decode_key(v)
                            .ok_or_else(|| bad(format!("The skip token '{v}' is not valid.")))?,
                    )
                }
                "$expand" => {
                    let names: Vec<String> = v
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    if names
                        .iter()
                        .any(|n| !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    {
                        return Err(bad(format!(
                            "The $expand '{v}' is not supported by the simulator (plain navigation names only)."
                        )));
                    }
                    q.expand = names;
                    q.raw_expand = Some(v.clone());
                }
                "$orderby" | "$skip" | "$count" | "$search" | "$apply" => {
                    return Err(bad(format!(
                        "The query option '{k}' is not supported by the simulator."
                    )));
                }
                _ => q.passthrough.push((k.clone(), v.clone())),
            }
        }
        Ok(q)
    }

    /// Reject `$select`/`$filter` on unknown properties, and any `$expand`.
    pub(crate) fn validate(
        &self,
        sample: &Map<String, Value>,
        type_name: &str,
    ) -> Result<(), QueryError> {
        self.validate_expanding(sample, type_name, &[])
    }

    /// [`CollectionQuery::validate`], allowing `$expand` of the navigation properties in `expandable`.
    pub(crate) fn validate_expanding(
        &self,
        sample: &Map<String, Value>,
        type_name: &str,
        expandable: &[&str],
    ) -> Result<(), QueryError> {
        for name in &self.expand {
            if !expandable.contains(&name.as_str()) {
                return Err(bad(format!(
                    "Could not find a navigation property named '{name}' on type 'Microsoft.NAV.{type_name}' that can be expanded."
                )));
            }
        }
        if let Some(f) = &self.filter {
            f.check_fields(sample, type_name)?;
        }
        for field in self.select.iter().flatten() {
            if !sample.contains_key(field) {
                return Err(bad(format!(
                    "Could not find a property named '{field}' on type 'Microsoft.NAV.{type_name}'."
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn matches(&self, entity: &Map<String, Value>) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(entity))
    }

    /// Whether `$expand` names `nav`.
    pub(crate) fn expands(&self, nav: &str) -> bool {
        self.expand.iter().any(|n| n == nav)
    }

    /// Apply `$select` (the ETag and expanded navigation properties are always kept, as BC does).
    pub(crate) fn project(&self, entity: Map<String, Value>) -> Map<String, Value> {
        match &self.select {
            None => entity,
            Some(fields) => entity
                .into_iter()
                .filter(|(k, _)| {
                    k == "@odata.etag" || fields.iter().any(|f| f == k) || self.expands(k)
                })
                .collect(),
        }
    }

    /// The query string of the next page: same options, `$top` reduced by what was returned.
    fn next_query(&self, returned: usize, key: &[String]) -> String {
        let mut parts = Vec::new();
        for (k, v) in &self.passthrough {
            parts.push(format!("{}={}", pct_encode(k), pct_encode(v)));
        }
        if let Some(f) = &self.raw_filter {
            parts.push(format!("$filter={}", pct_encode(f)));
        }
        if let Some(s) = &self.raw_select {
            parts.push(format!("$select={}", pct_encode(s)));
        }
        if let Some(e) = &self.raw_expand {
            parts.push(format!("$expand={}", pct_encode(e)));
        }
        if let Some(top) = self.top {
            parts.push(format!("$top={}", top.saturating_sub(returned)));
        }
        parts.push(format!("$skiptoken={}", pct_encode(&encode_key(key))));
        parts.join("&")
    }
}

/// `'A','B'` with quotes doubled: the shape of BC's skip tokens over (composite) primary keys.
pub(crate) fn encode_key(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| format!("'{}'", p.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn decode_key(s: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    loop {
        if chars.get(i) != Some(&'\'') {
            return None;
        }
        i += 1;
        let mut part = String::new();
        loop {
            match chars.get(i) {
                None => return None,
                Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                    part.push('\'');
                    i += 2;
                }
                Some('\'') => {
                    i += 1;
                    break;
                }
                Some(&c) => {
                    part.push(c);
                    i += 1;
                }
            }
        }
        parts.push(part);
        match chars.get(i) {
            None => return Some(parts),
            Some(',') => i += 1,
            Some(_) => return None,
        }
    }
}

/// `odata.maxpagesize=N` from a `Prefer` header, if present.
pub(crate) fn prefer_max_page_size(prefer: Option<&str>) -> Option<usize> {
    prefer?.split(',').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        if k.trim().eq_ignore_ascii_case("odata.maxpagesize") {
            v.trim().parse().ok().filter(|n| *n > 0)
        } else {
            None
        }
    })
}

/// One page of a collection.
pub(crate) struct Page {
    pub value: Vec<Value>,
    /// Query string of the next page, when there is one.
    pub next_query: Option<String>,
}

/// Read one page of `map` in key order, starting after the skip token, keeping entities that match the
/// filter. `to_key` turns a map key into skip-token parts; `to_json` renders an entity.
pub(crate) fn page_of<K: Ord, V>(
    map: &BTreeMap<K, V>,
    query: &CollectionQuery,
    page_size: usize,
    after: Option<K>,
    to_key: impl Fn(&K) -> Vec<String>,
    to_json: impl Fn(&K, &V) -> Map<String, Value>,
) -> Page {
    let limit = query.top.map_or(page_size, |t| t.min(page_size));
    let lower = match &after {
        Some(k) => Bound::Excluded(k),
        None => Bound::Unbounded,
    };
    let mut value = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (k, v) in map.range((lower, Bound::Unbounded)) {
        let json = to_json(k, v);
        if !query.matches(&json) {
            continue;
        }
        if value.len() == limit {
            more = true;
            break;
        }
        value.push(Value::Object(query.project(json)));
        last_key = Some(k);
    }
    let top_left = query.top.is_none_or(|t| t > value.len());
    let next_query = match (more && top_left, last_key) {
        (true, Some(k)) => Some(query.next_query(value.len(), &to_key(k))),
        _ => None,
    };
    Page { value, next_query }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn filter_eq_and_datetime() {
        let e = obj(
            json!({"number": "A'1", "blocked": false, "inventory": 5.0, "lastModifiedDateTime": "2024-01-02T00:00:00.000Z"}),
        );
        assert!(Filter::parse("number eq 'A''1'").unwrap().matches(&e));
        assert!(!Filter::parse("number eq 'A1'").unwrap().matches(&e));
        assert!(
            Filter::parse("lastModifiedDateTime gt 2024-01-01T00:00:00Z")
                .unwrap()
                .matches(&e)
        );
        assert!(
            !Filter::parse("lastModifiedDateTime gt 2024-01-03T00:00:00.000Z")
                .unwrap()
                .matches(&e)
        );
        assert!(
            Filter::parse("blocked eq false and inventory ge 5")
                .unwrap()
                .matches(&e)
        );
        assert!(
            Filter::parse("inventory lt 1 or number eq 'A''1'")
                .unwrap()
                .matches(&e)
        );
        assert!(Filter::parse("number eq").is_err());
        assert!(Filter::parse("number like 'x'").is_err());
    }

    #[test]
    fn skip_token_round_trip() {
        let key = vec!["IT'1".to_string(), String::new(), "EAST".to_string()];
        assert_eq!(decode_key(&encode_key(&key)), Some(key));
        assert_eq!(decode_key("nonsense"), None);
    }

    #[test]
    fn prefer_header() {
        assert_eq!(
            prefer_max_page_size(Some("odata.maxpagesize=250")),
            Some(250)
        );
        assert_eq!(
            prefer_max_page_size(Some("return=minimal, odata.maxpagesize = 7")),
            Some(7)
        );
        assert_eq!(prefer_max_page_size(Some("odata.maxpagesize=0")), None);
        assert_eq!(prefer_max_page_size(None), None);
    }
}
