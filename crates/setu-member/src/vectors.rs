//! `spec/vectors/membership.json` ([`spec/membership.md` §12](../../../spec/membership.md)):
//! charters, operations, and one scenario per conflict-rule table.
//!
//! `cargo run -p setu-member --example gen-vectors > spec/vectors/membership.json`

use serde_json::{Value as Json, json};

use setu_core::cbor;
use setu_core::ids::RecordId;

use crate::charter::{Affiliation, Charter, Draft, Entry, Role, Threshold};
use crate::op::{Body, Epoch, Op, Removal};
use crate::table::{self, secret};
use crate::view::{Invalid, Validity};

fn entry(id: &str, aff: Affiliation, role: Role) -> Entry {
    Entry {
        id: id.into(),
        affiliation: aff,
        agency: format!("Innovation agency {id}"),
        role,
        key: secret(id).author(),
    }
}

fn entry_json(e: &Entry, with_seed: bool) -> Json {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(e.id));
    match &e.affiliation {
        Affiliation::Country(c) => m.insert("country".into(), json!(c)),
        Affiliation::Org(o) => m.insert("org".into(), json!(o)),
    };
    m.insert("agency".into(), json!(e.agency));
    m.insert("role".into(), json!(e.role.as_str()));
    if with_seed {
        m.insert("seed".into(), json!(hex::encode(secret(&e.id).seed())));
    } else {
        m.insert("key".into(), json!(e.key.to_hex()));
    }
    Json::Object(m)
}

fn sealed_file(c: &Charter, signers: &[&str]) -> Vec<u8> {
    let mut d = Draft::new(c.clone()).expect("charter");
    for s in signers {
        d.sign(&secret(s)).expect("founder");
    }
    d.encode().expect("encode")
}

fn charters() -> (Json, Json) {
    let bgd = |id: &str| entry(id, Affiliation::Country("BGD".into()), Role::Member);
    let three = Charter {
        name: "South-South exchange".into(),
        members: vec![
            bgd("a2i"),
            entry("rwa-risa", Affiliation::Country("RWA".into()), Role::Member),
            entry(
                "tto-digital",
                Affiliation::Country("TTO".into()),
                Role::Member,
            ),
        ],
        admit: Threshold::MAJORITY,
        recover: Threshold::MAJORITY,
    };
    let with_partner = Charter {
        name: "Setu pilot".into(),
        members: vec![
            bgd("a2i"),
            entry("ken-ict", Affiliation::Country("KEN".into()), Role::Member),
            entry("undp", Affiliation::Org("UNDP".into()), Role::Partner),
            entry(
                "col-mintic",
                Affiliation::Country("COL".into()),
                Role::Member,
            ),
        ],
        admit: Threshold {
            num: 2,
            den: 3,
            min: 2,
        },
        recover: Threshold {
            num: 1,
            den: 2,
            min: 2,
        },
    };
    let mut valid = Vec::new();
    for (name, c) in [
        ("three founders, majority", &three),
        (
            "a partner that does not vote, two thirds to admit",
            &with_partner,
        ),
    ] {
        let mut members = c.members.clone();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        let body = c.body_bytes().expect("body");
        let ids: Vec<&str> = members.iter().map(|e| e.id.as_str()).collect();
        let file = sealed_file(c, &ids);
        let net = crate::charter::network_id_of(&body);
        valid.push(json!({
            "name": name,
            "charter_name": c.name,
            "founders": members.iter().map(|e| entry_json(e, true)).collect::<Vec<_>>(),
            "admit": c.admit.to_string(),
            "recover": c.recover.to_string(),
            "body_cbor": hex::encode(&body),
            "network_id": net.to_hex(),
            "short_id": net.short(),
            "charter": hex::encode(&file),
        }));
    }
    // Invalid charter files: each fails for the one reason stated.
    let mut invalid = Vec::new();
    let mut push = |name: &str, file: Vec<u8>, path: &str| {
        let got = crate::charter::Sealed::decode(&file).expect_err(name).path;
        assert_eq!(got, path, "{name}");
        invalid.push(json!({"name": name, "charter": hex::encode(file), "error_path": path}));
    };
    let ids = ["a2i", "rwa-risa", "tto-digital"];
    push(
        "a founder has not signed",
        sealed_file(&three, &ids[..2]),
        "signatures",
    );
    let mut d = Draft::new(three.clone()).expect("draft");
    for s in ids {
        d.sign(&secret(s)).expect("sign");
    }
    d.sigs[1].1[5] ^= 0x40;
    push(
        "a signature does not verify",
        d.encode().expect("enc"),
        "signatures[1]",
    );
    // Bodies that break a rule, wrapped and signed by whoever they name.
    let raw = |v: cbor::Value, signers: &[&str]| {
        let body = cbor::encode(&v).expect("enc");
        let msg = crate::charter::signed_message(&body);
        let sigs = signers
            .iter()
            .map(|s| {
                cbor::Value::Array(vec![
                    cbor::Value::text(*s),
                    cbor::Value::Bytes(secret(s).sign_message(&msg).to_vec()),
                ])
            })
            .collect();
        cbor::encode(&cbor::Value::Array(vec![
            cbor::Value::Bytes(body),
            cbor::Value::Array(sigs),
        ]))
        .expect("enc")
    };
    let with = |f: &dyn Fn(&mut Charter)| {
        let mut c = three.clone();
        f(&mut c);
        let mut v = c.to_value();
        // to_value sorts members; keep the order the case set up.
        if let cbor::Value::Map(m) = &mut v {
            for (k, x) in m.iter_mut() {
                if k == "members" {
                    *x = cbor::Value::Array(c.members.iter().map(Entry::to_value).collect());
                }
            }
        }
        raw(v, &ids)
    };
    push(
        "members not sorted by id",
        with(&|c| c.members.swap(0, 1)),
        "charter.members[1].id",
    );
    push(
        "a country that is not ISO 3166-1 alpha-3",
        with(&|c| c.members[0].affiliation = Affiliation::Country("Bd".into())),
        "charter.members[0].country",
    );
    push(
        "two founders with one key",
        with(&|c| c.members[2].key = c.members[0].key),
        "charter.members",
    );
    push(
        "a threshold no quorum can reach",
        with(&|c| {
            c.recover = Threshold {
                num: 1,
                den: 2,
                min: 4,
            }
        }),
        "charter.recover",
    );
    push(
        "a role that is neither member nor partner",
        {
            let mut v = three.to_value();
            if let cbor::Value::Map(m) = &mut v {
                for (k, x) in m.iter_mut() {
                    if k == "members"
                        && let cbor::Value::Array(list) = x
                        && let cbor::Value::Map(e) = &mut list[0]
                    {
                        for (ek, ev) in e.iter_mut() {
                            if ek == "role" {
                                *ev = cbor::Value::text("observer");
                            }
                        }
                    }
                }
            }
            raw(v, &ids)
        },
        "charter.members[0].role",
    );
    push(
        "an unknown field",
        {
            let mut v = three.to_value();
            if let cbor::Value::Map(m) = &mut v {
                m.push(("motto".into(), cbor::Value::text("bridges")));
            }
            raw(
                cbor::decode(&cbor::encode(&v).expect("enc")).expect("dec"),
                &ids,
            )
        },
        "charter.motto",
    );
    (Json::Array(valid), Json::Array(invalid))
}

