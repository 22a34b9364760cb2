//! "Where has this scaled?": a practice's adoptions beside its origin, and
//! publishing the kinds other than `practice` (adoption reports, needs).
//!
//! Comparisons with the origin use relative change only (`change_bp`),
//! since currencies and units differ; "years from origin" runs from the
//! first day of the practice's `period.start` to the first day of the
//! adoption's (`spec/record.md` §6b).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use setu_core::adoption::{self, Adoption};
use setu_core::attachment::{self, Attachment};
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::keys::SecretKey;
use setu_core::practice::{self, LangText, Metric, Practice, Problem};
use setu_core::record;
use setu_core::seeking::{self, Seeking};

use crate::Error;
use crate::backend::Backend;
use crate::graph::{self, Adopted, Sought};
use crate::replica::{PublishError, Published, Replica};

/// One adoption, with what the node knows of the practice it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdoptionView {
    /// The report at its current revision.
    #[serde(flatten)]
    pub adopted: Adopted,
    /// The practice it names, if this node holds it; `None` shows as
    /// "practice not yet received".
    pub practice: Option<Origin>,
    /// Years from the origin's start to the adoption's, to one decimal.
    pub years_from_origin: Option<f64>,
    /// TCV at origin against the adopter, per metric kind reported by both
    /// or either.
    pub tcv: Vec<TcvPair>,
}

/// The originating practice, as an adoption shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// Its publisher (the owner of its chain).
    pub publisher: AuthorKey,
    /// Its id.
    pub practice_id: String,
    /// Its current revision's record id.
    pub id: RecordId,
    /// Its title.
    pub title: Option<LangText>,
    /// Originating countries.
    pub countries: Vec<String>,
    /// `period.start` of its current revision.
    pub start: Option<String>,
}

/// A TCV comparison for one metric kind, in basis points of change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcvPair {
    /// `time`, `cost` or `visits`.
    pub kind: String,
    /// Change at origin.
    pub origin_bp: Option<i64>,
    /// Change at the adopter.
    pub adopter_bp: Option<i64>,
}

/// "Where has this scaled?" for one practice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// The practice.
    pub origin: Origin,
    /// Adopting countries by stage (stages in order, countries sorted).
    pub stages: BTreeMap<String, Vec<String>>,
    /// Each adoption.
    pub adoptions: Vec<AdoptionView>,
}

/// Records read per step while looking for records to file.
const FILE_SCAN_CHUNK: usize = 50_000;

/// Most practices one scaling report covers.
pub const MAX_SCALING_PRACTICES: usize = 10_000;

/// The first change per metric kind (as published, or computed from raw
/// values).
fn changes(metrics: &[Metric]) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for m in metrics {
        if let Some(bp) = m.change_bp() {
            out.entry(m.kind.clone()).or_insert(bp);
        }
    }
    out
}

/// Days since 0000-03-01 of a calendar day (a proleptic day count).
fn day_count((y, m, d): practice::Day) -> i64 {
    let (y, m, d) = (y as i64, m as i64, d as i64);
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d
}

/// Years from one date's first day to another's, to one decimal.
pub fn years_between(from: &str, to: &str) -> Option<f64> {
    let (a, _) = practice::date_range(from)?;
    let (b, _) = practice::date_range(to)?;
    let days = (day_count(b) - day_count(a)) as f64;
    Some((days / 365.25 * 10.0).round() / 10.0)
}

fn tcv(origin: Option<&Practice>, a: &Adoption) -> Vec<TcvPair> {
    let at_origin = origin.map(|p| changes(&p.metrics)).unwrap_or_default();
    let adopter = changes(&a.metrics);
    practice::METRIC_KINDS
        .iter()
        .filter(|k| at_origin.contains_key(**k) || adopter.contains_key(**k))
        .map(|k| TcvPair {
            kind: k.to_string(),
            origin_bp: at_origin.get(*k).copied(),
            adopter_bp: adopter.get(*k).copied(),
        })
        .collect()
}

