//! Relays, tested with hosts that really cannot reach each other: three
//! network namespaces made by the test (`ip netns`, veth pairs). A and B
//! each link only to R, which runs `setu run --relay` and does not forward
//! packets. A and B reserve slots on R, find each other through R's
//! Kademlia, exchange records over relayed connections, attempt hole
//! punching (DCUtR), and keep working when R goes away.
//!
//! It needs root (or CAP_NET_ADMIN) and iproute2, so it is `#[ignore]`d in
//! the plain test run; `.ci/run` runs it with `--ignored` as root. Where the
//! namespaces cannot be made it fails if it runs as root; otherwise it
//! prints `SKIPPED:` with the reason and returns, and `.ci/run` fails on
//! that line. `SETU_NETNS_LOGS=1` prints A's
//! and B's daemon logs once the records have crossed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use setu_tests::net::WAIT;
use setu_tests::{repo_root, setu_bin};
use tempfile::TempDir;

const NETWORK: &str = "test-relay";
const PORT: u16 = 7000;

/// Three namespaces, deleted on drop: `R` links to `A` over 10.77.1.0/24
/// and to `B` over 10.77.2.0/24.
struct Hosts {
    prefix: String,
    /// The hosts made, deleted on drop.
    names: Vec<&'static str>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip` (iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Hosts {
    fn create() -> Result<Hosts, String> {
        let prefix = format!("setu{}", std::process::id());
        let hosts = Hosts {
            prefix,
            names: vec!["a", "r", "b"],
        };
        for h in ["a", "r", "b"] {
            ip(&["netns", "add", &hosts.ns(h)])?;
            hosts.exec(h, &["ip", "link", "set", "lo", "up"])?;
        }
        for (h, net) in [("a", 1), ("b", 2)] {
            // veth pair: `<prefix>h` in h's namespace, `<prefix>rh` in R's.
            let here = format!("{}{h}", hosts.prefix);
            let there = format!("{}r{h}", hosts.prefix);
            ip(&[
                "link",
                "add",
                &here,
                "netns",
                &hosts.ns(h),
                "type",
                "veth",
                "peer",
                "name",
                &there,
                "netns",
                &hosts.ns("r"),
            ])?;
            hosts.exec(
                h,
                &[
                    "ip",
                    "addr",
                    "add",
                    &format!("10.77.{net}.2/24"),
                    "dev",
                    &here,
                ],
            )?;
            hosts.exec(h, &["ip", "link", "set", &here, "up"])?;
            hosts.exec(
                "r",
                &[
                    "ip",
                    "addr",
                    "add",
                    &format!("10.77.{net}.1/24"),
                    "dev",
                    &there,
                ],
            )?;
            hosts.exec("r", &["ip", "link", "set", &there, "up"])?;
        }
        Ok(hosts)
    }

    fn ns(&self, h: &str) -> String {
        format!("{}-{h}", self.prefix)
    }

