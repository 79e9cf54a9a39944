//! One jurisdiction's certificate service: issue, renew, revoke, show and verify (查验).
//!
//! Handlers call these methods on a blocking thread; each write is one store transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize as _, Serialize};
use serde_json::Value;

use std::sync::Arc;
use std::time::Duration;

use crate::access::{Action, Audit, KeyResolver, RateLimits};
use crate::config::Config;
use crate::contract::{Contract, Kind, SchemaError};
use crate::domain::calendar::local_date;
use crate::domain::certificate::{CertificateContent, CertificateDraft};
use crate::domain::claims::{
    CERTIFICATE_TYP, CertificateClaims, PRESENTATION_TYP, PresentationClaims, ReceivedClaims, STATUS_LIST_TYP,
    StatusEntry, StatusListClaims, VersionId,
};
use crate::domain::directory::{Freshness, may_replace};
use crate::domain::error::{Coded as _, FieldError};
use crate::domain::id_number;
use crate::domain::message::MessageKind;
use crate::domain::verification::Warning;
use crate::domain::verification::{Reason, VerificationStatus, overall_status, window_reasons};
use crate::exchange::delivery::{Leases, PeerClient};
use crate::exchange::directory::{DirectorySource, write_atomically};
use crate::exchange::outbox::Sender;
use crate::exchange::status::StatusCache;
use crate::exchange::tls::{TlsIdentity, install_crypto_provider};
use crate::metrics::{Metrics, StatusLabel};
use crate::seal::chain::subject_key;
use crate::seal::directory::{DirectoryError, open_directory};
use crate::seal::keys::load_audit_key;
use crate::seal::trust::SharedTrust;
use crate::seal::{self, Ed25519Signer, Jwks, KeyError, Signer, TrustStore, TrustedKey, qr};
use crate::store::audit::{self, AuditFilter, AuditRow, NewAudit};
use crate::store::certificates::{self as certs, CertificateRow, NewEvent, PersonRow, REVOKED, SUPERSEDED, VersionRow};
use crate::store::messages;
use crate::store::{DbConn, Store, StoreError};

/// Seconds a status list is current; verifiers fetch a new one with every directory refresh.
const STATUS_LIST_LIFETIME_SECONDS: i64 = 24 * 3600;

/// Errors of the certificate service.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("the request breaks {} rule(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{}", .0.message_en)]
    Conflict(Conflict),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a produced payload breaks the contract: {0}")]
    Contract(String),
    #[error("node {peer} did not answer: {message}")]
    PeerUnavailable { peer: String, message: String },
}

impl From<diesel::result::Error> for NodeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A request that contradicts what is stored (e.g. renewing a revoked certificate).
#[derive(Debug, Clone)]
pub struct Conflict {
    pub code: &'static str,
    pub message_zh: &'static str,
    pub message_en: &'static str,
    /// The certificate the conflict is about.
    pub certificate_id: Option<String>,
}

/// Errors starting a node.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("trust directory: {0}")]
    Directory(String),
    #[error("TLS identity: {0}")]
    Tls(String),
}

/// What the officer gets back for an issued or renewed certificate.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Issued {
    /// Certificate (lineage) id, the same for every version.
    pub id: String,
    pub version: u32,
    /// Compact JWS (uncompressed payload: any JOSE library verifies it).
    pub token: String,
    /// QR text (`HY1:` + Base45, compressed payload).
    pub qr: String,
    /// Employer presentation (name, issuer, validity only), as a compact JWS.
    pub employer_token: String,
    /// Employer presentation as QR text, for the holder to show employers.
    pub employer_qr: String,
    /// Last day of validity (inclusive, Asia/Shanghai).
    #[schema(value_type = String, format = Date)]
    pub valid_until: chrono::NaiveDate,
}

/// Outcome of a revocation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Revocation {
    pub id: String,
    pub version: u32,
    pub revoked_at: DateTime<Utc>,
}

/// One version of a certificate as the officer sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: u32,
    pub jti: String,
    pub status: VerificationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    pub issued_at: DateTime<Utc>,
    #[schema(value_type = String, format = Date)]
    pub valid_until: chrono::NaiveDate,
    pub token: String,
    pub qr: String,
    pub employer_token: String,
    pub employer_qr: String,
}

/// A certificate lineage with every version, newest last.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateView {
    pub id: String,
    pub versions: Vec<VersionView>,
    /// Payload of the newest version.
    #[schema(value_type = Object)]
    pub certificate: Value,
}

/// One reason in a verification result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReasonView {
    pub code: &'static str,
    /// Chinese message.
    pub message: &'static str,
    pub message_en: &'static str,
}

impl ReasonView {
    fn of(coded: &impl crate::domain::error::Coded) -> Self {
        Self { code: coded.code(), message: coded.message_zh(), message_en: coded.message_en() }
    }
}

impl From<Reason> for ReasonView {
    fn from(r: Reason) -> Self {
        Self::of(&r)
    }
}

impl From<Warning> for ReasonView {
    fn from(w: Warning) -> Self {
        Self::of(&w)
    }
}

