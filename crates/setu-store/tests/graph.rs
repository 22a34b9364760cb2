//! The adoption graph and matchmaking over a replica: adoption reports
//! change what another author's practice shows (its count, filters and
//! facets), a report may arrive before its practice, withdrawn reports stop
//! counting, the index heals other authors' practices after a crash, and
//! needs find practices by words, SDG targets and sectors.

use serde_json::{Value as Json, json};
use setu_core::keys::SecretKey;
use setu_core::record;
use setu_store::ingest;
use setu_store::matching::Need;
use setu_store::query::{Query, TextMatch};
use setu_store::replica::{Config, Replica};

/// 2026-01-01T00:00:00Z, in ms.
const NOW: u64 = 1_767_225_600_000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

fn practice(pid: &str, words: &str) -> Json {
    json!({
        "practice_id": pid,
        "title": {"original": "en", "text": {"en": words}},
        "summary": {"original": "en", "text": {"en": "A short summary."}},
        "challenge": {"original": "en", "text": {"en": "The problem."}},
        "solution": {"original": "en", "text": {"en": words}},
        "countries": [{"iso3": "BGD", "role": "originating"}],
        "sdg_targets": ["16.6"],
        "sectors": [{"vocabulary": "dac5", "code": "15110"}],
        "status": 2,
        "period": {"start": "2012-06"},
        "metrics": [{"kind": "time", "stage": "digital", "method": "survey", "change_bp": -7814}],
    })
}

fn adoption(id: &str, publisher: &SecretKey, pid: &str, country: &str, stage: &str) -> Json {
    json!({
        "adoption_id": id,
        "practice": {"key": publisher.author().to_hex(), "practice_id": pid},
        "country": country,
        "stage": stage,
        "period": {"start": "2018-06"},
        "adaptation": {"original": "en", "text": {"en": "Run by county offices."}},
        "metrics": [{"kind": "time", "stage": "digital", "method": "admin", "change_bp": -5000}],
    })
}

fn count(r: &Replica<impl setu_store::backend::Backend>, q: Query) -> usize {
    r.query(&q).expect("query").total
}

fn min(n: u64) -> Query {
    Query {
        min_adoptions: Some(n),
        ..Query::default()
    }
}

#[test]
fn adoptions_change_what_another_authors_practice_shows() {
    let mut r = Replica::in_memory(Config::default()).expect("replica");
    let (origin, adopter, other) = (key(1), key(2), key(3));
    r.publish(&origin, practice("BGD-1", "Union digital centres"), NOW)
        .expect("publish");
    r.publish(&origin, practice("BGD-2", "Land records online"), NOW + 1)
        .expect("publish");
    assert_eq!(count(&r, min(1)), 0);

    r.publish_kind(
        &adopter,
        "adoption",
        adoption("KEN-1", &origin, "BGD-1", "KEN", "scaled"),
        NOW + 2,
    )
    .expect("adopt");
    r.publish_kind(
        &other,
        "adoption",
        adoption("BRA-1", &origin, "BGD-1", "BRA", "piloting"),
        NOW + 3,
    )
    .expect("adopt");
    r.flush_index().expect("flush");
    let hits = r.query(&min(2)).expect("query");
    assert_eq!(hits.total, 1);
    assert_eq!(hits.hits[0].practice_id, "BGD-1");
    assert_eq!(hits.hits[0].adoptions, 2);
    let in_ken = Query {
        adopted_in: vec!["KEN".into()],
        ..Query::default()
    };
    assert_eq!(count(&r, in_ken.clone()), 1);
    // Country and stage together must hold for one adoption.
    let ken_piloting = Query {
        adopted_in: vec!["KEN".into()],
        adoption_stage: vec!["piloting".into()],
        ..Query::default()
    };
    assert_eq!(count(&r, ken_piloting), 0);
    let f = r.facets(&Query::default()).expect("facets");
    assert_eq!(f.adoptions, vec![("BRA".into(), 1), ("KEN".into(), 1)]);
    assert_eq!(
        f.adoption_stage,
        vec![("piloting".into(), 1), ("scaled".into(), 1)]
    );

    // The adopter's view beside the origin's.
    let views = r
        .adoptions_of(&origin.author(), "BGD-1")
        .expect("adoptions");
    assert_eq!(views.len(), 2);
    let ken = views
        .iter()
        .find(|v| v.adopted.adoption.country.as_deref() == Some("KEN"))
        .expect("KEN");
    assert_eq!(ken.years_from_origin, Some(6.0));
    assert_eq!(ken.tcv[0].origin_bp, Some(-7814));
    assert_eq!(ken.tcv[0].adopter_bp, Some(-5000));
    let scaled = r.scaling(None).expect("scaling");
    assert_eq!(scaled.len(), 1);
    assert_eq!(scaled[0].stages["scaled"], vec!["KEN".to_string()]);

    // A revision replaces the report; a withdrawal stops it counting.
    r.publish_kind(
        &adopter,
        "adoption",
        adoption("KEN-1", &origin, "BGD-1", "KEN", "discontinued"),
        NOW + 4,
    )
    .expect("revise");
    r.flush_index().expect("flush");
    assert_eq!(r.query(&min(2)).expect("q").hits[0].adoptions, 2);
    assert_eq!(count(&r, in_ken.clone()), 1);
    r.withdraw_kind(&adopter, "adoption", "KEN-1", "entered in error", NOW + 5)
        .expect("withdraw");
    r.flush_index().expect("flush");
    assert_eq!(count(&r, min(2)), 0);
    assert_eq!(count(&r, in_ken), 0);
    assert_eq!(count(&r, min(1)), 1);
    // Withdrawal is final for reports too.
    let again = r.publish_kind(
        &adopter,
        "adoption",
        adoption("KEN-1", &origin, "BGD-1", "KEN", "scaled"),
        NOW + 6,
    );
    assert!(again.is_err(), "{again:?}");
}

