//! Founding a network over the real binary: a charter drafted from a
//! members file, signed by each founder, sealed; what each step refuses,
//! naming the field or the founder at fault; and `setu members` and
//! `setu member` on the data directories made from it (the node stopped).

use std::path::Path;
use std::process::{Command, Output};

fn setu(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_setu"))
        .args(args)
        .current_dir(dir)
        .env_remove("SETU_DATA_DIR")
        .output()
        .expect("setu runs")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "succeeded: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn members_file(dir: &Path, rows: &[(&str, &str, &str)]) {
    let mut text = String::new();
    for (id, country, key) in rows {
        text += &format!(
            "[[member]]\nid = \"{id}\"\ncountry = \"{country}\"\nagency = \"Agency {id}\"\nkey = \"{key}\"\n\n"
        );
    }
    std::fs::write(dir.join("members.toml"), text).expect("members file");
}

#[test]
fn founders_draft_sign_and_seal_a_charter_and_every_refusal_names_its_cause() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let mut keys = Vec::new();
    for a in ["a", "b", "c"] {
        let out = ok(&setu(
            d,
            &["keys", "generate", "--out", &format!("{a}.pem")],
        ));
        keys.push(out.trim().to_string());
    }
    // A country that is no ISO 3166-1 alpha-3 code is named.
    members_file(
        d,
        &[("bgd-a2i", "BGDX", &keys[0]), ("rwa-risa", "RWA", &keys[1])],
    );
    let e = fails(&setu(
        d,
        &[
            "charter",
            "new",
            "--name",
            "N",
            "--members",
            "members.toml",
            "--out",
            "x.draft",
        ],
    ));
    assert!(e.contains("charter.members[0].country"), "{e}");
    // A quorum no founders can reach is refused.
    members_file(
        d,
        &[
            ("bgd-a2i", "BGD", &keys[0]),
            ("rwa-risa", "RWA", &keys[1]),
            ("tto-digital", "TTO", &keys[2]),
        ],
    );
    let e = fails(&setu(
        d,
        &[
            "charter",
            "new",
            "--name",
            "N",
            "--members",
            "members.toml",
            "--threshold",
            "1/2+4",
            "--out",
            "x.draft",
        ],
    ));
    assert!(e.contains("charter.admit"), "{e}");
    ok(&setu(
        d,
        &[
            "charter",
            "new",
            "--name",
            "South-South",
            "--members",
            "members.toml",
            "--out",
            "c.draft",
        ],
    ));
    // Sealing before every founder signed names who is missing.
    ok(&setu(d, &["charter", "sign", "c.draft", "--key", "a.pem"]));
    let e = fails(&setu(d, &["charter", "seal", "c.draft", "--out", "c.cbor"]));
    assert!(e.contains("rwa-risa") && e.contains("tto-digital"), "{e}");
    // A key that is no founder's cannot sign.
    ok(&setu(d, &["keys", "generate", "--out", "stranger.pem"]));
    let e = fails(&setu(
        d,
        &["charter", "sign", "c.draft", "--key", "stranger.pem"],
    ));
    assert!(e.contains("no founding member"), "{e}");
    ok(&setu(d, &["charter", "sign", "c.draft", "--key", "b.pem"]));
    ok(&setu(d, &["charter", "sign", "c.draft", "--key", "c.pem"]));
    let id = ok(&setu(d, &["charter", "seal", "c.draft", "--out", "c.cbor"]));
    assert_eq!(id.trim().len(), 64, "{id}");
    // A damaged charter is refused with the signature at fault.
    let mut bytes = std::fs::read(d.join("c.cbor")).expect("read");
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    std::fs::write(d.join("bad.cbor"), bytes).expect("write");
    let e = fails(&setu(
        d,
        &["init", "--charter", "bad.cbor", "--key", "a.pem"],
    ));
    assert!(e.contains("signatures[2]"), "{e}");

    // A founder's data directory takes its country and agency from the charter.
    let out = ok(&setu(
        d,
        &[
            "--data-dir",
            "a",
            "init",
            "--charter",
            "c.cbor",
            "--key",
            "a.pem",
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["country"], "BGD");
    assert_eq!(v["member"], "bgd-a2i");
    assert!(
        v["network"]
            .as_str()
            .is_some_and(|n| n.starts_with("c-") && n.len() == 26),
        "{v}"
    );
    let m: serde_json::Value =
        serde_json::from_str(&ok(&setu(d, &["--data-dir", "a", "members", "--json"])))
            .expect("json");
    assert_eq!(m["you"], "bgd-a2i");
    assert_eq!(m["members"].as_array().map(Vec::len), Some(3));
    assert_eq!(m["network_id"].as_str(), Some(id.trim()));
    // One endorsement of three founders is pending, not an admission.
    let k = ok(&setu(d, &["keys", "generate", "--out", "d.pem"]));
    ok(&setu(
        d,
        &[
            "--data-dir",
            "a",
            "member",
            "endorse",
            "--id",
            "ken-ict",
            "--country",
            "KEN",
            "--agency",
            "ICT Authority",
            "--key",
            k.trim(),
        ],
    ));
    let m: serde_json::Value =
        serde_json::from_str(&ok(&setu(d, &["--data-dir", "a", "members", "--json"])))
            .expect("json");
    assert_eq!(m["members"].as_array().map(Vec::len), Some(3), "{m}");
    assert_eq!(m["pending"][0]["op"], "endorse", "{m}");
    assert_eq!(m["pending"][0]["required"], 2, "{m}");
    // A member's practice is cited by its member and agency.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/practice.json");
    ok(&setu(d, &["--data-dir", "a", "publish", example]));
    let shown = ok(&setu(d, &["--data-dir", "a", "show", "BGD-A2I-0001"]));
    assert!(
        shown.contains("Agency bgd-a2i (BGD), member bgd-a2i"),
        "{shown}"
    );
    let status = ok(&setu(d, &["--data-dir", "a", "status"]));
    assert!(status.contains("pending     endorse ken-ict"), "{status}");
    // A key the network has not admitted publishes nothing: held in quarantine.
    ok(&setu(
        d,
        &[
            "--data-dir",
            "s",
            "init",
            "--charter",
            "c.cbor",
            "--country",
            "KEN",
            "--agency",
            "Not yet",
        ],
    ));
    let e = fails(&setu(d, &["--data-dir", "s", "publish", example]));
    assert!(e.contains("quarantine"), "{e}");
    // A bad operation names its field.
    let e = fails(&setu(
        d,
        &["--data-dir", "a", "member", "rotate", "--to", "beef"],
    ));
    assert!(e.contains("body.key"), "{e}");
    // What a key signed, for revokers: a's two records, the endorsement
    // and the practice, each first on its line.
    let listed = ok(&setu(
        d,
        &["--data-dir", "a", "members", "--signed-by", &keys[0]],
    ));
    let rows: Vec<&str> = listed.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(
        rows[1].contains("BGD-A2I-0001 rev 1") && rows[1].contains("shown"),
        "{listed}"
    );
    let e = fails(&setu(
        d,
        &["--data-dir", "a", "members", "--signed-by", "x"],
    ));
    assert!(e.contains("--signed-by"), "{e}");
    // A valid-file line that is no record id is named, with its line.
    std::fs::write(d.join("keep.txt"), format!("# kept\n{listed}not-an-id\n")).expect("file");
    let e = fails(&setu(
        d,
        &[
            "--data-dir",
            "a",
            "member",
            "revoke",
            "--member",
            "bgd-a2i",
            "--key",
            &keys[0],
            "--valid-file",
            "keep.txt",
        ],
    ));
    assert!(
        e.contains("keep.txt line") && e.contains("not-an-id"),
        "{e}"
    );
    // Nothing stale yet: resign signs nothing.
    let out = ok(&setu(d, &["--data-dir", "a", "member", "resign"]));
    assert!(out.contains("nothing to re-sign"), "{out}");
    // A [policy] list with a bad key is refused at load, naming the entry.
    let cfg = d.join("a").join("setu.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    let bad = text.replacen("[policy]\n", "[policy]\ntrust = [\"zz\"]\n", 1);
    assert_ne!(bad, text, "setu.toml has a [policy] section");
    std::fs::write(&cfg, bad).expect("config");
    let e = fails(&setu(d, &["--data-dir", "a", "members"]));
    assert!(e.contains("policy.trust[0]"), "{e}");
    std::fs::write(&cfg, text).expect("config");
    // An open network has no members.
    ok(&setu(
        d,
        &[
            "--data-dir",
            "open",
            "init",
            "--country",
            "BGD",
            "--agency",
            "x",
        ],
    ));
    let e = fails(&setu(d, &["--data-dir", "open", "members"]));
    assert!(e.contains("open network"), "{e}");
}
