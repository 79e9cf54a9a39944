//! The registry (信任名录管理): the province or national role that enrols nodes, retires or marks
//! their keys compromised, and publishes the signed trust directory.
//!
//! Its state is one JSON file beside its root key; every change is published at once as a new
//! directory with a higher serial, written atomically, so a crash leaves the old one or the new one.
//!
//! It also keeps each node's signed tree heads (签发透明日志树头): a head is kept only if it
//! extends the one held, so that a node's issuance log or audit chain cut back or forked after it
//! was anchored here is refused and shows when the node checks its audit log against this copy.
//!
//! As the nodes' superior (上级) it keeps their signed monthly reports, every version, each kept
//! only as the next of its node's month; and from the latest of each it makes what only a superior
//! can: the roll-up by county, city and province, and the cross-check of each origin against each
//! residence.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use actix_web::dev::Server;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contract::{Contract, Kind};
use crate::domain::assessment::{self, Month, REPORT_TYP, ReportClaims, RollUpLevel, Targets};
use crate::domain::claims::TreeHeadClaims;
use crate::domain::directory::{KeyWindow, NodeStatus, is_acceptable_url};
use crate::domain::division::parse_node_code;
use crate::domain::error::Coded as _;
use crate::domain::error::ErrorCode;
use crate::http::error::ApiError;
use crate::node::trust::write_atomically;
use crate::seal::directory::{DirectoryClaims, DirectoryKey, NodeEntry, sign_directory};
use crate::seal::jws::MAX_REPORT_LEN;
use crate::seal::records::open_record;
use crate::seal::transparency::{HeadRefusal, TreeHeadSubmission, extends, open_tree_head};
use crate::seal::{Ed25519Signer, Jwk, Jwks, KeyError, Signer as _, TrustStore, VerifyingKey, read_stored};

/// State file of a registry.
pub const STATE_FILE: &str = "registry.json";
/// The last published directory (compact JWS), as served.
pub const DIRECTORY_FILE: &str = "directory.jws";
/// The root signing key (PKCS#8 PEM, mode 0600).
pub const ROOT_KEY_FILE: &str = "root.pem";
/// The root public key, to configure on every node.
pub const ROOT_JWK_FILE: &str = "root.jwk.json";
/// Held while a directory is published.
pub const LOCK_FILE: &str = "registry.lock";
/// Folder of the nodes' tree heads: `<code>.jws` the newest kept, `<code>.log` the first head kept
/// of each size of the node's log, a line each.
pub const TREE_HEADS_DIR: &str = "tree-heads";
/// Folder of the nodes' monthly reports: `<YYYY-MM>/<code>.log`, every version a node sent of
/// that month, a line each in the order kept.
pub const REPORTS_DIR: &str = "reports";
/// Largest tree head submission read (a head and a proof of at most 128 hashes).
pub const MAX_SUBMISSION: usize = 64 * 1024;

/// Errors of registry commands.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{0}")]
    Invalid(String),
    #[error("no node {0} is enrolled")]
    UnknownNode(String),
    #[error("no key {0} is enrolled")]
    UnknownKey(String),
    #[error("the registry was changed by another command (now at serial {0}) since this one read it; run it again")]
    Changed(u64),
}

/// What the registry keeps between commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryState {
    /// 12-digit code of the registry (e.g. a province's 440000000000).
    pub code: String,
    pub name: String,
    /// Seconds a published directory is fresh; verifiers warn after that.
    pub lifetime_seconds: i64,
    /// Serial of the last publication.
    pub serial: u64,
    pub nodes: Vec<NodeEntry>,
}

/// A node to enrol, or the new facts of an enrolled one.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub code: String,
    pub name: String,
    pub api_url: String,
    pub peer_url: String,
    /// SHA-256 (hex) of the node's TLS certificate.
    pub tls_sha256: String,
    /// Signing keys; keys already enrolled keep their windows.
    pub keys: Vec<Jwk>,
    /// When the new keys may start signing.
    pub not_before: i64,
}

/// A registry directory opened for a command.
pub struct Registry {
    dir: PathBuf,
    state: RegistryState,
    root: Ed25519Signer,
}

