//! The harvesting routes (`spec/harvest.md`): OAI-PMH 2.0 at `/oai` (GET
//! and POST), the schema of its native format at `/oai/setu-record.xsd`,
//! and the DCAT-AP 3 catalogue at `/catalog.jsonld`. `setu-harvest` writes
//! the answers; this module reads the node's change list for it.
//!
//! The URLs in the answers start with the node's public origin:
//! `api.public_url` in `setu.toml` if set (behind a proxy or TLS
//! terminator), else `http://` and the request's `Host` header. OAI-PMH's
//! `adminEmail` is `api.admin_email`, else [`DEFAULT_ADMIN_EMAIL`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use setu_core::ids::AuthorKey;
use setu_harvest::{Item, Record, RepoError, Repository, Site, dcat, oai};

use super::{Problem, State as Api};

/// `adminEmail` when `api.admin_email` is not set (`.invalid`: it
/// reaches no one, and says so).
pub const DEFAULT_ADMIN_EMAIL: &str = "operator@setu.invalid";
/// Longest `Host` header used to build URLs; a longer or odd one gives
/// `http://localhost`.
const MAX_HOST_BYTES: usize = 255;
/// How long a `POST /oai` body may take to arrive: anonymous clients hold
/// a request slot while they send it.
pub const OAI_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The name harvesters show for this repository.
const REPOSITORY_NAME: &str = "Setu node: public-service practices";

/// How the node names itself in harvest answers (`api.public_url`,
/// `api.admin_email`; checked by [`crate::config`]).
#[derive(Debug, Clone)]
pub struct Settings {
    public_url: Option<String>,
    admin_email: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::new(None, None)
    }
}

impl Settings {
    /// The public origin (`https://setu.example.org`) and the
    /// administrator's e-mail, if configured; odd values are ignored.
    pub fn new(public_url: Option<&str>, admin_email: Option<&str>) -> Settings {
        let public_url = public_url
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| {
                (u.starts_with("http://") || u.starts_with("https://"))
                    && !u.chars().any(|c| c.is_whitespace() || c.is_control())
            });
        let admin_email = admin_email
            .map(|e| e.trim().to_string())
            .filter(|e| e.contains('@') && !e.chars().any(|c| c.is_whitespace() || c.is_control()))
            .unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_string());
        Settings {
            public_url,
            admin_email,
        }
    }

    /// The site as this request reaches it.
    fn site(&self, headers: &HeaderMap) -> Site {
        let root = match &self.public_url {
            Some(u) => u.clone(),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(|h| {
                        !h.is_empty()
                            && h.len() <= MAX_HOST_BYTES
                            && h.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
                    })
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        };
        Site::new(&root, REPOSITORY_NAME, &self.admin_email)
    }
}

/// The harvesting routes.
pub fn routes() -> Router<Api> {
    Router::new()
        .route(
            oai::PATH,
            get(oai_get)
                .post(oai_post)
                .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
                    OAI_BODY_TIMEOUT,
                )),
        )
        .route(oai::NATIVE_SCHEMA_PATH, get(native_schema))
        .route(dcat::PATH, get(catalog))
}

/// The node's change list, read from a blocking thread.
struct NodeRepo {
    node: setu::Node,
    rt: tokio::runtime::Handle,
}

fn item(c: setu::Changed) -> Item {
    Item {
        stamp_ms: c.stamp,
        cursor: c.cursor,
        author: c.author.0,
        kind: c.kind,
        id: c.id,
        deleted: c.deleted,
        record: c.record.map(|r| Record {
            id: *r.id.as_bytes(),
            json: r.json,
            bytes: r.bytes,
            ts_ms: r.ts,
        }),
    }
}

fn unavailable(e: setu::Error) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

