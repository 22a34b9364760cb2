//! Integration tests of the replica: the ingest rules of `spec/store.md`,
//! publishing and importing, search, and (on sled) durability and healing.
//!
//! Every test that the API allows runs twice, on the in-memory replica and
//! on a sled replica in a temporary directory: the `both!` macro turns a
//! generic `fn name<B: Backend>(mk: Mk<B>)` into `name::memory` and
//! `name::sled`. `mk()` makes a fresh, empty replica of that backend (some
//! tests need two, to compare arrival orders).

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::Path;

use serde_json::{Value as Json, json};
use setu_core::cbor::Value;
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::keys::SecretKey;
use setu_core::practice::{LangText, Practice};
use setu_core::record;
use setu_store::backend::Backend;
use setu_store::backend::memory::MemoryBackend;
use setu_store::backend::sled::SledBackend;
use setu_store::chain::Chain;
use setu_store::ingest::{Outcome, Refusal};
use setu_store::query::Query;
use setu_store::replica::{Config, ImportProgress, PublishError, Replica, Row};
use setu_store::store::{Meta, SEQ_PER_MS};

/// 2026-01-01T00:00:00Z, in ms.
const NOW: u64 = 1_767_225_600_000;
const MINUTE: u64 = 60_000;

/// Makes a fresh, empty replica.
type Mk<'a, B> = &'a mut dyn FnMut() -> Replica<B>;

/// Runs each generic test body on both backends.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn memory() {
                super::$name(&mut || crate::memory());
            }

            #[test]
            fn sled() {
                let mut dirs = Vec::new();
                super::$name(&mut || {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let r = crate::open_disk(dir.path());
                    dirs.push(dir);
                    r
                });
            }
        }
    )*};
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn memory() -> Replica<MemoryBackend> {
    Replica::in_memory(Config::default()).expect("in-memory replica")
}

/// `setu init` then open: an empty sled replica in `dir`.
fn open_disk(dir: &Path) -> Replica<SledBackend> {
    Replica::create(dir).expect("create the data directory");
    Replica::open(dir, Config::default()).expect("open the new replica")
}

