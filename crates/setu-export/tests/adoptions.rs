//! The adoption tables of the exports: `adoptions` and `edges` (and
//! `seekings`) beside the practices in CSV (described by the data package)
//! and Parquet, and the adoption and seeking records in the JSONL, read
//! back with the `csv` crate and the `parquet` crate's Arrow reader.
//!
//! The replica holds two practices of one publisher (one with two
//! originating countries), three current adoption reports (one revised, one
//! of a practice not yet received), one withdrawn report and one need.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value as Json, json};
use setu_core::keys::SecretKey;
use setu_core::record;
use setu_export::{DATAPACKAGE_FILE, Export, Format, Summary};
use setu_store::backend::Backend;
use setu_store::query::Query;
use setu_store::replica::{Config, Published, Replica};

/// 2026-01-01T00:00:00Z, in ms.
const NOW: u64 = 1_767_225_600_000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

fn practice(pid: &str, countries: &[&str], start: &str, metrics: Json) -> Json {
    let countries: Vec<Json> = countries
        .iter()
        .map(|c| json!({"iso3": c, "role": "originating"}))
        .collect();
    json!({
        "practice_id": pid,
        "title": {"original": "en", "text": {"en": format!("Practice {pid}")}},
        "summary": {"original": "en", "text": {"en": "A short summary."}},
        "challenge": {"original": "en", "text": {"en": "The problem."}},
        "solution": {"original": "en", "text": {"en": "The solution."}},
        "countries": countries,
        "sdg_targets": ["16.6"],
        "sectors": [{"vocabulary": "dac5", "code": "15110"}],
        "status": 2,
        "period": {"start": start},
        "metrics": metrics,
    })
}

fn adoption(id: &str, publisher: &SecretKey, pid: &str, country: &str, stage: &str) -> Json {
    json!({
        "adoption_id": id,
        "practice": {"key": publisher.author().to_hex(), "practice_id": pid},
        "country": country,
        "stage": stage,
        "period": {"start": "2016-01"},
        "adaptation": {"original": "pt", "text": {"pt": "Adaptado.", "en": "Adapted."}},
    })
}

/// What the tests published.
struct World {
    bgd1: Published,
    bgd2: Published,
    ken1_r1: Published,
    ken1: Published,
    bra1: Published,
    bra2: Published,
    need: Published,
}

