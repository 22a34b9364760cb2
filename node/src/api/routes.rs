//! The handlers, one per route. Each carries its OpenAPI description.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use setu_core::ids::{AuthorKey, RecordId};

use super::schema;
use super::{Problem, State as Api};
use crate::filters::Filters;

/// Results per page when `limit` is not given.
pub const DEFAULT_PAGE: usize = 20;
/// Most results in one page (`limit`), as documented.
pub const MAX_PAGE: usize = 10_000;
/// Most bytes of hits in one page: a page stops early (with a
/// `next_cursor`) rather than pass this, whatever `limit` asked for.
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// Longest withdrawal reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

type Result<T> = std::result::Result<T, Problem>;

/// Node status: the replica and the network.
#[utoipa::path(get, path = "/v1/status", responses(
    (status = 200, description = "The node's status", body = schema::Status),
    (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn status(State(api): State<Api>) -> Result<Response> {
    Ok(Json(api.node.status().await?).into_response())
}

/// Connected peers.
#[utoipa::path(get, path = "/v1/peers", responses(
    (status = 200, description = "Connected peers", body = Vec<schema::PeerInfo>),
    (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn peers(State(api): State<Api>) -> Result<Response> {
    Ok(Json(api.node.peers().await?).into_response())
}

/// The query parameters of `GET /v1/practices` besides the filters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Paging {
    limit: Option<String>,
    cursor: Option<String>,
    facets: Option<String>,
}

const PAGING_KEYS: &[&str] = &["limit", "cursor", "facets"];

/// Search the replica: every filter of `setu query`, with cursor pagination.
#[utoipa::path(
    get,
    path = "/v1/practices",
    params(
        ("text" = Option<String>, Query, description = "Full text, ranked, any language"),
        ("match" = Option<String>, Query, description = "How text matches: any (ranked, stop words dropped; the default) or all (every word)"),
        ("adopted_in" = Option<Vec<String>>, Query, description = "Adopted in this country (ISO3) by an adoption report; repeatable"),
        ("adoption_stage" = Option<Vec<String>>, Query, description = "With an adoption at this stage: exploring, piloting, scaled, discontinued; repeatable"),
        ("min_adoptions" = Option<u64>, Query, description = "At least this many current adoption reports"),
        ("exchange" = Option<String>, Query, description = "The body's exchange: offering, seeking or none"),
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
        ("limit" = Option<u32>, Query, maximum = 10000, description = "Results per page (default 20, at most 10000); a page also stops before 8 MiB of hits, with a next_cursor"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("facets" = Option<bool>, Query, description = "Also count matches by country, SDG, sector and status"),
    ),
    responses(
        (status = 200, description = "One page of matches", body = schema::SearchPage),
        (status = 400, description = "A bad parameter, named", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response> {
    let q = q.unwrap_or_default();
    let filters = Filters::from_query_string(&q, PAGING_KEYS).map_err(Problem::bad_request)?;
    let paging: Paging = serde_html_form::from_str(&q)
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let mut query = filters
        .to_query()
        .map_err(|e| Problem::bad_request(format!("{e:#}")))?;
    query.limit = match paging.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_PAGE)
            .ok_or_else(|| {
                Problem::bad_request(format!("limit: {l:?} is not a number from 0 to {MAX_PAGE}"))
            })?,
    };
    query.offset = match &paging.cursor {
        Some(c) => c.parse().map_err(|_| {
            Problem::bad_request(format!("cursor: {c:?} is not a cursor this node issued"))
        })?,
        None => 0,
    };
    let problems = query.problems();
    if !problems.is_empty() {
        let mut p = Problem::bad_request("the query is not valid");
        p.errors = problems;
        return Err(p);
    }
    let (offset, limit) = (query.offset, query.limit);
    let want_facets = match paging.facets.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(Problem::bad_request(format!(
                "facets: {v:?} is not true or false"
            )));
        }
    };
    let facets = if want_facets {
        Some(api.node.facets(query.clone()).await?)
    } else {
        None
    };
    let found = api.node.query(query).await?;
    let hits = page(&found.hits, MAX_PAGE_BYTES)?;
    let next = offset + hits.len();
    let next_cursor = (limit > 0 && next < found.total).then(|| next.to_string());
    let mut body =
        serde_json::json!({"total": found.total, "hits": hits, "next_cursor": next_cursor});
    if let Some(f) = facets {
        body["facets"] = serde_json::to_value(f).map_err(|e| Problem::internal(&e))?;
    }
    Ok(Json(body).into_response())
}

