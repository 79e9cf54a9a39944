//! The signed certificate payload: JWT claims around the certificate content (DESIGN §5).

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::start_of_day_utc;
use super::certificate::CertificateContent;
use super::id_number::IdNumber;
use super::verification::VersionStatus;

/// `typ` header of a certificate JWS.
pub const CERTIFICATE_TYP: &str = "hunyu-certificate+jwt";
/// `typ` header of an employer presentation JWS.
pub const PRESENTATION_TYP: &str = "hunyu-presentation+jwt";

/// Claims of a certificate being issued, in the contract's field order.
#[derive(Debug, Serialize)]
pub struct CertificateClaims<'a> {
    pub iss: &'a str,
    pub jti: &'a str,
    pub ver: u32,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<&'a str>,
    #[serde(flatten)]
    pub content: &'a CertificateContent,
}

/// Identity and version of one certificate version.
#[derive(Debug, Clone, Copy)]
pub struct VersionId<'a> {
    pub jti: &'a str,
    pub ver: u32,
    pub supersedes: Option<&'a str>,
}

impl<'a> CertificateClaims<'a> {
    /// Claims for `content` signed by `iss` at `issued_at`, valid through the day `valid_until`
    /// (so `exp` is the following midnight in Asia/Shanghai).
    pub fn new(
        iss: &'a str,
        version: VersionId<'a>,
        content: &'a CertificateContent,
        issued_at: DateTime<Utc>,
        valid_until: NaiveDate,
    ) -> Self {
        let end = valid_until.checked_add_days(Days::new(1)).unwrap_or(valid_until);
        Self {
            iss,
            jti: version.jti,
            ver: version.ver,
            iat: issued_at.timestamp(),
            nbf: issued_at.timestamp(),
            exp: start_of_day_utc(end).timestamp(),
            supersedes: version.supersedes,
            content,
        }
    }
}

/// The claims a verifier reads from a received payload (after schema validation).
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedClaims {
    pub iss: String,
    pub jti: String,
    pub ver: u32,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// The version this one replaces.
    #[serde(default)]
    pub supersedes: Option<String>,
    /// Who holds it.
    pub person: Holder,
}

/// The holder as a verifier reads her from a certificate.
#[derive(Debug, Clone, Deserialize)]
pub struct Holder {
    pub id_number: IdNumber,
    pub name: String,
    /// 户籍地: only its node may certify her.
    pub hukou: String,
}

/// The employer presentation (用人单位查验): the holder's name, the issuer and the validity of one
/// certificate version, signed with it, and nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PresentationClaims {
    pub iss: String,
    pub jti: String,
    /// `jti` of the certificate version it is bound to (its status decides the presentation's).
    pub cid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub name: String,
    /// Last day of validity, `YYYY-MM-DD`.
    pub valid_until: String,
}

impl PresentationClaims {
    /// The presentation of a certificate version, with the same validity window.
    pub fn of(certificate: &CertificateClaims<'_>, jti: &str, valid_until: NaiveDate) -> Self {
        Self {
            iss: certificate.iss.into(),
            jti: jti.into(),
            cid: certificate.jti.into(),
            iat: certificate.iat,
            nbf: certificate.nbf,
            exp: certificate.exp,
            name: certificate.content.person.name.clone(),
            valid_until: valid_until.to_string(),
        }
    }
}

/// `typ` header of a node's status list.
pub const STATUS_LIST_TYP: &str = "hunyu-status+jwt";

/// A node's signed list of its certificate versions that are no longer in force
/// (`schemas/status-list.schema.json`): verifiers that were not told through the exchange cache it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusListClaims {
    pub iss: String,
    pub iat: i64,
    /// When verifiers should fetch a newer list.
    pub exp: i64,
    pub entries: Vec<StatusEntry>,
}

/// `typ` header of an issuer's on-line answer about one of its versions.
pub const STATUS_ANSWER_TYP: &str = "hunyu-status-answer+jwt";
/// Seconds an on-line status answer counts as current: it is asked for and given at once.
pub const STATUS_ANSWER_FRESH_SECONDS: i64 = 60;

/// The issuer's signed word, asked on-line over the peer channel, on what it records now of one
/// version it signed (`schemas/status-answer.schema.json`): fresher than any status list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAnswerClaims {
    pub iss: String,
    /// The node that asked.
    pub aud: String,
    pub iat: i64,
    /// The asker's nonce, echoed: the answer is to that question and no other.
    pub nonce: String,
    /// `jti` of the version asked about.
    pub version: String,
    /// Whether the issuer issued that version at all: a version it never issued is a forgery.
    pub issued: bool,
    /// What it records of the version; empty while the version is in force.
    pub statuses: Vec<VersionStatus>,
}

impl StatusAnswerClaims {
    /// Whether the answer, signed at `iat`, is still current at `now`.
    pub fn is_fresh(&self, now: i64) -> bool {
        (now - self.iat).abs() <= STATUS_ANSWER_FRESH_SECONDS
    }
}

/// One version's status in a status list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEntry {
    /// `jti` of the certificate version (the employer presentation's `cid`).
    pub jti: String,
    pub status: VersionStatus,
}

/// `typ` header of a signed tree head of a node's issuance log.
pub const TREE_HEAD_TYP: &str = "hunyu-tree-head+jwt";

/// A node's signed tree head (签发透明日志树头): the size and root of the Merkle log of every
/// certificate version it signed, and its audit chain's head, as kept by the registry
/// (`schemas/tree-head.schema.json`). A later head must extend the last one the registry kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHeadClaims {
    pub iss: String,
    pub iat: i64,
    /// Versions in the log.
    pub size: u64,
    /// RFC 9162 root hash of the log's first `size` versions (hex).
    pub root: String,
    /// The audit chain's newest entry when the head was signed.
    pub audit: AuditHead,
}

/// The newest entry of a node's audit chain: its sequence number and hash (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}
