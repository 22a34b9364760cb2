//! Matchmaking: the practices that fit a need, each with its reasons.
//!
//! A need (a `seeking` record, or what a ministry types) is matched in two
//! steps. Candidates come from the search index: a ranked any-word search
//! of the need's words over every language the index holds, and the
//! practices that share its SDG targets or goals, or its sectors. Each
//! candidate is then scored from its current revision:
//!
//! | part | weight |
//! | --- | --- |
//! | full-text relevance (BM25, divided by the best candidate's) | [`W_TEXT`] |
//! | SDG targets shared, as a share of the need's (goals count half) | [`W_SDG`] |
//! | sectors shared, as a share of the need's | [`W_SECTOR`] |
//! | the same government level | [`W_LEVEL`] |
//! | evidence: TCV reported; each adoption; each adoption at `scaled` | [`W_TCV`], [`W_ADOPTION`], [`W_SCALED`] (capped at [`W_EVIDENCE_MAX`]) |
//!
//! A need in a language no practice is written in cannot match word for
//! word; its SDG targets, sectors and level still find practices.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use setu_core::codes;
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::practice::{LangText, Practice};
use setu_core::seeking::Seeking;

use crate::Error;
use crate::backend::Backend;
use crate::query::{Query, TextMatch};
use crate::replica::Replica;

/// Weight of full-text relevance.
pub const W_TEXT: f64 = 1.0;
/// Weight of SDG overlap.
pub const W_SDG: f64 = 1.0;
/// Weight of sector overlap.
pub const W_SECTOR: f64 = 0.6;
/// Weight of the same government level.
pub const W_LEVEL: f64 = 0.2;
/// Evidence: TCV reported.
pub const W_TCV: f64 = 0.1;
/// Evidence: each current adoption.
pub const W_ADOPTION: f64 = 0.05;
/// Evidence: each adoption at stage `scaled`.
pub const W_SCALED: f64 = 0.05;
/// Most evidence adds in all.
pub const W_EVIDENCE_MAX: f64 = 0.3;
/// Candidates taken from each index search.
pub const CANDIDATES: usize = 200;
/// Most matches returned.
pub const MAX_MATCHES: usize = 100;
/// Most needs `offers` looks at.
pub const MAX_OFFER_NEEDS: usize = 1_000;

/// What a ministry needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    /// The need in words (title and challenge), any language.
    pub text: String,
    /// SDG targets (`16.6`) or goals (`16`).
    pub sdg: Vec<String>,
    /// Sectors as `vocabulary:code`.
    pub sectors: Vec<String>,
    /// `national`, `subnational` or `local`.
    pub gov_level: Option<String>,
}

impl Need {
    /// The need a `seeking` record states: its title and challenge in every
    /// language it gives, its targets, sectors and level.
    pub fn of(s: &Seeking) -> Need {
        let mut text = String::new();
        for lt in [&s.title, &s.challenge].into_iter().flatten() {
            for t in lt.text.values() {
                text.push_str(t);
                text.push(' ');
            }
        }
        Need {
            text: text.trim().to_string(),
            sdg: s.sdg_targets.clone(),
            sectors: s
                .sectors
                .iter()
                .map(|x| format!("{}:{}", x.vocabulary, x.code))
                .collect(),
            gov_level: s.gov_level.clone(),
        }
    }

    /// Problems, each naming its field.
    pub fn problems(&self) -> Vec<String> {
        let q = Query {
            sdg: self.sdg.clone(),
            sectors: self.sectors.clone(),
            gov_level: self.gov_level.clone(),
            text: Some(self.text.clone()),
            ..Query::default()
        };
        let mut p = q.problems();
        if self.text.trim().is_empty() && self.sdg.is_empty() && self.sectors.is_empty() {
            p.push("need: give text, SDG targets or sectors".into());
        }
        p
    }
}

/// One practice that fits a need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// Its current revision's record id.
    pub id: RecordId,
    /// Its id.
    pub practice_id: String,
    /// Its publisher.
    pub publisher: AuthorKey,
    /// Its title.
    pub title: Option<LangText>,
    /// Originating countries.
    pub countries: Vec<String>,
    /// The score (the sum of the parts in the module's table).
    pub score: f64,
    /// Why it fits, in words.
    pub reasons: Vec<String>,
}

