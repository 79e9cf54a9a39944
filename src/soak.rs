//! `hunyu soak`: an origin and a residence node run as `hunyu serve` processes, enrolled in a
//! registry served here, under a steady mixed load (issue, verify, employer confirmation, on-line
//! look-up, arrivals that go through the exchange) for a long while. Every interval it reads each
//! node's `/metrics` as an operator's Prometheus would — resident memory, open files, the p99 of
//! its API requests — and prints a row; at the end it lets the nodes idle and reads them again.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::bench::{Scratch, synthetic_woman};
use crate::config::{Config, LimitSettings};
use crate::domain::role::Role;
use crate::registry::Registry;
use crate::setup::{InitOptions, create_api_key, enrolment, init_node, use_registry};
use crate::store::Backend;

/// Options of `hunyu soak`.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    pub backends: Vec<Backend>,
    /// PostgreSQL server on which scratch databases are created and dropped.
    pub postgres_url: String,
    /// How long the load runs.
    pub duration: Duration,
    /// Between two readings of the nodes' metrics.
    pub every: Duration,
    /// How long the nodes idle after the load before the last reading.
    pub idle: Duration,
}

/// Runs the soak on each backend and prints its readings.
pub async fn run(options: &SoakOptions) -> anyhow::Result<()> {
    for &backend in &options.backends {
        println!("\n== {backend} ==");
        soak_backend(backend, options).await?;
    }
    Ok(())
}

/// A node running as its own `hunyu serve` process.
struct ServedNode {
    name: &'static str,
    url: String,
    keys: HashMap<Role, String>,
    child: Child,
}

impl Drop for ServedNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests answered, refused and failed (5xx or no answer) since the start.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    /// Every answer that was not a success, by status (or why there was none) and route.
    outcomes: std::sync::Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    fn record(&self, route: &str, answer: &Result<reqwest::StatusCode, String>) {
        let counter = match answer {
            Ok(status) if status.is_success() => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(status) if status.is_client_error() => &self.refused,
            _ => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let what = match answer {
            Ok(status) => format!("{} {route}", status.as_u16()),
            Err(error) => format!("no answer ({error}) {route}"),
        };
        *self.outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(what).or_default() += 1;
    }
}

async fn soak_backend(backend: Backend, options: &SoakOptions) -> anyhow::Result<()> {
    let mut scratch = Scratch::new(backend, &options.postgres_url)?;
    let registry_dir = scratch.dir.path().join("registry");
    let mut registry = Registry::init(&registry_dir, "000000000000", "浸泡测试", 86_400)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let registry_url = format!("http://{}", listener.local_addr()?);
    let server = crate::registry::serve(&registry_dir, listener)?;
    let registry_handle = server.handle();
    tokio::spawn(server);
    let sites = [
        ("origin", "130728102000", "河北省张家口市怀安县柴沟堡镇"),
        ("residence", "440306001000", "广东省深圳市宝安区新安街道"),
    ];
    let mut configs = Vec::new();
    for (role, code, name) in sites {
        configs.push(prepare(&mut scratch, &mut registry, (role, code, name), &registry_url)?);
    }
    registry.publish(chrono::Utc::now())?;
    let mut nodes = Vec::new();
    for ((role, _, _), (config, path, url)) in sites.into_iter().zip(configs) {
        nodes.push(ServedNode::start(role, &config, &path, url, scratch.dir.path())?);
    }
    let client = reqwest::Client::new();
    for node in &nodes {
        node.ready(&client).await?;
    }
    let [origin, residence] = [&nodes[0], &nodes[1]];
    println!(
        "  load: 10 issues, 50 verifications, 10 employer confirmations, 10 on-line look-ups and 10 arrivals a second, for {} s",
        options.duration.as_secs()
    );
    println!(
        "  {:>6}  {:>8} {:>6} {:>6}  {:>28}  {:>28}",
        "t", "answered", "4xx", "5xx", "origin: RSS MB, files, p99", "residence: RSS MB, files, p99"
    );
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let load = tokio::spawn(drive(
        client.clone(),
        origin.load_keys(),
        residence.load_keys(),
        tally.clone(),
        started + options.duration,
    ));
    let mut previous = [Scrape::default(), Scrape::default()];
    let mut first = None;
    let mut last = [Scrape::default(), Scrape::default()];
    while started.elapsed() < options.duration {
        tokio::time::sleep(options.every.min(options.duration.saturating_sub(started.elapsed()))).await;
        let now = [Scrape::of(&client, origin).await?, Scrape::of(&client, residence).await?];
        print_row(started.elapsed(), &tally, &now, &previous);
        first.get_or_insert_with(|| now.clone());
        previous = now.clone();
        last = now;
    }
    load.await??;
    tokio::time::sleep(options.idle).await;
    let idle = [Scrape::of(&client, origin).await?, Scrape::of(&client, residence).await?];
    let first = first.context("the soak took no reading")?;
    println!(
        "  answered {}, refused {}, failed {} in {} s",
        tally.ok.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        options.duration.as_secs()
    );
    for (n, node) in nodes.iter().enumerate() {
        println!(
            "  {}: RSS {:.1} MB at the first reading, {:.1} MB at the last, {:.1} MB after {} s idle (target < 50 MB); open files {} → {} → {}; p99 over the whole run {:.1} ms",
            node.name,
            mib(first[n].rss),
            mib(last[n].rss),
            mib(idle[n].rss),
            options.idle.as_secs(),
            first[n].open_fds,
            last[n].open_fds,
            idle[n].open_fds,
            last[n].p99_since(&Scrape::default()) * 1000.0,
        );
    }
    registry_handle.stop(false).await;
    for (what, count) in tally.outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
        println!("  not answered 2xx: {count} × {what}");
    }
    if tally.failed.load(Ordering::Relaxed) > 0 {
        for node in &nodes {
            let log =
                std::fs::read_to_string(scratch.dir.path().join(format!("{}.log", node.name))).unwrap_or_default();
            let errors: Vec<&str> = log.lines().filter(|line| line.contains("ERROR")).collect();
            println!(
                "  {} log, last errors:\n    {}",
                node.name,
                errors[errors.len().saturating_sub(10)..].join("\n    ")
            );
        }
        bail!("{} requests failed", tally.failed.load(Ordering::Relaxed));
    }
    Ok(())
}

