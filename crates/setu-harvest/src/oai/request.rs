//! Parsing a request's arguments (`application/x-www-form-urlencoded`, as
//! in a GET query string or a POST body) into a checked [`Request`], or the
//! OAI-PMH error that names what is wrong with it.

use super::token::Token;
use super::{Code, Failure, Format, MAX_QUERY_BYTES, Verb};
use crate::oai::sets::{self, SetFilter};
use crate::time::{Datestamp, parse_datestamp};

/// A checked request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `Identify`.
    Identify,
    /// `ListMetadataFormats`, for one item or for the repository.
    ListMetadataFormats {
        /// The `identifier` argument.
        identifier: Option<String>,
    },
    /// `ListSets`.
    ListSets,
    /// `GetRecord`.
    GetRecord {
        /// The `identifier` argument.
        identifier: String,
        /// The format asked for.
        format: Format,
    },
    /// `ListIdentifiers` (`headers_only`) or `ListRecords`: a first request
    /// or a resumed one, both reduced to a token.
    List {
        /// True for `ListIdentifiers`.
        headers_only: bool,
        /// The request and the position reached.
        token: Token,
        /// False on the first request of a list.
        resumed: bool,
    },
}

/// The request's arguments as they may be echoed in the response's
/// `request` element: only values whose syntax the OAI-PMH schema accepts
/// there.
pub type Echo = Vec<(&'static str, String)>;

/// The arguments each verb takes besides `verb`.
fn allowed(verb: Verb) -> &'static [&'static str] {
    match verb {
        Verb::Identify => &[],
        Verb::ListMetadataFormats => &["identifier"],
        Verb::ListSets => &["resumptionToken"],
        Verb::GetRecord => &["identifier", "metadataPrefix"],
        Verb::ListIdentifiers | Verb::ListRecords => {
            &["metadataPrefix", "from", "until", "set", "resumptionToken"]
        }
    }
}

/// True if `s` is a metadata prefix as the schema writes them
/// (`[A-Za-z0-9\-_\.!~\*'\(\)]+`).
pub fn is_prefix_syntax(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b))
}

/// True if `s` can be echoed as an `anyURI` attribute: printable ASCII with
/// no space and none of `<>"{}|\^` and backquote, and a scheme before a `:`.
pub fn is_uri_syntax(s: &str) -> bool {
    let scheme_ok = s.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    scheme_ok
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"{}|\\^`".contains(&b))
}

fn bad(msg: impl Into<String>) -> Failure {
    Failure::oai(Code::BadArgument, msg)
}

