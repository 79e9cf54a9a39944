//! The exchange between nodes, built on the node core: mutual TLS with pinned peers, the delivery
//! worker of the outbox, the idempotent inbox with signed receipts, and the upkeep of the trust
//! directory and of other nodes' status lists. It calls into the core and the store, never into
//! a service or a route.

pub mod client;
pub mod delivery;
pub mod directory;
pub mod inbox;
pub mod rejoin;
pub mod reports;
pub mod status;
pub mod tls;
pub mod transparency;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::domain::directory::NodeStatus;
use crate::domain::error::ErrorCode;
use crate::node::{NodeCore, SetupError};
use crate::seal::TrustStore;

use client::PeerClient;
use delivery::Leases;
use inbox::Arrivals;
use rejoin::Rejoin;
use tls::TlsIdentity;

/// Why an inbound batch of messages (or a lookup request) is refused; nothing of it is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no client certificate")]
    NoClientCertificate,
    #[error("the client certificate is not that of an active node of the trust directory")]
    UnknownPeer,
    #[error("message {message}: {reason}")]
    BadMessage { message: usize, reason: &'static str },
    #[error("message {message} is signed by {claimed}, but the TLS client is {tls}")]
    TlsMismatch { message: usize, claimed: String, tls: String },
    #[error("message {message} is addressed to {aud}")]
    WrongAudience { message: usize, aud: String },
    #[error("message {message} reuses id {id} with other content")]
    Replay { message: usize, id: String },
    #[error("message {message} has sequence number {got}; expected {expected}")]
    SequenceGap { message: usize, expected: i64, got: i64 },
    #[error("empty or oversized batch")]
    BatchSize,
}

impl Refusal {
    /// The stable code of the refusal.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::NoClientCertificate => ErrorCode::NoClientCertificate,
            Self::UnknownPeer => ErrorCode::UnknownPeer,
            Self::BadMessage { .. } => ErrorCode::BadMessage,
            Self::TlsMismatch { .. } => ErrorCode::TlsMismatch,
            Self::WrongAudience { .. } => ErrorCode::WrongAudience,
            Self::Replay { .. } => ErrorCode::Replay,
            Self::SequenceGap { .. } => ErrorCode::Sequence,
            Self::BatchSize => ErrorCode::BatchSize,
        }
    }
}

/// How often a node takes in the version statuses another process on the same database stored:
/// those its inbox took from other nodes, and those recorded of this node's own versions (its own
/// process's it takes in at once).
pub const STATUS_CATCH_UP: Duration = Duration::from_secs(2);

/// Most messages accepted in one request.
pub const MAX_BATCH: usize = 1000;
/// Most bytes of message tokens a sender puts in one request (a message is at most some 44 KiB).
pub const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;

/// Body of `POST /exchange/v1/messages` in both directions.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Batch {
    /// Compact JWS messages, in sequence order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
    /// Compact JWS receipts, one per message, in the same order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receipts: Vec<String>,
}

/// The active directory node whose TLS client certificate has `fingerprint`.
pub fn sender_of(trust: &TrustStore, fingerprint: Option<&str>) -> Result<String, Refusal> {
    let fingerprint = fingerprint.ok_or(Refusal::NoClientCertificate)?;
    trust
        .node_by_tls(fingerprint)
        .filter(|entry| entry.status == NodeStatus::Active)
        .map(|entry| entry.code.clone())
        .ok_or(Refusal::UnknownPeer)
}

