//! `hunyu bench`: throughput figures, each printed beside the limit it is judged against, measured
//! in the same run on the same machine.
//!
//! - certificate check in-process vs. the bare Ed25519 signature check it contains;
//! - `POST /api/v1/verify` over HTTP vs. a bare actix-web endpoint that only checks the same
//!   token's signature (same load generator, same connections, same workers);
//! - issuance through the API vs. the backend's single-row durable commit rate;
//! - the exchange (messages from one node to the other, each receipted, durable on both ends) vs.
//!   the backend's batch-insert rate;
//! - `hunyu audit verify` over a long audit log, with the page cache warm and, where the process
//!   may drop it, cold (the target: 1.6 million entries in under 30 s).

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod books;

use anyhow::{Context as _, bail};
use chrono::{Days, NaiveDate, Utc};
use diesel::RunQueryDsl as _;
use diesel::connection::SimpleConnection as _;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::config::{Config, LimitSettings};
use crate::domain::calendar::local_date;
use crate::domain::error::Coded as _;
use crate::domain::id_number;
use crate::domain::id_number::check_digit;
use crate::domain::message::{Direction, Inquiry, MessageBody, PersonRef, inquiry_due};
use crate::domain::role::Role;
use crate::node::NodeCore;
use crate::node::outbox::Outgoing;
use crate::registry::Registry;
use crate::seal::jws::split_compact;
use crate::seal::records::open_certificate;
use crate::seal::{Jwk, VerifyingKey, qr};
use crate::setup::{InitOptions, RunningNode, create_api_key, federate, init_node, use_registry};
use crate::store::audit::{self, NewAudit};
use crate::store::messages::{self, MessageFilter};
use crate::store::{Backend, DatabaseUrl, DbConn, Store, StoreError};

/// Options of `hunyu bench`.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub backends: Vec<Backend>,
    /// PostgreSQL server on which a scratch database is created and dropped.
    pub postgres_url: String,
    /// Length of each timed phase.
    pub seconds: u64,
    /// Concurrent HTTP connections of the load generator.
    pub connections: usize,
    /// Which phases to run.
    pub phases: Vec<Phase>,
    /// Length of the audit log the audit phase checks.
    pub audit_entries: u64,
    /// Women's cards, and book entries, the report phase makes.
    pub report_rows: u64,
    /// Rows of the register the import phase reads.
    pub import_rows: u64,
}

/// A part of the benchmark, with the limit it is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// Issuance through the API vs. single-row commits.
    Issue,
    /// Verification in-process and over HTTP vs. a bare signature check.
    Verify,
    /// The exchange between two nodes vs. batch inserts.
    Exchange,
    /// The audit chain check over `--audit-entries` entries.
    Audit,
    /// The month's report over `--report-rows` cards and entries vs. a plain aggregate.
    Report,
    /// `hunyu import` of an `--import-rows` XLSX register vs. batch inserts.
    Import,
}

