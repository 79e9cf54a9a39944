//! One typed node configuration: a TOML file, then `HUNYU_*` environment overrides, validated at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::domain::assessment::{AssessmentRules, Targets, Weights};
use crate::domain::calendar::WorkCalendar;
use crate::domain::division::parse_node_code;
use crate::store::DatabaseUrl;

/// Name of the config file `hunyu init` writes in a node directory.
pub const CONFIG_FILE: &str = "hunyu.toml";

/// Errors reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    #[error("invalid setting {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

/// A node's whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub node: NodeSettings,
    #[serde(default)]
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub keys: KeySettings,
    /// Requests per API key and minute on the endpoints that read personal data.
    #[serde(default)]
    pub limits: LimitSettings,
    /// The trust directory: without it a node trusts only itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySettings>,
    /// The mutual-TLS listener and identity for node-to-node exchange.
    pub peer: PeerSettings,
    /// The dual assessment: working days, when a month closes, targets and weights.
    #[serde(default)]
    pub assessment: AssessmentSettings,
    /// The pages for people, on the API listener.
    #[serde(default)]
    pub pages: PageSettings,
}

/// The pages for people (sign-in, the worker's scan page, the officer's forms, …).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PageSettings {
    /// Serve them; a node that only exchanges with machines turns them off.
    pub enabled: bool,
    /// Hours a session lasts from sign-in (1–24).
    pub session_hours: i64,
}

impl Default for PageSettings {
    fn default() -> Self {
        Self { enabled: true, session_hours: 10 }
    }
}

/// Identity of the node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSettings {
    /// 12-digit division code of the jurisdiction (county or township level).
    pub code: String,
    /// Name of the jurisdiction, e.g. 河北省张家口市怀安县柴沟堡镇.
    pub name: String,
}

/// The API listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Seconds a client may take to send a request body: a slow sender holds a connection no longer.
    pub body_read_seconds: u64,
    /// Requests one address may have in progress at once, on each listener.
    pub max_requests_per_client: usize,
    /// Worker threads (default: one per core).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// Seconds a resolved API key is trusted before the database is asked again: the longest a
    /// key revoked from the command line may still be used.
    pub key_cache_seconds: u64,
    /// PEM certificate (chain) of the API listener: with `tls_key`, the API is served over HTTPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PKCS#8 PEM key of `tls_cert` (mode 0600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8701".into(),
            body_limit: 64 * 1024,
            body_read_seconds: 10,
            max_requests_per_client: 64,
            workers: None,
            key_cache_seconds: 10,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Per-key request limits (requests per minute, also the burst).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// `POST /api/v1/verify`.
    pub verify_per_minute: u32,
    /// `POST /api/v1/employer/confirm`.
    pub confirm_per_minute: u32,
    /// `POST /api/v1/lookup`.
    pub lookup_per_minute: u32,
    /// `GET /api/v1/messages`: pages of up to 1,000 messages, so also a bound on bulk export.
    pub messages_per_minute: u32,
    /// `GET /api/v1/ledgers/{book}` and `GET /api/v1/worklists/{list}`: pages of up to 1,000
    /// entries naming persons.
    pub ledgers_per_minute: u32,
    /// `POST /sign-in` per client address (the pages).
    pub sign_in_per_minute: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            verify_per_minute: 600,
            confirm_per_minute: 120,
            lookup_per_minute: 120,
            messages_per_minute: 300,
            ledgers_per_minute: 300,
            sign_in_per_minute: 20,
        }
    }
}

impl LimitSettings {
    /// No per-key limit worth the name: for the benchmark and the soak, which measure the node,
    /// not its abuse limits.
    pub fn unlimited() -> Self {
        Self {
            verify_per_minute: u32::MAX,
            confirm_per_minute: u32::MAX,
            lookup_per_minute: u32::MAX,
            messages_per_minute: u32::MAX,
            ledgers_per_minute: u32::MAX,
            sign_in_per_minute: u32::MAX,
        }
    }
}

