//! The HTTP API of `setu run` (axum over hyper): one route per CLI verb,
//! JSON in and out, `application/problem+json` errors, an OpenAPI 3.1
//! document generated from the handlers and their types at
//! `/v1/openapi.json`.
//!
//! Routes live in `api/routes.rs`, errors in `api/problem.rs`, the
//! documented shapes of the answers in `api/schema.rs`, and the accept
//! loop with its timeouts and connection cap in `api/serve.rs`.
//!
//! Everything a client can make the daemon hold is bounded: connections
//! ([`MAX_CONNECTIONS`]), the time to send headers ([`HEADER_TIMEOUT`]) and
//! to stay idle ([`IDLE_TIMEOUT`]), request bodies, requests at once, and
//! the size of a page of results. Requests that carry the API token (the
//! operator's CLI, and every write) are admitted from their own pool, so
//! anonymous readers at their cap cannot lock the operator out.

mod attachments;
mod export;
mod harvest;
mod ops;
mod problem;
mod routes;
mod scaling;
mod schema;
mod serve;
#[cfg(test)]
mod tests;
mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use utoipa::OpenApi;

pub use problem::Problem;
pub use routes::MAX_PAGE;
pub use serve::serve;

/// Largest JSON request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest import body (JSON Lines).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Most connections open at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// How long a client has to send a request's headers (also the longest a
/// kept-alive connection waits for its next request).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no request in flight that moves no byte for this
/// long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Most anonymous requests (no token) served at once.
pub const MAX_ANONYMOUS_REQUESTS: usize = 48;
/// Most requests carrying the API token served at once; a pool of their
/// own, so anonymous readers cannot starve the operator.
pub const MAX_AUTHORIZED_REQUESTS: usize = 16;
/// The `Retry-After` (seconds) of a 503.
pub const RETRY_AFTER_SECS: u64 = 1;

/// The API's bounds. [`Limits::default`] is the named constants above;
/// tests shrink them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long a request's headers may take.
    pub header_timeout: Duration,
    /// How long a connection may sit idle.
    pub idle_timeout: Duration,
    /// Most anonymous requests at once.
    pub max_anonymous: usize,
    /// Most requests with the token at once.
    pub max_authorized: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: MAX_CONNECTIONS,
            header_timeout: HEADER_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_anonymous: MAX_ANONYMOUS_REQUESTS,
            max_authorized: MAX_AUTHORIZED_REQUESTS,
        }
    }
}

/// What every handler sees.
#[derive(Clone)]
pub struct State {
    /// The node.
    pub node: setu::Node,
    token: Arc<Vec<u8>>,
    anonymous: Arc<Semaphore>,
    authorized: Arc<Semaphore>,
    /// HTTP requests counted for `/metrics`.
    http: ops::Http,
    /// Exports running ([`export::MAX_EXPORTS`]).
    exports: export::Slots,
    /// How the node names itself to harvesters.
    site: Arc<harvest::Settings>,
    /// This node's agency, "agency (COUNTRY)" from `setu.toml`: how pages
    /// name its own publisher key where no membership names it.
    agency: Option<Arc<str>>,
    /// Origins a browser may call the API from (CORS); none by default.
    cors: Arc<Vec<axum::http::HeaderValue>>,
    /// Web catalogue visitors may have attachments up to this size fetched
    /// (`api.visitor_fetch_bytes`); 0, the default here: none.
    visitor_fetch_bytes: u64,
    /// Fetches visitors started that still run ([`web::MAX_VISITOR_FETCHES`]).
    visitor_fetches: Arc<Semaphore>,
}

impl State {
    /// `token` is the content of the data directory's `api-token` file.
    pub fn new(node: setu::Node, token: &str, limits: Limits) -> State {
        State {
            node,
            token: Arc::new(token.trim().as_bytes().to_vec()),
            anonymous: Arc::new(Semaphore::new(limits.max_anonymous)),
            authorized: Arc::new(Semaphore::new(limits.max_authorized)),
            http: ops::Http::default(),
            exports: export::Slots::default(),
            site: Arc::new(harvest::Settings::default()),
            agency: None,
            cors: Arc::new(Vec::new()),
            visitor_fetch_bytes: 0,
            visitor_fetches: Arc::new(Semaphore::new(web::MAX_VISITOR_FETCHES)),
        }
    }

