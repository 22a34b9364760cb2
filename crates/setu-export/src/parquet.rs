//! Parquet: one row per practice (per revision with history), lists and
//! language maps kept nested, Snappy-compressed, written in record batches
//! of at most [`BATCH_ROWS`] rows.
//!
//! Text fields are `Map<Utf8, Utf8>` (language → text). `metrics[].change_bp`
//! is [`Metric::change_bp`]: as published, or computed from `baseline` and
//! `after` (a metric was published as a change when its `baseline` is null).
//! `tcv_{time,cost,visits}_change_bp` repeat it for the first metric of each
//! kind.
//!
//! Beside it, `adoptions.parquet`, `edges.parquet` and `seekings.parquet`
//! hold the same columns as the CSV tables of those names (`tables.rs`),
//! with lists kept as lists and texts as maps (language → text).

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, MapBuilder, OffsetBufferBuilder,
    StringBuilder, TimestampMillisecondBuilder, UInt8Builder, UInt16Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use setu_core::practice::{Metric, Practice};

use std::fs::File;
use std::path::{Path, PathBuf};

use super::tables::{Cell, Table, Ty};
use super::{
    BATCH_ROWS, Format, Progress, Row, Rows, TCV_KINDS, TEXT_FIELDS, Temp, io_err, sdg_goals,
    tcv_change_bp, text_field,
};
use setu_store::Error;
use setu_store::backend::Backend;

/// Rows in one row group, at most.
pub const ROW_GROUP_ROWS: usize = 4 * BATCH_ROWS;
/// Estimated encoded bytes of one row group, at most: bounds the writer's
/// memory whatever the length of the texts.
pub const ROW_GROUP_BYTES: usize = 32 * 1024 * 1024;

pub(super) fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

pub(super) fn item(data_type: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", data_type, false))
}

pub(super) fn list_of(data_type: DataType) -> DataType {
    DataType::List(item(data_type))
}

fn map_keys() -> Field {
    utf8("keys", false)
}

fn map_values() -> Field {
    utf8("values", false)
}

pub(super) fn lang_map() -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![map_keys(), map_values()])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

fn country_fields() -> Fields {
    Fields::from(vec![utf8("iso3", false), utf8("role", false)])
}

fn sector_fields() -> Fields {
    Fields::from(vec![utf8("vocabulary", false), utf8("code", false)])
}

fn organisation_fields() -> Fields {
    Fields::from(vec![
        utf8("name", false),
        utf8("role", false),
        utf8("iso3", true),
    ])
}

fn recognition_fields() -> Fields {
    Fields::from(vec![
        utf8("award", false),
        Field::new("year", DataType::UInt16, false),
    ])
}

fn metric_fields() -> Fields {
    Fields::from(vec![
        utf8("kind", false),
        utf8("stage", false),
        utf8("method", false),
        Field::new("sample_n", DataType::UInt64, true),
        utf8("source", true),
        Field::new("baseline", DataType::UInt64, true),
        Field::new("after", DataType::UInt64, true),
        utf8("unit", true),
        utf8("currency", true),
        Field::new("price_year", DataType::UInt16, true),
        Field::new("change_bp", DataType::Int64, true),
    ])
}

