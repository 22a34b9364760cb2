//! The libp2p behaviours of a node, composed declaratively, and the swarm
//! built from them ([`spec/net.md` §3](../../../spec/net.md)).

use std::sync::Arc;
use std::time::Duration;

use crate::transport::Meter;

use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    Swarm, SwarmBuilder, allow_block_list, autonat, connection_limits, dcutr, gossipsub, identify,
    identity, kad, mdns, noise, ping, relay, request_response, yamux,
};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::codec::Codec;
use crate::config::Config;
use crate::message::MAX_RECORD_BYTES;

/// Most established connections in all.
pub const MAX_CONNECTIONS: u32 = 128;
/// Most established connections to one peer: room for a dial each way, an
/// AutoNAT dial-back, and a direct connection beside a relayed one.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 4;
/// Most pending (handshaking) connections, each way.
pub const MAX_PENDING: u32 = 32;
/// A connection with no open stream closes after this long. It is longer
/// than the default sync interval, so peers stay connected between rounds
/// and while a sync is pending.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// A request unanswered for this long fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most concurrent request streams per connection.
pub const MAX_STREAMS: usize = 16;
/// The largest gossip message: the largest record plus room for gossipsub's
/// own framing. Raised deliberately from gossipsub's 64 KiB default, so a
/// record of any allowed size is gossiped whole.
pub const MAX_GOSSIP_BYTES: usize = MAX_RECORD_BYTES + 16 * 1024;
/// Most reservations a relay holds (policy).
pub const RELAY_MAX_RESERVATIONS: usize = 128;
/// Most relayed connections a relay carries at once.
pub const RELAY_MAX_CIRCUITS: usize = 64;
/// Most relayed connections a relay carries for one peer.
pub const RELAY_MAX_CIRCUITS_PER_PEER: usize = 8;
/// A relayed connection is closed after this long; the nodes then dial it
/// again (or have upgraded to a direct connection with DCUtR).
pub const RELAY_MAX_CIRCUIT_DURATION: Duration = Duration::from_secs(30 * 60);
/// A relayed connection is closed after carrying this many bytes each way:
/// enough for a catch-up of several thousand records.
pub const RELAY_MAX_CIRCUIT_BYTES: u64 = 64 * 1024 * 1024;
/// AutoNAT's first probe comes this long after start.
pub const AUTONAT_BOOT_DELAY: Duration = Duration::from_secs(2);
/// AutoNAT probes again this often while unsure.
pub const AUTONAT_RETRY: Duration = Duration::from_secs(30);
/// A Kademlia lookup gives up after this long (peers that do not answer,
/// such as addresses behind NAT, would otherwise hold it for a minute).
pub const KAD_QUERY_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest Kademlia message.
pub const MAX_KAD_BYTES: usize = 16 * 1024;
/// Keys Kademlia's provider-record store holds at most: this node's own
/// (the content it announces) and those other nodes announced to it, half
/// each (`driver::provide`).
pub const MAX_PROVIDER_KEYS: usize = 8192;
/// Providers kept for one key at most (later ones are ignored).
pub const MAX_PROVIDERS_PER_KEY: usize = 20;
/// How long a provider record lives unless announced again.
pub const PROVIDER_RECORD_TTL: Duration = Duration::from_secs(48 * 60 * 60);
/// How often a node announces again the content it holds.
pub const PROVIDER_REPUBLISH: Duration = Duration::from_secs(12 * 60 * 60);

/// The application score given to a peer caught sending invalid data; far
/// below gossipsub's graylist threshold.
pub const BAD_PEER_SCORE: f64 = -10_000.0;

pub use composed::{Behaviour, BehaviourEvent};

mod composed {
    // The derive generates `BehaviourEvent`, one variant per field.
    #![allow(missing_docs)]
    use libp2p::swarm::NetworkBehaviour;
    use libp2p::swarm::behaviour::toggle::Toggle;
    use libp2p::{
        allow_block_list, autonat, connection_limits, dcutr, gossipsub, identify, kad, mdns, ping,
        relay, request_response,
    };

    use crate::codec::Codec;