    /// Five namespaces: A and B each behind a NAT (`na`, `nb`: nftables
    /// masquerade, as a home router does), the NATs' outer sides on
    /// 10.77.1.0/24 and 10.77.2.0/24, and R routing between those two (the
    /// "internet") and running the relay. A (192.168.1.2) and B
    /// (192.168.2.2) cannot be dialled from outside; their NATs can reach
    /// each other through R.
    fn natted() -> Result<Hosts, String> {
        let prefix = format!("sn{}", std::process::id() % 10_000_000);
        let hosts = Hosts {
            prefix,
            names: vec!["a", "na", "r", "nb", "b"],
        };
        for h in &hosts.names {
            ip(&["netns", "add", &hosts.ns(h)])?;
            hosts.exec(h, &["ip", "link", "set", "lo", "up"])?;
        }
        // (link, one end's host and address, the other end's host and address)
        let links = [
            (1, "a", "192.168.1.2/24", "na", "192.168.1.1/24"),
            (2, "na", "10.77.1.2/24", "r", "10.77.1.1/24"),
            (3, "nb", "10.77.2.2/24", "r", "10.77.2.1/24"),
            (4, "b", "192.168.2.2/24", "nb", "192.168.2.1/24"),
        ];
        for (n, h1, a1, h2, a2) in links {
            let (x, y) = (
                format!("{}{n}x", hosts.prefix),
                format!("{}{n}y", hosts.prefix),
            );
            ip(&[
                "link",
                "add",
                &x,
                "netns",
                &hosts.ns(h1),
                "type",
                "veth",
                "peer",
                "name",
                &y,
                "netns",
                &hosts.ns(h2),
            ])?;
            for (h, dev, addr) in [(h1, &x, a1), (h2, &y, a2)] {
                hosts.exec(h, &["ip", "addr", "add", addr, "dev", dev])?;
                hosts.exec(h, &["ip", "link", "set", dev, "up"])?;
            }
        }
        for (h, via) in [
            ("a", "192.168.1.1"),
            ("na", "10.77.1.1"),
            ("nb", "10.77.2.1"),
            ("b", "192.168.2.1"),
        ] {
            hosts.exec(h, &["ip", "route", "add", "default", "via", via])?;
        }
        for h in ["na", "r", "nb"] {
            hosts.exec(h, &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])?;
        }
        // Each NAT's outer end is the `x` end of its link to R.
        for (h, outer) in [("na", 2), ("nb", 3)] {
            let dev = format!("{}{outer}x", hosts.prefix);
            hosts.exec(h, &["nft", "add", "table", "ip", "nat"])?;
            hosts.exec(
                h,
                &[
                    "nft",
                    "add chain ip nat post { type nat hook postrouting priority 100 ; }",
                ],
            )?;
            hosts.exec(
                h,
                &[
                    "nft",
                    &format!("add rule ip nat post oifname \"{dev}\" masquerade"),
                ],
            )?;
            // Like a home router, drop what comes in from outside unasked
            // (a RST would end a hole punch's first SYN; a drop lets TCP
            // send it again once the other side's SYN has opened the way).
            hosts.exec(h, &["nft", "add", "table", "ip", "filter"])?;
            for hook in ["input", "forward"] {
                hosts.exec(
                    h,
                    &[
                        "nft",
                        &format!(
                            "add chain ip filter {hook} {{ type filter hook {hook} priority 0 ; }}"
                        ),
                    ],
                )?;
                hosts.exec(
                    h,
                    &[
                        "nft",
                        &format!(
                            "add rule ip filter {hook} iifname \"{dev}\" ct state established,related accept"
                        ),
                    ],
                )?;
                hosts.exec(
                    h,
                    &[
                        "nft",
                        &format!("add rule ip filter {hook} iifname \"{dev}\" drop"),
                    ],
                )?;
            }
        }
        Ok(hosts)
    }

    fn exec(&self, h: &str, args: &[&str]) -> Result<(), String> {
        let mut full = vec!["netns", "exec"];
        let ns = self.ns(h);
        full.push(&ns);
        full.extend_from_slice(args);
        ip(&full)
    }

    /// `setu --data-dir DIR ARGS` inside host `h`.
    fn setu(&self, h: &str, dir: &Path, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(h)])
            .arg(setu_bin())
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .output()
            .expect("ip netns exec runs")
    }

    /// Whether a TCP connection from `from` to `addr:port` succeeds.
    fn can_connect(&self, from: &str, addr: &str) -> bool {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns(from),
                "timeout",
                "5",
                "bash",
                "-c",
            ])
            .arg(format!("exec 3<>/dev/tcp/{addr}/{PORT}"))
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for h in &self.names {
            // Deleting a namespace deletes its veth ends too.
            let _ = ip(&["netns", "del", &self.ns(h)]);
        }
    }
}

/// A `setu run` inside a namespace, killed on drop.
struct Daemon {
    child: Child,
    host: &'static str,
    dir: PathBuf,
    log: PathBuf,
}

