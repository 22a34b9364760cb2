//! The table language of the conflict rules (`testdata/*.txt`, in the
//! manner of raft-rs's quorum tests): the tests run every table and replay
//! it shuffled, and the vector generator exports each as a scenario of
//! `spec/vectors/membership.json`. A table that does not hold panics with
//! its file and line: this is a tool for tests, not for input from peers.
//!
//! One line each (`#` starts a comment):
//!
//! ```text
//! charter a b c d e f:partner admit=1/2+2 recover=1/2+2
//! <label> <signer> endorse <id>[:partner] [key=<k>] @<h>|@now
//! <label> <signer> rotate <member> -> <newkey>
//! <label> <signer> retire <member>
//! <label> <signer> recover <member> old=<k> last=<n> -> <newkey> @<h>|@now
//! <label> <signer> revoke <member> key=<k> valid=<label>,<label>|- @<h>|@now
//! <label> <signer> delegate <member> -> <key> scope=<p>,<p> [expires=<ts>]
//! <label> <signer> undelegate <member> key=<k> last=<n>
//! <label> <signer> amend [admit=n/d+m] [recover=n/d+m] [remove=<member>:<last>] @<h>|@now
//! <label> <signer> practice <practice_id>
//! expect members <id>...          # members not removed
//! expect height <n>
//! expect key <member> <key>|none  # current key
//! expect forked <member>
//! expect valid <label>... | quarantined <label>... | invalid <why> <label>...
//! expect pending <n>              # proposals short of quorum at the current epoch
//! ```
//!
//! Keys are named: the key `x` has seed SHA-256("x"). Any record line may
//! end with `seq=<n>` and `ts=<n>`; seq otherwise counts up per key from 1.
//! `net=other` signs an operation for another network.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use setu_core::ids::{AuthorKey, RecordId};
use setu_core::keys::SecretKey;

use crate::charter::{Affiliation, Charter, Draft, Entry, Role, Sealed, Threshold};
use crate::op::{self, Body, Epoch, Op, Removal, Signed};
use crate::view::{Subject, Validity, View};

/// The key named `name`: seed SHA-256(name).
pub fn secret(name: &str) -> SecretKey {
    SecretKey::from_seed(&Sha256::digest(name.as_bytes()).into())
}

fn public(name: &str) -> AuthorKey {
    secret(name).author()
}

fn entry(spec: &str, key: Option<&str>) -> Entry {
    let (id, role) = match spec.split_once(':') {
        Some((id, "partner")) => (id, Role::Partner),
        _ => (spec, Role::Member),
    };
    Entry {
        id: id.to_string(),
        affiliation: Affiliation::Country("BGD".into()),
        agency: format!("Agency {id}"),
        role,
        key: public(key.unwrap_or(id)),
    }
}

/// A practice record as validity sees it (a stand-in for a real practice
/// body, which changes nothing here).
#[derive(Debug, Clone)]
pub struct Practice {
    /// Its id: SHA-256 of its label.
    pub id: RecordId,
    /// Its key.
    pub author: AuthorKey,
    /// Its seq.
    pub seq: u64,
    /// Its ts.
    pub ts: u64,
    /// Its practice id.
    pub practice_id: String,
}

/// A table, run: the charter, the records and the checks made.
#[derive(Debug, Default)]
pub struct Table {
    sealed: Option<Sealed>,
    /// Membership records, decoded.
    pub ops: Vec<Signed>,
    /// Membership records, signed bytes, in the order of `ops`.
    pub records: Vec<Vec<u8>>,
    /// Practice stand-ins.
    pub practices: Vec<Practice>,
    /// Record ids by label.
    pub labels: HashMap<String, RecordId>,
    next_seq: HashMap<String, u64>,
    checks: usize,
}

impl Table {
    /// The sealed charter.
    pub fn sealed(&self) -> &Sealed {
        self.sealed
            .as_ref()
            .expect("a table starts with its charter")
    }

    /// The view over every membership record of the table.
    pub fn view(&self) -> View {
        View::compute(self.sealed(), &self.ops)
    }

    fn epoch(&self, at: &str, ctx: &str) -> Epoch {
        let v = self.view();
        match at {
            "@now" => v.epoch(),
            h => {
                let h: usize = h
                    .trim_start_matches('@')
                    .parse()
                    .unwrap_or_else(|_| panic!("{ctx}: bad epoch {h}"));
                *v.epochs().get(h).unwrap_or_else(|| {
                    panic!("{ctx}: no epoch at height {h} (height is {})", v.height())
                })
            }
        }
    }

