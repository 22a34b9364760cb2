//! The `setu` binary, run as a user runs it: exit codes, files, messages.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn setu(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_setu"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("setu runs")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("setu-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/examples/practice.json")
}

fn vectors() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/records.json");
    serde_json::from_str(&std::fs::read_to_string(p).expect("vectors")).expect("json")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn keys_are_private_pkcs8_v1_that_openssl_reads() {
    let d = tmp("keys");
    let out = setu(&d, &["keys", "generate", "--out", "k.pem"]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(printed.len(), 64);
    let mode = std::fs::metadata(d.join("k.pem"))
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let show = setu(&d, &["keys", "show", "k.pem"]);
    assert_eq!(String::from_utf8_lossy(&show.stdout).trim(), printed);

    // openssl reads PKCS#8 v1 (it cannot read dalek's default v2).
    let ossl = Command::new("openssl")
        .args(["pkey", "-in", "k.pem", "-pubout", "-outform", "DER"])
        .current_dir(&d)
        .output();
    match ossl {
        Ok(o) => {
            assert!(o.status.success(), "openssl: {}", text(&o));
            // SubjectPublicKeyInfo DER ends with the 32-byte public key.
            assert_eq!(hex::encode(&o.stdout[o.stdout.len() - 32..]), printed);
        }
        Err(e) => panic!("openssl is needed for this test (CI installs it): {e}"),
    }

    // No overwrite without --force; a bad key file is a clear error, exit 1.
    let again = setu(&d, &["keys", "generate", "--out", "k.pem"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    std::fs::write(d.join("bad.pem"), "hello").expect("write");
    let bad = setu(&d, &["keys", "show", "bad.pem"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("cannot read the key"), "{}", text(&bad));
}

#[test]
fn sign_is_reproducible_and_verifies() {
    let d = tmp("sign");
    assert!(
        setu(&d, &["keys", "generate", "--out", "k.pem"])
            .status
            .success()
    );
    let ex = example();
    let ex = ex.to_str().expect("utf-8 path");
    for out in ["a.rec", "b.rec"] {
        let o = setu(
            &d,
            &[
                "record",
                "sign",
                "--key",
                "k.pem",
                "--seq",
                "3",
                "--ts",
                "1767225600000",
                ex,
                "--out",
                out,
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let a = std::fs::read(d.join("a.rec")).expect("a");
    assert_eq!(a, std::fs::read(d.join("b.rec")).expect("b"));
    let v = setu(&d, &["record", "verify", "a.rec"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    let line = String::from_utf8_lossy(&v.stdout);
    assert!(
        line.starts_with("valid: practice BGD-A2I-0001 rev 1"),
        "{line}"
    );
    let inspect = setu(&d, &["record", "inspect", "a.rec"]);
    let j: serde_json::Value =
        serde_json::from_slice(&inspect.stdout).expect("inspect prints JSON");
    assert_eq!(j["envelope"]["seq"], 3);
    assert_eq!(j["envelope"]["body"]["licence"], "CC-BY-4.0");

    // A body with problems: every one reported by path, exit 1, nothing written.
    std::fs::write(
        d.join("bad.json"),
        r#"{"practice_id":"X-1","revision":1,"state":"active","sdg_targets":["18.1"]}"#,
    )
    .expect("write");
    let o = setu(
        &d,
        &[
            "record", "sign", "--key", "k.pem", "bad.json", "--out", "bad.rec",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains(r#"body.sdg_targets[0]: "18.1" is not an SDG target"#),
        "{t}"
    );
    assert!(t.contains("body.title: is required"), "{t}");
    assert!(!d.join("bad.rec").exists());
    std::fs::write(d.join("typed.json"), r#"{"practice_id": 7}"#).expect("write");
    let o = setu(
        &d,
        &["record", "sign", "--key", "k.pem", "typed.json", "--hex"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("body.practice_id"), "{}", text(&o));
}

#[test]
fn every_vector_gets_the_right_exit_code_and_reason() {
    let d = tmp("vectors");
    let v = vectors();
    for x in v["valid"].as_array().expect("valid") {
        std::fs::write(d.join("r.hex"), x["signed_record"].as_str().expect("hex")).expect("write");
        let o = setu(&d, &["record", "verify", "r.hex"]);
        assert_eq!(o.status.code(), Some(0), "{}: {}", x["name"], text(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains(x["id"].as_str().expect("id")));
        if x["name"] == "unknown_kind" {
            assert!(
                text(&o).contains("only the envelope and signature were checked"),
                "{}",
                text(&o)
            );
        }
    }
    for x in v["invalid"].as_array().expect("invalid") {
        std::fs::write(d.join("r.hex"), x["signed_record"].as_str().expect("hex")).expect("write");
        let o = setu(&d, &["record", "verify", "--json", "r.hex"]);
        assert_eq!(o.status.code(), Some(1), "{}: {}", x["name"], text(&o));
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        assert_eq!(j["reason"], x["reason"], "{}", x["name"]);
    }
}

#[test]
fn hostile_files_never_panic() {
    let d = tmp("hostile");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("junk", vec![0xff; 100]),
        ("deep", vec![0x81; 100_000]),
        (
            "huge-len",
            vec![0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        ("too-big", vec![0x00; 600_000]),
        ("odd-hex", b"abc".to_vec()),
    ];
    for (name, bytes) in cases {
        std::fs::write(d.join(name), &bytes).expect("write");
        for verb in ["verify", "inspect"] {
            let o = setu(&d, &["record", verb, name]);
            assert_eq!(o.status.code(), Some(1), "{verb} {name}: {}", text(&o));
            assert!(
                !text(&o).contains("panicked"),
                "{verb} {name}: {}",
                text(&o)
            );
        }
    }
    let o = setu(&d, &["record", "verify", "too-big"]);
    assert!(text(&o).contains("size"), "{}", text(&o));
    let o = setu(&d, &["record", "verify", "missing-file"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("cannot open missing-file"),
        "{}",
        text(&o)
    );
}

#[test]
fn usage_errors_exit_2() {
    let d = tmp("usage");
    for args in [
        &["record"][..],
        &["record", "sign"],
        &["nonsense"],
        &["record", "sign", "--key", "k", "--seq", "0", "b"],
    ] {
        let o = setu(&d, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
}

#[test]
fn record_sign_never_overwrites_its_inputs_nor_a_file_without_force() {
    let d = tmp("overwrite");
    assert!(
        setu(&d, &["keys", "generate", "--out", "agency.pem"])
            .status
            .success()
    );
    let key = std::fs::read(d.join("agency.pem")).expect("key");
    std::fs::copy(example(), d.join("body.json")).expect("copy");
    std::os::unix::fs::symlink("agency.pem", d.join("link.pem")).expect("symlink");
    std::fs::hard_link(d.join("agency.pem"), d.join("hard.pem")).expect("hard link");
    // Onto its key or its body (by any name): refused, even with --force.
    for out in [
        "agency.pem",
        "./agency.pem",
        "link.pem",
        "hard.pem",
        "body.json",
    ] {
        for force in [false, true] {
            let mut args = vec![
                "record",
                "sign",
                "--key",
                "agency.pem",
                "body.json",
                "--out",
                out,
            ];
            if force {
                args.push("--force");
            }
            let o = setu(&d, &args);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
            assert!(
                text(&o).contains("is an input of this command"),
                "{args:?}: {}",
                text(&o)
            );
        }
    }
    assert_eq!(std::fs::read(d.join("agency.pem")).expect("key"), key);
    assert!(
        setu(&d, &["keys", "show", "agency.pem"]).status.success(),
        "the key still works"
    );

    // Onto another existing file: only with --force.
    std::fs::write(d.join("old.rec"), "old").expect("write");
    let sign = |extra: &[&str]| {
        let mut args = vec![
            "record",
            "sign",
            "--key",
            "agency.pem",
            "body.json",
            "--out",
            "old.rec",
        ];
        args.extend_from_slice(extra);
        setu(&d, &args)
    };
    let o = sign(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("old.rec already exists; pass --force"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(d.join("old.rec")).expect("old"), b"old");
    let o = sign(&["--force"]);
    assert!(o.status.success(), "{}", text(&o));
    let v = setu(&d, &["record", "verify", "old.rec"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));

    // keys generate onto an existing file: only with --force.
    let o = setu(&d, &["keys", "generate", "--out", "old.rec"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        setu(&d, &["keys", "generate", "--out", "old.rec", "--force"])
            .status
            .success()
    );
}
