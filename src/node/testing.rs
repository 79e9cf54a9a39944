//! Cores for unit tests: a temporary SQLite file, keys in memory, no TLS. A [`Federation`]
//! signs a trust directory over its cores as a registry would, so that services can be tried
//! between nodes without a network.

use std::sync::Arc;

use chrono::Utc;
use tempfile::TempDir;

use super::{AuditKey, CoreParts, DirectoryAnchor, Identity, NodeCore};
use crate::config::AssessmentSettings;
use crate::domain::access::Action;
use crate::domain::certificate::CertificateDraft;
use crate::domain::directory::{KeyWindow, NodeStatus};
use crate::domain::role::Role;
use crate::seal::directory::{DirectoryClaims, DirectoryKey, NodeEntry, sign_directory};
use crate::seal::{Ed25519Signer, Signer as _, sha256_hex};
use crate::store::{DatabaseUrl, Store, api_keys};

use super::audit::{Actor, Caller};

/// Origin township of the unit tests.
pub const ORIGIN: (&str, &str) = ("130728102000", "河北省张家口市怀安县柴沟堡镇");
/// Residence street of the unit tests.
pub const RESIDENCE: (&str, &str) = ("440306001000", "广东省深圳市宝安区新安街道");

/// A registry root key in memory and the nodes it vouches for.
pub struct Federation {
    root: Ed25519Signer,
    dir: TempDir,
    serial: u64,
}

impl Federation {
    /// A registry with a fresh root key.
    pub fn new() -> Self {
        let root = Ed25519Signer::ephemeral("000000000000").unwrap();
        Self { root, dir: tempfile::tempdir().unwrap(), serial: 0 }
    }

    /// A core of node `(code, name)` on its own SQLite file, anchored at this registry.
    pub fn core(&self, (code, name): (&str, &str)) -> NodeCore {
        let file = self.dir.path().join(format!("{code}.db"));
        let store = Store::open(&DatabaseUrl::parse(&format!("sqlite://{}", file.display())).unwrap(), 4).unwrap();
        let anchor =
            DirectoryAnchor { root: self.root.public_jwk(), cache: self.dir.path().join(format!("{code}.jws")) };
        NodeCore::new(CoreParts {
            identity: Identity { code: code.into(), name: name.into() },
            store,
            signer: Arc::new(Ed25519Signer::ephemeral(code).unwrap()),
            audit_key: AuditKey::new(vec![7; 32]),
            anchor: Some(anchor),
            assessment: AssessmentSettings::default().rules().unwrap(),
        })
        .unwrap()
    }

    /// Publishes a directory of `cores` and installs it on each.
    pub fn publish(&mut self, cores: &[&NodeCore]) {
        self.serial += 1;
        let now = Utc::now().timestamp();
        let nodes = cores
            .iter()
            .map(|core| NodeEntry {
                code: core.code().into(),
                name: core.identity.name.clone(),
                api_url: format!("https://{}.hunyu.invalid", core.code()),
                peer_url: format!("https://{}.hunyu.invalid:9701", core.code()),
                tls_sha256: sha256_hex(core.code().as_bytes()),
                status: NodeStatus::Active,
                keys: vec![DirectoryKey { jwk: core.signer.public_jwk(), window: KeyWindow::default() }],
            })
            .collect();
        let claims =
            DirectoryClaims { iss: "000000000000".into(), iat: now, exp: now + 3600, serial: self.serial, nodes };
        let token = sign_directory(&self.root, &claims);
        for core in cores {
            core.install_directory(&token, false).unwrap();
        }
    }
}

/// One core in a directory of its own.
pub fn lone_core(site: (&str, &str)) -> (Federation, NodeCore) {
    let mut federation = Federation::new();
    let core = federation.core(site);
    federation.publish(&[&core]);
    (federation, core)
}

/// An origin and a residence that trust each other through one directory.
pub fn origin_and_residence() -> (Federation, NodeCore, NodeCore) {
    let mut federation = Federation::new();
    let (origin, residence) = (federation.core(ORIGIN), federation.core(RESIDENCE));
    federation.publish(&[&origin, &residence]);
    (federation, origin, residence)
}

/// An actor of `role` at `core`, with an API key of its own, taking `action` for its default purpose.
pub fn actor(core: &NodeCore, role: Role, action: Action) -> Actor {
    let created = core.store.write(move |conn| api_keys::create(conn, role, "test", Utc::now().naive_utc(), None));
    Actor {
        caller: Caller { key_id: created.unwrap().0.id, role },
        request_id: "test".into(),
        purpose: action.default_purpose().into(),
    }
}

/// The certificate content of the `n`-th sample person of the demo, as an officer posts it.
pub fn sample_draft(n: usize) -> CertificateDraft {
    serde_json::from_value(crate::demo::sample_people().swap_remove(n).1).unwrap()
}
