//! Exports (`setu_export`): JSON Lines, CSV with its Frictionless
//! data package, and Parquet, each read back with an independent reader (the
//! record checker, the `csv` crate, the `parquet` crate's Arrow reader).
//!
//! The tests run on the in-memory replica and on sled in a temporary
//! directory. `SETU_EXPORT_DIR=dir` makes `sample_catalogue_for_python`
//! leave its exports of the sample catalogue there for
//! `spec/tools/check_exports.py`. `memory_stays_flat` (ignored: slow)
//! compares the peak memory of exporting 2,000 and 8,000 practices.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMillisecondType, UInt8Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value as Json, json};
use setu_core::keys::SecretKey;
use setu_core::record;
use setu_export::{DATAPACKAGE_FILE, Export, Format, Summary};
use setu_store::Error;
use setu_store::backend::Backend;
use setu_store::backend::memory::MemoryBackend;
use setu_store::backend::sled::SledBackend;
use setu_store::query::{CountryFilter, MAX_LIMIT, Query};
use setu_store::replica::{Config, Published, Replica};

/// 2026-01-01T00:00:00Z, in ms.
const NOW: u64 = 1_767_225_600_000;
const SYNTH: u64 = 40;

fn memory() -> Replica<MemoryBackend> {
    Replica::in_memory(Config::default()).expect("in-memory replica")
}

