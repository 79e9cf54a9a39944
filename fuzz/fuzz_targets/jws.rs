//! Compact JWS and the certificate records behind it: `seal::split_compact`, `verify_compact`,
//! `verify_compact_all`, `read_stored`, `seal::records::open_certificate` (signature, schema,
//! issuer's key and responsibility) and `open_record` of a presentation.
//!
//! Input: `{...}` is a payload signed here as a certificate and as a presentation (so coverage
//! reaches the schema and claims); `~` then raw DEFLATE bytes signed as a `zip: "DEF"` certificate
//! (capped inflation); anything else is a token or QR text as a verifier receives it. A genuine
//! certificate must also open from its QR text, with the same claims.
#![no_main]

use hunyu::contract::Kind;
use hunyu::domain::claims::{CERTIFICATE_TYP, PRESENTATION_TYP, PresentationClaims, ReceivedClaims};
use hunyu::domain::verification::window_reasons;
use hunyu::seal::jws::{MAX_TOKEN_LEN, split_compact};
use hunyu::seal::records::{open_certificate, open_record};
use hunyu::seal::{qr, read_stored, sign_compact, verify_compact, verify_compact_all};
use hunyu_fuzz::{HARNESS, Input, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let h = &*HARNESS;
    match Input::of(data) {
        Input::Payload(payload) => {
            let token = h.sign(CERTIFICATE_TYP, payload);
            if let Ok(genuine) = open_certificate(&token, &h.trust, &h.contract) {
                let _ = window_reasons(genuine.claims.nbf, genuine.claims.exp, NOW);
                let _ = (genuine.claims.person.id_number.masked(), genuine.claims.person.id_number.birth_date());
                // The same payload compressed for QR, as the issuer seals it, opens alike.
                let compressed = sign_compact(h.signer_for(payload), CERTIFICATE_TYP, payload, true);
                if let Ok(text) = qr::encode(&compressed)
                    && text.len() <= MAX_TOKEN_LEN
                {
                    let via_qr = open_certificate(&text, &h.trust, &h.contract)
                        .unwrap_or_else(|r| panic!("a genuine certificate is refused as QR text: {r:?}"));
                    assert_eq!(via_qr.payload, genuine.payload, "QR text opens to other claims");
                }
            }
            let token = h.sign(PRESENTATION_TYP, payload);
            let _ = open_record::<PresentationClaims>(&token, PRESENTATION_TYP, Kind::Presentation, &h.trust, &h.contract);
        }
        Input::Deflated(bytes) => {
            let token = h.sign_deflated(CERTIFICATE_TYP, bytes);
            let _ = open_certificate(&token, &h.trust, &h.contract);
        }
        Input::Text(text) => {
            let _ = split_compact(text);
            let _ = read_stored::<serde_json::Value>(text);
            let _ = read_stored::<ReceivedClaims>(text);
            let single = verify_compact(text, CERTIFICATE_TYP, &h.trust).map(|v| v.payload);
            let batch: Vec<_> = verify_compact_all(&[text], CERTIFICATE_TYP, &h.trust)
                .into_iter()
                .map(|v| v.map(|v| v.payload))
                .collect();
            assert_eq!(batch.len(), 1);
            assert_eq!(batch[0], single, "one token's batch and single verdicts differ");
            let _ = open_certificate(text, &h.trust, &h.contract);
            let _ = open_record::<PresentationClaims>(text, PRESENTATION_TYP, Kind::Presentation, &h.trust, &h.contract);
        }
        Input::Other => {}
    }
});
