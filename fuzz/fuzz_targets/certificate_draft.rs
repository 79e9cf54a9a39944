//! The certificate draft an officer posts (`domain::certificate::CertificateDraft`, JSON), checked
//! by `CertificateContent::parse`; and the contract on the way out: the claims and employer
//! presentation of any content it accepts must pass the certificate and presentation schemas
//! (otherwise issuing fails after the officer was told the draft is good).
#![no_main]

use chrono::{TimeZone as _, Utc};
use hunyu::contract::Kind;
use hunyu::domain::certificate::{CertificateContent, CertificateDraft};
use hunyu::domain::claims::{CertificateClaims, PresentationClaims, VersionId};
use hunyu::domain::message::PersonRefDraft;
use hunyu_fuzz::{HARNESS, ORIGIN, today};
use libfuzzer_sys::fuzz_target;

const JTI: &str = "01a23582-3cbe-755d-ac70-75cac3c3135f";
const PREVIOUS: &str = "01a23582-3cbe-755d-ac70-75cac3c31300";
const EMPLOYER_JTI: &str = "01a23582-3cbf-72d2-9b33-8eec1c3613d3";

fuzz_target!(|data: &[u8]| {
    if let Ok(person) = serde_json::from_slice::<PersonRefDraft>(data) {
        let _ = person.parse("person", today());
        return;
    }
    let Ok(draft) = serde_json::from_slice::<CertificateDraft>(data) else { return };
    let Ok(content) = CertificateContent::parse(draft, today()) else { return };
    let h = &*HARNESS;
    let valid_until = content.valid_until(today());
    let now = Utc.timestamp_opt(hunyu_fuzz::NOW, 0).single().expect("a real instant");
    let version = VersionId { jti: JTI, ver: 2, supersedes: Some(PREVIOUS) };
    let claims = CertificateClaims::new(ORIGIN, version, &content, now, valid_until);
    let payload = serde_json::to_value(&claims).expect("claims serialise");
    if let Some(violation) = h.contract.violation(Kind::Certificate, &payload) {
        panic!("content that parse accepted breaks the certificate schema: {violation}");
    }
    let presentation = serde_json::to_value(PresentationClaims::of(&claims, EMPLOYER_JTI, valid_until))
        .expect("a presentation serialises");
    if let Some(violation) = h.contract.violation(Kind::Presentation, &presentation) {
        panic!("content that parse accepted breaks the presentation schema: {violation}");
    }
});
