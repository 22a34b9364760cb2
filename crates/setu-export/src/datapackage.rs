//! The Frictionless Tabular Data Package (`datapackage.json`) written
//! beside a CSV export: one resource per CSV file (the practices, then the
//! adoptions, edges and seekings), each with its dialect and a Table Schema
//! with every column's type, description and constraints, its primary key
//! and its foreign keys.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Map, Value, json};
use setu_core::codes;

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

/// One CSV file of the package, as a Tabular Data Resource describes it.
#[derive(Debug, Clone)]
pub(super) struct Resource {
    /// Unique in the package: lowercase letters, digits, `-`, `_`, `.`.
    pub(super) name: String,
    pub(super) title: String,
    pub(super) description: Option<String>,
    /// The file name, relative to the package.
    pub(super) path: String,
    pub(super) bytes: u64,
    pub(super) columns: Vec<Column>,
    /// A field name, or an array of them.
    pub(super) primary_key: Value,
    /// Table Schema foreign keys.
    pub(super) foreign_keys: Vec<Value>,
}

impl Resource {
    fn to_json(&self) -> Value {
        let mut schema = Map::new();
        schema.insert(
            "fields".into(),
            Value::Array(self.columns.iter().map(Column::to_json).collect()),
        );
        schema.insert("missingValues".into(), json!([""]));
        schema.insert("primaryKey".into(), self.primary_key.clone());
        if !self.foreign_keys.is_empty() {
            schema.insert(
                "foreignKeys".into(),
                Value::Array(self.foreign_keys.clone()),
            );
        }
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("title".into(), json!(self.title));
        if let Some(d) = &self.description {
            m.insert("description".into(), json!(d));
        }
        m.insert("path".into(), json!(self.path));
        m.insert("profile".into(), json!("tabular-data-resource"));
        m.insert("format".into(), json!("csv"));
        m.insert("mediatype".into(), json!("text/csv"));
        m.insert("encoding".into(), json!("utf-8"));
        m.insert("bytes".into(), json!(self.bytes));
        m.insert(
            "dialect".into(),
            json!({
                "delimiter": ",",
                "lineTerminator": "\n",
                "quoteChar": "\"",
                "doubleQuote": true,
                "header": true,
                "skipInitialSpace": false
            }),
        );
        m.insert("schema".into(), Value::Object(schema));
        Value::Object(m)
    }
}

/// The resource name of the practices CSV: its file stem as a Data Package
/// name (lowercase letters, digits, `-`, `_`, `.`), or `practices` if
/// nothing is left or the stem is the name of a table written beside it.
pub(super) fn resource_name(csv: &Path) -> String {
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
        || super::TABLES.contains(&name.as_str())
    {
        "practices".to_string()
    } else {
        name
    }
}

/// The data package of these resources (the practices first), whose
/// records carry these licences.
pub(super) fn package(resources: &[Resource], licences: &BTreeSet<String>) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    let licenses: Vec<Value> = licences
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
             Beside them: every current adoption report the node holds (adoptions.csv), the \
             adoption graph between countries as an edge list (edges.csv: source is an \
             originating country, target the adopting one) and the open needs (seekings.csv), \
             whatever filters selected the practices. Each record carries its own SPDX \
             licence, in the `licence` column; `licenses` lists every licence that occurs in \
             this export. Contact details are not exported. The JSONL export of the same \
             records holds the exact signed bytes, which anyone can verify with \
             `setu record verify`."
        ),
    );
    pkg.insert("created".into(), json!(rfc3339_ms(now)));
    if !licenses.is_empty() {
        pkg.insert("licenses".into(), Value::Array(licenses));
    }
    pkg.insert(
        "resources".into(),
        Value::Array(resources.iter().map(Resource::to_json).collect()),
    );
    Value::Object(pkg)
}

/// Writes the data package to `file` (the temporary file of `path`).
pub(super) fn write(
    file: File,
    path: &Path,
    resources: &[Resource],
    licences: &BTreeSet<String>,
) -> Result<File, Error> {
    let mut w = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut w, &package(resources, licences))
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
        assert_eq!(resource_name(Path::new("Edges.txt")), "practices");
    }
}
