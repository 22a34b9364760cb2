//! Every verb, every error code, paging, selective harvesting, sets,
//! deleted items and hostile text, against the in-memory repository.

use super::*;
use crate::memory::Memory;
use proptest::prelude::*;
use serde_json::{Value, json};

/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000_000;
const NOW: u64 = T0 + 86_400_000;

fn site() -> Site {
    Site::new("http://node.example:7300/", "Test node", "ops@example.org")
}

fn practice(id: &str, title: &str, countries: &[&str], sdgs: &[&str]) -> Value {
    json!({
        "practice_id": id, "revision": 1, "state": "active", "licence": "CC-BY-4.0",
        "title": {"original": "en", "text": {"en": title, "bn": format!("{title} (bn)")}},
        "summary": {"original": "en", "text": {"en": format!("About {title}")}},
        "countries": countries.iter().map(|c| json!({"iso3": c, "role": "originating"})).collect::<Vec<_>>(),
        "sdg_targets": sdgs,
        "organisations": [{"name": "Aspire to Innovate", "role": "implementing"}, {"name": "UNDP", "role": "supporting"}],
        "keywords": ["one-stop shop"],
        "period": {"start": "2010-11"},
        "urls": ["https://example.org/x?a=1&b=2"],
    })
}

/// Five items: two practices, an adoption, a need, a withdrawn practice.
fn fixture() -> Memory {
    let mut m = Memory::new();
    m.put_practice(
        [1; 32],
        "BGD-1",
        T0 + 1000,
        practice("BGD-1", "Union Digital Centres", &["BGD"], &["16.6", "9.c"]),
    );
    m.put_practice(
        [2; 32],
        "KEN-1",
        T0 + 2000,
        practice("KEN-1", "Huduma Centres", &["KEN"], &["16.6"]),
    );
    m.put_kind(
        [2; 32],
        "adoption",
        "KEN-ADOPT-1",
        T0 + 3000,
        false,
        json!({
            "adoption_id": "KEN-ADOPT-1", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
            "practice": {"key": hex::encode([1u8; 32]), "practice_id": "BGD-1"},
            "country": "KEN", "stage": "piloting", "period": {"start": "2015-03"},
            "adaptation": {"original": "en", "text": {"en": "Run by county governments"}},
        }),
    );
    m.put_kind([3; 32], "seeking", "NPL-NEED-1", T0 + 4000, false, json!({
        "seeking_id": "NPL-NEED-1", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
        "country": "NPL", "title": {"original": "en", "text": {"en": "Rural school enrolment"}},
        "challenge": {"original": "en", "text": {"en": "Children drop out"}}, "sdg_targets": ["4.1"],
    }));
    m.put_kind(
        [1; 32],
        "practice",
        "BGD-2",
        T0 + 5000,
        true,
        json!({
            "practice_id": "BGD-2", "revision": 2, "state": "withdrawn", "reason": "merged",
            "supersedes": "00".repeat(32),
        }),
    );
    m
}

fn ask(repo: &Memory, q: &str) -> String {
    respond(&site(), q, repo, NOW).expect("the memory repository does not fail")
}

fn error_code(xml: &str) -> Option<&str> {
    let at = xml.find("<error code=\"")? + 13;
    xml.get(at..).and_then(|s| s.split('"').next())
}

fn count(xml: &str, needle: &str) -> usize {
    xml.matches(needle).count()
}

/// The token text of a response, `Some("")` for an empty token.
fn token(xml: &str) -> Option<String> {
    let at = xml.find("<resumptionToken")?;
    let rest = &xml[at..];
    if let Some(end) = rest.find("/>")
        && rest.find('>') == Some(end + 1)
    {
        return Some(String::new());
    }
    let open = rest.find('>')? + 1;
    let close = rest.find("</resumptionToken>")?;
    Some(rest[open..close].to_string())
}

fn identifiers(xml: &str) -> Vec<String> {
    xml.split("<identifier>")
        .skip(1)
        .filter_map(|s| s.split("</identifier>").next())
        .map(str::to_string)
        .collect()
}

