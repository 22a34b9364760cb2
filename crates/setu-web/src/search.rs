//! The search page at `/`: a search box, filters with facet counts, and
//! one page of results.
//!
//! Filters are links: each facet value toggles its query parameter (the
//! parameters of `GET /v1/practices`, `node/src/filters.rs`), so the page
//! works with no script and every state has its own address. Values of one
//! filter are alternatives; different filters must all match.

use maud::{Markup, html};
use setu_core::practice::{COUNTRY_ROLES, GOV_LEVELS, LangText};

use crate::fmt;
use crate::lang::{self, pick};
use crate::layout::{self, Frame};
use crate::params::{Params, segment};

/// Results per page.
pub const PAGE_SIZE: usize = 20;
/// Highest page number served (a deeper page is a bad parameter).
pub const MAX_PAGE: usize = 5_000;
/// Values of one facet shown before "show all".
pub const MAX_FACET_VALUES: usize = 8;
/// Values of one facet listed at all.
pub const MAX_FACET_LIST: usize = 300;
/// Characters of a summary shown in the result list.
pub const MAX_SUMMARY_CHARS: usize = 240;
/// Longest search text echoed back into the search box, in characters.
pub const MAX_TEXT_SHOWN: usize = 1_024;

/// The query parameters a facet sets.
pub mod keys {
    /// Country, ISO3, optionally `:role`.
    pub const COUNTRY: &str = "country";
    /// SDG goal or target.
    pub const SDG: &str = "sdg";
    /// Sector, `vocabulary:code`.
    pub const SECTOR: &str = "sector";
    /// IATI activity status.
    pub const STATUS: &str = "status";
    /// Government level.
    pub const GOV_LEVEL: &str = "gov_level";
    /// Only practices with TCV figures.
    pub const HAS_TCV: &str = "has_tcv";
    /// Full text.
    pub const TEXT: &str = "text";
    /// Page number, from 1.
    pub const PAGE: &str = "page";
    /// The reader's language.
    pub const LANG: &str = "lang";
}

/// One practice in the result list.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultItem {
    /// The practice id.
    pub practice_id: String,
    /// The publisher's key, hex.
    pub publisher: String,
    /// Title.
    pub title: Option<LangText>,
    /// Summary.
    pub summary: Option<LangText>,
    /// Originating countries, ISO3.
    pub countries: Vec<String>,
    /// The revision shown.
    pub revision: u64,
    /// When it was signed (ms since 1970).
    pub ts: u64,
    /// True if withdrawn.
    pub withdrawn: bool,
    /// Current adoptions.
    pub adoptions: u64,
    /// True if it carries TCV figures.
    pub tcv: bool,
}

/// Facet counts: how many of the matches carry each value. For a filter
/// the reader has set, the counts are those of the query without that
/// filter, so they say what choosing another value would give.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// ISO3 → practices listing the country (any role), most first.
    pub country: Vec<(String, u64)>,
    /// For each chosen country: role → practices listing it in that role.
    pub country_roles: Vec<(String, Vec<(String, u64)>)>,
    /// SDG goal → practices.
    pub sdg_goal: Vec<(String, u64)>,
    /// SDG target → practices, for the targets of chosen goals (those with
    /// any practice).
    pub sdg_target: Vec<(String, u64)>,
    /// `vocabulary:code` → practices.
    pub sector: Vec<(String, u64)>,
    /// IATI status → practices.
    pub status: Vec<(u64, u64)>,
    /// Government level → practices.
    pub gov_level: Vec<(String, u64)>,
    /// Practices with TCV figures.
    pub has_tcv: u64,
}

/// The search page's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchPage {
    /// The page's query parameters, as given (already checked).
    pub params: Params,
    /// The reader's language.
    pub lang: String,
    /// Languages offered in the language menu.
    pub languages: Vec<String>,
    /// Matches in all.
    pub total: usize,
    /// This page's number, from 1.
    pub page: usize,
    /// This page's results.
    pub results: Vec<ResultItem>,
    /// Facet counts.
    pub counts: Counts,
}

