//! # setu-export
//!
//! Exports for researchers: every match of a [`Query`] written to one file,
//! as JSON Lines, CSV (with a Frictionless data package beside it) or
//! Parquet, and beside the practices the adoption graph and the open needs.
//! A crate of its own, so that what needs only the replica (the network
//! driver, an embedding portal) builds without Arrow and Parquet.
//!
//! - [`Format::Jsonl`]: lossless. One line per record with the exact signed
//!   bytes in base64 ([`SIGNED_ENCODING`]), so that every line can be
//!   checked again (`setu record verify` takes a line as it is), and the
//!   envelope in its JSON form. The
//!   practices first, then the adoption records (`"kind": "adoption"`) and
//!   the seeking records (`"kind": "seeking"`).
//! - [`Format::Csv`]: one flat row per practice (per revision with
//!   [`Query::history`]), one column per language of each text field, the
//!   tables `adoptions.csv`, `edges.csv` and `seekings.csv` beside it, and a
//!   `datapackage.json` (Frictionless Tabular Data Package) describing every
//!   column of all four files.
//! - [`Format::Parquet`]: one row per practice, lists and language maps kept
//!   nested, for DuckDB, pandas, Arrow and Spark; beside it
//!   `adoptions.parquet`, `edges.parquet` and `seekings.parquet`, with the
//!   same columns as the CSV tables (lists as lists, texts as maps).
//!
//! Rows come in record-id order, the store's key order: the records are
//! read by one ordered scan of the store (point reads in key order when few
//! are asked for), and decoded without the checks they passed when they
//! were stored.
//!
//! Exports stream: records are read one at a time and written in rows, or in
//! record batches of at most [`BATCH_ROWS`] rows, so memory does not grow
//! with the catalogue (apart from the list of matching ids, 32 bytes each,
//! and the adoption and seeking tables, at most
//! [`MAX_LISTED`](setu_store::graph::MAX_LISTED) reports each, which are
//! read whole). Each file is written under a temporary name in the target
//! directory and renamed when complete: a failed export never leaves a
//! partial file under the final name. The `contact` of a practice, an
//! adoption report or a need is never in the CSV or Parquet files (the
//! JSONL keeps the signed records whole).
//!
//! ## Adoptions, the adoption graph and open needs
//!
//! The query selects **practices** only. The CSV and Parquet exports always
//! write, beside them, **every current adoption report and open need** the
//! replica holds (withdrawn ones left out, as are those of publishers the
//! node's policy mutes), whatever the filters, [`Query::history`] and
//! [`Query::include_withdrawn`]: the adoption graph is small, and a
//! filtered graph would be ambiguous (filtered by the origin's practice, or
//! by the adopter's?). [`Summary::adoptions`], [`Summary::edges`] and
//! [`Summary::seekings`] count their rows. The JSONL export holds the
//! adoption and seeking records as lines too, following `history` (every
//! revision) and `include_withdrawn` (also withdrawn chains) as the
//! practices do.
//!
//! - `adoptions` ([`ADOPTIONS`]): one row per current adoption report: its
//!   record id, `adoption_id`, revision, publisher and author keys,
//!   `signed_at`, licence, adopting `country`, `stage`, period, `gov_level`,
//!   `places`, the adaptation and lessons per language
//!   (`adaptation_en`, `adaptation_sw`, …, `adaptation_original_language`;
//!   `lessons_…`), the practice as the report names it (`practice_member`
//!   or `practice_key`, `practice_id`, `practice_record_followed`), the
//!   practice as this node resolves it (`practice_publisher`,
//!   `practice_record_id`, `origin_countries`; empty when the practice is
//!   not yet received), `years_from_origin`, and per TCV kind
//!   `origin_<kind>_bp` and `adopter_<kind>_bp` (change in basis points).
//! - `edges` ([`EDGES`]): the edge list of the adoption graph between
//!   countries, one row per adoption whose practice the node holds and per
//!   originating country of that practice: `source` (originating country),
//!   `target` (adopting country), `practice_id`, `stage`, `adoption_id`,
//!   `years_from_origin`, `adoption_record_id`, `practice_record_id`.
//! - `seekings` ([`SEEKINGS`]): one row per open need.
//!
//! In the data package, `adoptions.csv` and `edges.csv` carry a foreign key
//! `practice_record_id` → the practices' `record_id` only when every
//! practice the reports resolve to is a row of the practices file (an
//! export without filters, for instance); `edges.adoption_record_id` →
//! `adoptions.record_id` always holds.
//!
//! One call loads the graph in networkx (a multigraph, since a country may
//! adopt several practices of another):
//!
//! ```python
//! import networkx, pandas
//! g = networkx.from_pandas_edgelist(pandas.read_csv("edges.csv"), "source", "target",
//!                                   edge_attr=["practice_id", "stage"],
//!                                   create_using=networkx.MultiDiGraph)
//! ```
//!
//! In Gephi: File → Import spreadsheet → `edges.csv`, "Edges table" (Gephi
//! recognises the `source` and `target` columns whatever their case, and
//! imports the other columns as edge attributes).
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
//!
//! let out = dir.join("practices.csv");
//! let summary = replica
//!     .export(&Query::default(), Format::Csv, &out, &mut |_, _| {})
//!     .unwrap();
//! assert_eq!(summary.files, setu_export::export_files(Format::Csv, &out));
//! assert_eq!((summary.adoptions, summary.edges), (0, 0));
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