fn disk(dir: &Path) -> Replica<SledBackend> {
    Replica::create(dir).expect("create the data directory");
    Replica::open(dir, Config::default()).expect("open the replica")
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

/// A practice in English, Bangla and Arabic, with all three TCV metrics
/// (one as published, two as raw values) and a contact that must not leak.
fn multilingual() -> Json {
    json!({
        "practice_id": "BGD-A2I-0001",
        "state": "active",
        "title": {"original": "bn", "text": {
            "bn": "ইউনিয়ন ডিজিটাল সেন্টার",
            "en": "Union Digital Centres, \"one-stop\"",
            "ar": "مراكز الاتحاد الرقمية"
        }, "machine_translated": ["ar"]},
        "summary": {"original": "en", "text": {
            "en": "One-stop digital service points,\nin every union.",
            "ar": "نقاط خدمة رقمية في كل اتحاد"
        }},
        "challenge": {"original": "en", "text": {"en": "Long trips; several visits."}},
        "solution": {"original": "en", "text": {"en": "A digital centre in each union."}},
        "lessons": {"original": "bn", "text": {"bn": "স্থানীয় উদ্যোক্তারা সফল।"}},
        "countries": [
            {"iso3": "BGD", "role": "originating"},
            {"iso3": "NPL", "role": "adopting"},
            {"iso3": "BTN", "role": "adopting"},
            {"iso3": "IND", "role": "partner"}
        ],
        "organisations": [
            {"name": "Aspire to Innovate (a2i)", "role": "implementing", "iso3": "BGD"},
            {"name": "UNDP", "role": "funding"}
        ],
        "sdg_targets": ["16.6", "9.c", "16.9"],
        "sectors": [{"vocabulary": "dac5", "code": "22040"}, {"vocabulary": "cofog", "code": "01.3"}],
        "status": 2,
        "period": {"start": "2010-11", "end": "2024"},
        "gov_level": "local",
        "exchange": "offering",
        "evidence_level": "independent_evaluation",
        "keywords": ["digital centre", "one-stop shop"],
        "urls": ["https://a2i.gov.bd/udc", "https://example.org/a;b"],
        "contact": {"name": "Secret Person", "email": "secret@example.org"},
        "recognition": [{"award": "UN Public Service Award", "year": 2014}],
        "reach": {"beneficiaries": 6_000_000, "as_of": "2023-06"},
        "replaces": ["BGD-A2I-0000"],
        "metrics": [
            {"kind": "time", "stage": "digital", "method": "survey", "sample_n": 1200,
             "source": "https://example.org/tcv", "change_bp": -7814},
            {"kind": "time", "stage": "sps", "method": "admin", "change_bp": -100},
            {"kind": "cost", "stage": "digital", "method": "survey", "baseline": 5000,
             "after": 1000, "unit": "minor_currency", "currency": "BDT", "price_year": 2020},
            {"kind": "visits", "stage": "digital", "method": "estimate", "baseline": 3,
             "after": 1, "unit": "count"}
        ]
    })
}

/// Publishes `SYNTH` synthetic practices (key 1) and the multilingual one
/// (key 2). Returns the multilingual practice's record.
fn populate<B: Backend>(r: &mut Replica<B>) -> Published {
    let k1 = key(1);
    for i in 0..SYNTH {
        r.publish(&k1, setu_store::synth::body(3, i), NOW - 1_000 + i)
            .expect("publish synthetic");
    }
    let p = r
        .publish(&key(2), multilingual(), NOW)
        .expect("publish multilingual");
    r.flush_index().expect("flush");
    p
}

fn all(q: Query) -> Query {
    Query {
        limit: MAX_LIMIT,
        ..q
    }
}

fn total<B: Backend>(r: &Replica<B>, q: &Query) -> u64 {
    r.query(&all(q.clone())).expect("query").total as u64
}

/// Exports, checking the progress calls on the way.
fn export<B: Backend>(r: &Replica<B>, q: &Query, format: Format, out: &Path) -> Summary {
    let mut calls: Vec<(u64, u64)> = Vec::new();
    let s = Export::export(r, q, format, out, &mut |done, total| {
        calls.push((done, total))
    })
    .expect("export");
    let last = *calls.last().expect("a progress call at the end");
    assert_eq!(last, (s.rows, s.rows), "{format}: the last progress call");
    for (done, _) in &calls[..calls.len() - 1] {
        assert_eq!(done % 1_000, 0, "{format}: progress every 1,000 rows");
    }
    let on_disk: u64 = s
        .files
        .iter()
        .map(|f| std::fs::metadata(f).expect("exported file").len())
        .sum();
    assert_eq!(s.bytes, on_disk);
    s
}

/// Every file in `dir`, by name: no temporary file is left behind.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------

fn jsonl_lines(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .expect("read jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

struct Csv {
    header: Vec<String>,
    rows: Vec<BTreeMap<String, String>>,
}

impl Csv {
    fn read(path: &Path) -> Csv {
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
        Csv { header, rows }
    }

    fn by_practice(&self, pid: &str) -> Vec<&BTreeMap<String, String>> {
        self.rows
            .iter()
            .filter(|r| r["practice_id"] == pid)
            .collect()
    }
}

fn parquet_batches(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).expect("open parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet metadata")
        .build()
        .expect("reader");
    reader.map(|b| b.expect("record batch")).collect()
}

fn parquet_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// The (batch, row) of a practice's first row in the Parquet export.
fn parquet_find<'a>(batches: &'a [RecordBatch], pid: &str) -> (&'a RecordBatch, usize) {
    for b in batches {
        let ids = b
            .column_by_name("practice_id")
            .expect("practice_id")
            .as_string::<i32>();
        if let Some(i) = (0..b.num_rows()).find(|i| ids.value(*i) == pid) {
            return (b, i);
        }
    }
    panic!("{pid} not in the parquet export");
}

fn str_at(b: &RecordBatch, col: &str, i: usize) -> Option<String> {
    let a = b.column_by_name(col).expect(col).as_string::<i32>();
    a.is_valid(i).then(|| a.value(i).to_string())
}

fn lang_map_at(b: &RecordBatch, col: &str, i: usize) -> Option<BTreeMap<String, String>> {
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

fn str_list_at(b: &RecordBatch, col: &str, i: usize) -> Vec<String> {
    let l = b.column_by_name(col).expect(col).as_list::<i32>();
    let v = l.value(i);
    let s = v.as_string::<i32>();
    (0..s.len()).map(|j| s.value(j).to_string()).collect()
}

// ---------------------------------------------------------------------------
// The tests, on both backends
// ---------------------------------------------------------------------------

fn on_both(test: fn(&mut dyn FnMut() -> Box<dyn Exporter>, &Path)) {
    let out = tempfile::tempdir().expect("tempdir");
    test(&mut || Box::new(memory()), out.path());
    let data = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    test(
        &mut || {
            n += 1;
            Box::new(disk(&data.path().join(format!("r{n}"))))
        },
        out.path(),
    );
}

/// What the tests need of a replica, whatever its backend.
trait Exporter {
    fn populate(&mut self) -> Published;
    fn publish(&mut self, k: &SecretKey, body: Json, now: u64) -> Published;
    fn withdraw(&mut self, k: &SecretKey, pid: &str) -> Published;
    fn total(&self, q: &Query) -> u64;
    fn export(&self, q: &Query, format: Format, out: &Path) -> Summary;
    fn try_export(&self, q: &Query, format: Format, out: &Path) -> Result<Summary, Error>;
    fn check_record(&self, id: &str) -> Vec<u8>;
}

impl<B: Backend> Exporter for Replica<B> {
    fn populate(&mut self) -> Published {
        populate(self)
    }
    fn publish(&mut self, k: &SecretKey, body: Json, now: u64) -> Published {
        let p = Replica::publish(self, k, body, now).expect("publish");
        self.flush_index().expect("flush");
        p
    }
    fn withdraw(&mut self, k: &SecretKey, pid: &str) -> Published {
        let p = Replica::withdraw(self, k, pid, "merged", NOW + 5_000).expect("withdraw");
        self.flush_index().expect("flush");
        p
    }
    fn total(&self, q: &Query) -> u64 {
        total(self, q)
    }
    fn export(&self, q: &Query, format: Format, out: &Path) -> Summary {
        export(self, q, format, out)
    }
    fn try_export(&self, q: &Query, format: Format, out: &Path) -> Result<Summary, Error> {
        Export::export(self, q, format, out, &mut |_, _| {})
    }
    fn check_record(&self, id: &str) -> Vec<u8> {
        let id = id.parse().expect("record id");
        self.get(&id)
            .expect("get")
            .expect("stored")
            .bytes()
            .to_vec()
    }
}

#[test]
fn jsonl_lines_are_the_signed_records() {
    on_both(|mk, out| {
        let mut r = mk();
        let p = r.populate();
        let q = Query::default();
        let path = out.join("practices.jsonl");
        let s = r.export(&q, Format::Jsonl, &path);
        assert_eq!(s.files, vec![path.clone()]);
        let lines = jsonl_lines(&path);
        assert_eq!(lines.len() as u64, r.total(&q));
        assert_eq!(s.rows, SYNTH + 1);
        assert_eq!(lines.len() as u64, s.rows);
        for line in &lines {
            let keys: Vec<&str> = line
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                [
                    "id",
                    "author",
                    "seq",
                    "ts",
                    "kind",
                    "signed_record",
                    "envelope"
                ]
            );
            let bytes = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                line["signed_record"].as_str().expect("base64"),
            )
            .expect("base64");
            let rec = record::check(bytes.clone()).expect("every line verifies");
            assert_eq!(line["id"], json!(rec.id().to_hex()));
            assert_eq!(line["author"], json!(rec.envelope().author.to_hex()));
            assert_eq!(line["seq"], json!(rec.envelope().seq));
            assert_eq!(line["ts"], json!(rec.envelope().ts));
            assert_eq!(line["kind"], json!("practice"));
            assert_eq!(line["envelope"], rec.envelope_json());
            assert_eq!(bytes, r.check_record(line["id"].as_str().expect("id")));
        }
        let ours = lines
            .iter()
            .find(|l| l["id"] == json!(p.id.to_hex()))
            .expect("the multilingual record");
        assert_eq!(
            ours["envelope"]["body"]["title"]["text"]["bn"],
            json!("ইউনিয়ন ডিজিটাল সেন্টার")
        );
        assert_eq!(names(out), ["practices.jsonl"]);
    });
}

