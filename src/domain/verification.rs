//! What a verifier (查验) concludes about a presented certificate, and why.

use serde::{Deserialize, Serialize};

use super::error::Coded;

/// One reason a certificate is not (or no longer) valid, with a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Not a compact JWS or QR text at all, or undecodable parts.
    Malformed,
    /// The presented text is longer than any certificate can be.
    TokenTooLarge,
    /// The (inflated) payload exceeds the cap: a compression bomb or garbage.
    PayloadTooLarge,
    /// `alg` is `none`, HMAC or anything but Ed25519.
    DisallowedAlgorithm,
    /// The `typ` header names another kind of record.
    WrongType,
    /// The issuing node is not in the trust set.
    UnknownIssuer,
    /// The issuer is known, the key id is not.
    UnknownKey,
    /// The signature does not match the content.
    BadSignature,
    /// The signing key was marked compromised at or before the record's signing time.
    KeyCompromised,
    /// The record's signing time lies outside the key's window in the trust directory.
    KeyOutOfWindow,
    /// The `iss` claim is not the node that owns the signing key.
    IssuerMismatch,
    /// The issuer is not the node of the holder's household registration (户籍地).
    NotResponsible,
    /// The issuer itself never issued this version: signed with its key, but not by it.
    UnknownVersion,
    /// Signed, it says, before the issuer's last anchored log head, which does not hold it: a
    /// version back-dated with a stolen key (签发透明日志中无此版本).
    NotInLog,
    /// The payload fails `schemas/certificate.schema.json`.
    Schema,
    /// `nbf` is in the future.
    NotYetValid,
    /// `exp` has passed.
    Expired,
    /// A newer version of this certificate exists.
    Superseded,
    /// The issuer revoked it.
    Revoked,
}

impl Coded for Reason {
    fn texts(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Malformed => ("malformed", "证明格式无法识别", "not a certificate token or QR text"),
            Self::TokenTooLarge => ("token_too_large", "证明内容超过长度上限", "token is longer than any certificate"),
            Self::PayloadTooLarge => {
                ("payload_too_large", "证明内容解压后超过上限", "payload inflates beyond the size limit")
            }
            Self::DisallowedAlgorithm => {
                ("disallowed_algorithm", "签名算法不被接受", "signature algorithm is not allowed")
            }
            Self::WrongType => ("wrong_type", "不是婚育证明", "token is not a certificate"),
            Self::UnknownIssuer => ("unknown_issuer", "签发机关不在信任名录中", "issuer is not a trusted node"),
            Self::UnknownKey => ("unknown_key", "签发机关的该密钥未登记", "issuer key is not known"),
            Self::BadSignature => {
                ("bad_signature", "签名验证失败，内容可能被篡改", "signature does not match the content")
            }
            Self::KeyCompromised => (
                "key_compromised",
                "签名密钥已泄露，该时间之后的签名无效",
                "signed after the key was marked compromised",
            ),
            Self::KeyOutOfWindow => {
                ("key_out_of_window", "签名时间不在该密钥的有效期内", "signed outside the key's validity window")
            }
            Self::IssuerMismatch => {
                ("issuer_mismatch", "签发机关与签名密钥不符", "issuer claim does not match the signing key")
            }
            Self::NotResponsible => (
                "issuer_not_responsible",
                "签发机关不是持证人户籍地的节点",
                "the issuer is not the node of the holder's household registration",
            ),
            Self::UnknownVersion => {
                ("unknown_version", "签发机关没有签发过该证明版本", "the issuer never issued this version")
            }
            Self::NotInLog => (
                "not_in_log",
                "签发机关的签发透明日志中没有该证明版本",
                "the issuer's transparency log does not hold this version, though it says it was signed before the log's anchored head",
            ),
            Self::Schema => ("schema", "证明内容不符合数据规范", "payload does not follow the certificate schema"),
            Self::NotYetValid => ("not_yet_valid", "证明尚未生效", "certificate is not valid yet"),
            Self::Expired => ("expired", "证明已过有效期", "certificate has expired"),
            Self::Superseded => ("superseded", "证明已被新版本取代", "a newer version of this certificate exists"),
            Self::Revoked => ("revoked", "证明已被签发机关注销", "certificate was revoked by its issuer"),
        }
    }
}