    /// Every behaviour of a node. (`BehaviourEvent`, derived from it, is
    /// documented by its fields.)
    #[derive(NetworkBehaviour)]
    #[allow(missing_debug_implementations)]
    pub struct Behaviour {
        /// Peers refused at the connection level (banned for misbehaving).
        pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
        /// Connection caps.
        pub limits: connection_limits::Behaviour,
        /// Who the peer is and where it listens.
        pub identify: identify::Behaviour,
        /// Liveness.
        pub ping: ping::Behaviour,
        /// Record gossip.
        pub gossipsub: gossipsub::Behaviour,
        /// Reconciliation, bulk transfer and pushes.
        pub sync: request_response::Behaviour<Codec>,
        /// Attachments: have requests and blocks (`/setu/N/blob/1`).
        pub blob: request_response::Behaviour<Codec>,
        /// Peers on the local network.
        pub mdns: Toggle<mdns::tokio::Behaviour>,
        /// Circuit relay server, when this node serves as a relay.
        pub relay: Toggle<relay::Behaviour>,
        /// Circuit relay client: reservations on relays, relayed dials.
        pub relay_client: relay::client::Behaviour,
        /// Hole punching: upgrades a relayed connection to a direct one.
        pub dcutr: dcutr::Behaviour,
        /// Whether this node is publicly reachable.
        pub autonat: autonat::Behaviour,
        /// Peer discovery; server mode once reachable.
        pub kad: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
    }
}

/// The gossip message id: the first 20 bytes of SHA-256 of the message
/// data. Identical records have identical ids whoever relays them.
pub fn message_id(data: &[u8]) -> gossipsub::MessageId {
    let d = Sha256::digest(data);
    gossipsub::MessageId::from(d[..20].to_vec())
}

fn gossip(cfg: &Config, key: &identity::Keypair) -> Result<gossipsub::Behaviour, Error> {
    let gcfg = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| message_id(&m.data))
        .max_transmit_size(MAX_GOSSIP_BYTES)
        .heartbeat_interval(Duration::from_millis(700))
        .build()
        .map_err(|e| Error::Setup(format!("gossipsub config: {e}")))?;
    let mut g =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), gcfg)
            .map_err(|e| Error::Setup(format!("gossipsub: {e}")))?;
    let topic = gossipsub::IdentTopic::new(cfg.topic());
    // Agencies behind one NAT, and every test on loopback, share an IP:
    // colocation is not evidence of a sybil here. Quotas and the
    // allow-list bound what strangers can store.
    let mut params = gossipsub::PeerScoreParams {
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    };
    let topic_params = gossipsub::TopicScoreParams {
        invalid_message_deliveries_weight: -100.0,
        invalid_message_deliveries_decay: 0.5,
        ..Default::default()
    };
    params.topics.insert(topic.hash(), topic_params);
    g.with_peer_score(params, gossipsub::PeerScoreThresholds::default())
        .map_err(|e| Error::Setup(format!("gossipsub scoring: {e}")))?;
    g.subscribe(&topic)
        .map_err(|e| Error::Setup(format!("gossipsub subscribe: {e}")))?;
    Ok(g)
}

fn relay_server(peer_id: libp2p::PeerId) -> relay::Behaviour {
    relay::Behaviour::new(
        peer_id,
        relay::Config {
            max_reservations: RELAY_MAX_RESERVATIONS,
            max_circuits: RELAY_MAX_CIRCUITS,
            max_circuits_per_peer: RELAY_MAX_CIRCUITS_PER_PEER,
            max_circuit_duration: RELAY_MAX_CIRCUIT_DURATION,
            max_circuit_bytes: RELAY_MAX_CIRCUIT_BYTES,
            ..Default::default()
        },
    )
}

/// Kademlia on the network's own protocol, in automatic mode: client until
/// the node has a confirmed external address (from AutoNAT, or a relay
/// reservation), server after. It stores no value records; provider records
/// (who holds which attachment) are filtered by the driver before they are
/// kept (`driver::provide`).
fn kademlia(cfg: &Config, peer_id: libp2p::PeerId) -> kad::Behaviour<kad::store::MemoryStore> {
    let mut kcfg = kad::Config::new(cfg.kad_protocol());
    kcfg.set_max_packet_size(MAX_KAD_BYTES)
        .set_query_timeout(KAD_QUERY_TIMEOUT)
        .set_record_filtering(kad::StoreInserts::FilterBoth)
        .set_provider_record_ttl(Some(PROVIDER_RECORD_TTL))
        .set_provider_publication_interval(Some(PROVIDER_REPUBLISH));
    let store = kad::store::MemoryStore::with_config(
        peer_id,
        kad::store::MemoryStoreConfig {
            max_records: 0,
            max_provided_keys: MAX_PROVIDER_KEYS,
            max_providers_per_key: MAX_PROVIDERS_PER_KEY,
            ..Default::default()
        },
    );
    let mut k = kad::Behaviour::with_config(peer_id, store, kcfg);
    if cfg.relay {
        // A relay is reachable by definition (its operator gave it a public
        // address); it is where nodes behind NAT find each other.
        k.set_mode(Some(kad::Mode::Server));
    }
    k
}