#[test]
fn csv_rows_columns_and_data_package() {
    on_both(|mk, out| {
        let mut r = mk();
        let p = r.populate();
        let q = Query::default();
        let path = out.join("practices.csv");
        let s = r.export(&q, Format::Csv, &path);
        let package_path = out.join(DATAPACKAGE_FILE);
        assert_eq!(
            s.files,
            vec![
                path.clone(),
                out.join("adoptions.csv"),
                out.join("edges.csv"),
                out.join("seekings.csv"),
                package_path.clone()
            ]
        );
        assert_eq!(s.files, setu_export::export_files(Format::Csv, &path));
        assert_eq!(
            names(out),
            [
                "adoptions.csv",
                "datapackage.json",
                "edges.csv",
                "practices.csv",
                "seekings.csv"
            ]
        );
        // No adoption reports or needs: the tables have a header only.
        assert_eq!((s.adoptions, s.edges, s.seekings), (0, 0, 0));
        assert_eq!(Csv::read(&out.join("edges.csv")).rows.len(), 0);

        let raw = std::fs::read_to_string(&path).expect("read csv");
        assert!(!raw.contains('\r'), "\\n line ends");
        assert!(!raw.contains("Secret Person") && !raw.contains("secret@"));
        let csv = Csv::read(&path);
        assert_eq!(csv.rows.len() as u64, r.total(&q));
        assert_eq!(s.rows, csv.rows.len() as u64);
        let h: Vec<&str> = csv.header.iter().map(String::as_str).collect();
        assert_eq!(
            h[..9],
            [
                "record_id",
                "practice_id",
                "revision",
                "supersedes",
                "author",
                "seq",
                "signed_at",
                "licence",
                "withdrawn"
            ]
        );
        // Languages: en first, then alphabetical; only those that occur.
        let titles: Vec<&str> = h
            .iter()
            .copied()
            .filter(|c| c.starts_with("title_") && *c != "title_original_language")
            .collect();
        assert_eq!(titles[0], "title_en");
        assert!(titles.contains(&"title_bn") && titles.contains(&"title_ar"));
        let mut rest = titles[1..].to_vec();
        rest.sort_unstable();
        assert_eq!(rest, titles[1..]);
        assert!(h.contains(&"summary_ar") && h.contains(&"lessons_bn"));
        assert!(!h.contains(&"lessons_en") && !h.contains(&"replication_potential_en"));
        assert!(!h.iter().any(|c| c.contains("contact")));
        assert_eq!(
            h[h.len() - 4..],
            [
                "tcv_time_change_pct",
                "tcv_cost_change_pct",
                "tcv_visits_change_pct",
                "metrics_count"
            ]
        );

        let rows = csv.by_practice("BGD-A2I-0001");
        assert_eq!(rows.len(), 1);
        let row = rows[0];
        assert_eq!(row["record_id"], p.id.to_hex());
        assert_eq!(row["revision"], "1");
        assert_eq!(row["supersedes"], "");
        assert_eq!(row["author"], key(2).author().to_hex());
        assert_eq!(row["signed_at"], "2026-01-01T00:00:00.000Z");
        assert_eq!(row["licence"], "CC-BY-4.0");
        assert_eq!(row["withdrawn"], "false");
        assert_eq!(row["title_bn"], "ইউনিয়ন ডিজিটাল সেন্টার");
        assert_eq!(row["title_en"], "Union Digital Centres, \"one-stop\"");
        assert_eq!(row["title_ar"], "مراكز الاتحاد الرقمية");
        assert_eq!(
            row["summary_en"],
            "One-stop digital service points,\nin every union."
        );
        assert_eq!(row["summary_bn"], "");
        assert_eq!(row["lessons_bn"], "স্থানীয় উদ্যোক্তারা সফল।");
        assert_eq!(row["title_original_language"], "bn");
        assert_eq!(row["countries_originating"], "BGD");
        assert_eq!(row["countries_adopting"], "NPL;BTN");
        assert_eq!(row["countries_partner"], "IND");
        assert_eq!(row["sdg_targets"], "16.6;9.c;16.9");
        assert_eq!(row["sdg_goals"], "9;16");
        assert_eq!(row["sectors_dac5"], "22040");
        assert_eq!(row["sectors_cofog"], "01.3");
        assert_eq!(row["status"], "2");
        assert_eq!(row["status_name"], "Implementation");
        assert_eq!(row["gov_level"], "local");
        assert_eq!(row["period_start"], "2010-11");
        assert_eq!(row["period_end"], "2024");
        assert_eq!(row["keywords"], "digital centre; one-stop shop");
        assert_eq!(
            row["urls"],
            "https://a2i.gov.bd/udc; https://example.org/a;b"
        );
        assert_eq!(
            row["organisations"],
            "Aspire to Innovate (a2i) (implementing); UNDP (funding)"
        );
        assert_eq!(row["exchange"], "offering");
        assert_eq!(row["evidence_level"], "independent_evaluation");
        assert_eq!(row["recognition"], "UN Public Service Award (2014)");
        assert_eq!(row["reach_beneficiaries"], "6000000");
        assert_eq!(row["reach_as_of"], "2023-06");
        assert_eq!(row["replaces"], "BGD-A2I-0000");
        assert_eq!(row["tcv_time_change_pct"], "-78.14");
        assert_eq!(row["tcv_cost_change_pct"], "-80.00");
        assert_eq!(row["tcv_visits_change_pct"], "-66.66");
        assert_eq!(row["metrics_count"], "4");

        // A synthetic practice without lessons or metrics: empty cells.
        let syn = csv
            .rows
            .iter()
            .find(|r| r["metrics_count"] == "0")
            .expect("a practice without metrics");
        assert_eq!(syn["tcv_time_change_pct"], "");
        assert_eq!(syn["lessons_bn"], "");
        assert_eq!(syn["licence"], "CC-BY-4.0");

        // The data package describes exactly these columns.
        let pkg: Json =
            serde_json::from_str(&std::fs::read_to_string(&package_path).expect("read package"))
                .expect("package JSON");
        assert_eq!(pkg["name"], "setu-practices");
        assert_eq!(pkg["profile"], "tabular-data-package");
        assert_eq!(pkg["licenses"][0]["name"], "CC-BY-4.0");
        assert!(pkg["created"].as_str().expect("created").ends_with('Z'));
        let resources: Vec<&str> = pkg["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .map(|r| r["name"].as_str().expect("name"))
            .collect();
        assert_eq!(resources, ["practices", "adoptions", "edges", "seekings"]);
        let res = &pkg["resources"][0];
        assert_eq!(res["path"], "practices.csv");
        assert_eq!(res["profile"], "tabular-data-resource");
        assert_eq!(res["format"], "csv");
        assert_eq!(res["mediatype"], "text/csv");
        assert_eq!(res["encoding"], "utf-8");
        assert_eq!(res["bytes"], json!(raw.len()));
        assert_eq!(res["schema"]["primaryKey"], "record_id");
        let fields = res["schema"]["fields"].as_array().expect("fields");
        let field_names: Vec<&str> = fields
            .iter()
            .map(|f| f["name"].as_str().expect("name"))
            .collect();
        assert_eq!(field_names, h);
        let field = |n: &str| {
            fields
                .iter()
                .find(|f| f["name"] == n)
                .unwrap_or_else(|| panic!("field {n}"))
        };
        for f in fields {
            assert!(f["description"].as_str().is_some_and(|d| !d.is_empty()));
        }
        assert_eq!(field("status")["type"], "integer");
        assert_eq!(
            field("status")["constraints"]["enum"],
            json!([1, 2, 3, 4, 5, 6])
        );
        assert_eq!(field("signed_at")["type"], "datetime");
        assert_eq!(field("withdrawn")["type"], "boolean");
        assert_eq!(field("tcv_time_change_pct")["type"], "number");
        assert_eq!(
            field("gov_level")["constraints"]["enum"],
            json!(["national", "subnational", "local"])
        );
        for n in ["record_id", "practice_id", "revision"] {
            assert_eq!(field(n)["constraints"]["required"], json!(true), "{n}");
        }
        assert_eq!(field("record_id")["constraints"]["pattern"], "[0-9a-f]{64}");
        let originals = field("title_original_language")["constraints"]["enum"]
            .as_array()
            .expect("enum")
            .clone();
        assert!(originals.contains(&json!("bn")));
    });
}

#[test]
fn parquet_rows_and_nested_values() {
    on_both(|mk, out| {
        let mut r = mk();
        let p = r.populate();
        let q = Query::default();
        let path = out.join("practices.parquet");
        let s = r.export(&q, Format::Parquet, &path);
        assert_eq!(s.files, setu_export::export_files(Format::Parquet, &path));
        assert_eq!(
            names(out),
            [
                "adoptions.parquet",
                "edges.parquet",
                "practices.parquet",
                "seekings.parquet"
            ]
        );
        assert_eq!(
            parquet_rows(&parquet_batches(&out.join("edges.parquet"))),
            0
        );
        let batches = parquet_batches(&path);
        assert_eq!(parquet_rows(&batches) as u64, r.total(&q));
        assert_eq!(s.rows, r.total(&q));

        let schema = batches[0].schema();
        assert!(matches!(
            schema.field_with_name("title").expect("title").data_type(),
            DataType::Map(..)
        ));
        assert!(
            schema
                .field_with_name("lessons")
                .expect("lessons")
                .is_nullable()
        );
        assert!(
            !schema
                .field_with_name("title")
                .expect("title")
                .is_nullable()
        );
        assert!(schema.field_with_name("contact").is_err());
        assert_eq!(
            schema.field_with_name("signed_at").expect("ts").data_type(),
            &DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, Some("UTC".into()))
        );

        let (b, i) = parquet_find(&batches, "BGD-A2I-0001");
        assert_eq!(str_at(b, "record_id", i), Some(p.id.to_hex()));
        assert_eq!(str_at(b, "supersedes", i), None);
        assert_eq!(str_at(b, "author", i), Some(key(2).author().to_hex()));
        assert_eq!(
            b.column_by_name("revision")
                .expect("rev")
                .as_primitive::<UInt64Type>()
                .value(i),
            1
        );
        assert_eq!(
            b.column_by_name("signed_at")
                .expect("ts")
                .as_primitive::<TimestampMillisecondType>()
                .value(i),
            NOW as i64
        );
        assert!(
            !b.column_by_name("withdrawn")
                .expect("w")
                .as_boolean()
                .value(i)
        );
        let title = lang_map_at(b, "title", i).expect("title");
        assert_eq!(title["bn"], "ইউনিয়ন ডিজিটাল সেন্টার");
        assert_eq!(title["ar"], "مراكز الاتحاد الرقمية");
        assert_eq!(title.len(), 3);
        assert_eq!(lang_map_at(b, "replication_potential", i), None);
        assert_eq!(
            lang_map_at(b, "lessons", i).expect("lessons")["bn"],
            "স্থানীয় উদ্যোক্তারা সফল।"
        );
        assert_eq!(
            str_at(b, "title_original_language", i).as_deref(),
            Some("bn")
        );
        assert_eq!(str_list_at(b, "sdg_targets", i), ["16.6", "9.c", "16.9"]);
        let goals = b
            .column_by_name("sdg_goals")
            .expect("goals")
            .as_list::<i32>()
            .value(i);
        assert_eq!(goals.as_primitive::<UInt8Type>().values().to_vec(), [9, 16]);
        assert_eq!(str_list_at(b, "urls", i)[1], "https://example.org/a;b");
        assert_eq!(str_list_at(b, "replaces", i), ["BGD-A2I-0000"]);
        assert_eq!(str_at(b, "period_end", i).as_deref(), Some("2024"));

        let countries = b
            .column_by_name("countries")
            .expect("c")
            .as_list::<i32>()
            .value(i);
        let countries = countries.as_struct();
        assert_eq!(countries.len(), 4);
        assert_eq!(
            countries
                .column_by_name("role")
                .expect("role")
                .as_string::<i32>()
                .value(1),
            "adopting"
        );
        let orgs = b
            .column_by_name("organisations")
            .expect("o")
            .as_list::<i32>()
            .value(i);
        let iso3 = orgs
            .as_struct()
            .column_by_name("iso3")
            .expect("iso3")
            .as_string::<i32>()
            .clone();
        assert_eq!((iso3.value(0), iso3.is_null(1)), ("BGD", true));
        let rec = b
            .column_by_name("recognition")
            .expect("r")
            .as_list::<i32>()
            .value(i);
        assert_eq!(
            rec.as_struct()
                .column_by_name("year")
                .expect("year")
                .as_primitive::<arrow_array::types::UInt16Type>()
                .value(0),
            2014
        );
        let metrics = b
            .column_by_name("metrics")
            .expect("m")
            .as_list::<i32>()
            .value(i);
        let metrics = metrics.as_struct();
        assert_eq!(metrics.len(), 4);
        let bp = metrics
            .column_by_name("change_bp")
            .expect("bp")
            .as_primitive::<Int64Type>();
        assert_eq!(bp.values().to_vec(), [-7814, -100, -8000, -6666]);
        let currency = metrics
            .column_by_name("currency")
            .expect("cur")
            .as_string::<i32>();
        assert_eq!(currency.value(2), "BDT");
        assert!(currency.is_null(0));
        let tcv = |c: &str| {
            let a = b.column_by_name(c).expect(c).as_primitive::<Int64Type>();
            a.is_valid(i).then(|| a.value(i))
        };
        assert_eq!(tcv("tcv_time_change_bp"), Some(-7814));
        assert_eq!(tcv("tcv_cost_change_bp"), Some(-8000));
        assert_eq!(tcv("tcv_visits_change_bp"), Some(-6666));
        assert_eq!(
            b.column_by_name("reach_beneficiaries")
                .expect("reach")
                .as_primitive::<UInt64Type>()
                .value(i),
            6_000_000
        );
    });
}