/// The base of every facet link: the parameters without the page number.
fn base(p: &Params) -> Params {
    p.without_key(keys::PAGE)
}

/// Text cut to `max` characters, with an ellipsis if cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}\u{2026}", s[..i].trim_end()),
        None => s.to_string(),
    }
}

/// The ISO3 part of a `country` value (`BGD:originating` → `BGD`).
fn iso3_of(value: &str) -> &str {
    value.split_once(':').map_or(value, |(c, _)| c)
}

/// A filter value for a person, as its chip says it.
pub fn describe(key: &str, value: &str) -> String {
    match key {
        keys::COUNTRY => match value.split_once(':') {
            Some((c, r)) => format!("Country: {} ({r})", fmt::country(&c.to_ascii_uppercase())),
            None => format!("Country: {}", fmt::country(&value.to_ascii_uppercase())),
        },
        keys::SDG if value.contains('.') => format!("SDG target {value}"),
        keys::SDG => format!("SDG {}", fmt::sdg_goal(value)),
        keys::SECTOR => format!("Sector: {}", fmt::sector_value(value)),
        keys::STATUS => match value.parse::<u64>() {
            Ok(s) => format!("Status: {}", fmt::status(s)),
            Err(_) => format!("Status: {value}"),
        },
        keys::GOV_LEVEL => format!("Government level: {}", fmt::word(value)),
        keys::HAS_TCV => "With TCV figures".into(),
        "no_tcv" => "Without TCV figures".into(),
        "adopted_in" => format!("Adopted in {}", fmt::country(&value.to_ascii_uppercase())),
        other => format!("{}: {value}", fmt::word(other)),
    }
}

/// One facet value, as a link.
struct Value {
    label: String,
    count: u64,
    selected: bool,
    href: String,
    /// Links under the value (a country's roles, a goal's targets).
    sub: Option<Markup>,
}

fn value_link(v: &Value) -> Markup {
    html! {
        li {
            a class=(if v.selected { "facet selected" } else { "facet" }) href=(v.href)
                aria-current=[v.selected.then_some("true")] {
                span class="facet-label" {
                    (v.label)
                    @if v.selected { span class="visually-hidden" { " (chosen; follow to remove)" } }
                }
                span class="count" { (fmt::thousands(v.count)) span class="visually-hidden" { " practices" } }
            }
            @if let Some(s) = &v.sub { (s) }
        }
    }
}

/// A facet group: a heading and its values, the first
/// [`MAX_FACET_VALUES`] in view and the rest behind "show all".
fn group(id: &str, title: &str, mut values: Vec<Value>) -> Markup {
    if values.is_empty() {
        return html! {};
    }
    // Chosen values first, so they are never hidden.
    values.sort_by_key(|v| !v.selected);
    values.truncate(MAX_FACET_LIST);
    let (shown, rest) = values.split_at(values.len().min(MAX_FACET_VALUES));
    let heading = format!("facet-{id}");
    html! {
        section class="facet-group" aria-labelledby=(heading) {
            h3 id=(heading) { (title) }
            ul class="facets" { @for v in shown { (value_link(v)) } }
            @if !rest.is_empty() {
                details class="more" {
                    summary { "Show all " (values.len()) span class="visually-hidden" { " " (title.to_lowercase()) " values" } }
                    ul class="facets" { @for v in rest { (value_link(v)) } }
                }
            }
        }
    }
}

