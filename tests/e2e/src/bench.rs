//! What the benchmarks share: the local stack at Shopify's Standard-plan limits on the time-scaled
//! simulator, and how figures are printed (ratios against a baseline of the same run, targets met or
//! missed — never a timed assertion).

use crate::{Stack, StackOptions};
use serde_json::{Value, json};
use shopify_sim::SimConfig;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Shopify's Standard plan: points restored per second.
pub const RESTORE_RATE: f64 = 100.0;
/// Shopify's Standard plan: bucket size.
pub const BUCKET_SIZE: f64 = 2_000.0;

/// Stack options at Standard-plan limits, simulated time running `time_scale` times the wall clock.
pub fn standard_plan(time_scale: f64) -> StackOptions {
    StackOptions {
        shopify: SimConfig {
            restore_rate: RESTORE_RATE,
            bucket_size: BUCKET_SIZE,
            time_scale,
            ..SimConfig::default()
        },
        ..StackOptions::default()
    }
}

/// The local stack at Standard-plan limits (see [`standard_plan`]).
pub async fn standard_plan_stack(time_scale: f64) -> Result<Stack, String> {
    Stack::start(standard_plan(time_scale)).await
}

/// `a / b` as `"12.3x"`, or `n/a` when `b` is not positive.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.1}x", a / b)
    } else {
        "n/a".into()
    }
}

/// How a target reads in the summary.
pub fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// The `p`-th percentile (0–100) of `values` by the nearest-rank rule; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// Appended to the local stack's `sitecustomize` for moto ([`ATOMIC_DYNAMODB`]): a `TransactWriteItems`
/// rolls back the items it touched instead of deep-copying, before it starts, every table it names
/// (moto 5 does, once per item of the transaction). Every fenced write of the engine is a
/// transaction, so with moto's copy a write costs time in proportion to the whole table, and a
/// benchmark that stages thousands of orders in one table never finishes. DynamoDB requests are
/// serialised by [`ATOMIC_DYNAMODB`], so restoring the touched items is the same rollback.
///
/// [`ATOMIC_DYNAMODB`]: shopsync_localstack::local::ATOMIC_DYNAMODB
pub const ITEM_ROLLBACK: &str = r#"
# Written by shopsync-e2e (bench.rs): a transaction rolls back the items it touched instead of
# deep-copying the tables it names; requests are serialised above, so this is the same rollback.
import copy as _copy
try:
    import moto.dynamodb.models as _models
except Exception:
    _models = None
if _models is not None and hasattr(_models, "Table") and hasattr(getattr(_models, "DynamoDBBackend", None), "transact_write_items"):
    class _TablesAsIs:
        def __getattr__(self, name):
            return getattr(_copy, name)

        @staticmethod
        def deepcopy(x, memo=None):
            return x if isinstance(x, _models.Table) else _copy.deepcopy(x, memo)

    def _touched(backend, transact_items):
        out = []
        for entry in transact_items:
            for op_type, op in entry.items():
                table = backend.tables.get(op.get("TableName"))
                if table is None:
                    continue
                if op_type == "Put":
                    attrs = op.get("Item") or {}
                    key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs.get(table.range_key_attr)
                else:
                    key = op.get("Key")
                try:
                    h, r = backend.get_keys_value(table, key)
                    old = table.get_item(h, r)
                except Exception:
                    continue
                out.append((table, h, r, _copy.deepcopy(old)))
        return out

    def _restore(touched):
        for table, h, r, old in reversed(touched):
            if r is not None:
                if old is None:
                    if h in table.items:
                        table.items[h].pop(r, None)
                else:
                    table.items[h][r] = old
            elif old is None:
                table.items.pop(h, None)
            else:
                table.items[h] = old

    _transact = _models.DynamoDBBackend.transact_write_items

    def _transact_write_items(self, transact_items):
        touched = _touched(self, transact_items)
        real = _models.copy
        _models.copy = _TablesAsIs()
        try:
            return _transact(self, transact_items)
        except Exception:
            _restore(touched)
            raise
        finally:
            _models.copy = real

    _models.DynamoDBBackend.transact_write_items = _transact_write_items
"#;

/// A moto server started for a benchmark's local stacks (see [`start_moto`]); dropping it stops moto.
pub struct BenchMoto {
    pub endpoint: String,
    child: Child,
    site: PathBuf,
}

impl Drop for BenchMoto {
    fn drop(&mut self) {
        drop(self.child.stdin.take()); // the wrapper stops moto
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.site);
    }
}