impl Reason {
    /// The overall status a verifier reports when this reason applies.
    pub fn status(self) -> VerificationStatus {
        match self {
            Self::UnknownIssuer | Self::UnknownKey => VerificationStatus::UnknownIssuer,
            Self::Expired => VerificationStatus::Expired,
            Self::Superseded => VerificationStatus::Superseded,
            Self::Revoked => VerificationStatus::Revoked,
            _ => VerificationStatus::Invalid,
        }
    }
}

/// Overall verdict of a verification, as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// Genuine, current and within its validity.
    Active,
    /// Past its `exp`.
    Expired,
    /// Replaced by a newer version.
    Superseded,
    /// Revoked by the issuer.
    Revoked,
    /// Signed by a node or key this verifier does not trust.
    UnknownIssuer,
    /// Not a genuine certificate.
    Invalid,
}

impl VerificationStatus {
    /// Every status, mildest first.
    pub const ALL: [Self; 6] =
        [Self::Active, Self::Expired, Self::Superseded, Self::Revoked, Self::UnknownIssuer, Self::Invalid];

    /// The wire name, as the API and the metrics label show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Superseded => "superseded",
            Self::Revoked => "revoked",
            Self::UnknownIssuer => "unknown_issuer",
            Self::Invalid => "invalid",
        }
    }
}

/// What an issuer has recorded of one of its certificate versions (and lists in its status list):
/// replaced by a newer version (换发), or revoked (注销).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// A newer version replaced it.
    Superseded,
    /// The issuer revoked it.
    Revoked,
}

impl VersionStatus {
    /// Both statuses.
    pub const ALL: [VersionStatus; 2] = [Self::Superseded, Self::Revoked];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Superseded => "superseded",
            Self::Revoked => "revoked",
        }
    }

    /// The status of a stored or wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The reason a verifier gives for it.
    pub fn reason(self) -> Reason {
        match self {
            Self::Superseded => Reason::Superseded,
            Self::Revoked => Reason::Revoked,
        }
    }
}

/// The reasons that follow from a version's recorded statuses, each once, revocation first.
pub fn recorded_reasons(statuses: impl IntoIterator<Item = VersionStatus>) -> Vec<Reason> {
    let statuses: std::collections::HashSet<VersionStatus> = statuses.into_iter().collect();
    [VersionStatus::Revoked, VersionStatus::Superseded]
        .into_iter()
        .filter(|status| statuses.contains(status))
        .map(VersionStatus::reason)
        .collect()
}

/// Something a verifier should know that does not change the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Warning {
    /// The trust directory is older than its stated lifetime: keys retired or compromised since may be missed.
    DirectoryStale,
    /// The issuer's status list held here is past its lifetime: a revocation since may be missed.
    StatusListStale,
    /// No status list of the issuer is held here: a revocation may be missed.
    StatusUnknown,
    /// The issuer was asked on-line and did not answer: what is held here was used instead.
    StatusNotConfirmed,
}

impl Coded for Warning {
    fn texts(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::DirectoryStale => (
                "directory_stale",
                "信任名录已过期未更新，结果基于离线缓存",
                "the trust directory is past its lifetime; checked against the cached copy",
            ),
            Self::StatusListStale => (
                "status_list_stale",
                "签发机关的注销名单已过期未更新，可能未反映最近的注销",
                "the issuer's status list is past its lifetime; a recent revocation may be missed",
            ),
            Self::StatusUnknown => (
                "status_unknown",
                "未能取得签发机关的注销名单，无法确认证明是否已被注销",
                "no status list of the issuer could be had; a revocation may be missed",
            ),
            Self::StatusNotConfirmed => (
                "status_not_confirmed",
                "未能向签发机关在线核实证明状态，结果依据本地保存的状态信息",
                "the issuer could not be asked on-line; the status information held here was used",
            ),
        }
    }
}

