//! Embedding setu in a portal: two nodes in temporary directories on
//! loopback; one publishes a practice, the other receives it over the
//! network and finds it by full-text search.
//!
//! Run with `cargo run -p setu --example embed`.

use std::time::Duration;

use setu::{Config, Event, Node, Query, SecretKey};

fn config(dir: &std::path::Path, key: Option<SecretKey>) -> Config {
    let mut cfg = Config::new(dir);
    cfg.key = key;
    cfg.net.network = "example".into();
    cfg.net.mdns = false;
    cfg.net.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("address")];
    cfg
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (d1, d2) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let agency = Node::start(config(d1.path(), Some(SecretKey::generate()))).await?;
    let addr = agency.status().await?.net.listen[0].parse()?;
    let mut portal_cfg = config(d2.path(), None); // a replica that publishes nothing
    portal_cfg.net.bootstrap = vec![addr];
    let portal = Node::start(portal_cfg).await?;
    let mut events = portal.subscribe();

    let body: serde_json::Value =
        serde_json::from_str(include_str!("../../../node/data/examples/practice.json"))?;
    let published = agency.publish(body).await?;
    println!("published {} as {}", published.practice_id, published.id);

    // Wait (with a timeout) for the record to arrive at the portal's node.
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(Event::RecordReceived { id, via, .. }) = events.recv().await
                && id == published.id
            {
                println!("the portal received it by {via:?}");
                return;
            }
        }
    })
    .await?;
    // Received records are searchable within a fraction of a second.
    let q = Query {
        text: Some("digital centre".into()),
        ..Query::default()
    };
    let hits = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let hits = portal.query(q.clone()).await.expect("query");
            if hits.total > 0 {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await?;
    for h in hits.hits {
        println!(
            "found on the portal: {} (revision {})",
            h.practice_id, h.revision
        );
    }
    agency.shutdown().await?;
    portal.shutdown().await?;
    Ok(())
}
