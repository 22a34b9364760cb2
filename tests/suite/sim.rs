//! Seeded simulations of the shipped state machine (`setu-sim`): many
//! nodes, hostile peers, partitions, restarts and nodes of other rule
//! versions, all on a virtual clock. A failure names its seed; replay it
//! with `SEED=<seed> cargo test -p setu-tests sim::`. The size of the big
//! case is `SIM_NODES` (100 by default).

use setu_proto::message::{Request, Response};
use setu_sim::net::{Config, Sim, Topology};
use setu_sim::store::Rules;
use setu_sim::{partition_heal, records, seed_or};

fn nodes() -> usize {
    std::env::var("SIM_NODES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
}

#[test]
fn a_hundred_nodes_converge_after_a_three_way_partition_heals() {
    let seed = seed_or(11);
    let cfg = Config {
        nodes: nodes(),
        loss: 0.01,
        seed,
        ..Config::default()
    };
    let r = partition_heal(cfg.clone(), 50, 3, 150, 30_000);
    eprintln!(
        "SEED={seed}: {r:?}; bodies per missing record {:.3}",
        r.bodies_per_missing()
    );
    assert!(r.converged, "SEED={seed}: {r:?}");
    assert_eq!(r.records, 200, "SEED={seed}");
    assert!(
        r.missing > 0,
        "SEED={seed}: the partition kept records apart"
    );
    // Pulling what reconciliation found missing, one peer at a time: about
    // one body per missing record (the goal is 1.05).
    assert!(r.bodies >= r.missing, "SEED={seed}: {r:?}");
    assert!(r.bodies_per_missing() <= 1.05, "SEED={seed}: {r:?}");
    // The same seed replays the same run.
    let again = partition_heal(cfg, 50, 3, 150, 30_000);
    assert_eq!(r, again, "SEED={seed}");
}

/// A network with node 0 scripted (hostile) and `n - 1` honest nodes that
/// hold `recs` between them.
fn with_hostile(seed: u64, n: usize, recs: &[Vec<u8>]) -> Sim {
    let mut sim = Sim::new(Config {
        nodes: n,
        topology: Topology::Random { degree: 2 },
        seed,
        ..Config::default()
    });
    sim.script(0);
    for (i, r) in recs.iter().enumerate() {
        sim.preload(1 + (i % (n - 1)) as u32, std::slice::from_ref(r));
    }
    sim
}

fn neighbours_of_0(sim: &Sim) -> Vec<u32> {
    (1..sim.len() as u32)
        .filter(|n| sim.state(*n).peers().any(|p| *p == 0))
        .collect()
}

#[test]
fn forged_signatures_and_junk_frames_get_their_sender_banned_and_nothing_else_changes() {
    let seed = seed_or(21);
    let recs = records(seed, 40);
    let mut sim = with_hostile(seed, 8, &recs);
    sim.run_for(1_000);
    let victims = neighbours_of_0(&sim);
    assert!(victims.len() >= 2, "SEED={seed}: node 0 has neighbours");
    let (a, b) = (victims[0], victims[1]);
    // A record whose signature does not match: flip a byte of the last
    // (signature) bytes of a valid record.
    let mut forged = records(seed ^ 1, 1).remove(0);
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    sim.send_raw(0, a, Request::Push(vec![forged]).encode());
    // Junk: a frame with an unknown tag.
    sim.send_raw(0, b, vec![0x99, 1, 2, 3]);
    let ok = sim.run_until(120_000, &|s| s.converged());
    assert!(ok, "SEED={seed}: honest nodes converge");
    for v in [a, b] {
        assert!(
            sim.state(v).is_banned(&0),
            "SEED={seed}: {v} banned the sender"
        );
    }
    assert!(
        sim.bans.iter().all(|(_, whom, _)| *whom == 0),
        "SEED={seed}: only the hostile node is banned: {:?}",
        sim.bans
    );
    assert!(sim.total(|c| c.refused_invalid) >= 1, "SEED={seed}");
}

#[test]
fn an_oversize_or_cut_frame_is_malformed_input_and_gets_its_sender_banned() {
    let seed = seed_or(22);
    let mut sim = with_hostile(seed, 4, &records(seed, 5));
    sim.run_for(1_000);
    let v = neighbours_of_0(&sim)[0];
    sim.malformed(0, v, "frame over MAX_FRAME_BYTES");
    sim.run_for(1_000);
    assert!(sim.state(v).is_banned(&0), "SEED={seed}");
    assert!(
        sim.bans
            .iter()
            .any(|(by, _, why)| *by == v && why.contains("MAX_FRAME_BYTES"))
    );
}

#[test]
fn a_flood_of_requests_is_refused_past_the_budget_without_a_ban() {
    let seed = seed_or(23);
    let recs = records(seed, 20);
    let mut sim = with_hostile(seed, 4, &recs);
    sim.run_for(1_000);
    let v = neighbours_of_0(&sim)[0];
    let before = sim.state(v).counters().requests_refused;
    let id = [7u8; 32];
    for _ in 0..1_000 {
        sim.send_raw(0, v, Request::Fetch(vec![id]).encode());
    }
    sim.run_for(2_000);
    let refused = sim.state(v).counters().requests_refused - before;
    // 400 in the burst, plus what refilled while they arrived (at most
    // the latency spread, 190 ms, at 100 a second).
    assert!(
        (550..=610).contains(&refused),
        "SEED={seed}: {refused} refused"
    );
    let busy = sim.inbox[&0]
        .iter()
        .filter(|r| {
            matches!(r, setu_sim::net::Received::Response(_, b)
            if matches!(Response::decode(b), Ok(Response::Refused { .. })))
        })
        .count() as u64;
    assert_eq!(
        busy, refused,
        "SEED={seed}: each refused request was answered so"
    );
    assert!(
        !sim.state(v).is_banned(&0),
        "SEED={seed}: a flood is no offence"
    );
    assert!(sim.run_until(120_000, &|s| s.converged()), "SEED={seed}");
}

#[test]
fn an_over_quota_author_is_refused_by_admission_without_bans() {
    let seed = seed_or(24);
    // 8 authors, 16 records each: at most 5 an hour per author pass.
    let recs = records(seed, 128);
    let mut sim = Sim::new(Config {
        nodes: 6,
        seed,
        admission: setu_proto::admission::Config {
            max_records_per_hour: Some(5),
            ..Default::default()
        },
        ..Config::default()
    });
    sim.preload_unexpected(0, &recs);
    sim.run_for(60_000);
    assert!(sim.bans.is_empty(), "SEED={seed}: {:?}", sim.bans);
    for n in 1..6 {
        let held = sim.store(n).len();
        // The first node that took them from node 0 counts 5 per author;
        // every node charges its own quota for what it stores.
        assert_eq!(held, 8 * 5, "SEED={seed}: node {n} holds {held}");
    }
    assert!(sim.total(|c| c.refused_admission) > 0, "SEED={seed}");
}

#[test]
fn a_node_at_the_end_of_a_line_gets_what_the_other_end_publishes() {
    let seed = seed_or(25);
    let recs = records(seed, 30);
    let mut sim = Sim::new(Config {
        nodes: 10,
        topology: Topology::Line,
        seed,
        ..Config::default()
    });
    sim.preload(0, &recs[..20]);
    sim.run_for(5_000);
    sim.publish(0, &recs[20..]);
    let ok = sim.run_until(300_000, &|s| s.converged());
    assert!(ok, "SEED={seed}: line of 10 converges");
    assert_eq!(sim.store(9).len(), 30);
    assert!(sim.bans.is_empty());
}

#[test]
fn a_restarted_node_catches_up() {
    let seed = seed_or(26);
    let recs = records(seed, 60);
    let mut sim = Sim::new(Config {
        nodes: 8,
        seed,
        ..Config::default()
    });
    sim.preload(1, &recs[..20]);
    assert!(sim.run_until(60_000, &|s| s.converged()), "SEED={seed}");
    sim.set_online(5, false);
    sim.publish(2, &recs[20..40]);
    sim.preload(3, &recs[40..]);
    sim.run_for(30_000);
    assert_eq!(
        sim.store(5).len(),
        20,
        "SEED={seed}: offline, it got nothing"
    );
    sim.set_online(5, true);
    assert!(
        sim.run_until(sim.now() + 120_000, &|s| s.converged()),
        "SEED={seed}"
    );
    assert_eq!(sim.store(5).len(), 60);
}

#[test]
fn nodes_of_different_rule_versions_neither_ban_nor_resend_each_round() {
    let seed = seed_or(27);
    let recs = records(seed, 200);
    for pull in [true, false] {
        let mut sim = Sim::new(Config {
            nodes: 4,
            topology: Topology::Random { degree: 2 },
            sync_interval_ms: 2_000,
            pull,
            seed,
            ..Config::default()
        });
        // Node 0 refuses what an older version would (first id byte below
        // 0x40); node 1 what a newer one would (0xc0 and up). Both ways:
        // each holds records the other refuses.
        sim.set_rules(0, Rules::RefuseBelow(0x40));
        sim.set_rules(1, Rules::RefuseFrom(0xc0));
        sim.preload_unexpected(0, &recs[..100]);
        sim.preload_unexpected(1, &recs[100..]);
        sim.run_for(60_000);
        assert!(
            sim.bans.is_empty(),
            "SEED={seed} pull={pull}: {:?}",
            sim.bans
        );
        let refused = sim.total(|c| c.refused_rule);
        assert!(
            refused > 0,
            "SEED={seed} pull={pull}: some records were refused"
        );
        // Twenty more rounds: with offers and wants, nothing refused is
        // sent again; with version-1 pushes it is, every round.
        let bodies = sim.total(|c| c.bodies_received);
        sim.run_for(40_000);
        let again = sim.total(|c| c.bodies_received) - bodies;
        if pull {
            assert_eq!(again, 0, "SEED={seed}: no record is sent twice");
        } else {
            assert!(
                again > 0,
                "SEED={seed}: version 1 re-pushes (the reason for version 2)"
            );
        }
        assert!(sim.bans.is_empty(), "SEED={seed} pull={pull}");
    }
}

/// Adoption reports, needs and attachments signed by one key; and two
/// records whose bodies this version's schema refuses: an adoption with no
/// `adaptation`, which a node knowing only practices holds as an opaque
/// record, and an attachment of size 0, which every node before the
/// attachment kind holds as one.
struct NewKinds {
    good: Vec<Vec<u8>>,
    bad_adoption: Vec<u8>,
    bad_attachment: Vec<u8>,
}

fn new_kinds(seed: u64) -> NewKinds {
    use setu_core::cbor::{Value, encode};
    let key = setu_core::keys::SecretKey::from_seed(&[seed as u8 ^ 0x5a; 32]);
    let ts = setu_sim::net::EPOCH_MS - 60_000;
    // Signed without the checks `record::sign` runs: an older signer.
    let sign_raw = |kind: &str, seq: u64, body: serde_json::Value| {
        let env = encode(&Value::map([
            ("v", Value::Uint(1)),
            ("kind", Value::text(kind)),
            ("author", Value::Bytes(key.author().0.to_vec())),
            ("seq", Value::Uint(seq)),
            ("ts", Value::Uint(ts + seq)),
            (
                "body",
                setu_core::json::from_json(&body).expect("a CBOR body"),
            ),
        ]))
        .expect("encode");
        let sig = key.sign_id(&setu_core::ids::RecordId::of_envelope(&env));
        encode(&Value::Array(vec![
            Value::Bytes(env),
            Value::Bytes(sig.to_vec()),
        ]))
        .expect("encode")
    };
    let adoption = |i: u64, with_adaptation: bool| {
        let mut b = serde_json::json!({
            "adoption_id": format!("KEN-{i}"), "revision": 1, "state": "active",
            "licence": "CC-BY-4.0",
            "practice": {"member": "bgd-a2i", "practice_id": format!("BGD-{i}")},
            "country": "KEN", "stage": "piloting", "period": {"start": "2020"},
            "adaptation": {"original": "en", "text": {"en": "county offices"}},
        });
        if !with_adaptation {
            b.as_object_mut().map(|o| o.remove("adaptation"));
        }
        sign_raw("adoption", i + 1, b)
    };
    let seeking = {
        let b: setu_core::seeking::Seeking = serde_json::from_value(serde_json::json!({
            "seeking_id": "KEN-NEED-1", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
            "country": "KEN",
            "title": {"original": "en", "text": {"en": "Payroll"}},
            "challenge": {"original": "en", "text": {"en": "Ghost workers"}},
        }))
        .expect("a seeking body");
        setu_core::record::sign_seeking(&key, 100, ts + 100, &b)
            .expect("sign")
            .into_bytes()
    };
    // The hash is a byte string in CBOR; `json::from_json` reads every
    // string as text, so the typed body writes it.
    let attachment = |i: u64, size: u64| {
        let b: setu_core::attachment::Attachment = serde_json::from_value(serde_json::json!({
            "attachment_id": format!("KEN-ATT-{i}"), "revision": 1, "state": "active",
            "adoption": {"member": "ke-huduma", "adoption_id": format!("KEN-{i}")},
            "hash": format!("{i:02x}").repeat(32), "size": size,
            "media_type": "application/pdf",
            "title": {"original": "en", "text": {"en": "Evaluation"}},
            "language": "en", "category": "report",
        }))
        .expect("an attachment body");
        let body = setu_core::cbor::to_value(&b).expect("a CBOR body");
        let env = encode(&Value::map([
            ("v", Value::Uint(1)),
            ("kind", Value::text("attachment")),
            ("author", Value::Bytes(key.author().0.to_vec())),
            ("seq", Value::Uint(200 + i)),
            ("ts", Value::Uint(ts + 200 + i)),
            ("body", body),
        ]))
        .expect("encode");
        let sig = key.sign_id(&setu_core::ids::RecordId::of_envelope(&env));
        encode(&Value::Array(vec![
            Value::Bytes(env),
            Value::Bytes(sig.to_vec()),
        ]))
        .expect("encode")
    };
    let mut good: Vec<Vec<u8>> = (0..5).map(|i| adoption(i, true)).collect();
    good.push(seeking);
    good.extend((0..3).map(|i| attachment(i, 40_000)));
    NewKinds {
        good,
        bad_adoption: adoption(50, false),
        bad_attachment: attachment(50, 0),
    }
}

#[test]
fn older_nodes_relay_the_new_kinds_and_nobody_is_banned_either_way() {
    let seed = seed_or(41);
    let kinds = new_kinds(seed);
    let id = |r: &Vec<u8>| setu_core::record::parse(r.clone()).expect("parse").id().0;
    // Node 1 runs the rules of before the adoption kinds, then of before
    // the attachment kind. What its rules accept and ours refuse: both bad
    // records for the first, only the attachment for the second.
    for (rules, held) in [
        (
            Rules::PracticeOnly,
            vec![kinds.bad_adoption.clone(), kinds.bad_attachment.clone()],
        ),
        (Rules::BeforeAttachment, vec![kinds.bad_attachment.clone()]),
    ] {
        for pull in [true, false] {
            // A line 0 - 1 - 2, so whatever 0 and 2 exchange passes through 1.
            let mut sim = Sim::new(Config {
                nodes: 3,
                topology: Topology::Line,
                sync_interval_ms: 2_000,
                pull,
                seed,
                ..Config::default()
            });
            sim.set_rules(1, rules);
            sim.preload(0, &kinds.good);
            // The older node holds records its rules accept and ours refuse.
            sim.preload_unexpected(1, &held);
            assert!(
                sim.run_until(120_000, &|s| s.converged()),
                "SEED={seed} {rules:?} pull={pull}: the new kinds reach node 2 through the older node 1"
            );
            sim.run_for(20_000);
            for r in &held {
                let id = id(r);
                assert!(
                    sim.store(1).shows(&id),
                    "SEED={seed} {rules:?}: the older node holds it"
                );
                assert!(
                    !sim.store(0).holds(&id) && !sim.store(2).holds(&id),
                    "SEED={seed} {rules:?}: newer nodes refuse it"
                );
            }
            if rules == Rules::BeforeAttachment {
                // It refuses the bad adoption itself, as this version does.
                sim.preload_unexpected(1, std::slice::from_ref(&kinds.bad_adoption));
                assert!(
                    !sim.store(1).holds(&id(&kinds.bad_adoption)),
                    "SEED={seed}: a node before attachments still checks adoptions"
                );
            }
            assert!(
                sim.total(|c| c.refused_rule) > 0,
                "SEED={seed} {rules:?} pull={pull}: it was offered and refused by the schema"
            );
            assert!(
                sim.bans.is_empty(),
                "SEED={seed} {rules:?} pull={pull}: nobody is banned: {:?}",
                sim.bans
            );
        }
    }
}
