//! The web catalogue's routes: HTML pages at `/` (search, with facet
//! counts) and `/practices/{id}` (one practice), and their stylesheet and
//! script at `/assets/`. `setu-web` renders the pages from view structs;
//! this module reads the node and answers with the headers every page
//! carries: a strict Content-Security-Policy, `nosniff`, a referrer policy.
//!
//! A bad query parameter is a 400 page that names it, never a panic.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use setu::{LookupError, PracticeView, View};
use setu_core::codes;
use setu_core::ids::AuthorKey;
use setu_core::practice::Practice;
use setu_member::charter::Affiliation;
use setu_store::query::{CountryFilter, Query};
use setu_web::params::{Params, segment};
use setu_web::practice::{
    AdoptionItem, AttachmentItem, PracticePage, Publisher, Revision, TcvComparison,
};
use setu_web::search::{self, Counts, MAX_PAGE, PAGE_SIZE, ResultItem, SearchPage, keys};

use super::{Problem, State as Api};
use crate::filters::Filters;

/// The Content-Security-Policy of every page: nothing but this node's own
/// stylesheet, script and attachments (audio and video players), no inline
/// code, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; media-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The referrer policy: other sites (an author's links) see no path.
pub const REFERRER_POLICY: &str = "same-origin";
/// How long browsers may keep the stylesheet and script.
pub const ASSET_CACHE: &str = "public, max-age=3600";
/// The query parameters of `/` besides the filters.
const SEARCH_ALSO: &[&str] = &[keys::PAGE, keys::LANG];
/// The query parameters of `/practices/{id}`.
const PRACTICE_KEYS: &[&str] = &["publisher", keys::LANG];
/// Chosen countries whose roles are counted.
pub const MAX_ROLE_COUNTRIES: usize = 4;
/// Chosen SDG goals whose targets are counted.
pub const MAX_TARGET_GOALS: usize = 3;
/// Languages always offered in the search page's menu (with those of the
/// results shown).
pub const SEARCH_LANGUAGES: &[&str] = &["ar", "bn", "en", "es", "fr", "pt", "sw"];

/// Fetches that visitors asked for running at once, at most; beyond,
/// the button answers 503.
pub const MAX_VISITOR_FETCHES: usize = 4;
/// How long a visitor's click waits for its fetch to show before the page
/// comes back (the page then reloads itself while the fetch runs).
const FETCH_SHOW_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// How often that wait looks.
const FETCH_SHOW_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// The routes of the web catalogue.
pub fn routes() -> Router<Api> {
    Router::new()
        .route("/", get(search_page))
        .route("/practices/{id}", get(practice_page))
        .route(
            "/practices/{id}/attachments/{hash}/fetch",
            post(visitor_fetch),
        )
        .route("/assets/{name}", get(asset))
        .layer(axum::middleware::map_response(secure))
}

/// The headers every response of the catalogue carries.
async fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(REFERRER_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// An error, answered as an HTML page.
#[derive(Debug)]
struct WebError {
    status: StatusCode,
    title: String,
    detail: String,
    choices: Vec<(String, String)>,
}

impl WebError {
    fn new(status: StatusCode, detail: impl Into<String>) -> WebError {
        WebError {
            status,
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            detail: detail.into(),
            choices: Vec::new(),
        }
    }

    /// 400, naming the parameter in `detail`.
    fn bad(detail: impl Into<String>) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, detail)
    }
}

impl From<Problem> for WebError {
    fn from(p: Problem) -> WebError {
        let mut detail = p.detail;
        if !p.errors.is_empty() {
            detail = format!("{detail}: {}", p.errors.join("; "));
        }
        WebError {
            status: StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            title: p.title,
            detail,
            choices: Vec::new(),
        }
    }
}

impl From<setu::Error> for WebError {
    fn from(e: setu::Error) -> WebError {
        Problem::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = setu_web::error::render(
            self.status.as_u16(),
            &self.title,
            &self.detail,
            &self.choices,
        );
        html(self.status, body)
    }
}

type Result<T> = std::result::Result<T, WebError>;

/// An HTML response.
fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::VARY, "Accept-Language"),
        ],
        body,
    )
        .into_response()
}

