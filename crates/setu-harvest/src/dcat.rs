//! A DCAT-AP 3 catalogue of the practices a node holds, in JSON-LD, paged
//! with Hydra as CKAN's `ckanext-dcat` harvester reads it (it follows
//! `hydra:next` of a `hydra:PartialCollectionView`), with `modified_since`;
//! and the schema.org description of one practice, for embedding in its
//! web page. `spec/harvest.md` specifies both.
//!
//! Each active practice is a `dcat:Dataset` with two distributions: its
//! JSON form at `/v1/practices/{practice_id}?publisher=HEX` and its signed
//! record at `/v1/records/{record_id}`. Withdrawn practices are left out
//! (a DCAT harvester deletes what a full harvest no longer finds); OAI-PMH
//! is the interface that reports deletions.

use serde_json::{Map, Value, json};

use crate::oai::format::{page_url, practice_url, record_url, uri_component};
use crate::time::{format_datestamp, parse_iso8601};
use crate::{Item, RepoError, Repository, Site, body, form};

/// Path of the catalogue under the node's root.
pub const PATH: &str = "/catalog.jsonld";
/// Most datasets on one page.
pub const PAGE_SIZE: usize = 100;
/// Most items one page reads from the repository once it holds a dataset
/// (items that are not active practices are skipped); as in OAI-PMH, the
/// scan goes on to the first dataset or the end of the list.
pub const MAX_SCANNED: usize = 10_000;
/// Items asked of the repository at once while scanning (the list ends at
/// the first empty answer).
pub const SCAN_BATCH: usize = 200;
/// Longest query string accepted.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// The media type of the catalogue.
pub const MEDIA_TYPE: &str = "application/ld+json";

/// The UN's SDG concept scheme; goal `N` is `{SDG_SCHEME}/N`, target `N.x`
/// is `{SDG_SCHEME}/N.x`.
const SDG_SCHEME: &str = "http://metadata.un.org/sdg";
/// The EU data-theme vocabulary DCAT-AP recommends for `dcat:theme`.
const DATA_THEME_SCHEME: &str = "http://publications.europa.eu/resource/authority/data-theme";
/// Its concept "Government and public sector", the theme of every practice.
const THEME_GOVERNMENT: &str = "http://publications.europa.eu/resource/authority/data-theme/GOVE";
/// The EU country authority table (ISO 3166-1 alpha-3 codes).
const COUNTRY_AUTHORITY: &str = "http://publications.europa.eu/resource/authority/country";
/// ISO 639-1 languages as IRIs.
const LEXVO_ISO639_1: &str = "http://lexvo.org/id/iso639-1";
/// IANA media types as IRIs.
const IANA_MEDIA_TYPES: &str = "http://www.iana.org/assignments/media-types";
/// The EU file-type authority table.
const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type";

/// A catalogue request could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A query parameter is unknown, repeated or malformed (HTTP 400).
    #[error("{param}: {detail}")]
    BadParameter {
        /// The parameter at fault.
        param: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The repository could not answer (HTTP 503).
    #[error("the replica could not answer: {0}")]
    Repository(RepoError),
}

fn bad(param: &str, detail: impl Into<String>) -> Error {
    Error::BadParameter {
        param: param.to_string(),
        detail: detail.into(),
    }
}

/// The catalogue's parameters.
#[derive(Debug, Default)]
struct Query {
    modified_since: Option<(String, u64)>,
    after: Option<String>,
}

fn parse_query(query: &str) -> Result<Query, Error> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(bad("query", format!("longer than {MAX_QUERY_BYTES} bytes")));
    }
    let pairs = form::pairs(query).map_err(|n| {
        bad(
            "query",
            format!("part {n} is not valid percent-encoded UTF-8"),
        )
    })?;
    let mut q = Query::default();
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in &pairs {
        if seen.contains(&k.as_str()) {
            return Err(bad(k, "given more than once"));
        }
        seen.push(k);
        match k.as_str() {
            "modified_since" => {
                let ms = parse_iso8601(v).ok_or_else(|| {
                    bad(
                        k,
                        format!("{v:?} is not an ISO 8601 date or date-time (2024-05-01, 2024-05-01T10:00:00Z)"),
                    )
                })?;
                q.modified_since = Some((v.clone(), u64::try_from(ms).unwrap_or(0)));
            }
            "after" => {
                let cursor = hex::decode(v)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| bad(k, "not a page position of this catalogue"))?;
                q.after = Some(cursor);
            }
            other => {
                return Err(bad(
                    other,
                    "unknown parameter (this catalogue takes modified_since and after)",
                ));
            }
        }
    }
    Ok(q)
}