/// The filters, with counts.
fn filters(page: &SearchPage) -> Markup {
    let p = base(&page.params);
    let c = &page.counts;

    // Country: a value is chosen in any role; a chosen country offers its
    // roles.
    let countries = c
        .country
        .iter()
        .map(|(iso3, n)| {
            let chosen: Vec<&str> = p
                .all(keys::COUNTRY)
                .filter(|v| iso3_of(v).eq_ignore_ascii_case(iso3))
                .collect();
            let selected = !chosen.is_empty();
            let href = if selected {
                p.filtered(|k, v| !(k == keys::COUNTRY && iso3_of(v).eq_ignore_ascii_case(iso3)))
                    .href("/")
            } else {
                p.with(keys::COUNTRY, iso3).href("/")
            };
            let roles = c
                .country_roles
                .iter()
                .find(|(k, _)| k == iso3)
                .map(|(_, r)| r.as_slice())
                .unwrap_or_default();
            let sub = (selected && !roles.is_empty()).then(|| {
                let others = p.filtered(|k, v| {
                    !(k == keys::COUNTRY && iso3_of(v).eq_ignore_ascii_case(iso3))
                });
                let any_role = chosen.iter().any(|v| !v.contains(':'));
                html! {
                    ul class="facets sub" aria-label=(format!("{} by role", fmt::country(iso3))) {
                        li {
                            a class=(if any_role { "facet selected" } else { "facet" })
                                href=(others.with(keys::COUNTRY, iso3).href("/"))
                                aria-current=[any_role.then_some("true")] {
                                span class="facet-label" { "Any role" }
                                span class="count" { (fmt::thousands(*n)) }
                            }
                        }
                        @for role in COUNTRY_ROLES {
                            @let value = format!("{iso3}:{role}");
                            @let count = roles.iter().find(|(r, _)| r == role).map_or(0, |(_, n)| *n);
                            @let on = chosen.iter().any(|v| v.eq_ignore_ascii_case(&value));
                            li {
                                a class=(if on { "facet selected" } else { "facet" })
                                    href=(others.with(keys::COUNTRY, &value).href("/"))
                                    aria-current=[on.then_some("true")] {
                                    span class="facet-label" { "As " (role) }
                                    span class="count" { (fmt::thousands(count)) span class="visually-hidden" { " practices" } }
                                }
                            }
                        }
                    }
                }
            });
            Value {
                label: fmt::country(iso3),
                count: *n,
                selected,
                href,
                sub,
            }
        })
        .collect();

    // SDG: goals, and the targets of a chosen goal (or of a chosen target).
    let chosen_goals: Vec<String> = p
        .all(keys::SDG)
        .map(|v| v.split('.').next().unwrap_or(v).to_string())
        .collect();
    let goals = c
        .sdg_goal
        .iter()
        .map(|(goal, n)| {
            let selected = p.has(keys::SDG, goal);
            let open = chosen_goals.iter().any(|g| g == goal);
            let targets: Vec<&(String, u64)> = c
                .sdg_target
                .iter()
                .filter(|(t, _)| t.split('.').next() == Some(goal.as_str()))
                .collect();
            let sub = (open && !targets.is_empty()).then(|| {
                html! {
                    ul class="facets sub" aria-label=(format!("Targets of goal {goal}")) {
                        @for (t, tn) in &targets {
                            @let on = p.has(keys::SDG, t);
                            @let href = if on { p.without(keys::SDG, t) } else { p.without(keys::SDG, goal).with(keys::SDG, t) };
                            li {
                                a class=(if on { "facet selected" } else { "facet" }) href=(href.href("/"))
                                    aria-current=[on.then_some("true")] {
                                    span class="facet-label" { "Target " (t) }
                                    span class="count" { (fmt::thousands(*tn)) span class="visually-hidden" { " practices" } }
                                }
                            }
                        }
                    }
                }
            });
            Value {
                label: fmt::sdg_goal(goal),
                count: *n,
                selected,
                href: p.toggled(keys::SDG, goal).href("/"),
                sub,
            }
        })
        .collect();

    let sectors = c
        .sector
        .iter()
        .map(|(s, n)| Value {
            label: fmt::sector_value(s),
            count: *n,
            selected: p.has(keys::SECTOR, s),
            href: p.toggled(keys::SECTOR, s).href("/"),
            sub: None,
        })
        .collect();

    let statuses = c
        .status
        .iter()
        .map(|(s, n)| {
            let v = s.to_string();
            Value {
                label: fmt::status(*s),
                count: *n,
                selected: p.has(keys::STATUS, &v),
                href: p.toggled(keys::STATUS, &v).href("/"),
                sub: None,
            }
        })
        .collect();

    let levels = GOV_LEVELS
        .iter()
        .filter_map(|level| {
            let n = c
                .gov_level
                .iter()
                .find(|(l, _)| l == level)
                .map_or(0, |(_, n)| *n);
            let selected = p.has(keys::GOV_LEVEL, level);
            (n > 0 || selected).then(|| Value {
                label: fmt::word(level),
                count: n,
                selected,
                href: if selected {
                    p.without_key(keys::GOV_LEVEL).href("/")
                } else {
                    p.set(keys::GOV_LEVEL, level).href("/")
                },
                sub: None,
            })
        })
        .collect();

    let tcv_on = p.has(keys::HAS_TCV, "true");
    let tcv = if c.has_tcv > 0 || tcv_on {
        vec![Value {
            label: "With time, cost and visit figures".into(),
            count: c.has_tcv,
            selected: tcv_on,
            href: if tcv_on {
                p.without_key(keys::HAS_TCV).href("/")
            } else {
                // `no_tcv` and `has_tcv` together are refused.
                p.without_key("no_tcv").set(keys::HAS_TCV, "true").href("/")
            },
            sub: None,
        }]
    } else {
        Vec::new()
    };

    html! {
        (group("country", "Country", countries))
        (group("sdg", "Sustainable Development Goal", goals))
        (group("sector", "Sector", sectors))
        (group("status", "Status", statuses))
        (group("gov-level", "Government level", levels))
        (group("tcv", "TCV figures", tcv))
    }
}

