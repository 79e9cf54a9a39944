//! Creating node directories, API keys, and starting a node's server.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use chrono::{Duration, Utc};

use crate::config::{
    AssessmentSettings, CONFIG_FILE, Config, DatabaseSettings, DirectorySettings, HttpSettings, KeySettings,
    LimitSettings, NodeSettings, PeerSettings,
};
use crate::domain::access::Action;
use crate::domain::role::Role;
use crate::exchange::Exchange;
use crate::exchange::tls::{
    TlsIdentity, api_server_config, fingerprint_of, generate_identity, install_crypto_provider, server_config,
};
use crate::http::{AppSettings, AppState, serve};
use crate::node::{NodeCore, SetupError};
use crate::registry::{Enrolment, Registry};
use crate::seal::keys::generate_audit_key;
use crate::seal::{Ed25519Signer, Jwks, Signer as _};
use crate::service::ServiceError;
use crate::store::audit::NewAudit;
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
    /// Address of the mutual-TLS peer listener, if the node receives messages.
    pub peer_listen: Option<String>,
    /// Serve the API over HTTPS with the node's own TLS identity (the certificate the directory
    /// pins); an operator may point `http.tls_cert` at a CA-issued certificate instead.
    pub api_tls: bool,
}

/// File (in the node directory) holding the node's public JWKS, to hand to peers.
pub const PUBLIC_JWKS_FILE: &str = "jwks.json";

/// Creates `dir` with a config, a fresh signing key, audit key and TLS identity (keys 0600) and a
/// migrated database.
pub fn init_node(options: &InitOptions) -> Result<(Config, PathBuf), SetupError> {
    let config_path = options.dir.join(CONFIG_FILE);
    if config_path.exists() {
        return Err(SetupError::Config(crate::config::ConfigError::Invalid {
            key: "dir",
            message: format!("{} already exists; refusing to overwrite a node", config_path.display()),
        }));
    }
    let (tls_cert, tls_key) = (PathBuf::from("keys/tls.pem"), PathBuf::from("keys/tls.key"));
    let http = HttpSettings {
        listen: options.listen.clone(),
        tls_cert: options.api_tls.then(|| tls_cert.clone()),
        tls_key: options.api_tls.then(|| tls_key.clone()),
        ..HttpSettings::default()
    };
    let config = Config {
        node: NodeSettings { code: options.code.clone(), name: options.name.clone() },
        http,
        database: DatabaseSettings { url: options.database_url.clone(), max_connections: 8 },
        keys: KeySettings { signing: PathBuf::from("keys/signing.pem"), audit: PathBuf::from("keys/audit.key") },
        limits: LimitSettings::default(),
        directory: None,
        peer: PeerSettings { listen: options.peer_listen.clone(), tls_cert, tls_key, batch: 500 },
        assessment: AssessmentSettings::default(),
        pages: crate::config::PageSettings::default(),
    };
    config.validate()?;
    crate::files::create_private_dir(&options.dir).map_err(|source| io_error(&options.dir, source))?;
    let signer = Ed25519Signer::generate(&options.dir.join(&config.keys.signing), &options.code)?;
    generate_audit_key(&options.dir.join(&config.keys.audit))?;
    generate_identity(
        &options.dir.join(&config.peer.tls_cert),
        &options.dir.join(&config.peer.tls_key),
        &options.code,
    )?;
    write_json(&options.dir.join(PUBLIC_JWKS_FILE), &Jwks { keys: vec![signer.public_jwk()] })?;
    config.save(&config_path)?;
    let loaded = Config::load(&config_path)?;
    Store::open(&loaded.database_url()?, 1)?;
    Ok((loaded, config_path))
}

/// Points a node's config file at a registry: its root key (written beside the config) and URL.
pub fn use_registry(config_path: &Path, root: &crate::seal::Jwk, registry_url: Option<&str>) -> Result<(), SetupError> {
    let dir = config_path.parent().unwrap_or(Path::new("."));
    let root_file = PathBuf::from("registry-root.jwk.json");
    write_json(&dir.join(&root_file), root)?;
    let text = std::fs::read_to_string(config_path).map_err(|source| io_error(config_path, source))?;
    let mut config: Config = toml::from_str(&text).map_err(|e| crate::config::ConfigError::Syntax {
        path: config_path.display().to_string(),
        message: e.to_string(),
    })?;
    let previous = config.directory.take();
    config.directory = Some(DirectorySettings {
        registry_url: registry_url.map(str::to_owned),
        root_key: root_file,
        cache: previous.as_ref().map_or_else(|| PathBuf::from("directory.jws"), |d| d.cache.clone()),
        refresh_seconds: previous.map_or(300, |d| d.refresh_seconds),
    });
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

/// Opens an account for a person from the command line, recorded in the audit log as the
/// command line's doing.
pub fn create_account(config: &Config, name: &str, role: Role, password: &str) -> Result<(), ServiceError> {
    let store = Store::open(&config.database_url().map_err(|e| ServiceError::Unavailable(e.to_string()))?, 1)?;
    let now = Utc::now();
    let entry = NewAudit {
        at: now.naive_utc(),
        request_id: String::new(),
        actor: "cli".into(),
        role: Role::Admin.as_str().into(),
        action: Action::ManageAccounts.name(),
        subject: None,
        object: None,
        purpose: Action::ManageAccounts.default_purpose().into(),
        outcome: String::new(),
    };
    crate::service::accounts::create(&store, entry, name, role, password, now.naive_utc())?;
    Ok(())
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), SetupError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    crate::files::write_private(path, text.as_bytes()).map_err(|source| io_error(path, source))
}

