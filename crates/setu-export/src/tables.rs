//! The tables written beside the practices by the CSV and Parquet exports:
//! the adoption reports (`adoptions`), the adoption graph as an edge list
//! (`edges`) and the open needs (`seekings`).
//!
//! Each table is described once, as a list of [`Field`]s, and its rows as
//! [`Cell`]s; `csv.rs` and `parquet.rs` write the same table, so the two
//! files always have the same columns (a [`Ty::Text`] field is one column
//! per language in the CSV and one map column in the Parquet file).
//!
//! The tables hold every **current** adoption report and open need the
//! replica holds (at most `setu_store::graph::MAX_LISTED` of each kind),
//! whatever the query:
//! they are read into memory whole, unlike the practices, which stream.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use setu_core::adoption;
use setu_core::ids::RecordId;
use setu_core::practice::{self, LangText};
use setu_store::graph::Sought;
use setu_store::scaling::AdoptionView;

use super::TCV_KINDS;

/// The file stem (and data package resource name) of the adoption reports.
pub const ADOPTIONS: &str = "adoptions";
/// The file stem (and resource name) of the adoption edge list.
pub const EDGES: &str = "edges";
/// The file stem (and resource name) of the open needs.
pub const SEEKINGS: &str = "seekings";

const HEX_ID: &str = "[0-9a-f]{64}";
const ISO3: &str = "[A-Z]{3}";
const ISO3_LIST: &str = "[A-Z]{3}(;[A-Z]{3})*";
const DATE: &str = "[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?";

/// A column's type in both files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// Text: CSV `string`, Parquet `Utf8`.
    Str,
    /// CSV `integer`, Parquet `UInt64`.
    U64,
    /// CSV `integer`, Parquet `Int64`.
    I64,
    /// CSV `number` with one decimal, Parquet `Float64`.
    F64,
    /// CSV `datetime` (RFC 3339, UTC, milliseconds), Parquet
    /// `Timestamp(ms, UTC)`.
    Ts,
    /// A list of texts: in the CSV joined with this separator, in Parquet
    /// `List<Utf8>`.
    List(&'static str),
    /// Text by language: in the CSV one column per language that occurs
    /// (`{name}_{lang}`, `en` first), in Parquet `Map<Utf8, Utf8>`.
    Text,
}

impl Ty {
    /// The Table Schema type of its CSV column(s).
    pub(crate) fn frictionless(self) -> &'static str {
        match self {
            Ty::Str | Ty::List(_) | Ty::Text => "string",
            Ty::U64 | Ty::I64 => "integer",
            Ty::F64 => "number",
            Ty::Ts => "datetime",
        }
    }
}

/// One field of a table.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) ty: Ty,
    /// Whether a value may be missing (Parquet null, CSV empty cell).
    pub(crate) nullable: bool,
    /// What the column holds; for [`Ty::Text`], what the text is (the CSV
    /// column description adds the language).
    pub(crate) description: &'static str,
    /// Table Schema constraints; `required` is added for fields that are
    /// not nullable.
    pub(crate) constraints: Option<Value>,
}

impl Field {
    fn new(name: &'static str, ty: Ty, nullable: bool, description: &'static str) -> Field {
        Field {
            name,
            ty,
            nullable,
            description,
            constraints: None,
        }
    }

    fn with(mut self, constraints: Value) -> Field {
        self.constraints = Some(constraints);
        self
    }

    /// The Table Schema constraints of its CSV column(s).
    pub(crate) fn csv_constraints(&self) -> Option<Value> {
        let mut c = match &self.constraints {
            Some(Value::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        // An empty list or a missing language is an empty cell: only
        // scalar fields can be required.
        if !self.nullable && !matches!(self.ty, Ty::List(_) | Ty::Text) {
            c.insert("required".into(), json!(true));
        }
        (!c.is_empty()).then_some(Value::Object(c))
    }
}

/// One value of a row, of its field's [`Ty`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Str(Option<String>),
    U64(Option<u64>),
    I64(Option<i64>),
    F64(Option<f64>),
    Ts(u64),
    List(Option<Vec<String>>),
    Text(Option<LangText>),
}

/// What a foreign key refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ref {
    /// The practices resource (whose name comes from the export's file).
    Practices,
    /// Another table, by name.
    Table(&'static str),
}

/// A foreign key of a table: `field` holds values of `to`'s `to_field`.
#[derive(Debug, Clone)]
pub(crate) struct ForeignKey {
    pub(crate) field: &'static str,
    pub(crate) to: Ref,
    pub(crate) to_field: &'static str,
}

/// A table written beside the practices.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// File stem and data package resource name.
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) fields: Vec<Field>,
    pub(crate) rows: Vec<Vec<Cell>>,
    pub(crate) primary_key: Vec<&'static str>,
    pub(crate) foreign_keys: Vec<ForeignKey>,
    /// The SPDX licences of its records.
    pub(crate) licences: BTreeSet<String>,
}