#![deny(missing_docs)]

mod csv;
mod datapackage;
mod jsonl;
mod parquet;
mod tables;

pub use tables::{ADOPTIONS, EDGES, SEEKINGS};

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::practice::{Metric, Practice};
use setu_core::record::{self, Parsed, Record};
use setu_core::{adoption, seeking};

use setu_store::Error;
use setu_store::backend::Backend;
use setu_store::graph::MAX_LISTED;
use setu_store::query::Query;
use setu_store::replica::Replica;

/// Rows in one Parquet record batch, at most.
pub const BATCH_ROWS: usize = 1_024;
/// Rows between two calls of the progress callback.
pub const PROGRESS_EVERY: u64 = 1_000;
/// Records an export reads from the store per chunk, on its reading thread.
pub const READ_CHUNK: usize = 256;
/// Chunks read and queued for the writer, at most. An export holds at
/// most `READ_AHEAD + 2` chunks of records at once (the queue, the one
/// being read, the one being written): about 2.5 MB at 2,460 bytes a
/// record.
pub const READ_AHEAD: usize = 4;
/// The name of the data package written beside a CSV export.
pub const DATAPACKAGE_FILE: &str = "datapackage.json";
/// The tables written beside a CSV or Parquet export, by file stem: the
/// file is `{stem}.csv` or `{stem}.parquet` in the export's directory.
pub const TABLES: [&str; 3] = [ADOPTIONS, EDGES, SEEKINGS];

/// Every file an export to `out` in `format` writes, in the order of
/// [`Summary::files`]: `out`; for CSV and Parquet the [`TABLES`] beside it
/// (`adoptions`, `edges`, `seekings`, with the format's extension); for
/// CSV last the [`DATAPACKAGE_FILE`]. A caller that must not overwrite
/// files checks them all.
pub fn export_files(format: Format, out: &Path) -> Vec<PathBuf> {
    let mut files = vec![out.to_path_buf()];
    if format != Format::Jsonl {
        files.extend(TABLES.iter().map(|t| beside(out, t, format)));
    }
    if format == Format::Csv {
        files.push(out.with_file_name(DATAPACKAGE_FILE));
    }
    files
}

/// The file of table `stem` beside `out`.
pub(crate) fn beside(out: &Path, stem: &str, format: Format) -> PathBuf {
    out.with_file_name(format!("{stem}.{}", format.name()))
}

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
    /// Practices written: practice records (JSONL) or practice revisions
    /// (CSV, Parquet), the matches of the query.
    pub rows: u64,
    /// Adoption reports written: rows of `adoptions.csv` or
    /// `adoptions.parquet`, or adoption records in the JSONL.
    pub adoptions: u64,
    /// Rows of `edges.csv` or `edges.parquet`; 0 for JSONL.
    pub edges: u64,
    /// Open needs written: rows of `seekings.csv` or `seekings.parquet`, or
    /// seeking records in the JSONL.
    pub seekings: u64,
    /// Bytes written, all files together.
    pub bytes: u64,
    /// The files written, as [`export_files`] lists them.
    pub files: Vec<PathBuf>,
}