/// Builds the swarm: TCP with noise and yamux, and every behaviour.
pub fn swarm(cfg: &Config, key: identity::Keypair) -> Result<Swarm<Behaviour>, Error> {
    Ok(metered_swarm(cfg, key)?.0)
}

/// Builds the swarm, with the meter on its connections.
pub fn metered_swarm(
    cfg: &Config,
    key: identity::Keypair,
) -> Result<(Swarm<Behaviour>, Arc<Meter>), Error> {
    let peer_id = key.public().to_peer_id();
    let mdns_on = cfg.mdns;
    let meter = Arc::new(Meter::default());
    let m = meter.clone();
    let built = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_quic()
        .with_other_transport(move |key| crate::transport::tcp(key, m))
        .map_err(|e| Error::Setup(format!("tcp: {e}")))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| Error::Setup(format!("relay client: {e}")))?
        .with_behaviour(
            |key, relay_client| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
                let limits = connection_limits::ConnectionLimits::default()
                    .with_max_established(Some(MAX_CONNECTIONS))
                    .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
                    .with_max_pending_incoming(Some(MAX_PENDING))
                    .with_max_pending_outgoing(Some(MAX_PENDING));
                let mdns = if mdns_on {
                    Some(mdns::tokio::Behaviour::new(
                        mdns::Config::default(),
                        peer_id,
                    )?)
                } else {
                    None
                };
                Ok(Behaviour {
                    blocked: allow_block_list::Behaviour::default(),
                    limits: connection_limits::Behaviour::new(limits),
                    identify: identify::Behaviour::new(
                        identify::Config::new(cfg.identify_protocol(), key.public())
                            .with_agent_version(format!("setu/{}", env!("CARGO_PKG_VERSION")))
                            .with_push_listen_addr_updates(true),
                    ),
                    ping: ping::Behaviour::default(),
                    gossipsub: gossip(cfg, key)?,
                    sync: request_response::Behaviour::with_codec(
                        Codec::default(),
                        [
                            (
                                cfg.sync_protocol_v2(),
                                request_response::ProtocolSupport::Full,
                            ),
                            (cfg.sync_protocol(), request_response::ProtocolSupport::Full),
                        ],
                        request_response::Config::default()
                            .with_request_timeout(REQUEST_TIMEOUT)
                            .with_max_concurrent_streams(MAX_STREAMS),
                    ),
                    blob: request_response::Behaviour::with_codec(
                        Codec::blob(),
                        [(cfg.blob_protocol(), request_response::ProtocolSupport::Full)],
                        request_response::Config::default()
                            .with_request_timeout(REQUEST_TIMEOUT)
                            .with_max_concurrent_streams(MAX_STREAMS),
                    ),
                    mdns: Toggle::from(mdns),
                    relay: Toggle::from(cfg.relay.then(|| relay_server(peer_id))),
                    relay_client,
                    dcutr: dcutr::Behaviour::new(peer_id),
                    autonat: autonat::Behaviour::new(
                        peer_id,
                        autonat::Config {
                            boot_delay: AUTONAT_BOOT_DELAY,
                            retry_interval: AUTONAT_RETRY,
                            // Agencies' networks and the tests use private
                            // addresses; the dial-back goes only to the
                            // asker's own observed IP either way.
                            only_global_ips: false,
                            ..Default::default()
                        },
                    ),
                    kad: Toggle::from(cfg.kademlia.then(|| kademlia(cfg, peer_id))),
                })
            },
        )
        .map_err(|e| Error::Setup(format!("behaviour: {e}")))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    Ok((built, meter))
}
