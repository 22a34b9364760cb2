//! `setu-bench match`: matchmaking quality on the judged set
//! (`bench/data/match_judgements.json`), beside a ranked any-word search of
//! the need's words as the baseline, in the same run on the same replica.
//!
//! - The replica: one in-memory replica of an open network (no charter). The
//!   38 sample practices (`node/data/sample/practices.jsonl`) are published
//!   by three keys, one per founding agency of `setu demo`, chosen as the demo
//!   chooses: by the practice's first `countries[].iso3`, in that agency's
//!   region ([`REGIONS`], copied from `node/src/cmd/demo.rs`). The 8 sample
//!   adoptions (`node/data/sample/adoptions.jsonl`) are published by the key
//!   of their `by` member (stripped from the body), with `practice` rewritten
//!   from `{"member", "practice_id"}` to `{"key": <hex of that member's
//!   key>, "practice_id"}`. The index is flushed before any need is ranked.
//! - Each judged need is ranked twice, best first:
//!   - **matchmaking**: `Replica::matches` on the need as a seeking record
//!     states it (text, SDG targets, sectors, government level);
//!   - **baseline**: `Replica::query` with the need's text only (ranked
//!     any-word mode, the default), no filters.
//! - Precision at 5: the judged-relevant practices among the top 5, divided
//!   by 5 (a need with k < 5 relevant practices can reach at most k/5, the
//!   same bound for both; the "P@5 bound" column is that bound's mean).
//!   Reciprocal rank: 1 / the rank of the first relevant practice within the
//!   top [`RR_CUTOFF`], else 0. Both are averaged over needs.
//!
//! Deterministic: fixed keys and timestamps, no randomness; it runs in
//! seconds in a debug build.

use std::collections::BTreeSet;

use serde_json::Value as Json;
use setu_core::keys::SecretKey;
use setu_store::backend::Backend;
use setu_store::matching::Need;
use setu_store::query::Query;
use setu_store::replica::{Config, Replica};

use crate::table;

/// The sample practices (unsigned bodies, one a line).
const PRACTICES: &str = include_str!("../../node/data/sample/practices.jsonl");
/// The sample adoptions (unsigned bodies with a `by` member id).
const ADOPTIONS: &str = include_str!("../../node/data/sample/adoptions.jsonl");
/// The judged set.
const JUDGEMENTS: &str = include_str!("../data/match_judgements.json");

/// Results counted by precision.
pub const P_AT: usize = 5;
/// Results in which the first relevant one is looked for (reciprocal rank).
pub const RR_CUTOFF: usize = 10;
/// 2026-01-01T00:00:00Z, in ms: every record's timestamp (plus its line).
const NOW: u64 = 1_767_225_600_000;

/// The demo's three founding members, each with the originating countries
/// of the practices it publishes (as in `node/src/cmd/demo.rs`) and the seed
/// of the key it publishes with here.
pub const REGIONS: [(&str, &[&str], u8); 3] = [
    (
        "bgd-a2i",
        &[
            "BGD", "IDN", "IND", "PHL", "LKA", "NPL", "VNM", "PAK", "BTN",
        ],
        1,
    ),
    (
        "ken-huduma",
        &[
            "RWA", "KEN", "TZA", "GHA", "NGA", "ETH", "SEN", "MAR", "TUN", "ZAF",
        ],
        2,
    ),
    ("bra-govbr", &["BRA", "MEX", "COL", "PER", "CHL", "URY"], 3),
];

/// The two rankers, in table order.
pub const METHODS: [&str; 2] = ["matchmaking", "baseline"];

/// One judged need and what each ranker returned for it.
#[derive(Debug, Clone)]
pub struct NeedResult {
    /// Its id (`N01`).
    pub id: String,
    /// Its language.
    pub lang: String,
    /// The judged-relevant practice ids, best first.
    pub relevant: Vec<String>,
    /// The practice ids each ranker returned, best first, at most
    /// [`RR_CUTOFF`]: matchmaking, then the baseline (as in [`METHODS`]).
    pub ranked: [Vec<String>; 2],
}

impl NeedResult {
    /// Precision at [`P_AT`] of ranker `m`.
    pub fn precision(&self, m: usize) -> f64 {
        precision_at(&self.ranked[m], &self.relevant, P_AT)
    }