fn reopen(dir: &Path) -> Replica<SledBackend> {
    Replica::open(dir, Config::default()).expect("reopen the replica")
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

/// A small valid active body, English only, with words no search test uses.
fn base(pid: &str) -> Json {
    json!({
        "practice_id": pid,
        "revision": 1,
        "state": "active",
        "title": {"original": "en", "text": {"en": "Plain title"}},
        "summary": {"original": "en", "text": {"en": "A short summary."}},
        "challenge": {"original": "en", "text": {"en": "The problem."}},
        "solution": {"original": "en", "text": {"en": "The answer."}},
        "countries": [{"iso3": "BGD", "role": "originating"}],
        "sdg_targets": ["16.6"],
        "status": 2,
        "period": {"start": "2020"},
    })
}

/// `body` with the top-level keys of `patch` replaced.
fn with(mut body: Json, patch: Json) -> Json {
    for (k, v) in patch.as_object().expect("patch is an object") {
        body[k] = v.clone();
    }
    body
}

fn practice(body: Json) -> Practice {
    serde_json::from_value(body).expect("a practice body")
}

/// Signs a practice: its id and signed bytes.
fn sign(key: &SecretKey, seq: u64, ts: u64, p: &Practice) -> (RecordId, Vec<u8>) {
    let rec = record::sign_practice(key, seq, ts, p).expect("sign the practice");
    (rec.id(), rec.into_bytes())
}

/// The next revision of `p`, on top of `prev`, with a new English title.
fn next(p: &Practice, prev: RecordId, title: &str) -> Practice {
    let mut n = p.clone();
    n.revision += 1;
    n.supersedes = Some(prev);
    n.title = Some(LangText::new("en", title));
    n
}

fn retitled(p: &Practice, title: &str) -> Practice {
    let mut n = p.clone();
    n.title = Some(LangText::new("en", title));
    n
}

/// A record of a kind this version does not know: stored, never indexed.
fn note(key: &SecretKey, seq: u64, ts: u64) -> Vec<u8> {
    record::sign(key, "note", seq, ts, Value::map([("n", Value::Uint(seq))]))
        .expect("sign a note")
        .into_bytes()
}

fn ingest<B: Backend>(r: &mut Replica<B>, records: Vec<Vec<u8>>, now: u64) -> Vec<Outcome> {
    let n = records.len();
    let out = r.ingest(records, now).expect("ingest").outcomes;
    assert_eq!(out.len(), n, "one outcome per record");
    out
}

fn ingest1<B: Backend>(r: &mut Replica<B>, bytes: Vec<u8>, now: u64) -> Outcome {
    ingest(r, vec![bytes], now).remove(0)
}

fn stored(id: RecordId) -> Outcome {
    Outcome::Stored {
        id,
        equivocation: false,
    }
}

/// The refusal code of an outcome, or panics.
fn code(o: &Outcome) -> &'static str {
    match o {
        Outcome::Refused { why, .. } => why.code(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn meta<B: Backend>(r: &Replica<B>) -> Meta {
    r.store().meta().expect("meta")
}

/// The counters of a store nothing was written to: opening a store on
/// disk marks it stamped ([`Meta::stamped`]), nothing else.
fn empty_meta<B: Backend>(r: &Replica<B>) -> Meta {
    Meta {
        stamped: meta(r).stamped,
        ..Meta::default()
    }
}

/// Everything the store holds that tests can see.
#[derive(Debug, PartialEq)]
struct Snapshot {
    meta: Meta,
    records: Vec<(u64, RecordId, Vec<u8>)>,
    chains: Vec<(AuthorKey, String, Chain)>,
}

fn snapshot<B: Backend>(r: &Replica<B>) -> Snapshot {
    let store = r.store();
    let records = store
        .ts_range(None, usize::MAX)
        .expect("ts range")
        .into_iter()
        .map(|(ts, id)| (ts, id, store.get(&id).expect("get").expect("listed")))
        .collect();
    let mut chains = Vec::new();
    store
        .for_each_chain(&mut |a, p, c| {
            chains.push((a, p.to_string(), c));
            Ok(true)
        })
        .expect("chains");
    Snapshot {
        meta: meta(r),
        records,
        chains,
    }
}

/// A query for everything, on one page.
fn all() -> Query {
    Query {
        limit: 1_000,
        ..Query::default()
    }
}

/// The practice ids a query finds (all on one page).
fn found<B: Backend>(r: &Replica<B>, q: &Query) -> BTreeSet<String> {
    assert_eq!(q.problems(), Vec::<String>::new(), "a valid query");
    let hits = r.query(q).expect("query");
    assert_eq!(hits.total, hits.hits.len(), "one page holds every hit");
    hits.hits.into_iter().map(|h| h.practice_id).collect()
}

/// Practices holding every word of `text` (`--match all`).
fn search<B: Backend>(r: &Replica<B>, text: &str) -> BTreeSet<String> {
    found(
        r,
        &Query {
            text: Some(text.to_string()),
            text_match: setu_store::query::TextMatch::All,
            ..all()
        },
    )
}

/// Practices holding any word of `text` that matters (the default).
fn search_any<B: Backend>(r: &Replica<B>, text: &str) -> BTreeSet<String> {
    found(
        r,
        &Query {
            text: Some(text.to_string()),
            ..all()
        },
    )
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn pid_of(body: &Json) -> String {
    body["practice_id"]
        .as_str()
        .expect("practice_id")
        .to_string()
}

fn import<B: Backend>(
    r: &mut Replica<B>,
    input: &[u8],
    key: &SecretKey,
    dry_run: bool,
) -> (ImportProgress, Vec<Row>) {
    let mut rows = Vec::new();
    let mut reader = Cursor::new(input.to_vec());
    let prog = r
        .import(&mut reader, key, NOW, dry_run, &mut |_, rs| {
            rows.extend_from_slice(rs)
        })
        .expect("import");
    rows.sort_by_key(|row| match row {
        Row::Imported { line, .. } | Row::Skipped { line, .. } | Row::Rejected { line, .. } => {
            *line
        }
    });
    (prog, rows)
}

fn jsonl(bodies: impl IntoIterator<Item = Json>) -> Vec<u8> {
    let mut out = Vec::new();
    for b in bodies {
        out.extend_from_slice(b.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

// ---------------------------------------------------------------------------
// 1. Ingest rules (spec/store.md §3–§5)
// ---------------------------------------------------------------------------

mod ingest_rules {
    use super::*;
    use setu_store::ingest::{self, MAX_BATCH};

    both!(
        duplicate_changes_nothing,
        future_refused_then_accepted,
        out_of_order_revision_is_held_then_linked,
        supersedes_of_another_practice_is_chain,
        supersedes_with_wrong_revision_is_chain,
        equivocation_same_seq_flags_author,
        equivocation_same_revision_lowest_id_wins,
        withdrawal_hides_and_is_final,
        invalid_bytes_refused_good_ones_kept,
        batch_limit_refused_directly_split_by_replica,
    );

    fn duplicate_changes_nothing<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let (id, bytes) = sign(&k, 1, NOW, &practice(base("DUP-1")));
        assert_eq!(ingest1(&mut r, bytes.clone(), NOW), stored(id));
        let before = snapshot(&r);
        assert_eq!(before.meta.records, 1);

        let again = ingest(&mut r, vec![bytes.clone(), bytes.clone()], NOW + 1);
        assert_eq!(again, vec![Outcome::Duplicate(id), Outcome::Duplicate(id)]);
        assert_eq!(snapshot(&r), before, "a duplicate writes nothing");

        // Twice in one batch: stored once, then a duplicate.
        let (id2, b2) = sign(&k, 2, NOW, &practice(base("DUP-2")));
        let out = ingest(&mut r, vec![b2.clone(), b2], NOW);
        assert_eq!(out, vec![stored(id2), Outcome::Duplicate(id2)]);
        assert_eq!(meta(&r).records, 2);
        assert_eq!(r.flags(&k.author()).expect("flags").equivocations, 0);
    }

    fn future_refused_then_accepted<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let skew = ingest::DEFAULT_MAX_FUTURE_SKEW_MS;
        assert_eq!(skew, 10 * MINUTE);

        let (id, bytes) = sign(&k, 1, NOW + skew + 1, &practice(base("FUT-1")));
        let out = ingest1(&mut r, bytes.clone(), NOW);
        assert_eq!(
            out,
            Outcome::Refused {
                id: Some(id),
                why: Refusal::Future {
                    ts: NOW + skew + 1,
                    now: NOW,
                    skew_ms: skew,
                },
            }
        );
        assert_eq!(code(&out), "future");
        assert_eq!(r.store().get(&id).expect("get"), None);
        assert_eq!(meta(&r), empty_meta(&r), "a refusal writes nothing");
        assert!(
            r.practice(&k.author(), "FUT-1")
                .expect("practice")
                .is_none()
        );

        // Exactly at the limit is fine.
        let (edge, edge_bytes) = sign(&k, 2, NOW + skew, &practice(base("FUT-2")));
        assert_eq!(ingest1(&mut r, edge_bytes, NOW), stored(edge));

        // Once the clock catches up, the same bytes are accepted.
        assert_eq!(ingest1(&mut r, bytes, NOW + 1), stored(id));
        assert!(r.store().get(&id).expect("get").is_some());
        assert_eq!(meta(&r).records, 2);
    }

    fn out_of_order_revision_is_held_then_linked<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let a = k.author();
        let p1 = practice(base("OOO-1"));
        let (id1, b1) = sign(&k, 1, NOW, &p1);
        let p2 = next(&p1, id1, "Second revision");
        let (id2, b2) = sign(&k, 2, NOW + 1, &p2);

        // Revision 2 first: stored, held, nothing current, nothing to show.
        assert_eq!(ingest1(&mut r, b2, NOW), stored(id2));
        let (chain, state) = r.practice(&a, "OOO-1").expect("practice").expect("held");
        assert_eq!(chain.entries.len(), 1);
        assert_eq!(state.current, None);
        assert!(state.linked.is_empty());
        assert_eq!(state.held, vec![id2]);
        r.flush_index().expect("flush");
        assert!(!found(&r, &all()).contains("OOO-1"));

        // Revision 1 fills the gap: revision 2 becomes current.
        assert_eq!(ingest1(&mut r, b1, NOW), stored(id1));
        let (_, state) = r.practice(&a, "OOO-1").expect("practice").expect("chain");
        let current = state.current.expect("a current revision");
        assert_eq!((current.id, current.revision), (id2, 2));
        assert_eq!(
            state.linked.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![id1, id2]
        );
        assert!(state.held.is_empty());
        assert!(!state.withdrawn && !state.equivocated);

        r.flush_index().expect("flush");
        let hits = r
            .query(&Query {
                publisher: Some(a),
                ..all()
            })
            .expect("query");
        assert_eq!(hits.total, 1);
        let hit = &hits.hits[0];
        assert_eq!((hit.id, hit.revision, hit.current), (id2, 2, true));
        assert_eq!(hit.ts, NOW + 1);
        let title = hit.title.as_ref().expect("title");
        assert_eq!(title.text["en"], "Second revision");

        // Both revisions in one batch, in the wrong order, link too.
        let q1 = practice(base("OOO-2"));
        let (j1, c1) = sign(&k, 3, NOW, &q1);
        let (j2, c2) = sign(&k, 4, NOW, &next(&q1, j1, "Again"));
        assert_eq!(
            ingest(&mut r, vec![c2, c1], NOW),
            vec![stored(j2), stored(j1)]
        );
        let (_, state) = r.practice(&a, "OOO-2").expect("practice").expect("chain");
        assert_eq!(state.current.map(|e| e.id), Some(j2));
    }

    fn supersedes_of_another_practice_is_chain<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let (ka, kb) = (key(1), key(2));
        let pa = practice(base("A-1"));
        let (ida, ba) = sign(&ka, 1, NOW, &pa);
        assert_eq!(ingest1(&mut r, ba, NOW), stored(ida));
        let before = snapshot(&r);

        // Another author, another practice id, pointing at A's record.
        let mut pb = practice(base("B-1"));
        pb.revision = 2;
        pb.supersedes = Some(ida);
        let (idb, bb) = sign(&kb, 1, NOW, &pb);
        let out = ingest1(&mut r, bb, NOW);
        assert_eq!(code(&out), "chain");
        assert!(
            matches!(out, Outcome::Refused { id: Some(x), why: Refusal::Chain(_) } if x == idb)
        );

        // Another author, the SAME practice id: still another practice.
        let (idc, bc) = sign(&kb, 1, NOW, &next(&pa, ida, "Hijack"));
        let out = ingest1(&mut r, bc, NOW);
        assert_eq!(code(&out), "chain", "{out:?}");

        // The same author, another of its practices.
        let mut pd = practice(base("A-2"));
        pd.revision = 2;
        pd.supersedes = Some(ida);
        let (idd, bd) = sign(&ka, 2, NOW, &pd);
        assert_eq!(code(&ingest1(&mut r, bd, NOW)), "chain");

        assert_eq!(snapshot(&r), before, "nothing stored");
        for id in [idb, idc, idd] {
            assert_eq!(r.store().get(&id).expect("get"), None);
        }
        assert!(r.practice(&kb.author(), "B-1").expect("p").is_none());
        assert!(r.practice(&kb.author(), "A-1").expect("p").is_none());
        assert!(r.practice(&ka.author(), "A-2").expect("p").is_none());

        // The target earlier in the same batch counts as stored.
        let pe = practice(base("A-3"));
        let (ide, be) = sign(&ka, 3, NOW, &pe);
        let mut pf = practice(base("B-2"));
        pf.revision = 2;
        pf.supersedes = Some(ide);
        let (_, bf) = sign(&kb, 2, NOW, &pf);
        let out = ingest(&mut r, vec![be, bf], NOW);
        assert_eq!(out[0], stored(ide));
        assert_eq!(code(&out[1]), "chain");
        assert_eq!(meta(&r).records, 2);
    }

    fn supersedes_with_wrong_revision_is_chain<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let p1 = practice(base("REV-1"));
        let (id1, b1) = sign(&k, 1, NOW, &p1);
        let p2 = next(&p1, id1, "Two");
        let (id2, b2) = sign(&k, 2, NOW, &p2);
        assert_eq!(
            ingest(&mut r, vec![b1, b2], NOW),
            vec![stored(id1), stored(id2)]
        );
        let before = snapshot(&r);

        // Revision 4 on top of revision 2.
        let mut skip = next(&p2, id2, "Four");
        skip.revision = 4;
        let (_, bskip) = sign(&k, 3, NOW, &skip);
        let out = ingest1(&mut r, bskip, NOW);
        assert_eq!(code(&out), "chain");
        let msg = match &out {
            Outcome::Refused { why, .. } => why.to_string(),
            _ => unreachable!(),
        };
        assert!(msg.contains("next revision is 3"), "{msg}");
        assert!(msg.starts_with("body.supersedes"), "{msg}");

        // Revision 2 again, but on top of revision 2.
        let mut same = next(&p2, id2, "Two again");
        same.revision = 2;
        let (_, bsame) = sign(&k, 4, NOW, &same);
        assert_eq!(code(&ingest1(&mut r, bsame, NOW)), "chain");

        // Revision 3 on top of revision 1.
        let mut back = next(&p1, id1, "Three");
        back.revision = 3;
        let (_, bback) = sign(&k, 5, NOW, &back);
        assert_eq!(code(&ingest1(&mut r, bback, NOW)), "chain");

        assert_eq!(snapshot(&r), before, "nothing stored");
    }

    fn equivocation_same_seq_flags_author<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let (id1, b1) = sign(&k, 1, NOW, &practice(base("SEQ-1")));
        let (id2, b2) = sign(&k, 1, NOW, &practice(base("SEQ-2")));
        assert_eq!(ingest1(&mut r, b1, NOW), stored(id1));
        assert_eq!(r.flags(&k.author()).expect("flags").equivocations, 0);
        assert_eq!(
            ingest1(&mut r, b2, NOW),
            Outcome::Stored {
                id: id2,
                equivocation: true
            }
        );
        assert_eq!(r.store().ids_at_seq(&k.author(), 1).expect("seq").len(), 2);
        assert!(r.store().get(&id1).expect("get").is_some());
        assert!(r.store().get(&id2).expect("get").is_some());
        assert_eq!(r.flags(&k.author()).expect("flags").equivocations, 1);
        assert_eq!(r.status().expect("status").flagged_authors, 1);
        // Both practices are current: a seq clash does not hide either.
        r.flush_index().expect("flush");
        assert_eq!(found(&r, &all()), set(&["SEQ-1", "SEQ-2"]));

        // Within one batch, for another author.
        let k2 = key(2);
        let (x1, c1) = sign(&k2, 7, NOW, &practice(base("SEQ-3")));
        let (x2, c2) = sign(&k2, 7, NOW, &practice(base("SEQ-4")));
        let out = ingest(&mut r, vec![c1, c2], NOW);
        assert_eq!(
            out,
            vec![
                stored(x1),
                Outcome::Stored {
                    id: x2,
                    equivocation: true
                }
            ]
        );
        assert!(r.flags(&k2.author()).expect("flags").equivocations >= 1);
        assert_eq!(r.status().expect("status").flagged_authors, 2);
        assert_eq!(r.flags(&key(3).author()).expect("flags").equivocations, 0);
    }

    fn equivocation_same_revision_lowest_id_wins<B: Backend>(mk: Mk<B>) {
        let k = key(1);
        let a = k.author();
        let pa = practice(base("EQV-1"));
        let pb = retitled(&pa, "A different first revision");
        let (ida, ba) = sign(&k, 1, NOW, &pa);
        let (idb, bb) = sign(&k, 2, NOW, &pb);
        assert_ne!(ida, idb);
        let (winner, loser) = if ida < idb { (ida, idb) } else { (idb, ida) };
        // A revision 2 on top of each candidate: only the winner's links.
        let (on_winner, bw) = sign(&k, 3, NOW, &next(&pa, winner, "On the winner"));
        let (on_loser, bl) = sign(&k, 4, NOW, &next(&pa, loser, "On the loser"));

        let mut states = Vec::new();
        for order in [
            vec![ba.clone(), bb.clone(), bw.clone(), bl.clone()],
            vec![bl.clone(), bb.clone(), bw.clone(), ba.clone()],
        ] {
            let mut r = mk();
            let mut equivocations = 0;
            for bytes in order {
                match ingest1(&mut r, bytes, NOW) {
                    Outcome::Stored { equivocation, .. } => {
                        equivocations += u64::from(equivocation)
                    }
                    other => panic!("not stored: {other:?}"),
                }
            }
            assert_eq!(
                meta(&r).records,
                4,
                "both sides of the equivocation are kept"
            );
            // Revision 1 twice, revision 2 twice: each second one is flagged.
            assert_eq!(equivocations, 2);
            let flags = r.flags(&a).expect("flags");
            assert!(flags.equivocations >= 1);
            assert_eq!(flags.practices, vec!["EQV-1".to_string()]);

            let (_, state) = r.practice(&a, "EQV-1").expect("p").expect("chain");
            assert!(state.equivocated);
            assert_eq!(
                state.linked.iter().map(|e| e.id).collect::<Vec<_>>(),
                vec![winner, on_winner]
            );
            assert_eq!(state.current.as_ref().map(|e| e.id), Some(on_winner));
            let held: BTreeSet<RecordId> = state.held.iter().copied().collect();
            assert_eq!(held, [loser, on_loser].into_iter().collect());

            r.flush_index().expect("flush");
            let hits = r.query(&all()).expect("query");
            assert_eq!(hits.total, 1);
            assert_eq!(hits.hits[0].id, on_winner);
            let history = r
                .query(&Query {
                    history: true,
                    ..all()
                })
                .expect("query");
            let ids: BTreeSet<RecordId> = history.hits.iter().map(|h| h.id).collect();
            assert_eq!(ids, [winner, on_winner].into_iter().collect());
            states.push(state);
        }
        assert_eq!(states[0], states[1], "arrival order does not matter");

        // Just the two revision-1 records: the lower id is current.
        let mut r = mk();
        ingest(&mut r, vec![bb, ba], NOW);
        let (_, state) = r.practice(&a, "EQV-1").expect("p").expect("chain");
        assert!(state.equivocated);
        assert_eq!(state.current.map(|e| e.id), Some(winner));
        assert_eq!(state.held, vec![loser]);
    }

    fn withdrawal_hides_and_is_final<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let a = k.author();
        let p1 = practice(base("WD-1"));
        let (id1, b1) = sign(&k, 1, NOW, &p1);
        let w = Practice::withdrawal("WD-1", 2, id1, "merged into WD-9");
        let (idw, bw) = sign(&k, 2, NOW, &w);
        let other = practice(base("WD-2"));
        let (ido, bo) = sign(&k, 3, NOW, &other);
        assert_eq!(
            ingest(&mut r, vec![b1, bo], NOW),
            vec![stored(id1), stored(ido)]
        );
        r.flush_index().expect("flush");
        assert_eq!(found(&r, &all()), set(&["WD-1", "WD-2"]));

        assert_eq!(ingest1(&mut r, bw, NOW), stored(idw));
        let (_, state) = r.practice(&a, "WD-1").expect("p").expect("chain");
        assert!(state.withdrawn);
        assert_eq!(state.linked.len(), 2);
        assert_eq!(state.current.map(|e| e.id), Some(id1));

        r.flush_index().expect("flush");
        assert_eq!(found(&r, &all()), set(&["WD-2"]), "hidden by default");
        let with = r
            .query(&Query {
                include_withdrawn: true,
                ..all()
            })
            .expect("query");
        assert_eq!(with.total, 2);
        let hit = with
            .hits
            .iter()
            .find(|h| h.practice_id == "WD-1")
            .expect("shown on request");
        assert!(hit.withdrawn && hit.current);
        assert_eq!(hit.id, id1, "the withdrawal record itself is never a hit");
        assert!(
            !with
                .hits
                .iter()
                .find(|h| h.practice_id == "WD-2")
                .expect("WD-2")
                .withdrawn
        );
        // A withdrawn practice is hidden from text search too.
        assert!(!search(&r, "Plain").contains("WD-1"));

        // A revision on top of the withdrawal is refused.
        let before = snapshot(&r);
        let mut p3 = next(&p1, idw, "Back from the dead");
        p3.revision = 3;
        let (id3, b3) = sign(&k, 4, NOW, &p3);
        let out = ingest1(&mut r, b3, NOW);
        assert_eq!(code(&out), "withdrawn");
        assert!(matches!(
            out,
            Outcome::Refused { id: Some(x), why: Refusal::Withdrawn { ref practice_id, revision: 2 } }
                if x == id3 && practice_id == "WD-1"
        ));
        // Any revision above the withdrawal, even one that would not link.
        let mut stray = p3.clone();
        stray.revision = 7;
        stray.supersedes = Some(RecordId([9; 32]));
        let (_, bs) = sign(&k, 5, NOW, &stray);
        assert_eq!(code(&ingest1(&mut r, bs, NOW)), "withdrawn");
        assert_eq!(snapshot(&r), before);

        // Through the API: withdraw once, then never again.
        let body = base("WD-API");
        let first = r.publish(&k, body.clone(), NOW).expect("publish");
        let wd = r.withdraw(&k, "WD-API", "obsolete", NOW).expect("withdraw");
        assert_eq!(wd.revision, 2);
        let rec = r.get(&wd.id).expect("get").expect("stored");
        let wp = rec.practice().expect("practice");
        assert!(wp.is_withdrawal());
        assert_eq!(wp.supersedes, Some(first.id));
        assert_eq!(wp.reason.as_deref(), Some("obsolete"));
        assert!(!found(&r, &all()).contains("WD-API"));

        let before = snapshot(&r);
        let again = r.withdraw(&k, "WD-API", "again", NOW);
        assert!(
            matches!(
                again,
                Err(PublishError::Refused(Refusal::Withdrawn {
                    revision: 2,
                    ..
                }))
            ),
            "{again:?}"
        );
        let republish = r.publish(&k, body, NOW);
        match republish {
            Err(PublishError::Invalid(ps)) => {
                assert_eq!(ps[0].path, "body.practice_id");
                assert!(ps[0].message.contains("withdrawal is final"), "{ps:?}");
            }
            other => panic!("republishing a withdrawn practice: {other:?}"),
        }
        assert!(matches!(
            r.withdraw(&k, "NO-SUCH", "x", NOW),
            Err(PublishError::Unknown(_))
        ));
        // Another author cannot withdraw it either: it is not theirs.
        assert!(matches!(
            r.withdraw(&key(2), "WD-2", "x", NOW),
            Err(PublishError::Unknown(_))
        ));
        assert_eq!(snapshot(&r), before, "failed withdrawals write nothing");
    }

    fn invalid_bytes_refused_good_ones_kept<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let (id1, b1) = sign(&k, 1, NOW, &practice(base("INV-1")));
        let (id2, b2) = sign(&k, 2, NOW, &practice(base("INV-2")));
        let (id3, mut tampered) = sign(&k, 3, NOW, &practice(base("INV-3")));
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01; // inside the signature
        let garbage = vec![0xff, 0x00, 0x13];
        let oversize = vec![0u8; record::MAX_RECORD_BYTES + 1];

        let out = ingest(
            &mut r,
            vec![b1, garbage, tampered, oversize, b2, Vec::new()],
            NOW,
        );
        assert_eq!(out[0], stored(id1));
        assert_eq!(out[4], stored(id2));
        for (i, want) in [(1, "cbor"), (2, "signature"), (3, "size"), (5, "cbor")] {
            assert!(
                matches!(
                    &out[i],
                    Outcome::Refused {
                        why: Refusal::Invalid(_),
                        ..
                    }
                ),
                "{i}: {:?}",
                out[i]
            );
            assert_eq!(code(&out[i]), want, "{i}: {:?}", out[i]);
        }
        // Bytes that are not a record have no id to report; a record whose
        // signature fails decoded far enough to have one.
        for i in [1, 3, 5] {
            assert!(matches!(out[i], Outcome::Refused { id: None, .. }));
        }
        assert!(matches!(out[2], Outcome::Refused { id: Some(_), .. }));
        match &out[2] {
            Outcome::Refused {
                why: Refusal::Invalid(e),
                ..
            } => assert_eq!(e.problems[0].path, "sig"),
            other => panic!("{other:?}"),
        }
        assert_eq!(meta(&r).records, 2);
        assert_eq!(r.store().get(&id3).expect("get"), None);
        assert!(r.practice(&k.author(), "INV-3").expect("p").is_none());

        // A batch of nothing but bad records writes nothing at all.
        let before = snapshot(&r);
        let out = ingest(&mut r, vec![vec![0x80], vec![0xa0]], NOW);
        assert!(out.iter().all(|o| matches!(o, Outcome::Refused { .. })));
        assert_eq!(snapshot(&r), before);
    }

    fn batch_limit_refused_directly_split_by_replica<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let records: Vec<Vec<u8>> = (1..=MAX_BATCH as u64 + 1)
            .map(|seq| note(&k, seq, NOW))
            .collect();

        let direct = ingest::ingest(r.store(), records.clone(), NOW, &ingest::Config::default())
            .expect("ingest");
        assert_eq!(direct.outcomes.len(), MAX_BATCH + 1);
        assert!(direct.outcomes.iter().all(|o| code(o) == "batch"));
        assert!(direct.outcomes.iter().all(|o| matches!(
            o,
            Outcome::Refused {
                why: Refusal::BatchTooLarge,
                ..
            }
        )));
        assert_eq!(meta(&r), empty_meta(&r));

        let out = ingest(&mut r, records.clone(), NOW);
        assert!(out.iter().all(Outcome::is_stored), "the replica splits it");
        assert_eq!(meta(&r).records, MAX_BATCH as u64 + 1);
        assert_eq!(
            r.store().last_seq(&k.author()).expect("seq"),
            MAX_BATCH as u64 + 1
        );
        for bytes in [&records[0], &records[MAX_BATCH - 1], &records[MAX_BATCH]] {
            let id = record::check(bytes.clone()).expect("valid").id();
            assert_eq!(r.store().get(&id).expect("get").as_ref(), Some(bytes));
        }
        // Kinds this version does not know are kept, but never shown.
        r.flush_index().expect("flush");
        assert_eq!(r.query(&all()).expect("query").total, 0);
    }
}

