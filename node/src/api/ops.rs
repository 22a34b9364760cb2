//! What an operator watches: `/healthz` (the process answers), `/readyz`
//! (the store is open and the index nearly caught up) and Prometheus
//! metrics at `/metrics` (OpenMetrics text, through `prometheus-client`).
//!
//! The node's own counters (records, refusals, gossip, sync, bytes) are
//! read from its status at each scrape; HTTP requests are counted here, by
//! route template, method and status, so their labels stay bounded
//! whatever clients send.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{Problem, State as Api};

/// `/readyz` answers 503 while the search index is more than this many
/// store changes (write batches) behind the store.
pub const MAX_READY_INDEX_LAG: u64 = 1_000;
/// How long `/readyz` and `/metrics` wait for the node's status.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(5);
/// The route label of a request no route matched.
const UNMATCHED: &str = "unmatched";
/// The route label of a request refused before routing (busy, 401).
const ADMISSION: &str = "admission";

/// Labels of one HTTP request counter.
type Labels = Vec<(&'static str, String)>;

/// How long `/metrics` reuses its count of chains by kind: counting reads
/// every chain's key, too much for every scrape of a large replica.
pub const CHAIN_COUNT_TTL: Duration = Duration::from_secs(60);

/// The chains by kind, as last counted, and when.
type ChainCounts = Option<(
    tokio::time::Instant,
    std::collections::BTreeMap<String, u64>,
)>;

/// HTTP requests served, by route template, method and status: kept for
/// the life of the process (cheap to clone; clones count together). Also
/// the last count of chains by kind ([`CHAIN_COUNT_TTL`]).
#[derive(Clone, Default)]
pub struct Http {
    requests: Family<Labels, Counter>,
    chains: std::sync::Arc<tokio::sync::Mutex<ChainCounts>>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Http")
    }
}

impl Http {
    /// Counts one answer.
    pub fn count(&self, route: &str, method: &Method, status: StatusCode) {
        let labels: Labels = vec![
            ("route", route.to_string()),
            ("method", method_label(method).to_string()),
            ("status", status.as_u16().to_string()),
        ];
        self.requests.get_or_create(&labels).inc();
    }

    /// Counts an answer given before routing ([`super::admit`]).
    pub fn count_refused(&self, method: &Method, status: StatusCode) {
        self.count(ADMISSION, method, status);
    }
}

/// A method as a label: the standard ones by name, any other as `other`,
/// so a client cannot mint label values.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts every request a route matched (a route layer: it runs after
/// routing, so the route's template is known).
pub async fn count(State(api): State<Api>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |m| m.as_str().to_string());
    let method = req.method().clone();
    let resp = next.run(req).await;
    api.http.count(&route, &method, resp.status());
    resp
}

/// The answer to a path no route has (404), counted.
pub async fn not_found(State(api): State<Api>, req: Request) -> Response {
    let resp = super::routes::not_found().await.into_response();
    api.http.count(UNMATCHED, req.method(), resp.status());
    resp
}

/// The process is alive and serving HTTP.
#[utoipa::path(get, path = "/healthz", responses(
    (status = 200, description = "The process answers", body = String, content_type = "text/plain"),
))]
pub async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response()
}

/// Ready to serve: the store answers, its last write succeeded, and the
/// search index is at most [`MAX_READY_INDEX_LAG`] changes behind.
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "Ready", body = String, content_type = "text/plain"),
    (status = 503, description = "Not ready, and why", body = Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(State(api): State<Api>) -> Response {
    match ready(&api).await {
        Ok(()) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "ready\n",
        )
            .into_response(),
        Err(why) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", why).into_response(),
    }
}

async fn ready(api: &Api) -> Result<(), String> {
    let status = match tokio::time::timeout(STATUS_TIMEOUT, api.node.status()).await {
        Err(_) => {
            return Err(format!(
                "the store did not answer within {} s",
                STATUS_TIMEOUT.as_secs()
            ));
        }
        Ok(Err(e)) => return Err(format!("the store: {e}")),
        Ok(Ok(s)) => s,
    };
    if let Some(e) = status.replica.store_error {
        return Err(format!("the last store write failed: {e}"));
    }
    if status.replica.index_lag > MAX_READY_INDEX_LAG {
        return Err(format!(
            "the search index is {} store changes behind (at most {MAX_READY_INDEX_LAG} when ready)",
            status.replica.index_lag
        ));
    }
    Ok(())
}