/// Creates a node's directory, enrols it and configures it with the registry; returns its
/// config, config path and API URL.
fn prepare(
    scratch: &mut Scratch,
    registry: &mut Registry,
    (role, code, name): (&str, &str, &str),
    registry_url: &str,
) -> anyhow::Result<(Config, std::path::PathBuf, String)> {
    let [api, peer] = [free_port()?, free_port()?];
    let options = InitOptions {
        dir: scratch.dir.path().join(role),
        code: code.into(),
        name: name.into(),
        database_url: scratch.database(role)?,
        listen: format!("127.0.0.1:{api}"),
        peer_listen: Some(format!("127.0.0.1:{peer}")),
        api_tls: false,
    };
    let (_, path) = init_node(&options)?;
    use_registry(&path, &registry.root_jwk(), Some(registry_url))?;
    let mut config = Config::load(&path)?;
    config.limits = LimitSettings::unlimited();
    // The load comes from one address but stands for many clients.
    config.http.max_requests_per_client = 4096;
    config.save(&path)?;
    let api_url = format!("http://127.0.0.1:{api}");
    registry.enrol(enrolment(&config, &api_url, &format!("https://127.0.0.1:{peer}"), 0)?)?;
    Ok((config, path, api_url))
}

impl ServedNode {
    /// Starts `hunyu serve` on the node's config, its log in `logs`.
    fn start(name: &'static str, config: &Config, path: &Path, url: String, logs: &Path) -> anyhow::Result<Self> {
        let mut keys = HashMap::new();
        for role in [Role::Officer, Role::Worker, Role::Employer] {
            keys.insert(role, create_api_key(config, role, "soak", None)?);
        }
        let log = std::fs::File::create(logs.join(format!("{name}.log")))?;
        let child = Command::new(std::env::current_exe()?)
            .args(["serve", "--config"])
            .arg(path)
            .env("HUNYU_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok(Self { name, url, keys, child })
    }

    /// Waits until the node answers `/readyz` (at most 30 s).
    async fn ready(&self, client: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if client.get(format!("{}/readyz", self.url)).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{} did not get ready", self.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The URL and the keys the load uses.
    fn load_keys(&self) -> (String, HashMap<Role, String>) {
        (self.url.clone(), self.keys.clone())
    }
}

/// The load: every 100 ms one issue at the origin, and at the residence five verifications, an
/// employer confirmation, an on-line look-up at the origin and an arrival (a message through the
/// exchange), of certificates issued earlier in the run.
async fn drive(
    client: reqwest::Client,
    (origin, origin_keys): (String, HashMap<Role, String>),
    (residence, residence_keys): (String, HashMap<Role, String>),
    tally: Arc<Tally>,
    until: Instant,
) -> anyhow::Result<()> {
    let post = |url: String, key: String, body: Value| {
        let (client, tally) = (client.clone(), tally.clone());
        async move {
            let route = url.split_once("/api/").map_or("", |(_, route)| route).to_owned();
            let answer = client.post(url).bearer_auth(key).json(&body).timeout(Duration::from_secs(30)).send().await;
            let kind = |e: &reqwest::Error| if e.is_timeout() { "timeout" } else { "connection" }.to_owned();
            tally.record(&route, &answer.as_ref().map(reqwest::Response::status).map_err(kind));
            match answer {
                Ok(response) if response.status().is_success() => response.json::<Value>().await.ok(),
                _ => None,
            }
        }
    };
    let key = |keys: &HashMap<Role, String>, role| keys.get(&role).cloned().unwrap_or_default();
    let issued: Arc<std::sync::Mutex<Vec<(String, String, String)>>> = Arc::default();
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    let mut n = 0u64;
    while Instant::now() < until {
        ticks.tick().await;
        n += 1;
        let (issue, store) = (
            post(format!("{origin}/api/v1/certificates"), key(&origin_keys, Role::Officer), synthetic_woman(n)),
            issued.clone(),
        );
        tokio::spawn(async move {
            if let Some(answer) = issue.await {
                let field = |name: &str| answer[name].as_str().unwrap_or_default().to_owned();
                let person = synthetic_woman(n)["person"]["id_number"].as_str().unwrap_or_default().to_owned();
                store.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((
                    field("qr"),
                    field("employer_qr"),
                    person,
                ));
            }
        });
        let shown = {
            let issued = issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            issued.get(usize::try_from(n).unwrap_or(0) % issued.len().max(1)).cloned()
        };
        let Some((qr, employer_qr, id_number)) = shown else { continue };
        let worker = key(&residence_keys, Role::Worker);
        for _ in 0..5 {
            tokio::spawn(post(format!("{residence}/api/v1/verify"), worker.clone(), json!({ "token": qr })));
        }
        let employer = key(&residence_keys, Role::Employer);
        tokio::spawn(post(format!("{residence}/api/v1/employer/confirm"), employer, json!({ "token": employer_qr })));
        let lookup = json!({ "id_number": id_number, "origin": "130728102000" });
        tokio::spawn(post(format!("{residence}/api/v1/lookup"), worker.clone(), lookup));
        let arrival = json!({ "token": qr, "address": "宝安区新安街道浸泡测试1号", "arrived_on": crate::domain::calendar::local_date(chrono::Utc::now()) });
        tokio::spawn(post(format!("{residence}/api/v1/arrivals"), worker, arrival));
    }
    // Let the last requests finish.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

/// What one reading of a node's `/metrics` says.
#[derive(Debug, Clone, Default)]
struct Scrape {
    rss: f64,
    open_fds: u64,
    /// Cumulative counts of API requests per histogram bucket (upper bound in seconds).
    buckets: BTreeMap<u64, f64>,
}

impl Scrape {
    async fn of(client: &reqwest::Client, node: &ServedNode) -> anyhow::Result<Self> {
        let text = client.get(format!("{}/metrics", node.url)).send().await?.text().await?;
        let mut scrape = Self::default();
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let Some((name, value)) = line.rsplit_once(' ') else { continue };
            let value: f64 = value.parse().unwrap_or(0.0);
            if name == "process_resident_memory_bytes" {
                scrape.rss = value;
            } else if name == "process_open_fds" {
                scrape.open_fds = value as u64;
            } else if name.starts_with("hunyu_request_duration_seconds_bucket{") && name.contains("listener=\"api\"") {
                let le = name.split("le=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or("+Inf");
                // Bucket bounds in microseconds, +Inf last.
                let bound = le.parse::<f64>().map_or(u64::MAX, |s| (s * 1e6).round() as u64);
                *scrape.buckets.entry(bound).or_default() += value;
            }
        }
        Ok(scrape)
    }

    /// The 99th percentile, in seconds, of the API requests between `earlier` and this reading
    /// (the upper bound of the bucket it falls in).
    fn p99_since(&self, earlier: &Scrape) -> f64 {
        let count = |scrape: &Scrape, bound| scrape.buckets.get(&bound).copied().unwrap_or(0.0);
        let total = count(self, u64::MAX) - count(earlier, u64::MAX);
        if total <= 0.0 {
            return 0.0;
        }
        self.buckets
            .keys()
            .find(|&&bound| count(self, bound) - count(earlier, bound) >= 0.99 * total)
            .map_or(f64::INFINITY, |&bound| if bound == u64::MAX { f64::INFINITY } else { bound as f64 / 1e6 })
    }
}

fn print_row(elapsed: Duration, tally: &Tally, now: &[Scrape; 2], previous: &[Scrape; 2]) {
    let node = |n: usize| {
        format!("{:>7.1} {:>5} {:>9.1} ms", mib(now[n].rss), now[n].open_fds, now[n].p99_since(&previous[n]) * 1000.0)
    };
    println!(
        "  {:>5}s  {:>8} {:>6} {:>6}  {:>28}  {:>28}",
        elapsed.as_secs(),
        tally.ok.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        node(0),
        node(1)
    );
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