// ---------------------------------------------------------------------------
// 2. publish / withdraw / import
// ---------------------------------------------------------------------------

mod publishing {
    use super::*;
    use setu_store::replica::MAX_IMPORT_LINE_BYTES;
    use setu_store::synth;

    both!(
        publish_revises_and_refuses_unchanged,
        publish_another_authors_practice_is_not_owner,
        import_good_and_bad_rows,
        import_dry_run_stores_nothing,
        import_twice_skips_everything,
        import_line_limits_crlf_and_last_line,
    );

    fn publish_revises_and_refuses_unchanged<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let body = synth::body(1, 0);
        let pid = pid_of(&body);

        let p1 = r.publish(&k, body.clone(), NOW).expect("publish");
        assert_eq!(
            (p1.revision, p1.seq, p1.practice_id.as_str()),
            (1, NOW * SEQ_PER_MS, pid.as_str()),
            "the first seq is the clock floor (spec/store.md §6)"
        );
        let rec1 = r.get(&p1.id).expect("get").expect("stored");
        assert_eq!(rec1.envelope().ts, NOW);
        assert_eq!(rec1.practice().expect("p").supersedes, None);
        assert_eq!(
            rec1.practice().expect("p").licence.as_deref(),
            Some("CC-BY-4.0"),
            "defaults filled before signing"
        );

