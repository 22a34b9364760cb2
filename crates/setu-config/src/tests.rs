use super::*;

/// A key: 64 hex digits.
fn key(i: usize) -> String {
    format!("{i:064x}")
}

/// A TOML array of `n` strings made by `f`.
fn list(n: usize, f: impl Fn(usize) -> String) -> String {
    let items: Vec<String> = (0..n).map(|i| toml_string(&f(i))).collect();
    format!("[{}]", items.join(", "))
}

/// The field `text` is refused for.
fn refused(text: &str) -> String {
    match Config::parse(text) {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("{text:?}: expected a bad value, got {other:?}"),
    }
}

/// Every key set, none to its default.
const FULL: &str = r#"
[publisher]
country = "RWA"
agency = "Rwanda \"Agriculture\" Board \\ ministry"
key_file = "keys/board.pem"
key_passphrase_env = "SETU_KEY_PASSPHRASE"

[store]
cache_mb = 128
max_future_skew_secs = 3600
min_free_mb = 0

[network]
name = "rw-pilot-2"
charter = "charter.cbor"
listen = ["/ip4/0.0.0.0/tcp/7001", "/ip6/::/udp/7001/quic-v1"]
bootstrap = ["/dns4/seed.example.gov/tcp/7000/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X"]
mdns = false
sync_interval_secs = 30
allow_authors = ["0000000000000000000000000000000000000000000000000000000000000001"]
quota_records_per_hour = 1000
quota_bytes_per_hour = 50000000
relay = true
relays = ["/ip4/192.0.2.10/tcp/7000/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X"]
kademlia = false

[api]
listen = "[::1]:8080"
cors_origins = ["https://portal.example.gov", "http://127.0.0.1:8080"]
public_url = "https://setu.example.gov/"
admin_email = "ops@example.gov"

[policy]
mute = ["member-7"]
trust = ["00000000000000000000000000000000000000000000000000000000000000ff"]
"#;

#[test]
fn a_full_file_parses_every_key_and_round_trips() {
    let cfg = Config::parse(FULL).unwrap();
    assert_eq!(
        cfg.publisher.agency,
        "Rwanda \"Agriculture\" Board \\ ministry"
    );
    assert_eq!(
        cfg.publisher.key_passphrase_env.as_deref(),
        Some("SETU_KEY_PASSPHRASE")
    );
    assert_eq!(cfg.store.min_free_mb, 0);
    assert_eq!(cfg.network.charter.as_deref(), Some("charter.cbor"));
    assert!(!cfg.network.mdns && cfg.network.relay && !cfg.network.kademlia);
    assert_eq!(cfg.network.quota_bytes_per_hour, Some(50_000_000));
    assert_eq!(cfg.network.allow_author_keys().unwrap().unwrap().len(), 1);
    assert_eq!(cfg.api.cors_origins.len(), 2);
    assert_eq!(cfg.policy.trust_keys().unwrap()[0].0[31], 0xff);
    // No key is left at its default.
    let d = Config::default();
    assert_ne!(cfg.publisher, d.publisher);
    assert_ne!(cfg.store.cache_mb, d.store.cache_mb);
    assert_ne!(cfg.store.max_future_skew_secs, d.store.max_future_skew_secs);
    assert_ne!(cfg.store.min_free_mb, d.store.min_free_mb);
    assert_ne!(cfg.network.name, d.network.name);
    assert_ne!(cfg.network.listen, d.network.listen);
    assert_ne!(cfg.network.sync_interval_secs, d.network.sync_interval_secs);
    assert_ne!(cfg.api.listen, d.api.listen);

    // Written back out and read again: the same configuration.
    let text = toml::to_string(&cfg).unwrap();
    assert_eq!(Config::parse(&text).unwrap(), cfg);
    // And the defaults too, written out in full.
    let text = toml::to_string(&d).unwrap();
    assert_eq!(Config::parse(&text).unwrap(), d);
    assert_eq!(Config::parse("").unwrap(), d);
}