#[test]
fn history_gives_one_row_per_revision() {
    on_both(|mk, out| {
        let mut r = mk();
        let first = r.populate();
        let mut body = multilingual();
        body["title"]["text"]["en"] = json!("Union Digital Centres (revised)");
        let second = r.publish(&key(2), body, NOW + 1_000);
        assert_eq!(second.revision, 2);
        let current = Query::default();
        let history = Query {
            history: true,
            ..Query::default()
        };
        assert_eq!(r.total(&current), SYNTH + 1);
        assert_eq!(r.total(&history), SYNTH + 2);

        let path = out.join("current.csv");
        r.export(&current, Format::Csv, &path);
        let csv = Csv::read(&path);
        assert_eq!(csv.rows.len() as u64, SYNTH + 1);
        let rows = csv.by_practice("BGD-A2I-0001");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["revision"], "2");
        assert_eq!(rows[0]["title_en"], "Union Digital Centres (revised)");

        let path = out.join("history.csv");
        let s = r.export(&history, Format::Csv, &path);
        assert_eq!(s.rows, SYNTH + 2);
        let csv = Csv::read(&path);
        assert_eq!(csv.rows.len() as u64, SYNTH + 2);
        let mut rows = csv.by_practice("BGD-A2I-0001");
        rows.sort_by_key(|r| r["revision"].clone());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["record_id"], first.id.to_hex());
        assert_eq!(rows[1]["record_id"], second.id.to_hex());
        assert_eq!(rows[1]["supersedes"], first.id.to_hex());

        let path = out.join("history.parquet");
        r.export(&history, Format::Parquet, &path);
        let batches = parquet_batches(&path);
        assert_eq!(parquet_rows(&batches) as u64, SYNTH + 2);

        let path = out.join("history.jsonl");
        r.export(&history, Format::Jsonl, &path);
        let lines = jsonl_lines(&path);
        assert_eq!(lines.len() as u64, SYNTH + 2);
        assert!(lines.iter().any(|l| l["id"] == json!(first.id.to_hex())));
    });
}