/// The request body, or a problem report naming why it was refused (too
/// large: 413).
pub(super) fn body(b: std::result::Result<Bytes, BytesRejection>) -> Result<Bytes> {
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

pub(super) fn json_body(bytes: &Bytes) -> Result<serde_json::Value> {
    serde_json::from_slice(bytes).map_err(|e| Problem::bad_request(format!("body: not JSON: {e}")))
}

/// Publish a practice body: a new practice, or the next revision of one of
/// this node's. Signed with the node's publisher key.
#[utoipa::path(
    post,
    path = "/v1/practices",
    request_body(content = schema::PracticeBody, description = "A practice body (spec/record.md §6)", content_type = "application/json"),
    responses(
        (status = 201, description = "Signed and stored", body = schema::Published),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another publisher owns the practice id, or it was withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not valid; every problem with its path", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full, or short of the space it keeps free; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
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
        ("publisher" = Option<String>, Query, pattern = "^[0-9a-f]{64}$", description = "The publisher's key (64 lowercase hex digits), when several publishers use the practice id")
    ),
    responses(
        (status = 200, description = "The practice", body = schema::PracticeView),
        (status = 400, description = "A bad parameter, named", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such practice or record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Several publishers use this practice id", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
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

/// Withdraw one of this node's practices. Final.
#[utoipa::path(
    post,
    path = "/v1/practices/{practice_id}/withdraw",
    params(("practice_id" = String, Path, description = "One of this node's practice ids")),
    request_body(content = schema::Withdrawal, description = "Why the practice is withdrawn", content_type = "application/json"),
    responses(
        (status = 200, description = "The withdrawal record", body = schema::Published),
        (status = 400, description = "The body is not an object with a non-blank string `reason`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such practice of this node's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already withdrawn, or not this node's", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full, or short of the space it keeps free; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
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
    let reason = withdrawal_reason(&body)?;
    Ok(Json(api.node.withdraw(&practice_id, &reason).await?).into_response())
}

/// The `reason` of a withdrawal body: a JSON object with exactly one
/// member, a non-blank string of at most [`MAX_REASON_CHARS`] characters.
/// (A derived `Deserialize` would also take `["reason"]`, an array.)
pub(super) fn withdrawal_reason(body: &[u8]) -> Result<String> {
    let expected = "expected {\"reason\": \"...\"}";
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("body: not JSON: {e}; {expected}")))?;
    let Some(obj) = v.as_object() else {
        return Err(Problem::bad_request(format!(
            "body: not a JSON object; {expected}"
        )));
    };
    if let Some(k) = obj.keys().find(|k| *k != "reason") {
        return Err(Problem::bad_request(format!(
            "body.{k}: unknown field; {expected}"
        )));
    }
    let reason = match obj.get("reason") {
        None => return Err(Problem::bad_request("body.reason: missing")),
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err(Problem::bad_request("body.reason: must be a string")),
    };
    if reason.trim().is_empty() {
        return Err(Problem::bad_request("body.reason: must not be blank"));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Problem::bad_request(format!(
            "body.reason: longer than {MAX_REASON_CHARS} characters"
        )));
    }
    Ok(reason.clone())
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
        (status = 200, description = "One row per line: imported, skipped or rejected with its problems", body = schema::ImportReport),
        (status = 400, description = "A bad parameter, named", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full, or short of the space it keeps free; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
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
    let p: ImportParams = serde_html_form::from_str(&q.unwrap_or_default())
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let body = self::body(raw)?;
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
    params(("id" = String, Path, pattern = "^[0-9a-f]{64}$", description = "The record id, 64 lowercase hex digits")),
    responses(
        (status = 200, description = "The signed record", body = schema::RecordBytes, content_type = "application/cbor"),
        (status = 400, description = "Not a record id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in this replica", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
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

/// The network's members (spec/membership.md): each with its country or
/// organisation, agency, role and current key; delegates; proposals short
/// of their quorum; and every applied operation (`history`).
#[utoipa::path(get, path = "/v1/members", responses(
    (status = 200, description = "The member set, computed from the membership records this node holds", body = Object),
    (status = 404, description = "An open network: no charter", body = Problem, content_type = "application/problem+json"),
    (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn members(State(api): State<Api>) -> Result<Response> {
    let charter = api.node.charter().cloned().ok_or_else(no_charter)?;
    let view = api.node.members().await?;
    Ok(Json(crate::views::view_json(
        &charter,
        &view,
        api.node.publisher(),
    ))
    .into_response())
}

fn no_charter() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-charter",
        "this node runs an open network, with no charter and no members",
    )
}

/// Signs a membership operation with this node's key and publishes it.
/// The body is the operation in JSON (`op` and its fields, byte strings as
/// hex, thresholds as "num/den+min"); `epoch` defaults to the current one
/// and `member`, for single-key operations, to this node's member.
#[utoipa::path(
    post,
    path = "/v1/members/operations",
    request_body(content = Object, description = "An operation, e.g. {\"op\": \"endorse\", \"member\": {\"id\": \"ken-ict\", \"country\": \"KEN\", \"agency\": \"ICT Authority\", \"role\": \"member\", \"key\": \"<hex>\"}}", content_type = "application/json"),
    responses(
        (status = 201, description = "Signed, stored and gossiped", body = Object),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "An open network: no charter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The store refused the signed operation", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid operation; the field at fault", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full, or short of the space it keeps free; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn operate(
    State(api): State<Api>,
    headers: HeaderMap,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    api.authorize(&headers)?;
    let request = json_body(&self::body(raw)?)?;
    let charter = api.node.charter().cloned().ok_or_else(no_charter)?;
    let me = api
        .node
        .publisher()
        .ok_or_else(|| Problem::from(setu::Error::NoKey))?;
    let view = api.node.members().await?;
    let body = setu_member::op::from_json(
        &request,
        charter.network_id(),
        view.epoch(),
        view.owner(&me),
    )
    .map_err(|e| {
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            format!("not a valid operation: {e}"),
        );
        p.errors = vec![e.to_string()];
        p
    })?;
    let own = api.node.operate(body.op.clone()).await?;
    let after = api.node.members().await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": own.id.to_hex(),
            "seq": own.seq,
            "body": body.to_json(),
            "epoch": after.epoch().to_hex(),
            "members": after.member_ids(),
        })),
    )
        .into_response())
}

