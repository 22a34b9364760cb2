//! `setu match SEEKING_ID`, `setu match --text ... --sdg ... --sector ...`,
//! `setu match --offers`: needs and the practices that fit them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use setu::{Match, Need, Offer};

use crate::cli::{MatchArgs, TableFormat};
use crate::client;
use crate::target::Target;
use crate::term;

pub fn run(dir: &Path, args: MatchArgs) -> Result<ExitCode> {
    if args.offers {
        let offers: Vec<Offer> = match Target::of(dir)? {
            Target::Daemon(c) => c.get(&format!("/v1/offers?limit={}", args.limit))?,
            Target::Local(data) => {
                let Some(own) = data.author() else {
                    bail!("this node has no publishing key, so it offers no practices");
                };
                let replica = data.replica()?;
                replica.offers(&replica.owner_of(&own), args.limit)?
            }
        };
        match args.format {
            TableFormat::Json => crate::cmd::print_json(&offers)?,
            TableFormat::Csv => csv(offers.iter().flat_map(|o| {
                o.matches
                    .iter()
                    .map(move |m| (Some(o.seeking_id.as_str()), m))
            }))?,
            TableFormat::Table => {
                if offers.is_empty() {
                    println!("no open need of another agency fits this node's practices");
                }
                for o in &offers {
                    let title = o.title.as_ref().map_or("", |t| t.best("en"));
                    println!(
                        "{}",
                        term::line(&format!(
                            "{} ({}): {title}",
                            o.seeking_id,
                            o.country.as_deref().unwrap_or("?")
                        ))
                    );
                    table(&o.matches, "    ");
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let need = Need {
        text: args.text.clone().unwrap_or_default(),
        sdg: args.sdg.clone(),
        sectors: args.sectors.clone(),
        gov_level: args.gov_level.clone(),
    };
    if args.seeking.is_none() {
        let problems = need.problems();
        if !problems.is_empty() {
            bail!("the need is not valid:\n  {}", problems.join("\n  "));
        }
    }
    let matches: Vec<Match> = match Target::of(dir)? {
        Target::Daemon(c) => {
            let mut q = vec![format!("limit={}", args.limit)];
            if let Some(s) = &args.seeking {
                q.push(format!("seeking={}", client::encode(s)));
            }
            if let Some(t) = &args.text {
                q.push(format!("text={}", client::encode(t)));
            }
            for s in &args.sdg {
                q.push(format!("sdg={}", client::encode(s)));
            }
            for s in &args.sectors {
                q.push(format!("sector={}", client::encode(s)));
            }
            if let Some(g) = &args.gov_level {
                q.push(format!("gov_level={}", client::encode(g)));
            }
            c.get(&format!("/v1/matches?{}", q.join("&")))?
        }
        Target::Local(data) => {
            let replica = data.replica()?;
            let need = match &args.seeking {
                Some(id) => match setu::need_of(&replica, id)? {
                    Some(n) => n,
                    None => bail!("no open need {id:?} in this replica (see GET /v1/seekings)"),
                },
                None => need,
            };
            replica.matches(&need, args.limit)?
        }
    };
    match args.format {
        TableFormat::Json => crate::cmd::print_json(&matches)?,
        TableFormat::Csv => csv(matches.iter().map(|m| (None, m)))?,
        TableFormat::Table => {
            if matches.is_empty() {
                println!("no practice fits this need");
            }
            table(&matches, "");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn table(matches: &[Match], indent: &str) {
    for (i, m) in matches.iter().enumerate() {
        let title = m.title.as_ref().map_or("", |t| t.best("en"));
        println!(
            "{indent}{}",
            term::line(&format!(
                "{:>2}. {:<18} {:>5.2}  {} ({})",
                i + 1,
                m.practice_id,
                m.score,
                title,
                m.countries.join(",")
            ))
        );
        println!("{indent}      {}", term::line(&m.reasons.join("; ")));
    }
}

fn csv<'a>(rows: impl Iterator<Item = (Option<&'a str>, &'a Match)>) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record([
        "seeking_id",
        "practice_id",
        "publisher",
        "record",
        "score",
        "countries",
        "title_en",
        "reasons",
    ])?;
    for (seeking, m) in rows {
        w.write_record([
            seeking.unwrap_or_default().to_string(),
            m.practice_id.clone(),
            m.publisher.to_hex(),
            m.id.to_hex(),
            m.score.to_string(),
            m.countries.join(";"),
            m.title
                .as_ref()
                .map(|t| t.best("en").to_string())
                .unwrap_or_default(),
            m.reasons.join("; "),
        ])?;
    }
    w.flush()?;
    Ok(())
}