#[test]
fn withdrawn_practices_only_when_asked() {
    on_both(|mk, out| {
        let mut r = mk();
        r.populate();
        let victim = setu_store::synth::body(3, 0)["practice_id"]
            .as_str()
            .expect("pid")
            .to_string();
        r.withdraw(&key(1), &victim);
        let plain = Query::default();
        let with = Query {
            include_withdrawn: true,
            ..Query::default()
        };
        assert_eq!(r.total(&plain), SYNTH);
        assert_eq!(r.total(&with), SYNTH + 1);

        let path = out.join("plain.csv");
        r.export(&plain, Format::Csv, &path);
        let csv = Csv::read(&path);
        assert_eq!(csv.rows.len() as u64, SYNTH);
        assert!(csv.by_practice(&victim).is_empty());
        assert!(csv.rows.iter().all(|r| r["withdrawn"] == "false"));

        let path = out.join("with.csv");
        r.export(&with, Format::Csv, &path);
        let csv = Csv::read(&path);
        assert_eq!(csv.rows.len() as u64, SYNTH + 1);
        let rows = csv.by_practice(&victim);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["withdrawn"], "true");
        assert_eq!(
            csv.rows.iter().filter(|r| r["withdrawn"] == "true").count(),
            1
        );

        let path = out.join("with.parquet");
        r.export(&with, Format::Parquet, &path);
        let batches = parquet_batches(&path);
        assert_eq!(parquet_rows(&batches) as u64, SYNTH + 1);
        let (b, i) = parquet_find(&batches, &victim);
        assert!(
            b.column_by_name("withdrawn")
                .expect("w")
                .as_boolean()
                .value(i)
        );

        let path = out.join("plain.parquet");
        r.export(&plain, Format::Parquet, &path);
        assert_eq!(parquet_rows(&parquet_batches(&path)) as u64, SYNTH);

        let path = out.join("with.jsonl");
        r.export(&with, Format::Jsonl, &path);
        assert_eq!(jsonl_lines(&path).len() as u64, SYNTH + 1);
    });
}

