//! CSV: one flat row per practice (per revision with history), RFC 4180,
//! UTF-8, `\n` line ends, with the adoption, edge and seeking tables
//! (`tables.rs`) and a `datapackage.json` describing all four beside it.
//!
//! Two passes over the records: the first collects, for each text field,
//! the languages that occur in it anywhere in the set (one column each); the
//! second writes the rows. Memory holds one record and those small sets.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use setu_core::codes;
use setu_core::practice;

use super::datapackage::{self, Column, Resource};
use super::tables::{Cell, Ref, Table, Ty};
use super::{
    Format, Progress, Row, Rows, TCV_KINDS, TEXT_FIELDS, Temp, bp_percent, io_err, rfc3339_ms,
    sdg_goals, sort_languages, tcv_change_bp, text_field,
};
use setu_store::Error;
use setu_store::backend::Backend;

/// What the first pass learns.
#[derive(Default)]
pub(super) struct Survey {
    /// For each of [`TEXT_FIELDS`], its languages, in column order.
    pub(super) languages: [Vec<String>; 6],
    /// The licences of the exported practices.
    pub(super) licences: BTreeSet<String>,
    /// The original languages of the titles.
    pub(super) title_originals: BTreeSet<String>,
}

fn survey<B: Backend>(rows: &mut Rows<'_, B>) -> Result<Survey, Error> {
    let mut sets: [BTreeSet<String>; 6] = Default::default();
    let mut s = Survey::default();
    rows.for_each(&mut |row| {
        let p = row.practice()?;
        for (i, set) in sets.iter_mut().enumerate() {
            if let Some(t) = text_field(p, i) {
                for lang in t.text.keys() {
                    if !set.contains(lang) {
                        set.insert(lang.clone());
                    }
                }
            }
        }
        if let Some(l) = &p.licence
            && !s.licences.contains(l)
        {
            s.licences.insert(l.clone());
        }
        if let Some(t) = &p.title
            && !s.title_originals.contains(&t.original)
        {
            s.title_originals.insert(t.original.clone());
        }
        Ok(())
    })?;
    for (i, set) in sets.into_iter().enumerate() {
        let mut langs: Vec<String> = set.into_iter().collect();
        sort_languages(&mut langs);
        s.languages[i] = langs;
    }
    Ok(s)
}

