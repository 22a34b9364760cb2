//! The one query type of the node crate: the filters of `setu query` and
//! `setu export` (as flags) and of the HTTP API's `GET /v1/practices` and
//! the web catalogue (as query parameters, by their serde names), and how
//! they become the store's [`Query`].

use std::collections::HashSet;

use anyhow::Result;
use setu_store::query::{CountryFilter, Query};

/// The query parameters that name a filter (the serde names of [`Filters`]).
pub const KEYS: &[&str] = &[
    "text",
    "match",
    "adopted_in",
    "adoption_stage",
    "min_adoptions",
    "exchange",
    "country",
    "sdg",
    "sector",
    "status",
    "gov_level",
    "period_from",
    "period_to",
    "publisher",
    "modified_since",
    "has_tcv",
    "no_tcv",
    "history",
    "include_withdrawn",
];

/// The filters shared by `setu query`, `setu export` and the HTTP API's
/// `GET /v1/practices` (as query parameters, by these serde names).
#[derive(Debug, Default, clap::Args, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Filters {
    /// Full text, ranked (any language). By default any word may match
    /// (stop words dropped); see --match.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// How --text matches: any (ranked, the default) or all (every word).
    #[arg(long = "match")]
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub text_match: Option<String>,
    /// Adopted in this country (ISO3), by an adoption report. Repeatable.
    #[arg(long = "adopted-in")]
    #[serde(rename = "adopted_in", skip_serializing_if = "Vec::is_empty")]
    pub adopted_in: Vec<String>,
    /// With an adoption at this stage: exploring, piloting, scaled,
    /// discontinued. Repeatable.
    #[arg(long = "adoption-stage")]
    #[serde(rename = "adoption_stage", skip_serializing_if = "Vec::is_empty")]
    pub adoption_stage: Vec<String>,
    /// At least this many current adoption reports.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_adoptions: Option<u64>,
    /// The practice body's exchange: offering, seeking or none.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Country, ISO3, optionally with role: BGD or BGD:originating. Repeatable.
    #[arg(long = "country")]
    #[serde(rename = "country", skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// SDG goal (16) or target (16.6). Repeatable.
    #[arg(long)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sdg: Vec<String>,
    /// Sector: 15110, dac5:15110 or cofog:01.3. Repeatable.
    #[arg(long = "sector")]
    #[serde(rename = "sector", skip_serializing_if = "Vec::is_empty")]
    pub sectors: Vec<String>,
    /// IATI activity status, 1-6. Repeatable.
    #[arg(long)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u64>,
    /// national, subnational or local.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gov_level: Option<String>,
    /// Practices running at any time on or after this date (YYYY[-MM[-DD]]).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_from: Option<String>,
    /// Practices running at any time on or before this date.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_to: Option<String>,
    /// Publisher: the author key in hex.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Revisions signed on or after this date (YYYY-MM-DD) or time (ms since 1970).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_since: Option<String>,
    /// Only practices with TCV metrics.
    #[arg(long, conflicts_with = "no_tcv")]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub has_tcv: bool,
    /// Only practices without TCV metrics.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_tcv: bool,
    /// Every revision, not only the current one.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub history: bool,
    /// Include withdrawn practices.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub include_withdrawn: bool,
}

impl Filters {
    /// Reads the filters from a URL query string. `also` names the other
    /// parameters the caller reads (paging); any parameter in neither list
    /// is refused, by name, as is an empty value of one of `also`.
    pub fn from_query_string(raw: &str, also: &[&str]) -> Result<Filters, String> {
        let known: HashSet<&str> = KEYS.iter().chain(also).copied().collect();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            // serde_html_form reads `limit=` as no limit at all.
            if also.contains(&key) && value.is_empty() {
                return Err(format!("{key}: empty"));
            }
            if !known.contains(key) {
                return Err(format!(
                    "query parameter {key:?} is unknown; known: {}",
                    KEYS.iter()
                        .chain(also)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let filters: Filters =
            serde_html_form::from_str(raw).map_err(|e| format!("query parameters: {e}"))?;
        if filters.has_tcv && filters.no_tcv {
            return Err("has_tcv and no_tcv: give at most one of them".into());
        }
        Ok(filters)
    }

    /// The shared query model these filters describe.
    pub fn to_query(&self) -> Result<Query> {
        let a = self;
        let publisher = match &a.publisher {
            Some(p) => Some(p.parse().map_err(|e| anyhow::anyhow!("--publisher: {e}"))?),
            None => None,
        };
        let modified_since = match &a.modified_since {
            Some(s) => Some(parse_time(s).ok_or_else(|| {
                anyhow::anyhow!(
                    "--modified-since: {s:?} is neither YYYY-MM-DD nor milliseconds since 1970"
                )
            })?),
            None => None,
        };
        Ok(Query {
            countries: a
                .countries
                .iter()
                .map(|c| c.parse::<CountryFilter>())
                .collect::<Result<_, _>>()
                .map_err(anyhow::Error::msg)?,
            sdg: a.sdg.clone(),
            sectors: a.sectors.clone(),
            status: a.status.clone(),
            gov_level: a.gov_level.clone(),
            period_from: a.period_from.clone(),
            period_to: a.period_to.clone(),
            publisher,
            modified_since,
            has_tcv: if a.has_tcv {
                Some(true)
            } else if a.no_tcv {
                Some(false)
            } else {
                None
            },
            text: a.text.clone(),
            text_match: match &a.text_match {
                Some(m) => m
                    .parse()
                    .map_err(|e: String| anyhow::anyhow!("--match: {e}"))?,
                None => Default::default(),
            },
            adopted_in: a
                .adopted_in
                .iter()
                .map(|c| c.to_ascii_uppercase())
                .collect(),
            adoption_stage: a.adoption_stage.clone(),
            min_adoptions: a.min_adoptions,
            exchange: a.exchange.clone(),
            history: a.history,
            include_withdrawn: a.include_withdrawn,
            ..Query::default()
        })
    }
}

/// `YYYY-MM-DD` (midnight UTC) or milliseconds since 1970.
pub fn parse_time(s: &str) -> Option<u64> {
    if let Ok(ms) = s.parse::<u64>() {
        return Some(ms);
    }
    let ((y, m, d), _) = setu_core::practice::date_range(s)?;
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let (y, m, d) = (y as i64, m as i64, d as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days).ok().map(|d| d * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_time("2026-01-01"), Some(1_767_225_600_000));
        assert_eq!(parse_time("5"), Some(5));
        assert_eq!(parse_time("2026-13-01"), None);
    }

    #[test]
    fn query_strings_are_checked_by_name() {
        let f = Filters::from_query_string("country=BGD&sdg=16&limit=5", &["limit"]).unwrap();
        assert_eq!(f.countries, vec!["BGD".to_string()]);
        let q = f.to_query().unwrap();
        assert_eq!(q.sdg, vec!["16".to_string()]);
        let e = Filters::from_query_string("colour=red", &["limit"]).unwrap_err();
        assert!(e.contains("\"colour\""), "{e}");
        let e = Filters::from_query_string("limit=", &["limit"]).unwrap_err();
        assert!(e.starts_with("limit:"), "{e}");
        let e = Filters::from_query_string("has_tcv=true&no_tcv=true", &[]).unwrap_err();
        assert!(e.contains("has_tcv"), "{e}");
    }
}
