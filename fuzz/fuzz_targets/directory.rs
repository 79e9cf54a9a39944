//! The signed trust directory (`hunyu-directory+jwt`): `seal::directory::open_directory` against a
//! registry root key (signature, schema, registry, URLs), then what installing it does with the
//! claims: `TrustStore::from_directory` and the look-ups made of the store it builds.
//!
//! Input: `{...}` is a directory payload signed here by the harness root key; anything else is a
//! token as the registry serves it, checked against the demo registry's root key (under which the
//! seed directory verifies) and the harness root key.
#![no_main]

use hunyu::domain::directory::may_replace;
use hunyu::seal::TrustStore;
use hunyu::seal::directory::{DIRECTORY_TYP, DirectoryClaims, open_directory};
use hunyu::seal::sign_compact;
use hunyu_fuzz::{HARNESS, Harness, Input, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let h = &*HARNESS;
    let root = &h.root_jwk;
    match Input::of(data) {
        Input::Payload(payload) => {
            let token = sign_compact(&h.root, DIRECTORY_TYP, payload, false);
            if let Ok(claims) = open_directory(&token, root, &h.contract) {
                install(h, &claims);
            }
        }
        Input::Text(text) => {
            for root in [&h.demo_root, root] {
                if let Ok(claims) = open_directory(text, root, &h.contract) {
                    install(h, &claims);
                }
            }
        }
        Input::Deflated(_) | Input::Other => {}
    }
});

/// What `install_directory` does with a directory that opened, less the disk and the metrics.
fn install(h: &Harness, claims: &DirectoryClaims) {
    let _ = may_replace(Some(1), claims.serial);
    let Ok(trust) = TrustStore::from_directory(claims, &h.trust) else { return };
    let _ = (trust.stamp(), trust.freshness(NOW));
    for node in &claims.nodes {
        assert!(trust.node(&node.code).is_some(), "a listed node is not in the store it built");
        let _ = trust.node_by_tls(&node.tls_sha256);
        for key in &node.keys {
            let _ = trust.resolve(&key.jwk.kid);
        }
    }
    let _ = trust.nodes().count();
}
