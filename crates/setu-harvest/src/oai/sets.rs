//! Sets: `kind:K`, `country:ISO3` and `sdg:N`, under the parents `kind`,
//! `country` and `sdg` (a colon in a setSpec is a level of the hierarchy,
//! so an item in `country:BGD` is also in `country`).

use crate::Item;
use crate::body;

/// The kinds this version lists as sets (an item of another kind is still
/// in `kind:<its kind>`).
pub const KINDS: [&str; 3] = ["practice", "adoption", "seeking"];

/// What a setSpec selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetFilter {
    /// `kind`: every item.
    All,
    /// `kind:K`.
    Kind(String),
    /// `country`: items naming at least one country.
    AnyCountry,
    /// `country:ISO3`.
    Country(String),
    /// `sdg`: items naming at least one SDG target.
    AnySdg,
    /// `sdg:N`.
    Sdg(u8),
    /// A well-formed setSpec no item can be in (another top level, a code
    /// that is not a country or an SDG goal).
    Never,
}

/// True if `s` matches the schema's `setSpecType`:
/// `([A-Za-z0-9\-_\.!~\*'\(\)])+(:[A-Za-z0-9\-_\.!~\*'\(\)]+)*`.
pub fn is_set_spec(s: &str) -> bool {
    s.split(':').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b))
    })
}

/// Reads a setSpec; `None` if it is not one by syntax.
pub fn parse(spec: &str) -> Option<SetFilter> {
    if !is_set_spec(spec) {
        return None;
    }
    let parts: Vec<&str> = spec.split(':').collect();
    Some(match parts.as_slice() {
        ["kind"] => SetFilter::All,
        ["kind", k] => SetFilter::Kind((*k).to_string()),
        ["country"] => SetFilter::AnyCountry,
        ["country", c] if setu_core::codes::country(c).is_some() => {
            SetFilter::Country((*c).to_string())
        }
        ["sdg"] => SetFilter::AnySdg,
        ["sdg", n] => match n.parse::<u8>() {
            Ok(g) if (1..=17).contains(&g) && g.to_string() == *n => SetFilter::Sdg(g),
            _ => SetFilter::Never,
        },
        _ => SetFilter::Never,
    })
}

/// The leaf sets an item is in, in the order: kind, countries, SDG goals.
/// Computed from its current (or last) revision, so a withdrawn item, whose
/// withdrawal names no country, is only in its `kind:` set.
pub fn of_item(item: &Item) -> Vec<String> {
    let mut out = vec![format!("kind:{}", item.kind)];
    if let Some(r) = &item.record {
        for c in body::countries(&r.json) {
            if setu_core::codes::country(c).is_some() {
                out.push(format!("country:{c}"));
            }
        }
        for g in body::sdg_goals(&r.json) {
            out.push(format!("sdg:{g}"));
        }
    }
    out.retain(|s| is_set_spec(s));
    out
}

/// True if `item` is in the set.
pub fn contains(filter: &SetFilter, item: &Item) -> bool {
    let json = item.record.as_ref().map(|r| &r.json);
    match filter {
        SetFilter::All => true,
        SetFilter::Kind(k) => &item.kind == k,
        SetFilter::AnyCountry => json.is_some_and(|j| {
            body::countries(j)
                .iter()
                .any(|c| setu_core::codes::country(c).is_some())
        }),
        SetFilter::Country(c) => json.is_some_and(|j| body::countries(j).contains(&c.as_str())),
        SetFilter::AnySdg => json.is_some_and(|j| !body::sdg_goals(j).is_empty()),
        SetFilter::Sdg(g) => json.is_some_and(|j| body::sdg_goals(j).contains(g)),
        SetFilter::Never => false,
    }
}

/// Every set this repository has, with its name: the parents, the kinds,
/// every ISO 3166-1 country and the 17 goals (a set may be empty).
pub fn all() -> Vec<(String, String)> {
    let mut out = vec![("kind".to_string(), "Items by kind".to_string())];
    for k in KINDS {
        let name = match k {
            "practice" => "Practices",
            "adoption" => "Adoption reports",
            _ => "Needs (seeking records)",
        };
        out.push((format!("kind:{k}"), name.to_string()));
    }
    out.push((
        "country".into(),
        "Items by country (ISO 3166-1 alpha-3)".into(),
    ));
    for c in setu_core::codes::countries() {
        out.push((format!("country:{}", c.alpha3), c.name.to_string()));
    }
    out.push(("sdg".into(), "Items by Sustainable Development Goal".into()));
    for g in 1..=17u8 {
        let name = setu_core::codes::sdg_goal_name(g).unwrap_or("Sustainable Development Goal");
        out.push((format!("sdg:{g}"), format!("SDG {g}: {name}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(parse("kind"), Some(SetFilter::All));
        assert_eq!(
            parse("kind:practice"),
            Some(SetFilter::Kind("practice".into()))
        );
        assert_eq!(parse("country:BGD"), Some(SetFilter::Country("BGD".into())));
        assert_eq!(parse("country:bgd"), Some(SetFilter::Never));
        assert_eq!(parse("country:XXX"), Some(SetFilter::Never));
        assert_eq!(parse("sdg:16"), Some(SetFilter::Sdg(16)));
        assert_eq!(parse("sdg:016"), Some(SetFilter::Never));
        assert_eq!(parse("sdg:18"), Some(SetFilter::Never));
        assert_eq!(parse("sector:x"), Some(SetFilter::Never));
        for bad in ["", ":", "kind:", ":kind", "kind::x", "a b", "country:BGD "] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lists_valid_specs() {
        let sets = all();
        assert!(sets.len() > 200);
        assert!(
            sets.iter()
                .all(|(s, _)| parse(s).is_some_and(|f| f != SetFilter::Never))
        );
        assert!(
            sets.iter()
                .any(|(s, n)| s == "sdg:16" && n.starts_with("SDG 16: "))
        );
    }
}
