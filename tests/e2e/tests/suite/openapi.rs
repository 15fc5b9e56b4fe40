//! infra/openapi.yaml and the api function agree: every documented operation is routed by the
//! handler and every route is documented, every operation goes to the api function's integration and
//! documents the auth failures, and every error code the handler can answer is in the document's enum.

use serde_json::{Value, json};
use shopsync_api::Route;
use shopsync_e2e::openapi::OpenApi;
use std::collections::BTreeSet;

/// A concrete path for a template: sample values that pass the parameter patterns.
fn sample(template: &str) -> String {
    template
        .replace("{shop}", "DEMO")
        .replace("{job_id}", "1795000000000-sync-inventory-abc")
        .replace("{cue}", "skipped_records")
        .replace("{failure_id}", "5fea7756-0ea4-451a-a703-a558b933e274")
}

#[test]
fn every_documented_operation_is_routed_and_every_route_documented() {
    let doc = OpenApi::load().unwrap();
    let ops = doc.operations();
    assert!(ops.len() >= 12, "{} operations", ops.len());
    for op in &ops {
        let path = sample(&op.template);
        assert!(
            Route::parse(&op.method, &path).is_ok(),
            "{} {} is documented but not routed",
            op.method,
            op.template
        );
    }
    // The other way round: every method the router accepts on every documented path is documented.
    for op in &ops {
        let path = sample(&op.template);
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if Route::parse(method, &path).is_ok() {
                assert!(
                    doc.find(method, &path).is_some(),
                    "{method} {path} is routed but not documented"
                );
            }
        }
    }
}

#[test]
fn every_operation_goes_to_the_api_function_and_documents_its_failures() {
    let doc = OpenApi::load().unwrap();
    let root = doc.document();
    assert_eq!(root["security"][0]["jwt"], Value::Array(vec![]));
    let authorizer =
        &root["components"]["securitySchemes"]["jwt"]["x-amazon-apigateway-authorizer"];
    assert_eq!(authorizer["type"], "jwt");
    assert_eq!(
        authorizer["identitySource"],
        "$request.header.Authorization"
    );
    let integration = &root["components"]["x-amazon-apigateway-integrations"]["api"];
    assert_eq!(integration["type"], "aws_proxy");
    assert_eq!(integration["payloadFormatVersion"], "2.0");
    assert!(
        integration["uri"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .contains("${ApiFunction.Arn}")
    );
    for op in doc.operations() {
        let name = format!("{} {}", op.method, op.template);
        assert_eq!(
            op.spec["x-amazon-apigateway-integration"]["$ref"],
            "#/components/x-amazon-apigateway-integrations/api",
            "{name}"
        );
        assert!(op.spec["operationId"].is_string(), "{name}");
        for status in ["400", "401", "403", "500", "503"] {
            assert!(
                op.spec["responses"].get(status).is_some(),
                "{name} lacks {status}"
            );
        }
    }
}

#[test]
fn every_error_code_the_handler_answers_is_documented() {
    let doc = OpenApi::load().unwrap();
    let documented: BTreeSet<String> = doc.document()["components"]["schemas"]["Error"]["properties"]["error"]
        ["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/api/src");
    let mut used = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // ApiError::new(<status>, "<code>", ...) and ApiError::conflict("<code>", ...), possibly
        // spread over lines; and failure_error(e, "<code>").
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for marker in ["ApiError::new(", "ApiError::conflict(", "failure_error(e, "] {
            for piece in flat.split(marker).skip(1) {
                // The code is the first argument (after the status for `new`), as a literal.
                let piece = piece.trim_start();
                let rest = match marker {
                    "ApiError::new(" => piece
                        .trim_start_matches(|c: char| c.is_ascii_digit())
                        .trim_start_matches(',')
                        .trim_start(),
                    _ => piece,
                };
                if let Some(code) = rest.strip_prefix('"').and_then(|r| r.split('"').next())
                    && !code.is_empty()
                    && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                {
                    used.insert(code.to_string());
                }
            }
        }
    }
    for helper in ["invalid_request", "unauthorized", "forbidden", "not_found"] {
        used.insert(helper.to_string());
    }
    assert!(used.len() >= 12, "found only {used:?}");
    let missing: Vec<_> = used.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "codes not in the OpenAPI Error enum: {missing:?}"
    );
}

#[test]
fn the_documents_task_names_job_ids_and_run_options_follow_the_catalogue() {
    use shopsync_domain::TaskKind;
    let doc = OpenApi::load().unwrap();
    let schemas = &doc.document()["components"]["schemas"];
    let names = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    };
    let all: BTreeSet<String> = TaskKind::ALL.iter().map(|t| t.name().to_string()).collect();
    let with_full: BTreeSet<String> = TaskKind::ALL
        .iter()
        .filter(|t| t.spec().default_full_interval_minutes > 0)
        .map(|t| t.name().to_string())
        .collect();
    assert_eq!(names(&schemas["TaskName"]["enum"]), all);
    // `full` is documented for the tasks with a full run, and only `false` for the others.
    assert_eq!(
        names(&schemas["FullRunRequest"]["properties"]["task"]["enum"]),
        with_full
    );
    assert_eq!(
        names(&schemas["IncrementalRunRequest"]["properties"]["task"]["enum"]),
        all.difference(&with_full).cloned().collect()
    );
    // A job id names a catalogued task: the pattern's alternation is the catalogue.
    let pattern = schemas["JobId"]["pattern"].as_str().unwrap();
    let alternation = pattern
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(tasks, _)| tasks.split('|').map(String::from).collect::<BTreeSet<_>>())
        .unwrap();
    assert_eq!(alternation, all);
    let job_id = json!({"$ref": "#/components/schemas/JobId"});
    for (id, valid) in [
        ("1795000000000-sync-inventory-5f0c2a9e1b3d", true),
        (
            "1795000000000-sync-catalog-prices-retry-5fea7756-0ea4",
            true,
        ),
        ("0000000000000-a-0", false),
        ("179500000000-sync-inventory-x", false),
        ("1795000000000-sync-inventory-", false),
        (
            &format!("1795000000000-sync-inventory-{}", "x".repeat(65)),
            false,
        ),
    ] {
        assert_eq!(doc.validate(&job_id, &json!(id)).is_ok(), valid, "{id}");
    }
    // Settings: only the tasks this release runs (the task registry) can be enabled.
    let tasks = &schemas["ShopSettings"]["properties"]["tasks"]["properties"];
    for task in TaskKind::ALL {
        let want = if shopsync_tasks::registry::is_implemented(task) {
            "#/components/schemas/TaskSettings"
        } else {
            "#/components/schemas/UnavailableTaskSettings"
        };
        assert_eq!(tasks[task.name()]["$ref"], want, "{task}");
    }
}
