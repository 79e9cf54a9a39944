//! What hunyu's fuzz targets share: the trust they verify against, the contract, and signers that
//! put a fuzzer-chosen payload behind a good signature.
//!
//! A mutated signed token almost never keeps a good signature, so a target that only fed tokens
//! in would stop at the signature check. The signed-record targets therefore read their input in
//! one of three ways, told apart by its first byte, so that seeds stay plain files:
//! - `{` (or `[` where a target takes many): a payload, which the target signs with the harness
//!   key of its `iss` and opens, so that coverage reaches the schema and claims parsers;
//! - `~`: raw DEFLATE bytes, signed as a `zip: "DEF"` payload (the capped inflation);
//! - anything else: the text as it arrives from outside (compact JWS, QR text), checked against
//!   a trust store that also holds the public keys of the demo run the seeds came from, so that
//!   the real artefacts among the seeds verify.
//!
//! Signing keys here are test material only: the RFC 8037 Appendix A.1 key (already public in
//! the RFC and in `tests/data/vectors`), and two keys derived from fixed seeds.

use std::sync::LazyLock;

use chrono::NaiveDate;
use hunyu::contract::Contract;
use hunyu::seal::{Ed25519Signer, Jwk, Signer, TrustStore, b64url, b64url_decode, sign_compact};
use ring::signature::KeyPair as _;

/// The origin township of the demo and of the test vectors.
pub const ORIGIN: &str = "130728102000";
/// The residence street of the demo.
pub const RESIDENCE: &str = "440306001000";
/// The national registry of the demo, which signs the trust directory.
pub const REGISTRY: &str = "000000000000";

/// Public keys of the demo run whose artefacts seed the corpora (written by `make_seeds.py`).
const DEMO_KEYS: &str = include_str!("../seeds/demo-keys.json");

/// Everything a target checks against, built once per process.
pub struct Harness {
    pub contract: Contract,
    /// The demo's node keys and the harness keys of the origin and the residence.
    pub trust: TrustStore,
    /// Signs as the origin: the RFC 8037 A.1 test key, kid `130728102000#rfc8037-a1`.
    pub origin: Ed25519Signer,
    /// Signs as the residence, kid `440306001000#fuzz`.
    pub residence: Ed25519Signer,
    /// Signs directories as the registry root, kid `000000000000#fuzz-root`.
    pub root: Ed25519Signer,
    /// The public half of [`Self::root`].
    pub root_jwk: Jwk,
    /// The demo registry's root key, under which the seed directory verifies.
    pub demo_root: Jwk,
}

/// The harness of this process.
pub static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);

/// The day a target takes as today (fixed, so that runs repeat).
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or(NaiveDate::MIN)
}

/// Now, in seconds, as of [`today`] at noon in China.
pub const NOW: i64 = 1_795_838_400;

impl Harness {
    fn new() -> Self {
        let contract = Contract::new().expect("the embedded schemas compile");
        let origin = Ed25519Signer::from_seed(
            &b64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").expect("seed"),
            &b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").expect("public key"),
            &format!("{ORIGIN}#rfc8037-a1"),
        )
        .expect("the RFC 8037 key pair");
        let residence = seeded([0x44; 32], &format!("{RESIDENCE}#fuzz"));
        let root = seeded([0x52; 32], &format!("{REGISTRY}#fuzz-root"));

        let demo: serde_json::Value = serde_json::from_str(DEMO_KEYS).expect("seeds/demo-keys.json is JSON");
        let demo_root: Jwk = serde_json::from_value(demo["root"].clone()).expect("demo root key");
        let mut trust = TrustStore::default();
        for node in demo["nodes"].as_array().expect("demo nodes") {
            let code = node["code"].as_str().expect("code");
            let name = node["name"].as_str().expect("name");
            let keys: Vec<Jwk> = serde_json::from_value(node["keys"].clone()).expect("demo node keys");
            trust.add_node(code, name, &keys).expect("demo node keys are Ed25519");
        }
        trust.add_node(ORIGIN, "怀安县柴沟堡镇", &[origin.public_jwk()]).expect("origin key");
        trust.add_node(RESIDENCE, "新安街道", &[residence.public_jwk()]).expect("residence key");
        let root_jwk = root.public_jwk();
        Self { contract, trust, origin, residence, root, root_jwk, demo_root }
    }

    /// The harness signer of the node a payload names as `iss` (the origin when it names none).
    pub fn signer_for(&self, payload: &[u8]) -> &Ed25519Signer {
        let iss = serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .and_then(|v| v.get("iss").and_then(|i| i.as_str()).map(str::to_owned));
        match iss.as_deref() {
            Some(RESIDENCE) => &self.residence,
            Some(REGISTRY) => &self.root,
            _ => &self.origin,
        }
    }

    /// `payload` signed as a compact JWS of type `typ` by the signer of its `iss`.
    pub fn sign(&self, typ: &str, payload: &[u8]) -> String {
        sign_compact(self.signer_for(payload), typ, payload, false)
    }

    /// A token of type `typ` whose payload part is `deflated` as given, with `zip: "DEF"`.
    pub fn sign_deflated(&self, typ: &str, deflated: &[u8]) -> String {
        let signer = &self.origin;
        let header = format!(r#"{{"alg":"EdDSA","kid":"{}","typ":"{typ}","zip":"DEF"}}"#, signer.kid());
        let mut token = format!("{}.{}", b64url(header.as_bytes()), b64url(deflated));
        let signature = signer.sign(token.as_bytes());
        token.push('.');
        token.push_str(&b64url(&signature));
        token
    }
}

/// A signer from a fixed 32-byte seed.
fn seeded(seed: [u8; 32], kid: &str) -> Ed25519Signer {
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).expect("a 32-byte seed");
    Ed25519Signer::from_seed(&seed, pair.public_key().as_ref(), kid).expect("seed and public key agree")
}

/// How a signed-record target reads its input (see the crate documentation).
pub enum Input<'a> {
    /// A payload to sign (starts with `{`).
    Payload(&'a [u8]),
    /// Raw DEFLATE bytes to sign as a `zip: "DEF"` payload (after a leading `~`).
    Deflated(&'a [u8]),
    /// Text as it comes from outside.
    Text(&'a str),
    /// Bytes that are none of these (not UTF-8): nothing outside sends them as text.
    Other,
}

impl<'a> Input<'a> {
    pub fn of(data: &'a [u8]) -> Self {
        match data.first() {
            Some(b'{') => Self::Payload(data),
            Some(b'~') => Self::Deflated(&data[1..]),
            _ => std::str::from_utf8(data).map_or(Self::Other, Self::Text),
        }
    }
}
