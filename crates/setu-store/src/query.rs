//! The one query model shared by the library, the CLI and (later) the HTTP
//! API: filters, full text, and which revisions to show.

use serde::{Deserialize, Serialize};
use setu_core::codes;
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::practice::{self, LangText};

/// Results per page unless asked otherwise.
pub const DEFAULT_LIMIT: usize = 20;
/// Most results one query returns; `--all` pages through larger sets.
pub const MAX_LIMIT: usize = 1_000_000;
/// Longest full-text query, in bytes.
pub const MAX_TEXT_BYTES: usize = 1_024;
/// Most values in one filter list.
pub const MAX_FILTER_VALUES: usize = 64;

/// A country filter: the country, and optionally the part it plays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountryFilter {
    /// ISO 3166-1 alpha-3.
    pub iso3: String,
    /// `originating`, `adopting` or `partner`; any if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl std::str::FromStr for CountryFilter {
    type Err = String;
    /// `BGD` or `BGD:originating`.
    fn from_str(s: &str) -> Result<CountryFilter, String> {
        let (iso3, role) = match s.split_once(':') {
            Some((c, r)) => (c, Some(r.to_string())),
            None => (s, None),
        };
        Ok(CountryFilter {
            iso3: iso3.to_ascii_uppercase(),
            role,
        })
    }
}

/// How the words of a full-text query must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextMatch {
    /// Ranked by BM25 over the words that matter (stop words dropped): a
    /// practice need not hold every word, but a long query needs several
    /// (a quarter of its words, rounded down, at least one and at most
    /// three).
    #[default]
    Any,
    /// Every word must match (quoted phrases and `-word` work).
    All,
}

impl std::str::FromStr for TextMatch {
    type Err = String;
    fn from_str(s: &str) -> Result<TextMatch, String> {
        match s {
            "any" => Ok(TextMatch::Any),
            "all" => Ok(TextMatch::All),
            _ => Err(format!("{s:?} is not a text match mode; use any or all")),
        }
    }
}

/// A search over the replica. Filters of different kinds must all match;
/// values within one list are alternatives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Query {
    /// Countries, optionally with role.
    pub countries: Vec<CountryFilter>,
    /// SDG goals (`"16"`) or targets (`"16.6"`).
    pub sdg: Vec<String>,
    /// Sector codes: `"15110"`, `"dac5:15110"`, `"cofog:01.3"`.
    pub sectors: Vec<String>,
    /// IATI activity status codes.
    pub status: Vec<u64>,
    /// `national`, `subnational` or `local`.
    pub gov_level: Option<String>,
    /// Practices whose period overlaps `[from, to]` (dates as in the spec).
    pub period_from: Option<String>,
    /// See `period_from`.
    pub period_to: Option<String>,
    /// The publisher (author key).
    pub publisher: Option<AuthorKey>,
    /// Revisions signed at or after this time (ms since the Unix epoch).
    pub modified_since: Option<u64>,
    /// Only practices with (true) or without (false) TCV metrics.
    pub has_tcv: Option<bool>,
    /// `offering`, `seeking` or `none`: the practice body's `exchange`.
    pub exchange: Option<String>,
    /// Practices adopted in any of these countries (ISO 3166-1 alpha-3).
    pub adopted_in: Vec<String>,
    /// Practices with an adoption at any of these stages (with
    /// `adopted_in`: an adoption in one of those countries at one of these
    /// stages).
    pub adoption_stage: Vec<String>,
    /// Practices with at least this many current adoptions.
    pub min_adoptions: Option<u64>,
    /// Full text, ranked.
    pub text: Option<String>,
    /// How full text matches: `any` word (ranked, the default) or `all`.
    pub text_match: TextMatch,
    /// Every linked revision, not only the current one.
    pub history: bool,
    /// Include withdrawn practices.
    pub include_withdrawn: bool,
    /// Results to return.
    pub limit: usize,
    /// Results to skip.
    pub offset: usize,
    /// Publishers never shown: the members this node's local policy mutes
    /// (`spec/membership.md` §9). Set by the replica, not by callers.
    #[serde(skip)]
    pub hide: Vec<AuthorKey>,
}

impl Default for Query {
    fn default() -> Query {
        Query {
            countries: Vec::new(),
            sdg: Vec::new(),
            sectors: Vec::new(),
            status: Vec::new(),
            gov_level: None,
            period_from: None,
            period_to: None,
            publisher: None,
            modified_since: None,
            has_tcv: None,
            exchange: None,
            adopted_in: Vec::new(),
            adoption_stage: Vec::new(),
            min_adoptions: None,
            text: None,
            text_match: TextMatch::Any,
            history: false,
            include_withdrawn: false,
            limit: DEFAULT_LIMIT,
            offset: 0,
            hide: Vec::new(),
        }
    }
}

