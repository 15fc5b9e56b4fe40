//! This crate is local-only tooling: no function binary may link it. The test walks the resolved
//! dependency graph (`cargo metadata`) from every package under `functions/` along normal edges only
//! (dev- and build-dependencies are not linked into the binary) and fails if it reaches this crate or
//! `serde_yaml`, which production used only to provision moto from the template.
//!
//! `cargo metadata` runs `--offline` (tests reach nothing beyond 127.0.0.1) and therefore
//! `--filter-platform <host>`: the full graph would need the manifests of crates for other platforms,
//! which are not downloaded. Our own crates have no platform-specific dependencies.

use serde_json::Value;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::process::Command;

/// Crates that must not be in a function binary's normal dependency graph.
const LOCAL_ONLY: &[&str] = &["shopsync-localstack", "serde_yaml"];

/// The host's target triple (`rustc -vV`).
fn host_triple(root: &Path) -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .current_dir(root)
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .trim()
        .to_string()
}

fn metadata() -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .arg("--filter-platform")
        .arg(host_triple(&root))
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn no_function_binary_links_the_local_stack() {
    let meta = metadata();
    let root = Path::new(meta["workspace_root"].as_str().unwrap()).to_path_buf();
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let functions: Vec<&str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            Path::new(p["manifest_path"].as_str().unwrap()).starts_with(root.join("functions"))
        })
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        functions.len() >= 3,
        "expected the function packages (sync-inventory, api, status), found {functions:?}"
    );
    // Normal edges: a dep_kinds entry with `kind: null` (for any target platform).
    let normal_deps: HashMap<&str, Vec<&str>> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap())
                .collect();
            (node["id"].as_str().unwrap(), deps)
        })
        .collect();

    for function in functions {
        // Breadth-first, remembering how each package was reached to print the offending path.
        let mut parent: HashMap<&str, &str> = HashMap::new();
        let mut seen = BTreeSet::from([function]);
        let mut queue = VecDeque::from([function]);
        while let Some(id) = queue.pop_front() {
            for &dep in normal_deps.get(id).map(Vec::as_slice).unwrap_or_default() {
                if seen.insert(dep) {
                    parent.insert(dep, id);
                    queue.push_back(dep);
                }
            }
        }
        let reached: BTreeSet<&str> = seen.iter().map(|id| names[id]).collect();
        // The walk must see the production crates, or an empty graph would pass.
        for expected in ["shopsync-runtime", "shopsync-aws"] {
            assert!(
                reached.contains(expected),
                "{} does not reach {expected}: the walk is broken",
                names[function]
            );
        }
        for banned in LOCAL_ONLY {
            if let Some(&id) = seen.iter().find(|id| names[**id] == *banned) {
                let mut path = vec![names[id]];
                let mut at = id;
                while let Some(&up) = parent.get(at) {
                    path.push(names[up]);
                    at = up;
                }
                path.reverse();
                panic!(
                    "{} links {banned} (local-only tooling) through normal dependencies: {}; \
                     make it a dev-dependency",
                    names[function],
                    path.join(" -> ")
                );
            }
        }
    }
}
