//! The body of a record of kind `adoption` ([`spec/record.md` §6b](../../../spec/record.md)):
//! an agency's report that it adopted another publisher's practice, at
//! which stage, with what adaptation, and with its own TCV results.
//!
//! The report names the practice it adopted by (publisher, `practice_id`):
//! in a chartered network the publisher is a **member id**, so the
//! reference survives the publisher's key rotations; in an open network it
//! is the publisher's key. The practice's body gains nothing: the adoption
//! graph is the set of adoption records.
//!
//! ```
//! use setu_core::adoption::{self, Adoption};
//! let body: Adoption = serde_json::from_str(r#"{
//!   "adoption_id": "KEN-ADOPT-UDC", "revision": 1, "state": "active",
//!   "practice": {"member": "bgd-a2i", "practice_id": "BGD-A2I-0001"},
//!   "country": "KEN", "stage": "piloting", "period": {"start": "2019-03"},
//!   "adaptation": {"original": "en", "text": {"en": "Huduma centres in county towns."}}
//! }"#).unwrap();
//! // The licence is filled in before signing.
//! assert_eq!(adoption::validate(&body)[0].path, "body.licence");
//! ```

use serde::{Deserialize, Serialize};

use crate::ids::{AuthorKey, RecordId};
use crate::practice::validate::{self as rules, V};
use crate::practice::{
    Contact, DEFAULT_LICENCE, GOV_LEVELS, LangText, Metric, Organisation, Period, Problem,
    STATE_ACTIVE, STATE_WITHDRAWN, limits,
};

/// The record kind whose body is an [`Adoption`].
pub const KIND: &str = "adoption";

/// Allowed `stage` values, in the order an adoption goes through them.
pub const STAGES: &[&str] = &["exploring", "piloting", "scaled", "discontinued"];
/// Most bytes of each entry of `places`.
pub const PLACE_BYTES: usize = 128;
/// Most bytes of a member id (`spec/membership.md` §2.2).
pub const MEMBER_ID_BYTES: usize = 32;

/// Which practice was adopted: its publisher and `practice_id`, and
/// optionally the revision followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PracticeRef {
    /// The publishing member's id, in a chartered network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The publisher's key, in an open network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<AuthorKey>,
    /// The practice's id.
    pub practice_id: String,
    /// The record id of the revision the adopter followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordId>,
}

/// The body of an `adoption` record: an active report or a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adoption {
    /// Chosen by the adopting agency, stable across revisions.
    pub adoption_id: String,
    /// 1 for the first revision.
    pub revision: u64,
    /// Id of the previous revision; absent at revision 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<RecordId>,
    /// `active` or `withdrawn`.
    pub state: String,
    /// Why it was withdrawn (withdrawals only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SPDX licence id; the default is filled in before signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// The practice adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice: Option<PracticeRef>,
    /// The adopting country, ISO 3166-1 alpha-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// One of [`STAGES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// When the adoption ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// One of [`GOV_LEVELS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gov_level: Option<String>,
    /// Places it covers (districts, counties, cities), free text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub places: Vec<String>,
    /// What was changed for the local context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptation: Option<LangText>,
    /// What was learned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lessons: Option<LangText>,
    /// The adopter's own TCV metrics (`spec/record.md` §6.6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// Partners, such as the originating agency that helped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organisations: Vec<Organisation>,
    /// Whom to ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// Links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Free keywords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
}

impl Adoption {
    /// True for a withdrawal.
    pub fn is_withdrawal(&self) -> bool {
        self.state == STATE_WITHDRAWN
    }

    /// Fills in the licence of an active report.
    pub fn fill_defaults(&mut self) {
        if self.state == STATE_ACTIVE && self.licence.is_none() {
            self.licence = Some(DEFAULT_LICENCE.to_string());
        }
    }
}

