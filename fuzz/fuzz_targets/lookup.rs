//! Electronic certificate lookups between nodes (电子证明查询): a residence's signed request
//! (`hunyu-lookup-request+jwt` into `LookupRequestClaims`) and the origin's signed answer
//! (`hunyu-lookup-answer+jwt` into `LookupAnswerClaims`), each of whose certificate copies is
//! opened as `service::lookup` opens them (token and QR text).
//!
//! Input: `{...}` is a payload signed here by the harness key of its `iss`, opened as a request
//! and as an answer; anything else is a token as a peer sends it.
#![no_main]

use hunyu::contract::Kind;
use hunyu::domain::message::{
    LOOKUP_ANSWER_TYP, LOOKUP_REQUEST_TYP, LookupAnswerClaims, LookupRequestClaims, lookup_is_fresh,
};
use hunyu::seal::records::{open_certificate, open_record};
use hunyu_fuzz::{HARNESS, Harness, Input, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let h = &*HARNESS;
    match Input::of(data) {
        Input::Payload(payload) => {
            open_request(h, &h.sign(LOOKUP_REQUEST_TYP, payload));
            open_answer(h, &h.sign(LOOKUP_ANSWER_TYP, payload));
        }
        Input::Text(text) => {
            open_request(h, text);
            open_answer(h, text);
        }
        Input::Deflated(_) | Input::Other => {}
    }
});

fn open_request(h: &Harness, token: &str) {
    if let Ok(asked) =
        open_record::<LookupRequestClaims>(token, LOOKUP_REQUEST_TYP, Kind::LookupRequest, &h.trust, &h.contract)
    {
        let _ = (lookup_is_fresh(asked.iat, NOW), asked.id_number.masked());
    }
}

fn open_answer(h: &Harness, token: &str) {
    if let Ok(answered) =
        open_record::<LookupAnswerClaims>(token, LOOKUP_ANSWER_TYP, Kind::LookupAnswer, &h.trust, &h.contract)
    {
        for copy in &answered.certificates {
            let _ = open_certificate(&copy.token, &h.trust, &h.contract);
            let _ = open_certificate(&copy.qr, &h.trust, &h.contract);
        }
    }
}
