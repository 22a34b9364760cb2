//! Peers that misbehave: a hostile peer is disconnected and nothing it sent
//! is stored, while honest records still converge; an unwanted author over
//! quota (or off the allow-list) is refused, not stored.

use std::time::Duration;

use futures::StreamExt;
use setu::{Event, Node, SecretKey};
use setu_net::behaviour::{self, Behaviour, BehaviourEvent};
use setu_net::message::{MAX_FRAME_BYTES, Request};
use setu_net::{Multiaddr, PeerId};
use setu_tests::net::{WAIT, addr, config, records, wait_records, wait_until};
use tempfile::TempDir;

/// A valid signed record by `key`: synthetic body `index` of catalogue 77.
fn signed(key: &SecretKey, seq: u64, index: u64) -> Vec<u8> {
    let p = setu_store::replica::parse_practice(setu_store::synth::body(77, index))
        .expect("valid body");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    setu_core::record::sign_practice(key, seq, now, &p)
        .expect("signs")
        .into_bytes()
}

/// The record bytes of a named invalid vector in spec/vectors/records.json.
fn invalid_vector(name: &str) -> Vec<u8> {
    let path = setu_tests::repo_root().join("spec/vectors/records.json");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("vectors")).expect("json");
    let hex = v["invalid"]
        .as_array()
        .expect("invalid vectors")
        .iter()
        .find(|x| x["name"] == name)
        .and_then(|x| x["signed_record"].as_str())
        .expect("vector present");
    hex::decode(hex).expect("hex")
}

enum Attack {
    /// A push of a record whose signature was altered.
    ForgedPush,
    /// An announcement whose body, once fetched, is non-canonical bytes.
    NoncanonicalGossip,
    /// A request frame larger than the limit.
    Oversize,
    /// Random bytes as requests.
    JunkFlood,
}

/// Runs one attack from a fresh identity against `target`; returns the
/// hostile peer's id once the target has closed the connection.
/// A bare swarm of a fresh identity on `network`, dialling `target`; its
/// gossip topic.
fn raw_peer(
    network: &str,
    target: Multiaddr,
) -> (
    setu_net::swarm::Swarm<Behaviour>,
    setu_net::gossipsub::IdentTopic,
) {
    let mut cfg = setu_net::config::Config {
        network: network.into(),
        mdns: false,
        ..Default::default()
    };
    cfg.listen.clear();
    let key = setu_net::identity::Keypair::generate_ed25519();
    let mut swarm: setu_net::swarm::Swarm<Behaviour> = behaviour::swarm(&cfg, key).expect("swarm");
    swarm.dial(target).expect("dial");
    (swarm, setu_net::gossipsub::IdentTopic::new(cfg.topic()))
}

async fn attack(network: &str, target: Multiaddr, how: Attack) -> PeerId {
    let (mut swarm, topic) = raw_peer(network, target);
    let me = *swarm.local_peer_id();
    let mut sent = false;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .expect("the target should close the hostile connection in time");
        match ev {
            setu_net::swarm::SwarmEvent::ConnectionEstablished { peer_id, .. } if !sent => {
                match how {
                    Attack::ForgedPush => {
                        let mut r = signed(&SecretKey::generate(), 1, 0);
                        let last = r.len() - 1;
                        r[last] ^= 0x55;
                        swarm
                            .behaviour_mut()
                            .sync
                            .send_request(&peer_id, Request::Push(vec![r]).encode());
                        sent = true;
                    }
                    Attack::Oversize => {
                        swarm
                            .behaviour_mut()
                            .sync
                            .send_request(&peer_id, vec![0x12; MAX_FRAME_BYTES + 1024]);
                        sent = true;
                    }
                    Attack::JunkFlood => {
                        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
                        for i in 0..50usize {
                            let junk: Vec<u8> = (0..(i * 37 % 500 + 1))
                                .map(|_| {
                                    x ^= x << 13;
                                    x ^= x >> 7;
                                    x ^= x << 17;
                                    x as u8
                                })
                                .collect();
                            swarm.behaviour_mut().sync.send_request(&peer_id, junk);
                        }
                        sent = true;
                    }
                    Attack::NoncanonicalGossip => {} // waits for the subscription
                }
            }
            setu_net::swarm::SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                setu_net::gossipsub::Event::Subscribed { .. },
            )) if !sent && matches!(how, Attack::NoncanonicalGossip) => {
                swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(
                        topic.clone(),
                        setu_net::message::Announcement {
                            id: [0x42; 32],
                            ts: 1,
                            size: 100,
                        }
                        .encode(),
                    )
                    .expect("publish");
                sent = true;
            }
            setu_net::swarm::SwarmEvent::Behaviour(BehaviourEvent::Sync(
                setu_net::request_response::Event::Message {
                    message: setu_net::request_response::Message::Request { channel, .. },
                    ..
                },
            )) => {
                // Answer the fetch (or any request) with non-canonical bytes.
                let body = setu_net::message::Response::Records(vec![invalid_vector(
                    "non_shortest_integer",
                )]);
                let _ = swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, body.encode());
            }
            setu_net::swarm::SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            } if sent => return me,
            _ => {}
        }
    }
}

