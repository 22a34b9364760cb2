//! The catalogue's shape, paging, `modified_since`, and the schema.org
//! description.

use super::*;
use crate::memory::Memory;
use serde_json::json;

const T0: u64 = 1_700_000_000_000;

fn site() -> Site {
    Site::new("http://node.example:7300", "Test node", "ops@example.org")
}

fn body(id: &str, title: &str) -> Value {
    json!({
        "practice_id": id, "revision": 1, "state": "active", "licence": "CC-BY-4.0",
        "title": {"original": "bn", "text": {"bn": format!("{title} বাংলা"), "en": title}},
        "summary": {"original": "bn", "text": {"bn": "সারাংশ", "en": "Summary"}},
        "countries": [{"iso3": "BGD", "role": "originating"}, {"iso3": "KEN", "role": "adopting"}],
        "sdg_targets": ["16.6", "9.c"],
        "organisations": [{"name": "a2i", "role": "implementing"}, {"name": "UNDP", "role": "funding"}],
        "keywords": ["one-stop shop"],
        "period": {"start": "2010-11", "end": "2020"},
        "contact": {"name": "Desk", "email": "desk@example.org"},
        "urls": ["https://example.org/udc"],
    })
}

fn repo(n: u64) -> Memory {
    let mut m = Memory::new();
    for i in 0..n {
        let id = format!("P-{i:04}");
        m.put_practice(
            [1; 32],
            &id,
            T0 + i * 1000,
            body(&id, &format!("Practice {i}")),
        );
    }
    m
}

fn datasets(v: &Value) -> &Vec<Value> {
    v["@graph"][0]["dcat:dataset"].as_array().unwrap()
}

fn view(v: &Value) -> &Value {
    &v["@graph"][1]
}

#[test]
fn a_practice_is_a_dataset() {
    let mut m = repo(1);
    m.put_kind(
        [2; 32],
        "adoption",
        "A-1",
        T0 + 5000,
        false,
        json!({"adoption_id": "A-1"}),
    );
    m.put_kind(
        [1; 32],
        "practice",
        "GONE",
        T0 + 6000,
        true,
        json!({"practice_id": "GONE", "state": "withdrawn"}),
    );
    let c = catalog(&site(), "", &m).unwrap();
    let cat = &c["@graph"][0];
    assert_eq!(cat["@type"], "dcat:Catalog");
    assert_eq!(cat["@id"], "http://node.example:7300/catalog.jsonld");
    assert_eq!(cat["dct:publisher"]["foaf:name"], "Test node");
    assert_eq!(
        cat["dct:publisher"]["foaf:mbox"]["@id"],
        "mailto:ops@example.org"
    );
    let ds = datasets(&c);
    assert_eq!(
        ds.len(),
        1,
        "adoptions and withdrawn practices are not datasets"
    );
    let d = &ds[0];
    let iri = format!("urn:setu:practice:{}:P-0000", "01".repeat(32));
    assert_eq!(d["@id"], iri);
    assert_eq!(d["dct:identifier"], iri);
    assert_eq!(d["@type"], "dcat:Dataset");
    assert_eq!(
        d["dct:title"][0],
        json!({"@value": "Practice 0 বাংলা", "@language": "bn"})
    );
    assert_eq!(
        d["dct:title"][1],
        json!({"@value": "Practice 0", "@language": "en"})
    );
    assert_eq!(d["dct:description"][1]["@value"], "Summary");
    assert_eq!(
        d["dct:modified"],
        json!({"@value": "2023-11-14T22:13:20Z", "@type": "xsd:dateTime"})
    );
    assert_eq!(d["dct:publisher"]["@type"], "foaf:Agent");
    assert_eq!(d["dct:creator"][0]["foaf:name"], "a2i");
    assert_eq!(d["dcat:keyword"], json!(["one-stop shop"]));
    let themes: Vec<&str> = d["dcat:theme"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["@id"].as_str().unwrap())
        .collect();
    assert_eq!(
        themes,
        vec![
            "http://metadata.un.org/sdg/9",
            "http://metadata.un.org/sdg/16",
            "http://metadata.un.org/sdg/16.6",
            "http://metadata.un.org/sdg/9.c",
            THEME_GOVERNMENT,
        ]
    );
    assert!(
        d["dcat:theme"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["skos:prefLabel"]["@value"].is_string())
    );
    assert_eq!(
        d["dct:spatial"][0]["@id"],
        "http://publications.europa.eu/resource/authority/country/BGD"
    );
    assert_eq!(d["dct:spatial"][1]["skos:prefLabel"]["@value"], "Kenya");
    assert_eq!(
        d["dct:temporal"]["dcat:startDate"],
        json!({"@value": "2010-11", "@type": "xsd:gYearMonth"})
    );
    assert_eq!(
        d["dct:temporal"]["dcat:endDate"],
        json!({"@value": "2020", "@type": "xsd:gYear"})
    );
    assert_eq!(
        d["dct:language"][0]["@id"],
        "http://lexvo.org/id/iso639-1/bn"
    );
    assert_eq!(
        d["dcat:contactPoint"]["vcard:hasEmail"]["@id"],
        "mailto:desk@example.org"
    );
    assert_eq!(d["foaf:page"][0]["@id"], "https://example.org/udc");
    assert_eq!(
        d["dcat:landingPage"]["@id"],
        format!(
            "http://node.example:7300/practices/P-0000?publisher={}",
            "01".repeat(32)
        )
    );
    let dist = d["dcat:distribution"].as_array().unwrap();
    assert_eq!(dist.len(), 2);
    assert_eq!(
        dist[0]["dcat:accessURL"]["@id"],
        format!(
            "http://node.example:7300/v1/practices/P-0000?publisher={}",
            "01".repeat(32)
        )
    );
    assert!(
        dist[1]["dcat:downloadURL"]["@id"]
            .as_str()
            .unwrap()
            .starts_with("http://node.example:7300/v1/records/")
    );
    assert_eq!(
        dist[0]["dct:license"]["@id"],
        "https://spdx.org/licenses/CC-BY-4.0"
    );
    assert_eq!(view(&c)["@type"], "hydra:PartialCollectionView");
    assert_eq!(
        view(&c)["hydra:first"]["@id"],
        "http://node.example:7300/catalog.jsonld"
    );
    assert!(view(&c).get("hydra:next").is_none(), "one page: no next");
}