fn populate<B: Backend>(r: &mut Replica<B>) -> World {
    let (origin, ken, bra, absent, nepal) = (key(1), key(2), key(3), key(4), key(5));
    let bgd1 = r
        .publish(
            &origin,
            practice(
                "BGD-1",
                &["BGD", "IND"],
                "2012-06",
                json!([
                    {"kind": "time", "stage": "digital", "method": "survey", "change_bp": -7814},
                    {"kind": "cost", "stage": "digital", "method": "survey", "baseline": 5000,
                     "after": 1000, "unit": "minor_currency", "currency": "BDT", "price_year": 2020}
                ]),
            ),
            NOW,
        )
        .expect("publish BGD-1");
    let bgd2 = r
        .publish(
            &origin,
            practice("BGD-2", &["BGD"], "2015", json!([])),
            NOW + 1,
        )
        .expect("publish BGD-2");
    let mut body = json!({
        "adoption_id": "KEN-1",
        "practice": {"key": origin.author().to_hex(), "practice_id": "BGD-1",
                     "record": bgd1.id.to_hex()},
        "country": "KEN",
        "stage": "piloting",
        "period": {"start": "2018-06"},
        "gov_level": "local",
        "places": ["Makueni County", "Kitui County"],
        "adaptation": {"original": "sw", "text": {
            "sw": "Vituo vya kidijitali katika ofisi za wadi.",
            "en": "Digital centres in ward offices, \"one-stop\"; two counties."
        }},
        "lessons": {"original": "sw", "text": {"sw": "Umeme wa uhakika ni muhimu."}},
        "metrics": [{"kind": "time", "stage": "digital", "method": "survey", "change_bp": -5520},
                    {"kind": "visits", "stage": "digital", "method": "survey", "change_bp": -4100}],
        "contact": {"name": "Secret Person", "email": "secret@example.org"},
    });
    let ken1_r1 = r
        .publish_kind(&ken, "adoption", body.clone(), NOW + 2)
        .expect("adopt KEN-1");
    body["stage"] = json!("scaled");
    body["period"] = json!({"start": "2018-06", "end": "2024-12"});
    let ken1 = r
        .publish_kind(&ken, "adoption", body, NOW + 3)
        .expect("revise KEN-1");
    assert_eq!(ken1.revision, 2);
    let bra1 = r
        .publish_kind(
            &bra,
            "adoption",
            adoption("BRA-1", &origin, "BGD-2", "BRA", "exploring"),
            NOW + 4,
        )
        .expect("adopt BRA-1");
    // A practice this node has not received.
    let bra2 = r
        .publish_kind(
            &bra,
            "adoption",
            adoption("BRA-2", &absent, "PAK-1", "BRA", "piloting"),
            NOW + 5,
        )
        .expect("adopt BRA-2");
    // Withdrawn: in no table, nor in the JSONL without include_withdrawn.
    r.publish_kind(
        &bra,
        "adoption",
        adoption("BRA-3", &origin, "BGD-1", "BRA", "exploring"),
        NOW + 6,
    )
    .expect("adopt BRA-3");
    r.withdraw_kind(&bra, "adoption", "BRA-3", "entered twice", NOW + 7)
        .expect("withdraw BRA-3");
    let need = r
        .publish_kind(
            &nepal,
            "seeking",
            json!({
                "seeking_id": "NPL-NEED-1",
                "country": "NPL",
                "title": {"original": "ne", "text": {"ne": "तलबी कर्मचारी", "en": "Ghost workers"}},
                "challenge": {"original": "en", "text": {"en": "Our payroll pays people who left."}},
                "sdg_targets": ["16.5", "16.6"],
                "sectors": [{"vocabulary": "dac5", "code": "15111"},
                            {"vocabulary": "cofog", "code": "01.3"}],
                "languages": ["ne", "en"],
                "deadline": "2027-06",
                "keywords": ["payroll", "audit"],
            }),
            NOW + 8,
        )
        .expect("seek");
    r.flush_index().expect("flush");
    World {
        bgd1,
        bgd2,
        ken1_r1,
        ken1,
        bra1,
        bra2,
        need,
    }
}

fn export<B: Backend>(r: &Replica<B>, q: &Query, format: Format, out: &Path) -> Summary {
    let s = Export::export(r, q, format, out, &mut |_, _| {}).expect("export");
    let on_disk: u64 = s
        .files
        .iter()
        .map(|f| std::fs::metadata(f).expect("exported file").len())
        .sum();
    assert_eq!(s.bytes, on_disk);
    assert_eq!(s.files, setu_export::export_files(format, out));
    s
}

type CsvRow = BTreeMap<String, String>;

