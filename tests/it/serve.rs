//! Real `hunyu serve` processes for the tests that need them (crashes, logs): an origin and a
//! residence node enrolled in one registry, each started and killed as a process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use hunyu::config::Config;
use hunyu::registry::Registry;
use hunyu::setup::{InitOptions, enrolment, init_node, use_registry};

use crate::helpers::{Backend, ORIGIN, PgDatabase, RESIDENCE};

/// Longest wait for a process to answer `/readyz`.
const READY: Duration = Duration::from_secs(30);

/// An origin and a residence node, configured and enrolled in one registry, not yet running.
pub struct ServedPair {
    pub origin: ServeNode,
    pub residence: ServeNode,
    pub client: reqwest::Client,
    _pg: Vec<PgDatabase>,
    _dir: tempfile::TempDir,
}

impl ServedPair {
    /// Both nodes on `backend`, delivering `batch` messages per request, logging at `log`.
    pub fn new(backend: Backend, batch: usize, log: &'static str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pg: Vec<PgDatabase> = match backend {
            Backend::Sqlite => Vec::new(),
            Backend::Postgres => vec![PgDatabase::create(), PgDatabase::create()],
        };
        let database = |index: usize| pg.get(index).map_or_else(|| "sqlite://hunyu.db".to_owned(), |db| db.url.clone());
        let mut registry = Registry::init(&dir.path().join("registry"), "000000000000", "测试", 86_400).unwrap();
        let [api, peer, residence_api, residence_peer] = free_ports();
        let origin_dir = dir.path().join("origin");
        let mut origin = ServeNode::init("origin", &origin_dir, ORIGIN, database(0), (api, peer), &mut registry);
        let residence_dir = dir.path().join("residence");
        let ports = (residence_api, residence_peer);
        let mut residence = ServeNode::init("residence", &residence_dir, RESIDENCE, database(1), ports, &mut registry);
        let directory = registry.publish(Utc::now()).unwrap();
        for node in [&mut origin, &mut residence] {
            node.use_directory(&registry, &directory, batch);
            node.log = log;
        }
        hunyu::exchange::tls::install_crypto_provider();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        Self { origin, residence, client, _pg: pg, _dir: dir }
    }

    /// Starts both processes, the residence first.
    pub async fn start(&mut self) {
        self.residence.start(&self.client).await;
        self.origin.start(&self.client).await;
    }

    /// Panics if either process has exited.
    pub fn assert_running(&mut self) {
        self.origin.assert_running();
        self.residence.assert_running();
    }
}

impl Drop for ServedPair {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for node in [&self.origin, &self.residence] {
                eprintln!("{}", node.logs());
            }
        }
        self.origin.kill();
        self.residence.kill();
    }
}

/// A node directory served by `hunyu serve` processes, one at a time, always on the same ports.
pub struct ServeNode {
    label: &'static str,
    pub code: String,
    dir: PathBuf,
    config_path: PathBuf,
    pub config: Config,
    pub api_url: String,
    /// `HUNYU_LOG` of its processes.
    log: &'static str,
    child: Option<Child>,
    starts: u32,
}

impl ServeNode {
    /// Creates the node directory, listening on `api_port` and `peer_port`, and enrols the node
    /// in `registry`.
    fn init(
        label: &'static str,
        dir: &Path,
        (code, name): (&str, &str),
        database_url: String,
        (api_port, peer_port): (u16, u16),
        registry: &mut Registry,
    ) -> Self {
        let options = InitOptions {
            dir: dir.to_owned(),
            code: code.into(),
            name: name.into(),
            database_url,
            listen: format!("127.0.0.1:{api_port}"),
            peer_listen: Some(format!("127.0.0.1:{peer_port}")),
            api_tls: false,
        };
        let (config, config_path) = init_node(&options).unwrap();
        let api_url = format!("http://127.0.0.1:{api_port}");
        let peer_url = format!("https://127.0.0.1:{peer_port}");
        registry.enrol(enrolment(&config, &api_url, &peer_url, 0).unwrap()).unwrap();
        Self {
            label,
            code: code.into(),
            dir: dir.to_owned(),
            config_path,
            config,
            api_url,
            log: "warn",
            child: None,
            starts: 0,
        }
    }

    /// Gives the node the registry's root key and `directory` offline (no registry URL), and its
    /// delivery batch size.
    fn use_directory(&mut self, registry: &Registry, directory: &str, batch: usize) {
        use_registry(&self.config_path, &registry.root_jwk(), None).unwrap();
        std::fs::write(self.dir.join("directory.jws"), directory).unwrap();
        let mut config = Config::load(&self.config_path).unwrap();
        config.peer.batch = batch;
        config.save(&self.config_path).unwrap();
        self.config = Config::load(&self.config_path).unwrap();
    }

    /// Starts `hunyu serve` and waits until it is ready.
    pub async fn start(&mut self, client: &reqwest::Client) {
        assert!(self.child.is_none(), "{} is already running", self.label);
        self.starts += 1;
        let log =
            |stream: &str| std::fs::File::create(self.dir.join(format!("serve-{}.{stream}", self.starts))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_hunyu"))
            .args(["serve", "--config", self.config_path.to_str().unwrap()])
            .env("HUNYU_LOG", self.log)
            .env_remove("HUNYU_DATABASE_URL")
            .env_remove("HUNYU_LISTEN")
            .env_remove("HUNYU_PEER_LISTEN")
            .stdin(Stdio::null())
            .stdout(log("stdout"))
            .stderr(log("stderr"))
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + READY;
        loop {
            self.assert_running();
            let ready = client.get(format!("{}/readyz", self.api_url)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "{} not ready after {READY:?}", self.label);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The node's config file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn assert_running(&mut self) {
        if let Some(child) = &mut self.child
            && let Some(status) = child.try_wait().unwrap()
        {
            panic!("{} exited ({status}):\n{}", self.label, self.logs());
        }
    }

    /// The output of every process this node has run.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        for start in 1..=self.starts {
            for stream in ["stdout", "stderr"] {
                let path = self.dir.join(format!("serve-{start}.{stream}"));
                let output = std::fs::read_to_string(&path).unwrap_or_default();
                text.push_str(&format!("----- {} serve #{start} {stream}\n{output}", self.label));
            }
        }
        text
    }
}

/// `N` distinct ports free now; the nodes keep them across restarts.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [std::net::TcpListener; N] =
        std::array::from_fn(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    listeners.map(|listener| listener.local_addr().unwrap().port())
}