impl<B: Backend> Replica<B> {
    /// The current revision of `owner`'s practice, if held and not withdrawn.
    fn current_practice(
        &self,
        owner: &AuthorKey,
        practice_id: &str,
    ) -> Result<Option<(RecordId, Practice)>, Error> {
        let rec = graph::current(self.store(), owner, practice::KIND, practice_id)?;
        Ok(rec.and_then(|r| r.practice().cloned().map(|p| (r.id(), p))))
    }

    fn origin(
        &self,
        owner: &AuthorKey,
        practice_id: &str,
    ) -> Result<Option<(Origin, Practice)>, Error> {
        Ok(self.current_practice(owner, practice_id)?.map(|(id, p)| {
            (
                Origin {
                    publisher: *owner,
                    practice_id: practice_id.to_string(),
                    id,
                    title: p.title.clone(),
                    countries: p
                        .countries
                        .iter()
                        .filter(|c| c.role == "originating")
                        .map(|c| c.iso3.clone())
                        .collect(),
                    start: p.period.as_ref().map(|x| x.start.clone()),
                },
                p,
            )
        }))
    }

    fn view_of(&self, adopted: Adopted) -> Result<AdoptionView, Error> {
        let target = adopted.adoption.practice.as_ref().and_then(|r| {
            self.publishers
                .resolve(r)
                .map(|o| (o, r.practice_id.clone()))
        });
        let origin = match &target {
            Some((o, pid)) => self.origin(o, pid)?,
            None => None,
        };
        let years = match (&origin, &adopted.adoption.period) {
            (Some((o, _)), Some(p)) => o.start.as_deref().and_then(|s| years_between(s, &p.start)),
            _ => None,
        };
        let tcv = tcv(origin.as_ref().map(|(_, p)| p), &adopted.adoption);
        Ok(AdoptionView {
            adopted,
            practice: origin.map(|(o, _)| o),
            years_from_origin: years,
            tcv,
        })
    }

