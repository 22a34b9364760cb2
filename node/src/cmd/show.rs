//! `setu show ID [--history]`: a practice, with a citation.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::practice::Practice;
use setu_store::chain::State;

use crate::cli::ShowArgs;
use crate::datadir::DataDir;

pub fn run(dir: &Path, args: ShowArgs) -> Result<ExitCode> {
    let data = DataDir::open(dir)?;
    let replica = data.replica()?;
    let local = data.key().ok().map(|k| k.author());
    // A record id, or a practice id.
    let (author, practice_id, asked) = if let Ok(id) = args.id.parse::<RecordId>() {
        let Some(rec) = replica.get(&id)? else {
            bail!("no record {id} in this replica")
        };
        let Some(p) = rec.practice() else {
            println!(
                "record {id} is of kind {:?}, which this version does not know; its envelope:",
                rec.envelope().kind
            );
            crate::cmd::print_json(&rec.envelope_json())?;
            return Ok(ExitCode::SUCCESS);
        };
        (rec.envelope().author, p.practice_id.clone(), Some(id))
    } else {
        let mut authors = replica.authors_of(&args.id)?;
        if let Some(p) = &args.publisher {
            let want: AuthorKey = p.parse().map_err(|e| anyhow::anyhow!("--publisher: {e}"))?;
            authors.retain(|a| *a == want);
        }
        if authors.is_empty()
            && let Some(l) =
                local.filter(|l| replica.practice(l, &args.id).ok().flatten().is_some())
        {
            authors.push(l);
        }
        match authors.as_slice() {
            [] => bail!("no practice {:?} in this replica", args.id),
            [a] => (*a, args.id.clone(), None),
            many => bail!(
                "{} publishers have a practice {:?}: pass --publisher with one of {}",
                many.len(),
                args.id,
                many.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    };
    let Some((_, state)) = replica.practice(&author, &practice_id)? else {
        bail!("practice {practice_id:?} has no chain in this replica");
    };
    let shown = asked
        .or(state.current.as_ref().map(|e| e.id))
        .or(state.linked.last().map(|e| e.id));
    let Some(shown) = shown else {
        bail!("practice {practice_id:?} has no linked revision yet")
    };
    let Some(rec) = replica.get(&shown)? else {
        bail!("record {shown} is missing")
    };
    let body = rec.practice().cloned();
    let publisher = if Some(author) == local {
        format!(
            "{} ({})",
            data.config.publisher.agency, data.config.publisher.country
        )
    } else {
        format!("publisher {}", &author.to_hex()[..12])
    };
    let cite = citation(
        &publisher,
        rec.envelope().ts,
        body.as_ref(),
        &practice_id,
        shown,
    );
    if args.json {
        let history: Vec<_> = state
            .linked
            .iter()
            .map(|e| serde_json::json!({"revision": e.revision, "id": e.id, "ts": e.ts, "withdrawal": e.withdrawal}))
            .collect();
        crate::cmd::print_json(&serde_json::json!({
            "author": author, "practice_id": practice_id, "id": shown, "withdrawn": state.withdrawn,
            "equivocated": state.equivocated, "citation": cite, "body": body,
            "history": if args.history { Some(history) } else { None },
        }))?;
    } else {
        print_practice(body.as_ref(), &state, &cite);
        if args.history {
            println!("\nrevisions:");
            for e in &state.linked {
                let kind = if e.withdrawal { " withdrawal" } else { "" };
                let now = if Some(e.id) == state.current.as_ref().map(|c| c.id) {
                    "  <- current"
                } else {
                    ""
                };
                println!("  rev {:>3}  {}  ts {}{kind}{now}", e.revision, e.id, e.ts);
            }
            for id in &state.held {
                println!(
                    "  held     {id}  (not linked: a gap below it, a bad link, or equivocation)"
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn year_of(ts_ms: u64) -> u64 {
    // Civil year from days since 1970 (inverse of days_from_civil).
    let z = (ts_ms / 86_400_000) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let y = yoe + era * 400 + i64::from(mp >= 10);
    y.max(0) as u64
}

/// "{publisher} ({year}). {title}. Setu practice {id}, revision {n}, record {12 hex}."
pub fn citation(
    publisher: &str,
    ts: u64,
    p: Option<&Practice>,
    practice_id: &str,
    id: RecordId,
) -> String {
    let title = p
        .and_then(|p| p.title.as_ref())
        .map_or("(withdrawn)", |t| t.best("en"));
    let rev = p.map_or(0, |p| p.revision);
    format!(
        "{publisher} ({}). {title}. Setu practice {practice_id}, revision {rev}, record {}.",
        year_of(ts),
        id.short()
    )
}

fn print_practice(p: Option<&Practice>, state: &State, cite: &str) {
    let Some(p) = p else {
        println!("{cite}");
        return;
    };
    let title = p.title.as_ref().map_or("", |t| t.best("en"));
    println!("{title}");
    if let Some(t) = &p.title {
        for (lang, text) in &t.text {
            if text != title {
                println!("  [{lang}] {text}");
            }
        }
    }
    println!();
    let field = |name: &str, v: Option<&setu_core::practice::LangText>| {
        if let Some(v) = v {
            println!("{name}: {}", v.best("en"));
        }
    };
    field("Summary", p.summary.as_ref());
    field("Challenge", p.challenge.as_ref());
    field("Solution", p.solution.as_ref());
    let countries: Vec<String> = p
        .countries
        .iter()
        .map(|c| format!("{} ({})", c.iso3, c.role))
        .collect();
    println!("Countries: {}", countries.join(", "));
    println!("SDG targets: {}", p.sdg_targets.join(", "));
    if let Some(s) = p.status {
        println!(
            "Status: {}",
            setu_core::codes::activity_status_name(s).unwrap_or("?")
        );
    }
    if let Some(period) = &p.period {
        println!(
            "Period: {} – {}",
            period.start,
            period.end.as_deref().unwrap_or("ongoing")
        );
    }
    for m in &p.metrics {
        let change = m
            .change_bp()
            .map(|bp| format!("{:+.2}%", bp as f64 / 100.0))
            .unwrap_or_else(|| "n/a".into());
        println!("TCV {} ({}, {}): {change}", m.kind, m.stage, m.method);
    }
    if state.withdrawn {
        println!("WITHDRAWN");
    }
    if state.equivocated {
        println!(
            "WARNING: the publisher signed two different records for one revision (equivocation)"
        );
    }
    println!("\nCite as: {cite}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn years() {
        assert_eq!(super::year_of(0), 1970);
        assert_eq!(super::year_of(1_767_225_600_000), 2026);
        assert_eq!(super::year_of(1_767_225_599_999), 2025);
    }
}
