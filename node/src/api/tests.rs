//! The API over real sockets: a node on a temporary directory, the real
//! accept loop on 127.0.0.1:0, and requests written by hand so that slow,
//! half-sent and odd requests can be made. Every wait is on a condition,
//! with a deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{Limits, State};
use super::{schema, web};

/// The longest any test waits for a condition.
const WAIT: Duration = Duration::from_secs(20);
const EXAMPLE: &str = include_str!("../../data/examples/practice.json");

struct Server {
    addr: std::net::SocketAddr,
    token: String,
    node: setu::Node,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// A node and its API, with `extra` routes behind the same guards.
    async fn start(limits: Limits, extra: Router<State>) -> Server {
        Server::start_with(limits, extra, &[]).await
    }

    /// [`Server::start`], letting browsers on `origins` read (CORS).
    async fn start_with(limits: Limits, extra: Router<State>, origins: &[String]) -> Server {
        let origins = origins.to_vec();
        Server::start_shaped(limits, extra, move |s| {
            s.with_cors(&origins).expect("origins")
        })
        .await
    }

    /// [`Server::start`], with `shape` applied to the API's state.
    async fn start_shaped(
        limits: Limits,
        extra: Router<State>,
        shape: impl FnOnce(State) -> State,
    ) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = setu::Config::new(dir.path());
        cfg.net.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")];
        cfg.net.mdns = false;
        cfg.net.kademlia = false;
        cfg.net.network = "test-api".into();
        cfg.key = Some(setu::SecretKey::generate());
        let node = setu::Node::start(cfg).await.expect("node starts");
        let token = "test-token-0123456789".to_string();
        let state = shape(State::new(node.clone(), &token, limits));
        let app = super::layered(super::routes().merge(extra), state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(super::serve(listener, app, limits, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            token,
            node,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("the server stops")
            .expect("join")
            .expect("serve");
        self.node.shutdown().await.expect("node stops");
    }

    fn bearer(&self) -> String {
        format!("Authorization: Bearer {}\r\n", self.token)
    }

    /// One request on its own connection; `headers` end in `\r\n`.
    async fn send(&self, method: &str, path: &str, headers: &str, body: &[u8]) -> Answer {
        let mut s = TcpStream::connect(self.addr).await.expect("connect");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.expect("write");
        s.write_all(body).await.expect("write");
        let mut raw = Vec::new();
        tokio::time::timeout(WAIT, s.read_to_end(&mut raw))
            .await
            .expect("an answer in time")
            .expect("read");
        Answer::parse(&raw)
    }

    async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, "", b"").await
    }

