//! Attachments over HTTP (`spec/attachments.md`): the references, the
//! content with byte ranges (so a browser seeks in a video), and fetching
//! from peers on demand.
//!
//! Content comes from an author this node does not control, so it is never
//! served as a page of the node's origin: `X-Content-Type-Options:
//! nosniff`, a `Content-Security-Policy` that runs no script and loads
//! nothing, and `Content-Disposition: attachment` for anything but plain
//! audio, video and raster images (an SVG or HTML file is downloaded, not
//! shown).

use std::io::SeekFrom;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use setu_blob::Hash;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{Problem, State as Api};

type Result<T> = std::result::Result<T, Problem>;

/// The header a response of attachment content carries: no script, no
/// loads, no plugins, as if from an opaque origin.
pub const CONTENT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

fn hash_of(text: &str) -> Result<Hash> {
    text.parse::<Hash>()
        .map_err(|e| Problem::bad_request(format!("hash: {e}")))
}

/// The hash in a path, and the reference this node holds for it (404
/// when none).
async fn reference(api: &Api, text: &str) -> Result<(Hash, setu::attachments::AttachmentView)> {
    let hash = hash_of(text)?;
    let view = api
        .node
        .attachment(hash)
        .await?
        .ok_or_else(|| Problem::not_found("no attachment record names this hash"))?;
    Ok((hash, view))
}

/// The attachment references, of one practice or of all.
#[utoipa::path(get, path = "/v1/attachments",
    params(("practice" = Option<String>, Query, description = "Only those of this practice id")),
    responses(
        (status = 200, description = "The references, each with what this node holds of its content (availability: complete, partial or absent)", body = Vec<Object>),
        (status = 400, description = "An unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Which {
        practice: Option<String>,
    }
    let w: Which = serde_html_form::from_str(&q.unwrap_or_default()).map_err(|e| {
        Problem::bad_request(format!("query: {e} (the only parameter is practice)"))
    })?;
    Ok(Json(api.node.attachments(w.practice).await?).into_response())
}

