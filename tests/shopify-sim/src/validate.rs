//! Static validation of a document against the simulated schema subset.
//!
//! Runs before anything is charged, like Shopify's: undefined fields, unaccepted arguments,
//! missing selections, page sizes, the 250-element input limit and input-object shapes are
//! reported as top-level errors and nothing executes.

use std::collections::HashSet;

use apollo_compiler::ast::{self, Selection};
use serde_json::{Value as Json, json};

use crate::gql::{Doc, error};
use crate::inventory;
use crate::schema::{FK, T, field};

/// Maximum `first` / `last` on a connection and elements in an input list.
pub(crate) const MAX_PAGE: i64 = 250;
pub(crate) const MAX_INPUT: usize = 250;

pub(crate) struct Validator<'d, 'a> {
    doc: &'d Doc<'a>,
    /// Bulk queries have no `first` and no page limit.
    pub bulk: bool,
    pub errors: Vec<Json>,
}

impl<'d, 'a> Validator<'d, 'a> {
    pub(crate) fn new(doc: &'d Doc<'a>) -> Self {
        Self {
            doc,
            bulk: false,
            errors: Vec::new(),
        }
    }

    pub(crate) fn selection(&mut self, t: T, sels: &'a [Selection], path: &mut Vec<String>) {
        let mut stack = HashSet::new();
        self.walk(t, sels, path, &mut stack);
    }

    fn walk(
        &mut self,
        t: T,
        sels: &'a [Selection],
        path: &mut Vec<String>,
        stack: &mut HashSet<&'a str>,
    ) {
        for sel in sels {
            match sel {
                Selection::Field(f) => self.field(t, f, path, stack),
                Selection::InlineFragment(i) => {
                    let ct = match &i.type_condition {
                        None => t,
                        Some(c) => {
                            match T::by_name(c) {
                                Some(ct) => ct,
                                None => {
                                    self.errors.push(error(
                                    format!("No such type {c}, so it can't be a fragment condition"),
                                    Some(self.doc.loc(i)),
                                    Some(self.path_json(path, None)),
                                    Some(json!({"code": "undefinedType", "typeName": c.as_str()})),
                                ));
                                    continue;
                                }
                            }
                        }
                    };
                    self.walk(ct, &i.selection_set, path, stack);
                }
                Selection::FragmentSpread(s) => {
                    let name = s.fragment_name.as_str();
                    let Some(frag) = self.doc.frags.get(name).copied() else {
                        self.errors.push(error(
                            format!("Fragment {name} was used, but not defined"),
                            Some(self.doc.loc(s)),
                            Some(self.path_json(path, None)),
                            Some(json!({"code": "useAndDefineFragment", "fragmentName": name})),
                        ));
                        continue;
                    };
                    let Some(ct) = T::by_name(&frag.type_condition) else {
                        self.errors.push(error(
                            format!(
                                "No such type {}, so it can't be a fragment condition",
                                frag.type_condition
                            ),
                            Some(self.doc.loc(frag)),
                            None,
                            Some(json!({"code": "undefinedType", "typeName": frag.type_condition.as_str()})),
                        ));
                        continue;
                    };
                    if stack.insert(frag.name.as_str()) {
                        self.walk(ct, &frag.selection_set, path, stack);
                        stack.remove(frag.name.as_str());
                    }
                }
            }
        }
    }

    fn path_json(&self, path: &[String], last: Option<&str>) -> Vec<Json> {
        let mut p = vec![Json::String(self.doc.op_label.clone())];
        p.extend(path.iter().map(|s| Json::String(s.clone())));
        if let Some(l) = last {
            p.push(Json::String(l.to_string()));
        }
        p
    }