fn operations() -> (Json, Json) {
    let net = crate::charter::NetworkId([0x11; 32]);
    let epoch = Epoch([0x22; 32]);
    let k = |n: &str| secret(n).author();
    let ops = vec![
        Op::Endorse {
            epoch,
            entry: entry("ken-ict", Affiliation::Country("KEN".into()), Role::Member),
        },
        Op::Rotate {
            member: "a2i".into(),
            key: k("a2i-2"),
        },
        Op::Retire {
            member: "a2i".into(),
        },
        Op::Recover {
            epoch,
            member: "a2i".into(),
            old: k("a2i"),
            last: 41,
            key: k("a2i-3"),
        },
        Op::Revoke {
            epoch,
            member: "a2i".into(),
            key: k("a2i"),
            valid: vec![RecordId([1; 32]), RecordId([2; 32])],
        },
        Op::Delegate {
            member: "a2i".into(),
            key: k("moh"),
            scope: vec!["bgd-health-".into()],
            expires: Some(1_798_761_600_000),
        },
        Op::Undelegate {
            member: "a2i".into(),
            key: k("moh"),
            last: 12,
        },
        Op::Amend {
            epoch,
            admit: Some(Threshold {
                num: 2,
                den: 3,
                min: 2,
            }),
            recover: None,
            remove: Some(Removal {
                member: "tto-digital".into(),
                last: 7,
            }),
        },
    ];
    let valid = ops
        .into_iter()
        .map(|op| {
            let b = Body { net, op };
            let v = b.to_value();
            json!({
                "op": b.op.name(),
                "body": crate::op::value_json(&v),
                "body_cbor": hex::encode(cbor::encode(&v).expect("enc")),
                "proposal_hash": hex::encode(b.hash()),
            })
        })
        .collect();
    let base = |op: &str| {
        vec![
            ("op".to_string(), cbor::Value::text(op)),
            ("net".to_string(), cbor::Value::Bytes(vec![0x11; 32])),
        ]
    };
    let mut invalid = Vec::new();
    let mut push = |name: &str, fields: Vec<(String, cbor::Value)>, path: &str| {
        let v = cbor::Value::map(fields);
        let got = Body::from_value(&v).expect_err(name).path;
        assert_eq!(got, path, "{name}");
        invalid.push(json!({"name": name, "body_cbor": hex::encode(cbor::encode(&v).expect("enc")), "error_path": path}));
    };
    let mut f = base("promote");
    f.push(("member".into(), cbor::Value::text("a2i")));
    push("an operation this version does not know", f, "body.op");
    let mut f = base("rotate");
    f.push(("member".into(), cbor::Value::text("a2i")));
    push("a rotation with no key", f, "body.key");
    let mut f = base("revoke");
    f.push(("epoch".into(), cbor::Value::Bytes(vec![0x22; 32])));
    f.push(("member".into(), cbor::Value::text("a2i")));
    f.push(("key".into(), cbor::Value::Bytes(k("a2i").0.to_vec())));
    f.push((
        "valid".into(),
        cbor::Value::Array(vec![
            cbor::Value::Bytes(vec![2; 32]),
            cbor::Value::Bytes(vec![1; 32]),
        ]),
    ));
    push("a valid set out of order", f, "body.valid[1]");
    let mut f = base("delegate");
    f.push(("member".into(), cbor::Value::text("a2i")));
    f.push(("key".into(), cbor::Value::Bytes(k("moh").0.to_vec())));
    f.push(("scope".into(), cbor::Value::Array(vec![])));
    push("a delegation with an empty scope", f, "body.scope");
    let mut f = base("recover");
    f.push(("epoch".into(), cbor::Value::Bytes(vec![0x22; 32])));
    f.push(("member".into(), cbor::Value::text("a2i")));
    f.push(("old".into(), cbor::Value::Bytes(k("a2i").0.to_vec())));
    f.push(("last".into(), cbor::Value::Uint(3)));
    f.push(("key".into(), cbor::Value::Bytes(k("a2i").0.to_vec())));
    push("a recovery to the key it loses", f, "body.key");
    let mut f = base("amend");
    f.push(("epoch".into(), cbor::Value::Bytes(vec![0x22; 32])));
    push("an amendment that changes nothing", f, "body");
    let mut f = base("retire");
    f.push(("member".into(), cbor::Value::text("A2I")));
    push("a member id with capitals", f, "body.member");
    let mut f = base("retire");
    f.push(("member".into(), cbor::Value::text("a2i")));
    f.push(("why".into(), cbor::Value::text("lost")));
    push("an unknown field", f, "body.why");
    (Json::Array(valid), Json::Array(invalid))
}