/// The database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (relative to the config file) or `postgres://…`.
    pub url: String,
    /// Connections for reads; the writer thread holds one more.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_max_connections() -> u32 {
    8
}

/// Key files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    /// PKCS#8 PEM Ed25519 signing key (mode 0600), relative to the config file.
    pub signing: PathBuf,
    /// Audit key (mode 0600): keys the hashes that name persons in the audit log.
    pub audit: PathBuf,
}

/// Where the trust directory comes from and where its last good copy is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySettings {
    /// Base URL of the registry (the directory is `GET {url}/directory`); none: the cached copy only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_url: Option<String>,
    /// The registry root public key, as a JWK file (relative to the config file).
    pub root_key: PathBuf,
    /// The last good directory (compact JWS), for offline verification.
    #[serde(default = "default_directory_cache")]
    pub cache: PathBuf,
    /// Seconds between fetches from the registry.
    #[serde(default = "default_refresh_seconds")]
    pub refresh_seconds: u64,
}

fn default_directory_cache() -> PathBuf {
    PathBuf::from("directory.jws")
}

fn default_refresh_seconds() -> u64 {
    300
}

/// The peer (node-to-node) listener and the TLS identity it presents, also as a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSettings {
    /// Address of the mutual-TLS listener; none: this node only sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// TLS certificate (PEM), whose SHA-256 the directory lists.
    pub tls_cert: PathBuf,
    /// TLS private key (PKCS#8 PEM, mode 0600).
    pub tls_key: PathBuf,
    /// Most messages sent in one request.
    #[serde(default = "default_batch")]
    pub batch: usize,
}

fn default_batch() -> usize {
    500
}

/// The dual assessment (双向考核).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssessmentSettings {
    /// A holiday calendar (`date,kind,name` CSV) laid over the shipped one: next year's holidays,
    /// once the State Council publishes them, without a new build; a year it covers replaces the
    /// shipped year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<PathBuf>,
    /// Day of the next month on which a month is closed and reported (1–28).
    pub cut_off_day: u32,
    /// Weight of the origin side in the combined score.
    pub origin_weight: u16,
    /// Weight of the residence side, the primary one: at least the origin's.
    pub residence_weight: u16,
    /// Targets by indicator code as fractions, e.g. `issuance_rate = 0.85`, replacing the seed's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, f64>,
}

impl Default for AssessmentSettings {
    fn default() -> Self {
        let weights = Weights::default();
        Self {
            calendar: None,
            cut_off_day: 10,
            origin_weight: weights.origin,
            residence_weight: weights.residence,
            targets: BTreeMap::new(),
        }
    }
}

impl AssessmentSettings {
    /// The weights and targets, checked without IO.
    fn checked(&self) -> Result<(Weights, Targets), ConfigError> {
        let invalid = |key, message: String| ConfigError::Invalid { key, message };
        if !(1..=28).contains(&self.cut_off_day) {
            return Err(invalid("assessment.cut_off_day", "must be a day from 1 to 28".into()));
        }
        let weights = Weights::checked(self.origin_weight, self.residence_weight)
            .map_err(|e| invalid("assessment.residence_weight", e.into()))?;
        let targets = Targets::with_overrides(&self.targets).map_err(|e| invalid("assessment.targets", e))?;
        Ok((weights, targets))
    }

    /// The rules these settings give; the calendar file is read here.
    pub fn rules(&self) -> Result<AssessmentRules, ConfigError> {
        let (weights, targets) = self.checked()?;
        let calendar = match &self.calendar {
            None => shipped()?.clone(),
            Some(path) => {
                let shown = path.display().to_string();
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: shown.clone(), source })?;
                let newer = WorkCalendar::from_csv(&text)
                    .map_err(|e| ConfigError::Syntax { path: shown, message: e.to_string() })?;
                shipped()?.overlaid(&newer)
            }
        };
        Ok(AssessmentRules { calendar: std::sync::Arc::new(calendar), targets, weights, cut_off_day: self.cut_off_day })
    }
}

/// The calendar shipped in the binary.
fn shipped() -> Result<&'static WorkCalendar, ConfigError> {
    WorkCalendar::shipped().map_err(|e| ConfigError::Invalid { key: "assessment.calendar", message: e.to_string() })
}

