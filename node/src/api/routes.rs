//! The handlers, one per route. Each carries its OpenAPI description.

use std::collections::HashSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use setu_core::ids::{AuthorKey, RecordId};
use setu_store::query::MAX_LIMIT;

use super::{Problem, State as Api};
use crate::cli::FilterArgs;

/// Results per page when `limit` is not given.
pub const DEFAULT_PAGE: usize = 20;

type Result<T> = std::result::Result<T, Problem>;

/// Node status: the replica and the network.
#[utoipa::path(get, path = "/v1/status", responses((status = 200, description = "The node's status", content_type = "application/json")))]
pub async fn status(State(api): State<Api>) -> Result<Response> {
    Ok(Json(api.node.status().await?).into_response())
}

/// Connected peers.
#[utoipa::path(get, path = "/v1/peers", responses((status = 200, description = "Connected peers", content_type = "application/json")))]
pub async fn peers(State(api): State<Api>) -> Result<Response> {
    Ok(Json(api.node.peers().await?).into_response())
}

/// The query parameters of `GET /v1/practices` besides the filters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Paging {
    limit: Option<usize>,
    cursor: Option<String>,
    facets: bool,
}

const FILTER_KEYS: &[&str] = &[
    "text",
    "country",
    "sdg",
    "sector",
    "status",
    "gov_level",
    "period_from",
    "period_to",
    "publisher",
    "modified_since",
    "has_tcv",
    "no_tcv",
    "history",
    "include_withdrawn",
];
const PAGING_KEYS: &[&str] = &["limit", "cursor", "facets"];