/// What a verifier knows of the status of a certificate version, and how fresh it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusEvidence {
    /// This node issued it: its own records, current.
    Issuer,
    /// The issuer's signed answer, asked on-line and signed at `answered_at`; `issued` says
    /// whether the issuer issued the version at all.
    Online { answered_at: i64, issued: bool },
    /// The issuer's signed status list, signed at `issued_at`, current until `expires_at`.
    StatusList { issued_at: i64, expires_at: i64 },
    /// Nothing: no status list of the issuer is held.
    Unknown,
}

impl StatusEvidence {
    /// What the verifier should be told of it at `now`.
    pub fn warning(self, now: i64) -> Option<Warning> {
        match self {
            Self::Issuer | Self::Online { .. } => None,
            Self::StatusList { expires_at, .. } => (now >= expires_at).then_some(Warning::StatusListStale),
            Self::Unknown => Some(Warning::StatusUnknown),
        }
    }

    /// The reason it gives by itself: an issuer that answers it never issued the version.
    pub fn reason(self) -> Option<Reason> {
        matches!(self, Self::Online { issued: false, .. }).then_some(Reason::UnknownVersion)
    }
}

/// The status to report for a set of reasons: the most serious one wins (order of the enum).
pub fn overall_status(reasons: &[Reason]) -> VerificationStatus {
    reasons.iter().map(|r| r.status()).max().unwrap_or(VerificationStatus::Active)
}

/// Reasons that follow from the validity window of a genuine certificate at time `now` (seconds).
pub fn window_reasons(nbf: i64, exp: i64, now: i64) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if now < nbf {
        reasons.push(Reason::NotYetValid);
    }
    if now >= exp {
        reasons.push(Reason::Expired);
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_the_wire_names() {
        for status in VerificationStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }

    #[test]
    fn recorded_statuses_give_each_reason_once() {
        use VersionStatus::*;
        for status in VersionStatus::ALL {
            assert_eq!(VersionStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(recorded_reasons([Superseded, Revoked, Superseded]), vec![Reason::Revoked, Reason::Superseded]);
        assert!(recorded_reasons([]).is_empty());
    }

    #[test]
    fn status_evidence_warns_when_stale_or_missing() {
        assert_eq!(StatusEvidence::Issuer.warning(100), None);
        let list = StatusEvidence::StatusList { issued_at: 10, expires_at: 100 };
        assert_eq!(list.warning(99), None);
        assert_eq!(list.warning(100), Some(Warning::StatusListStale));
        assert_eq!(StatusEvidence::Unknown.warning(0), Some(Warning::StatusUnknown));
        let answered = StatusEvidence::Online { answered_at: 10, issued: true };
        assert_eq!((answered.warning(1_000_000), answered.reason()), (None, None));
        let denied = StatusEvidence::Online { answered_at: 10, issued: false };
        assert_eq!(denied.reason(), Some(Reason::UnknownVersion));
    }

    #[test]
    fn most_serious_reason_sets_status() {
        assert_eq!(overall_status(&[]), VerificationStatus::Active);
        assert_eq!(overall_status(&[Reason::Expired, Reason::Revoked]), VerificationStatus::Revoked);
        assert_eq!(overall_status(&[Reason::Superseded, Reason::Expired]), VerificationStatus::Superseded);
        assert_eq!(overall_status(&[Reason::NotYetValid]), VerificationStatus::Invalid);
        assert_eq!(overall_status(&[Reason::UnknownKey]), VerificationStatus::UnknownIssuer);
    }

    #[test]
    fn window_is_half_open() {
        assert!(window_reasons(10, 20, 10).is_empty());
        assert_eq!(window_reasons(10, 20, 9), vec![Reason::NotYetValid]);
        assert_eq!(window_reasons(10, 20, 20), vec![Reason::Expired]);
    }

    #[test]
    fn codes_are_unique() {
        use Reason::*;
        let all = [
            Malformed,
            TokenTooLarge,
            PayloadTooLarge,
            DisallowedAlgorithm,
            WrongType,
            UnknownIssuer,
            UnknownKey,
            BadSignature,
            KeyCompromised,
            KeyOutOfWindow,
            IssuerMismatch,
            NotResponsible,
            UnknownVersion,
            NotInLog,
            Schema,
            NotYetValid,
            Expired,
            Superseded,
            Revoked,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), all.len());
    }
}