/// The node that signed a certificate.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuerView {
    pub code: String,
    pub name: String,
}

/// Result of `POST /api/v1/verify`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub valid: bool,
    pub status: VerificationStatus,
    pub reasons: Vec<ReasonView>,
    /// What the verifier should know that does not change the verdict (e.g. a stale trust directory).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ReasonView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerView>,
    /// The signed payload, when the signature is genuine (for roles that may see it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub certificate: Option<Value>,
}

impl Verification {
    pub(crate) fn refused(reason: Reason) -> Self {
        Self {
            valid: false,
            status: reason.status(),
            reasons: vec![reason.into()],
            warnings: Vec::new(),
            issuer: None,
            certificate: None,
        }
    }
}

/// Result of `POST /api/v1/lookup`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Lookup {
    pub certificates: Vec<LookupEntry>,
}

/// The newest version of one of the person's certificates.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LookupEntry {
    pub id: String,
    pub version: u32,
    pub status: VerificationStatus,
    #[schema(value_type = String, format = Date)]
    pub valid_until: chrono::NaiveDate,
    pub token: String,
    pub qr: String,
}

/// Result of `POST /api/v1/employer/confirm`: valid or not, whose, from where, until when; nothing else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EmployerConfirmation {
    pub valid: bool,
    /// The holder's name, when the presentation is genuine.
    pub name: Option<String>,
    pub issuer: Option<IssuerView>,
    /// Last day of validity, `YYYY-MM-DD`.
    pub valid_until: Option<String>,
}

/// A certificate whose signature, schema and issuer checked out; window and status not yet applied.
pub struct GenuineCertificate {
    pub claims: ReceivedClaims,
    pub payload: Value,
    pub issuer: IssuerView,
}

/// How an audited read ended: the outcome, and the person it turned out to concern.
pub(crate) struct Recorded {
    pub outcome: String,
    /// The person read, when the request did not name her.
    pub subject: Option<String>,
}

impl Recorded {
    /// An outcome about the person the request named, if any.
    pub fn outcome(outcome: impl Into<String>) -> Self {
        Self { outcome: outcome.into(), subject: None }
    }
}

/// A running node's certificate service.
pub struct Node {
    code: String,
    name: String,
    store: Store,
    signer: Arc<dyn Signer>,
    /// What this node trusts now: itself, overlaid by the directory in use.
    trust: SharedTrust,
    /// This node's own keys, the base every directory is laid over.
    own_trust: TrustStore,
    directory: Option<DirectorySource>,
    /// One directory installation at a time, so that an older one never lands after a newer one.
    installing: std::sync::Mutex<()>,
    contract: Arc<Contract>,
    keys: KeyResolver,
    limits: RateLimits,
    metrics: Metrics,
    /// Keys the hashes that name persons in the audit log.
    audit_key: Vec<u8>,
    /// Wakes the delivery worker when a transaction has put messages in the outbox.
    outbox_wake: tokio::sync::Notify,
    /// Other nodes' status lists.
    statuses: StatusCache,
    /// Calls to other nodes' peer listeners, with this node's TLS identity.
    peer_client: PeerClient,
    /// Calls to the registry and to other nodes' public endpoints (directory, status lists).
    public_client: reqwest::Client,
    /// Outgoing messages this process is delivering, whose leases it renews.
    leases: Leases,
}