/// The reader's language: `lang=` if given (checked), else the
/// browser's `Accept-Language`, else English. The second value is the
/// one chosen with `lang=`, kept in links.
fn reader_language(params: &Params, headers: &HeaderMap) -> Result<(String, Option<String>)> {
    if let Some(l) = params.get(keys::LANG) {
        if !codes::is_language(l) {
            return Err(WebError::bad(format!(
                "lang: {l:?} is not an ISO 639-1 language code such as en, bn or ar"
            )));
        }
        return Ok((l.to_string(), Some(l.to_string())));
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(setu_web::lang::negotiate);
    Ok((
        accepted.unwrap_or_else(|| setu_web::lang::UI_LANGUAGE.to_string()),
        None,
    ))
}

/// The body of a view as a practice, if it reads as one.
fn practice_of(view: &PracticeView) -> Option<Practice> {
    if view.body.is_null() {
        None
    } else {
        serde_json::from_value(view.body.clone()).ok()
    }
}

/// The network's members, in a chartered network (else `None`).
async fn members(api: &Api) -> Option<View> {
    api.node.charter()?;
    match api.node.members().await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!("web: members: {e}");
            None
        }
    }
}

/// Who `key` is: the member it belongs to, in a chartered network; this
/// node's own agency (from `setu.toml`) for its own key otherwise.
fn publisher(api: &Api, members: Option<&View>, key: &AuthorKey) -> Publisher {
    let member = members.and_then(|v| {
        let id = v.owner(key).or_else(|| v.named_for(key))?;
        v.member(id)
    });
    let own = api
        .agency
        .as_ref()
        .filter(|_| api.node.publisher() == Some(*key))
        .map(|a| a.to_string());
    Publisher {
        name: member
            .as_ref()
            .map(|m| {
                let place = match &m.entry.affiliation {
                    Affiliation::Country(c) => c.clone(),
                    Affiliation::Org(o) => o.clone(),
                };
                format!("{} ({place})", m.entry.agency)
            })
            .or(own),
        member: member.map(|m| m.entry.id),
        key: key.to_hex(),
    }
}

/// `GET /`: the search page.
async fn search_page(
    State(api): State<Api>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match search(&api, q.as_deref().unwrap_or(""), &headers).await {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}

/// The page number, from 1.
fn page_number(params: &Params) -> Result<usize> {
    match params.get(keys::PAGE) {
        None => Ok(1),
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                WebError::bad(format!(
                    "page: {p:?} is not a page number from 1 to {MAX_PAGE}"
                ))
            }),
    }
}

/// Values the shared filter parser would refuse with a message that does
/// not name them: checked here first, by name.
fn check_values(params: &Params) -> Result<()> {
    for (k, v) in params.pairs() {
        let ok = match k.as_str() {
            "status" | "min_adoptions" => v.parse::<u64>().is_ok(),
            "has_tcv" | "no_tcv" | "history" | "include_withdrawn" => v == "true" || v == "false",
            _ => true,
        };
        if !ok {
            let want = if matches!(k.as_str(), "status" | "min_adoptions") {
                "a whole number"
            } else {
                "true or false"
            };
            return Err(WebError::bad(format!("{k}: {v:?} is not {want}")));
        }
    }
    Ok(())
}

async fn search(api: &Api, raw: &str, headers: &HeaderMap) -> Result<String> {
    let params = Params::parse(raw);
    check_values(&params)?;
    let filters = Filters::from_query_string(raw, SEARCH_ALSO).map_err(WebError::bad)?;
    let mut query = filters
        .to_query()
        .map_err(|e| WebError::bad(format!("{e:#}")))?;
    let page = page_number(&params)?;
    let (lang, _) = reader_language(&params, headers)?;
    let problems = query.problems();
    if !problems.is_empty() {
        return Err(WebError::bad(problems.join("; ")));
    }
    query.limit = PAGE_SIZE;
    query.offset = (page - 1) * PAGE_SIZE;
    let found = api.node.query(query.clone()).await?;
    let mut results = Vec::with_capacity(found.hits.len());
    for hit in &found.hits {
        let body = match api
            .node
            .get(&hit.id.to_hex(), Some(hit.author), false)
            .await?
        {
            Ok(view) => practice_of(&view),
            Err(_) => None,
        };
        results.push(ResultItem {
            practice_id: hit.practice_id.clone(),
            publisher: hit.author.to_hex(),
            title: hit.title.clone(),
            summary: body.as_ref().and_then(|b| b.summary.clone()),
            countries: hit.countries.clone(),
            revision: hit.revision,
            ts: hit.ts,
            withdrawn: hit.withdrawn,
            adoptions: hit.adoptions,
            tcv: body.as_ref().is_some_and(|b| !b.metrics.is_empty()),
        });
    }
    let counts = counts(api, &query).await?;
    let mut languages: Vec<String> = SEARCH_LANGUAGES.iter().map(|l| l.to_string()).collect();
    languages.push(lang.clone());
    for r in &results {
        for t in [&r.title, &r.summary].into_iter().flatten() {
            languages.extend(t.text.keys().cloned());
        }
    }
    languages.sort();
    languages.dedup();
    Ok(search::render(&SearchPage {
        params,
        lang,
        languages,
        total: found.total,
        page,
        results,
        counts,
    }))
}

