//! JSON Lines: one signed record per line, lossless.
//!
//! ```text
//! {"id": hex, "author": hex, "seq": n, "ts": ms, "kind": "practice",
//!  "signed_record": "<hex of the exact signed bytes>", "envelope": {...}}
//! ```
//!
//! The practices come first, then the adoption records (`"kind":
//! "adoption"`), then the seeking records (`"kind": "seeking"`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use setu_core::ids::RecordId;
use setu_core::record::Record;

use super::{Progress, Rows, Temp, io_err};
use setu_store::Error;
use setu_store::backend::Backend;

#[derive(Serialize)]
struct Line<'a> {
    id: String,
    author: String,
    seq: u64,
    ts: u64,
    kind: &'a str,
    signed_record: String,
    envelope: setu_core::json::View<'a>,
}

/// Writes the practice records of `rows`, then the records `others` (the
/// adoption and seeking records to export), one line each.
pub(super) fn write<B: Backend>(
    rows: &mut Rows<'_, B>,
    others: &[RecordId],
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<PathBuf>, Error> {
    let (temp, file) = Temp::create(out)?;
    let mut w = BufWriter::new(file);
    let mut prog = Progress::new(rows.total(), progress);
    rows.for_each(&mut |row| {
        line(&mut w, &row.record, out)?;
        prog.row();
        Ok(())
    })?;
    for id in others {
        let record = rows.record(id)?;
        line(&mut w, &record, out)?;
    }
    let file = w.into_inner().map_err(|e| io_err(out, e.error()))?;
    let path = temp.persist(file)?;
    prog.end();
    Ok(vec![path])
}

fn line(w: &mut impl Write, r: &Record, out: &Path) -> Result<(), Error> {
    let env = r.envelope();
    let env_value = env.to_value();
    let line = Line {
        id: r.id().to_hex(),
        author: env.author.to_hex(),
        seq: env.seq,
        ts: env.ts,
        kind: &env.kind,
        signed_record: hex::encode(r.bytes()),
        envelope: setu_core::json::View(&env_value),
    };
    serde_json::to_writer(&mut *w, &line).map_err(|e| io_err(out, e))?;
    w.write_all(b"\n").map_err(|e| io_err(out, e))
}