// ---------------------------------------------------------------------------
// Adoptions
// ---------------------------------------------------------------------------

/// A column name and its description.
type Named = (&'static str, &'static str);

/// Per TCV kind (in [`TCV_KINDS`] order): the origin's and the adopter's
/// column, each with its description.
const TCV_FIELDS: [(Named, Named); 3] = [
    (
        (
            "origin_time_bp",
            "Change in citizens' time to obtain the service at the origin, in basis points (-7814 means 78.14% less), from the practice's first time metric; empty if none or if the practice is not held.",
        ),
        (
            "adopter_time_bp",
            "Change in citizens' time to obtain the service at the adopter, in basis points (-5000 means 50% less), from the report's first time metric; empty if none.",
        ),
    ),
    (
        (
            "origin_cost_bp",
            "Change in citizens' cost to obtain the service at the origin, in basis points, from the practice's first cost metric; empty if none or if the practice is not held.",
        ),
        (
            "adopter_cost_bp",
            "Change in citizens' cost to obtain the service at the adopter, in basis points, from the report's first cost metric; empty if none.",
        ),
    ),
    (
        (
            "origin_visits_bp",
            "Change in citizens' visits needed at the origin, in basis points, from the practice's first visits metric; empty if none or if the practice is not held.",
        ),
        (
            "adopter_visits_bp",
            "Change in citizens' visits needed at the adopter, in basis points, from the report's first visits metric; empty if none.",
        ),
    ),
];