/// How many practices `q` matches.
async fn total(api: &Api, mut q: Query) -> Result<u64> {
    q.limit = 0;
    q.offset = 0;
    Ok(api.node.query(q).await?.total as u64)
}

/// The facet counts for `query`. The counts of a filter the reader has
/// set are those of the query without it, so they say what choosing
/// another value would give.
async fn counts(api: &Api, query: &Query) -> Result<Counts> {
    let mut q = query.clone();
    q.limit = 0;
    q.offset = 0;
    let all = api.node.facets(q.clone()).await?;
    let without = async |clear: fn(&mut Query)| -> Result<setu::Facets> {
        let mut q2 = q.clone();
        clear(&mut q2);
        Ok(api.node.facets(q2).await?)
    };
    let country = if q.countries.is_empty() {
        all.country.clone()
    } else {
        without(|q| q.countries.clear()).await?.country
    };
    let sdg_goal = if q.sdg.is_empty() {
        all.sdg_goal.clone()
    } else {
        without(|q| q.sdg.clear()).await?.sdg_goal
    };
    let sector = if q.sectors.is_empty() {
        all.sector.clone()
    } else {
        without(|q| q.sectors.clear()).await?.sector
    };
    let status = if q.status.is_empty() {
        all.status.clone()
    } else {
        without(|q| q.status.clear()).await?.status
    };

    let mut chosen: Vec<String> = q.countries.iter().map(|c| c.iso3.clone()).collect();
    chosen.sort();
    chosen.dedup();
    let mut country_roles = Vec::new();
    for iso3 in chosen.into_iter().take(MAX_ROLE_COUNTRIES) {
        let mut roles = Vec::new();
        for role in setu_core::practice::COUNTRY_ROLES {
            let mut q2 = q.clone();
            q2.countries = vec![CountryFilter {
                iso3: iso3.clone(),
                role: Some(role.to_string()),
            }];
            roles.push((role.to_string(), total(api, q2).await?));
        }
        country_roles.push((iso3, roles));
    }

    let mut goals: Vec<&str> = q
        .sdg
        .iter()
        .map(|s| s.split('.').next().unwrap_or(s))
        .collect();
    goals.sort();
    goals.dedup();
    let mut sdg_target = Vec::new();
    for goal in goals.into_iter().take(MAX_TARGET_GOALS) {
        let Ok(g) = goal.parse::<u8>() else { continue };
        for t in codes::sdg_targets().filter(|t| codes::sdg_goal_of_target(t) == Some(g)) {
            let mut q2 = q.clone();
            q2.sdg = vec![t.to_string()];
            let n = total(api, q2).await?;
            if n > 0 {
                sdg_target.push((t.to_string(), n));
            }
        }
    }

    let mut gov_level = Vec::new();
    for level in setu_core::practice::GOV_LEVELS {
        let mut q2 = q.clone();
        q2.gov_level = Some(level.to_string());
        gov_level.push((level.to_string(), total(api, q2).await?));
    }
    let mut q2 = q.clone();
    q2.has_tcv = Some(true);
    let has_tcv = total(api, q2).await?;

    Ok(Counts {
        country,
        country_roles,
        sdg_goal,
        sdg_target,
        sector,
        status,
        gov_level,
        has_tcv,
    })
}