/// Publish an attachment record: a reference to a file by its hash
/// (spec/record.md §6d). The file itself is added with `setu attach`,
/// which also publishes this; a record whose file no node holds yet is
/// valid ("not yet available").
#[utoipa::path(
    post,
    path = "/v1/attachments",
    request_body(content = super::schema::KindBody, description = "An attachment body (spec/record.md §6d)", content_type = "application/json"),
    responses(
        (status = 201, description = "Signed and stored", body = super::schema::Published),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "This node has no publishing key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The attachment was withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not valid; every problem with its path", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The node's disk is full; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn publish(
    State(api): State<Api>,
    headers: HeaderMap,
    raw: std::result::Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response> {
    super::scaling::publish_kind(&api, &headers, setu_core::attachment::KIND, raw).await
}

/// What this node holds of one attachment, and its reference.
#[utoipa::path(get, path = "/v1/attachments/{hash}/status",
    params(("hash" = String, Path, description = "The content's BLAKE3 hash: 64 lowercase hex digits")),
    responses(
        (status = 200, description = "The reference and availability", body = Object),
        (status = 400, description = "Not a hash", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No attachment record names this hash", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn status(State(api): State<Api>, Path(hash): Path<String>) -> Result<Response> {
    let (_, view) = reference(&api, &hash).await?;
    Ok(Json(view).into_response())
}

/// Fetch an attachment's content from the peers that hold it, in the
/// background (resuming what was verified before); poll its status.
#[utoipa::path(post, path = "/v1/attachments/{hash}/fetch",
    params(("hash" = String, Path, description = "The content's BLAKE3 hash: 64 lowercase hex digits")),
    responses(
        (status = 202, description = "Fetching; GET /v1/attachments/{hash}/status shows the blocks held", body = Object),
        (status = 400, description = "Not a hash", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No attachment record names this hash", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn fetch(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response> {
    api.authorize(&headers)?;
    let (hash, view) = reference(&api, &hash).await?;
    if view.availability != "complete" {
        let node = api.node.clone();
        tokio::spawn(async move {
            if let Err(e) = node.fetch_attachment(hash).await {
                tracing::warn!(%hash, "attachment fetch: {e}");
            }
        });
    }
    Ok((StatusCode::ACCEPTED, Json(view)).into_response())
}

/// An attachment's content, with byte ranges.
#[utoipa::path(get, path = "/v1/attachments/{hash}",
    params(("hash" = String, Path, description = "The content's BLAKE3 hash: 64 lowercase hex digits")),
    responses(
        (status = 200, description = "The content, with the media type its record states", body = String, content_type = "application/octet-stream"),
        (status = 206, description = "One byte range of it (Range: bytes=a-b)", body = String, content_type = "application/octet-stream"),
        (status = 400, description = "Not a hash", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No attachment record names this hash, or its content is not yet available here", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range is outside the content", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn content(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response> {
    let (hash, view) = reference(&api, &hash).await?;
    let path = api.node.content()?.path(&hash).ok_or_else(|| {
        Problem::not_found("not yet available on this node: POST /v1/attachments/{hash}/fetch")
    })?;
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| Problem::internal(&e))?
        .len();
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => match byte_range(r, size) {
            Some(Ok(r)) => Some(r),
            Some(Err(())) => {
                let mut resp = Problem::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range-not-satisfiable",
                    format!("Range: {r:?} is outside the content's {size} bytes"),
                )
                .into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    resp.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return Ok(resp);
            }
            // Several ranges, or a form not understood: the whole file.
            None => None,
        },
        None => None,
    };
    let (status, start, len) = match &range {
        Some((a, b)) => (StatusCode::PARTIAL_CONTENT, *a, b - a + 1),
        None => (StatusCode::OK, 0, size),
    };
    file.seek(SeekFrom::Start(start))
        .await
        .map_err(|e| Problem::internal(&e))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file.take(len)));
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    let media = view
        .attachment
        .media_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    // Recorded types are checked lowercase type/subtype (spec/record.md §6d).
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&media)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_POLICY),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{hash}\"")) {
        h.insert(header::ETAG, etag);
    }
    if let Some((a, b)) = range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{size}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    let inline = [
        "video/",
        "audio/",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
    ]
    .iter()
    .any(|p| media.starts_with(p));
    let name: String = view
        .attachment
        .file_name
        .clone()
        .unwrap_or_else(|| hash.to_hex())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{name}\"",
        if inline { "inline" } else { "attachment" }
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// One `bytes=` range of content of `size` bytes, inclusive: `None` when
/// the header asks for something else (several ranges, other units),
/// `Some(Err)` when it is outside the content.
pub fn byte_range(header: &str, size: u64) -> Option<std::result::Result<(u64, u64), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let r = match (a.is_empty(), b.is_empty()) {
        (false, _) => {
            let start: u64 = a.parse().ok()?;
            let end = if b.is_empty() {
                size.checked_sub(1)
            } else {
                Some(b.parse::<u64>().ok()?.min(size.saturating_sub(1)))
            };
            match end {
                Some(end) if start < size && start <= end => Ok((start, end)),
                _ => Err(()),
            }
        }
        (true, false) => {
            let n: u64 = b.parse().ok()?;
            if n == 0 || size == 0 {
                Err(())
            } else {
                Ok((size - n.min(size), size - 1))
            }
        }
        (true, true) => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        assert_eq!(byte_range("bytes=0-99", 1000), Some(Ok((0, 99))));
        assert_eq!(byte_range("bytes=900-", 1000), Some(Ok((900, 999))));
        assert_eq!(byte_range("bytes=-100", 1000), Some(Ok((900, 999))));
        assert_eq!(byte_range("bytes=990-2000", 1000), Some(Ok((990, 999))));
        assert_eq!(byte_range("bytes=1000-", 1000), Some(Err(())));
        assert_eq!(byte_range("bytes=5-1", 1000), Some(Err(())));
        assert_eq!(byte_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(byte_range("items=0-1", 1000), None);
    }
}
