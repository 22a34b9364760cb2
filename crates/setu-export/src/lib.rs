//! # setu-export
//!
//! Exports for researchers: every match of a [`Query`] written to one file,
//! as JSON Lines, CSV (with a Frictionless data package beside it) or
//! Parquet. A crate of its own, so that what needs only the replica (the
//! network driver, an embedding portal) builds without Arrow and Parquet.
//!
//! - [`Format::Jsonl`]: lossless. One line per record with the exact signed
//!   bytes in hex, so that every line can be checked again
//!   (`setu record verify`), and the envelope in its JSON form.
//! - [`Format::Csv`]: one flat row per practice (per revision with
//!   [`Query::history`]), one column per language of each text field, and a
//!   `datapackage.json` (Frictionless Tabular Data Package) describing every
//!   column.
//! - [`Format::Parquet`]: one row per practice, lists and language maps kept
//!   nested, for DuckDB, pandas, Arrow and Spark.
//!
//! Exports stream: records are read one at a time and written in rows, or in
//! record batches of at most [`BATCH_ROWS`] rows, so memory does not grow
//! with the catalogue (apart from the list of matching ids, 32 bytes each).
//! Each file is written under a temporary name in the target directory and
//! renamed when complete: a failed export never leaves a partial file under
//! the final name. The `contact` of a practice is never exported.
//!
//! ```
//! use setu_core::keys::SecretKey;
//! use setu_export::{Export, Format};
//! use setu_store::{query::Query, replica::Replica};
//!
//! let mut replica = Replica::in_memory(Default::default()).unwrap();
//! let key = SecretKey::from_seed(&[1; 32]);
//! replica.publish(&key, setu_store::synth::body(7, 0), 1_767_225_600_000).unwrap();
//! replica.flush_index().unwrap();
//!
//! let dir = std::env::temp_dir().join(format!("setu-export-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let out = dir.join("practices.jsonl");
//! let summary = replica
//!     .export(&Query::default(), Format::Jsonl, &out, &mut |_, _| {})
//!     .unwrap();
//! assert_eq!(summary.rows, 1);
//! assert_eq!(summary.files, vec![out]);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

#![deny(missing_docs)]

mod csv;
mod datapackage;
mod jsonl;
mod parquet;

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::practice::{Metric, Practice};
use setu_core::record::Record;

use setu_store::Error;
use setu_store::backend::Backend;
use setu_store::query::Query;
use setu_store::replica::Replica;

/// Rows in one Parquet record batch, at most.
pub const BATCH_ROWS: usize = 1_024;
/// Rows between two calls of the progress callback.
pub const PROGRESS_EVERY: u64 = 1_000;
/// The name of the data package written beside a CSV export.
pub const DATAPACKAGE_FILE: &str = "datapackage.json";

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON Lines: one signed record per line, lossless and verifiable.
    Jsonl,
    /// CSV, one flat row per practice, with a `datapackage.json`.
    Csv,
    /// Apache Parquet, one nested row per practice.
    Parquet,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Format::Jsonl, Format::Csv, Format::Parquet];

    /// The format's name, also its usual file extension.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    /// `jsonl`, `csv` or `parquet` (any case).
    fn from_str(s: &str) -> Result<Format, String> {
        let lower = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.name() == lower)
            .ok_or_else(|| format!("unknown export format {s:?}; use jsonl, csv or parquet"))
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Rows written: records (JSONL) or practice revisions (CSV, Parquet).
    pub rows: u64,
    /// Bytes written, all files together.
    pub bytes: u64,
    /// The files written: the export, and for CSV its `datapackage.json`.
    pub files: Vec<PathBuf>,
}