/// The schema of a Parquet export.
pub fn schema() -> Schema {
    let mut f = vec![
        utf8("record_id", false),
        utf8("practice_id", false),
        Field::new("revision", DataType::UInt64, false),
        utf8("supersedes", true),
        utf8("author", false),
        Field::new("seq", DataType::UInt64, false),
        Field::new(
            "signed_at",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        utf8("licence", false),
        Field::new("withdrawn", DataType::Boolean, false),
    ];
    for (i, name) in TEXT_FIELDS.iter().enumerate() {
        // title, summary, challenge, solution are required; the rest optional.
        f.push(Field::new(*name, lang_map(), i >= 4));
    }
    f.extend([
        utf8("title_original_language", false),
        Field::new(
            "countries",
            list_of(DataType::Struct(country_fields())),
            false,
        ),
        Field::new("sdg_targets", list_of(DataType::Utf8), false),
        Field::new("sdg_goals", list_of(DataType::UInt8), false),
        Field::new("sectors", list_of(DataType::Struct(sector_fields())), false),
        Field::new("status", DataType::UInt8, false),
        utf8("gov_level", true),
        utf8("period_start", true),
        utf8("period_end", true),
        Field::new("keywords", list_of(DataType::Utf8), false),
        Field::new("urls", list_of(DataType::Utf8), false),
        Field::new(
            "organisations",
            list_of(DataType::Struct(organisation_fields())),
            false,
        ),
        utf8("exchange", true),
        utf8("evidence_level", true),
        Field::new(
            "recognition",
            list_of(DataType::Struct(recognition_fields())),
            false,
        ),
        Field::new("reach_beneficiaries", DataType::UInt64, true),
        utf8("reach_as_of", true),
        Field::new("replaces", list_of(DataType::Utf8), false),
        Field::new("metrics", list_of(DataType::Struct(metric_fields())), false),
    ]);
    for kind in TCV_KINDS {
        f.push(Field::new(
            format!("tcv_{kind}_change_bp"),
            DataType::Int64,
            true,
        ));
    }
    Schema::new(f)
}

pub(super) fn str_list() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new()).with_field(item(DataType::Utf8))
}

pub(super) fn text_map() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
        .with_keys_field(map_keys())
        .with_values_field(map_values())
}

/// A list of structs: the list offsets, and one builder per member.
struct StructList<T> {
    offsets: OffsetBufferBuilder<i32>,
    members: T,
}

impl<T: Default> StructList<T> {
    fn new() -> StructList<T> {
        StructList {
            offsets: OffsetBufferBuilder::new(BATCH_ROWS),
            members: T::default(),
        }
    }
}

fn finish_struct_list(
    fields: Fields,
    offsets: OffsetBufferBuilder<i32>,
    members: Vec<ArrayRef>,
) -> Result<ArrayRef, ArrowError> {
    let offsets = offsets
        .try_finish()
        .map_err(|e| ArrowError::InvalidArgumentError(e.to_string()))?;
    let values = StructArray::try_new(fields.clone(), members, None)?;
    let list = ListArray::try_new(
        item(DataType::Struct(fields)),
        offsets,
        Arc::new(values),
        None,
    )?;
    Ok(Arc::new(list))
}

#[derive(Default)]
struct Pair {
    a: StringBuilder,
    b: StringBuilder,
}

#[derive(Default)]
struct Organisations {
    name: StringBuilder,
    role: StringBuilder,
    iso3: StringBuilder,
}

#[derive(Default)]
struct Recognitions {
    award: StringBuilder,
    year: UInt16Builder,
}

#[derive(Default)]
struct Metrics {
    kind: StringBuilder,
    stage: StringBuilder,
    method: StringBuilder,
    sample_n: UInt64Builder,
    source: StringBuilder,
    baseline: UInt64Builder,
    after: UInt64Builder,
    unit: StringBuilder,
    currency: StringBuilder,
    price_year: UInt16Builder,
    change_bp: Int64Builder,
}

