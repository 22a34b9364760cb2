//! A national portal built on an embedded node: a small axum site that
//! lists its own country's latest practices, and publishes one from a form
//! with the node's key. Everything it shows is escaped: record text comes
//! from authors the portal does not control.
//!
//! ```sh
//! cargo run -p setu --example portal                  # http://127.0.0.1:8088
//! cargo run -p setu --example portal -- --self-test   # publishes through its own form, checks the list, exits
//! ```
//!
//! A real portal keeps its data directory (here a temporary one), joins
//! its network with `cfg.net.bootstrap`, and puts the publishing form behind
//! its own login and a CSRF token: the node signs whatever the form sends
//! with the agency's key. This one listens on loopback only.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use setu::{Node, Query, SecretKey};

/// Practices the list shows.
const SHOWN: usize = 20;
/// Practices read to pick the latest from.
const READ: usize = 1_000;
/// Longest form field accepted, in characters.
const MAX_FIELD_CHARS: usize = 2_000;

#[derive(Clone)]
struct Portal {
    node: Node,
    country: Arc<str>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let dir = tempfile::tempdir()?;
    let mut cfg = setu::Config::new(dir.path());
    cfg.key = Some(SecretKey::generate());
    cfg.net.network = "portal-example".into();
    cfg.net.mdns = false;
    cfg.net.listen = vec!["/ip4/127.0.0.1/tcp/0".parse()?];
    let node = Node::start(cfg).await?;
    let portal = Portal {
        node: node.clone(),
        country: "BGD".into(),
    };
    let app = Router::new()
        .route("/", get(list).post(publish))
        .with_state(portal);
    let addr = if self_test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:8088"
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    if self_test {
        check(&url).await?;
        println!("self-test passed: {url} published through its form and listed it");
    } else {
        println!("portal on {url}; Ctrl-C stops it");
        tokio::signal::ctrl_c().await?;
    }
    server.abort();
    node.shutdown().await?;
    Ok(())
}

/// The country's latest practices, newest first, and the form.
async fn list(State(p): State<Portal>) -> Response {
    let q = Query {
        countries: vec![match p.country.parse() {
            Ok(c) => c,
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        }],
        limit: READ,
        ..Query::default()
    };
    let mut hits = match p.node.query(q).await {
        Ok(h) => h.hits,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    hits.sort_by_key(|h| std::cmp::Reverse(h.ts));
    let rows: String = hits
        .iter()
        .take(SHOWN)
        .map(|h| {
            let title = h.title.as_ref().map_or("", |t| t.best("en"));
            format!(
                "<li><b>{}</b> {}</li>",
                escape(&h.practice_id),
                escape(title)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><title>{c} practices</title><h1>{c}: latest practices</h1><ul>{rows}</ul>\
         <h2>Publish</h2><form method=\"post\"><label>Practice id <input name=\"practice_id\" required></label>\
         <label>Title <input name=\"title\" required></label><label>Summary <textarea name=\"summary\" required></textarea></label>\
         <button>Publish</button></form></html>",
        c = escape(&p.country)
    ))
    .into_response()
}

#[derive(Deserialize)]
struct NewPractice {
    practice_id: String,
    title: String,
    summary: String,
}

/// Publishes the form as a practice signed by the node's key, filling the
/// rest of the body from the sample; a refused body is shown with why.
async fn publish(State(p): State<Portal>, Form(f): Form<NewPractice>) -> Response {
    for (name, v) in [
        ("practice_id", &f.practice_id),
        ("title", &f.title),
        ("summary", &f.summary),
    ] {
        if v.chars().count() > MAX_FIELD_CHARS {
            let why = format!("{name}: longer than {MAX_FIELD_CHARS} characters");
            return (StatusCode::BAD_REQUEST, why).into_response();
        }
    }
    let mut body: serde_json::Value =
        match serde_json::from_str(include_str!("../../../node/data/examples/practice.json")) {
            Ok(b) => b,
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        };
    body["practice_id"] = f.practice_id.into();
    body["title"] = serde_json::json!({"original": "en", "text": {"en": f.title}});
    body["summary"] = serde_json::json!({"original": "en", "text": {"en": f.summary}});
    match p.node.publish(body).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Html(escape(&e.to_string()))).into_response(),
    }
}

/// Text made safe for HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Publishes through the form over a real socket, then finds the practice,
/// escaped, in the list; a bad id is refused with its reason.
async fn check(url: &str) -> Result<(), Box<dyn Error>> {
    let form = "practice_id=BGD-PORTAL-0001&title=Land+records+%3Cb%3Eonline%3C%2Fb%3E&summary=From+the+portal.";
    let answer = request(url, "POST", form).await?;
    if !answer.starts_with("HTTP/1.1 303") {
        return Err(format!("the form was not accepted: {answer}").into());
    }
    let page = request(url, "GET", "").await?;
    if !page.contains("BGD-PORTAL-0001") || !page.contains("&lt;b&gt;online&lt;/b&gt;") {
        return Err(format!("the list does not show the practice, escaped: {page}").into());
    }
    let bad = request(url, "POST", "practice_id=no+spaces&title=t&summary=s").await?;
    if !bad.starts_with("HTTP/1.1 400") || !bad.contains("practice_id") {
        return Err(format!("a bad practice id was not refused by name: {bad}").into());
    }
    Ok(())
}

/// One HTTP/1.1 request on its own connection, with a timeout.
async fn request(url: &str, method: &str, form: &str) -> Result<String, Box<dyn Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await?;
    let head = format!(
        "{method} / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    s.write_all(head.as_bytes()).await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await??;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
