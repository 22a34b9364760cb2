//! `setu demo`: three real nodes on loopback, one per country, founding a
//! network by a charter all three sign; each publishes its region's part of
//! the embedded sample catalogue; shows the records replicate, finds on one
//! node a practice that reached it over the network, cited by its member
//! agency; then two members admit a fourth agency while the nodes run, and
//! every node sees it join. Everything lives in a temporary directory.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use setu::{Op, Query, SecretKey};
use setu_member::charter::{Affiliation, Charter, Draft, Entry, Role, Threshold};

use crate::cli::DemoArgs;
use crate::cmd::run::{Daemon, shutdown_signal};

/// The sample catalogue, built into the binary.
const SAMPLE: &str = include_str!("../../data/sample/practices.jsonl");
/// Sample adoption reports; each line's `by` names the reporting founder.
const SAMPLE_ADOPTIONS: &str = include_str!("../../data/sample/adoptions.jsonl");
/// Sample needs; each line's `by` names the seeking founder.
const SAMPLE_SEEKINGS: &str = include_str!("../../data/sample/seekings.jsonl");
/// The practice whose "where has this scaled?" the demo shows.
const SCALED: &str = "BGD-A2I-0001";
/// How long the demo waits for the network to converge.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(120);
/// The demo network's name, in its charter (its network id, a hash of the
/// charter with the demo's fresh keys, never matches a real network's).
const NETWORK: &str = "Setu demo";
/// The member ids of the three founders, in the order of [`AGENCIES`].
const FOUNDERS: [&str; 3] = ["bgd-a2i", "ken-huduma", "bra-govbr"];

struct Agency {
    country: &'static str,
    name: &'static str,
    /// Originating countries of the practices it publishes.
    region: &'static [&'static str],
}

const AGENCIES: [Agency; 3] = [
    Agency {
        country: "BGD",
        name: "a2i (Bangladesh)",
        region: &[
            "BGD", "IDN", "IND", "PHL", "LKA", "NPL", "VNM", "PAK", "BTN",
        ],
    },
    Agency {
        country: "KEN",
        name: "Huduma (Kenya)",
        region: &[
            "RWA", "KEN", "TZA", "GHA", "NGA", "ETH", "SEN", "MAR", "TUN", "ZAF",
        ],
    },
    Agency {
        country: "BRA",
        name: "Gov.br (Brazil)",
        region: &["BRA", "MEX", "COL", "PER", "CHL", "URY"],
    },
];

fn origin(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v["countries"][0]["iso3"].as_str().map(str::to_string)
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(demo(args))
}

