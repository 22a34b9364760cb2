//! The practice page at `/practices/{id}`: every field of the practice in
//! the reader's language (else the original), machine translations
//! marked; the TCV chart; the citation; provenance; adoptions; attachments.

use maud::{Markup, html};
use setu_core::adoption::Adoption;
use setu_core::codes;
use setu_core::practice::{LangText, Practice};

use crate::chart;
use crate::fmt;
use crate::lang::{self, pick};
use crate::layout::{self, Frame};
use crate::params::{Params, segment};
use crate::search::keys;

/// Hex digits of a key or record id in a short reference.
pub const SHORT_HEX: usize = 12;

/// Who published a record, as far as this node knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publisher {
    /// The agency, as it should be cited ("a2i (BGD)"), if known: from the
    /// network's charter and membership.
    pub name: Option<String>,
    /// Its member id in a chartered network.
    pub member: Option<String>,
    /// The key that owns the record's chain, hex.
    pub key: String,
}

impl Publisher {
    /// The name to cite, as `setu show` cites it: the agency and its
    /// member id, else "publisher" and the key's first hex digits.
    pub fn cited(&self) -> String {
        match (&self.name, &self.member) {
            (Some(n), Some(m)) => format!("{n}, member {m}"),
            (Some(n), None) => n.clone(),
            _ => format!("publisher {}", short(&self.key)),
        }
    }
}

/// One revision of the practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Its record id, hex.
    pub id: String,
    /// Its revision number.
    pub revision: u64,
    /// When it was signed (ms since 1970).
    pub ts: u64,
    /// True for the withdrawal.
    pub withdrawal: bool,
}

/// Origin against adopter, for one metric kind, in basis points of change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcvComparison {
    /// `time`, `cost` or `visits`.
    pub kind: String,
    /// The change where the practice began.
    pub origin_bp: Option<i64>,
    /// The change the adopter reported.
    pub adopter_bp: Option<i64>,
}

/// An adoption report naming the practice (`spec/record.md` §6b).
#[derive(Debug, Clone, PartialEq)]
pub struct AdoptionItem {
    /// The report's current record id, hex.
    pub record_id: String,
    /// Who reported it.
    pub publisher: Publisher,
    /// The report.
    pub adoption: Adoption,
    /// Years from the practice's start to the adoption's.
    pub years_from_origin: Option<f64>,
    /// TCV at the origin against the adopter.
    pub tcv: Vec<TcvComparison>,
}

/// A file attached to the practice (`spec/record.md` §6d), and what this
/// node holds of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentItem {
    /// The content's BLAKE3 hash, hex: its address at `/v1/attachments/{hash}`.
    pub hash: String,
    /// Who attached it.
    pub publisher: Publisher,
    /// Its title.
    pub title: Option<LangText>,
    /// `report`, `toolkit`, `video`, ...
    pub category: Option<String>,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The language of its content.
    pub language: Option<String>,
    /// Its SPDX licence id, if it names one.
    pub licence: Option<String>,
    /// `complete`, `partial` or `absent`.
    pub availability: String,
    /// Blocks held, of `blocks`.
    pub blocks_held: u64,
    /// Blocks of the content.
    pub blocks: u64,
    /// A fetch of it runs on this node now (the page reloads itself).
    pub fetching: bool,
    /// Where a visitor may ask this node to fetch it (a `POST` form), if
    /// the node lets visitors fetch content of its size.
    pub fetch_action: Option<String>,
}

/// How often a page showing a running fetch reloads itself, in seconds.
pub const FETCH_REFRESH_SECS: u32 = 3;

/// The practice page's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PracticePage {
    /// The id the reader asked for (practice id or record id).
    pub requested: String,
    /// The reader's language.
    pub lang: String,
    /// The language the reader chose with `lang=`, kept in links.
    pub lang_chosen: Option<String>,
    /// The `publisher=` the reader gave, kept in the language form.
    pub publisher_param: Option<String>,
    /// The practice id.
    pub practice_id: String,
    /// The record shown, hex.
    pub record_id: String,
    /// Its publisher.
    pub publisher: Publisher,
    /// Its revision number.
    pub revision: u64,
    /// When it was signed (ms since 1970).
    pub ts: u64,
    /// True if the practice was withdrawn.
    pub withdrawn: bool,
    /// True if its publisher signed two records for one revision.
    pub equivocated: bool,
    /// Why the record shown is invalid (kept for audit), if it is.
    pub flagged: Option<String>,
    /// The current revision's record id, hex.
    pub current: Option<String>,
    /// The body; `None` if it could not be read as a practice.
    pub body: Option<Practice>,
    /// Every linked revision, oldest first.
    pub history: Vec<Revision>,
    /// Records held but not linked into the chain, hex.
    pub held: Vec<String>,
    /// Adoption reports naming the practice.
    pub adoptions: Vec<AdoptionItem>,
    /// Files attached to the practice.
    pub attachments: Vec<AttachmentItem>,
    /// The schema.org JSON-LD document for the practice, if any.
    pub json_ld: Option<String>,
}