impl Node {
    /// Opens the store (running migrations), loads the keys and the cached trust directory.
    pub fn open(config: &Config) -> Result<Self, SetupError> {
        let store = Store::open(&config.database_url()?, config.database.max_connections)?;
        let signer = Ed25519Signer::load(&config.keys.signing, &config.node.code)?;
        let mut own_trust = TrustStore::default();
        own_trust.add_node(&config.node.code, &config.node.name, &[signer.public_jwk()])?;
        let directory = config.directory.as_ref().map(DirectorySource::load).transpose()?;
        install_crypto_provider();
        let peer_client = PeerClient::new(&TlsIdentity::load(&config.peer.tls_cert, &config.peer.tls_key)?)?;
        let public_client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SetupError::Directory(e.to_string()))?;
        let node = Self {
            code: config.node.code.clone(),
            name: config.node.name.clone(),
            store,
            signer: Arc::new(signer),
            trust: SharedTrust::new(own_trust.clone()),
            own_trust,
            directory,
            installing: std::sync::Mutex::new(()),
            contract: Arc::new(Contract::new()?),
            keys: KeyResolver::new(Duration::from_secs(config.http.key_cache_seconds)),
            limits: RateLimits::new(&config.limits),
            metrics: Metrics::new(),
            audit_key: load_audit_key(&config.keys.audit)?,
            outbox_wake: tokio::sync::Notify::new(),
            statuses: StatusCache::default(),
            peer_client,
            public_client,
            leases: Leases::default(),
        };
        if let Some(cache) = node.directory.as_ref().map(|d| d.cache.clone()).filter(|c| c.exists()) {
            let installed = std::fs::read_to_string(&cache)
                .map_err(|e| e.to_string())
                .and_then(|text| node.install_directory(&text, false).map_err(|e| e.to_string()));
            match installed {
                Ok(serial) => tracing::info!(serial, cache = %cache.display(), "trust directory loaded from the cache"),
                // The registry may still deliver a good one; until then this node trusts only itself.
                Err(error) => tracing::error!(%error, cache = %cache.display(), "cached trust directory refused"),
            }
        }
        Ok(node)
    }

    /// Checks a directory against the registry root key and puts it in use if it is not older than
    /// the one in use; with `keep`, first writes it to the cache file. Returns its serial.
    pub fn install_directory(&self, token: &str, keep: bool) -> Result<u64, DirectoryError> {
        let source = self.directory.as_ref().ok_or(DirectoryError::NotConfigured)?;
        let claims = open_directory(token, &source.root, &self.contract)?;
        let _one_at_a_time = self.installing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = self.trust.current().stamp().map(|s| s.serial);
        if !may_replace(held, claims.serial) {
            return Err(DirectoryError::Rollback { held: held.unwrap_or(0), offered: claims.serial });
        }
        let trust = TrustStore::from_directory(&claims, &self.own_trust)?;
        if keep && held != Some(claims.serial) {
            write_atomically(&source.cache, token).map_err(|e| DirectoryError::Cache(e.to_string()))?;
        }
        self.metrics.directory_serial.set(i64::try_from(claims.serial).unwrap_or(i64::MAX));
        self.metrics.directory_expires_at.set(claims.exp);
        if held != Some(claims.serial) {
            tracing::info!(serial = claims.serial, nodes = claims.nodes.len(), "trust directory in use");
        }
        self.trust.replace(trust);
        Ok(claims.serial)
    }

    /// Where the directory comes from, if this node has one.
    pub fn directory_source(&self) -> Option<&DirectorySource> {
        self.directory.as_ref()
    }

    /// The trust in use now (own keys and the directory).
    pub fn trust(&self) -> Arc<TrustStore> {
        self.trust.current()
    }

    /// The signer of this node's records.
    pub fn signer(&self) -> &dyn Signer {
        &*self.signer
    }

    /// What puts messages in this node's outbox, for use inside a write transaction.
    pub fn outbox(&self) -> Sender {
        Sender { code: self.code.clone(), signer: self.signer.clone(), contract: self.contract.clone() }
    }

    /// The payload schemas.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// The client for other nodes' peer listeners.
    pub fn peer_client(&self) -> &PeerClient {
        &self.peer_client
    }

    /// Outgoing messages this process is delivering.
    pub fn leases(&self) -> &Leases {
        &self.leases
    }

    /// The client for the registry and other nodes' public endpoints.
    pub fn public_client(&self) -> &reqwest::Client {
        &self.public_client
    }

    /// Other nodes' status lists, as last fetched.
    pub fn status_cache(&self) -> &StatusCache {
        &self.statuses
    }

    /// This node's signed status list: its versions that are revoked or superseded.
    pub fn status_list(&self, now: DateTime<Utc>) -> Result<String, NodeError> {
        let recorded = self.store.read(certs::recorded_statuses)?;
        let entries = recorded.into_iter().map(|(jti, status)| StatusEntry { jti, status }).collect();
        let claims = StatusListClaims {
            iss: self.code.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + STATUS_LIST_LIFETIME_SECONDS,
            entries,
        };
        let payload = serde_json::to_value(&claims).map_err(|e| NodeError::Contract(e.to_string()))?;
        if let Some(violation) = self.contract.violation(Kind::StatusList, &payload) {
            return Err(NodeError::Contract(violation));
        }
        Ok(seal::sign_compact(&*self.signer, STATUS_LIST_TYP, payload.to_string().as_bytes(), false))
    }

    /// Notified after messages are put in the outbox.
    pub fn outbox_wake(&self) -> &tokio::sync::Notify {
        &self.outbox_wake
    }

    /// The key that names persons in the audit log.
    pub fn audit_key(&self) -> &[u8] {
        &self.audit_key
    }

    /// 12-digit code of this node.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Name of this node's jurisdiction.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store (for auth lookups and health checks).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// API key resolution (with its short-lived cache).
    pub fn keys(&self) -> &KeyResolver {
        &self.keys
    }

    /// Per-key request limits.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The node's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Public keys of this node.
    pub fn jwks(&self) -> Jwks {
        Jwks { keys: vec![self.signer.public_jwk()] }
    }

    /// Issues version 1 of a new certificate; refused while the person holds one in force here.
    pub fn issue(&self, draft: CertificateDraft, who: &Audit, now: DateTime<Utc>) -> Result<Issued, NodeError> {
        let today = local_date(now);
        let content = CertificateContent::parse(draft, today).map_err(NodeError::Invalid)?;
        let id = uuid::Uuid::now_v7().to_string();
        // Signing is CPU work: done before the transaction, so the writer is held only for IO.
        let version = self.sign_version(&id, &content, None, &who.caller.key_id, now)?;
        let person = person_row(&content, now);
        let entry = self.audit_entry(who, Action::IssueCertificate, Some(&person.id_number), Some(&id), now);
        self.store.write(move |conn| {
            for lineage in certs::certificates_of_person(conn, &person.id_number)? {
                if is_in_force(conn, &lineage.id, today)? {
                    return Err(NodeError::Conflict(Conflict {
                        code: "certificate.exists",
                        message_zh: "该人员已持有本机关签发的有效婚育证明，请换发",
                        message_en: "this person already holds a certificate in force from this node; renew it",
                        certificate_id: Some(lineage.id),
                    }));
                }
            }
            certs::save_person(conn, &person)?;
            let lineage = CertificateRow { id, id_number: person.id_number, created_at: now.naive_utc() };
            certs::insert_certificate(conn, &lineage)?;
            let issued = store_version(conn, version, now)?;
            audit::append(conn, NewAudit { outcome: format!("issued v{}", issued.version), ..entry })?;
            Ok(issued)
        })
    }

    /// Issues the next version of a certificate (换发): new content, or the same content re-dated.
    pub fn renew(
        &self,
        id: &str,
        draft: Option<CertificateDraft>,
        who: &Audit,
        now: DateTime<Utc>,
    ) -> Result<Issued, NodeError> {
        let today = local_date(now);
        let (lineage, current) = self.store.read(|conn| {
            let lineage = certs::find_certificate(conn, id)?.ok_or(NodeError::NotFound("certificate"))?;
            Ok::<_, NodeError>((lineage, current_version(conn, id)?))
        })?;
        let draft = match draft {
            Some(draft) => draft,
            None => draft_of(&current.token)?,
        };
        let content = CertificateContent::parse(draft, today).map_err(NodeError::Invalid)?;
        if content.person.id_number.as_str() != lineage.id_number {
            return Err(NodeError::Invalid(vec![FieldError {
                field: "person.id_number".into(),
                code: "certificate.person_changed",
                message_zh: "换发不能更换持证人".into(),
                message_en: "a renewal cannot change the holder".into(),
            }]));
        }
        let version = self.sign_version(id, &content, Some(&current), &who.caller.key_id, now)?;
        let person = person_row(&content, now);
        let entry = self.audit_entry(who, Action::RenewCertificate, Some(&person.id_number), Some(id), now);
        let (outbox, audit_key) = (self.outbox(), self.audit_key.clone());
        let issued = self.store.write(move |conn| {
            // Signed outside the transaction: refuse if the certificate changed meanwhile.
            let newest = current_version(conn, &lineage.id)?;
            if newest.jti != current.jti {
                return Err(NodeError::Conflict(Conflict {
                    code: "conflict.concurrent",
                    message_zh: "该婚育证明刚被他人修改，请刷新后重试",
                    message_en: "the certificate changed meanwhile; reload and try again",
                    certificate_id: Some(lineage.id),
                }));
            }
            refuse_if_revoked(conn, &lineage.id, &current.jti)?;
            certs::save_person(conn, &person)?;
            let issued = store_version(conn, version, now)?;
            let update = serde_json::json!({ "token": issued.token });
            let subject = subject_key(&audit_key, &lineage.id_number);
            let told = outbox.tell_residences(conn, &subject, MessageKind::CertificateUpdate, &update, now)?;
            let outcome = format!("renewed v{}, {told} residence(s) told", issued.version);
            audit::append(conn, NewAudit { outcome, ..entry })?;
            Ok(issued)
        })?;
        self.outbox_wake.notify_one();
        Ok(issued)
    }

    /// Revokes (注销) the newest version of a certificate.
    pub fn revoke(&self, id: &str, reason: &str, who: &Audit, now: DateTime<Utc>) -> Result<Revocation, NodeError> {
        let reason = reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(NodeError::Invalid(vec![FieldError {
                field: "reason".into(),
                code: "revocation.reason",
                message_zh: "请填写注销原因（不超过500字）".into(),
                message_en: "give a reason for the revocation (at most 500 characters)".into(),
            }]));
        }
        let id = id.to_owned();
        let entry = self.audit_entry(who, Action::RevokeCertificate, None, Some(&id), now);
        let (outbox, audit_key) = (self.outbox(), self.audit_key.clone());
        let revocation = self.store.write(move |conn| {
            let lineage = certs::find_certificate(conn, &id)?.ok_or(NodeError::NotFound("certificate"))?;
            let current = current_version(conn, &id)?;
            refuse_if_revoked(conn, &id, &current.jti)?;
            let at = now.naive_utc();
            let event = NewEvent { jti: &current.jti, status: REVOKED, reason: Some(&reason), at, actor: &entry.actor };
            certs::insert_event(conn, &event)?;
            let subject = subject_key(&audit_key, &lineage.id_number);
            let body = serde_json::json!({
                "certificate_id": id, "jti": current.jti, "reason": reason, "revoked_at": now.timestamp(),
            });
            let told = outbox.tell_residences(conn, &subject, MessageKind::Revocation, &body, now)?;
            let outcome = format!("revoked v{}, {told} residence(s) told", current.version);
            audit::append(conn, NewAudit { subject: Some(subject), outcome, ..entry })?;
            Ok::<_, NodeError>(Revocation { version: version_number(&current), id, revoked_at: now })
        })?;
        self.outbox_wake.notify_one();
        Ok(revocation)
    }

    /// A certificate with all its versions and their statuses.
    pub fn certificate(&self, id: &str, who: &Audit, now: DateTime<Utc>) -> Result<CertificateView, NodeError> {
        let entry = self.audit_entry(who, Action::ShowCertificate, None, Some(id), now);
        let (versions, events) = self.read_audited(entry, |conn| {
            let lineage = certs::find_certificate(conn, id)?.ok_or(NodeError::NotFound("certificate"))?;
            let found = (certs::versions(conn, id)?, certs::events_of_certificate(conn, id)?);
            let subject = subject_key(&self.audit_key, &lineage.id_number);
            Ok((found, Recorded { outcome: "shown".into(), subject: Some(subject) }))
        })?;
        let today = local_date(now);
        let views: Vec<VersionView> = versions
            .into_iter()
            .map(|v| {
                let recorded = recorded_reasons(events.iter().filter(|e| e.jti == v.jti).map(|e| &e.status));
                VersionView {
                    version: version_number(&v),
                    status: version_status(recorded, v.valid_until, today),
                    jti: v.jti,
                    supersedes: v.supersedes,
                    issued_at: v.issued_at.and_utc(),
                    valid_until: v.valid_until,
                    token: v.token,
                    qr: v.qr,
                    employer_token: v.employer_token,
                    employer_qr: v.employer_qr,
                }
            })
            .collect();
        let newest = views.last().ok_or_else(|| StoreError::Corrupt(format!("certificate {id} has no version")))?;
        let certificate = payload_of(&newest.token)?;
        Ok(CertificateView { id: id.into(), versions: views, certificate })
    }

    /// Verifies a token or QR text as of `now` and records the access; only a database failure is an error.
    pub fn verify(&self, text: &str, who: &Audit, now: DateTime<Utc>) -> Result<Verification, NodeError> {
        // Signature, schema and window are CPU work: done before the transaction.
        let trust = self.trust.current();
        let checked = check_certificate(text, &trust, &self.contract);
        let stale = matches!(trust.freshness(now.timestamp()), Some(Freshness::Stale { .. }));
        let (subject, object, own) = match &checked {
            Ok(genuine) => (
                genuine.payload["person"]["id_number"].as_str(),
                Some(genuine.claims.jti.as_str()),
                genuine.claims.iss == self.code,
            ),
            Err(_) => (None, None, false),
        };
        let listed = match &checked {
            Ok(genuine) if !own => self.statuses.statuses(&genuine.claims.iss, &genuine.claims.jti),
            _ => Vec::new(),
        };
        let entry = self.audit_entry(who, Action::Verify, subject, object, now);
        let mut verification = self.read_audited(entry, |conn| {
            let verification = match checked {
                Err(reason) => Verification::refused(reason),
                Ok(genuine) if own => {
                    let recorded = stored_reasons(conn, &genuine.claims.jti)?;
                    verdict(genuine, recorded, now)
                }
                Ok(genuine) => judge_foreign(conn, genuine, listed, now)?,
            };
            let outcome = verification.reasons.first().map_or("active", |r| r.code);
            Ok((verification, Recorded::outcome(outcome)))
        })?;
        if stale {
            verification.warnings.push(Warning::DirectoryStale.into());
            self.metrics.stale_directory_verifications.inc();
        }
        let status = verification.status.as_str().to_owned();
        self.metrics.verifications.get_or_create(&StatusLabel { status }).inc();
        Ok(verification)
    }

    /// A person's certificates at this node, newest version of each, by ID number (查询).
    pub fn lookup(&self, id_number: &str, who: &Audit, now: DateTime<Utc>) -> Result<Lookup, NodeError> {
        let id_number = parse_id_number(id_number, now)?;
        let entry = self.audit_entry(who, Action::Lookup, Some(id_number.as_str()), None, now);
        self.lookup_recorded(id_number, entry, now)
    }

    /// The electronic certificate lookup another node asked for over the exchange (recorded with
    /// the asking node as actor).
    pub fn lookup_for_peer(&self, id_number: &str, peer: &str, now: DateTime<Utc>) -> Result<Lookup, NodeError> {
        let id_number = parse_id_number(id_number, now)?;
        let entry = NewAudit {
            at: now.naive_utc(),
            request_id: String::new(),
            actor: peer.into(),
            role: "peer".into(),
            action: Action::Lookup.name(),
            subject: Some(subject_key(&self.audit_key, id_number.as_str())),
            object: None,
            purpose: "电子证明查询 electronic certificate lookup".into(),
            outcome: String::new(),
        };
        self.lookup_recorded(id_number, entry, now)
    }

    fn lookup_recorded(
        &self,
        id_number: id_number::IdNumber,
        entry: NewAudit,
        now: DateTime<Utc>,
    ) -> Result<Lookup, NodeError> {
        let today = local_date(now);
        self.read_audited(entry, |conn| {
            let mut certificates = Vec::new();
            for lineage in certs::certificates_of_person(conn, id_number.as_str())? {
                let current = current_version(conn, &lineage.id)?;
                let recorded = stored_reasons(conn, &current.jti)?;
                certificates.push(LookupEntry {
                    id: lineage.id,
                    version: version_number(&current),
                    status: version_status(recorded, current.valid_until, today),
                    valid_until: current.valid_until,
                    token: current.token,
                    qr: current.qr,
                });
            }
            let outcome = format!("{} found", certificates.len());
            Ok((Lookup { certificates }, Recorded::outcome(outcome)))
        })
    }

    /// Confirms an employer presentation (用人单位查验): genuine, in its window, and its certificate
    /// version neither superseded nor revoked. A refused presentation says only `valid: false`.
    pub fn confirm_employment(
        &self,
        text: &str,
        who: &Audit,
        now: DateTime<Utc>,
    ) -> Result<EmployerConfirmation, NodeError> {
        let checked = check_presentation(text, &self.trust.current(), &self.contract);
        let object = checked.as_ref().ok().map(|(claims, _)| claims.cid.as_str());
        let listed = match &checked {
            Ok((claims, _)) if claims.iss != self.code => self.statuses.statuses(&claims.iss, &claims.cid),
            _ => Vec::new(),
        };
        let entry = self.audit_entry(who, Action::ConfirmEmployment, None, object, now);
        self.read_audited(entry, |conn| {
            let Ok((claims, issuer)) = checked else {
                let refused = EmployerConfirmation { valid: false, name: None, issuer: None, valid_until: None };
                return Ok((refused, Recorded::outcome("invalid")));
            };
            let mut reasons = window_reasons(claims.nbf, claims.exp, now.timestamp());
            let mut subject = None;
            if claims.iss == self.code {
                reasons.extend(stored_reasons(conn, &claims.cid)?);
                subject = certs::holder_of_version(conn, &claims.cid)?.map(|id| subject_key(&self.audit_key, &id));
            } else {
                let mut reported = messages::received_statuses(conn, &claims.cid, &claims.iss)?;
                reported.extend(listed);
                reasons.extend(recorded_reasons(reported));
            }
            let outcome = reasons.first().map_or("active", |r| r.code()).to_owned();
            let confirmation = EmployerConfirmation {
                valid: reasons.is_empty(),
                name: Some(claims.name),
                issuer: Some(issuer),
                valid_until: Some(claims.valid_until),
            };
            Ok((confirmation, Recorded { outcome, subject }))
        })
    }

    /// Audit entries matching `filter` (they name persons only by keyed hash).
    pub fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, NodeError> {
        Ok(self.store.read(|conn| audit::list(conn, filter))?)
    }

    /// Runs an audited read (查询, 查验): `read` on a pooled connection, in parallel with other
    /// requests, gives the answer and how the access ended; the answer goes out only once its
    /// audit entry is durable. The writer appends the entries of one moment in one statement.
    pub(crate) fn read_audited<T>(
        &self,
        entry: NewAudit,
        read: impl FnOnce(&mut DbConn) -> Result<(T, Recorded), NodeError>,
    ) -> Result<T, NodeError> {
        let (answer, recorded) = self.store.read(read)?;
        let subject = recorded.subject.or(entry.subject);
        self.store.audit(NewAudit { outcome: recorded.outcome, subject, ..entry })?;
        Ok(answer)
    }

    /// The start of an audit entry for `who` taking `action` (the outcome is filled in when known).
    pub(crate) fn audit_entry(
        &self,
        who: &Audit,
        action: Action,
        id_number: Option<&str>,
        object: Option<&str>,
        now: DateTime<Utc>,
    ) -> NewAudit {
        NewAudit {
            at: now.naive_utc(),
            request_id: who.request_id.clone(),
            actor: who.caller.key_id.clone(),
            role: who.caller.role.as_str().into(),
            action: action.name(),
            subject: id_number.map(|id| subject_key(&self.audit_key, id)),
            object: object.map(str::to_owned),
            purpose: who.purpose.clone(),
            outcome: String::new(),
        }
    }

    /// Checks everything that needs no database: form, algorithm, key, signature, size, schema, issuer.
    pub fn check_genuine(&self, text: &str) -> Result<GenuineCertificate, Reason> {
        check_certificate(text, &self.trust.current(), &self.contract)
    }

    /// Builds, checks against the contract and signs a version (token and QR text); stores nothing.
    fn sign_version(
        &self,
        certificate_id: &str,
        content: &CertificateContent,
        previous: Option<&VersionRow>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<VersionRow, NodeError> {
        let valid_until = content.valid_until(local_date(now));
        let jti = uuid::Uuid::now_v7().to_string();
        let ver = previous.map_or(1, |p| version_number(p) + 1);
        let version = VersionId { jti: &jti, ver, supersedes: previous.map(|p| p.jti.as_str()) };
        let claims = CertificateClaims::new(&self.code, version, content, now, valid_until);
        let payload = serde_json::to_value(&claims).map_err(|e| NodeError::Contract(e.to_string()))?;
        if let Some(violation) = self.contract.violation(Kind::Certificate, &payload) {
            return Err(NodeError::Contract(violation));
        }
        let (token, qr) = self.seal(CERTIFICATE_TYP, &payload)?;
        let presentation = PresentationClaims::of(&claims, &uuid::Uuid::now_v7().to_string(), valid_until);
        let presentation = serde_json::to_value(&presentation).map_err(|e| NodeError::Contract(e.to_string()))?;
        if let Some(violation) = self.contract.violation(Kind::Presentation, &presentation) {
            return Err(NodeError::Contract(violation));
        }
        let (employer_token, employer_qr) = self.seal(PRESENTATION_TYP, &presentation)?;
        Ok(VersionRow {
            version: i32::try_from(ver).map_err(|e| NodeError::Contract(e.to_string()))?,
            jti,
            certificate_id: certificate_id.into(),
            supersedes: previous.map(|p| p.jti.clone()),
            issued_at: now.naive_utc(),
            valid_until,
            token,
            qr,
            employer_token,
            employer_qr,
            issued_by: actor.into(),
        })
    }

    /// Signs a payload twice: as a compact JWS, and compressed as QR text.
    fn seal(&self, typ: &str, payload: &Value) -> Result<(String, String), NodeError> {
        let bytes = payload.to_string().into_bytes();
        let token = seal::sign_compact(&*self.signer, typ, &bytes, false);
        let qr = qr::encode(&seal::sign_compact(&*self.signer, typ, &bytes, true))
            .map_err(|r| NodeError::Contract(r.code().into()))?;
        Ok((token, qr))
    }
}

