//! Checks requests and answers against infra/openapi.yaml, the single source of truth of the API.
//!
//! The document's OpenAPI 3.0 schemas are turned into JSON Schema (draft 7) once — `nullable: true`
//! becomes a `null` alternative — and every answer a test receives is looked up by method, path
//! template and status: an answer whose status the document does not list, or whose body does not
//! match the listed schema, is a failure.

use serde_json::{Value, json};
use std::collections::BTreeMap;

pub struct OpenApi {
    doc: Value,
    root: Value,
}

/// One operation of the document.
pub struct Operation<'a> {
    pub template: String,
    pub method: String,
    pub spec: &'a Value,
}

impl OpenApi {
    /// Read infra/openapi.yaml from the workspace.
    pub fn load() -> Result<OpenApi, String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/openapi.yaml");
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let doc: Value = serde_yaml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
        let mut components = doc.get("components").cloned().unwrap_or(Value::Null);
        to_json_schema(&mut components);
        Ok(OpenApi {
            root: json!({ "components": components }),
            doc,
        })
    }

    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Every (method, path template) of the document.
    pub fn operations(&self) -> Vec<Operation<'_>> {
        let mut out = Vec::new();
        if let Some(paths) = self.doc["paths"].as_object() {
            for (template, item) in paths {
                for (method, spec) in item.as_object().into_iter().flatten() {
                    if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                        out.push(Operation {
                            template: template.clone(),
                            method: method.to_uppercase(),
                            spec,
                        });
                    }
                }
            }
        }
        out
    }

    /// The operation serving `method path`, with its path parameters.
    pub fn find(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(Operation<'_>, BTreeMap<String, String>)> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.operations().into_iter().find_map(|op| {
            if op.method != method.to_uppercase() {
                return None;
            }
            let parts: Vec<&str> = op.template.trim_start_matches('/').split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut params = BTreeMap::new();
            for (p, s) in parts.iter().zip(&segments) {
                if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    params.insert(name.to_string(), s.to_string());
                } else if p != s {
                    return None;
                }
            }
            Some((op, params))
        })
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => self.doc.pointer(r.trim_start_matches('#')).unwrap_or(v),
            None => v,
        }
    }

    /// Validate `instance` against a schema of the document (`#/components/schemas/X` or inline).
    pub fn validate(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let mut schema = schema.clone();
        to_json_schema(&mut schema);
        let mut full = self.root.clone();
        if let (Some(f), Some(s)) = (full.as_object_mut(), schema.as_object()) {
            for (k, v) in s {
                f.insert(k.clone(), v.clone());
            }
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&full)
            .map_err(|e| format!("schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Check an answer: its status is documented for the operation, and its body matches.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), String> {
        let (op, params) = self
            .find(method, path)
            .ok_or_else(|| format!("{method} {path} is not in the OpenAPI document"))?;
        for p in op.spec["parameters"].as_array().into_iter().flatten() {
            let p = self.resolve(p);
            if p["in"] == "path"
                && let Some(v) = params.get(p["name"].as_str().unwrap_or(""))
                && status < 400
            {
                self.validate(&p["schema"], &Value::from(v.as_str()))
                    .map_err(|e| format!("path parameter {}: {e}", p["name"]))?;
            }
        }
        let response = op.spec["responses"]
            .get(status.to_string())
            .ok_or_else(|| {
                format!(
                    "{method} {} does not document status {status} (body {body})",
                    op.template
                )
            })?;
        let response = self.resolve(response);
        let schema = &response["content"]["application/json"]["schema"];
        if schema.is_null() {
            return Err(format!(
                "{method} {} {status} has no JSON schema",
                op.template
            ));
        }
        self.validate(schema, body)
            .map_err(|e| format!("{method} {path} {status}: {e}; body {body}"))
    }

    /// Check a request body against the operation's request schema.
    pub fn check_request(&self, method: &str, path: &str, body: &Value) -> Result<(), String> {
        let (op, _) = self
            .find(method, path)
            .ok_or_else(|| format!("{method} {path} is not in the OpenAPI document"))?;
        let schema = &op.spec["requestBody"]["content"]["application/json"]["schema"];
        self.validate(schema, body)
    }
}

/// OpenAPI 3.0 schema objects → JSON Schema draft 7, in place.
fn to_json_schema(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                to_json_schema(child);
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                match map.get("type").cloned() {
                    Some(Value::String(t)) => {
                        map.insert("type".into(), json!([t, "null"]));
                        if let Some(Value::Array(e)) = map.get_mut("enum") {
                            e.push(Value::Null);
                        }
                    }
                    Some(_) => {}
                    None if map.contains_key("allOf") || map.contains_key("$ref") => {
                        let inner = Value::Object(std::mem::take(map));
                        map.insert("anyOf".into(), json!([{"type": "null"}, inner]));
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}
