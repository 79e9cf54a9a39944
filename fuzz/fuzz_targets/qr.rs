//! QR text (`HY1:` + Base45 of the framed header, payload and signature): `seal::qr::decode`, then
//! what a verifier does with a scan: the decoded token's signature as a certificate and as a
//! presentation, and the certificate verifier. Checks that whatever decodes is a compact JWS whose
//! one encoding is the text scanned.
#![no_main]

use hunyu::domain::claims::{CERTIFICATE_TYP, PRESENTATION_TYP};
use hunyu::seal::jws::split_compact;
use hunyu::seal::records::open_certificate;
use hunyu::seal::{qr, verify_compact};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let h = &*hunyu_fuzz::HARNESS;
    let _ = qr::is_qr_text(text);
    if let Ok(token) = qr::decode(text) {
        assert!(split_compact(&token).is_ok(), "decode gave a token that does not split");
        let again = qr::encode(&token).expect("a decoded token encodes again");
        assert_eq!(again, text, "a token has another QR text than the one scanned");
        for typ in [CERTIFICATE_TYP, PRESENTATION_TYP] {
            let _ = verify_compact(&token, typ, &h.trust);
        }
    }
    let _ = open_certificate(text, &h.trust, &h.contract);
});