/// An ID number checked as of `now`'s day; a bad one is an invalid `id_number` field.
pub(crate) fn parse_id_number(id_number: &str, now: DateTime<Utc>) -> Result<id_number::IdNumber, NodeError> {
    id_number::parse(id_number, local_date(now)).map_err(|e| NodeError::Invalid(vec![e.to_field_error("id_number")]))
}

/// Stores a signed version and marks the one it supersedes.
fn store_version(conn: &mut DbConn, row: VersionRow, now: DateTime<Utc>) -> Result<Issued, NodeError> {
    certs::insert_version(conn, &row)?;
    if let Some(previous) = &row.supersedes {
        let actor = &row.issued_by;
        let event = NewEvent { jti: previous, status: SUPERSEDED, reason: None, at: now.naive_utc(), actor };
        certs::insert_event(conn, &event)?;
    }
    Ok(Issued {
        version: version_number(&row),
        id: row.certificate_id,
        token: row.token,
        qr: row.qr,
        employer_token: row.employer_token,
        employer_qr: row.employer_qr,
        valid_until: row.valid_until,
    })
}

/// Checks a token or QR text against `trust` and the contract, without any stored state.
pub fn check_certificate(text: &str, trust: &TrustStore, contract: &Contract) -> Result<GenuineCertificate, Reason> {
    let (payload, key) = open_signed(text, CERTIFICATE_TYP, trust)?;
    if contract.violation(Kind::Certificate, &payload).is_some() {
        return Err(Reason::Schema);
    }
    let claims = ReceivedClaims::deserialize(&payload).map_err(|_| Reason::Schema)?;
    let issuer = issuer_of(&claims.iss, claims.iat, key)?;
    Ok(GenuineCertificate { claims, payload, issuer })
}