impl Registry {
    /// Creates a registry in `dir` with a fresh root key; refuses to overwrite one.
    pub fn init(dir: &Path, code: &str, name: &str, lifetime_seconds: i64) -> Result<Self, RegistryError> {
        if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegistryError::Invalid(format!("registry code must be 12 digits (got {code:?})")));
        }
        if lifetime_seconds < 60 {
            return Err(RegistryError::Invalid("directory lifetime must be at least 60 seconds".into()));
        }
        if dir.join(STATE_FILE).exists() {
            return Err(RegistryError::Invalid(format!("{} already holds a registry", dir.display())));
        }
        crate::files::create_private_dir(dir).map_err(|e| io(dir, &e))?;
        let root = Ed25519Signer::generate(&dir.join(ROOT_KEY_FILE), code)?;
        write_file(&dir.join(ROOT_JWK_FILE), &serde_json::to_string_pretty(&root.public_jwk()).unwrap_or_default())?;
        let state =
            RegistryState { code: code.into(), name: name.into(), lifetime_seconds, serial: 0, nodes: Vec::new() };
        let mut registry = Self { dir: dir.to_owned(), state, root };
        registry.publish(Utc::now())?;
        Ok(registry)
    }

    /// Opens the registry in `dir`.
    pub fn open(dir: &Path) -> Result<Self, RegistryError> {
        let state = Self::read_state(dir)?;
        let root = Ed25519Signer::load(&dir.join(ROOT_KEY_FILE), &state.code)?;
        Ok(Self { dir: dir.to_owned(), state, root })
    }

    fn read_state(dir: &Path) -> Result<RegistryState, RegistryError> {
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, &e))?;
        serde_json::from_str(&text)
            .map_err(|e| RegistryError::Io { path: path.display().to_string(), message: e.to_string() })
    }

    /// The root public key that nodes are configured with.
    pub fn root_jwk(&self) -> Jwk {
        self.root.public_jwk()
    }

    /// The current state.
    pub fn state(&self) -> &RegistryState {
        &self.state
    }

    /// Enrols a node, or updates its name, URLs and TLS identity and adds new keys.
    pub fn enrol(&mut self, enrolment: Enrolment) -> Result<(), RegistryError> {
        parse_node_code(&enrolment.code).map_err(|e| RegistryError::Invalid(e.to_string()))?;
        if !enrolment.peer_url.starts_with("https://") {
            return Err(RegistryError::Invalid("the peer URL must be https://".into()));
        }
        if !is_acceptable_url(&enrolment.api_url) {
            return Err(RegistryError::Invalid(
                "the API URL must be https:// (plain http:// only on this machine: 127.0.0.1, localhost)".into(),
            ));
        }
        if enrolment.tls_sha256.len() != 64 || !enrolment.tls_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RegistryError::Invalid("the TLS fingerprint must be 64 hex digits (SHA-256)".into()));
        }
        for jwk in &enrolment.keys {
            VerifyingKey::from_jwk(jwk)?;
            if jwk.kid.split_once('#').map(|(node, _)| node) != Some(enrolment.code.as_str()) {
                return Err(RegistryError::Invalid(format!(
                    "key {} does not belong to node {}",
                    jwk.kid, enrolment.code
                )));
            }
        }
        let position = self.state.nodes.iter().position(|n| n.code == enrolment.code);
        let entry = match position {
            Some(i) => &mut self.state.nodes[i],
            None => {
                self.state.nodes.push(NodeEntry {
                    code: enrolment.code.clone(),
                    name: String::new(),
                    api_url: String::new(),
                    peer_url: String::new(),
                    tls_sha256: String::new(),
                    status: NodeStatus::Active,
                    keys: Vec::new(),
                });
                self.state.nodes.last_mut().ok_or_else(|| RegistryError::Invalid("empty registry".into()))?
            }
        };
        entry.name = enrolment.name;
        entry.api_url = enrolment.api_url;
        entry.peer_url = enrolment.peer_url;
        entry.tls_sha256 = enrolment.tls_sha256.to_ascii_lowercase();
        entry.status = NodeStatus::Active;
        for jwk in enrolment.keys {
            if !entry.keys.iter().any(|k| k.jwk.kid == jwk.kid) {
                let window = KeyWindow { not_before: enrolment.not_before, ..KeyWindow::default() };
                entry.keys.push(DirectoryKey { jwk, window });
            }
        }
        self.state.nodes.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(())
    }

    /// Retires a key at `at`: what it signed until then stays valid.
    pub fn retire_key(&mut self, kid: &str, at: i64) -> Result<(), RegistryError> {
        self.key_mut(kid)?.window.not_after = Some(at);
        Ok(())
    }

    /// Marks a key compromised at `at`: everything it signed from then on is refused.
    pub fn compromise_key(&mut self, kid: &str, at: i64) -> Result<(), RegistryError> {
        let window = &mut self.key_mut(kid)?.window;
        window.compromised_at = Some(window.compromised_at.map_or(at, |t| t.min(at)));
        Ok(())
    }

    /// Retires a node: it receives nothing more; its keys still verify what they signed in their windows.
    pub fn retire_node(&mut self, code: &str) -> Result<(), RegistryError> {
        let node = self
            .state
            .nodes
            .iter_mut()
            .find(|n| n.code == code)
            .ok_or_else(|| RegistryError::UnknownNode(code.into()))?;
        node.status = NodeStatus::Retired;
        Ok(())
    }

    fn key_mut(&mut self, kid: &str) -> Result<&mut DirectoryKey, RegistryError> {
        self.state
            .nodes
            .iter_mut()
            .flat_map(|n| n.keys.iter_mut())
            .find(|k| k.jwk.kid == kid)
            .ok_or_else(|| RegistryError::UnknownKey(kid.into()))
    }

    /// Signs the current state as a new directory (serial + 1, fresh lifetime), writes it and the state.
    pub fn publish(&mut self, now: DateTime<Utc>) -> Result<String, RegistryError> {
        let claims = DirectoryClaims {
            iss: self.state.code.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + self.state.lifetime_seconds,
            serial: self.state.serial + 1,
            nodes: self.state.nodes.clone(),
        };
        let contract = Contract::new().map_err(|e| RegistryError::Invalid(e.to_string()))?;
        let payload = serde_json::to_value(&claims).map_err(|e| RegistryError::Invalid(e.to_string()))?;
        if let Some(violation) = contract.violation(Kind::Directory, &payload) {
            return Err(RegistryError::Invalid(format!("the directory would break its schema: {violation}")));
        }
        let token = sign_directory(&self.root, &claims);
        // Commands read, change and publish: one publication at a time, and none over a state
        // that another command published after this one read it (its change would be lost).
        let lock_path = self.dir.join(LOCK_FILE);
        let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path);
        let lock = lock.map_err(|e| io(&lock_path, &e))?;
        lock.lock().map_err(|e| io(&lock_path, &e))?;
        let published = Self::read_state(&self.dir).map_or(0, |state| state.serial);
        if published != self.state.serial {
            return Err(RegistryError::Changed(published));
        }
        self.state.serial = claims.serial;
        // The state first: a crash in between leaves a state whose serial the next publication passes.
        write_file(&self.dir.join(STATE_FILE), &serde_json::to_string_pretty(&self.state).unwrap_or_default())?;
        write_file(&self.dir.join(DIRECTORY_FILE), &token)?;
        tracing::info!(serial = claims.serial, nodes = claims.nodes.len(), "trust directory published");
        Ok(token)
    }
}

