//! The search index: filters, facets and full text, in tantivy.
//!
//! This is derived data. The store is the truth; the index can be deleted
//! and rebuilt from it (`setu reindex`). Each commit records, as its payload,
//! the store's change counter it has caught up to, so that after a crash
//! between a store write and an index commit the next start re-indexes just
//! the practices that changed since ([`crate::replica`] does this).
//!
//! Its two sides are separate types: [`Index`] reads (searches, facets,
//! the last commit's watermark) and is cheap to clone; the one [`Writer`]
//! adds, commits and rolls back, on the index thread ([`crate::indexer`]).
//!
//! One document per linked, active revision of a practice. Withdrawal
//! records have no content and get no document; the revisions of a withdrawn
//! practice carry `withdrawn = 1`.

mod stopwords;
pub mod tokenizer;

use std::ops::Bound;
use std::path::Path;

use setu_core::ids::{AuthorKey, RecordId};
use setu_core::practice::{LangText, Practice, date_range};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector};
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, Occur, Query as TQuery, QueryParser, RangeQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{Language, LowerCaser, Stemmer, TextAnalyzer};
use tantivy::{DocAddress, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

use crate::Error;
use crate::chain::Chain;
use crate::query::{Facets, Hit, Hits, Query, TextMatch};

/// Memory the index writer may use before it flushes a segment: tantivy's
/// least (15 MB per thread). With 24 MiB, a 100k import's peak RSS was
/// 202–204 MiB against 180–185 (the difference is mapped index segments:
/// 63 MiB against 46), and the import ran no faster; plain tantivy indexing
/// ran about 15% faster (`setu-bench replica`, BENCHMARKS.md §1).
pub const WRITER_MEMORY_BYTES: usize = 15_000_000;
/// Bumped whenever the schema changes: an index of another version is
/// rebuilt from the store.
pub const SCHEMA_VERSION: u64 = 3;

/// Languages with a stemmer, and the analyzer name of each. Text in other
/// languages (Bangla, Swahili, Indonesian, ...) is segmented and lower-cased
/// only.
const STEMMED: &[(&str, Language)] = &[
    ("en", Language::English),
    ("es", Language::Spanish),
    ("pt", Language::Portuguese),
    ("fr", Language::French),
    ("ar", Language::Arabic),
];

fn analyzer_name(lang: &str) -> String {
    format!("setu_{lang}")
}

/// Registers Setu's analyzers on an index.
fn analyzers(index: &tantivy::Index) {
    let plain = TextAnalyzer::builder(tokenizer::Uax29)
        .filter(LowerCaser)
        .build();
    index.tokenizers().register("setu_plain", plain);
    for (lang, language) in STEMMED {
        let a = TextAnalyzer::builder(tokenizer::Uax29)
            .filter(LowerCaser)
            .filter(Stemmer::new(*language))
            .build();
        index.tokenizers().register(&analyzer_name(lang), a);
    }
}

/// The schema's fields.
#[derive(Debug, Clone)]
struct Fields {
    id: Field,
    practice_key: Field,
    practice_id: Field,
    author: Field,
    revision: Field,
    ts: Field,
    current: Field,
    withdrawn: Field,
    country: Field,
    country_origin: Field,
    sdg: Field,
    sector: Field,
    status: Field,
    gov_level: Field,
    period_start: Field,
    period_end: Field,
    has_tcv: Field,
    exchange: Field,
    adoptions: Field,
    adopted_in: Field,
    adoption_stage: Field,
    title_json: Field,
    title: Field,
    text: Field,
    text_lang: Vec<(&'static str, Field)>,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_opts = |analyzer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let num = || INDEXED | FAST;
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED | FAST),
        practice_key: b.add_text_field("practice_key", STRING),
        practice_id: b.add_text_field("practice_id", STRING | STORED),
        author: b.add_text_field("author", STRING | STORED),
        revision: b.add_u64_field("revision", num() | STORED),
        ts: b.add_u64_field("ts", num() | STORED),
        current: b.add_u64_field("current", num() | STORED),
        withdrawn: b.add_u64_field("withdrawn", num() | STORED),
        country: b.add_text_field("country", STRING | FAST),
        country_origin: b.add_text_field("country_origin", STRING | STORED),
        sdg: b.add_text_field("sdg", STRING | FAST),
        sector: b.add_text_field("sector", STRING | FAST),
        status: b.add_u64_field("status", num()),
        gov_level: b.add_text_field("gov_level", STRING),
        period_start: b.add_u64_field("period_start", num()),
        period_end: b.add_u64_field("period_end", num()),
        has_tcv: b.add_u64_field("has_tcv", num()),
        exchange: b.add_text_field("exchange", STRING),
        adoptions: b.add_u64_field("adoptions", num() | STORED),
        adopted_in: b.add_text_field("adopted_in", STRING | FAST),
        adoption_stage: b.add_text_field("adoption_stage", STRING | FAST),
        title_json: b.add_text_field("title_json", STORED),
        title: b.add_text_field("title", text_opts("setu_plain")),
        text: b.add_text_field("text", text_opts("setu_plain")),
        text_lang: STEMMED
            .iter()
            .map(|(lang, _)| {
                (
                    *lang,
                    b.add_text_field(&format!("text_{lang}"), text_opts(&analyzer_name(lang))),
                )
            })
            .collect(),
    };
    b.add_u64_field(&format!("schema_v{SCHEMA_VERSION}"), INDEXED);
    (b.build(), fields)
}