fn adoption_fields() -> Vec<Field> {
    let stages = json!({ "enum": adoption::STAGES });
    let mut f = vec![
        Field::new(
            "record_id",
            Ty::Str,
            false,
            "Id of this signed adoption record (the report's current revision): the SHA-256 of its canonical envelope, 64 lowercase hex digits.",
        )
        .with(json!({"unique": true, "pattern": HEX_ID})),
        Field::new(
            "adoption_id",
            Ty::Str,
            false,
            "The report's id, chosen by the adopting agency and stable across revisions. A report is identified by (publisher, adoption_id).",
        ),
        Field::new(
            "revision",
            Ty::U64,
            false,
            "Revision number of the report, from 1.",
        )
        .with(json!({"minimum": 1})),
        Field::new(
            "publisher",
            Ty::Str,
            false,
            "The adopting agency: the owner of the report's chain (its first key in a chartered network), 64 lowercase hex digits.",
        )
        .with(json!({"pattern": HEX_ID})),
        Field::new(
            "author",
            Ty::Str,
            false,
            "The Ed25519 public key that signed this revision, 64 lowercase hex digits.",
        )
        .with(json!({"pattern": HEX_ID})),
        Field::new(
            "signed_at",
            Ty::Ts,
            false,
            "When this revision was signed (envelope ts), RFC 3339 in UTC with milliseconds.",
        ),
        Field::new(
            "licence",
            Ty::Str,
            true,
            "SPDX licence id of this record's content. Each record carries its own licence.",
        ),
        Field::new(
            "country",
            Ty::Str,
            true,
            "The adopting country, ISO 3166-1 alpha-3.",
        )
        .with(json!({"pattern": ISO3})),
        Field::new(
            "stage",
            Ty::Str,
            true,
            "How far the adoption went: exploring, piloting, scaled or discontinued.",
        )
        .with(stages),
        Field::new(
            "period_start",
            Ty::Str,
            true,
            "When the adoption started: YYYY, YYYY-MM or YYYY-MM-DD.",
        )
        .with(json!({"pattern": DATE})),
        Field::new(
            "period_end",
            Ty::Str,
            true,
            "When it ended (YYYY, YYYY-MM or YYYY-MM-DD); empty if ongoing.",
        )
        .with(json!({"pattern": DATE})),
        Field::new(
            "gov_level",
            Ty::Str,
            true,
            "Level of government that runs the adoption.",
        )
        .with(json!({ "enum": practice::GOV_LEVELS })),
        Field::new(
            "places",
            Ty::List("; "),
            false,
            "Places the adoption covers (districts, counties, cities), separated by '; ' in the CSV.",
        ),
        Field::new(
            "adaptation",
            Ty::Text,
            true,
            "What was changed for the local context",
        ),
        Field::new(
            "adaptation_original_language",
            Ty::Str,
            true,
            "ISO 639-1 tag of the language the adaptation was originally written in.",
        ),
        Field::new("lessons", Ty::Text, true, "What was learned"),
        Field::new(
            "lessons_original_language",
            Ty::Str,
            true,
            "ISO 639-1 tag of the language the lessons were originally written in; empty if there are none.",
        ),
        Field::new(
            "practice_member",
            Ty::Str,
            true,
            "The practice as the report names it: the publishing member's id (chartered networks); empty if named by key.",
        ),
        Field::new(
            "practice_key",
            Ty::Str,
            true,
            "The practice as the report names it: the publisher's key (open networks), 64 lowercase hex digits; empty if named by member.",
        )
        .with(json!({"pattern": HEX_ID})),
        Field::new(
            "practice_id",
            Ty::Str,
            true,
            "The adopted practice's id, as the report names it (the same once the practice is resolved).",
        ),
        Field::new(
            "practice_record_followed",
            Ty::Str,
            true,
            "Record id of the practice revision the adopter followed, if the report names one.",
        )
        .with(json!({"pattern": HEX_ID})),
        Field::new(
            "practice_publisher",
            Ty::Str,
            true,
            "The practice's publisher (owner of its chain, 64 hex digits), as this node resolved the reference; empty when the practice is not yet received (or withdrawn).",
        )
        .with(json!({"pattern": HEX_ID})),
        Field::new(
            "practice_record_id",
            Ty::Str,
            true,
            "Record id of the practice's current revision (a record_id of the practices table); empty when the practice is not yet received (or withdrawn).",
        )
        .with(json!({"pattern": HEX_ID})),
        Field::new(
            "origin_countries",
            Ty::List(";"),
            true,
            "The practice's originating countries (ISO 3166-1 alpha-3), separated by ';' in the CSV; empty (Parquet: null) when the practice is not yet received.",
        )
        .with(json!({"pattern": ISO3_LIST})),
        Field::new(
            "years_from_origin",
            Ty::F64,
            true,
            "Years from the first day of the practice's period start to the first day of the adoption's, to one decimal; empty if either is unknown.",
        ),
    ];
    for (origin, adopter) in TCV_FIELDS {
        f.push(Field::new(origin.0, Ty::I64, true, origin.1).with(json!({"minimum": -10_000})));
        f.push(Field::new(adopter.0, Ty::I64, true, adopter.1).with(json!({"minimum": -10_000})));
    }
    f
}

fn edge_fields() -> Vec<Field> {
    vec![
        Field::new(
            "source",
            Ty::Str,
            false,
            "An originating country of the adopted practice, ISO 3166-1 alpha-3 (one row per originating country).",
        )
        .with(json!({"pattern": ISO3})),
        Field::new(
            "target",
            Ty::Str,
            false,
            "The adopting country, ISO 3166-1 alpha-3.",
        )
        .with(json!({"pattern": ISO3})),
        Field::new(
            "practice_id",
            Ty::Str,
            false,
            "The adopted practice's id (unique per publisher; practice_record_id names it exactly).",
        ),
        Field::new(
            "stage",
            Ty::Str,
            true,
            "How far the adoption went: exploring, piloting, scaled or discontinued.",
        )
        .with(json!({ "enum": adoption::STAGES })),
        Field::new(
            "adoption_id",
            Ty::Str,
            false,
            "The adoption report's id (unique per adopting publisher; adoption_record_id names it exactly).",
        ),
        Field::new(
            "years_from_origin",
            Ty::F64,
            true,
            "Years from the practice's start to the adoption's, to one decimal; empty if either is unknown.",
        ),
        Field::new(
            "adoption_record_id",
            Ty::Str,
            false,
            "Record id of the adoption report: a record_id of the adoptions table.",
        )
        .with(json!({"pattern": HEX_ID})),
        Field::new(
            "practice_record_id",
            Ty::Str,
            false,
            "Record id of the practice's current revision: a record_id of the practices table when the export holds every current practice.",
        )
        .with(json!({"pattern": HEX_ID})),
    ]
}