fn validity_str(v: &Validity) -> String {
    match v {
        Validity::Valid { member, .. } => format!("valid:{member}"),
        Validity::Quarantined => "quarantined".into(),
        Validity::Invalid(why) => format!("invalid:{}", Invalid::as_str(*why)),
    }
}

fn scenarios() -> Json {
    let mut out = Vec::new();
    for (name, text) in table::tables() {
        let t = table::run_file(&name, &text);
        let view = t.view();
        let mut records: Vec<&Vec<u8>> = t.records.iter().collect();
        // In no particular order: sorted by bytes, not as the table wrote them.
        records.sort();
        let mut labels: Vec<&String> = t.labels.keys().collect();
        labels.sort();
        let mut subjects = Vec::new();
        let mut validity = serde_json::Map::new();
        for l in labels {
            let (id, practice) = t.subject(l, &name);
            let subject = match practice {
                Some(p) => {
                    json!({"label": l, "id": id.to_hex(), "author": p.author.to_hex(), "seq": p.seq, "ts": p.ts, "kind": "practice", "practice_id": p.practice_id})
                }
                None => {
                    let s = t.ops.iter().find(|s| s.id == id).expect("op");
                    json!({"label": l, "id": id.to_hex(), "author": s.author.to_hex(), "seq": s.seq, "ts": s.ts, "kind": crate::op::KIND, "practice_id": null})
                }
            };
            subjects.push(subject);
            validity.insert(l.clone(), json!(validity_str(&t.validity(&view, l, &name))));
        }
        let members = view.members();
        let keys: serde_json::Map<String, Json> = members
            .iter()
            .map(|m| {
                (
                    m.entry.id.clone(),
                    m.current().map_or(Json::Null, |k| json!(k.to_hex())),
                )
            })
            .collect();
        let forked: Vec<&str> = members
            .iter()
            .filter(|m| m.forked)
            .map(|m| m.entry.id.as_str())
            .collect();
        let description = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#').trim())
            .collect::<Vec<_>>()
            .join(" ");
        out.push(json!({
            "name": name.trim_end_matches(".txt"),
            "description": description,
            "charter": hex::encode(t.sealed().encode().expect("charter")),
            "records": records.iter().map(hex::encode).collect::<Vec<_>>(),
            "subjects": subjects,
            "expect": {
                "height": view.height(),
                "epoch": view.epoch().to_hex(),
                "members": view.member_ids(),
                "keys": keys,
                "forked": forked,
                "validity": validity,
            },
        }));
    }
    Json::Array(out)
}

/// The whole vector file, as committed.
pub fn render() -> String {
    let (charters, invalid_charters) = charters();
    let (operations, invalid_operations) = operations();
    let doc = json!({
        "description": "Test vectors for spec/membership.md: sealed charters (reproduce body_cbor, network_id, short_id and the sealed file from the founders' seeds), invalid charter files (refuse, naming error_path), operation bodies (reproduce body_cbor and proposal_hash from the JSON body, byte strings as hex), invalid bodies, and one scenario per conflict-rule table of §7 (from the charter and the records, in any order, compute expect). Integers may exceed 2^53: read them as u64.",
        "charters": charters,
        "invalid_charters": invalid_charters,
        "operations": operations,
        "invalid_operations": invalid_operations,
        "scenarios": scenarios(),
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("json");
    s.push('\n');
    s
}