/// Parses the raw arguments. On success, the request and what to echo; on
/// failure, the error (and what to echo with it: nothing for `badVerb` and
/// `badArgument`, as the protocol asks).
pub fn parse(query: &str) -> Result<(Request, Echo), (Failure, Echo)> {
    if query.len() > MAX_QUERY_BYTES {
        return Err((
            bad(format!(
                "the request's arguments are longer than {MAX_QUERY_BYTES} bytes"
            )),
            Vec::new(),
        ));
    }
    let pairs = crate::form::pairs(query).map_err(|n| {
        (
            bad(format!("argument {n} is not valid percent-encoded UTF-8")),
            Vec::new(),
        )
    })?;
    let verbs: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "verb")
        .map(|(_, v)| v.as_str())
        .collect();
    let verb = match verbs.as_slice() {
        [] => {
            return Err((
                Failure::oai(Code::BadVerb, "the verb argument is missing"),
                Vec::new(),
            ));
        }
        [v] => Verb::parse(v).ok_or_else(|| {
            (
                Failure::oai(Code::BadVerb, format!("{v:?} is not an OAI-PMH verb")),
                Vec::new(),
            )
        })?,
        _ => {
            return Err((
                Failure::oai(Code::BadVerb, "the verb argument is repeated"),
                Vec::new(),
            ));
        }
    };
    let mut args: Vec<(&str, &str)> = Vec::new();
    for (k, v) in pairs.iter().filter(|(k, _)| k != "verb") {
        if !allowed(verb).contains(&k.as_str()) {
            return Err((
                bad(format!("{} does not take the argument {k:?}", verb.name())),
                Vec::new(),
            ));
        }
        if args.iter().any(|(seen, _)| seen == k) {
            return Err((bad(format!("the argument {k} is repeated")), Vec::new()));
        }
        args.push((k.as_str(), v.as_str()));
    }
    let get = |name: &str| args.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let mut echo: Echo = vec![("verb", verb.name().to_string())];
    let request = match verb {
        Verb::Identify => Request::Identify,
        Verb::ListMetadataFormats => {
            let identifier = get("identifier").map(str::to_string);
            if let Some(id) = identifier.as_deref().filter(|id| is_uri_syntax(id)) {
                echo.push(("identifier", id.to_string()));
            }
            Request::ListMetadataFormats { identifier }
        }
        Verb::ListSets => {
            if let Some(t) = get("resumptionToken") {
                echo.push(("resumptionToken", t.to_string()));
                return Err((
                    Failure::oai(
                        Code::BadResumptionToken,
                        "this repository lists all its sets in one response and issues no resumption token for ListSets",
                    ),
                    echo,
                ));
            }
            Request::ListSets
        }
        Verb::GetRecord => {
            let (Some(identifier), Some(prefix)) = (get("identifier"), get("metadataPrefix"))
            else {
                let missing = if get("identifier").is_none() {
                    "identifier"
                } else {
                    "metadataPrefix"
                };
                return Err((
                    bad(format!("GetRecord needs the argument {missing}")),
                    Vec::new(),
                ));
            };
            if is_uri_syntax(identifier) {
                echo.push(("identifier", identifier.to_string()));
            }
            let format = format_of(prefix, &mut echo)?;
            Request::GetRecord {
                identifier: identifier.to_string(),
                format,
            }
        }
        Verb::ListIdentifiers | Verb::ListRecords => {
            let headers_only = verb == Verb::ListIdentifiers;
            if let Some(t) = get("resumptionToken") {
                if args.len() > 1 {
                    return Err((
                        bad(
                            "resumptionToken is an exclusive argument: give it alone with the verb",
                        ),
                        Vec::new(),
                    ));
                }
                echo.push(("resumptionToken", t.to_string()));
                let token = Token::decode(t, headers_only).map_err(|f| (f, echo.clone()))?;
                return Ok((
                    Request::List {
                        headers_only,
                        token,
                        resumed: true,
                    },
                    echo,
                ));
            }
            let Some(prefix) = get("metadataPrefix") else {
                return Err((
                    bad(format!("{} needs the argument metadataPrefix", verb.name())),
                    Vec::new(),
                ));
            };
            let from = datestamp_arg("from", get("from"))?;
            let until = datestamp_arg("until", get("until"))?;
            if let (Some(f), Some(u)) = (from, until) {
                if f.is_day() != u.is_day() {
                    return Err((
                        bad("from and until must have the same granularity"),
                        Vec::new(),
                    ));
                }
                if f.first_ms() > u.first_ms() {
                    return Err((bad("from is later than until"), Vec::new()));
                }
            }
            let set = match get("set") {
                Some(s) => {
                    if sets::parse(s).is_none() {
                        return Err((bad(format!("set: {s:?} is not a setSpec")), Vec::new()));
                    }
                    Some(s.to_string())
                }
                None => None,
            };
            for (name, v) in [("from", get("from")), ("until", get("until"))] {
                if let Some(v) = v {
                    echo.push((name, v.to_string()));
                }
            }
            if let Some(s) = &set {
                echo.push(("set", s.clone()));
            }
            let format = format_of(prefix, &mut echo)?;
            // A bound before 1970 is no bound at all for `from`; an `until`
            // before 1970 leaves nothing (no stamp is that old).
            let from_ms = from.map(|f| u64::try_from(f.first_ms()).unwrap_or(0));
            let until_ms = match until {
                Some(u) => match u64::try_from(u.last_ms()) {
                    Ok(ms) => Some(ms),
                    Err(_) => {
                        return Err((
                            Failure::oai(
                                Code::NoRecordsMatch,
                                "until is before 1970: no item is that old",
                            ),
                            echo,
                        ));
                    }
                },
                None => None,
            };
            if set.as_deref().and_then(sets::parse) == Some(SetFilter::Never) {
                return Err((
                    Failure::oai(
                        Code::NoRecordsMatch,
                        format!(
                            "no item can be in the set {:?}",
                            set.as_deref().unwrap_or_default()
                        ),
                    ),
                    echo,
                ));
            }
            Request::List {
                headers_only,
                token: Token {
                    headers_only,
                    format,
                    from_ms,
                    until_ms,
                    set,
                    delivered: 0,
                    cursor: None,
                },
                resumed: false,
            }
        }
    };
    Ok((request, echo))
}

/// A metadata prefix: badArgument if it is not one by syntax,
/// cannotDisseminateFormat if this repository has no such format (the
/// prefix is then echoed).
fn format_of(prefix: &str, echo: &mut Echo) -> Result<Format, (Failure, Echo)> {
    if !is_prefix_syntax(prefix) {
        return Err((
            bad(format!(
                "metadataPrefix: {prefix:?} is not a metadata prefix"
            )),
            Vec::new(),
        ));
    }
    echo.push(("metadataPrefix", prefix.to_string()));
    Format::parse(prefix).ok_or_else(|| {
        (
            Failure::oai(
                Code::CannotDisseminateFormat,
                format!(
                    "no metadata format {prefix:?} here; ListMetadataFormats lists the formats"
                ),
            ),
            echo.clone(),
        )
    })
}

fn datestamp_arg(name: &str, v: Option<&str>) -> Result<Option<Datestamp>, (Failure, Echo)> {
    match v {
        None => Ok(None),
        Some(s) => parse_datestamp(s).map(Some).ok_or_else(|| {
            (
                bad(format!(
                    "{name}: {s:?} is not a datestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)"
                )),
                Vec::new(),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_and_prefix_syntax() {
        assert!(is_uri_syntax("oai:setu:practice:00:X"));
        assert!(!is_uri_syntax("no scheme"));
        assert!(!is_uri_syntax("oai:a b"));
        assert!(!is_uri_syntax("1ai:x"));
        assert!(!is_uri_syntax("oai:<x>"));
        assert!(is_prefix_syntax("oai_dc"));
        assert!(!is_prefix_syntax("oai dc"));
        assert!(!is_prefix_syntax(""));
    }
}
