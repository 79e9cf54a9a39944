//! Crash tests: two real `hunyu serve` processes, 10,000 messages in the sender's outbox, and one
//! of the two killed with SIGKILL in the middle of the delivery, then restarted on the same ports
//! and database. Afterwards the receiver holds every message exactly once, in sequence, and the
//! sender holds every message's receipt: the very receipt the receiver stored.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use hunyu::config::Config;
use hunyu::domain::message::{Inquiry, MessageBody};
use hunyu::node::outbox::Outgoing;
use hunyu::node::{CoreError, NodeCore};
use hunyu::registry::Registry;
use hunyu::setup::{InitOptions, enrolment, init_node, use_registry};
use hunyu::store::schema::messages;
use hunyu::store::{Store, StoreError};

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, PgDatabase, RESIDENCE};

/// Messages in the sender's outbox when the processes start.
const MESSAGES: i64 = 10_000;
/// Messages per delivery request (`[peer] batch`): 20 requests, so a kill lands mid-delivery.
const BATCH: usize = 500;
/// Longest wait for a process to answer `/readyz`.
const READY: Duration = Duration::from_secs(30);
/// Longest wait for the delivery to make progress before the kill.
const PROGRESS: Duration = Duration::from_secs(60);
/// Longest wait for the delivery to finish after the restart: a killed sender's claimed messages
/// first wait out their lease (15 s, `LEASE` in src/exchange/delivery.rs).
const FINISH: Duration = Duration::from_secs(100);
/// How often the test looks at the databases.
const POLL: Duration = Duration::from_millis(10);

both_backends!(receiver_killed_mid_delivery, sender_killed_mid_batch);

/// The receiver dies while the sender is delivering; once it is back, delivery resumes where its
/// database says it stopped, and messages it stored but never answered are answered again.
async fn receiver_killed_mid_delivery(backend: Backend) {
    let mut pair = Pair::new(backend);
    pair.start().await;
    let started = Instant::now();

    // Kill once a few requests have been stored, while more are on the way.
    pair.await_moment(|stored, _| stored >= MESSAGES / 5).await;
    pair.receiver.kill();
    let stored = inbox_count(&pair.receiver_db);
    eprintln!("{backend:?}: receiver killed after {:?} with {stored} messages stored", started.elapsed());
    assert!(stored < MESSAGES, "delivery finished before the receiver died");

    // The sender meets a dead peer for a while: refused connections, postponed messages.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarted = Instant::now();
    pair.receiver.start(&pair.client).await;
    pair.await_delivery().await;
    eprintln!("{backend:?}: delivery finished {:?} after the receiver's restart", restarted.elapsed());
    pair.assert_exactly_once();
}

/// The sender dies with a request in flight: the receiver has stored messages whose receipts the
/// sender has not. Once back, the sender sends them again and gets their first receipts.
async fn sender_killed_mid_batch(backend: Backend) {
    let mut pair = Pair::new(backend);
    pair.start().await;
    let started = Instant::now();

    // Kill when the receiver has stored more than the sender has receipts for: a batch answered
    // (or being answered) whose receipts the sender has not yet stored.
    pair.await_moment(|stored, receipted| stored > receipted && stored >= MESSAGES / 10).await;
    pair.sender.kill();
    let receipted = MESSAGES - unreceipted_count(&pair.sender_db);
    // The receiver may still be storing the last request; let it finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored = inbox_count(&pair.receiver_db);
    eprintln!(
        "{backend:?}: sender killed after {:?} with {receipted} receipts; the receiver has {stored} messages",
        started.elapsed()
    );
    assert!(stored < MESSAGES, "delivery finished before the sender died");
    assert!(stored > receipted, "the sender was killed between requests, not mid-batch");

    let restarted = Instant::now();
    pair.sender.start(&pair.client).await;
    pair.await_delivery().await;
    eprintln!("{backend:?}: delivery finished {:?} after the sender's restart", restarted.elapsed());
    pair.assert_exactly_once();
}

/// A sender with 10,000 messages for a receiver, both configured but not yet running, and a
/// connection of the test's own to each database.
struct Pair {
    sender: ServeNode,
    receiver: ServeNode,
    sender_db: Store,
    receiver_db: Store,
    client: reqwest::Client,
    _pg: Vec<PgDatabase>,
    _dir: tempfile::TempDir,
}

