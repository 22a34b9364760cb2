//! The HTTP API of `setu run` (axum): one route per CLI verb, JSON in and
//! out, `application/problem+json` errors, an OpenAPI 3.1 document
//! generated from the handlers at `/v1/openapi.json`.
//!
//! Routes live in `api/routes.rs`; errors in `api/problem.rs`.

mod problem;
mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use utoipa::OpenApi;

pub use problem::Problem;

/// Largest JSON request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest import body (JSON Lines).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Most concurrent requests served.
pub const MAX_CONCURRENT_REQUESTS: usize = 64;

/// What every handler sees.
#[derive(Clone)]
pub struct State {
    /// The node.
    pub node: setu::Node,
    token: Arc<Vec<u8>>,
}

impl State {
    /// `token` is the content of the data directory's `api-token` file.
    pub fn new(node: setu::Node, token: &str) -> State {
        State {
            node,
            token: Arc::new(token.trim().as_bytes().to_vec()),
        }
    }

    /// Checks `Authorization: Bearer TOKEN` in constant time.
    pub fn authorize(&self, headers: &axum::http::HeaderMap) -> Result<(), Problem> {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        if !self.token.is_empty() && bool::from(given.as_bytes().ct_eq(&self.token)) {
            Ok(())
        } else {
            Err(Problem::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "unauthorized",
                "writes need `Authorization: Bearer TOKEN`, with the token from the data directory's api-token file",
            ))
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Setu node API",
        description = "A Setu node's replica of the practice catalogue: search, read, publish, withdraw, import. Writes need `Authorization: Bearer TOKEN` (the data directory's api-token file). Errors are application/problem+json (RFC 9457)."
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
        routes::openapi
    )
)]
struct Doc;

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// The router.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/v1/status", get(routes::status))
        .route("/v1/peers", get(routes::peers))
        .route("/v1/practices", get(routes::search).post(routes::publish))
        .route("/v1/practices/{id}", get(routes::practice))
        .route(
            "/v1/practices/{practice_id}/withdraw",
            post(routes::withdraw),
        )
        .route(
            "/v1/import",
            post(routes::import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/v1/records/{id}", get(routes::record))
        .route("/v1/openapi.json", get(routes::openapi))
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Writes are authorized before their body is read.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            writes_need_token,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_REQUESTS)),
            limit,
        ))
        .with_state(state)
}

/// Refuses any request but GET and HEAD without the token, before its
/// body is read.
async fn writes_need_token(
    axum::extract::State(api): axum::extract::State<State>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let m = req.method();
    if m != axum::http::Method::GET
        && m != axum::http::Method::HEAD
        && let Err(p) = api.authorize(req.headers())
    {
        return axum::response::IntoResponse::into_response(p);
    }
    next.run(req).await
}

/// Refuses requests beyond [`MAX_CONCURRENT_REQUESTS`] with 503.
async fn limit(
    axum::extract::State(permits): axum::extract::State<Arc<tokio::sync::Semaphore>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match permits.try_acquire_owned() {
        Ok(_permit) => next.run(req).await,
        Err(_) => axum::response::IntoResponse::into_response(Problem::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!("more than {MAX_CONCURRENT_REQUESTS} requests at once; retry shortly"),
        )),
    }
}