#[test]
fn the_template_parses_to_the_defaults_with_the_publisher_set() {
    let cfg = Config::parse(&Config::template("BGD", "a2i")).unwrap();
    assert_eq!(cfg.publisher.country, "BGD");
    assert_eq!(cfg.publisher.agency, "a2i");
    let mut d = Config::default();
    d.publisher.country = "BGD".into();
    d.publisher.agency = "a2i".into();
    assert_eq!(cfg, d);
    // The commented-out values are the defaults, and uncommented they parse.
    let all = Config::template("BGD", "a2i")
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(kv)
                if [
                    "key_file",
                    "cache_mb",
                    "max_future_skew_secs",
                    "min_free_mb",
                ]
                .iter()
                .chain(&["name", "listen", "mdns", "sync_interval_secs", "relay"])
                .chain(&[
                    "kademlia",
                    "target_peers",
                    "bootstrap",
                    "visitor_fetch_bytes",
                ])
                .any(|k| kv.starts_with(&format!("{k} = "))) =>
            {
                kv.to_string()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        all.contains(&format!("\ncache_mb = {DEFAULT_CACHE_MB}\n")),
        "{all}"
    );
    assert_eq!(Config::parse(&all).unwrap(), d);
}

#[test]
fn the_template_quotes_any_agency_name_as_toml() {
    // Rust's `{:?}` wrote a combining accent as `\u{301}`, which is not TOML.
    for agency in [
        "Cafe\u{301} board",
        "Ministère de l'Agriculture",
        "a \"quoted\" \\ name",
        "tab\there",
        "bell\u{7}",
        "del\u{7f} c1\u{85}",
        "'''",
        "line\nbreak",
    ] {
        let cfg = Config::parse(&Config::template("BGD", agency))
            .unwrap_or_else(|e| panic!("{agency:?}: {e}"));
        assert_eq!(cfg.publisher.agency, agency);
    }
}

#[test]
fn unknown_keys_are_named() {
    for (text, key) in [
        ("[store]\ncache_megabytes = 3\n", "cache_megabytes"),
        ("[store]\ncache_megs = 12\n", "cache_megs"),
        ("[publisher]\ncountry = \"BGD\"\nkey = \"k.pem\"\n", "key"),
        ("[network]\nbootstraps = []\n", "bootstraps"),
        ("[api]\nport = 80\n", "port"),
        ("[policy]\nban = []\n", "ban"),
        ("[storage]\n", "storage"),
        ("verbose = true\n", "verbose"),
    ] {
        let e = Config::parse(text).unwrap_err();
        assert!(matches!(e, Error::Syntax(_)), "{e:?}");
        let e = e.to_string();
        assert!(e.contains(&format!("unknown field `{key}`")), "{e}");
    }
}

#[test]
fn values_of_the_wrong_type_are_shown_with_their_key() {
    for (text, key) in [
        ("[store]\ncache_mb = \"lots\"\n", "cache_mb"),
        ("[store]\ncache_mb = -1\n", "cache_mb"),
        ("[network]\nmdns = \"yes\"\n", "mdns"),
        ("[network]\nlisten = \"/ip4/0.0.0.0/tcp/1\"\n", "listen"),
        ("[policy]\nmute = [1]\n", "mute"),
        ("store = 3\n", "store"),
    ] {
        let e = Config::parse(text).unwrap_err();
        assert!(matches!(e, Error::Syntax(_)), "{e:?}");
        assert!(e.to_string().contains(key), "{e}");
    }
    // Not TOML at all.
    assert!(matches!(Config::parse("[store\n"), Err(Error::Syntax(_))));
}

