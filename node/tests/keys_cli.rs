//! Keys at rest, over the real binary: encrypted key files that openssl
//! reads (and openssl's that `setu` reads), the passphrase from an
//! environment variable, and key files every user can read refused.
//!
//! Standard input is never a terminal here, so no prompt is ever shown.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// The variable the tests keep the passphrase in.
const VAR: &str = "SETU_TEST_KEY_PASSPHRASE";
const PASS: &str = "tiger lily 1947, seven rivers";

/// Runs `setu` in `dir` with `env` set and nothing else of ours inherited.
fn setu(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_setu"));
    c.args(args)
        .current_dir(dir)
        .env_remove("SETU_DATA_DIR")
        .env_remove(VAR);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("setu runs")
}

/// `setu run`, which should stop at once; killed (and the test failed) if
/// it is still running after a minute.
fn run_briefly(dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_setu"))
        .args([
            "run",
            "--api",
            "127.0.0.1:0",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--no-mdns",
        ])
        .current_dir(dir)
        .env_remove("SETU_DATA_DIR")
        .env_remove(VAR)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("setu runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("setu run started with a key file every user can read");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn openssl(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("openssl");
    c.args(args).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output()
        .unwrap_or_else(|e| panic!("openssl is needed for this test (CI installs it): {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        text(&o)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Exit 1 with every one of `needles` in the message.
fn fails(o: Output, needles: &[&str]) -> String {
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    for n in needles {
        assert!(t.contains(n), "{n:?} not in: {t}");
    }
    t
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("file").permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The raw public key openssl derives from a key file, as hex.
fn openssl_author(dir: &Path, file: &str, passin: &[&str], env: &[(&str, &str)]) -> String {
    let mut args = vec!["pkey", "-in", file, "-pubout", "-outform", "DER"];
    args.extend_from_slice(passin);
    let o = openssl(dir, &args, env);
    assert!(o.status.success(), "openssl: {}", text(&o));
    // SubjectPublicKeyInfo DER ends with the 32-byte public key.
    hex::encode(&o.stdout[o.stdout.len() - 32..])
}

#[test]
fn an_encrypted_key_openssl_reads_and_show_needs_its_passphrase() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let env = [(VAR, PASS)];
    let out = setu(
        d,
        &[
            "keys",
            "generate",
            "--encrypt",
            "--passphrase-env",
            VAR,
            "--out",
            "k.pem",
        ],
        &env,
    );
    let t = text(&out);
    let author = ok(out);
    assert_eq!(author.len(), 64, "{t}");
    assert!(t.contains("encrypted PKCS#8"), "{t}");
    assert!(!t.contains(PASS), "the passphrase is never printed: {t}");
    let file = std::fs::read_to_string(d.join("k.pem")).expect("key file");
    assert!(
        file.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
        "{file}"
    );
    assert_eq!(mode(&d.join("k.pem")), 0o600);

    // PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, as openssl names them.
    let parsed = ok(openssl(d, &["asn1parse", "-in", "k.pem"], &[]));
    for oid in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] {
        assert!(parsed.contains(oid), "{oid} not in {parsed}");
    }
    // openssl decrypts it to the same key, with the passphrase given either
    // way, and refuses a wrong one.
    let passin = format!("pass:{PASS}");
    assert_eq!(
        openssl_author(d, "k.pem", &["-passin", &passin], &[]),
        author
    );
    assert_eq!(
        openssl_author(d, "k.pem", &["-passin", &format!("env:{VAR}")], &env),
        author
    );
    let wrong = openssl(d, &["pkey", "-in", "k.pem", "-passin", "pass:nope"], &[]);
    assert!(!wrong.status.success(), "{}", text(&wrong));

    // `keys show`: with the variable, the same author.
    let shown = ok(setu(
        d,
        &["keys", "show", "k.pem", "--passphrase-env", VAR],
        &env,
    ));
    assert_eq!(shown, author);
    // Without a passphrase and without a terminal: a clear error.
    fails(
        setu(d, &["keys", "show", "k.pem"], &env),
        &["k.pem", "encrypted", "not a terminal", "--passphrase-env"],
    );
    // The variable named but not set.
    fails(
        setu(d, &["keys", "show", "k.pem", "--passphrase-env", VAR], &[]),
        &["k.pem", "encrypted", VAR, "is not set"],
    );
    // A wrong passphrase is named as such, with where it came from.
    let t = fails(
        setu(
            d,
            &["keys", "show", "k.pem", "--passphrase-env", VAR],
            &[(VAR, "not it")],
        ),
        &["k.pem", "wrong passphrase", &format!("${VAR}")],
    );
    assert!(!t.contains("not it"), "{t}");
    // A passphrase (not a name) given as the name: refused, not echoed.
    let t = fails(
        setu(
            d,
            &["keys", "show", "k.pem", "--passphrase-env", "tiger lily"],
            &env,
        ),
        &["--passphrase-env", "not an environment variable name"],
    );
    assert!(!t.contains("tiger"), "{t}");
}

#[test]
fn generate_encrypt_without_a_passphrase_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    // No terminal, no variable.
    fails(
        setu(d, &["keys", "generate", "--encrypt", "--out", "k.pem"], &[]),
        &["--encrypt needs a passphrase", "--passphrase-env"],
    );
    // The variable named is not set, or empty.
    fails(
        setu(
            d,
            &[
                "keys",
                "generate",
                "--encrypt",
                "--passphrase-env",
                VAR,
                "--out",
                "k.pem",
            ],
            &[],
        ),
        &[VAR, "not set"],
    );
    fails(
        setu(
            d,
            &[
                "keys",
                "generate",
                "--encrypt",
                "--passphrase-env",
                VAR,
                "--out",
                "k.pem",
            ],
            &[(VAR, "")],
        ),
        &["empty"],
    );
    assert!(!d.join("k.pem").exists());
    // --passphrase-env without --encrypt is a usage error.
    let usage = setu(
        d,
        &[
            "keys",
            "generate",
            "--passphrase-env",
            VAR,
            "--out",
            "k.pem",
        ],
        &[(VAR, PASS)],
    );
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage));
    assert!(!d.join("k.pem").exists());
}