fn day_number((y, m, d): (u64, u64, u64)) -> u64 {
    y * 10_000 + m * 100 + d
}

/// One current adoption of a practice, as its documents carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// The adopting country.
    pub country: String,
    /// Its stage.
    pub stage: String,
}

/// Reads the practice body and ts of a stored record.
pub type Loader<'a> = &'a mut dyn FnMut(&RecordId) -> Result<Option<(Practice, u64)>, Error>;
type Clauses = Vec<(Occur, Box<dyn TQuery>)>;

/// Prepares what a user typed for tantivy's query parser: text in NFC (as
/// indexed), and words holding `:` or `^` quoted, so that `BGD:A2I:0001` is
/// searched for rather than read as a field name or a boost. Quoted phrases
/// and `-word` still work.
fn plain_text_query(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let text: String = text.nfc().collect();
    text.split_whitespace()
        .map(|w| {
            if (w.contains(':') || w.contains('^')) && !w.starts_with('"') {
                format!("\"{}\"", w.replace('"', " "))
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Most words an any-word query requires to match.
pub const MAX_WORDS_REQUIRED: usize = 3;
/// Most distinct words an any-word query keeps (the first ones).
pub const MAX_QUERY_WORDS: usize = 64;

/// The words of a query that matter: segmented, lower-cased, stop words
/// dropped, each once, in order.
pub fn query_words(text: &str) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    let text: String = text.nfc().collect();
    let mut analyzer = stopwords::query_analyzer();
    let mut stream = analyzer.token_stream(&text);
    let mut words: Vec<String> = Vec::new();
    while stream.advance() {
        let w = &stream.token().text;
        // Single letters and digits rank nothing.
        if w.chars().count() < 2 || words.iter().any(|x| x == w) {
            continue;
        }
        words.push(w.clone());
        if words.len() == MAX_QUERY_WORDS {
            break;
        }
    }
    words
}

/// A ranked any-word query (BM25 over the words that matter): each word may
/// match in any text field, in its language's stemmed form too; a query of
/// n words needs n / 4 of them, at least 1 and at most
/// [`MAX_WORDS_REQUIRED`] (a need written in two languages at length must
/// still find practices that share a few of its words). `None` if no word
/// matters.
fn any_word_query(parser: &QueryParser, text: &str) -> Option<Box<dyn TQuery>> {
    // An id or code (BGD-A2I-0001, 16.6) is one phrase, not three words.
    let (codes, rest): (Vec<&str>, Vec<&str>) = text.split_whitespace().partition(|w| is_code(w));
    let mut words = query_words(&rest.join(" "));
    words.extend(codes.iter().take(MAX_QUERY_WORDS).map(|c| c.to_string()));
    if words.is_empty() {
        return None;
    }
    let need = (words.len() / 4).clamp(1, MAX_WORDS_REQUIRED);
    let clauses: Clauses = words
        .iter()
        .map(|w| {
            let quoted = format!("\"{}\"", w.replace('"', " "));
            (Occur::Should, parser.parse_query_lenient(&quoted).0)
        })
        .collect();
    Some(Box::new(BooleanQuery::with_minimum_required_clauses(
        clauses, need,
    )))
}

/// True for a word such as `BGD-A2I-0001` or `16.6`: letters and digits
/// joined by `-`, `.`, `:` or `_`, with a digit; searched as one phrase.
fn is_code(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_digit())
        && w.chars().any(|c| matches!(c, '-' | '.' | ':' | '_'))
        && w.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | ':' | '_'))
}

