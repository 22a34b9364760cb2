//! `setu run` driven as a user drives it: two daemons on loopback, the CLI
//! verbs going through the HTTP API while they run and opening the store
//! directly once they stop; the API checked over real sockets.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use setu_tests::net::WAIT;
use setu_tests::{repo_root, setu_bin};
use tempfile::TempDir;

fn setu(dir: &Path, args: &[&str]) -> Output {
    Command::new(setu_bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("setu runs")
}

fn ok(o: &Output) -> String {
    let s = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "setu failed: {s}");
    s
}

/// Polls `cond` every 50 ms until it holds; panics after `WAIT`.
fn wait(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Daemon {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, peers: &[String]) -> Daemon {
        let mut cmd = Command::new(setu_bin());
        cmd.arg("--data-dir").arg(dir).args([
            "run",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--api",
            "127.0.0.1:0",
            "--no-mdns",
            "--network",
            "test-daemon",
        ]);
        for p in peers {
            cmd.args(["--peer", p]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("setu run starts");
        let file = dir.join("api.url");
        wait("the daemon to write api.url", || file.exists());
        let url = std::fs::read_to_string(&file)
            .expect("api.url")
            .trim()
            .to_string();
        Daemon {
            child,
            url,
            dir: dir.to_path_buf(),
        }
    }

    fn p2p_addr(&self) -> String {
        let st = get_json(&format!("{}/v1/status", self.url));
        st["net"]["listen"][0]
            .as_str()
            .expect("listen address")
            .to_string()
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let st = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(st.success());
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(code) = self.child.try_wait().expect("wait") {
                assert!(code.success(), "setu run exited with {code}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "setu run did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!self.dir.join("api.url").exists(), "api.url left behind");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get_json(url: &str) -> serde_json::Value {
    let mut r = agent().get(url).call().expect("GET");
    assert_eq!(r.status(), 200, "{url}");
    r.body_mut().read_json().expect("json")
}

/// Status, content type and JSON body of a response.
fn parts(mut r: ureq::http::Response<ureq::Body>) -> (u16, String, serde_json::Value) {
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r.body_mut().read_json().unwrap_or(serde_json::Value::Null);
    (r.status().as_u16(), ct, body)
}

/// Sends a POST announcing `len` bytes but only a little over the 1 MiB
/// limit of them; returns the response's head.
fn oversize_post(base: &str, token: &str, len: usize) -> String {
    use std::io::{Read, Write};
    let hostport = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(hostport).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "POST /v1/practices HTTP/1.1\r\nHost: {hostport}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    )
    .expect("write");
    s.write_all(&vec![b' '; 1024 * 1024 + 4096]).expect("body");
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).expect("read");
    String::from_utf8_lossy(&buf[..n]).to_string()
}

#[test]
fn daemons_replicate_and_the_cli_goes_through_the_api() {
    let (ta, tb) = (
        TempDir::new().expect("tempdir"),
        TempDir::new().expect("tempdir"),
    );
    let (a_dir, b_dir) = (ta.path(), tb.path());
    ok(&setu(
        a_dir,
        &["init", "--country", "BGD", "--agency", "a2i"],
    ));
    ok(&setu(
        b_dir,
        &["init", "--country", "KEN", "--agency", "ICTA"],
    ));
    let a = Daemon::start(a_dir, &[]);
    let b = Daemon::start(b_dir, &[a.p2p_addr()]);

    // Publish on A with the CLI: it goes through A's API.
    let example = repo_root().join("node/data/examples/practice.json");
    let out = ok(&setu(
        a_dir,
        &["publish", example.to_str().expect("utf-8 path")],
    ));
    assert!(out.contains("BGD-A2I-0001"), "{out}");

    // Query B with the CLI until the record has arrived over the network.
    wait("B to find the practice published on A", || {
        let o = setu(b_dir, &["query", "--text", "digital centre", "--json"]);
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("BGD-A2I-0001")
    });
    // --all asks for more than the API's page; the CLI pages through.
    let all = ok(&setu(b_dir, &["query", "--all", "--json"]));
    assert!(all.contains("BGD-A2I-0001"), "{all}");
    // Facets through the daemon: the CLI asks the API for them.
    let faceted = ok(&setu(b_dir, &["query", "--all", "--facets", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&faceted).expect("json");
    assert_eq!(
        v["facets"]["country"],
        serde_json::json!([["BGD", 1]]),
        "{faceted}"
    );
    let shown = ok(&setu(b_dir, &["show", "BGD-A2I-0001"]));
    assert!(shown.contains("Union Digital Centres"), "{shown}");
    let peers = ok(&setu(b_dir, &["peers", "--json"]));
    let a_id = get_json(&format!("{}/v1/status", a.url))["net"]["peer_id"]
        .as_str()
        .expect("peer id")
        .to_string();
    assert!(peers.contains(&a_id), "{peers}");
    let status = ok(&setu(b_dir, &["status", "--json"]));
    assert!(status.contains("\"records\": 1"), "{status}");

    // The API, over real sockets.
    let http = agent();
    let token = std::fs::read_to_string(a_dir.join("api-token")).expect("token");
    let body = std::fs::read(&example).expect("example");
    let (code, ct, p) = parts(
        http.post(format!("{}/v1/practices", a.url))
            .content_type("application/json")
            .send(&body[..])
            .expect("POST"),
    );
    assert_eq!(
        (code, ct.as_str()),
        (401, "application/problem+json"),
        "{p}"
    );
    let (code, _, p) = parts(
        http.post(format!("{}/v1/practices", a.url))
            .header("Authorization", format!("Bearer {}", token.trim()))
            .content_type("application/json")
            .send(&br#"{"practice_id": "X-1", "revision": 1}"#[..])
            .expect("POST"),
    );
    assert_eq!(code, 422, "{p}");
    assert!(p["errors"].to_string().contains("body."), "{p}");
    let (code, _, p) = parts(
        http.get(format!("{}/v1/practices?bogus=1", a.url))
            .call()
            .expect("GET"),
    );
    assert_eq!(code, 400);
    assert!(p["detail"].as_str().unwrap_or("").contains("bogus"), "{p}");
    // A body over the limit is refused once the limit is read (a raw
    // socket, so the client is not cut off mid-send).
    let head = oversize_post(&a.url, token.trim(), 2 * 1024 * 1024);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("application/problem+json"), "{head}");
    let page = get_json(&format!("{}/v1/practices?country=BGD&limit=1", b.url));
    assert_eq!(page["total"], 1);
    let id = page["hits"][0]["id"].as_str().expect("id").to_string();
    let mut raw = http
        .get(format!("{}/v1/records/{id}", b.url))
        .call()
        .expect("GET");
    assert_eq!(raw.status(), 200);
    let bytes = raw.body_mut().read_to_vec().expect("bytes");
    let rec = setu_core::record::check(bytes).expect("the raw bytes verify");
    assert_eq!(rec.id().to_hex(), id);
    let doc = get_json(&format!("{}/v1/openapi.json", a.url));
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3.1"),
        "{doc}"
    );
    assert!(doc["paths"]["/v1/practices/{practice_id}/withdraw"].is_object());

    // Stop both; the CLI then opens the stores directly and finds the same.
    a.stop();
    b.stop();
    let o = ok(&setu(
        b_dir,
        &["query", "--text", "digital centre", "--json"],
    ));
    assert!(o.contains("BGD-A2I-0001"), "{o}");
    let o = ok(&setu(a_dir, &["status", "--json"]));
    assert!(o.contains("\"records\": 1"), "{o}");
    let o = ok(&setu(a_dir, &["peers"]));
    assert!(o.contains("not running"), "{o}");
}

#[test]
fn a_second_daemon_or_a_verb_on_a_held_store_says_it_is_in_use_once() {
    let t = TempDir::new().expect("tempdir");
    let dir = t.path();
    ok(&setu(dir, &["init", "--country", "BGD", "--agency", "a2i"]));
    let d = Daemon::start(dir, &[]);
    let lines = |o: &Output| -> String {
        assert!(!o.status.success(), "it should fail");
        String::from_utf8_lossy(&o.stderr).trim().to_string()
    };
    let second = setu(
        dir,
        &[
            "run",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--api",
            "127.0.0.1:0",
            "--no-mdns",
        ],
    );
    let err = lines(&second);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("in use by another setu process"), "{err}");
    assert!(!err.contains("could not acquire lock"), "{err}");
    // Without api.url the verb cannot find the daemon and tries the store:
    // the same one line.
    let url = dir.join("api.url");
    let saved = std::fs::read(&url).expect("api.url");
    std::fs::remove_file(&url).expect("rm");
    let err = lines(&setu(dir, &["status"]));
    std::fs::write(&url, saved).expect("restore api.url");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("in use by another setu process"), "{err}");
    d.stop();
}