#[test]
fn keys_openssl_encrypts_are_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let author = ok(setu(d, &["keys", "generate", "--out", "plain.pem"], &[]));
    let env = [(VAR, PASS)];
    // An operator who ran `setu init` encrypts the key it made, in place of
    // a new one: PBKDF2 (openssl's PBES2 default) and scrypt.
    for (out, extra) in [
        (
            "pbkdf2.pem",
            &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"][..],
        ),
        ("scrypt.pem", &["-scrypt"][..]),
    ] {
        let mut args = vec![
            "pkcs8",
            "-topk8",
            "-in",
            "plain.pem",
            "-out",
            out,
            "-passout",
        ];
        let passout = format!("env:{VAR}");
        args.push(&passout);
        args.extend_from_slice(extra);
        ok(openssl(d, &args, &env));
        chmod(&d.join(out), 0o600);
        let shown = ok(setu(
            d,
            &["keys", "show", out, "--passphrase-env", VAR],
            &env,
        ));
        assert_eq!(shown, author, "{out}");
        fails(
            setu(
                d,
                &["keys", "show", out, "--passphrase-env", VAR],
                &[(VAR, "wrong")],
            ),
            &["wrong passphrase"],
        );
    }
}

#[test]
fn a_key_file_every_user_can_read_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let author = ok(setu(d, &["keys", "generate", "--out", "k.pem"], &[]));
    let key = d.join("k.pem");
    for m in [0o644, 0o604, 0o444] {
        chmod(&key, m);
        fails(
            setu(d, &["keys", "show", "k.pem"], &[]),
            &[
                "k.pem",
                &format!("mode {m:04o}"),
                "readable by every user",
                "chmod 600 k.pem",
            ],
        );
    }
    // Private to the owner, or to the owner and its group: read.
    for m in [0o600, 0o400, 0o640] {
        chmod(&key, m);
        assert_eq!(ok(setu(d, &["keys", "show", "k.pem"], &[])), author);
    }
    // `record sign --key` loads keys the same way.
    chmod(&key, 0o644);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/examples/practice.json");
    fails(
        setu(
            d,
            &[
                "record",
                "sign",
                "--key",
                "k.pem",
                example.to_str().expect("path"),
                "--hex",
            ],
            &[],
        ),
        &["k.pem", "mode 0644", "chmod 600 k.pem"],
    );
    // --force onto a file every user can read leaves a private one.
    ok(setu(
        d,
        &["keys", "generate", "--force", "--out", "k.pem"],
        &[],
    ));
    assert_eq!(mode(&key), 0o600);
}

#[test]
fn the_node_refuses_a_readable_key_and_reads_an_encrypted_one_from_its_config() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    ok(setu(
        d,
        &["init", "--country", "BGD", "--agency", "a2i"],
        &[],
    ));
    let data = d.join("setu-data");
    let key = data.join("publisher.pem");
    assert_eq!(mode(&key), 0o600);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/examples/practice.json");
    let example = example.to_str().expect("path");

    // `setu run` and `setu publish` refuse the key once every user can read it.
    chmod(&key, 0o644);
    fails(run_briefly(d), &["publisher.pem", "mode 0644", "chmod 600"]);
    fails(
        setu(d, &["publish", example], &[]),
        &["publisher.pem", "mode 0644", "chmod 600"],
    );
    chmod(&key, 0o600);

    // An encrypted key, its passphrase in the variable setu.toml names.
    let author = ok(setu(
        d,
        &[
            "keys",
            "generate",
            "--encrypt",
            "--passphrase-env",
            VAR,
            "--force",
            "--out",
            "setu-data/publisher.pem",
        ],
        &[(VAR, PASS)],
    ));
    let toml = data.join("setu.toml");
    let cfg = std::fs::read_to_string(&toml).expect("setu.toml");
    assert!(cfg.contains("# key_passphrase_env"), "{cfg}");
    let cfg = cfg.replacen(
        "[publisher]\n",
        &format!("[publisher]\nkey_passphrase_env = \"{VAR}\"\n"),
        1,
    );
    std::fs::write(&toml, cfg).expect("write setu.toml");
    // Without the variable (and no terminal): refused, naming the variable.
    fails(
        setu(d, &["publish", example], &[]),
        &["publisher.pem", "encrypted", VAR, "not set"],
    );
    // With it: published, signed by the encrypted key.
    ok(setu(d, &["publish", example], &[(VAR, PASS)]));
    let found = ok(setu(
        d,
        &["query", "--publisher", &author, "--format", "jsonl"],
        &[],
    ));
    assert!(found.contains("BGD-A2I-0001"), "{found}");
}
