//! A client of the running node's HTTP API.
//!
//! sled admits one process, so while `setu run` holds the store the other
//! verbs go through the daemon instead. The daemon writes its base URL to
//! `DATA_DIR/api.url` while it runs; [`Client::discover`] reads it and
//! checks that the daemon answers, so a file left by a crash is ignored.
//!
//! A daemon that answers 503 (busy) or accepts the connection but is slow
//! to answer is still running: only a refused connection (or no `api.url`)
//! means "not running", and only then does a verb open the store itself.
//! The CLI sends the API token with every request it can, so the daemon
//! admits it from the operator's pool rather than the anonymous readers'.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use ureq::Agent;

use crate::datadir::files;
/// Longest `api.url` read.
const MAX_URL_FILE_BYTES: u64 = 4096;
/// Longest API token file read.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;
/// How long the daemon has to answer the status probe of [`Client::discover`].
const DISCOVER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one ordinary request may take, from connect to the last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long an upload (an import of up to 64 MiB) may take.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest successful answer read (a `query --all` of a large catalogue).
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024 * 1024;
/// Largest error answer read.
const MAX_PROBLEM_BYTES: u64 = 1024 * 1024;
/// How often a read refused with 503 (busy) is retried.
const BUSY_RETRIES: u32 = 3;
/// Longest wait before a retry, whatever `Retry-After` says.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// An error answer of the API (`application/problem+json`, RFC 9457).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ApiError {
    /// A URI naming the kind of problem.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// A short summary.
    #[serde(default)]
    pub title: String,
    /// The HTTP status.
    #[serde(default)]
    pub status: u16,
    /// What went wrong, for a person.
    #[serde(default)]
    pub detail: String,
    /// Each problem with a field, as `path: message`.
    #[serde(default)]
    pub errors: Vec<String>,
}

impl ApiError {
    /// The last segment of `type`, e.g. `invalid-body`.
    pub fn code(&self) -> &str {
        self.kind.rsplit('/').next().unwrap_or("")
    }