/// How every export writes a record's signed bytes: standard base64 with
/// padding (RFC 4648 §4), a third shorter than hex. Decided once, for the
/// JSONL file and `GET /v1/export` alike (and the OAI-PMH record format);
/// ids and keys stay lowercase hex everywhere.
pub const SIGNED_ENCODING: &str = "base64";

/// Appends a record's signed bytes to `out` as every export writes them
/// ([`SIGNED_ENCODING`]).
pub fn write_signed(bytes: &[u8], out: &mut Vec<u8>) {
    use base64::Engine;
    let start = out.len();
    out.resize(
        start + base64::encoded_len(bytes.len(), true).unwrap_or(0),
        0,
    );
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + n);
}

/// Exports a replica's query matches: `replica.export(...)` once this trait
/// is in scope.
pub trait Export {
    /// Writes every match of `q` (its `limit` and `offset` are ignored) to
    /// `out` in `format`, and beside it the files [`export_files`] lists.
    /// See the implementation on [`Replica`].
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
    /// `out` in `format`, and beside it the files [`export_files`] lists:
    /// for CSV and Parquet every current adoption report, the adoption
    /// edges and every open need, whatever `q` selects; for JSONL the
    /// adoption and seeking records follow the practices (see the crate
    /// docs). The caller validates the query first ([`Query::problems`]).
    ///
    /// `progress(done, total)` is called every [`PROGRESS_EVERY`] practice
    /// rows and once at the end. Records are read one at a time; nothing is
    /// left under the final names if the export fails.
    fn export(
        &self,
        q: &Query,
        format: Format,
        out: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Summary, Error> {
        check_names(format, out)?;
        let ids = self.matching(q)?;
        let hidden = hidden(self, q);
        let mut tables = Vec::new();
        let mut others = Vec::new();
        let (adoptions, edges, seekings) = match format {
            Format::Jsonl => {
                let (ids, adoptions, seekings) = other_records(self, q, &hidden)?;
                others = ids;
                (adoptions, 0, seekings)
            }
            Format::Csv | Format::Parquet => {
                let views: Vec<_> = self
                    .adoptions(MAX_LISTED)?
                    .into_iter()
                    .filter(|v| !hidden.contains(&v.adopted.publisher))
                    .collect();
                let resolved: BTreeSet<RecordId> = views
                    .iter()
                    .filter_map(|v| v.practice.as_ref().map(|o| o.id))
                    .collect();
                let (a, e) = tables::adoptions(views, tables::all_in(&ids, resolved));
                let needs: Vec<_> = self
                    .seekings(MAX_LISTED)?
                    .into_iter()
                    .filter(|s| !hidden.contains(&s.publisher))
                    .collect();
                let s = tables::seekings(needs);
                let counts = (a.rows.len(), e.rows.len(), s.rows.len());
                tables = vec![a, e, s];
                counts
            }
        };
        let mut rows = Rows::new(self, ids, q.include_withdrawn);
        let files = match format {
            Format::Jsonl => jsonl::write(&mut rows, &others, out, progress)?,
            Format::Csv => csv::write(&mut rows, &tables, out, progress)?,
            Format::Parquet => parquet::write(&mut rows, &tables, out, progress)?,
        };
        let mut bytes = 0;
        for f in &files {
            bytes += std::fs::metadata(f).map_err(|e| io_err(f, e))?.len();
        }
        Ok(Summary {
            rows: rows.total(),
            adoptions: adoptions as u64,
            edges: edges as u64,
            seekings: seekings as u64,
            bytes,
            files,
        })
    }
}

/// Refuses an export whose file has the name of one written beside it.
fn check_names(format: Format, out: &Path) -> Result<(), Error> {
    let name = |p: &Path| {
        p.file_name()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default()
    };
    let own = name(out);
    for other in export_files(format, out).iter().skip(1) {
        if name(other) == own {
            return Err(Error::Io(format!(
                "{}: a {format} export cannot be named {}, the name of a file it writes beside it",
                out.display(),
                name(other)
            )));
        }
    }
    Ok(())
}

/// The publishers whose records an export leaves out: those the query
/// hides and those the node's local policy mutes.
fn hidden<B: Backend>(replica: &Replica<B>, q: &Query) -> BTreeSet<AuthorKey> {
    let mut h: BTreeSet<AuthorKey> = q.hide.iter().copied().collect();
    if let Some(m) = replica.membership() {
        h.extend(m.muted());
    }
    h
}

/// The adoption and seeking records a JSONL export writes after the
/// practices, as the practices are chosen: the current revision of each
/// chain, or with `history` every linked revision that is not a
/// withdrawal; withdrawn chains only with `include_withdrawn`. Returns the
/// ids (adoptions first) and how many of each kind.
fn other_records<B: Backend>(
    replica: &Replica<B>,
    q: &Query,
    hidden: &BTreeSet<AuthorKey>,
) -> Result<(Vec<RecordId>, usize, usize), Error> {
    let store = replica.store();
    let mut ids = Vec::new();
    let mut counts = [0usize; 2];
    for (n, kind) in [adoption::KIND, seeking::KIND].into_iter().enumerate() {
        for (owner, id) in store.chains_of_kind(kind, MAX_LISTED)? {
            if hidden.contains(&owner) {
                continue;
            }
            let Some(chain) = store.chain(&owner, &setu_store::chain::name(kind, &id))? else {
                continue;
            };
            let state = chain.state();
            if state.withdrawn && !q.include_withdrawn {
                continue;
            }
            let before = ids.len();
            if q.history {
                ids.extend(state.linked.iter().filter(|e| !e.withdrawal).map(|e| e.id));
            } else if let Some(cur) = &state.current {
                ids.push(cur.id);
            }
            counts[n] += ids.len() - before;
        }
    }
    Ok((ids, counts[0], counts[1]))
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

/// Reads the matching records one at a time, in record-id order.
pub(crate) struct Rows<'a, B: Backend> {
    replica: &'a Replica<B>,
    /// Sorted, without repeats.
    ids: Vec<RecordId>,
    /// The last practice looked up, and whether it was withdrawn.
    last: Option<(AuthorKey, String, bool)>,
    /// Whether the query may return withdrawn practices.
    include_withdrawn: bool,
}

impl<'a, B: Backend> Rows<'a, B> {
    fn new(
        replica: &'a Replica<B>,
        mut ids: Vec<RecordId>,
        include_withdrawn: bool,
    ) -> Rows<'a, B> {
        // Record-id order is the store's key order: read that way, the
        // records come from one ordered scan instead of a random read each.
        ids.sort_unstable();
        ids.dedup();
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

