//! The body of a record of kind `attachment` ([`spec/record.md` §6d](../../../spec/record.md)):
//! a reference to a file (a report, toolkit, infographic, video, audio or
//! dataset) that belongs to a practice or to an adoption report.
//!
//! The file travels separately, by its BLAKE3 hash (`spec/attachments.md`);
//! the record carries only the hash and what a reader needs to show and
//! save the file, so the publisher's signature covers the hash. It is a
//! kind of its own, not a field of the practice body, so that nodes older
//! than it relay it as an opaque record (`spec/versioning.md` §6). Nothing
//! here is checked against what a node holds: an attachment of a practice
//! the node does not hold, or whose file it does not have, is valid.
//!
//! ```
//! use setu_core::attachment::{self, Attachment};
//! let body: Attachment = serde_json::from_str(r#"{
//!   "attachment_id": "BGD-ATT-0001", "revision": 1, "state": "active",
//!   "practice": {"member": "bd-a2i", "practice_id": "BGD-A2I-0001"},
//!   "hash": "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
//!   "size": 3, "media_type": "application/pdf",
//!   "title": {"original": "en", "text": {"en": "Evaluation report"}},
//!   "language": "en", "category": "report"
//! }"#).unwrap();
//! assert_eq!(attachment::validate(&body), vec![]);
//! // No licence is filled in: absent, it is the licence of the record it belongs to.
//! assert_eq!(body.licence, None);
//! ```

use serde::{Deserialize, Serialize};

use crate::adoption::{self, PracticeRef};
use crate::codes;
use crate::ids::{AuthorKey, ContentHash, RecordId};
use crate::practice::validate::{self as rules, V};
use crate::practice::{LangText, Problem, STATE_ACTIVE, STATE_WITHDRAWN, limits};

/// The record kind whose body is an [`Attachment`].
pub const KIND: &str = "attachment";

/// Allowed `category` values.
pub const CATEGORIES: &[&str] = &[
    "report",
    "toolkit",
    "infographic",
    "video",
    "audio",
    "dataset",
    "other",
];
/// The largest `size` the record format allows: 2^40 bytes (1 TiB). Nodes
/// apply a smaller limit of their own to what they fetch and serve; that
/// is local policy, not a rule of the record.
pub const MAX_ATTACHMENT_SIZE_FORMAT: u64 = 1 << 40;
/// Fewest and most bytes of `media_type`.
pub const MEDIA_TYPE_BYTES: (usize, usize) = (3, 127);
/// Most bytes of the subtype of `media_type` (after the `/`).
pub const MEDIA_SUBTYPE_BYTES: usize = 100;
/// The allowed top-level types of `media_type` (RFC 6838 §4.2).
pub const MEDIA_TOP_LEVEL_TYPES: &[&str] = &[
    "application",
    "audio",
    "font",
    "image",
    "model",
    "text",
    "video",
];
/// Most bytes of `file_name`.
pub const FILE_NAME_BYTES: usize = 255;

/// Which adoption report a file belongs to: its publisher and
/// `adoption_id`, and optionally the revision it was attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdoptionRef {
    /// The publishing member's id, in a chartered network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The publisher's key, in an open network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<AuthorKey>,
    /// The adoption report's id.
    pub adoption_id: String,
    /// The record id of the report's revision it was attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordId>,
}

/// The body of an `attachment` record: an active reference or a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// Chosen by the publisher, stable across revisions.
    pub attachment_id: String,
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
    /// The practice the file belongs to (or [`Attachment::adoption`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice: Option<PracticeRef>,
    /// The adoption report the file belongs to (or [`Attachment::practice`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<AdoptionRef>,
    /// The BLAKE3 hash of the file's bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<ContentHash>,
    /// The file's size in bytes, 1 to [`MAX_ATTACHMENT_SIZE_FORMAT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Its media type, `type/subtype`, lowercase, without parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// What it is called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<LangText>,
    /// The language of the content, ISO 639-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// One of [`CATEGORIES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// SPDX licence id; absent, the licence of the record it belongs to.
    /// No default is filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// What it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<LangText>,
    /// The name a downloader saves it as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

impl Attachment {
    /// True for a withdrawal.
    pub fn is_withdrawal(&self) -> bool {
        self.state == STATE_WITHDRAWN
    }
}

/// Why `s` is not a media type as `spec/record.md` §6d allows it, if it
/// is not: `type/subtype`, lowercase ASCII, no parameters, a known
/// top-level type.
pub fn media_type_problem(s: &str) -> Option<String> {
    let (lo, hi) = MEDIA_TYPE_BYTES;
    if s.len() < lo || s.len() > hi {
        return Some(format!(
            "is {} bytes long; a media type is {lo} to {hi}",
            s.len()
        ));
    }
    if s.contains(';') {
        return Some(format!(
            "{s:?} has parameters; write only type/subtype, without \";\""
        ));
    }
    if !s.is_ascii() || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some(format!("{s:?} must be lowercase ASCII"));
    }
    let Some((ty, sub)) = s.split_once('/') else {
        return Some(format!("{s:?} is not of the form type/subtype"));
    };
    if !MEDIA_TOP_LEVEL_TYPES.contains(&ty) {
        return Some(format!(
            "{s:?}: the type {ty:?} is not one of {}",
            MEDIA_TOP_LEVEL_TYPES.join(", ")
        ));
    }
    let sub_ok = sub.len() <= MEDIA_SUBTYPE_BYTES
        && sub
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && sub.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(
                    b,
                    b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
                )
        });
    if !sub_ok {
        return Some(format!(
            "{s:?}: the subtype is not 1 to {MEDIA_SUBTYPE_BYTES} of a-z 0-9 ! # $ & - ^ _ . +, starting with a letter or digit"
        ));
    }
    None
}