    /// True for a 503: the daemon runs but is serving all it can.
    pub fn is_busy(&self) -> bool {
        self.status == 503
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = if !self.detail.is_empty() {
            self.detail.clone()
        } else if !self.title.is_empty() {
            self.title.clone()
        } else {
            format!("the node answered HTTP {}", self.status)
        };
        match self.errors.as_slice() {
            [] => write!(f, "{head}"),
            [one] => write!(f, "{head}: {one}"),
            many => {
                write!(f, "{head}:")?;
                for e in many {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ApiError {}

/// The running daemon's API.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    dir: PathBuf,
}

impl Client {
    /// The client of the daemon running on `data_dir`, if one is: `api.url`
    /// exists and something accepts connections there. A daemon that
    /// answers `GET /v1/status` with 503, or not within
    /// [`DISCOVER_TIMEOUT`], is busy, not gone: it is returned, and the
    /// verb's own request reports it.
    pub fn discover(data_dir: &Path) -> Option<Client> {
        let (bytes, over) =
            crate::io::read_limited(&data_dir.join(files::API_URL), MAX_URL_FILE_BYTES).ok()?;
        if over {
            return None;
        }
        let url = String::from_utf8(bytes).ok()?;
        let base = url.trim().trim_end_matches('/');
        if !base.starts_with("http://") || base.contains(char::is_whitespace) {
            tracing::warn!("api.url: {base:?} is not an http:// URL; ignored");
            return None;
        }
        let client = Client {
            base: base.to_string(),
            dir: data_dir.to_path_buf(),
        };
        let probe = client
            .authorized(agent(DISCOVER_TIMEOUT).get(client.url("/v1/status")))
            .call();
        if let Err(e) = &probe
            && !refused(e)
        {
            tracing::debug!("api.url: {base} is slow to answer ({e}); taking it as busy");
            return Some(client);
        }
        match client.request::<setu::Status>(probe, "/v1/status") {
            Ok(s) => {
                // A stale file may point at a port another daemon took since:
                // make sure it serves this data directory (when both paths
                // can be compared).
                if let Some(theirs) = s.replica.data_dir.filter(|p| p.is_absolute())
                    && let (Ok(a), Ok(b)) = (theirs.canonicalize(), data_dir.canonicalize())
                    && a != b
                {
                    tracing::warn!(
                        "api.url: {base} serves {}, not this data directory; ignored",
                        a.display()
                    );
                    return None;
                }
                Some(client)
            }
            Err(e)
                if api_error(&e).is_some_and(|p| {
                    p.is_busy() || p.kind.starts_with("https://setu.invalid/problems/")
                }) =>
            {
                // Busy, or it speaks our API: running, though it refused
                // the probe.
                tracing::debug!("api.url: {base} answered the probe with {e:#}");
                Some(client)
            }
            Err(e) => {
                tracing::debug!("api.url: {base} does not answer ({e:#}); using the store");
                None
            }
        }
    }

    /// The daemon's base URL, e.g. `http://127.0.0.1:7180`.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn bearer(&self) -> Result<String> {
        let path = self.dir.join(crate::datadir::files::TOKEN);
        let bytes = crate::io::read_small(&path, MAX_TOKEN_FILE_BYTES, "an API token")
            .with_context(|| {
                format!(
                    "cannot read the API token {}, which writes to the running node need",
                    path.display()
                )
            })?;
        let token =
            String::from_utf8(bytes).with_context(|| format!("{} is not text", path.display()))?;
        Ok(format!("Bearer {}", token.trim()))
    }

    /// Adds the API token, when this user can read it: the daemon then
    /// admits the request from the operator's pool.
    fn authorized<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match self.bearer() {
            Ok(auth) => req.header("Authorization", auth),
            Err(_) => req,
        }
    }

    /// `GET path_and_query`, decoding the JSON answer. A 503 is retried
    /// [`BUSY_RETRIES`] times after its `Retry-After`.
    pub fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T> {
        let mut tries = 0;
        loop {
            let sent = self
                .authorized(agent(REQUEST_TIMEOUT).get(self.url(path_and_query)))
                .call();
            let wait = match &sent {
                Ok(r) if r.status().as_u16() == 503 && tries < BUSY_RETRIES => retry_after(r),
                _ => return self.request(sent, path_and_query),
            };
            tries += 1;
            std::thread::sleep(wait);
        }
    }

    /// `POST path` with a JSON body (authorized), decoding the JSON answer.
    pub fn post_json<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        let auth = self.bearer()?;
        self.request(
            agent(REQUEST_TIMEOUT)
                .post(self.url(path))
                .header("Authorization", auth)
                .send_json(body),
            path,
        )
    }

    /// `POST path` with raw bytes (authorized), decoding the JSON answer.
    /// Meant for uploads: the timeout is [`UPLOAD_TIMEOUT`].
    pub fn post_body<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<T> {
        let auth = self.bearer()?;
        self.request(
            agent(UPLOAD_TIMEOUT)
                .post(self.url(path))
                .header("Authorization", auth)
                .content_type(content_type)
                .send(body),
            path,
        )
    }

    fn request<T: DeserializeOwned>(
        &self,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        path: &str,
    ) -> Result<T> {
        let mut resp = sent
            .with_context(|| format!("the running node ({}) did not answer {path}", self.base))?;
        let status = resp.status();
        if status.is_success() {
            return resp
                .body_mut()
                .with_config()
                .limit(MAX_RESPONSE_BYTES)
                .read_json::<T>()
                .with_context(|| {
                    format!(
                        "the running node's answer to {path} is not what this version of setu expects"
                    )
                });
        }
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_PROBLEM_BYTES)
            .read_to_string()
            .unwrap_or_default();
        let mut problem: ApiError = serde_json::from_str(&text).unwrap_or_else(|_| ApiError {
            detail: format!(
                "the running node answered {path} with HTTP {}{}",
                status.as_u16(),
                if text.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", text.trim().chars().take(200).collect::<String>())
                }
            ),
            ..ApiError::default()
        });
        if problem.status == 0 {
            problem.status = status.as_u16();
        }
        if problem.is_busy() {
            problem.detail = format!(
                "the daemon ({}) is busy, retry{}",
                self.base,
                if problem.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", problem.detail)
                }
            );
        }
        Err(problem.into())
    }
}