#[test]
fn filters_apply_and_limit_is_ignored() {
    on_both(|mk, out| {
        let mut r = mk();
        r.populate();
        let q = Query {
            countries: vec![CountryFilter {
                iso3: "BGD".into(),
                role: None,
            }],
            limit: 1,
            offset: 0,
            ..Query::default()
        };
        let n = r.total(&q);
        assert!(n >= 1);
        for format in Format::ALL {
            let path = out.join(format!("bgd.{format}"));
            let s = r.export(&q, format, &path);
            assert_eq!(s.rows, n, "{format}");
        }
        let csv = Csv::read(&out.join("bgd.csv"));
        assert!(
            csv.rows
                .iter()
                .all(|r| r["countries_originating"].contains("BGD")
                    || r["countries_adopting"].contains("BGD")
                    || r["countries_partner"].contains("BGD"))
        );
        // No match: a header and a data package, an empty JSONL, a valid Parquet.
        let none = Query {
            text: Some("zzzznothingmatches".into()),
            ..Query::default()
        };
        assert_eq!(r.total(&none), 0);
        let s = r.export(&none, Format::Csv, &out.join("none.csv"));
        assert_eq!(s.rows, 0);
        assert_eq!(Csv::read(&out.join("none.csv")).rows.len(), 0);
        let s = r.export(&none, Format::Parquet, &out.join("none.parquet"));
        assert_eq!(s.rows, 0);
        assert_eq!(parquet_rows(&parquet_batches(&out.join("none.parquet"))), 0);
        let s = r.export(&none, Format::Jsonl, &out.join("none.jsonl"));
        assert_eq!((s.rows, s.bytes), (0, 0));
    });
}