/// Checks an employer presentation the way [`check_certificate`] checks a certificate.
pub fn check_presentation(
    text: &str,
    trust: &TrustStore,
    contract: &Contract,
) -> Result<(PresentationClaims, IssuerView), Reason> {
    let (payload, key) = open_signed(text, PRESENTATION_TYP, trust)?;
    if contract.violation(Kind::Presentation, &payload).is_some() {
        return Err(Reason::Schema);
    }
    let claims = PresentationClaims::deserialize(&payload).map_err(|_| Reason::Schema)?;
    let issuer = issuer_of(&claims.iss, claims.iat, key)?;
    Ok((claims, issuer))
}

/// Decodes QR text or a compact JWS of type `typ`, checks its signature, and parses its payload.
fn open_signed<'t>(text: &str, typ: &str, trust: &'t TrustStore) -> Result<(Value, &'t TrustedKey), Reason> {
    let text = text.trim();
    let decoded;
    let token = if qr::is_qr_text(text) {
        decoded = qr::decode(text)?;
        decoded.as_str()
    } else {
        text
    };
    let verified = seal::verify_compact(token, typ, trust)?;
    let payload = serde_json::from_slice(&verified.payload).map_err(|_| Reason::Malformed)?;
    Ok((payload, verified.key))
}

/// The issuer named by `iss`, which must own the signing key, and have signed inside its window.
fn issuer_of(iss: &str, iat: i64, key: &TrustedKey) -> Result<IssuerView, Reason> {
    key.vouches_for(iss, iat)?;
    Ok(IssuerView { code: key.issuer.clone(), name: key.issuer_name.clone() })
}