    /// Lets visitors of the web catalogue ask for attachments of at most
    /// `bytes` to be fetched (`api.visitor_fetch_bytes`; 0: never).
    pub fn with_visitor_fetch(mut self, bytes: u64) -> State {
        self.visitor_fetch_bytes = bytes;
        self
    }

    /// The public origin and administrator's e-mail harvest answers give
    /// (`api.public_url`, `api.admin_email`).
    pub fn with_site(mut self, public_url: Option<&str>, admin_email: Option<&str>) -> State {
        self.site = Arc::new(harvest::Settings::new(public_url, admin_email));
        self
    }

    /// Names this node's own publisher key as `agency (COUNTRY)` on the
    /// web pages, where no membership names it (an open network).
    pub fn with_agency(mut self, agency: &str, country: &str) -> State {
        self.agency = (!agency.trim().is_empty())
            .then(|| Arc::from(format!("{} ({country})", agency.trim()).as_str()));
        self
    }

    /// Lets browsers on these origins call the API (`api.cors_origins`;
    /// checked by [`crate::config`]). Reads only: a browser never holds
    /// the API token, so writes stay with the operator's tools.
    pub fn with_cors(mut self, origins: &[String]) -> Result<State, String> {
        let mut out = Vec::with_capacity(origins.len());
        for o in origins {
            out.push(
                axum::http::HeaderValue::from_str(o)
                    .map_err(|_| format!("api.cors_origins: {o:?} is not a valid origin"))?,
            );
        }
        self.cors = Arc::new(out);
        Ok(self)
    }

    /// True if the request carries `Authorization: Bearer TOKEN` (checked
    /// in constant time).
    fn carries_token(&self, headers: &axum::http::HeaderMap) -> bool {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        !self.token.is_empty() && bool::from(given.as_bytes().ct_eq(&self.token))
    }

    /// Checks `Authorization: Bearer TOKEN`; 401 without it.
    pub fn authorize(&self, headers: &axum::http::HeaderMap) -> Result<(), Problem> {
        if self.carries_token(headers) {
            Ok(())
        } else {
            Err(unauthorized())
        }
    }
}

/// 401.
fn unauthorized() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "writes need `Authorization: Bearer TOKEN`, with the token from the data directory's api-token file",
    )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Setu node API",
        description = "A Setu node's replica of the practice catalogue: search, read, publish, withdraw, import. Writes need `Authorization: Bearer TOKEN` (the data directory's api-token file). Errors are application/problem+json (RFC 9457). A 503 (busy) carries Retry-After."
    ),
    paths(
        routes::status,
        routes::peers,
        routes::search,
        routes::publish,
        routes::practice,
        routes::withdraw,
        routes::import,
        routes::record,
        routes::members,
        routes::operate,
        routes::resign,
        routes::key_records,
        attachments::list,
        attachments::publish,
        attachments::status,
        attachments::fetch,
        attachments::content,
        scaling::publish_adoption,
        scaling::withdraw_adoption,
        scaling::publish_seeking,
        scaling::withdraw_seeking,
        scaling::seekings,
        scaling::adoptions,
        scaling::scaling,
        scaling::matches,
        scaling::offers,
        routes::openapi,
        export::export,
        ops::healthz,
        ops::readyz,
        ops::metrics
    ),
    components(schemas(Problem)),
    modifiers(&BearerScheme)
)]
struct Doc;

/// Declares the `bearer` security scheme the write routes name.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The content of the data directory's api-token file"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// The router.
pub fn router(state: State) -> Router {
    layered(routes(), state)
}

