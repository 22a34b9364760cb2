//! Validates OAI-PMH responses of every verb, every error and both metadata
//! formats against the official OAI-PMH 2.0 schema (vendored, unmodified,
//! in `schemas/`), with `xmllint` from Debian's `libxml2-utils`, offline
//! (`--nonet`, remote schema locations mapped by `schemas/catalog.xml`).
//!
//! The test fails, and does not skip, when `xmllint` is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use setu_harvest::memory::Memory;
use setu_harvest::{Site, oai};

const T0: u64 = 1_700_000_000_000;

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn repo() -> Memory {
    let mut m = Memory::new();
    for i in 0..130u64 {
        let id = format!("BGD-A2I-{i:04}");
        m.put_practice([1; 32], &id, T0 + i * 1000, json!({
            "practice_id": id, "revision": 1, "state": "active", "licence": "CC-BY-4.0",
            "title": {"original": "bn", "text": {"bn": "ইউনিয়ন ডিজিটাল সেন্টার", "en": format!("Union Digital Centres {i}")}},
            "summary": {"original": "bn", "text": {"bn": "সারাংশ", "en": "One-stop digital centres"}},
            "countries": [{"iso3": "BGD", "role": "originating"}, {"iso3": "NPL", "role": "adopting"}],
            "sdg_targets": ["16.6", "9.c"],
            "organisations": [{"name": "a2i", "role": "implementing", "iso3": "BGD"}],
            "sectors": [{"vocabulary": "dac5", "code": "22040"}, {"vocabulary": "cofog", "code": "01.3"}],
            "period": {"start": "2010-11"},
            "keywords": ["TCV"],
            "urls": ["https://example.org/a?b=1&c=2"],
        }));
    }
    m.put_practice([6; 32], "EVIL-1", T0 + 500_000, json!({
        "practice_id": "EVIL-1", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
        "title": {"original": "en", "text": {"en": "Evil</dc:title><script>alert(1)</script>&\u{0}\u{1}\u{1b}\u{FFFE}\"'\r\n]]>", "ar": "عربي"}},
        "summary": {"original": "en", "text": {"en": "<![CDATA[ x ]]> &amp; \u{7f}"}},
        "countries": [{"iso3": "EGY", "role": "originating"}],
        "sdg_targets": ["1.a"],
        "organisations": [{"name": "\"Quoted\" <org>", "role": "supporting"}],
        "period": {"start": "2020"},
    }));
    m.put_kind([2; 32], "adoption", "KEN-ADOPT-0001", T0 + 600_000, false, json!({
        "adoption_id": "KEN-ADOPT-0001", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
        "practice": {"key": "01".repeat(32), "practice_id": "BGD-A2I-0001"},
        "country": "KEN", "stage": "piloting", "period": {"start": "2015-03"},
        "adaptation": {"original": "sw", "text": {"sw": "Huduma", "en": "Run by counties"}},
        "places": ["Nairobi"],
    }));
    m.put_kind(
        [3; 32],
        "seeking",
        "NPL-NEED-0001",
        T0 + 700_000,
        false,
        json!({
            "seeking_id": "NPL-NEED-0001", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
            "country": "NPL", "title": {"original": "ne", "text": {"ne": "आवश्यकता"}},
            "challenge": {"original": "ne", "text": {"ne": "चुनौती"}},
        }),
    );
    m.put_kind(
        [4; 32],
        "newkind",
        "weird id/ব",
        T0 + 750_000,
        false,
        json!({"anything": [1, {"x": null}]}),
    );
    m.put_kind(
        [1; 32],
        "practice",
        "BGD-A2I-9999",
        T0 + 800_000,
        true,
        json!({
            "practice_id": "BGD-A2I-9999", "revision": 2, "state": "withdrawn", "reason": "merged",
        }),
    );
    m
}

