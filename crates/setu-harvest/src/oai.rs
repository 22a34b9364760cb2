//! OAI-PMH 2.0 (<http://www.openarchives.org/OAI/openarchivesprotocol.html>)
//! over a [`Repository`]: all six verbs, the formats `oai_dc` and `setu`
//! (native), sets by kind, country and SDG goal, selective harvesting by
//! `from`/`until` on the time this node stored each change, resumption
//! tokens, and deleted records kept for good (`deletedRecord` is
//! `persistent`). `spec/harvest.md` is the specification of what is served.
//!
//! [`respond`] answers one request. Protocol errors are part of the XML
//! document (sent with HTTP 200); only a failing repository is an
//! [`Error`].

pub(crate) mod format;
mod request;
mod sets;
mod token;

use crate::time::format_datestamp;
use crate::xml::{push_attr, push_text};
use crate::{Item, RepoError, Repository, Site};

pub use format::{
    Format, NATIVE_NAMESPACE, NATIVE_PREFIX, NATIVE_SCHEMA, NATIVE_SCHEMA_PATH, OAI_DC_NAMESPACE,
    OAI_DC_SCHEMA,
};
pub use sets::KINDS;

/// Path of the OAI-PMH base URL under the node's root.
pub const PATH: &str = "/oai";
/// Most records (or headers) in one list response.
pub const PAGE_SIZE: usize = 100;
/// Most items one list request reads from the repository once its page
/// holds a record: a set filter that skips many items ends the page early
/// (with a resumption token) rather than reading on. A page is never empty,
/// so before its first record the scan goes on to the first match or the
/// end of the list.
pub const MAX_SCANNED: usize = 10_000;
/// Items asked of the repository at once while scanning (the list ends at
/// the first empty answer).
pub const SCAN_BATCH: usize = 200;
/// Longest argument string accepted (longer: badArgument).
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Longest resumption token accepted (longer: badResumptionToken).
pub const MAX_TOKEN_BYTES: usize = 4 * 1024;
/// Every item identifier starts with this; the rest is
/// `KIND:AUTHOR_HEX:ID`.
pub const IDENTIFIER_PREFIX: &str = "oai:setu:";

/// The OAI-PMH namespace.
const OAI_NAMESPACE: &str = "http://www.openarchives.org/OAI/2.0/";
/// The OAI-PMH schema.
const OAI_SCHEMA: &str = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd";

/// A verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Identify,
    ListMetadataFormats,
    ListSets,
    GetRecord,
    ListIdentifiers,
    ListRecords,
}

impl Verb {
    fn parse(s: &str) -> Option<Verb> {
        Some(match s {
            "Identify" => Verb::Identify,
            "ListMetadataFormats" => Verb::ListMetadataFormats,
            "ListSets" => Verb::ListSets,
            "GetRecord" => Verb::GetRecord,
            "ListIdentifiers" => Verb::ListIdentifiers,
            "ListRecords" => Verb::ListRecords,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Verb::Identify => "Identify",
            Verb::ListMetadataFormats => "ListMetadataFormats",
            Verb::ListSets => "ListSets",
            Verb::GetRecord => "GetRecord",
            Verb::ListIdentifiers => "ListIdentifiers",
            Verb::ListRecords => "ListRecords",
        }
    }
}

/// An OAI-PMH error code this repository can answer with (`noSetHierarchy`
/// and `noMetadataFormats` never apply: there are sets, and every item has
/// both formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The verb is missing, repeated or not a verb.
    BadVerb,
    /// An argument is unknown, repeated, missing or malformed.
    BadArgument,
    /// The metadata prefix names no format of this repository.
    CannotDisseminateFormat,
    /// The identifier names no item of this repository.
    IdDoesNotExist,
    /// The list asked for is empty.
    NoRecordsMatch,
    /// The resumption token is not one this repository issued for the verb.
    BadResumptionToken,
}

impl Code {
    /// The code as the protocol writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadVerb => "badVerb",
            Code::BadArgument => "badArgument",
            Code::CannotDisseminateFormat => "cannotDisseminateFormat",
            Code::IdDoesNotExist => "idDoesNotExist",
            Code::NoRecordsMatch => "noRecordsMatch",
            Code::BadResumptionToken => "badResumptionToken",
        }
    }
}

