//! `setu scaling [--practice ID] [--format table|json|csv]`: where has a
//! practice scaled?

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use setu::Scaling;

use crate::cli::{ScalingArgs, TableFormat};
use crate::client;
use crate::cmd::show::percent;
use crate::target::Target;
use crate::term;

pub fn run(dir: &Path, args: ScalingArgs) -> Result<ExitCode> {
    let publisher = match &args.publisher {
        Some(p) => Some(p.parse().map_err(|e| anyhow::anyhow!("--publisher: {e}"))?),
        None => None,
    };
    let report: Vec<Scaling> = match Target::of(dir)? {
        Target::Daemon(c) => {
            let mut path = "/v1/scaling".to_string();
            let mut sep = '?';
            if let Some(p) = &args.practice {
                path.push_str(&format!("{sep}practice={}", client::encode(p)));
                sep = '&';
            }
            if let Some(p) = &args.publisher {
                path.push_str(&format!("{sep}publisher={}", client::encode(p)));
            }
            c.get(&path)?
        }
        Target::Local(data) => {
            let own = data.author();
            let mut replica = data.replica()?;
            let only = args.practice.clone().map(|p| (p, publisher));
            match setu::scaling(&mut replica, only, own)? {
                Ok(r) => r,
                Err(e) => bail!("{e}"),
            }
        }
    };
    match args.format {
        TableFormat::Json => crate::cmd::print_json(&report)?,
        TableFormat::Csv => csv(&report)?,
        TableFormat::Table => table(&report),
    }
    Ok(ExitCode::SUCCESS)
}

/// The columns of `--format csv`, one row per adoption.
pub const CSV_COLUMNS: &[&str] = &[
    "practice_id",
    "practice_publisher",
    "origin_countries",
    "origin_start",
    "adoption_id",
    "adopter_country",
    "stage",
    "adoption_start",
    "years_from_origin",
    "origin_time_bp",
    "adopter_time_bp",
    "origin_cost_bp",
    "adopter_cost_bp",
    "origin_visits_bp",
    "adopter_visits_bp",
    "adoption_record",
];

fn csv(report: &[Scaling]) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record(CSV_COLUMNS)?;
    for s in report {
        for a in &s.adoptions {
            let ad = &a.adopted.adoption;
            let bp = |kind: &str, origin: bool| {
                a.tcv
                    .iter()
                    .find(|t| t.kind == kind)
                    .and_then(|t| if origin { t.origin_bp } else { t.adopter_bp })
                    .map_or(String::new(), |v| v.to_string())
            };
            w.write_record([
                s.origin.practice_id.clone(),
                s.origin.publisher.to_hex(),
                s.origin.countries.join(";"),
                s.origin.start.clone().unwrap_or_default(),
                ad.adoption_id.clone(),
                ad.country.clone().unwrap_or_default(),
                ad.stage.clone().unwrap_or_default(),
                ad.period
                    .as_ref()
                    .map(|p| p.start.clone())
                    .unwrap_or_default(),
                a.years_from_origin.map_or(String::new(), |y| y.to_string()),
                bp("time", true),
                bp("time", false),
                bp("cost", true),
                bp("cost", false),
                bp("visits", true),
                bp("visits", false),
                a.adopted.id.to_hex(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

fn table(report: &[Scaling]) {
    if report.is_empty() {
        println!("no practice held here has an adoption report");
        return;
    }
    for s in report {
        let title = s.origin.title.as_ref().map_or("", |t| t.best("en"));
        println!(
            "{}",
            term::line(&format!(
                "{} — {} (origin {}, since {})",
                s.origin.practice_id,
                title,
                s.origin.countries.join(", "),
                s.origin.start.as_deref().unwrap_or("?")
            ))
        );
        for stage in setu_core::adoption::STAGES {
            if let Some(c) = s.stages.get(*stage) {
                println!("  {stage:<12} {}", term::line(&c.join(", ")));
            }
        }
        for a in &s.adoptions {
            let ad = &a.adopted.adoption;
            let tcv: Vec<String> = a
                .tcv
                .iter()
                .map(|t| {
                    format!(
                        "{} {} vs {}",
                        t.kind,
                        percent(t.origin_bp),
                        percent(t.adopter_bp)
                    )
                })
                .collect();
            println!(
                "    {}",
                term::line(&format!(
                    "{} {:<12} {:>5} yrs from origin  {}",
                    ad.country.as_deref().unwrap_or("?"),
                    ad.stage.as_deref().unwrap_or("?"),
                    a.years_from_origin
                        .map_or("?".to_string(), |y| format!("{y:.1}")),
                    if tcv.is_empty() {
                        String::new()
                    } else {
                        format!("TCV (origin vs here): {}", tcv.join("; "))
                    }
                ))
            );
        }
    }
}
