//! JSON Lines: one signed record per line, lossless.
//!
//! ```text
//! {"id": hex, "author": hex, "seq": n, "ts": ms, "kind": "practice",
//!  "signed_record": "<base64 of the exact signed bytes>", "envelope": {...}}
//! ```
//!
//! The practices come first, then the adoption records (`"kind":
//! "adoption"`), then the seeking records (`"kind": "seeking"`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use setu_core::ids::RecordId;
use setu_core::record::Parsed;

use super::{Progress, Rows, Temp, io_err};
use setu_store::Error;
use setu_store::backend::Backend;

/// Writes the practice records of `rows`, then the records `others` (the
/// adoption and seeking records to export), one line each.
pub(super) fn write<B: Backend>(
    rows: &mut Rows<'_, B>,
    others: &[RecordId],
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<PathBuf>, Error> {
    let (temp, file) = Temp::create(out)?;
    let mut w = Lines {
        out: BufWriter::with_capacity(WRITE_BUFFER, file),
        buf: Vec::new(),
    };
    let mut prog = Progress::new(rows.total(), progress);
    rows.for_each_parsed(&mut |record| {
        line(&mut w, record, out)?;
        prog.row();
        Ok(())
    })?;
    for id in others {
        let record = rows.parsed(id)?;
        line(&mut w, &record, out)?;
    }
    let file = w.out.into_inner().map_err(|e| io_err(out, e.error()))?;
    let path = temp.persist(file)?;
    prog.end();
    Ok(vec![path])
}

/// Writes one record's line. Written by hand rather than through a
/// serialised struct: the signed bytes go straight from their encoding to
/// the writer, without a string of their own or a pass to escape it, and
/// the envelope is written from the record's fields without cloning its
/// body. The envelope's keys are in the order of its canonical CBOR map
/// (`spec/record.md` §2.3), as they were when it was built as a value.
fn line<W: Write>(lines: &mut Lines<W>, r: &Parsed, out: &Path) -> Result<(), Error> {
    let env = r.envelope();
    let id = r.id().to_hex();
    let author = env.author.to_hex();
    let buf = &mut lines.buf;
    buf.clear();
    let w = &mut lines.out;
    let mut write = || -> std::io::Result<()> {
        write!(
            w,
            r#"{{"id":"{id}","author":"{author}","seq":{},"ts":{},"kind":"#,
            env.seq, env.ts
        )?;
        serde_json::to_writer(&mut *w, &env.kind)?;
        w.write_all(br#","signed_record":""#)?;
        super::write_signed(r.bytes(), buf);
        w.write_all(buf)?;
        write!(
            w,
            r#"","envelope":{{"v":{},"ts":{},"seq":{},"body":"#,
            setu_core::record::ENVELOPE_VERSION,
            env.ts,
            env.seq
        )?;
        serde_json::to_writer(&mut *w, &setu_core::json::View(&env.body))?;
        w.write_all(br#","kind":"#)?;
        serde_json::to_writer(&mut *w, &env.kind)?;
        write!(w, r#","author":"{author}"}}}}"#)?;
        w.write_all(b"\n")
    };
    write().map_err(|e| io_err(out, e))
}

/// The writer of the lines, and a buffer for one record's signed bytes,
/// reused from line to line.
struct Lines<W: Write> {
    out: W,
    buf: Vec<u8>,
}

/// Bytes the export buffers before each write to the file.
const WRITE_BUFFER: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use setu_core::keys::SecretKey;
    use setu_core::practice::Practice;

    /// The hand-written line is the JSON of the record's fields and of
    /// its envelope value, key for key and in the same order.
    #[test]
    fn a_line_is_the_json_of_the_record() {
        let mut p: Practice = serde_json::from_value(setu_store::synth::body(3, 7)).expect("body");
        p.fill_defaults();
        let key = SecretKey::from_seed(&[5; 32]);
        let r = setu_core::record::sign_practice(&key, 9, 1_700_000_000_123, &p).expect("sign");
        let mut lines = super::Lines {
            out: Vec::new(),
            buf: Vec::new(),
        };
        let parsed = setu_core::record::parse(r.bytes().to_vec()).expect("parse");
        super::line(&mut lines, &parsed, std::path::Path::new("x")).expect("line");
        let out = lines.out;
        assert_eq!(out.last(), Some(&b'\n'));
        let got: serde_json::Value = serde_json::from_slice(&out).expect("one JSON line");
        let env = r.envelope();
        let mut signed = Vec::new();
        super::super::write_signed(r.bytes(), &mut signed);
        let want = serde_json::json!({
            "id": r.id().to_hex(),
            "author": env.author.to_hex(),
            "seq": env.seq,
            "ts": env.ts,
            "kind": env.kind,
            "signed_record": String::from_utf8(signed).expect("base64 is ASCII"),
            "envelope": serde_json::to_value(setu_core::json::View(&env.to_value())).expect("json"),
        });
        assert_eq!(got, want);
        // Key order too: serde_json keeps it (preserve_order).
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().expect("object").keys().cloned().collect()
        };
        assert_eq!(keys(&got), keys(&want));
        assert_eq!(keys(&got["envelope"]), keys(&want["envelope"]));
    }
}