/// `GET /practices/{id}`: one practice.
async fn practice_page(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match practice(&api, &id, q.as_deref().unwrap_or(""), &headers).await {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}

async fn practice(api: &Api, id: &str, raw: &str, headers: &HeaderMap) -> Result<String> {
    let params = Params::parse(raw);
    if let Some((k, _)) = params
        .pairs()
        .iter()
        .find(|(k, _)| !PRACTICE_KEYS.contains(&k.as_str()))
    {
        return Err(WebError::bad(format!(
            "query parameter {k:?} is unknown; known: {}",
            PRACTICE_KEYS.join(", ")
        )));
    }
    let publisher_param = params.get("publisher").map(str::to_string);
    let wanted = match &publisher_param {
        Some(p) => Some(
            p.parse::<AuthorKey>()
                .map_err(|e| WebError::bad(format!("publisher: {e}")))?,
        ),
        None => None,
    };
    let (lang, lang_chosen) = reader_language(&params, headers)?;
    let view = match api.node.get(id, wanted, true).await? {
        Ok(v) => v,
        Err(e @ LookupError::NotFound(_)) => {
            return Err(WebError::new(StatusCode::NOT_FOUND, e.to_string()));
        }
        Err(LookupError::Ambiguous { id: pid, authors }) => {
            let members = members(api).await;
            let mut e = WebError::new(
                StatusCode::CONFLICT,
                format!(
                    "{} publishers have a practice {pid:?}; choose one",
                    authors.len()
                ),
            );
            e.choices = authors
                .iter()
                .map(|a| {
                    let mut p = Params::from_pairs([("publisher", a.to_hex())]);
                    if let Some(l) = &lang_chosen {
                        p = p.with(keys::LANG, l);
                    }
                    (
                        publisher(api, members.as_ref(), a).cited(),
                        p.href(&format!("/practices/{}", segment(&pid))),
                    )
                })
                .collect();
            return Err(e);
        }
        Err(e) => return Err(WebError::new(StatusCode::CONFLICT, e.to_string())),
    };
    let members = members(api).await;
    let body = practice_of(&view);
    let adoptions = view
        .adoptions
        .iter()
        .map(|a| AdoptionItem {
            record_id: a.adopted.id.to_hex(),
            publisher: publisher(api, members.as_ref(), &a.adopted.publisher),
            adoption: a.adopted.adoption.clone(),
            years_from_origin: a.years_from_origin,
            tcv: a
                .tcv
                .iter()
                .map(|t| TcvComparison {
                    kind: t.kind.clone(),
                    origin_bp: t.origin_bp,
                    adopter_bp: t.adopter_bp,
                })
                .collect(),
        })
        .collect();
    // The page's own parameters, kept by the fetch button's redirect.
    let kept = params.filtered(|k, _| PRACTICE_KEYS.contains(&k));
    // The references to this publisher's practice: another publisher may
    // use the same practice id.
    let owner = publisher(api, members.as_ref(), &view.author);
    let attachments = api
        .node
        .attachments(Some(view.practice_id.clone()))
        .await?
        .into_iter()
        .filter(|a| {
            a.attachment.practice.as_ref().is_some_and(|r| {
                r.key.is_none_or(|k| k == view.author)
                    && r.member
                        .as_ref()
                        .is_none_or(|m| owner.member.as_ref() == Some(m))
            })
        })
        .map(|a| AttachmentItem {
            fetch_action: (api.visitor_fetch_bytes > 0
                && !a.fetching
                && a.availability != "complete"
                && a.attachment
                    .size
                    .is_some_and(|s| s <= api.visitor_fetch_bytes))
            .then(|| a.hash())
            .flatten()
            .map(|h| {
                kept.href(&format!(
                    "/practices/{}/attachments/{}/fetch",
                    segment(&view.practice_id),
                    h.to_hex()
                ))
            }),
            fetching: a.fetching,
            hash: a.hash().map(|h| h.to_hex()).unwrap_or_default(),
            publisher: publisher(api, members.as_ref(), &a.author),
            title: a.attachment.title.clone(),
            category: a.attachment.category.clone(),
            media_type: a
                .attachment
                .media_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: a.attachment.size.unwrap_or(0),
            language: a.attachment.language.clone(),
            licence: a.attachment.licence.clone(),
            availability: a.availability.clone(),
            blocks_held: a.blocks_held,
            blocks: a.blocks,
        })
        .collect();
    // schema.org JSON-LD for the practice (issue 15, DCAT): `setu-web`
    // embeds it, escaped, in a `<script type="application/ld+json">`.
    let json_ld = (!view.body.is_null())
        .then(|| setu_harvest::dcat::schema_org(&view.body, Some(&lang), None).to_string());
    let page = PracticePage {
        requested: id.to_string(),
        lang,
        lang_chosen,
        publisher_param,
        practice_id: view.practice_id.clone(),
        record_id: view.record_id.to_hex(),
        publisher: publisher(api, members.as_ref(), &view.author),
        revision: view.revision,
        ts: view.ts,
        withdrawn: view.withdrawn,
        equivocated: view.equivocated,
        flagged: view.flagged.clone(),
        current: view.current.map(|c| c.to_hex()),
        body,
        history: view
            .history
            .iter()
            .flatten()
            .map(|r| Revision {
                id: r.id.to_hex(),
                revision: r.revision,
                ts: r.ts,
                withdrawal: r.withdrawal,
            })
            .collect(),
        held: view.held.iter().map(|h| h.to_hex()).collect(),
        adoptions,
        attachments,
        json_ld,
    };
    Ok(setu_web::practice::render(&page))
}

/// `POST /practices/{id}/attachments/{hash}/fetch`: the page's "Fetch to
/// this node" button. Starts the fetch (it runs on after the answer), then
/// sends the reader back to the practice page, which shows how far it got.
async fn visitor_fetch(
    State(api): State<Api>,
    Path((id, hash)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    match start_visitor_fetch(&api, &hash).await {
        Ok(()) => {
            let back = Params::parse(q.as_deref().unwrap_or(""))
                .filtered(|k, _| PRACTICE_KEYS.contains(&k))
                .href(&format!("/practices/{}", segment(&id)));
            Redirect::to(&back).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Checks that a visitor may have `hash` fetched here, and starts it.
async fn start_visitor_fetch(api: &Api, hash: &str) -> Result<()> {
    let limit = api.visitor_fetch_bytes;
    if limit == 0 {
        return Err(WebError::new(
            StatusCode::FORBIDDEN,
            "this node fetches attachments for its operator only (api.visitor_fetch_bytes = 0)",
        ));
    }
    let h: setu_blob::Hash = hash
        .parse()
        .map_err(|e| WebError::bad(format!("hash: {e}")))?;
    let Some(v) = api.node.attachment(h).await? else {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            format!("no attachment record on this node names {hash}"),
        ));
    };
    if v.availability == "complete" || v.fetching {
        return Ok(());
    }
    let size = v.attachment.size.unwrap_or(0);
    if size > limit {
        return Err(WebError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{size} bytes: visitors may have at most {limit} fetched here; its operator can fetch it with `setu fetch {hash}`"
            ),
        ));
    }
    let permit = api
        .visitor_fetches
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            WebError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "{MAX_VISITOR_FETCHES} fetches asked for by visitors are running; try again when one ends"
                ),
            )
        })?;
    let node = api.node.clone();
    tokio::spawn(async move {
        let _permit = permit;
        match node.fetch_attachment(h).await {
            Ok(_) => tracing::info!(hash = %h, "attachment fetched for a visitor"),
            Err(e) => tracing::info!(hash = %h, "a visitor's fetch ended: {e}"),
        }
    });
    // The page the reader goes back to should show the fetch running.
    let hex = h.to_hex();
    let deadline = tokio::time::Instant::now() + FETCH_SHOW_WAIT;
    while tokio::time::Instant::now() < deadline {
        let shown = api
            .node
            .fetches()
            .await
            .is_ok_and(|f| f.iter().any(|f| f.hash == hex))
            || api.node.content().is_ok_and(|d| d.path(&h).is_some());
        if shown {
            break;
        }
        tokio::time::sleep(FETCH_SHOW_POLL).await;
    }
    Ok(())
}