/// The repository failed; there is no OAI-PMH answer to give (the node
/// answers 503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The repository could not answer.
    #[error("the replica could not answer: {0}")]
    Repository(RepoError),
}

/// Why a request gets no normal answer: an OAI-PMH error, or a failing
/// repository.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    Oai(Code, String),
    Repo(Error),
}

impl Failure {
    fn oai(code: Code, msg: impl Into<String>) -> Failure {
        Failure::Oai(code, msg.into())
    }

    #[cfg(test)]
    fn code(&self) -> Option<Code> {
        match self {
            Failure::Oai(c, _) => Some(*c),
            Failure::Repo(_) => None,
        }
    }
}

impl From<RepoError> for Failure {
    fn from(e: RepoError) -> Failure {
        match e {
            RepoError::BadCursor(_) => Failure::oai(
                Code::BadResumptionToken,
                "the resumption token names a position this repository does not know",
            ),
            other => Failure::Repo(Error::Repository(other)),
        }
    }
}

/// The base URL of the site's OAI-PMH interface.
pub fn base_url(site: &Site) -> String {
    format!("{}{PATH}", site.root)
}

/// The OAI identifier of an item: `oai:setu:KIND:AUTHOR_HEX:ID`.
pub fn identifier(kind: &str, author: &[u8; 32], id: &str) -> String {
    format!(
        "{IDENTIFIER_PREFIX}{}:{}:{}",
        format::uri_component(kind),
        hex::encode(author),
        format::uri_component(id)
    )
}

/// Reads an OAI identifier back into (author, kind, id).
pub fn parse_identifier(s: &str) -> Option<([u8; 32], String, String)> {
    let rest = s.strip_prefix(IDENTIFIER_PREFIX)?;
    let (kind, rest) = rest.split_once(':')?;
    let (author, id) = rest.split_once(':')?;
    let author: [u8; 32] = hex::decode(author).ok()?.try_into().ok()?;
    if author_hex_is_lower(rest) && !kind.is_empty() && !id.is_empty() {
        Some((author, percent_decode(kind)?, percent_decode(id)?))
    } else {
        None
    }
}