/// The first change of each TCV kind, at the origin and at the adopter.
fn tcv_cells(v: &AdoptionView) -> Vec<Cell> {
    let mut out = Vec::with_capacity(2 * TCV_KINDS.len());
    for kind in TCV_KINDS {
        let pair = v.tcv.iter().find(|p| p.kind == kind);
        out.push(Cell::I64(pair.and_then(|p| p.origin_bp)));
        out.push(Cell::I64(pair.and_then(|p| p.adopter_bp)));
    }
    out
}

/// The adoption and edge tables of `views` (current reports). The
/// foreign keys to the practices resource are declared only when
/// `practices_exported` (every practice record the reports resolve to is a
/// row of the practices file).
pub(crate) fn adoptions(views: Vec<AdoptionView>, practices_exported: bool) -> (Table, Table) {
    let mut rows = Vec::with_capacity(views.len());
    let mut edges = Vec::new();
    let mut licences = BTreeSet::new();
    for v in views {
        let tcv = tcv_cells(&v);
        let AdoptionView {
            adopted,
            practice: origin,
            years_from_origin,
            ..
        } = v;
        let a = adopted.adoption;
        let r = a.practice.as_ref();
        let id = adopted.id.to_hex();
        if let Some(l) = &a.licence {
            licences.insert(l.clone());
        }
        if let (Some(o), Some(target)) = (&origin, &a.country) {
            let mut seen = BTreeSet::new();
            for source in o.countries.iter().filter(|c| seen.insert(c.as_str())) {
                edges.push(vec![
                    Cell::Str(Some(source.clone())),
                    Cell::Str(Some(target.clone())),
                    Cell::Str(Some(o.practice_id.clone())),
                    Cell::Str(a.stage.clone()),
                    Cell::Str(Some(a.adoption_id.clone())),
                    Cell::F64(years_from_origin),
                    Cell::Str(Some(id.clone())),
                    Cell::Str(Some(o.id.to_hex())),
                ]);
            }
        }
        let original = |t: &Option<LangText>| t.as_ref().map(|t| t.original.clone());
        let (adaptation_original, lessons_original) =
            (original(&a.adaptation), original(&a.lessons));
        let mut row = vec![
            Cell::Str(Some(id)),
            Cell::Str(Some(a.adoption_id)),
            Cell::U64(Some(a.revision)),
            Cell::Str(Some(adopted.publisher.to_hex())),
            Cell::Str(Some(adopted.author.to_hex())),
            Cell::Ts(adopted.ts),
            Cell::Str(a.licence),
            Cell::Str(a.country),
            Cell::Str(a.stage),
            Cell::Str(a.period.as_ref().map(|p| p.start.clone())),
            Cell::Str(a.period.and_then(|p| p.end)),
            Cell::Str(a.gov_level),
            Cell::List(Some(a.places)),
            Cell::Text(a.adaptation),
            Cell::Str(adaptation_original),
            Cell::Text(a.lessons),
            Cell::Str(lessons_original),
            Cell::Str(r.and_then(|r| r.member.clone())),
            Cell::Str(r.and_then(|r| r.key.map(|k| k.to_hex()))),
            Cell::Str(r.map(|r| r.practice_id.clone())),
            Cell::Str(r.and_then(|r| r.record.map(|x| x.to_hex()))),
            Cell::Str(origin.as_ref().map(|o| o.publisher.to_hex())),
            Cell::Str(origin.as_ref().map(|o| o.id.to_hex())),
            Cell::List(origin.map(|o| o.countries)),
            Cell::F64(years_from_origin),
        ];
        row.extend(tcv);
        rows.push(row);
    }
    let mut adoption_fks = Vec::new();
    let mut edge_fks = vec![ForeignKey {
        field: "adoption_record_id",
        to: Ref::Table(ADOPTIONS),
        to_field: "record_id",
    }];
    if practices_exported {
        for fks in [&mut adoption_fks, &mut edge_fks] {
            fks.push(ForeignKey {
                field: "practice_record_id",
                to: Ref::Practices,
                to_field: "record_id",
            });
        }
    }
    let adoptions = Table {
        name: ADOPTIONS,
        title: "Adoption reports",
        description: "One row per current adoption report: an agency's signed report that it adopted another publisher's practice, with the practice as this node resolves it (empty practice_publisher and practice_record_id: practice not yet received).",
        fields: adoption_fields(),
        rows,
        primary_key: vec!["record_id"],
        foreign_keys: adoption_fks,
        licences,
    };
    let edges = Table {
        name: EDGES,
        title: "Adoption edges",
        description: "The adoption graph between countries: one row per adoption report whose practice this node holds and per originating country of that practice, from the originating country (source) to the adopting one (target).",
        fields: edge_fields(),
        rows: edges,
        primary_key: vec!["adoption_record_id", "source"],
        foreign_keys: edge_fks,
        licences: BTreeSet::new(),
    };
    (adoptions, edges)
}

