//! GraphQL plumbing shared by validation, cost analysis and execution: variable coercion,
//! argument values, field collection through fragments, and Shopify-shaped error objects.

use std::collections::{HashMap, HashSet};

use apollo_compiler::Node;
use apollo_compiler::ast::{self, Definition, FragmentDefinition, Selection, Value};
use apollo_compiler::parser::SourceMap;
use serde_json::{Map, Value as Json, json};

use crate::schema::T;

/// A parsed request: the chosen operation plus what is needed to walk it.
pub(crate) struct Doc<'a> {
    pub sources: &'a SourceMap,
    pub frags: HashMap<&'a str, &'a Node<FragmentDefinition>>,
    pub vars: Map<String, Json>,
    /// Location of each variable definition (used in some Shopify error locations).
    pub var_locs: HashMap<String, Json>,
    /// `"query Name"` / `"mutation"`: the first element of Shopify's validation error paths.
    pub op_label: String,
}

impl<'a> Doc<'a> {
    pub(crate) fn new(document: &'a ast::Document, op: &'a ast::OperationDefinition) -> Self {
        let mut frags = HashMap::new();
        for d in &document.definitions {
            if let Definition::FragmentDefinition(f) = d {
                frags.insert(f.name.as_str(), f);
            }
        }
        let kind = match op.operation_type {
            ast::OperationType::Query => "query",
            ast::OperationType::Mutation => "mutation",
            ast::OperationType::Subscription => "subscription",
        };
        let op_label = match &op.name {
            Some(n) => format!("{kind} {n}"),
            None => kind.to_string(),
        };
        let mut var_locs = HashMap::new();
        for v in &op.variables {
            var_locs.insert(v.name.to_string(), loc(v, &document.sources));
        }
        Self {
            sources: &document.sources,
            frags,
            vars: Map::new(),
            var_locs,
            op_label,
        }
    }

    pub(crate) fn loc<N>(&self, node: &Node<N>) -> Json {
        loc(node, self.sources)
    }

    /// Value of argument `name` of `field`, variables substituted; `None` when absent.
    pub(crate) fn arg(&self, field: &ast::Field, name: &str) -> Option<Json> {
        let a = field.arguments.iter().find(|a| a.name == name)?;
        if let Value::Variable(v) = a.value.as_ref() {
            return self.vars.get(v.as_str()).cloned();
        }
        Some(to_json(&a.value, &self.vars))
    }

    /// Whether argument `name` was written as a bare variable (`input: $input`).
    pub(crate) fn arg_variable(&self, field: &ast::Field, name: &str) -> Option<String> {
        let a = field.arguments.iter().find(|a| a.name == name)?;
        match a.value.as_ref() {
            Value::Variable(v) => Some(v.to_string()),
            _ => None,
        }
    }

    /// Collects the fields of `sels` that apply to runtime type `rt`, grouped by response key
    /// (alias or name) in document order, honouring `@skip`/`@include`.
    pub(crate) fn collect(
        &self,
        rt: T,
        sels: &[&'a [Selection]],
    ) -> Vec<(String, Vec<&'a Node<ast::Field>>)> {
        let mut out: Vec<(String, Vec<&'a Node<ast::Field>>)> = Vec::new();
        let mut seen_frags = HashSet::new();
        for s in sels {
            self.collect_into(rt, s, &mut out, &mut seen_frags);
        }
        out
    }

    fn collect_into(
        &self,
        rt: T,
        sels: &'a [Selection],
        out: &mut Vec<(String, Vec<&'a Node<ast::Field>>)>,
        seen: &mut HashSet<&'a str>,
    ) {
        for sel in sels {
            match sel {
                Selection::Field(f) => {
                    if !self.included(&f.directives) {
                        continue;
                    }
                    let key = f.alias.as_ref().unwrap_or(&f.name).to_string();
                    match out.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, v)) => v.push(f),
                        None => out.push((key, vec![f])),
                    }
                }
                Selection::InlineFragment(i) => {
                    if !self.included(&i.directives) {
                        continue;
                    }
                    let applies = i.type_condition.as_ref().is_none_or(|c| rt.matches(c));
                    if applies {
                        self.collect_into(rt, &i.selection_set, out, seen);
                    }
                }
                Selection::FragmentSpread(s) => {
                    if !self.included(&s.directives) {
                        continue;
                    }
                    if let Some(f) = self.frags.get(s.fragment_name.as_str())
                        && rt.matches(&f.type_condition)
                        && seen.insert(f.name.as_str())
                    {
                        self.collect_into(rt, &f.selection_set, out, seen);
                        seen.remove(f.name.as_str());
                    }
                }
            }
        }
    }