/// Start moto on a free 127.0.0.1 port with the local stack's `sitecustomize` plus [`ITEM_ROLLBACK`],
/// for [`MotoServer::shared`](shopsync_localstack::MotoServer::shared) to use once `AWS_ENDPOINT_URL`
/// names it (the caller sets it, before any other thread runs). The executable is found as the local
/// stack finds it: `$MOTO_SERVER`, else `.venv/bin/moto_server` of the workspace, else `PATH`.
pub fn start_moto() -> io::Result<BenchMoto> {
    let exe = std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            shopsync_localstack::local::workspace_root()
                .map(|root| root.join(".venv/bin/moto_server"))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from("moto_server"));
    let site = std::env::temp_dir().join(format!("shopsync-bench-moto-{}", std::process::id()));
    std::fs::create_dir_all(&site)?;
    std::fs::write(
        site.join("sitecustomize.py"),
        format!(
            "{}{ITEM_ROLLBACK}",
            shopsync_localstack::local::ATOMIC_DYNAMODB
        ),
    )?;
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port();
    let log = std::fs::File::create(site.join("moto.log"))?;
    // `cat` returns when stdin closes (our Drop, or our exit); then moto is stopped.
    let script = r#""$0" -H 127.0.0.1 -p "$1" & moto=$!; trap 'kill $moto 2>/dev/null' EXIT; cat >/dev/null; kill $moto 2>/dev/null; wait $moto"#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&exe)
        .arg(port.to_string())
        .env("PYTHONPATH", &site)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start {}: {e}", exe.display())))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !answers_http(addr) {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(site.join("moto.log")).unwrap_or_default();
            return Err(io::Error::other(format!(
                "{} exited with {status}: {log}",
                exe.display()
            )));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(io::Error::other(format!(
                "{} did not answer on {addr}",
                exe.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(BenchMoto {
        endpoint: format!("http://{addr}"),
        child,
        site,
    })
}

fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_nearest_rank_rule() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 95.0), Some(19.0));
        assert_eq!(percentile(&v, 50.0), Some(10.0));
        assert_eq!(percentile(&v, 100.0), Some(20.0));
        assert_eq!(percentile(&[3.0], 95.0), Some(3.0));
        assert_eq!(percentile(&[], 95.0), None);
    }
}

/// A plain GraphQL caller that paces itself as the reference does: it keeps the last
/// `throttleStatus`, waits for the bucket to hold the query's requested cost, and on THROTTLED waits
/// and sends again. The benchmarks' baselines (orders, catalog) call Shopify through it.
pub struct PlainGraphql {
    http: reqwest::Client,
    url: String,
    token: String,
    /// (points available, restore rate per real second, when) from the last answer.
    throttle: Option<(f64, f64, Instant)>,
    /// Requested cost per operation, learnt from the answers.
    requested: HashMap<&'static str, f64>,
    /// THROTTLED answers it waited out.
    pub throttled: u64,
}

impl PlainGraphql {
    /// A caller of the Admin API at `url` with the store's access token.
    pub fn new(url: String, token: String) -> PlainGraphql {
        PlainGraphql {
            http: reqwest::Client::new(),
            url,
            token,
            throttle: None,
            requested: HashMap::new(),
            throttled: 0,
        }
    }

    pub async fn call(
        &mut self,
        name: &'static str,
        query: &str,
        variables: Value,
    ) -> Result<Value, String> {
        loop {
            if let (Some((available, rate, at)), Some(cost)) =
                (self.throttle, self.requested.get(name).copied())
            {
                let now = available + rate * at.elapsed().as_secs_f64();
                if now < cost && rate > 0.0 {
                    tokio::time::sleep(Duration::from_secs_f64((cost - now) / rate)).await;
                }
            }
            let answer: Value = self
                .http
                .post(&self.url)
                .header("X-Shopify-Access-Token", &self.token)
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .await
                .map_err(|e| format!("{name}: {e}"))?
                .json()
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            let cost = &answer["extensions"]["cost"];
            if let Some(requested) = cost["requestedQueryCost"].as_f64() {
                self.requested.insert(name, requested);
            }
            let status = &cost["throttleStatus"];
            if let (Some(available), Some(rate)) = (
                status["currentlyAvailable"].as_f64(),
                status["restoreRate"].as_f64(),
            ) {
                self.throttle = Some((available, rate, Instant::now()));
            }
            let throttled = answer["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["extensions"]["code"] == "THROTTLED"));
            if throttled {
                // As the reference: wait for the bucket (above, from the answer's throttleStatus)
                // and send again.
                self.throttled += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            if let Some(errors) = answer.get("errors") {
                return Err(format!("{name}: {errors}"));
            }
            return Ok(answer["data"].clone());
        }
    }
}