fn io(path: &Path, e: &std::io::Error) -> RegistryError {
    RegistryError::Io { path: path.display().to_string(), message: e.to_string() }
}

fn write_file(path: &Path, text: &str) -> Result<(), RegistryError> {
    write_atomically(path, text).map_err(|e| io(path, &e))
}

/// The directory a registry serves, and the tree heads it keeps.
struct Published {
    dir: PathBuf,
    contract: Contract,
    /// One tree head kept at a time: each is checked against the one held.
    keeping: Mutex<()>,
    /// One report kept at a time: each is checked against the versions held.
    reporting: Mutex<()>,
    /// The keys of the enrolled nodes, as of the state file's modification time and length: every
    /// node submits a head each minute, and a province's state holds thousands of keys.
    enrolled: Mutex<Option<(StateStamp, Arc<TrustStore>)>>,
}

/// When the registry's state file was last written, and its length.
type StateStamp = (std::time::SystemTime, u64);

impl Published {
    /// Keeps a node's new tree head if it verifies under the node's enrolled keys and extends
    /// the head held.
    fn keep(&self, submission: &TreeHeadSubmission) -> Result<(), ErrorCode> {
        let trust = self.enrolled_nodes()?;
        let refused = |node: &str, refusal: HeadRefusal| {
            tracing::warn!(node, %refusal, "tree head refused");
            match refusal {
                HeadRefusal::Unverified(_) => ErrorCode::TreeHeadInvalid,
                other => ErrorCode::TreeHeadConflict { reason: other.to_string() },
            }
        };
        let head = open_tree_head(&submission.head, &trust, &self.contract).map_err(|r| refused("?", r))?;
        let node = head.iss.clone();
        if trust.active_node(&node).is_none() {
            return Err(refused(&node, HeadRefusal::Unverified("unknown_issuer")));
        }
        let _one_at_a_time = self.keeping.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let heads = self.dir.join(TREE_HEADS_DIR);
        let newest = heads.join(format!("{node}.jws"));
        // What this registry kept was checked before it was kept.
        let held: Option<TreeHeadClaims> = std::fs::read_to_string(&newest).ok().and_then(|token| read_stored(&token));
        if let Some(held) = &held {
            extends(held, &head, &submission.consistency).map_err(|r| refused(&node, r))?;
        }
        // The history keeps each size of the log once; the newest head is always kept.
        let grew = held.is_none_or(|held| held.size != head.size);
        let kept = crate::files::create_private_dir(&heads)
            .and_then(
                |()| if grew { append_line(&heads.join(format!("{node}.log")), &submission.head) } else { Ok(()) },
            )
            .and_then(|()| write_atomically(&newest, &submission.head));
        kept.map_err(|e| {
            tracing::error!(error = %e, node, "tree head not written");
            ErrorCode::Internal
        })?;
        tracing::info!(node, size = head.size, audit_seq = head.audit.seq, "tree head kept");
        Ok(())
    }