#[test]
fn bad_values_are_named() {
    for (text, field) in [
        ("[publisher]\ncountry = \"XYZ\"\n", "publisher.country"),
        ("[publisher]\ncountry = \"bgd\"\n", "publisher.country"),
        ("[publisher]\nkey_file = \"\"\n", "publisher.key_file"),
        ("[store]\ncache_mb = 1\n", "store.cache_mb"),
        ("[network]\nname = \"Setu Main\"\n", "network.name"),
        ("[network]\nname = \"\"\n", "network.name"),
        (
            "[network]\nallow_authors = [\"zz\"]\n",
            "network.allow_authors",
        ),
        ("[api]\nlisten = \"localhost\"\n", "api.listen"),
        ("[api]\nlisten = \"127.0.0.1\"\n", "api.listen"),
        ("[api]\npublic_url = \"ftp://x\"\n", "api.public_url"),
        ("[api]\nadmin_email = \"nobody\"\n", "api.admin_email"),
        (
            "[api]\ncors_origins = [\"https://A.gov\"]\n",
            "api.cors_origins",
        ),
        ("[policy]\ntrust = [\"zz\"]\n", "policy.trust[0]"),
        (
            &format!("[policy]\ntrust = [{:?}, \"ZZ\"]\n", key(1)),
            "policy.trust[1]",
        ),
        ("[policy]\nmute = [\"a\", \"\"]\n", "policy.mute[1]"),
    ] {
        assert_eq!(refused(text), field, "{text}");
    }
    // Today's wording, which the node's tests and users see.
    assert_eq!(
        Config::parse("[store]\ncache_mb = 1\n")
            .unwrap_err()
            .to_string(),
        "store.cache_mb: 1 is outside 8..=65536"
    );
    assert_eq!(
        Config::parse("[publisher]\ncountry = \"XYZ\"\n")
            .unwrap_err()
            .to_string(),
        "publisher.country: \"XYZ\" is not an ISO 3166-1 alpha-3 code"
    );
    let e = Config::parse("[policy]\ntrust = [\"zz\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("policy.trust[0]: \"zz\" is not a key (64 hex digits): "),
        "{e}"
    );
}

#[test]
fn api_origins_urls_and_emails_are_checked_by_name() {
    let api = |cors: &[&str], url: Option<&str>, mail: Option<&str>| ApiConfig {
        cors_origins: cors.iter().map(|s| s.to_string()).collect(),
        public_url: url.map(str::to_string),
        admin_email: mail.map(str::to_string),
        ..ApiConfig::default()
    };
    assert!(
        api(
            &["https://portal.example.gov", "http://127.0.0.1:8080"],
            Some("https://setu.example.gov"),
            Some("ops@example.gov")
        )
        .validate()
        .is_ok()
    );
    for (bad, field) in [
        (
            api(&["https://Portal.example.gov"], None, None),
            "api.cors_origins",
        ),
        (
            api(&["https://portal.example.gov/path?x"], None, None),
            "api.cors_origins",
        ),
        (api(&["portal.example.gov"], None, None), "api.cors_origins"),
        (
            api(&[], Some("ftp://setu.example.gov"), None),
            "api.public_url",
        ),
        (
            api(&[], Some("https://setu example"), None),
            "api.public_url",
        ),
        (api(&[], None, Some("no-at-sign")), "api.admin_email"),
    ] {
        let e = bad.validate().expect_err("refused");
        assert_eq!(e.field(), Some(field));
        assert!(e.to_string().starts_with(field), "{e}");
    }
}

#[test]
fn the_passphrase_variable_is_a_name() {
    let cfg = Config::parse("[publisher]\nkey_passphrase_env = \"SETU_KEY_PASSPHRASE\"\n").unwrap();
    assert_eq!(
        cfg.publisher.key_passphrase_env.as_deref(),
        Some("SETU_KEY_PASSPHRASE")
    );
    for bad in ["", "1ABC", "correct horse", "SETU-KEY", "pässword"] {
        let text = format!("[publisher]\nkey_passphrase_env = {}\n", toml_string(bad));
        assert_eq!(refused(&text), "publisher.key_passphrase_env");
        // The value, maybe a passphrase written in the wrong place, is not shown.
        let e = Config::parse(&text).unwrap_err().to_string();
        assert!(bad.is_empty() || !e.contains(bad), "{e}");
    }
    assert_eq!(
        check_env_name("--passphrase-env", "a b")
            .unwrap_err()
            .field(),
        Some("--passphrase-env")
    );
}