/// The first [`SHORT_HEX`] hex digits.
fn short(hex: &str) -> &str {
    hex.get(..SHORT_HEX).unwrap_or(hex)
}

/// The citation: "{publisher} ({year}). {title}. Setu practice {id},
/// revision {n}, record {12 hex}." (the form `setu show` prints). The
/// title is the English one, else the original.
pub fn citation(
    publisher: &str,
    title: Option<&LangText>,
    practice_id: &str,
    revision: u64,
    ts: u64,
    record_id: &str,
) -> String {
    let title = title.map_or("(withdrawn)", |t| t.best("en"));
    format!(
        "{publisher} ({}). {title}. Setu practice {practice_id}, revision {revision}, record {}.",
        fmt::year(ts),
        short(record_id)
    )
}

/// Every language any text of the practice is in, sorted.
pub fn languages(p: &Practice) -> Vec<String> {
    let mut out: Vec<String> = [
        &p.title,
        &p.summary,
        &p.challenge,
        &p.solution,
        &p.replication_potential,
        &p.lessons,
    ]
    .into_iter()
    .flatten()
    .flat_map(|t| t.text.keys().cloned())
    .collect();
    out.sort();
    out.dedup();
    out
}

/// Author text as paragraphs: blank lines part paragraphs, a line break
/// is kept.
fn paragraphs(text: &str) -> Markup {
    html! {
        @for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            p {
                @for (i, line) in para.lines().enumerate() {
                    @if i > 0 { br; }
                    (line)
                }
            }
        }
    }
}

/// "Machine translation from Bangla", if it is one.
fn mt_badge(s: &lang::Shown<'_>) -> Markup {
    html! {
        @if s.machine {
            " " span class="badge mt" { "Machine translation" span class="visually-hidden" { " from " (lang::name(s.original)) } }
        }
    }
}

/// One multilingual text field, as a section.
fn text_section(id: &str, heading: &str, t: Option<&LangText>, want: &str) -> Markup {
    let Some(t) = t else { return html! {} };
    let s = pick(t, want);
    html! {
        section class="text-block" aria-labelledby=(id) {
            h2 id=(id) { (heading) (mt_badge(&s)) }
            @if s.fallback {
                p class="note" { "Not published in " (lang::name(want)) "; shown in the original, " (lang::name(s.lang)) "." }
            }
            @if s.machine {
                p class="note" { "Machine-translated from " (lang::name(s.original)) " by the publisher. The original is below." }
            }
            div class="prose" lang=(s.lang) dir=[lang::dir(s.lang)] { (paragraphs(s.text)) }
            @if s.machine {
                details class="original" {
                    summary { "Original (" (lang::name(s.original)) ")" }
                    div class="prose" lang=(s.original) dir=[lang::dir(s.original)] { (paragraphs(s.original_text)) }
                }
            }
        }
    }
}

/// A link to the search page with one filter, keeping the language.
fn search_link(page: &PracticePage, key: &str, value: &str) -> String {
    let mut p = Params::from_pairs([(key, value)]);
    if let Some(l) = &page.lang_chosen {
        p = p.with(keys::LANG, l);
    }
    p.href("/")
}

/// A link to a practice or record page, keeping the language.
fn practice_link(page: &PracticePage, id: &str, publisher: Option<&str>) -> String {
    let mut p = Params::default();
    if let Some(k) = publisher {
        p = p.with("publisher", k);
    }
    if let Some(l) = &page.lang_chosen {
        p = p.with(keys::LANG, l);
    }
    p.href(&format!("/practices/{}", segment(id)))
}

/// An author's URL as a link if it is http(s), else as text.
fn url(u: &str) -> Markup {
    let linkable = u.starts_with("https://") || u.starts_with("http://");
    html! {
        @if linkable {
            a href=(u) rel="nofollow noopener noreferrer" class="break" { (u) }
        } @else {
            span class="break" { (u) }
        }
    }
}