/// The routes, without their guards.
fn routes() -> Router<State> {
    Router::new()
        .route("/v1/status", get(routes::status))
        .route("/v1/peers", get(routes::peers))
        .route("/v1/practices", get(routes::search).post(routes::publish))
        .route("/v1/practices/{id}", get(routes::practice))
        .route("/v1/practices/{id}/adoptions", get(scaling::adoptions))
        .route("/v1/adoptions", post(scaling::publish_adoption))
        .route(
            "/v1/adoptions/{adoption_id}/withdraw",
            post(scaling::withdraw_adoption),
        )
        .route(
            "/v1/seekings",
            get(scaling::seekings).post(scaling::publish_seeking),
        )
        .route(
            "/v1/seekings/{seeking_id}/withdraw",
            post(scaling::withdraw_seeking),
        )
        .route("/v1/scaling", get(scaling::scaling))
        .route("/v1/matches", get(scaling::matches))
        .route("/v1/offers", get(scaling::offers))
        .route(
            "/v1/practices/{practice_id}/withdraw",
            post(routes::withdraw),
        )
        .route(
            "/v1/import",
            post(routes::import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/v1/records/{id}", get(routes::record))
        .route("/v1/members", get(routes::members))
        .route("/v1/members/operations", post(routes::operate))
        .route("/v1/members/resign", post(routes::resign))
        .route("/v1/keys/{key}/records", get(routes::key_records))
        .route(
            "/v1/attachments",
            get(attachments::list).post(attachments::publish),
        )
        .route("/v1/attachments/{hash}", get(attachments::content))
        .route("/v1/attachments/{hash}/status", get(attachments::status))
        .route("/v1/attachments/{hash}/fetch", post(attachments::fetch))
        .route("/v1/openapi.json", get(routes::openapi))
        .route("/v1/export", get(export::export))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(web::routes())
        .merge(harvest::routes())
}

/// `routes` with the body limit and admission in front.
fn layered(routes: Router<State>, state: State) -> Router {
    let cors = cors(&state.cors);
    let app = routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::count,
        ))
        .fallback(ops::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), admit))
        .with_state(state);
    match cors {
        Some(c) => app.layer(c),
        None => app,
    }
}

/// The CORS layer for `origins`, if any: reads (`GET`, `HEAD`) from those
/// origins only, no credentials.
fn cors(origins: &[axum::http::HeaderValue]) -> Option<tower_http::cors::CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins.to_vec())
            .allow_methods([Method::GET, Method::HEAD])
            .max_age(Duration::from_secs(CORS_MAX_AGE_SECS)),
    )
}

/// How long a browser may cache a CORS preflight answer.
pub const CORS_MAX_AGE_SECS: u64 = 600;

/// True for the routes that write: `POST` on publish, withdraw and import
/// of practices, adoptions and seekings, and the membership operations.
fn is_write(method: &Method, path: &str) -> bool {
    if method != Method::POST {
        return false;
    }
    let segments: Vec<&str> = path.split('/').collect();
    matches!(
        segments.as_slice(),
        ["", "v1", "practices" | "adoptions" | "seekings" | "import"]
            | [
                "",
                "v1",
                "practices" | "adoptions" | "seekings",
                _,
                "withdraw"
            ]
            | ["", "v1", "members", "operations" | "resign"]
    ) && !segments.iter().skip(1).any(|s| s.is_empty())
}

/// Admission, before any body is read: a write without the token is 401;
/// a request with the token takes a slot of [`MAX_AUTHORIZED_REQUESTS`],
/// any other one of [`MAX_ANONYMOUS_REQUESTS`]; without a free slot, 503
/// with `Retry-After`. A method a route does not have is 405 with `Allow`
/// whatever the token.
async fn admit(
    axum::extract::State(api): axum::extract::State<State>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // A liveness probe answers whatever the load.
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let authorized = api.carries_token(req.headers());
    if !authorized && is_write(req.method(), req.uri().path()) {
        api.http
            .count_refused(req.method(), StatusCode::UNAUTHORIZED);
        return unauthorized().into_response();
    }
    let pool = if authorized {
        &api.authorized
    } else {
        &api.anonymous
    };
    let Ok(_permit) = pool.clone().try_acquire_owned() else {
        api.http
            .count_refused(req.method(), StatusCode::SERVICE_UNAVAILABLE);
        let who = if authorized { "operator" } else { "anonymous" };
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!("the node is serving as many {who} requests as it can; retry shortly"),
        )
        .into_response();
    };
    let resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        return method_not_allowed(resp);
    }
    resp
}

/// axum's bare 405 as a problem report, keeping its `Allow`.
fn method_not_allowed(resp: Response) -> Response {
    let allow = resp.headers().get(axum::http::header::ALLOW).cloned();
    let detail = match allow.as_ref().and_then(|a| a.to_str().ok()) {
        Some(a) => format!("this route answers {a}"),
        None => "this route does not answer that method".to_string(),
    };
    let mut out =
        Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", detail).into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(axum::http::header::ALLOW, a);
    }
    out
}