fn lang_values(texts: &[(&str, &str)]) -> Value {
    Value::Array(
        texts
            .iter()
            .map(|(l, t)| json!({"@value": t, "@language": l}))
            .collect(),
    )
}

fn typed(id: String, ty: &str) -> Value {
    json!({"@id": id, "@type": ty})
}

/// The page URL for these parameters.
fn catalog_page_url(site: &Site, modified_since: Option<&str>, after: Option<&str>) -> String {
    let mut params = Vec::new();
    if let Some(m) = modified_since {
        params.push(format!("modified_since={}", form::encode(m)));
    }
    if let Some(a) = after {
        params.push(format!("after={}", hex::encode(a)));
    }
    if params.is_empty() {
        format!("{}{PATH}", site.root)
    } else {
        format!("{}{PATH}?{}", site.root, params.join("&"))
    }
}

/// The dataset IRI (and `dct:identifier`) of a practice:
/// `urn:setu:practice:AUTHOR_HEX:PRACTICE_ID`, the same on every node.
pub fn dataset_iri(author: &[u8; 32], practice_id: &str) -> String {
    format!(
        "urn:setu:practice:{}:{}",
        hex::encode(author),
        uri_component(practice_id)
    )
}

fn sdg_concepts(b: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for g in body::sdg_goals(b) {
        let name = setu_core::codes::sdg_goal_name(g).unwrap_or("Sustainable Development Goal");
        out.push(json!({
            "@id": format!("{SDG_SCHEME}/{g}"),
            "@type": "skos:Concept",
            "skos:prefLabel": {"@value": format!("Goal {g}: {name}"), "@language": "en"},
            "skos:notation": g.to_string(),
            "skos:inScheme": {"@id": SDG_SCHEME},
        }));
    }
    for t in body::sdg_targets(b) {
        if setu_core::codes::is_sdg_target(t) {
            out.push(json!({
                "@id": format!("{SDG_SCHEME}/{t}"),
                "@type": "skos:Concept",
                "skos:prefLabel": {"@value": format!("Target {t}"), "@language": "en"},
                "skos:notation": t,
                "skos:inScheme": {"@id": SDG_SCHEME},
            }));
        }
    }
    out.push(json!({
        "@id": THEME_GOVERNMENT,
        "@type": "skos:Concept",
        "skos:prefLabel": {"@value": "Government and public sector", "@language": "en"},
        "skos:inScheme": {"@id": DATA_THEME_SCHEME},
    }));
    out
}

/// `dct:temporal` of a `period`: start and end with the XSD type of their
/// precision (`2010` gYear, `2010-11` gYearMonth, `2010-11-05` date).
fn temporal(b: &Value) -> Option<Value> {
    let (start, end) = body::period(b)?;
    let literal = |d: &str| {
        let ty = match d.len() {
            4 => "xsd:gYear",
            7 => "xsd:gYearMonth",
            _ => "xsd:date",
        };
        json!({"@value": d, "@type": ty})
    };
    let mut p = json!({"@type": "dct:PeriodOfTime", "dcat:startDate": literal(start)});
    if let (Some(e), Some(obj)) = (end, p.as_object_mut()) {
        obj.insert("dcat:endDate".into(), literal(e));
    }
    Some(p)
}

fn license(b: &Value) -> Option<Value> {
    let id = body::string(b, "licence")?;
    let mut v = typed(
        format!("https://spdx.org/licenses/{}", uri_component(id)),
        "dct:LicenseDocument",
    );
    if let (Some(name), Some(obj)) = (setu_core::codes::spdx_name(id), v.as_object_mut()) {
        obj.insert("rdfs:label".into(), json!(name));
    }
    Some(v)
}

