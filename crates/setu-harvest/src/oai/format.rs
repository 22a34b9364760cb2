//! The two metadata formats: `oai_dc` (simple Dublin Core) and the native
//! `setu` format (the record's JSON form and its signed bytes).

use crate::xml::{json_for_xml, push_attr, push_text};
use crate::{Item, Record, Site, body};

/// A metadata format this repository disseminates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `oai_dc`.
    OaiDc,
    /// `setu`: the native format.
    Native,
}

/// The `oai_dc` namespace.
pub const OAI_DC_NAMESPACE: &str = "http://www.openarchives.org/OAI/2.0/oai_dc/";
/// The `oai_dc` schema.
pub const OAI_DC_SCHEMA: &str = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd";
/// The Dublin Core elements namespace.
const DC_NAMESPACE: &str = "http://purl.org/dc/elements/1.1/";
/// The native format's prefix.
pub const NATIVE_PREFIX: &str = "setu";
/// The native format's namespace.
pub const NATIVE_NAMESPACE: &str = "urn:setu:oai:record:1";
/// Path, under the node's root, where the node serves [`NATIVE_SCHEMA`].
pub const NATIVE_SCHEMA_PATH: &str = "/oai/setu-record.xsd";
/// The native format's XML Schema (the node serves it at
/// [`NATIVE_SCHEMA_PATH`]).
pub const NATIVE_SCHEMA: &str = include_str!("../../schemas/setu-record.xsd");

impl Format {
    /// Both formats, in the order `ListMetadataFormats` lists them.
    pub const ALL: [Format; 2] = [Format::OaiDc, Format::Native];

    /// The format with this prefix.
    pub fn parse(prefix: &str) -> Option<Format> {
        match prefix {
            "oai_dc" => Some(Format::OaiDc),
            NATIVE_PREFIX => Some(Format::Native),
            _ => None,
        }
    }

    /// The metadata prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Format::OaiDc => "oai_dc",
            Format::Native => NATIVE_PREFIX,
        }
    }

    /// The namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            Format::OaiDc => OAI_DC_NAMESPACE,
            Format::Native => NATIVE_NAMESPACE,
        }
    }

    /// The schema's URL for this site.
    pub fn schema(self, site: &Site) -> String {
        match self {
            Format::OaiDc => OAI_DC_SCHEMA.to_string(),
            Format::Native => format!("{}{NATIVE_SCHEMA_PATH}", site.root),
        }
    }
}

/// Percent-encodes everything but the URI unreserved characters and `:`
/// (ids of the known kinds use only `A–Z a–z 0–9 . _ : -`, so they pass
/// unchanged).
pub fn uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// True if `tag` can be an `xml:lang` value (`xs:language`).
fn is_lang_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn dc(out: &mut String, element: &str, lang: Option<&str>, value: &str) {
    out.push_str("<dc:");
    out.push_str(element);
    if let Some(l) = lang.filter(|l| is_lang_tag(l)) {
        out.push_str(" xml:lang=\"");
        push_attr(out, l);
        out.push('"');
    }
    out.push('>');
    push_text(out, value);
    out.push_str("</dc:");
    out.push_str(element);
    out.push('>');
}

/// The URL of the practice's JSON form on this node.
pub fn practice_url(site: &Site, author: &[u8; 32], id: &str) -> String {
    format!(
        "{}/v1/practices/{}?publisher={}",
        site.root,
        uri_component(id),
        hex::encode(author)
    )
}

/// The URL of the practice's web page on this node (the web catalogue).
pub fn page_url(site: &Site, author: &[u8; 32], id: &str) -> String {
    format!(
        "{}/practices/{}?publisher={}",
        site.root,
        uri_component(id),
        hex::encode(author)
    )
}

/// The URL of a signed record on this node.
pub fn record_url(site: &Site, record: &Record) -> String {
    format!("{}/v1/records/{}", site.root, hex::encode(record.id))
}

/// Appends the `<metadata>` content of `item` in `format`. `item` has a
/// record (deleted items have no metadata).
pub fn write_metadata(out: &mut String, site: &Site, format: Format, item: &Item, record: &Record) {
    match format {
        Format::OaiDc => write_dc(out, site, item, record),
        Format::Native => write_native(out, site, item, record),
    }
}