    fn field(
        &mut self,
        t: T,
        f: &'a apollo_compiler::Node<ast::Field>,
        path: &mut Vec<String>,
        stack: &mut HashSet<&'a str>,
    ) {
        let name = f.name.as_str();
        if name == "__typename" {
            return;
        }
        let Some((kind, accepted)) = field(t, name) else {
            self.errors.push(error(
                format!("Field '{name}' doesn't exist on type '{}'", t.name()),
                Some(self.doc.loc(f)),
                Some(self.path_json(path, Some(name))),
                Some(json!({"code": "undefinedField", "typeName": t.name(), "fieldName": name})),
            ));
            return;
        };
        for a in &f.arguments {
            if !accepted.contains(&a.name.as_str()) {
                self.errors.push(error(
                    format!("Field '{name}' doesn't accept argument '{}'", a.name),
                    Some(self.doc.loc(a)),
                    Some({
                        let mut p = self.path_json(path, Some(name));
                        p.push(Json::String(a.name.to_string()));
                        p
                    }),
                    Some(json!({"code": "argumentNotAccepted", "name": name, "typeName": "Field", "argumentName": a.name.as_str()})),
                ));
            }
        }
        self.input_sizes(f, name);
        if t == T::Mutation && name == "inventorySetQuantities" {
            self.set_quantities_input(f);
        }
        let required: &[&str] = match (t, name) {
            (T::Mutation, "fulfillmentCreate") => &["fulfillment"],
            (T::Mutation, "orderUpdate" | "orderClose") => &["input"],
            (T::Query, "order" | "fulfillmentOrder") => &["id"],
            _ => &[],
        };
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|a| self.doc.arg(f, a).is_none_or(|v| v.is_null()))
            .collect();
        if !missing.is_empty() {
            self.errors.push(error(
                format!(
                    "Field '{name}' is missing required arguments: {}",
                    missing.join(", ")
                ),
                Some(self.doc.loc(f)),
                Some(self.path_json(path, Some(name))),
                Some(json!({"code": "missingRequiredArguments", "className": "Field", "name": name, "arguments": missing.join(", ")})),
            ));
        }
        if t == T::Mutation && name == "bulkOperationCancel" && self.doc.arg(f, "id").is_none() {
            self.errors.push(error(
                "Field 'bulkOperationCancel' is missing required arguments: id",
                Some(self.doc.loc(f)),
                Some(self.path_json(path, Some(name))),
                Some(json!({"code": "missingRequiredArguments", "className": "Field", "name": name, "arguments": "id"})),
            ));
        }
        let has_sel = !f.selection_set.is_empty();
        match kind {
            FK::Scalar => {
                if has_sel {
                    self.errors.push(error(
                        format!("Selections can't be made on scalars (field '{name}' returns a scalar but has selections)"),
                        Some(self.doc.loc(f)),
                        Some(self.path_json(path, Some(name))),
                        Some(json!({"code": "selectionMismatch", "nodeName": format!("field '{name}'")})),
                    ));
                }
                return;
            }
            FK::Conn(_) if !self.bulk => self.page_args(f, path),
            _ => {}
        }
        if !has_sel {
            let ret = match kind {
                FK::Obj(ct) | FK::List(ct) => ct.name(),
                FK::Conn(n) => T::Conn(n).name(),
                FK::Scalar => "",
            };
            self.errors.push(error(
                format!("Field must have selections (field '{name}' returns {ret} but has no selections. Did you mean '{name} {{ ... }}'?)"),
                Some(self.doc.loc(f)),
                Some(self.path_json(path, Some(name))),
                Some(json!({"code": "selectionMismatch", "nodeName": format!("field '{name}'"), "typeName": ret})),
            ));
            return;
        }
        let ct = match kind {
            FK::Obj(ct) | FK::List(ct) => ct,
            FK::Conn(n) => T::Conn(n),
            FK::Scalar => return,
        };
        path.push(name.to_string());
        self.walk(ct, &f.selection_set, path, stack);
        path.pop();
    }

    fn page_args(&mut self, f: &apollo_compiler::Node<ast::Field>, path: &[String]) {
        let first = self.doc.arg(f, "first").filter(|v| !v.is_null());
        let last = self.doc.arg(f, "last").filter(|v| !v.is_null());
        let fpath = Some(self.path_json(path, Some(f.name.as_str())));
        match (&first, &last) {
            (None, None) => self.errors.push(error(
                "you must provide one of first or last",
                Some(self.doc.loc(f)),
                fpath,
                Some(json!({"code": "BAD_REQUEST"})),
            )),
            (Some(_), Some(_)) => self.errors.push(error(
                "providing both first and last is not supported",
                Some(self.doc.loc(f)),
                fpath,
                Some(json!({"code": "BAD_REQUEST"})),
            )),
            (Some(v), None) | (None, Some(v)) => {
                let arg = if first.is_some() { "first" } else { "last" };
                match v.as_i64() {
                    Some(n) if n > MAX_PAGE => self.errors.push(error(
                        format!("The {arg} argument cannot exceed {MAX_PAGE}."),
                        Some(self.doc.loc(f)),
                        fpath,
                        Some(json!({"code": "BAD_REQUEST"})),
                    )),
                    Some(n) if n < 0 => self.errors.push(error(
                        format!("The {arg} argument must be a non-negative integer."),
                        Some(self.doc.loc(f)),
                        fpath,
                        Some(json!({"code": "BAD_REQUEST"})),
                    )),
                    Some(_) => {
                        if last.is_some() {
                            self.errors.push(error(
                                "The simulator only supports forward pagination (first/after).",
                                Some(self.doc.loc(f)),
                                fpath,
                                Some(json!({"code": "BAD_REQUEST"})),
                            ));
                        }
                    }
                    None => self.errors.push(error(
                        format!("Argument '{arg}' on Field '{}' has an invalid value. Expected type 'Int'.", f.name),
                        Some(self.doc.loc(f)),
                        fpath,
                        Some(json!({"code": "argumentLiteralsIncompatible", "typeName": "Field", "argumentName": arg})),
                    )),
                }
            }
        }
    }

    /// Any list in any argument longer than 250 → `MAX_INPUT_SIZE_EXCEEDED`.
    fn input_sizes(&mut self, f: &apollo_compiler::Node<ast::Field>, name: &str) {
        for a in &f.arguments {
            let Some(v) = self.doc.arg(f, a.name.as_str()) else {
                continue;
            };
            let mut p = vec![Json::String(name.into()), Json::String(a.name.to_string())];
            if let Some((len, at)) = oversized(&v, &mut p) {
                self.errors.push(error(
                    format!("The input array size of {len} is greater than the maximum allowed of {MAX_INPUT}."),
                    Some(self.doc.loc(f)),
                    Some(at),
                    Some(json!({"code": "MAX_INPUT_SIZE_EXCEEDED"})),
                ));
            }
        }
    }

    fn set_quantities_input(&mut self, f: &apollo_compiler::Node<ast::Field>) {
        let Some(input) = self.doc.arg(f, "input") else {
            self.errors.push(error(
                "Field 'inventorySetQuantities' is missing required arguments: input",
                Some(self.doc.loc(f)),
                Some(vec![
                    Json::String(self.doc.op_label.clone()),
                    Json::String("inventorySetQuantities".into()),
                ]),
                Some(json!({"code": "missingRequiredArguments", "className": "Field", "name": "inventorySetQuantities", "arguments": "input"})),
            ));
            return;
        };
        let problems = inventory::input_problems(&input);
        if problems.is_empty() {
            return;
        }
        match self.doc.arg_variable(f, "input") {
            Some(var) => {
                let detail: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{} ({})", p.path.join("."), p.explanation))
                    .collect();
                let loc = self.doc.var_locs.get(&var).cloned();
                self.errors.push(error(
                    format!(
                        "Variable ${var} of type InventorySetQuantitiesInput! was provided invalid value for {}",
                        detail.join(", ")
                    ),
                    loc,
                    None,
                    Some(json!({
                        "code": "INVALID_VARIABLE",
                        "value": input,
                        "problems": problems.iter().map(|p| json!({"path": p.path.iter().map(|s| match s.parse::<u64>() { Ok(n) => Json::from(n), Err(_) => Json::String(s.clone()) }).collect::<Vec<_>>(), "explanation": p.explanation})).collect::<Vec<_>>(),
                    })),
                ));
            }
            None => {
                for p in problems {
                    self.errors.push(error(
                        p.literal_message(),
                        Some(self.doc.loc(f)),
                        Some(vec![
                            Json::String(self.doc.op_label.clone()),
                            Json::String("inventorySetQuantities".into()),
                            Json::String("input".into()),
                        ]),
                        Some(json!({"code": p.literal_code()})),
                    ));
                }
            }
        }
    }
}

fn oversized(v: &Json, path: &mut Vec<Json>) -> Option<(usize, Vec<Json>)> {
    match v {
        Json::Array(items) => {
            if items.len() > MAX_INPUT {
                return Some((items.len(), path.clone()));
            }
            for (i, x) in items.iter().enumerate() {
                path.push(Json::String(i.to_string()));
                let r = oversized(x, path);
                path.pop();
                if r.is_some() {
                    return r;
                }
            }
            None
        }
        Json::Object(m) => {
            for (k, x) in m {
                path.push(Json::String(k.clone()));
                let r = oversized(x, path);
                path.pop();
                if r.is_some() {
                    return r;
                }
            }
            None
        }
        _ => None,
    }
}