// ---------------------------------------------------------------------------
// Seekings
// ---------------------------------------------------------------------------

fn seeking_fields() -> Vec<Field> {
    vec![
        Field::new(
            "record_id",
            Ty::Str,
            false,
            "Id of this signed seeking record (the need's current revision), 64 lowercase hex digits.",
        )
        .with(json!({"unique": true, "pattern": HEX_ID})),
        Field::new(
            "seeking_id",
            Ty::Str,
            false,
            "The need's id, chosen by the seeking agency and stable across revisions.",
        ),
        Field::new(
            "revision",
            Ty::U64,
            false,
            "Revision number of the need, from 1.",
        )
        .with(json!({"minimum": 1})),
        Field::new(
            "publisher",
            Ty::Str,
            false,
            "The seeking agency: the owner of the need's chain, 64 lowercase hex digits.",
        )
        .with(json!({"pattern": HEX_ID})),
        Field::new(
            "author",
            Ty::Str,
            false,
            "The Ed25519 public key that signed this revision, 64 lowercase hex digits.",
        )
        .with(json!({"pattern": HEX_ID})),
        Field::new(
            "signed_at",
            Ty::Ts,
            false,
            "When this revision was signed (envelope ts), RFC 3339 in UTC with milliseconds.",
        ),
        Field::new(
            "licence",
            Ty::Str,
            true,
            "SPDX licence id of this record's content.",
        ),
        Field::new(
            "country",
            Ty::Str,
            true,
            "The seeking country, ISO 3166-1 alpha-3.",
        )
        .with(json!({"pattern": ISO3})),
        Field::new("title", Ty::Text, true, "A short name of the need"),
        Field::new(
            "title_original_language",
            Ty::Str,
            true,
            "ISO 639-1 tag of the language the title was originally written in.",
        ),
        Field::new(
            "challenge",
            Ty::Text,
            true,
            "The challenge, in the seeking ministry's words",
        ),
        Field::new(
            "challenge_original_language",
            Ty::Str,
            true,
            "ISO 639-1 tag of the language the challenge was originally written in.",
        ),
        Field::new(
            "sdg_targets",
            Ty::List(";"),
            false,
            "UN Sustainable Development Goal targets it concerns (e.g. 16.6), separated by ';' in the CSV.",
        ),
        Field::new(
            "sectors_dac5",
            Ty::List(";"),
            false,
            "OECD DAC CRS 5-digit purpose codes, separated by ';' in the CSV.",
        )
        .with(json!({"pattern": "[0-9]{5}(;[0-9]{5})*"})),
        Field::new(
            "sectors_cofog",
            Ty::List(";"),
            false,
            "UN COFOG divisions or groups, separated by ';' in the CSV.",
        ),
        Field::new(
            "gov_level",
            Ty::Str,
            true,
            "Level of government that has the need.",
        )
        .with(json!({ "enum": practice::GOV_LEVELS })),
        Field::new(
            "languages",
            Ty::List(";"),
            false,
            "Languages the agency can work in (ISO 639-1), separated by ';' in the CSV.",
        ),
        Field::new(
            "deadline",
            Ty::Str,
            true,
            "By when it needs an answer: YYYY, YYYY-MM or YYYY-MM-DD.",
        )
        .with(json!({"pattern": DATE})),
        Field::new(
            "keywords",
            Ty::List("; "),
            false,
            "Free keywords, separated by '; ' in the CSV.",
        ),
        Field::new(
            "urls",
            Ty::List("; "),
            false,
            "Links, separated by '; ' in the CSV.",
        ),
    ]
}