        let mut changed = body.clone();
        changed["title"]["text"]["en"] = json!("A better title");
        let p2 = r.publish(&k, changed.clone(), NOW + 1).expect("publish");
        assert_eq!((p2.revision, p2.seq), (2, (NOW + 1) * SEQ_PER_MS));
        let rec2 = r.get(&p2.id).expect("get").expect("stored");
        assert_eq!(rec2.practice().expect("p").supersedes, Some(p1.id));
        assert_eq!(rec2.practice().expect("p").revision, 2);

        // Unchanged content: an error, and nothing written. The revision and
        // supersedes a caller writes are ignored.
        let before = snapshot(&r);
        let mut same = changed.clone();
        same["revision"] = json!(7);
        for b in [changed.clone(), same] {
            match r.publish(&k, b, NOW + 2) {
                Err(e @ PublishError::Invalid(_)) => {
                    assert!(
                        e.to_string().contains("same as the current revision"),
                        "{e}"
                    )
                }
                other => panic!("identical content published: {other:?}"),
            }
        }
        assert_eq!(snapshot(&r), before);

        // Back to the first content: a new revision (it differs from the current one).
        let p3 = r.publish(&k, body, NOW + 3).expect("publish");
        assert_eq!((p3.revision, p3.seq), (3, (NOW + 3) * SEQ_PER_MS));

        let hits = r.query(&all()).expect("query");
        assert_eq!(hits.total, 1);
        assert_eq!((hits.hits[0].id, hits.hits[0].revision), (p3.id, 3));
        let history = r
            .query(&Query {
                history: true,
                ..all()
            })
            .expect("query");
        assert_eq!(history.total, 3);
        let mut revs: Vec<(u64, bool)> = history
            .hits
            .iter()
            .map(|h| (h.revision, h.current))
            .collect();
        revs.sort_unstable();
        assert_eq!(revs, vec![(1, false), (2, false), (3, true)]);
        assert_eq!(r.status().expect("status").index_lag, 0, "publish flushes");