impl Config {
    /// Reads `path`, applies `HUNYU_DATABASE_URL`, `HUNYU_LISTEN` and `HUNYU_PEER_LISTEN`, resolves relative paths, validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: shown.clone(), source })?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| ConfigError::Syntax { path: shown, message: e.to_string() })?;
        if let Ok(url) = std::env::var("HUNYU_DATABASE_URL") {
            config.database.url = url;
        }
        if let Ok(listen) = std::env::var("HUNYU_LISTEN") {
            config.http.listen = listen;
        }
        if let Ok(listen) = std::env::var("HUNYU_PEER_LISTEN") {
            config.peer.listen = Some(listen);
        }
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        config.validate()?;
        Ok(config)
    }

    /// Writes the config as TOML.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| ConfigError::Syntax { path: path.display().to_string(), message: e.to_string() })?;
        crate::files::write_private(path, text.as_bytes())
            .map_err(|source| ConfigError::Io { path: path.display().to_string(), source })
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.keys.signing);
        resolve(&mut self.keys.audit);
        resolve(&mut self.peer.tls_cert);
        resolve(&mut self.peer.tls_key);
        self.http.tls_cert.iter_mut().chain(self.http.tls_key.iter_mut()).for_each(resolve);
        self.assessment.calendar.iter_mut().for_each(resolve);
        if let Some(directory) = &mut self.directory {
            resolve(&mut directory.root_key);
            resolve(&mut directory.cache);
        }
        if let Some(path) = self.database.url.strip_prefix("sqlite://")
            && Path::new(path).is_relative()
        {
            self.database.url = format!("sqlite://{}", base.join(path).display());
        }
    }

    /// Checks every setting that can be checked without IO.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: String| ConfigError::Invalid { key, message };
        parse_node_code(&self.node.code).map_err(|e| invalid("node.code", e.to_string()))?;
        if self.node.name.trim().is_empty() {
            return Err(invalid("node.name", "must not be empty".into()));
        }
        self.database_url()?;
        self.listen_addr()?;
        if self.http.tls_cert.is_some() != self.http.tls_key.is_some() {
            return Err(invalid("http.tls_cert", "set both http.tls_cert and http.tls_key, or neither".into()));
        }
        if self.http.max_requests_per_client == 0 {
            return Err(invalid("http.max_requests_per_client", "must be at least 1".into()));
        }
        if self.http.body_limit < 1024 {
            return Err(invalid("http.body_limit", "must be at least 1024 bytes".into()));
        }
        let limits = [
            self.limits.verify_per_minute,
            self.limits.confirm_per_minute,
            self.limits.lookup_per_minute,
            self.limits.messages_per_minute,
            self.limits.ledgers_per_minute,
            self.limits.sign_in_per_minute,
        ];
        if limits.contains(&0) {
            return Err(invalid("limits", "every limit must be at least 1 request per minute".into()));
        }
        if let Some(listen) = &self.peer.listen {
            listen.parse::<SocketAddr>().map_err(|e| invalid("peer.listen", e.to_string()))?;
        }
        if self.peer.batch == 0 {
            return Err(invalid("peer.batch", "must be at least 1".into()));
        }
        if self.directory.as_ref().is_some_and(|d| d.refresh_seconds == 0) {
            return Err(invalid("directory.refresh_seconds", "must be at least 1".into()));
        }
        if !(1..=24).contains(&self.pages.session_hours) {
            return Err(invalid("pages.session_hours", "must be from 1 to 24 hours".into()));
        }
        self.assessment.checked()?;
        Ok(())
    }

    /// The parsed database URL.
    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        DatabaseUrl::parse(&self.database.url)
            .map_err(|e| ConfigError::Invalid { key: "database.url", message: e.to_string() })
    }

    /// The parsed listen address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.http
            .listen
            .parse()
            .map_err(|e: std::net::AddrParseError| ConfigError::Invalid { key: "http.listen", message: e.to_string() })
    }
}