/// The chosen filters, each with a link that removes it.
fn chips(p: &Params) -> Markup {
    let chosen: Vec<&(String, String)> = p
        .pairs()
        .iter()
        .filter(|(k, _)| ![keys::TEXT, keys::PAGE, keys::LANG].contains(&k.as_str()))
        .collect();
    if chosen.is_empty() {
        return html! {};
    }
    let keep_lang = p.filtered(|k, _| k == keys::LANG);
    html! {
        ul class="chips" aria-label="Chosen filters" {
            @for (k, v) in &chosen {
                li {
                    a class="chip" href=(base(p).without(k, v).href("/")) {
                        (describe(k, v))
                        span aria-hidden="true" { " \u{2715}" }
                        span class="visually-hidden" { " (remove this filter)" }
                    }
                }
            }
            li { a class="chip clear" href=(keep_lang.href("/")) { "Clear all" } }
        }
    }
}

/// One result.
fn result(item: &ResultItem, lang: &str, lang_chosen: Option<&str>) -> Markup {
    let mut link = Params::from_pairs([("publisher", item.publisher.as_str())]);
    if let Some(l) = lang_chosen {
        link = link.with(keys::LANG, l);
    }
    let href = link.href(&format!("/practices/{}", segment(&item.practice_id)));
    let title = item.title.as_ref().map(|t| pick(t, lang));
    let summary = item.summary.as_ref().map(|t| pick(t, lang));
    html! {
        li class="result" {
            article {
                h3 {
                    a href=(href) {
                        @match &title {
                            Some(t) => span lang=(t.lang) dir=[lang::dir(t.lang)] { (t.text) },
                            None => span { (item.practice_id) },
                        }
                    }
                }
                p class="meta" {
                    @for (i, c) in item.countries.iter().enumerate() {
                        @if i > 0 { ", " }
                        (fmt::country(c))
                    }
                    span class="sep" aria-hidden="true" { " \u{b7} " }
                    span class="mono" { (item.practice_id) }
                    span class="sep" aria-hidden="true" { " \u{b7} " }
                    "Revision " (item.revision) ", " (fmt::date(item.ts))
                    @if item.adoptions > 0 {
                        span class="sep" aria-hidden="true" { " \u{b7} " }
                        (item.adoptions) @if item.adoptions == 1 { " adoption" } @else { " adoptions" }
                    }
                    @if item.tcv { " " span class="badge tcv" { "TCV figures" } }
                    @if item.withdrawn { " " span class="badge warn" { "Withdrawn" } }
                }
                @if let Some(s) = &summary {
                    p class="summary" lang=(s.lang) dir=[lang::dir(s.lang)] { (cut(s.text, MAX_SUMMARY_CHARS)) }
                }
            }
        }
    }
}

