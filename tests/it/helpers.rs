//! Spawning real nodes for tests, each on its own database, on SQLite or PostgreSQL.

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, PgConnection};
use hunyu::config::Config;
use hunyu::domain::id_number::check_digit;
use hunyu::domain::role::Role;
use hunyu::seal::{Ed25519Signer, Jwks};
use hunyu::setup::{InitOptions, PUBLIC_JWKS_FILE, RunningNode, add_peer, create_api_key, init_node};
use serde_json::{Value, json};

/// Which database a test node runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

/// Server URL of the PostgreSQL used by tests; each test gets its own database there.
///
/// Without TLS: nodes of finished tests may still be closing their connections when the test
/// process exits, and libpq's TLS state is torn down at exit (a crash seen once in CI).
pub fn pg_server_url() -> String {
    std::env::var("HUNYU_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".into())
}

/// A PostgreSQL database created for one test and dropped after it.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    pub fn create() -> Self {
        let server = pg_server_url();
        let name = format!("hunyu_t_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::establish(&server)
            .unwrap_or_else(|e| panic!("PostgreSQL must be running for the tests ({server}): {e}"));
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let (location, query) = server.split_once('?').map_or((server.as_str(), None), |(l, q)| (l, Some(q)));
        let base = location.rsplit_once('/').unwrap().0;
        let url = query.map_or_else(|| format!("{base}/{name}"), |q| format!("{base}/{name}?{q}"));
        Self { url, name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&pg_server_url()) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A node serving on a free port, with one API key per role.
pub struct TestNode {
    pub url: String,
    pub code: String,
    pub name: String,
    pub config: Config,
    pub officer: String,
    pub worker: String,
    pub employer: String,
    pub admin: String,
    pub auditor: String,
    pub client: reqwest::Client,
    pub running: std::sync::Arc<hunyu::node::Node>,
    _pg: Option<PgDatabase>,
    pub dir: tempfile::TempDir,
}

/// Origin township of the tests: 河北省张家口市怀安县柴沟堡镇 (illustrative code under a real county).
pub const ORIGIN: (&str, &str) = ("130728102000", "河北省张家口市怀安县柴沟堡镇");
/// Residence street of the tests: 广东省深圳市宝安区新安街道.
pub const RESIDENCE: (&str, &str) = ("440306001000", "广东省深圳市宝安区新安街道");

impl TestNode {
    /// Starts a node that trusts `peers`.
    pub async fn spawn(backend: Backend, site: (&str, &str), peers: &[&TestNode]) -> TestNode {
        Self::spawn_with(backend, site, peers, |_| {}).await
    }

    /// Starts a node that trusts `peers`, with `tweak` applied to its configuration.
    pub async fn spawn_with(
        backend: Backend,
        (code, name): (&str, &str),
        peers: &[&TestNode],
        tweak: impl FnOnce(&mut Config),
    ) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let pg = (backend == Backend::Postgres).then(PgDatabase::create);
        let database_url = pg.as_ref().map_or_else(|| "sqlite://node.db".to_owned(), |db| db.url.clone());
        let options = InitOptions {
            dir: dir.path().to_owned(),
            code: code.into(),
            name: name.into(),
            database_url,
            listen: "127.0.0.1:0".into(),
        };
        let (_, config_path) = init_node(&options).unwrap();
        for peer in peers {
            add_peer(&config_path, &peer.code, &peer.name, &peer.jwks()).unwrap();
        }
        let mut config = Config::load(&config_path).unwrap();
        config.http.workers = Some(2);
        tweak(&mut config);
        let key = |role| create_api_key(&config, role, "test", None).unwrap();
        let (officer, worker, employer) = (key(Role::Officer), key(Role::Worker), key(Role::Employer));
        let (admin, auditor) = (key(Role::Admin), key(Role::Auditor));
        let running = RunningNode::start(&config).unwrap();
        let url = running.url();
        let node = running.node.clone();
        tokio::spawn(running.server);
        TestNode {
            url,
            code: code.into(),
            name: name.into(),
            config,
            officer,
            worker,
            employer,
            admin,
            auditor,
            client: reqwest::Client::new(),
            running: node,
            _pg: pg,
            dir,
        }
    }

    /// The API key of `role`.
    pub fn key(&self, role: Role) -> &str {
        match role {
            Role::Officer => &self.officer,
            Role::Worker => &self.worker,
            Role::Employer => &self.employer,
            Role::Admin => &self.admin,
            Role::Auditor => &self.auditor,
        }
    }

    /// The node's public keys as written by `hunyu init`.
    pub fn jwks(&self) -> Jwks {
        let text = std::fs::read_to_string(self.dir.path().join(PUBLIC_JWKS_FILE)).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The node's own signing key, loaded from its key file.
    pub fn signer(&self) -> Ed25519Signer {
        Ed25519Signer::load(&self.config.keys.signing, &self.code).unwrap()
    }

    /// POSTs JSON with a bearer key; returns status and body.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        let response =
            self.client.post(format!("{}{path}", self.url)).bearer_auth(key).json(body).send().await.unwrap();
        read(response).await
    }

    /// GETs with a bearer key; returns status and body.
    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.url)).bearer_auth(key).send().await.unwrap();
        read(response).await
    }

    /// Issues a certificate as the officer; panics unless 201.
    pub async fn issue(&self, draft: &Value) -> Value {
        let (status, body) = self.post("/api/v1/certificates", &self.officer, draft).await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Verifies a token or QR text as the worker; panics unless 200.
    pub async fn verify(&self, token: &str) -> Value {
        let (status, body) = self.post("/api/v1/verify", &self.worker, &json!({ "token": token })).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Rows in persons, certificates, versions and events.
    pub fn row_counts(&self) -> [i64; 4] {
        self.running.store().read(hunyu::store::certificates::row_counts).unwrap()
    }
}

/// Status and JSON body of a response; problem responses must say so in their Content-Type.
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(content_type, "application/problem+json", "error {status} without problem+json: {body}");
        for key in ["type", "title", "status", "code", "message_zh", "message_en"] {
            assert!(body.get(key).is_some(), "problem without {key}: {body}");
        }
    }
    (status, body)
}

/// A valid citizen ID number for the given region, birth date (YYYYMMDD), sequence and sex.
pub fn id_number(region: &str, birth: &str, seq: u32, female: bool) -> String {
    let sex_digit = if female { (seq % 5) * 2 } else { (seq % 5) * 2 + 1 };
    let first17 = format!("{region}{birth}{:02}{sex_digit}", seq % 100);
    let check = check_digit(&first17).unwrap();
    format!("{first17}{check}")
}

/// Certificate content of 张丽 (the vectors' person), married with one child and an IUD.
pub fn zhang_li() -> Value {
    hunyu::demo::sample_people().swap_remove(0).1
}

/// 欧阳晓雯, married with three children: the largest ordinary certificate (the QR size bar).
pub fn three_children() -> Value {
    hunyu::demo::sample_people().swap_remove(1).1
}

/// An unmarried young woman without children.
pub fn single_woman(seq: u32) -> Value {
    json!({
        "person": { "name": "李娜", "id_number": id_number("430181", "20010915", seq, true), "sex": "F",
                    "hukou": "430181001000" },
        "marital": { "status": "10" },
        "children": []
    })
}