/// Forged signatures, non-canonical bytes, oversize frames and a flood of
/// junk each get the sender disconnected and banned; nothing it sent is
/// stored; honest records still converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peer_is_banned_and_honest_records_converge() {
    let (da, db) = (
        TempDir::new().expect("tempdir"),
        TempDir::new().expect("tempdir"),
    );
    let net = "test-hostile";
    let a = Node::start(config(da.path(), net, Some(SecretKey::generate()), vec![]))
        .await
        .expect("a");
    let a_addr = addr(&a).await;
    let b = Node::start(config(db.path(), net, None, vec![a_addr.clone()]))
        .await
        .expect("b");
    let mut events = a.subscribe();
    for how in [
        Attack::ForgedPush,
        Attack::NoncanonicalGossip,
        Attack::Oversize,
        Attack::JunkFlood,
    ] {
        let hostile = attack(net, a_addr.clone(), how).await;
        // The node says why it banned that peer.
        tokio::time::timeout(WAIT, async {
            loop {
                match events.recv().await {
                    Ok(Event::PeerBanned { peer, .. }) if peer == hostile => return,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(e) => panic!("events: {e}"),
                }
            }
        })
        .await
        .expect("a PeerBanned event for the hostile peer");
        wait_until(WAIT, "the hostile peer to be disconnected", || async {
            !a.peers()
                .await
                .expect("peers")
                .iter()
                .any(|p| p.peer_id == hostile.to_string())
        })
        .await;
    }
    assert_eq!(
        records(&a).await,
        0,
        "nothing the hostile peers sent is stored"
    );
    let c = a.status().await.expect("status").net.counters;
    assert_eq!(c.peers_banned, 4, "{c:?}");
    assert!(c.refused_invalid >= 2, "{c:?}");
    // The honest peer was never banned, and honest records converge.
    for b_ in setu_store::synth::bodies(5, 20) {
        a.publish(b_).await.expect("publish");
    }
    wait_records(
        &[&a, &b],
        20,
        "honest records to converge after the attacks",
    )
    .await;
    assert_eq!(
        b.status().await.expect("status").net.counters.peers_banned,
        0
    );
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
}

/// A stranger's valid records beyond the per-author quota are refused and
/// not stored; off an allow-list, none are stored. The sender, which broke
/// no rule of the protocol, is not banned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_and_allow_list_refuse_unwanted_authors() {
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().expect("tempdir")).collect();
    let net = "test-quota";
    let stranger = Node::start(config(
        dirs[0].path(),
        net,
        Some(SecretKey::generate()),
        vec![],
    ))
    .await
    .expect("stranger");
    let boot = vec![addr(&stranger).await];
    let mut quota_cfg = config(dirs[1].path(), net, None, boot.clone());
    quota_cfg.net.admission.max_records_per_hour = Some(5);
    let quota = Node::start(quota_cfg).await.expect("quota node");
    let mut allow_cfg = config(dirs[2].path(), net, None, boot);
    allow_cfg.net.admission.allow_authors = Some(vec![SecretKey::generate().author()]);
    let allow = Node::start(allow_cfg).await.expect("allow-list node");
    wait_until(WAIT, "both to connect to the stranger", || async {
        stranger.peers().await.expect("peers").len() == 2
    })
    .await;
    for b in setu_store::synth::bodies(9, 12) {
        stranger.publish(b).await.expect("publish");
    }
    wait_until(WAIT, "the quota node to refuse the rest", || async {
        let c = quota.status().await.expect("status").net.counters;
        c.refused_admission >= 7
    })
    .await;
    wait_until(WAIT, "the allow-list node to refuse all 12", || async {
        allow
            .status()
            .await
            .expect("status")
            .net
            .counters
            .refused_admission
            >= 12
    })
    .await;
    // Another sync round changes nothing. A round asked for while one is
    // in flight is not started, so first wait until none is in flight, then
    // ask, and wait until a session started after that point has finished.
    let counters = async || quota.status().await.expect("status").net.counters;
    wait_until(WAIT, "no sync session in flight", || async {
        let c = counters().await;
        c.sessions_done + c.sessions_failed >= c.sessions_started
    })
    .await;
    let before = counters().await.sessions_started;
    quota.sync_now().await.expect("sync");
    wait_until(WAIT, "a new sync round to start and finish", || async {
        let c = counters().await;
        c.sessions_started > before && c.sessions_done + c.sessions_failed >= c.sessions_started
    })
    .await;
    assert_eq!(records(&quota).await, 5);
    assert_eq!(records(&allow).await, 0);
    for n in [&quota, &allow] {
        assert_eq!(
            n.status().await.expect("status").net.counters.peers_banned,
            0
        );
    }
    for n in [&stranger, &quota, &allow] {
        n.shutdown().await.expect("shutdown");
    }
}

