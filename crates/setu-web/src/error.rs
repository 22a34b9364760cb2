//! The error page: what went wrong, named, with a way back.

use maud::html;

use crate::layout::{self, Frame};

/// An error page for `status` (e.g. 400) with a short `title` and a
/// `detail` that names what was wrong (the parameter, the id). `choices`
/// are links offered instead (label, href), such as the publishers of an
/// ambiguous practice id.
pub fn render(status: u16, title: &str, detail: &str, choices: &[(String, String)]) -> String {
    let body = html! {
        section class="error" aria-labelledby="error-h" {
            p class="status" { "Error " (status) }
            h1 id="error-h" { (title) }
            p class="detail" dir="auto" { (detail) }
            @if !choices.is_empty() {
                ul class="plain choices" {
                    @for (label, href) in choices { li { a href=(href) { (label) } } }
                }
            }
            p { a href="/" { "\u{2190} Back to the catalogue" } }
        }
    };
    layout::page(
        &Frame {
            title,
            lang: None,
            json_ld: None,
            refresh: None,
        },
        body,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_problem_escaped() {
        let html = super::render(400, "Bad request", "lang: \"<x>\" is not a language", &[]);
        assert!(
            html.contains("lang: &quot;&lt;x&gt;&quot; is not a language"),
            "{html}"
        );
        assert!(html.contains("Error 400"));
    }
}