/// The key of a practice in the index: author hex, `/`, practice id.
pub fn practice_key(author: &AuthorKey, practice_id: &str) -> String {
    format!("{author}/{practice_id}")
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Index(e.to_string())
}

/// The search index, its reading side: searches, facets, what the last
/// commit reflects. Cheap to clone; every clone sees each commit as soon as
/// the [`Writer`] makes it.
#[derive(Clone)]
pub struct Index {
    index: tantivy::Index,
    reader: IndexReader,
    f: Fields,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").finish_non_exhaustive()
    }
}

/// The search index, its writing side: one per index (tantivy allows one
/// writer), owned by the index thread ([`crate::indexer`]). What it adds
/// becomes visible to searches when it commits.
pub struct Writer {
    writer: IndexWriter<TantivyDocument>,
    reader: IndexReader,
    f: Fields,
    dirty: bool,
    /// Hashes of the practice keys added since the last commit, so that a
    /// practice the index has never held is added without a delete. Each
    /// delete is queued in tantivy until a commit, at about 1 KiB apiece:
    /// 25 MiB of a 100k import's heap went to deletes that matched nothing.
    /// A hash collision only costs a needless delete.
    added: std::collections::HashSet<u64>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Opens the index in `dir`, creating it (empty) if it is missing, of
    /// another schema version, or damaged (a file missing, truncated, or
    /// failing its checksum). Returns the index, its writer and, if an index
    /// that was there had to be discarded, why. The index is derived data:
    /// the caller rebuilds it from the store.
    pub fn open(dir: &Path) -> Result<(Index, Writer, Option<String>), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
        let why = match Index::open_existing(dir) {
            Ok(Some((index, writer))) => return Ok((index, writer, None)),
            Ok(None) => None,
            Err(why) => Some(why),
        };
        // Derived data: start again from empty.
        for entry in std::fs::read_dir(dir)
            .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?
            .flatten()
        {
            let p = entry.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
        let (schema, f) = schema();
        let index = tantivy::Index::create_in_dir(dir, schema).map_err(err)?;
        let (index, writer) = Index::wrap(index, f)?;
        Ok((index, writer, why))
    }

    /// The index in `dir` if it is there, of this schema, and whole; `None`
    /// if there is none; else why it cannot be used.
    fn open_existing(dir: &Path) -> Result<Option<(Index, Writer)>, String> {
        let (schema, f) = schema();
        if !dir.join("meta.json").exists() {
            return Ok(None);
        }
        let index = tantivy::Index::open_in_dir(dir).map_err(|e| format!("cannot open: {e}"))?;
        if index.schema() != schema {
            return Err("the index is of another schema version".into());
        }
        // Every file of the last commit must be whole (a missing one fails
        // below, when the reader opens the segments).
        let damaged = index
            .validate_checksum()
            .map_err(|e| format!("cannot check: {e}"))?;
        if let Some(path) = damaged.iter().next() {
            return Err(format!("{} is damaged", path.display()));
        }
        Index::wrap(index, f)
            .map(Some)
            .map_err(|e| format!("cannot open: {e}"))
    }

    /// An index in memory, and its writer, for tests and simulations.
    pub fn in_memory() -> Result<(Index, Writer), Error> {
        let (schema, f) = schema();
        Index::wrap(tantivy::Index::create_in_ram(schema), f)
    }