#[test]
fn missing_directory_is_a_clear_error_and_leaves_nothing() {
    on_both(|mk, out| {
        let mut r = mk();
        r.populate();
        let dir = out.join("no-such-dir");
        for format in Format::ALL {
            let path = dir.join(format!("x.{format}"));
            match r.try_export(&Query::default(), format, &path) {
                Err(Error::Io(msg)) => {
                    assert!(msg.contains(&path.display().to_string()), "{msg}");
                    assert!(msg.contains("does not exist"), "{msg}");
                }
                other => panic!("{format}: expected an Io error, got {other:?}"),
            }
            assert!(!path.exists());
        }
        assert!(!dir.exists());
        assert!(names(out).is_empty());
    });
}

/// A record the index names and the store lacks (read on the export's
/// reading thread) stops the export with an error naming it, in every
/// format, and leaves no file behind.
#[test]
fn a_record_missing_from_the_store_stops_the_export() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let mut r = disk(data.path());
    let p = populate(&mut r);
    let mut k = vec![b'r'];
    k.extend_from_slice(&p.id.0);
    r.store().backend().apply(vec![(k, None)]).expect("remove");
    for format in Format::ALL {
        let path = out.path().join(format!("x.{format}"));
        match Export::export(&r, &Query::default(), format, &path, &mut |_, _| {}) {
            Err(Error::Corrupt(msg)) => {
                assert!(msg.contains(&p.id.to_string()), "{format}: {msg}");
                assert!(msg.contains("not in the store"), "{format}: {msg}");
            }
            other => panic!("{format}: expected Corrupt, got {other:?}"),
        }
    }
    assert!(names(out.path()).is_empty(), "{:?}", names(out.path()));
}

#[test]
fn existing_file_is_replaced_whole() {
    let mut r = memory();
    populate(&mut r);
    let out = tempfile::tempdir().expect("tempdir");
    let path = out.path().join("p.jsonl");
    std::fs::write(&path, "old content\n".repeat(10_000)).expect("write");
    let s = export(&r, &Query::default(), Format::Jsonl, &path);
    assert_eq!(jsonl_lines(&path).len() as u64, s.rows);
    assert_eq!(names(out.path()), ["p.jsonl"]);
}

/// More than one batch (1,024 rows) and progress every 1,000 rows.
#[test]
fn large_export_streams_in_batches() {
    const N: u64 = 2_500;
    let mut r = memory();
    let lines: String = setu_store::synth::bodies(9, N)
        .map(|b| format!("{b}\n"))
        .collect();
    let done = r
        .import(&mut Cursor::new(lines), &key(5), NOW, false, &mut |_, _| {})
        .expect("import");
    assert_eq!(done.imported as u64, N);
    let out = tempfile::tempdir().expect("tempdir");
    let q = Query::default();
    for format in Format::ALL {
        let path = out.path().join(format!("big.{format}"));
        let mut calls = Vec::new();
        let s =
            Export::export(&r, &q, format, &path, &mut |d, t| calls.push((d, t))).expect("export");
        assert_eq!(s.rows, N);
        assert_eq!(
            calls,
            [(1_000, N), (2_000, N), (N, N)],
            "{format}: progress calls"
        );
    }
    let batches = parquet_batches(&out.path().join("big.parquet"));
    assert_eq!(parquet_rows(&batches) as u64, N);
    let meta = ParquetRecordBatchReaderBuilder::try_new(
        File::open(out.path().join("big.parquet")).expect("open"),
    )
    .expect("meta")
    .metadata()
    .clone();
    assert_eq!(meta.file_metadata().num_rows() as u64, N);
    assert_eq!(Csv::read(&out.path().join("big.csv")).rows.len() as u64, N);
    assert_eq!(jsonl_lines(&out.path().join("big.jsonl")).len() as u64, N);
}