#[test]
fn identify() {
    let xml = ask(&fixture(), "verb=Identify");
    assert_eq!(error_code(&xml), None, "{xml}");
    assert!(xml.contains(r#"<request verb="Identify">http://node.example:7300/oai</request>"#));
    assert!(xml.contains("<repositoryName>Test node</repositoryName>"));
    assert!(xml.contains("<baseURL>http://node.example:7300/oai</baseURL>"));
    assert!(xml.contains("<protocolVersion>2.0</protocolVersion>"));
    assert!(xml.contains("<adminEmail>ops@example.org</adminEmail>"));
    assert!(xml.contains("<earliestDatestamp>2023-11-14T22:13:21Z</earliestDatestamp>"));
    assert!(xml.contains("<deletedRecord>persistent</deletedRecord>"));
    assert!(xml.contains("<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"));
    assert!(xml.contains("<responseDate>2023-11-15T22:13:20Z</responseDate>"));
    let empty = ask(&Memory::new(), "verb=Identify");
    assert!(empty.contains("<earliestDatestamp>1970-01-01T00:00:00Z</earliestDatestamp>"));
    // Identify takes no argument.
    assert_eq!(
        error_code(&ask(&fixture(), "verb=Identify&set=kind")),
        Some("badArgument")
    );
}

#[test]
fn list_metadata_formats() {
    let mut repo = fixture();
    repo.put_practice(
        [0xab; 32],
        "AB-1",
        T0,
        practice("AB-1", "Ab", &["BGD"], &["1.1"]),
    );
    let ab = identifier("practice", &[0xab; 32], "AB-1");
    assert_eq!(
        error_code(&ask(
            &repo,
            &format!("verb=ListMetadataFormats&identifier={ab}")
        )),
        None
    );
    let xml = ask(&repo, "verb=ListMetadataFormats");
    assert_eq!(count(&xml, "<metadataFormat>"), 2);
    assert!(xml.contains("<metadataPrefix>oai_dc</metadataPrefix><schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>"));
    assert!(xml.contains("<metadataPrefix>setu</metadataPrefix><schema>http://node.example:7300/oai/setu-record.xsd</schema><metadataNamespace>urn:setu:oai:record:1</metadataNamespace>"));
    let id = identifier("practice", &[1; 32], "BGD-1");
    let one = ask(&repo, &format!("verb=ListMetadataFormats&identifier={id}"));
    assert_eq!(count(&one, "<metadataFormat>"), 2, "{one}");
    assert!(one.contains(&format!(r#"identifier="{id}""#)));
    // A deleted item still has its formats (its header is deleted).
    let gone = identifier("practice", &[1; 32], "BGD-2");
    assert_eq!(
        error_code(&ask(
            &repo,
            &format!("verb=ListMetadataFormats&identifier={gone}")
        )),
        None
    );
    for bad in [
        identifier("practice", &[9; 32], "BGD-1"),
        identifier("practice", &[1; 32], "BGD-9"),
        "oai:setu:practice:0101:BGD-1".into(),
        "not an identifier".into(),
        format!("oai:setu:practice:{}:AB-1", "ab".repeat(32).to_uppercase()),
    ] {
        let q = format!(
            "verb=ListMetadataFormats&identifier={}",
            crate::form::encode(&bad)
        );
        assert_eq!(error_code(&ask(&repo, &q)), Some("idDoesNotExist"), "{bad}");
    }
}

#[test]
fn list_sets() {
    let xml = ask(&fixture(), "verb=ListSets");
    assert_eq!(error_code(&xml), None);
    for spec in [
        "kind",
        "kind:practice",
        "kind:adoption",
        "kind:seeking",
        "country",
        "country:BGD",
        "sdg",
        "sdg:16",
    ] {
        assert!(
            xml.contains(&format!("<setSpec>{spec}</setSpec>")),
            "{spec}"
        );
    }
    assert!(xml.contains("<setSpec>country:BGD</setSpec><setName>Bangladesh</setName>"));
    assert!(!xml.contains("<resumptionToken"));
    let tok = ask(&fixture(), "verb=ListSets&resumptionToken=abc");
    assert_eq!(error_code(&tok), Some("badResumptionToken"));
    assert!(tok.contains(r#"<request verb="ListSets" resumptionToken="abc">"#));
}

#[test]
fn get_record_in_both_formats() {
    let repo = fixture();
    let id = identifier("practice", &[1; 32], "BGD-1");
    let xml = ask(
        &repo,
        &format!("verb=GetRecord&identifier={id}&metadataPrefix=oai_dc"),
    );
    assert_eq!(error_code(&xml), None, "{xml}");
    assert!(xml.contains(&format!(
        r#"<request verb="GetRecord" identifier="{id}" metadataPrefix="oai_dc">"#
    )));
    assert!(xml.contains(&format!("<header><identifier>{id}</identifier><datestamp>2023-11-14T22:13:21Z</datestamp><setSpec>kind:practice</setSpec><setSpec>country:BGD</setSpec><setSpec>sdg:9</setSpec><setSpec>sdg:16</setSpec></header>")));
    for part in [
        r#"<dc:title xml:lang="en">Union Digital Centres</dc:title>"#,
        r#"<dc:title xml:lang="bn">Union Digital Centres (bn)</dc:title>"#,
        "<dc:creator>Aspire to Innovate</dc:creator>",
        "<dc:contributor>UNDP</dc:contributor>",
        "<dc:subject>SDG target 16.6</dc:subject>",
        r#"<dc:subject xml:lang="en">SDG 16: "#,
        "<dc:subject>one-stop shop</dc:subject>",
        r#"<dc:description xml:lang="en">About Union Digital Centres</dc:description>"#,
        "<dc:date>2010-11</dc:date>",
        "<dc:identifier>http://node.example:7300/practices/BGD-1?publisher=0101",
        "<dc:identifier>http://node.example:7300/v1/practices/BGD-1?publisher=0101",
        "<dc:identifier>http://node.example:7300/v1/records/",
        "<dc:relation>https://example.org/x?a=1&amp;b=2</dc:relation>",
        "<dc:coverage>BGD</dc:coverage>",
        "<dc:rights>CC-BY-4.0</dc:rights>",
        "<dc:language>bn</dc:language><dc:language>en</dc:language>",
    ] {
        assert!(xml.contains(part), "{part} missing in {xml}");
    }
    let native = ask(
        &repo,
        &format!("verb=GetRecord&identifier={id}&metadataPrefix=setu"),
    );
    assert!(native.contains(&format!(r#"<setu:record xmlns:setu="urn:setu:oai:record:1" xsi:schemaLocation="urn:setu:oai:record:1 http://node.example:7300/oai/setu-record.xsd" kind="practice" author="{}" id="BGD-1" record=""#, "01".repeat(32))));
    let item = repo.item(&[1; 32], "practice", "BGD-1").unwrap().unwrap();
    let record = item.record.unwrap();
    assert!(native.contains(&format!(
        r#"<setu:signed encoding="base64">{}</setu:signed>"#,
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &record.bytes)
    )));
    assert!(native.contains(&format!(r#"ts="{}""#, record.ts_ms)));
    // The JSON element is the body's JSON form, XML-escaped.
    let json_text = native
        .split("<setu:json>")
        .nth(1)
        .unwrap()
        .split("</setu:json>")
        .next()
        .unwrap();
    let back: Value = serde_json::from_str(&unescape(json_text)).unwrap();
    assert_eq!(back, record.json);
}

#[test]
fn get_record_of_every_kind() {
    let repo = fixture();
    let adoption = ask(
        &repo,
        &format!(
            "verb=GetRecord&metadataPrefix=oai_dc&identifier={}",
            identifier("adoption", &[2; 32], "KEN-ADOPT-1")
        ),
    );
    assert!(
        adoption.contains(r#"<dc:title xml:lang="en">Adoption of BGD-1 in Kenya</dc:title>"#),
        "{adoption}"
    );
    assert!(
        adoption
            .contains("<dc:description xml:lang=\"en\">Run by county governments</dc:description>")
    );
    assert!(adoption.contains("<dc:coverage>KEN</dc:coverage>"));
    assert!(
        adoption
            .contains("<setSpec>kind:adoption</setSpec><setSpec>country:KEN</setSpec></header>")
    );
    assert!(!adoption.contains("/v1/practices/"));
    let need = ask(
        &repo,
        &format!(
            "verb=GetRecord&metadataPrefix=oai_dc&identifier={}",
            identifier("seeking", &[3; 32], "NPL-NEED-1")
        ),
    );
    assert!(need.contains(r#"<dc:title xml:lang="en">Rural school enrolment</dc:title>"#));
    assert!(need.contains(r#"<dc:description xml:lang="en">Children drop out</dc:description>"#));
    assert!(need.contains(
        "<setSpec>kind:seeking</setSpec><setSpec>country:NPL</setSpec><setSpec>sdg:4</setSpec>"
    ));
}

#[test]
fn deleted_items_have_a_deleted_header_and_no_metadata() {
    let repo = fixture();
    let id = identifier("practice", &[1; 32], "BGD-2");
    for prefix in ["oai_dc", "setu"] {
        let xml = ask(
            &repo,
            &format!("verb=GetRecord&identifier={id}&metadataPrefix={prefix}"),
        );
        assert!(xml.contains(&format!(r#"<record><header status="deleted"><identifier>{id}</identifier><datestamp>2023-11-14T22:13:25Z</datestamp><setSpec>kind:practice</setSpec></header></record>"#)), "{xml}");
        assert!(!xml.contains("<metadata>"));
    }
    let list = ask(&repo, "verb=ListIdentifiers&metadataPrefix=oai_dc");
    assert_eq!(count(&list, "<header status=\"deleted\">"), 1);
    assert_eq!(count(&list, "<header"), 5);
    let records = ask(&repo, "verb=ListRecords&metadataPrefix=oai_dc");
    assert_eq!(count(&records, "<record>"), 5);
    assert_eq!(count(&records, "<metadata>"), 4);
}

#[test]
fn get_record_errors() {
    let repo = fixture();
    let id = identifier("practice", &[1; 32], "BGD-1");
    let cannot = ask(
        &repo,
        &format!("verb=GetRecord&identifier={id}&metadataPrefix=marc21"),
    );
    assert_eq!(error_code(&cannot), Some("cannotDisseminateFormat"));
    assert!(cannot.contains(&format!(
        r#"<request verb="GetRecord" identifier="{id}" metadataPrefix="marc21">"#
    )));
    for q in [
        format!("verb=GetRecord&identifier={id}"),
        "verb=GetRecord&metadataPrefix=oai_dc".into(),
        format!("verb=GetRecord&identifier={id}&metadataPrefix=oai%20dc"),
        format!("verb=GetRecord&identifier={id}&identifier={id}&metadataPrefix=oai_dc"),
        format!("verb=GetRecord&identifier={id}&metadataPrefix=oai_dc&from=2020-01-01"),
    ] {
        let xml = ask(&repo, &q);
        assert_eq!(error_code(&xml), Some("badArgument"), "{q}");
        assert!(
            xml.contains("<request>http://node.example:7300/oai</request>"),
            "{q}"
        );
    }
    let missing = ask(
        &repo,
        "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:setu:practice:nothing",
    );
    assert_eq!(error_code(&missing), Some("idDoesNotExist"));
}

#[test]
fn bad_verbs() {
    let repo = fixture();
    for q in [
        "",
        "verb=",
        "verb=identify",
        "verb=Identify&verb=Identify",
        "verb=ListRecords&verb=ListSets",
        "metadataPrefix=oai_dc",
        "verb=Delete",
    ] {
        let xml = ask(&repo, q);
        assert_eq!(error_code(&xml), Some("badVerb"), "{q}");
        assert!(
            xml.contains("<request>http://node.example:7300/oai</request>"),
            "{q}"
        );
    }
}

#[test]
fn bad_arguments() {
    let repo = fixture();
    for q in [
        "verb=ListRecords",
        "verb=ListIdentifiers&from=2020-01-01",
        "verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc",
        "verb=ListRecords&metadataPrefix=oai_dc&colour=red",
        "verb=ListRecords&metadataPrefix=oai_dc&from=2020-02-30",
        "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01T10:00:00",
        "verb=ListRecords&metadataPrefix=oai_dc&until=yesterday",
        "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-02&until=2020-01-01",
        "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01&until=2020-01-02T00:00:00Z",
        "verb=ListRecords&metadataPrefix=oai_dc&set=",
        "verb=ListRecords&metadataPrefix=oai_dc&set=country%3A",
        "verb=ListRecords&metadataPrefix=oai_dc&set=a%20b",
        "verb=ListRecords&resumptionToken=abc&metadataPrefix=oai_dc",
        "verb=ListRecords&metadataPrefix=%zz",
        "verb=ListSets&set=kind",
        "verb=ListMetadataFormats&metadataPrefix=oai_dc",
    ] {
        let xml = ask(&repo, q);
        assert_eq!(error_code(&xml), Some("badArgument"), "{q}: {xml}");
        assert!(
            xml.contains("<request>http://node.example:7300/oai</request>"),
            "{q}"
        );
    }
    let long = format!("verb=Identify&x={}", "a".repeat(MAX_QUERY_BYTES));
    assert_eq!(error_code(&ask(&repo, &long)), Some("badArgument"));
    let msg = ask(
        &repo,
        "verb=ListRecords&metadataPrefix=oai_dc&from=2020-02-30",
    );
    assert!(
        msg.contains("from: &quot;2020-02-30&quot; is not a datestamp")
            || msg.contains("from: \"2020-02-30\" is not a datestamp"),
        "{msg}"
    );
}

#[test]
fn list_records_and_identifiers() {
    let repo = fixture();
    let all = ask(&repo, "verb=ListRecords&metadataPrefix=oai_dc");
    assert_eq!(count(&all, "<record>"), 5, "{all}");
    assert!(all.contains(r#"<request verb="ListRecords" metadataPrefix="oai_dc">"#));
    assert_eq!(
        token(&all),
        None,
        "a complete list in one response has no token"
    );
    let ids = ask(&repo, "verb=ListIdentifiers&metadataPrefix=setu");
    assert_eq!(count(&ids, "<header"), 5);
    assert!(!ids.contains("<record>"));
    // Stamp order.
    assert_eq!(
        identifiers(&ids),
        vec![
            identifier("practice", &[1; 32], "BGD-1"),
            identifier("practice", &[2; 32], "KEN-1"),
            identifier("adoption", &[2; 32], "KEN-ADOPT-1"),
            identifier("seeking", &[3; 32], "NPL-NEED-1"),
            identifier("practice", &[1; 32], "BGD-2"),
        ]
    );
    let cannot = ask(&repo, "verb=ListIdentifiers&metadataPrefix=mods");
    assert_eq!(error_code(&cannot), Some("cannotDisseminateFormat"));
    assert!(cannot.contains(r#"<request verb="ListIdentifiers" metadataPrefix="mods">"#));
    assert_eq!(
        error_code(&ask(
            &Memory::new(),
            "verb=ListRecords&metadataPrefix=oai_dc"
        )),
        Some("noRecordsMatch")
    );
}

#[test]
fn selective_harvest_by_date() {
    let repo = fixture();
    let n = |q: &str| {
        let xml = ask(
            &repo,
            &format!("verb=ListIdentifiers&metadataPrefix=oai_dc&{q}"),
        );
        if error_code(&xml) == Some("noRecordsMatch") {
            0
        } else {
            assert_eq!(error_code(&xml), None, "{q}: {xml}");
            count(&xml, "<header")
        }
    };
    // Stamps are T0+1s … T0+5s, i.e. 22:13:21 … 22:13:25.
    assert_eq!(n("from=2023-11-14T22:13:23Z"), 3);
    assert_eq!(
        n("until=2023-11-14T22:13:23Z"),
        3,
        "until is inclusive to the second"
    );
    assert_eq!(n("from=2023-11-14T22:13:22Z&until=2023-11-14T22:13:22Z"), 1);
    assert_eq!(n("from=2023-11-14"), 5);
    assert_eq!(
        n("from=2023-11-14&until=2023-11-14"),
        5,
        "a day includes its whole last second"
    );
    assert_eq!(n("until=2023-11-13"), 0);
    assert_eq!(n("from=2023-11-15"), 0);
    assert_eq!(n("until=1969-12-31"), 0);
    assert_eq!(n("from=1900-01-01"), 5);
    let echoed = ask(
        &repo,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2023-11-14&until=2023-11-14",
    );
    assert!(echoed.contains(r#"from="2023-11-14" until="2023-11-14""#));
    let none = ask(
        &repo,
        "verb=ListRecords&metadataPrefix=oai_dc&from=2030-01-01",
    );
    assert!(
        none.contains(r#"<request verb="ListRecords" metadataPrefix="oai_dc" from="2030-01-01">"#),
        "{none}"
    );
}

#[test]
fn a_late_arrival_is_harvested_by_from() {
    // A record authored long ago but stored now sorts by when it was stored.
    let mut repo = fixture();
    let mut old = practice("OLD-1", "Old", &["NPL"], &["1.1"]);
    old["period"] = json!({"start": "1999"});
    repo.put_practice([4; 32], "OLD-1", T0 + 60_000, old);
    let xml = ask(
        &repo,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2023-11-14T22:14:00Z",
    );
    assert_eq!(
        identifiers(&xml),
        vec![identifier("practice", &[4; 32], "OLD-1")]
    );
}

#[test]
fn sets_select() {
    let repo = fixture();
    let ids = |set: &str| {
        let xml = ask(
            &repo,
            &format!("verb=ListIdentifiers&metadataPrefix=oai_dc&set={set}"),
        );
        if error_code(&xml) == Some("noRecordsMatch") {
            return Vec::new();
        }
        assert_eq!(error_code(&xml), None, "{set}: {xml}");
        identifiers(&xml)
    };
    assert_eq!(
        ids("country:BGD"),
        vec![identifier("practice", &[1; 32], "BGD-1")]
    );
    assert_eq!(ids("country:KEN").len(), 2);
    assert_eq!(ids("country").len(), 4);
    assert_eq!(ids("sdg:16").len(), 2);
    assert_eq!(
        ids("sdg:4"),
        vec![identifier("seeking", &[3; 32], "NPL-NEED-1")]
    );
    assert_eq!(ids("sdg").len(), 3);
    assert_eq!(
        ids("kind:practice").len(),
        3,
        "the withdrawn practice stays in kind:practice"
    );
    assert_eq!(ids("kind:adoption").len(), 1);
    assert_eq!(ids("kind").len(), 5);
    assert!(ids("country:FRA").is_empty());
    assert!(ids("sdg:18").is_empty());
    assert!(ids("theme:x").is_empty());
    let none = ask(
        &repo,
        "verb=ListRecords&metadataPrefix=oai_dc&set=country:XXX",
    );
    assert_eq!(error_code(&none), Some("noRecordsMatch"));
    assert!(none.contains(r#"set="country:XXX""#));
}

/// `n` practices, one stamp each, every `every`th one in Nepal.
fn many(n: u64, every: u64) -> Memory {
    let mut m = Memory::new();
    for i in 0..n {
        let country = if i % every == every - 1 { "NPL" } else { "BGD" };
        let id = format!("P-{i:06}");
        let mut body = practice(&id, &format!("Practice {i}"), &[country], &["16.6"]);
        body.as_object_mut().unwrap().remove("urls");
        m.put_practice([(i % 7) as u8; 32], &id, T0 + i * 10, body);
    }
    m
}

/// Follows resumption tokens to the end; returns every identifier and the
/// cursor attribute of each token.
fn harvest(repo: &Memory, first: &str) -> (Vec<String>, Vec<String>) {
    let mut xml = ask(repo, first);
    let mut ids = Vec::new();
    let mut cursors = Vec::new();
    for _ in 0..1000 {
        assert_eq!(error_code(&xml), None, "{xml}");
        ids.extend(identifiers(&xml));
        if let Some(at) = xml.find("<resumptionToken cursor=\"") {
            cursors.push(xml[at + 25..].split('"').next().unwrap().to_string());
        }
        match token(&xml) {
            Some(t) if !t.is_empty() => {
                let verb = if first.contains("ListIdentifiers") {
                    "ListIdentifiers"
                } else {
                    "ListRecords"
                };
                xml = ask(repo, &format!("verb={verb}&resumptionToken={t}"));
                assert!(xml.contains(&format!(r#"<request verb="{verb}" resumptionToken="{t}">"#)));
            }
            _ => return (ids, cursors),
        }
    }
    panic!("the harvest did not end");
}

#[test]
fn paging_through_resumption_tokens() {
    let repo = many(250, 1);
    let (ids, cursors) = harvest(&repo, "verb=ListRecords&metadataPrefix=oai_dc");
    assert_eq!(ids.len(), 250);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 250, "no item twice");
    assert_eq!(cursors, vec!["0", "100", "200"]);
    // The last page carries an empty token.
    let first = ask(&repo, "verb=ListRecords&metadataPrefix=oai_dc");
    assert_eq!(count(&first, "<record>"), PAGE_SIZE);
    let t = token(&first).unwrap();
    let second = ask(&repo, &format!("verb=ListRecords&resumptionToken={t}"));
    let t2 = token(&second).unwrap();
    let last = ask(&repo, &format!("verb=ListRecords&resumptionToken={t2}"));
    assert_eq!(count(&last, "<record>"), 50);
    assert!(
        last.contains(r#"<resumptionToken cursor="200"/>"#),
        "{last}"
    );
    // Exactly one full page: no token, no empty trailing page.
    let exact = many(100, 1);
    assert_eq!(
        token(&ask(&exact, "verb=ListIdentifiers&metadataPrefix=oai_dc")),
        None
    );
    let one_more = many(101, 1);
    let (ids, _) = harvest(&one_more, "verb=ListIdentifiers&metadataPrefix=oai_dc");
    assert_eq!(ids.len(), 101);
    // A token keeps the set and the bounds of the first request.
    let (npl, _) = harvest(
        &many(600, 3),
        "verb=ListIdentifiers&metadataPrefix=setu&set=country:NPL&from=2023-11-14T22:13:21Z",
    );
    assert_eq!(npl.len(), (100..600).filter(|i| i % 3 == 2).count());
}

#[test]
fn items_stored_during_a_harvest_come_at_its_end() {
    let mut repo = many(150, 1);
    let first = ask(&repo, "verb=ListIdentifiers&metadataPrefix=oai_dc");
    let t = token(&first).unwrap();
    // A practice from the first page is revised, a new one arrives.
    repo.put_practice(
        [0; 32],
        "P-000000",
        T0 + 100_000,
        practice("P-000000", "Revised", &["BGD"], &["1.1"]),
    );
    repo.put_practice(
        [9; 32],
        "NEW",
        T0 + 100_001,
        practice("NEW", "New", &["BGD"], &["1.1"]),
    );
    let rest = ask(&repo, &format!("verb=ListIdentifiers&resumptionToken={t}"));
    let ids = identifiers(&rest);
    assert_eq!(ids.len(), 52);
    assert_eq!(ids[50], identifier("practice", &[0; 32], "P-000000"));
    assert_eq!(ids[51], identifier("practice", &[9; 32], "NEW"));
}

#[test]
fn a_sparse_set_is_read_in_bounded_steps() {
    // 25 000 items, one in 2 500 in Nepal: a page stops reading once it
    // holds a record and has read MAX_SCANNED items.
    let repo = many(25_000, 2_500);
    let mut xml = ask(
        &repo,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&set=country:NPL",
    );
    let mut found = Vec::new();
    let mut pages = 0;
    loop {
        let before = repo.returned.get();
        assert_eq!(error_code(&xml), None, "{xml}");
        found.extend(identifiers(&xml));
        pages += 1;
        match token(&xml) {
            Some(t) if !t.is_empty() => {
                repo.returned.set(0);
                xml = ask(&repo, &format!("verb=ListIdentifiers&resumptionToken={t}"));
                let read = repo.returned.get();
                assert!(
                    read <= MAX_SCANNED + SCAN_BATCH,
                    "read {read} (before: {before})"
                );
            }
            _ => break,
        }
    }
    assert_eq!(found.len(), 10);
    assert!(
        pages >= 3,
        "the budget split the list into several pages ({pages})"
    );
    let mut unique = found.clone();
    unique.dedup();
    assert_eq!(unique.len(), 10);
}

#[test]
fn bad_resumption_tokens() {
    let repo = many(150, 1);
    let first = ask(&repo, "verb=ListRecords&metadataPrefix=oai_dc");
    let t = token(&first).unwrap();
    let other_verb = ask(&repo, &format!("verb=ListIdentifiers&resumptionToken={t}"));
    assert_eq!(error_code(&other_verb), Some("badResumptionToken"));
    assert!(other_verb.contains(&format!(r#"resumptionToken="{t}""#)));
    let forged_cursor = hex::encode(
        json!([
            1,
            "ListRecords",
            "oai_dc",
            null,
            null,
            null,
            0,
            "not-a-cursor"
        ])
        .to_string(),
    );
    for bad in [
        "",
        "garbage",
        "%00",
        &forged_cursor,
        &"ab".repeat(MAX_TOKEN_BYTES / 2 + 1),
    ] {
        let xml = ask(&repo, &format!("verb=ListRecords&resumptionToken={bad}"));
        assert_eq!(error_code(&xml), Some("badResumptionToken"), "{bad}");
    }
}

#[test]
fn hostile_text_is_escaped() {
    let mut repo = Memory::new();
    let evil = "Evil</dc:title><script>alert(1)</script>&amp;\u{0}\u{8}\u{1b}\u{FFFF}\"'\r";
    let mut body = practice("EVIL-1", evil, &["BGD"], &["16.6"]);
    body["keywords"] = json!(["]]>", "<![CDATA[x]]>"]);
    body["organisations"] = json!([{"name": "<b>Org</b>", "role": "implementing"}]);
    repo.put_practice([5; 32], "EVIL-1", T0, body.clone());
    for prefix in ["oai_dc", "setu"] {
        let xml = ask(&repo, &format!("verb=ListRecords&metadataPrefix={prefix}"));
        assert!(!xml.contains("<script>"), "{xml}");
        assert!(
            count(&xml, "<dc:title") == count(&xml, "</dc:title>"),
            "{xml}"
        );
        assert!(prefix != "oai_dc" || count(&xml, "<dc:title") == 2, "{xml}");
        assert!(!xml.contains("<b>"));
        assert!(!xml.contains("<![CDATA["));
        assert!(
            xml.chars().all(crate::xml::is_xml_char),
            "no character XML forbids"
        );
        assert!(!xml.contains('\u{1b}'));
        if prefix == "oai_dc" {
            assert!(xml.contains(r#"<dc:title xml:lang="en">Evil&lt;/dc:title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;"'&#xD;</dc:title>"#), "{xml}");
        } else {
            let json_text = xml
                .split("<setu:json>")
                .nth(1)
                .unwrap()
                .split("</setu:json>")
                .next()
                .unwrap();
            let back: Value = serde_json::from_str(&unescape(json_text)).unwrap();
            assert_eq!(back, body, "the native format keeps the text exactly");
        }
    }
    // Hostile arguments are escaped in the echo too.
    let xml = ask(
        &repo,
        "verb=ListSets&resumptionToken=%3C%2Frequest%3E%22%0A",
    );
    assert!(
        xml.contains(r#"resumptionToken="&lt;/request&gt;&quot;&#xA;""#),
        "{xml}"
    );
}

/// Undoes the five predefined entities and character references.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').unwrap() + at;
        let ent = &rest[at + 1..end];
        match ent {
            "amp" => out.push('&'),
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "quot" => out.push('"'),
            "apos" => out.push('\''),
            e if e.starts_with("#x") => {
                out.push(char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap())
            }
            e => panic!("unknown entity {e}"),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn a_failing_repository_is_an_error_not_a_document() {
    let mut repo = fixture();
    repo.fail = true;
    for q in [
        "verb=Identify",
        "verb=ListRecords&metadataPrefix=oai_dc",
        "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:setu:practice:0101010101010101010101010101010101010101010101010101010101010101:BGD-1",
    ] {
        assert!(
            matches!(
                respond(&site(), q, &repo, NOW),
                Err(Error::Repository(RepoError::Unavailable(_)))
            ),
            "{q}"
        );
    }
    // Protocol errors found before the repository is read are still answered.
    assert!(respond(&site(), "verb=Nope", &repo, NOW).is_ok());
}

#[test]
fn identifiers_round_trip() {
    let id = identifier("practice", &[0xab; 32], "BGD-A2I-0001:x");
    assert_eq!(
        id,
        format!("oai:setu:practice:{}:BGD-A2I-0001:x", "ab".repeat(32))
    );
    assert_eq!(
        parse_identifier(&id),
        Some(([0xab; 32], "practice".into(), "BGD-A2I-0001:x".into()))
    );
    let odd = identifier("new kind", &[1; 32], "a b/ব");
    assert_eq!(
        parse_identifier(&odd),
        Some(([1; 32], "new kind".into(), "a b/ব".into()))
    );
    for bad in [
        "oai:setu:practice",
        "oai:setu:practice:zz:x",
        "oai:other:practice:01:x",
        "oai:setu::0101:x",
    ] {
        assert_eq!(parse_identifier(bad), None, "{bad}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// No input makes `respond` panic, and every answer is one OAI-PMH
    /// document with no character XML forbids.
    #[test]
    fn any_query_gets_a_document(parts in proptest::collection::vec(
        prop_oneof![
            Just("verb=ListRecords".to_string()),
            Just("verb=GetRecord".to_string()),
            Just("verb=ListIdentifiers".to_string()),
            Just("verb=ListSets".to_string()),
            Just("verb=Identify".to_string()),
            Just("verb=ListMetadataFormats".to_string()),
            Just("metadataPrefix=oai_dc".to_string()),
            Just("metadataPrefix=setu".to_string()),
            Just("set=country:BGD".to_string()),
            Just("identifier=oai:setu:practice:0101010101010101010101010101010101010101010101010101010101010101:BGD-1".to_string()),
            "[a-zA-Z%=&:+0-9\\-]{0,12}".prop_map(|s| s),
            "(from|until)=[0-9TZ:\\-]{0,22}".prop_map(|s| s),
            "resumptionToken=[0-9a-f]{0,40}".prop_map(|s| s),
            any::<String>().prop_map(|s| crate::form::encode(&s)),
            any::<String>(),
        ],
        0..6,
    )) {
        let repo = fixture();
        let q = parts.join("&");
        let xml = respond(&site(), &q, &repo, NOW).unwrap();
        prop_assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OAI-PMH "));
        prop_assert!(xml.ends_with("</OAI-PMH>\n"));
        prop_assert!(xml.chars().all(crate::xml::is_xml_char));
    }
}