/// Why `s` is not a file name as `spec/record.md` §6d allows it, if it is
/// not: 1 to 255 bytes, no `/`, `\`, NUL or other control character, not
/// `.` or `..`.
pub fn file_name_problem(s: &str) -> Option<String> {
    if s.is_empty() || s.len() > FILE_NAME_BYTES {
        return Some(format!(
            "is {} bytes long; a file name is 1 to {FILE_NAME_BYTES}",
            s.len()
        ));
    }
    if s == "." || s == ".." {
        return Some(format!("{s:?} is not a file name"));
    }
    if s.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
        return Some(format!(
            "{s:?} holds a /, a \\ or a control character; give the name only, not a path"
        ));
    }
    None
}

/// Every problem with an attachment body, in field order; empty when valid.
pub fn validate(b: &Attachment) -> Vec<Problem> {
    let mut v = V::new();
    v.id_text("body.attachment_id", &b.attachment_id, "attachment id");
    rules::lifecycle(&mut v, b.revision, &b.supersedes);
    match b.state.as_str() {
        STATE_WITHDRAWN => rules::withdrawal_rules(
            &mut v,
            b.revision,
            &b.reason,
            &[
                ("practice", b.practice.is_some()),
                ("adoption", b.adoption.is_some()),
                ("hash", b.hash.is_some()),
                ("size", b.size.is_some()),
                ("media_type", b.media_type.is_some()),
                ("title", b.title.is_some()),
                ("language", b.language.is_some()),
                ("category", b.category.is_some()),
                ("licence", b.licence.is_some()),
                ("description", b.description.is_some()),
                ("file_name", b.file_name.is_some()),
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

fn active(v: &mut V, b: &Attachment) {
    if b.reason.is_some() {
        v.add("body.reason", "is only allowed in a withdrawal");
    }
    match (&b.practice, &b.adoption) {
        (Some(_), Some(_)) => v.add(
            "body.practice",
            "is given with body.adoption; an attachment belongs to one practice or one adoption report",
        ),
        (None, None) => v.add(
            "body.practice",
            "is required: the practice the file belongs to (or body.adoption, an adoption report)",
        ),
        _ => {}
    }
    if let Some(r) = &b.practice {
        adoption::publisher(v, "body.practice", &r.member, &r.key);
        v.practice_id("body.practice.practice_id", &r.practice_id);
    }
    if let Some(r) = &b.adoption {
        adoption::publisher(v, "body.adoption", &r.member, &r.key);
        v.id_text("body.adoption.adoption_id", &r.adoption_id, "adoption id");
    }
    if b.hash.is_none() {
        v.add(
            "body.hash",
            "is required: the BLAKE3 hash of the file (32 bytes)",
        );
    }
    match b.size {
        None => v.add("body.size", "is required: the file's size in bytes"),
        Some(n) if n == 0 || n > MAX_ATTACHMENT_SIZE_FORMAT => v.add(
            "body.size",
            format!("{n} is not between 1 and {MAX_ATTACHMENT_SIZE_FORMAT} (2^40) bytes"),
        ),
        Some(_) => {}
    }
    match &b.media_type {
        None => v.add(
            "body.media_type",
            "is required: a media type such as application/pdf",
        ),
        Some(m) => {
            if let Some(why) = media_type_problem(m) {
                v.add("body.media_type", why);
            }
        }
    }
    match &b.title {
        None => v.add("body.title", "is required"),
        Some(t) => v.lang_text("body.title", t, limits::TITLE_BYTES),
    }
    match &b.language {
        None => v.add(
            "body.language",
            "is required: the language of the content (ISO 639-1)",
        ),
        Some(l) if !codes::is_language(l) => v.add(
            "body.language",
            format!("{l:?} is not an ISO 639-1 language tag"),
        ),
        Some(_) => {}
    }
    match &b.category {
        None => v.add(
            "body.category",
            format!("is required: one of {}", CATEGORIES.join(", ")),
        ),
        Some(c) => v.one_of("body.category", c, CATEGORIES),
    }
    if let Some(l) = &b.licence
        && codes::spdx_name(l).is_none()
    {
        v.add("body.licence", format!("{l:?} is not an SPDX licence id"));
    }
    if let Some(t) = &b.description {
        v.lang_text("body.description", t, limits::LONG_TEXT_BYTES);
    }
    if let Some(n) = &b.file_name
        && let Some(why) = file_name_problem(n)
    {
        v.add("body.file_name", why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Attachment {
        serde_json::from_value(serde_json::json!({
            "attachment_id": "BGD-ATT-1", "revision": 1, "state": "active",
            "practice": {"member": "bd-a2i", "practice_id": "BGD-A2I-0001"},
            "hash": "00".repeat(32), "size": 1, "media_type": "application/pdf",
            "title": {"original": "en", "text": {"en": "x"}},
            "language": "en", "category": "report"
        }))
        .expect("body")
    }

    fn paths(b: &Attachment) -> Vec<String> {
        validate(b).into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn minimal_is_valid_and_has_no_default_licence() {
        assert_eq!(validate(&minimal()), vec![]);
        assert_eq!(minimal().licence, None);
        let mut b = minimal();
        b.size = Some(MAX_ATTACHMENT_SIZE_FORMAT);
        b.licence = Some("CC-BY-4.0".into());
        b.file_name = Some("UDC evaluation, 2019 (final).pdf".into());
        assert_eq!(validate(&b), vec![]);
    }

    #[test]
    fn it_belongs_to_exactly_one_record() {
        let mut b = minimal();
        b.adoption = Some(AdoptionRef {
            member: None,
            key: Some(AuthorKey([1; 32])),
            adoption_id: "KEN-ADOPT-1".into(),
            record: None,
        });
        assert_eq!(paths(&b), ["body.practice"]);
        b.practice = None;
        assert_eq!(validate(&b), vec![]);
        b.adoption = None;
        assert_eq!(paths(&b), ["body.practice"]);
        b.adoption = Some(AdoptionRef {
            member: Some("KE".into()),
            key: None,
            adoption_id: "-1".into(),
            record: None,
        });
        assert_eq!(
            paths(&b),
            ["body.adoption.member", "body.adoption.adoption_id"]
        );
    }

    #[test]
    fn every_problem_names_its_field() {
        let mut b = minimal();
        b.size = Some(0);
        b.media_type = Some("Application/PDF".into());
        b.language = Some("eng".into());
        b.category = Some("book".into());
        b.licence = Some("CC-BY".into());
        b.file_name = Some("../x.pdf".into());
        b.hash = None;
        assert_eq!(
            paths(&b),
            [
                "body.hash",
                "body.size",
                "body.media_type",
                "body.language",
                "body.category",
                "body.licence",
                "body.file_name"
            ]
        );
        b = minimal();
        b.size = Some(MAX_ATTACHMENT_SIZE_FORMAT + 1);
        assert_eq!(paths(&b), ["body.size"]);
    }

    #[test]
    fn media_types() {
        for ok in [
            "application/pdf",
            "video/mp4",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "text/csv",
            "image/svg+xml",
            "model/gltf-binary",
            "font/woff2",
            "audio/3gpp",
            "application/x-www-form-urlencoded",
        ] {
            assert_eq!(media_type_problem(ok), None, "{ok}");
        }
        for bad in [
            "text/plain; charset=utf-8",
            "text/plain;charset=utf-8",
            "Application/pdf",
            "application/PDF",
            "chemical/x-pdb",
            "message/rfc822",
            "multipart/mixed",
            "application",
            "application/",
            "/pdf",
            "application/.pdf",
            "application/pdf/x",
            "application/p df",
            "tx",
            "vidéo/mp4",
        ] {
            assert!(media_type_problem(bad).is_some(), "{bad}");
        }
        let long = format!("application/{}", "x".repeat(MEDIA_SUBTYPE_BYTES));
        assert_eq!(media_type_problem(&long), None);
        let longer = format!("application/{}", "x".repeat(MEDIA_SUBTYPE_BYTES + 1));
        assert!(media_type_problem(&longer).is_some());
    }

    #[test]
    fn file_names() {
        for ok in [
            "report.pdf",
            "তথ্য.pdf",
            ".hidden",
            "a..b",
            "x".repeat(255).as_str(),
        ] {
            assert_eq!(file_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b.pdf",
            "a\\b.pdf",
            "a\u{0}b",
            "a\nb",
            "a\u{7f}b",
            "a\u{85}b",
            "x".repeat(256).as_str(),
        ] {
            assert!(file_name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn withdrawal_has_only_its_keys() {
        let mut w = minimal();
        w.state = STATE_WITHDRAWN.into();
        w.revision = 2;
        w.supersedes = Some(RecordId([1; 32]));
        w.reason = Some("Superseded by a corrected report.".into());
        assert_eq!(
            paths(&w),
            [
                "body.practice",
                "body.hash",
                "body.size",
                "body.media_type",
                "body.title",
                "body.language",
                "body.category"
            ]
        );
        let w = Attachment {
            attachment_id: "BGD-ATT-1".into(),
            revision: 2,
            supersedes: Some(RecordId([1; 32])),
            state: STATE_WITHDRAWN.into(),
            reason: Some("Wrong file.".into()),
            practice: None,
            adoption: None,
            hash: None,
            size: None,
            media_type: None,
            title: None,
            language: None,
            category: None,
            licence: None,
            description: None,
            file_name: None,
        };
        assert_eq!(validate(&w), vec![]);
        assert!(w.is_withdrawal());
    }
}