impl Repository for NodeRepo {
    fn changes(
        &self,
        from_ms: Option<u64>,
        until_ms: Option<u64>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Item>, RepoError> {
        match self.rt.block_on(self.node.changes(
            from_ms,
            until_ms,
            after.map(str::to_string),
            limit,
        )) {
            Ok(Ok(list)) => Ok(list.into_iter().map(item).collect()),
            Ok(Err(why)) => Err(RepoError::BadCursor(why)),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn item(&self, author: &[u8; 32], kind: &str, id: &str) -> Result<Option<Item>, RepoError> {
        self.rt
            .block_on(self.node.changed(AuthorKey(*author), kind, id))
            .map(|c| c.map(item))
            .map_err(unavailable)
    }

    fn earliest_stamp(&self) -> Result<Option<u64>, RepoError> {
        self.rt
            .block_on(self.node.earliest_stamp())
            .map_err(unavailable)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Runs `f` over the node's change list on a blocking thread (the
/// harvesting library is synchronous; it reads the store in batches).
async fn with_repo<T: Send + 'static>(
    api: &Api,
    f: impl FnOnce(&NodeRepo) -> T + Send + 'static,
) -> Result<T, Problem> {
    let repo = NodeRepo {
        node: api.node.clone(),
        rt: tokio::runtime::Handle::current(),
    };
    tokio::task::spawn_blocking(move || f(&repo))
        .await
        .map_err(|e| Problem::internal(&e))
}

fn busy(e: &dyn std::fmt::Display) -> Problem {
    tracing::warn!("harvest: {e}");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the replica could not answer; retry shortly",
    )
}

async fn answer_oai(api: Api, settings: &Settings, headers: &HeaderMap, query: String) -> Response {
    let site = settings.site(headers);
    let now = now_ms();
    match with_repo(&api, move |repo| oai::respond(&site, &query, repo, now)).await {
        Ok(Ok(xml)) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response(),
        Ok(Err(e)) => busy(&e).into_response(),
        Err(p) => p.into_response(),
    }
}

/// `GET /oai`: one OAI-PMH request in the query string. Protocol errors are
/// OAI-PMH documents with status 200.
async fn oai_get(
    State(api): State<Api>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let settings = Arc::clone(&api.site);
    answer_oai(api, &settings, &headers, query.unwrap_or_default()).await
}

/// `POST /oai`: one OAI-PMH request as an
/// `application/x-www-form-urlencoded` body.
async fn oai_post(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> Response {
    let settings = Arc::clone(&api.site);
    let query = String::from_utf8_lossy(&body).into_owned();
    answer_oai(api, &settings, &headers, query).await
}

/// `GET /oai/setu-record.xsd`: the schema of the native format.
async fn native_schema() -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        oai::NATIVE_SCHEMA,
    )
        .into_response()
}

/// `GET /catalog.jsonld`: one page of the DCAT-AP catalogue.
async fn catalog(
    State(api): State<Api>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let site = api.site.site(&headers);
    let query = query.unwrap_or_default();
    match with_repo(&api, move |repo| dcat::catalog(&site, &query, repo)).await {
        Ok(Ok(v)) => ([(header::CONTENT_TYPE, dcat::MEDIA_TYPE)], v.to_string()).into_response(),
        Ok(Err(dcat::Error::BadParameter { param, detail })) => {
            Problem::bad_request(format!("{param}: {detail}")).into_response()
        }
        Ok(Err(e)) => busy(&e).into_response(),
        Err(p) => p.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use serde_json::Value;
    use tower::ServiceExt;

    const EXAMPLE: &str = include_str!("../../data/examples/practice.json");

    async fn get(app: &Router, uri: &str) -> (StatusCode, String, String) {
        let resp = app
            .clone()
            .oneshot(
                Request::get(uri)
                    .header(header::HOST, "node.test:7300")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("answer");
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        (status, ctype, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oai_and_dcat_over_a_real_node() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = setu::Config::new(dir.path());
        cfg.net.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")];
        cfg.net.mdns = false;
        cfg.net.kademlia = false;
        cfg.net.network = "test-harvest".into();
        cfg.key = Some(setu::SecretKey::generate());
        let node = setu::Node::start(cfg).await.expect("node starts");
        let key = node.publisher().expect("a key");
        let mut body: Value = serde_json::from_str(EXAMPLE).expect("example");
        node.publish(body.clone()).await.expect("publish");
        body["practice_id"] = "BGD-A2I-0002".into();
        node.publish(body).await.expect("publish");
        node.withdraw("BGD-A2I-0002", "merged into 0001")
            .await
            .expect("withdraw");
        let state = Api::new(node.clone(), "token", super::super::Limits::default());
        let app = super::super::layered(super::super::routes(), state);

        let (status, ctype, xml) = get(&app, "/oai?verb=Identify").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ctype, "text/xml; charset=utf-8");
        assert!(
            xml.contains("<baseURL>http://node.test:7300/oai</baseURL>"),
            "{xml}"
        );

        let (_, _, xml) = get(&app, "/oai?verb=ListIdentifiers&metadataPrefix=oai_dc").await;
        assert_eq!(xml.matches("<header").count(), 2, "{xml}");
        assert_eq!(
            xml.matches("<header status=\"deleted\">").count(),
            1,
            "{xml}"
        );

        let id = oai::identifier("practice", &key.0, "BGD-A2I-0001");
        let (_, _, xml) = get(
            &app,
            &format!("/oai?verb=GetRecord&metadataPrefix=setu&identifier={id}"),
        )
        .await;
        assert!(xml.contains("<setu:signed encoding=\"base64\">"), "{xml}");
        let rid = xml
            .split(" record=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a record id")
            .to_string();
        let signed = xml
            .split("<setu:signed encoding=\"base64\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .expect("signed bytes");
        let raw = node
            .record(rid.parse().expect("record id"))
            .await
            .expect("store")
            .expect("held");
        assert_eq!(
            signed,
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw),
            "the native format carries the signed bytes"
        );

        let (status, _, xml) = get(&app, "/oai?verb=ListRecords").await;
        assert_eq!(status, StatusCode::OK, "OAI errors are 200");
        assert!(xml.contains("<error code=\"badArgument\">"));

        let (status, ctype, xsd) = get(&app, "/oai/setu-record.xsd").await;
        assert_eq!(status, StatusCode::OK);
        assert!(ctype.starts_with("application/xml"));
        assert!(xsd.contains("urn:setu:oai:record:1"));

        let (status, ctype, text) = get(&app, "/catalog.jsonld").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ctype, "application/ld+json");
        let v: Value = serde_json::from_str(&text).expect("JSON");
        let datasets = v["@graph"][0]["dcat:dataset"].as_array().expect("datasets");
        assert_eq!(datasets.len(), 1, "the withdrawn practice is no dataset");
        assert_eq!(
            datasets[0]["dcat:distribution"][0]["dcat:accessURL"]["@id"],
            format!(
                "http://node.test:7300/v1/practices/BGD-A2I-0001?publisher={}",
                key.to_hex()
            )
        );

        let (status, ctype, _) = get(&app, "/catalog.jsonld?page=2").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(ctype, "application/problem+json");
        node.shutdown().await.expect("shutdown");
    }

    #[test]
    fn odd_hosts_are_not_trusted() {
        let s = Settings::new(None, None);
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "evil\"><x".parse().expect("header"));
        assert_eq!(s.site(&h).root, "http://localhost");
        h.insert(header::HOST, "[::1]:7300".parse().expect("header"));
        assert_eq!(s.site(&h).root, "http://[::1]:7300");
        let fixed = Settings::new(Some("https://setu.example.org/"), Some("ops@example.org"));
        assert_eq!(fixed.site(&h).root, "https://setu.example.org");
    }
}
