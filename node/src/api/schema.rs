//! The shapes of the API's bodies, for the OpenAPI document.
//!
//! The handlers answer with types of the library crates (`setu::Status`,
//! `setu_store::query::Hit`, ...), which do not derive `ToSchema`. Each is
//! mirrored here, field for field, with `deny_unknown_fields`; the tests
//! at the bottom decode the real JSON into the mirror and encode it back
//! unchanged, so a field added, renamed or retyped in a library crate
//! fails them until its mirror follows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /v1/status` (`setu::Status`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// The replica.
    pub replica: ReplicaStatus,
    /// The network.
    pub net: NetStatus,
    /// The publishing key (hex), if any.
    pub publisher: Option<String>,
}

/// `setu_store::replica::Status`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicaStatus {
    /// The data directory.
    pub data_dir: Option<String>,
    /// Records stored.
    pub records: u64,
    /// Of those, records the network's membership made invalid after they
    /// were stored: kept for audit, not shown or relayed.
    pub invalid: u64,
    /// Practices (chains) stored.
    pub practices: u64,
    /// Documents in the search index.
    pub indexed_documents: u64,
    /// The store's change counter.
    pub store_change: u64,
    /// The store change the index has caught up with.
    pub index_change: u64,
    /// Store changes not yet indexed.
    pub index_lag: u64,
    /// Bytes on disk.
    pub disk_bytes: u64,
    /// Authors flagged for equivocation.
    pub flagged_authors: u64,
    /// The last store write failed with this (a full disk, say); absent once
    /// a write succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_error: Option<String>,
    /// The search index failed with this and is behind by `index_lag`;
    /// absent once a retry succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_error: Option<String>,
}

/// `setu_net::driver::NetStatus`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetStatus {
    /// The node's libp2p peer id.
    pub peer_id: String,
    /// The network name.
    pub network: String,
    /// Addresses listened on.
    pub listen: Vec<String>,
    /// Peers connected.
    pub peers: u64,
    /// Whether the node can be reached from outside.
    pub reachability: Reachability,
    /// Kademlia mode.
    pub kad_mode: String,
    /// Confirmed external addresses.
    pub external: Vec<String>,
    /// Relays in use.
    pub relays: Vec<String>,
    /// Attachments this node announces in Kademlia provider records (held
    /// whole here).
    pub providing: u64,
    /// Of those, the ones no Kademlia server has taken a record of yet.
    pub providing_unheard: u64,
    /// Content hashes for which this node keeps others' provider records.
    pub provider_keys_kept: u64,
    /// Counters by name.
    pub counters: BTreeMap<String, u64>,
    /// Payload bytes over TCP, both directions, by protocol name (noise and
    /// yamux framing aside).
    pub wire_by_protocol: BTreeMap<String, u64>,
}

/// `setu_net::driver::Reachability`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reachability {
    /// Not yet judged.
    Unknown,
    /// Reachable.
    Public,
    /// Behind NAT.
    Private,
}

/// One of `GET /v1/peers` (`setu_net::driver::PeerInfo`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerInfo {
    /// Its peer id.
    pub peer_id: String,
    /// Its addresses.
    pub addresses: Vec<String>,
    /// Its agent string.
    pub agent: Option<String>,
    /// True if reached through a relay.
    pub relayed: bool,
}

/// `GET /v1/practices`: one page of matches.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchPage {
    /// Matches in all.
    pub total: u64,
    /// This page.
    pub hits: Vec<Hit>,
    /// The `cursor` of the next page; null on the last.
    pub next_cursor: Option<String>,
    /// Counts by country, SDG goal, sector and status (with `facets=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub facets: Option<Facets>,
}

/// `setu_store::query::Hit`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Hit {
    /// The record id (64 hex digits).
    pub id: String,
    /// The practice id.
    pub practice_id: String,
    /// The publisher's key (hex).
    pub author: String,
    /// The revision.
    pub revision: u64,
    /// When it was signed (ms since 1970).
    pub ts: u64,
    /// Its title.
    pub title: Option<LangText>,
    /// Its countries (ISO3).
    pub countries: Vec<String>,
    /// True for the current revision.
    pub current: bool,
    /// True if the practice was withdrawn.
    pub withdrawn: bool,
    /// Its current adoption reports.
    pub adoptions: u64,
    /// The text search's score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub score: Option<f32>,
}

/// `setu_core::practice::LangText`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LangText {
    /// The language written in.
    pub original: String,
    /// Text by language tag.
    pub text: BTreeMap<String, String>,
    /// Tags machine-translated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub machine_translated: Vec<String>,
}

/// `setu_store::query::Facets`: `[value, count]` pairs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Facets {
    /// By country.
    pub country: Vec<(String, u64)>,
    /// By SDG goal.
    pub sdg_goal: Vec<(String, u64)>,
    /// By sector.
    pub sector: Vec<(String, u64)>,
    /// By activity status.
    pub status: Vec<(u64, u64)>,
    /// By adopting country.
    pub adoptions: Vec<(String, u64)>,
    /// By adoption stage.
    pub adoption_stage: Vec<(String, u64)>,
}

/// `POST /v1/practices` and withdraw (`setu_store::replica::Published`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// The new record's id.
    pub id: String,
    /// The practice id.
    pub practice_id: String,
    /// Its revision.
    pub revision: u64,
    /// The author's seq used.
    pub seq: u64,
}

