//! `setu show ID [--history]`: a practice, with a citation.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use setu::{LookupError, PracticeView};
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::practice::Practice;

use crate::cli::ShowArgs;
use crate::client;
use crate::datadir::DataDir;
use crate::target::Target;
use crate::term;

pub fn run(dir: &Path, args: ShowArgs) -> Result<ExitCode> {
    let publisher = match &args.publisher {
        Some(p) => Some(
            p.parse::<AuthorKey>()
                .map_err(|e| anyhow!("--publisher: {e}"))?,
        ),
        None => None,
    };
    let target = Target::of(dir)?;
    let data = DataDir::open(dir)?;
    let (view, own, members) = if let Target::Daemon(c) = target {
        let mut path = format!("/v1/practices/{}?history=true", client::encode(&args.id));
        if let Some(p) = publisher {
            path.push_str(&format!("&publisher={}", p.to_hex()));
        }
        let view = match c.get::<PracticeView>(&path) {
            Ok(v) => v,
            Err(e) => match client::api_error(&e) {
                Some(a) if a.status == 404 => return Err(not_found(&args.id)),
                Some(a) if a.status == 409 => {
                    // The publishers are named in the detail (or errors).
                    let mut authors: Vec<AuthorKey> = Vec::new();
                    for word in std::iter::once(&a.detail)
                        .chain(&a.errors)
                        .flat_map(|s| s.split(|c: char| !c.is_ascii_hexdigit()))
                    {
                        if let Ok(k) = word.parse::<AuthorKey>()
                            && !authors.contains(&k)
                        {
                            authors.push(k);
                        }
                    }
                    return Err(if authors.len() > 1 {
                        ambiguous(&args.id, &authors)
                    } else {
                        e
                    });
                }
                _ => return Err(e),
            },
        };
        let status: setu::Status = c.get("/v1/status")?;
        let members: Option<serde_json::Value> = c.get("/v1/members").ok();
        (view, status.publisher, members)
    } else {
        let mut replica = data.replica()?;
        let own = data.author();
        // A record of a kind this version does not know: its envelope.
        if let Ok(id) = args.id.parse::<RecordId>()
            && let Some(rec) = replica.get(&id)?
            && rec.practice().is_none()
        {
            println!(
                "record {id} is of kind \"{}\", which this version does not know; its envelope:",
                term::line(&rec.envelope().kind)
            );
            crate::cmd::print_json(&rec.envelope_json())?;
            return Ok(ExitCode::SUCCESS);
        }
        let view = match setu::lookup(&mut replica, &args.id, publisher, own, true)? {
            Ok(v) => v,
            Err(LookupError::Ambiguous { id, authors }) => return Err(ambiguous(&id, &authors)),
            Err(_) => return Err(not_found(&args.id)),
        };
        let members = crate::cmd::member::of_replica(&data, &replica)?;
        (view, own, members)
    };
    // In a chartered network, the member the key belongs to; else this
    // node's own name for its key, or the key.
    let member = members
        .as_ref()
        .and_then(|m| crate::cmd::member::cite_name(m, &view.author));
    let name = if let Some(m) = member {
        m
    } else if Some(view.author) == own {
        format!(
            "{} ({})",
            data.config.publisher.agency, data.config.publisher.country
        )
    } else {
        format!("publisher {}", &view.author.to_hex()[..12])
    };
    render(&view, &name, &args)?;
    Ok(ExitCode::SUCCESS)
}

fn not_found(id: &str) -> anyhow::Error {
    if id.parse::<RecordId>().is_ok() {
        anyhow!("no record {id} in this replica")
    } else {
        anyhow!("no practice {id:?} in this replica")
    }
}