    /// A stored record that is not a row (an adoption or seeking record),
    /// decoded to its envelope.
    pub(crate) fn parsed(&self, id: &RecordId) -> Result<Parsed, Error> {
        let bytes = self.replica.store().get(id)?.ok_or_else(|| {
            Error::Corrupt(format!(
                "record {id} is in a chain but not in the store; run `setu reindex`"
            ))
        })?;
        parsed(bytes, *id)
    }

    /// Calls `f` on every row, in order; one record in memory at a time.
    pub(crate) fn for_each(
        &mut self,
        f: &mut dyn FnMut(&Row) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let include_withdrawn = self.include_withdrawn;
        let mut last = self.last.take();
        let replica = self.replica;
        let result = self.each_stored(&mut |id, bytes| {
            let record = stored(bytes, id)?;
            // Without include_withdrawn the index already left withdrawn
            // practices out: no need to ask the store.
            let withdrawn = match record.practice() {
                Some(p) if include_withdrawn => withdrawn(
                    replica,
                    &mut last,
                    &record.envelope().author,
                    &p.practice_id,
                )?,
                _ => false,
            };
            f(&Row { record, withdrawn })
        });
        self.last = last;
        result
    }

    /// Calls `f` on every row's record decoded only to its envelope, in
    /// order: for a format that writes the body as it is (JSONL).
    pub(crate) fn for_each_parsed(
        &mut self,
        f: &mut dyn FnMut(&Parsed) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.each_stored(&mut |id, bytes| f(&parsed(bytes, id)?))
    }

