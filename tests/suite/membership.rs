//! Membership over the simulated network (`spec/membership.md`):
//! membership operations and practices published on every side of a
//! three-way partition, every node accepting by membership; after the
//! heal every node holds the same records and computes the same members,
//! the same epoch and the same validity for every record, from the
//! records it holds alone. Then the same over five real nodes. Replay with `SEED=<seed>`; the size is
//! `SIM_NODES` (100 by default).

use std::collections::BTreeMap;

use setu_core::ids::RecordId;
use setu_core::keys::SecretKey;
use setu_core::record::{self, Record};
use setu_member::charter::{
    Affiliation, Charter, Draft, Entry, NetworkId, Role, Sealed, Threshold,
};
use setu_member::op::{self, Body, Epoch, Op, Signed};
use setu_member::table::secret;
use setu_member::view::{Subject, Validity, View};
use setu_sim::net::{Config, EPOCH_MS, Sim};
use setu_sim::{Rng, seed_or};

fn nodes() -> usize {
    std::env::var("SIM_NODES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
}

fn entry(id: &str, key: &str) -> Entry {
    Entry {
        id: id.into(),
        affiliation: Affiliation::Country("BGD".into()),
        agency: format!("Agency {id}"),
        role: Role::Member,
        key: secret(key).author(),
    }
}

fn charter() -> Sealed {
    charter_of("simulated", &["a", "b", "c", "d", "e"])
}

/// A charter of these founders (member id = key name), majority quorums,
/// signed by every founder.
fn charter_of(name: &str, ids: &[&str]) -> Sealed {
    let mut d = Draft::new(Charter {
        name: name.into(),
        members: ids.iter().map(|i| entry(i, i)).collect(),
        admit: Threshold::MAJORITY,
        recover: Threshold::MAJORITY,
    })
    .expect("charter");
    for i in ids {
        d.sign(&secret(i)).expect("founder signs");
    }
    d.seal().expect("sealed")
}

/// Signs records with named keys, each key's seq counting up.
struct Signer {
    net: NetworkId,
    seqs: BTreeMap<String, u64>,
}

impl Signer {
    fn seq(&mut self, key: &str) -> u64 {
        let s = self.seqs.entry(key.to_string()).or_insert(0);
        *s += 1;
        *s
    }

    fn op(&mut self, key: &str, op: Op) -> Vec<u8> {
        let seq = self.seq(key);
        op::sign(&secret(key), seq, EPOCH_MS, &Body { net: self.net, op })
            .expect("operation")
            .into_bytes()
    }

    fn practice(&mut self, key: &str, practice_id: &str) -> Vec<u8> {
        let seq = self.seq(key);
        let mut body = setu_store::synth::body(7, seq);
        body["practice_id"] = serde_json::json!(practice_id);
        let p = setu_store::replica::parse_practice(body).expect("synthetic practice");
        let k: SecretKey = secret(key);
        record::sign_practice(&k, seq, EPOCH_MS - 1_000, &p)
            .expect("practice")
            .into_bytes()
    }
}

/// What a node makes of the membership records it holds: its members,
/// epoch, and the validity of every record it holds.
fn view_of(sealed: &Sealed, held: &[Vec<u8>]) -> (View, BTreeMap<RecordId, Validity>) {
    let records: Vec<Record> = held
        .iter()
        .map(|b| record::check_trusted(b.clone()).expect("stored records check"))
        .collect();
    let ops: Vec<Signed> = records
        .iter()
        .filter_map(Signed::from_record)
        .map(|r| r.expect("membership body"))
        .collect();
    let view = View::compute(sealed, &ops);
    let validity = records
        .iter()
        .map(|r| (r.id(), view.validity(&Subject::of(r))))
        .collect();
    (view, validity)
}

#[test]
fn membership_converges_after_operations_on_every_side_of_a_partition() {
    let seed = seed_or(13);
    let n = nodes();
    let sealed = charter();
    let epoch0 = Epoch::genesis(sealed.network_id());
    let mut sim = Sim::new(Config {
        nodes: n,
        loss: 0.01,
        seed,
        ..Config::default()
    });
    // Every node accepts by membership, as a chartered node does.
    sim.set_charter(&sealed);
    sim.partition(|i| i as usize % 3);
    let mut rng = Rng::new(seed ^ 0x3e3);
    let mut s = Signer {
        net: sealed.network_id(),
        seqs: BTreeMap::new(),
    };
    // Nodes `i` with `i % 3 == group` make up a side.
    let publish = |sim: &mut Sim, group: u32, rng: &mut Rng, recs: Vec<Vec<u8>>| {
        let in_group = (n as u64 - u64::from(group)).div_ceil(3);
        sim.publish(group + 3 * rng.below(in_group) as u32, &recs);
    };

    // Side 0: f publishes before it is admitted (its record waits in
    // quarantine), then a, b, c admit f against the first epoch.
    let f_practice = s.practice("f", "BGD-f-1");
    publish(&mut sim, 0, &mut rng, vec![f_practice.clone()]);
    for k in ["a", "b", "c"] {
        let r = s.op(
            k,
            Op::Endorse {
                epoch: epoch0,
                entry: entry("f", "f"),
            },
        );
        publish(&mut sim, 0, &mut rng, vec![r]);
    }
    // Side 1: c, d, e admit g against the same epoch; d rotates to a new
    // key, which publishes.
    for k in ["c", "d", "e"] {
        let r = s.op(
            k,
            Op::Endorse {
                epoch: epoch0,
                entry: entry("g", "g"),
            },
        );
        publish(&mut sim, 1, &mut rng, vec![r]);
    }
    let rot = s.op(
        "d",
        Op::Rotate {
            member: "d".into(),
            key: secret("d2").author(),
        },
    );
    let d2_practice = s.practice("d2", "BGD-d-1");
    publish(&mut sim, 1, &mut rng, vec![rot, d2_practice.clone()]);
    // Side 2: b delegates a ministry key, which publishes in and out of
    // scope; a stranger publishes.
    let del = s.op(
        "b",
        Op::Delegate {
            member: "b".into(),
            key: secret("moh").author(),
            scope: vec!["BGD-moh-".into()],
            expires: None,
        },
    );
    let in_scope = s.practice("moh", "BGD-moh-1");
    let out_of_scope = s.practice("moh", "BGD-tax-1");
    let stranger = s.practice("stranger", "BGD-x-1");
    publish(
        &mut sim,
        2,
        &mut rng,
        vec![
            del,
            in_scope.clone(),
            out_of_scope.clone(),
            stranger.clone(),
        ],
    );

    sim.run_for(30_000);
    // While split, each side's nodes together hold their own side's
    // operations only, and so see different members.
    let side = |g: u32| -> Vec<String> {
        let mut held: Vec<Vec<u8>> = (g..n as u32)
            .step_by(3)
            .flat_map(|i| sim.store(i).records())
            .collect();
        held.sort();
        held.dedup();
        view_of(&sealed, &held).0.member_ids()
    };
    assert_eq!(side(0), ["a", "b", "c", "d", "e", "f"], "SEED={seed}");
    assert_eq!(side(1), ["a", "b", "c", "d", "e", "g"], "SEED={seed}");
    assert_eq!(side(2), ["a", "b", "c", "d", "e"], "SEED={seed}");

    sim.set_churn(0.0);
    sim.all_online();
    sim.heal();
    let healed = sim.now();
    let interval = Config::default().sync_interval_ms;
    assert!(
        sim.run_until(healed + 600 * interval, &|s| s.converged()),
        "SEED={seed}: records did not converge"
    );
    // f's practice left quarantine where it waited and spread from there.
    let f_id = record::check_trusted(f_practice.clone())
        .expect("record")
        .id()
        .0;
    let held_everywhere =
        |s: &Sim, id: &[u8; 32]| (0..s.len() as u32).all(|i| s.store(i).holds(id));
    let t = sim.now();
    assert!(
        sim.run_until(t + 600 * interval, &|s| held_everywhere(s, &f_id)),
        "SEED={seed}: f's practice did not reach every node"
    );
    // What membership refuses is stored nowhere: a stranger's record (held
    // in quarantine where it arrived) and a delegate's out of scope.
    for r in [&stranger, &out_of_scope] {
        let id = record::check_trusted(r.clone()).expect("record").id().0;
        assert!(
            (0..n as u32).all(|i| !sim.store(i).holds(&id)),
            "SEED={seed}"
        );
    }
    assert!(
        (0..n as u32).any(|i| sim.store(i).quarantined() > 0),
        "SEED={seed}: the stranger's record waits somewhere"
    );

    // Every node computes the same view from what it holds.
    let (first, validity) = view_of(&sealed, &sim.store(0).records());
    for node in 1..n as u32 {
        let (v, val) = view_of(&sealed, &sim.store(node).records());
        assert_eq!(v.epoch(), first.epoch(), "SEED={seed}: node {node} epoch");
        assert_eq!(
            v.member_ids(),
            first.member_ids(),
            "SEED={seed}: node {node}"
        );
        assert_eq!(val, validity, "SEED={seed}: node {node} validity");
    }
    assert_eq!(
        first.member_ids(),
        ["a", "b", "c", "d", "e", "f", "g"],
        "SEED={seed}"
    );
    assert_eq!(
        first.height(),
        1,
        "SEED={seed}: both admissions apply at the first epoch"
    );
    let of = |bytes: &Vec<u8>| {
        let id = record::check_trusted(bytes.clone()).expect("record").id();
        validity[&id].clone()
    };
    let valid = |m: &str, delegate: bool| Validity::Valid {
        member: m.into(),
        delegate,
    };
    assert_eq!(of(&f_practice), valid("f", false), "SEED={seed}");
    assert_eq!(of(&d2_practice), valid("d", false), "SEED={seed}");
    assert_eq!(of(&in_scope), valid("b", true), "SEED={seed}");

    // Theft: e publishes a practice; a thief with e's key withdraws it and
    // publishes junk on another side of a new partition, and every node
    // stores both. Then a, b, c and d, each on some side, revoke e's key
    // keeping only the genuine practice (not e's endorsement of g, which
    // counted at the first epoch and so stays valid). After the heal no
    // node shows the thief's records, every node shows the same records,
    // and g is still a member.
    let id_of = |r: &Vec<u8>| record::check_trusted(r.clone()).expect("record").id();
    let e1 = s.practice("e", "BGD-e-1");
    publish(&mut sim, 1, &mut rng, vec![e1.clone()]);
    let t = sim.now();
    assert!(
        sim.run_until(t + 600 * interval, &|s| held_everywhere(s, &id_of(&e1).0)),
        "SEED={seed}: e's practice did not reach every node"
    );
    let w = setu_core::practice::Practice::withdrawal("BGD-e-1", 2, id_of(&e1), "stolen");
    let w = record::sign_practice(&secret("e"), s.seq("e"), EPOCH_MS, &w)
        .expect("withdrawal")
        .into_bytes();
    let junk = s.practice("e", "BGD-e-junk");
    publish(&mut sim, 2, &mut rng, vec![w.clone(), junk.clone()]);
    let t = sim.now();
    assert!(
        sim.run_until(t + 600 * interval, &|s| {
            held_everywhere(s, &id_of(&w).0) && held_everywhere(s, &id_of(&junk).0)
        }),
        "SEED={seed}: the thief's records did not reach every node"
    );
    sim.partition(|i| i as usize % 3);
    let revoke = Op::Revoke {
        epoch: first.epoch(),
        member: "e".into(),
        key: secret("e").author(),
        valid: vec![id_of(&e1)],
    };
    // d signs with d2, the key it rotated to.
    for (side, k) in [(0, "a"), (1, "b"), (2, "c"), (0, "d2")] {
        let r = s.op(k, revoke.clone());
        publish(&mut sim, side, &mut rng, vec![r]);
    }
    sim.run_for(30_000);
    sim.heal();
    let thief = [id_of(&w).0, id_of(&junk).0];
    let t = sim.now();
    let settled = |s: &Sim| {
        (0..s.len() as u32).all(|i| {
            let st = s.store(i);
            thief.iter().all(|id| !st.shows(id)) && st.len() == s.store(0).len()
        })
    };
    assert!(
        sim.run_until(t + 600 * interval, &settled),
        "SEED={seed}: the thief's records are still shown somewhere"
    );
    let (last, validity) = view_of(&sealed, &sim.store(0).records());
    assert_eq!(last.height(), 2, "SEED={seed}: the revocation applied");
    for node in 1..n as u32 {
        let (v, val) = view_of(&sealed, &sim.store(node).records());
        assert_eq!(v.epoch(), last.epoch(), "SEED={seed}: node {node} epoch");
        assert_eq!(val, validity, "SEED={seed}: node {node} validity");
        assert!(sim.store(node).shows(&id_of(&e1).0), "SEED={seed}");
    }
    assert_eq!(
        last.member_ids(),
        ["a", "b", "c", "d", "e", "f", "g"],
        "SEED={seed}: g's admission stands"
    );
}

/// Five real nodes in a line (loopback TCP, sled on disk), one per
/// founder of a five-member charter. A sixth agency is admitted after
/// three endorsements and not before; its earlier record is quarantined,
/// then valid; a founder rotates its key; a stolen key is revoked and its
/// member recovered; and a node of another charter, dialled directly,
/// never exchanges a record with them. Every node computes the same view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_real_nodes_admit_rotate_revoke_and_recover() {
    use setu::Node;
    use setu_tests::net::{WAIT, addr, config, wait_until};
    use tempfile::TempDir;

    let sealed = charter();
    let founders = ["a", "b", "c", "d", "e"];
    let dirs: Vec<TempDir> = (0..6).map(|_| TempDir::new().expect("tempdir")).collect();
    let mut nodes: Vec<Node> = Vec::new();
    for (i, f) in founders.iter().enumerate() {
        let boot = match nodes.last() {
            Some(prev) => vec![addr(prev).await],
            None => vec![],
        };
        let mut cfg = config(dirs[i].path(), "ignored", Some(secret(f)), boot);
        cfg.charter = Some(sealed.clone());
        nodes.push(
            Node::start(cfg)
                .await
                .unwrap_or_else(|e| panic!("node {f}: {e}")),
        );
    }
    let all = |want: &'static [&'static str]| {
        let nodes = nodes.clone();
        async move {
            for n in &nodes {
                if n.members().await.expect("members").member_ids() != want {
                    return false;
                }
            }
            true
        }
    };
    // The sixth agency runs a node (at the end of the line) and publishes
    // before it is admitted: its own node holds the practice in quarantine,
    // and no one stores it.
    let mut cfg = config(
        dirs[5].path(),
        "ignored",
        Some(secret("f")),
        vec![addr(&nodes[4]).await],
    );
    cfg.charter = Some(sealed.clone());
    let f_node = Node::start(cfg).await.expect("f's node");
    let body = {
        let mut b = setu_store::synth::body(7, 1);
        b["practice_id"] = serde_json::json!("BGD-f-1");
        b
    };
    let e = f_node
        .publish(body)
        .await
        .expect_err("a non-member's record is not stored");
    assert!(e.to_string().contains("quarantine"), "{e}");
    let practices = |n: &Node| {
        let n = n.clone();
        async move { n.status().await.expect("status").replica.practices }
    };
    let everyone: Vec<Node> = nodes.iter().cloned().chain([f_node.clone()]).collect();
    for n in &everyone {
        assert_eq!(practices(n).await, 0);
    }

    // Two endorsements: not admitted (3 of 5 needed).
    let epoch = nodes[0].members().await.expect("members").epoch();
    let endorse = Op::Endorse {
        epoch,
        entry: entry("f", "f"),
    };
    nodes[0].operate(endorse.clone()).await.expect("a endorses");
    nodes[4].operate(endorse.clone()).await.expect("e endorses");
    wait_until(WAIT, "both endorsements to reach every node", || async {
        for n in &everyone {
            let v = n.members().await.expect("members");
            if v.pending().first().is_none_or(|p| p.signers.len() < 2) {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(
        nodes[2].members().await.expect("members").member_ids(),
        founders
    );
    // The third admits f on every node; f's quarantined practice is then
    // stored on its node and carried to every other.
    nodes[2].operate(endorse).await.expect("c endorses");
    wait_until(WAIT, "f to be admitted on every node", || {
        all(&["a", "b", "c", "d", "e", "f"])
    })
    .await;
    wait_until(WAIT, "f's practice to reach every node", || async {
        for n in &everyone {
            if practices(n).await != 1 {
                return false;
            }
        }
        true
    })
    .await;

    // b rotates to a new key; every node follows.
    nodes[1]
        .operate(Op::Rotate {
            member: "b".into(),
            key: secret("b2").author(),
        })
        .await
        .expect("b rotates");
    wait_until(WAIT, "every node to see b's new key", || async {
        for n in &nodes {
            let m = n.members().await.expect("members").member("b").expect("b");
            if m.current() != Some(secret("b2").author()) {
                return false;
            }
        }
        true
    })
    .await;

    // d's key is stolen: a quorum of four of six (a, c, e, f) revokes it,
    // then recovers d to a new key.
    let revoke_then = |op: fn(Epoch) -> Op| {
        let signers = [
            nodes[0].clone(),
            nodes[2].clone(),
            nodes[4].clone(),
            f_node.clone(),
        ];
        async move {
            // Every signer must sign against the same epoch: wait until all
            // show one epoch with nothing pending (what was signed before
            // has reached them all), then sign against it.
            wait_until(WAIT, "the signers to settle on one epoch", || async {
                let mut epochs = Vec::new();
                for n in &signers {
                    let v = n.members().await.expect("members");
                    if !v.pending().is_empty() {
                        return false;
                    }
                    epochs.push(v.epoch());
                }
                epochs.windows(2).all(|w| w[0] == w[1])
            })
            .await;
            let epoch = signers[0].members().await.expect("members").epoch();
            for n in &signers {
                n.operate(op(epoch)).await.expect("operate");
            }
        }
    };
    revoke_then(|epoch| Op::Revoke {
        epoch,
        member: "d".into(),
        key: secret("d").author(),
        valid: vec![],
    })
    .await;
    revoke_then(|epoch| Op::Recover {
        epoch,
        member: "d".into(),
        old: secret("d").author(),
        last: 0,
        key: secret("d2").author(),
    })
    .await;
    wait_until(WAIT, "every node to see d recovered", || async {
        for n in nodes.iter().chain([&f_node]) {
            let m = n.members().await.expect("members").member("d").expect("d");
            if m.current() != Some(secret("d2").author()) {
                return false;
            }
        }
        true
    })
    .await;

    // Every node computes the same epoch.
    let epoch = nodes[0].members().await.expect("members").epoch();
    for n in nodes.iter().chain([&f_node]) {
        assert_eq!(n.members().await.expect("members").epoch(), epoch);
    }

    // A node of another charter, dialled directly, gets nothing.
    let other_dir = TempDir::new().expect("tempdir");
    let mut cfg = config(
        other_dir.path(),
        "ignored",
        Some(SecretKey::generate()),
        vec![addr(&nodes[0]).await],
    );
    let mut other = Draft::new(Charter {
        name: "another network".into(),
        members: vec![entry("x", "x"), entry("y", "y")],
        admit: Threshold::MAJORITY,
        recover: Threshold::MAJORITY,
    })
    .expect("charter");
    other.sign(&secret("x")).expect("x signs");
    other.sign(&secret("y")).expect("y signs");
    cfg.charter = Some(other.seal().expect("sealed"));
    let stranger = Node::start(cfg).await.expect("stranger");
    // It runs a while beside them: several sync intervals of the test config.
    let held_before = nodes[0].status().await.expect("status").replica.records;
    for _ in 0..3 {
        stranger.sync_now().await.expect("sync");
        nodes[0].sync_now().await.expect("sync");
    }
    assert_eq!(stranger.status().await.expect("status").replica.records, 0);
    assert_eq!(
        nodes[0].status().await.expect("status").replica.records,
        held_before
    );

    for n in nodes.iter().chain([&f_node, &stranger]) {
        n.shutdown().await.expect("shutdown");
    }
}

/// The theft of `spec/membership.md` §6.2 over four real nodes (loopback
/// TCP, sled on disk): the agency a, the founders b and c, and a thief's
/// node running with a's stolen key. The thief withdraws a's two practices
/// (one at a seq a already used, one at a new seq), rotates a to its own
/// key and publishes junk with it; a publishes a genuine revision
/// meanwhile. After b and c revoke the stolen key (keeping a's genuine
/// records) and recover a to a new key, on every node: the junk and the
/// rotation are flagged invalid and kept, both practices are current
/// again with the genuine revision, and a's new key revises them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_key_is_revoked_and_what_the_thief_signed_is_undone_on_every_node() {
    use setu::Node;
    use setu_core::practice::Practice;
    use setu_tests::net::{WAIT, addr, config, wait_until};
    use tempfile::TempDir;

    let sealed = charter_of("theft", &["a", "b", "c"]);
    let dirs: Vec<TempDir> = (0..5).map(|_| TempDir::new().expect("tempdir")).collect();
    let mut nodes: Vec<Node> = Vec::new();
    // a, b, c, then the thief (a's key), in a line.
    for (i, k) in ["a", "b", "c", "a"].iter().enumerate() {
        let boot = match nodes.last() {
            Some(prev) => vec![addr(prev).await],
            None => vec![],
        };
        let mut cfg = config(dirs[i].path(), "ignored", Some(secret(k)), boot);
        cfg.charter = Some(sealed.clone());
        nodes.push(Node::start(cfg).await.expect("node"));
    }
    let (agency, thief) = (nodes[0].clone(), nodes[3].clone());
    let holds_everywhere = |id: RecordId, what: &'static str| {
        let nodes = nodes.clone();
        async move {
            wait_until(WAIT, what, || async {
                for n in &nodes {
                    if n.record(id).await.expect("record").is_none() {
                        return false;
                    }
                }
                true
            })
            .await;
        }
    };
    let body = |pid: &str, title: &str| {
        let mut b = setu_store::synth::body(3, 1);
        b["practice_id"] = serde_json::json!(pid);
        b["title"] = serde_json::json!({"original": "en", "text": {"en": title}});
        b
    };
    // a publishes two practices, and a second revision of the first.
    let p1 = agency
        .publish(body("BGD-a-1", "One-stop centres"))
        .await
        .expect("p1");
    let p2 = agency
        .publish(body("BGD-a-2", "Land records online"))
        .await
        .expect("p2");
    let g2 = agency
        .publish(body("BGD-a-1", "One-stop centres, revised"))
        .await
        .expect("g2");
    holds_everywhere(g2.id, "a's records to reach every node").await;

    // The thief: a withdrawal of the first practice at a seq a used (for
    // p1), equivocating with a's revision 2; a withdrawal of the second at
    // a new seq; a rotation of a to its own key t; junk signed with t.
    let w1 = record::sign_practice(
        &secret("a"),
        p1.seq,
        now_ms(),
        &Practice::withdrawal("BGD-a-1", 2, p1.id, "stolen"),
    )
    .expect("sign");
    let w1_id = w1.id();
    let outcomes = thief.submit(vec![w1.into_bytes()]).await.expect("submit");
    assert!(outcomes[0].is_stored(), "{outcomes:?}");
    let w2 = thief.withdraw("BGD-a-2", "stolen").await.expect("w2");
    holds_everywhere(w2.id, "the thief's withdrawals to reach every node").await;
    wait_until(WAIT, "both practices withdrawn on every node", || async {
        for n in &nodes {
            if n.status().await.expect("status").replica.practices != 0 {
                return false;
            }
        }
        true
    })
    .await;
    let rot = thief
        .operate(Op::Rotate {
            member: "a".into(),
            key: secret("t").author(),
        })
        .await
        .expect("rotate");
    holds_everywhere(rot.id, "the thief's rotation to reach every node").await;
    let mut junk = setu_store::replica::parse_practice(body("BGD-t-1", "Junk")).expect("junk");
    junk.fill_defaults();
    let junk = record::sign_practice(&secret("t"), 1, now_ms(), &junk).expect("sign");
    let junk_id = junk.id();
    let outcomes = thief.submit(vec![junk.into_bytes()]).await.expect("submit");
    assert!(outcomes[0].is_stored(), "t is a's key now: {outcomes:?}");
    holds_everywhere(junk_id, "the junk to reach every node").await;

    // b and c revoke a's key, keeping a's genuine records, and recover a
    // to a2, against the epoch both hold.
    let founders = [nodes[1].clone(), nodes[2].clone()];
    let epoch = founders[0].members().await.expect("members").epoch();
    assert_eq!(founders[1].members().await.expect("members").epoch(), epoch);
    let mut valid = vec![p1.id, p2.id, g2.id];
    valid.sort();
    for n in &founders {
        n.operate(Op::Revoke {
            epoch,
            member: "a".into(),
            key: secret("a").author(),
            valid: valid.clone(),
        })
        .await
        .expect("revoke");
        n.operate(Op::Recover {
            epoch,
            member: "a".into(),
            old: secret("a").author(),
            last: g2.seq,
            key: secret("a2").author(),
        })
        .await
        .expect("recover");
    }
    wait_until(WAIT, "every node to flag what the thief signed", || async {
        for n in &nodes {
            let m = n.members().await.expect("members").member("a").expect("a");
            let st = n.status().await.expect("status").replica;
            if m.current() != Some(secret("a2").author()) || st.invalid != 4 || st.practices != 2 {
                return false;
            }
        }
        true
    })
    .await;
    for n in &nodes {
        let one = n
            .get("BGD-a-1", None, false)
            .await
            .expect("get")
            .expect("found");
        assert_eq!(one.current, Some(g2.id), "current again, with a's revision");
        assert!(!one.withdrawn);
        assert_eq!(one.invalid, vec![w1_id]);
        let two = n
            .get("BGD-a-2", None, false)
            .await
            .expect("get")
            .expect("found");
        assert_eq!(two.current, Some(p2.id));
        let flagged = n
            .get(&w1_id.to_hex(), None, false)
            .await
            .expect("get")
            .expect("the bytes are kept");
        assert_eq!(flagged.flagged.as_deref(), Some("revoked"));
        assert!(
            n.record(junk_id).await.expect("record").is_some(),
            "kept for audit"
        );
        assert!(
            n.record(rot.id).await.expect("record").is_some(),
            "kept for audit"
        );
        let junk = n
            .get(&junk_id.to_hex(), None, false)
            .await
            .expect("get")
            .expect("a flagged record of a void key is still shown by id");
        assert_eq!(junk.flagged.as_deref(), Some("void-key"));
    }

    // a's new key revises the practice the thief withdrew, on every node.
    let mut cfg = config(
        dirs[4].path(),
        "ignored",
        Some(secret("a2")),
        vec![addr(&nodes[0]).await],
    );
    cfg.charter = Some(sealed.clone());
    let a2 = Node::start(cfg).await.expect("a's new node");
    wait_until(WAIT, "a's new node to catch up", || async {
        a2.status().await.expect("status").replica.practices == 2
    })
    .await;
    let p = a2
        .publish(body("BGD-a-2", "Land records online, again"))
        .await
        .expect("the new key publishes");
    assert_eq!(p.revision, 2);
    holds_everywhere(p.id, "the new key's revision to reach every node").await;
    for n in &nodes {
        let two = n
            .get("BGD-a-2", None, false)
            .await
            .expect("get")
            .expect("found");
        assert_eq!(two.current, Some(p.id));
    }
    for n in nodes.iter().chain([&a2]) {
        n.shutdown().await.expect("shutdown");
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}