/// Each limit: the value at the limit is accepted, one past it is refused
/// naming the key.
#[test]
fn each_limit_holds_at_the_limit_and_not_one_past() {
    let at_and_past: Vec<(&str, String, String)> = vec![
        (
            "store.cache_mb",
            format!("[store]\ncache_mb = {MIN_CACHE_MB}\n"),
            format!("[store]\ncache_mb = {}\n", MIN_CACHE_MB - 1),
        ),
        (
            "store.cache_mb",
            format!("[store]\ncache_mb = {MAX_CACHE_MB}\n"),
            format!("[store]\ncache_mb = {}\n", MAX_CACHE_MB + 1),
        ),
        (
            "store.min_free_mb",
            format!("[store]\nmin_free_mb = {MAX_MIN_FREE_MB}\n"),
            format!("[store]\nmin_free_mb = {}\n", MAX_MIN_FREE_MB + 1),
        ),
        (
            "store.max_future_skew_secs",
            format!("[store]\nmax_future_skew_secs = {MAX_FUTURE_SKEW_SECS}\n"),
            format!(
                "[store]\nmax_future_skew_secs = {}\n",
                MAX_FUTURE_SKEW_SECS + 1
            ),
        ),
        (
            "api.cors_origins",
            format!(
                "[api]\ncors_origins = {}\n",
                list(MAX_CORS_ORIGINS, |i| format!("https://h{i}.example.gov"))
            ),
            format!(
                "[api]\ncors_origins = {}\n",
                list(MAX_CORS_ORIGINS + 1, |i| format!(
                    "https://h{i}.example.gov"
                ))
            ),
        ),
        (
            "publisher.key_passphrase_env",
            format!(
                "[publisher]\nkey_passphrase_env = \"{}\"\n",
                "K".repeat(MAX_ENV_NAME)
            ),
            format!(
                "[publisher]\nkey_passphrase_env = \"{}\"\n",
                "K".repeat(MAX_ENV_NAME + 1)
            ),
        ),
        (
            "network.name",
            format!("[network]\nname = \"{}\"\n", "n".repeat(MAX_NETWORK_NAME)),
            format!(
                "[network]\nname = \"{}\"\n",
                "n".repeat(MAX_NETWORK_NAME + 1)
            ),
        ),
        (
            "network.listen",
            format!(
                "[network]\nlisten = {}\n",
                list(MAX_LISTEN, |i| format!("/ip4/0.0.0.0/tcp/{i}"))
            ),
            format!(
                "[network]\nlisten = {}\n",
                list(MAX_LISTEN + 1, |i| format!("/ip4/0.0.0.0/tcp/{i}"))
            ),
        ),
        (
            "network.bootstrap",
            format!(
                "[network]\nbootstrap = {}\n",
                list(MAX_BOOTSTRAP, |i| format!("/ip4/192.0.2.1/tcp/{i}"))
            ),
            format!(
                "[network]\nbootstrap = {}\n",
                list(MAX_BOOTSTRAP + 1, |i| format!("/ip4/192.0.2.1/tcp/{i}"))
            ),
        ),
        (
            "network.relays",
            format!(
                "[network]\nrelays = {}\n",
                list(MAX_RELAYS, |i| format!("/ip4/192.0.2.1/tcp/{i}/p2p/x"))
            ),
            format!(
                "[network]\nrelays = {}\n",
                list(MAX_RELAYS + 1, |i| format!("/ip4/192.0.2.1/tcp/{i}/p2p/x"))
            ),
        ),
        (
            "network.sync_interval_secs",
            format!("[network]\nsync_interval_secs = {MIN_SYNC_INTERVAL_SECS}\n"),
            format!(
                "[network]\nsync_interval_secs = {}\n",
                MIN_SYNC_INTERVAL_SECS - 1
            ),
        ),
        (
            "network.sync_interval_secs",
            format!("[network]\nsync_interval_secs = {MAX_SYNC_INTERVAL_SECS}\n"),
            format!(
                "[network]\nsync_interval_secs = {}\n",
                MAX_SYNC_INTERVAL_SECS + 1
            ),
        ),
        (
            "policy.mute",
            format!(
                "[policy]\nmute = {}\n",
                list(MAX_POLICY_ENTRIES, |i| format!("m{i}"))
            ),
            format!(
                "[policy]\nmute = {}\n",
                list(MAX_POLICY_ENTRIES + 1, |i| format!("m{i}"))
            ),
        ),
        (
            "policy.trust",
            format!("[policy]\ntrust = {}\n", list(MAX_POLICY_ENTRIES, key)),
            format!("[policy]\ntrust = {}\n", list(MAX_POLICY_ENTRIES + 1, key)),
        ),
    ];
    for (field, at, past) in at_and_past {
        Config::parse(&at).unwrap_or_else(|e| panic!("{field} at the limit: {e}"));
        assert_eq!(refused(&past), field);
    }
}