/// The rows of one record batch, column by column.
struct Batch {
    rows: usize,
    record_id: StringBuilder,
    practice_id: StringBuilder,
    revision: UInt64Builder,
    supersedes: StringBuilder,
    author: StringBuilder,
    seq: UInt64Builder,
    signed_at: TimestampMillisecondBuilder,
    licence: StringBuilder,
    withdrawn: BooleanBuilder,
    texts: Vec<MapBuilder<StringBuilder, StringBuilder>>,
    title_original_language: StringBuilder,
    countries: StructList<Pair>,
    sdg_targets: ListBuilder<StringBuilder>,
    sdg_goals: ListBuilder<UInt8Builder>,
    sectors: StructList<Pair>,
    status: UInt8Builder,
    gov_level: StringBuilder,
    period_start: StringBuilder,
    period_end: StringBuilder,
    keywords: ListBuilder<StringBuilder>,
    urls: ListBuilder<StringBuilder>,
    organisations: StructList<Organisations>,
    exchange: StringBuilder,
    evidence_level: StringBuilder,
    recognition: StructList<Recognitions>,
    reach_beneficiaries: UInt64Builder,
    reach_as_of: StringBuilder,
    replaces: ListBuilder<StringBuilder>,
    metrics: StructList<Metrics>,
    tcv: Vec<Int64Builder>,
}

fn corrupt(row: &Row, what: &str) -> Error {
    Error::Corrupt(format!("record {}: {what}", row.record.id()))
}

impl Batch {
    fn new() -> Batch {
        Batch {
            rows: 0,
            record_id: StringBuilder::new(),
            practice_id: StringBuilder::new(),
            revision: UInt64Builder::new(),
            supersedes: StringBuilder::new(),
            author: StringBuilder::new(),
            seq: UInt64Builder::new(),
            signed_at: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            licence: StringBuilder::new(),
            withdrawn: BooleanBuilder::new(),
            texts: TEXT_FIELDS.iter().map(|_| text_map()).collect(),
            title_original_language: StringBuilder::new(),
            countries: StructList::new(),
            sdg_targets: str_list(),
            sdg_goals: ListBuilder::new(UInt8Builder::new()).with_field(item(DataType::UInt8)),
            sectors: StructList::new(),
            status: UInt8Builder::new(),
            gov_level: StringBuilder::new(),
            period_start: StringBuilder::new(),
            period_end: StringBuilder::new(),
            keywords: str_list(),
            urls: str_list(),
            organisations: StructList::new(),
            exchange: StringBuilder::new(),
            evidence_level: StringBuilder::new(),
            recognition: StructList::new(),
            reach_beneficiaries: UInt64Builder::new(),
            reach_as_of: StringBuilder::new(),
            replaces: str_list(),
            metrics: StructList::new(),
            tcv: TCV_KINDS.iter().map(|_| Int64Builder::new()).collect(),
        }
    }