    /// Reciprocal rank of ranker `m` within [`RR_CUTOFF`].
    pub fn reciprocal_rank(&self, m: usize) -> f64 {
        reciprocal_rank(&self.ranked[m], &self.relevant, RR_CUTOFF)
    }

    /// The best precision at [`P_AT`] any ranker can reach.
    pub fn precision_bound(&self) -> f64 {
        self.relevant.len().min(P_AT) as f64 / P_AT as f64
    }
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The practice ids loaded.
    pub practices: BTreeSet<String>,
    /// The languages any practice has a text in.
    pub practice_langs: BTreeSet<String>,
    /// Adoptions loaded.
    pub adoptions: usize,
    /// Practices each of [`REGIONS`] published.
    pub per_publisher: [usize; 3],
    /// Each judged need, in the file's order.
    pub needs: Vec<NeedResult>,
}

/// Relevant results among the first `k`, divided by `k`.
pub fn precision_at(ranked: &[String], relevant: &[String], k: usize) -> f64 {
    let hits = ranked
        .iter()
        .take(k)
        .filter(|id| relevant.contains(id))
        .count();
    hits as f64 / k as f64
}

/// 1 / the rank of the first relevant result among the first `cutoff`; 0
/// if none.
pub fn reciprocal_rank(ranked: &[String], relevant: &[String], cutoff: usize) -> f64 {
    ranked
        .iter()
        .take(cutoff)
        .position(|id| relevant.contains(id))
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The languages of every multilingual text (`{"original", "text"}`) in a
/// body.
fn text_langs(v: &Json, out: &mut BTreeSet<String>) {
    match v {
        Json::Object(o) => {
            if let (Some(_), Some(Json::Object(t))) = (o.get("original"), o.get("text")) {
                out.extend(t.keys().cloned());
            }
            for x in o.values() {
                text_langs(x, out);
            }
        }
        Json::Array(a) => a.iter().for_each(|x| text_langs(x, out)),
        _ => {}
    }
}

fn lines(s: &str) -> impl Iterator<Item = Json> + '_ {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("sample line is JSON"))
}

/// Loads the sample practices and adoptions into an in-memory replica.
fn load() -> (
    Replica<impl Backend>,
    BTreeSet<String>,
    BTreeSet<String>,
    usize,
    [usize; 3],
) {
    let keys: Vec<SecretKey> = REGIONS
        .iter()
        .map(|(_, _, seed)| SecretKey::from_seed(&[*seed; 32]))
        .collect();
    let member = |id: &str| {
        REGIONS
            .iter()
            .position(|(m, _, _)| *m == id)
            .unwrap_or_else(|| panic!("no demo member {id:?}"))
    };
    let mut r = Replica::in_memory(Config::default()).expect("in-memory replica");
    let (mut practices, mut langs, mut per) = (BTreeSet::new(), BTreeSet::new(), [0usize; 3]);
    let mut ts = NOW;
    for body in lines(PRACTICES) {
        let pid = body["practice_id"]
            .as_str()
            .expect("practice_id")
            .to_string();
        let origin = body["countries"][0]["iso3"].as_str().unwrap_or_default();
        let i = REGIONS
            .iter()
            .position(|(_, region, _)| region.contains(&origin))
            .unwrap_or_else(|| panic!("{pid}: first country {origin:?} is in no region"));
        text_langs(&body, &mut langs);
        r.publish(&keys[i], body, ts)
            .unwrap_or_else(|e| panic!("publish {pid}: {e:?}"));
        per[i] += 1;
        practices.insert(pid);
        ts += 1;
    }
    let mut adoptions = 0;
    for mut body in lines(ADOPTIONS) {
        let aid = body["adoption_id"].as_str().unwrap_or_default().to_string();
        let obj = body.as_object_mut().expect("adoption is an object");
        let by = obj
            .remove("by")
            .and_then(|b| b.as_str().map(str::to_string))
            .expect("adoption has `by`");
        let practice = obj.get_mut("practice").expect("adoption names a practice");
        let publisher = member(practice["member"].as_str().expect("practice.member"));
        let pid = practice["practice_id"].clone();
        *practice = serde_json::json!({
            "key": keys[publisher].author().to_hex(),
            "practice_id": pid,
        });
        r.publish_kind(&keys[member(&by)], "adoption", body, ts)
            .unwrap_or_else(|e| panic!("publish {aid}: {e:?}"));
        adoptions += 1;
        ts += 1;
    }
    r.flush_index().expect("flush the index");
    (r, practices, langs, adoptions, per)
}

