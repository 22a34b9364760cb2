//! Harvesting interfaces of a node's replica, as pure functions: OAI-PMH 2.0
//! ([`oai`]) and a DCAT-AP 3 catalogue in JSON-LD ([`dcat`]), with the
//! schema.org description of one practice for web pages
//! ([`dcat::schema_org`]). What they serve is specified in
//! `spec/harvest.md`.
//!
//! Nothing here does I/O: the caller hands in a [`Repository`] (the node's
//! change list, in the order this node stored the changes), the raw query
//! string and the time, and gets back the document to send. The node binary
//! wires these to `GET /oai` and `GET /catalog.jsonld`; the tests use the
//! in-memory [`memory::Memory`].
//!
//! ```
//! use setu_harvest::{Site, memory::Memory, oai};
//!
//! let mut repo = Memory::new();
//! repo.put_practice([7; 32], "BGD-A2I-0001", 1_700_000_000_000, serde_json::json!({
//!     "practice_id": "BGD-A2I-0001", "revision": 1, "state": "active",
//!     "title": {"original": "en", "text": {"en": "Union Digital Centres"}},
//!     "countries": [{"iso3": "BGD", "role": "originating"}],
//!     "sdg_targets": ["16.6"],
//! }));
//! let site = Site::new("http://127.0.0.1:7300", "A Setu node", "ops@example.org");
//! let xml = oai::respond(&site, "verb=ListRecords&metadataPrefix=oai_dc&set=country:BGD", &repo, 1_700_000_100_000)
//!     .expect("the memory repository does not fail");
//! assert!(xml.contains("<dc:title xml:lang=\"en\">Union Digital Centres</dc:title>"));
//! assert!(xml.contains("<setSpec>sdg:16</setSpec>"));
//!
//! let bad = oai::respond(&site, "verb=ListRecords", &repo, 1_700_000_100_000).unwrap();
//! assert!(bad.contains(r#"<error code="badArgument">"#));
//!
//! let catalog = setu_harvest::dcat::catalog(&site, "", &repo).unwrap();
//! assert_eq!(catalog["@graph"][0]["dcat:dataset"][0]["dct:identifier"],
//!            format!("urn:setu:practice:{}:BGD-A2I-0001", "07".repeat(32)));
//! ```

#![deny(missing_docs)]

mod body;
pub mod dcat;
mod form;
pub mod memory;
pub mod oai;
mod time;
mod xml;

pub use time::{format_datestamp, parse_datestamp};

/// Where the node is reachable and who runs it: the part of every answer
/// that does not come from the replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The node's HTTP origin as harvesters reach it, such as
    /// `http://127.0.0.1:7300` or `https://setu.example.org` (no trailing
    /// slash). OAI-PMH's base URL is this plus [`oai::PATH`]; the DCAT
    /// catalogue is this plus [`dcat::PATH`].
    pub root: String,
    /// OAI-PMH `repositoryName`, and the DCAT catalogue's title and
    /// publisher.
    pub name: String,
    /// OAI-PMH `adminEmail`.
    pub admin_email: String,
}

impl Site {
    /// A site; a trailing `/` of `root` is dropped.
    pub fn new(root: &str, name: &str, admin_email: &str) -> Site {
        Site {
            root: root.trim_end_matches('/').to_string(),
            name: name.to_string(),
            admin_email: admin_email.to_string(),
        }
    }
}

/// One chain of one publisher (a practice, an adoption report or a need) as
/// a harvester sees it: the time this node stored its latest change, and
/// its current (or last) revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Milliseconds since 1970: when this node stored the chain's latest
    /// change. Not the author's `ts`: a record that arrives late still sorts
    /// after everything harvested before it arrived.
    pub stamp_ms: u64,
    /// Opaque position in the change list; [`Repository::changes`] called
    /// with it as `after` continues after this item.
    pub cursor: String,
    /// The publisher's key.
    pub author: [u8; 32],
    /// `practice`, `adoption`, `seeking`, or a kind this version does not
    /// know.
    pub kind: String,
    /// The chain's id: `practice_id`, `adoption_id` or `seeking_id`.
    pub id: String,
    /// Withdrawn, or no valid revision left: served as deleted.
    pub deleted: bool,
    /// The current revision (for a deleted item, the last one held, if any).
    pub record: Option<Record>,
}

/// One signed record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record id (SHA-256 of the envelope bytes).
    pub id: [u8; 32],
    /// The body in its JSON form (`spec/record.md` §8).
    pub json: serde_json::Value,
    /// The signed record bytes, exactly as signed.
    pub bytes: Vec<u8>,
    /// The author's `ts`, milliseconds since 1970.
    pub ts_ms: u64,
}

/// What the harvesting interfaces read: the replica's change list.
pub trait Repository {
    /// Items whose stamp is in `from_ms ..= until_ms` (each bound optional),
    /// strictly after the item whose cursor is `after` (from the start when
    /// `None`), in the order (stamp, author, kind, id), at most `limit` of
    /// them. An empty answer means the end of the list; a shorter one does
    /// not have to (a repository may leave out items it cannot show).
    ///
    /// # Errors
    ///
    /// [`RepoError::BadCursor`] if `after` is not a cursor this repository
    /// gave out; [`RepoError::Unavailable`] if the replica cannot answer.
    fn changes(
        &self,
        from_ms: Option<u64>,
        until_ms: Option<u64>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Item>, RepoError>;

    /// The chain (`author`, `kind`, `id`), if this node holds it.
    ///
    /// # Errors
    ///
    /// [`RepoError::Unavailable`] if the replica cannot answer.
    fn item(&self, author: &[u8; 32], kind: &str, id: &str) -> Result<Option<Item>, RepoError>;

    /// The smallest stamp of any item, or `None` if there is none.
    ///
    /// # Errors
    ///
    /// [`RepoError::Unavailable`] if the replica cannot answer.
    fn earliest_stamp(&self) -> Result<Option<u64>, RepoError>;
}

/// A [`Repository`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepoError {
    /// The cursor was not one the repository gave out (a forged or corrupt
    /// resumption token or page link).
    #[error("bad cursor: {0}")]
    BadCursor(String),
    /// The replica failed (closed, I/O error); the message is for the log.
    #[error("replica unavailable: {0}")]
    Unavailable(String),
}