        // An invalid body names the field.
        let bad = with(base("BAD-1"), json!({"sdg_targets": ["18.1"]}));
        match r.publish(&k, bad, NOW) {
            Err(PublishError::Invalid(ps)) => {
                assert!(
                    ps.iter().any(|p| p.path.starts_with("body.sdg_targets")),
                    "{ps:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    fn publish_another_authors_practice_is_not_owner<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let (ka, kb) = (key(1), key(2));
        let body = base("OWNED-1");
        r.publish(&ka, body.clone(), NOW).expect("publish");
        let before = snapshot(&r);
        let theirs = with(
            body,
            json!({"title": {"original": "en", "text": {"en": "Mine now"}}}),
        );
        match r.publish(&kb, theirs, NOW) {
            Err(PublishError::NotOwner { practice_id, owner }) => {
                assert_eq!(practice_id, "OWNED-1");
                assert_eq!(owner, ka.author());
            }
            other => panic!("expected NotOwner, got {other:?}"),
        }
        assert_eq!(snapshot(&r), before);
        assert_eq!(r.authors_of("OWNED-1").expect("authors"), vec![ka.author()]);
    }

    fn import_good_and_bad_rows<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let (k, other) = (key(1), key(2));
        // Stored before the import: our own practice, another author's, and
        // an unknown kind.
        let mine = r.publish(&k, base("OWN-OLD"), NOW).expect("publish");
        r.publish(&other, base("THEIRS-1"), NOW).expect("publish");
        ingest(&mut r, vec![note(&other, 2, NOW)], NOW);
        r.flush_index().expect("flush");
        let before = snapshot(&r);

        let good: Vec<Json> = synth::bodies(5, 4).collect();
        let long_summary = "x".repeat(16 * 1024 + 1);
        let huge_title = "y".repeat(1024 * 1024 + 10);
        let mut input = Vec::new();
        let mut line = |bytes: &[u8]| {
            input.extend_from_slice(bytes);
            input.push(b'\n');
        };
        line(good[0].to_string().as_bytes()); // 1
        line(br#"{"practice_id": "BROKEN-1", "#); // 2: bad JSON
        line(b"\xff\xfe{\"practice_id\": \"X\"}"); // 3: not UTF-8
        line(good[1].to_string().as_bytes()); // 4
        line(
            with(base("SDG-18"), json!({"sdg_targets": ["16.6", "18.1"]}))
                .to_string()
                .as_bytes(),
        ); // 5
        line(base("THEIRS-1").to_string().as_bytes()); // 6: another author's id
        line(
            with(
                base("LONG-1"),
                json!({"summary": {"original": "en", "text": {"en": long_summary}}}),
            )
            .to_string()
            .as_bytes(),
        ); // 7: summary over 16 KiB
        line(
            with(
                base("HUGE-1"),
                json!({"title": {"original": "en", "text": {"en": huge_title}}}),
            )
            .to_string()
            .as_bytes(),
        ); // 8: a line over 1 MiB
        line(good[2].to_string().as_bytes()); // 9
        line(b"   "); // 10: blank, ignored
        line(good[3].to_string().as_bytes()); // 11

        let (prog, rows) = import(&mut r, &input, &k, false);
        assert_eq!(
            (prog.rows, prog.imported, prog.skipped, prog.rejected),
            (10, 4, 0, 6),
            "{rows:#?}"
        );
        assert_eq!(prog.bytes, input.len() as u64);
        assert_eq!(rows.len(), 10);

        let imported: Vec<(usize, String)> = rows
            .iter()
            .filter_map(|row| match row {
                Row::Imported { line, published } => Some((*line, published.practice_id.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            imported,
            vec![
                (1, pid_of(&good[0])),
                (4, pid_of(&good[1])),
                (9, pid_of(&good[2])),
                (11, pid_of(&good[3])),
            ]
        );
        let rejected: Vec<(usize, String)> = rows
            .iter()
            .filter_map(|row| match row {
                Row::Rejected { line, problems } => Some((*line, problems.join(" | "))),
                _ => None,
            })
            .collect();
        let lines: Vec<usize> = rejected.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 3, 5, 6, 7, 8]);
        let expect = [
            (2, &["line: not JSON"][..]),
            (3, &["line: not valid UTF-8"][..]),
            (5, &["body.sdg_targets[1]", "18.1"][..]),
            (6, &["body.practice_id", "THEIRS-1", "another author"][..]),
            (7, &["body.summary.text.en"][..]),
            (8, &["line: longer than 1048576 bytes"][..]),
        ];
        for ((line, problems), (want_line, needles)) in rejected.iter().zip(expect) {
            assert_eq!(*line, want_line);
            for needle in needles {
                assert!(
                    problems.contains(needle),
                    "line {line}: {problems:?} lacks {needle:?}"
                );
            }
        }

        // The good rows are stored and searchable, under our key.
        let after = snapshot(&r);
        assert_eq!(after.meta.records, before.meta.records + 4);
        let shown = found(&r, &all());
        for g in &good {
            assert!(shown.contains(&pid_of(g)), "{}", pid_of(g));
            let (_, state) = r
                .practice(&k.author(), &pid_of(g))
                .expect("p")
                .expect("imported");
            assert_eq!(state.current.map(|e| e.revision), Some(1));
        }
        for bad in ["SDG-18", "LONG-1", "HUGE-1", "BROKEN-1"] {
            assert!(r.practice(&k.author(), bad).expect("p").is_none(), "{bad}");
        }
        // THEIRS-1 is still only theirs.
        assert!(r.practice(&k.author(), "THEIRS-1").expect("p").is_none());
        assert_eq!(
            r.authors_of("THEIRS-1").expect("authors"),
            vec![other.author()]
        );

        // Everything stored before is still there, byte for byte.
        for rec in &before.records {
            assert!(after.records.contains(rec), "lost or changed: {:?}", rec.1);
        }
        for chain in &before.chains {
            assert!(after.chains.contains(chain), "chain changed: {}", chain.1);
        }
        let (_, state) = r
            .practice(&k.author(), "OWN-OLD")
            .expect("p")
            .expect("kept");
        assert_eq!(state.current.map(|e| e.id), Some(mine.id));
        // seqs are fresh: above the key's last one and the clock floor, in
        // one reservation of IMPORT_BATCH.
        assert_eq!(
            r.store().last_seq(&k.author()).expect("seq"),
            NOW * SEQ_PER_MS + 4
        );
    }

    fn import_dry_run_stores_nothing<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        r.publish(&k, base("OWN-OLD"), NOW).expect("publish");
        let before = snapshot(&r);
        let mut input = jsonl(synth::bodies(9, 5));
        input.extend_from_slice(b"{oops\n");
        input.extend_from_slice(
            format!(
                "{}\n",
                with(base("OWN-OLD"), json!({"status": 3})) // a new revision
            )
            .as_bytes(),
        );
        let (prog, rows) = import(&mut r, &input, &k, true);
        assert_eq!(
            (prog.rows, prog.imported, prog.rejected),
            (7, 6, 1),
            "{rows:?}"
        );
        assert!(
            matches!(rows.as_slice(), [Row::Rejected { line: 6, .. }]),
            "{rows:?}"
        );
        assert_eq!(snapshot(&r), before, "a dry run stores nothing");
        assert_eq!(found(&r, &all()), set(&["OWN-OLD"]));
    }

    fn import_line_limits_crlf_and_last_line<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let padded = |pid: &str, len: usize| -> Vec<u8> {
            let mut line = base(pid).to_string().into_bytes();
            assert!(line.len() < len);
            line.resize(len, b' '); // trailing whitespace is still valid JSON
            line
        };
        let mut input = Vec::new();
        input.extend_from_slice(&padded("AT-LIMIT", MAX_IMPORT_LINE_BYTES)); // 1
        input.push(b'\n');
        input.extend_from_slice(&padded("OVER-LIMIT", MAX_IMPORT_LINE_BYTES + 1)); // 2
        input.push(b'\n');
        input.extend_from_slice(base("CRLF-1").to_string().as_bytes()); // 3
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(&padded("AT-LIMIT-CRLF", MAX_IMPORT_LINE_BYTES)); // 4
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(b"\r\n"); // 5: blank
        input.extend_from_slice(base("NO-NEWLINE").to_string().as_bytes()); // 6, at EOF

        let (prog, rows) = import(&mut r, &input, &k, false);
        assert_eq!(
            (prog.rows, prog.imported, prog.rejected),
            (5, 4, 1),
            "{rows:?}"
        );
        assert_eq!(prog.bytes, input.len() as u64);
        match &rows[1] {
            Row::Rejected { line: 2, problems } => {
                assert_eq!(
                    problems,
                    &vec![format!("line: longer than {MAX_IMPORT_LINE_BYTES} bytes")]
                )
            }
            other => panic!("{other:?}"),
        }
        let lines: Vec<usize> = rows
            .iter()
            .filter_map(|row| match row {
                Row::Imported { line, .. } => Some(*line),
                _ => None,
            })
            .collect();
        assert_eq!(lines, vec![1, 3, 4, 6]);
        assert_eq!(
            found(&r, &all()),
            set(&["AT-LIMIT", "CRLF-1", "AT-LIMIT-CRLF", "NO-NEWLINE"])
        );
    }

    /// A line longer than MAX_IMPORT_LINE_BYTES must be refused whatever it
    /// holds.
    #[test]
    fn over_long_line_with_cr_at_the_limit_is_refused() {
        let mut r = memory();
        let k = key(1);
        let mut line = base("CUT-1").to_string().into_bytes();
        line.resize(MAX_IMPORT_LINE_BYTES, b' ');
        line.extend_from_slice(b"\r, this tail makes the line invalid JSON\n");
        let (prog, rows) = import(&mut r, &line, &k, false);
        assert_eq!((prog.imported, prog.rejected), (0, 1), "{rows:?}");
        assert_eq!(meta(&r).records, 0);
    }

    fn import_twice_skips_everything<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let bodies: Vec<Json> = synth::bodies(3, 25).collect();
        let input = jsonl(bodies.clone());

        let (first, rows) = import(&mut r, &input, &k, false);
        assert_eq!(
            (first.rows, first.imported, first.skipped, first.rejected),
            (25, 25, 0, 0)
        );
        assert!(rows.iter().all(|row| matches!(row, Row::Imported { .. })));
        let before = snapshot(&r);
        assert_eq!(before.meta.records, 25);

        let (second, rows) = import(&mut r, &input, &k, false);
        assert_eq!(
            (
                second.rows,
                second.imported,
                second.skipped,
                second.rejected
            ),
            (25, 0, 25, 0)
        );
        for (i, row) in rows.iter().enumerate() {
            match row {
                Row::Skipped { line, practice_id } => {
                    assert_eq!(*line, i + 1);
                    assert_eq!(*practice_id, pid_of(&bodies[i]));
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(snapshot(&r), before, "the second import writes nothing");
        assert_eq!(r.query(&all()).expect("query").total, 25);
    }

    /// spec/store.md §6: "a body whose practice_id the node knows under
    /// another author is refused". The node knows it as soon as the record
    /// is stored, not only once the search index has been committed.
    #[test]
    fn not_owner_even_before_the_index_commits() {
        let mut r = memory();
        let (ka, kb) = (key(1), key(2));
        let (_, bytes) = sign(&ka, 1, NOW, &practice(base("PEER-1")));
        // From a peer: stored, indexed but not yet committed.
        ingest1(&mut r, bytes, NOW);
        assert!(r.practice(&ka.author(), "PEER-1").expect("p").is_some());
        let result = r.publish(&kb, base("PEER-1"), NOW);
        assert!(
            matches!(result, Err(PublishError::NotOwner { .. })),
            "publishing another author's practice id: {result:?}"
        );
    }

    /// spec/store.md §6: "a body identical to the current revision (ignoring
    /// revision and supersedes) is not signed again". Signing normalises
    /// text to NFC, so a body typed in another normalisation form is
    /// identical once stored.
    #[test]
    fn republishing_non_nfc_text_is_unchanged() {
        let mut r = memory();
        let k = key(1);
        // "ইউনিয়ন" typed with the precomposed U+09DF, "atención" with a combining accent.
        let body = with(
            base("NFC-1"),
            json!({"title": {"original": "bn", "text": {
                "bn": "ইউনি\u{9DF}ন ডিজিটাল সেন্টার",
                "es": "atencio\u{301}n"
            }}}),
        );
        let first = r.publish(&k, body.clone(), NOW).expect("publish");
        assert_eq!(first.revision, 1);
        let again = r.publish(&k, body.clone(), NOW + 1);
        assert!(
            matches!(again, Err(PublishError::Invalid(_))),
            "identical content signed again: {again:?}"
        );
        let (prog, _) = import(&mut r, &jsonl([body]), &k, false);
        assert_eq!(prog.skipped, 1, "{prog:?}");
    }
}

// ---------------------------------------------------------------------------
// 3. Search
// ---------------------------------------------------------------------------

mod search {
    use super::*;
    use setu_store::query::CountryFilter;
    use setu_store::synth;

    both!(
        text_in_many_languages,
        every_filter_narrows,
        history_shows_every_linked_revision,
        paging_is_disjoint_and_complete,
    );

    fn lt(lang: &str, text: &str) -> Json {
        json!({"original": lang, "text": {lang: text}})
    }

    fn text_in_many_languages<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let bodies = [
            with(
                base("BN-UDC"),
                json!({"title": lt("bn", "ইউনিয়ন ডিজিটাল সেন্টার")}),
            ),
            with(
                base("BN-OTHER"),
                json!({"summary": lt("bn", "নাগরিক সেবা অনলাইন")}),
            ),
            with(
                base("AR-1"),
                json!({"title": lt("ar", "مراكز الخدمات الرقمية")}),
            ),
            with(
                base("EN-1"),
                json!({"summary": lt("en", "Citizens visit the centres of every union.")}),
            ),
            with(
                base("ES-1"),
                json!({"solution": lt("es", "Simplificación de trámites municipales")}),
            ),
            with(
                base("ES-2"),
                json!({"challenge": lt("es", "Cada trámite exigía tres visitas")}),
            ),
            with(
                base("SW-1"),
                json!({"summary": lt("sw", "Huduma kwa wananchi wote")}),
            ),
        ];
        for b in bodies {
            r.publish(&k, b, NOW).expect("publish");
        }

        // Bangla: whole words, conjuncts intact.
        assert_eq!(search(&r, "সেন্টার"), set(&["BN-UDC"]));
        assert_eq!(search(&r, "ডিজিটাল সেন্টার"), set(&["BN-UDC"]));
        assert_eq!(search(&r, "নাগরিক"), set(&["BN-OTHER"]));
        assert_eq!(search(&r, "ডিজিটাল নাগরিক"), set(&[]), "terms are ANDed");
        assert_eq!(
            search_any(&r, "ডিজিটাল নাগরিক"),
            set(&["BN-OTHER", "BN-UDC"]),
            "any word, by default"
        );
        assert_eq!(
            search_any(&r, "এবং"),
            set(&[]),
            "a stop word alone finds nothing"
        );
        assert_eq!(search(&r, "সেন্ট"), set(&[]), "no partial words");
        assert_eq!(search(&r, "ভূমি"), set(&[]));
        let hits = r
            .query(&Query {
                text: Some("সেন্টার".into()),
                ..all()
            })
            .expect("query");
        assert!(hits.hits[0].score.is_some());
        let title = hits.hits[0].title.as_ref().expect("title");
        assert_eq!(title.original, "bn");
        assert!(title.text["bn"].ends_with("ডিজিটাল সেন্টার"));

        // Arabic.
        assert_eq!(search(&r, "الخدمات"), set(&["AR-1"]));
        assert_eq!(search(&r, "الرقمية"), set(&["AR-1"]));
        // Stemmed: the singular finds the plural (both stem to خدم).
        assert_eq!(search(&r, "الخدمة"), set(&["AR-1"]));

        // English stemming: centre ~ centres; case does not matter.
        assert_eq!(search(&r, "centre"), set(&["EN-1"]));
        assert_eq!(search(&r, "CENTRES"), set(&["EN-1"]));
        assert_eq!(search(&r, "citizen"), set(&["EN-1"]));

        // Spanish stemming, both ways.
        assert_eq!(search(&r, "trámite"), set(&["ES-1", "ES-2"]));
        assert_eq!(search(&r, "trámites"), set(&["ES-1", "ES-2"]));
        assert_eq!(search(&r, "municipales"), set(&["ES-1"]));

        // Swahili has no stemmer: exact words only.
        assert_eq!(search(&r, "wananchi"), set(&["SW-1"]));
        assert_eq!(search(&r, "huduma"), set(&["SW-1"]));
        assert_eq!(search(&r, "mwananchi"), set(&[]));

        // The practice id is searchable; blank text means no text filter.
        assert_eq!(search(&r, "ES-2"), set(&["ES-2"]));
        assert_eq!(search(&r, "   ").len(), 7);
    }

    fn every_filter_narrows<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let (ka, kb) = (key(1), key(2));
        let f1 = with(
            base("F-1"),
            json!({
                "countries": [{"iso3": "BGD", "role": "originating"}, {"iso3": "IND", "role": "adopting"}],
                "sdg_targets": ["16.6"],
                "sectors": [{"vocabulary": "dac5", "code": "15110"}],
                "status": 2, "gov_level": "national",
                "period": {"start": "2010", "end": "2012"},
                "metrics": [{"kind": "time", "stage": "digital", "method": "survey", "change_bp": -5000}],
            }),
        );
        let f2 = with(
            base("F-2"),
            json!({
                "countries": [{"iso3": "IND", "role": "originating"}],
                "sdg_targets": ["16.7", "1.3"],
                "sectors": [{"vocabulary": "cofog", "code": "01.3"}],
                "status": 4, "gov_level": "local",
                "period": {"start": "2018-03"},
            }),
        );
        let f3 = with(
            base("F-3"),
            json!({
                "countries": [{"iso3": "KEN", "role": "originating"}, {"iso3": "BGD", "role": "partner"}],
                "sdg_targets": ["3.8"],
                "sectors": [{"vocabulary": "dac5", "code": "15111"}],
                "status": 2, "gov_level": "subnational",
                "period": {"start": "2005-01", "end": "2006"},
            }),
        );
        let f4 = with(
            base("F-4"),
            json!({
                "countries": [{"iso3": "BRA", "role": "originating"}],
                "sdg_targets": ["16.10"],
                "status": 1,
                "period": {"start": "2022-06-15", "end": "2022-06-15"},
                "metrics": [{"kind": "visits", "stage": "sps", "method": "admin",
                             "baseline": 4, "after": 1, "unit": "count"}],
            }),
        );
        r.publish(&ka, f1, NOW).expect("publish");
        r.publish(&kb, f2, NOW + 1_000).expect("publish");
        r.publish(&ka, f3, NOW + 2_000).expect("publish");
        r.publish(&kb, f4, NOW + 3_000).expect("publish");

        let run = |q: Query| found(&r, &q);
        let countries = |cs: &[&str]| Query {
            countries: cs
                .iter()
                .map(|c| c.parse().expect("country filter"))
                .collect(),
            ..all()
        };
        assert_eq!(run(all()), set(&["F-1", "F-2", "F-3", "F-4"]));

        assert_eq!(run(countries(&["BGD"])), set(&["F-1", "F-3"]));
        assert_eq!(run(countries(&["BGD:originating"])), set(&["F-1"]));
        assert_eq!(run(countries(&["BGD:partner"])), set(&["F-3"]));
        assert_eq!(run(countries(&["BGD:adopting"])), set(&[]));
        assert_eq!(run(countries(&["IND"])), set(&["F-1", "F-2"]));
        assert_eq!(run(countries(&["ind:adopting"])), set(&["F-1"]));
        assert_eq!(
            run(countries(&["BGD:originating", "KEN"])),
            set(&["F-1", "F-3"])
        );
        assert_eq!(run(countries(&["NPL"])), set(&[]));

        let sdg = |s: &[&str]| Query {
            sdg: s.iter().map(|x| (*x).to_string()).collect(),
            ..all()
        };
        assert_eq!(
            run(sdg(&["16"])),
            set(&["F-1", "F-2", "F-4"]),
            "a goal matches its targets"
        );
        assert_eq!(run(sdg(&["16.6"])), set(&["F-1"]));
        assert_eq!(run(sdg(&["16.1"])), set(&[]), "16.1 is not 16.10");
        assert_eq!(run(sdg(&["16.10"])), set(&["F-4"]));
        assert_eq!(run(sdg(&["1"])), set(&["F-2"]));
        assert_eq!(run(sdg(&["3"])), set(&["F-3"]));
        assert_eq!(run(sdg(&["16.6", "3.8"])), set(&["F-1", "F-3"]));

        let sectors = |s: &[&str]| Query {
            sectors: s.iter().map(|x| (*x).to_string()).collect(),
            ..all()
        };
        assert_eq!(run(sectors(&["15110"])), set(&["F-1"]));
        assert_eq!(run(sectors(&["dac5:15110"])), set(&["F-1"]));
        assert_eq!(run(sectors(&["cofog:01.3"])), set(&["F-2"]));
        assert_eq!(run(sectors(&["01.3"])), set(&["F-2"]));
        assert_eq!(run(sectors(&["15111"])), set(&["F-3"]));
        assert_eq!(run(sectors(&["15110", "01.3"])), set(&["F-1", "F-2"]));
        assert_eq!(run(sectors(&["15112"])), set(&[]));

        let status = |s: &[u64]| Query {
            status: s.to_vec(),
            ..all()
        };
        assert_eq!(run(status(&[2])), set(&["F-1", "F-3"]));
        assert_eq!(run(status(&[4, 1])), set(&["F-2", "F-4"]));
        assert_eq!(run(status(&[5])), set(&[]));

        let gov = |g: &str| Query {
            gov_level: Some(g.to_string()),
            ..all()
        };
        assert_eq!(run(gov("national")), set(&["F-1"]));
        assert_eq!(run(gov("local")), set(&["F-2"]));
        assert_eq!(run(gov("subnational")), set(&["F-3"]));

        // Facets count the practices that match, by each value, most first
        // (ties by value), in one form per field.
        let owned = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
            v.iter().map(|(k, n)| ((*k).to_string(), *n)).collect()
        };
        let f = r.facets(&all()).expect("facets");
        assert_eq!(
            f.country,
            owned(&[("BGD", 2), ("IND", 2), ("BRA", 1), ("KEN", 1)])
        );
        assert_eq!(f.sdg_goal, owned(&[("16", 3), ("1", 1), ("3", 1)]));
        assert_eq!(
            f.sector,
            owned(&[("cofog:01.3", 1), ("dac5:15110", 1), ("dac5:15111", 1)])
        );
        assert_eq!(f.status, vec![(2, 2), (1, 1), (4, 1)]);
        assert!(f.adoptions.is_empty() && f.adoption_stage.is_empty());
        // Under a filter, only the matches are counted.
        let f = r.facets(&countries(&["BGD"])).expect("facets");
        assert_eq!(f.country, owned(&[("BGD", 2), ("IND", 1), ("KEN", 1)]));
        assert_eq!(f.sdg_goal, owned(&[("16", 1), ("3", 1)]));
        assert_eq!(f.status, vec![(2, 2)]);
        let f = r.facets(&countries(&["NPL"])).expect("facets");
        assert!(f.country.is_empty() && f.sdg_goal.is_empty() && f.status.is_empty());

        let period = |from: Option<&str>, to: Option<&str>| Query {
            period_from: from.map(String::from),
            period_to: to.map(String::from),
            ..all()
        };
        assert_eq!(run(period(Some("2011"), Some("2011"))), set(&["F-1"]));
        assert_eq!(
            run(period(Some("2012-12-31"), None)),
            set(&["F-1", "F-2", "F-4"])
        );
        assert_eq!(run(period(Some("2013"), None)), set(&["F-2", "F-4"]));
        assert_eq!(
            run(period(Some("2019"), None)),
            set(&["F-2", "F-4"]),
            "no end: still running"
        );
        assert_eq!(
            run(period(Some("2006-12-31"), None)),
            set(&["F-1", "F-2", "F-3", "F-4"])
        );
        assert_eq!(run(period(Some("2007"), None)), set(&["F-1", "F-2", "F-4"]));
        assert_eq!(run(period(None, Some("2005"))), set(&["F-3"]));
        assert_eq!(run(period(None, Some("2004-12-31"))), set(&[]));
        assert_eq!(run(period(None, Some("2009-12"))), set(&["F-3"]));
        assert_eq!(run(period(Some("2013"), Some("2017"))), set(&[]));
        assert_eq!(
            run(period(Some("2022-06-15"), Some("2022-06-15"))),
            set(&["F-2", "F-4"])
        );
        assert_eq!(run(period(Some("2022-06-16"), Some("2023"))), set(&["F-2"]));

        let publisher = |k: &SecretKey| Query {
            publisher: Some(k.author()),
            ..all()
        };
        assert_eq!(run(publisher(&ka)), set(&["F-1", "F-3"]));
        assert_eq!(run(publisher(&kb)), set(&["F-2", "F-4"]));
        assert_eq!(run(publisher(&key(3))), set(&[]));

        let since = |t: u64| Query {
            modified_since: Some(t),
            ..all()
        };
        assert_eq!(run(since(NOW)), set(&["F-1", "F-2", "F-3", "F-4"]));
        assert_eq!(run(since(NOW + 1_000)), set(&["F-2", "F-3", "F-4"]));
        assert_eq!(run(since(NOW + 3_000)), set(&["F-4"]));
        assert_eq!(run(since(NOW + 3_001)), set(&[]));

        let tcv = |t: bool| Query {
            has_tcv: Some(t),
            ..all()
        };
        assert_eq!(run(tcv(true)), set(&["F-1", "F-4"]));
        assert_eq!(run(tcv(false)), set(&["F-2", "F-3"]));

        // Different filters must all match.
        let combined = Query {
            status: vec![2],
            has_tcv: Some(false),
            ..countries(&["BGD"])
        };
        assert_eq!(run(combined), set(&["F-3"]));
        let combined = Query {
            sdg: vec!["16".into()],
            publisher: Some(kb.author()),
            text: Some("Plain".into()),
            ..countries(&["IND"])
        };
        assert_eq!(run(combined), set(&["F-2"]));

        // A hit carries what a list shows.
        let hits = r.query(&countries(&["BGD:originating"])).expect("query");
        let h = &hits.hits[0];
        assert_eq!(h.author, ka.author());
        assert_eq!(
            h.countries,
            vec!["BGD".to_string()],
            "originating countries only"
        );
        assert_eq!(
            (h.revision, h.ts, h.current, h.withdrawn),
            (1, NOW, true, false)
        );
        assert_eq!(h.score, None);
        // Without text, newest first.
        let order: Vec<String> = r
            .query(&all())
            .expect("query")
            .hits
            .into_iter()
            .map(|h| h.practice_id)
            .collect();
        assert_eq!(order, vec!["F-4", "F-3", "F-2", "F-1"]);
    }

