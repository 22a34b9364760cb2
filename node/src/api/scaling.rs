//! The handlers of scaling up: adoption reports and needs (publish,
//! withdraw, list), "where has this scaled?", and matchmaking. Each
//! carries its OpenAPI description.

use std::collections::HashSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use setu_core::ids::AuthorKey;

use super::routes::{body, json_body, withdrawal_reason};
use super::schema;
use super::{Problem, State as Api};

type Result<T> = std::result::Result<T, Problem>;

/// Most matches one request returns.
pub const MAX_MATCHES: usize = setu_store::matching::MAX_MATCHES;

/// Refuses a query string with a parameter not in `known`, naming it.
fn only(q: &str, known: &[&str]) -> Result<()> {
    let known: HashSet<&str> = known.iter().copied().collect();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        if !known.contains(key) {
            return Err(Problem::bad_request(format!(
                "query parameter {key:?} is unknown; known: {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(())
}

pub(super) async fn publish_kind(
    api: &Api,
    headers: &HeaderMap,
    kind: &str,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    api.authorize(headers)?;
    let b = body(raw)?;
    let p = api.node.publish_kind(kind, json_body(&b)?).await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

/// Publish an adoption report: this agency adopted another publisher's
/// practice (a new report, or the next revision of one of this node's).
#[utoipa::path(
    post,
    path = "/v1/adoptions",
    request_body(content = schema::KindBody, description = "An adoption body (spec/record.md §6b)", content_type = "application/json"),
    responses(
        (status = 201, description = "Signed and stored", body = schema::Published),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The report was withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not valid; every problem with its path", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn publish_adoption(
    State(api): State<Api>,
    headers: HeaderMap,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    publish_kind(&api, &headers, "adoption", raw).await
}

/// Publish a need: what this agency seeks practices for.
#[utoipa::path(
    post,
    path = "/v1/seekings",
    request_body(content = schema::KindBody, description = "A seeking body (spec/record.md §6c)", content_type = "application/json"),
    responses(
        (status = 201, description = "Signed and stored", body = schema::Published),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The need was withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not valid; every problem with its path", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn publish_seeking(
    State(api): State<Api>,
    headers: HeaderMap,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    publish_kind(&api, &headers, "seeking", raw).await
}

async fn withdraw_kind(
    api: &Api,
    headers: &HeaderMap,
    kind: &str,
    id: &str,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    api.authorize(headers)?;
    let b = body(raw)?;
    let reason = withdrawal_reason(&b)?;
    Ok(Json(api.node.withdraw_kind(kind, id, &reason).await?).into_response())
}

/// Withdraw one of this node's adoption reports. Final.
#[utoipa::path(
    post,
    path = "/v1/adoptions/{adoption_id}/withdraw",
    params(("adoption_id" = String, Path, description = "One of this node's adoption ids")),
    request_body(content = schema::Withdrawal, description = "Why it is withdrawn", content_type = "application/json"),
    responses(
        (status = 200, description = "The withdrawal record", body = schema::Published),
        (status = 400, description = "The body is not an object with a non-blank string `reason`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report of this node's, or already withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn withdraw_adoption(
    State(api): State<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    withdraw_kind(&api, &headers, "adoption", &id, raw).await
}

/// Withdraw one of this node's needs (met or dropped). Final.
#[utoipa::path(
    post,
    path = "/v1/seekings/{seeking_id}/withdraw",
    params(("seeking_id" = String, Path, description = "One of this node's seeking ids")),
    request_body(content = schema::Withdrawal, description = "Why it is withdrawn", content_type = "application/json"),
    responses(
        (status = 200, description = "The withdrawal record", body = schema::Published),
        (status = 400, description = "The body is not an object with a non-blank string `reason`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such need of this node's, or already withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn withdraw_seeking(
    State(api): State<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    withdraw_kind(&api, &headers, "seeking", &id, raw).await
}

/// Most needs `GET /v1/seekings` returns.
pub const MAX_SEEKINGS: usize = 10_000;

/// A `limit` query parameter: a number from 0 to `max`, named when bad.
fn limit(v: Option<&str>, default: usize, max: usize) -> Result<usize> {
    match v {
        None => Ok(default),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                Problem::bad_request(format!("limit: {l:?} is not a number from 0 to {max}"))
            }),
    }
}

/// The `limit` parameter alone.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Top {
    limit: Option<String>,
}

/// The open needs this node holds, each at its current revision.
#[utoipa::path(
    get,
    path = "/v1/seekings",
    params(("limit" = Option<u32>, Query, maximum = 10000, description = "Needs to return (default 100, at most 10000)")),
    responses(
        (status = 200, description = "Open needs, each at its current revision", body = Vec<schema::Sought>),
        (status = 400, description = "A bad parameter, named", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn seekings(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response> {
    let q = q.unwrap_or_default();
    only(&q, &["limit"])?;
    let t: Top = serde_html_form::from_str(&q)
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let n = limit(t.limit.as_deref(), 100, MAX_SEEKINGS)?;
    Ok(Json(api.node.seekings(n).await?).into_response())
}

/// The `practice` and `publisher` parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Which {
    practice: Option<String>,
    publisher: Option<String>,
}

fn publisher(p: &Option<String>) -> Result<Option<AuthorKey>> {
    p.as_deref()
        .map(|p| {
            p.parse::<AuthorKey>()
                .map_err(|e| Problem::bad_request(format!("publisher: {e}")))
        })
        .transpose()
}

fn lookup_problem(e: setu::LookupError) -> Problem {
    match e {
        e @ setu::LookupError::NotFound(_) => Problem::not_found(e.to_string()),
        e => Problem::new(StatusCode::CONFLICT, "ambiguous", e.to_string()),
    }
}

/// Where has a practice scaled: adopting countries by stage, years from
/// origin, TCV at origin against each adopter. Every adopted practice
/// without `practice`.
#[utoipa::path(
    get,
    path = "/v1/scaling",
    params(
        ("practice" = Option<String>, Query, description = "A practice id or record id; every adopted practice if absent"),
        ("publisher" = Option<String>, Query, pattern = "^[0-9a-f]{64}$", description = "The publisher's key, when several publishers use the practice id"),
    ),
    responses(
        (status = 200, description = "Per practice, most adopted first", body = Vec<schema::Scaling>),
        (status = 400, description = "A bad parameter, named", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such practice", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Several publishers use this practice id", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn scaling(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response> {
    let q = q.unwrap_or_default();
    only(&q, &["practice", "publisher"])?;
    let w: Which = serde_html_form::from_str(&q)
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let publisher = publisher(&w.publisher)?;
    let only = w.practice.map(|p| (p, publisher));
    match api.node.scaling(only).await? {
        Ok(r) => Ok(Json(r).into_response()),
        Err(e) => Err(lookup_problem(e)),
    }
}

/// A practice's current adoption reports, each beside its origin.
#[utoipa::path(
    get,
    path = "/v1/practices/{id}/adoptions",
    params(
        ("id" = String, Path, description = "A practice id, or a record id (64 hex digits)"),
        ("publisher" = Option<String>, Query, pattern = "^[0-9a-f]{64}$", description = "The publisher's key, when several publishers use the practice id"),
    ),
    responses(
        (status = 200, description = "Its adoptions", body = Vec<schema::AdoptionView>),
        (status = 400, description = "A bad parameter, named", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such practice", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Several publishers use this practice id", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn adoptions(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let q = q.unwrap_or_default();
    only(&q, &["publisher"])?;
    let w: Which = serde_html_form::from_str(&q)
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    match api.node.get(&id, publisher(&w.publisher)?, false).await? {
        Ok(view) => Ok(Json(view.adoptions).into_response()),
        Err(e) => Err(lookup_problem(e)),
    }
}

/// The parameters of `GET /v1/matches`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MatchParams {
    seeking: Option<String>,
    text: Option<String>,
    sdg: Vec<String>,
    sector: Vec<String>,
    gov_level: Option<String>,
    limit: Option<String>,
}

/// Matchmaking: the practices that fit a need, each with its reasons. The
/// need is an open seeking record (`seeking`), or words, SDG targets,
/// sectors and a government level.
#[utoipa::path(
    get,
    path = "/v1/matches",
    params(
        ("seeking" = Option<String>, Query, description = "A seeking id or record id this node holds"),
        ("text" = Option<String>, Query, description = "The need in words, any language"),
        ("sdg" = Option<Vec<String>>, Query, description = "SDG goal (16) or target (16.6); repeatable"),
        ("sector" = Option<Vec<String>>, Query, description = "dac5:15110 or cofog:01.3; repeatable"),
        ("gov_level" = Option<String>, Query, description = "national, subnational or local"),
        ("limit" = Option<u32>, Query, maximum = 100, description = "Matches to return (default 10, at most 100)"),
    ),
    responses(
        (status = 200, description = "Matches best first", body = Vec<schema::Match>),
        (status = 400, description = "A bad parameter, named", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No open need by that id", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn matches(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response> {
    let q = q.unwrap_or_default();
    only(
        &q,
        &["seeking", "text", "sdg", "sector", "gov_level", "limit"],
    )?;
    let p: MatchParams = serde_html_form::from_str(&q)
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let limit = limit(p.limit.as_deref(), 10, MAX_MATCHES)?;
    if p.seeking.is_some()
        && (p.text.is_some() || !p.sdg.is_empty() || !p.sector.is_empty() || p.gov_level.is_some())
    {
        return Err(Problem::bad_request(
            "seeking: give a seeking id, or text, sdg, sector and gov_level; not both",
        ));
    }
    let need =
        match &p.seeking {
            Some(id) => api.node.need_of(id).await?.ok_or_else(|| {
                Problem::not_found(format!("no open need {id:?} in this replica"))
            })?,
            None => {
                let need = setu::Need {
                    text: p.text.unwrap_or_default(),
                    sdg: p.sdg,
                    sectors: p.sector,
                    gov_level: p.gov_level,
                };
                let problems = need.problems();
                if !problems.is_empty() {
                    let mut pr = Problem::bad_request("the need is not valid");
                    pr.errors = problems;
                    return Err(pr);
                }
                need
            }
        };
    Ok(Json(api.node.matches(need, limit).await?).into_response())
}

/// The open needs of other agencies that this node's practices fit: for
/// each need, those of this node's practices among its best `limit`
/// matches.
#[utoipa::path(
    get,
    path = "/v1/offers",
    params(("limit" = Option<u32>, Query, maximum = 100, description = "How far down each need's matches to look (default 10, at most 100)")),
    responses(
        (status = 200, description = "Needs this node's practices fit", body = Vec<schema::Offer>),
        (status = 400, description = "A bad parameter, named", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn offers(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response> {
    let q = q.unwrap_or_default();
    only(&q, &["limit"])?;
    let t: Top = serde_html_form::from_str(&q)
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let n = limit(t.limit.as_deref(), 10, MAX_MATCHES)?;
    Ok(Json(api.node.offers(n).await?).into_response())
}
