//! Status records from other nodes: a node's status list (`hunyu-status+jwt`, opened with
//! `open_record` into `StatusListClaims` under `Kind::StatusList`, as `exchange::status` does) and
//! an issuer's on-line status answer (`hunyu-status-answer+jwt` into `StatusAnswerClaims`).
//!
//! Input: `{...}` is a payload signed here by the harness key of its `iss` and opened as both
//! kinds; anything else is a token as a peer serves it.
#![no_main]

use hunyu::contract::Kind;
use hunyu::domain::claims::{STATUS_ANSWER_TYP, STATUS_LIST_TYP, StatusAnswerClaims, StatusListClaims};
use hunyu::seal::records::open_record;
use hunyu_fuzz::{HARNESS, Harness, Input, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let h = &*HARNESS;
    match Input::of(data) {
        Input::Payload(payload) => {
            open_list(h, &h.sign(STATUS_LIST_TYP, payload));
            open_answer(h, &h.sign(STATUS_ANSWER_TYP, payload));
        }
        Input::Text(text) => {
            open_list(h, text);
            open_answer(h, text);
        }
        Input::Deflated(_) | Input::Other => {}
    }
});

fn open_list(h: &Harness, token: &str) {
    if let Ok(list) = open_record::<StatusListClaims>(token, STATUS_LIST_TYP, Kind::StatusList, &h.trust, &h.contract) {
        for entry in &list.entries {
            let _ = (entry.status.as_str(), entry.status.reason());
        }
    }
}

fn open_answer(h: &Harness, token: &str) {
    if let Ok(answer) =
        open_record::<StatusAnswerClaims>(token, STATUS_ANSWER_TYP, Kind::StatusAnswer, &h.trust, &h.contract)
    {
        let _ = answer.is_fresh(NOW);
    }
}