fn check_keys(q: &str) -> Result<()> {
    let known: HashSet<&str> = FILTER_KEYS.iter().chain(PAGING_KEYS).copied().collect();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split('=').next().unwrap_or("");
        if !known.contains(key) {
            return Err(Problem::bad_request(format!(
                "query parameter {key:?} is unknown; known: {}",
                FILTER_KEYS
                    .iter()
                    .chain(PAGING_KEYS)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(())
}

/// Search the replica: every filter of `setu query`, with cursor pagination.
#[utoipa::path(
    get,
    path = "/v1/practices",
    params(
        ("text" = Option<String>, Query, description = "Full text, ranked, any language"),
        ("country" = Option<Vec<String>>, Query, description = "ISO3, optionally with role (BGD:originating); repeatable"),
        ("sdg" = Option<Vec<String>>, Query, description = "SDG goal (16) or target (16.6); repeatable"),
        ("sector" = Option<Vec<String>>, Query, description = "15110, dac5:15110 or cofog:01.3; repeatable"),
        ("status" = Option<Vec<u64>>, Query, description = "IATI activity status 1-6; repeatable"),
        ("gov_level" = Option<String>, Query, description = "national, subnational or local"),
        ("period_from" = Option<String>, Query, description = "Running on or after this date (YYYY[-MM[-DD]])"),
        ("period_to" = Option<String>, Query, description = "Running on or before this date"),
        ("publisher" = Option<String>, Query, description = "Author key, hex"),
        ("modified_since" = Option<String>, Query, description = "YYYY-MM-DD or ms since 1970"),
        ("has_tcv" = Option<bool>, Query, description = "Only practices with TCV metrics"),
        ("no_tcv" = Option<bool>, Query, description = "Only practices without TCV metrics"),
        ("history" = Option<bool>, Query, description = "Every revision, not only the current one"),
        ("include_withdrawn" = Option<bool>, Query, description = "Include withdrawn practices"),
        ("limit" = Option<usize>, Query, description = "Results per page (default 20, at most 10000)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("facets" = Option<bool>, Query, description = "Also count matches by country, SDG, sector and status"),
    ),
    responses(
        (status = 200, description = "{total, hits, next_cursor, facets?}", content_type = "application/json"),
        (status = 400, description = "A bad parameter, named", content_type = "application/problem+json")
    )
)]
pub async fn search(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response> {
    let q = q.unwrap_or_default();
    check_keys(&q)?;
    let filters: FilterArgs = serde_html_form::from_str(&q)
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let paging: Paging = serde_html_form::from_str(&q)
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let mut query =
        crate::cmd::query::build(&filters).map_err(|e| Problem::bad_request(format!("{e:#}")))?;
    query.limit = paging.limit.unwrap_or(DEFAULT_PAGE);
    query.offset = match &paging.cursor {
        Some(c) => c.parse().map_err(|_| {
            Problem::bad_request(format!("cursor: {c:?} is not a cursor this node issued"))
        })?,
        None => 0,
    };
    if query.limit > MAX_LIMIT {
        return Err(Problem::bad_request(format!(
            "limit: {}; the most is {MAX_LIMIT}",
            query.limit
        )));
    }
    let problems = query.problems();
    if !problems.is_empty() {
        let mut p = Problem::bad_request("the query is not valid");
        p.errors = problems;
        return Err(p);
    }
    let (offset, limit) = (query.offset, query.limit);
    let facets = if paging.facets {
        Some(api.node.facets(query.clone()).await?)
    } else {
        None
    };
    let hits = api.node.query(query).await?;
    let next = offset + hits.hits.len();
    let next_cursor = (limit > 0 && next < hits.total).then(|| next.to_string());
    let mut body =
        serde_json::json!({"total": hits.total, "hits": hits.hits, "next_cursor": next_cursor});
    if let Some(f) = facets {
        body["facets"] = serde_json::to_value(f).unwrap_or_default();
    }
    Ok(Json(body).into_response())
}

/// The request body, or a problem report naming why it was refused (too
/// large: 413).
fn body(b: std::result::Result<Bytes, BytesRejection>) -> Result<Bytes> {
    b.map_err(|r| {
        let status = r.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too-large"
        } else {
            "bad-body"
        };
        Problem::new(status, code, format!("body: {}", r.body_text()))
    })
}

fn json_body(bytes: &Bytes) -> Result<serde_json::Value> {
    serde_json::from_slice(bytes).map_err(|e| Problem::bad_request(format!("body: not JSON: {e}")))
}

/// Publish a practice body: a new practice, or the next revision of one of
/// this node's. Signed with the node's publisher key.
#[utoipa::path(
    post,
    path = "/v1/practices",
    request_body(content = String, description = "A practice body (spec/record.md §6)", content_type = "application/json"),
    responses(
        (status = 201, description = "Signed and stored: {id, practice_id, revision, seq}", content_type = "application/json"),
        (status = 401, description = "No or wrong token", content_type = "application/problem+json"),
        (status = 422, description = "The body is not valid; every problem with its path", content_type = "application/problem+json"),
        (status = 409, description = "Another publisher owns the practice id, or it was withdrawn", content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
pub async fn publish(
    State(api): State<Api>,
    headers: HeaderMap,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    api.authorize(&headers)?;
    let body = self::body(raw)?;
    let p = api.node.publish(json_body(&body)?).await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

/// The `history` and `publisher` parameters of `GET /v1/practices/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Lookup {
    history: bool,
    publisher: Option<String>,
}

/// A practice by practice id or record id.
#[utoipa::path(
    get,
    path = "/v1/practices/{id}",
    params(
        ("id" = String, Path, description = "A practice id, or a record id (64 hex digits)"),
        ("history" = Option<bool>, Query, description = "List every linked revision"),
        ("publisher" = Option<String>, Query, description = "The publisher's key, when several publishers use the practice id")
    ),
    responses(
        (status = 200, description = "The practice", content_type = "application/json"),
        (status = 404, description = "No such practice or record", content_type = "application/problem+json"),
        (status = 409, description = "Several publishers use this practice id", content_type = "application/problem+json")
    )
)]
pub async fn practice(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let l: Lookup = serde_html_form::from_str(&q.unwrap_or_default())
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let publisher = match &l.publisher {
        Some(p) => Some(
            p.parse::<AuthorKey>()
                .map_err(|e| Problem::bad_request(format!("publisher: {e}")))?,
        ),
        None => None,
    };
    match api.node.get(&id, publisher, l.history).await? {
        Ok(view) => Ok(Json(view).into_response()),
        Err(e @ setu::LookupError::NotFound(_)) => Err(Problem::not_found(e.to_string())),
        Err(e) => Err(Problem::new(
            StatusCode::CONFLICT,
            "ambiguous",
            e.to_string(),
        )),
    }
}

/// The body of a withdrawal.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Withdrawal {
    reason: String,
}

/// Withdraw one of this node's practices. Final.
#[utoipa::path(
    post,
    path = "/v1/practices/{practice_id}/withdraw",
    params(("practice_id" = String, Path, description = "One of this node's practice ids")),
    request_body(content = String, description = "{\"reason\": \"...\"}", content_type = "application/json"),
    responses(
        (status = 200, description = "The withdrawal record: {id, practice_id, revision, seq}", content_type = "application/json"),
        (status = 404, description = "No such practice of this node's", content_type = "application/problem+json"),
        (status = 409, description = "Already withdrawn", content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
pub async fn withdraw(
    State(api): State<Api>,
    Path(practice_id): Path<String>,
    headers: HeaderMap,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    api.authorize(&headers)?;
    let body = self::body(raw)?;
    let w: Withdrawal = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(format!("body: {e}; expected {{\"reason\": \"...\"}}"))
    })?;
    if w.reason.trim().is_empty() {
        return Err(Problem::bad_request("body.reason: must not be empty"));
    }
    Ok(Json(api.node.withdraw(&practice_id, &w.reason).await?).into_response())
}

/// The parameters of `POST /v1/import`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ImportParams {
    dry_run: bool,
}

/// Import JSON Lines of practice bodies, signed with the node's key. A bad
/// row never stops the good ones.
#[utoipa::path(
    post,
    path = "/v1/import",
    params(("dry_run" = Option<bool>, Query, description = "Validate only; store nothing")),
    request_body(content = String, description = "JSON Lines, one practice body per line (at most 64 MiB)", content_type = "application/x-ndjson"),
    responses(
        (status = 200, description = "{progress, rows}: one row per line, imported, skipped or rejected with its problems", content_type = "application/json"),
        (status = 413, description = "Body too large")
    ),
    security(("bearer" = []))
)]
pub async fn import(
    State(api): State<Api>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    api.authorize(&headers)?;
    let body = self::body(raw)?;
    let p: ImportParams = serde_html_form::from_str(&q.unwrap_or_default())
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let (progress, rows) = api
        .node
        .import(Box::new(std::io::Cursor::new(body)), p.dry_run)
        .await?;
    Ok(Json(serde_json::json!({"progress": progress, "rows": rows})).into_response())
}

/// A record's signed bytes, exactly as stored (canonical CBOR,
/// spec/record.md).
#[utoipa::path(
    get,
    path = "/v1/records/{id}",
    params(("id" = String, Path, description = "The record id, 64 hex digits")),
    responses(
        (status = 200, description = "The signed record", content_type = "application/cbor"),
        (status = 404, description = "Not in this replica", content_type = "application/problem+json")
    )
)]
pub async fn record(State(api): State<Api>, Path(id): Path<String>) -> Result<Response> {
    let rid: RecordId = id
        .parse()
        .map_err(|e| Problem::bad_request(format!("id: {e}")))?;
    match api.node.record(rid).await? {
        Some(bytes) => Ok(([(header::CONTENT_TYPE, "application/cbor")], bytes).into_response()),
        None => Err(Problem::not_found(format!(
            "no record {id} in this replica"
        ))),
    }
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi() -> Response {
    Json(super::openapi()).into_response()
}

/// Any other path.
pub async fn not_found() -> Problem {
    Problem::not_found("no such route; see /v1/openapi.json")
}