fn read_csv(path: &Path) -> (Vec<String>, Vec<CsvRow>) {
    let mut rd = csv::Reader::from_path(path).expect("open csv");
    let header: Vec<String> = rd
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = rd
        .records()
        .map(|rec| {
            let rec = rec.expect("csv row");
            assert_eq!(rec.len(), header.len());
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

fn find<'a>(rows: &'a [CsvRow], col: &str, value: &str) -> &'a CsvRow {
    rows.iter()
        .find(|r| r[col] == value)
        .unwrap_or_else(|| panic!("no row with {col} = {value}"))
}

const ADOPTION_COLUMNS: [&str; 33] = [
    "record_id",
    "adoption_id",
    "revision",
    "publisher",
    "author",
    "signed_at",
    "licence",
    "country",
    "stage",
    "period_start",
    "period_end",
    "gov_level",
    "places",
    "adaptation_en",
    "adaptation_pt",
    "adaptation_sw",
    "adaptation_original_language",
    "lessons_sw",
    "lessons_original_language",
    "practice_member",
    "practice_key",
    "practice_id",
    "practice_record_followed",
    "practice_publisher",
    "practice_record_id",
    "origin_countries",
    "years_from_origin",
    "origin_time_bp",
    "adopter_time_bp",
    "origin_cost_bp",
    "adopter_cost_bp",
    "origin_visits_bp",
    "adopter_visits_bp",
];

const EDGE_COLUMNS: [&str; 8] = [
    "source",
    "target",
    "practice_id",
    "stage",
    "adoption_id",
    "years_from_origin",
    "adoption_record_id",
    "practice_record_id",
];

fn on_both(test: fn(&mut dyn Exporter, &World, &Path)) {
    let out = tempfile::tempdir().expect("tempdir");
    let mut r = Replica::in_memory(Config::default()).expect("in-memory replica");
    let w = populate(&mut r);
    test(&mut r, &w, out.path());

    let data = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    Replica::create(data.path()).expect("create the data directory");
    let mut r = Replica::open(data.path(), Config::default()).expect("open the replica");
    let w = populate(&mut r);
    test(&mut r, &w, out.path());
}

/// What the tests need of a replica, whatever its backend.
trait Exporter {
    fn export(&self, q: &Query, format: Format, out: &Path) -> Summary;
    fn try_export(&self, q: &Query, format: Format, out: &Path) -> Result<Summary, String>;
}

impl<B: Backend> Exporter for Replica<B> {
    fn export(&self, q: &Query, format: Format, out: &Path) -> Summary {
        export(self, q, format, out)
    }
    fn try_export(&self, q: &Query, format: Format, out: &Path) -> Result<Summary, String> {
        Export::export(self, q, format, out, &mut |_, _| {}).map_err(|e| e.to_string())
    }
}

#[test]
fn csv_adoptions_edges_and_their_data_package() {
    on_both(|r, w, out| {
        let path = out.join("practices.csv");
        let s = r.export(&Query::default(), Format::Csv, &path);
        assert_eq!(s.rows, 2);
        assert_eq!((s.adoptions, s.edges, s.seekings), (3, 3, 1));
        let raw = std::fs::read_to_string(out.join("adoptions.csv")).expect("read");
        assert!(!raw.contains('\r'));
        assert!(!raw.contains("Secret Person") && !raw.contains("secret@"));

        // adoptions.csv
        let (header, rows) = read_csv(&out.join("adoptions.csv"));
        assert_eq!(header, ADOPTION_COLUMNS);
        assert_eq!(rows.len(), 3);
        let ids: BTreeSet<&str> = rows.iter().map(|r| r["adoption_id"].as_str()).collect();
        assert_eq!(ids, BTreeSet::from(["BRA-1", "BRA-2", "KEN-1"]));
        let ken = find(&rows, "adoption_id", "KEN-1");
        assert_eq!(ken["record_id"], w.ken1.id.to_hex());
        assert_ne!(ken["record_id"], w.ken1_r1.id.to_hex());
        assert_eq!(ken["revision"], "2");
        assert_eq!(ken["publisher"], key(2).author().to_hex());
        assert_eq!(ken["author"], key(2).author().to_hex());
        assert_eq!(ken["signed_at"], "2026-01-01T00:00:00.003Z");
        assert_eq!(ken["licence"], "CC-BY-4.0");
        assert_eq!(ken["country"], "KEN");
        assert_eq!(ken["stage"], "scaled");
        assert_eq!(ken["period_start"], "2018-06");
        assert_eq!(ken["period_end"], "2024-12");
        assert_eq!(ken["gov_level"], "local");
        assert_eq!(ken["places"], "Makueni County; Kitui County");
        assert_eq!(
            ken["adaptation_en"],
            "Digital centres in ward offices, \"one-stop\"; two counties."
        );
        assert_eq!(
            ken["adaptation_sw"],
            "Vituo vya kidijitali katika ofisi za wadi."
        );
        assert_eq!(ken["adaptation_pt"], "");
        assert_eq!(ken["adaptation_original_language"], "sw");
        assert_eq!(ken["lessons_sw"], "Umeme wa uhakika ni muhimu.");
        assert_eq!(ken["lessons_original_language"], "sw");
        assert_eq!(ken["practice_member"], "");
        assert_eq!(ken["practice_key"], key(1).author().to_hex());
        assert_eq!(ken["practice_id"], "BGD-1");
        assert_eq!(ken["practice_record_followed"], w.bgd1.id.to_hex());
        assert_eq!(ken["practice_publisher"], key(1).author().to_hex());
        assert_eq!(ken["practice_record_id"], w.bgd1.id.to_hex());
        assert_eq!(ken["origin_countries"], "BGD;IND");
        assert_eq!(ken["years_from_origin"], "6.0");
        assert_eq!(ken["origin_time_bp"], "-7814");
        assert_eq!(ken["adopter_time_bp"], "-5520");
        assert_eq!(ken["origin_cost_bp"], "-8000");
        assert_eq!(ken["adopter_cost_bp"], "");
        assert_eq!(ken["origin_visits_bp"], "");
        assert_eq!(ken["adopter_visits_bp"], "-4100");

        let bra1 = find(&rows, "adoption_id", "BRA-1");
        assert_eq!(bra1["record_id"], w.bra1.id.to_hex());
        assert_eq!(bra1["practice_record_id"], w.bgd2.id.to_hex());
        assert_eq!(bra1["origin_countries"], "BGD");
        assert_eq!(bra1["years_from_origin"], "1.0");
        assert_eq!(bra1["adaptation_original_language"], "pt");
        assert_eq!(bra1["lessons_sw"], "");
        assert_eq!(bra1["lessons_original_language"], "");
        assert_eq!(bra1["period_end"], "");
        assert_eq!(bra1["practice_record_followed"], "");
        assert_eq!(bra1["places"], "");
        // A practice not yet received: the reference, nothing resolved.
        let bra2 = find(&rows, "adoption_id", "BRA-2");
        assert_eq!(bra2["record_id"], w.bra2.id.to_hex());
        assert_eq!(bra2["practice_key"], key(4).author().to_hex());
        assert_eq!(bra2["practice_id"], "PAK-1");
        for col in [
            "practice_publisher",
            "practice_record_id",
            "origin_countries",
            "years_from_origin",
            "origin_time_bp",
            "adopter_time_bp",
        ] {
            assert_eq!(bra2[col], "", "{col}");
        }

        // edges.csv: one row per adoption of a held practice and per
        // originating country.
        let (header, edges) = read_csv(&out.join("edges.csv"));
        assert_eq!(header, EDGE_COLUMNS);
        let got: BTreeSet<Vec<&str>> = edges
            .iter()
            .map(|e| EDGE_COLUMNS.iter().map(|c| e[*c].as_str()).collect())
            .collect();
        let (ken1, bra1, bgd1, bgd2) = (
            w.ken1.id.to_hex(),
            w.bra1.id.to_hex(),
            w.bgd1.id.to_hex(),
            w.bgd2.id.to_hex(),
        );
        let want: BTreeSet<Vec<&str>> = [
            vec![
                "BGD", "KEN", "BGD-1", "scaled", "KEN-1", "6.0", &ken1, &bgd1,
            ],
            vec![
                "IND", "KEN", "BGD-1", "scaled", "KEN-1", "6.0", &ken1, &bgd1,
            ],
            vec![
                "BGD",
                "BRA",
                "BGD-2",
                "exploring",
                "BRA-1",
                "1.0",
                &bra1,
                &bgd2,
            ],
        ]
        .into_iter()
        .map(|v| v.into_iter().map(|s| s as &str).collect())
        .collect();
        assert_eq!(got, want);

        // seekings.csv
        let (header, needs) = read_csv(&out.join("seekings.csv"));
        assert_eq!(needs.len(), 1);
        assert!(
            header.contains(&"title_en".to_string()) && header.contains(&"title_ne".to_string())
        );
        let n = &needs[0];
        assert_eq!(n["record_id"], w.need.id.to_hex());
        assert_eq!(n["seeking_id"], "NPL-NEED-1");
        assert_eq!(n["title_ne"], "तलबी कर्मचारी");
        assert_eq!(n["title_original_language"], "ne");
        assert_eq!(n["sdg_targets"], "16.5;16.6");
        assert_eq!(n["sectors_dac5"], "15111");
        assert_eq!(n["sectors_cofog"], "01.3");
        assert_eq!(n["languages"], "ne;en");
        assert_eq!(n["deadline"], "2027-06");
        assert_eq!(n["keywords"], "payroll; audit");

        // The data package: four resources, every column described, keys.
        let pkg: Json = serde_json::from_str(
            &std::fs::read_to_string(out.join(DATAPACKAGE_FILE)).expect("read package"),
        )
        .expect("package JSON");
        let res = pkg["resources"].as_array().expect("resources");
        let by_name = |n: &str| {
            res.iter()
                .find(|r| r["name"] == n)
                .unwrap_or_else(|| panic!("resource {n}"))
        };
        for (name, file) in [
            ("practices", "practices.csv"),
            ("adoptions", "adoptions.csv"),
            ("edges", "edges.csv"),
            ("seekings", "seekings.csv"),
        ] {
            let r = by_name(name);
            assert_eq!(r["path"], file);
            assert_eq!(r["profile"], "tabular-data-resource");
            let bytes = std::fs::metadata(out.join(file)).expect("file").len();
            assert_eq!(r["bytes"], json!(bytes), "{name}");
            let (header, _) = read_csv(&out.join(file));
            let fields = r["schema"]["fields"].as_array().expect("fields");
            let names: Vec<&str> = fields
                .iter()
                .map(|f| f["name"].as_str().expect("name"))
                .collect();
            assert_eq!(names, header, "{name}: schema fields are the header");
            for f in fields {
                assert!(
                    f["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{name}.{}",
                    f["name"]
                );
                assert!(
                    ["string", "integer", "number", "datetime", "boolean"]
                        .contains(&f["type"].as_str().expect("type")),
                    "{name}.{}",
                    f["name"]
                );
            }
        }
        let a = by_name("adoptions");
        let field = |r: &Json, n: &str| -> Json {
            r["schema"]["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .find(|f| f["name"] == n)
                .unwrap_or_else(|| panic!("field {n}"))
                .clone()
        };
        assert_eq!(a["schema"]["primaryKey"], "record_id");
        assert_eq!(field(a, "signed_at")["type"], "datetime");
        assert_eq!(field(a, "years_from_origin")["type"], "number");
        assert_eq!(field(a, "origin_time_bp")["type"], "integer");
        assert_eq!(field(a, "revision")["type"], "integer");
        assert_eq!(
            field(a, "stage")["constraints"]["enum"],
            json!(["exploring", "piloting", "scaled", "discontinued"])
        );
        assert_eq!(
            field(a, "record_id")["constraints"]["required"],
            json!(true)
        );
        assert!(field(a, "practice_record_id")["constraints"]["required"].is_null());
        // Every practice a report resolves to is exported: the key holds.
        assert_eq!(
            a["schema"]["foreignKeys"],
            json!([{"fields": "practice_record_id",
                    "reference": {"resource": "practices", "fields": "record_id"}}])
        );
        let e = by_name("edges");
        assert_eq!(
            e["schema"]["primaryKey"],
            json!(["adoption_record_id", "source"])
        );
        assert_eq!(
            e["schema"]["foreignKeys"],
            json!([
                {"fields": "adoption_record_id",
                 "reference": {"resource": "adoptions", "fields": "record_id"}},
                {"fields": "practice_record_id",
                 "reference": {"resource": "practices", "fields": "record_id"}}
            ])
        );
        let (_, practices) = read_csv(&path);
        let exported: BTreeSet<&str> = practices.iter().map(|p| p["record_id"].as_str()).collect();
        for a in &rows {
            let id = a["practice_record_id"].as_str();
            assert!(id.is_empty() || exported.contains(id), "{id}");
        }
        let licences: Vec<&Json> = pkg["licenses"]
            .as_array()
            .expect("licenses")
            .iter()
            .collect();
        assert_eq!(licences.len(), 1);
    });
}

#[test]
fn filtered_export_keeps_every_adoption_without_the_practice_key() {
    on_both(|r, w, out| {
        // Only BGD-2 matches: the reports are all written, but KEN-1's
        // practice is not in this practices file, so no foreign key to it.
        let q = Query {
            has_tcv: Some(false),
            ..Query::default()
        };
        let path = out.join("bgd2.csv");
        let s = r.export(&q, Format::Csv, &path);
        assert_eq!(s.rows, 1);
        assert_eq!((s.adoptions, s.edges, s.seekings), (3, 3, 1));
        let (_, practices) = read_csv(&path);
        assert_eq!(practices[0]["record_id"], w.bgd2.id.to_hex());
        let pkg: Json = serde_json::from_str(
            &std::fs::read_to_string(out.join(DATAPACKAGE_FILE)).expect("read package"),
        )
        .expect("package JSON");
        let res = pkg["resources"].as_array().expect("resources");
        assert_eq!(res[0]["name"], "bgd2");
        assert!(res[1]["schema"]["foreignKeys"].is_null());
        assert_eq!(
            res[2]["schema"]["foreignKeys"],
            json!([{"fields": "adoption_record_id",
                    "reference": {"resource": "adoptions", "fields": "record_id"}}])
        );
        // A file with a table's name is refused, before anything is written.
        let before = std::fs::read_dir(out).expect("dir").count();
        for (format, name) in [
            (Format::Csv, "edges.csv"),
            (Format::Csv, "Adoptions.CSV"),
            (Format::Parquet, "seekings.parquet"),
        ] {
            let err = r
                .try_export(&Query::default(), format, &out.join(name))
                .expect_err("refused");
            assert!(err.contains("cannot be named"), "{err}");
        }
        assert_eq!(std::fs::read_dir(out).expect("dir").count(), before);
    });
}

fn parquet_batches(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).expect("open parquet");
    ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet metadata")
        .build()
        .expect("reader")
        .map(|b| b.expect("record batch"))
        .collect()
}

fn str_at(b: &RecordBatch, col: &str, i: usize) -> Option<String> {
    let a = b.column_by_name(col).expect(col).as_string::<i32>();
    a.is_valid(i).then(|| a.value(i).to_string())
}

fn list_at(b: &RecordBatch, col: &str, i: usize) -> Option<Vec<String>> {
    let l = b.column_by_name(col).expect(col).as_list::<i32>();
    if l.is_null(i) {
        return None;
    }
    let v = l.value(i);
    let s = v.as_string::<i32>();
    Some((0..s.len()).map(|j| s.value(j).to_string()).collect())
}

fn map_at(b: &RecordBatch, col: &str, i: usize) -> Option<BTreeMap<String, String>> {
    let m = b.column_by_name(col).expect(col).as_map();
    if m.is_null(i) {
        return None;
    }
    let entries = m.value(i);
    let k = entries.column(0).as_string::<i32>();
    let v = entries.column(1).as_string::<i32>();
    Some(
        (0..entries.len())
            .map(|j| (k.value(j).to_string(), v.value(j).to_string()))
            .collect(),
    )
}

fn i64_at(b: &RecordBatch, col: &str, i: usize) -> Option<i64> {
    let a = b
        .column_by_name(col)
        .expect(col)
        .as_primitive::<Int64Type>();
    a.is_valid(i).then(|| a.value(i))
}

fn f64_at(b: &RecordBatch, col: &str, i: usize) -> Option<f64> {
    let a = b
        .column_by_name(col)
        .expect(col)
        .as_primitive::<Float64Type>();
    a.is_valid(i).then(|| a.value(i))
}

/// The row of `adoption_id` in a one-batch file.
fn row_of(b: &RecordBatch, adoption_id: &str) -> usize {
    (0..b.num_rows())
        .find(|i| str_at(b, "adoption_id", *i).as_deref() == Some(adoption_id))
        .unwrap_or_else(|| panic!("{adoption_id}"))
}

#[test]
fn parquet_adoptions_and_edges() {
    on_both(|r, w, out| {
        let path = out.join("practices.parquet");
        let s = r.export(&Query::default(), Format::Parquet, &path);
        assert_eq!((s.rows, s.adoptions, s.edges, s.seekings), (2, 3, 3, 1));

        let batches = parquet_batches(&out.join("adoptions.parquet"));
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.num_rows(), 3);
        // The CSV's columns, with each language map as one column.
        let schema = b.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let mut want: Vec<&str> = Vec::new();
        for c in ADOPTION_COLUMNS {
            let c = match c {
                "adaptation_en" | "adaptation_pt" | "adaptation_sw" => "adaptation",
                "lessons_sw" => "lessons",
                c => c,
            };
            if want.last() != Some(&c) {
                want.push(c);
            }
        }
        assert_eq!(names, want);
        let ty = |n: &str| schema.field_with_name(n).expect(n).data_type().clone();
        assert!(matches!(ty("adaptation"), DataType::Map(..)));
        assert!(matches!(ty("places"), DataType::List(..)));
        assert!(matches!(ty("origin_countries"), DataType::List(..)));
        assert_eq!(ty("years_from_origin"), DataType::Float64);
        assert_eq!(ty("origin_time_bp"), DataType::Int64);
        assert_eq!(ty("revision"), DataType::UInt64);
        assert_eq!(
            ty("signed_at"),
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        );
        assert!(
            !schema
                .field_with_name("record_id")
                .expect("id")
                .is_nullable()
        );
        assert!(schema.field_with_name("contact").is_err());

        let i = row_of(b, "KEN-1");
        assert_eq!(str_at(b, "record_id", i), Some(w.ken1.id.to_hex()));
        assert_eq!(
            b.column_by_name("revision")
                .expect("revision")
                .as_primitive::<UInt64Type>()
                .value(i),
            2
        );
        assert_eq!(
            list_at(b, "places", i),
            Some(vec!["Makueni County".into(), "Kitui County".into()])
        );
        let adaptation = map_at(b, "adaptation", i).expect("adaptation");
        assert_eq!(
            adaptation.keys().map(String::as_str).collect::<Vec<_>>(),
            ["en", "sw"]
        );
        assert_eq!(
            map_at(b, "lessons", i).expect("lessons")["sw"],
            "Umeme wa uhakika ni muhimu."
        );
        assert_eq!(
            list_at(b, "origin_countries", i),
            Some(vec!["BGD".into(), "IND".into()])
        );
        assert_eq!(str_at(b, "practice_record_id", i), Some(w.bgd1.id.to_hex()));
        assert_eq!(f64_at(b, "years_from_origin", i), Some(6.0));
        assert_eq!(i64_at(b, "origin_time_bp", i), Some(-7814));
        assert_eq!(i64_at(b, "adopter_time_bp", i), Some(-5520));
        assert_eq!(i64_at(b, "origin_cost_bp", i), Some(-8000));
        assert_eq!(i64_at(b, "adopter_cost_bp", i), None);
        assert_eq!(i64_at(b, "adopter_visits_bp", i), Some(-4100));

        let i = row_of(b, "BRA-1");
        assert_eq!(map_at(b, "lessons", i), None);
        assert_eq!(list_at(b, "places", i), Some(vec![]));
        assert_eq!(str_at(b, "period_end", i), None);
        let i = row_of(b, "BRA-2");
        assert_eq!(str_at(b, "practice_id", i).as_deref(), Some("PAK-1"));
        assert_eq!(str_at(b, "practice_record_id", i), None);
        assert_eq!(list_at(b, "origin_countries", i), None);
        assert_eq!(f64_at(b, "years_from_origin", i), None);

        let batches = parquet_batches(&out.join("edges.parquet"));
        let b = &batches[0];
        let schema = b.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, EDGE_COLUMNS);
        let mut edges: Vec<(String, String, String, Option<f64>)> = (0..b.num_rows())
            .map(|i| {
                (
                    str_at(b, "source", i).expect("source"),
                    str_at(b, "target", i).expect("target"),
                    str_at(b, "adoption_record_id", i).expect("adoption"),
                    f64_at(b, "years_from_origin", i),
                )
            })
            .collect();
        edges.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
        let (ken1, bra1) = (w.ken1.id.to_hex(), w.bra1.id.to_hex());
        assert_eq!(
            edges,
            [
                ("BGD".into(), "BRA".into(), bra1, Some(1.0)),
                ("BGD".into(), "KEN".into(), ken1.clone(), Some(6.0)),
                ("IND".into(), "KEN".into(), ken1, Some(6.0)),
            ]
        );

        let needs = parquet_batches(&out.join("seekings.parquet"));
        assert_eq!(needs[0].num_rows(), 1);
        assert_eq!(
            list_at(&needs[0], "languages", 0),
            Some(vec!["ne".into(), "en".into()])
        );
        assert_eq!(
            map_at(&needs[0], "title", 0).expect("title")["en"],
            "Ghost workers"
        );
    });
}

