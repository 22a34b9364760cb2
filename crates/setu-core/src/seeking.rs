//! The body of a record of kind `seeking` ([`spec/record.md` §6c](../../../spec/record.md)):
//! a country's need, which practices elsewhere may answer.
//!
//! A practice body's `exchange: "seeking"` says that its publisher seeks
//! partners for **that practice** (to take it further); a `seeking` record
//! states a need that no practice of the publisher answers yet. Matchmaking
//! ranks practices against the latter.
//!
//! ```
//! use setu_core::seeking::{self, Seeking};
//! let body: Seeking = serde_json::from_str(r#"{
//!   "seeking_id": "NPL-NEED-1", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
//!   "country": "NPL",
//!   "title": {"original": "en", "text": {"en": "Ghost workers on the payroll"}},
//!   "challenge": {"original": "en", "text": {"en": "Our public payroll pays people who left."}},
//!   "sdg_targets": ["16.5", "16.6"], "deadline": "2027-06"
//! }"#).unwrap();
//! assert_eq!(seeking::validate(&body), vec![]);
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::codes;
use crate::ids::RecordId;
use crate::practice::validate::{self as rules, V};
use crate::practice::{
    Contact, DEFAULT_LICENCE, GOV_LEVELS, LangText, Problem, STATE_ACTIVE, STATE_WITHDRAWN, Sector,
    limits,
};

/// The record kind whose body is a [`Seeking`].
pub const KIND: &str = "seeking";

/// The body of a `seeking` record: an open need or a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seeking {
    /// Chosen by the seeking agency, stable across revisions.
    pub seeking_id: String,
    /// 1 for the first revision.
    pub revision: u64,
    /// Id of the previous revision; absent at revision 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<RecordId>,
    /// `active` or `withdrawn` (a need met or dropped).
    pub state: String,
    /// Why it was withdrawn (withdrawals only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SPDX licence id; the default is filled in before signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// The seeking country, ISO 3166-1 alpha-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// A short name of the need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<LangText>,
    /// The challenge, in the ministry's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<LangText>,
    /// SDG targets it concerns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdg_targets: Vec<String>,
    /// Sector codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sectors: Vec<Sector>,
    /// One of [`GOV_LEVELS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gov_level: Option<String>,
    /// Languages the agency can work in, ISO 639-1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// By when it needs an answer: a date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// Free keywords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Whom to ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// Links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

impl Seeking {
    /// True for a withdrawal.
    pub fn is_withdrawal(&self) -> bool {
        self.state == STATE_WITHDRAWN
    }

    /// Fills in the licence of an open need.
    pub fn fill_defaults(&mut self) {
        if self.state == STATE_ACTIVE && self.licence.is_none() {
            self.licence = Some(DEFAULT_LICENCE.to_string());
        }
    }
}

/// Every problem with a seeking body, in field order; empty when valid.
pub fn validate(b: &Seeking) -> Vec<Problem> {
    let mut v = V::new();
    v.id_text("body.seeking_id", &b.seeking_id, "seeking id");
    rules::lifecycle(&mut v, b.revision, &b.supersedes);
    match b.state.as_str() {
        STATE_WITHDRAWN => rules::withdrawal_rules(
            &mut v,
            b.revision,
            &b.reason,
            &[
                ("licence", b.licence.is_some()),
                ("country", b.country.is_some()),
                ("title", b.title.is_some()),
                ("challenge", b.challenge.is_some()),
                ("sdg_targets", !b.sdg_targets.is_empty()),
                ("sectors", !b.sectors.is_empty()),
                ("gov_level", b.gov_level.is_some()),
                ("languages", !b.languages.is_empty()),
                ("deadline", b.deadline.is_some()),
                ("keywords", !b.keywords.is_empty()),
                ("contact", b.contact.is_some()),
                ("urls", !b.urls.is_empty()),
            ],
        ),
        STATE_ACTIVE => active(&mut v, b),
        other => v.add(
            "body.state",
            format!("{other:?} is not one of active, withdrawn"),
        ),
    }
    v.problems
}

fn active(v: &mut V, b: &Seeking) {
    if b.reason.is_some() {
        v.add("body.reason", "is only allowed in a withdrawal");
    }
    rules::licence(v, &b.licence);
    match &b.country {
        None => v.add(
            "body.country",
            "is required: the seeking country (ISO 3166-1 alpha-3)",
        ),
        Some(c) => v.country("body.country", c),
    }
    for (key, field, max) in [
        ("title", &b.title, limits::TITLE_BYTES),
        ("challenge", &b.challenge, limits::LONG_TEXT_BYTES),
    ] {
        match field {
            None => v.add(format!("body.{key}"), "is required"),
            Some(t) => v.lang_text(&format!("body.{key}"), t, max),
        }
    }
    rules::check_sdg(v, "body.sdg_targets", &b.sdg_targets);
    rules::sectors(v, &b.sectors);
    if let Some(g) = &b.gov_level {
        v.one_of("body.gov_level", g, GOV_LEVELS);
    }
    v.list_len("body.languages", b.languages.len());
    let mut seen = BTreeSet::new();
    for (i, l) in b.languages.iter().enumerate() {
        let p = format!("body.languages[{i}]");
        if !codes::is_language(l) {
            v.add(&p, format!("{l:?} is not an ISO 639-1 language tag"));
        } else if !seen.insert(l) {
            v.add(&p, format!("{l:?} is listed twice"));
        }
    }
    if let Some(d) = &b.deadline {
        v.date("body.deadline", d);
    }
    v.list_len("body.keywords", b.keywords.len());
    for (i, k) in b.keywords.iter().enumerate() {
        v.text(&format!("body.keywords[{i}]"), k, limits::KEYWORD_BYTES);
    }
    if let Some(c) = &b.contact {
        rules::contact(v, c);
    }
    rules::urls(v, &b.urls);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Seeking {
        serde_json::from_value(serde_json::json!({
            "seeking_id": "NPL-1", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
            "country": "NPL",
            "title": {"original": "ne", "text": {"ne": "x"}},
            "challenge": {"original": "ne", "text": {"ne": "x"}}
        }))
        .expect("body")
    }

    #[test]
    fn problems_name_their_fields() {
        assert_eq!(validate(&minimal()), vec![]);
        let mut b = minimal();
        b.languages = vec!["en".into(), "en".into(), "xx".into()];
        b.deadline = Some("2027-13".into());
        b.sdg_targets = vec!["18.1".into()];
        let paths: Vec<String> = validate(&b).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "body.sdg_targets[0]",
                "body.languages[1]",
                "body.languages[2]",
                "body.deadline"
            ]
        );
    }
}