    /// Files the adoption reports and needs that a version before these
    /// kinds stored as opaque records (`spec/record.md` §6.10): once per
    /// store, after the charter is set. Each is taken out and stored again
    /// under this version's rules, so it gets its chain, its edge and its
    /// listing, and one this version's schema refuses is no longer kept
    /// (`spec/store.md` §2), as on a node that never held it. Records are
    /// handled [`crate::ingest::MAX_BATCH`] at a time; a crash between
    /// taking a batch out and storing it again loses those records here
    /// only, and reconciliation brings them back from peers. Returns how
    /// many were filed.
    pub fn file_new_kinds(&mut self, now: u64) -> Result<usize, Error> {
        if self.store().meta()?.kinds_filed {
            return Ok(0);
        }
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let page = self.store().ts_range(after, FILE_SCAN_CHUNK)?;
            let Some(last) = page.last().copied() else {
                break;
            };
            for (_, id) in &page {
                let Some(bytes) = self.store().get(id)? else {
                    continue;
                };
                if record::parse(bytes).is_ok_and(|p| {
                    [adoption::KIND, seeking::KIND].contains(&p.envelope().kind.as_str())
                }) && self
                    .store()
                    .chain(
                        &self.chain_owner(&self.author_of(id)?),
                        &self.chain_name_of(id)?,
                    )?
                    .is_none_or(|c| c.entry(id).is_none())
                {
                    found.push(*id);
                }
            }
            after = Some(last);
            if page.len() < FILE_SCAN_CHUNK {
                break;
            }
        }
        let n = found.len();
        for chunk in found.chunks(crate::ingest::MAX_BATCH) {
            let bytes = self.store().unstore(chunk)?;
            self.items = Default::default();
            let done = self.ingest(bytes, now)?;
            let refused = done
                .outcomes
                .iter()
                .filter(|o| matches!(o, crate::ingest::Outcome::Refused { .. }))
                .count();
            if refused > 0 {
                tracing::warn!(
                    refused,
                    "records of the new kinds this version refuses are no longer kept"
                );
            }
        }
        self.store().set_kinds_filed()?;
        if n > 0 {
            tracing::info!(
                records = n,
                "adoption reports and needs filed after an upgrade"
            );
        }
        Ok(n)
    }

    fn author_of(&self, id: &RecordId) -> Result<AuthorKey, Error> {
        Ok(self
            .store()
            .get(id)?
            .and_then(|b| record::parse(b).ok())
            .map_or(AuthorKey([0; 32]), |p| p.envelope().author))
    }

    /// The chain a stored record of a known kind belongs in ("" if none).
    fn chain_name_of(&self, id: &RecordId) -> Result<String, Error> {
        Ok(self
            .store()
            .get(id)?
            .and_then(|b| record::check_trusted(b).ok())
            .and_then(|r| r.lifecycle().map(|l| crate::chain::name(l.kind, l.id)))
            .unwrap_or_default())
    }

    /// The publishers this node's local policy mutes (`spec/membership.md`
    /// §9): their reports, needs and practices are not shown, harvested or
    /// exported.
    pub fn muted(&self) -> Vec<AuthorKey> {
        self.membership
            .as_ref()
            .map(crate::members::Membership::muted)
            .unwrap_or_default()
    }

    /// The current adoptions of `owner`'s practice `practice_id`.
    pub fn adoptions_of(
        &self,
        owner: &AuthorKey,
        practice_id: &str,
    ) -> Result<Vec<AdoptionView>, Error> {
        let muted = self.muted();
        graph::adoptions_of(self.store(), &self.publishers, owner, practice_id)?
            .into_iter()
            .filter(|a| !muted.contains(&a.publisher))
            .map(|a| self.view_of(a))
            .collect()
    }

    /// Every current adoption report, at most `limit` (reports of practices
    /// not yet received included).
    pub fn adoptions(&self, limit: usize) -> Result<Vec<AdoptionView>, Error> {
        let muted = self.muted();
        graph::adoptions(self.store(), limit)?
            .into_iter()
            .filter(|a| !muted.contains(&a.publisher))
            .map(|a| self.view_of(a))
            .collect()
    }

    /// Every open need, at most `limit`.
    pub fn seekings(&self, limit: usize) -> Result<Vec<Sought>, Error> {
        let muted = self.muted();
        let mut out = graph::seekings(self.store(), limit)?;
        out.retain(|s| !muted.contains(&s.publisher));
        Ok(out)
    }

    /// The publisher (chain owner) of a record this replica holds.
    pub fn owner_of(&self, author: &AuthorKey) -> AuthorKey {
        self.chain_owner(author)
    }

    /// "Where has this scaled?": for one practice, or for every practice
    /// with at least one adoption this node holds the practice of. Sorted
    /// by adoptions, most first.
    pub fn scaling(&self, only: Option<(AuthorKey, String)>) -> Result<Vec<Scaling>, Error> {
        let mut by_practice: BTreeMap<(AuthorKey, String), Vec<AdoptionView>> = BTreeMap::new();
        match &only {
            Some((o, pid)) => {
                by_practice.insert((*o, pid.clone()), self.adoptions_of(o, pid)?);
            }
            None => {
                for v in self.adoptions(graph::MAX_LISTED)? {
                    if let Some(o) = &v.practice {
                        by_practice
                            .entry((o.publisher, o.practice_id.clone()))
                            .or_default()
                            .push(v);
                    }
                }
            }
        }
        let muted = self.muted();
        let mut out = Vec::new();
        for ((owner, pid), adoptions) in by_practice {
            if muted.contains(&owner) {
                continue;
            }
            let Some((origin, _)) = self.origin(&owner, &pid)? else {
                continue;
            };
            let mut stages: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for a in &adoptions {
                if let (Some(s), Some(c)) = (&a.adopted.adoption.stage, &a.adopted.adoption.country)
                {
                    stages.entry(s.clone()).or_default().push(c.clone());
                }
            }
            for v in stages.values_mut() {
                v.sort();
                v.dedup();
            }
            out.push(Scaling {
                origin,
                stages,
                adoptions,
            });
        }
        out.sort_by(|a, b| {
            b.adoptions
                .len()
                .cmp(&a.adoptions.len())
                .then_with(|| a.origin.practice_id.cmp(&b.origin.practice_id))
        });
        out.truncate(MAX_SCALING_PRACTICES);
        Ok(out)
    }

    /// Signs a JSON body of kind `adoption` or `seeking` as `key`'s next
    /// record and stores it. A body naming one of the publisher's chains of
    /// that kind (by `adoption_id` / `seeking_id`) becomes its next
    /// revision; `revision` and `supersedes` are filled in.
    pub fn publish_kind(
        &mut self,
        key: &SecretKey,
        kind: &str,
        body: Json,
        now: u64,
    ) -> Result<Published, PublishError> {
        let id_key = match kind {
            adoption::KIND => "adoption_id",
            seeking::KIND => "seeking_id",
            attachment::KIND => "attachment_id",
            practice::KIND => return self.publish(key, body, now),
            other => {
                return Err(invalid(
                    "kind",
                    format!("{other:?} is not one of practice, adoption, seeking, attachment"),
                ));
            }
        };
        let mut body = crate::replica::nfc_json(body);
        let text_problems = practice::text::check(&mut body);
        let Json::Object(mut obj) = body else {
            return Err(invalid("body", "must be a JSON object"));
        };
        let id = match obj.get(id_key) {
            Some(Json::String(s)) => s.clone(),
            Some(_) => return Err(invalid(&format!("body.{id_key}"), "must be text")),
            None => return Err(invalid(&format!("body.{id_key}"), "is required")),
        };
        obj.entry("state")
            .or_insert_with(|| Json::String(practice::STATE_ACTIVE.into()));
        let owner = self.chain_owner(&key.author());
        let chain = self.store().chain(&owner, &crate::chain::name(kind, &id))?;
        let current = chain.map(|c| {
            let s = c.state();
            (s.linked.last().map(|e| (e.revision, e.id)), s.withdrawn)
        });
        match current {
            Some((last, true)) => {
                return Err(PublishError::Refused(crate::ingest::Refusal::Withdrawn {
                    practice_id: crate::chain::name(kind, &id),
                    revision: last.map_or(0, |(r, _)| r),
                }));
            }
            Some((Some((rev, prev)), false)) => {
                obj.insert("revision".into(), Json::from(rev + 1));
                obj.insert("supersedes".into(), Json::String(prev.to_hex()));
            }
            _ => {
                obj.insert("revision".into(), Json::from(1u64));
                obj.remove("supersedes");
            }
        }
        let body = Json::Object(obj);
        let seq_now = |r: &mut Self| r.reserve_seqs(&key.author(), 1, now);
        let (rec, revision) = match kind {
            adoption::KIND => {
                let mut a: Adoption = crate::replica::parse_body(body)?;
                a.fill_defaults();
                let mut problems = text_problems;
                problems.extend(adoption::validate(&a));
                if !problems.is_empty() {
                    return Err(PublishError::Invalid(problems));
                }
                let seq = seq_now(self)?;
                (record::sign_adoption(key, seq, now, &a)?, a.revision)
            }
            attachment::KIND => {
                let a: Attachment = crate::replica::parse_body(body)?;
                let mut problems = text_problems;
                problems.extend(attachment::validate(&a));
                if !problems.is_empty() {
                    return Err(PublishError::Invalid(problems));
                }
                let seq = seq_now(self)?;
                (record::sign_attachment(key, seq, now, &a)?, a.revision)
            }
            _ => {
                let mut n: Seeking = crate::replica::parse_body(body)?;
                n.fill_defaults();
                let mut problems = text_problems;
                problems.extend(seeking::validate(&n));
                if !problems.is_empty() {
                    return Err(PublishError::Invalid(problems));
                }
                let seq = seq_now(self)?;
                (record::sign_seeking(key, seq, now, &n)?, n.revision)
            }
        };
        let published = Published {
            id: rec.id(),
            practice_id: id,
            revision,
            seq: rec.envelope().seq,
            record: rec.bytes().to_vec(),
        };
        self.store_own(vec![rec.into_bytes()], now)?;
        let _ = self.flush_index();
        Ok(published)
    }

    /// Withdraws one of the publisher's adoption reports or needs. Final.
    pub fn withdraw_kind(
        &mut self,
        key: &SecretKey,
        kind: &str,
        id: &str,
        reason: &str,
        now: u64,
    ) -> Result<Published, PublishError> {
        match kind {
            practice::KIND => return self.withdraw(key, id, reason, now),
            adoption::KIND | seeking::KIND | attachment::KIND => {}
            other => return Err(invalid("kind", format!("{other:?} cannot be withdrawn"))),
        }
        let owner = self.chain_owner(&key.author());
        let chain = self
            .store()
            .chain(&owner, &crate::chain::name(kind, id))?
            .ok_or_else(|| PublishError::Unknown(format!("{kind} {id}")))?;
        let state = chain.state();
        let last = state
            .linked
            .last()
            .ok_or_else(|| PublishError::Unknown(format!("{kind} {id}")))?;
        if state.withdrawn {
            return Err(PublishError::Refused(crate::ingest::Refusal::Withdrawn {
                practice_id: crate::chain::name(kind, id),
                revision: last.revision,
            }));
        }
        let (revision, supersedes) = (last.revision + 1, Some(last.id));
        let seq = self.reserve_seqs(&key.author(), 1, now)?;
        let rec = match kind {
            adoption::KIND => record::sign_adoption(
                key,
                seq,
                now,
                &Adoption {
                    adoption_id: id.into(),
                    revision,
                    supersedes,
                    state: practice::STATE_WITHDRAWN.into(),
                    reason: Some(reason.into()),
                    ..empty_adoption()
                },
            )?,
            seeking::KIND => record::sign_seeking(
                key,
                seq,
                now,
                &Seeking {
                    seeking_id: id.into(),
                    revision,
                    supersedes,
                    state: practice::STATE_WITHDRAWN.into(),
                    reason: Some(reason.into()),
                    ..empty_seeking()
                },
            )?,
            attachment::KIND => record::sign_attachment(
                key,
                seq,
                now,
                &Attachment {
                    attachment_id: id.into(),
                    revision,
                    supersedes,
                    state: practice::STATE_WITHDRAWN.into(),
                    reason: Some(reason.into()),
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
                },
            )?,
            other => {
                return Err(invalid(
                    "kind",
                    format!("{other:?} cannot be withdrawn here"),
                ));
            }
        };
        let published = Published {
            id: rec.id(),
            practice_id: id.to_string(),
            revision,
            seq,
            record: rec.bytes().to_vec(),
        };
        self.store_own(vec![rec.into_bytes()], now)?;
        let _ = self.flush_index();
        Ok(published)
    }
}

fn invalid(path: &str, message: impl Into<String>) -> PublishError {
    PublishError::Invalid(vec![Problem {
        path: path.to_string(),
        message: message.into(),
    }])
}

fn empty_adoption() -> Adoption {
    serde_json::from_value(serde_json::json!({
        "adoption_id": "x", "revision": 1, "state": "active"
    }))
    .unwrap_or_else(|_| unreachable!("a minimal adoption body parses"))
}

fn empty_seeking() -> Seeking {
    serde_json::from_value(serde_json::json!({
        "seeking_id": "x", "revision": 1, "state": "active"
    }))
    .unwrap_or_else(|_| unreachable!("a minimal seeking body parses"))
}