fn write_dc(out: &mut String, site: &Site, item: &Item, record: &Record) {
    let b = &record.json;
    out.push_str("<oai_dc:dc xmlns:oai_dc=\"");
    out.push_str(OAI_DC_NAMESPACE);
    out.push_str("\" xmlns:dc=\"");
    out.push_str(DC_NAMESPACE);
    out.push_str("\" xsi:schemaLocation=\"");
    out.push_str(OAI_DC_NAMESPACE);
    out.push(' ');
    out.push_str(OAI_DC_SCHEMA);
    out.push_str("\">");
    for (lang, t) in body::titles(&item.kind, &item.id, Some(b)) {
        dc(out, "title", lang.as_deref(), &t);
    }
    let orgs = body::organisations(b);
    for (name, _) in orgs.iter().filter(|(_, role)| *role == "implementing") {
        dc(out, "creator", None, name);
    }
    for (name, _) in orgs.iter().filter(|(_, role)| *role != "implementing") {
        dc(out, "contributor", None, name);
    }
    for t in body::sdg_targets(b) {
        dc(out, "subject", None, &format!("SDG target {t}"));
    }
    for g in body::sdg_goals(b) {
        if let Some(name) = setu_core::codes::sdg_goal_name(g) {
            dc(out, "subject", Some("en"), &format!("SDG {g}: {name}"));
        }
    }
    for (vocab, code, name) in body::sectors(b) {
        let label = match name {
            Some(n) => format!("{vocab} {code}: {n}"),
            None => format!("{vocab} {code}"),
        };
        dc(out, "subject", None, &label);
    }
    for k in body::strings(b, "keywords") {
        dc(out, "subject", None, k);
    }
    for (lang, t) in body::descriptions(&item.kind, b) {
        dc(out, "description", Some(lang), t);
    }
    if let Some((start, end)) = body::period(b) {
        let date = match end {
            Some(e) => format!("{start}/{e}"),
            None => start.to_string(),
        };
        dc(out, "date", None, &date);
    }
    dc(out, "type", Some("en"), "Text");
    let kind_label = match item.kind.as_str() {
        "practice" => "public-service practice",
        "adoption" => "adoption report",
        "seeking" => "need (seeking record)",
        other => other,
    };
    dc(out, "type", Some("en"), kind_label);
    dc(out, "format", None, "application/json");
    if item.kind == "practice" {
        dc(
            out,
            "identifier",
            None,
            &page_url(site, &item.author, &item.id),
        );
        dc(
            out,
            "identifier",
            None,
            &practice_url(site, &item.author, &item.id),
        );
    }
    dc(out, "identifier", None, &record_url(site, record));
    dc(
        out,
        "identifier",
        None,
        &format!(
            "urn:setu:{}:{}:{}",
            uri_component(&item.kind),
            hex::encode(item.author),
            uri_component(&item.id)
        ),
    );
    let mut langs: Vec<&str> = body::lang_texts(b, "title")
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    langs.sort_unstable();
    for l in langs {
        dc(out, "language", None, l);
    }
    if let Some((practice, by)) = body::adopted_practice(b) {
        let rel = match by {
            Some(by) => format!("adopts practice {practice} published by {by}"),
            None => format!("adopts practice {practice}"),
        };
        dc(out, "relation", Some("en"), &rel);
    }
    for u in body::strings(b, "urls") {
        dc(out, "relation", None, u);
    }
    for c in body::countries(b) {
        dc(out, "coverage", None, c);
    }
    for p in body::strings(b, "places") {
        dc(out, "coverage", None, p);
    }
    if let Some(l) = body::string(b, "licence") {
        dc(out, "rights", None, l);
    }
    out.push_str("</oai_dc:dc>");
}

fn write_native(out: &mut String, site: &Site, item: &Item, record: &Record) {
    out.push_str("<setu:record xmlns:setu=\"");
    out.push_str(NATIVE_NAMESPACE);
    out.push_str("\" xsi:schemaLocation=\"");
    out.push_str(NATIVE_NAMESPACE);
    out.push(' ');
    push_attr(out, &Format::Native.schema(site));
    out.push_str("\" kind=\"");
    push_attr(out, &item.kind);
    out.push_str("\" author=\"");
    out.push_str(&hex::encode(item.author));
    out.push_str("\" id=\"");
    push_attr(out, &item.id);
    out.push_str("\" record=\"");
    out.push_str(&hex::encode(record.id));
    out.push_str("\" ts=\"");
    out.push_str(&record.ts_ms.to_string());
    out.push_str("\"><setu:json>");
    push_text(out, &json_for_xml(&record.json.to_string()));
    out.push_str("</setu:json><setu:signed encoding=\"base64\">");
    out.push_str(&base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        &record.bytes,
    ));
    out.push_str("</setu:signed></setu:record>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_tags() {
        assert_eq!(uri_component("BGD-A2I-0001:x_y.z"), "BGD-A2I-0001:x_y.z");
        assert_eq!(uri_component("a b/ব"), "a%20b%2F%E0%A6%AC");
        assert!(is_lang_tag("bn"));
        assert!(is_lang_tag("zh-Hant"));
        assert!(!is_lang_tag(""));
        assert!(!is_lang_tag("e n"));
        assert!(!is_lang_tag("en-"));
    }
}