/// The OpenMetrics content type.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Prometheus metrics: records held and refused, peers, gossip, sync,
/// bytes, index lag, and HTTP requests by route and status.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text"),
    (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "Busy, or the store did not answer; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn metrics(State(api): State<Api>) -> Result<Response, Problem> {
    let busy = || {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the store did not answer in time; retry shortly",
        )
    };
    let status = tokio::time::timeout(STATUS_TIMEOUT, api.node.status())
        .await
        .map_err(|_| busy())??;
    let chains = {
        // One count at a time; scrapes within the TTL reuse it.
        let mut last = api.http.chains.lock().await;
        match &*last {
            Some((at, counts)) if at.elapsed() < CHAIN_COUNT_TTL => counts.clone(),
            _ => {
                let counts = tokio::time::timeout(STATUS_TIMEOUT, api.node.chain_counts())
                    .await
                    .map_err(|_| busy())??;
                *last = Some((tokio::time::Instant::now(), counts.clone()));
                counts
            }
        }
    };
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry(&api, &status, &chains))
        .map_err(|e| Problem::internal(&e))?;
    Ok(([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response())
}

/// A registry holding this scrape's readings and the request counters.
fn registry(
    api: &Api,
    s: &setu::Status,
    chains: &std::collections::BTreeMap<String, u64>,
) -> Registry {
    let mut reg = Registry::with_prefix("setu");
    let (r, n, c) = (&s.replica, &s.net, &s.net.counters);
    gauge(&mut reg, "records_held", "Records stored", r.records);
    gauge(
        &mut reg,
        "records_invalid",
        "Records the membership made invalid (kept for audit)",
        r.invalid,
    );
    let held: Family<Labels, Gauge> = Family::default();
    for kind in ["practice", "adoption", "seeking"] {
        let v = chains.get(kind).copied().unwrap_or(0);
        held.get_or_create(&vec![("kind", kind.to_string())])
            .set(i64::try_from(v).unwrap_or(i64::MAX));
    }
    reg.register(
        "chains_held",
        "Practices, adoption reports and seekings held, by kind (withdrawn ones included)",
        held,
    );
    gauge(
        &mut reg,
        "practices_current",
        "Practices with a current, active revision",
        r.practices,
    );
    let refused: Family<Labels, Counter> = Family::default();
    for (reason, v) in [
        ("invalid", c.refused_invalid),
        ("rule", c.refused_rule),
        ("admission", c.refused_admission),
        ("future", c.refused_future),
        ("other", c.refused_other),
    ] {
        refused
            .get_or_create(&vec![("reason", reason.to_string())])
            .inc_by(v);
    }
    reg.register(
        "records_refused",
        "Records from peers refused, by reason",
        refused,
    );
    let received: Family<Labels, Counter> = Family::default();
    for (via, v) in [
        ("gossip", c.via_gossip),
        ("sync", c.via_sync),
        ("bulk", c.via_bulk),
    ] {
        received
            .get_or_create(&vec![("via", via.to_string())])
            .inc_by(v);
    }
    reg.register(
        "records_received",
        "Records from peers stored, by path",
        received,
    );
    gauge(&mut reg, "peers", "Connected peers", n.peers as u64);
    counter(
        &mut reg,
        "gossip_in",
        "Gossip announcements received (first copies)",
        c.announcements,
    );
    counter(
        &mut reg,
        "gossip_out",
        "Records this node published to gossip",
        c.gossip_published,
    );
    let sync: Family<Labels, Counter> = Family::default();
    for (result, v) in [
        ("started", c.sessions_started),
        ("done", c.sessions_done),
        ("failed", c.sessions_failed),
        ("answered", c.sessions_answered),
    ] {
        sync.get_or_create(&vec![("result", result.to_string())])
            .inc_by(v);
    }
    reg.register("sync_rounds", "Reconciliation sessions, by outcome", sync);
    counter(
        &mut reg,
        "sync_records_pushed",
        "Records pushed to peers after reconciliation",
        c.records_pushed,
    );
    let wire: Family<Labels, Counter> = Family::default();
    for (dir, v) in [("in", c.wire_in), ("out", c.wire_out)] {
        wire.get_or_create(&vec![("direction", dir.to_string())])
            .inc_by(v);
    }
    reg.register("wire_bytes", "Bytes on every peer connection", wire);
    let by_protocol: Family<Labels, Counter> = Family::default();
    for (protocol, v) in &n.wire_by_protocol {
        by_protocol
            .get_or_create(&vec![("protocol", protocol.clone())])
            .inc_by(*v);
    }
    reg.register(
        "wire_protocol_bytes",
        "Payload bytes over TCP, both directions, by protocol (framing aside)",
        by_protocol,
    );
    gauge(
        &mut reg,
        "index_lag",
        "Store changes the search index has not caught up with",
        r.index_lag,
    );
    gauge(
        &mut reg,
        "disk_bytes",
        "Bytes on disk: store and index",
        r.disk_bytes,
    );
    reg.register(
        "http_requests",
        "HTTP requests answered, by route template, method and status",
        api.http.requests.clone(),
    );
    reg
}

fn gauge(reg: &mut Registry, name: &str, help: &str, v: u64) {
    let g: Gauge = Gauge::default();
    g.set(i64::try_from(v).unwrap_or(i64::MAX));
    reg.register(name, help, g);
}

fn counter(reg: &mut Registry, name: &str, help: &str, v: u64) {
    let c: Counter = Counter::default();
    c.inc_by(v);
    reg.register(name, help, c);
}