async fn demo(args: DemoArgs) -> Result<ExitCode> {
    let tmp = tempfile::Builder::new()
        .prefix("setu-demo-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    println!(
        "Setu demo: three agencies' nodes on loopback, data in {}",
        tmp.path().display()
    );
    // The three agencies found the network: a charter all three sign.
    let keys: Vec<SecretKey> = AGENCIES.iter().map(|_| SecretKey::generate()).collect();
    let mut draft = Draft::new(Charter {
        name: NETWORK.into(),
        members: AGENCIES
            .iter()
            .zip(&keys)
            .zip(FOUNDERS)
            .map(|((a, k), id)| Entry {
                id: id.into(),
                affiliation: Affiliation::Country(a.country.into()),
                agency: a.name.into(),
                role: Role::Member,
                key: k.author(),
            })
            .collect(),
        admit: Threshold::MAJORITY,
        recover: Threshold::MAJORITY,
    })?;
    for k in &keys {
        draft.sign(k)?;
    }
    let charter = draft.seal()?;
    println!(
        "Charter {NETWORK:?} signed by {}: network {}",
        FOUNDERS.join(", "),
        setu::network_name(&charter)
    );
    // Start the nodes: the second and third dial the first, the third also the second.
    let mut daemons: Vec<Daemon> = Vec::new();
    for (i, a) in AGENCIES.iter().enumerate() {
        let dir = tmp.path().join(a.country.to_lowercase());
        let mut cfg = setu::Config::new(&dir);
        cfg.key = Some(keys[i].clone());
        cfg.charter = Some(charter.clone());
        cfg.net.mdns = false;
        cfg.net.sync_interval = Duration::from_secs(5);
        cfg.net.listen = vec!["/ip4/127.0.0.1/tcp/0".parse()?];
        for d in &daemons {
            cfg.net
                .bootstrap
                .push(d.node.status().await?.net.listen[0].parse()?);
        }
        let token = hex::encode(SecretKey::generate().seed());
        let d = Daemon::start(
            cfg,
            "127.0.0.1:0",
            &token,
            &Default::default(),
            (a.name, a.country),
            None,
        )
        .await
        .with_context(|| format!("starting node {}", i + 1))?;
        println!(
            "  node {} {:<18} peer {}  api {}",
            i + 1,
            a.name,
            d.node.peer_id(),
            d.url
        );
        daemons.push(d);
    }
    let started = Instant::now();
    // Each publishes its region's practices.
    let mut published = [0u64; 3];
    for line in SAMPLE.lines().filter(|l| !l.trim().is_empty()) {
        let Some(c) = origin(line) else { continue };
        let Some(i) = AGENCIES.iter().position(|a| a.region.contains(&c.as_str())) else {
            continue;
        };
        let body: serde_json::Value = serde_json::from_str(line)?;
        daemons[i].node.publish(body).await?;
        published[i] += 1;
    }
    let practices: u64 = published.iter().sum();
    // Each reports the adoptions and needs the sample gives it.
    let mut reports = 0;
    for (kind, lines) in [("adoption", SAMPLE_ADOPTIONS), ("seeking", SAMPLE_SEEKINGS)] {
        for line in lines.lines().filter(|l| !l.trim().is_empty()) {
            let mut body: serde_json::Value = serde_json::from_str(line)?;
            let by = body
                .as_object_mut()
                .and_then(|o| o.remove("by"))
                .and_then(|b| b.as_str().map(str::to_string))
                .unwrap_or_default();
            let Some(i) = FOUNDERS.iter().position(|f| *f == by) else {
                bail!("a sample {kind} names no founder: {by:?}");
            };
            daemons[i].node.publish_kind(kind, body).await?;
            published[i] += 1;
            reports += 1;
        }
    }
    let total: u64 = published.iter().sum();
    println!(
        "Published {practices} practices and {reports} adoption reports and needs ({} / {} / {} records); replicating...",
        published[0], published[1], published[2]
    );
    let bar = indicatif::ProgressBar::new(total * 3);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "  {bar:40} {pos}/{len} records held across the three nodes",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let converged = loop {
        let mut held = 0;
        for d in &daemons {
            held += d.node.status().await?.replica.records;
        }
        bar.set_position(held);
        if held == total * 3 {
            break Some(started.elapsed());
        }
        if started.elapsed() > CONVERGE_TIMEOUT {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    bar.finish();
    println!();
    println!(
        "  {:<18} {:>9} {:>6} {:>7} {:>6} {:>6}",
        "node", "published", "held", "gossip", "sync", "peers"
    );
    for (i, d) in daemons.iter().enumerate() {
        let st = d.node.status().await?;
        let c = st.net.counters;
        println!(
            "  {:<18} {:>9} {:>6} {:>7} {:>6} {:>6}",
            AGENCIES[i].name,
            published[i],
            st.replica.records,
            c.via_gossip,
            c.via_sync + c.via_bulk,
            st.net.peers
        );
    }
    let Some(took) = converged else {
        for d in daemons {
            d.stop().await?;
        }
        bail!("the nodes did not converge within {CONVERGE_TIMEOUT:?}");
    };
    println!("Converged in {:.2} s.", took.as_secs_f64());
    // A query on the Brazilian node for a Bangladeshi practice it received.
    let text = "digital centre";
    let q = Query {
        text: Some(text.into()),
        limit: 3,
        ..Query::default()
    };
    let last = &daemons[2].node;
    let bgd = daemons[0].node.publisher();
    let view = last.members().await?;
    let found = {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let hits = last.query(q.clone()).await?;
            if hits.hits.iter().any(|h| Some(h.author) == bgd) || Instant::now() > deadline {
                break hits;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    println!("\nOn {}: setu query --text {text:?}", AGENCIES[2].name);
    for h in &found.hits {
        let title = h.title.as_ref().map(|t| {
            t.text
                .get("en")
                .or_else(|| t.text.values().next())
                .cloned()
                .unwrap_or_default()
        });
        // Cited by the member its key belongs to, not by a key prefix.
        let member = view
            .owner(&h.author)
            .and_then(|id| view.member(id))
            .map(|m| m.entry.agency);
        let how = match member {
            Some(agency) if Some(h.author) == last.publisher() => {
                format!("published here by {agency}")
            }
            Some(agency) => format!("published by {agency}, received over the network"),
            None => "publisher unknown".into(),
        };
        println!(
            "  {:<16} {}  ({how})",
            crate::term::line(&h.practice_id),
            crate::term::line(&title.unwrap_or_default())
        );
    }
    let ok = found.hits.iter().any(|h| Some(h.author) == bgd);
    let scaled = where_scaled(last).await?;
    let joined = admit_fourth(&daemons).await?;
    if args.keep {
        println!(
            "\nThe nodes keep running; Ctrl-C stops them and deletes {}.\nOpen a catalogue in a browser (the HTTP API is under /v1, OAI-PMH at /oai):",
            tmp.path().display()
        );
        for (i, d) in daemons.iter().enumerate() {
            println!("  {:<18} {}/", AGENCIES[i].name, d.url);
        }
        let _ = std::io::stdout().flush();
        shutdown_signal().await;
    }
    for d in daemons {
        d.stop().await?;
    }
    if !joined {
        bail!("the fourth agency was not admitted on every node within {CONVERGE_TIMEOUT:?}");
    }
    if !scaled {
        bail!("{SCALED} showed no adoption on {}", AGENCIES[2].name);
    }
    if !ok {
        bail!(
            "the query on {} did not find the practice published by {}",
            AGENCIES[2].name,
            AGENCIES[0].name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// "Where has this scaled?" for one sample practice, and the best matches
/// for one sample need, as `setu scaling` and `setu match` print them.
/// True if the practice shows its adoptions.
async fn where_scaled(node: &setu::Node) -> Result<bool> {
    let report = match node.scaling(Some((SCALED.into(), None))).await? {
        Ok(r) => r,
        Err(e) => bail!("{e}"),
    };
    let Some(s) = report.first() else {
        return Ok(false);
    };
    let by_stage: Vec<String> = setu_core::adoption::STAGES
        .iter()
        .filter_map(|st| {
            s.stages
                .get(*st)
                .map(|c| format!("{st} in {}", c.join(", ")))
        })
        .collect();
    println!(
        "
Where has {SCALED} scaled? setu scaling --practice {SCALED}
  {}",
        crate::term::line(&by_stage.join("; "))
    );
    for a in &s.adoptions {
        let tcv: Vec<String> = a
            .tcv
            .iter()
            .filter(|t| t.adopter_bp.is_some())
            .map(|t| {
                format!(
                    "{} {} at origin, {} there",
                    t.kind,
                    crate::cmd::show::percent(t.origin_bp),
                    crate::cmd::show::percent(t.adopter_bp)
                )
            })
            .collect();
        if !tcv.is_empty() {
            println!(
                "  {} ({:.1} years after origin): {}",
                a.adopted.adoption.country.as_deref().unwrap_or("?"),
                a.years_from_origin.unwrap_or_default(),
                tcv.join("; ")
            );
        }
    }
    if let Some(need) = node.need_of("KEN-SEEK-0001").await? {
        println!("Matches for Kenya's need KEN-SEEK-0001: setu match KEN-SEEK-0001");
        for m in node.matches(need, 3).await? {
            println!(
                "  {:<18} {:.2}  {}",
                crate::term::line(&m.practice_id),
                m.score,
                crate::term::line(&m.reasons.join("; "))
            );
        }
    }
    Ok(!s.adoptions.is_empty())
}

/// Two of the three founders endorse a fourth agency (a majority of
/// three); each node computes its admission from the endorsements it holds.
/// True once every node lists it.
async fn admit_fourth(daemons: &[Daemon]) -> Result<bool> {
    let key = SecretKey::generate();
    let entry = Entry {
        id: "rwa-risa".into(),
        affiliation: Affiliation::Country("RWA".into()),
        agency: "RISA (Rwanda)".into(),
        role: Role::Member,
        key: key.author(),
    };
    println!(
        "\nMembership: {} and {} endorse {} while the nodes run",
        AGENCIES[0].name, AGENCIES[1].name, entry.agency
    );
    let started = Instant::now();
    let epoch = daemons[0].node.members().await?.epoch();
    for d in &daemons[..2] {
        d.node
            .operate(Op::Endorse {
                epoch,
                entry: entry.clone(),
            })
            .await?;
    }
    let joined = loop {
        let mut all = true;
        for d in daemons {
            all &= d.node.members().await?.member_ids().contains(&entry.id);
        }
        if all {
            break true;
        }
        if started.elapsed() > CONVERGE_TIMEOUT {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let view = daemons[2].node.members().await?;
    println!("On {}: setu members", AGENCIES[2].name);
    for m in view.members() {
        let country = match &m.entry.affiliation {
            Affiliation::Country(c) | Affiliation::Org(c) => c.clone(),
        };
        let how = if m.admitted == 0 {
            "founder".to_string()
        } else {
            format!("admitted at epoch {}", m.admitted)
        };
        println!(
            "  {:<12} {:<4} {:<18} {}",
            m.entry.id, country, m.entry.agency, how
        );
    }
    if joined {
        println!(
            "Admitted on all three nodes in {:.2} s.",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(joined)
}