    fn push(&mut self, row: &Row) -> Result<(), Error> {
        let r = &row.record;
        let p: &Practice = row.practice()?;
        let env = r.envelope();
        let ts = i64::try_from(env.ts).map_err(|_| corrupt(row, "ts out of range"))?;
        let status = p
            .status
            .and_then(|s| u8::try_from(s).ok())
            .ok_or_else(|| corrupt(row, "no valid status"))?;
        self.record_id.append_value(r.id().to_hex());
        self.practice_id.append_value(&p.practice_id);
        self.revision.append_value(p.revision);
        self.supersedes
            .append_option(p.supersedes.map(|s| s.to_hex()));
        self.author.append_value(env.author.to_hex());
        self.seq.append_value(env.seq);
        self.signed_at.append_value(ts);
        self.licence
            .append_value(p.licence.as_deref().unwrap_or_default());
        self.withdrawn.append_value(row.withdrawn);
        for (i, m) in self.texts.iter_mut().enumerate() {
            let text = text_field(p, i);
            if let Some(t) = text {
                for (lang, s) in &t.text {
                    m.keys().append_value(lang);
                    m.values().append_value(s);
                }
            }
            // Required fields get an empty map rather than a null.
            m.append(text.is_some() || i < 4)
                .map_err(|e| corrupt(row, &e.to_string()))?;
        }
        self.title_original_language
            .append_value(p.title.as_ref().map_or("", |t| t.original.as_str()));

        for c in &p.countries {
            self.countries.members.a.append_value(&c.iso3);
            self.countries.members.b.append_value(&c.role);
        }
        self.countries.offsets.push_length(p.countries.len());
        self.sdg_targets
            .append_value(p.sdg_targets.iter().map(Some));
        self.sdg_goals
            .append_value(sdg_goals(p).into_iter().map(Some));
        for s in &p.sectors {
            self.sectors.members.a.append_value(&s.vocabulary);
            self.sectors.members.b.append_value(&s.code);
        }
        self.sectors.offsets.push_length(p.sectors.len());
        self.status.append_value(status);
        self.gov_level.append_option(p.gov_level.as_ref());
        self.period_start
            .append_option(p.period.as_ref().map(|x| &x.start));
        self.period_end
            .append_option(p.period.as_ref().and_then(|x| x.end.as_ref()));
        self.keywords.append_value(p.keywords.iter().map(Some));
        self.urls.append_value(p.urls.iter().map(Some));
        let o = &mut self.organisations.members;
        for org in &p.organisations {
            o.name.append_value(&org.name);
            o.role.append_value(&org.role);
            o.iso3.append_option(org.iso3.as_ref());
        }
        self.organisations
            .offsets
            .push_length(p.organisations.len());
        self.exchange.append_option(p.exchange.as_ref());
        self.evidence_level.append_option(p.evidence_level.as_ref());
        let rc = &mut self.recognition.members;
        for x in &p.recognition {
            let year =
                u16::try_from(x.year).map_err(|_| corrupt(row, "recognition year out of range"))?;
            rc.award.append_value(&x.award);
            rc.year.append_value(year);
        }
        self.recognition.offsets.push_length(p.recognition.len());
        self.reach_beneficiaries
            .append_option(p.reach.as_ref().map(|x| x.beneficiaries));
        self.reach_as_of
            .append_option(p.reach.as_ref().and_then(|x| x.as_of.as_ref()));
        self.replaces.append_value(p.replaces.iter().map(Some));
        for m in &p.metrics {
            self.metrics.members.push(m, row)?;
        }
        self.metrics.offsets.push_length(p.metrics.len());
        for (b, kind) in self.tcv.iter_mut().zip(TCV_KINDS) {
            b.append_option(tcv_change_bp(&p.metrics, kind));
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.record_id.finish()),
            Arc::new(self.practice_id.finish()),
            Arc::new(self.revision.finish()),
            Arc::new(self.supersedes.finish()),
            Arc::new(self.author.finish()),
            Arc::new(self.seq.finish()),
            Arc::new(self.signed_at.finish()),
            Arc::new(self.licence.finish()),
            Arc::new(self.withdrawn.finish()),
        ];
        for m in &mut self.texts {
            cols.push(Arc::new(m.finish()));
        }
        cols.push(Arc::new(self.title_original_language.finish()));
        let mut c = self.countries.members;
        cols.push(finish_struct_list(
            country_fields(),
            self.countries.offsets,
            vec![Arc::new(c.a.finish()), Arc::new(c.b.finish())],
        )?);
        cols.push(Arc::new(self.sdg_targets.finish()));
        cols.push(Arc::new(self.sdg_goals.finish()));
        let mut s = self.sectors.members;
        cols.push(finish_struct_list(
            sector_fields(),
            self.sectors.offsets,
            vec![Arc::new(s.a.finish()), Arc::new(s.b.finish())],
        )?);
        cols.push(Arc::new(self.status.finish()));
        cols.push(Arc::new(self.gov_level.finish()));
        cols.push(Arc::new(self.period_start.finish()));
        cols.push(Arc::new(self.period_end.finish()));
        cols.push(Arc::new(self.keywords.finish()));
        cols.push(Arc::new(self.urls.finish()));
        let mut o = self.organisations.members;
        cols.push(finish_struct_list(
            organisation_fields(),
            self.organisations.offsets,
            vec![
                Arc::new(o.name.finish()),
                Arc::new(o.role.finish()),
                Arc::new(o.iso3.finish()),
            ],
        )?);
        cols.push(Arc::new(self.exchange.finish()));
        cols.push(Arc::new(self.evidence_level.finish()));
        let mut rc = self.recognition.members;
        cols.push(finish_struct_list(
            recognition_fields(),
            self.recognition.offsets,
            vec![Arc::new(rc.award.finish()), Arc::new(rc.year.finish())],
        )?);
        cols.push(Arc::new(self.reach_beneficiaries.finish()));
        cols.push(Arc::new(self.reach_as_of.finish()));
        cols.push(Arc::new(self.replaces.finish()));
        let m = self.metrics.members.finish();
        cols.push(finish_struct_list(
            metric_fields(),
            self.metrics.offsets,
            m,
        )?);
        for b in &mut self.tcv {
            cols.push(Arc::new(b.finish()));
        }
        RecordBatch::try_new(schema.clone(), cols)
    }
}