/// The records a key signed that this node holds, in seq order, each
/// with where it stands here (`shown`, `local`, or `invalid: why`): what
/// members review before a revocation names the records that stay valid
/// (spec/membership.md §6.2).
#[utoipa::path(
    get,
    path = "/v1/keys/{key}/records",
    params(("key" = String, Path, description = "The key: 64 hex digits")),
    responses(
        (status = 200, description = "The key's records (at most 10,000; `truncated` if there are more)", body = Object),
        (status = 400, description = "Not a key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such path (an empty key)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn key_records(State(api): State<Api>, Path(key): Path<String>) -> Result<Response> {
    let key: AuthorKey = key.parse().map_err(|e| {
        Problem::bad_request(format!("key: {key:?} is not a key (64 hex digits): {e}"))
    })?;
    let (records, truncated) = api.node.key_records(key).await?;
    Ok(Json(serde_json::json!({
        "key": key.to_hex(),
        "records": records,
        "truncated": truncated,
    }))
    .into_response())
}

/// Signs again, against the current epoch, every stale quorum operation
/// this node's member signed (spec/membership.md §5.3: after a partition
/// heals, or when other operations applied first), and publishes them.
#[utoipa::path(
    post,
    path = "/v1/members/resign",
    responses(
        (status = 200, description = "The operations signed again (none if nothing was stale)", body = Object),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "An open network: no charter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The store refused a signed operation", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full, or short of the space it keeps free; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn resign(State(api): State<Api>, headers: HeaderMap) -> Result<Response> {
    api.authorize(&headers)?;
    let charter = api.node.charter().cloned().ok_or_else(no_charter)?;
    api.node
        .publisher()
        .ok_or_else(|| Problem::from(setu::Error::NoKey))?;
    let done = api.node.resign().await?;
    let after = api.node.members().await?;
    Ok(Json(crate::views::resigned_json(&charter, &done, &after)).into_response())
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", responses(
    (status = 200, description = "The OpenAPI 3.1 document", body = Object),
    (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn openapi() -> Response {
    Json(super::openapi()).into_response()
}

/// Any other path.
pub async fn not_found() -> Problem {
    Problem::not_found("no such route; see /v1/openapi.json")
}

/// The first of `hits`, encoded one by one, that fit in `budget` bytes of
/// JSON (at least one, so paging always moves on).
fn page<T: serde::Serialize>(hits: &[T], budget: usize) -> Result<Vec<serde_json::Value>> {
    let mut out = Vec::with_capacity(hits.len());
    let mut bytes = 0;
    for h in hits {
        let v = serde_json::to_value(h).map_err(|e| Problem::internal(&e))?;
        bytes += v.to_string().len();
        if bytes > budget && !out.is_empty() {
            break;
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_stops_at_its_byte_budget_but_always_moves_on() {
        let hits = vec!["x".repeat(100); 10];
        // Each hit is 102 bytes of JSON.
        assert_eq!(page(&hits, 1_000_000).expect("page").len(), 10);
        assert_eq!(page(&hits, 350).expect("page").len(), 3);
        assert_eq!(page(&hits, 10).expect("page").len(), 1);
        assert!(page::<String>(&[], 10).expect("page").is_empty());
    }
}