fn jsonl_kinds(path: &Path) -> BTreeMap<String, Vec<String>> {
    let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in std::fs::read_to_string(path).expect("read").lines() {
        let line: Json = serde_json::from_str(l).expect("a JSON line");
        let bytes = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            line["signed_record"].as_str().expect("base64"),
        )
        .expect("base64");
        let rec = record::check(bytes).expect("every line verifies");
        assert_eq!(line["id"], json!(rec.id().to_hex()));
        assert_eq!(line["kind"], json!(rec.envelope().kind));
        by_kind
            .entry(rec.envelope().kind.clone())
            .or_default()
            .push(rec.id().to_hex());
    }
    by_kind
}

#[test]
fn jsonl_carries_adoption_and_seeking_records() {
    on_both(|r, w, out| {
        let path = out.join("all.jsonl");
        let s = r.export(&Query::default(), Format::Jsonl, &path);
        assert_eq!((s.rows, s.adoptions, s.edges, s.seekings), (2, 3, 0, 1));
        let kinds = jsonl_kinds(&path);
        assert_eq!(kinds["practice"].len(), 2);
        let adoptions: BTreeSet<String> = kinds["adoption"].iter().cloned().collect();
        assert_eq!(
            adoptions,
            BTreeSet::from([w.ken1.id.to_hex(), w.bra1.id.to_hex(), w.bra2.id.to_hex()])
        );
        assert_eq!(kinds["seeking"], [w.need.id.to_hex()]);
        // Practices first, then adoptions, then seekings.
        let lines: Vec<Json> = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        let order: Vec<&str> = lines
            .iter()
            .map(|l| l["kind"].as_str().expect("kind"))
            .collect();
        let mut sorted = order.clone();
        sorted.sort_by_key(|k| {
            ["practice", "adoption", "seeking"]
                .iter()
                .position(|x| x == k)
        });
        assert_eq!(order, sorted);

        // With history: every revision that is not a withdrawal.
        let history = Query {
            history: true,
            ..Query::default()
        };
        let path = out.join("history.jsonl");
        let s = r.export(&history, Format::Jsonl, &path);
        assert_eq!((s.adoptions, s.seekings), (4, 1));
        assert!(jsonl_kinds(&path)["adoption"].contains(&w.ken1_r1.id.to_hex()));

        // With withdrawn chains too: BRA-3's active revision (never its
        // withdrawal record).
        let both = Query {
            history: true,
            include_withdrawn: true,
            ..Query::default()
        };
        let path = out.join("both.jsonl");
        let s = r.export(&both, Format::Jsonl, &path);
        assert_eq!(s.adoptions, 5);
        let withdrawn = Query {
            include_withdrawn: true,
            ..Query::default()
        };
        let s = r.export(&withdrawn, Format::Jsonl, &out.join("withdrawn.jsonl"));
        assert_eq!(s.adoptions, 4);
    });
}