impl Metrics {
    fn push(&mut self, m: &Metric, row: &Row) -> Result<(), Error> {
        let price_year = m
            .price_year
            .map(u16::try_from)
            .transpose()
            .map_err(|_| corrupt(row, "price_year out of range"))?;
        self.kind.append_value(&m.kind);
        self.stage.append_value(&m.stage);
        self.method.append_value(&m.method);
        self.sample_n.append_option(m.sample_n);
        self.source.append_option(m.source.as_ref());
        self.baseline.append_option(m.baseline);
        self.after.append_option(m.after);
        self.unit.append_option(m.unit.as_ref());
        self.currency.append_option(m.currency.as_ref());
        self.price_year.append_option(price_year);
        self.change_bp.append_option(m.change_bp());
        Ok(())
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.kind.finish()),
            Arc::new(self.stage.finish()),
            Arc::new(self.method.finish()),
            Arc::new(self.sample_n.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.baseline.finish()),
            Arc::new(self.after.finish()),
            Arc::new(self.unit.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.price_year.finish()),
            Arc::new(self.change_bp.finish()),
        ]
    }
}

/// Snappy, row groups bounded in rows and bytes.
fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .build()
}

/// Writes the practices to `out` and each of `tables` beside it
/// (`{name}.parquet`). Returns the files, `out` first.
pub(super) fn write<B: Backend>(
    rows: &mut Rows<'_, B>,
    tables: &[Table],
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<PathBuf>, Error> {
    let (temp, file) = Temp::create(out)?;
    let mut beside = Vec::with_capacity(tables.len());
    for t in tables {
        let path = super::beside(out, t.name, Format::Parquet);
        let (temp, file) = Temp::create(&path)?;
        beside.push((t, path, temp, file));
    }
    let schema: SchemaRef = Arc::new(schema());
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(props())).map_err(|e| io_err(out, e))?;
    let mut prog = Progress::new(rows.total(), progress);
    let mut batch = Batch::new();
    rows.for_each(&mut |row| {
        batch.push(row)?;
        prog.row();
        if batch.rows >= BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Batch::new());
            let rb = full.finish(&schema).map_err(|e| io_err(out, e))?;
            writer.write(&rb).map_err(|e| io_err(out, e))?;
        }
        Ok(())
    })?;
    if batch.rows > 0 {
        let rb = batch.finish(&schema).map_err(|e| io_err(out, e))?;
        writer.write(&rb).map_err(|e| io_err(out, e))?;
    }
    let file = writer.into_inner().map_err(|e| io_err(out, e))?;
    let mut written = Vec::with_capacity(beside.len());
    for (t, path, temp, file) in beside {
        written.push((temp, write_table(t, file, &path)?));
    }
    let mut files = vec![temp.persist(file)?];
    for (temp, file) in written {
        files.push(temp.persist(file)?);
    }
    prog.end();
    Ok(files)
}