    #[test]
    fn query_problems_name_the_field() {
        assert_eq!(all().problems(), Vec::<String>::new());
        let cases: Vec<(Query, &str)> = vec![
            (
                Query {
                    countries: vec!["XXX".parse().expect("filter")],
                    ..all()
                },
                "country: \"XXX\"",
            ),
            (
                Query {
                    countries: vec![CountryFilter {
                        iso3: "BGD".into(),
                        role: Some("boss".into()),
                    }],
                    ..all()
                },
                "country: role \"boss\"",
            ),
            (
                Query {
                    sdg: vec!["18.1".into()],
                    ..all()
                },
                "sdg: \"18.1\"",
            ),
            (
                Query {
                    sdg: vec!["18".into()],
                    ..all()
                },
                "sdg: \"18\"",
            ),
            (
                Query {
                    sectors: vec!["cofog:15110".into()],
                    ..all()
                },
                "sector: \"cofog:15110\"",
            ),
            (
                Query {
                    status: vec![9],
                    ..all()
                },
                "status: 9",
            ),
            (
                Query {
                    gov_level: Some("planet".into()),
                    ..all()
                },
                "gov-level: \"planet\"",
            ),
            (
                Query {
                    period_from: Some("2020-13".into()),
                    ..all()
                },
                "period-from: \"2020-13\"",
            ),
            (
                Query {
                    period_to: Some("20".into()),
                    ..all()
                },
                "period-to: \"20\"",
            ),
            (
                Query {
                    text: Some("a".repeat(1025)),
                    ..all()
                },
                "text: 1025 bytes",
            ),
            (
                Query {
                    limit: setu_store::query::MAX_LIMIT + 1,
                    ..all()
                },
                "limit:",
            ),
            (
                Query {
                    status: vec![1; 65],
                    ..all()
                },
                "status: 65 values",
            ),
        ];
        for (q, want) in cases {
            let ps = q.problems();
            assert_eq!(ps.len(), 1, "{want}: {ps:?}");
            assert!(ps[0].starts_with(want), "{ps:?} should start with {want:?}");
        }
        // Every problem is reported, not just the first.
        let q = Query {
            countries: vec!["XXX".parse().expect("filter")],
            sdg: vec!["18.1".into()],
            gov_level: Some("planet".into()),
            ..all()
        };
        assert_eq!(q.problems().len(), 3);
        // Good values of every kind.
        let q = Query {
            countries: vec!["bgd:originating".parse().expect("filter")],
            sdg: vec!["17".into(), "1.a".into()],
            sectors: vec![
                "15110".into(),
                "dac5:15110".into(),
                "cofog:01.3".into(),
                "01".into(),
            ],
            status: vec![1, 6],
            gov_level: Some("local".into()),
            period_from: Some("2020-02-29".into()),
            period_to: Some("2021".into()),
            ..all()
        };
        assert_eq!(q.problems(), Vec::<String>::new());
        assert_eq!(q.countries[0].iso3, "BGD");
    }

