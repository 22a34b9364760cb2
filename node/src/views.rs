//! The JSON shapes that the HTTP API serves and the CLI prints with
//! `--json`, where they are built from the node's state rather than
//! serialized from one type: kept here, outside both `api/` and `cmd/`.

use serde_json::{Value as Json, json};
use setu_core::ids::AuthorKey;
use setu_member::charter::{Affiliation, Sealed};
use setu_member::view::{Ended, View};

/// The member set as JSON: what `GET /v1/members` serves and
/// `setu members --json` prints. `me` is this node's key.
pub fn view_json(charter: &Sealed, view: &View, me: Option<AuthorKey>) -> Json {
    let members: Vec<Json> = view
        .members()
        .iter()
        .map(|m| {
            let (country, org) = match &m.entry.affiliation {
                Affiliation::Country(c) => (Some(c.clone()), None),
                Affiliation::Org(o) => (None, Some(o.clone())),
            };
            json!({
                "id": m.entry.id,
                "country": country,
                "org": org,
                "agency": m.entry.agency,
                "role": m.entry.role.as_str(),
                "key": m.current().map(|k| k.to_hex()),
                "admitted": m.admitted,
                "forked": m.forked,
                "removed": m.removed,
                "keys": m.terms.iter().map(|t| json!({
                    "key": t.key.to_hex(),
                    "seal": t.seal,
                    "ended": t.ended.map(|e| match e {
                        Ended::Rotated => "rotated",
                        Ended::Retired => "retired",
                        Ended::Recovered => "recovered",
                        Ended::Removed => "removed",
                    }),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let delegates: Vec<Json> = view
        .delegates()
        .iter()
        .map(|(k, d)| json!({"key": k.to_hex(), "member": d.member, "scope": d.scope, "expires": d.expires, "last": d.last}))
        .collect();
    let net = charter.network_id();
    json!({
        "name": charter.charter().name,
        "network_id": net.to_hex(),
        "network": setu::network_name(charter),
        "epoch": view.epoch().to_hex(),
        "height": view.height(),
        "admit": view.admit().to_string(),
        "recover": view.recover().to_string(),
        "voters": view.voters(),
        "you": me.and_then(|k| view.owner(&k).map(str::to_string)),
        "members": members,
        "delegates": delegates,
        "pending": view.pending().iter().map(|p| json!({
            "op": p.op.name(),
            "body": setu_member::op::Body { net, op: p.op.clone() }.to_json(),
            "signers": p.signers,
            "required": p.required,
        })).collect::<Vec<_>>(),
        "stale": view.stale().iter().map(|p| json!({
            "op": p.op.name(),
            "body": setu_member::op::Body { net, op: p.op.clone() }.to_json(),
            "signers": p.signers,
        })).collect::<Vec<_>>(),
        "history": view.applied().iter().map(|a| json!({
            "height": a.height,
            "op": a.op.name(),
            "body": setu_member::op::Body { net, op: a.op.clone() }.to_json(),
            "signers": a.signers,
        })).collect::<Vec<_>>(),
    })
}

/// What `resign` signed, as the API and `--json` show it.
pub fn resigned_json(
    charter: &Sealed,
    done: &[setu_store::members::Own],
    after: &setu_member::view::View,
) -> Json {
    let net = charter.network_id();
    json!({
        "signed": done.iter().map(|o| {
            let body = setu_core::record::check_trusted(o.record.clone())
                .ok()
                .and_then(|r| setu_member::op::Signed::from_record(&r)?.ok())
                .map(|s| setu_member::op::Body { net, op: s.body.op }.to_json());
            json!({"id": o.id.to_hex(), "seq": o.seq, "body": body})
        }).collect::<Vec<_>>(),
        "epoch": after.epoch().to_hex(),
        "members": after.member_ids(),
    })
}