/// An open need that one of this node's practices fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// The need's record id.
    pub seeking: RecordId,
    /// Its `seeking_id`.
    pub seeking_id: String,
    /// The seeking country.
    pub country: Option<String>,
    /// Its title.
    pub title: Option<LangText>,
    /// This node's practices that fit it, best first.
    pub matches: Vec<Match>,
}

fn goal_of(target: &str) -> &str {
    target.split('.').next().unwrap_or(target)
}

/// The words of the need found in a practice's texts (lower-cased), in
/// the need's order: for the reasons.
fn words_found(words: &[String], p: &Practice) -> Vec<String> {
    let mut hay = String::new();
    for lt in [&p.title, &p.summary, &p.challenge, &p.solution]
        .into_iter()
        .flatten()
    {
        for t in lt.text.values() {
            hay.push_str(&t.to_lowercase());
            hay.push(' ');
        }
    }
    for k in &p.keywords {
        hay.push_str(&k.to_lowercase());
        hay.push(' ');
    }
    words
        .iter()
        .filter(|w| hay.contains(w.as_str()))
        .take(3)
        .cloned()
        .collect()
}

impl<B: Backend> Replica<B> {
    /// The practices that fit `need`, best first, at most `limit` (and
    /// [`MAX_MATCHES`]), each with its reasons.
    pub fn matches(&self, need: &Need, limit: usize) -> Result<Vec<Match>, Error> {
        let text = need.text.trim();
        // Candidates: text relevance, then SDG and sector overlap.
        let mut text_score: BTreeMap<RecordId, f32> = BTreeMap::new();
        let mut candidates: BTreeMap<RecordId, (AuthorKey, String)> = BTreeMap::new();
        if !text.is_empty() {
            let hits = self.query(&Query {
                text: Some(text.to_string()),
                text_match: TextMatch::Any,
                limit: CANDIDATES,
                ..Query::default()
            })?;
            for h in hits.hits {
                text_score.insert(h.id, h.score.unwrap_or(0.0));
                candidates.insert(h.id, (h.author, h.practice_id));
            }
        }
        let mut goals: Vec<String> = need.sdg.iter().map(|t| goal_of(t).to_string()).collect();
        goals.sort();
        goals.dedup();
        for q in [
            Query {
                sdg: goals.clone(),
                limit: CANDIDATES,
                ..Query::default()
            },
            Query {
                sectors: need.sectors.clone(),
                limit: CANDIDATES,
                ..Query::default()
            },
        ] {
            if q.sdg.is_empty() && q.sectors.is_empty() {
                continue;
            }
            for h in self.query(&q)?.hits {
                candidates.insert(h.id, (h.author, h.practice_id));
            }
        }
        let best_text = text_score.values().copied().fold(0.0f32, f32::max);
        let words = crate::index::query_words(text);
        let need_targets: BTreeSet<&str> = need.sdg.iter().map(String::as_str).collect();
        let need_sectors: BTreeSet<&str> = need.sectors.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        for (id, (owner, pid)) in candidates {
            let Some(rec) = self.get(&id)? else { continue };
            let Some(p) = rec.practice() else { continue };
            let mut score = 0.0;
            let mut reasons = Vec::new();
            if let Some(s) = text_score.get(&id).filter(|_| best_text > 0.0) {
                score += W_TEXT * f64::from(*s / best_text);
                let found = words_found(&words, p);
                if !found.is_empty() {
                    let quoted: Vec<String> = found.iter().map(|w| format!("'{w}'")).collect();
                    reasons.push(format!("text matches {}", quoted.join(", ")));
                }
            }
            // SDG: each of the need's targets held exactly counts 1, one
            // whose goal the practice shares counts half (a goal the need
            // names counts 1 when the practice has a target under it).
            let mut shared = Vec::new();
            let mut goals_shared = BTreeSet::new();
            let mut part = 0.0;
            for t in &need_targets {
                let in_goal = p.sdg_targets.iter().any(|x| goal_of(x) == goal_of(t));
                if !t.contains('.') && in_goal {
                    part += 1.0;
                    goals_shared.insert(goal_of(t));
                } else if p.sdg_targets.iter().any(|x| x == t) {
                    part += 1.0;
                    shared.push(*t);
                } else if in_goal {
                    part += 0.5;
                    goals_shared.insert(goal_of(t));
                }
            }
            if !need_targets.is_empty() {
                score += W_SDG * part / need_targets.len() as f64;
            }
            if !shared.is_empty() {
                reasons.push(format!("shares SDG {}", shared.join(", ")));
            } else if !goals_shared.is_empty() {
                let g: Vec<&str> = goals_shared.into_iter().collect();
                reasons.push(format!("same SDG goal {}", g.join(", ")));
            }
            let sectors: Vec<String> = p
                .sectors
                .iter()
                .map(|s| format!("{}:{}", s.vocabulary, s.code))
                .filter(|s| need_sectors.contains(s.as_str()))
                .collect();
            if !need_sectors.is_empty() && !sectors.is_empty() {
                score += W_SECTOR * sectors.len() as f64 / need_sectors.len() as f64;
                let named: Vec<String> = sectors
                    .iter()
                    .map(|s| {
                        let (voc, code) = s.split_once(':').unwrap_or(("", s));
                        let name = match voc {
                            "dac5" => codes::dac5_name(code),
                            _ => codes::cofog_name(code),
                        };
                        name.map_or(s.clone(), |n| format!("{s} ({n})"))
                    })
                    .collect();
                reasons.push(format!("same sector {}", named.join(", ")));
            }
            if need.gov_level.is_some() && need.gov_level == p.gov_level {
                score += W_LEVEL;
                reasons.push(format!(
                    "{} level",
                    need.gov_level.as_deref().unwrap_or_default()
                ));
            }
            // The reports themselves, not their views beside the origin.
            let adoptions =
                crate::graph::adoptions_of(self.store(), &self.publishers, &owner, &pid)?;
            let scaled: BTreeSet<&str> = adoptions
                .iter()
                .filter(|a| a.adoption.stage.as_deref() == Some("scaled"))
                .filter_map(|a| a.adoption.country.as_deref())
                .collect();
            let evidence = if p.metrics.is_empty() { 0.0 } else { W_TCV }
                + W_ADOPTION * adoptions.len() as f64
                + W_SCALED * scaled.len() as f64;
            score += evidence.min(W_EVIDENCE_MAX);
            if !p.metrics.is_empty() {
                reasons.push("reports time, cost or visit results".into());
            }
            if !scaled.is_empty() {
                reasons.push(format!(
                    "scaled in {} {}",
                    scaled.len(),
                    if scaled.len() == 1 {
                        "country"
                    } else {
                        "countries"
                    }
                ));
            } else if !adoptions.is_empty() {
                reasons.push(match adoptions.len() {
                    1 => "adopted once".to_string(),
                    n => format!("adopted {n} times"),
                });
            }
            if score <= 0.0 {
                continue;
            }
            out.push(Match {
                id,
                practice_id: pid,
                publisher: owner,
                title: p.title.clone(),
                countries: p
                    .countries
                    .iter()
                    .filter(|c| c.role == "originating")
                    .map(|c| c.iso3.clone())
                    .collect(),
                score: (score * 1000.0).round() / 1000.0,
                reasons,
            });
        }
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.practice_id.cmp(&b.practice_id))
        });
        out.truncate(limit.min(MAX_MATCHES));
        Ok(out)
    }

    /// The open needs of other publishers that `publisher`'s practices fit:
    /// for each, those of its practices among the need's best `top`
    /// matches.
    pub fn offers(&self, publisher: &AuthorKey, top: usize) -> Result<Vec<Offer>, Error> {
        let mut out = Vec::new();
        for s in self.seekings(MAX_OFFER_NEEDS)? {
            if s.publisher == *publisher {
                continue;
            }
            let matches: Vec<Match> = self
                .matches(&Need::of(&s.seeking), top)?
                .into_iter()
                .filter(|m| m.publisher == *publisher)
                .collect();
            if !matches.is_empty() {
                out.push(Offer {
                    seeking: s.id,
                    seeking_id: s.seeking.seeking_id.clone(),
                    country: s.seeking.country.clone(),
                    title: s.seeking.title.clone(),
                    matches,
                });
            }
        }
        Ok(out)
    }
}