    fn run_line(&mut self, line: &str, ctx: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut kv: HashMap<&str, &str> = HashMap::new();
        let mut pos: Vec<&str> = Vec::new();
        for w in &words {
            match w.split_once('=') {
                Some((k, v)) => {
                    kv.insert(k, v);
                }
                None => pos.push(w),
            }
        }
        if pos[0] == "charter" {
            let members: Vec<Entry> = pos[1..].iter().map(|m| entry(m, None)).collect();
            let names: Vec<String> = members.iter().map(|e| e.id.clone()).collect();
            let mut members = members;
            members.sort_by(|a, b| a.id.cmp(&b.id));
            let c = Charter {
                name: "table".into(),
                members,
                admit: kv
                    .get("admit")
                    .map_or(Threshold::MAJORITY, |t| t.parse().expect("admit")),
                recover: kv
                    .get("recover")
                    .map_or(Threshold::MAJORITY, |t| t.parse().expect("recover")),
            };
            let mut d = Draft::new(c).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            for n in names {
                d.sign(&secret(&n)).expect("founder signs");
            }
            self.sealed = Some(d.seal().expect("sealed"));
            return;
        }
        if pos[0] == "expect" {
            self.expect(&pos[1..], ctx);
            self.checks += 1;
            return;
        }
        let (label, signer, verb) = (pos[0], pos[1], pos[2]);
        let seq = match kv.get("seq") {
            Some(s) => s.parse().expect("seq"),
            None => self.next_seq.get(signer).copied().unwrap_or(1),
        };
        let n = self.next_seq.entry(signer.to_string()).or_insert(1);
        *n = (*n).max(seq + 1);
        let ts: u64 = kv.get("ts").map_or(0, |t| t.parse().expect("ts"));
        let arrow = |i: usize| {
            assert_eq!(pos.get(i), Some(&"->"), "{ctx}: expected -> at word {i}");
            pos[i + 1]
        };
        let net = match kv.get("net") {
            Some(&"other") => crate::charter::NetworkId([7; 32]),
            _ => self.sealed().network_id(),
        };
        let op = match verb {
            "practice" => {
                let id = RecordId(Sha256::digest(label.as_bytes()).into());
                self.labels.insert(label.to_string(), id);
                self.practices.push(Practice {
                    id,
                    author: public(signer),
                    seq,
                    ts,
                    practice_id: pos[3].to_string(),
                });
                return;
            }
            "endorse" => Op::Endorse {
                epoch: self.epoch(pos[4], ctx),
                entry: entry(pos[3], kv.get("key").copied()),
            },
            "rotate" => Op::Rotate {
                member: pos[3].into(),
                key: public(arrow(4)),
            },
            "retire" => Op::Retire {
                member: pos[3].into(),
            },
            "recover" => Op::Recover {
                epoch: self.epoch(pos[6], ctx),
                member: pos[3].into(),
                old: public(kv["old"]),
                last: kv["last"].parse().expect("last"),
                key: public(arrow(4)),
            },
            "revoke" => {
                let mut valid: Vec<RecordId> = match kv["valid"] {
                    "-" => Vec::new(),
                    list => list
                        .split(',')
                        .map(|l| {
                            *self
                                .labels
                                .get(l)
                                .unwrap_or_else(|| panic!("{ctx}: no record {l}"))
                        })
                        .collect(),
                };
                valid.sort();
                Op::Revoke {
                    epoch: self.epoch(pos[4], ctx),
                    member: pos[3].into(),
                    key: public(kv["key"]),
                    valid,
                }
            }
            "delegate" => Op::Delegate {
                member: pos[3].into(),
                key: public(arrow(4)),
                scope: kv["scope"].split(',').map(str::to_string).collect(),
                expires: kv.get("expires").map(|t| t.parse().expect("expires")),
            },
            "undelegate" => Op::Undelegate {
                member: pos[3].into(),
                key: public(kv["key"]),
                last: kv["last"].parse().expect("last"),
            },
            "amend" => Op::Amend {
                epoch: self.epoch(pos[3], ctx),
                admit: kv.get("admit").map(|t| t.parse().expect("admit")),
                recover: kv.get("recover").map(|t| t.parse().expect("recover")),
                remove: kv.get("remove").map(|r| {
                    let (m, last) = r.split_once(':').expect("remove=member:last");
                    Removal {
                        member: m.into(),
                        last: last.parse().expect("last"),
                    }
                }),
            },
            other => panic!("{ctx}: unknown verb {other}"),
        };
        let rec = op::sign(&secret(signer), seq, ts, &Body { net, op })
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let signed = Signed::from_record(&rec)
            .expect("member kind")
            .expect("decodes");
        self.labels.insert(label.to_string(), signed.id);
        self.ops.push(signed);
        self.records.push(rec.into_bytes());
    }