fn dataset(site: &Site, item: &Item) -> Option<Value> {
    let record = item.record.as_ref()?;
    let b = &record.json;
    let iri = dataset_iri(&item.author, &item.id);
    let author_hex = hex::encode(item.author);
    let mut d = Map::new();
    d.insert("@id".into(), json!(iri));
    d.insert("@type".into(), json!("dcat:Dataset"));
    d.insert("dct:identifier".into(), json!(iri));
    let titles = body::lang_texts(b, "title");
    d.insert(
        "dct:title".into(),
        if titles.is_empty() {
            json!(item.id)
        } else {
            lang_values(&titles)
        },
    );
    let summary = body::lang_texts(b, "summary");
    d.insert(
        "dct:description".into(),
        if summary.is_empty() {
            json!(format!("Practice {}", item.id))
        } else {
            lang_values(&summary)
        },
    );
    d.insert(
        "dct:publisher".into(),
        json!({
            "@id": format!("urn:setu:key:{author_hex}"),
            "@type": "foaf:Agent",
            "foaf:name": format!("Setu publisher {}", &author_hex[..12]),
        }),
    );
    let creators: Vec<Value> = body::organisations(b)
        .into_iter()
        .filter(|(_, role)| *role == "implementing")
        .map(|(name, _)| json!({"@type": "foaf:Agent", "foaf:name": name}))
        .collect();
    if !creators.is_empty() {
        d.insert("dct:creator".into(), Value::Array(creators));
    }
    d.insert(
        "dct:modified".into(),
        json!({"@value": format_datestamp(item.stamp_ms), "@type": "xsd:dateTime"}),
    );
    let keywords = body::strings(b, "keywords");
    if !keywords.is_empty() {
        d.insert("dcat:keyword".into(), json!(keywords));
    }
    d.insert("dcat:theme".into(), Value::Array(sdg_concepts(b)));
    let spatial: Vec<Value> = body::countries(b)
        .into_iter()
        .filter_map(setu_core::codes::country)
        .map(|c| {
            json!({
                "@id": format!("{COUNTRY_AUTHORITY}/{}", c.alpha3),
                "@type": "dct:Location",
                "skos:prefLabel": {"@value": c.name, "@language": "en"},
            })
        })
        .collect();
    if !spatial.is_empty() {
        d.insert("dct:spatial".into(), Value::Array(spatial));
    }
    if let Some(t) = temporal(b) {
        d.insert("dct:temporal".into(), t);
    }
    let languages: Vec<Value> = titles
        .iter()
        .filter(|(l, _)| setu_core::codes::is_language(l))
        .map(|(l, _)| typed(format!("{LEXVO_ISO639_1}/{l}"), "dct:LinguisticSystem"))
        .collect();
    if !languages.is_empty() {
        d.insert("dct:language".into(), Value::Array(languages));
    }
    if let Some(email) = body::contact_email(b).filter(|e| !e.chars().any(char::is_whitespace)) {
        let mut contact =
            json!({"@type": "vcard:Kind", "vcard:hasEmail": {"@id": format!("mailto:{email}")}});
        if let (Some(name), Some(obj)) = (body::contact_name(b), contact.as_object_mut()) {
            obj.insert("vcard:fn".into(), json!(name));
        }
        d.insert("dcat:contactPoint".into(), contact);
    }
    let pages: Vec<Value> = body::strings(b, "urls")
        .into_iter()
        .map(|u| typed(u.to_string(), "foaf:Document"))
        .collect();
    if !pages.is_empty() {
        d.insert("foaf:page".into(), Value::Array(pages));
    }
    d.insert(
        "dcat:landingPage".into(),
        typed(page_url(site, &item.author, &item.id), "foaf:Document"),
    );
    let licence = license(b);
    let json_url = practice_url(site, &item.author, &item.id);
    let raw_url = record_url(site, record);
    let mut distributions = vec![
        json!({
            "@id": format!("{iri}#json"),
            "@type": "dcat:Distribution",
            "dct:title": {"@value": "The practice's current revision, JSON form", "@language": "en"},
            "dcat:accessURL": typed(json_url.clone(), "rdfs:Resource"),
            "dcat:downloadURL": typed(json_url, "rdfs:Resource"),
            "dcat:mediaType": typed(format!("{IANA_MEDIA_TYPES}/application/json"), "dct:MediaType"),
            "dct:format": typed(format!("{FILE_TYPE}/JSON"), "dct:MediaTypeOrExtent"),
        }),
        json!({
            "@id": format!("{iri}#signed"),
            "@type": "dcat:Distribution",
            "dct:title": {"@value": "The signed record of the current revision (canonical CBOR, Ed25519)", "@language": "en"},
            "dcat:accessURL": typed(raw_url.clone(), "rdfs:Resource"),
            "dcat:downloadURL": typed(raw_url, "rdfs:Resource"),
            "dcat:mediaType": typed(format!("{IANA_MEDIA_TYPES}/application/cbor"), "dct:MediaType"),
        }),
    ];
    if let Some(l) = licence {
        for dist in &mut distributions {
            if let Some(obj) = dist.as_object_mut() {
                obj.insert("dct:license".into(), l.clone());
            }
        }
    }
    d.insert("dcat:distribution".into(), Value::Array(distributions));
    Some(Value::Object(d))
}

