//! A client of the running node's HTTP API.
//!
//! sled admits one process, so while `setu run` holds the store the other
//! verbs go through the daemon instead. The daemon writes its base URL to
//! `DATA_DIR/api.url` while it runs; [`Client::discover`] reads it and
//! checks that the daemon answers, so a file left by a crash is ignored.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use ureq::Agent;

/// The file, in the data directory, holding the running daemon's base URL.
pub const URL_FILE: &str = "api.url";
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
    /// exists and `GET /v1/status` answers within [`DISCOVER_TIMEOUT`].
    pub fn discover(data_dir: &Path) -> Option<Client> {
        let (bytes, over) =
            crate::io::read_limited(&data_dir.join(URL_FILE), MAX_URL_FILE_BYTES).ok()?;
        if over {
            return None;
        }
        let url = String::from_utf8(bytes).ok()?;
        let base = url.trim().trim_end_matches('/');
        if !base.starts_with("http://") || base.contains(char::is_whitespace) {
            tracing::warn!("{URL_FILE}: {base:?} is not an http:// URL; ignored");
            return None;
        }
        let client = Client {
            base: base.to_string(),
            dir: data_dir.to_path_buf(),
        };
        match client.request::<setu::Status>(
            agent(DISCOVER_TIMEOUT).get(client.url("/v1/status")).call(),
            "/v1/status",
        ) {
            Ok(s) => {
                // A stale file may point at a port another daemon took since:
                // make sure it serves this data directory (when both paths
                // can be compared).
                if let Some(theirs) = s.replica.data_dir.filter(|p| p.is_absolute())
                    && let (Ok(a), Ok(b)) = (theirs.canonicalize(), data_dir.canonicalize())
                    && a != b
                {
                    tracing::warn!(
                        "{URL_FILE}: {base} serves {}, not this data directory; ignored",
                        a.display()
                    );
                    return None;
                }
                Some(client)
            }
            Err(e) => {
                tracing::debug!("{URL_FILE}: {base} does not answer ({e:#}); using the store");
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
        let path = self.dir.join(crate::cmd::init::TOKEN_FILE);
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

    /// `GET path_and_query`, decoding the JSON answer.
    pub fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T> {
        self.request(
            agent(REQUEST_TIMEOUT).get(self.url(path_and_query)).call(),
            path_and_query,
        )
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
            d.path().join(URL_FILE),
            format!("http://127.0.0.1:{port}\n"),
        )
        .expect("write");
        assert!(Client::discover(d.path()).is_none());
        std::fs::write(d.path().join(URL_FILE), "ftp://x\n").expect("write");
        assert!(Client::discover(d.path()).is_none());
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("BGD-A2I-0001"), "BGD-A2I-0001");
        assert_eq!(encode("a b/c?"), "a%20b%2Fc%3F");
    }
}