/// Loads the samples and ranks every judged need by both rankers.
pub fn evaluate() -> Evaluation {
    let (r, practices, practice_langs, adoptions, per_publisher) = load();
    let judged: Json = serde_json::from_str(JUDGEMENTS).expect("judged set is JSON");
    let mut needs = Vec::new();
    for n in judged["needs"].as_array().expect("needs") {
        let text = n["text"].as_str().expect("need text").to_string();
        let need = Need {
            text: text.clone(),
            sdg: strings(&n["sdg_targets"]),
            sectors: strings(&n["sectors"]),
            gov_level: n["gov_level"].as_str().map(str::to_string),
        };
        let matched: Vec<String> = r
            .matches(&need, RR_CUTOFF)
            .expect("matches")
            .into_iter()
            .map(|m| m.practice_id)
            .collect();
        let searched: Vec<String> = r
            .query(&Query {
                text: Some(text),
                limit: RR_CUTOFF,
                ..Query::default()
            })
            .expect("query")
            .hits
            .into_iter()
            .map(|h| h.practice_id)
            .collect();
        needs.push(NeedResult {
            id: n["id"].as_str().expect("need id").to_string(),
            lang: n["lang"].as_str().expect("need lang").to_string(),
            relevant: strings(&n["relevant"]),
            ranked: [matched, searched],
        });
    }
    Evaluation {
        practices,
        practice_langs,
        adoptions,
        per_publisher,
        needs,
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs {
        s += x;
        n += 1;
    }
    if n == 0 { 0.0 } else { s / n as f64 }
}

fn row(label: String, needs: &[&NeedResult]) -> Vec<String> {
    let p = |m: usize| mean(needs.iter().map(|n| n.precision(m)));
    let rr = |m: usize| mean(needs.iter().map(|n| n.reciprocal_rank(m)));
    let missed = |m: usize| needs.iter().filter(|n| n.reciprocal_rank(m) == 0.0).count();
    let found = |m: usize| {
        needs
            .iter()
            .map(|n| (n.precision(m) * P_AT as f64).round() as usize)
            .sum::<usize>()
    };
    let relevant: usize = needs.iter().map(|n| n.relevant.len().min(P_AT)).sum();
    vec![
        label,
        needs.len().to_string(),
        format!("{:.3}", p(0)),
        format!("{:.3}", p(1)),
        format!("{:.3}", mean(needs.iter().map(|n| n.precision_bound()))),
        format!("{:.3}", rr(0)),
        format!("{:.3}", rr(1)),
        format!("{} / {} / {relevant}", found(0), found(1)),
        format!("{} / {}", missed(0), missed(1)),
    ]
}

fn marked(ranked: &[String], relevant: &[String]) -> String {
    let top: Vec<String> = ranked
        .iter()
        .take(P_AT)
        .map(|id| {
            if relevant.contains(id) {
                format!("*{id}")
            } else {
                id.clone()
            }
        })
        .collect();
    if top.is_empty() {
        "(nothing)".into()
    } else {
        top.join(" ")
    }
}

pub fn run(verbose: bool) {
    let e = evaluate();
    println!(
        "setu-bench match: {} sample practices ({} by {}, {} by {}, {} by {}), {} sample adoptions, {} judged needs",
        e.practices.len(),
        e.per_publisher[0],
        REGIONS[0].0,
        e.per_publisher[1],
        REGIONS[1].0,
        e.per_publisher[2],
        REGIONS[2].0,
        e.adoptions,
        e.needs.len()
    );
    println!(
        "P@{P_AT} over the top {P_AT}; reciprocal rank of the first relevant within the top {RR_CUTOFF} (0 if none)"
    );
    let mut langs: Vec<&str> = Vec::new();
    for n in &e.needs {
        if !langs.contains(&n.lang.as_str()) {
            langs.push(&n.lang);
        }
    }
    let mut rows = Vec::new();
    let all: Vec<&NeedResult> = e.needs.iter().collect();
    rows.push(row("**all**".into(), &all));
    for l in &langs {
        let these: Vec<&NeedResult> = e.needs.iter().filter(|n| n.lang == *l).collect();
        rows.push(row(format!("`{l}`"), &these));
    }
    let orphan_langs: Vec<&str> = langs
        .iter()
        .copied()
        .filter(|l| !e.practice_langs.contains(*l))
        .collect();
    let orphans: Vec<&NeedResult> = e
        .needs
        .iter()
        .filter(|n| !e.practice_langs.contains(&n.lang))
        .collect();
    rows.push(row(
        format!(
            "no practice in the need's language ({})",
            orphan_langs.join(", ")
        ),
        &orphans,
    ));
    table::print(
        "Matchmaking vs ranked any-word search of the need's words",
        &[
            "needs",
            "n",
            "P@5 matchmaking",
            "P@5 baseline",
            "P@5 bound",
            "MRR matchmaking",
            "MRR baseline",
            "relevant in top 5 (matchmaking / baseline / most possible)",
            "no relevant in top 10 (matchmaking / baseline)",
        ],
        &rows,
    );
    let p = |m: usize| mean(e.needs.iter().map(|n| n.precision(m)));
    let rr = |m: usize| mean(e.needs.iter().map(|n| n.reciprocal_rank(m)));
    let met = p(0) > p(1) && rr(0) > rr(1);
    println!(
        "\nGoal: matchmaking beats the baseline on both P@5 and MRR over all needs: {} (P@5 {:.3} vs {:.3}, MRR {:.3} vs {:.3})",
        if met { "met" } else { "missed" },
        p(0),
        p(1),
        rr(0),
        rr(1)
    );
    if verbose {
        println!("\nPer need (top 5, * = judged relevant):\n");
        for n in &e.needs {
            println!("{} {} relevant {}", n.id, n.lang, n.relevant.join(" "));
            for (m, name) in METHODS.iter().enumerate() {
                println!(
                    "    {name:<11} P@5 {:.2} RR {:.2}  {}",
                    n.precision(m),
                    n.reciprocal_rank(m),
                    marked(&n.ranked[m], &n.relevant)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_judged_set_runs_on_the_sample_and_its_metrics_are_in_range() {
        let e = evaluate();
        assert_eq!(e.practices.len(), 38, "sample practices loaded");
        assert_eq!(e.adoptions, 8, "sample adoptions loaded");
        assert_eq!(e.needs.len(), 25, "judged needs");
        for n in &e.needs {
            assert!(!n.relevant.is_empty(), "{}: no relevant practice", n.id);
            for id in &n.relevant {
                assert!(
                    e.practices.contains(id),
                    "{}: relevant {id} is not a loaded practice",
                    n.id
                );
            }
            for (m, ranked) in n.ranked.iter().enumerate() {
                assert!(ranked.len() <= RR_CUTOFF, "{} {}", n.id, METHODS[m]);
                let unique: BTreeSet<&String> = ranked.iter().collect();
                assert_eq!(unique.len(), ranked.len(), "{} {}", n.id, METHODS[m]);
                for id in ranked {
                    assert!(e.practices.contains(id), "{}: {id} unknown", n.id);
                }
                for x in [n.precision(m), n.reciprocal_rank(m)] {
                    assert!((0.0..=1.0).contains(&x), "{} {}: {x}", n.id, METHODS[m]);
                }
                assert!(n.precision(m) <= n.precision_bound() + 1e-9);
            }
        }
    }

    #[test]
    fn metrics_count_what_they_say() {
        let ids = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let ranked = ids(&["a", "b", "c", "d", "e", "f"]);
        assert_eq!(precision_at(&ranked, &ids(&["b", "f"]), 5), 0.2);
        assert_eq!(reciprocal_rank(&ranked, &ids(&["c", "a"]), 10), 1.0);
        assert_eq!(reciprocal_rank(&ranked, &ids(&["f"]), 10), 1.0 / 6.0);
        assert_eq!(reciprocal_rank(&ranked, &ids(&["f"]), 5), 0.0);
        assert_eq!(reciprocal_rank(&[], &ids(&["f"]), 10), 0.0);
    }
}