    fn wrap(index: tantivy::Index, f: Fields) -> Result<(Index, Writer), Error> {
        analyzers(&index);
        let writer = index
            .writer_with_num_threads(1, WRITER_MEMORY_BYTES)
            .map_err(err)?;
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        Ok((
            Index {
                index,
                reader: reader.clone(),
                f: f.clone(),
            },
            Writer {
                writer,
                reader,
                f,
                dirty: false,
                added: std::collections::HashSet::new(),
            },
        ))
    }

    /// The store change counter this index has caught up to (0 if never
    /// committed).
    pub fn watermark(&self) -> u64 {
        self.committed().0
    }

    /// What the last commit says it reflects: the store's change counter,
    /// and the incarnation id of the store it was built from (`None` for an
    /// index that never committed, or was written before incarnations).
    pub fn committed(&self) -> (u64, Option<String>) {
        let payload = self.index.load_metas().ok().and_then(|m| m.payload);
        let mut change = 0;
        let mut store = None;
        for part in payload.as_deref().unwrap_or("").split(';') {
            if let Some(n) = part.strip_prefix("change=") {
                change = n.parse().unwrap_or(0);
            } else if let Some(id) = part.strip_prefix("store=") {
                store = Some(id.to_string());
            }
        }
        (change, store)
    }

