//! The exchange between nodes: trust directory upkeep, mutual TLS, the outbox and its delivery
//! worker, the idempotent inbox and signed receipts.

pub mod delivery;
pub mod directory;
pub mod inbox;
pub mod lookup;
pub mod outbox;
pub mod status;
pub mod tls;

use serde::de::DeserializeOwned;

use crate::contract::{Contract, Kind};
use crate::domain::directory::NodeStatus;
use crate::domain::error::Coded;
use crate::domain::verification::Reason;
use crate::seal::{TrustStore, VerifiedJws, verify_compact, verify_compact_all};

/// Why an inbound batch of messages is refused; nothing of a refused batch is stored.
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

impl Coded for Refusal {
    fn texts(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::NoClientCertificate => (
                "exchange.no_client_certificate",
                "节点间交换须出示客户端证书",
                "peer requests need a client certificate",
            ),
            Self::UnknownPeer => (
                "exchange.unknown_peer",
                "客户端证书不属于信任名录中的节点",
                "the client certificate is not a directory node's",
            ),
            Self::BadMessage { .. } => {
                ("exchange.bad_message", "交换记录签名或格式无效", "a message's signature or form is invalid")
            }
            Self::TlsMismatch { .. } => (
                "exchange.tls_mismatch",
                "交换记录的签发节点与连接身份不符",
                "a message's signer is not the node behind the TLS connection",
            ),
            Self::WrongAudience { .. } => {
                ("exchange.wrong_audience", "交换记录的接收方不是本节点", "a message is addressed to another node")
            }
            Self::Replay { .. } => {
                ("exchange.replay", "交换记录编号已用于其他内容", "a message id was already used for other content")
            }
            Self::SequenceGap { .. } => ("exchange.sequence", "交换记录序号不连续", "a message is out of sequence"),
            Self::BatchSize => ("exchange.batch_size", "批次为空或超过上限", "the batch is empty or too large"),
        }
    }
}

/// Most messages accepted in one request.
pub const MAX_BATCH: usize = 1000;

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

/// A signed record with its signer and signing time, as other nodes send them.
pub trait SignedRecord: DeserializeOwned {
    /// The node that signed it.
    fn iss(&self) -> &str;
    /// When it says it was signed.
    fn iat(&self) -> i64;
}

macro_rules! signed_record {
    ($($claims:ty),*) => {$(
        impl SignedRecord for $claims {
            fn iss(&self) -> &str {
                &self.iss
            }
            fn iat(&self) -> i64 {
                self.iat
            }
        }
    )*};
}

signed_record!(
    crate::domain::message::MessageClaims,
    crate::domain::message::ReceiptClaims,
    crate::domain::message::LookupRequestClaims,
    crate::domain::message::LookupAnswerClaims,
    crate::domain::claims::StatusListClaims
);

/// Checks a record of type `typ` from another node: signature under a directory key, the schema
/// of `kind`, and that the key belongs to `iss` and could sign at `iat`.
pub fn open_record<T: SignedRecord>(
    token: &str,
    typ: &str,
    kind: Kind,
    trust: &TrustStore,
    contract: &Contract,
) -> Result<T, Reason> {
    claims_of(verify_compact(token.trim(), typ, trust)?, kind, contract)
}

/// [`open_record`] for many records at once, in order: a request's messages or receipts, whose
/// signatures are checked in one batch.
pub fn open_records<T: SignedRecord>(
    tokens: &[&str],
    typ: &str,
    kind: Kind,
    trust: &TrustStore,
    contract: &Contract,
) -> Vec<Result<T, Reason>> {
    let trimmed: Vec<&str> = tokens.iter().map(|token| token.trim()).collect();
    verify_compact_all(&trimmed, typ, trust).into_iter().map(|verified| claims_of(verified?, kind, contract)).collect()
}

/// The claims of a record whose signature holds: schema, then the key's right to sign them.
fn claims_of<T: SignedRecord>(verified: VerifiedJws<'_>, kind: Kind, contract: &Contract) -> Result<T, Reason> {
    let payload: serde_json::Value = serde_json::from_slice(&verified.payload).map_err(|_| Reason::Malformed)?;
    if contract.violation(kind, &payload).is_some() {
        return Err(Reason::Schema);
    }
    let claims = T::deserialize(payload).map_err(|_| Reason::Schema)?;
    verified.key.vouches_for(claims.iss(), claims.iat())?;
    Ok(claims)
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