/// True if `s` is a member id: 1 to 32 bytes of `a`–`z`, `0`–`9`, `-`,
/// the first a letter (`spec/membership.md` §2.2).
pub fn is_member_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MEMBER_ID_BYTES
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The publisher of a reference at `path` (a practice reference, §6b.3, or
/// an attachment's adoption reference, §6d): exactly one of `member` (a
/// member id) and `key`. Both or neither is reported at `path`.
pub(crate) fn publisher(v: &mut V, path: &str, member: &Option<String>, key: &Option<AuthorKey>) {
    match (member, key) {
        (Some(_), Some(_)) => v.add(path, "has both member and key; name the publisher one way"),
        (None, None) => v.add(
            path,
            "needs the publisher: member (a member id) or key (an author key)",
        ),
        (Some(m), None) if !is_member_id(m) => v.add(
            format!("{path}.member"),
            format!(
                "{m:?} is not a member id (1 to {MEMBER_ID_BYTES} of a-z 0-9 -, starting with a letter)"
            ),
        ),
        _ => {}
    }
}

/// Every problem with an adoption body, in field order; empty when valid.
pub fn validate(b: &Adoption) -> Vec<Problem> {
    let mut v = V::new();
    v.id_text("body.adoption_id", &b.adoption_id, "adoption id");
    rules::lifecycle(&mut v, b.revision, &b.supersedes);
    match b.state.as_str() {
        STATE_WITHDRAWN => rules::withdrawal_rules(
            &mut v,
            b.revision,
            &b.reason,
            &[
                ("licence", b.licence.is_some()),
                ("practice", b.practice.is_some()),
                ("country", b.country.is_some()),
                ("stage", b.stage.is_some()),
                ("period", b.period.is_some()),
                ("gov_level", b.gov_level.is_some()),
                ("places", !b.places.is_empty()),
                ("adaptation", b.adaptation.is_some()),
                ("lessons", b.lessons.is_some()),
                ("metrics", !b.metrics.is_empty()),
                ("organisations", !b.organisations.is_empty()),
                ("contact", b.contact.is_some()),
                ("urls", !b.urls.is_empty()),
                ("keywords", !b.keywords.is_empty()),
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

fn active(v: &mut V, b: &Adoption) {
    if b.reason.is_some() {
        v.add("body.reason", "is only allowed in a withdrawal");
    }
    rules::licence(v, &b.licence);
    match &b.practice {
        None => v.add(
            "body.practice",
            "is required: {\"member\" or \"key\", \"practice_id\"}",
        ),
        Some(r) => {
            publisher(v, "body.practice", &r.member, &r.key);
            v.practice_id("body.practice.practice_id", &r.practice_id);
        }
    }
    match &b.country {
        None => v.add(
            "body.country",
            "is required: the adopting country (ISO 3166-1 alpha-3)",
        ),
        Some(c) => v.country("body.country", c),
    }
    match &b.stage {
        None => v.add(
            "body.stage",
            format!("is required: one of {}", STAGES.join(", ")),
        ),
        Some(s) => v.one_of("body.stage", s, STAGES),
    }
    match &b.period {
        None => v.add(
            "body.period",
            "is required: {\"start\": \"YYYY[-MM[-DD]]\"}",
        ),
        Some(p) => rules::period(v, "body.period", p),
    }
    if let Some(g) = &b.gov_level {
        v.one_of("body.gov_level", g, GOV_LEVELS);
    }
    v.list_len("body.places", b.places.len());
    for (i, p) in b.places.iter().enumerate() {
        v.text(&format!("body.places[{i}]"), p, PLACE_BYTES);
    }
    match &b.adaptation {
        None => v.add(
            "body.adaptation",
            "is required: what was changed for the local context",
        ),
        Some(t) => v.lang_text("body.adaptation", t, limits::LONG_TEXT_BYTES),
    }
    if let Some(t) = &b.lessons {
        v.lang_text("body.lessons", t, limits::LONG_TEXT_BYTES);
    }
    rules::metrics(v, &b.metrics);
    rules::organisations(v, &b.organisations);
    if let Some(c) = &b.contact {
        rules::contact(v, c);
    }
    rules::urls(v, &b.urls);
    v.list_len("body.keywords", b.keywords.len());
    for (i, k) in b.keywords.iter().enumerate() {
        v.text(&format!("body.keywords[{i}]"), k, limits::KEYWORD_BYTES);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Adoption {
        serde_json::from_value(serde_json::json!({
            "adoption_id": "KEN-1", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
            "practice": {"member": "bgd-a2i", "practice_id": "BGD-A2I-0001"},
            "country": "KEN", "stage": "scaled", "period": {"start": "2019"},
            "adaptation": {"original": "en", "text": {"en": "x"}}
        }))
        .expect("body")
    }

    fn paths(b: &Adoption) -> Vec<String> {
        validate(b).into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn minimal_is_valid() {
        assert_eq!(validate(&minimal()), vec![]);
    }

    #[test]
    fn every_problem_names_its_field() {
        let mut b = minimal();
        b.stage = Some("done".into());
        b.country = Some("XXX".into());
        b.practice.as_mut().expect("ref").key = Some(AuthorKey([1; 32]));
        b.places = vec!["x".repeat(PLACE_BYTES + 1)];
        assert_eq!(
            paths(&b),
            [
                "body.practice",
                "body.country",
                "body.stage",
                "body.places[0]"
            ]
        );
        let mut b = minimal();
        b.practice.as_mut().expect("ref").member = Some("BD".into());
        b.adaptation = None;
        assert_eq!(paths(&b), ["body.practice.member", "body.adaptation"]);
    }

    #[test]
    fn withdrawal_has_only_its_keys() {
        let mut w = minimal();
        w.state = STATE_WITHDRAWN.into();
        w.revision = 2;
        w.supersedes = Some(RecordId([1; 32]));
        w.reason = Some("ended".into());
        assert_eq!(
            paths(&w),
            [
                "body.licence",
                "body.practice",
                "body.country",
                "body.stage",
                "body.period",
                "body.adaptation"
            ]
        );
    }
}
