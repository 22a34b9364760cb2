//! `setu run`: the daemon. It runs the node (store, swarm, sync) and the
//! HTTP API, writes `api.url` so the CLI verbs find it, and on SIGINT or
//! SIGTERM stops serving, commits the index and exits. Every write it
//! acknowledged was flushed to disk before the acknowledgement.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::RunArgs;
use crate::datadir::DataDir;
use crate::datadir::files;

/// How long requests in flight may run on after a stop signal.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Node settings from `setu.toml`, with the command line's overrides.
pub fn node_config(data: &DataDir, args: &RunArgs) -> Result<setu::Config> {
    let mut net = crate::config::net(&data.config)?;
    if !args.listen.is_empty() {
        net.listen = args
            .listen
            .iter()
            .map(|a| {
                a.parse()
                    .map_err(|e| anyhow::anyhow!("--listen: {a:?}: {e}"))
            })
            .collect::<Result<_>>()?;
    }
    for p in &args.peers {
        net.bootstrap.push(
            p.parse()
                .map_err(|e| anyhow::anyhow!("--peer: {p:?}: {e}"))?,
        );
    }
    if args.no_mdns {
        net.mdns = false;
    }
    if args.relay {
        net.relay = true;
    }
    for r in &args.relay_via {
        net.relays.push(
            r.parse()
                .map_err(|e| anyhow::anyhow!("--relay-via: {r:?}: {e}"))?,
        );
    }
    if let Some(n) = &args.network {
        net.network = n.clone();
    }
    net.validate().map_err(anyhow::Error::msg)?;
    let key_path = data.path.join(&data.config.publisher.key_file);
    let key = if key_path.exists() {
        Some(data.key()?)
    } else {
        tracing::warn!(
            "no publisher key at {}: this node replicates but cannot publish",
            key_path.display()
        );
        None
    };
    Ok(setu::Config {
        data_dir: data.path.clone(),
        key,
        net,
        replica: crate::config::replica(&data.config),
        charter: data.charter()?,
        attachments: setu::attachments::Policy {
            auto_fetch_bytes: data.config.network.attachment_auto_fetch_bytes,
            max_bytes: data.config.network.attachment_max_bytes,
            quota_bytes: data.config.network.attachment_quota_bytes,
            ..Default::default()
        },
    })
}

/// Waits for SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Writes `path` atomically (temp file, then rename).
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// A started node with its API.
pub struct Daemon {
    /// The node.
    pub node: setu::Node,
    /// The API's base URL.
    pub url: String,
    /// The API's server task.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
    url_file: Option<PathBuf>,
}

impl Daemon {
    /// Starts the node and serves the API on `api_addr`. With
    /// `url_file`, writes the API's URL there.
    pub async fn start(
        cfg: setu::Config,
        api_addr: &str,
        token: &str,
        api: &crate::config::ApiConfig,
        agency: (&str, &str),
        url_file: Option<PathBuf>,
    ) -> Result<Daemon> {
        let dir = cfg.data_dir.clone();
        let node = setu::Node::start(cfg)
            .await
            .map_err(|e| crate::datadir::in_use(&dir, &e).unwrap_or_else(|| e.into()))?;
        let listener = tokio::net::TcpListener::bind(api_addr)
            .await
            .with_context(|| format!("api.listen: cannot listen on {api_addr}"))?;
        let url = format!("http://{}", listener.local_addr()?);
        let limits = crate::api::Limits::default();
        let state = crate::api::State::new(node.clone(), token, limits)
            .with_cors(&api.cors_origins)
            .map_err(anyhow::Error::msg)?
            .with_site(api.public_url.as_deref(), api.admin_email.as_deref())
            .with_agency(agency.0, agency.1)
            .with_visitor_fetch(api.visitor_fetch_bytes);
        let app = crate::api::router(state);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(crate::api::serve(listener, app, limits, async {
            let _ = stopped.await;
        }));
        if let Some(f) = &url_file {
            write_atomic(f, &format!("{url}\n"))?;
        }
        Ok(Daemon {
            node,
            url,
            server,
            stop,
            url_file,
        })
    }

    /// Stops serving, then stops the node. Requests in flight finish first.
    pub async fn stop(self) -> Result<()> {
        if let Some(f) = &self.url_file {
            let _ = std::fs::remove_file(f);
        }
        let _ = self.stop.send(());
        // Requests in flight get a bounded time to finish; the node is
        // stopped (index committed) in any case.
        if tokio::time::timeout(SHUTDOWN_GRACE, self.server)
            .await
            .is_err()
        {
            tracing::warn!("HTTP requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
        }
        self.node.shutdown().await?;
        Ok(())
    }
}

pub fn run(dir: &Path, args: RunArgs) -> Result<ExitCode> {
    let data = DataDir::open(dir)?;
    let cfg = node_config(&data, &args)?;
    let api_addr = args
        .api
        .clone()
        .unwrap_or_else(|| data.config.api.listen.clone());
    let token = std::fs::read_to_string(dir.join(files::TOKEN)).with_context(|| {
        format!(
            "cannot read the API token {}; `setu init` creates it",
            dir.join(files::TOKEN).display()
        )
    })?;
    // A charter names the network (its short id), whatever the name says.
    let network = match &cfg.charter {
        Some(c) => format!("{} ({})", setu::network_name(c), c.charter().name),
        None => cfg.net.network.clone(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let daemon = Daemon::start(
            cfg,
            &api_addr,
            &token,
            &data.config.api,
            (
                &data.config.publisher.agency,
                &data.config.publisher.country,
            ),
            Some(dir.join(files::API_URL)),
        )
        .await?;
        let st = daemon.node.status().await?;
        println!("setu node {} on network {network:?}", st.net.peer_id);
        for a in &st.net.listen {
            println!("  peers dial: {a}");
        }
        println!("  HTTP API:   {}", daemon.url);
        match st.publisher {
            Some(p) => println!("  publisher:  {p}"),
            None => println!("  publisher:  none (replica only)"),
        }
        println!("Ctrl-C (or SIGTERM) stops it.");
        shutdown_signal().await;
        println!("stopping: finishing requests, committing the index...");
        daemon.stop().await?;
        println!("stopped.");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