    fn included(&self, dirs: &ast::DirectiveList) -> bool {
        for d in dirs.iter() {
            let cond =
                d.arguments
                    .iter()
                    .find(|a| a.name == "if")
                    .map(|a| match a.value.as_ref() {
                        Value::Variable(v) => {
                            self.vars.get(v.as_str()).cloned().unwrap_or(Json::Null)
                        }
                        other => to_json(other, &self.vars),
                    });
            let truthy = matches!(cond, Some(Json::Bool(true)));
            if d.name == "skip" && truthy {
                return false;
            }
            if d.name == "include" && !truthy {
                return false;
            }
        }
        true
    }
}

pub(crate) fn loc<N>(node: &Node<N>, sources: &SourceMap) -> Json {
    match node.line_column_range(sources) {
        Some(r) => json!([{"line": r.start.line, "column": r.start.column}]),
        None => json!([]),
    }
}

/// Converts an AST value to JSON, substituting variables (absent variables become null).
pub(crate) fn to_json(v: &Value, vars: &Map<String, Json>) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Enum(e) => Json::String(e.to_string()),
        Value::Variable(name) => vars.get(name.as_str()).cloned().unwrap_or(Json::Null),
        Value::String(s) => Json::String(s.clone()),
        Value::Float(f) => f
            .try_to_f64()
            .ok()
            .and_then(|x| serde_json::Number::from_f64(x).map(Json::Number))
            .unwrap_or(Json::Null),
        Value::Int(i) => match i.as_str().parse::<i64>() {
            Ok(n) => Json::from(n),
            Err(_) => i
                .as_str()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Json::Number)
                .unwrap_or(Json::Null),
        },
        Value::Boolean(b) => Json::Bool(*b),
        Value::List(items) => Json::Array(items.iter().map(|x| to_json(x, vars)).collect()),
        Value::Object(fields) => {
            let mut m = Map::new();
            for (k, val) in fields {
                // A variable that was not provided leaves the field absent, as in GraphQL.
                if let Value::Variable(name) = val.as_ref()
                    && !vars.contains_key(name.as_str())
                {
                    continue;
                }
                m.insert(k.to_string(), to_json(val, vars));
            }
            Json::Object(m)
        }
    }
}

/// Builds one Shopify error object.
pub(crate) fn error(
    message: impl Into<String>,
    locations: Option<Json>,
    path: Option<Vec<Json>>,
    extensions: Option<Json>,
) -> Json {
    let mut m = Map::new();
    m.insert("message".into(), Json::String(message.into()));
    if let Some(l) = locations {
        m.insert("locations".into(), l);
    }
    if let Some(p) = path {
        m.insert("path".into(), Json::Array(p));
    }
    if let Some(e) = extensions {
        m.insert("extensions".into(), e);
    }
    Json::Object(m)
}

/// Cursor format: base64 of `{"last_id":N,"last_value":N}`, like Shopify's opaque cursors.
pub(crate) fn encode_cursor(pos: usize) -> String {
    let raw = format!("{{\"last_id\":{pos},\"last_value\":\"{pos}\"}}");
    base64_encode(raw.as_bytes())
}

pub(crate) fn decode_cursor(c: &str) -> Option<usize> {
    let raw = base64_decode(c)?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix("{\"last_id\":")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Cursor of a connection sorted by a key (`sortKey: UPDATED_AT`, …): the key value and the
/// position that breaks ties, so the next page starts after that pair even when records moved.
pub(crate) fn encode_keyed_cursor(pos: usize, value: i64) -> String {
    let raw = format!("{{\"last_id\":{pos},\"last_value\":\"{value}\"}}");
    base64_encode(raw.as_bytes())
}

pub(crate) fn decode_keyed_cursor(c: &str) -> Option<(usize, i64)> {
    let raw = base64_decode(c)?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix("{\"last_id\":")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let pos = digits.parse().ok()?;
    let value = rest[digits.len()..].strip_prefix(",\"last_value\":\"")?;
    let value: String = value
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    Some((pos, value.parse().ok()?))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|&x| x == c)? as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        for p in [0usize, 1, 249, 250, 49_999] {
            assert_eq!(decode_cursor(&encode_cursor(p)), Some(p));
        }
        assert_eq!(decode_cursor("not a cursor!"), None);
        for (p, v) in [(0usize, 0i64), (7, 1_782_351_235), (3, -5)] {
            assert_eq!(
                decode_keyed_cursor(&encode_keyed_cursor(p, v)),
                Some((p, v))
            );
        }
        assert_eq!(decode_keyed_cursor(&encode_cursor(4)), Some((4, 4)));
    }
}