fn ambiguous(id: &str, authors: &[AuthorKey]) -> anyhow::Error {
    anyhow!(
        "{} publishers have a practice {id:?}: pass --publisher with one of {}",
        authors.len(),
        authors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Prints a practice, wherever it came from; `publisher` names its author
/// in the citation.
fn render(view: &PracticeView, publisher: &str, args: &ShowArgs) -> Result<()> {
    let body = if view.body.is_null() {
        None
    } else {
        serde_json::from_value::<Practice>(view.body.clone()).ok()
    };
    let cite = citation(publisher, view, body.as_ref());
    let history = view.history.as_deref().unwrap_or_default();
    if args.json {
        let history: Vec<_> = history
            .iter()
            .map(|e| serde_json::json!({"revision": e.revision, "id": e.id, "ts": e.ts, "withdrawal": e.withdrawal}))
            .collect();
        crate::cmd::print_json(&serde_json::json!({
            "author": view.author, "practice_id": view.practice_id, "id": view.record_id,
            "withdrawn": view.withdrawn, "equivocated": view.equivocated, "citation": cite,
            "invalid": view.flagged, "invalidated": view.invalid,
            "body": view.body, "history": if args.history { Some(history) } else { None },
            "adoptions": view.adoptions,
        }))?;
    } else {
        if let Some(why) = &view.flagged {
            println!(
                "INVALID ({why}): this record is kept for audit only; the network's membership made it invalid (spec/membership.md §6)\n"
            );
        }
        print_practice(body.as_ref(), view, &cite);
        print_adoptions(view);
        if args.history {
            println!("\nrevisions:");
            for e in history {
                let kind = if e.withdrawal { " withdrawal" } else { "" };
                let now = if Some(e.id) == view.current {
                    "  <- current"
                } else {
                    ""
                };
                println!("  rev {:>3}  {}  ts {}{kind}{now}", e.revision, e.id, e.ts);
            }
            for id in &view.held {
                println!(
                    "  held     {id}  (not linked: a gap below it, a bad link, or equivocation)"
                );
            }
            for id in &view.invalid {
                println!("  invalid  {id}  (kept for audit: the membership made it invalid)");
            }
        }
    }
    Ok(())
}

/// A change in basis points as a percentage.
pub fn percent(bp: Option<i64>) -> String {
    bp.map_or_else(|| "-".into(), |bp| format!("{:+.1}%", bp as f64 / 100.0))
}

/// The practice's adoptions: country, stage, period, TCV beside the
/// originator's.
fn print_adoptions(view: &PracticeView) {
    if view.adoptions.is_empty() {
        return;
    }
    println!(
        "
Adoptions ({}):",
        view.adoptions.len()
    );
    for a in &view.adoptions {
        let ad = &a.adopted.adoption;
        let period = ad.period.as_ref().map_or(String::new(), |x| {
            format!("{} – {}", x.start, x.end.as_deref().unwrap_or("ongoing"))
        });
        let years = a
            .years_from_origin
            .map_or(String::new(), |y| format!(", {y} years after origin"));
        println!(
            "  {}",
            term::line(&format!(
                "{} {} ({period}{years}) | {} | record {}",
                ad.country.as_deref().unwrap_or("?"),
                ad.stage.as_deref().unwrap_or("?"),
                ad.adoption_id,
                a.adopted.id.short()
            ))
        );
        for t in &a.tcv {
            println!(
                "      TCV {}: origin {}  here {}",
                term::line(&t.kind),
                percent(t.origin_bp),
                percent(t.adopter_bp)
            );
        }
        if let Some(t) = &ad.adaptation {
            println!("      adapted: {}", term::line(t.best("en")));
        }
    }
}

/// "{publisher} ({year}). {title}. Setu practice {id}, revision {n}, record {12 hex}."
pub fn citation(publisher: &str, view: &PracticeView, p: Option<&Practice>) -> String {
    setu_web::practice::citation(
        publisher,
        p.and_then(|p| p.title.as_ref()),
        &view.practice_id,
        p.map_or(view.revision, |p| p.revision),
        view.ts,
        &view.record_id.to_hex(),
    )
}

/// Prints a practice for a person. Every text is the author's, so every
/// one goes through [`term`]: the long texts as blocks, the rest as lines.
fn print_practice(p: Option<&Practice>, view: &PracticeView, cite: &str) {
    let cite = term::line(cite);
    let Some(p) = p else {
        println!("{cite}");
        return;
    };
    let title = p.title.as_ref().map_or("", |t| t.best("en"));
    println!("{}", term::line(title));
    if let Some(t) = &p.title {
        for (lang, text) in &t.text {
            if text != title {
                println!("  [{}] {}", term::line(lang), term::line(text));
            }
        }
    }
    println!();
    let field = |name: &str, v: Option<&setu_core::practice::LangText>| {
        if let Some(v) = v {
            println!("{name}: {}", term::block(v.best("en")));
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
    println!("Countries: {}", term::line(&countries.join(", ")));
    println!("SDG targets: {}", term::line(&p.sdg_targets.join(", ")));
    if let Some(s) = p.status {
        println!(
            "Status: {}",
            setu_core::codes::activity_status_name(s).unwrap_or("?")
        );
    }
    if let Some(period) = &p.period {
        println!(
            "Period: {} – {}",
            term::line(&period.start),
            term::line(period.end.as_deref().unwrap_or("ongoing"))
        );
    }
    for m in &p.metrics {
        let change = m
            .change_bp()
            .map(|bp| format!("{:+.2}%", bp as f64 / 100.0))
            .unwrap_or_else(|| "n/a".into());
        println!(
            "TCV {}",
            term::line(&format!("{} ({}, {}): {change}", m.kind, m.stage, m.method))
        );
    }
    if view.withdrawn {
        println!("WITHDRAWN");
    }
    if view.equivocated {
        println!(
            "WARNING: the publisher signed two different records for one revision (equivocation)"
        );
    }
    println!("\nCite as: {cite}");
}
