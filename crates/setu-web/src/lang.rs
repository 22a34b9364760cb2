//! Languages: which version of a multilingual text a reader sees, and the
//! `lang` and `dir` attributes that mark it (`spec/record.md` §6.4,
//! LangText).

use setu_core::codes;
use setu_core::practice::LangText;

/// The language of the catalogue's own words (headings, labels).
pub const UI_LANGUAGE: &str = "en";

/// ISO 639-1 languages written right to left: Arabic, Divehi, Persian,
/// Hebrew, Pashto, Sindhi, Uyghur, Urdu, Yiddish.
pub const RTL_LANGUAGES: &[&str] = &["ar", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi"];

/// Most entries of an `Accept-Language` header read.
pub const MAX_ACCEPT_LANGUAGE_ENTRIES: usize = 16;

/// True if `tag` is written right to left.
pub fn is_rtl(tag: &str) -> bool {
    RTL_LANGUAGES.contains(&tag)
}

/// The `dir` attribute for text in `tag`: `rtl` for a right-to-left
/// language, else none (the page is left to right).
pub fn dir(tag: &str) -> Option<&'static str> {
    is_rtl(tag).then_some("rtl")
}

/// The English name of a language, else its tag.
pub fn name(tag: &str) -> &str {
    codes::language_name(tag).unwrap_or(tag)
}

/// The reader's language from an `Accept-Language` header: the
/// highest-weighted entry whose primary subtag is an ISO 639-1 language
/// (earlier entries win ties); `None` if there is none.
pub fn negotiate(accept_language: &str) -> Option<String> {
    let mut best: Option<(u32, String)> = None;
    for entry in accept_language.split(',').take(MAX_ACCEPT_LANGUAGE_ENTRIES) {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        // q in thousandths, so weights compare exactly.
        let mut q = 1000u32;
        for p in parts {
            if let Some(v) = p.trim().strip_prefix("q=") {
                q = v
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|x| (0.0..=1.0).contains(x))
                    .map_or(0, |x| (x * 1000.0).round() as u32);
            }
        }
        if q == 0 || !codes::is_language(&primary) {
            continue;
        }
        if best.as_ref().is_none_or(|(bq, _)| q > *bq) {
            best = Some((q, primary));
        }
    }
    best.map(|(_, tag)| tag)
}

/// One version of a multilingual text, as shown to a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown<'a> {
    /// The text.
    pub text: &'a str,
    /// Its language.
    pub lang: &'a str,
    /// True if this version was machine-translated.
    pub machine: bool,
    /// True if the reader's language was not available, so this is the
    /// original instead.
    pub fallback: bool,
    /// The original language.
    pub original: &'a str,
    /// The text in the original language.
    pub original_text: &'a str,
}

/// The version of `t` to show a reader of `want`: that language if the
/// text has it, else the original.
pub fn pick<'a>(t: &'a LangText, want: &str) -> Shown<'a> {
    let original = t
        .text
        .get_key_value(&t.original)
        .or_else(|| t.text.iter().next());
    let (orig_lang, orig_text) = original.map_or(("", ""), |(l, x)| (l.as_str(), x.as_str()));
    let (lang, text) = match t.text.get_key_value(want) {
        Some((l, x)) => (l.as_str(), x.as_str()),
        None => (orig_lang, orig_text),
    };
    Shown {
        text,
        lang,
        machine: t.machine_translated.iter().any(|m| m == lang),
        fallback: lang != want,
        original: orig_lang,
        original_text: orig_text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(original: &str, entries: &[(&str, &str)], machine: &[&str]) -> LangText {
        LangText {
            original: original.into(),
            text: entries
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect(),
            machine_translated: machine.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn picks_the_readers_language_else_the_original() {
        let t = text("bn", &[("bn", "সেবা"), ("en", "Service")], &["en"]);
        let en = pick(&t, "en");
        assert_eq!(
            (en.text, en.lang, en.machine, en.fallback),
            ("Service", "en", true, false)
        );
        let fr = pick(&t, "fr");
        assert_eq!(
            (fr.text, fr.lang, fr.machine, fr.fallback),
            ("সেবা", "bn", false, true)
        );
        let bn = pick(&t, "bn");
        assert!(!bn.machine && !bn.fallback);
    }

    #[test]
    fn right_to_left() {
        for tag in ["ar", "ur", "fa", "he"] {
            assert_eq!(dir(tag), Some("rtl"), "{tag}");
        }
        assert_eq!(dir("bn"), None);
        assert_eq!(dir("en"), None);
    }

    #[test]
    fn accept_language() {
        assert_eq!(negotiate("en-US,en;q=0.9").as_deref(), Some("en"));
        assert_eq!(negotiate("xx, bn;q=0.5, fr;q=0.8").as_deref(), Some("fr"));
        assert_eq!(negotiate("fr;q=0, ar").as_deref(), Some("ar"));
        assert_eq!(negotiate("*").as_deref(), None);
        assert_eq!(negotiate("").as_deref(), None);
        assert_eq!(negotiate("en;q=abc").as_deref(), None);
    }
}