/// A period as `2010-11 – ongoing`.
fn period(start: &str, end: Option<&str>) -> String {
    format!("{start} \u{2013} {}", end.unwrap_or("ongoing"))
}

/// The facts of the practice: codes, people, links.
fn facts(page: &PracticePage, p: &Practice) -> Markup {
    html! {
        section class="facts" aria-labelledby="facts-h" {
            h2 id="facts-h" { "About this practice" }
            dl {
                @if !p.countries.is_empty() {
                    dt { "Countries" }
                    dd { ul class="plain" {
                        @for c in &p.countries {
                            li { a href=(search_link(page, keys::COUNTRY, &format!("{}:{}", c.iso3, c.role))) { (fmt::country(&c.iso3)) } " (" (c.role) ")" }
                        }
                    } }
                }
                @if !p.sdg_targets.is_empty() {
                    dt { "SDG targets" }
                    dd { ul class="plain" {
                        @for t in &p.sdg_targets {
                            li {
                                a href=(search_link(page, keys::SDG, t)) { "Target " (t) }
                                @if let Some(g) = codes::sdg_goal_of_target(t) {
                                    span class="muted" { " \u{2014} " (fmt::sdg_goal(&g.to_string())) }
                                }
                            }
                        }
                    } }
                }
                @if !p.sectors.is_empty() {
                    dt { "Sectors" }
                    dd { ul class="plain" {
                        @for s in &p.sectors {
                            li { a href=(search_link(page, keys::SECTOR, &format!("{}:{}", s.vocabulary, s.code))) { (fmt::sector(&s.vocabulary, &s.code)) } }
                        }
                    } }
                }
                @if let Some(s) = p.status {
                    dt { "Status" }
                    dd { (fmt::status(s)) }
                }
                @if let Some(pe) = &p.period {
                    dt { "Period" }
                    dd { (period(&pe.start, pe.end.as_deref())) }
                }
                @if let Some(g) = &p.gov_level {
                    dt { "Government level" }
                    dd { (fmt::word(g)) }
                }
                @if let Some(r) = &p.reach {
                    dt { "Reach" }
                    dd {
                        (fmt::thousands(r.beneficiaries)) " people"
                        @if let Some(d) = &r.as_of { " (as of " (d) ")" }
                    }
                }
                @if let Some(e) = &p.exchange {
                    dt { "Exchange" }
                    dd { (match e.as_str() {
                        "offering" => "The publisher offers to share this practice".to_string(),
                        "seeking" => "The publisher seeks partners to take it further".to_string(),
                        "none" => "Not offered for exchange".to_string(),
                        other => fmt::word(other),
                    }) }
                }
                @if let Some(e) = &p.evidence_level {
                    dt { "Evidence" }
                    dd { (fmt::word(e)) }
                }
                @if !p.organisations.is_empty() {
                    dt { "Organisations" }
                    dd { ul class="plain" {
                        @for o in &p.organisations {
                            li {
                                span dir="auto" { (o.name) }
                                span class="muted" {
                                    " \u{2014} " (o.role)
                                    @if let Some(c) = &o.iso3 { ", " (fmt::country(c)) }
                                }
                            }
                        }
                    } }
                }
                @if !p.recognition.is_empty() {
                    dt { "Recognition" }
                    dd { ul class="plain" {
                        @for r in &p.recognition { li { span dir="auto" { (r.award) } " (" (r.year) ")" } }
                    } }
                }
                @if !p.keywords.is_empty() {
                    dt { "Keywords" }
                    dd { ul class="tags" {
                        @for k in &p.keywords { li dir="auto" { (k) } }
                    } }
                }
                @if !p.urls.is_empty() {
                    dt { "Links" }
                    dd { ul class="plain" { @for u in &p.urls { li { (url(u)) } } } }
                }
                @if let Some(c) = &p.contact {
                    dt { "Contact" }
                    dd {
                        @if let Some(n) = &c.name { span dir="auto" { (n) } }
                        @if let Some(r) = &c.role { @if c.name.is_some() { ", " } span dir="auto" { (r) } }
                        @if let Some(e) = &c.email {
                            @if c.name.is_some() || c.role.is_some() { br; }
                            a href=(format!("mailto:{e}")) class="break" { (e) }
                        }
                    }
                }
                @if !p.replaces.is_empty() {
                    dt { "Replaces" }
                    dd { ul class="plain" {
                        @for r in &p.replaces { li { a href=(practice_link(page, r, Some(&page.publisher.key))) class="mono" { (r) } } }
                    } }
                }
                @if let Some(l) = &p.licence {
                    dt { "Licence" }
                    dd {
                        (codes::spdx_name(l).unwrap_or(l))
                        @if codes::spdx_name(l).is_some() { " (" span class="mono" { (l) } ")" }
                    }
                }
            }
        }
    }
}