impl Pair {
    fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pg: Vec<PgDatabase> = match backend {
            Backend::Sqlite => Vec::new(),
            Backend::Postgres => vec![PgDatabase::create(), PgDatabase::create()],
        };
        let database = |index: usize| pg.get(index).map_or_else(|| "sqlite://hunyu.db".to_owned(), |db| db.url.clone());
        let mut registry = Registry::init(&dir.path().join("registry"), "000000000000", "测试", 86_400).unwrap();
        let [api, peer, receiver_api, receiver_peer] = free_ports();
        let sender_dir = dir.path().join("sender");
        let mut sender = ServeNode::init("sender", &sender_dir, ORIGIN, database(0), (api, peer), &mut registry);
        let receiver_dir = dir.path().join("receiver");
        let ports = (receiver_api, receiver_peer);
        let mut receiver = ServeNode::init("receiver", &receiver_dir, RESIDENCE, database(1), ports, &mut registry);
        let directory = registry.publish(Utc::now()).unwrap();
        for node in [&mut sender, &mut receiver] {
            node.use_directory(&registry, &directory);
        }

        let started = Instant::now();
        fill_outbox(&sender.config, &receiver.code);
        eprintln!("{backend:?}: {MESSAGES} messages put in the outbox in {:?}", started.elapsed());

        let sender_db = Store::open(&sender.config.database_url().unwrap(), 2).unwrap();
        let receiver_db = Store::open(&receiver.config.database_url().unwrap(), 2).unwrap();
        assert_eq!(unreceipted_count(&sender_db), MESSAGES);
        assert_eq!(inbox_count(&receiver_db), 0);
        hunyu::exchange::tls::install_crypto_provider();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        Self { sender, receiver, sender_db, receiver_db, client, _pg: pg, _dir: dir }
    }

    /// Starts both processes, the receiver first.
    async fn start(&mut self) {
        self.receiver.start(&self.client).await;
        self.sender.start(&self.client).await;
    }

    /// Polls the databases until `moment(stored, receipted)` holds while delivery is under way;
    /// fails if delivery finishes first, if the moment does not come within [`PROGRESS`], or if
    /// a process exits.
    async fn await_moment(&mut self, moment: impl Fn(i64, i64) -> bool) {
        let deadline = Instant::now() + PROGRESS;
        loop {
            let receipted = MESSAGES - unreceipted_count(&self.sender_db);
            let stored = inbox_count(&self.receiver_db);
            assert!(stored < MESSAGES, "delivery finished before a process could be killed");
            if moment(stored, receipted) {
                return;
            }
            assert!(Instant::now() < deadline, "no moment to kill came ({stored} stored, {receipted} receipted)");
            self.assert_running();
            tokio::time::sleep(POLL).await;
        }
    }

    /// Panics if either process has exited.
    fn assert_running(&mut self) {
        self.sender.assert_running();
        self.receiver.assert_running();
    }

    /// Waits until the receiver has every message and the sender every receipt.
    async fn await_delivery(&mut self) {
        let deadline = Instant::now() + FINISH;
        loop {
            let unreceipted = unreceipted_count(&self.sender_db);
            let stored = inbox_count(&self.receiver_db);
            if unreceipted == 0 && stored >= MESSAGES {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "after {FINISH:?}: {stored} messages stored, {unreceipted} without a receipt"
            );
            self.assert_running();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every message once in the receiver's inbox, numbered 1..=10000 as the sender numbered it,
    /// and the receipt the receiver stored for it held by the sender.
    fn assert_exactly_once(&mut self) {
        self.assert_running();
        let sent = self.sender_db.read(|conn| rows(conn, "out")).unwrap();
        let received = self.receiver_db.read(|conn| rows(conn, "in")).unwrap();
        assert_eq!(sent.len(), usize::try_from(MESSAGES).unwrap(), "the sender's outbox changed size");
        assert_eq!(received.len(), sent.len(), "messages lost or duplicated");
        let seqs: Vec<i64> = received.iter().map(|r| r.seq).collect();
        assert!(seqs.iter().copied().eq(1..=MESSAGES), "the receiver's sequence numbers are not exactly 1..=10000");
        for (sent, received) in sent.iter().zip(&received) {
            assert_eq!(received.id, sent.id, "message {} has another id at the receiver", sent.seq);
            assert_eq!(received.peer, self.sender.code, "message {} from another peer", received.seq);
            assert_eq!(sent.peer, self.receiver.code, "message {} to another peer", sent.seq);
            assert_eq!(received.token, sent.token, "message {} arrived with other content", sent.seq);
            let receipt = sent.receipt.as_deref().unwrap_or_else(|| panic!("message {} has no receipt", sent.seq));
            assert_eq!(
                Some(receipt),
                received.receipt.as_deref(),
                "message {} has a receipt the receiver did not store",
                sent.seq
            );
        }
        assert_eq!(unreceipted_count(&self.sender_db), 0);
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for node in [&self.sender, &self.receiver] {
                eprintln!("{}", node.logs());
            }
        }
        self.sender.kill();
        self.receiver.kill();
    }
}