fn io_error(path: &Path, source: std::io::Error) -> SetupError {
    SetupError::Config(crate::config::ConfigError::Io { path: path.display().to_string(), source })
}

/// A node whose listeners are bound and whose background work (delivery, directory refresh) runs.
pub struct RunningNode {
    pub core: Arc<NodeCore>,
    pub exchange: Arc<Exchange>,
    pub addr: SocketAddr,
    /// `https` when the API listener serves TLS, else `http`.
    scheme: &'static str,
    /// Address of the mutual-TLS peer listener, if the node has one.
    pub peer_addr: Option<SocketAddr>,
    /// The listeners, until they are spawned or run.
    servers: Vec<Server>,
    handle: NodeHandle,
}

impl RunningNode {
    /// Opens the node, binds its listeners (port 0 picks a free port) and starts its background
    /// work. Call inside a tokio runtime.
    pub fn start(config: &Config) -> Result<Self, SetupError> {
        install_crypto_provider();
        let core = Arc::new(NodeCore::open(config)?);
        let exchange = Arc::new(Exchange::new(core.clone(), config)?);
        let (listener, addr) = bind(&config.http.listen)?;
        let settings = AppSettings {
            body_limit: config.http.body_limit,
            body_read_timeout: std::time::Duration::from_secs(config.http.body_read_seconds.max(1)),
            max_requests_per_client: config.http.max_requests_per_client,
            workers: config.http.workers,
            session_hours: config.pages.enabled.then_some(config.pages.session_hours),
        };
        let state = Arc::new(AppState::new(exchange.clone(), config));
        let api_tls = match (&config.http.tls_cert, &config.http.tls_key) {
            (Some(cert), Some(key)) => Some(api_server_config(cert, key)?),
            _ => None,
        };
        let scheme = if api_tls.is_some() { "https" } else { "http" };
        let api = serve(state, listener, api_tls, &settings)
            .map_err(|source| io_error(Path::new(&config.http.listen), source))?;
        let identity = TlsIdentity::load(&config.peer.tls_cert, &config.peer.tls_key)?;
        let (peer, peer_addr) = match &config.peer.listen {
            Some(listen) => {
                let (listener, addr) = bind(listen)?;
                let server = crate::http::peer::serve(exchange.clone(), listener, server_config(&identity)?, &settings)
                    .map_err(|source| io_error(Path::new(listen), source))?;
                (Some(server), Some(addr))
            }
            None => (None, None),
        };
        let mut tasks = exchange.start();
        tasks.push(tokio::spawn(keep_months_closed(exchange.clone())));
        tracing::info!(code = %config.node.code, %addr, peer = ?peer_addr, "node listening");
        let servers: Vec<Server> = std::iter::once(api).chain(peer).collect();
        let handle = NodeHandle {
            servers: servers.iter().map(Server::handle).collect(),
            tasks: tasks.iter().map(tokio::task::JoinHandle::abort_handle).collect(),
        };
        Ok(Self { core, exchange, addr, scheme, peer_addr, servers, handle })
    }

    /// Base URL of the API.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Base URL of the peer listener.
    pub fn peer_url(&self) -> Option<String> {
        self.peer_addr.map(|addr| format!("https://{addr}"))
    }

    /// Handle to stop the node.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// Serves in the background (stop it through [`Self::handle`]).
    pub fn spawn(&mut self) {
        for server in self.servers.drain(..) {
            tokio::spawn(server);
        }
    }

    /// Serves until a listener stops (Ctrl-C, SIGTERM or a handle), then stops the rest.
    pub async fn run(mut self) -> std::io::Result<()> {
        let mut servers = tokio::task::JoinSet::new();
        for server in self.servers.drain(..) {
            servers.spawn(server);
        }
        let first = servers.join_next().await;
        self.handle.stop(true).await;
        first.map_or(Ok(()), |stopped| stopped.map_err(std::io::Error::other)?)
    }
}

/// How often the node looks whether last month is due to close (结账).
const CLOSING_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// Every this many looks, the closed months are assessed again for facts that arrived late.
const REVISING_ROUNDS: u32 = 60;