/// The TCV figures: the chart and, for every metric, a row of the table.
fn tcv(p: &Practice) -> Markup {
    if p.metrics.is_empty() {
        return html! {};
    }
    html! {
        section class="tcv" aria-labelledby="tcv-h" {
            h2 id="tcv-h" { "Time, cost and visits" }
            p class="note" {
                "What citizens spent on the service before the change and after it, as the publisher measured it. "
                "A figure published only as a change is drawn as an index: before = 100."
            }
            figure {
                (chart::tcv(&p.metrics, "tcv-chart"))
            }
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { "TCV figures" }
                    thead { tr {
                        th scope="col" { "Measure" }
                        th scope="col" { "Before" }
                        th scope="col" { "After" }
                        th scope="col" { "Change" }
                        th scope="col" { "How measured" }
                    } }
                    tbody {
                        @for m in &p.metrics {
                            @let b = chart::bars(m);
                            tr {
                                th scope="row" { (chart::kind_name(&m.kind)) }
                                td { (b.before_text) }
                                td { (b.after_text) }
                                td { (m.change_bp().map_or_else(|| "\u{2014}".to_string(), fmt::percent)) }
                                td {
                                    (b.how)
                                    @if let Some(s) = &m.source { br; "Source: " (url(s)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The citation and its copy button (which the script shows).
fn cite(page: &PracticePage) -> Markup {
    let title = page.body.as_ref().and_then(|b| b.title.as_ref());
    let text = citation(
        &page.publisher.cited(),
        title,
        &page.practice_id,
        page.revision,
        page.ts,
        &page.record_id,
    );
    html! {
        section class="cite" aria-labelledby="cite-h" {
            h2 id="cite-h" { "Cite this practice" }
            p id="citation" class="citation" { (text) }
            div class="copy-row" {
                button type="button" class="copy" data-copy="citation" hidden { "Copy citation" }
                span class="copy-status" role="status" aria-live="polite" {}
            }
        }
    }
}

/// Who published it, that the signature was verified, the revisions.
fn provenance(page: &PracticePage) -> Markup {
    let pb = &page.publisher;
    html! {
        section class="provenance" aria-labelledby="prov-h" {
            h2 id="prov-h" { "Provenance" }
            p class="verified" {
                span class="badge ok" { "\u{2713} Signature verified" }
                " "
                span class="muted" { "Ed25519; this node checked it when it stored the record." }
            }
            dl {
                dt { "Published by" }
                dd {
                    (pb.name.clone().unwrap_or_else(|| pb.cited()))
                    @if let Some(m) = &pb.member { br; span class="muted" { "member " span class="mono" { (m) } } }
                }
                dt { "Publisher key" }
                dd { code class="break" { (pb.key) } }
                dt { "Record" }
                dd {
                    code class="break" { (page.record_id) }
                    br;
                    a href=(format!("/v1/records/{}", segment(&page.record_id))) { "Raw signed record" }
                }
                dt { "Signed" }
                dd { (fmt::date(page.ts)) ", revision " (page.revision) }
            }
            @if !page.history.is_empty() {
                h3 { "Revision history" }
                div class="table-wrap" {
                    table class="history" {
                        thead { tr {
                            th scope="col" { "Revision" }
                            th scope="col" { "Signed" }
                            th scope="col" { "Record" }
                        } }
                        tbody {
                            @for r in &page.history {
                                @let shown = r.id == page.record_id;
                                tr class=[shown.then_some("shown")] {
                                    th scope="row" {
                                        (r.revision)
                                        @if r.withdrawal { " (withdrawal)" }
                                        @if page.current.as_deref() == Some(r.id.as_str()) { " " span class="badge" { "current" } }
                                    }
                                    td { (fmt::date(r.ts)) }
                                    td {
                                        @if shown {
                                            span class="mono" aria-current="page" { (short(&r.id)) }
                                        } @else {
                                            a class="mono" href=(practice_link(page, &r.id, None)) { (short(&r.id)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !page.held.is_empty() {
                p class="note" {
                    "Also held, not linked into the chain (a gap below them, a bad link, or equivocation): "
                    @for (i, h) in page.held.iter().enumerate() {
                        @if i > 0 { ", " }
                        a class="mono" href=(format!("/v1/records/{}", segment(h))) { (short(h)) }
                    }
                }
            }
        }
    }
}

/// The practice's adoptions.
fn adoptions(page: &PracticePage) -> Markup {
    if page.adoptions.is_empty() {
        return html! {};
    }
    html! {
        section class="adoptions" aria-labelledby="adoptions-h" {
            h2 id="adoptions-h" { "Adoptions (" (page.adoptions.len()) ")" }
            p class="note" { "Other agencies' reports that they adopted this practice." }
            @for (i, a) in page.adoptions.iter().enumerate() {
                @let ad = &a.adoption;
                @let hid = format!("adoption-{i}");
                article class="adoption" aria-labelledby=(hid) {
                    h3 id=(hid) {
                        (ad.country.as_deref().map_or_else(|| "Unknown country".to_string(), fmt::country))
                        @if let Some(s) = &ad.stage { " " span class=(format!("badge stage-{}", if s == "scaled" { "scaled" } else { "other" })) { (fmt::word(s)) } }
                    }
                    p class="meta" {
                        @if let Some(pe) = &ad.period { (period(&pe.start, pe.end.as_deref())) }
                        @if let Some(y) = a.years_from_origin { " \u{b7} " (format!("{y:.1}")) " years after the origin" }
                        " \u{b7} reported by " (a.publisher.cited())
                        " \u{b7} " a href=(format!("/v1/records/{}", segment(&a.record_id))) { "record " span class="mono" { (short(&a.record_id)) } }
                    }
                    @if !ad.places.is_empty() {
                        p { "Places: " @for (j, pl) in ad.places.iter().enumerate() { @if j > 0 { ", " } span dir="auto" { (pl) } } }
                    }
                    @if let Some(t) = &ad.adaptation {
                        @let s = pick(t, &page.lang);
                        div class="prose" lang=(s.lang) dir=[lang::dir(s.lang)] {
                            p { strong lang="en" dir="ltr" { "Adapted: " } (s.text) (mt_badge(&s)) }
                        }
                    }
                    @if let Some(t) = &ad.lessons {
                        @let s = pick(t, &page.lang);
                        div class="prose" lang=(s.lang) dir=[lang::dir(s.lang)] {
                            p { strong lang="en" dir="ltr" { "Lessons: " } (s.text) (mt_badge(&s)) }
                        }
                    }
                    @if !a.tcv.is_empty() {
                        div class="table-wrap" {
                            table class="compare" {
                                caption { "Change in time, cost and visits: at the origin and here" }
                                thead { tr { th scope="col" { "Measure" } th scope="col" { "At the origin" } th scope="col" { "Here" } } }
                                tbody {
                                    @for c in &a.tcv {
                                        tr {
                                            th scope="row" { (chart::kind_name(&c.kind)) }
                                            td { (c.origin_bp.map_or_else(|| "\u{2014}".to_string(), fmt::percent)) }
                                            td { (c.adopter_bp.map_or_else(|| "\u{2014}".to_string(), fmt::percent)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The practice's attachments: each with its facts, a player for audio
/// and video held here, a download link, or "not yet available".
fn attachments(page: &PracticePage) -> Markup {
    if page.attachments.is_empty() {
        return html! {};
    }
    html! {
        section class="attachments" aria-labelledby="attachments-h" {
            h2 id="attachments-h" { "Attachments (" (page.attachments.len()) ")" }
            @for (i, a) in page.attachments.iter().enumerate() {
                @let hid = format!("attachment-{i}");
                @let href = format!("/v1/attachments/{}", segment(&a.hash));
                article class="attachment" aria-labelledby=(hid) data-hash=(a.hash) {
                    h3 id=(hid) {
                        @match &a.title {
                            Some(t) => { @let s = pick(t, &page.lang); span lang=(s.lang) dir=[lang::dir(s.lang)] { (s.text) } (mt_badge(&s)) }
                            None => { "Untitled file" }
                        }
                    }
                    p class="meta" {
                        (a.category.as_deref().map_or_else(|| "File".to_string(), fmt::word))
                        " \u{b7} " span class="mono" { (a.media_type) }
                        " \u{b7} " (fmt::bytes(a.size))
                        @if let Some(l) = &a.language { " \u{b7} " (lang::name(l)) }
                        @if let Some(l) = &a.licence { " \u{b7} " (l) }
                        " \u{b7} attached by " (a.publisher.cited())
                    }
                    @match a.availability.as_str() {
                        "complete" => {
                            @if a.media_type.starts_with("video/") {
                                video controls preload="metadata" src=(href) { }
                            } @else if a.media_type.starts_with("audio/") {
                                audio controls preload="metadata" src=(href) { }
                            }
                            p { a class="download" href=(href) { "Download" } " (" (fmt::bytes(a.size)) ")" }
                        }
                        _ if a.fetching => {
                            p class="availability" role="status" { "Being fetched: " (a.blocks_held) " of " (a.blocks) " blocks verified so far. This page reloads until it is here." }
                        }
                        avail => {
                            p class="availability" {
                                @if avail == "partial" { "Partly held on this node; its fetch is not running. " }
                                @else { "Not yet available on this node. " }
                                @if a.fetch_action.is_none() { "Its operator can fetch it with " code { "setu fetch " (a.hash) } "." }
                            }
                            @if let Some(action) = &a.fetch_action {
                                form class="fetch" method="post" action=(action) {
                                    button type="submit" { "Fetch to this node" }
                                    " from the peers that hold it; every block is checked against the signed hash."
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The language menu: the practice's languages.
fn language_form(page: &PracticePage, langs: &[String]) -> Markup {
    if langs.len() < 2 {
        return html! {};
    }
    html! {
        form class="lang-switch" method="get" action=(format!("/practices/{}", segment(&page.requested))) {
            label for="lang" { "Read in" }
            select id="lang" name="lang" {
                @for l in langs {
                    option value=(l) selected[*l == page.lang] { (lang::name(l)) }
                }
            }
            @if let Some(p) = &page.publisher_param {
                input type="hidden" name="publisher" value=(p);
            }
            button type="submit" { "Show" }
        }
    }
}

/// The practice page, as HTML.
pub fn render(page: &PracticePage) -> String {
    let want = page.lang.as_str();
    let body = page.body.as_ref().filter(|b| !b.is_withdrawal());
    let mut langs = body.map(languages).unwrap_or_default();
    if !langs.iter().any(|l| l == want) && page.lang_chosen.is_some() {
        langs.push(want.to_string());
        langs.sort();
    }
    let title = body.and_then(|b| b.title.as_ref()).map(|t| pick(t, want));
    let page_title = title.map_or_else(|| page.practice_id.clone(), |t| t.text.to_string());
    let back = layout::home(page.lang_chosen.as_deref());
    let html = html! {
        nav class="crumbs" aria-label="Breadcrumb" {
            a href=(back) { "\u{2190} All practices" }
        }
        header class="practice-head" {
            @match &title {
                Some(t) => {
                    h1 lang=(t.lang) dir=[lang::dir(t.lang)] { (t.text) }
                    @if t.machine || t.fallback || t.lang != t.original {
                        p class="original-title" {
                            @if t.machine { span class="badge mt" { "Machine translation" } " " }
                            "Original title (" (lang::name(t.original)) "): "
                            span lang=(t.original) dir=[lang::dir(t.original)] { (t.original_text) }
                        }
                    }
                },
                None => h1 { (page.practice_id) },
            }
            p class="meta" {
                @if let Some(b) = body {
                    @for (i, c) in b.countries.iter().filter(|c| c.role == "originating").enumerate() {
                        @if i > 0 { ", " }
                        (fmt::country(&c.iso3))
                    }
                    span class="sep" aria-hidden="true" { " \u{b7} " }
                }
                span class="mono" { (page.practice_id) }
                span class="sep" aria-hidden="true" { " \u{b7} " }
                "Revision " (page.revision) ", signed " (fmt::date(page.ts))
                @if let Some(s) = body.and_then(|b| b.status) { " " span class="badge" { (fmt::status(s)) } }
                @if body.is_some_and(|b| !b.metrics.is_empty()) { " " span class="badge tcv" { "TCV figures" } }
            }
            (language_form(page, &langs))
        }
        @if page.withdrawn {
            p class="alert" role="note" { strong { "Withdrawn. " } "The publisher withdrew this practice; it is shown as last published." }
        }
        @if let Some(b) = page.body.as_ref().filter(|b| b.is_withdrawal()) {
            p class="alert" role="note" {
                strong { "This record is a withdrawal. " }
                @if let Some(r) = &b.reason { "Reason given: " span dir="auto" { (r) } }
            }
        }
        @if page.current.is_some() && page.current.as_deref() != Some(page.record_id.as_str()) {
            p class="alert" role="note" {
                "This is an earlier revision. "
                @if let Some(c) = &page.current { a href=(practice_link(page, c, None)) { "See the current revision" } "." }
            }
        }
        @if page.equivocated {
            p class="alert" role="note" { strong { "Warning: " } "the publisher signed two different records for one revision of this practice." }
        }
        @if let Some(why) = &page.flagged {
            p class="alert" role="note" { strong { "Invalid record (" (why) "). " } "The network's membership made this record invalid; it is kept for audit only." }
        }
        @if page.body.is_none() {
            p class="alert" role="note" { "This node cannot read this record as a practice." }
        }
        div class="practice-layout" {
            div class="practice-main" {
                @if let Some(b) = body {
                    (text_section("summary-h", "Summary", b.summary.as_ref(), want))
                    (text_section("challenge-h", "The challenge", b.challenge.as_ref(), want))
                    (text_section("solution-h", "The solution", b.solution.as_ref(), want))
                    (tcv(b))
                    (text_section("replication-h", "Replication potential", b.replication_potential.as_ref(), want))
                    (text_section("lessons-h", "Lessons learned", b.lessons.as_ref(), want))
                }
                (adoptions(page))
                (attachments(page))
            }
            div class="practice-side" {
                (cite(page))
                @if let Some(b) = body { (facts(page, b)) }
                (provenance(page))
            }
        }
    };
    layout::page(
        &Frame {
            title: &page_title,
            lang: page.lang_chosen.as_deref(),
            json_ld: page.json_ld.as_deref(),
            refresh: page
                .attachments
                .iter()
                .any(|a| a.fetching)
                .then_some(FETCH_REFRESH_SECS),
        },
        html,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use setu_core::practice::{CountryRole, Metric, Period};

    fn lt(original: &str, entries: &[(&str, &str)], machine: &[&str]) -> LangText {
        LangText {
            original: original.into(),
            text: entries
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect(),
            machine_translated: machine.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn practice(title: LangText) -> Practice {
        Practice {
            practice_id: "BGD-A2I-0001".into(),
            revision: 1,
            supersedes: None,
            state: "active".into(),
            reason: None,
            licence: Some("CC-BY-4.0".into()),
            title: Some(title),
            summary: Some(lt("bn", &[("bn", "সারাংশ"), ("en", "A summary.")], &[])),
            challenge: Some(lt("en", &[("en", "The challenge.")], &[])),
            solution: Some(lt(
                "bn",
                &[("bn", "সমাধান"), ("ar", "الحل"), ("en", "The solution.")],
                &["ar"],
            )),
            countries: vec![CountryRole {
                iso3: "BGD".into(),
                role: "originating".into(),
            }],
            sdg_targets: vec!["16.6".into()],
            status: Some(2),
            period: Some(Period {
                start: "2010-11".into(),
                end: None,
            }),
            replication_potential: None,
            lessons: None,
            organisations: vec![],
            sectors: vec![],
            gov_level: Some("local".into()),
            keywords: vec!["<b>kw</b>".into()],
            urls: vec![
                "javascript:alert(1)".into(),
                "https://example.org/a?b=1&c=2".into(),
            ],
            contact: None,
            exchange: Some("offering".into()),
            recognition: vec![],
            reach: None,
            evidence_level: None,
            replaces: vec![],
            metrics: vec![Metric {
                kind: "time".into(),
                stage: "digital".into(),
                method: "survey".into(),
                sample_n: None,
                source: None,
                baseline: None,
                after: None,
                unit: None,
                currency: None,
                price_year: None,
                change_bp: Some(-7814),
            }],
        }
    }

    fn page(p: Practice, lang: &str) -> PracticePage {
        PracticePage {
            requested: "BGD-A2I-0001".into(),
            lang: lang.into(),
            lang_chosen: Some(lang.into()),
            publisher_param: None,
            practice_id: "BGD-A2I-0001".into(),
            record_id: "cd".repeat(32),
            publisher: Publisher {
                name: Some("a2i (BGD)".into()),
                member: Some("bgd-a2i".into()),
                key: "ab".repeat(32),
            },
            revision: 1,
            ts: 1_767_225_600_000,
            withdrawn: false,
            equivocated: false,
            flagged: None,
            current: Some("cd".repeat(32)),
            body: Some(p),
            history: vec![Revision {
                id: "cd".repeat(32),
                revision: 1,
                ts: 1_767_225_600_000,
                withdrawal: false,
            }],
            held: vec![],
            adoptions: vec![],
            attachments: vec![],
            json_ld: None,
        }
    }

    #[test]
    fn a_hostile_title_comes_out_escaped() {
        let evil = "<script>alert(1)</script>";
        let html = render(&page(practice(lt("en", &[("en", evil)], &[])), "en"));
        assert!(!html.contains(evil), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;kw&lt;/b&gt;"));
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the page's own script"
        );
        // A URL that is not http(s) is never a link.
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(html.contains("href=\"https://example.org/a?b=1&amp;c=2\""));
        // The citation carries the hostile title escaped too.
        assert!(html.contains("a2i (BGD), member bgd-a2i (2026). &lt;script&gt;"));
    }

    #[test]
    fn texts_carry_lang_and_rtl_and_fall_back_to_the_original() {
        let title = lt(
            "bn",
            &[
                ("bn", "ইউনিয়ন ডিজিটাল সেন্টার"),
                ("en", "Union Digital Centres"),
            ],
            &[],
        );
        let html = render(&page(practice(title), "ar"));
        // No Arabic title: the original, marked as Bangla.
        assert!(
            html.contains("<h1 lang=\"bn\">ইউনিয়ন ডিজিটাল সেন্টার</h1>"),
            "{html}"
        );
        // The machine-translated Arabic solution: rtl, marked, with the original.
        assert!(
            html.contains("lang=\"ar\" dir=\"rtl\"><p>الحل</p>"),
            "{html}"
        );
        assert!(html.contains("Machine translation"));
        assert!(html.contains("Machine-translated from Bengali"));
        assert!(html.contains("Not published in Arabic; shown in the original, Bengali."));
        // The language menu lists every language of the practice.
        for l in ["ar", "bn", "en"] {
            assert!(html.contains(&format!("<option value=\"{l}\"")), "{l}");
        }
        assert!(html.contains("<option value=\"ar\" selected"), "{html}");
    }

    #[test]
    fn chart_citation_provenance_and_copy_button() {
        let html = render(&page(
            practice(lt("en", &[("en", "Union Digital Centres")], &[])),
            "en",
        ));
        assert!(html.contains("class=\"tcv-chart\""));
        assert!(html.contains(&format!(
            "a2i (BGD), member bgd-a2i (2026). Union Digital Centres. Setu practice BGD-A2I-0001, revision 1, record {}.",
            "cd".repeat(6)
        )));
        assert!(html.contains("data-copy=\"citation\""));
        assert!(html.contains("Signature verified"));
        assert!(html.contains(&format!("href=\"/v1/records/{}\"", "cd".repeat(32))));
        assert!(!html.contains("style="), "no inline style under the CSP");
    }

    #[test]
    fn adoptions_are_listed_with_their_comparison() {
        let mut pg = page(practice(lt("en", &[("en", "T")], &[])), "en");
        let adoption: Adoption = Adoption {
            adoption_id: "KEN-ICTA-0001".into(),
            revision: 1,
            supersedes: None,
            state: "active".into(),
            reason: None,
            licence: None,
            practice: None,
            country: Some("KEN".into()),
            stage: Some("scaled".into()),
            period: Some(Period {
                start: "2015-03".into(),
                end: None,
            }),
            gov_level: None,
            places: vec!["Nakuru".into()],
            adaptation: Some(lt("sw", &[("sw", "Huduma")], &[])),
            lessons: None,
            metrics: vec![],
            organisations: vec![],
            contact: None,
            urls: vec![],
            keywords: vec![],
        };
        pg.adoptions.push(AdoptionItem {
            record_id: "ef".repeat(32),
            publisher: Publisher::default(),
            adoption,
            years_from_origin: Some(4.3),
            tcv: vec![TcvComparison {
                kind: "time".into(),
                origin_bp: Some(-7814),
                adopter_bp: Some(-5000),
            }],
        });
        let html = render(&pg);
        assert!(html.contains("Adoptions (1)"));
        assert!(html.contains("Kenya"));
        assert!(html.contains("4.3 years after the origin"));
        assert!(html.contains("\u{2212}50.0"));
        assert!(html.contains("lang=\"sw\""));
    }

    #[test]
    fn citation_form() {
        assert_eq!(
            citation("x", None, "P-1", 2, 0, "0123456789abcdef"),
            "x (1970). (withdrawn). Setu practice P-1, revision 2, record 0123456789ab."
        );
    }
}