/// Reads the body of `response`, refusing it as soon as it would exceed `cap` bytes: what another
/// node or the registry sends is read chunk by chunk, never whole on trust.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    let too_large = || format!("the answer exceeds {cap} bytes");
    if response.content_length().is_some_and(|len| len > u64::try_from(cap).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("answer unreadable: {e}"))? {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Longest problem document read from a refusal.
const MAX_PROBLEM: usize = 16 * 1024;

/// A refusal's status and the stable code of its problem document, for the log.
pub async fn refusal_of(response: reqwest::Response) -> String {
    let status = response.status();
    let problem = read_capped(response, MAX_PROBLEM).await.unwrap_or_default();
    let code = serde_json::from_slice::<serde_json::Value>(&problem)
        .ok()
        .and_then(|p| p.get("code").and_then(|c| c.as_str()).map(str::to_owned))
        .unwrap_or_default();
    format!("{status} {code}")
}

/// How soon a node that the directory does not list (yet) asks for it again: it was just enrolled,
/// as a rule, and should not wait a whole refresh period to be trusted.
pub const UNLISTED_RETRY: Duration = Duration::from_secs(10);

/// How soon after its start a node first sends the registry its tree head.
pub const FIRST_ANCHOR: Duration = Duration::from_secs(5);

/// Where the trust directory comes from and how often it is fetched.
#[derive(Debug, Clone)]
pub struct RegistrySource {
    /// `GET {url}/directory`.
    pub url: String,
    pub refresh: Duration,
}

impl RegistrySource {
    /// The directory URL at the registry.
    pub fn directory_url(&self) -> String {
        format!("{}/directory", self.url.trim_end_matches('/'))
    }
}

/// The exchange runtime of one node: its clients, the leases it holds, the order of arriving
/// batches, and the background work that delivers and keeps the directory fresh.
pub struct Exchange {
    core: Arc<NodeCore>,
    /// Calls to other nodes' peer listeners, with this node's TLS identity.
    pub peers: PeerClient,
    /// Calls to the registry (the directory).
    public: reqwest::Client,
    /// Outgoing messages this process is delivering, whose leases it renews.
    leases: Arc<Leases>,
    /// Puts each sender's batches in sequence order on their way into the inbox.
    pub arrivals: Arc<Arrivals>,
    /// Which peers a node restored from a backup may deliver to yet.
    rejoin: Arc<Rejoin>,
    /// The registry, when one is configured (else the cached directory only).
    registry: Option<RegistrySource>,
    /// Messages per delivery request.
    batch: usize,
    /// Refreshes the directory every so often (none: only when asked).
    refresh: Option<Duration>,
}

impl Exchange {
    /// The runtime of `core` as `config` sets it up: its TLS identity, clients and registry.
    pub fn new(core: Arc<NodeCore>, config: &Config) -> Result<Self, SetupError> {
        tls::install_crypto_provider();
        let peers = PeerClient::new(TlsIdentity::load(&config.peer.tls_cert, &config.peer.tls_key)?);
        let public = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SetupError::Directory(e.to_string()))?;
        let directory = config.directory.as_ref();
        let registry = directory.and_then(|d| {
            let refresh = Duration::from_secs(d.refresh_seconds);
            d.registry_url.clone().map(|url| RegistrySource { url, refresh })
        });
        let rejoin = Arc::new(Rejoin::load(&core)?);
        Ok(Self {
            rejoin,
            core,
            peers,
            public,
            leases: Arc::default(),
            arrivals: Arc::default(),
            registry,
            batch: config.peer.batch,
            refresh: directory.map(|d| Duration::from_secs(d.refresh_seconds)),
        })
    }

    /// The core this runtime works for.
    pub fn core(&self) -> &Arc<NodeCore> {
        &self.core
    }

    /// Starts the background work: delivery (with lease renewal), the directory refresh, and after
    /// a restore, taking back from each peer what it holds.
    pub fn start(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let delivery =
            delivery::run(self.core.clone(), self.peers.clone(), self.leases.clone(), self.rejoin.clone(), self.batch);
        let rejoin = self.clone();
        let core = self.core.clone();
        let mut tasks = vec![
            tokio::spawn(delivery),
            tokio::spawn(async move { rejoin.rejoin.run(&rejoin.core, &rejoin.peers).await }),
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(STATUS_CATCH_UP).await;
                    let core = core.clone();
                    let caught =
                        tokio::task::spawn_blocking(move || core.catch_up_statuses().and_then(|_| core.catch_up_own()))
                            .await;
                    if let Ok(Err(error)) = caught {
                        tracing::error!(%error, "reported or own statuses not read");
                    }
                }
            }),
        ];
        if self.registry.is_some() {
            let exchange = self.clone();
            tasks.push(tokio::spawn(async move {
                // Soon after the start, then every so often: a head only an enrolled node can anchor;
                // then the other nodes' logs as far as their anchored heads.
                tokio::time::sleep(FIRST_ANCHOR).await;
                loop {
                    let core = &exchange.core;
                    if core.trust.current().active_node(core.code()).is_some() {
                        let _ = exchange.anchor().await;
                        exchange.send_reports().await;
                    }
                    exchange.mirror_logs().await;
                    tokio::time::sleep(transparency::ANCHOR_EVERY).await;
                }
            }));
        }
        if let Some(every) = self.refresh {
            let exchange = self.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let _ = exchange.refresh().await;
                    let core = &exchange.core;
                    let listed = core.trust.current().active_node(core.code()).is_some();
                    let wait = if listed { every } else { every.min(UNLISTED_RETRY) };
                    if !listed {
                        tracing::warn!(
                            code = %core.code(),
                            "this node is not an active node of the trust directory: no other node trusts what it \
                             signs until the registry enrols it; asking again in {} s",
                            wait.as_secs()
                        );
                    }
                    tokio::time::sleep(wait).await;
                }
            }));
        }
        tasks
    }

    /// Signs this node's tree head now and has the registry keep it; returns it.
    pub async fn anchor(&self) -> Result<crate::domain::claims::TreeHeadClaims, String> {
        match &self.registry {
            Some(registry) => transparency::anchor(&self.core, &self.public, &registry.url).await,
            None => Err("no registry is configured".into()),
        }
    }

    /// Sends the registry this node's report versions it does not have yet; returns how many it kept.
    pub async fn send_reports(&self) -> usize {
        match &self.registry {
            Some(registry) => reports::send_unsent(&self.core, &self.public, &registry.url).await,
            None => 0,
        }
    }

    /// Takes in the other nodes' issuance logs as far as their heads the registry kept; returns
    /// how many are taken in that far.
    pub async fn mirror_logs(&self) -> usize {
        match &self.registry {
            Some(registry) => transparency::mirror_all(&self.core, &self.public, &registry.url, &self.peers).await,
            None => 0,
        }
    }

    /// Fetches the directory from the registry now and installs it (a failure keeps the one in
    /// use), then the status lists of its nodes; returns the serial in use.
    pub async fn refresh(&self) -> Result<u64, String> {
        let outcome = match &self.registry {
            Some(registry) => directory::refresh(&self.core, &self.public, &registry.directory_url()).await,
            None => Err("no registry is configured; the cached directory stays in use".into()),
        };
        status::refresh_all(&self.core, &self.peers).await;
        outcome
    }
}