/// The sample catalogue with its sample adoption reports and needs
/// (`node/data/sample/`), exported in every format: into `SETU_EXPORT_DIR`
/// when set (for `spec/tools/check_exports.py DIR ROWS ADOPTIONS`), else a
/// temporary directory. The practices are imported under one key; each
/// sample member (`by`) signs its adoptions and needs with a key of its
/// own, and the adoptions name their practice by that one key (an open
/// network has no member ids).
#[test]
fn sample_catalogue_for_python() {
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../node/data/sample");
    let text =
        std::fs::read_to_string(sample.join("practices.jsonl")).expect("the sample catalogue");
    let mut r = memory();
    let publisher = key(7);
    let done = r
        .import(
            &mut Cursor::new(text),
            &publisher,
            NOW,
            false,
            &mut |_, _| {},
        )
        .expect("import");
    assert_eq!(done.rejected, 0);
    let members: BTreeMap<&str, SecretKey> = [("bgd-a2i", 8), ("ken-huduma", 9), ("bra-govbr", 10)]
        .into_iter()
        .map(|(m, n)| (m, key(n)))
        .collect();
    let mut published = BTreeMap::<&str, u64>::new();
    for (kind, file) in [
        ("adoption", "adoptions.jsonl"),
        ("seeking", "seekings.jsonl"),
    ] {
        let text = std::fs::read_to_string(sample.join(file)).expect("the sample records");
        for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let mut body: Json = serde_json::from_str(line).expect("a JSON line");
            let by = body
                .as_object_mut()
                .and_then(|o| o.remove("by"))
                .expect("by");
            let signer = &members[by.as_str().expect("member id")];
            if let Some(p) = body.get_mut("practice") {
                let pid = p["practice_id"].clone();
                *p = json!({"key": publisher.author().to_hex(), "practice_id": pid});
            }
            r.publish_kind(signer, kind, body, NOW + 1 + i as u64)
                .unwrap_or_else(|e| panic!("{file} line {}: {e:?}", i + 1));
            *published.entry(kind).or_default() += 1;
        }
    }
    r.flush_index().expect("flush");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir =
        std::env::var_os("SETU_EXPORT_DIR").map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("create the export directory");
    let q = Query::default();
    let n = total(&r, &q);
    for (format, name) in [
        (Format::Jsonl, "practices.jsonl"),
        (Format::Csv, "practices.csv"),
        (Format::Parquet, "practices.parquet"),
    ] {
        let s = export(&r, &q, format, &dir.join(name));
        assert_eq!(s.rows, n);
        assert_eq!(s.adoptions, published["adoption"], "{format}");
        assert_eq!(s.seekings, published["seeking"], "{format}");
    }
    // Every sample adoption names a sample practice: each has an edge.
    let edges = Csv::read(&dir.join("edges.csv"));
    let adopted: std::collections::BTreeSet<&str> = edges
        .rows
        .iter()
        .map(|e| e["adoption_record_id"].as_str())
        .collect();
    assert_eq!(adopted.len() as u64, published["adoption"]);
    std::fs::write(dir.join("expected_rows"), format!("{n}\n")).expect("write count");
    std::fs::write(
        dir.join("expected_adoptions"),
        format!("{}\n", published["adoption"]),
    )
    .expect("write count");
}

/// Peak memory (VmHWM) since the last reset, in KiB; Linux only.
fn peak_kib_reset() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    Some(kib)
}

/// The export's working memory does not grow with the catalogue: peak RSS
/// while exporting 8,000 practices is within a few MiB of 2,000. Slow
/// (imports 10,000 practices); run with `--ignored`, as `.ci/run` does.
#[test]
#[ignore = "slow; measures memory (Linux); .ci/run runs it"]
fn memory_stays_flat() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut growth = Vec::new();
    for (seed, n) in [(11u64, 2_000u64), (12, 8_000)] {
        let mut r = memory();
        let lines: String = setu_store::synth::bodies(seed, n)
            .map(|b| format!("{b}\n"))
            .collect();
        r.import(&mut Cursor::new(lines), &key(6), NOW, false, &mut |_, _| {})
            .expect("import");
        for format in Format::ALL {
            let path = out.path().join(format!("m{n}.{format}"));
            // Linux only; .ci/run runs it, and there it must measure. Reset
            // first: right after a reset the peak is the current RSS, which
            // is the base this export's growth is measured from.
            peak_kib_reset().expect("peak RSS from /proc/self/status");
            let base = peak_kib_reset().expect("peak RSS from /proc/self/status");
            Export::export(&r, &Query::default(), format, &path, &mut |_, _| {}).expect("export");
            let peak = peak_kib_reset().unwrap_or(0);
            eprintln!(
                "{n} practices, {format}: peak {} KiB over {base} KiB",
                peak.saturating_sub(base)
            );
            growth.push((n, format, peak.saturating_sub(base)));
        }
    }
    for format in Format::ALL {
        let small = growth
            .iter()
            .find(|g| g.0 == 2_000 && g.1 == format)
            .map_or(0, |g| g.2);
        let large = growth
            .iter()
            .find(|g| g.0 == 8_000 && g.1 == format)
            .map_or(0, |g| g.2);
        assert!(
            large <= small + 16 * 1024,
            "{format}: {large} KiB for 8,000 practices, {small} KiB for 2,000"
        );
    }
}