/// One page: the datasets, and where the next page starts.
fn scan(
    repo: &impl Repository,
    from_ms: Option<u64>,
    after: Option<String>,
) -> Result<(Vec<Item>, Option<String>), Error> {
    let wanted = |i: &Item| i.kind == "practice" && !i.deleted && i.record.is_some();
    let mut items: Vec<Item> = Vec::new();
    let mut after = after;
    let mut scanned = 0usize;
    loop {
        let batch = repo
            .changes(from_ms, None, after.as_deref(), SCAN_BATCH)
            .map_err(repo_error)?;
        if batch.is_empty() {
            return Ok((items, None));
        }
        for item in batch {
            scanned += 1;
            let cursor = item.cursor.clone();
            if wanted(&item) {
                if items.len() == PAGE_SIZE {
                    let next = items.last().map(|it| it.cursor.clone());
                    return Ok((items, next));
                }
                items.push(item);
            }
            if scanned >= MAX_SCANNED && !items.is_empty() {
                let more = !repo
                    .changes(from_ms, None, Some(&cursor), 1)
                    .map_err(repo_error)?
                    .is_empty();
                return Ok((items, more.then_some(cursor)));
            }
            after = Some(cursor);
        }
    }
}

fn repo_error(e: RepoError) -> Error {
    match e {
        RepoError::BadCursor(_) => bad("after", "not a page position of this catalogue"),
        other => Error::Repository(other),
    }
}

/// The catalogue page that `query` (the raw query string of
/// `GET /catalog.jsonld`) asks for: parameters `modified_since` (an ISO
/// 8601 date or date-time; practices whose latest change this node stored
/// at or after it) and `after` (a page position from a `hydra:next` link).
///
/// # Errors
///
/// [`Error::BadParameter`] for an unknown, repeated or malformed parameter;
/// [`Error::Repository`] if the repository fails.
pub fn catalog(site: &Site, query: &str, repo: &impl Repository) -> Result<Value, Error> {
    let q = parse_query(query)?;
    let since = q.modified_since.as_ref().map(|(text, _)| text.as_str());
    let (items, next) = scan(
        repo,
        q.modified_since.as_ref().map(|(_, ms)| *ms),
        q.after.clone(),
    )?;
    let datasets: Vec<Value> = items.iter().filter_map(|i| dataset(site, i)).collect();
    let catalog_iri = format!("{}{PATH}", site.root);
    let mut publisher = json!({
        "@id": format!("{}/#operator", site.root),
        "@type": "foaf:Agent",
        "foaf:name": site.name,
    });
    if !site.admin_email.chars().any(char::is_whitespace)
        && site.admin_email.contains('@')
        && let Some(obj) = publisher.as_object_mut()
    {
        obj.insert(
            "foaf:mbox".into(),
            json!({"@id": format!("mailto:{}", site.admin_email)}),
        );
    }

    let catalog = json!({
        "@id": catalog_iri,
        "@type": "dcat:Catalog",
        "dct:title": {"@value": site.name, "@language": "en"},
        "dct:description": {
            "@value": "Public-service practices published by government innovation agencies over the Setu network, as this node holds them. Each practice is signed by its publisher; the signed record is one of its distributions.",
            "@language": "en",
        },
        "dct:publisher": publisher,
        "foaf:homepage": typed(format!("{}/", site.root), "foaf:Document"),
        "dcat:themeTaxonomy": [
            {"@id": SDG_SCHEME, "@type": "skos:ConceptScheme", "dct:title": {"@value": "Sustainable Development Goals and targets", "@language": "en"}},
            {"@id": DATA_THEME_SCHEME, "@type": "skos:ConceptScheme", "dct:title": {"@value": "Data theme", "@language": "en"}},
        ],
        "dcat:dataset": datasets,
    });
    let mut view = Map::new();
    view.insert(
        "@id".into(),
        json!(catalog_page_url(site, since, q.after.as_deref())),
    );
    view.insert("@type".into(), json!("hydra:PartialCollectionView"));
    view.insert(
        "hydra:first".into(),
        json!({"@id": catalog_page_url(site, since, None)}),
    );
    if let Some(n) = &next {
        view.insert(
            "hydra:next".into(),
            json!({"@id": catalog_page_url(site, since, Some(n))}),
        );
    }
    view.insert("hydra:itemsPerPage".into(), json!(PAGE_SIZE));
    Ok(json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "hydra": "http://www.w3.org/ns/hydra/core#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
            "skos": "http://www.w3.org/2004/02/skos/core#",
            "vcard": "http://www.w3.org/2006/vcard/ns#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@graph": [catalog, Value::Object(view)],
    }))
}