    async fn post_json(&self, path: &str, body: &Value) -> Answer {
        let h = format!("{}Content-Type: application/json\r\n", self.bearer());
        self.send("POST", path, &h, body.to_string().as_bytes())
            .await
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn parse(raw: &[u8]) -> Answer {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[end + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `detail` and `errors` of a problem report, as one string.
    fn problem(&self) -> String {
        let p = self.json();
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{p}"
        );
        assert_eq!(p["status"], self.status, "{p}");
        format!("{} {}", p["detail"], p["errors"])
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 2 + n + 2..];
    }
}

/// Reads `s` until the server closes it; the time since `t`.
async fn until_closed(mut s: TcpStream, t: Instant) -> Duration {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(WAIT, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closes the connection");
    t.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_are_closed_and_the_cap_holds() {
    let limits = Limits {
        max_connections: 4,
        header_timeout: Duration::from_millis(600),
        idle_timeout: Duration::from_millis(900),
        ..Limits::default()
    };
    let srv = Server::start(limits, Router::new()).await;
    // Twice the cap of connections that never finish their headers: the
    // first four are served (and cut), the rest wait in the backlog and
    // are then cut in their turn.
    let mut slow = Vec::new();
    for _ in 0..2 * limits.max_connections {
        let t = Instant::now();
        let mut s = TcpStream::connect(srv.addr).await.expect("connect");
        s.write_all(b"GET /v1/status HTTP/1.1\r\nHost: t\r\n")
            .await
            .expect("write");
        slow.push(tokio::spawn(until_closed(s, t)));
    }
    // A client that connects and says nothing.
    let silent = tokio::spawn(until_closed(
        TcpStream::connect(srv.addr).await.expect("connect"),
        Instant::now(),
    ));
    for s in slow {
        let took = s.await.expect("join");
        assert!(took >= limits.header_timeout, "closed after {took:?}");
    }
    silent.await.expect("join");
    // A kept-alive connection that goes quiet after a request is closed too.
    let mut kept = TcpStream::connect(srv.addr).await.expect("connect");
    kept.write_all(b"GET /v1/status HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 12];
    kept.read_exact(&mut buf).await.expect("an answer");
    assert_eq!(&buf, b"HTTP/1.1 200");
    until_closed(kept, Instant::now()).await;
    // And the server still answers.
    let a = srv.get("/v1/status").await;
    assert_eq!(a.status, 200, "{a:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_readers_at_their_cap_do_not_starve_the_operator() {
    let limits = Limits {
        max_anonymous: 2,
        max_authorized: 2,
        ..Limits::default()
    };
    // A route that holds its request until released.
    let entered = Arc::new(AtomicUsize::new(0));
    let (release, released) = tokio::sync::watch::channel(false);
    let hold = {
        let entered = entered.clone();
        Router::new().route(
            "/v1/test/hold",
            get(move || {
                let entered = entered.clone();
                let mut released = released.clone();
                async move {
                    entered.fetch_add(1, Ordering::SeqCst);
                    let _ = released.wait_for(|r| *r).await;
                    "released"
                }
            }),
        )
    };
    let srv = Arc::new(Server::start(limits, hold).await);
    let holders: Vec<_> = (0..limits.max_anonymous)
        .map(|_| {
            let srv = srv.clone();
            tokio::spawn(async move { srv.get("/v1/test/hold").await })
        })
        .collect();
    let deadline = Instant::now() + WAIT;
    while entered.load(Ordering::SeqCst) < limits.max_anonymous {
        assert!(Instant::now() < deadline, "holders never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Anonymous readers are at their cap: one more is 503, with Retry-After.
    let a = srv.get("/v1/status").await;
    assert_eq!(a.status, 503, "{a:?}");
    assert_eq!(a.header("retry-after"), Some("1"));
    assert!(a.problem().contains("retry"));
    // The operator is not: a read and a write with the token get through.
    let a = srv.send("GET", "/v1/status", &srv.bearer(), b"").await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = srv.post_json("/v1/practices", &json!({})).await;
    assert_eq!(a.status, 422, "{a:?}");
    let _ = release.send(true);
    for h in holders {
        assert_eq!(h.await.expect("join").status, 200);
    }
    let srv = Arc::into_inner(srv).expect("the only handle");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loose_inputs_are_refused_naming_the_parameter() {
    let srv = Server::start(Limits::default(), Router::new()).await;
    for q in [
        "limit=",
        "limit=10001",
        "limit=1000000",
        "limit=-1",
        "limit=x",
    ] {
        let a = srv.get(&format!("/v1/practices?{q}")).await;
        assert_eq!(a.status, 400, "{q}: {a:?}");
        assert!(a.problem().contains("limit"), "{q}: {}", a.problem());
    }
    let a = srv.get("/v1/practices?limit=10000").await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = srv.get("/v1/practices?has_tcv=true&no_tcv=true").await;
    assert_eq!(a.status, 400, "{a:?}");
    let p = a.problem();
    assert!(p.contains("has_tcv") && p.contains("no_tcv"), "{p}");

    // Withdraw takes only {"reason": "non-blank string"}.
    let body: Value = serde_json::from_str(EXAMPLE).expect("example");
    let a = srv.post_json("/v1/practices", &body).await;
    assert_eq!(a.status, 201, "{a:?}");
    let path = "/v1/practices/BGD-A2I-0001/withdraw";
    for (bad, field) in [
        (json!(["garbage"]), "body"),
        (json!("garbage"), "body"),
        (json!({}), "reason"),
        (json!({"reason": 5}), "reason"),
        (json!({"reason": "  "}), "reason"),
        (
            json!({"reason": "x".repeat(super::routes::MAX_REASON_CHARS + 1)}),
            "reason",
        ),
        (json!({"reason": "ok", "extra": 1}), "extra"),
    ] {
        let a = srv.post_json(path, &bad).await;
        assert_eq!(a.status, 400, "{bad}: {a:?}");
        assert!(a.problem().contains(field), "{bad}: {}", a.problem());
    }
    let a = srv.get("/v1/practices/BGD-A2I-0001").await;
    assert_eq!(a.json()["withdrawn"], false, "a refused body withdrew it");
    let a = srv.post_json(path, &json!({"reason": "merged"})).await;
    assert_eq!(a.status, 200, "{a:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_a_route_lacks_are_405_with_allow_not_401() {
    let srv = Server::start(Limits::default(), Router::new()).await;
    for (method, path, allow) in [
        ("DELETE", "/v1/practices", "GET,HEAD,POST"),
        ("PUT", "/v1/status", "GET,HEAD"),
        ("POST", "/v1/status", "GET,HEAD"),
        ("PATCH", "/v1/practices/X-1/withdraw", "POST"),
        ("GET", "/v1/import", "POST"),
    ] {
        let a = srv.send(method, path, "", b"").await;
        assert_eq!(a.status, 405, "{method} {path}: {a:?}");
        let got: Vec<String> = a
            .header("allow")
            .unwrap_or("")
            .split(',')
            .map(|m| m.trim().to_string())
            .collect();
        let want: Vec<String> = allow.split(',').map(str::to_string).collect();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want, "{method} {path}");
        a.problem();
    }
    // Real writes without the token are still 401.
    for path in ["/v1/practices", "/v1/import", "/v1/practices/X-1/withdraw"] {
        let a = srv.send("POST", path, "", b"{}").await;
        assert_eq!(a.status, 401, "{path}: {a:?}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_match_their_documented_schemas() {
    let srv = Server::start(Limits::default(), Router::new()).await;
    /// Decodes `v` as `T` (unknown fields refused) and checks that it
    /// encodes back to `v`.
    fn same<T: serde::de::DeserializeOwned + serde::Serialize>(what: &str, v: &Value) {
        let t: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{what}: {e}: {v}"));
        assert_eq!(&serde_json::to_value(&t).expect("encode"), v, "{what}");
    }
    let body: Value = serde_json::from_str(EXAMPLE).expect("example");
    let a = srv.post_json("/v1/practices", &body).await;
    assert_eq!(a.status, 201, "{a:?}");
    same::<schema::Published>("publish", &a.json());
    same::<schema::Status>("status", &srv.get("/v1/status").await.json());
    same::<Vec<schema::PeerInfo>>("peers", &srv.get("/v1/peers").await.json());
    let page = srv
        .get("/v1/practices?text=digital&facets=true&history=true")
        .await
        .json();
    assert_eq!(page["total"], 1, "{page}");
    same::<schema::SearchPage>("search", &page);
    same::<schema::SearchPage>("search", &srv.get("/v1/practices?limit=0").await.json());
    let mut next = body.clone();
    // Another practice: a second row for one practice id in one file is
    // refused, so that importing a file again adds nothing.
    next["practice_id"] = json!("BGD-A2I-0002");
    next["revision"] = json!(2);
    next["summary"]["text"]["en"] = json!("A second revision, with a new summary.");
    let mut bad = body.clone();
    bad["practice_id"] = json!("");
    let lines = format!("{body}\n{next}\n{bad}\n");
    let h = format!("{}Content-Type: application/x-ndjson\r\n", srv.bearer());
    let a = srv.send("POST", "/v1/import", &h, lines.as_bytes()).await;
    assert_eq!(a.status, 200, "{a:?}");
    let report = a.json();
    let mut results: Vec<&str> = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["result"].as_str())
        .collect();
    results.sort_unstable();
    assert_eq!(results, ["imported", "rejected", "skipped"], "{report}");
    same::<schema::ImportReport>("import", &report);
    let a = srv
        .post_json(
            "/v1/practices/BGD-A2I-0001/withdraw",
            &json!({"reason": "merged"}),
        )
        .await;
    same::<schema::Published>("withdraw", &a.json());
    let view = srv
        .get("/v1/practices/BGD-A2I-0001?history=true")
        .await
        .json();
    assert!(view["history"].is_array(), "{view}");
    same::<schema::PracticeView>("practice", &view);
    let a = srv.get("/v1/practices/NOPE").await;
    assert_eq!(a.status, 404);
    same::<Value>("problem", &a.json());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_declares_its_schemes_types_and_statuses() {
    let srv = Server::start(Limits::default(), Router::new()).await;
    let doc = srv.get("/v1/openapi.json").await.json();
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{doc}");
    assert_eq!(scheme["scheme"], "bearer", "{doc}");
    let ops = |path: &str, method: &str| doc["paths"][path][method].clone();
    let statuses = |op: &Value| -> Vec<String> {
        op["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    };
    let writes = [
        ("/v1/practices", "post"),
        ("/v1/practices/{practice_id}/withdraw", "post"),
        ("/v1/import", "post"),
    ];
    for (path, method) in writes {
        let op = ops(path, method);
        let s = statuses(&op);
        for want in ["400", "401", "413", "500", "503"] {
            assert!(s.contains(&want.to_string()), "{method} {path}: {s:?}");
        }
        assert_eq!(op["security"], json!([{"bearer": []}]), "{path}");
    }
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            let s = statuses(op);
            // Admission lets a liveness probe through whatever the load.
            if path != "/healthz" {
                assert!(s.contains(&"503".to_string()), "{method} {path}: {s:?}");
            }
            for (code, r) in op["responses"].as_object().expect("responses") {
                let content = r["content"].as_object();
                assert!(content.is_some(), "{method} {path} {code}: no content");
                for (ct, c) in content.into_iter().flatten() {
                    assert!(c["schema"].is_object(), "{method} {path} {code} {ct}");
                }
            }
        }
    }
    let withdraw = ops("/v1/practices/{practice_id}/withdraw", "post");
    assert_eq!(
        withdraw["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Withdrawal"
    );
    let publish = ops("/v1/practices", "post");
    assert_ne!(
        publish["requestBody"]["content"]["application/json"]["schema"]["type"],
        "string"
    );
    let w = &doc["components"]["schemas"]["Withdrawal"]["properties"]["reason"];
    assert_eq!(w["maxLength"], super::routes::MAX_REASON_CHARS, "{w}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_for_operators() {
    let srv = Server::start(Limits::default(), Router::new()).await;
    let a = srv.get("/healthz").await;
    assert_eq!((a.status, a.body.as_slice()), (200, &b"ok\n"[..]), "{a:?}");
    let a = srv.get("/readyz").await;
    assert_eq!(a.status, 200, "{a:?}");

    let body: Value = serde_json::from_str(EXAMPLE).expect("example");
    assert_eq!(srv.post_json("/v1/practices", &body).await.status, 201);
    assert_eq!(srv.get("/v1/status").await.status, 200);
    assert_eq!(srv.get("/v1/status").await.status, 200);
    assert_eq!(srv.get("/no/such/route").await.status, 404);
    assert_eq!(
        srv.send("POST", "/v1/practices", "", b"{}").await.status,
        401
    );

    let m = srv.get("/metrics").await;
    assert_eq!(m.status, 200, "{m:?}");
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{m:?}"
    );
    let text = String::from_utf8_lossy(&m.body).to_string();
    for line in [
        "setu_records_held 1",
        "setu_chains_held{kind=\"practice\"} 1",
        "setu_chains_held{kind=\"adoption\"} 0",
        "setu_practices_current 1",
        "setu_records_refused_total{reason=\"invalid\"} 0",
        "setu_peers 0",
        "setu_index_lag ",
        "setu_sync_rounds_total{result=\"started\"} ",
        "setu_wire_bytes_total{direction=\"in\"} ",
        "setu_http_requests_total{route=\"/v1/status\",method=\"GET\",status=\"200\"} 2",
        "setu_http_requests_total{route=\"/v1/practices\",method=\"POST\",status=\"201\"} 1",
        "setu_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "setu_http_requests_total{route=\"admission\",method=\"POST\",status=\"401\"} 1",
        "# EOF",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "no line starting {line:?} in:\n{text}"
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_by_default_and_reads_only_for_the_origins_given() {
    let preflight = "Origin: https://portal.example.gov\r\nAccess-Control-Request-Method: GET\r\n";
    let srv = Server::start(Limits::default(), Router::new()).await;
    let a = srv
        .send(
            "GET",
            "/v1/status",
            "Origin: https://portal.example.gov\r\n",
            b"",
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("access-control-allow-origin"), None, "{a:?}");
    srv.stop().await;

    let srv = Server::start_with(
        Limits::default(),
        Router::new(),
        &["https://portal.example.gov".to_string()],
    )
    .await;
    let a = srv.send("OPTIONS", "/v1/practices", preflight, b"").await;
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://portal.example.gov"),
        "{a:?}"
    );
    assert!(
        a.header("access-control-allow-methods")
            .is_some_and(|m| m.contains("GET") && !m.contains("POST")),
        "{a:?}"
    );
    let a = srv
        .send(
            "GET",
            "/v1/status",
            "Origin: https://elsewhere.example\r\n",
            b"",
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("access-control-allow-origin"), None, "{a:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_stream_over_http_with_the_query_filters() {
    let srv = Server::start(Limits::default(), Router::new()).await;
    let body: Value = serde_json::from_str(EXAMPLE).expect("example");
    assert_eq!(srv.post_json("/v1/practices", &body).await.status, 201);

    let a = srv.get("/v1/export?format=jsonl").await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> = String::from_utf8_lossy(&a.body)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].to_string().contains("BGD-A2I-0001"),
        "{}",
        lines[0]
    );

    let a = srv.get("/v1/export?format=csv&country=BGD").await;
    assert_eq!(a.status, 200, "{a:?}");
    let text = String::from_utf8_lossy(&a.body).to_string();
    assert!(
        text.lines()
            .next()
            .is_some_and(|h| h.contains("practice_id")),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2, "a header and one row: {text}");
    // A filter that matches nothing: the header alone.
    let a = srv.get("/v1/export?format=csv&country=KEN").await;
    assert_eq!(String::from_utf8_lossy(&a.body).lines().count(), 1);

    let a = srv.get("/v1/export?format=parquet").await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.starts_with(b"PAR1") && a.body.ends_with(b"PAR1"));
    let a = srv.get("/v1/export?format=csv&table=adoptions").await;
    assert_eq!(a.status, 200, "{a:?}");

    for (q, field) in [
        ("", "format"),
        ("format=xml", "format"),
        ("format=jsonl&table=edges", "table"),
        ("format=csv&table=people", "table"),
        ("format=csv&colour=red", "colour"),
        ("format=csv&sdg=99", "sdg"),
    ] {
        let a = srv.get(&format!("/v1/export?{q}")).await;
        assert_eq!(a.status, 400, "{q}: {a:?}");
        let p = a.problem();
        assert!(p.contains(field), "{q}: {p}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facets_count_the_matches_over_http() {
    let srv = Server::start(Limits::default(), Router::new()).await;
    let body: Value = serde_json::from_str(EXAMPLE).expect("example");
    assert_eq!(srv.post_json("/v1/practices", &body).await.status, 201);
    // A second practice: Kenyan, SDG 3, status 4 (the example is
    // Bangladeshi, SDG 16.6 and 9.c, status 2).
    let mut other = body.clone();
    other["practice_id"] = json!("KEN-ICT-0001");
    other["countries"] = json!([{"iso3": "KEN", "role": "originating"}]);
    other["sdg_targets"] = json!(["3.8"]);
    other["status"] = json!(4);
    let a = srv.post_json("/v1/practices", &other).await;
    assert_eq!(a.status, 201, "{a:?}");

    let page = srv.get("/v1/practices?facets=true").await.json();
    let f = &page["facets"];
    assert_eq!(f["country"], json!([["BGD", 1], ["KEN", 1]]), "{page}");
    assert_eq!(
        f["sdg_goal"],
        json!([["16", 1], ["3", 1], ["9", 1]]),
        "{page}"
    );
    assert_eq!(f["status"], json!([[2, 1], [4, 1]]), "{page}");
    // A filter narrows the counts to its matches.
    let page = srv
        .get("/v1/practices?country=KEN&facets=true")
        .await
        .json();
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["facets"]["country"], json!([["KEN", 1]]), "{page}");
    assert_eq!(page["facets"]["sdg_goal"], json!([["3", 1]]), "{page}");
    // Not asked for, not computed; a bad value names the parameter.
    let page = srv.get("/v1/practices").await.json();
    assert!(page.get("facets").is_none_or(Value::is_null), "{page}");
    let a = srv.get("/v1/practices?facets=maybe").await;
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.problem().contains("facets"), "{}", a.problem());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_name_this_nodes_own_agency_on_an_open_network() {
    let srv = Server::start_shaped(Limits::default(), Router::new(), |s| {
        s.with_agency("a2i, ICT Division", "BGD")
    })
    .await;
    let body: Value = serde_json::from_str(EXAMPLE).expect("example");
    assert_eq!(srv.post_json("/v1/practices", &body).await.status, 201);
    let a = srv.get("/practices/BGD-A2I-0001").await;
    assert_eq!(a.status, 200, "{a:?}");
    let page = String::from_utf8_lossy(&a.body);
    assert!(
        page.contains("a2i, ICT Division (BGD) (20"),
        "the citation names the agency: {page}"
    );
    srv.stop().await;

    // Without it, the key stands in.
    let srv = Server::start(Limits::default(), Router::new()).await;
    assert_eq!(srv.post_json("/v1/practices", &body).await.status, 201);
    let page = srv.get("/practices/BGD-A2I-0001").await;
    assert!(!String::from_utf8_lossy(&page.body).contains("ICT Division (BGD)"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_to_oai_that_never_sends_its_body_is_cut_and_frees_its_slot() {
    let limits = Limits {
        max_anonymous: 1,
        ..Limits::default()
    };
    let srv = Server::start(limits, Router::new()).await;
    let mut slow = TcpStream::connect(srv.addr).await.expect("connect");
    slow.write_all(
        b"POST /oai HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nverb=Id",
    )
    .await
    .expect("write");
    let t = Instant::now();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, slow.read_to_end(&mut raw))
        .await
        .expect("an answer before the test's deadline")
        .expect("read");
    assert!(
        t.elapsed() >= super::harvest::OAI_BODY_TIMEOUT / 2,
        "{:?}",
        t.elapsed()
    );
    let status = Answer::parse(&raw).status;
    assert!((400..500).contains(&status), "{status}");
    // The one anonymous slot is free again.
    let a = srv.get("/oai?verb=Identify").await;
    assert_eq!(a.status, 200, "{a:?}");
    srv.stop().await;
}

/// The practice page's "Fetch to this node" button: offered for content
/// not held whose size is within `api.visitor_fetch_bytes`, never beyond
/// it; the POST starts the fetch and sends the reader back to the page,
/// which then shows it running and reloads itself. Bad asks are named, and
/// visitors' fetches are bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fetch_button_is_offered_within_the_visitor_limit_and_bounded() {
    let srv = Server::start_shaped(Limits::default(), Router::new(), |s| {
        s.with_visitor_fetch(1_000_000)
    })
    .await;
    let body: Value = serde_json::from_str(EXAMPLE).expect("example");
    assert_eq!(srv.post_json("/v1/practices", &body).await.status, 201);
    let author = srv.node.publisher().expect("a publisher").to_hex();
    // References to content nobody holds: five small, one too large.
    let mut small = Vec::new();
    for (i, size) in [5_000u64, 5_001, 5_002, 5_003, 5_004, 2_000_000]
        .into_iter()
        .enumerate()
    {
        let hash = blake3::hash(format!("absent {i}").as_bytes())
            .to_hex()
            .to_string();
        srv.node
            .publish_kind(
                "attachment",
                json!({
                    "attachment_id": format!("ATT-{i}"),
                    "practice": {"key": author, "practice_id": "BGD-A2I-0001"},
                    "hash": hash, "size": size, "media_type": "application/pdf",
                    "title": {"original": "en", "text": {"en": format!("File {i}")}},
                    "category": "report", "language": "en",
                }),
            )
            .await
            .expect("reference");
        small.push(hash);
    }
    let large = small.pop().expect("the large one");
    // Another publisher's reference to its own practice of the same id:
    // not this practice's attachment.
    let other = setu::SecretKey::generate();
    let foreign = blake3::hash(b"another publisher's file")
        .to_hex()
        .to_string();
    let body_json = json!({
        "revision": 1, "state": "active",
        "attachment_id": "ATT-OTHER",
        "practice": {"key": other.author().to_hex(), "practice_id": "BGD-A2I-0001"},
        "hash": foreign, "size": 100, "media_type": "application/pdf",
        "title": {"original": "en", "text": {"en": "Not this practice's"}},
        "category": "report", "language": "en",
    });
    let reference: setu_core::attachment::Attachment =
        serde_json::from_value(body_json).expect("an attachment body");
    let signed = setu_core::record::sign_attachment(&other, 1, 1_767_225_600_000, &reference)
        .expect("signed");
    srv.node
        .submit(vec![signed.bytes().to_vec()])
        .await
        .expect("stored");
    let action = |h: &str| format!("/practices/BGD-A2I-0001/attachments/{h}/fetch");
    let page = srv.get("/practices/BGD-A2I-0001").await;
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert!(html.contains(&action(&small[0])), "{html}");
    assert!(html.contains("Fetch to this node"), "{html}");
    assert!(
        !html.contains(&action(&large)),
        "no button beyond the limit"
    );
    assert!(html.contains(&format!("setu fetch {large}")), "{html}");
    assert!(!html.contains("http-equiv=\"refresh\""), "nothing runs yet");
    assert!(
        !html.contains(&foreign),
        "another publisher's reference: {html}"
    );

    let too_big = srv.send("POST", &action(&large), "", b"").await;
    assert_eq!(too_big.status, 403, "{too_big:?}");
    assert!(String::from_utf8_lossy(&too_big.body).contains("visitors may have at most 1000000"));
    let bad = srv.send("POST", &action("zz"), "", b"").await;
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.body).contains("hash"));
    let unknown = blake3::hash(b"nobody names this").to_hex().to_string();
    let none = srv.send("POST", &action(&unknown), "", b"").await;
    assert_eq!(none.status, 404, "{none:?}");

    // Four run at once (no peer holds them: they wait); the fifth is 503.
    for h in &small[..web::MAX_VISITOR_FETCHES] {
        let started = srv
            .send("POST", &format!("{}?lang=en", action(h)), "", b"")
            .await;
        assert_eq!(started.status, 303, "{started:?}");
        assert_eq!(
            started.header("location"),
            Some("/practices/BGD-A2I-0001?lang=en")
        );
    }
    let fifth = srv
        .send("POST", &action(&small[web::MAX_VISITOR_FETCHES]), "", b"")
        .await;
    assert_eq!(fifth.status, 503, "{fifth:?}");
    let page = srv.get("/practices/BGD-A2I-0001").await;
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert!(html.contains("Being fetched"), "{html}");
    assert!(html.contains("http-equiv=\"refresh\""), "{html}");
    assert!(
        !html.contains(&action(&small[0])),
        "no button while it runs"
    );
    srv.stop().await;

    // Off (the State's default): no button, and the POST is refused.
    let srv = Server::start(Limits::default(), Router::new()).await;
    assert_eq!(srv.post_json("/v1/practices", &body).await.status, 201);
    let off = srv.send("POST", &action(&small[0]), "", b"").await;
    assert_eq!(off.status, 403, "{off:?}");
    srv.stop().await;
}
