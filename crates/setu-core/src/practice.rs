//! The body of a record of kind `practice` ([`spec/record.md` §6](../../../spec/record.md)).
//!
//! A [`Practice`] is either active (`state: "active"`, with every required
//! field) or a withdrawal (`state: "withdrawn"`, with only `practice_id`,
//! `revision`, `supersedes`, `state` and `reason`). Code-valued fields are
//! kept as text so that [`validate`] can report every problem at once, each
//! with its path; the allowed values are the constants of this module and the
//! tables of [`crate::codes`].
//!
//! ```
//! use setu_core::practice::{self, Practice};
//! let body: Practice = serde_json::from_str(r#"{
//!   "practice_id": "BGD-A2I-0001", "revision": 1, "state": "active",
//!   "title": {"original": "en", "text": {"en": "Union Digital Centres"}},
//!   "summary": {"original": "en", "text": {"en": "One-stop village service points."}},
//!   "challenge": {"original": "en", "text": {"en": "Long trips to district offices."}},
//!   "solution": {"original": "en", "text": {"en": "Digital centres in every union."}},
//!   "countries": [{"iso3": "BGD", "role": "originating"}],
//!   "sdg_targets": ["16.6", "18.1"], "status": 2, "period": {"start": "2010-11"}
//! }"#).unwrap();
//! let problems = practice::validate(&body);
//! // The licence is filled in before signing; the bad target is reported by path.
//! assert_eq!(problems.len(), 2);
//! assert_eq!(problems[1].to_string(), r#"body.sdg_targets[1]: "18.1" is not an SDG target"#);
//! ```

pub mod text;
pub(crate) mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::RecordId;

pub use validate::{Day, Problem, date_range, validate};

/// The record kind whose body is a [`Practice`].
pub const KIND: &str = "practice";
/// The licence filled in before signing when a body names none.
pub const DEFAULT_LICENCE: &str = "CC-BY-4.0";

/// `state` of a practice that is in force.
pub const STATE_ACTIVE: &str = "active";
/// `state` of a withdrawal.
pub const STATE_WITHDRAWN: &str = "withdrawn";

/// Allowed `countries[].role` values.
pub const COUNTRY_ROLES: &[&str] = &["originating", "adopting", "partner"];
/// Allowed `organisations[].role` values.
pub const ORGANISATION_ROLES: &[&str] = &["nominating", "supporting", "implementing", "funding"];
/// Allowed `sectors[].vocabulary` values.
pub const SECTOR_VOCABULARIES: &[&str] = &["dac5", "cofog"];
/// Allowed `gov_level` values.
pub const GOV_LEVELS: &[&str] = &["national", "subnational", "local"];
/// Allowed `exchange` values.
pub const EXCHANGES: &[&str] = &["offering", "seeking", "none"];
/// Allowed `evidence_level` values.
pub const EVIDENCE_LEVELS: &[&str] = &["self_reported", "independent_evaluation"];
/// Allowed `metrics[].kind` values.
pub const METRIC_KINDS: &[&str] = &["time", "cost", "visits"];
/// Allowed `metrics[].stage` values.
pub const METRIC_STAGES: &[&str] = &["sps", "digital", "other"];
/// Allowed `metrics[].method` values.
pub const METRIC_METHODS: &[&str] = &["survey", "admin", "estimate"];
/// Allowed `metrics[].unit` values, by metric kind.
pub const METRIC_UNITS: &[(&str, &[&str])] = &[
    ("time", &["minutes", "days"]),
    ("cost", &["minor_currency"]),
    ("visits", &["count"]),
];

/// Limits on the fields of a practice body, all in bytes of UTF-8 or in
/// items. They appear in `spec/record.md` §6.9.
pub mod limits {
    /// `practice_id` and each entry of `replaces`.
    pub const PRACTICE_ID_BYTES: usize = 64;
    /// Each text of `title`.
    pub const TITLE_BYTES: usize = 1_024;
    /// Each text of `summary`, `challenge`, `solution`,
    /// `replication_potential`, `lessons`.
    pub const LONG_TEXT_BYTES: usize = 16_384;
    /// `reason`, and each name, role, award.
    pub const SHORT_TEXT_BYTES: usize = 512;
    /// Each keyword.
    pub const KEYWORD_BYTES: usize = 128;
    /// Each URL, and `metrics[].source`.
    pub const URL_BYTES: usize = 2_048;
    /// Languages in one `LangText`.
    pub const LANGUAGES: usize = 32;
    /// Items of any list in the body.
    pub const LIST_ITEMS: usize = 64;
    /// Largest `revision`.
    pub const REVISION_MAX: u64 = 1_000_000;
    /// Smallest and largest `change_bp` (−100% to +10,000%).
    pub const CHANGE_BP: (i64, i64) = (-10_000, 1_000_000);
    /// Earliest and latest year in dates, `price_year` and `recognition[].year`.
    pub const YEARS: (u64, u64) = (1900, 2100);
}

/// Text in several languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangText {
    /// ISO 639-1 tag of the language the text was written in.
    pub original: String,
    /// Text by lowercase ISO 639-1 tag; contains `original`.
    pub text: BTreeMap<String, String>,
    /// Tags whose text was machine-translated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machine_translated: Vec<String>,
}

impl LangText {
    /// Text in one language, also its original.
    pub fn new(lang: &str, text: &str) -> LangText {
        LangText {
            original: lang.to_string(),
            text: [(lang.to_string(), text.to_string())].into(),
            machine_translated: Vec::new(),
        }
    }