    /// The record labelled `label`: its id, and its stand-in if a practice.
    pub fn subject(&self, label: &str, ctx: &str) -> (RecordId, Option<Practice>) {
        let id = *self
            .labels
            .get(label)
            .unwrap_or_else(|| panic!("{ctx}: no record {label}"));
        (id, self.practices.iter().find(|p| p.id == id).cloned())
    }

    /// What `v` makes of the record labelled `label`.
    pub fn validity(&self, v: &View, label: &str, ctx: &str) -> Validity {
        let (id, practice) = self.subject(label, ctx);
        match practice {
            Some(p) => v.validity(&Subject {
                id,
                author: p.author,
                seq: p.seq,
                ts: p.ts,
                kind: "practice",
                practice_id: Some(&p.practice_id),
            }),
            None => {
                let s = self.ops.iter().find(|s| s.id == id).expect("op");
                v.validity(&Subject {
                    id,
                    author: s.author,
                    seq: s.seq,
                    ts: s.ts,
                    kind: op::KIND,
                    practice_id: None,
                })
            }
        }
    }

    fn expect(&self, words: &[&str], ctx: &str) {
        let v = self.view();
        match words[0] {
            "members" => assert_eq!(v.member_ids(), words[1..].to_vec(), "{ctx}"),
            "height" => assert_eq!(v.height().to_string(), words[1], "{ctx}"),
            "pending" => assert_eq!(
                v.pending().len().to_string(),
                words[1],
                "{ctx}: {:?}",
                v.pending()
            ),
            "key" => {
                let m = v
                    .member(words[1])
                    .unwrap_or_else(|| panic!("{ctx}: no member {}", words[1]));
                let want = (words[2] != "none").then(|| public(words[2]));
                assert_eq!(m.current(), want, "{ctx}: terms {:?}", m.terms);
            }
            "forked" => assert!(v.member(words[1]).is_some_and(|m| m.forked), "{ctx}"),
            "valid" => {
                for l in &words[1..] {
                    let got = self.validity(&v, l, ctx);
                    assert!(
                        matches!(got, Validity::Valid { .. }),
                        "{ctx}: {l} is {got:?}"
                    );
                }
            }
            "quarantined" => {
                for l in &words[1..] {
                    assert_eq!(
                        self.validity(&v, l, ctx),
                        Validity::Quarantined,
                        "{ctx}: {l}"
                    );
                }
            }
            "invalid" => {
                for l in &words[2..] {
                    let got = self.validity(&v, l, ctx);
                    match got {
                        Validity::Invalid(why) => assert_eq!(why.as_str(), words[1], "{ctx}: {l}"),
                        other => panic!("{ctx}: {l} is {other:?}, expected invalid {}", words[1]),
                    }
                }
            }
            other => panic!("{ctx}: unknown expectation {other}"),
        }
    }

    /// Everything a view decides, for comparing two views.
    pub fn digest(&self, v: &View) -> String {
        let mut out = format!("{:?} {} {:?}\n", v.epoch(), v.height(), v.member_ids());
        for m in v.members() {
            out += &format!(
                "{} {:?} {:?} {}\n",
                m.entry.id,
                m.current(),
                m.terms.len(),
                m.forked
            );
        }
        let mut labels: Vec<&String> = self.labels.keys().collect();
        labels.sort();
        for l in labels {
            out += &format!("{l} {:?}\n", self.validity(v, l, "digest"));
        }
        out
    }
}

/// Runs a table; panics with `name:line` at the first line that fails.
pub fn run_file(name: &str, text: &str) -> Table {
    let mut t = Table::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        t.run_line(line, &format!("{name}:{}", i + 1));
    }
    assert!(t.checks > 0, "{name}: a table with no expectations");
    t
}

/// Every table of `testdata/`, by file name.
pub fn tables() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("testdata")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read_to_string(&p).expect("read table"),
            )
        })
        .collect();
    out.sort();
    out
}