    /// Keeps a node's signed report if it verifies under the node's enrolled keys, is addressed to
    /// this registry and is the next version of the node's month; one already kept is kept again.
    fn keep_report(&self, token: &str) -> Result<ReportClaims, ErrorCode> {
        let trust = self.enrolled_nodes()?;
        let report: ReportClaims =
            open_record(token, REPORT_TYP, Kind::Report, &trust, &self.contract).map_err(|r| {
                tracing::warn!(reason = r.code(), "report refused");
                ErrorCode::ReportInvalid
            })?;
        let node = report.iss.clone();
        if trust.active_node(&node).is_none() || trust.registry() != Some(report.aud.as_str()) {
            tracing::warn!(node, "report refused: not an active node, or addressed to another registry");
            return Err(ErrorCode::ReportInvalid);
        }
        let _one_at_a_time = self.reporting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let month = self.dir.join(REPORTS_DIR).join(report.month.to_string());
        let log = month.join(format!("{node}.log"));
        let held = read_reports(&log);
        if held.iter().any(|h| h.jti == report.jti) {
            return Ok(report);
        }
        let next = u32::try_from(held.len()).unwrap_or(u32::MAX).saturating_add(1);
        let supersedes = held.last().map(|h| h.jti.as_str());
        if report.ver != next || report.supersedes.as_deref() != supersedes {
            let reason =
                format!("holds {} version(s) of {node}'s {}, got version {}", held.len(), report.month, report.ver);
            tracing::warn!(node, %reason, "report refused");
            return Err(ErrorCode::ReportVersion { reason });
        }
        crate::files::create_private_dir(&self.dir.join(REPORTS_DIR))
            .and_then(|()| crate::files::create_private_dir(&month))
            .and_then(|()| append_line(&log, token.trim()))
            .map_err(|e| {
                tracing::error!(error = %e, node, "report not written");
                ErrorCode::Internal
            })?;
        tracing::info!(node, month = %report.month, ver = report.ver, "report kept");
        Ok(report)
    }

    /// Every version kept of every node's report of `month`, each node's in order.
    fn reports_of(&self, month: Month) -> Vec<ReportClaims> {
        let dir = self.dir.join(REPORTS_DIR).join(month.to_string());
        let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut logs: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        logs.sort();
        logs.iter().flat_map(|log| read_reports(log)).collect()
    }