    /// The text in `lang`, else in English, else the original.
    pub fn best(&self, lang: &str) -> &str {
        self.text
            .get(lang)
            .or_else(|| self.text.get("en"))
            .or_else(|| self.text.get(&self.original))
            .or_else(|| self.text.values().next())
            .map_or("", String::as_str)
    }
}

/// A country and the part it plays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryRole {
    /// ISO 3166-1 alpha-3 code.
    pub iso3: String,
    /// One of [`COUNTRY_ROLES`].
    pub role: String,
}

/// When the practice ran. Dates are `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First date.
    pub start: String,
    /// Last date, if it has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// An organisation involved in the practice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Its name.
    pub name: String,
    /// One of [`ORGANISATION_ROLES`].
    pub role: String,
    /// Its country, ISO 3166-1 alpha-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iso3: Option<String>,
}

/// A sector code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sector {
    /// One of [`SECTOR_VOCABULARIES`].
    pub vocabulary: String,
    /// A DAC 5-digit purpose code or a COFOG division or group.
    pub code: String,
}

/// Whom to ask. Left out of bulk exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// A person or office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Their role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// An e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// An award the practice received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recognition {
    /// The award's name.
    pub award: String,
    /// The year it was given.
    pub year: u64,
}

/// How many people the practice serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reach {
    /// People served.
    pub beneficiaries: u64,
    /// As of this date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// A time, cost or visits (TCV) measurement.
///
/// Either raw values (`baseline`, `after`, `unit`, and for costs `currency`
/// and `price_year`) or a published change (`change_bp`), never both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// One of [`METRIC_KINDS`].
    pub kind: String,
    /// One of [`METRIC_STAGES`].
    pub stage: String,
    /// One of [`METRIC_METHODS`].
    pub method: String,
    /// Number of people or cases measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_n: Option<u64>,
    /// Where the figure was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Value before, in `unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<u64>,
    /// Value after, in `unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// One of [`METRIC_UNITS`] for this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// ISO 4217 code, with `unit: "minor_currency"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Year of the prices, with `unit: "minor_currency"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_year: Option<u64>,
    /// The change as published, in basis points (−7814 is −78.14%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_bp: Option<i64>,
}

impl Metric {
    /// The change in basis points: as published, or computed from raw
    /// values (rounded toward zero). `None` when the baseline is zero.
    pub fn change_bp(&self) -> Option<i64> {
        if let Some(bp) = self.change_bp {
            return Some(bp);
        }
        let (b, a) = (i128::from(self.baseline?), i128::from(self.after?));
        if b == 0 {
            return None;
        }
        i64::try_from((a - b) * 10_000 / b).ok()
    }
}

/// The body of a `practice` record: an active practice or a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Practice {
    /// Chosen by the publisher, stable across revisions.
    pub practice_id: String,
    /// 1 for the first revision.
    pub revision: u64,
    /// Id of the previous revision; absent at revision 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<RecordId>,
    /// [`STATE_ACTIVE`] or [`STATE_WITHDRAWN`].
    pub state: String,
    /// Why it was withdrawn (withdrawals only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SPDX licence id; [`DEFAULT_LICENCE`] is filled in before signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<LangText>,
    /// Summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<LangText>,
    /// The problem it addressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<LangText>,
    /// What was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<LangText>,
    /// Countries involved; at least one originating.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<CountryRole>,
    /// SDG targets such as `"16.6"`; at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdg_targets: Vec<String>,
    /// IATI activity status, 1–6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u64>,
    /// When it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// How others could replicate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_potential: Option<LangText>,
    /// Lessons learned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lessons: Option<LangText>,
    /// Organisations involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organisations: Vec<Organisation>,
    /// Sector codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sectors: Vec<Sector>,
    /// One of [`GOV_LEVELS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gov_level: Option<String>,
    /// Free keywords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Whom to ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// One of [`EXCHANGES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Awards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recognition: Vec<Recognition>,
    /// People served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<Reach>,
    /// One of [`EVIDENCE_LEVELS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_level: Option<String>,
    /// Practice ids of earlier practices this one replaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
    /// TCV metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
}

impl Practice {
    /// True for a withdrawal.
    pub fn is_withdrawal(&self) -> bool {
        self.state == STATE_WITHDRAWN
    }

    /// Fills in defaults that the signed bytes must carry: the licence of an
    /// active practice.
    pub fn fill_defaults(&mut self) {
        if self.state == STATE_ACTIVE && self.licence.is_none() {
            self.licence = Some(DEFAULT_LICENCE.to_string());
        }
    }

    /// A withdrawal of the practice whose current revision is `current`
    /// (with id `current_id`).
    pub fn withdrawal(
        practice_id: &str,
        revision: u64,
        supersedes: RecordId,
        reason: &str,
    ) -> Practice {
        Practice {
            practice_id: practice_id.to_string(),
            revision,
            supersedes: Some(supersedes),
            state: STATE_WITHDRAWN.to_string(),
            reason: Some(reason.to_string()),
            ..Practice::empty()
        }
    }

    fn empty() -> Practice {
        Practice {
            practice_id: String::new(),
            revision: 0,
            supersedes: None,
            state: String::new(),
            reason: None,
            licence: None,
            title: None,
            summary: None,
            challenge: None,
            solution: None,
            countries: Vec::new(),
            sdg_targets: Vec::new(),
            status: None,
            period: None,
            replication_potential: None,
            lessons: None,
            organisations: Vec::new(),
            sectors: Vec::new(),
            gov_level: None,
            keywords: Vec::new(),
            urls: Vec::new(),
            contact: None,
            exchange: None,
            recognition: Vec::new(),
            reach: None,
            evidence_level: None,
            replaces: Vec::new(),
            metrics: Vec::new(),
        }
    }
}
