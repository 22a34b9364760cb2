//! Reading the fields harvesters need out of a body's JSON form
//! (`spec/record.md` §6–§6c). Every reader tolerates any JSON: a field of
//! the wrong shape is treated as absent, since a body of a kind this
//! version does not know was never checked.

use serde_json::Value;

/// A LangText's texts (`{"original": "bn", "text": {"bn": …, "en": …}}`),
/// the original language first, then the others in the order held.
pub fn lang_texts<'a>(body: &'a Value, key: &str) -> Vec<(&'a str, &'a str)> {
    let Some(lt) = body.get(key) else {
        return Vec::new();
    };
    let original = lt.get("original").and_then(Value::as_str);
    let Some(texts) = lt.get("text").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out: Vec<(&str, &str)> = texts
        .iter()
        .filter_map(|(lang, t)| Some((lang.as_str(), t.as_str()?)))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    if let Some(o) = original {
        out.sort_by_key(|(lang, _)| *lang != o);
    }
    out
}

/// The text of a LangText in `lang` if it has one, else in its original
/// language.
pub fn lang_text<'a>(body: &'a Value, key: &str, lang: Option<&str>) -> Option<(&'a str, &'a str)> {
    let texts = lang_texts(body, key);
    lang.and_then(|l| texts.iter().find(|(tag, _)| *tag == l).copied())
        .or_else(|| texts.first().copied())
}

/// The strings of a list of strings (`keywords`, `urls`, `places`).
pub fn strings<'a>(body: &'a Value, key: &str) -> Vec<&'a str> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A text field.
pub fn string<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// The ISO 3166-1 alpha-3 codes a body names, in order, each once: a
/// practice's `countries[].iso3` (every role), an adoption's or a need's
/// `country`.
pub fn countries(body: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let listed = body
        .get("countries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("iso3").and_then(Value::as_str));
    for code in listed.chain(string(body, "country")) {
        if !out.contains(&code) {
            out.push(code);
        }
    }
    out
}

/// The SDG targets a body lists (`sdg_targets`).
pub fn sdg_targets(body: &Value) -> Vec<&str> {
    strings(body, "sdg_targets")
}

/// The SDG goals (1–17) of the targets a body lists, ascending, each once.
pub fn sdg_goals(body: &Value) -> Vec<u8> {
    let mut goals: Vec<u8> = sdg_targets(body)
        .into_iter()
        .filter_map(setu_core::codes::sdg_goal_of_target)
        .collect();
    goals.sort_unstable();
    goals.dedup();
    goals
}

/// `organisations[]` as (name, role).
pub fn organisations(body: &Value) -> Vec<(&str, &str)> {
    body.get("organisations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some((
                o.get("name")?.as_str()?,
                o.get("role").and_then(Value::as_str).unwrap_or(""),
            ))
        })
        .collect()
}

/// `sectors[]` as (vocabulary, code, name from the code table if known).
pub fn sectors(body: &Value) -> Vec<(&str, &str, Option<&'static str>)> {
    body.get("sectors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let vocab = s.get("vocabulary")?.as_str()?;
            let code = s.get("code")?.as_str()?;
            let name = match vocab {
                "dac5" => setu_core::codes::dac5_name(code),
                "cofog" => setu_core::codes::cofog_name(code),
                _ => None,
            };
            Some((vocab, code, name))
        })
        .collect()
}

/// `period` as (start, end).
pub fn period(body: &Value) -> Option<(&str, Option<&str>)> {
    let p = body.get("period")?;
    Some((
        p.get("start")?.as_str()?,
        p.get("end").and_then(Value::as_str),
    ))
}

/// A contact e-mail address, if the body gives one.
pub fn contact_email(body: &Value) -> Option<&str> {
    body.get("contact")?.get("email")?.as_str()
}

/// A contact name, if the body gives one.
pub fn contact_name(body: &Value) -> Option<&str> {
    body.get("contact")?.get("name")?.as_str()
}

/// The practice an adoption names: (`practice_id`, the publisher key in
/// hex or the member id).
pub fn adopted_practice(body: &Value) -> Option<(&str, Option<&str>)> {
    let p = body.get("practice")?;
    let id = p.get("practice_id")?.as_str()?;
    let by = p
        .get("key")
        .and_then(Value::as_str)
        .or_else(|| p.get("member").and_then(Value::as_str));
    Some((id, by))
}

/// A title for any kind, in each language it has: a practice's or need's
/// `title`; for an adoption report, one English line naming the practice
/// and the country; otherwise the kind and id.
pub fn titles(kind: &str, id: &str, body: Option<&Value>) -> Vec<(Option<String>, String)> {
    if let Some(b) = body {
        let t = lang_texts(b, "title");
        if !t.is_empty() {
            return t
                .into_iter()
                .map(|(l, s)| (Some(l.to_string()), s.to_string()))
                .collect();
        }
        if kind == "adoption" {
            let practice = adopted_practice(b).map_or("a practice", |(p, _)| p);
            let place = string(b, "country")
                .map(|c| setu_core::codes::country(c).map_or(c, |k| k.name))
                .unwrap_or("another country");
            return vec![(
                Some("en".to_string()),
                format!("Adoption of {practice} in {place}"),
            )];
        }
    }
    vec![(None, format!("{kind} {id}"))]
}

/// The descriptive texts of a body for its kind: a practice's `summary`, an
/// adoption's `adaptation`, a need's `challenge`.
pub fn descriptions<'a>(kind: &str, body: &'a Value) -> Vec<(&'a str, &'a str)> {
    let key = match kind {
        "adoption" => "adaptation",
        "seeking" => "challenge",
        _ => "summary",
    };
    lang_texts(body, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readers_tolerate_any_shape() {
        for v in [
            json!(null),
            json!([1, 2]),
            json!({"title": 3, "countries": "BGD", "sdg_targets": [1, {"a": 2}], "period": []}),
            json!({"title": {"text": ["x"]}, "organisations": [{"name": 1}], "sectors": [{}]}),
        ] {
            assert!(lang_texts(&v, "title").is_empty());
            assert!(countries(&v).is_empty());
            assert!(sdg_goals(&v).is_empty());
            assert!(organisations(&v).is_empty());
            assert!(sectors(&v).is_empty());
            assert_eq!(period(&v), None);
            assert_eq!(
                titles("thing", "x", Some(&v)),
                vec![(None, "thing x".into())]
            );
        }
    }

    #[test]
    fn original_first_and_fallback() {
        let v = json!({"title": {"original": "bn", "text": {"en": "E", "bn": "B"}},
                       "countries": [{"iso3": "BGD", "role": "originating"}, {"iso3": "NPL"}, {"iso3": "BGD", "role": "partner"}],
                       "sdg_targets": ["16.6", "9.c", "16.1", "x"]});
        assert_eq!(lang_texts(&v, "title"), vec![("bn", "B"), ("en", "E")]);
        assert_eq!(lang_text(&v, "title", Some("en")), Some(("en", "E")));
        assert_eq!(lang_text(&v, "title", Some("fr")), Some(("bn", "B")));
        assert_eq!(countries(&v), vec!["BGD", "NPL"]);
        assert_eq!(sdg_goals(&v), vec![9, 16]);
    }
}
