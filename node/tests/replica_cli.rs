//! The replica verbs, run as a user runs them: init, import, publish,
//! withdraw, query, show, status, reindex.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn setu(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_setu"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SETU_DATA_DIR")
        .output()
        .expect("setu runs")
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
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/practices.jsonl")
}

fn init(cwd: &Path) {
    ok(setu(cwd, &["init", "--country", "BGD", "--agency", "a2i"]));
}

#[test]
fn the_readme_scenario_finds_the_bangladeshi_practice_in_english_and_bangla() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    let sample = sample();
    let out = ok(setu(d, &["import", sample.to_str().expect("path")]));
    assert!(out.contains("0 rejected"), "{out}");
    let hits = ok(setu(
        d,
        &[
            "query",
            "--country",
            "BGD",
            "--text",
            "digital centre",
            "--format",
            "jsonl",
        ],
    ));
    let ids: Vec<String> = hits
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("jsonl")["practice_id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect();
    assert_eq!(
        ids.first().map(String::as_str),
        Some("BGD-A2I-0001"),
        "{hits}"
    );
    let bn = ok(setu(d, &["query", "--text", "ডিজিটাল সেন্টার", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&bn).expect("json");
    assert_eq!(v["hits"][0]["practice_id"], "BGD-A2I-0001", "{bn}");
    // The table names it too.
    let table = ok(setu(
        d,
        &["query", "--country", "BGD", "--text", "digital centre"],
    ));
    assert!(
        table.contains("BGD-A2I-0001") && table.contains("Union Digital Centres"),
        "{table}"
    );
    // --all prints every practice; the count equals the import.
    let all = ok(setu(d, &["query", "--all", "--format", "jsonl"]));
    let lines = std::fs::read_to_string(&sample)
        .expect("sample")
        .lines()
        .count();
    assert_eq!(all.lines().count(), lines);
}

/// `(value, count)` pairs ordered as facets are: most first, ties by value.
fn ranked(counts: std::collections::BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

#[test]
fn facets_count_the_matches_by_country_sdg_and_status() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    let sample = sample();
    ok(setu(d, &["import", sample.to_str().expect("path")]));
    // The expected counts, read from the sample file itself: practices per
    // country (any role) and per SDG goal, each practice counted once.
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&sample)
        .expect("sample")
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    let mut country = std::collections::BTreeMap::new();
    let mut goal = std::collections::BTreeMap::new();
    for r in &rows {
        let mut cs: Vec<String> = r["countries"]
            .as_array()
            .expect("countries")
            .iter()
            .map(|c| c["iso3"].as_str().expect("iso3").to_string())
            .collect();
        cs.sort();
        cs.dedup();
        for c in cs {
            *country.entry(c).or_insert(0u64) += 1;
        }
        let mut gs: Vec<String> = r["sdg_targets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| {
                        t.as_str()
                            .expect("target")
                            .split('.')
                            .next()
                            .expect("goal")
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        gs.sort();
        gs.dedup();
        for g in gs {
            *goal.entry(g).or_insert(0u64) += 1;
        }
    }
    let pairs = |v: &serde_json::Value| -> Vec<(String, u64)> {
        v.as_array()
            .expect("pairs")
            .iter()
            .map(|p| {
                (
                    p[0].as_str().expect("value").to_string(),
                    p[1].as_u64().expect("count"),
                )
            })
            .collect()
    };
    let out = ok(setu(d, &["query", "--all", "--facets", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        pairs(&v["facets"]["country"]),
        ranked(country.clone()),
        "{out}"
    );
    assert_eq!(pairs(&v["facets"]["sdg_goal"]), ranked(goal), "{out}");
    // Under a filter only the matches are counted: every one lists BGD.
    let out = ok(setu(
        d,
        &["query", "--country", "BGD", "--all", "--facets", "--json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let bgd = pairs(&v["facets"]["country"]);
    assert_eq!(
        bgd.first(),
        Some(&("BGD".to_string(), country["BGD"])),
        "{out}"
    );
    assert_eq!(v["total"].as_u64(), Some(country["BGD"]), "{out}");
    // Without --facets there are none; the table shows them when asked.
    let out = ok(setu(d, &["query", "--all", "--json"]));
    assert!(!out.contains("\"facets\""), "{out}");
    let table = ok(setu(d, &["query", "--country", "BGD", "--facets"]));
    let want = format!("BGD {}", country["BGD"]);
    assert!(
        table.lines().any(|l| l.starts_with("country")
            && l.split("  ")
                .any(|x| x.trim_start_matches("country").trim() == want)),
        "{table}"
    );
}

#[test]
fn data_dir_goes_before_or_after_the_verb_or_in_the_environment() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    ok(setu(
        d,
        &[
            "--data-dir",
            "a",
            "init",
            "--country",
            "RWA",
            "--agency",
            "RISA",
        ],
    ));
    ok(setu(d, &["status", "--data-dir", "a"]));
    ok(setu(d, &["--data-dir", "a", "status"]));
    let env = Command::new(env!("CARGO_BIN_EXE_setu"))
        .arg("status")
        .env("SETU_DATA_DIR", d.join("a"))
        .output()
        .expect("run");
    assert!(env.status.success(), "{}", text(&env));
    let missing = setu(d, &["status", "--data-dir", "nowhere"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing).contains("setu init"), "{}", text(&missing));
}

#[test]
fn init_writes_private_files_and_a_commented_config() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    let data = d.join("setu-data");
    for f in ["publisher.pem", "api-token"] {
        let mode = std::fs::metadata(data.join(f))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    let toml = std::fs::read_to_string(data.join("setu.toml")).expect("toml");
    assert!(
        toml.contains("country = \"BGD\"") && toml.contains("# cache_mb = "),
        "{toml}"
    );
    let again = setu(d, &["init", "--country", "BGD", "--agency", "a2i"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("already holds"), "{}", text(&again));
    let bad = setu(
        d,
        &[
            "init",
            "--country",
            "XYZ",
            "--agency",
            "x",
            "--data-dir",
            "other",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("--country"), "{}", text(&bad));

    // A bad key in setu.toml is named.
    std::fs::write(data.join("setu.toml"), "[store]\ncache_megs = 12\n").expect("write");
    let o = setu(d, &["status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("cache_megs"), "{}", text(&o));
}

#[test]
fn an_unknown_format_version_is_refused_clearly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    std::fs::write(d.join("setu-data/FORMAT"), "setu-data-format 99\n").expect("write");
    let o = setu(d, &["query"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("format 99"), "{}", text(&o));
}

#[test]
fn publish_revise_withdraw_show_with_citation() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/examples/practice.json");
    let mut body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&example).expect("example")).expect("json");
    std::fs::write(d.join("b.json"), body.to_string()).expect("write");
    let out = ok(setu(d, &["publish", "b.json", "--json"]));
    let first: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(first["revision"], 1);
    // The first seq is at least the clock floor (now_ms × 1000), so a data
    // dir restored from a backup never re-signs one (spec/store.md §6).
    let seq1 = first["seq"].as_u64().expect("seq");
    assert!(seq1 >= 1_767_225_600_000 * 1_000, "{seq1}");

    // Same content again: refused, nothing signed.
    let same = setu(d, &["publish", "b.json"]);
    assert_eq!(same.status.code(), Some(1));
    assert!(
        text(&same).contains("same as the current revision"),
        "{}",
        text(&same)
    );

    // Changed content: revision 2, superseding revision 1.
    body["status"] = serde_json::json!(3);
    std::fs::write(d.join("b.json"), body.to_string()).expect("write");
    let second: serde_json::Value =
        serde_json::from_str(&ok(setu(d, &["publish", "b.json", "--json"]))).expect("json");
    assert_eq!(second["revision"], 2);
    assert!(second["seq"].as_u64().expect("seq") > seq1);

    let shown = ok(setu(d, &["show", "BGD-A2I-0001", "--history"]));
    assert!(shown.contains("Cite as: a2i (BGD) ("), "{shown}");
    let short = &second["id"].as_str().expect("id")[..12];
    assert!(
        shown.contains(&format!("revision 2, record {short}")),
        "{shown}"
    );
    assert!(
        shown.contains("rev   1") && shown.contains("rev   2"),
        "{shown}"
    );
    // By record id, the old revision.
    let old = ok(setu(d, &["show", first["id"].as_str().expect("id")]));
    assert!(old.contains("revision 1"), "{old}");

    let history = ok(setu(d, &["query", "--history", "--format", "jsonl"]));
    assert_eq!(history.lines().count(), 2);

    let w = ok(setu(d, &["withdraw", "BGD-A2I-0001", "--reason", "merged"]));
    assert!(w.contains("revision 3"), "{w}");
    let none = ok(setu(d, &["query", "--format", "jsonl"]));
    assert_eq!(none.lines().count(), 0, "{none}");
    let with = ok(setu(
        d,
        &["query", "--include-withdrawn", "--format", "jsonl"],
    ));
    assert_eq!(with.lines().count(), 1, "{with}");
    let again = setu(d, &["withdraw", "BGD-A2I-0001", "--reason", "again"]);
    assert_eq!(again.status.code(), Some(1));
    let republish = setu(d, &["publish", "b.json"]);
    assert_eq!(republish.status.code(), Some(1));
    assert!(
        text(&republish).contains("withdrawal is final"),
        "{}",
        text(&republish)
    );

    let status: serde_json::Value =
        serde_json::from_str(&ok(setu(d, &["status", "--json"]))).expect("json");
    assert_eq!(status["status"]["records"], 3);
    assert_eq!(status["status"]["index_lag"], 0);
    let re: serde_json::Value =
        serde_json::from_str(&ok(setu(d, &["reindex", "--json"]))).expect("json");
    assert_eq!(re["practices"], 1);
}

#[test]
fn malformed_import_rows_are_reported_one_by_one_and_change_nothing_stored() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    let sample = sample();
    ok(setu(d, &["import", sample.to_str().expect("path")]));
    let before = ok(setu(d, &["query", "--all", "--format", "jsonl"]));

    // Another author's practice, seen over the network: import it as a record.
    let other = tempfile::tempdir().expect("tmp");
    init(other.path());
    let body = r#"{"practice_id":"RWA-OTHER-0001","revision":1,"state":"active","title":{"original":"en","text":{"en":"Other"}},"summary":{"original":"en","text":{"en":"s"}},"challenge":{"original":"en","text":{"en":"c"}},"solution":{"original":"en","text":{"en":"s"}},"countries":[{"iso3":"RWA","role":"originating"}],"sdg_targets":["16.6"],"status":2,"period":{"start":"2015"}}"#;
    std::fs::write(other.path().join("o.json"), body).expect("write");
    ok(setu(other.path(), &["publish", "o.json"]));
    let store =
        setu_store::replica::Replica::open(&other.path().join("setu-data"), Default::default())
            .expect("open");
    let hits = store
        .query(&setu_store::query::Query::default())
        .expect("query");
    let bytes = store
        .store()
        .get(&hits.hits[0].id)
        .expect("get")
        .expect("stored");
    drop(store);
    let mut mine =
        setu_store::replica::Replica::open(&d.join("setu-data"), Default::default()).expect("open");
    let done = mine.ingest(vec![bytes], u64::MAX / 2).expect("ingest");
    assert!(done.outcomes[0].is_stored());
    mine.flush_index().expect("flush");
    drop(mine);

    let good = body
        .replace("RWA-OTHER-0001", "BGD-NEW-0001")
        .replace("RWA", "BGD");
    let long = format!(
        r#"{{"practice_id":"BGD-LONG-1","summary":"{}"}}"#,
        "x".repeat(20_000)
    );
    let mut file: Vec<u8> = Vec::new();
    for line in [
        good.as_str(),
        "{not json",
        r#"{"practice_id":"BGD-X-1","revision":1,"state":"active","sdg_targets":["18.1"]}"#,
        body, // another author's practice id
        long.as_str(),
    ] {
        file.extend_from_slice(line.as_bytes());
        file.push(b'\n');
    }
    file.extend_from_slice(b"{\"practice_id\": \"\xff\xfe\"}\n");
    std::fs::write(d.join("bad.jsonl"), &file).expect("write");
    let o = setu(d, &["import", "bad.jsonl"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "rejected rows make the exit code 1: {}",
        text(&o)
    );
    let t = text(&o);
    assert!(
        t.contains("6 rows: 1 imported, 0 skipped (unchanged), 5 rejected"),
        "{t}"
    );
    assert!(t.contains("line 2:") && t.contains("not JSON"), "{t}");
    assert!(
        t.contains("line 3:") && t.contains(r#"body.sdg_targets[0]: "18.1" is not an SDG target"#),
        "{t}"
    );
    assert!(
        t.contains("line 4:") && t.contains("published by another author"),
        "{t}"
    );
    assert!(t.contains("line 5:") && t.contains("body.summary"), "{t}");
    assert!(
        t.contains("line 6:") && t.contains("not valid UTF-8"),
        "{t}"
    );

    // Everything stored before is unchanged; the good row is there.
    let after = ok(setu(d, &["query", "--all", "--format", "jsonl"]));
    for line in before.lines() {
        assert!(after.contains(line), "lost or changed: {line}");
    }
    assert_eq!(
        after.lines().count(),
        before.lines().count() + 2,
        "the new row and the other author's practice"
    );

    // --dry-run stores nothing.
    std::fs::write(
        d.join("dry.jsonl"),
        good.replace("BGD-NEW-0001", "BGD-DRY-0001"),
    )
    .expect("write");
    let dry = ok(setu(d, &["import", "--dry-run", "dry.jsonl"]));
    assert!(dry.contains("1 valid (dry run, nothing stored)"), "{dry}");
    let none = ok(setu(
        d,
        &["query", "--text", "BGD-DRY-0001", "--format", "jsonl"],
    ));
    assert!(none.is_empty(), "{none}");
}

#[test]
fn bad_query_filters_name_the_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    for (args, needle) in [
        (&["query", "--country", "XXX"][..], "country"),
        (&["query", "--sdg", "18.1"], "sdg"),
        (&["query", "--gov-level", "planet"], "gov-level"),
        (
            &["query", "--modified-since", "yesterday"],
            "--modified-since",
        ),
        (&["query", "--publisher", "abc"], "--publisher"),
    ] {
        let o = setu(d, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(text(&o).contains(needle), "{args:?}: {}", text(&o));
    }
}

// ---------------------------------------------------------------------------
// Hostile text, overwrites and import rules (issue 12 §5, §6, §8)
// ---------------------------------------------------------------------------

/// The example body with `practice_id` and some texts replaced.
fn example_with(pid: &str, title_en: &str, summary_en: &str) -> serde_json::Value {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/examples/practice.json");
    let mut body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&example).expect("example")).expect("json");
    body["practice_id"] = serde_json::json!(pid);
    body["title"]["text"]["en"] = serde_json::json!(title_en);
    body["summary"]["text"]["en"] = serde_json::json!(summary_en);
    body
}

/// Bytes a terminal would act on: ESC, BEL, CR, C1 (as UTF-8) or a bidi control.
fn raw_controls(out: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(out);
    text.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n' && *c != '\t')
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect()
}

const PWNED: &str = "\x1b]0;PWNED\x07\x1b[2J";

#[test]
fn hostile_text_from_another_author_is_shown_escaped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    // Another author signs a record with escape sequences, a CR and a bidi
    // override: valid on the network, so it arrives by sync. `record sign`
    // is not the publish path, so it signs it.
    ok(setu(d, &["keys", "generate", "--out", "other.pem"]));
    let body = example_with(
        "BGD-EVIL-0001",
        &format!("Evil{PWNED} title"),
        "fine\rverified by UNDP \u{202E}txet desrever",
    );
    std::fs::write(d.join("evil.json"), body.to_string()).expect("write");
    ok(setu(
        d,
        &[
            "record",
            "sign",
            "--key",
            "other.pem",
            "evil.json",
            "--out",
            "evil.rec",
        ],
    ));
    let bytes = std::fs::read(d.join("evil.rec")).expect("record");
    let mut mine =
        setu_store::replica::Replica::open(&d.join("setu-data"), Default::default()).expect("open");
    let done = mine.ingest(vec![bytes], u64::MAX / 2).expect("ingest");
    assert!(done.outcomes[0].is_stored(), "{:?}", done.outcomes);
    mine.flush_index().expect("flush");
    drop(mine);

    for args in [
        &["show", "BGD-EVIL-0001"][..],
        &["show", "BGD-EVIL-0001", "--history"],
        &["show", "BGD-EVIL-0001", "--json"],
        &["query", "--text", "evil"],
        &["query", "--all", "--format", "jsonl"],
        &["query", "--all", "--json"],
        &["record", "verify", "evil.rec"],
        &["record", "verify", "--json", "evil.rec"],
        &["record", "inspect", "evil.rec"],
    ] {
        let o = setu(d, args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        let raw = raw_controls(&o.stdout);
        assert!(raw.is_empty(), "{args:?} printed {raw:?}: {}", text(&o));
        assert!(raw_controls(&o.stderr).is_empty(), "{args:?}: {}", text(&o));
    }
    let shown = ok(setu(d, &["show", "BGD-EVIL-0001"]));
    assert!(
        shown.contains("Evil\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J title"),
        "{shown}"
    );
    assert!(
        shown.contains("fine\\rverified by UNDP <U+202E>txet desrever"),
        "{shown}"
    );
    let table = ok(setu(d, &["query", "--text", "evil"]));
    assert!(table.contains("Evil\\u{1b}]0;PWNED"), "{table}");
    // JSON keeps the value exactly, escaped.
    let j: serde_json::Value =
        serde_json::from_str(&ok(setu(d, &["show", "BGD-EVIL-0001", "--json"]))).expect("json");
    assert_eq!(
        j["body"]["title"]["text"]["en"],
        format!("Evil{PWNED} title")
    );
}

#[test]
fn publish_and_import_refuse_control_and_bidi_text_naming_the_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    std::fs::write(
        d.join("evil.json"),
        example_with("BGD-EVIL-0001", PWNED, "fine").to_string(),
    )
    .expect("write");
    let o = setu(d, &["publish", "evil.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("body.title.text.en: contains control character U+001B at offset 0"),
        "{t}"
    );
    assert!(raw_controls(t.as_bytes()).is_empty(), "{t}");

    let bidi = example_with("BGD-BIDI-0001", "Title", "abc\u{202E}fed");
    let title_nl = example_with("BGD-NL-0001", "Two\nlines", "fine");
    // CRLF in a multi-line text is normalised, and tab kept: imported.
    let crlf = example_with("BGD-CRLF-0001", "Fine", "One.\r\nTwo.\rThree.\tEnd.");
    let rows = [&bidi, &title_nl, &crlf]
        .iter()
        .map(|b| format!("{b}\n"))
        .collect::<String>();
    std::fs::write(d.join("rows.jsonl"), rows).expect("write");
    let o = setu(d, &["import", "rows.jsonl"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("3 rows: 1 imported, 0 skipped (unchanged), 2 rejected"),
        "{t}"
    );
    assert!(
        t.contains("body.summary.text.en: contains bidi control U+202E at offset 3"),
        "{t}"
    );
    assert!(
        t.contains("body.title.text.en: contains control character U+000A at offset 3"),
        "{t}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&ok(setu(d, &["show", "BGD-CRLF-0001", "--json"]))).expect("json");
    assert_eq!(
        j["body"]["summary"]["text"]["en"],
        "One.\nTwo.\nThree.\tEnd."
    );

    // A withdrawal's reason is one line too.
    let o = setu(d, &["withdraw", "BGD-CRLF-0001", "--reason", "a\x1b[2Jb"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("body.reason: contains control character U+001B at offset 1"),
        "{}",
        text(&o)
    );
}

fn records(d: &Path) -> u64 {
    let s: serde_json::Value =
        serde_json::from_str(&ok(setu(d, &["status", "--json"]))).expect("json");
    s["status"]["records"].as_u64().expect("records")
}

#[test]
fn importing_a_file_twice_adds_nothing_the_second_time() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    // Two rows for one practice id: the second is refused, naming the first.
    let a = example_with("BGD-TWICE-0001", "First", "first");
    let b = example_with("BGD-TWICE-0001", "Second", "second");
    let c = example_with("BGD-ONCE-0001", "Other", "other");
    // A leading byte order mark is skipped.
    let file = format!("\u{feff}{a}\n{c}\n{b}\n");
    std::fs::write(d.join("twice.jsonl"), file).expect("write");
    let o = setu(d, &["import", "twice.jsonl"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("3 rows: 2 imported, 0 skipped (unchanged), 1 rejected"),
        "{t}"
    );
    assert!(
        t.contains("line 3:") && t.contains("\"BGD-TWICE-0001\" is already on line 1"),
        "{t}"
    );
    let stored = records(d);
    assert_eq!(stored, 2);

    let o = setu(d, &["import", "twice.jsonl"]);
    let t = text(&o);
    assert!(
        t.contains("3 rows: 0 imported, 2 skipped (unchanged), 1 rejected"),
        "{t}"
    );
    assert_eq!(records(d), stored, "the second import added records");
    let shown = ok(setu(d, &["show", "BGD-TWICE-0001"]));
    assert!(shown.starts_with("First"), "{shown}");
}

#[test]
fn an_empty_import_file_is_an_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    for (name, content) in [
        ("empty.jsonl", ""),
        ("blank.jsonl", "\n  \n"),
        ("bom.jsonl", "\u{feff}"),
    ] {
        std::fs::write(d.join(name), content).expect("write");
        let o = setu(d, &["import", name]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        assert!(
            text(&o).contains(&format!("no rows in {name}: nothing imported")),
            "{name}: {}",
            text(&o)
        );
    }
    let o = setu(d, &["import", "--json", "empty.jsonl"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let last = out.lines().last().unwrap_or_default();
    let j: serde_json::Value = serde_json::from_str(last).expect("json summary");
    assert_eq!(j["summary"]["rows"], 0);
}

/// A line of a JSONL export is checked again by `setu record verify` as
/// it is: the signed bytes in it (base64) are the record, and the id it
/// prints is the line's.
#[test]
fn a_line_of_a_jsonl_export_verifies_as_it_is() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    ok(setu(d, &["import", sample().to_str().expect("path")]));
    ok(setu(
        d,
        &["export", "--format", "jsonl", "--out", "all.jsonl"],
    ));
    let text_of = std::fs::read_to_string(d.join("all.jsonl")).expect("export");
    let line = text_of.lines().nth(1).expect("a second line");
    let v: serde_json::Value = serde_json::from_str(line).expect("json line");
    assert!(
        v["signed_record"]
            .as_str()
            .expect("signed")
            .starts_with('g'),
        "base64 of a CBOR array of two"
    );
    std::fs::write(d.join("line.json"), line).expect("write");
    let o = ok(setu(d, &["record", "verify", "line.json"]));
    assert!(o.contains(v["id"].as_str().expect("id")), "{o}");
    // A damaged line is refused.
    let bad = line.replacen("\"signed_record\":\"g", "\"signed_record\":\"h", 1);
    std::fs::write(d.join("bad.json"), bad).expect("write");
    assert_eq!(
        setu(d, &["record", "verify", "bad.json"]).status.code(),
        Some(1)
    );
}

#[test]
fn export_never_overwrites_without_force_nor_writes_into_the_data_dir() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    init(d);
    ok(setu(d, &["import", sample().to_str().expect("path")]));
    std::fs::write(d.join("out.jsonl"), "keep").expect("write");
    let o = setu(d, &["export", "--format", "jsonl", "--out", "out.jsonl"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("already exists; pass --force"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("out.jsonl")).expect("kept"),
        "keep"
    );
    ok(setu(
        d,
        &[
            "export",
            "--format",
            "jsonl",
            "--out",
            "out.jsonl",
            "--force",
        ],
    ));
    assert_ne!(
        std::fs::read_to_string(d.join("out.jsonl")).expect("new"),
        "keep"
    );
    // CSV writes datapackage.json beside it: that is checked too.
    std::fs::write(d.join("datapackage.json"), "keep").expect("write");
    let o = setu(d, &["export", "--format", "csv", "--out", "new.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("datapackage.json already exists"),
        "{}",
        text(&o)
    );
    // Into the data directory it reads: never, even with --force.
    for out in [
        "setu-data/publisher.pem",
        "setu-data/x/new.jsonl",
        "./setu-data/../setu-data/FORMAT",
    ] {
        let o = setu(d, &["export", "--format", "jsonl", "--out", out, "--force"]);
        assert_eq!(o.status.code(), Some(1), "{out}: {}", text(&o));
        assert!(
            text(&o).contains("which this command reads"),
            "{out}: {}",
            text(&o)
        );
    }
    assert!(!d.join("setu-data/x").exists());
}

/// `setu publish` of a body whose `attachments` name local files: a bad
/// entry publishes nothing and names its field; good ones are hashed into
/// the content folder and each gets an attachment record naming the
/// practice.
#[test]
fn publish_hashes_the_files_a_body_names_in_attachments() {
    let d = &std::env::temp_dir().join(format!("setu-cli-publish-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(d);
    std::fs::create_dir_all(d.join("files")).expect("temp dir");
    ok(setu(
        d,
        &[
            "--data-dir",
            "n",
            "init",
            "--country",
            "BGD",
            "--agency",
            "a2i",
        ],
    ));
    let toolkit: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(d.join("files/toolkit.pdf"), &toolkit).expect("file");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/examples/practice.json");
    let mut body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example).expect("example")).expect("json");

    // A missing file: nothing is published, and the error names the entry.
    body["attachments"] = serde_json::json!([
        {"file": "toolkit.pdf", "title": "Process-mapping toolkit", "category": "toolkit"},
        {"file": "nowhere.pdf", "title": "Gone", "category": "report"},
    ]);
    std::fs::write(d.join("files/body.json"), body.to_string()).expect("body");
    let bad = setu(d, &["--data-dir", "n", "publish", "files/body.json"]);
    assert!(!bad.status.success(), "{}", text(&bad));
    assert!(text(&bad).contains("attachments[1].file"), "{}", text(&bad));
    let none = setu(d, &["--data-dir", "n", "show", "BGD-A2I-0001"]);
    assert!(
        !none.status.success(),
        "nothing was published: {}",
        text(&none)
    );
    // A category outside the list: named, nothing published.
    body["attachments"] = serde_json::json!([
        {"file": "toolkit.pdf", "title": "Process-mapping toolkit", "category": "poster"},
    ]);
    std::fs::write(d.join("files/body.json"), body.to_string()).expect("body");
    let bad = setu(d, &["--data-dir", "n", "publish", "files/body.json"]);
    assert!(!bad.status.success(), "{}", text(&bad));
    assert!(
        text(&bad).contains("attachments[0]") && text(&bad).contains("category"),
        "{}",
        text(&bad)
    );
    assert!(
        !setu(d, &["--data-dir", "n", "show", "BGD-A2I-0001"])
            .status
            .success()
    );

    // A good one: the practice, then the file's record.
    body["attachments"] = serde_json::json!([
        {"file": "toolkit.pdf", "title": "Process-mapping toolkit", "category": "toolkit", "licence": "CC-BY-4.0"},
    ]);
    std::fs::write(d.join("files/body.json"), body.to_string()).expect("body");
    let out = ok(setu(d, &["--data-dir", "n", "publish", "files/body.json"]));
    let hash = blake3::hash(&toolkit).to_hex().to_string();
    assert!(out.contains("published BGD-A2I-0001 revision 1"), "{out}");
    assert!(out.contains(&format!("hash {hash} | 70000 bytes")), "{out}");
    assert!(out.contains("attached ATT-"), "{out}");
    let kept = d.join("n/content/blobs").join(&hash);
    assert_eq!(std::fs::read(kept).expect("kept by hash"), toolkit);
    let shown = ok(setu(d, &["--data-dir", "n", "show", "BGD-A2I-0001"]));
    assert!(
        !shown.contains("attachments"),
        "the list is not part of the practice: {shown}"
    );
    let _ = std::fs::remove_dir_all(d);
}

/// `setu attach --adoption` keeps the file by its hash and publishes a
/// reference naming an adoption report, not a practice.
#[test]
fn attach_names_an_adoption_report_with_adoption() {
    let d = &std::env::temp_dir().join(format!("setu-cli-attach-adoption-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(d);
    std::fs::create_dir_all(d).expect("temp dir");
    ok(setu(
        d,
        &[
            "--data-dir",
            "n",
            "init",
            "--country",
            "KEN",
            "--agency",
            "huduma",
        ],
    ));
    let evidence: Vec<u8> = (0..5_000u32).map(|i| (i % 239) as u8).collect();
    std::fs::write(d.join("evidence.pdf"), &evidence).expect("file");
    let out = ok(setu(
        d,
        &[
            "--data-dir",
            "n",
            "attach",
            "KEN-ADOPT-0001",
            "evidence.pdf",
            "--adoption",
            "--title",
            "Before and after: visits per certificate",
            "--category",
            "report",
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let hash = blake3::hash(&evidence).to_hex().to_string();
    assert_eq!(v["hash"], hash.as_str(), "{out}");
    assert_eq!(v["revision"], 1, "{out}");
    let kept = d.join("n/content/blobs").join(&hash);
    assert_eq!(std::fs::read(kept).expect("kept by hash"), evidence);
    let r = setu_store::replica::Replica::open(&d.join("n"), Default::default()).expect("open");
    let refs = setu_store::graph::attachments(r.store(), 10, &|_| true).expect("references");
    assert_eq!(refs.len(), 1);
    let a = &refs[0].attachment;
    assert!(a.practice.is_none(), "{a:?}");
    assert_eq!(
        a.adoption.as_ref().map(|x| x.adoption_id.as_str()),
        Some("KEN-ADOPT-0001")
    );
    drop(r);
    // A file over `network.attachment_max_bytes` is refused, named.
    let toml_path = d.join("n/setu.toml");
    let toml = std::fs::read_to_string(&toml_path).expect("setu.toml");
    assert!(toml.contains("\n[network]\n"), "{toml}");
    let toml = toml.replacen(
        "\n[network]\n",
        "\n[network]\nattachment_max_bytes = 1000\n",
        1,
    );
    std::fs::write(&toml_path, toml).expect("setu.toml");
    let big = setu(
        d,
        &[
            "--data-dir",
            "n",
            "attach",
            "KEN-ADOPT-0001",
            "evidence.pdf",
            "--adoption",
            "--title",
            "Too big here",
            "--category",
            "report",
        ],
    );
    assert!(!big.status.success(), "{}", text(&big));
    assert!(
        text(&big).contains("network.attachment_max_bytes"),
        "{}",
        text(&big)
    );
    let _ = std::fs::remove_dir_all(d);
}