/// `GET /v1/practices/{id}` (`setu::PracticeView`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PracticeView {
    /// The publisher.
    pub author: String,
    /// The practice id.
    pub practice_id: String,
    /// The record shown.
    pub record_id: String,
    /// Its revision.
    pub revision: u64,
    /// When it was signed.
    pub ts: u64,
    /// True if withdrawn.
    pub withdrawn: bool,
    /// True if two records claim one revision.
    pub equivocated: bool,
    /// Records held but not linked.
    pub held: Vec<String>,
    /// The current revision's id.
    pub current: Option<String>,
    /// Records of this practice the network's membership made invalid:
    /// kept for audit, never a revision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub invalid: Vec<String>,
    /// Why the record shown (asked for by id) is invalid: `revoked`,
    /// `sealed`, `out-of-scope`, `expired`, `removed`, `void-key` or
    /// `no-member`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub flagged: Option<String>,
    /// The body of the record shown (null for a withdrawal).
    pub body: serde_json::Value,
    /// Every linked revision (with `history=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub history: Option<Vec<RevisionView>>,
    /// Its current adoption reports.
    pub adoptions: Vec<AdoptionView>,
}

/// `setu::AdoptionView`: an adoption report beside its origin.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdoptionView {
    /// The report's current record id.
    pub id: String,
    /// The adopting publisher (the owner of the report's chain), hex.
    pub publisher: String,
    /// The key that signed it, hex.
    pub author: String,
    /// When it was signed (ms since 1970).
    pub ts: u64,
    /// The adoption body (spec/record.md §6b).
    #[schema(value_type = Object)]
    pub adoption: serde_json::Value,
    /// The practice it names; null: practice not yet received.
    pub practice: Option<Origin>,
    /// Years from the origin's start to the adoption's.
    pub years_from_origin: Option<f64>,
    /// TCV change at origin and here, per metric kind, in basis points.
    pub tcv: Vec<TcvPair>,
}

/// `setu_store::scaling::Origin`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// Its publisher, hex.
    pub publisher: String,
    /// Its practice id.
    pub practice_id: String,
    /// Its current record id.
    pub id: String,
    /// Its title.
    pub title: Option<LangText>,
    /// Originating countries.
    pub countries: Vec<String>,
    /// `period.start`.
    pub start: Option<String>,
}

/// `setu_store::scaling::TcvPair`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TcvPair {
    /// time, cost or visits.
    pub kind: String,
    /// Change at origin, basis points.
    pub origin_bp: Option<i64>,
    /// Change at the adopter, basis points.
    pub adopter_bp: Option<i64>,
}

/// `GET /v1/scaling` (`setu::Scaling`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// The practice.
    pub origin: Origin,
    /// Adopting countries by stage.
    pub stages: BTreeMap<String, Vec<String>>,
    /// Each adoption.
    pub adoptions: Vec<AdoptionView>,
}

/// `GET /v1/matches` (`setu::Match`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// The practice's current record id.
    pub id: String,
    /// Its practice id.
    pub practice_id: String,
    /// Its publisher, hex.
    pub publisher: String,
    /// Its title.
    pub title: Option<LangText>,
    /// Originating countries.
    pub countries: Vec<String>,
    /// The score.
    pub score: f64,
    /// Why it fits.
    pub reasons: Vec<String>,
}

/// `GET /v1/matches?offers=true` (`setu::Offer`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// The need's record id.
    pub seeking: String,
    /// Its seeking id.
    pub seeking_id: String,
    /// The seeking country.
    pub country: Option<String>,
    /// Its title.
    pub title: Option<LangText>,
    /// This node's practices that fit it.
    pub matches: Vec<Match>,
}

/// `GET /v1/seekings` (`setu::Sought`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sought {
    /// The need's current record id.
    pub id: String,
    /// Its publisher, hex.
    pub publisher: String,
    /// The key that signed it.
    pub author: String,
    /// When it was signed.
    pub ts: u64,
    /// The seeking body (spec/record.md §6c).
    #[schema(value_type = Object)]
    pub seeking: serde_json::Value,
}

/// `setu::RevisionView`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionView {
    /// Its record id.
    pub id: String,
    /// Its revision.
    pub revision: u64,
    /// When it was signed.
    pub ts: u64,
    /// True for a withdrawal.
    pub withdrawal: bool,
}

/// `POST /v1/import`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportReport {
    /// Totals.
    pub progress: ImportProgress,
    /// One per line.
    pub rows: Vec<ImportRow>,
}

/// `setu_store::replica::ImportProgress`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportProgress {
    /// Lines read.
    pub rows: u64,
    /// Signed and stored.
    pub imported: u64,
    /// Already stored.
    pub skipped: u64,
    /// Refused.
    pub rejected: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// `setu_store::replica::Row`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "result", rename_all = "lowercase", deny_unknown_fields)]
pub enum ImportRow {
    /// Signed and stored.
    Imported {
        /// The line (1-based).
        line: u64,
        /// The new record's id.
        id: String,
        /// The practice id.
        practice_id: String,
        /// Its revision.
        revision: u64,
        /// The author's seq used.
        seq: u64,
    },
    /// Already stored.
    Skipped {
        /// The line.
        line: u64,
        /// The practice id.
        practice_id: String,
    },
    /// Refused.
    Rejected {
        /// The line.
        line: u64,
        /// Each problem, as `path: message`.
        problems: Vec<String>,
    },
}

/// The body of `POST /v1/practices/{practice_id}/withdraw`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// Why, for the record. Not blank.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// An adoption (spec/record.md §6b) or seeking (§6c) body, a JSON object.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub struct KindBody(pub serde_json::Map<String, serde_json::Value>);

/// A practice body (spec/record.md §6), a JSON object.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub struct PracticeBody(pub serde_json::Map<String, serde_json::Value>);

/// A signed record, canonical CBOR (spec/record.md).
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct RecordBytes(Vec<u8>);