/// Exports a replica's query matches: `replica.export(...)` once this trait
/// is in scope.
pub trait Export {
    /// Writes every match of `q` (its `limit` and `offset` are ignored) to
    /// `out` in `format`; for [`Format::Csv`] also a `datapackage.json` in
    /// the same directory. See the implementation on [`Replica`].
    fn export(
        &self,
        q: &Query,
        format: Format,
        out: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Summary, Error>;
}

impl<B: Backend> Export for Replica<B> {
    /// Writes every match of `q` (its `limit` and `offset` are ignored) to
    /// `out` in `format`; for [`Format::Csv`] also a `datapackage.json` in
    /// the same directory. The caller validates the query first
    /// ([`Query::problems`]).
    ///
    /// `progress(done, total)` is called every [`PROGRESS_EVERY`] rows and
    /// once at the end. Records are read one at a time; nothing is left
    /// under the final name if the export fails.
    fn export(
        &self,
        q: &Query,
        format: Format,
        out: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Summary, Error> {
        let ids = self.matching(q)?;
        let mut rows = Rows::new(self, ids, q.include_withdrawn);
        let files = match format {
            Format::Jsonl => jsonl::write(&mut rows, out, progress)?,
            Format::Csv => csv::write(&mut rows, out, progress)?,
            Format::Parquet => parquet::write(&mut rows, out, progress)?,
        };
        let mut bytes = 0;
        for f in &files {
            bytes += std::fs::metadata(f).map_err(|e| io_err(f, e))?.len();
        }
        Ok(Summary {
            rows: rows.total(),
            bytes,
            files,
        })
    }
}

/// One exported row: a stored practice record and what the store says of
/// its practice.
pub(crate) struct Row {
    pub(crate) record: Record,
    pub(crate) withdrawn: bool,
}

impl Row {
    /// The practice (every indexed record has one).
    pub(crate) fn practice(&self) -> Result<&Practice, Error> {
        self.record.practice().ok_or_else(|| {
            Error::Corrupt(format!(
                "record {} is indexed but is not a practice",
                self.record.id()
            ))
        })
    }
}

/// Reads the matching records one at a time, in index order.
pub(crate) struct Rows<'a, B: Backend> {
    replica: &'a Replica<B>,
    ids: Vec<RecordId>,
    /// The last practice looked up, and whether it was withdrawn.
    last: Option<(AuthorKey, String, bool)>,
    /// Whether the query may return withdrawn practices.
    include_withdrawn: bool,
}

impl<'a, B: Backend> Rows<'a, B> {
    fn new(replica: &'a Replica<B>, ids: Vec<RecordId>, include_withdrawn: bool) -> Rows<'a, B> {
        Rows {
            replica,
            ids,
            last: None,
            include_withdrawn,
        }
    }

    /// How many rows there are.
    pub(crate) fn total(&self) -> u64 {
        self.ids.len() as u64
    }

    /// Calls `f` on every row, in order; one record in memory at a time.
    pub(crate) fn for_each(
        &mut self,
        f: &mut dyn FnMut(&Row) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for i in 0..self.ids.len() {
            let id = self.ids[i];
            let record = self.replica.get(&id)?.ok_or_else(|| {
                Error::Corrupt(format!(
                    "record {id} is in the search index but not in the store; run `setu reindex`"
                ))
            })?;
            // Without include_withdrawn the index already left withdrawn
            // practices out: no need to ask the store.
            let withdrawn = match record.practice() {
                Some(p) if self.include_withdrawn => {
                    self.withdrawn(&record.envelope().author, &p.practice_id)?
                }
                _ => false,
            };
            f(&Row { record, withdrawn })?;
        }
        Ok(())
    }

    fn withdrawn(&mut self, author: &AuthorKey, practice_id: &str) -> Result<bool, Error> {
        if let Some((a, p, w)) = &self.last
            && a == author
            && p == practice_id
        {
            return Ok(*w);
        }
        let w = self
            .replica
            .practice(author, practice_id)?
            .is_some_and(|(_, state)| state.withdrawn);
        self.last = Some((*author, practice_id.to_string(), w));
        Ok(w)
    }
}

/// Counts rows and calls the progress callback every [`PROGRESS_EVERY`].
pub(crate) struct Progress<'p> {
    done: u64,
    total: u64,
    f: &'p mut dyn FnMut(u64, u64),
}

impl<'p> Progress<'p> {
    pub(crate) fn new(total: u64, f: &'p mut dyn FnMut(u64, u64)) -> Progress<'p> {
        Progress { done: 0, total, f }
    }

    /// One more row written.
    pub(crate) fn row(&mut self) {
        self.done += 1;
        if self.done.is_multiple_of(PROGRESS_EVERY) {
            (self.f)(self.done, self.total);
        }
    }

    /// The export is complete.
    pub(crate) fn end(&mut self) {
        (self.f)(self.done, self.total);
    }
}

/// A file written under a temporary name in its target's directory and
/// renamed into place by [`Temp::persist`]; removed if dropped before.
pub(crate) struct Temp {
    path: PathBuf,
    target: PathBuf,
    persisted: bool,
}

impl Temp {
    /// Creates the temporary file for `target`.
    pub(crate) fn create(target: &Path) -> Result<(Temp, File), Error> {
        let name = target
            .file_name()
            .ok_or_else(|| Error::Io(format!("{}: not a file name", target.display())))?
            .to_string_lossy()
            .into_owned();
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(Error::Io(format!(
                "{}: the directory {} does not exist",
                target.display(),
                dir.display()
            )));
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut attempt = 0u32;
        loop {
            let path = dir.join(format!(
                ".{name}.{}.{stamp:08x}{attempt}.tmp",
                std::process::id()
            ));
            match File::options().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    let temp = Temp {
                        path,
                        target: target.to_path_buf(),
                        persisted: false,
                    };
                    return Ok((temp, file));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => {
                    return Err(Error::Io(format!(
                        "{}: cannot create {}: {e}",
                        target.display(),
                        path.display()
                    )));
                }
            }
        }
    }