#[test]
fn a_report_may_arrive_before_its_practice() {
    let (origin, adopter) = (key(1), key(2));
    let p = record::sign_practice(
        &origin,
        1,
        NOW,
        &serde_json::from_value({
            let mut b = practice("BGD-1", "Union digital centres");
            b["revision"] = json!(1);
            b["state"] = json!("active");
            b["licence"] = json!("CC-BY-4.0");
            b
        })
        .expect("body"),
    )
    .expect("sign");
    let a = record::sign_adoption(
        &adopter,
        1,
        NOW,
        &serde_json::from_value({
            let mut b = adoption("KEN-1", &origin, "BGD-1", "KEN", "piloting");
            b["revision"] = json!(1);
            b["state"] = json!("active");
            b
        })
        .expect("body"),
    )
    .expect("sign");
    let mut r = Replica::in_memory(Config::default()).expect("replica");
    let done = r.ingest(vec![a.bytes().to_vec()], NOW).expect("ingest");
    assert!(done.outcomes[0].is_stored(), "{:?}", done.outcomes);
    let all = r.adoptions(10).expect("adoptions");
    assert_eq!(all.len(), 1);
    assert!(all[0].practice.is_none(), "practice not yet received");
    r.ingest(vec![p.bytes().to_vec()], NOW).expect("ingest");
    r.flush_index().expect("flush");
    assert_eq!(count(&r, min(1)), 1);
    assert!(r.adoptions(10).expect("adoptions")[0].practice.is_some());
}

#[test]
fn the_index_heals_other_authors_practices_after_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (origin, adopter) = (key(1), key(2));
    Replica::create(dir.path()).expect("create");
    let a = {
        let mut b = adoption("KEN-1", &origin, "BGD-1", "KEN", "scaled");
        b["revision"] = json!(1);
        b["state"] = json!("active");
        record::sign_adoption(&adopter, 1, NOW, &serde_json::from_value(b).expect("body"))
            .expect("sign")
    };
    {
        let mut r = Replica::open(dir.path(), Config::default()).expect("open");
        r.publish(&origin, practice("BGD-1", "Union digital centres"), NOW)
            .expect("publish");
        r.flush_index().expect("flush");
        // The report reaches the store but never the index: the node stops
        // between the two.
        let done = ingest::ingest(
            r.store(),
            vec![a.bytes().to_vec()],
            NOW,
            &Default::default(),
        )
        .expect("ingest");
        assert!(done.outcomes[0].is_stored());
        assert_eq!(count(&r, min(1)), 0, "the index has not seen it");
    }
    let r = Replica::open(dir.path(), Config::default()).expect("reopen");
    assert_eq!(count(&r, min(1)), 1, "healed at open");
}