fn token(xml: &str) -> String {
    let start = xml
        .find("<resumptionToken cursor=\"0\">")
        .expect("a first page with a token")
        + 28;
    xml[start..]
        .split('<')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Every verb, every error code, both formats, deleted and hostile
/// records, a paged list and its last (empty-token) page.
fn responses(repo: &Memory) -> Vec<(String, String)> {
    let site = Site::new(
        "http://127.0.0.1:7300",
        "Setu test node",
        "operator@example.org",
    );
    let id = oai::identifier("practice", &[1; 32], "BGD-A2I-0001");
    let evil = oai::identifier("practice", &[6; 32], "EVIL-1");
    let gone = oai::identifier("practice", &[1; 32], "BGD-A2I-9999");
    let odd = oai::identifier("newkind", &[4; 32], "weird id/ব");
    let mut queries: Vec<String> = vec![
        "verb=Identify".into(),
        "verb=ListMetadataFormats".into(),
        format!("verb=ListMetadataFormats&identifier={id}"),
        "verb=ListSets".into(),
        format!("verb=GetRecord&identifier={id}&metadataPrefix=oai_dc"),
        format!("verb=GetRecord&identifier={id}&metadataPrefix=setu"),
        format!("verb=GetRecord&identifier={evil}&metadataPrefix=oai_dc"),
        format!("verb=GetRecord&identifier={evil}&metadataPrefix=setu"),
        format!("verb=GetRecord&identifier={gone}&metadataPrefix=oai_dc"),
        format!(
            "verb=GetRecord&identifier={}&metadataPrefix=oai_dc",
            odd.replace('%', "%25")
        ),
        format!(
            "verb=GetRecord&identifier={}&metadataPrefix=setu",
            odd.replace('%', "%25")
        ),
        "verb=ListRecords&metadataPrefix=oai_dc&set=country:EGY".into(),
        "verb=ListRecords&metadataPrefix=setu&from=2023-11-14T22:21:00Z".into(),
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2023-11-14&until=2023-11-14".into(),
        "verb=ListRecords&metadataPrefix=oai_dc&set=sdg:16".into(),
        // badVerb, badArgument, cannotDisseminateFormat, idDoesNotExist,
        // noRecordsMatch, badResumptionToken.
        "verb=Nope".into(),
        "".into(),
        "verb=ListRecords".into(),
        "verb=ListRecords&metadataPrefix=oai_dc&from=2020-02-30".into(),
        "verb=ListRecords&metadataPrefix=oai_dc&until=2020-01-01T00:00:00".into(),
        format!("verb=GetRecord&identifier={id}&metadataPrefix=marc21"),
        "verb=ListIdentifiers&metadataPrefix=mods&set=kind:practice".into(),
        "verb=GetRecord&identifier=oai:setu:practice:nothing&metadataPrefix=oai_dc".into(),
        "verb=GetRecord&identifier=not%20a%20uri&metadataPrefix=oai_dc".into(),
        "verb=ListRecords&metadataPrefix=oai_dc&from=2030-01-01".into(),
        "verb=ListRecords&metadataPrefix=oai_dc&set=country:FRA".into(),
        "verb=ListRecords&resumptionToken=%3Cnot%3E%22a%20token%22".into(),
        "verb=ListSets&resumptionToken=x".into(),
    ];
    let first = oai::respond(
        &site,
        "verb=ListRecords&metadataPrefix=oai_dc",
        repo,
        T0 + 900_000,
    )
    .expect("memory does not fail");
    let t = token(&first);
    let second = oai::respond(
        &site,
        &format!("verb=ListRecords&resumptionToken={t}"),
        repo,
        T0 + 900_000,
    )
    .expect("memory does not fail");
    assert!(
        second.contains("<resumptionToken cursor=\"100\"/>"),
        "the last page has an empty token"
    );
    queries.push(format!("verb=ListIdentifiers&resumptionToken={t}"));
    let mut out = vec![
        ("ListRecords-page1".to_string(), first),
        ("ListRecords-page2".to_string(), second),
    ];
    for (n, q) in queries.iter().enumerate() {
        let xml = oai::respond(&site, q, repo, T0 + 900_000).expect("memory does not fail");
        out.push((format!("q{n:02}"), xml));
    }
    out
}

fn xmllint(files: &[PathBuf]) -> std::process::Output {
    let mut cmd = Command::new("xmllint");
    cmd.env("XML_CATALOG_FILES", schemas().join("catalog.xml"))
        .arg("--nonet")
        .arg("--noout")
        .arg("--schema")
        .arg(schemas().join("harvest.xsd"))
        .args(files);
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!(
            "xmllint could not run ({e}): install it (Debian: apt-get install libxml2-utils); this test does not skip"
        ),
    }
}

#[test]
fn every_response_validates_against_the_official_schema() {
    let repo = repo();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut files = Vec::new();
    let all = responses(&repo);
    let codes = [
        "badVerb",
        "badArgument",
        "cannotDisseminateFormat",
        "idDoesNotExist",
        "noRecordsMatch",
        "badResumptionToken",
    ];
    for code in codes {
        assert!(
            all.iter()
                .any(|(_, x)| x.contains(&format!("<error code=\"{code}\">"))),
            "{code} covered"
        );
    }
    for verb in [
        "<Identify>",
        "<ListMetadataFormats>",
        "<ListSets>",
        "<GetRecord>",
        "<ListIdentifiers>",
        "<ListRecords>",
        "status=\"deleted\"",
        "<setu:record ",
        "<oai_dc:dc ",
    ] {
        assert!(all.iter().any(|(_, x)| x.contains(verb)), "{verb} covered");
    }
    for (name, xml) in &all {
        let path = dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, xml).expect("write a response");
        files.push(path);
    }
    let out = xmllint(&files);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "xmllint refused a response:\n{stderr}"
    );
    assert_eq!(
        stderr.matches(" validates").count(),
        files.len(),
        "{stderr}"
    );
}

#[test]
fn the_validator_does_refuse_invalid_documents() {
    // So that the test above cannot pass by validating nothing.
    let repo = repo();
    let all = responses(&repo);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let identify = &all
        .iter()
        .find(|(_, x)| x.contains("<Identify>"))
        .expect("Identify")
        .1;
    let record = &all
        .iter()
        .find(|(_, x)| x.contains("<oai_dc:dc "))
        .expect("oai_dc")
        .1;
    let native = &all
        .iter()
        .find(|(_, x)| x.contains("<setu:record "))
        .expect("setu")
        .1;
    let broken = [
        identify.replace(
            "<deletedRecord>persistent</deletedRecord>",
            "<deletedRecord>sometimes</deletedRecord>",
        ),
        identify.replace("<responseDate>", "<responseDate>x"),
        record
            .replacen("<dc:title", "<dc:heading", 1)
            .replacen("</dc:title>", "</dc:heading>", 1),
        native.replacen("encoding=\"base64\">", "encoding=\"base64\">A", 1),
        record.replacen("<datestamp>", "<datestamp>2023-11-14T22:13:20+01:00", 1),
    ];
    for (n, xml) in broken.iter().enumerate() {
        let path = dir.path().join(format!("broken{n}.xml"));
        std::fs::write(&path, xml).expect("write");
        let out = xmllint(std::slice::from_ref(&path));
        assert!(!out.status.success(), "broken document {n} was accepted");
    }
}