    fn history_shows_every_linked_revision<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let mut body = base("HIST-1");
        let mut ids = Vec::new();
        for (i, word) in ["alpha", "bravo", "charlie"].iter().enumerate() {
            body["title"] = lt("en", word);
            let p = r
                .publish(&k, body.clone(), NOW + i as u64)
                .expect("publish");
            assert_eq!(p.revision, i as u64 + 1);
            ids.push(p.id);
        }
        // A held record (a revision 5 above a gap) is not in history.
        let mut held = practice(base("HIST-1"));
        held.revision = 5;
        held.supersedes = Some(RecordId([7; 32]));
        let (held_id, hb) = sign(&k, 10, NOW, &held);
        assert_eq!(ingest1(&mut r, hb, NOW), stored(held_id));
        r.publish(&k, base("HIST-2"), NOW).expect("publish");

        let current = r.query(&all()).expect("query");
        assert_eq!(current.total, 2);
        let h = current
            .hits
            .iter()
            .find(|h| h.practice_id == "HIST-1")
            .expect("HIST-1");
        assert_eq!((h.id, h.revision, h.current), (ids[2], 3, true));

        let history = r
            .query(&Query {
                history: true,
                ..all()
            })
            .expect("query");
        assert_eq!(history.total, 4);
        let mut got: Vec<(RecordId, u64, bool)> = history
            .hits
            .iter()
            .filter(|h| h.practice_id == "HIST-1")
            .map(|h| (h.id, h.revision, h.current))
            .collect();
        got.sort_by_key(|x| x.1);
        assert_eq!(
            got,
            vec![(ids[0], 1, false), (ids[1], 2, false), (ids[2], 3, true)]
        );
        // Old revisions are searchable with history only.
        assert_eq!(search(&r, "alpha"), set(&[]));
        let old = Query {
            text: Some("alpha".into()),
            history: true,
            ..all()
        };
        let hits = r.query(&old).expect("query");
        assert_eq!(hits.total, 1);
        assert_eq!((hits.hits[0].id, hits.hits[0].current), (ids[0], false));
    }

    fn paging_is_disjoint_and_complete<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        // All signed with the same ts: ties everywhere.
        let (prog, _) = import(&mut r, &jsonl(synth::bodies(11, 45)), &k, false);
        assert_eq!(prog.imported, 45);

        for text in [None, Some("synthetic")] {
            let mut seen: Vec<RecordId> = Vec::new();
            let page = 7;
            let mut offset = 0;
            loop {
                let hits = r
                    .query(&Query {
                        text: text.map(String::from),
                        limit: page,
                        offset,
                        ..Query::default()
                    })
                    .expect("query");
                assert_eq!(hits.total, 45, "total does not depend on the page");
                if offset >= 45 {
                    assert!(hits.hits.is_empty());
                    break;
                }
                assert_eq!(hits.hits.len(), page.min(45 - offset));
                seen.extend(hits.hits.iter().map(|h| h.id));
                offset += page;
            }
            let unique: BTreeSet<RecordId> = seen.iter().copied().collect();
            assert_eq!(seen.len(), 45);
            assert_eq!(unique.len(), 45, "pages are disjoint ({text:?})");
            let everything: BTreeSet<RecordId> = r
                .query(&Query {
                    text: text.map(String::from),
                    ..all()
                })
                .expect("query")
                .hits
                .iter()
                .map(|h| h.id)
                .collect();
            assert_eq!(unique, everything);
        }
        // The default limit.
        let hits = r.query(&Query::default()).expect("query");
        assert_eq!(hits.hits.len(), setu_store::query::DEFAULT_LIMIT);
    }

    /// Stored text is always NFC (signing normalises it); a query typed in
    /// another normalisation form should find the same words.
    #[test]
    fn query_text_is_normalised_like_the_records() {
        let mut r = memory();
        let k = key(1);
        let union = "ইউনি\u{9DF}ন";
        r.publish(
            &k,
            with(
                base("NFC-Q"),
                json!({"title": lt("bn", &format!("{union} ডিজিটাল সেন্টার")),
                       "summary": lt("es", "atencio\u{301}n al ciudadano")}),
            ),
            NOW,
        )
        .expect("publish");
        // Typed the normalised way, it is found: the index holds NFC.
        assert_eq!(search(&r, "ইউনি\u{9AF}\u{9BC}ন"), set(&["NFC-Q"]));
        assert_eq!(search(&r, "atención"), set(&["NFC-Q"]));
        // Typed exactly as published, it should be found too.
        assert_eq!(
            (search(&r, union), search(&r, "atencio\u{301}n")),
            (set(&["NFC-Q"]), set(&["NFC-Q"])),
            "(Bangla typed with U+09DF, Spanish with a combining acute)"
        );
    }
}

/// `practice_id` may contain `:` (spec/record.md §6.2) and is indexed as
/// text, so a user pasting one into the text search should find it.
#[test]
fn text_search_with_a_colon_finds_the_practice_id() {
    let mut r = memory();
    r.publish(&key(1), base("BGD:A2I:0001"), NOW)
        .expect("publish");
    let quoted = search(&r, "\"BGD:A2I:0001\"");
    assert_eq!(quoted, set(&["BGD:A2I:0001"]), "the id is in the index");
    assert_eq!(search(&r, "BGD:A2I:0001"), set(&["BGD:A2I:0001"]));
}

/// `Status::indexed_documents` is documented as "Current practices in the
/// index (active, not withdrawn)".
#[test]
fn status_indexed_documents_counts_current_practices() {
    let mut r = memory();
    let k = key(1);
    r.publish(&k, base("ST-1"), NOW).expect("publish");
    r.publish(&k, with(base("ST-1"), json!({"status": 3})), NOW)
        .expect("revise");
    r.publish(&k, base("ST-2"), NOW).expect("publish");
    r.withdraw(&k, "ST-2", "gone", NOW).expect("withdraw");
    assert_eq!(r.query(&all()).expect("query").total, 1);
    let st = r.status().expect("status");
    assert_eq!(st.practices, 1);
    assert_eq!(
        st.indexed_documents, 3,
        "two revisions of ST-1 and the withdrawn ST-2"
    );
}

// ---------------------------------------------------------------------------
// 4. Durability and healing (sled), and reindex
// ---------------------------------------------------------------------------

mod durability {
    use super::*;
    use setu_store::Error;
    use setu_store::replica::{FORMAT_FILE, FORMAT_VERSION, INDEX_COMMIT_EVERY};
    use setu_store::synth;

    both!(reindex_counts_practices_and_keeps_results);

    /// What every query mode shows, order aside.
    fn view<B: Backend>(r: &Replica<B>) -> BTreeSet<(String, RecordId, u64, bool, bool)> {
        let q = Query {
            history: true,
            include_withdrawn: true,
            ..all()
        };
        let hits = r.query(&q).expect("query");
        assert_eq!(hits.total, hits.hits.len());
        hits.hits
            .into_iter()
            .map(|h| (h.practice_id, h.id, h.revision, h.current, h.withdrawn))
            .collect()
    }

    /// Signs `n` synthetic practices as records (seq from `first_seq`).
    fn synth_records(k: &SecretKey, seed: u64, n: u64, first_seq: u64) -> Vec<Vec<u8>> {
        synth::bodies(seed, n)
            .enumerate()
            .map(|(i, b)| sign(k, first_seq + i as u64, NOW, &practice(b)).1)
            .collect()
    }

    fn synth_pids(seed: u64, n: u64) -> BTreeSet<String> {
        synth::bodies(seed, n).map(|b| pid_of(&b)).collect()
    }

    fn reindex_counts_practices_and_keeps_results<B: Backend>(mk: Mk<B>) {
        let mut r = mk();
        let k = key(1);
        let out = ingest(&mut r, synth_records(&k, 21, 60, 1), NOW);
        assert!(out.iter().all(Outcome::is_stored));
        let first = synth::body(21, 0);
        let mut changed = first.clone();
        changed["title"]["text"]["en"] = json!("Reindexed title");
        r.publish(&k, changed, NOW).expect("revise");
        r.withdraw(&k, &pid_of(&synth::body(21, 1)), "gone", NOW)
            .expect("withdraw");
        ingest(&mut r, vec![note(&k, 1_000, NOW)], NOW);
        r.flush_index().expect("flush");
        let before = view(&r);
        let shown = r.query(&all()).expect("query").total;
        assert_eq!(shown, 59);
        let docs = r.status().expect("status").indexed_documents;

        assert_eq!(
            r.reindex().expect("reindex"),
            60,
            "every practice, withdrawn too"
        );
        assert_eq!(view(&r), before);
        assert_eq!(r.query(&all()).expect("query").total, shown);
        let st = r.status().expect("status");
        assert_eq!((st.indexed_documents, st.index_lag), (docs, 0));
        assert_eq!(r.heal().expect("heal"), 0, "nothing left to heal");
        // Twice in a row gives the same.
        assert_eq!(r.reindex().expect("reindex"), 60);
        assert_eq!(view(&r), before);
    }