    /// The enrolled nodes and their keys, read again only when the state file has changed (an
    /// enrolment, a key retired or compromised, a node retired).
    fn enrolled_nodes(&self) -> Result<Arc<TrustStore>, ErrorCode> {
        let unreadable = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "registry state unreadable");
            ErrorCode::Internal
        };
        let stamp = std::fs::metadata(self.dir.join(STATE_FILE))
            .and_then(|m| Ok((m.modified()?, m.len())))
            .map_err(|e| unreadable(&e))?;
        let mut cached = self.enrolled.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, trust)) = cached.as_ref()
            && *at == stamp
        {
            return Ok(trust.clone());
        }
        // Read after the stamp was taken: what is read is at least as new as the stamp says.
        let state = Registry::read_state(&self.dir).map_err(|e| unreadable(&e))?;
        let enrolled = DirectoryClaims { iss: state.code, iat: 0, exp: 0, serial: state.serial, nodes: state.nodes };
        let trust = TrustStore::from_directory(&enrolled, &TrustStore::default()).map_err(|_| ErrorCode::Internal)?;
        let trust = Arc::new(trust);
        *cached = Some((stamp, trust.clone()));
        Ok(trust)
    }
}

/// The reports in a node's log of one month; what this registry kept was checked before it was kept.
fn read_reports(log: &Path) -> Vec<ReportClaims> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().filter_map(read_stored).collect()
}

/// Appends `line` to the file at `path` (created 0600) and syncs it.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_data()
}

/// Serves the registry's published directory (`GET /directory`), its root key, and the nodes'
/// tree heads (`POST /tree-heads`, `GET /tree-heads/{code}`) on `listener`.
pub fn serve(dir: &Path, listener: TcpListener) -> std::io::Result<Server> {
    let contract = Contract::new().map_err(std::io::Error::other)?;
    let published = web::Data::new(Published {
        dir: dir.to_owned(),
        contract,
        keeping: Default::default(),
        reporting: Default::default(),
        enrolled: Default::default(),
    });
    Ok(actix_web::HttpServer::new(move || {
        let json = web::JsonConfig::default()
            .limit(MAX_SUBMISSION)
            .error_handler(|e, _| crate::http::json_error(e, MAX_SUBMISSION).into());
        actix_web::App::new()
            .app_data(published.clone())
            .app_data(json)
            .service(directory)
            .service(root_key)
            .service(keep_tree_head)
            .service(tree_head)
            .service(keep_report)
            .service(month_reports)
            .service(roll_up)
            .service(cross_check)
            .service(healthz)
    })
    .workers(1)
    .listen(listener)?
    .run())
}

/// Keeps a node's signed tree head if it extends the one held (`204`); else problem+json.
#[post("/tree-heads")]
async fn keep_tree_head(
    published: web::Data<Published>,
    body: web::Json<TreeHeadSubmission>,
) -> Result<HttpResponse, ApiError> {
    match web::block(move || published.keep(&body)).await {
        Ok(Ok(())) => Ok(HttpResponse::NoContent().finish()),
        Ok(Err(code)) => Err(ApiError::from_code(&code)),
        Err(_) => Err(ApiError::from_code(&ErrorCode::Internal)),
    }
}

/// Keeps a node's signed monthly report (`application/jwt`) if it is the next version of its
/// month (`204`; again for one already kept); else problem+json.
#[post("/reports")]
async fn keep_report(published: web::Data<Published>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    if body.len() > MAX_REPORT_LEN {
        return Err(ApiError::from_code(&ErrorCode::TooLarge { limit: MAX_REPORT_LEN }));
    }
    let token = String::from_utf8(body.to_vec()).map_err(|_| ApiError::from_code(&ErrorCode::ReportInvalid))?;
    match web::block(move || published.keep_report(&token)).await {
        Ok(Ok(_)) => Ok(HttpResponse::NoContent().finish()),
        Ok(Err(code)) => Err(ApiError::from_code(&code)),
        Err(_) => Err(ApiError::from_code(&ErrorCode::Internal)),
    }
}

/// The month named in a path, or 404.
fn month_of(path: &str) -> Result<Month, ApiError> {
    Month::parse(path).ok_or_else(|| ApiError::from_code(&ErrorCode::NotFound { what: "month" }))
}

/// Every version kept of every node's report of `month` (`YYYY-MM`), as the nodes signed them.
#[get("/reports/{month}")]
async fn month_reports(published: web::Data<Published>, month: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let month = month_of(&month)?;
    let reports = web::block(move || published.reports_of(month)).await.map_err(|_| internal())?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "month": month.to_string(), "reports": reports })))
}

/// Which level a roll-up sums to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollUpQuery {
    level: RollUpLevel,
}