fn author_hex_is_lower(rest: &str) -> bool {
    rest.get(..64).is_some_and(|h| {
        h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(crate::form::hex_byte(s.get(i + 1..i + 3)?)?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Answers one OAI-PMH request: `query` is the raw argument string (a GET
/// query string or a POST form body), `now_ms` the time for
/// `responseDate`. Returns the XML document, errors included.
///
/// # Errors
///
/// [`Error::Repository`] if the repository fails (not for a bad cursor in
/// a resumption token, which is `badResumptionToken`).
pub fn respond(
    site: &Site,
    query: &str,
    repo: &impl Repository,
    now_ms: u64,
) -> Result<String, Error> {
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OAI-PMH xmlns=\"");
    out.push_str(OAI_NAMESPACE);
    out.push_str(
        "\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"",
    );
    out.push_str(OAI_NAMESPACE);
    out.push(' ');
    out.push_str(OAI_SCHEMA);
    out.push_str("\">\n<responseDate>");
    out.push_str(&format_datestamp(now_ms));
    out.push_str("</responseDate>\n");
    let base = base_url(site);
    let (request, echo) = match request::parse(query) {
        Ok(ok) => ok,
        Err((failure, echo)) => return finish_error(out, &base, &echo, failure),
    };
    let mut body = String::with_capacity(4096);
    let answered = match request {
        request::Request::Identify => identify(&mut body, site, repo),
        request::Request::ListMetadataFormats { identifier } => {
            list_metadata_formats(&mut body, site, repo, identifier.as_deref())
        }
        request::Request::ListSets => {
            list_sets(&mut body);
            Ok(())
        }
        request::Request::GetRecord { identifier, format } => {
            get_record(&mut body, site, repo, &identifier, format)
        }
        request::Request::List {
            headers_only,
            token,
            resumed,
        } => list(&mut body, site, repo, headers_only, token, resumed),
    };
    match answered {
        Ok(()) => {
            write_request(&mut out, &base, &echo);
            out.push_str(&body);
            out.push_str("</OAI-PMH>\n");
            Ok(out)
        }
        Err(failure) => finish_error(out, &base, &echo, failure),
    }
}

/// The order `request` attributes are written in.
const ECHO_ORDER: [&str; 7] = [
    "verb",
    "identifier",
    "metadataPrefix",
    "from",
    "until",
    "set",
    "resumptionToken",
];

fn write_request(out: &mut String, base: &str, echo: &[(&str, String)]) {
    out.push_str("<request");
    let mut echo: Vec<&(&str, String)> = echo.iter().collect();
    echo.sort_by_key(|(name, _)| ECHO_ORDER.iter().position(|n| n == name));
    for (name, value) in echo {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        push_attr(out, value);
        out.push('"');
    }
    out.push('>');
    push_text(out, base);
    out.push_str("</request>\n");
}

fn finish_error(
    mut out: String,
    base: &str,
    echo: &[(&str, String)],
    failure: Failure,
) -> Result<String, Error> {
    let (code, msg) = match failure {
        Failure::Oai(code, msg) => (code, msg),
        Failure::Repo(e) => return Err(e),
    };
    // badVerb and badArgument: the request element carries no attributes.
    let echo = if matches!(code, Code::BadVerb | Code::BadArgument) {
        &[][..]
    } else {
        echo
    };
    write_request(&mut out, base, echo);
    out.push_str("<error code=\"");
    out.push_str(code.as_str());
    out.push_str("\">");
    push_text(&mut out, &msg);
    out.push_str("</error>\n</OAI-PMH>\n");
    Ok(out)
}

fn element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_text(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn identify(out: &mut String, site: &Site, repo: &impl Repository) -> Result<(), Failure> {
    let earliest = repo.earliest_stamp()?.unwrap_or(0);
    out.push_str("<Identify>");
    element(out, "repositoryName", &site.name);
    element(out, "baseURL", &base_url(site));
    element(out, "protocolVersion", "2.0");
    element(out, "adminEmail", &site.admin_email);
    element(out, "earliestDatestamp", &format_datestamp(earliest));
    element(out, "deletedRecord", "persistent");
    element(out, "granularity", "YYYY-MM-DDThh:mm:ssZ");
    out.push_str("</Identify>\n");
    Ok(())
}

fn find(repo: &impl Repository, identifier: &str) -> Result<Item, Failure> {
    let missing = || {
        Failure::oai(
            Code::IdDoesNotExist,
            format!("no item {identifier:?} in this repository"),
        )
    };
    let (author, kind, id) = parse_identifier(identifier).ok_or_else(missing)?;
    repo.item(&author, &kind, &id)?.ok_or_else(missing)
}

fn list_metadata_formats(
    out: &mut String,
    site: &Site,
    repo: &impl Repository,
    identifier: Option<&str>,
) -> Result<(), Failure> {
    if let Some(id) = identifier {
        find(repo, id)?;
    }
    out.push_str("<ListMetadataFormats>");
    for f in Format::ALL {
        out.push_str("<metadataFormat>");
        element(out, "metadataPrefix", f.prefix());
        element(out, "schema", &f.schema(site));
        element(out, "metadataNamespace", f.namespace());
        out.push_str("</metadataFormat>");
    }
    out.push_str("</ListMetadataFormats>\n");
    Ok(())
}

fn list_sets(out: &mut String) {
    out.push_str("<ListSets>");
    for (spec, name) in sets::all() {
        out.push_str("<set>");
        element(out, "setSpec", &spec);
        element(out, "setName", &name);
        out.push_str("</set>");
    }
    out.push_str("</ListSets>\n");
}

/// Writes `<header>` (and, unless `headers_only`, the whole `<record>`).
fn write_item(out: &mut String, site: &Site, item: &Item, format: Format, headers_only: bool) {
    let record = item.record.as_ref().filter(|_| !item.deleted);
    if !headers_only {
        out.push_str("<record>");
    }
    out.push_str(if record.is_some() {
        "<header>"
    } else {
        "<header status=\"deleted\">"
    });
    element(
        out,
        "identifier",
        &identifier(&item.kind, &item.author, &item.id),
    );
    element(out, "datestamp", &format_datestamp(item.stamp_ms));
    for s in sets::of_item(item) {
        element(out, "setSpec", &s);
    }
    out.push_str("</header>");
    if !headers_only {
        if let Some(r) = record {
            out.push_str("<metadata>");
            format::write_metadata(out, site, format, item, r);
            out.push_str("</metadata>");
        }
        out.push_str("</record>");
    }
    out.push('\n');
}

fn get_record(
    out: &mut String,
    site: &Site,
    repo: &impl Repository,
    identifier: &str,
    format: Format,
) -> Result<(), Failure> {
    let item = find(repo, identifier)?;
    out.push_str("<GetRecord>");
    write_item(out, site, &item, format, false);
    out.push_str("</GetRecord>\n");
    Ok(())
}

/// One page of a list: what the scan found.
struct Page {
    items: Vec<Item>,
    /// Where the next page starts, if the list goes on.
    next: Option<String>,
}

/// Reads the page that starts after `token.cursor`; see [`MAX_SCANNED`].
fn scan(repo: &impl Repository, token: &token::Token) -> Result<Page, Failure> {
    let filter = match &token.set {
        Some(s) => sets::parse(s).unwrap_or(sets::SetFilter::Never),
        None => sets::SetFilter::All,
    };
    let mut items: Vec<Item> = Vec::new();
    let mut after = token.cursor.clone();
    let mut scanned = 0usize;
    loop {
        let batch = repo.changes(token.from_ms, token.until_ms, after.as_deref(), SCAN_BATCH)?;
        if batch.is_empty() {
            return Ok(Page { items, next: None });
        }
        for item in batch {
            scanned += 1;
            let cursor = item.cursor.clone();
            if sets::contains(&filter, &item) {
                if items.len() == PAGE_SIZE {
                    // Another match exists: the next page starts after the
                    // last item of this one.
                    let next = items.last().map(|it| it.cursor.clone());
                    return Ok(Page { items, next });
                }
                items.push(item);
            }
            if scanned >= MAX_SCANNED && !items.is_empty() {
                let more = !repo
                    .changes(token.from_ms, token.until_ms, Some(&cursor), 1)?
                    .is_empty();
                return Ok(Page {
                    items,
                    next: more.then_some(cursor),
                });
            }
            after = Some(cursor);
        }
    }
}

fn list(
    out: &mut String,
    site: &Site,
    repo: &impl Repository,
    headers_only: bool,
    token: token::Token,
    resumed: bool,
) -> Result<(), Failure> {
    let page = scan(repo, &token)?;
    if page.items.is_empty() {
        let msg = if resumed {
            "no further items match: the list ended earlier than the last page foresaw"
        } else {
            "no item matches these from, until and set arguments"
        };
        return Err(Failure::oai(Code::NoRecordsMatch, msg));
    }
    let tag = if headers_only {
        "ListIdentifiers"
    } else {
        "ListRecords"
    };
    out.push('<');
    out.push_str(tag);
    out.push_str(">\n");
    for item in &page.items {
        write_item(out, site, item, token.format, headers_only);
    }
    let delivered = token.delivered;
    let count = u64::try_from(page.items.len()).unwrap_or(u64::MAX);
    match page.next {
        Some(cursor) => {
            let next = token::Token {
                delivered: delivered.saturating_add(count),
                cursor: Some(cursor),
                ..token
            };
            out.push_str("<resumptionToken cursor=\"");
            out.push_str(&delivered.to_string());
            out.push_str("\">");
            out.push_str(&next.encode());
            out.push_str("</resumptionToken>\n");
        }
        None if resumed => {
            // The response that completes a list sent in parts carries an
            // empty token.
            out.push_str("<resumptionToken cursor=\"");
            out.push_str(&delivered.to_string());
            out.push_str("\"/>\n");
        }
        None => {}
    }
    out.push_str("</");
    out.push_str(tag);
    out.push_str(">\n");
    Ok(())
}

#[cfg(test)]
mod tests;
