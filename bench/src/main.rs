//! `setu-bench`: Setu's benchmarks. Each prints a table and measures, in the
//! same run on the same machine, a ceiling to compare with: these machines
//! are shared and noisy, so an absolute time alone means little.
//!
//! ```text
//! cargo run --release -p setu-bench -- replica [--records N] [--only PARTS] [--cache-mib N]
//! cargo run --release -p setu-bench -- layout [--records N] [--sled shipped|cache-1g|flush-once]
//! cargo run --release -p setu-bench -- faults [--records N]
//! cargo run --release -p setu-bench -- net [--records N] [--nodes N] [--gossip-records N]
//!     [--only bulk|gossip|reconcile]
//! cargo run --release -p setu-bench -- sim [--nodes N]
//! cargo run --release -p setu-bench -- members [--members N] [--records N]
//! cargo run -p setu-bench -- match [--verbose]
//! cargo run --release -p setu-bench -- attach [--mib N]
//! ```
//!
//! Run nothing else on the machine while a benchmark runs.

mod attach;
mod faults;
mod layout;
mod matching;
mod members;
mod net;
mod profile;
mod replica;
mod sim;
mod table;

/// The allocator and settings the `setu` binary ships with (see
/// node/src/main.rs, which says why), so that what is measured here is
/// what a node runs.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[allow(unsafe_code)] // the symbol jemalloc reads its settings from
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8; 46] = b"narenas:1,dirty_decay_ms:250,muzzy_decay_ms:0\0";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let records: usize = flag("--records")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    match args.first().map(String::as_str) {
        Some("replica") => {
            let only = flag("--only");
            if let Some(o) = &only
                && !o.split(',').all(|p| replica::PARTS.contains(&p))
            {
                eprintln!(
                    "--only: one or more of {}, comma-separated",
                    replica::PARTS.join(", ")
                );
                std::process::exit(2);
            }
            // The range `setu.toml` accepts: the import it runs reads it.
            let range = setu_config::MIN_CACHE_MB..=setu_config::MAX_CACHE_MB;
            let cache_mib = match flag("--cache-mib").map(|v| v.parse::<u64>()) {
                None => None,
                Some(Ok(mib)) if range.contains(&mib) => Some(mib),
                Some(_) => {
                    eprintln!(
                        "--cache-mib: a whole number of MiB in {}..={}",
                        range.start(),
                        range.end()
                    );
                    std::process::exit(2);
                }
            };
            replica::run(records, only.as_deref(), cache_mib)
        }
        Some("faults") => faults::run(records),
        Some("layout") => {
            let variant = flag("--sled").unwrap_or_else(|| "shipped".into());
            if !layout::VARIANTS.contains(&variant.as_str()) {
                eprintln!("--sled: one of {}", layout::VARIANTS.join(", "));
                std::process::exit(2);
            }
            layout::run(records, &variant)
        }
        Some("attach") => attach::run(flag("--mib").and_then(|v| v.parse().ok()).unwrap_or(1_024)),
        Some("profile") => profile::run(),
        Some("match") => matching::run(args.iter().any(|a| a == "--verbose")),
        Some("net") => net::run(
            records,
            flag("--nodes").and_then(|v| v.parse().ok()).unwrap_or(30),
            flag("--gossip-records")
                .and_then(|v| v.parse().ok())
                .unwrap_or(60),
            flag("--only"),
        ),
        Some("members") => members::run(
            flag("--members")
                .and_then(|v| v.parse().ok())
                .unwrap_or(200),
            flag("--records")
                .and_then(|v| v.parse().ok())
                .unwrap_or(20_000),
        ),
        Some("sim") => sim::run(
            flag("--nodes")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000),
        ),
        _ => {
            eprintln!(
                "usage: setu-bench replica|layout|faults|net|sim|members|match|attach [--records N] [--mib N] [--members N] [--nodes N] [--gossip-records N] [--only bulk|gossip|reconcile] [--verbose]"
            );
            std::process::exit(2);
        }
    }
}
