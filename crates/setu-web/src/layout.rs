//! The frame every page shares: head, header, footer.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::lang::UI_LANGUAGE;
use crate::params::Params;

/// What the frame needs from a page.
pub(crate) struct Frame<'a> {
    /// The page's title (the site name is added).
    pub title: &'a str,
    /// The reader's chosen language, if chosen, kept in the home link.
    pub lang: Option<&'a str>,
    /// A schema.org JSON-LD document for the page, if any.
    pub json_ld: Option<&'a str>,
    /// Reload the page after this many seconds (while a fetch it shows
    /// runs).
    pub refresh: Option<u32>,
}

/// JSON for a `<script type="application/ld+json">` block: `<`, `>` and
/// `&` as JSON escapes, so no text in it can close the element.
pub(crate) fn script_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The home page's link, keeping the reader's language.
pub(crate) fn home(lang: Option<&str>) -> String {
    match lang {
        Some(l) => Params::from_pairs([("lang", l)]).href("/"),
        None => "/".into(),
    }
}

/// A whole page around `body`.
pub(crate) fn page(frame: &Frame<'_>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(UI_LANGUAGE) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(secs) = frame.refresh {
                    meta http-equiv="refresh" content=(secs);
                }
                title { (frame.title) " \u{b7} Setu practice catalogue" }
                link rel="stylesheet" href=(crate::assets::CSS_PATH);
                script src=(crate::assets::JS_PATH) defer {}
                @if let Some(j) = frame.json_ld {
                    script type="application/ld+json" { (PreEscaped(script_safe_json(j))) }
                }
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="site" {
                    div class="wrap" {
                        a class="brand" href=(home(frame.lang)) {
                            span class="brand-mark" aria-hidden="true" { "S" }
                            span class="brand-name" { "Setu" }
                            span class="brand-tag" { "Public-service practice catalogue" }
                        }
                    }
                }
                main id="main" class="wrap" {
                    (body)
                }
                footer class="site" {
                    div class="wrap" {
                        p {
                            "Each practice is published and signed by the agency that runs it. "
                            "This node checked every signature when it stored the record; "
                            "the texts are the agencies' own."
                        }
                        p {
                            "Data: " a href="/v1/practices" { "JSON API" } " \u{b7} "
                            a href="/v1/openapi.json" { "OpenAPI" }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_ld_cannot_close_its_script() {
        let j = r#"{"name":"</script><script>alert(1)</script>&"}"#;
        let s = script_safe_json(j);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let html = page(
            &Frame {
                title: "t",
                lang: None,
                json_ld: Some(j),
                refresh: None,
            },
            html! {},
        );
        assert_eq!(html.matches("</script>").count(), 2, "{html}");
    }
}
