//! Validation of a practice body: every problem, each with its path.

use std::collections::BTreeSet;
use std::fmt;

use super::*;
use crate::codes;

/// One problem found in a body: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The path of the field at fault, such as `body.sdg_targets[2]`.
    pub path: String,
    /// Why it is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

pub(crate) struct V {
    pub(crate) problems: Vec<Problem>,
}

impl V {
    pub(crate) fn new() -> V {
        V {
            problems: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn text(&mut self, path: &str, s: &str, max: usize) {
        if s.is_empty() {
            self.add(path, "must not be empty; leave the key out instead");
        } else if s.len() > max {
            self.add(
                path,
                format!("is {} bytes long; the limit is {max}", s.len()),
            );
        }
    }

    pub(crate) fn one_of(&mut self, path: &str, s: &str, allowed: &[&str]) {
        if !allowed.contains(&s) {
            self.add(path, format!("{s:?} is not one of {}", allowed.join(", ")));
        }
    }

    pub(crate) fn list_len(&mut self, path: &str, n: usize) {
        if n > limits::LIST_ITEMS {
            self.add(
                path,
                format!("has {n} items; the limit is {}", limits::LIST_ITEMS),
            );
        }
    }

    pub(crate) fn country(&mut self, path: &str, iso3: &str) {
        if codes::country(iso3).is_none() {
            self.add(
                path,
                format!("{iso3:?} is not an ISO 3166-1 alpha-3 country code"),
            );
        }
    }

    pub(crate) fn practice_id(&mut self, path: &str, id: &str) {
        self.id_text(path, id, "practice id");
    }

    /// An id of the `practice_id` syntax: `what` names it in the message.
    pub(crate) fn id_text(&mut self, path: &str, id: &str, what: &str) {
        let ok_chars = id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        let ok_first = id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if id.is_empty() || id.len() > limits::PRACTICE_ID_BYTES || !ok_chars || !ok_first {
            self.add(
                path,
                format!(
                    "{id:?} is not a {what} (1 to {} of A-Z a-z 0-9 . _ : -, starting with a letter or digit)",
                    limits::PRACTICE_ID_BYTES
                ),
            );
        }
    }

    pub(crate) fn url(&mut self, path: &str, url: &str) {
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        // The authority: after "://", up to the first '/', '?', '#' or the end.
        let host_ok = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
            .is_some_and(|authority| !authority.is_empty());
        if url.len() > limits::URL_BYTES {
            self.add(
                path,
                format!(
                    "is {} bytes long; the limit is {}",
                    url.len(),
                    limits::URL_BYTES
                ),
            );
        } else if !scheme_ok || !host_ok || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            self.add(path, format!("{url:?} is not an http or https URL"));
        }
    }

    pub(crate) fn year(&mut self, path: &str, year: u64) {
        let (lo, hi) = limits::YEARS;
        if !(lo..=hi).contains(&year) {
            self.add(path, format!("{year} is not a year between {lo} and {hi}"));
        }
    }

    /// Checks a `YYYY`, `YYYY-MM` or `YYYY-MM-DD` date; returns its first and
    /// last day as `(y, m, d)` triples when valid.
    pub(crate) fn date(&mut self, path: &str, s: &str) -> Option<(Day, Day)> {
        let parsed = date_range(s);
        match parsed {
            Some(((y, _, _), _)) if !(limits::YEARS.0..=limits::YEARS.1).contains(&y) => {
                self.add(
                    path,
                    format!(
                        "{s:?}: year out of range {}..{}",
                        limits::YEARS.0,
                        limits::YEARS.1
                    ),
                );
                None
            }
            Some(range) => Some(range),
            None => {
                self.add(
                    path,
                    format!("{s:?} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD"),
                );
                None
            }
        }
    }

    pub(crate) fn lang_text(&mut self, path: &str, t: &LangText, max: usize) {
        if !codes::is_language(&t.original) {
            self.add(
                format!("{path}.original"),
                format!("{:?} is not an ISO 639-1 language tag", t.original),
            );
        }
        if t.text.is_empty() {
            self.add(format!("{path}.text"), "must have at least one language");
        }
        if t.text.len() > limits::LANGUAGES {
            self.add(
                format!("{path}.text"),
                format!(
                    "has {} languages; the limit is {}",
                    t.text.len(),
                    limits::LANGUAGES
                ),
            );
        }
        for (lang, text) in &t.text {
            let p = format!("{path}.text.{lang}");
            if !codes::is_language(lang) {
                self.add(&p, format!("{lang:?} is not an ISO 639-1 language tag"));
            }
            self.text(&p, text, max);
        }
        if codes::is_language(&t.original) && !t.text.contains_key(&t.original) {
            self.add(
                format!("{path}.text"),
                format!("has no text in the original language {:?}", t.original),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, lang) in t.machine_translated.iter().enumerate() {
            let p = format!("{path}.machine_translated[{i}]");
            if !t.text.contains_key(lang) {
                self.add(&p, format!("{lang:?} has no text in this field"));
            } else if *lang == t.original {
                self.add(&p, format!("{lang:?} is the original language"));
            }
            if !seen.insert(lang) {
                self.add(&p, format!("{lang:?} is listed twice"));
            }
        }
    }
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        _ => 28,
    }
}

/// A calendar day: (year, month, day).
pub type Day = (u64, u64, u64);

/// Parses a date `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (spec §6.7) into its
/// first and last day, as `(year, month, day)`.
pub fn date_range(s: &str) -> Option<(Day, Day)> {
    let digits = |p: &str, n: usize| {
        (p.len() == n && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    };
    let parts: Vec<&str> = s.split('-').collect();
    let y = digits(parts.first()?, 4)?;
    match parts.len() {
        1 => Some(((y, 1, 1), (y, 12, 31))),
        2 | 3 => {
            let m = digits(parts[1], 2)?;
            if !(1..=12).contains(&m) {
                return None;
            }
            if parts.len() == 2 {
                return Some(((y, m, 1), (y, m, days_in_month(y, m))));
            }
            let d = digits(parts[2], 2)?;
            (1..=days_in_month(y, m))
                .contains(&d)
                .then_some(((y, m, d), (y, m, d)))
        }
        _ => None,
    }
}

pub(crate) fn check_sdg(v: &mut V, path: &str, targets: &[String]) {
    v.list_len(path, targets.len());
    let mut seen = BTreeSet::new();
    for (i, t) in targets.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if !codes::is_sdg_target(t) {
            v.add(&p, format!("{t:?} is not an SDG target"));
        } else if !seen.insert(t) {
            v.add(&p, format!("{t:?} is listed twice"));
        }
    }
}

pub(crate) fn check_metric(v: &mut V, p: &str, m: &Metric) {
    v.one_of(&format!("{p}.kind"), &m.kind, METRIC_KINDS);
    v.one_of(&format!("{p}.stage"), &m.stage, METRIC_STAGES);
    v.one_of(&format!("{p}.method"), &m.method, METRIC_METHODS);
    if m.sample_n == Some(0) {
        v.add(format!("{p}.sample_n"), "must be at least 1");
    }
    if let Some(src) = &m.source {
        v.url(&format!("{p}.source"), src);
    }
    let raw = m.baseline.is_some()
        || m.after.is_some()
        || m.unit.is_some()
        || m.currency.is_some()
        || m.price_year.is_some();
    match (m.change_bp, raw) {
        (Some(_), true) => v.add(
            p,
            "has both change_bp and raw values (baseline, after, unit, currency, price_year); give one form",
        ),
        (None, false) => v.add(p, "needs either change_bp or baseline, after and unit"),
        (Some(bp), false) => {
            let (lo, hi) = limits::CHANGE_BP;
            if !(lo..=hi).contains(&bp) {
                v.add(format!("{p}.change_bp"), format!("{bp} is outside {lo}..={hi} basis points"));
            }
        }
        (None, true) => {
            if m.baseline.is_none() {
                v.add(format!("{p}.baseline"), "is required with raw values");
            }
            if m.after.is_none() {
                v.add(format!("{p}.after"), "is required with raw values");
            }
            match &m.unit {
                None => v.add(format!("{p}.unit"), "is required with raw values"),
                Some(unit) => {
                    let allowed = METRIC_UNITS
                        .iter()
                        .find(|(k, _)| *k == m.kind)
                        .map_or(&[][..], |(_, u)| *u);
                    if !allowed.is_empty() && !allowed.contains(&unit.as_str()) {
                        v.add(
                            format!("{p}.unit"),
                            format!("{unit:?} is not a unit for {}; use {}", m.kind, allowed.join(" or ")),
                        );
                    }
                    let money = unit == "minor_currency";
                    match (&m.currency, money) {
                        (None, true) => v.add(format!("{p}.currency"), "is required with unit minor_currency"),
                        (Some(c), true) if !codes::is_currency(c) => {
                            v.add(format!("{p}.currency"), format!("{c:?} is not an ISO 4217 currency code"))
                        }
                        (Some(_), false) => v.add(format!("{p}.currency"), "is only allowed with unit minor_currency"),
                        _ => {}
                    }
                    match (m.price_year, money) {
                        (None, true) => v.add(format!("{p}.price_year"), "is required with unit minor_currency"),
                        (Some(y), true) => v.year(&format!("{p}.price_year"), y),
                        (Some(_), false) => v.add(format!("{p}.price_year"), "is only allowed with unit minor_currency"),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Every problem with a practice body, in field order; empty when valid.
///
/// This does not check ownership or the revision chain, which depend on
/// what a store already holds.
pub fn validate(b: &Practice) -> Vec<Problem> {
    let mut v = V::new();
    v.practice_id("body.practice_id", &b.practice_id);
    lifecycle(&mut v, b.revision, &b.supersedes);
    match b.state.as_str() {
        STATE_WITHDRAWN => validate_withdrawal(&mut v, b),
        STATE_ACTIVE => validate_active(&mut v, b),
        other => v.add(
            "body.state",
            format!("{other:?} is not one of active, withdrawn"),
        ),
    }
    v.problems
}

/// The revision rules every chained kind shares (`spec/record.md` §6.2):
/// `revision` in range, `supersedes` absent exactly at revision 1.
pub(crate) fn lifecycle(v: &mut V, revision: u64, supersedes: &Option<RecordId>) {
    if revision == 0 || revision > limits::REVISION_MAX {
        v.add(
            "body.revision",
            format!("{revision} is not between 1 and {}", limits::REVISION_MAX),
        );
    }
    match (revision, supersedes) {
        (1, Some(_)) => v.add("body.supersedes", "must be absent at revision 1"),
        (r, None) if r > 1 => v.add("body.supersedes", "is required after revision 1"),
        _ => {}
    }
}

/// A withdrawal's own rules (`spec/record.md` §6.3): a reason, a revision
/// above 1, and none of the keys in `present` that are set.
pub(crate) fn withdrawal_rules(
    v: &mut V,
    revision: u64,
    reason: &Option<String>,
    present: &[(&str, bool)],
) {
    match reason {
        None => v.add("body.reason", "is required in a withdrawal"),
        Some(r) => v.text("body.reason", r, limits::SHORT_TEXT_BYTES),
    }
    if revision == 1 {
        v.add(
            "body.revision",
            "a withdrawal follows an earlier revision, so it cannot be 1",
        );
    }
    for (key, is_present) in present {
        if *is_present {
            v.add(format!("body.{key}"), "is not allowed in a withdrawal");
        }
    }
}

/// `licence` of an active body: required, an SPDX id.
pub(crate) fn licence(v: &mut V, licence: &Option<String>) {
    match licence {
        None => v.add(
            "body.licence",
            format!("is required (the default {DEFAULT_LICENCE} is filled in before signing)"),
        ),
        Some(l) if crate::codes::spdx_name(l).is_none() => {
            v.add("body.licence", format!("{l:?} is not an SPDX licence id"))
        }
        Some(_) => {}
    }
}

/// A period `{start, end?}`: real dates, the end not before the start.
pub(crate) fn period(v: &mut V, path: &str, period: &Period) {
    let start = v.date(&format!("{path}.start"), &period.start);
    if let Some(end) = &period.end {
        let end = v.date(&format!("{path}.end"), end);
        if let (Some((first, _)), Some((_, last))) = (start, end)
            && last < first
        {
            v.add(format!("{path}.end"), "is before the start");
        }
    }
}

/// `sectors`: known codes, no pair twice.
pub(crate) fn sectors(v: &mut V, sectors: &[Sector]) {
    v.list_len("body.sectors", sectors.len());
    let mut seen = BTreeSet::new();
    for (i, s) in sectors.iter().enumerate() {
        let p = format!("body.sectors[{i}]");
        match s.vocabulary.as_str() {
            "dac5" if codes::dac5_name(&s.code).is_none() => v.add(
                format!("{p}.code"),
                format!("{:?} is not a DAC 5-digit purpose code", s.code),
            ),
            "cofog" if codes::cofog_name(&s.code).is_none() => v.add(
                format!("{p}.code"),
                format!("{:?} is not a COFOG division or group", s.code),
            ),
            "dac5" | "cofog" => {}
            _ => v.one_of(
                &format!("{p}.vocabulary"),
                &s.vocabulary,
                SECTOR_VOCABULARIES,
            ),
        }
        if !seen.insert((&s.vocabulary, &s.code)) {
            v.add(&p, "is listed twice");
        }
    }
}

/// `organisations`: names, roles, countries.
pub(crate) fn organisations(v: &mut V, orgs: &[Organisation]) {
    v.list_len("body.organisations", orgs.len());
    for (i, o) in orgs.iter().enumerate() {
        let p = format!("body.organisations[{i}]");
        v.text(&format!("{p}.name"), &o.name, limits::SHORT_TEXT_BYTES);
        v.one_of(&format!("{p}.role"), &o.role, ORGANISATION_ROLES);
        if let Some(iso3) = &o.iso3 {
            v.country(&format!("{p}.iso3"), iso3);
        }
    }
}

/// `contact`: at least one key, short texts, a plausible e-mail address.
pub(crate) fn contact(v: &mut V, c: &Contact) {
    if c.name.is_none() && c.role.is_none() && c.email.is_none() {
        v.add(
            "body.contact",
            "needs at least one of name, role, email; or leave it out",
        );
    }
    for (key, field) in [("name", &c.name), ("role", &c.role), ("email", &c.email)] {
        if let Some(s) = field {
            v.text(&format!("body.contact.{key}"), s, limits::SHORT_TEXT_BYTES);
        }
    }
    if let Some(email) = &c.email {
        let parts: Vec<&str> = email.split('@').collect();
        if parts.len() != 2
            || parts[0].is_empty()
            || !parts[1].contains('.')
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            v.add(
                "body.contact.email",
                format!("{email:?} is not an e-mail address"),
            );
        }
    }
}

/// `urls` and `keywords`.
pub(crate) fn urls(v: &mut V, urls: &[String]) {
    v.list_len("body.urls", urls.len());
    for (i, u) in urls.iter().enumerate() {
        v.url(&format!("body.urls[{i}]"), u);
    }
}

/// `metrics`: each a TCV metric (§6.6).
pub(crate) fn metrics(v: &mut V, metrics: &[Metric]) {
    v.list_len("body.metrics", metrics.len());
    for (i, m) in metrics.iter().enumerate() {
        check_metric(v, &format!("body.metrics[{i}]"), m);
    }
}

fn validate_withdrawal(v: &mut V, b: &Practice) {
    let present: [(&str, bool); 25] = [
        ("licence", b.licence.is_some()),
        ("title", b.title.is_some()),
        ("summary", b.summary.is_some()),
        ("challenge", b.challenge.is_some()),
        ("solution", b.solution.is_some()),
        ("countries", !b.countries.is_empty()),
        ("sdg_targets", !b.sdg_targets.is_empty()),
        ("status", b.status.is_some()),
        ("period", b.period.is_some()),
        ("replication_potential", b.replication_potential.is_some()),
        ("lessons", b.lessons.is_some()),
        ("organisations", !b.organisations.is_empty()),
        ("sectors", !b.sectors.is_empty()),
        ("gov_level", b.gov_level.is_some()),
        ("keywords", !b.keywords.is_empty()),
        ("urls", !b.urls.is_empty()),
        ("contact", b.contact.is_some()),
        ("exchange", b.exchange.is_some()),
        ("recognition", !b.recognition.is_empty()),
        ("reach", b.reach.is_some()),
        ("evidence_level", b.evidence_level.is_some()),
        ("replaces", !b.replaces.is_empty()),
        ("metrics", !b.metrics.is_empty()),
        ("reason", false),
        ("state", false),
    ];
    withdrawal_rules(v, b.revision, &b.reason, &present);
}

fn validate_active(v: &mut V, b: &Practice) {
    if b.reason.is_some() {
        v.add("body.reason", "is only allowed in a withdrawal");
    }
    licence(v, &b.licence);
    for (key, field, max) in [
        ("title", &b.title, limits::TITLE_BYTES),
        ("summary", &b.summary, limits::LONG_TEXT_BYTES),
        ("challenge", &b.challenge, limits::LONG_TEXT_BYTES),
        ("solution", &b.solution, limits::LONG_TEXT_BYTES),
    ] {
        match field {
            None => v.add(format!("body.{key}"), "is required"),
            Some(t) => v.lang_text(&format!("body.{key}"), t, max),
        }
    }
    for (key, field) in [
        ("replication_potential", &b.replication_potential),
        ("lessons", &b.lessons),
    ] {
        if let Some(t) = field {
            v.lang_text(&format!("body.{key}"), t, limits::LONG_TEXT_BYTES);
        }
    }

    if b.countries.is_empty() {
        v.add(
            "body.countries",
            "is required: at least one country with role originating",
        );
    } else {
        v.list_len("body.countries", b.countries.len());
        let mut seen = BTreeSet::new();
        for (i, c) in b.countries.iter().enumerate() {
            let p = format!("body.countries[{i}]");
            v.country(&format!("{p}.iso3"), &c.iso3);
            v.one_of(&format!("{p}.role"), &c.role, COUNTRY_ROLES);
            if !seen.insert((&c.iso3, &c.role)) {
                v.add(&p, format!("{} as {} is listed twice", c.iso3, c.role));
            }
        }
        if !b.countries.iter().any(|c| c.role == "originating") {
            v.add(
                "body.countries",
                "needs at least one country with role originating",
            );
        }
    }

    if b.sdg_targets.is_empty() {
        v.add(
            "body.sdg_targets",
            "is required: at least one SDG target such as \"16.6\"",
        );
    } else {
        check_sdg(v, "body.sdg_targets", &b.sdg_targets);
    }

    match b.status {
        None => v.add(
            "body.status",
            "is required: an IATI activity status code 1-6",
        ),
        Some(s) if codes::activity_status_name(s).is_none() => v.add(
            "body.status",
            format!("{s} is not an IATI activity status code (1-6)"),
        ),
        Some(_) => {}
    }

    match &b.period {
        None => v.add(
            "body.period",
            "is required: {\"start\": \"YYYY[-MM[-DD]]\"}",
        ),
        Some(p) => period(v, "body.period", p),
    }

    organisations(v, &b.organisations);
    sectors(v, &b.sectors);

    if let Some(g) = &b.gov_level {
        v.one_of("body.gov_level", g, GOV_LEVELS);
    }
    if let Some(x) = &b.exchange {
        v.one_of("body.exchange", x, EXCHANGES);
    }
    if let Some(e) = &b.evidence_level {
        v.one_of("body.evidence_level", e, EVIDENCE_LEVELS);
    }

    v.list_len("body.keywords", b.keywords.len());
    for (i, k) in b.keywords.iter().enumerate() {
        v.text(&format!("body.keywords[{i}]"), k, limits::KEYWORD_BYTES);
    }
    urls(v, &b.urls);

    if let Some(c) = &b.contact {
        contact(v, c);
    }

    v.list_len("body.recognition", b.recognition.len());
    for (i, r) in b.recognition.iter().enumerate() {
        let p = format!("body.recognition[{i}]");
        v.text(&format!("{p}.award"), &r.award, limits::SHORT_TEXT_BYTES);
        v.year(&format!("{p}.year"), r.year);
    }

    if let Some(d) = b.reach.as_ref().and_then(|r| r.as_of.as_ref()) {
        v.date("body.reach.as_of", d);
    }

    v.list_len("body.replaces", b.replaces.len());
    for (i, r) in b.replaces.iter().enumerate() {
        let p = format!("body.replaces[{i}]");
        v.practice_id(&p, r);
        if *r == b.practice_id {
            v.add(&p, "a practice cannot replace itself");
        }
    }

    metrics(v, &b.metrics);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Practice {
        let mut p = Practice::empty();
        p.practice_id = "BGD-A2I-0001".into();
        p.revision = 1;
        p.state = STATE_ACTIVE.into();
        p.licence = Some(DEFAULT_LICENCE.into());
        for f in [
            &mut p.title,
            &mut p.summary,
            &mut p.challenge,
            &mut p.solution,
        ] {
            *f = Some(LangText::new("en", "x"));
        }
        p.countries = vec![CountryRole {
            iso3: "BGD".into(),
            role: "originating".into(),
        }];
        p.sdg_targets = vec!["16.6".into()];
        p.status = Some(2);
        p.period = Some(Period {
            start: "2010".into(),
            end: None,
        });
        p
    }

    fn paths(b: &Practice) -> Vec<String> {
        validate(b).into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn minimal_is_valid() {
        assert_eq!(validate(&minimal()), vec![]);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut b = minimal();
        b.sdg_targets = vec!["1.1".into(), "16.6".into(), "18.1".into()];
        b.countries = vec![CountryRole {
            iso3: "XXX".into(),
            role: "adopting".into(),
        }];
        b.status = Some(9);
        b.period = Some(Period {
            start: "2020-13".into(),
            end: Some("2019".into()),
        });
        b.title = Some(LangText {
            original: "bn".into(),
            text: [("en".into(), "x".into())].into(),
            machine_translated: vec![],
        });
        let problems = validate(&b);
        let rendered: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            rendered.contains(&r#"body.sdg_targets[2]: "18.1" is not an SDG target"#.to_string()),
            "{rendered:#?}"
        );
        assert_eq!(
            paths(&b),
            [
                "body.title.text",
                "body.countries[0].iso3",
                "body.countries",
                "body.sdg_targets[2]",
                "body.status",
                "body.period.start",
            ]
        );
    }

    #[test]
    fn metrics_forms() {
        let mut b = minimal();
        let base = Metric {
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
            change_bp: None,
        };
        b.metrics = vec![
            Metric {
                change_bp: Some(-7814),
                ..base.clone()
            },
            Metric {
                baseline: Some(600),
                after: Some(60),
                unit: Some("minutes".into()),
                ..base.clone()
            },
            Metric {
                kind: "cost".into(),
                baseline: Some(5000),
                after: Some(1000),
                unit: Some("minor_currency".into()),
                currency: Some("BDT".into()),
                price_year: Some(2019),
                ..base.clone()
            },
        ];
        assert_eq!(validate(&b), vec![]);
        assert_eq!(b.metrics[1].change_bp(), Some(-9000));
        b.metrics = vec![
            base.clone(),
            Metric {
                change_bp: Some(-100),
                baseline: Some(1),
                ..base.clone()
            },
            Metric {
                kind: "cost".into(),
                baseline: Some(1),
                after: Some(1),
                unit: Some("minutes".into()),
                ..base.clone()
            },
            Metric {
                change_bp: Some(-20_000),
                ..base.clone()
            },
        ];
        assert_eq!(
            paths(&b),
            [
                "body.metrics[0]",
                "body.metrics[1]",
                "body.metrics[2].unit",
                "body.metrics[3].change_bp"
            ]
        );
    }

    #[test]
    fn withdrawal_shape() {
        let w = Practice::withdrawal("BGD-A2I-0001", 2, RecordId([1; 32]), "merged");
        assert_eq!(validate(&w), vec![]);
        let mut bad = w.clone();
        bad.title = Some(LangText::new("en", "x"));
        bad.reason = None;
        assert_eq!(paths(&bad), ["body.reason", "body.title"]);
    }

    #[test]
    fn dates() {
        assert!(date_range("2024-02-29").is_some());
        assert!(date_range("2023-02-29").is_none());
        assert!(date_range("2023-2").is_none());
        assert!(date_range("23").is_none());
        assert!(date_range("2023-01-01-01").is_none());
        assert_eq!(date_range("2023-02").map(|r| r.1), Some((2023, 2, 28)));
    }
}