/// An agent with the given overall timeout. Proxies are not used: the
/// daemon is this machine's (or the operator's own network's).
fn agent(timeout: Duration) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_connect(Some(CONNECT_TIMEOUT.min(timeout)))
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .build()
        .into()
}

/// True if `e` means nothing listens there (the daemon is not running).
fn refused(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::AddrNotAvailable
        ),
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => true,
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::BadUri(_) => true,
        _ => false,
    }
}

/// The `Retry-After` of a response (whole seconds), at most
/// [`MAX_RETRY_WAIT`].
fn retry_after(r: &ureq::http::Response<ureq::Body>) -> Duration {
    r.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
        .min(MAX_RETRY_WAIT)
}

/// The API error inside `e`, if that is what it is.
pub fn api_error(e: &anyhow::Error) -> Option<&ApiError> {
    e.downcast_ref::<ApiError>()
}

/// Percent-encodes one path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_as_one_message() {
        let p: ApiError = serde_json::from_str(
            r#"{"type":"https://setu.invalid/problems/invalid-body","title":"Unprocessable Entity","status":422,"detail":"the daemon refused","errors":["body.title: missing"]}"#,
        )
        .expect("json");
        assert_eq!(p.to_string(), "the daemon refused: body.title: missing");
        assert_eq!(p.code(), "invalid-body");
        let two = ApiError {
            detail: "bad".into(),
            errors: vec!["a: x".into(), "b: y".into()],
            ..ApiError::default()
        };
        assert_eq!(two.to_string(), "bad:\n  a: x\n  b: y");
    }

    #[test]
    fn no_file_or_a_dead_daemon_means_no_client() {
        let d = tempfile::tempdir().expect("tmp");
        assert!(Client::discover(d.path()).is_none());
        // A port that was just free: nothing answers there.
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        std::fs::write(
            d.path().join(files::API_URL),
            format!("http://127.0.0.1:{port}\n"),
        )
        .expect("write");
        assert!(Client::discover(d.path()).is_none());
        std::fs::write(d.path().join(files::API_URL), "ftp://x\n").expect("write");
        assert!(Client::discover(d.path()).is_none());
    }

    /// A daemon answering every request with 503 and `Retry-After: 0`;
    /// returns its URL and how many requests it served so far.
    fn busy_daemon() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", l.local_addr().expect("addr"));
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = served.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let mut buf = [0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                // Counted before answering: the client may read the count
                // as soon as it has the answer.
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = r#"{"type":"https://setu.invalid/problems/busy","title":"Service Unavailable","status":503,"detail":"the node is serving as many anonymous requests as it can; retry shortly"}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, served)
    }

    #[test]
    fn a_busy_daemon_is_running_and_reported_busy() {
        let d = tempfile::tempdir().expect("tmp");
        let (url, served) = busy_daemon();
        std::fs::write(d.path().join(files::API_URL), format!("{url}\n")).expect("write");
        let c = Client::discover(d.path()).expect("a busy daemon is still a running one");
        let e = c.get::<serde_json::Value>("/v1/status").expect_err("busy");
        let p = api_error(&e).expect("an API error");
        assert!(p.is_busy(), "{p:?}");
        assert!(e.to_string().contains("is busy, retry"), "{e}");
        // The probe, then the first try and BUSY_RETRIES retries.
        assert_eq!(
            served.load(std::sync::atomic::Ordering::SeqCst),
            2 + BUSY_RETRIES as usize
        );
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("BGD-A2I-0001"), "BGD-A2I-0001");
        assert_eq!(encode("a b/c?"), "a%20b%2Fc%3F");
    }
}