/// `GET /assets/{name}`: the stylesheet and the script.
async fn asset(Path(name): Path<String>) -> Response {
    match setu_web::assets::get(&name) {
        Some((content_type, body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, ASSET_CACHE),
            ],
            body,
        )
            .into_response(),
        None => WebError::new(StatusCode::NOT_FOUND, format!("no asset {name:?}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_named() {
        for (raw, name) in [
            ("status=abc", "status"),
            ("has_tcv=yes", "has_tcv"),
            ("min_adoptions=-1", "min_adoptions"),
        ] {
            let e = check_values(&Params::parse(raw)).expect_err(raw);
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.detail.starts_with(name), "{}", e.detail);
        }
        assert!(check_values(&Params::parse("status=2&has_tcv=true")).is_ok());
        for raw in ["page=0", "page=x", "page=99999999"] {
            let e = page_number(&Params::parse(raw)).expect_err(raw);
            assert!(e.detail.starts_with("page:"), "{}", e.detail);
        }
        assert_eq!(page_number(&Params::parse("page=3")).ok(), Some(3));
    }

    #[test]
    fn the_readers_language() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("bn-BD,en;q=0.5"),
        );
        let (l, chosen) = reader_language(&Params::default(), &h).expect("lang");
        assert_eq!((l.as_str(), chosen), ("bn", None));
        let (l, chosen) = reader_language(&Params::parse("lang=ar"), &h).expect("lang");
        assert_eq!((l.as_str(), chosen.as_deref()), ("ar", Some("ar")));
        let e = reader_language(&Params::parse("lang=xx"), &h).expect_err("xx");
        assert!(e.detail.starts_with("lang:"), "{}", e.detail);
        let (l, _) = reader_language(&Params::default(), &HeaderMap::new()).expect("lang");
        assert_eq!(l, "en");
    }

    #[test]
    fn every_page_is_locked_down() {
        let resp = futures::executor::block_on(secure(html(StatusCode::OK, String::new())));
        let h = resp.headers();
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], REFERRER_POLICY);
    }
}