/// Writes the practices to `out`, each of `tables` beside it
/// (`{name}.csv`), and the data package describing them all. Returns the
/// files: `out`, the tables, then `datapackage.json`.
pub(super) fn write<B: Backend>(
    rows: &mut Rows<'_, B>,
    tables: &[Table],
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<PathBuf>, Error> {
    let package_path = out.with_file_name(super::DATAPACKAGE_FILE);
    // Every temporary file first, so a missing directory fails before any work.
    let (temp, file) = Temp::create(out)?;
    let mut beside = Vec::with_capacity(tables.len());
    for t in tables {
        let path = super::beside(out, t.name, Format::Csv);
        let (temp, file) = Temp::create(&path)?;
        beside.push((t, path, temp, file));
    }
    let (package_temp, package_file) = Temp::create(&package_path)?;
    let survey = survey(rows)?;
    let cols = columns(&survey);
    let mut w = writer(file);
    w.write_record(cols.iter().map(|c| c.name.as_str()))
        .map_err(|e| io_err(out, e))?;
    let mut prog = Progress::new(rows.total(), progress);
    let mut cells: Vec<String> = Vec::with_capacity(cols.len());
    rows.for_each(&mut |row| {
        cells.clear();
        cells_of(row, &survey, &mut cells)?;
        w.write_record(&cells).map_err(|e| io_err(out, e))?;
        prog.row();
        Ok(())
    })?;
    let file = w.into_inner().map_err(|e| io_err(out, e.error()))?;
    let bytes = file.metadata().map_err(|e| io_err(out, e))?.len();
    let practices = datapackage::resource_name(out);
    let mut licences = survey.licences.clone();
    let mut resources = vec![Resource {
        name: practices.clone(),
        title: "Practices".into(),
        description: None,
        path: file_name(out),
        bytes,
        columns: cols,
        primary_key: json!("record_id"),
        foreign_keys: Vec::new(),
    }];
    let mut written = Vec::with_capacity(beside.len());
    for (t, path, temp, file) in beside {
        let (file, columns) = write_table(t, file, &path)?;
        let bytes = file.metadata().map_err(|e| io_err(&path, e))?.len();
        licences.extend(t.licences.iter().cloned());
        resources.push(Resource {
            name: t.name.to_string(),
            title: t.title.to_string(),
            description: Some(t.description.to_string()),
            path: file_name(&path),
            bytes,
            columns,
            primary_key: match t.primary_key.as_slice() {
                [one] => json!(one),
                many => json!(many),
            },
            foreign_keys: t
                .foreign_keys
                .iter()
                .map(|fk| {
                    let to = match &fk.to {
                        Ref::Practices => practices.clone(),
                        Ref::Table(name) => (*name).to_string(),
                    };
                    json!({
                        "fields": fk.field,
                        "reference": {"resource": to, "fields": fk.to_field}
                    })
                })
                .collect(),
        });
        written.push((temp, file));
    }
    let package_file = datapackage::write(package_file, &package_path, &resources, &licences)?;
    let mut files = vec![temp.persist(file)?];
    for (temp, file) in written {
        files.push(temp.persist(file)?);
    }
    files.push(package_temp.persist(package_file)?);
    prog.end();
    Ok(files)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// RFC 4180, `\n` line ends, quoting only where needed.
fn writer(file: File) -> ::csv::Writer<File> {
    ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .quote_style(::csv::QuoteStyle::Necessary)
        .from_writer(file)
}

/// Writes a table to `file` (the temporary file of `path`): a column per
/// field, and per language that occurs for a text field. Returns the file
/// and the columns, for the data package.
fn write_table(t: &Table, file: File, path: &Path) -> Result<(File, Vec<Column>), Error> {
    // The languages of each text field, in column order.
    let mut languages: Vec<Vec<String>> = vec![Vec::new(); t.fields.len()];
    for (i, f) in t.fields.iter().enumerate() {
        if f.ty != Ty::Text {
            continue;
        }
        let mut set = BTreeSet::new();
        for row in &t.rows {
            if let Some(Cell::Text(Some(text))) = row.get(i) {
                set.extend(text.text.keys().cloned());
            }
        }
        let mut langs: Vec<String> = set.into_iter().collect();
        sort_languages(&mut langs);
        languages[i] = langs;
    }
    let mut cols = Vec::new();
    for (f, langs) in t.fields.iter().zip(&languages) {
        if f.ty == Ty::Text {
            for lang in langs {
                let name = codes::language_name(lang).unwrap_or(lang);
                cols.push(Column::new(
                    &format!("{}_{lang}", f.name),
                    "string",
                    &format!(
                        "{} in {name} (ISO 639-1 {lang}); empty if not given in this language.",
                        f.description
                    ),
                    None,
                ));
            }
        } else {
            cols.push(Column::new(
                f.name,
                f.ty.frictionless(),
                f.description,
                f.csv_constraints(),
            ));
        }
    }
    let mut w = writer(file);
    w.write_record(cols.iter().map(|c| c.name.as_str()))
        .map_err(|e| io_err(path, e))?;
    let mut cells: Vec<String> = Vec::with_capacity(cols.len());
    for row in &t.rows {
        if row.len() != t.fields.len() {
            return Err(Error::Corrupt(format!(
                "{}: a row of {} values for {} fields",
                t.name,
                row.len(),
                t.fields.len()
            )));
        }
        cells.clear();
        for ((f, cell), langs) in t.fields.iter().zip(row).zip(&languages) {
            match (f.ty, cell) {
                (Ty::Text, Cell::Text(text)) => {
                    for lang in langs {
                        cells.push(
                            text.as_ref()
                                .and_then(|t| t.text.get(lang))
                                .cloned()
                                .unwrap_or_default(),
                        );
                    }
                }
                (Ty::List(sep), Cell::List(list)) => {
                    cells.push(list.as_ref().map(|l| l.join(sep)).unwrap_or_default());
                }
                (Ty::Str, Cell::Str(v)) => cells.push(v.clone().unwrap_or_default()),
                (Ty::U64, Cell::U64(v)) => cells.push(v.map(|x| x.to_string()).unwrap_or_default()),
                (Ty::I64, Cell::I64(v)) => cells.push(v.map(|x| x.to_string()).unwrap_or_default()),
                (Ty::F64, Cell::F64(v)) => {
                    cells.push(v.map(|x| format!("{x:.1}")).unwrap_or_default())
                }
                (Ty::Ts, Cell::Ts(ms)) => cells.push(rfc3339_ms(*ms)),
                (_, cell) => {
                    return Err(Error::Corrupt(format!(
                        "{}.{}: a value of the wrong type: {cell:?}",
                        t.name, f.name
                    )));
                }
            }
        }
        w.write_record(&cells).map_err(|e| io_err(path, e))?;
    }
    let file = w.into_inner().map_err(|e| io_err(path, e.error()))?;
    Ok((file, cols))
}

/// One row's cells, in the order of [`columns`].
fn cells_of(row: &Row, survey: &Survey, c: &mut Vec<String>) -> Result<(), Error> {
    let r = &row.record;
    let p = row.practice()?;
    let env = r.envelope();
    let opt = |v: Option<&String>| v.cloned().unwrap_or_default();
    c.push(r.id().to_hex());
    c.push(p.practice_id.clone());
    c.push(p.revision.to_string());
    c.push(p.supersedes.map(|s| s.to_hex()).unwrap_or_default());
    c.push(env.author.to_hex());
    c.push(env.seq.to_string());
    c.push(rfc3339_ms(env.ts));
    c.push(opt(p.licence.as_ref()));
    c.push(row.withdrawn.to_string());
    for (i, langs) in survey.languages.iter().enumerate() {
        let t = text_field(p, i);
        for lang in langs {
            c.push(opt(t.and_then(|t| t.text.get(lang))));
        }
    }
    c.push(opt(p.title.as_ref().map(|t| &t.original)));
    for role in practice::COUNTRY_ROLES {
        c.push(join(
            p.countries
                .iter()
                .filter(|x| x.role == *role)
                .map(|x| x.iso3.as_str()),
            ";",
        ));
    }
    c.push(p.sdg_targets.join(";"));
    c.push(join(sdg_goals(p).iter().map(u8::to_string), ";"));
    for voc in practice::SECTOR_VOCABULARIES {
        c.push(join(
            p.sectors
                .iter()
                .filter(|s| s.vocabulary == *voc)
                .map(|s| s.code.as_str()),
            ";",
        ));
    }
    c.push(p.status.map(|s| s.to_string()).unwrap_or_default());
    c.push(
        p.status
            .and_then(codes::activity_status_name)
            .unwrap_or_default()
            .to_string(),
    );
    c.push(opt(p.gov_level.as_ref()));
    c.push(opt(p.period.as_ref().map(|x| &x.start)));
    c.push(opt(p.period.as_ref().and_then(|x| x.end.as_ref())));
    c.push(p.keywords.join("; "));
    c.push(p.urls.join("; "));
    c.push(join(
        p.organisations
            .iter()
            .map(|o| format!("{} ({})", o.name, o.role)),
        "; ",
    ));
    c.push(opt(p.exchange.as_ref()));
    c.push(opt(p.evidence_level.as_ref()));
    c.push(join(
        p.recognition
            .iter()
            .map(|x| format!("{} ({})", x.award, x.year)),
        "; ",
    ));
    c.push(
        p.reach
            .as_ref()
            .map(|x| x.beneficiaries.to_string())
            .unwrap_or_default(),
    );
    c.push(opt(p.reach.as_ref().and_then(|x| x.as_of.as_ref())));
    c.push(p.replaces.join(";"));
    for kind in TCV_KINDS {
        c.push(
            tcv_change_bp(&p.metrics, kind)
                .map(bp_percent)
                .unwrap_or_default(),
        );
    }
    c.push(p.metrics.len().to_string());
    Ok(())
}

fn join<S: AsRef<str>>(items: impl Iterator<Item = S>, sep: &str) -> String {
    let mut out = String::new();
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(s.as_ref());
    }
    out
}

const HEX_ID: &str = "[0-9a-f]{64}";
const DATE: &str = "[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?";

fn enum_of<T: Into<Value> + Clone>(values: &[T]) -> Value {
    json!({ "enum": values.iter().cloned().map(Into::into).collect::<Vec<Value>>() })
}

/// The columns, in order, as the data package describes them.
pub(super) fn columns(survey: &Survey) -> Vec<Column> {
    let mut c = Vec::new();
    let required = json!({"required": true});
    c.push(Column::new(
        "record_id",
        "string",
        "Id of this signed record (one revision of a practice): the SHA-256 of its canonical envelope, 64 lowercase hex digits.",
        Some(json!({"required": true, "unique": true, "pattern": HEX_ID})),
    ));
    c.push(Column::new(
        "practice_id",
        "string",
        "The practice's id, chosen by its publisher and stable across revisions. A practice is identified by (author, practice_id).",
        Some(required.clone()),
    ));
    c.push(Column::new(
        "revision",
        "integer",
        "Revision number of the practice, from 1.",
        Some(json!({"required": true, "minimum": 1})),
    ));
    c.push(Column::new(
        "supersedes",
        "string",
        "Record id of the previous revision; empty for revision 1.",
        Some(json!({"pattern": HEX_ID})),
    ));
    c.push(Column::new(
        "author",
        "string",
        "The publisher: its Ed25519 public key, 64 lowercase hex digits.",
        Some(json!({"required": true, "pattern": HEX_ID})),
    ));
    c.push(Column::new(
        "seq",
        "integer",
        "The publisher's record counter (envelope seq).",
        Some(json!({"required": true, "minimum": 1})),
    ));
    c.push(Column::new(
        "signed_at",
        "datetime",
        "When the publisher signed this revision (envelope ts), RFC 3339 in UTC with milliseconds.",
        Some(required.clone()),
    ));
    c.push(Column::new(
        "licence",
        "string",
        "SPDX licence id of this record's content. Each record carries its own licence.",
        Some(required.clone()),
    ));
    c.push(Column::new(
        "withdrawn",
        "boolean",
        "True if the publisher has withdrawn the practice (withdrawal is final).",
        Some(required),
    ));
    let labels = [
        "Title",
        "Summary",
        "The challenge the practice addressed",
        "The solution: what was done",
        "How others could replicate it",
        "Lessons learned",
    ];
    for (i, langs) in survey.languages.iter().enumerate() {
        for lang in langs {
            let name = codes::language_name(lang).unwrap_or(lang);
            c.push(Column::new(
                &format!("{}_{lang}", TEXT_FIELDS[i]),
                "string",
                &format!(
                    "{} in {name} (ISO 639-1 {lang}); empty if not given in this language.",
                    labels[i]
                ),
                None,
            ));
        }
    }
    let originals: Vec<&str> = survey.title_originals.iter().map(String::as_str).collect();
    c.push(Column::new(
        "title_original_language",
        "string",
        "ISO 639-1 tag of the language the title was originally written in.",
        (!originals.is_empty()).then(|| enum_of(&originals)),
    ));
    for role in practice::COUNTRY_ROLES {
        c.push(Column::new(
            &format!("countries_{role}"),
            "string",
            &format!("ISO 3166-1 alpha-3 codes of the {role} countries, separated by ';'."),
            Some(json!({"pattern": "[A-Z]{3}(;[A-Z]{3})*"})),
        ));
    }
    c.push(Column::new(
        "sdg_targets",
        "string",
        "UN Sustainable Development Goal targets (e.g. 16.6), separated by ';'.",
        None,
    ));
    c.push(Column::new(
        "sdg_goals",
        "string",
        "The SDG goals (1-17) of those targets, ascending, separated by ';'.",
        Some(json!({"pattern": "[0-9]{1,2}(;[0-9]{1,2})*"})),
    ));
    c.push(Column::new(
        "sectors_dac5",
        "string",
        "OECD DAC CRS 5-digit purpose codes (e.g. 15110), separated by ';'.",
        Some(json!({"pattern": "[0-9]{5}(;[0-9]{5})*"})),
    ));
    c.push(Column::new(
        "sectors_cofog",
        "string",
        "UN COFOG divisions or groups (e.g. 01.3), separated by ';'.",
        None,
    ));
    let statuses: Vec<u64> = (1..=6).collect();
    let status_names: Vec<&str> = statuses
        .iter()
        .filter_map(|s| codes::activity_status_name(*s))
        .collect();
    c.push(Column::new(
        "status",
        "integer",
        "IATI activity status code: 1 Pipeline/identification, 2 Implementation, 3 Finalisation, 4 Closed, 5 Cancelled, 6 Suspended.",
        Some(enum_of(&statuses)),
    ));
    c.push(Column::new(
        "status_name",
        "string",
        "The IATI activity status, by name.",
        Some(enum_of(&status_names)),
    ));
    c.push(Column::new(
        "gov_level",
        "string",
        "Level of government that runs the practice.",
        Some(enum_of(practice::GOV_LEVELS)),
    ));
    c.push(Column::new(
        "period_start",
        "string",
        "When the practice started: YYYY, YYYY-MM or YYYY-MM-DD.",
        Some(json!({"pattern": DATE})),
    ));
    c.push(Column::new(
        "period_end",
        "string",
        "When it ended (YYYY, YYYY-MM or YYYY-MM-DD); empty if ongoing.",
        Some(json!({"pattern": DATE})),
    ));
    c.push(Column::new(
        "keywords",
        "string",
        "Free keywords, separated by '; ' (the JSONL and Parquet exports keep the exact list).",
        None,
    ));
    c.push(Column::new(
        "urls",
        "string",
        "Links, separated by '; ' (URLs contain no whitespace).",
        None,
    ));
    c.push(Column::new(
        "organisations",
        "string",
        "Organisations involved, each as 'name (role)' with role nominating, supporting, implementing or funding, separated by '; '.",
        None,
    ));
    c.push(Column::new(
        "exchange",
        "string",
        "Whether the publisher is offering the practice to others, seeking one, or neither.",
        Some(enum_of(practice::EXCHANGES)),
    ));
    c.push(Column::new(
        "evidence_level",
        "string",
        "How the results are known.",
        Some(enum_of(practice::EVIDENCE_LEVELS)),
    ));
    c.push(Column::new(
        "recognition",
        "string",
        "Awards, each as 'award (year)', separated by '; '.",
        None,
    ));
    c.push(Column::new(
        "reach_beneficiaries",
        "integer",
        "People served.",
        Some(json!({"minimum": 0})),
    ));
    c.push(Column::new(
        "reach_as_of",
        "string",
        "Date of the reach figure: YYYY, YYYY-MM or YYYY-MM-DD.",
        Some(json!({"pattern": DATE})),
    ));
    c.push(Column::new(
        "replaces",
        "string",
        "Practice ids of earlier (withdrawn) practices this one replaces, separated by ';'.",
        None,
    ));
    let what = [
        "citizens' time to obtain the service",
        "citizens' cost to obtain the service",
        "citizens' visits needed to obtain the service",
    ];
    for (kind, what) in TCV_KINDS.iter().zip(what) {
        c.push(Column::new(
            &format!("tcv_{kind}_change_pct"),
            "number",
            &format!(
                "Change in {what}, in percent (-78.14 means 78.14% less), from the first {kind} metric: as published, or computed from its baseline and after values. Empty if none."
            ),
            Some(json!({"minimum": -100})),
        ));
    }
    c.push(Column::new(
        "metrics_count",
        "integer",
        "Number of time, cost and visits (TCV) metrics the practice reports (see the Parquet or JSONL export for all of them).",
        Some(json!({"required": true, "minimum": 0})),
    ));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(join(["a", "b"].iter(), ";"), "a;b");
        assert_eq!(join(std::iter::empty::<&str>(), ";"), "");
    }

    #[test]
    fn columns_are_unique() {
        let s = Survey {
            languages: Default::default(),
            licences: BTreeSet::new(),
            title_originals: BTreeSet::new(),
        };
        let cols = columns(&s);
        let names: BTreeSet<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), cols.len());
    }
}
