//! A peer's message batch (`POST /exchange/v1/messages`) as far as the inbox checks it without a
//! database: the JSON body (`exchange::Batch`), its messages opened together as the inbox does
//! (`open_records` of `hunyu-message+jwt` into `MessageClaims`: batch signature check, schema,
//! key window), each message's body (a certificate update's certificate is opened too), and its
//! receipts (`hunyu-receipt+jwt` into `ReceiptClaims`), as the delivery worker opens them.
//!
//! Input: a JSON object is the batch body as sent; a JSON array is a list of claims (messages,
//! or receipts where an element has `msg`), each element signed here byte for byte by the harness
//! key of its `iss`, then opened as above, so that coverage reaches the claims parsers.
#![no_main]

use hunyu::contract::Kind;
use hunyu::domain::message::{MESSAGE_TYP, MessageBody, MessageClaims, RECEIPT_TYP, ReceiptClaims};
use hunyu::exchange::{Batch, MAX_BATCH};
use hunyu::seal::read_stored;
use hunyu::seal::records::{open_certificate, open_records};
use hunyu_fuzz::{HARNESS, Harness};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fuzz_target!(|data: &[u8]| {
    let h = &*HARNESS;
    match data.first() {
        Some(b'[') => {
            let Ok(elements) = serde_json::from_slice::<Vec<&RawValue>>(data) else { return };
            let mut messages = Vec::new();
            let mut receipts = Vec::new();
            for element in elements {
                let payload = element.get().as_bytes();
                let _ = serde_json::from_slice::<MessageClaims>(payload);
                let is_receipt =
                    serde_json::from_slice::<serde_json::Value>(payload).is_ok_and(|v| v.get("msg").is_some());
                if is_receipt {
                    receipts.push(h.sign(RECEIPT_TYP, payload));
                } else {
                    messages.push(h.sign(MESSAGE_TYP, payload));
                }
            }
            check(h, Batch { messages, receipts });
        }
        _ => {
            if let Ok(batch) = serde_json::from_slice::<Batch>(data) {
                check(h, batch);
            }
        }
    }
});

fn check(h: &Harness, batch: Batch) {
    if batch.messages.len() <= MAX_BATCH {
        let tokens: Vec<&str> = batch.messages.iter().map(String::as_str).collect();
        for token in &tokens {
            let _ = read_stored::<MessageClaims>(token);
        }
        let opened = open_records::<MessageClaims>(&tokens, MESSAGE_TYP, Kind::Message, &h.trust, &h.contract);
        assert_eq!(opened.len(), tokens.len());
        for claims in opened.into_iter().flatten() {
            let _ = (claims.body.kind().as_str(), claims.body.person().map(|p| p.id_number.masked()));
            if let MessageBody::CertificateUpdate(update) = &claims.body {
                let _ = open_certificate(&update.token, &h.trust, &h.contract);
            }
        }
    }
    let tokens: Vec<&str> = batch.receipts.iter().map(String::as_str).collect();
    let opened = open_records::<ReceiptClaims>(&tokens, RECEIPT_TYP, Kind::Receipt, &h.trust, &h.contract);
    assert_eq!(opened.len(), tokens.len());
}