    #[test]
    fn everything_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let k = key(1);
        let records = synth_records(&k, 31, 150, 1);
        let (before, status) = {
            let mut r = open_disk(dir.path());
            assert!(
                ingest(&mut r, records.clone(), NOW)
                    .iter()
                    .all(Outcome::is_stored)
            );
            r.publish(&k, base("RE-1"), NOW).expect("publish");
            r.flush_index().expect("flush");
            let (_, flagged) = sign(&k, 1, NOW, &practice(base("RE-EQ")));
            ingest1(&mut r, flagged, NOW); // seq 1 again: an equivocation
            r.flush_index().expect("flush");
            (snapshot(&r), r.status().expect("status"))
        };
        let r = reopen(dir.path());
        assert_eq!(snapshot(&r), before, "the store is as it was");
        let st = r.status().expect("status");
        assert_eq!(st.records, 152);
        assert_eq!(st.index_lag, 0);
        assert_eq!(st.indexed_documents, status.indexed_documents);
        assert_eq!(st.flagged_authors, 1);
        assert_eq!(st.data_dir.as_deref(), Some(dir.path()));
        assert!(st.disk_bytes > 0);
        assert_eq!(r.flags(&k.author()).expect("flags").equivocations, 1);
        for bytes in &records {
            let id = record::check(bytes.clone()).expect("valid").id();
            let rec = r.get(&id).expect("get").expect("kept");
            assert_eq!(rec.bytes(), bytes.as_slice());
        }
        let mut want = synth_pids(31, 150);
        want.insert("RE-1".into());
        want.insert("RE-EQ".into());
        assert_eq!(found(&r, &all()), want);
        assert_eq!(search(&r, "synthetic").len(), 150);
    }

    #[test]
    fn crash_before_the_index_commit_heals_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let k = key(1);
        let n = 200;
        let records = synth_records(&k, 41, n, 10);
        let revised = synth::body(41, 0);
        let withdrawn_pid = pid_of(&synth::body(41, 1));
        {
            let mut r = open_disk(dir.path());
            // A committed start: two practices published (publish flushes).
            let a = r.publish(&k, base("CR-1"), NOW).expect("publish");
            let b = r.publish(&k, base("CR-2"), NOW).expect("publish");
            assert_eq!(r.status().expect("status").index_lag, 0);

            // Then, stored but not committed to the index: fewer docs than
            // INDEX_COMMIT_EVERY, so Replica::ingest does not commit.
            assert!((n as usize) < INDEX_COMMIT_EVERY);
            assert!(ingest(&mut r, records, NOW).iter().all(Outcome::is_stored));
            let p1 = practice(with(base("CR-1"), json!({"status": 4})));
            let (_, rev2) = sign(&k, 1_000, NOW, &next(&p1, a.id, "Revised while crashing"));
            let w = Practice::withdrawal("CR-2", 2, b.id, "withdrawn while crashing");
            let (_, wb) = sign(&k, 1_001, NOW, &w);
            let mut p = practice(revised.clone());
            let first_id = r
                .practice(&k.author(), &p.practice_id)
                .expect("p")
                .expect("stored")
                .1
                .current
                .expect("current")
                .id;
            p = next(&p, first_id, "Synthetic revised");
            let (_, sb) = sign(&k, 1_002, NOW, &p);
            let w2 = Practice::withdrawal(
                &withdrawn_pid,
                2,
                r.practice(&k.author(), &withdrawn_pid)
                    .expect("p")
                    .expect("stored")
                    .1
                    .current
                    .expect("current")
                    .id,
                "gone",
            );
            let (_, wb2) = sign(&k, 1_003, NOW, &w2);
            assert!(
                ingest(&mut r, vec![rev2, wb, sb, wb2], NOW)
                    .iter()
                    .all(Outcome::is_stored)
            );

            // The premise: the index has not seen any of it.
            let st = r.status().expect("status");
            assert!(st.index_lag > 0, "{st:?}");
            assert_eq!(found(&r, &all()), set(&["CR-1", "CR-2"]));
            // Dropped without flush_index: the uncommitted index work is lost.
        }
        let r = reopen(dir.path());
        let st = r.status().expect("status");
        assert_eq!(st.index_lag, 0, "healed on open: {st:?}");
        assert_eq!(st.records, 2 + n + 4);

        let mut want = synth_pids(41, n);
        want.insert("CR-1".into());
        want.remove(&withdrawn_pid);
        assert_eq!(
            found(&r, &all()),
            want,
            "every record found, none withdrawn"
        );
        // The revisions made before the crash are the current ones.
        let cr1 = r
            .query(&Query {
                text: Some("crashing".into()),
                ..all()
            })
            .expect("query");
        assert_eq!(cr1.total, 1);
        assert_eq!(
            (cr1.hits[0].practice_id.as_str(), cr1.hits[0].revision),
            ("CR-1", 2)
        );
        assert_eq!(
            search(&r, "Synthetic revised"),
            set(&[pid_of(&revised).as_str()])
        );
        // The old revision 1 of CR-1 is history now, not current.
        let history = r
            .query(&Query {
                history: true,
                include_withdrawn: true,
                publisher: Some(k.author()),
                ..all()
            })
            .expect("query");
        assert_eq!(history.total as u64, n + 2 + 2);
        assert_eq!(
            history.hits.iter().filter(|h| h.current).count() as u64,
            n + 2
        );
        assert_eq!(history.hits.iter().filter(|h| h.withdrawn).count(), 2);
        assert_eq!(search(&r, "synthetic").len() as u64, n - 1);
    }

    #[test]
    fn deleted_or_corrupt_index_is_rebuilt_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let k = key(1);
        let n = 120;
        let before = {
            let mut r = open_disk(dir.path());
            assert!(
                ingest(&mut r, synth_records(&k, 51, n, 1), NOW)
                    .iter()
                    .all(Outcome::is_stored)
            );
            r.flush_index().expect("flush");
            view(&r)
        };
        assert_eq!(before.len() as u64, n);
        let index_dir = dir.path().join("index");

        // Deleted entirely.
        std::fs::remove_dir_all(&index_dir).expect("delete index/");
        {
            let r = reopen(dir.path());
            let st = r.status().expect("status");
            assert_eq!((st.index_lag, st.indexed_documents), (0, n), "{st:?}");
            assert_eq!(view(&r), before);
            assert_eq!(found(&r, &all()), synth_pids(51, n));
        }
        assert!(index_dir.join("meta.json").exists());

        // Its metadata replaced by garbage.
        std::fs::write(index_dir.join("meta.json"), b"not json").expect("corrupt");
        {
            let r = reopen(dir.path());
            assert_eq!(r.status().expect("status").index_lag, 0);
            assert_eq!(view(&r), before);
        }

        // Emptied (the directory is there, holding nothing).
        std::fs::remove_dir_all(&index_dir).expect("delete index/");
        std::fs::create_dir(&index_dir).expect("mkdir index/");
        let r = reopen(dir.path());
        assert_eq!(view(&r), before);
        assert_eq!(search(&r, "synthetic").len() as u64, n);
    }

    #[test]
    fn unknown_or_missing_format_is_refused() {
        // A future format.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FORMAT_FILE), "setu-data-format 99\n").expect("write");
        match Replica::open(dir.path(), Config::default()) {
            Err(Error::Format(msg)) => {
                assert!(msg.contains("data format 99"), "{msg}");
                assert!(
                    msg.contains(&format!("reads format {FORMAT_VERSION}")),
                    "{msg}"
                );
            }
            other => panic!("format 99 opened: {other:?}"),
        }
        assert!(
            !dir.path().join("db").exists(),
            "nothing created on refusal"
        );
        assert!(!dir.path().join("index").exists());

        // Format 1 (records in sled's tree) is upgraded in place, and its
        // records read where they are. Made here as format 1 made it: the
        // record's `r` entry holds its LZ4 bytes.
        let old = tempfile::tempdir().expect("tempdir");
        let before = {
            let mut r = open_disk(old.path());
            let p = r.publish(&key(1), base("BEFORE-1"), NOW).expect("publish");
            let mut k = vec![b'r'];
            k.extend_from_slice(&p.id.0);
            let inline = setu_store::store::pack(&p.record);
            r.store()
                .backend()
                .apply(vec![(k, Some(inline))])
                .expect("inline");
            p
        };
        std::fs::write(old.path().join(FORMAT_FILE), "setu-data-format 1\n").expect("write");
        {
            let mut r = Replica::open(old.path(), Config::default()).expect("format 1 opens");
            let got = r.store().get(&before.id).expect("read").expect("held");
            assert_eq!(got, before.record, "a format 1 record reads back");
            r.publish(&key(1), base("AFTER-UPGRADE-1"), NOW)
                .expect("publish");
        }
        let text = std::fs::read_to_string(old.path().join(FORMAT_FILE)).expect("read");
        assert_eq!(text, format!("setu-data-format {FORMAT_VERSION}\n"));
        assert!(
            old.path()
                .join("db/values/00000000.log")
                .metadata()
                .expect("log")
                .len()
                > 0
        );
        assert_eq!(
            found(&reopen(old.path()), &all()),
            set(&["BEFORE-1", "AFTER-UPGRADE-1"])
        );

        // No FORMAT file at all.
        let empty = tempfile::tempdir().expect("tempdir");
        match Replica::open(empty.path(), Config::default()) {
            Err(Error::Format(msg)) => assert!(msg.contains("setu init"), "{msg}"),
            other => panic!("a directory without FORMAT opened: {other:?}"),
        }
        assert!(!empty.path().join("db").exists());

        // Unreadable content.
        std::fs::write(empty.path().join(FORMAT_FILE), "hello\n").expect("write");
        match Replica::open(empty.path(), Config::default()) {
            Err(Error::Format(msg)) => assert!(msg.contains("unrecognised"), "{msg}"),
            other => panic!("{other:?}"),
        }

        // create() refuses a directory that already holds a replica, and the
        // replica in it is untouched.
        let used = tempfile::tempdir().expect("tempdir");
        {
            let mut r = open_disk(used.path());
            r.publish(&key(1), base("KEEP-1"), NOW).expect("publish");
        }
        match Replica::create(used.path()) {
            Err(Error::Format(msg)) => assert!(msg.contains("already holds"), "{msg}"),
            other => panic!("{other:?}"),
        }
        let text = std::fs::read_to_string(used.path().join(FORMAT_FILE)).expect("read");
        assert_eq!(text, format!("setu-data-format {FORMAT_VERSION}\n"));
        let r = reopen(used.path());
        assert_eq!(found(&r, &all()), set(&["KEEP-1"]));
    }
}

/// The index adds a practice it has never held without deleting first; a
/// practice revised in the same batch, or after a commit, still leaves
/// exactly one document per linked revision.
#[test]
fn revisions_in_one_batch_and_after_a_commit_leave_one_document_each() {
    let mut r = memory();
    let k = key(1);
    let p1 = practice(base("ONE-1"));
    let (id1, b1) = sign(&k, 1, NOW, &p1);
    let p2 = next(&p1, id1, "second");
    let (id2, b2) = sign(&k, 2, NOW, &p2);
    let p3 = next(&p2, id2, "third");
    let (id3, b3) = sign(&k, 3, NOW, &p3);
    let other = practice(base("ONE-2"));
    let (_, bo) = sign(&k, 4, NOW, &other);
    // Three revisions of one practice and a new practice, in one batch.
    ingest(&mut r, vec![b1, b2, b3, bo], NOW);
    r.flush_index().expect("flush the index");
    assert_eq!(r.status().expect("status").indexed_documents, 4);
    // A fourth revision after that commit replaces the practice's documents.
    let p4 = next(&p3, id3, "fourth");
    let (_, b4) = sign(&k, 5, NOW, &p4);
    ingest(&mut r, vec![b4], NOW);
    r.flush_index().expect("flush the index");
    assert_eq!(r.status().expect("status").indexed_documents, 5);
    let titles = search(&r, "fourth");
    assert_eq!(titles, set(&["ONE-1"]));
}
