//! `application/problem+json` errors (RFC 9457).
//!
//! A 500 never carries the error itself (it may name files of the data
//! directory): the detail is logged with an error id, and the client gets
//! the id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use setu_store::replica::PublishError;

/// A problem report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(title = "Problem")]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    /// A short summary.
    pub title: String,
    /// The HTTP status.
    #[schema(minimum = 100, maximum = 599)]
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Each problem with a field, as `path: message`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<String>,
}

impl Problem {
    /// A problem with a status, a short code and a detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("https://setu.invalid/problems/{code}"),
            title: status.canonical_reason().unwrap_or("error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// 400 for a bad parameter or body.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 500: `error` goes to the log under a fresh id; the client gets only
    /// the id.
    pub fn internal(error: &dyn std::fmt::Display) -> Problem {
        let id = format!("{:016x}", rand::random::<u64>());
        tracing::error!(error_id = %id, "api: {error}");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error {id}; the node's log has the details"),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(super::RETRY_AFTER_SECS),
            );
        }
        resp
    }
}

impl From<setu::Error> for Problem {
    fn from(e: setu::Error) -> Problem {
        match e {
            setu::Error::Publish(p) => p.into(),
            setu::Error::NoKey => Problem::new(StatusCode::FORBIDDEN, "no-key", e.to_string()),
            setu::Error::NoCharter => {
                Problem::new(StatusCode::NOT_FOUND, "no-charter", e.to_string())
            }
            setu::Error::Store(setu_store::Error::NoSpace(why)) => Problem::no_space(&why),
            other => Problem::internal(&other),
        }
    }
}

impl Problem {
    /// 507: the node's disk is full (or short of the space it keeps free);
    /// nothing was written. The detail names no file: the log has them.
    pub fn no_space(error: &str) -> Problem {
        tracing::warn!("api: {error}");
        Problem::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient-storage",
            "the node's disk is full or short of the space it keeps free; nothing was written. Writes resume by themselves once there is room (the operator sees `store error` in `setu status`)",
        )
    }
}

impl From<PublishError> for Problem {
    fn from(e: PublishError) -> Problem {
        match e {
            PublishError::Invalid(problems) => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-body",
                    format!("the body is not valid ({} problems)", problems.len()),
                );
                p.errors = problems.iter().map(ToString::to_string).collect();
                p
            }
            PublishError::NotOwner { .. } => {
                Problem::new(StatusCode::CONFLICT, "not-owner", e.to_string())
            }
            PublishError::Unknown(_) => Problem::not_found(e.to_string()),
            PublishError::Refused(_) => {
                Problem::new(StatusCode::CONFLICT, "refused", e.to_string())
            }
            PublishError::Store(setu_store::Error::NoSpace(why)) => Problem::no_space(&why),
            other => Problem::internal(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_500_does_not_carry_the_error() {
        let e = setu::Error::Io {
            path: "/srv/setu/data/secret-key".into(),
            reason: "permission denied".into(),
        };
        let p = Problem::from(e);
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains('/'), "{}", p.detail);
        assert!(!p.detail.contains("permission"), "{}", p.detail);
        assert!(p.detail.starts_with("internal error "), "{}", p.detail);
    }

    #[test]
    fn a_full_disk_is_507_and_names_no_file() {
        let why = "cannot open the database in /srv/setu/data/db: no space left on the device";
        for p in [
            Problem::from(setu::Error::Store(setu_store::Error::NoSpace(why.into()))),
            Problem::from(PublishError::Store(setu_store::Error::NoSpace(why.into()))),
        ] {
            assert_eq!(p.status, 507, "{p:?}");
            assert!(p.kind.ends_with("/insufficient-storage"), "{p:?}");
            assert!(!p.detail.contains('/'), "{}", p.detail);
            assert!(p.detail.contains("nothing was written"), "{}", p.detail);
        }
    }

    #[test]
    fn a_503_says_when_to_retry() {
        let r = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "busy").into_response();
        assert_eq!(
            r.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
    }
}