#[test]
fn the_file_size_limit_holds_at_the_limit_and_not_one_past() {
    let max = usize::try_from(MAX_FILE_BYTES).unwrap();
    let body = "[store]\ncache_mb = 64\n# ";
    let at = format!("{body}{}\n", "x".repeat(max - body.len() - 1));
    assert_eq!(at.len(), max);
    assert_eq!(Config::parse(&at).unwrap().store.cache_mb, 64);
    let past = format!("{at} ");
    assert_eq!(
        Config::parse(&past).unwrap_err(),
        Error::TooLarge { len: max + 1 }
    );
    assert_eq!(
        Error::TooLarge { len: max + 1 }.to_string(),
        "setu.toml: 262145 bytes; at most 262144"
    );
}

#[test]
fn numbers_past_their_type_are_refused_not_wrapped() {
    // toml reads integers up to u64::MAX; past it, or negative, the type
    // refuses them (a syntax error naming the key), never a wrap or a panic.
    for (text, key) in [
        (
            "[network]\nquota_bytes_per_hour = 18446744073709551616\n",
            "quota_bytes_per_hour",
        ),
        (
            "[network]\nquota_records_per_hour = 99999999999999999999999\n",
            "quota_records_per_hour",
        ),
        ("[network]\nsync_interval_secs = -1\n", "sync_interval_secs"),
        ("[store]\ncache_mb = 64.0\n", "cache_mb"),
    ] {
        let e = Config::parse(text).unwrap_err();
        assert!(matches!(e, Error::Syntax(_)), "{text}: {e:?}");
        assert!(e.to_string().contains(key), "{e}");
    }
    // A value past i64::MAX is a number out of range for its key, not a
    // syntax error.
    assert_eq!(
        refused("[store]\nmin_free_mb = 9223372036854775808\n"),
        "store.min_free_mb"
    );
    // u64::MAX itself is read, and written back the same.
    for text in [
        "[network]\nquota_bytes_per_hour = 18446744073709551615\n",
        "[network]\nquota_bytes_per_hour = 0xffffffffffffffff\n",
    ] {
        let cfg = Config::parse(text).unwrap();
        assert_eq!(cfg.network.quota_bytes_per_hour, Some(u64::MAX));
        let again = toml::to_string(&cfg).unwrap();
        assert_eq!(Config::parse(&again).unwrap(), cfg);
    }
}

/// The fuzz target's inputs stay under 4 KiB (libFuzzer's default); files
/// up to the size limit, nested as deep as they can be, are refused with an
/// error (toml's recursion limit), not a stack overflow.
#[test]
fn deep_nesting_up_to_the_size_limit_is_an_error_not_an_overflow() {
    let max = usize::try_from(MAX_FILE_BYTES).unwrap();
    let n = max / 3;
    for text in [
        format!("x = {}", "[".repeat(max - 4)),
        format!(
            "[network]\nlisten = {}\"a\"{}",
            "[".repeat(n),
            "]".repeat(n)
        ),
        format!("x = {}1{}", "{a=".repeat(n / 2), "}".repeat(n / 2)),
        format!("{}b = 1", "a.".repeat(n)),
        format!("[{}b]", "a.".repeat(n)),
    ] {
        assert!(text.len() <= max);
        assert!(matches!(Config::parse(&text), Err(Error::Syntax(_))));
    }
}

#[test]
fn an_attachment_limit_of_zero_is_refused_naming_the_field() {
    let mut cfg = Config::default();
    cfg.network.attachment_max_bytes = 0;
    let e = cfg.network.validate().expect_err("0 refused");
    assert!(
        e.to_string().contains("network.attachment_max_bytes"),
        "{e}"
    );
}
