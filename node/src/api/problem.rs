//! `application/problem+json` errors (RFC 9457).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use setu_store::replica::PublishError;

/// A problem report.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Each problem with a field, as `path: message`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
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
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

impl From<setu::Error> for Problem {
    fn from(e: setu::Error) -> Problem {
        match e {
            setu::Error::Publish(p) => p.into(),
            setu::Error::NoKey => Problem::new(StatusCode::FORBIDDEN, "no-key", e.to_string()),
            other => {
                tracing::error!("api: {other}");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    other.to_string(),
                )
            }
        }
    }
}

impl From<PublishError> for Problem {
    fn from(e: PublishError) -> Problem {
        match e {
            PublishError::Invalid(problems) => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-body",
                    format!(
                        "the body is not a valid practice ({} problems)",
                        problems.len()
                    ),
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
            other => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                other.to_string(),
            ),
        }
    }
}
