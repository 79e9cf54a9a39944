//! QR text of a signed record: `HY1:` + Base45 (RFC 9285) of the JWS parts in binary.
//!
//! Base45 keeps the whole text in the QR alphanumeric set, and framing the decoded header,
//! payload and signature (rather than their base64url text) saves a quarter of the length:
//! about 8.3 bits per signed byte against 8.9 for the numeric mode of SMART Health Cards.
//! Frame: header length (u16 BE), header JSON, payload length (u16 BE), payload, signature.

use qrcode::{EcLevel, QrCode};

use super::b64url;
use super::jws::{MAX_TOKEN_LEN, split_compact};
use crate::domain::verification::Reason;

/// Prefix that marks hunyu QR text, version 1.
pub const PREFIX: &str = "HY1:";

/// Turns a compact JWS into QR text.
pub fn encode(token: &str) -> Result<String, Reason> {
    let parts = split_compact(token)?;
    let mut frame = Vec::with_capacity(parts.header_json.len() + parts.payload.len() + parts.signature.len() + 4);
    for part in [&parts.header_json, &parts.payload] {
        let len = u16::try_from(part.len()).map_err(|_| Reason::TokenTooLarge)?;
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(part);
    }
    frame.extend_from_slice(&parts.signature);
    Ok(format!("{PREFIX}{}", base45::encode(&frame)))
}

/// Whether `text` is QR text rather than a compact JWS.
pub fn is_qr_text(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// Turns QR text back into the exact compact JWS that was signed.
pub fn decode(text: &str) -> Result<String, Reason> {
    let body = text.strip_prefix(PREFIX).ok_or(Reason::Malformed)?;
    // Base45 grows 2 bytes into 3 characters, and the JWS text is 4/3 of the bytes.
    if body.len() > MAX_TOKEN_LEN {
        return Err(Reason::TokenTooLarge);
    }
    // One frame, one text: the decoder reads a two-character tail above 255 as a byte, which
    // would give a certificate several QR texts (a three-character group above 65535 it refuses).
    if let [.., low, high] = body.as_bytes()
        && body.len() % 3 == 2
        && base45_value(*low) + 45 * base45_value(*high) > 255
    {
        return Err(Reason::Malformed);
    }
    let frame = base45::decode(body).map_err(|_| Reason::Malformed)?;
    let (header, rest) = take_part(&frame)?;
    // An empty signature (alg `none`) still decodes, so that the verifier names the algorithm.
    let (payload, signature) = take_part(rest)?;
    Ok(format!("{}.{}.{}", b64url(header), b64url(payload), b64url(signature)))
}

/// The value of a base45 character (RFC 9285); a character outside the alphabet counts as 0,
/// and the decoder refuses it.
fn base45_value(c: u8) -> usize {
    const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    ALPHABET.iter().position(|&a| a == c).unwrap_or(0)
}

fn take_part(bytes: &[u8]) -> Result<(&[u8], &[u8]), Reason> {
    let (len, rest) = bytes.split_first_chunk::<2>().ok_or(Reason::Malformed)?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len {
        return Err(Reason::Malformed);
    }
    Ok(rest.split_at(len))
}

/// QR symbol version (1–40) that `text` needs at error-correction level M, the level on paper.
pub fn version_at_level_m(text: &str) -> Option<i16> {
    match QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?.version() {
        qrcode::Version::Normal(v) => Some(v),
        qrcode::Version::Micro(_) => None,
    }
}

/// The QR code of `text` drawn with Unicode half blocks, for a terminal.
pub fn render_terminal(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// QR text as an SVG image at error correction M, with its quiet zone: for pages and print, where
/// it scales without blur. `label` names it for screen readers.
pub fn render_svg(text: &str, label: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(256, 256).quiet_zone(true).build();
    // The renderer writes no title: one is added so that the image has a name.
    let label = label.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
    Some(svg.replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{label}\" "), 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(h in proptest::collection::vec(any::<u8>(), 1..200),
                      p in proptest::collection::vec(any::<u8>(), 0..900),
                      s in proptest::collection::vec(any::<u8>(), 1..80)) {
            let token = format!("{}.{}.{}", b64url(&h), b64url(&p), b64url(&s));
            let qr = encode(&token).unwrap();
            prop_assert!(qr.chars().all(|c| "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(c)));
            prop_assert_eq!(decode(&qr).unwrap(), token);
        }

        #[test]
        fn a_text_that_decodes_is_the_one_encoding_of_its_token(text in "HY1:[0-9A-Z $%*+./:-]{0,300}") {
            if let Ok(token) = decode(&text) {
                prop_assert_eq!(encode(&token).unwrap(), text);
            }
        }
    }

    #[test]
    fn a_frame_has_one_text() {
        // A frame of odd length ends in a two-character group; the same byte plus 256 is a group
        // the decoder would also read as that byte.
        for token in ["eyJhIjoxfQ.eyJiIjoyfQ.c2ln", "eyJhIjoxfQ.eyJiIjoyfQ.c2lnMQ"] {
            let qr = encode(token).unwrap();
            let alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
            let value = |c: char| alphabet.find(c).unwrap();
            let tail: Vec<char> = qr.chars().rev().take(2).collect();
            let (low, high) = (tail[1], tail[0]);
            let byte = value(low) + 45 * value(high);
            if (qr.len() - PREFIX.len()) % 3 != 2 || byte + 256 >= 45 * 45 {
                continue;
            }
            let other = byte + 256;
            let at = |n: usize| alphabet.chars().nth(n).unwrap();
            let twin = format!("{}{}{}", &qr[..qr.len() - 2], at(other % 45), at(other / 45));
            assert_eq!(decode(&qr).unwrap(), token);
            assert_eq!(decode(&twin), Err(Reason::Malformed), "{twin}");
            return;
        }
        panic!("no token gave a two-character tail");
    }

    #[test]
    fn truncated_frames_are_malformed() {
        let qr = encode("eyJhIjoxfQ.eyJiIjoyfQ.c2ln").unwrap();
        for cut in 4..qr.len() - 1 {
            if let Ok(token) = decode(&qr[..cut]) {
                assert_ne!(token, "eyJhIjoxfQ.eyJiIjoyfQ.c2ln");
            }
        }
    }
}