/// The node's closing schedule: last month closed on its cut-off day, the closed months' reports
/// made again when late facts changed them, and what that made sent to the registry.
async fn keep_months_closed(exchange: Arc<Exchange>) {
    for round in 0u32.. {
        tokio::time::sleep(CLOSING_EVERY).await;
        let core = exchange.core().clone();
        if core.trust.current().registry().is_none() {
            continue;
        }
        let revise = round % REVISING_ROUNDS == 0;
        let closing =
            tokio::task::spawn_blocking(move || crate::service::reports::close_due(&core, revise, Utc::now()));
        match closing.await.map_err(|e| e.to_string()).and_then(|closed| closed.map_err(|e| e.to_string())) {
            Ok(made) if made.is_empty() => {}
            Ok(made) => {
                for report in &made {
                    tracing::info!(month = %report.claims.month, ver = report.claims.ver, "month closed: report signed");
                }
                exchange.send_reports().await;
            }
            Err(error) => tracing::error!(%error, "months not closed; trying again in a minute"),
        }
    }
}

/// Stops a running node: its listeners and its background work.
#[derive(Clone)]
pub struct NodeHandle {
    servers: Vec<ServerHandle>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl NodeHandle {
    /// Stops the listeners (after in-flight requests when `graceful`) and the background work.
    pub async fn stop(&self, graceful: bool) {
        for task in &self.tasks {
            task.abort();
        }
        for server in &self.servers {
            server.stop(graceful).await;
        }
    }
}

fn bind(listen: &str) -> Result<(TcpListener, SocketAddr), SetupError> {
    let listener = TcpListener::bind(listen).map_err(|source| io_error(Path::new(listen), source))?;
    let addr = listener.local_addr().map_err(|source| io_error(Path::new(listen), source))?;
    Ok((listener, addr))
}

/// The enrolment of a node as configured: its signing key, TLS fingerprint and listener URLs.
pub fn enrolment(config: &Config, api_url: &str, peer_url: &str, not_before: i64) -> Result<Enrolment, SetupError> {
    let signer = Ed25519Signer::load(&config.keys.signing, &config.node.code)?;
    Ok(Enrolment {
        code: config.node.code.clone(),
        name: config.node.name.clone(),
        api_url: api_url.into(),
        peer_url: peer_url.into(),
        tls_sha256: fingerprint_of(&config.peer.tls_cert)?,
        keys: vec![signer.public_jwk()],
        not_before,
    })
}

/// Enrols running nodes in `registry`, publishes, and puts the new directory in use on each of
/// them (what their next refresh would do). Returns the directory.
pub fn federate(registry: &mut Registry, nodes: &[(&Config, &RunningNode)]) -> Result<String, SetupError> {
    let failed = |e: crate::registry::RegistryError| SetupError::Directory(e.to_string());
    for (config, running) in nodes {
        let peer_url = running.peer_url().unwrap_or_else(|| format!("https://{}", running.addr));
        // Keys count from the start of time: the node may have signed before it was enrolled.
        registry.enrol(enrolment(config, &running.url(), &peer_url, 0)?).map_err(failed)?;
    }
    let token = registry.publish(Utc::now()).map_err(failed)?;
    for (_, running) in nodes {
        running.core.install_directory(&token, true).map_err(|e| SetupError::Directory(e.to_string()))?;
    }
    Ok(token)
}

/// What `hunyu restore` did: the audit log of the restored database, as checked.
#[derive(Debug, Clone)]
pub struct Restored {
    pub entries: i64,
    pub head: String,
}

/// Restores the node of `config` from a backup: on SQLite, copies `from` into the place of the
/// database (which must have been moved aside; a restore never overwrites one); on PostgreSQL,
/// where the operator restored with `pg_restore`, only what follows. Either way the database is
/// migrated, its audit chain checked, and it is marked restored, so that on its next start the node
/// takes back from each peer what it holds before it sends that peer anything.
pub fn restore_node(config: &Config, from: Option<&Path>) -> Result<Restored, SetupError> {
    let url = config.database_url()?;
    match (url.backend(), from) {
        (crate::store::Backend::Sqlite, Some(from)) => {
            let target = Path::new(url.target());
            for file in [target.to_path_buf(), PathBuf::from(format!("{}-wal", target.display()))] {
                if file.exists() {
                    return Err(SetupError::Restore(format!(
                        "{} exists: move the damaged database aside first",
                        file.display()
                    )));
                }
            }
            crate::files::copy_private_new(from, target)
                .map_err(|e| SetupError::Restore(format!("{}: {e}", target.display())))?;
        }
        (crate::store::Backend::Sqlite, None) => {}
        (crate::store::Backend::Postgres, Some(_)) => {
            return Err(SetupError::Restore(
                "restore PostgreSQL with pg_restore, then run `hunyu restore --config` without --from".into(),
            ));
        }
        (crate::store::Backend::Postgres, None) => {}
    }
    let store = Store::open(&url, 1)?;
    let chain = store
        .read(crate::store::audit::verify_chain)?
        .map_err(|broken| SetupError::Restore(format!("the restored audit log is broken: {broken}")))?;
    store.write(|conn| crate::store::rejoin::mark_restored(conn, Utc::now().naive_utc()))?;
    Ok(Restored { entries: chain.entries, head: chain.head })
}