    /// Calls `f` on every row's id and signed bytes, in order.
    ///
    /// The store is read on a second thread, [`READ_AHEAD`] chunks of
    /// [`READ_CHUNK`] records ahead of `f`: reading and decompressing
    /// overlap decoding and writing, which take as long again.
    fn each_stored(
        &mut self,
        f: &mut dyn FnMut(RecordId, Vec<u8>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        type Chunk = Result<Vec<(RecordId, Vec<u8>)>, Error>;
        let store = self.replica.store();
        let ids = &self.ids;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(READ_AHEAD);
            scope.spawn(move || {
                let mut chunk = Vec::with_capacity(READ_CHUNK);
                let read = store.records_in_order(ids, &mut |id, bytes| {
                    chunk.push((id, bytes.ok_or_else(|| not_stored(id))?));
                    if chunk.len() < READ_CHUNK {
                        return Ok(true);
                    }
                    // A send fails once the writer has stopped: stop too.
                    Ok(tx.send(Ok(std::mem::take(&mut chunk))).is_ok())
                });
                let last = read.map(|()| chunk);
                let _ = tx.send(last);
            });
            // Returning early drops `rx`, which stops the reader.
            for chunk in rx {
                for (id, bytes) in chunk? {
                    f(id, bytes)?;
                }
            }
            Ok(())
        })
    }
}

/// Whether a practice is withdrawn, asking the store once per practice
/// in a row: `last` holds the last one asked.
fn withdrawn<B: Backend>(
    replica: &Replica<B>,
    last: &mut Option<(AuthorKey, String, bool)>,
    author: &AuthorKey,
    practice_id: &str,
) -> Result<bool, Error> {
    if let Some((a, p, w)) = last
        && a == author
        && p == practice_id
    {
        return Ok(*w);
    }
    let w = replica
        .practice(author, practice_id)?
        .is_some_and(|(_, state)| state.withdrawn);
    *last = Some((*author, practice_id.to_string(), w));
    Ok(w)
}

/// A record the search index names and the store does not hold.
fn not_stored(id: RecordId) -> Error {
    Error::Corrupt(format!(
        "record {id} is in the search index but not in the store; run `setu reindex`"
    ))
}

/// A record read back from the store, which checked it in full when it
/// stored it: decoded, not checked again ([`record::read_stored`]).
fn stored(bytes: Vec<u8>, id: RecordId) -> Result<Record, Error> {
    record::read_stored(bytes, id).map_err(|e| Error::Corrupt(format!("record {id}: {e}")))
}

/// [`stored`], decoded only to its envelope ([`record::parse_stored`]).
fn parsed(bytes: Vec<u8>, id: RecordId) -> Result<Parsed, Error> {
    record::parse_stored(bytes, id).map_err(|e| Error::Corrupt(format!("record {id}: {e}")))
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
    fn files_beside_an_export() {
        let out = Path::new("/x/p.csv");
        let names = |f: Format| -> Vec<String> {
            export_files(f, out)
                .iter()
                .map(|p| p.display().to_string())
                .collect()
        };
        assert_eq!(names(Format::Jsonl), ["/x/p.csv"]);
        assert_eq!(
            names(Format::Csv),
            [
                "/x/p.csv",
                "/x/adoptions.csv",
                "/x/edges.csv",
                "/x/seekings.csv",
                "/x/datapackage.json"
            ]
        );
        assert_eq!(
            names(Format::Parquet),
            [
                "/x/p.csv",
                "/x/adoptions.parquet",
                "/x/edges.parquet",
                "/x/seekings.parquet"
            ]
        );
        assert!(check_names(Format::Csv, Path::new("/x/Edges.CSV")).is_err());
        assert!(check_names(Format::Csv, Path::new("/x/datapackage.json")).is_err());
        assert!(check_names(Format::Parquet, Path::new("/x/adoptions.parquet")).is_err());
        assert!(check_names(Format::Jsonl, Path::new("/x/adoptions.jsonl")).is_ok());
        assert!(check_names(Format::Csv, Path::new("/x/adoptions.parquet")).is_ok());
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