/// Follows `hydra:next` to the end; returns every dataset id.
fn follow(m: &Memory, first: &str) -> Vec<String> {
    let mut query = first.to_string();
    let mut ids = Vec::new();
    for _ in 0..100 {
        let c = catalog(&site(), &query, m).unwrap();
        ids.extend(
            datasets(&c)
                .iter()
                .map(|d| d["@id"].as_str().unwrap().to_string()),
        );
        match view(&c)["hydra:next"]["@id"].as_str() {
            Some(next) => {
                query = next.split_once('?').unwrap().1.to_string();
            }
            None => return ids,
        }
    }
    panic!("paging did not end");
}

#[test]
fn hydra_paging_visits_every_dataset_once() {
    let m = repo(250);
    let first = catalog(&site(), "", &m).unwrap();
    assert_eq!(datasets(&first).len(), PAGE_SIZE);
    assert!(
        view(&first)["hydra:next"]["@id"]
            .as_str()
            .unwrap()
            .starts_with("http://node.example:7300/catalog.jsonld?after=")
    );
    let ids = follow(&m, "");
    assert_eq!(ids.len(), 250);
    let mut u = ids.clone();
    u.sort();
    u.dedup();
    assert_eq!(u.len(), 250);
    assert_eq!(follow(&repo(100), "").len(), 100);
    assert!(
        view(&catalog(&site(), "", &repo(100)).unwrap())
            .get("hydra:next")
            .is_none()
    );
}

#[test]
fn modified_since_filters_and_is_kept_across_pages() {
    let m = repo(250);
    // Stamps are T0 + i s; 2023-11-14T22:15:00Z is T0 + 100 s.
    let ids = follow(&m, "modified_since=2023-11-14T22:15:00Z");
    assert_eq!(ids.len(), 150);
    let c = catalog(&site(), "modified_since=2023-11-14T22:15:00Z", &m).unwrap();
    let next = view(&c)["hydra:next"]["@id"].as_str().unwrap();
    assert!(
        next.contains("modified_since=2023-11-14T22%3A15%3A00Z"),
        "{next}"
    );
    assert_eq!(
        view(&c)["hydra:first"]["@id"],
        "http://node.example:7300/catalog.jsonld?modified_since=2023-11-14T22%3A15%3A00Z"
    );
    assert_eq!(follow(&m, "modified_since=2023-11-15").len(), 0);
    assert_eq!(follow(&m, "modified_since=2023-11-14").len(), 250);
    assert_eq!(
        follow(&m, "modified_since=2023-11-14T23:15:00%2B01:00").len(),
        150
    );
}

#[test]
fn bad_parameters_name_themselves() {
    let m = repo(3);
    for (q, param) in [
        ("page=2", "page"),
        ("modified_since=yesterday", "modified_since"),
        (
            "modified_since=2020-01-01&modified_since=2020-01-02",
            "modified_since",
        ),
        ("after=zz", "after"),
        ("after=6e6f", "after"),
        ("after=%zz", "query"),
    ] {
        match catalog(&site(), q, &m) {
            Err(Error::BadParameter { param: p, .. }) => assert_eq!(p, param, "{q}"),
            other => panic!("{q}: {other:?}"),
        }
    }
    let mut failing = repo(1);
    failing.fail = true;
    assert!(matches!(
        catalog(&site(), "", &failing),
        Err(Error::Repository(_))
    ));
}

#[test]
fn schema_org_of_a_practice() {
    let b = body("BGD-1", "Union </script><script>alert(1)</script> Centres");
    let v = schema_org(
        &b,
        Some("en"),
        Some("http://node.example:7300/practices/BGD-1"),
    );
    assert_eq!(v["@context"], "https://schema.org");
    assert_eq!(v["@type"], "CreativeWork");
    assert_eq!(v["identifier"], "BGD-1");
    assert_eq!(v["inLanguage"], "en");
    assert_eq!(v["about"]["@type"], "GovernmentService");
    assert_eq!(
        v["about"]["areaServed"][0],
        json!({"@type": "Country", "name": "Bangladesh", "identifier": "BGD"})
    );
    assert_eq!(v["about"]["provider"][0]["@type"], "GovernmentOrganization");
    assert_eq!(v["license"], "https://spdx.org/licenses/CC-BY-4.0");
    assert_eq!(v["temporalCoverage"], "2010-11/2020");
    assert!(
        v["keywords"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k.as_str().unwrap().starts_with("SDG 16: "))
    );
    let bn = schema_org(&b, Some("fr"), None);
    assert_eq!(
        bn["inLanguage"], "bn",
        "falls back to the original language"
    );
    // Any JSON at all: no panic.
    for junk in [json!(null), json!([]), json!({"title": 5, "countries": {}})] {
        let v = schema_org(&junk, None, None);
        assert_eq!(v["@type"], "CreativeWork");
    }
}