impl Daemon {
    fn start(hosts: &Hosts, host: &'static str, dir: &Path, args: &[String]) -> Daemon {
        let log = dir.with_extension("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &hosts.ns(host)])
            .arg(setu_bin())
            .arg("--data-dir")
            .arg(dir)
            .args([
                "run",
                "--api",
                "127.0.0.1:0",
                "--no-mdns",
                "--network",
                NETWORK,
            ])
            .args(args)
            .env(
                "SETU_LOG",
                "info,libp2p_relay=debug,libp2p_dcutr=debug,libp2p_kad=info,setu_net::driver::reach=debug",
            )
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("setu run starts");
        let d = Daemon {
            child,
            host,
            dir: dir.to_path_buf(),
            log,
        };
        let file = dir.join("api.url");
        d.wait(hosts, "the daemon to write api.url", |_| file.exists());
        d
    }

    fn status(&self, hosts: &Hosts) -> serde_json::Value {
        json(&hosts.setu(self.host, &self.dir, &["status", "--json"]))
    }

    fn peers(&self, hosts: &Hosts) -> serde_json::Value {
        json(&hosts.setu(self.host, &self.dir, &["peers", "--json"]))
    }

    fn counter(&self, hosts: &Hosts, name: &str) -> u64 {
        self.status(hosts)["net"]["counters"][name]
            .as_u64()
            .unwrap_or(0)
    }

    /// Polls `cond` every 200 ms; panics after `WAIT` with the daemon's log.
    fn wait(&self, _hosts: &Hosts, what: &str, mut cond: impl FnMut(&Daemon) -> bool) {
        let deadline = std::time::Instant::now() + WAIT;
        while !cond(self) {
            if std::time::Instant::now() > deadline {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                panic!(
                    "timed out waiting for {what} (host {}); its log ends:\n{}",
                    self.host,
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then a clean exit within `WAIT`.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let st = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(st.success());
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(code) = self.child.try_wait().expect("wait") {
                assert!(
                    code.success(),
                    "setu run on {} exited with {code}",
                    self.host
                );
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "setu run on {} did not stop",
                self.host
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "setu failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON output")
}

fn ok(o: &Output) -> String {
    let s = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "setu failed: {s}");
    s
}

/// A practice of the example file with another id and title.
fn practice(dir: &Path, id: &str, title: &str) -> PathBuf {
    let src = repo_root().join("node/data/examples/practice.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src).expect("example")).expect("example JSON");
    v["practice_id"] = id.into();
    v["title"]["text"]["en"] = title.into();
    let path = dir.join(format!("{id}.json"));
    std::fs::write(&path, v.to_string()).expect("write practice");
    path
}

/// True if the effective user is root (uid 0), read from /proc.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn records(hosts: &Hosts, d: &Daemon) -> u64 {
    d.status(hosts)["status"]["records"].as_u64().unwrap_or(0)
}

#[test]
#[ignore = "needs root and iproute2: .ci/run runs it with --ignored"]
fn relay_joins_hosts_that_cannot_reach_each_other() {
    let hosts = match Hosts::create() {
        Ok(h) => h,
        Err(why) => {
            // As root there is no excuse: the test fails rather than skip.
            assert!(
                !running_as_root(),
                "running as root, yet network namespaces cannot be made: {why}"
            );
            println!("SKIPPED: network namespaces cannot be made here: {why}");
            return;
        }
    };
    let t0 = std::time::Instant::now();
    let phase = |what: &str| println!("netns: {:>5.1} s  {what}", t0.elapsed().as_secs_f64());
    let tmp = TempDir::new().expect("tempdir");
    let dir = |h: &str| tmp.path().join(h);
    for (h, country) in [("a", "BGD"), ("r", "KEN"), ("b", "BRA")] {
        ok(&hosts.setu(
            h,
            &dir(h),
            &[
                "init",
                "--country",
                country,
                "--agency",
                &format!("agency {h}"),
            ],
        ));
    }

    phase("namespaces and data directories made");
    // R is a pure relay: it stores nobody's records (an empty allow-list),
    // so records between A and B can only cross on relayed connections.
    let r_toml = dir("r").join("setu.toml");
    let conf = std::fs::read_to_string(&r_toml).expect("setu.toml");
    std::fs::write(
        &r_toml,
        conf.replacen("[network]\n", "[network]\nallow_authors = []\n", 1),
    )
    .expect("setu.toml");
    let listen = |ip: &str| vec!["--listen".to_string(), format!("/ip4/{ip}/tcp/{PORT}")];
    let relay = Daemon::start(
        &hosts,
        "r",
        &dir("r"),
        &[listen("0.0.0.0"), vec!["--relay".into()]].concat(),
    );
    let rid = relay.status(&hosts)["net"]["peer_id"]
        .as_str()
        .expect("peer id")
        .to_string();
    phase("R runs");
    let via = |net: u8| {
        let r = format!("/ip4/10.77.{net}.1/tcp/{PORT}/p2p/{rid}");
        vec![
            "--peer".to_string(),
            r.clone(),
            "--relay-via".to_string(),
            r,
        ]
    };
    let a = Daemon::start(
        &hosts,
        "a",
        &dir("a"),
        &[listen("10.77.1.2"), via(1)].concat(),
    );
    let b = Daemon::start(
        &hosts,
        "b",
        &dir("b"),
        &[listen("10.77.2.2"), via(2)].concat(),
    );
    phase("A and B run");
    // The hosts really cannot reach each other, only R: each daemon
    // listens, and only R's port answers.
    assert!(hosts.can_connect("a", "10.77.1.1"), "A cannot reach R");
    assert!(hosts.can_connect("b", "10.77.2.1"), "B cannot reach R");
    assert!(!hosts.can_connect("a", "10.77.2.2"), "A reaches B directly");
    assert!(!hosts.can_connect("b", "10.77.1.2"), "B reaches A directly");
    for d in [&a, &b] {
        d.wait(&hosts, "a slot on the relay", |d| {
            d.status(&hosts)["net"]["relays"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        });
    }

    phase("A and B hold slots on R");
    // Records cross, each way, through R.
    let pa = practice(
        tmp.path(),
        "BGD-RELAY-0001",
        "Published behind the relay, side A",
    );
    let pb = practice(
        tmp.path(),
        "BRA-RELAY-0001",
        "Published behind the relay, side B",
    );
    ok(&hosts.setu("a", &dir("a"), &["publish", pa.to_str().expect("utf-8")]));
    ok(&hosts.setu("b", &dir("b"), &["publish", pb.to_str().expect("utf-8")]));
    a.wait(&hosts, "A to hold B's record", |d| records(&hosts, d) == 2);
    b.wait(&hosts, "B to hold A's record", |d| records(&hosts, d) == 2);
    b.wait(&hosts, "B's search to find A's record", |d| {
        ok(&hosts.setu("b", &d.dir, &["query", "--text", "behind the relay"]))
            .contains("BGD-RELAY-0001")
    });
    phase("A and B hold each other's records");
    if std::env::var_os("SETU_NETNS_LOGS").is_some() {
        for d in [&a, &b] {
            println!(
                "=== {} log\n{}",
                d.host,
                std::fs::read_to_string(&d.log).unwrap_or_default()
            );
        }
    }
    // R stored none of them: they crossed on the relayed connection.
    assert_eq!(records(&hosts, &relay), 0, "R stored records");
    let aid = a.status(&hosts)["net"]["peer_id"]
        .as_str()
        .expect("peer id")
        .to_string();
    b.wait(&hosts, "B to be connected to A through R", |d| {
        d.peers(&hosts).as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["peer_id"] == aid.as_str() && p["relayed"] == true)
        })
    });
    assert!(relay.counter(&hosts, "circuits_relayed") >= 1);

    phase("B is connected to A through R");
    // DCUtR was attempted on the relayed connection; it cannot succeed,
    // as no packet passes between A's and B's networks.
    a.wait(&hosts, "a hole punching attempt to end", |d| {
        d.counter(&hosts, "holepunch_failed") + d.counter(&hosts, "holepunch_succeeded") > 0
            || b.counter(&hosts, "holepunch_failed") + b.counter(&hosts, "holepunch_succeeded") > 0
    });
    assert_eq!(
        a.counter(&hosts, "holepunch_succeeded") + b.counter(&hosts, "holepunch_succeeded"),
        0,
        "a direct connection where no route exists"
    );

    phase(&format!(
        "hole punching attempted: A {} failed, B {} failed",
        a.counter(&hosts, "holepunch_failed"),
        b.counter(&hosts, "holepunch_failed")
    ));
    // R goes away. Nothing breaks: A and B notice, keep serving, keep what
    // they hold, still publish, and stop cleanly.
    drop(relay);
    let (mut a, mut b) = (a, b);
    for d in [&a, &b] {
        d.wait(&hosts, "the peers to notice R is gone", |d| {
            d.status(&hosts)["net"]["peers"].as_u64() == Some(0)
        });
    }
    phase("R gone; A and B noticed");
    let pc = practice(
        tmp.path(),
        "BGD-RELAY-0002",
        "Published after the relay left",
    );
    ok(&hosts.setu("a", &dir("a"), &["publish", pc.to_str().expect("utf-8")]));
    assert_eq!(records(&hosts, &a), 3);
    assert_eq!(records(&hosts, &b), 2);
    assert!(a.alive() && b.alive());
    assert_eq!(a.counter(&hosts, "refused_invalid"), 0);
    assert_eq!(b.counter(&hosts, "refused_invalid"), 0);
    a.stop();
    b.stop();
    phase("A and B stopped cleanly");
}

/// DCUtR through NAT: A and B, each behind a masquerading NAT, meet on the
/// relay R, and hole punching upgrades their relayed connection to a direct
/// one. Hole punching depends on timing, so `.ci/nat-holepunch` runs it
/// repeatedly for RELIABILITY.md; it passed 20 of 20, so `.ci/run` runs it
/// too, beside the relay test.
#[test]
#[ignore = "needs root, iproute2 and nftables: .ci/run runs it with --ignored"]
fn hole_punching_upgrades_a_relayed_connection_through_nat() {
    let hosts = match Hosts::natted() {
        Ok(h) => h,
        Err(why) => {
            assert!(
                !running_as_root(),
                "running as root, yet NATted namespaces cannot be made: {why}"
            );
            println!("SKIPPED: NATted network namespaces cannot be made here: {why}");
            return;
        }
    };
    let t0 = std::time::Instant::now();
    let phase = |what: &str| println!("nat: {:>5.1} s  {what}", t0.elapsed().as_secs_f64());
    let tmp = TempDir::new().expect("tempdir");
    let dir = |h: &str| tmp.path().join(h);
    for (h, country) in [("a", "BGD"), ("r", "KEN"), ("b", "BRA")] {
        ok(&hosts.setu(
            h,
            &dir(h),
            &[
                "init",
                "--country",
                country,
                "--agency",
                &format!("agency {h}"),
            ],
        ));
    }
    // Behind a NAT, A and B cannot be dialled: only R can be.
    assert!(
        !hosts.can_connect("na", "192.168.2.2"),
        "B is reachable from outside"
    );
    let listen = vec![
        "--listen".to_string(),
        format!("/ip4/0.0.0.0/tcp/{PORT}"),
        "--listen".to_string(),
        format!("/ip4/0.0.0.0/udp/{PORT}/quic-v1"),
    ];
    let relay = Daemon::start(
        &hosts,
        "r",
        &dir("r"),
        &[listen.clone(), vec!["--relay".into()]].concat(),
    );
    let rid = relay.status(&hosts)["net"]["peer_id"]
        .as_str()
        .expect("peer id")
        .to_string();
    let via = |net: u8| {
        let r = format!("/ip4/10.77.{net}.1/tcp/{PORT}/p2p/{rid}");
        vec![
            "--peer".to_string(),
            r.clone(),
            "--relay-via".to_string(),
            r,
        ]
    };
    let a = Daemon::start(&hosts, "a", &dir("a"), &[listen.clone(), via(1)].concat());
    let b = Daemon::start(&hosts, "b", &dir("b"), &[listen, via(2)].concat());
    phase("R, and A and B behind their NATs, run");
    let aid = a.status(&hosts)["net"]["peer_id"]
        .as_str()
        .expect("peer id")
        .to_string();
    // A and B find each other through R and connect; hole punching then
    // gives them a direct connection, through both NATs.
    b.wait(&hosts, "a direct connection between A and B", |d| {
        d.peers(&hosts).as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["peer_id"] == aid.as_str() && p["relayed"] == false)
        })
    });
    phase("A and B are connected directly");
    let punched =
        a.counter(&hosts, "holepunch_succeeded") + b.counter(&hosts, "holepunch_succeeded");
    println!("nat: hole punches succeeded: {punched}");
    assert!(punched >= 1, "a direct connection without a hole punch");
    // Records cross on it.
    let pa = practice(tmp.path(), "BGD-NAT-0001", "Published behind a NAT, side A");
    ok(&hosts.setu("a", &dir("a"), &["publish", pa.to_str().expect("utf-8")]));
    b.wait(&hosts, "B to hold A's record", |d| records(&hosts, d) == 1);
    phase("A's record reached B");
    drop(relay);
}
