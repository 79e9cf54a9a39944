//! Spawning real nodes for tests, each on its own database, on SQLite or PostgreSQL.

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, PgConnection};
use hunyu::config::Config;
use hunyu::domain::id_number::check_digit;
use hunyu::domain::role::Role;
use hunyu::registry::Registry;
use hunyu::seal::{Ed25519Signer, Jwks};
use hunyu::setup::{InitOptions, PUBLIC_JWKS_FILE, RunningNode, create_api_key, federate, init_node};
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
    pub config: Config,
    pub officer: String,
    pub worker: String,
    pub employer: String,
    pub admin: String,
    pub auditor: String,
    pub client: reqwest::Client,
    /// The node's core (store, trust, metrics, outbox), as the running node uses it.
    pub core: std::sync::Arc<hunyu::node::NodeCore>,
    /// The listeners and background work, stopped when the test ends.
    pub node: RunningNode,
    /// The registry this node is configured with (its own, unless spawned with peers or tweaked).
    pub registry_dir: std::path::PathBuf,
    _own_registry: Option<TestRegistry>,
    _pg: Option<PgDatabase>,
    pub dir: tempfile::TempDir,
}

impl Drop for TestNode {
    fn drop(&mut self) {
        let handle = self.node.handle();
        tokio::spawn(async move { handle.stop(false).await });
    }
}

/// A registry in a temporary directory, served on loopback once [`TestRegistry::serve`] is called.
pub struct TestRegistry {
    pub registry: Registry,
    pub dir: tempfile::TempDir,
    pub url: Option<String>,
    server: Option<actix_web::dev::ServerHandle>,
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            tokio::spawn(async move { server.stop(false).await });
        }
    }
}

impl TestRegistry {
    /// A registry with a fresh root key and a one-day directory lifetime.
    pub fn new() -> Self {
        Self::with_lifetime(86_400)
    }

    /// A registry whose directories are fresh for `seconds`.
    pub fn with_lifetime(seconds: i64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::init(&dir.path().join("registry"), "000000000000", "测试信任名录", seconds).unwrap();
        Self { registry, dir, url: None, server: None }
    }

    /// Starts serving `GET /directory`; returns the registry URL.
    pub fn serve(&mut self) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = hunyu::registry::serve(&self.dir.path().join("registry"), listener).unwrap();
        self.server = Some(server.handle());
        tokio::spawn(server);
        self.url = Some(url.clone());
        url
    }

    /// Stops serving (the nodes keep their cached directory).
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop(true).await;
        }
    }

    /// Points a node's config at this registry: its root key, its URL (if served) and a cache file.
    pub fn configure(&self, config: &mut Config) {
        configure(config, &self.path(), self.url.clone());
    }

    /// The registry directory.
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("registry")
    }

    /// Enrols `nodes`, publishes, and puts the directory in use on each; returns the directory.
    pub fn federate(&mut self, nodes: &[&TestNode]) -> String {
        let members: Vec<_> = nodes.iter().map(|n| (&n.config, &n.node)).collect();
        federate(&mut self.registry, &members).unwrap()
    }
}