/// The Arrow type of a table field.
fn table_type(ty: Ty) -> DataType {
    match ty {
        Ty::Str => DataType::Utf8,
        Ty::U64 => DataType::UInt64,
        Ty::I64 => DataType::Int64,
        Ty::F64 => DataType::Float64,
        Ty::Ts => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        Ty::List(_) => list_of(DataType::Utf8),
        Ty::Text => lang_map(),
    }
}

/// The schema of a table's Parquet file.
pub(super) fn table_schema(t: &Table) -> Schema {
    Schema::new(
        t.fields
            .iter()
            .map(|f| Field::new(f.name, table_type(f.ty), f.nullable))
            .collect::<Vec<Field>>(),
    )
}

/// A column of a table being built.
enum Builder {
    Str(StringBuilder),
    U64(UInt64Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Ts(TimestampMillisecondBuilder),
    List(ListBuilder<StringBuilder>),
    Text(MapBuilder<StringBuilder, StringBuilder>),
}

impl Builder {
    fn new(ty: Ty) -> Builder {
        match ty {
            Ty::Str => Builder::Str(StringBuilder::new()),
            Ty::U64 => Builder::U64(UInt64Builder::new()),
            Ty::I64 => Builder::I64(Int64Builder::new()),
            Ty::F64 => Builder::F64(Float64Builder::new()),
            Ty::Ts => Builder::Ts(TimestampMillisecondBuilder::new().with_timezone("UTC")),
            Ty::List(_) => Builder::List(str_list()),
            Ty::Text => Builder::Text(text_map()),
        }
    }

    fn push(&mut self, cell: &Cell) -> Result<(), String> {
        match (self, cell) {
            (Builder::Str(b), Cell::Str(v)) => b.append_option(v.as_deref()),
            (Builder::U64(b), Cell::U64(v)) => b.append_option(*v),
            (Builder::I64(b), Cell::I64(v)) => b.append_option(*v),
            (Builder::F64(b), Cell::F64(v)) => b.append_option(*v),
            (Builder::Ts(b), Cell::Ts(v)) => {
                b.append_value(i64::try_from(*v).map_err(|_| "ts out of range".to_string())?)
            }
            (Builder::List(b), Cell::List(Some(v))) => b.append_value(v.iter().map(Some)),
            (Builder::List(b), Cell::List(None)) => b.append_null(),
            (Builder::Text(m), Cell::Text(t)) => {
                if let Some(t) = t {
                    for (lang, s) in &t.text {
                        m.keys().append_value(lang);
                        m.values().append_value(s);
                    }
                }
                m.append(t.is_some()).map_err(|e| e.to_string())?;
            }
            (_, cell) => return Err(format!("a value of the wrong type: {cell:?}")),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::U64(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
            Builder::List(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
        }
    }
}

/// Writes a table to `file` (the temporary file of `path`), in record
/// batches of at most [`BATCH_ROWS`] rows.
fn write_table(t: &Table, file: File, path: &Path) -> Result<File, Error> {
    let schema: SchemaRef = Arc::new(table_schema(t));
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(props())).map_err(|e| io_err(path, e))?;
    for chunk in t.rows.chunks(BATCH_ROWS) {
        let mut builders: Vec<Builder> = t.fields.iter().map(|f| Builder::new(f.ty)).collect();
        for row in chunk {
            if row.len() != builders.len() {
                return Err(Error::Corrupt(format!(
                    "{}: a row of {} values for {} columns",
                    t.name,
                    row.len(),
                    builders.len()
                )));
            }
            for ((b, cell), f) in builders.iter_mut().zip(row).zip(&t.fields) {
                b.push(cell)
                    .map_err(|e| Error::Corrupt(format!("{}.{}: {e}", t.name, f.name)))?;
            }
        }
        let cols: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(schema.clone(), cols).map_err(|e| io_err(path, e))?;
        writer.write(&batch).map_err(|e| io_err(path, e))?;
    }
    writer.into_inner().map_err(|e| io_err(path, e))
}