/// The schema.org description (JSON-LD) of a practice body, for a
/// `<script type="application/ld+json">` in the practice's web page: a
/// `CreativeWork` about a `GovernmentService`. Texts are in `lang` where
/// the body has it, else in the original language; `url` is the page's
/// address, if known. The page escapes it for its `<script>` element
/// (`setu-web`'s layout).
pub fn schema_org(body: &Value, lang: Option<&str>, url: Option<&str>) -> Value {
    let mut w = Map::new();
    w.insert("@context".into(), json!("https://schema.org"));
    w.insert("@type".into(), json!("CreativeWork"));
    if let Some(u) = url {
        w.insert("@id".into(), json!(u));
        w.insert("url".into(), json!(u));
    }
    if let Some(id) = body::string(body, "practice_id") {
        w.insert("identifier".into(), json!(id));
    }
    let name = body::lang_text(body, "title", lang);
    if let Some((l, t)) = name {
        w.insert("name".into(), json!(t));
        w.insert("inLanguage".into(), json!(l));
    }
    if let Some((_, t)) = body::lang_text(body, "summary", lang) {
        w.insert("description".into(), json!(t));
    }
    let mut keywords: Vec<String> = body::strings(body, "keywords")
        .into_iter()
        .map(str::to_string)
        .collect();
    for g in body::sdg_goals(body) {
        if let Some(n) = setu_core::codes::sdg_goal_name(g) {
            keywords.push(format!("SDG {g}: {n}"));
        }
    }
    if !keywords.is_empty() {
        w.insert("keywords".into(), json!(keywords));
    }
    if let Some(l) = body::string(body, "licence") {
        w.insert(
            "license".into(),
            json!(format!("https://spdx.org/licenses/{}", uri_component(l))),
        );
    }
    let countries: Vec<Value> = body::countries(body)
        .into_iter()
        .filter_map(setu_core::codes::country)
        .map(|c| json!({"@type": "Country", "name": c.name, "identifier": c.alpha3}))
        .collect();
    if let Some((start, end)) = body::period(body) {
        w.insert(
            "temporalCoverage".into(),
            json!(format!("{start}/{}", end.unwrap_or(".."))),
        );
    }
    let orgs = body::organisations(body);
    let providers: Vec<Value> = orgs
        .iter()
        .filter(|(_, r)| *r == "implementing")
        .map(|(n, _)| json!({"@type": "GovernmentOrganization", "name": n}))
        .collect();
    let others: Vec<Value> = orgs
        .iter()
        .filter(|(_, r)| *r != "implementing")
        .map(|(n, _)| json!({"@type": "Organization", "name": n}))
        .collect();
    if !others.is_empty() {
        w.insert("contributor".into(), Value::Array(others));
    }
    let mut service = Map::new();
    service.insert("@type".into(), json!("GovernmentService"));
    if let Some((_, t)) = name {
        service.insert("name".into(), json!(t));
    }
    if !countries.is_empty() {
        service.insert("areaServed".into(), Value::Array(countries.clone()));
        w.insert("spatialCoverage".into(), Value::Array(countries));
    }
    if !providers.is_empty() {
        service.insert("provider".into(), Value::Array(providers));
    }
    w.insert("about".into(), Value::Object(service));
    Value::Object(w)
}

#[cfg(test)]
mod tests;
