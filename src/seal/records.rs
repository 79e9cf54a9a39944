//! Opening a signed record another node made: signature under a trusted key, the contract's
//! schema, and the key's right to sign it. Certificates and employer presentations also come as
//! QR text. Pure: the trust in use and the contract are given.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use super::jws::{SignatureCheck, VerifiedJws, verify_compact, verify_compact_all, verify_compact_batched};
use super::merkle::Hash;
use super::qr;
use super::transparency::version_leaf;
use super::trust::{TrustStore, TrustedKey};
use crate::contract::{Contract, Kind};
use crate::domain::assessment::ReportClaims;
use crate::domain::claims::{
    CERTIFICATE_TYP, PRESENTATION_TYP, PresentationClaims, ReceivedClaims, StatusAnswerClaims, StatusListClaims,
    TreeHeadClaims,
};
use crate::domain::division::is_responsible;
use crate::domain::message::{LookupAnswerClaims, LookupRequestClaims, MessageClaims, ReceiptClaims};
use crate::domain::verification::Reason;

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
    MessageClaims,
    ReceiptClaims,
    LookupRequestClaims,
    LookupAnswerClaims,
    StatusListClaims,
    StatusAnswerClaims,
    TreeHeadClaims,
    ReceivedClaims,
    PresentationClaims,
    ReportClaims
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
    Ok(claims_of(verify_compact(token.trim(), typ, trust)?, kind, contract)?.0)
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
    verify_compact_all(&trimmed, typ, trust)
        .into_iter()
        .map(|verified| Ok(claims_of(verified?, kind, contract)?.0))
        .collect()
}

/// The claims of a record whose signature holds, the payload they were read from, and the key
/// that signed them: schema, then the key's right to sign them.
fn claims_of<'t, T: SignedRecord>(
    verified: VerifiedJws<'t>,
    kind: Kind,
    contract: &Contract,
) -> Result<(T, serde_json::Value, &'t TrustedKey), Reason> {
    let payload: serde_json::Value = serde_json::from_slice(&verified.payload).map_err(|_| Reason::Malformed)?;
    if contract.violation(kind, &payload).is_some() {
        return Err(Reason::Schema);
    }
    let claims = T::deserialize(&payload).map_err(|_| Reason::Schema)?;
    verified.key.vouches_for(claims.iss(), claims.iat())?;
    Ok((claims, payload, verified.key))
}

/// The node that signed a certificate, as the trust directory names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// 12-digit code.
    pub code: String,
    /// e.g. 怀安县柴沟堡镇.
    pub name: String,
}

/// A record whose signature, schema and issuer checked out; its window and status not yet judged.
#[derive(Debug, Clone)]
pub struct Genuine<T> {
    pub claims: T,
    /// The signed payload as it was read.
    pub payload: serde_json::Value,
    pub issuer: Issuer,
    /// Its leaf in its issuer's transparency log, if it was logged there.
    pub leaf: Hash,
}

/// A genuine certificate (婚育证明).
pub type GenuineCertificate = Genuine<ReceivedClaims>;

/// Checks a certificate's token or QR text against `trust` and the contract, without any stored
/// state: and that its issuer is the node of her household registration.
pub fn open_certificate(text: &str, trust: &TrustStore, contract: &Contract) -> Result<GenuineCertificate, Reason> {
    let token = presented_token(text)?;
    responsible(genuine(verify_compact(&token, CERTIFICATE_TYP, trust)?, Kind::Certificate, contract)?)
}

/// [`open_certificate`] with the signature checked by `checks` (with concurrent requests' checks).
pub async fn open_certificate_batched(
    text: &str,
    trust: &TrustStore,
    contract: &Contract,
    checks: &impl SignatureCheck,
) -> Result<GenuineCertificate, Reason> {
    let token = presented_token(text)?;
    let verified = verify_compact_batched(&token, CERTIFICATE_TYP, trust, checks).await?;
    responsible(genuine(verified, Kind::Certificate, contract)?)
}

/// Checks an employer presentation the way [`open_certificate_batched`] checks a certificate.
pub async fn open_presentation_batched(
    text: &str,
    trust: &TrustStore,
    contract: &Contract,
    checks: &impl SignatureCheck,
) -> Result<Genuine<PresentationClaims>, Reason> {
    let token = presented_token(text)?;
    genuine(verify_compact_batched(&token, PRESENTATION_TYP, trust, checks).await?, Kind::Presentation, contract)
}

/// The compact JWS that QR text or a token as shown stands for.
fn presented_token(text: &str) -> Result<Cow<'_, str>, Reason> {
    let text = text.trim();
    Ok(if qr::is_qr_text(text) { Cow::Owned(qr::decode(text)?) } else { Cow::Borrowed(text) })
}

/// The genuine record of a verified token: schema, the key's right to sign it, and its issuer.
fn genuine<T: SignedRecord>(verified: VerifiedJws<'_>, kind: Kind, contract: &Contract) -> Result<Genuine<T>, Reason> {
    let leaf = version_leaf(&verified.payload);
    let (claims, payload, key) = claims_of(verified, kind, contract)?;
    let issuer = Issuer { code: key.issuer.clone(), name: key.issuer_name.clone() };
    Ok(Genuine { claims, payload, issuer, leaf })
}

/// A certificate is genuine only from the node responsible for her household registration.
fn responsible(genuine: GenuineCertificate) -> Result<GenuineCertificate, Reason> {
    if !is_responsible(&genuine.claims.iss, &genuine.claims.person.hukou) {
        return Err(Reason::NotResponsible);
    }
    Ok(genuine)
}
