//! A local moto server for the tests and for the local stack of `shopsync-e2e` (end-to-end tests,
//! demo, benchmark).
//!
//! moto stands in for DynamoDB, SQS and Secrets Manager offline. The adapters do not know about it:
//! they get an [`SdkConfig`] whose endpoint is moto's, exactly as the Lambda binaries get one whose
//! endpoint comes from `AWS_ENDPOINT_URL`. This module only finds the `moto_server` executable, starts
//! it on a free loopback port, waits until it answers, and stops it again.
//!
//! [`MotoServer::shared`] gives a test binary one server for all its tests (tests isolate themselves by
//! unique table and queue names). If `AWS_ENDPOINT_URL` is already set — CI started a server, or a
//! developer points the tests at another emulator — that endpoint is used and nothing is started.
//!
//! DynamoDB applies each request atomically: a conditional write is checked and applied as one step,
//! which leases, job transitions, retry claims and waiting-job records rely on. moto serves requests on
//! threads and checks a condition some Python statements before it writes, so two concurrent
//! conditional writes of one item can both succeed. The server is therefore started with a
//! `sitecustomize` ([`ATOMIC_DYNAMODB`]) that runs moto's DynamoDB requests one at a time (SQS and
//! Secrets Manager are untouched, so SQS long polls never hold DynamoDB up).
//!
//! The server is started through a tiny `sh` wrapper that kills moto when our end of its stdin pipe
//! closes. Dropping a [`MotoServer`] closes the pipe; so does the exit of the test process, which
//! matters for the shared instance: statics are never dropped, and a leaked moto would outlive
//! `cargo test`.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Region of every local SDK config.
pub const LOCAL_REGION: &str = "us-east-1";
/// How long to wait for a fresh moto to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// `sitecustomize.py` of the moto process: one DynamoDB request at a time, as DynamoDB applies each
/// request atomically (see the module docs).
pub const ATOMIC_DYNAMODB: &str = r#"# Written by shopsync-localstack (local.rs): moto's DynamoDB requests, one at a time.
import threading

_lock = threading.Lock()

try:
    from moto.dynamodb.responses import DynamoHandler as _Handler
except Exception:  # not moto, or another layout: leave it alone
    _Handler = None

if _Handler is not None:
    _call_action = _Handler.call_action

    def _atomic_call_action(self):
        with _lock:
            return _call_action(self)

    _Handler.call_action = _atomic_call_action
"#;

/// A directory holding [`ATOMIC_DYNAMODB`] as `sitecustomize.py`, for moto's `PYTHONPATH`.
fn atomic_dynamodb_site() -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("shopsync-moto-site-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("sitecustomize.py"), ATOMIC_DYNAMODB)?;
    Ok(dir)
}

/// A running moto server (or an external endpoint taken from `AWS_ENDPOINT_URL`).
#[derive(Debug)]
pub struct MotoServer {
    endpoint: String,
    child: Option<Child>,
}

impl MotoServer {
    /// Start a new moto server on a free `127.0.0.1` port and wait until it answers HTTP.
    ///
    /// The executable is `$MOTO_SERVER` if set, else `.venv/bin/moto_server` under the workspace root
    /// (the first ancestor of the current directory holding `Cargo.lock`), else `moto_server` on `PATH`.
    pub fn start() -> io::Result<MotoServer> {
        let exe = find_moto_server()?;
        let port = free_port()?;
        let log_path = std::env::temp_dir().join(format!("shopsync-moto-{port}.log"));
        let log = std::fs::File::create(&log_path)?;
        let site = atomic_dynamodb_site()?;
        let python_path = match std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
            Some(existing) => {
                let mut paths = vec![site];
                paths.extend(std::env::split_paths(&existing));
                std::env::join_paths(paths).map_err(io::Error::other)?
            }
            None => site.into_os_string(),
        };
        // `cat` returns when stdin closes (our Drop, or our process exiting); then moto is stopped.
        let script = r#""$0" -H 127.0.0.1 -p "$1" & moto=$!; trap 'kill $moto 2>/dev/null; rm -f "$2"' EXIT; cat >/dev/null; kill $moto 2>/dev/null; wait $moto"#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&exe)
            .arg(port.to_string())
            .arg(&log_path)
            .env("PYTHONPATH", python_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", exe.display()))
            })?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if answers_http(addr) {
                break;
            }
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "{} exited with {status} before answering: {log}",
                    exe.display()
                )));
            }
            if Instant::now() > deadline {
                let server = MotoServer {
                    endpoint: String::new(),
                    child: Some(child),
                };
                drop(server);
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{} did not answer on {addr} within {START_TIMEOUT:?}",
                        exe.display()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::debug!(%addr, exe = %exe.display(), "moto server started");
        Ok(MotoServer {
            endpoint: format!("http://{addr}"),
            child: Some(child),
        })
    }

    /// One server for the whole process: `AWS_ENDPOINT_URL` if it is set, else a moto started on first
    /// use and stopped when the process exits.
    pub fn shared() -> io::Result<&'static MotoServer> {
        static SHARED: OnceLock<Result<MotoServer, String>> = OnceLock::new();
        let server = SHARED.get_or_init(|| match std::env::var("AWS_ENDPOINT_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(MotoServer {
                endpoint: url.trim().trim_end_matches('/').to_string(),
                child: None,
            }),
            _ => MotoServer::start().map_err(|e| e.to_string()),
        });
        server.as_ref().map_err(|e| io::Error::other(e.clone()))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An SDK config pointing at this server ([`sdk_config_for`]).
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.endpoint).await
    }

    /// Empty all of moto's state (`POST /moto-api/reset`). Prefer unique names in tests: a reset also
    /// wipes what concurrently running tests created.
    pub fn reset(&self) -> io::Result<()> {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "POST /moto-api/reset HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "moto reset failed: {}",
                answer.lines().next().unwrap_or("")
            )))
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take()); // the wrapper stops moto
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An SDK config for a local endpoint: region `us-east-1`, static test credentials, the endpoint for
/// every service. Nothing is read from the environment or from profiles.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(LOCAL_REGION))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "shopsync-local",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// The workspace root: the nearest ancestor of the current directory holding `Cargo.lock`.
pub fn workspace_root() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
}

fn find_moto_server() -> io::Result<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("MOTO_SERVER={} is not a file", path.display()),
            ))
        };
    }
    if let Some(root) = workspace_root() {
        let venv = root.join(".venv/bin/moto_server");
        if venv.is_file() {
            return Ok(venv);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join("moto_server")).find(|p| p.is_file()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "moto_server not found: set MOTO_SERVER, create .venv with `pip install 'moto[server]'`, or put it on PATH",
        )
    })
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Whether something on `addr` answers an HTTP request with a status line.
fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(stream, "GET /moto-api/ HTTP/1.0\r\nHost: {addr}\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(stream.read(&mut buf), Ok(n) if n >= 5 && &buf[..5] == b"HTTP/")
}
