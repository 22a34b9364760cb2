//! `setu query [filters] [--text Q] [--limit N | --all] [--format ...]`

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde::Deserialize;
use setu_store::query::{Facets, Hit, Hits, MAX_LIMIT};

use crate::cli::{Format, QueryArgs};
use crate::client::Client;
use crate::target::Target;
use crate::term;

pub fn run(dir: &Path, args: QueryArgs) -> Result<ExitCode> {
    let format = if args.json { Format::Json } else { args.format };
    let mut q = args.filters.to_query()?;
    q.limit = if args.all { MAX_LIMIT } else { args.limit };
    q.offset = args.offset;
    let problems = q.problems();
    if !problems.is_empty() {
        bail!("the query is not valid:\n  {}", problems.join("\n  "));
    }
    let (hits, facets) = match Target::of(dir)? {
        Target::Daemon(c) => remote(&c, &args, q.limit)?,
        Target::Local(data) => {
            let replica = data.replica()?;
            let hits = replica.query(&q)?;
            let facets = if args.facets {
                Some(replica.facets(&q)?)
            } else {
                None
            };
            (hits, facets)
        }
    };
    render(format, &hits, facets.as_ref())?;
    Ok(ExitCode::SUCCESS)
}

/// A page of `GET /v1/practices`.
#[derive(Debug, Deserialize)]
struct Page {
    total: usize,
    hits: Vec<Hit>,
    #[serde(default)]
    next_cursor: Option<String>,
    #[serde(default)]
    facets: Option<Facets>,
}

/// Asks the running node, following its cursor until `limit` hits (the
/// node may serve fewer per page than asked).
fn remote(c: &Client, args: &QueryArgs, limit: usize) -> Result<(Hits, Option<Facets>)> {
    let filters = serde_html_form::to_string(&args.filters)?;
    let mut cursor = (args.offset > 0).then(|| args.offset.to_string());
    let mut hits = Vec::new();
    let mut facets = None;
    let mut total = 0;
    let mut first = true;
    loop {
        let mut path = format!("/v1/practices?{filters}");
        if !filters.is_empty() {
            path.push('&');
        }
        let want = limit.saturating_sub(hits.len()).min(crate::api::MAX_PAGE);
        path.push_str(&format!("limit={want}"));
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", crate::client::encode(c)));
        }
        if first && args.facets {
            path.push_str("&facets=true");
        }
        let page: Page = c.get(&path)?;
        if first {
            facets = page.facets;
            total = page.total;
        }
        first = false;
        let got = page.hits.len();
        hits.extend(page.hits);
        match page.next_cursor {
            Some(next) if got > 0 && hits.len() < limit => cursor = Some(next),
            _ => break,
        }
    }
    if args.facets && facets.is_none() {
        bail!("the running node did not count the facets");
    }
    Ok((Hits { total, hits }, facets))
}

/// Prints the results, wherever they came from.
fn render(format: Format, hits: &Hits, facets: Option<&Facets>) -> Result<()> {
    match format {
        Format::Json => match facets {
            Some(f) => crate::cmd::print_json(
                &serde_json::json!({"total": hits.total, "hits": hits.hits, "facets": f}),
            )?,
            None => crate::cmd::print_json(hits)?,
        },
        Format::Jsonl => {
            for h in &hits.hits {
                println!("{}", term::json_line(h)?);
            }
            if let Some(f) = facets {
                println!("{}", term::json_line(&serde_json::json!({"facets": f}))?);
            }
        }
        Format::Table => {
            table(&hits.hits, hits.total);
            if let Some(f) = facets {
                facet_table(f);
            }
        }
    }
    Ok(())
}

/// `s` made safe for a terminal ([`term::line`]), then cut to `n` characters.
fn cut(s: &str, n: usize) -> String {
    let s = term::line(s);
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn table(hits: &[Hit], total: usize) {
    if hits.is_empty() {
        println!("no practices match ({total} in all)");
        return;
    }
    println!(
        "{:<22} {:>3}  {:<11} {:<56} RECORD",
        "PRACTICE", "REV", "COUNTRIES", "TITLE"
    );
    for h in hits {
        let title = h
            .title
            .as_ref()
            .map(|t| t.best("en").to_string())
            .unwrap_or_default();
        let mut flags = String::new();
        if h.withdrawn {
            flags.push_str(" [withdrawn]");
        }
        if !h.current {
            flags.push_str(" [old revision]");
        }
        if h.adoptions > 0 {
            flags.push_str(&format!(" [adopted {}x]", h.adoptions));
        }
        println!(
            "{:<22} {:>3}  {:<11} {:<56} {}{flags}",
            cut(&h.practice_id, 22),
            h.revision,
            cut(&h.countries.join(","), 11),
            cut(&title, 56),
            h.id.short()
        );
    }
    println!("{} of {total} shown", hits.len());
}

fn facet_table(f: &Facets) {
    let line = |name: &str, items: Vec<String>| {
        println!(
            "{name:<9} {}",
            if items.is_empty() {
                "-".to_string()
            } else {
                term::line(&items.join("  ")).into_owned()
            }
        );
    };
    println!();
    line(
        "country",
        f.country.iter().map(|(k, n)| format!("{k} {n}")).collect(),
    );
    line(
        "sdg goal",
        f.sdg_goal.iter().map(|(k, n)| format!("{k} {n}")).collect(),
    );
    line(
        "sector",
        f.sector.iter().map(|(k, n)| format!("{k} {n}")).collect(),
    );
    line(
        "status",
        f.status
            .iter()
            .map(|(k, n)| {
                format!(
                    "{} {n}",
                    setu_core::codes::activity_status_name(*k).unwrap_or("?")
                )
            })
            .collect(),
    );
    line(
        "adopted",
        f.adoptions
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect(),
    );
    line(
        "stage",
        f.adoption_stage
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect(),
    );
}