#[test]
fn any_word_search_finds_a_sentence_and_needs_match_with_reasons() {
    let mut r = Replica::in_memory(Config::default()).expect("replica");
    let k = key(1);
    r.publish(
        &k,
        practice("PAY-1", "Biometric payroll audit removes ghost workers"),
        NOW,
    )
    .expect("publish");
    let mut other = practice("ROAD-1", "Rural telecentres run by local contractors");
    other["sdg_targets"] = json!(["9.1"]);
    other["sectors"] = json!([{"vocabulary": "dac5", "code": "22040"}]);
    other["metrics"] = Json::Null;
    other.as_object_mut().expect("object").remove("metrics");
    r.publish(&k, other, NOW + 1).expect("publish");
    r.flush_index().expect("flush");
    let sentence = "Our public payroll has ghost workers and duplicate salaries";
    let all = Query {
        text: Some(sentence.into()),
        text_match: TextMatch::All,
        ..Query::default()
    };
    assert_eq!(count(&r, all), 0, "every word must match");
    let any = Query {
        text: Some(sentence.into()),
        ..Query::default()
    };
    let hits = r.query(&any).expect("query");
    assert_eq!(hits.total, 1);
    assert_eq!(hits.hits[0].practice_id, "PAY-1");

    let m = r
        .matches(
            &Need {
                text: sentence.into(),
                sdg: vec!["16.6".into()],
                ..Need::default()
            },
            5,
        )
        .expect("match");
    assert_eq!(m[0].practice_id, "PAY-1");
    assert!(
        m[0].reasons.iter().any(|x| x == "shares SDG 16.6"),
        "{:?}",
        m[0].reasons
    );
    assert!(
        m[0].reasons.iter().any(|x| x.contains("'payroll'")),
        "{:?}",
        m[0].reasons
    );
    // A need in a language no practice is written in finds practices by
    // its targets and sectors.
    let thai = r
        .matches(
            &Need {
                text: "ถนนในชนบทชำรุด".into(),
                sectors: vec!["dac5:22040".into()],
                ..Need::default()
            },
            5,
        )
        .expect("match");
    assert_eq!(thai[0].practice_id, "ROAD-1");
}

#[test]
fn records_an_older_version_held_opaque_are_filed_after_an_upgrade() {
    use setu_core::record::KnownKinds;
    let (origin, adopter) = (key(1), key(2));
    let mut r = Replica::in_memory(Config::default()).expect("replica");
    r.publish(&origin, practice("BGD-1", "Union digital centres"), NOW)
        .expect("publish");
    let a = record::sign_adoption(
        &adopter,
        1,
        NOW,
        &serde_json::from_value({
            let mut b = adoption("KEN-1", &origin, "BGD-1", "KEN", "scaled");
            b["revision"] = json!(1);
            b["state"] = json!("active");
            b
        })
        .expect("body"),
    )
    .expect("sign");
    // As a node before the adoption kinds stores it: opaque, no chain.
    let opaque = a.clone().as_known_by(KnownKinds::PracticeOnly);
    let done = ingest::ingest_checked(
        r.store(),
        vec![(Some(a.id()), Ok(opaque))],
        NOW,
        &Default::default(),
    )
    .expect("ingest");
    assert!(done.outcomes[0].is_stored());
    assert!(
        r.adoptions(10).expect("adoptions").is_empty(),
        "no chain yet"
    );
    assert_eq!(r.file_new_kinds(NOW).expect("file"), 1);
    r.flush_index().expect("flush");
    assert_eq!(r.adoptions(10).expect("adoptions").len(), 1);
    assert_eq!(count(&r, min(1)), 1);
    assert_eq!(r.store().meta().expect("meta").records, 2);
    // Once per store.
    assert_eq!(r.file_new_kinds(NOW).expect("again"), 0);
}