/// A node directory served by `hunyu serve` processes, one at a time, always on the same ports.
struct ServeNode {
    label: &'static str,
    code: String,
    dir: PathBuf,
    config_path: PathBuf,
    config: Config,
    api_url: String,
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
        };
        let (config, config_path) = init_node(&options).unwrap();
        let api_url = format!("http://127.0.0.1:{api_port}");
        let peer_url = format!("https://127.0.0.1:{peer_port}");
        registry.enrol(enrolment(&config, &api_url, &peer_url, 0).unwrap()).unwrap();
        Self { label, code: code.into(), dir: dir.to_owned(), config_path, config, api_url, child: None, starts: 0 }
    }

    /// Gives the node the registry's root key and `directory` offline (no registry URL), and its
    /// delivery batch size.
    fn use_directory(&mut self, registry: &Registry, directory: &str) {
        use_registry(&self.config_path, &registry.root_jwk(), None).unwrap();
        std::fs::write(self.dir.join("directory.jws"), directory).unwrap();
        let mut config = Config::load(&self.config_path).unwrap();
        config.peer.batch = BATCH;
        config.save(&self.config_path).unwrap();
        self.config = Config::load(&self.config_path).unwrap();
    }

    /// Starts `hunyu serve` and waits until it is ready.
    async fn start(&mut self, client: &reqwest::Client) {
        assert!(self.child.is_none(), "{} is already running", self.label);
        self.starts += 1;
        let log =
            |stream: &str| std::fs::File::create(self.dir.join(format!("serve-{}.{stream}", self.starts))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_hunyu"))
            .args(["serve", "--config", self.config_path.to_str().unwrap()])
            .env("HUNYU_LOG", "warn")
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

    /// SIGKILL: no shutdown, no flush, no goodbye.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn assert_running(&mut self) {
        if let Some(child) = &mut self.child
            && let Some(status) = child.try_wait().unwrap()
        {
            panic!("{} exited ({status}):\n{}", self.label, self.logs());
        }
    }

    /// The output of every process this node has run.
    fn logs(&self) -> String {
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
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [std::net::TcpListener; N] =
        std::array::from_fn(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    listeners.map(|listener| listener.local_addr().unwrap().port())
}

/// Puts `MESSAGES` inquiries for `to` in the outbox, in transactions of 1,000, before the sender
/// runs; the node (and its store) is closed again when this returns.
fn fill_outbox(config: &Config, to: &str) {
    let node = NodeCore::open(config).unwrap();
    let now = Utc::now();
    let due = now.date_naive() + chrono::Days::new(30);
    let her = crate::helpers::person_ref("130728199003070026", "张丽");
    for chunk in 0..MESSAGES / 1000 {
        let (outbox, to, her) = (node.outbox.clone(), to.to_owned(), her.clone());
        node.store
            .write(move |conn| {
                for i in chunk * 1000..(chunk + 1) * 1000 {
                    let question = format!("问题 {i}");
                    let out = Outgoing {
                        to: to.clone(),
                        body: MessageBody::Inquiry(Inquiry { person: her.clone(), question, urgent: false }),
                        in_reply_to: None,
                        due: Some(due),
                        subject: None,
                    };
                    outbox.enqueue(conn, out, now)?;
                }
                Ok::<_, CoreError>(())
            })
            .unwrap();
    }
}

/// What the assertions compare of a stored message.
#[derive(Debug, Queryable)]
struct Row {
    id: String,
    peer: String,
    seq: i64,
    token: String,
    receipt: Option<String>,
}

/// Messages of `direction`, in sequence order.
fn rows(conn: &mut hunyu::store::DbConn, direction: &str) -> Result<Vec<Row>, StoreError> {
    Ok(messages::table
        .filter(messages::direction.eq(direction))
        .select((messages::id, messages::peer, messages::seq, messages::token, messages::receipt))
        .order((messages::seq.asc(), messages::peer.asc()))
        .load(conn)?)
}

/// Messages in the inbox.
fn inbox_count(db: &Store) -> i64 {
    db.read(|conn| Ok::<_, StoreError>(messages::table.filter(messages::direction.eq("in")).count().get_result(conn)?))
        .unwrap()
}

/// Messages in the outbox without their receipt.
fn unreceipted_count(db: &Store) -> i64 {
    db.read(hunyu::store::messages::count_unreceipted).unwrap()
}