/// A record dated too far in the future is refused as `future` (it may be
/// accepted later), counted apart from other refusals, and not a ban
/// offence. Before, it was counted under `refused_other`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_record_is_counted_as_future_and_not_punished() {
    let da = TempDir::new().expect("tempdir");
    let net = "test-future";
    let a = Node::start(config(da.path(), net, None, vec![]))
        .await
        .expect("a");
    let a_addr = addr(&a).await;

    let p =
        setu_store::replica::parse_practice(setu_store::synth::body(78, 0)).expect("valid body");
    let day_ahead = setu_core::clock::now_ms() + 24 * 3600 * 1000;
    let record = setu_core::record::sign_practice(&SecretKey::generate(), 1, day_ahead, &p)
        .expect("signs")
        .into_bytes();

    let (mut swarm, _) = raw_peer(net, a_addr);
    let deadline = tokio::time::Instant::now() + WAIT;
    let answer = loop {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .expect("a answers the push in time");
        match ev {
            setu_net::swarm::SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer_id, Request::Push(vec![record.clone()]).encode());
            }
            setu_net::swarm::SwarmEvent::Behaviour(BehaviourEvent::Sync(
                setu_net::request_response::Event::Message {
                    message: setu_net::request_response::Message::Response { response, .. },
                    ..
                },
            )) => break response,
            setu_net::swarm::SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            } => panic!("a closed the connection: a future record is no offence"),
            _ => {}
        }
    };
    assert_eq!(
        setu_net::message::Response::decode(&answer).expect("a push ack"),
        setu_net::message::Response::PushAck {
            stored: 0,
            refused: 1
        }
    );
    let c = a.status().await.expect("status").net.counters;
    assert_eq!(
        (c.refused_future, c.refused_other, c.peers_banned),
        (1, 0, 0),
        "{c:?}"
    );
    assert_eq!(records(&a).await, 0);
    a.shutdown().await.expect("stop a");
}

/// An announcer that fails the fetch (here it refuses it) does not leave
/// the record to the next reconciliation round: the node asks another peer
/// once (`spec/net.md` §7.2). Two bare peers: R announces a record and
/// refuses every request; H holds the record, answers fetches, and refuses
/// reconciliation, so the retried fetch is the only way the record can
/// reach the node (its sync interval is an hour).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fetch_is_retried_from_another_peer() {
    use setu_net::message::{Announcement, RefusalCode, Response};
    use setu_net::request_response::{Event as RrEvent, Message};
    use setu_net::swarm::SwarmEvent;

    let da = TempDir::new().expect("tempdir");
    let net = "test-refetch";
    let mut cfg = config(da.path(), net, None, vec![]);
    cfg.net.sync_interval = Duration::from_secs(3600);
    let a = Node::start(cfg).await.expect("a");
    let a_addr = addr(&a).await;

    let record = signed(&SecretKey::generate(), 1, 5);
    let parsed = setu_core::record::check(record.clone()).expect("valid");
    let announcement = Announcement {
        id: parsed.id().0,
        ts: parsed.envelope().ts,
        size: record.len() as u64,
    };
    let refuse = || {
        Response::Refused {
            code: RefusalCode::Busy,
            reason: "no".into(),
        }
        .encode()
    };
    let (mut h, topic) = raw_peer(net, a_addr.clone());
    let (mut r, _) = raw_peer(net, a_addr);
    h.behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .expect("subscribe");
    r.behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .expect("subscribe");
    let (mut h_ready, mut r_ready, mut announced) = (false, false, false);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the record never reached the node"
        );
        tokio::select! {
            ev = h.select_next_some() => match ev {
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                    setu_net::gossipsub::Event::Subscribed { .. },
                )) => h_ready = true,
                SwarmEvent::Behaviour(BehaviourEvent::Sync(RrEvent::Message {
                    message: Message::Request { request, channel, .. },
                    ..
                })) => {
                    let answer = match Request::decode(&request) {
                        Ok(Request::Fetch(ids)) if ids == vec![announcement.id] => {
                            Response::Records(vec![record.clone()]).encode()
                        }
                        _ => refuse(),
                    };
                    let _ = h.behaviour_mut().sync.send_response(channel, answer);
                }
                _ => {}
            },
            ev = r.select_next_some() => match ev {
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                    setu_net::gossipsub::Event::Subscribed { .. },
                )) => r_ready = true,
                SwarmEvent::Behaviour(BehaviourEvent::Sync(RrEvent::Message {
                    message: Message::Request { channel, .. },
                    ..
                })) => {
                    let _ = r.behaviour_mut().sync.send_response(channel, refuse());
                }
                _ => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if h_ready && r_ready && !announced {
            // Published only once both are in place, so that H is a peer
            // the node can ask.
            r.behaviour_mut()
                .gossipsub
                .publish(topic.clone(), announcement.encode())
                .expect("publish");
            announced = true;
        }
        if announced && records(&a).await == 1 {
            break;
        }
    }
    let c = a.status().await.expect("status").net.counters;
    assert!(c.refetches >= 1, "{c:?}");
    assert_eq!((c.fetched, c.peers_banned), (1, 0), "{c:?}");
    a.shutdown().await.expect("stop a");
}