/// The result for a genuine certificate: its validity window at `now` plus the recorded reasons.
fn verdict(genuine: GenuineCertificate, recorded: Vec<Reason>, now: DateTime<Utc>) -> Verification {
    let mut reasons = window_reasons(genuine.claims.nbf, genuine.claims.exp, now.timestamp());
    reasons.extend(recorded);
    let status = overall_status(&reasons);
    Verification {
        valid: status == VerificationStatus::Active,
        status,
        reasons: reasons.into_iter().map(ReasonView::from).collect(),
        warnings: Vec::new(),
        issuer: Some(genuine.issuer),
        certificate: Some(genuine.payload),
    }
}

/// The verdict on another node's genuine certificate: what its issuer told this node through the
/// exchange, and what its status list (`listed`) says.
pub(crate) fn judge_foreign(
    conn: &mut DbConn,
    genuine: GenuineCertificate,
    listed: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Verification, NodeError> {
    let mut reported = messages::received_statuses(conn, &genuine.claims.jti, &genuine.claims.iss)?;
    reported.extend(listed);
    Ok(verdict(genuine, recorded_reasons(reported), now))
}

/// Reasons that follow from recorded status events.
fn recorded_reasons<S: AsRef<str>>(statuses: impl IntoIterator<Item = S>) -> Vec<Reason> {
    let (mut revoked, mut superseded) = (false, false);
    for status in statuses {
        revoked |= status.as_ref() == REVOKED;
        superseded |= status.as_ref() == SUPERSEDED;
    }
    [(revoked, Reason::Revoked), (superseded, Reason::Superseded)]
        .into_iter()
        .filter_map(|(on, r)| on.then_some(r))
        .collect()
}

/// Reasons recorded for a stored version.
fn stored_reasons(conn: &mut DbConn, jti: &str) -> Result<Vec<Reason>, NodeError> {
    Ok(recorded_reasons(certs::statuses(conn, jti)?))
}

/// Status of a stored version on `today`: what was recorded, and expiry after its last valid day.
fn version_status(
    mut reasons: Vec<Reason>,
    valid_until: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> VerificationStatus {
    if valid_until < today {
        reasons.push(Reason::Expired);
    }
    overall_status(&reasons)
}

/// A revoked certificate can be neither renewed nor revoked again.
fn refuse_if_revoked(conn: &mut DbConn, id: &str, jti: &str) -> Result<(), NodeError> {
    if stored_reasons(conn, jti)?.contains(&Reason::Revoked) {
        return Err(NodeError::Conflict(Conflict {
            code: "certificate.revoked",
            message_zh: "该婚育证明已注销",
            message_en: "this certificate has been revoked",
            certificate_id: Some(id.into()),
        }));
    }
    Ok(())
}

fn version_number(row: &VersionRow) -> u32 {
    u32::try_from(row.version).unwrap_or(0)
}

fn current_version(conn: &mut DbConn, id: &str) -> Result<VersionRow, NodeError> {
    certs::current_version(conn, id)?
        .ok_or_else(|| StoreError::Corrupt(format!("certificate {id} has no version")).into())
}

/// Whether a lineage's newest version is unrevoked and not past its validity on `today`.
fn is_in_force(conn: &mut DbConn, id: &str, today: chrono::NaiveDate) -> Result<bool, NodeError> {
    let current = current_version(conn, id)?;
    Ok(current.valid_until >= today && !stored_reasons(conn, &current.jti)?.contains(&Reason::Revoked))
}

fn person_row(content: &CertificateContent, now: DateTime<Utc>) -> PersonRow {
    let person = &content.person;
    PersonRow {
        id_number: person.id_number.as_str().into(),
        name: person.name.clone(),
        sex: if matches!(person.sex, crate::domain::id_number::Sex::F) { "F" } else { "M" }.into(),
        birth_date: person.birth_date,
        hukou: person.hukou.as_str().into(),
        ethnicity: person.ethnicity.clone(),
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    }
}

/// Payload of a token this node signed and stored.
fn payload_of(token: &str) -> Result<Value, StoreError> {
    let corrupt = || StoreError::Corrupt("a stored token does not decode".into());
    let part = token.split('.').nth(1).ok_or_else(corrupt)?;
    serde_json::from_slice(&seal::b64url_decode(part).ok_or_else(corrupt)?).map_err(|_| corrupt())
}

/// The draft that re-issues a stored version's content unchanged.
fn draft_of(token: &str) -> Result<CertificateDraft, NodeError> {
    let mut payload = payload_of(token)?;
    let mut draft = serde_json::Map::new();
    for key in ["person", "marital", "children", "contraception"] {
        if let Some(value) = payload.get_mut(key).map(Value::take) {
            draft.insert(key.into(), value);
        }
    }
    serde_json::from_value(Value::Object(draft))
        .map_err(|e| StoreError::Corrupt(format!("stored content does not re-read: {e}")).into())
}