/// The roll-up of `month` by `level` (county, city or province) over each node's latest version.
#[get("/reports/{month}/roll-up")]
async fn roll_up(
    published: web::Data<Published>,
    month: web::Path<String>,
    query: web::Query<RollUpQuery>,
) -> Result<HttpResponse, ApiError> {
    let (month, level) = (month_of(&month)?, query.level);
    let reports = web::block(move || published.reports_of(month)).await.map_err(|_| internal())?;
    let areas = assessment::roll_up(&reports, month, level, &Targets::default());
    Ok(HttpResponse::Ok().json(serde_json::json!({ "month": month.to_string(), "level": level, "areas": areas })))
}

/// The cross-check of `month`: for each origin and residence either names, both figures, and
/// the pairs where they differ flagged for a human to resolve (瞒报 / 漏报 candidates).
#[get("/reports/{month}/cross-check")]
async fn cross_check(published: web::Data<Published>, month: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let month = month_of(&month)?;
    let reports = web::block(move || published.reports_of(month)).await.map_err(|_| internal())?;
    let pairs = assessment::cross_check(&reports, month);
    let flagged = pairs.iter().filter(|p| p.flagged).count();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "month": month.to_string(), "flagged": flagged, "pairs": pairs })))
}

fn internal() -> ApiError {
    ApiError::from_code(&ErrorCode::Internal)
}

/// The newest tree head kept of node `code` (`application/jwt`), as the node signed it.
#[get("/tree-heads/{code}")]
async fn tree_head(published: web::Data<Published>, code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::from_code(&ErrorCode::NotFound { what: "tree head" });
    parse_node_code(&code).map_err(|_| not_found())?;
    let path = published.dir.join(TREE_HEADS_DIR).join(format!("{code}.jws"));
    match std::fs::read_to_string(path) {
        Ok(token) => Ok(HttpResponse::Ok().content_type("application/jwt").body(token)),
        Err(_) => Err(not_found()),
    }
}

/// The last published directory, as a compact JWS (`application/jwt`).
#[get("/directory")]
async fn directory(published: web::Data<Published>) -> HttpResponse {
    // Read on every request: a publication by `hunyu registry …` is served at once.
    match std::fs::read_to_string(published.dir.join(DIRECTORY_FILE)) {
        Ok(token) => HttpResponse::Ok().content_type("application/jwt").body(token),
        Err(e) => {
            tracing::error!(error = %e, "no published directory");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}

/// The root public key as a JWK set.
#[get("/.well-known/jwks.json")]
async fn root_key(published: web::Data<Published>) -> HttpResponse {
    match std::fs::read_to_string(published.dir.join(ROOT_JWK_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<Jwk>(&t).ok())
    {
        Some(jwk) => HttpResponse::Ok().json(Jwks { keys: vec![jwk] }),
        None => HttpResponse::ServiceUnavailable().finish(),
    }
}

#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_read_an_older_state_cannot_publish_over_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry");
        Registry::init(&path, "000000000000", "测试", 3600).unwrap();
        let (mut first, mut second) = (Registry::open(&path).unwrap(), Registry::open(&path).unwrap());
        first.publish(Utc::now()).unwrap();
        assert!(matches!(second.publish(Utc::now()), Err(RegistryError::Changed(2))));
        assert_eq!(Registry::open(&path).unwrap().state().serial, 2);
        // Read again, the command goes through.
        Registry::open(&path).unwrap().publish(Utc::now()).unwrap();
        assert_eq!(Registry::open(&path).unwrap().state().serial, 3);
    }

    #[test]
    fn a_node_is_enrolled_only_at_urls_it_is_called_at_safely() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::init(&dir.path().join("registry"), "000000000000", "测试", 3600).unwrap();
        let key = Ed25519Signer::ephemeral("130728102000").unwrap();
        let enrolment = |api_url: &str| Enrolment {
            code: "130728102000".into(),
            name: "柴沟堡镇".into(),
            api_url: api_url.into(),
            peer_url: "https://node.example:9701".into(),
            tls_sha256: "0".repeat(64),
            keys: vec![key.public_jwk()],
            not_before: 0,
        };
        assert!(matches!(registry.enrol(enrolment("http://node.example")), Err(RegistryError::Invalid(_))));
        registry.enrol(enrolment("https://node.example")).unwrap();
        registry.enrol(enrolment("http://127.0.0.1:8701")).unwrap();
    }
}
