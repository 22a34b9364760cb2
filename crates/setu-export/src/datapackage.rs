//! The Frictionless Tabular Data Package (`datapackage.json`) written
//! beside a CSV export: the resource, its dialect, and a Table Schema with
//! every column's type, description and constraints.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Map, Value, json};
use setu_core::codes;

use super::csv::Survey;
use super::{io_err, rfc3339_ms};
use setu_store::Error;

/// One column of the CSV, as the Table Schema describes it.
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) name: String,
    /// A Table Schema type: `string`, `integer`, `number`, `boolean`, `datetime`.
    pub(super) ty: &'static str,
    pub(super) description: String,
    pub(super) constraints: Option<Value>,
}

impl Column {
    pub(super) fn new(
        name: &str,
        ty: &'static str,
        description: &str,
        constraints: Option<Value>,
    ) -> Column {
        Column {
            name: name.to_string(),
            ty,
            description: description.to_string(),
            constraints,
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty));
        if self.ty == "datetime" {
            m.insert("format".into(), json!("default"));
        }
        m.insert("description".into(), json!(self.description));
        if let Some(c) = &self.constraints {
            m.insert("constraints".into(), c.clone());
        }
        Value::Object(m)
    }
}

/// A Data Package name: lowercase letters, digits, `-`, `_`, `.`.
fn resource_name(csv: &Path) -> String {
    let stem = csv
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name
        .trim_matches(|c| matches!(c, '-' | '_' | '.'))
        .is_empty()
    {
        "practices".to_string()
    } else {
        name
    }
}

/// The data package for `csv` (of `bytes` bytes) with these columns.
pub(super) fn package(csv: &Path, bytes: u64, survey: &Survey, columns: &[Column]) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    let file_name = csv
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let licenses: Vec<Value> = survey
        .licences
        .iter()
        .map(|id| {
            let mut m = Map::new();
            m.insert("name".into(), json!(id));
            m.insert(
                "path".into(),
                json!(format!("https://spdx.org/licenses/{id}.html")),
            );
            if let Some(title) = codes::spdx_name(id) {
                m.insert("title".into(), json!(title));
            }
            Value::Object(m)
        })
        .collect();
    let mut pkg = Map::new();
    pkg.insert("profile".into(), json!("tabular-data-package"));
    pkg.insert("name".into(), json!("setu-practices"));
    pkg.insert(
        "title".into(),
        json!("Setu practices: public-service innovations of the global South"),
    );
    pkg.insert(
        "description".into(),
        json!(
            "Practice records exported from a Setu node: one row per practice (per revision when \
             the export includes history), each signed by its publishing agency's Ed25519 key. \
             Each record carries its own SPDX licence, in the `licence` column; `licenses` lists \
             every licence that occurs in this export. Contact details are not exported. The \
             JSONL export of the same records holds the exact signed bytes, which anyone can \
             verify with `setu record verify`."
        ),
    );
    pkg.insert("created".into(), json!(rfc3339_ms(now)));
    if !licenses.is_empty() {
        pkg.insert("licenses".into(), Value::Array(licenses));
    }
    pkg.insert(
        "resources".into(),
        json!([{
            "name": resource_name(csv),
            "title": "Practices",
            "path": file_name,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "bytes": bytes,
            "dialect": {
                "delimiter": ",",
                "lineTerminator": "\n",
                "quoteChar": "\"",
                "doubleQuote": true,
                "header": true,
                "skipInitialSpace": false
            },
            "schema": {
                "fields": columns.iter().map(Column::to_json).collect::<Vec<Value>>(),
                "missingValues": [""],
                "primaryKey": "record_id"
            }
        }]),
    );
    Value::Object(pkg)
}

/// Writes the data package to `file` (the temporary file of `path`).
pub(super) fn write(
    file: File,
    path: &Path,
    csv: &Path,
    bytes: u64,
    survey: &Survey,
    columns: &[Column],
) -> Result<File, Error> {
    let mut w = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut w, &package(csv, bytes, survey, columns))
        .map_err(|e| io_err(path, e))?;
    w.write_all(b"\n").map_err(|e| io_err(path, e))?;
    w.into_inner().map_err(|e| io_err(path, e.error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(resource_name(Path::new("/tmp/practices.csv")), "practices");
        assert_eq!(resource_name(Path::new("My Export.csv")), "my-export");
        assert_eq!(resource_name(Path::new("স.csv")), "practices");
    }
}