/// Points a node's config at the registry in `registry_dir`.
fn configure(config: &mut Config, registry_dir: &std::path::Path, registry_url: Option<String>) {
    let node_dir = config.keys.signing.parent().unwrap().parent().unwrap().to_owned();
    config.directory = Some(hunyu::config::DirectorySettings {
        registry_url,
        root_key: registry_dir.join(hunyu::registry::ROOT_JWK_FILE),
        cache: node_dir.join("directory.jws"),
        refresh_seconds: 3600,
    });
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
            peer_listen: Some("127.0.0.1:0".into()),
            api_tls: false,
        };
        let (_, config_path) = init_node(&options).unwrap();
        let mut config = Config::load(&config_path).unwrap();
        config.http.workers = Some(2);
        // Spawned with peers, a node joins the first peer's registry; alone, it gets its own.
        let own_registry = peers.is_empty().then(TestRegistry::new);
        let registry_dir =
            peers.first().map_or_else(|| own_registry.as_ref().unwrap().path(), |p| p.registry_dir.clone());
        configure(&mut config, &registry_dir, None);
        tweak(&mut config);
        let key = |role| create_api_key(&config, role, "test", None).unwrap();
        let (officer, worker, employer) = (key(Role::Officer), key(Role::Worker), key(Role::Employer));
        let (admin, auditor) = (key(Role::Admin), key(Role::Auditor));
        let mut running = RunningNode::start(&config).unwrap();
        running.spawn();
        let url = running.url();
        let core = running.core.clone();
        hunyu::exchange::tls::install_crypto_provider();
        let test_node = TestNode {
            url,
            code: code.into(),
            config,
            officer,
            worker,
            employer,
            admin,
            auditor,
            client: reqwest::Client::new(),
            core,
            node: running,
            registry_dir,
            _own_registry: own_registry,
            _pg: pg,
            dir,
        };
        if !peers.is_empty() {
            let mut registry = Registry::open(&test_node.registry_dir).unwrap();
            let members: Vec<_> = peers.iter().copied().chain([&test_node]).map(|n| (&n.config, &n.node)).collect();
            federate(&mut registry, &members).unwrap();
        }
        test_node
    }

    /// GETs the list of messages matching `query` as the worker.
    pub async fn messages(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/messages?{query}"), &self.worker).await;
        assert_eq!(status, 200, "{body}");
        body["messages"].as_array().unwrap().clone()
    }

    /// Fetches the status lists of the directory's other nodes now (as the refresh does).
    pub async fn fetch_status_lists(&self) {
        hunyu::exchange::status::refresh_all(&self.core, &self.node.exchange.peers).await;
    }

    /// Waits until every message this node sent has its receipt (at most 20 s).
    pub async fn await_receipts(&self) {
        for _ in 0..400 {
            let pending = self.core.store.read(hunyu::store::messages::count_unreceipted).unwrap();
            if pending == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("messages of {} still unreceipted after 20 s", self.code);
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

    /// A download as `key`, with `accept` as the Accept header if given: status, content type and body.
    pub async fn download(&self, path: &str, key: &str, accept: Option<&str>) -> (u16, String, String) {
        let (status, content_type, body) = self.download_bytes(path, key, accept).await;
        (status, content_type, String::from_utf8(body).unwrap())
    }

    /// [`Self::download`] of a binary file.
    pub async fn download_bytes(&self, path: &str, key: &str, accept: Option<&str>) -> (u16, String, Vec<u8>) {
        let mut request = self.client.get(format!("{}{path}", self.url)).bearer_auth(key);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, content_type, response.bytes().await.unwrap().to_vec())
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
        self.core.store.read(hunyu::store::certificates::row_counts).unwrap()
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
    // Distinct for 500 sequence numbers: the hundreds shift the sex digit.
    let even = ((seq + seq / 100) % 5) * 2;
    let sex_digit = if female { even } else { even + 1 };
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

/// A person as a message names her, checked.
pub fn person_ref(id_number: &str, name: &str) -> hunyu::domain::message::PersonRef {
    let draft = hunyu::domain::message::PersonRefDraft { id_number: id_number.into(), name: name.into() };
    draft.parse("person", hunyu::domain::calendar::local_date(chrono::Utc::now())).unwrap()
}

/// An unmarried young woman without children.
pub fn single_woman(seq: u32) -> Value {
    json!({
        "person": { "name": "李娜", "id_number": id_number("430181", "20010915", seq, true), "sex": "F",
                    "hukou": "130728102201" },
        "marital": { "status": "10" },
        "children": []
    })
}

/// A registry served on loopback and nodes configured with it, enrolled and given its directory.
pub async fn federation(backend: Backend, sites: &[(&str, &str)]) -> (TestRegistry, Vec<TestNode>) {
    let mut registry = TestRegistry::new();
    registry.serve();
    let mut nodes = Vec::new();
    for site in sites {
        nodes.push(TestNode::spawn_with(backend, *site, &[], |config| registry.configure(config)).await);
    }
    registry.federate(&nodes.iter().collect::<Vec<_>>());
    (registry, nodes)
}

/// The cells of sheet `name` of the XLSX workbook `bytes`, as calamine reads them.
pub fn xlsx_sheet(bytes: &[u8], name: &str) -> calamine::Range<calamine::Data> {
    use calamine::Reader as _;
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    workbook.worksheet_range(name).unwrap()
}