    /// Documents in the committed index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Authors (other than none) that publish a practice with this id.
    pub fn authors_of(&self, practice_id: &str) -> Result<Vec<AuthorKey>, Error> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.f.practice_id, practice_id),
            IndexRecordOption::Basic,
        );
        let docs = searcher
            .search(&q, &TopDocs::with_limit(64).order_by_score())
            .map_err(err)?;
        let mut out: Vec<AuthorKey> = Vec::new();
        for (_, addr) in docs {
            let doc: TantivyDocument = searcher.doc(addr).map_err(err)?;
            if let Some(a) = doc
                .get_first(self.f.author)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse().ok())
                && !out.contains(&a)
            {
                out.push(a);
            }
        }
        Ok(out)
    }

    fn filter(&self, q: &Query) -> Result<Clauses, Error> {
        let f = &self.f;
        let term = |field: Field, text: &str| -> Box<dyn TQuery> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::Basic,
            ))
        };
        let num = |field: Field, v: u64| -> Box<dyn TQuery> {
            Box::new(TermQuery::new(
                Term::from_field_u64(field, v),
                IndexRecordOption::Basic,
            ))
        };
        let any_of = |qs: Vec<Box<dyn TQuery>>| -> Box<dyn TQuery> {
            Box::new(BooleanQuery::new(
                qs.into_iter().map(|q| (Occur::Should, q)).collect(),
            ))
        };
        let mut must: Clauses = Vec::new();
        if !q.history {
            must.push((Occur::Must, num(f.current, 1)));
        }
        if !q.include_withdrawn {
            must.push((Occur::Must, num(f.withdrawn, 0)));
        }
        if !q.countries.is_empty() {
            let qs = q
                .countries
                .iter()
                .map(|c| match &c.role {
                    Some(r) => term(f.country, &format!("{}:{r}", c.iso3)),
                    None => term(f.country, &c.iso3),
                })
                .collect();
            must.push((Occur::Must, any_of(qs)));
        }
        if !q.sdg.is_empty() {
            must.push((
                Occur::Must,
                any_of(q.sdg.iter().map(|s| term(f.sdg, s)).collect()),
            ));
        }
        if !q.sectors.is_empty() {
            must.push((
                Occur::Must,
                any_of(q.sectors.iter().map(|s| term(f.sector, s)).collect()),
            ));
        }
        if !q.status.is_empty() {
            must.push((
                Occur::Must,
                any_of(q.status.iter().map(|s| num(f.status, *s)).collect()),
            ));
        }
        if let Some(g) = &q.gov_level {
            must.push((Occur::Must, term(f.gov_level, g)));
        }
        if let Some(a) = &q.publisher {
            must.push((Occur::Must, term(f.author, &a.to_hex())));
        }
        if !q.hide.is_empty() {
            // A query of only MustNot clauses matches nothing: hide from all.
            must.push((Occur::Must, Box::new(AllQuery)));
            for a in &q.hide {
                must.push((Occur::MustNot, term(f.author, &a.to_hex())));
            }
        }
        if let Some(since) = q.modified_since {
            let r = RangeQuery::new(
                Bound::Included(Term::from_field_u64(f.ts, since)),
                Bound::Unbounded,
            );
            must.push((Occur::Must, Box::new(r)));
        }
        if let Some(t) = q.has_tcv {
            must.push((Occur::Must, num(f.has_tcv, u64::from(t))));
        }
        if let Some(x) = &q.exchange {
            must.push((Occur::Must, term(f.exchange, x)));
        }
        // Adopted in these countries, at these stages: with both, one
        // adoption must have both (the `KEN:scaled` terms).
        match (q.adopted_in.is_empty(), q.adoption_stage.is_empty()) {
            (true, true) => {}
            (false, true) => must.push((
                Occur::Must,
                any_of(q.adopted_in.iter().map(|c| term(f.adopted_in, c)).collect()),
            )),
            (true, false) => must.push((
                Occur::Must,
                any_of(
                    q.adoption_stage
                        .iter()
                        .map(|s| term(f.adoption_stage, s))
                        .collect(),
                ),
            )),
            (false, false) => {
                let mut qs = Vec::new();
                for c in &q.adopted_in {
                    for st in &q.adoption_stage {
                        qs.push(term(f.adopted_in, &format!("{c}:{st}")));
                    }
                }
                must.push((Occur::Must, any_of(qs)));
            }
        }
        if let Some(n) = q.min_adoptions.filter(|n| *n > 0) {
            let r = RangeQuery::new(
                Bound::Included(Term::from_field_u64(f.adoptions, n)),
                Bound::Unbounded,
            );
            must.push((Occur::Must, Box::new(r)));
        }
        // Overlap of [start, end] with [from, to]: start <= to and end >= from.
        if let Some(to) = q.period_to.as_deref().and_then(date_range) {
            let r = RangeQuery::new(
                Bound::Unbounded,
                Bound::Included(Term::from_field_u64(f.period_start, day_number(to.1))),
            );
            must.push((Occur::Must, Box::new(r)));
        }
        if let Some(from) = q.period_from.as_deref().and_then(date_range) {
            let r = RangeQuery::new(
                Bound::Included(Term::from_field_u64(f.period_end, day_number(from.0))),
                Bound::Unbounded,
            );
            must.push((Occur::Must, Box::new(r)));
        }
        Ok(must)
    }

    /// The tantivy query for a [`Query`], and whether it has full text.
    fn tantivy_query(&self, q: &Query) -> Result<(Box<dyn TQuery>, bool), Error> {
        let mut clauses = self.filter(q)?;
        let text = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if let Some(text) = text {
            let mut fields = vec![self.f.title, self.f.text];
            fields.extend(self.f.text_lang.iter().map(|(_, f)| *f));
            let mut parser = QueryParser::for_index(&self.index, fields);
            parser.set_field_boost(self.f.title, 2.0);
            let any = match q.text_match {
                TextMatch::Any => any_word_query(&parser, text),
                TextMatch::All => None,
            };
            let tq = match any {
                Some(tq) => tq,
                None => {
                    parser.set_conjunction_by_default();
                    parser.parse_query_lenient(&plain_text_query(text)).0
                }
            };
            clauses.push((Occur::Must, tq));
        }
        let query: Box<dyn TQuery> = if clauses.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        Ok((query, text.is_some()))
    }

    /// Runs a query. The caller validates it first ([`Query::problems`]).
    pub fn search(&self, q: &Query) -> Result<Hits, Error> {
        let searcher = self.reader.searcher();
        let (query, has_text) = self.tantivy_query(q)?;
        let total = searcher.search(&query, &Count).map_err(err)?;
        let limit = q.limit.min(total.saturating_sub(q.offset));
        if limit == 0 {
            return Ok(Hits {
                total,
                hits: Vec::new(),
            });
        }
        let top = TopDocs::with_limit(limit).and_offset(q.offset);
        let found: Vec<(Option<f32>, DocAddress)> = if has_text {
            searcher
                .search(&query, &top.order_by_score())
                .map_err(err)?
                .into_iter()
                .map(|(s, a)| (Some(s), a))
                .collect()
        } else {
            searcher
                .search(&query, &top.order_by_u64_field("ts", Order::Desc))
                .map_err(err)?
                .into_iter()
                .map(|(_, a)| (None, a))
                .collect()
        };
        let mut hits = Vec::with_capacity(found.len());
        for (score, addr) in found {
            let doc: TantivyDocument = searcher.doc(addr).map_err(err)?;
            hits.push(self.hit(&doc, score)?);
        }
        Ok(Hits { total, hits })
    }

    /// The record ids of every match, sorted (limit and offset are
    /// ignored). Memory is 32 bytes per match; the records themselves are
    /// read by the caller, in this order, one at a time.
    pub fn matching(&self, q: &Query) -> Result<Vec<RecordId>, Error> {
        let searcher = self.reader.searcher();
        let (query, _) = self.tantivy_query(q)?;
        let mut docs: Vec<DocAddress> = searcher
            .search(&query, &DocSetCollector)
            .map_err(err)?
            .into_iter()
            .collect();
        docs.sort();
        // Read ids from the fast-field column, not the document store, and
        // each segment's in one sorted walk of its dictionary: a block of
        // the dictionary is decompressed once, not once per match.
        let mut ids = Vec::with_capacity(docs.len());
        for segment in docs.chunk_by(|a, b| a.segment_ord == b.segment_ord) {
            let column = searcher
                .segment_reader(segment[0].segment_ord)
                .fast_fields()
                .str("id")
                .map_err(err)?
                .ok_or_else(|| Error::Corrupt("index without an id column".into()))?;
            let mut ords = Vec::with_capacity(segment.len());
            for addr in segment {
                ords.push(
                    column
                        .term_ords(addr.doc_id)
                        .next()
                        .ok_or_else(|| Error::Corrupt("index document without an id".into()))?,
                );
            }
            ords.sort_unstable();
            let mut bad = None;
            let all = column
                .dictionary()
                .sorted_ords_to_term_cb(&ords, |term| {
                    match std::str::from_utf8(term).ok().and_then(|t| t.parse().ok()) {
                        Some(id) => ids.push(id),
                        None => bad = Some(String::from_utf8_lossy(term).into_owned()),
                    }
                })
                .map_err(err)?;
            if let Some(text) = bad {
                return Err(Error::Corrupt(format!("bad id {text:?} in the index")));
            }
            if !all {
                return Err(Error::Corrupt(
                    "an id missing from the index's id column".into(),
                ));
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// Counts of the matches by country, SDG goal, sector and status.
    pub fn facets(&self, q: &Query) -> Result<Facets, Error> {
        let searcher = self.reader.searcher();
        let (query, _) = self.tantivy_query(q)?;
        let req: Aggregations = serde_json::from_value(serde_json::json!({
            "country": {"terms": {"field": "country", "size": 65_535}},
            "sdg": {"terms": {"field": "sdg", "size": 65_535}},
            "sector": {"terms": {"field": "sector", "size": 65_535}},
            "status": {"terms": {"field": "status", "size": 16}},
            "adopted_in": {"terms": {"field": "adopted_in", "size": 65_535}},
            "adoption_stage": {"terms": {"field": "adoption_stage", "size": 16}},
        }))
        .map_err(err)?;
        let collector = AggregationCollector::from_aggs(req, AggContextParams::default());
        let res = searcher.search(&query, &collector).map_err(err)?;
        let json = serde_json::to_value(res).map_err(err)?;
        let buckets = |name: &str| -> Vec<(String, u64)> {
            let mut out: Vec<(String, u64)> = json[name]["buckets"]
                .as_array()
                .map(|b| {
                    b.iter()
                        .filter_map(|x| {
                            let key = match &x["key"] {
                                serde_json::Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            Some((key, x["doc_count"].as_u64()?))
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            out
        };
        Ok(Facets {
            // The fields hold "BGD" and "BGD:originating", "16" and "16.6",
            // "15110" and "dac5:15110": keep one form of each.
            country: buckets("country")
                .into_iter()
                .filter(|(k, _)| !k.contains(':'))
                .collect(),
            sdg_goal: buckets("sdg")
                .into_iter()
                .filter(|(k, _)| !k.contains('.'))
                .collect(),
            sector: buckets("sector")
                .into_iter()
                .filter(|(k, _)| k.contains(':'))
                .collect(),
            status: buckets("status")
                .into_iter()
                .filter_map(|(k, n)| Some((k.trim_end_matches(".0").parse().ok()?, n)))
                .collect(),
            adoptions: buckets("adopted_in")
                .into_iter()
                .filter(|(k, _)| !k.contains(':'))
                .collect(),
            adoption_stage: buckets("adoption_stage"),
        })
    }

    fn hit(&self, doc: &TantivyDocument, score: Option<f32>) -> Result<Hit, Error> {
        let f = &self.f;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let num = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_u64())
                .unwrap_or_default()
        };
        let bad = |what: &str| Error::Corrupt(format!("index document without a valid {what}"));
        Ok(Hit {
            id: text(f.id).parse().map_err(|_| bad("id"))?,
            practice_id: text(f.practice_id),
            author: text(f.author).parse().map_err(|_| bad("author"))?,
            revision: num(f.revision),
            ts: num(f.ts),
            title: serde_json::from_str(&text(f.title_json)).ok(),
            countries: doc
                .get_all(f.country_origin)
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            current: num(f.current) == 1,
            withdrawn: num(f.withdrawn) == 1,
            adoptions: num(f.adoptions),
            score,
        })
    }
}

/// A practice key's hash, for [`Writer`]'s set of keys added since the
/// last commit.
fn key_hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

impl Writer {
    /// Replaces a practice's documents with those of its current chain.
    /// `load` returns the practice body of a stored record.
    pub fn update_practice(
        &mut self,
        author: &AuthorKey,
        practice_id: &str,
        chain: &Chain,
        adopted: &[Adoption],
        load: Loader<'_>,
    ) -> Result<(), Error> {
        let key = practice_key(author, practice_id);
        let term = Term::from_field_text(self.f.practice_key, &key);
        let hash = key_hash(&key);
        // The committed index counts deleted documents too, so a key it ever
        // held is deleted again: never a document left behind.
        if self.added.contains(&hash) || self.reader.searcher().doc_freq(&term).map_err(err)? > 0 {
            self.writer.delete_term(term);
        }
        self.added.insert(hash);
        self.dirty = true;
        let state = chain.state();
        let current = state.current.as_ref().map(|e| e.id);
        for entry in state.linked.iter().filter(|e| !e.withdrawal) {
            // A record the loader cannot give (missing, or refused by this
            // version's rules) is left out; the rest of the chain is shown.
            let Some((p, ts)) = load(&entry.id)? else {
                continue;
            };
            let mut doc = self.document(
                &key,
                author,
                &entry.id,
                &p,
                ts,
                Some(entry.id) == current,
                state.withdrawn,
            );
            let f = &self.f;
            doc.add_u64(f.adoptions, adopted.len() as u64);
            for a in adopted {
                doc.add_text(f.adopted_in, &a.country);
                doc.add_text(f.adopted_in, format!("{}:{}", a.country, a.stage));
                doc.add_text(f.adoption_stage, &a.stage);
            }
            self.writer.add_document(doc).map_err(err)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn document(
        &self,
        key: &str,
        author: &AuthorKey,
        id: &RecordId,
        p: &Practice,
        ts: u64,
        current: bool,
        withdrawn: bool,
    ) -> TantivyDocument {
        let f = &self.f;
        let mut d = TantivyDocument::default();
        d.add_text(f.id, id.to_hex());
        d.add_text(f.practice_key, key);
        d.add_text(f.practice_id, &p.practice_id);
        d.add_text(f.author, author.to_hex());
        d.add_u64(f.revision, p.revision);
        d.add_u64(f.ts, ts);
        d.add_u64(f.current, u64::from(current));
        d.add_u64(f.withdrawn, u64::from(withdrawn));
        for c in &p.countries {
            d.add_text(f.country, &c.iso3);
            d.add_text(f.country, format!("{}:{}", c.iso3, c.role));
            if c.role == "originating" {
                d.add_text(f.country_origin, &c.iso3);
            }
        }
        for t in &p.sdg_targets {
            d.add_text(f.sdg, t);
            if let Some(g) = setu_core::codes::sdg_goal_of_target(t) {
                d.add_text(f.sdg, g.to_string());
            }
        }
        for s in &p.sectors {
            d.add_text(f.sector, &s.code);
            d.add_text(f.sector, format!("{}:{}", s.vocabulary, s.code));
        }
        if let Some(s) = p.status {
            d.add_u64(f.status, s);
        }
        if let Some(g) = &p.gov_level {
            d.add_text(f.gov_level, g);
        }
        if let Some(period) = &p.period {
            let start = date_range(&period.start).map_or(0, |(first, _)| day_number(first));
            let end = period
                .end
                .as_deref()
                .and_then(date_range)
                .map_or(99_991_231, |(_, last)| day_number(last));
            d.add_u64(f.period_start, start);
            d.add_u64(f.period_end, end);
        }
        d.add_u64(f.has_tcv, u64::from(!p.metrics.is_empty()));
        if let Some(x) = &p.exchange {
            d.add_text(f.exchange, x);
        }
        if let Some(t) = &p.title {
            if let Ok(json) = serde_json::to_string(t) {
                d.add_text(f.title_json, json);
            }
            for text in t.text.values() {
                d.add_text(f.title, text);
            }
        }
        let texts: [Option<&LangText>; 6] = [
            p.title.as_ref(),
            p.summary.as_ref(),
            p.challenge.as_ref(),
            p.solution.as_ref(),
            p.replication_potential.as_ref(),
            p.lessons.as_ref(),
        ];
        for lt in texts.into_iter().flatten() {
            for (lang, text) in &lt.text {
                d.add_text(f.text, text);
                if let Some((_, field)) = f.text_lang.iter().find(|(l, _)| l == lang) {
                    d.add_text(*field, text);
                }
            }
        }
        for k in &p.keywords {
            d.add_text(f.text, k);
        }
        for o in &p.organisations {
            d.add_text(f.text, &o.name);
        }
        d.add_text(f.text, &p.practice_id);
        d
    }

    /// The index's ceiling, for `setu-bench`: the documents of `practices`
    /// (publisher, record id, body, signing time), built first, then added
    /// by this plain tantivy writer (the index's schema, thread and memory
    /// budget) and committed once. Returns the time of the adding and the
    /// commit alone: nothing is read from a store, decoded, deleted or
    /// committed along the way, as an index catch-up must.
    pub fn time_plain_add(
        &mut self,
        practices: &[(AuthorKey, RecordId, Practice, u64)],
    ) -> Result<std::time::Duration, Error> {
        let docs: Vec<TantivyDocument> = practices
            .iter()
            .map(|(author, id, p, ts)| {
                let key = practice_key(author, &p.practice_id);
                self.document(&key, author, id, p, *ts, true, false)
            })
            .collect();
        let start = std::time::Instant::now();
        for doc in docs {
            self.writer.add_document(doc).map_err(err)?;
        }
        self.writer.commit().map_err(err)?;
        Ok(start.elapsed())
    }

    /// Removes every document (before a rebuild).
    pub fn clear(&mut self) -> Result<(), Error> {
        self.writer.delete_all_documents().map_err(err)?;
        self.dirty = true;
        Ok(())
    }

    /// Commits pending changes, recording the store change counter they
    /// reflect and the incarnation of that store, and makes them visible to
    /// searches.
    pub fn commit(&mut self, watermark: u64, store: &str) -> Result<(), Error> {
        let mut prepared = self.writer.prepare_commit().map_err(err)?;
        prepared.set_payload(&format!("change={watermark};store={store}"));
        prepared.commit().map_err(err)?;
        self.reader.reload().map_err(err)?;
        self.added.clear();
        self.dirty = false;
        Ok(())
    }

    /// Forgets every change since the last commit (after a failed write, whose
    /// effect on the uncommitted state is unknown).
    pub fn rollback(&mut self) -> Result<(), Error> {
        self.writer.rollback().map_err(err)?;
        self.added.clear();
        self.dirty = false;
        Ok(())
    }

    /// True if there are changes not yet committed.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }
}