/// The table of open needs.
pub(crate) fn seekings(needs: Vec<Sought>) -> Table {
    let mut licences = BTreeSet::new();
    let rows = needs
        .into_iter()
        .map(|s| {
            let n = s.seeking;
            if let Some(l) = &n.licence {
                licences.insert(l.clone());
            }
            let sectors = |voc: &str| {
                Cell::List(Some(
                    n.sectors
                        .iter()
                        .filter(|x| x.vocabulary == voc)
                        .map(|x| x.code.clone())
                        .collect(),
                ))
            };
            let original = |t: &Option<LangText>| t.as_ref().map(|t| t.original.clone());
            vec![
                Cell::Str(Some(s.id.to_hex())),
                Cell::Str(Some(n.seeking_id.clone())),
                Cell::U64(Some(n.revision)),
                Cell::Str(Some(s.publisher.to_hex())),
                Cell::Str(Some(s.author.to_hex())),
                Cell::Ts(s.ts),
                Cell::Str(n.licence.clone()),
                Cell::Str(n.country.clone()),
                Cell::Text(n.title.clone()),
                Cell::Str(original(&n.title)),
                Cell::Text(n.challenge.clone()),
                Cell::Str(original(&n.challenge)),
                Cell::List(Some(n.sdg_targets.clone())),
                sectors("dac5"),
                sectors("cofog"),
                Cell::Str(n.gov_level.clone()),
                Cell::List(Some(n.languages.clone())),
                Cell::Str(n.deadline.clone()),
                Cell::List(Some(n.keywords.clone())),
                Cell::List(Some(n.urls.clone())),
            ]
        })
        .collect();
    Table {
        name: SEEKINGS,
        title: "Open needs",
        description: "One row per open need (seeking record at its current revision): a country's stated problem, which practices elsewhere may answer.",
        fields: seeking_fields(),
        rows,
        primary_key: vec!["record_id"],
        foreign_keys: Vec::new(),
        licences,
    }
}

/// Every practice record id `wanted` is among `exported`.
pub(crate) fn all_in(exported: &[RecordId], mut wanted: BTreeSet<RecordId>) -> bool {
    if wanted.is_empty() {
        return true;
    }
    for id in exported {
        wanted.remove(id);
        if wanted.is_empty() {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_match_fields() {
        let (a, e) = adoptions(Vec::new(), true);
        let s = seekings(Vec::new());
        for t in [&a, &e, &s] {
            let names: BTreeSet<&str> = t.fields.iter().map(|f| f.name).collect();
            assert_eq!(names.len(), t.fields.len(), "{}", t.name);
            for k in &t.primary_key {
                assert!(names.contains(k), "{}: {k}", t.name);
            }
            for fk in &t.foreign_keys {
                assert!(names.contains(fk.field), "{}: {}", t.name, fk.field);
            }
        }
        assert_eq!(a.fields.len(), 25 + 2 * TCV_KINDS.len());
        assert_eq!(e.foreign_keys.len(), 2);
        let (_, e) = adoptions(Vec::new(), false);
        assert_eq!(e.foreign_keys.len(), 1);
    }

    #[test]
    fn membership() {
        let ids = [RecordId([1; 32]), RecordId([2; 32])];
        assert!(all_in(&ids, BTreeSet::new()));
        assert!(all_in(&ids, [RecordId([2; 32])].into()));
        assert!(!all_in(&ids, [RecordId([2; 32]), RecordId([3; 32])].into()));
    }
}