    /// Flushes `file` to disk and renames the temporary file into place.
    pub(crate) fn persist(mut self, file: File) -> Result<PathBuf, Error> {
        file.sync_all().map_err(|e| io_err(&self.target, e))?;
        drop(file);
        std::fs::rename(&self.path, &self.target).map_err(|e| io_err(&self.target, e))?;
        self.persisted = true;
        Ok(self.target.clone())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub(crate) fn io_err(path: &Path, e: impl fmt::Display) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-01-01T00:00:00.000Z`.
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        ms % 1_000
    )
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian; H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// The language columns of a text field: `en` first, then alphabetical.
pub(crate) fn sort_languages(langs: &mut [String]) {
    langs.sort_by(|a, b| (a != "en", a).cmp(&(b != "en", b)));
}

/// The six text fields, in column order, with their value in a practice.
pub(crate) const TEXT_FIELDS: [&str; 6] = [
    "title",
    "summary",
    "challenge",
    "solution",
    "replication_potential",
    "lessons",
];

pub(crate) fn text_field(p: &Practice, i: usize) -> Option<&setu_core::practice::LangText> {
    match i {
        0 => p.title.as_ref(),
        1 => p.summary.as_ref(),
        2 => p.challenge.as_ref(),
        3 => p.solution.as_ref(),
        4 => p.replication_potential.as_ref(),
        5 => p.lessons.as_ref(),
        _ => None,
    }
}

/// The TCV kinds with a column each.
pub(crate) const TCV_KINDS: [&str; 3] = ["time", "cost", "visits"];

/// `Metric::change_bp` of the first metric of `kind`.
pub(crate) fn tcv_change_bp(metrics: &[Metric], kind: &str) -> Option<i64> {
    metrics
        .iter()
        .find(|m| m.kind == kind)
        .and_then(Metric::change_bp)
}

/// Basis points as a percentage with two decimals: −7814 → `-78.14`.
pub(crate) fn bp_percent(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let a = bp.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// The SDG goals of a practice's targets, ascending, without repeats.
pub(crate) fn sdg_goals(p: &Practice) -> Vec<u8> {
    let mut goals: Vec<u8> = p
        .sdg_targets
        .iter()
        .filter_map(|t| setu_core::codes::sdg_goal_of_target(t))
        .collect();
    goals.sort_unstable();
    goals.dedup();
    goals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_767_225_600_000), "2026-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_ms(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_ms(1_709_251_199_000), "2024-02-29T23:59:59.000Z");
    }

    #[test]
    fn percent() {
        assert_eq!(bp_percent(-7814), "-78.14");
        assert_eq!(bp_percent(-5), "-0.05");
        assert_eq!(bp_percent(0), "0.00");
        assert_eq!(bp_percent(1_000_000), "10000.00");
        assert_eq!(bp_percent(150), "1.50");
    }

    #[test]
    fn languages_sort_en_first() {
        let mut l: Vec<String> = ["sw", "ar", "en", "bn"].map(String::from).to_vec();
        sort_languages(&mut l);
        assert_eq!(l, ["en", "ar", "bn", "sw"]);
    }

    #[test]
    fn formats_parse() {
        assert_eq!("jsonl".parse::<Format>(), Ok(Format::Jsonl));
        assert_eq!("CSV".parse::<Format>(), Ok(Format::Csv));
        assert_eq!("parquet".parse::<Format>(), Ok(Format::Parquet));
        assert!("xlsx".parse::<Format>().is_err());
        assert_eq!(Format::Parquet.to_string(), "parquet");
    }
}
