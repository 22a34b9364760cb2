//! `GET /v1/export`: the replica's matches as a file, for researchers who
//! cannot run `setu export` on the node's machine.
//!
//! The export is written to a temporary directory in the data directory
//! first (the same code as `setu export`, so the files are the same), then
//! streamed from disk; the directory is removed when the answer ends,
//! whether the client read it all, went away, or was too slow
//! ([`MAX_STREAM_TIME`]). At most [`MAX_EXPORTS`] run at once, as an export
//! holds the store's thread while it writes: the slot is held until the
//! store's work ends, even if the client leaves before.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use setu_export::Format;
use tokio::sync::Semaphore;

use super::{Problem, State as Api};
use crate::filters::Filters;

/// Exports running at once; another asks again later (503).
pub const MAX_EXPORTS: usize = 1;
/// Bytes read from the export file per chunk of the answer.
const CHUNK_BYTES: usize = 64 * 1024;
/// Longest an answer may take to stream; a slower client gets it cut, and
/// the slot goes to the next.
pub const MAX_STREAM_TIME: std::time::Duration = std::time::Duration::from_secs(30 * 60);
/// The prefix of the temporary directories exports write in the data
/// directory (removed when their answer ends).
const TMP_PREFIX: &str = ".export-";

/// The parameters besides the filters.
const PARAMS: &[&str] = &["format", "table"];

/// The export slots, shared by every request.
#[derive(Clone, Debug)]
pub struct Slots(Arc<Semaphore>);

impl Default for Slots {
    fn default() -> Slots {
        Slots(Arc::new(Semaphore::new(MAX_EXPORTS)))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Params {
    format: Option<String>,
    table: Option<String>,
}

/// The tables of a CSV or Parquet export, by the name `table` takes.
const TABLES: &[&str] = &["practices", "adoptions", "edges", "seekings"];

/// Every match of the filters as one file: `jsonl` (the signed records,
/// lossless), or one table of `csv` or `parquet` (`table`: practices,
/// adoptions, edges or seekings; the practices by default).
#[utoipa::path(
    get,
    path = "/v1/export",
    params(
        ("format" = String, Query, description = "jsonl, csv or parquet"),
        ("table" = Option<String>, Query, description = "For csv and parquet: practices (default), adoptions, edges or seekings"),
        ("text" = Option<String>, Query, description = "Full text; every filter of GET /v1/practices applies"),
        ("country" = Option<Vec<String>>, Query, description = "ISO3, optionally with role; repeatable"),
        ("sdg" = Option<Vec<String>>, Query, description = "SDG goal or target; repeatable"),
    ),
    responses(
        (status = 200, description = "The file, streamed: JSON Lines, CSV or Parquet", content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (String = "application/vnd.apache.parquet"),
        )),
        (status = 400, description = "A bad parameter, named", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the node's log)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy (another export is running); see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let q = q.unwrap_or_default();
    let filters = Filters::from_query_string(&q, PARAMS).map_err(Problem::bad_request)?;
    let params: Params = serde_html_form::from_str(&q)
        .map_err(|e| Problem::bad_request(format!("query parameters: {e}")))?;
    let format: Format = params
        .format
        .as_deref()
        .ok_or_else(|| Problem::bad_request("format: required (jsonl, csv or parquet)"))?
        .parse()
        .map_err(|e: String| Problem::bad_request(format!("format: {e}")))?;
    let table = params.table.as_deref().unwrap_or("practices");
    if !TABLES.contains(&table) {
        return Err(Problem::bad_request(format!(
            "table: {table:?} is not one of {}",
            TABLES.join(", ")
        )));
    }
    if format == Format::Jsonl && table != "practices" {
        return Err(Problem::bad_request(
            "table: a jsonl export is one file of records (practices, adoptions and needs together); table applies to csv and parquet",
        ));
    }
    let query = filters
        .to_query()
        .map_err(|e| Problem::bad_request(format!("{e:#}")))?;
    let problems = query.problems();
    if !problems.is_empty() {
        let mut p = Problem::bad_request("the query is not valid");
        p.errors = problems;
        return Err(p);
    }
    let Ok(permit) = api.exports.0.clone().try_acquire_owned() else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "another export is running; retry shortly",
        ));
    };
    let dir = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempdir_in(api.node.data_dir())
        .map_err(|e| Problem::internal(&e))?;
    let out = dir.path().join(format!("practices.{}", format.name()));
    // The store's work goes on if the client leaves; the slot and the
    // directory are held until it ends.
    let node = api.node.clone();
    let (done, result) = tokio::sync::oneshot::channel();
    let job_out = out.clone();
    tokio::spawn(async move {
        let r = node.export(query, format, job_out).await;
        let _ = done.send((r, dir, permit));
    });
    let (r, dir, permit) = result
        .await
        .map_err(|_| Problem::internal(&"the export stopped before it ended"))?;
    r?;
    let file_path = if table == "practices" {
        out
    } else {
        dir.path().join(format!("{table}.{}", format.name()))
    };
    let file = tokio::fs::File::open(&file_path)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| Problem::internal(&e))?
        .len();
    // The directory and the slot live as long as the stream.
    let held = (dir, permit);
    let stream = tokio_util::io::ReaderStream::with_capacity(file, CHUNK_BYTES)
        .take_until(tokio::time::sleep(MAX_STREAM_TIME))
        .map(move |chunk| {
            let _ = &held;
            chunk
        });
    let content_type = match format {
        Format::Jsonl => "application/x-ndjson",
        Format::Csv => "text/csv; charset=utf-8",
        Format::Parquet => "application/vnd.apache.parquet",
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"setu-{table}.{}\"", format.name()),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