impl Query {
    /// Every problem with the query, each naming the field.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        for (name, n) in [
            ("countries", self.countries.len()),
            ("sdg", self.sdg.len()),
            ("sectors", self.sectors.len()),
            ("status", self.status.len()),
            ("adopted-in", self.adopted_in.len()),
            ("adoption-stage", self.adoption_stage.len()),
        ] {
            if n > MAX_FILTER_VALUES {
                p.push(format!(
                    "{name}: {n} values; the limit is {MAX_FILTER_VALUES}"
                ));
            }
        }
        for c in &self.countries {
            if codes::country(&c.iso3).is_none() {
                p.push(format!(
                    "country: {:?} is not an ISO 3166-1 alpha-3 code",
                    c.iso3
                ));
            }
            if let Some(r) = &c.role
                && !practice::COUNTRY_ROLES.contains(&r.as_str())
            {
                p.push(format!(
                    "country: role {r:?} is not one of {}",
                    practice::COUNTRY_ROLES.join(", ")
                ));
            }
        }
        for s in &self.sdg {
            let goal_ok = s
                .parse::<u8>()
                .ok()
                .and_then(codes::sdg_goal_name)
                .is_some();
            if !goal_ok && !codes::is_sdg_target(s) {
                p.push(format!(
                    "sdg: {s:?} is neither an SDG goal (1-17) nor a target such as 16.6"
                ));
            }
        }
        for s in &self.sectors {
            let (voc, code) = s
                .split_once(':')
                .map_or((None, s.as_str()), |(v, c)| (Some(v), c));
            let ok = match voc {
                Some("dac5") => codes::dac5_name(code).is_some(),
                Some("cofog") => codes::cofog_name(code).is_some(),
                None => codes::dac5_name(code).is_some() || codes::cofog_name(code).is_some(),
                Some(_) => false,
            };
            if !ok {
                p.push(format!(
                    "sector: {s:?} is not a DAC5 or COFOG code (e.g. 15110, dac5:15110, cofog:01.3)"
                ));
            }
        }
        for s in &self.status {
            if codes::activity_status_name(*s).is_none() {
                p.push(format!("status: {s} is not an IATI activity status (1-6)"));
            }
        }
        for c in &self.adopted_in {
            if codes::country(c).is_none() {
                p.push(format!(
                    "adopted-in: {c:?} is not an ISO 3166-1 alpha-3 code"
                ));
            }
        }
        for s in &self.adoption_stage {
            if !setu_core::adoption::STAGES.contains(&s.as_str()) {
                p.push(format!(
                    "adoption-stage: {s:?} is not one of {}",
                    setu_core::adoption::STAGES.join(", ")
                ));
            }
        }
        if let Some(x) = &self.exchange
            && !practice::EXCHANGES.contains(&x.as_str())
        {
            p.push(format!(
                "exchange: {x:?} is not one of {}",
                practice::EXCHANGES.join(", ")
            ));
        }
        if let Some(g) = &self.gov_level
            && !practice::GOV_LEVELS.contains(&g.as_str())
        {
            p.push(format!(
                "gov-level: {g:?} is not one of {}",
                practice::GOV_LEVELS.join(", ")
            ));
        }
        for (name, d) in [
            ("period-from", &self.period_from),
            ("period-to", &self.period_to),
        ] {
            if let Some(d) = d
                && setu_core::practice::date_range(d).is_none()
            {
                p.push(format!(
                    "{name}: {d:?} is not a date YYYY, YYYY-MM or YYYY-MM-DD"
                ));
            }
        }
        if let Some(t) = &self.text
            && t.len() > MAX_TEXT_BYTES
        {
            p.push(format!(
                "text: {} bytes; the limit is {MAX_TEXT_BYTES}",
                t.len()
            ));
        }
        if self.limit > MAX_LIMIT {
            p.push(format!("limit: {}; the most is {MAX_LIMIT}", self.limit));
        }
        p
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The record id of this revision.
    pub id: RecordId,
    /// The practice id.
    pub practice_id: String,
    /// The publisher.
    pub author: AuthorKey,
    /// This revision's number.
    pub revision: u64,
    /// When it was signed (ms since the Unix epoch).
    pub ts: u64,
    /// Its title.
    pub title: Option<LangText>,
    /// Originating countries.
    pub countries: Vec<String>,
    /// True if this is the practice's current revision.
    pub current: bool,
    /// True if the practice was withdrawn.
    pub withdrawn: bool,
    /// Its current adoptions (adoption reports naming it).
    #[serde(default)]
    pub adoptions: u64,
    /// Relevance, for full-text queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hits {
    /// How many match in all.
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
}

/// Counts of the result set by country, SDG goal, sector and status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    /// ISO3 code → practices listing it (any role), most first.
    pub country: Vec<(String, u64)>,
    /// SDG goal (`"16"`) → practices with a target under it.
    pub sdg_goal: Vec<(String, u64)>,
    /// `vocabulary:code` → practices.
    pub sector: Vec<(String, u64)>,
    /// IATI activity status → practices.
    pub status: Vec<(u64, u64)>,
    /// Adopting country → practices adopted there.
    #[serde(default)]
    pub adoptions: Vec<(String, u64)>,
    /// Adoption stage → practices with an adoption at that stage.
    #[serde(default)]
    pub adoption_stage: Vec<(String, u64)>,
}