/// Runs every benchmark and prints the figures.
pub async fn run(options: &BenchOptions) -> anyhow::Result<()> {
    let phase = Duration::from_secs(options.seconds.max(1));
    println!(
        "hunyu bench: {} s per phase, {} connections, {} cores",
        phase.as_secs(),
        options.connections,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for &backend in &options.backends {
        let mut scratch = Scratch::new(backend, &options.postgres_url)?;
        bench_backend(backend, &mut scratch, phase, options).await?;
    }
    Ok(())
}

async fn bench_backend(
    backend: Backend,
    scratch: &mut Scratch,
    phase: Duration,
    options: &BenchOptions,
) -> anyhow::Result<()> {
    let connections = options.connections;
    println!("\n== {backend} ==");
    let mut registry = Registry::init(&scratch.dir.path().join("registry"), "000000000000", "全国", 86_400)?;
    let root = registry.root_jwk();
    let origin = BenchNode::start(scratch, &root, "origin", "130728102000", "怀安县柴沟堡镇")?;
    let residence = BenchNode::start(scratch, &root, "residence", "440306001000", "宝安区新安街道")?;
    federate(&mut registry, &[(&origin.config, &origin.running), (&residence.config, &residence.running)])?;

    // Verification runs on the certificates the issuance phase issued.
    let runs = |phase: Phase| options.phases.contains(&phase);
    if runs(Phase::Issue) || runs(Phase::Verify) {
        issue_phase(&origin, phase, connections).await?;
    }
    if runs(Phase::Verify) {
        verify_phase(backend, &origin, &residence, phase, connections).await?;
    }
    if runs(Phase::Exchange) {
        exchange_phase(&origin, &residence, phase).await?;
    }
    if runs(Phase::Audit) {
        audit_phase(&origin.node, options.audit_entries)?;
    }
    if runs(Phase::Report) {
        books::report_phase(&residence.node, options.report_rows, options.report_rows)?;
    }
    if runs(Phase::Import) {
        if !runs(Phase::Exchange) {
            exchange_rate(&origin.node, &residence.node, 1).await?;
        }
        books::import_phase(&origin.node, scratch.dir.path(), options.import_rows, phase)?;
    }
    origin.running.handle().stop(true).await;
    residence.running.handle().stop(true).await;
    Ok(())
}

/// Issuance through the API against the single-row durable commit rate of the same database.
async fn issue_phase(origin: &BenchNode, phase: Duration, connections: usize) -> anyhow::Result<()> {
    let commits = commit_rate(&DatabaseUrl::parse(&origin.database_url)?, phase)?;
    let people = Arc::new(AtomicU64::new(0));
    let issue_body = move |_: u64| json!(synthetic_woman(people.fetch_add(1, Ordering::Relaxed))).to_string();
    let issued =
        load(origin.addr, "/api/v1/certificates", &origin.officer, Arc::new(issue_body), connections, phase).await?;
    report("single-row durable commits (1 connection)", commits, "commits/s", None);
    // Any answer but a 2xx stops the benchmark, so the count is of issuances without one 5xx.
    println!("  {} certificates issued, every answer 2xx", issued.ok);
    report(
        "issuance, POST /api/v1/certificates",
        issued.rate(),
        "certificates/s",
        Some((commits, "commit rate", Some(0.5))),
    );
    Ok(())
}

/// Verification in-process and over HTTP, at the residence and at the issuer, against a bare
/// signature-check endpoint, on real QR texts of issued certificates.
async fn verify_phase(
    backend: Backend,
    origin: &BenchNode,
    residence: &BenchNode,
    phase: Duration,
    connections: usize,
) -> anyhow::Result<()> {
    let tokens = Arc::new(stored_qr_texts(&origin.node, 256)?);
    if backend == Backend::Sqlite {
        in_process(&origin.node, &tokens, phase)?;
    }
    let bare = BareVerifier::start(&origin.node)?;
    let body = {
        let tokens = tokens.clone();
        move |i: u64| json!({ "token": tokens[usize::try_from(i).unwrap_or(0) % tokens.len()] }).to_string()
    };
    let body: BodyFn = Arc::new(body);
    let bare_rate = load(bare.addr, "/verify", "", body.clone(), connections, phase).await?.rate();
    let at_residence =
        load(residence.addr, "/api/v1/verify", &residence.worker, body.clone(), connections, phase).await?;
    let at_origin = load(origin.addr, "/api/v1/verify", &origin.worker, body, connections, phase).await?;
    bare.handle.stop(false).await;
    report("bare actix endpoint, signature check only", bare_rate, "requests/s", None);
    report(
        "POST /api/v1/verify at the residence (查验)",
        at_residence.rate(),
        "requests/s",
        Some((bare_rate, "bare", Some(0.8))),
    );
    report(
        "POST /api/v1/verify at the issuer (its own, in memory)",
        at_origin.rate(),
        "requests/s",
        Some((bare_rate, "bare", Some(0.8))),
    );
    Ok(())
}

/// The exchange against the batch-insert rate of the same database: receiving a message is at
/// least one insert, and receipting it one update at the sender.
async fn exchange_phase(origin: &BenchNode, residence: &BenchNode, phase: Duration) -> anyhow::Result<()> {
    let sent = exchange_size(phase);
    let exchanged = exchange_rate(&origin.node, &residence.node, sent).await?;
    let inserts = batch_insert_rate(&origin.node, phase)?;
    report("batch inserts, 1,000 rows per transaction", inserts, "rows/s", None);
    report(
        &format!("exchange, {sent} inquiries in requests of {}", origin.config.peer.batch),
        exchanged,
        "messages/s",
        Some((inserts, "batch insert", None)),
    );
    Ok(())
}

/// A node started for the benchmark, with an officer and a worker key.
struct BenchNode {
    node: Arc<NodeCore>,
    addr: SocketAddr,
    running: RunningNode,
    config: Config,
    database_url: String,
    officer: String,
    worker: String,
}

impl BenchNode {
    /// Creates and starts a node that trusts the directories signed with `root`.
    fn start(scratch: &mut Scratch, root: &Jwk, role: &str, code: &str, name: &str) -> anyhow::Result<Self> {
        let database_url = scratch.database(role)?;
        let dir = scratch.dir.path().join(role);
        let options = InitOptions {
            dir: dir.clone(),
            code: code.into(),
            name: name.into(),
            database_url: database_url.clone(),
            listen: "127.0.0.1:0".into(),
            peer_listen: Some("127.0.0.1:0".into()),
            api_tls: false,
        };
        let (_, path) = init_node(&options)?;
        use_registry(&path, root, None)?;
        let mut config = Config::load(&path)?;
        config.limits = LimitSettings::unlimited();
        let officer = create_api_key(&config, Role::Officer, "bench", None)?;
        let worker = create_api_key(&config, Role::Worker, "bench", None)?;
        let mut running = RunningNode::start(&config)?;
        running.spawn();
        Ok(Self { node: running.core.clone(), addr: running.addr, running, config, database_url, officer, worker })
    }
}

/// Prints a figure, and its ratio to a limit with the target when it has one.
fn report(what: &str, rate: f64, unit: &str, against: Option<(f64, &str, Option<f64>)>) {
    let Some((limit, name, target)) = against else {
        println!("  {what:<52} {rate:>10.0} {unit}");
        return;
    };
    let ratio = rate / limit;
    let verdict = match target {
        Some(target) if ratio >= target => format!(" (meets target ≥ {target}×)"),
        Some(target) => format!(" (BELOW target ≥ {target}×)"),
        None => String::new(),
    };
    println!("  {what:<52} {rate:>10.0} {unit:<15} = {ratio:.2}× {name}{verdict}");
}

/// Scratch databases: SQLite files in a temp dir, or fresh PostgreSQL databases dropped afterwards.
pub(crate) struct Scratch {
    backend: Backend,
    pub(crate) dir: tempfile::TempDir,
    server: String,
    created: Vec<String>,
}

impl Scratch {
    pub(crate) fn new(backend: Backend, server: &str) -> anyhow::Result<Self> {
        Ok(Self { backend, dir: tempfile::tempdir()?, server: server.to_owned(), created: Vec::new() })
    }

    /// URL of a new empty database.
    pub(crate) fn database(&mut self, name: &str) -> anyhow::Result<String> {
        match self.backend {
            Backend::Sqlite => Ok(format!("sqlite://{}/{name}.db", self.dir.path().display())),
            Backend::Postgres => {
                use diesel::Connection as _;
                let db = format!("hunyu_bench_{name}_{}", uuid::Uuid::now_v7().simple());
                let mut admin =
                    diesel::PgConnection::establish(&self.server).context("PostgreSQL for the benchmark")?;
                admin.batch_execute(&format!("CREATE DATABASE {db}"))?;
                self.created.push(db.clone());
                // The scratch database on the same server, with the same connection parameters.
                let (server, parameters) =
                    self.server.split_once('?').map_or((self.server.as_str(), None), |(s, p)| (s, Some(p)));
                let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
                Ok(parameters.map_or_else(|| format!("{base}/{db}"), |p| format!("{base}/{db}?{p}")))
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        use diesel::Connection as _;
        if self.created.is_empty() {
            return;
        }
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.server) {
            for db in &self.created {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
            }
        }
    }
}

/// Sequential single-row transactions on one connection, each durably committed.
fn commit_rate(url: &DatabaseUrl, phase: Duration) -> anyhow::Result<f64> {
    let store = Store::open(url, 1)?;
    let ddl = match store.backend() {
        Backend::Sqlite => "CREATE TABLE bench_commits (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
        Backend::Postgres => {
            "CREATE TABLE bench_commits (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body TEXT NOT NULL)"
        }
    };
    store.write(|conn| conn.batch_execute(ddl).map_err(crate::store::StoreError::from))?;
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < phase {
        store.write(|conn| {
            diesel::sql_query("INSERT INTO bench_commits (body) VALUES ('a row about as long as a small record')")
                .execute(conn)
                .map_err(crate::store::StoreError::from)
        })?;
        n += 1;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// ID number of the n-th synthetic woman (unique, aged 20–45).
fn synthetic_id_number(n: u64) -> String {
    let base = NaiveDate::from_ymd_opt(1982, 1, 1).unwrap_or_default();
    // 500 women per birth date (100 sequence numbers × 5 even sex digits), 8,000 birth dates.
    let birth = base.checked_add_days(Days::new(n / 500 % 8000)).unwrap_or(base);
    let first17 = format!("130728{}{:02}{}", birth.format("%Y%m%d"), n % 500 / 5, (n % 5) * 2);
    format!("{first17}{}", check_digit(&first17).unwrap_or('0'))
}

/// Certificate content of the n-th synthetic woman.
pub(crate) fn synthetic_woman(n: u64) -> serde_json::Value {
    json!({
        "person": { "name": "测试", "id_number": synthetic_id_number(n), "sex": "F", "hukou": "130728102000" },
        "marital": { "status": "10" },
        "children": [],
    })
}

/// Messages of the exchange phase: as many as 10,000 a second would send in one phase, at least
/// 20,000, so that the start and end of delivery weigh little.
fn exchange_size(phase: Duration) -> u64 {
    phase.as_secs().saturating_mul(10_000).max(20_000)
}

/// Longest wait for the exchange phase: a delivery that stalls fails the benchmark.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(300);

/// Puts `count` inquiries to `to` in the outbox of `from` in one transaction (as
/// `flows::send_inquiry` words them), then times their delivery until every receipt is stored at
/// `from`. Both ends are durable by then: the receiver commits a batch before it answers.
async fn exchange_rate(from: &NodeCore, to: &NodeCore, count: u64) -> anyhow::Result<f64> {
    let (outbox, audit_key, receiver) = (from.outbox.clone(), from.audit_key.clone(), to.code().to_owned());
    let received = to.metrics.messages_received.get();
    let now = Utc::now();
    let today = local_date(now);
    let due = inquiry_due(today, false);
    let people = (0..count)
        .map(|n| {
            id_number::parse(&synthetic_id_number(n), today)
                .map(|id_number| PersonRef { id_number, name: "测试".into() })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!(e.code()))?;
    let store = from.store.clone();
    let queuing = Instant::now();
    tokio::task::spawn_blocking(move || {
        store.write(move |conn| {
            let outs = people
                .into_iter()
                .map(|person| Outgoing {
                    to: receiver.clone(),
                    subject: Some(audit_key.subject(person.id_number.as_str())),
                    body: MessageBody::Inquiry(Inquiry {
                        person,
                        question: "请核实其婚育情况及现居住地".into(),
                        urgent: false,
                    }),
                    in_reply_to: None,
                    due: Some(due),
                })
                .collect();
            outbox.enqueue_all(conn, outs, now).map(drop)
        })
    })
    .await??;
    println!("  {count} inquiries put in the outbox in one transaction in {:.1} s", queuing.elapsed().as_secs_f64());
    // The delivery worker counts receipts once they are committed: waiting on the counter costs
    // the nodes nothing, where polling the outbox would compete with them for the database.
    let delivered = &from.metrics.messages_delivered;
    let target = delivered.get() + count;
    let started = Instant::now();
    from.outbox.wake();
    while delivered.get() < target {
        if started.elapsed() > EXCHANGE_TIMEOUT {
            bail!("only {} of {count} messages were receipted", count + delivered.get() - target);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    let left = from.store.read(messages::count_unreceipted)?;
    let taken = to.metrics.messages_received.get() - received;
    if left > 0 || taken != count {
        bail!("{left} messages have no stored receipt; {taken} of {count} were taken into the inbox");
    }
    Ok(count as f64 / elapsed.as_secs_f64())
}

diesel::table! {
    /// The limit of the exchange figure: rows shaped like an exchanged message.
    bench_inserts (id) {
        id -> Text,
        peer -> Text,
        seq -> BigInt,
        token -> Text,
        receipt -> Text,
        created_at -> Timestamp,
    }
}

/// Appends `entries` verification-like entries to the node's audit log, between rows of another
/// table as a node's own writes fall between them, then times the chain check the way
/// `hunyu audit verify` runs it.
fn audit_phase(node: &NodeCore, entries: u64) -> anyhow::Result<()> {
    const CHUNK: u64 = 500;
    node.store.write(|conn| {
        conn.batch_execute("CREATE TABLE bench_filler (id BIGINT PRIMARY KEY NOT NULL, body TEXT NOT NULL)")
            .map_err(StoreError::from)
    })?;
    let started = Instant::now();
    let mut written = 0;
    while written < entries {
        let end = entries.min(written + CHUNK);
        let batch = (written..end)
            .map(|n| NewAudit {
                at: Utc::now().naive_utc(),
                request_id: uuid::Uuid::now_v7().to_string(),
                actor: "k-bench".into(),
                role: "worker".into(),
                action: "verify",
                subject: Some(crate::seal::chain::subject_key(b"bench", &synthetic_id_number(n))),
                object: Some(uuid::Uuid::now_v7().to_string()),
                purpose: "现居住地查验".into(),
                outcome: "active".into(),
            })
            .collect();
        node.store.audit(batch)?;
        // About a certificate version's size per entry.
        let filler = format!(
            "WITH RECURSIVE rows (n) AS (SELECT {written} UNION ALL SELECT n + 1 FROM rows WHERE n < {}) \
             INSERT INTO bench_filler (id, body) SELECT n, '{}' FROM rows",
            end - 1,
            "x".repeat(900)
        );
        node.store.write(move |conn| conn.batch_execute(&filler).map_err(StoreError::from))?;
        written = end;
    }
    report("audit entries appended", written as f64 / started.elapsed().as_secs_f64(), "entries/s", None);
    let check = |cache: &str| -> anyhow::Result<()> {
        let started = Instant::now();
        let chain = node.store.read(audit::verify_chain)?.map_err(|broken| anyhow::anyhow!("{broken}"))?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "  audit verify, {} entries, {cache:<10} {seconds:>8.1} s ({:.1} s per 1.6 million)",
            chain.entries,
            seconds * 1.6e6 / chain.entries.max(1) as f64
        );
        Ok(())
    };
    check("warm cache")?;
    // Dropping the page cache needs root; without it the cold figure is not measured.
    let dropped = std::process::Command::new("sync").status().is_ok_and(|s| s.success())
        && std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok();
    if dropped {
        check("cold cache")?;
    } else {
        println!("  audit verify, cold cache: not measured (dropping the page cache needs root)");
    }
    Ok(())
}

/// Rows per second inserted in transactions of 1,000 rows (one multi-row statement each, through
/// the writer thread like every write), into a table of the node's database with a message's
/// keys and a real message's and receipt's sizes.
fn batch_insert_rate(node: &NodeCore, phase: Duration) -> anyhow::Result<f64> {
    use bench_inserts::dsl as t;
    use diesel::ExpressionMethods as _;
    const ROWS: i64 = 1000;
    let filter = MessageFilter { direction: Some(Direction::Out), limit: Some(1), ..MessageFilter::default() };
    let sample = node.store.read(|conn| messages::list(conn, &filter))?.pop().context("no message was sent")?;
    let receipt = sample.receipt.unwrap_or_default();
    node.store.write(|conn| {
        conn.batch_execute(
            "CREATE TABLE bench_inserts (id TEXT PRIMARY KEY NOT NULL, peer TEXT NOT NULL, seq BIGINT NOT NULL, \
             token TEXT NOT NULL, receipt TEXT NOT NULL, created_at TIMESTAMP NOT NULL, UNIQUE (peer, seq))",
        )
        .map_err(StoreError::from)
    })?;
    let started = Instant::now();
    let mut last = 0i64;
    while started.elapsed() < phase {
        let at = Utc::now().naive_utc();
        let rows: Vec<_> = (last + 1..=last + ROWS)
            .map(|seq| {
                (
                    t::id.eq(uuid::Uuid::now_v7().to_string()),
                    t::peer.eq(sample.peer.clone()),
                    t::seq.eq(seq),
                    t::token.eq(sample.token.clone()),
                    t::receipt.eq(receipt.clone()),
                    t::created_at.eq(at),
                )
            })
            .collect();
        let insert = diesel::insert_into(t::bench_inserts).values(rows);
        // Multi-row inserts are built per backend: diesel's multi-backend connection has no such form.
        node.store.write(move |conn| match conn {
            DbConn::Sqlite(lite) => insert.execute(lite).map_err(StoreError::from),
            DbConn::Postgres(pg) => insert.execute(pg).map_err(StoreError::from),
        })?;
        last += ROWS;
    }
    Ok(last as f64 / started.elapsed().as_secs_f64())
}

fn stored_qr_texts(node: &NodeCore, limit: i64) -> anyhow::Result<Vec<String>> {
    use crate::store::schema::certificate_versions::dsl::*;
    use diesel::QueryDsl as _;
    let texts: Vec<String> = node
        .store
        .read(|conn| certificate_versions.select(qr).limit(limit).load(conn).map_err(crate::store::StoreError::from))?;
    if texts.is_empty() {
        bail!("no certificate was issued");
    }
    Ok(texts)
}

/// In-process rates on one core: the raw signature check, and the whole certificate check.
fn in_process(node: &NodeCore, tokens: &[String], phase: Duration) -> anyhow::Result<()> {
    let key = VerifyingKey::from_jwk(&node.jwks().keys[0])?;
    let decoded: Vec<String> =
        tokens.iter().map(|t| qr::decode(t)).collect::<Result<_, _>>().map_err(|r| anyhow::anyhow!(r.code()))?;
    let raw = timed(phase / 2, |i| {
        let parts = split_compact(&decoded[i % decoded.len()]).ok();
        parts.is_some_and(|p| key.verify(p.signing_input.as_bytes(), &p.signature))
    });
    // A request of the exchange: 500 records of one signer, checked in one batch.
    const BATCH: usize = 500;
    let parts: Vec<_> = decoded.iter().cycle().take(BATCH).filter_map(|t| split_compact(t).ok()).collect();
    let signed: Vec<_> = parts.iter().map(|p| (&key, p.signing_input.as_bytes(), p.signature.as_slice())).collect();
    let batched = timed(phase / 4, |_| VerifyingKey::verify_batch(&signed)) * BATCH as f64;
    let full = timed(phase / 2, |i| {
        open_certificate(&tokens[i % tokens.len()], &node.trust.current(), &node.contract).is_ok()
    });
    report("Ed25519 signature check in-process (1 core)", raw, "checks/s", None);
    report("Ed25519 batch of 500 signatures of one key (1 core)", batched, "checks/s", Some((raw, "single", None)));
    report("certificate check in-process (QR, inflate, schema)", full, "checks/s", Some((raw, "signature", None)));
    Ok(())
}

fn timed(phase: Duration, mut work: impl FnMut(usize) -> bool) -> f64 {
    let started = Instant::now();
    let mut n = 0usize;
    while started.elapsed() < phase {
        for _ in 0..64 {
            if !work(n) {
                return 0.0;
            }
            n += 1;
        }
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// The limit of the HTTP verify figure: an actix-web endpoint that only checks the token's signature.
struct BareVerifier {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl BareVerifier {
    fn start(node: &NodeCore) -> anyhow::Result<Self> {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let jwk: Jwk = node.jwks().keys[0].clone();
        let key = web::Data::new(VerifyingKey::from_jwk(&jwk)?);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = HttpServer::new(move || {
            App::new().app_data(key.clone()).route(
                "/verify",
                web::post().to(|key: web::Data<VerifyingKey>, body: web::Json<serde_json::Value>| async move {
                    let text = body["token"].as_str().unwrap_or_default();
                    let valid = qr::decode(text)
                        .ok()
                        .and_then(|token| {
                            split_compact(&token).ok().map(|p| key.verify(p.signing_input.as_bytes(), &p.signature))
                        })
                        .unwrap_or(false);
                    HttpResponse::Ok().json(json!({ "valid": valid }))
                }),
            )
        })
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self { addr, handle })
    }
}

/// Completed requests of a load phase.
struct Load {
    ok: u64,
    elapsed: Duration,
}

impl Load {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

type BodyFn = Arc<dyn Fn(u64) -> String + Send + Sync>;

/// Keeps `connections` keep-alive HTTP/1.1 connections busy for `phase`; a 2xx counts as done.
///
/// A minimal client on purpose: on two cores the load generator shares the CPU with the server,
/// and a full HTTP client would cost more per request than the endpoints being measured.
async fn load(
    addr: SocketAddr,
    path: &str,
    bearer: &str,
    body: BodyFn,
    connections: usize,
    phase: Duration,
) -> anyhow::Result<Load> {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + phase;
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (path, bearer, body, counter) = (path.to_owned(), bearer.to_owned(), body.clone(), counter.clone());
        tasks.push(tokio::spawn(async move { connection(addr, &path, &bearer, &*body, &counter, deadline).await }));
    }
    let mut ok = 0;
    for task in tasks {
        ok += task.await??;
    }
    Ok(Load { ok, elapsed: started.elapsed() })
}

async fn connection(
    addr: SocketAddr,
    path: &str,
    bearer: &str,
    body: &(dyn Fn(u64) -> String + Send + Sync),
    counter: &AtomicU64,
    deadline: Instant,
) -> anyhow::Result<u64> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let auth = if bearer.is_empty() { String::new() } else { format!("Authorization: Bearer {bearer}\r\n") };
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut ok = 0;
    while Instant::now() < deadline {
        let payload = body(counter.fetch_add(1, Ordering::Relaxed));
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{payload}",
            payload.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let status = read_response(&mut stream, &mut buf).await?;
        if (200..300).contains(&status) {
            ok += 1;
        } else {
            bail!("{path} answered {status}: {}", String::from_utf8_lossy(&buf));
        }
    }
    Ok(ok)
}

/// Reads one response (headers and a Content-Length body); returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end])?;
            let status: u16 = head.get(9..12).context("short status line")?.parse()?;
            let length: usize = head
                .lines()
                .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
                .map_or(Ok(0), |(_, v)| v.trim().parse())?;
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    bail!("connection closed mid-body");
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..end + 4);
            return Ok(status);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
