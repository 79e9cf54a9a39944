//! Creating node directories, API keys, and starting a node's server.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use chrono::{Duration, Utc};

use crate::config::{
    CONFIG_FILE, Config, DatabaseSettings, HttpSettings, KeySettings, LimitSettings, NodeSettings, PeerSettings,
};
use crate::domain::role::Role;
use crate::http::{AppSettings, serve};
use crate::node::{Node, SetupError};
use crate::seal::keys::generate_audit_key;
use crate::seal::{Ed25519Signer, Jwks, Signer as _};
use crate::store::{Store, api_keys};

/// What `hunyu init` needs to create a node directory.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub dir: PathBuf,
    pub code: String,
    pub name: String,
    /// `sqlite://…` (relative to `dir`) or `postgres://…`.
    pub database_url: String,
    pub listen: String,
}

/// File (in the node directory) holding the node's public JWKS, to hand to peers.
pub const PUBLIC_JWKS_FILE: &str = "jwks.json";

/// Creates `dir` with a config, a fresh signing key and audit key (0600) and a migrated database.
pub fn init_node(options: &InitOptions) -> Result<(Config, PathBuf), SetupError> {
    let config_path = options.dir.join(CONFIG_FILE);
    if config_path.exists() {
        return Err(SetupError::Config(crate::config::ConfigError::Invalid {
            key: "dir",
            message: format!("{} already exists; refusing to overwrite a node", config_path.display()),
        }));
    }
    let config = Config {
        node: NodeSettings { code: options.code.clone(), name: options.name.clone() },
        http: HttpSettings { listen: options.listen.clone(), ..HttpSettings::default() },
        database: DatabaseSettings { url: options.database_url.clone(), max_connections: 8 },
        keys: KeySettings { signing: PathBuf::from("keys/signing.pem"), audit: PathBuf::from("keys/audit.key") },
        limits: LimitSettings::default(),
        peers: Vec::new(),
    };
    config.validate()?;
    std::fs::create_dir_all(&options.dir).map_err(|source| io_error(&options.dir, source))?;
    let signer = Ed25519Signer::generate(&options.dir.join(&config.keys.signing), &options.code)?;
    generate_audit_key(&options.dir.join(&config.keys.audit))?;
    write_json(&options.dir.join(PUBLIC_JWKS_FILE), &Jwks { keys: vec![signer.public_jwk()] })?;
    config.save(&config_path)?;
    let loaded = Config::load(&config_path)?;
    Store::open(&loaded.database_url()?, 1)?;
    Ok((loaded, config_path))
}

/// Adds a trusted peer (its code, name and JWKS) to a node's config file.
pub fn add_peer(config_path: &Path, code: &str, name: &str, jwks: &Jwks) -> Result<(), SetupError> {
    let dir = config_path.parent().unwrap_or(Path::new("."));
    let file = PathBuf::from("peers").join(format!("{code}.jwks.json"));
    std::fs::create_dir_all(dir.join("peers")).map_err(|source| io_error(dir, source))?;
    write_json(&dir.join(&file), jwks)?;
    let text = std::fs::read_to_string(config_path).map_err(|source| io_error(config_path, source))?;
    let mut config: Config = toml::from_str(&text).map_err(|e| crate::config::ConfigError::Syntax {
        path: config_path.display().to_string(),
        message: e.to_string(),
    })?;
    config.peers.retain(|p| p.code != code);
    config.peers.push(PeerSettings { code: code.into(), name: name.into(), jwks: file });
    config.save(config_path)?;
    Ok(())
}

/// Creates an API key for `role` and returns the secret (shown once, stored hashed).
pub fn create_api_key(config: &Config, role: Role, label: &str, valid_days: Option<i64>) -> Result<String, SetupError> {
    let store = Store::open(&config.database_url()?, 1)?;
    let now = Utc::now();
    let expires = valid_days.map(|d| (now + Duration::days(d)).naive_utc());
    let label = label.to_owned();
    let (_, secret) = store.write(move |conn| api_keys::create(conn, role, &label, now.naive_utc(), expires))?;
    Ok(secret)
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), SetupError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    std::fs::write(path, text).map_err(|source| io_error(path, source))
}

fn io_error(path: &Path, source: std::io::Error) -> SetupError {
    SetupError::Config(crate::config::ConfigError::Io { path: path.display().to_string(), source })
}

/// A node whose API server is bound and ready to be awaited.
pub struct RunningNode {
    pub node: Arc<Node>,
    pub addr: SocketAddr,
    pub server: Server,
}

impl RunningNode {
    /// Opens the node and binds its API listener (port 0 picks a free port). Call inside a tokio runtime.
    pub fn start(config: &Config) -> Result<Self, SetupError> {
        let node = Arc::new(Node::open(config)?);
        let addr = config.listen_addr()?;
        let listener = TcpListener::bind(addr).map_err(|source| io_error(Path::new(&config.http.listen), source))?;
        let addr = listener.local_addr().map_err(|source| io_error(Path::new(&config.http.listen), source))?;
        let settings = AppSettings { body_limit: config.http.body_limit, workers: config.http.workers };
        let server = serve(node.clone(), listener, &settings)
            .map_err(|source| io_error(Path::new(&config.http.listen), source))?;
        tracing::info!(code = %config.node.code, %addr, "node listening");
        Ok(Self { node, addr, server })
    }

    /// Base URL of the API.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }
}