/// The pager.
fn pager(page: &SearchPage) -> Markup {
    let pages = page.total.div_ceil(PAGE_SIZE).max(1);
    if pages <= 1 {
        return html! {};
    }
    let at = |n: usize| {
        let p = base(&page.params);
        if n <= 1 {
            p.href("/")
        } else {
            p.with(keys::PAGE, &n.to_string()).href("/")
        }
    };
    html! {
        nav class="pager" aria-label="Result pages" {
            @if page.page > 1 {
                a rel="prev" href=(at(page.page - 1)) { "\u{2190} Previous" }
            }
            span { "Page " (page.page) " of " (pages) }
            @if page.page < pages {
                a rel="next" href=(at(page.page + 1)) { "Next \u{2192}" }
            }
        }
    }
}

/// The search page, as HTML.
pub fn render(page: &SearchPage) -> String {
    let p = &page.params;
    let text = p.get(keys::TEXT).unwrap_or("");
    let lang_chosen = p.get(keys::LANG);
    let heading = match (page.total, text.is_empty()) {
        (1, true) => "1 practice".to_string(),
        (n, true) => format!("{} practices", fmt::thousands(n as u64)),
        (1, false) => format!("1 practice matches \u{201c}{}\u{201d}", cut(text, 80)),
        (n, false) => format!(
            "{} practices match \u{201c}{}\u{201d}",
            fmt::thousands(n as u64),
            cut(text, 80)
        ),
    };
    // The search box keeps the chosen filters.
    let hidden = base(p).filtered(|k, _| k != keys::TEXT && k != keys::LANG);
    let body = html! {
        section class="intro" {
            h1 { "Good practices in public services" }
            p class="lede" {
                "Search the practices that government innovation agencies publish and share: "
                "what they changed, and how much time, cost and visits it saved citizens."
            }
            form class="search" role="search" action="/" method="get" {
                div class="field" {
                    label for="q" { "Search practices, in any language" }
                    div class="search-row" {
                        input type="search" id="q" name="text" value=(cut(text, MAX_TEXT_SHOWN))
                            placeholder="birth registration, ডিজিটাল সেন্টার, guichet unique" autocomplete="off";
                        button type="submit" { "Search" }
                    }
                }
                div class="field inline" {
                    label for="lang" { "Show texts in" }
                    select id="lang" name="lang" {
                        @for l in &page.languages {
                            option value=(l) selected[*l == page.lang] { (lang::name(l)) }
                        }
                    }
                }
                @for (k, v) in hidden.pairs() {
                    input type="hidden" name=(k) value=(v);
                }
            }
        }
        div class="catalogue" {
            aside class="filters" aria-labelledby="filters-h" {
                details open {
                    summary { h2 id="filters-h" { "Filters" } }
                    (filters(page))
                }
            }
            section class="results" aria-labelledby="results-h" {
                h2 id="results-h" aria-live="polite" { (heading) }
                (chips(p))
                @if page.results.is_empty() {
                    p class="empty" {
                        "No practice matches. Try other words, or remove a filter."
                    }
                } @else {
                    ol class="result-list" start=((page.page - 1) * PAGE_SIZE + 1) {
                        @for r in &page.results { (result(r, &page.lang, lang_chosen)) }
                    }
                }
                (pager(page))
            }
        }
    };
    layout::page(
        &Frame {
            title: if text.is_empty() { "Search" } else { text },
            lang: lang_chosen,
            json_ld: None,
            refresh: None,
        },
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title(original: &str, entries: &[(&str, &str)]) -> LangText {
        LangText {
            original: original.into(),
            text: entries
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect(),
            machine_translated: Vec::new(),
        }
    }

    fn item(id: &str, t: LangText) -> ResultItem {
        ResultItem {
            practice_id: id.into(),
            publisher: "ab".repeat(32),
            title: Some(t),
            summary: None,
            countries: vec!["BGD".into()],
            revision: 1,
            ts: 1_767_225_600_000,
            withdrawn: false,
            adoptions: 2,
            tcv: true,
        }
    }

    fn page(params: &str, results: Vec<ResultItem>) -> SearchPage {
        SearchPage {
            params: Params::parse(params),
            lang: "en".into(),
            languages: vec!["en".into(), "bn".into(), "ar".into()],
            total: 45,
            page: 1,
            results,
            counts: Counts {
                country: vec![("BGD".into(), 4), ("KEN".into(), 3)],
                country_roles: vec![(
                    "BGD".into(),
                    vec![("originating".into(), 4), ("partner".into(), 1)],
                )],
                sdg_goal: vec![("16".into(), 10)],
                sdg_target: vec![("16.6".into(), 7)],
                sector: vec![("dac5:15110".into(), 5)],
                status: vec![(2, 30)],
                gov_level: vec![("national".into(), 20), ("local".into(), 5)],
                has_tcv: 1,
            },
        }
    }

    #[test]
    fn hostile_text_is_escaped() {
        let evil = "<script>alert(1)</script>";
        let html = render(&page(
            "text=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            vec![item("X-1", title("en", &[("en", evil)]))],
        ));
        assert!(!html.contains(evil), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // The only scripts are the page's own file.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
    }

    #[test]
    fn titles_carry_their_language_and_direction() {
        let mut pg = page(
            "lang=ar",
            vec![
                item(
                    "A-1",
                    title("ar", &[("ar", "الشباك الموحد"), ("en", "One stop")]),
                ),
                item("B-1", title("bn", &[("bn", "ডিজিটাল")])),
            ],
        );
        pg.lang = "ar".into();
        let html = render(&pg);
        assert!(html.contains("lang=\"ar\" dir=\"rtl\""), "{html}");
        assert!(html.contains("<span lang=\"bn\">ডিজিটাল</span>"), "{html}");
        assert!(html.contains("<html lang=\"en\">"));
    }

    #[test]
    fn facets_link_to_their_filter_and_back() {
        let html = render(&page("country=BGD&sdg=16&page=2", vec![]));
        // BGD is chosen: its link removes it (and the page number).
        assert!(
            html.contains("href=\"/?sdg=16\" aria-current=\"true\""),
            "{html}"
        );
        // KEN is not: its link adds it.
        assert!(
            html.contains("href=\"/?country=BGD&amp;sdg=16&amp;country=KEN\""),
            "{html}"
        );
        // Roles of the chosen country, with counts.
        assert!(
            html.contains("/?sdg=16&amp;country=BGD%3Aoriginating"),
            "{html}"
        );
        // A target of the chosen goal replaces the goal.
        assert!(
            html.contains("href=\"/?country=BGD&amp;sdg=16.6\""),
            "{html}"
        );
        assert!(html.contains("Government level"));
        assert!(html.contains("Page 1 of 3"));
    }

    #[test]
    fn every_control_has_a_label() {
        let html = render(&page("", vec![]));
        for id in ["q", "lang"] {
            assert!(html.contains(&format!("<label for=\"{id}\">")), "{id}");
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
    }

    #[test]
    fn summaries_are_cut_on_a_character() {
        assert_eq!(cut("ডিজিটাল", 3), "ডিজ\u{2026}");
        assert_eq!(cut("abc", 3), "abc");
    }
}
