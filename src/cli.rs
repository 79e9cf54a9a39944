//! The `hunyu` command line.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::bench::{BenchOptions, Phase};
use crate::config::Config;
use crate::demo::DemoOptions;
use crate::domain::access::Action;
use crate::domain::assessment::Month;
use crate::domain::role::Role;
use crate::http::reports::AssessmentView;
use crate::node::{Actor, Caller};
use crate::registry::{Enrolment, Registry};
use crate::service::reports;
use crate::setup::{InitOptions, RunningNode, create_account, create_api_key, init_node, restore_node, use_registry};
use crate::sheets::{self, Format};
use crate::store::{Backend, Store, api_keys, audit};

/// hunyu (婚育): marriage-and-childbearing certificates between origin and residence jurisdictions.
#[derive(Debug, Parser)]
#[command(name = "hunyu", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a node directory: config, Ed25519 signing key (mode 0600), migrated database.
    Init(InitArgs),
    /// Run a node's API server until Ctrl-C or SIGTERM.
    Serve(ConfigArg),
    /// Create or list API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Open or list people's accounts for the pages.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run the registry: enrol nodes, retire or mark keys compromised, publish and serve the trust directory.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Start an origin and a residence node on SQLite and play the certificate story.
    Demo(DemoArgs),
    /// Measure issuance, verification and exchange throughput against their limits (build with --release).
    Bench(BenchArgs),
    /// Write a consistent copy of the node's SQLite database while it serves (PostgreSQL: pg_dump).
    Backup(BackupArgs),
    /// Put a backup in place of a lost database (PostgreSQL: after pg_restore) and mark it
    /// restored: on its next start the node takes back from its peers what it lost.
    Restore(RestoreArgs),
    /// Run two `hunyu serve` nodes under steady mixed load and read their memory, open files and
    /// latency over time (build with --release).
    Soak(SoakArgs),
    /// The month's dual assessment (双向考核) of this node, as JSON, CSV or an XLSX workbook.
    Report(ReportArgs),
    /// Close a month now (结账): sign its report; the running node sends it to the registry.
    CloseMonth(CloseMonthArgs),
    /// Bring in a township's existing register of women's cards (育龄妇女卡) from CSV or XLSX, or
    /// write the template of its columns.
    Import(ImportArgs),
}

/// Arguments of `hunyu import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The CSV or XLSX file (its first sheet); the header row names the template's columns.
    #[arg(long, required_unless_present = "template")]
    pub file: Option<PathBuf>,
    /// Where the rows refused are listed (row, column, rule); default: beside the file, `.rejects.csv`.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Write the template of the expected columns to this new `.csv` or `.xlsx` file instead.
    #[arg(long, conflicts_with = "file")]
    pub template: Option<PathBuf>,
}

/// Arguments of `hunyu report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// `YYYY-MM` in Asia/Shanghai; default: last month.
    #[arg(long)]
    pub month: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// The file to write (never overwritten); default: standard output (not for xlsx).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `hunyu close-month`.
#[derive(Debug, Args)]
pub struct CloseMonthArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// `YYYY-MM` in Asia/Shanghai, a month that has ended; default: last month.
    #[arg(long)]
    pub month: Option<String>,
}

/// The node of `config` opened for a command of its host's operator, who acts as an officer for
/// `purpose` (audited as the actor `host`).
fn host_officer(config: &ConfigArg, purpose: &str) -> anyhow::Result<(crate::node::NodeCore, Actor)> {
    let config = Config::load(&config.config)?;
    let core = crate::node::NodeCore::open(&config)?;
    let caller = Caller { key_id: "host".into(), role: Role::Officer };
    let who = Actor { caller, request_id: String::new(), purpose: purpose.into() };
    Ok((core, who))
}

/// Last month in Asia/Shanghai, as `YYYY-MM`.
fn last_month() -> String {
    Month::of(chrono::Utc::now()).previous().to_string()
}

/// Arguments of `hunyu backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The new backup file (never overwritten).
    #[arg(long)]
    pub to: PathBuf,
}

/// Arguments of `hunyu restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The backup to put in place of the database (SQLite only; the database must be moved aside).
    #[arg(long)]
    pub from: Option<PathBuf>,
}

/// Arguments of `hunyu soak`.
#[derive(Debug, Args)]
pub struct SoakArgs {
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both", value_parser = ["sqlite", "postgres", "both"])]
    pub backend: String,
    /// PostgreSQL server where scratch databases are created and dropped.
    #[arg(long, env = "HUNYU_BENCH_PG_URL", default_value = BENCH_PG_URL)]
    pub postgres_url: String,
    /// Minutes of load per backend.
    #[arg(long, default_value_t = 20)]
    pub minutes: u64,
    /// Seconds between two readings of the nodes' metrics.
    #[arg(long, default_value_t = 60)]
    pub every: u64,
    /// Seconds the nodes idle after the load before the last reading.
    #[arg(long, default_value_t = 30)]
    pub idle: u64,
}

/// The PostgreSQL server of the benchmarks and the soak, as the tests reach it: on this machine,
/// where TLS to the database would cost both processes CPU and protect nothing.
const BENCH_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";

/// Arguments of `hunyu bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both", value_parser = ["sqlite", "postgres", "both"])]
    pub backend: String,
    /// PostgreSQL server where a scratch database is created and dropped.
    #[arg(long, env = "HUNYU_BENCH_PG_URL", default_value = BENCH_PG_URL)]
    pub postgres_url: String,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Concurrent connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Phases to run (verify also issues the certificates it checks); all by default.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Phase::Issue, Phase::Verify, Phase::Exchange])]
    pub only: Vec<Phase>,
    /// Entries in the audit log that the `audit` phase checks.
    #[arg(long, default_value_t = 1_600_000)]
    pub audit_entries: u64,
    /// Women's cards, and book entries, that the `report` phase makes.
    #[arg(long, default_value_t = 1_000_000)]
    pub report_rows: u64,
    /// Rows of the XLSX register that the `import` phase reads.
    #[arg(long, default_value_t = 100_000)]
    pub import_rows: u64,
}

/// Arguments of `hunyu demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory of the demo nodes (created, or reused with its keys and data).
    #[arg(long, default_value = "hunyu-demo")]
    pub dir: PathBuf,
    /// Base port: the origin listens on PORT+1, the residence on PORT+2.
    #[arg(long, default_value_t = 8700)]
    pub port: u16,
    /// Stop after the story instead of serving until Ctrl-C.
    #[arg(long)]
    pub no_serve: bool,
}

impl Command {
    /// Log level when `HUNYU_LOG` is unset: request lines for servers, warnings only for the demo.
    pub fn default_log_filter(&self) -> &'static str {
        match self {
            Self::Demo(_) | Self::Bench(_) => "warn",
            _ => "info",
        }
    }
}

/// Arguments of `hunyu init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory of the new node.
    #[arg(long)]
    pub dir: PathBuf,
    /// 12-digit division code of the jurisdiction (county or township).
    #[arg(long)]
    pub code: String,
    /// Name of the jurisdiction.
    #[arg(long)]
    pub name: String,
    /// Database URL: sqlite://FILE (relative to --dir) or postgres://…
    #[arg(long, default_value = "sqlite://hunyu.db")]
    pub database: String,
    /// Address of the API listener.
    #[arg(long, default_value = "127.0.0.1:8701")]
    pub listen: String,
    /// Address of the mutual-TLS peer listener (node-to-node exchange).
    #[arg(long, default_value = "127.0.0.1:9701")]
    pub peer_listen: String,
    /// Serve the API over HTTPS with the node's own TLS certificate (keys/tls.pem).
    #[arg(long)]
    pub api_tls: bool,
    /// The registry root public key (root.jwk.json): the node trusts the directory it signs.
    #[arg(long)]
    pub registry_root: Option<PathBuf>,
    /// Base URL of the registry, fetched every directory.refresh_seconds.
    #[arg(long, requires = "registry_root")]
    pub registry_url: Option<String>,
}

/// The config file of a node.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Path of hunyu.toml.
    #[arg(long, env = "HUNYU_CONFIG", default_value = "hunyu.toml")]
    pub config: PathBuf,
}

/// `hunyu audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the audit log; names the first entry that was changed or removed.
    Verify(ConfigArg),
}

/// The directory of a registry.
#[derive(Debug, Args)]
pub struct RegistryDir {
    /// Directory holding the registry's root key, state and published directory.
    #[arg(long)]
    pub dir: PathBuf,
}

/// `hunyu registry …`
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Create a registry with a new root key (mode 0600) and publish an empty directory.
    Init {
        #[command(flatten)]
        dir: RegistryDir,
        /// 12-digit code of the registry, e.g. 440000000000 for a province.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Hours a published directory is fresh; verifiers warn after that.
        #[arg(long, default_value_t = 24)]
        lifetime_hours: i64,
    },
    /// Enrol a node, or update its URLs, TLS certificate and keys; publishes at once.
    Enrol {
        #[command(flatten)]
        dir: RegistryDir,
        /// The node's 12-digit code.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Base URL of the node's API.
        #[arg(long)]
        api_url: String,
        /// Base URL of the node's mutual-TLS peer listener (https://…).
        #[arg(long)]
        peer_url: String,
        /// The node's public keys (the jwks.json that `hunyu init` writes).
        #[arg(long)]
        jwks: PathBuf,
        /// The node's TLS certificate (keys/tls.pem); the directory lists its SHA-256.
        #[arg(long)]
        tls_cert: PathBuf,
        /// When new keys may start signing (RFC 3339; default: now).
        #[arg(long)]
        not_before: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
    /// Retire a key at a time (default now): what it signed before stays valid.
    RetireKey {
        #[command(flatten)]
        dir: RegistryDir,
        /// Key id, `<node code>#<key id>`.
        #[arg(long)]
        kid: String,
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
    /// Mark a key compromised at time T: everything it signed from T on is refused.
    CompromiseKey {
        #[command(flatten)]
        dir: RegistryDir,
        #[arg(long)]
        kid: String,
        /// RFC 3339 time from which its signatures are refused.
        #[arg(long)]
        at: chrono::DateTime<chrono::FixedOffset>,
    },
    /// Retire a node: it receives nothing more; its keys keep verifying what they signed.
    RetireNode {
        #[command(flatten)]
        dir: RegistryDir,
        #[arg(long)]
        code: String,
    },
    /// Re-sign the directory with a fresh lifetime (run well before it goes stale).
    Publish(RegistryDir),
    /// List the enrolled nodes and keys.
    Show(RegistryDir),
    /// Serve the published directory at GET /directory until Ctrl-C or SIGTERM.
    Serve {
        #[command(flatten)]
        dir: RegistryDir,
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: String,
    },
}

/// `hunyu users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Open an account; without --password-stdin a password is made and printed once.
    Create {
        #[command(flatten)]
        config: ConfigArg,
        /// Sign-in name: 3–32 of a-z 0-9 . _ -, starting with a letter.
        #[arg(long)]
        name: String,
        /// admin, officer, worker, employer or auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts (never their passwords).
    List(ConfigArg),
}

/// `hunyu keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; the key is printed once and stored only as a hash.
    Create {
        #[command(flatten)]
        config: ConfigArg,
        /// admin, officer, worker or employer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Who or what the key is for.
        #[arg(long)]
        label: String,
        /// Days until the key expires (default: never).
        #[arg(long)]
        valid_days: Option<i64>,
    },
    /// List API keys (never the keys themselves).
    List(ConfigArg),
    /// Revoke a key now (running nodes stop accepting it within http.key_cache_seconds).
    Revoke {
        #[command(flatten)]
        config: ConfigArg,
        /// Key id, as `keys list` shows it.
        #[arg(long)]
        id: String,
    },
    /// Set when a key expires (default: now).
    Expire {
        #[command(flatten)]
        config: ConfigArg,
        /// Key id, as `keys list` shows it.
        #[arg(long)]
        id: String,
        /// RFC 3339 time, e.g. 2027-01-01T00:00:00+08:00.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
}

/// Applies a change to one stored key; fails when no such key exists.
fn change_key(
    arg: &ConfigArg,
    id: &str,
    change: impl FnOnce(&mut crate::store::DbConn, &str) -> Result<bool, crate::store::StoreError> + Send + 'static,
) -> anyhow::Result<()> {
    let config = Config::load(&arg.config)?;
    let store = Store::open(&config.database_url()?, 1)?;
    let key = id.to_owned();
    if !store.write(move |conn| change(conn, &key))? {
        anyhow::bail!("no API key {id} (or it is already revoked)");
    }
    Ok(())
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| format!("unknown role {name:?}; use admin, officer, worker or employer"))
}

/// Compares the stored audit chain and issuance log with the newest tree head of this node the
/// registry keeps: what was cut or rewritten after it was anchored there fails the check.
async fn compare_with_registry(config: &Config, store: &Store) -> anyhow::Result<()> {
    let Some(registry) = config.directory.as_ref().and_then(|d| d.registry_url.clone()) else {
        println!("not compared with a registry: none is configured");
        return Ok(());
    };
    let (code, name) = (&config.node.code, &config.node.name);
    let mut own = crate::seal::TrustStore::default();
    own.add_node(
        code,
        name,
        &[crate::seal::Signer::public_jwk(&crate::seal::Ed25519Signer::load(&config.keys.signing, code)?)],
    )?;
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
    let contract = crate::contract::Contract::new()?;
    let head = match crate::exchange::transparency::fetch_head(&client, &registry, code, &own, &contract).await {
        Ok(Some(head)) => head,
        Ok(None) => {
            println!("not compared with the registry: it holds no tree head of this node yet");
            return Ok(());
        }
        Err(error) => {
            println!("NOT compared with the registry ({registry}): {error}");
            return Ok(());
        }
    };
    match crate::node::transparency::compare_with_head(store, &head)? {
        Ok(()) => println!(
            "as anchored at the registry: audit entry {} and the first {} logged versions match the head signed at {}",
            head.audit.seq,
            head.size,
            chrono::DateTime::from_timestamp(head.iat, 0).map(|t| t.to_rfc3339()).unwrap_or_default()
        ),
        Err(broken) => anyhow::bail!("audit log or issuance log cut after it was anchored at the registry: {broken}"),
    }
    Ok(())
}

/// Runs a registry command; every change publishes a new directory at once.
async fn run_registry(command: RegistryCommand) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let (mut registry, change) = match command {
        RegistryCommand::Init { dir, code, name, lifetime_hours } => {
            Registry::init(&dir.dir, &code, &name, lifetime_hours.saturating_mul(3600))?;
            println!("registry {code} created in {}", dir.dir.display());
            println!("configure nodes with its root key {}", dir.dir.join(crate::registry::ROOT_JWK_FILE).display());
            return Ok(());
        }
        RegistryCommand::Enrol { dir, code, name, api_url, peer_url, jwks, tls_cert, not_before } => {
            let text = std::fs::read_to_string(&jwks).with_context(|| jwks.display().to_string())?;
            let keys: crate::seal::Jwks = serde_json::from_str(&text).context("node JWKS")?;
            let enrolment = Enrolment {
                code,
                name,
                api_url,
                peer_url,
                tls_sha256: crate::exchange::tls::fingerprint_of(&tls_cert)?,
                keys: keys.keys,
                not_before: not_before.map_or(now.timestamp(), |t| t.timestamp()),
            };
            let mut registry = Registry::open(&dir.dir)?;
            let code = enrolment.code.clone();
            registry.enrol(enrolment)?;
            (registry, format!("node {code} enrolled"))
        }
        RegistryCommand::RetireKey { dir, kid, at } => {
            let mut registry = Registry::open(&dir.dir)?;
            let at = at.map_or(now.timestamp(), |t| t.timestamp());
            registry.retire_key(&kid, at)?;
            (registry, format!("key {kid} retired at {at}"))
        }
        RegistryCommand::CompromiseKey { dir, kid, at } => {
            let mut registry = Registry::open(&dir.dir)?;
            registry.compromise_key(&kid, at.timestamp())?;
            (registry, format!("key {kid} marked compromised from {}", at.to_rfc3339()))
        }
        RegistryCommand::RetireNode { dir, code } => {
            let mut registry = Registry::open(&dir.dir)?;
            registry.retire_node(&code)?;
            (registry, format!("node {code} retired"))
        }
        RegistryCommand::Publish(dir) => (Registry::open(&dir.dir)?, "directory re-signed".into()),
        RegistryCommand::Show(dir) => {
            let registry = Registry::open(&dir.dir)?;
            let state = registry.state();
            println!("registry {} {} serial {}", state.code, state.name, state.serial);
            for node in &state.nodes {
                println!(
                    "{} {:?} {} api {} peer {} tls {}",
                    node.code, node.status, node.name, node.api_url, node.peer_url, node.tls_sha256
                );
                for key in &node.keys {
                    println!(
                        "  {} not_before {} not_after {:?} compromised_at {:?}",
                        key.jwk.kid, key.window.not_before, key.window.not_after, key.window.compromised_at
                    );
                }
            }
            return Ok(());
        }
        RegistryCommand::Serve { dir, listen } => {
            Registry::open(&dir.dir)?;
            let listener =
                std::net::TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
            println!("registry serving {} at http://{}/directory", dir.dir.display(), listener.local_addr()?);
            crate::registry::serve(&dir.dir, listener)?.await?;
            return Ok(());
        }
    };
    registry.publish(now)?;
    println!("{change}; directory serial {} published", registry.state().serial);
    Ok(())
}

/// The backends a `--backend` value names.
fn backends(name: &str) -> Vec<Backend> {
    match name {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    }
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init(args) => {
            let options = InitOptions {
                dir: args.dir.clone(),
                code: args.code,
                name: args.name,
                database_url: args.database,
                listen: args.listen,
                peer_listen: Some(args.peer_listen),
                api_tls: args.api_tls,
            };
            let (config, path) = init_node(&options)?;
            if let Some(root) = &args.registry_root {
                let text = std::fs::read_to_string(root).with_context(|| root.display().to_string())?;
                let root: crate::seal::Jwk = serde_json::from_str(&text).context("registry root key")?;
                use_registry(&path, &root, args.registry_url.as_deref())?;
            }
            println!("node {} ({}) created: {}", config.node.code, config.node.name, path.display());
            println!(
                "enrol it at the registry with {} and {}",
                path.with_file_name(crate::setup::PUBLIC_JWKS_FILE).display(),
                config.peer.tls_cert.display()
            );
            println!("next: hunyu keys create --config {} --role officer --label …", path.display());
        }
        Command::Serve(arg) => {
            let config = Config::load(&arg.config)?;
            let running = RunningNode::start(&config)?;
            let peer = running.peer_url().map_or_else(String::new, |url| format!(", peers on {url}"));
            println!("hunyu node {} serving on {}{peer}", config.node.code, running.url());
            running.run().await.context("server stopped with an error")?;
        }
        Command::Keys(KeysCommand::Create { config, role, label, valid_days }) => {
            let config = Config::load(&config.config)?;
            let secret = create_api_key(&config, role, &label, valid_days)?;
            println!("{secret}");
            eprintln!("API key for role {role} created; it is shown only now");
        }
        Command::Users(UsersCommand::Create { config, name, role, password_stdin }) => {
            let config = Config::load(&config.config)?;
            let (password, made) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (crate::seal::random_secret().context("the system random source failed")?, true)
            };
            create_account(&config, &name, role, &password)?;
            if made {
                println!("{password}");
            }
            eprintln!("account {name} ({role}) opened{}", if made { "; its password is shown only now" } else { "" });
        }
        Command::Users(UsersCommand::List(arg)) => {
            let config = Config::load(&arg.config)?;
            let store = Store::open(&config.database_url()?, 1)?;
            let now = chrono::Utc::now().naive_utc();
            let listed = crate::service::accounts::list(&store, now)?;
            println!("{:<33} {:<9} {:<17} state", "name", "role", "opened");
            for account in listed {
                let state = match (account.usable, account.attempts.locked_for(now)) {
                    (false, _) => "disabled",
                    (true, Some(_)) => "locked",
                    (true, None) => "active",
                };
                println!(
                    "{:<33} {:<9} {:<17} {state}",
                    account.name,
                    account.role,
                    account.created_at.format("%Y-%m-%d %H:%M")
                );
            }
        }
        Command::Demo(args) => {
            let options = DemoOptions { dir: args.dir, base_port: args.port, no_serve: args.no_serve };
            crate::demo::run(&options).await?;
        }
        Command::Bench(args) => {
            let options = BenchOptions {
                backends: backends(&args.backend),
                postgres_url: args.postgres_url,
                seconds: args.seconds,
                connections: args.connections,
                phases: args.only,
                audit_entries: args.audit_entries,
                report_rows: args.report_rows,
                import_rows: args.import_rows,
            };
            crate::bench::run(&options).await?;
        }
        Command::Soak(args) => {
            let options = crate::soak::SoakOptions {
                backends: backends(&args.backend),
                postgres_url: args.postgres_url,
                duration: std::time::Duration::from_secs(args.minutes.saturating_mul(60).max(1)),
                every: std::time::Duration::from_secs(args.every.max(1)),
                idle: std::time::Duration::from_secs(args.idle),
            };
            crate::soak::run(&options).await?;
        }
        Command::Registry(command) => run_registry(command).await?,
        Command::Backup(args) => {
            let config = Config::load(&args.config.config)?;
            let store = Store::open(&config.database_url()?, 1)?;
            store.backup_to(&args.to)?;
            // The copy is checked as a restore would use it: it opens, and its audit chain holds.
            let copy = Store::open(&crate::store::DatabaseUrl::parse(&format!("sqlite://{}", args.to.display()))?, 1)?;
            match copy.read(audit::verify_chain)? {
                Ok(report) => println!(
                    "backup written to {}: {} bytes, audit log intact ({} entries, head {})",
                    args.to.display(),
                    std::fs::metadata(&args.to)?.len(),
                    report.entries,
                    report.head
                ),
                Err(broken) => anyhow::bail!("the backup's audit log is broken: {broken}"),
            }
        }
        Command::Restore(args) => {
            let config = Config::load(&args.config.config)?;
            let restored = restore_node(&config, args.from.as_deref())?;
            println!(
                "restored: audit log intact ({} entries, head {}); on its next start the node takes back from each \
                 peer what it holds before it sends that peer anything",
                restored.entries, restored.head
            );
        }
        Command::Audit(AuditCommand::Verify(arg)) => {
            let config = Config::load(&arg.config)?;
            let store = Store::open(&config.database_url()?, 1)?;
            match store.read(audit::verify_chain)? {
                Ok(report) => println!("audit log intact: {} entries, head {}", report.entries, report.head),
                Err(broken) => anyhow::bail!("audit log broken: {broken}"),
            }
            compare_with_registry(&config, &store).await?;
        }
        Command::Report(args) => {
            let (core, who) = host_officer(&args.config, Action::ReadReport.default_purpose())?;
            let month = args.month.unwrap_or_else(last_month);
            let assessed = reports::assessment(&core, &month, &who, chrono::Utc::now())?;
            let bytes = match args.format {
                Format::Json => serde_json::to_vec_pretty(&AssessmentView::from(assessed))?,
                format => sheets::assessment_file(&assessed, format)?,
            };
            match &args.out {
                Some(out) => {
                    crate::files::write_new_secret(out, &bytes).with_context(|| format!("{}", out.display()))?;
                    println!("{} written", out.display());
                }
                None if args.format == Format::Xlsx => anyhow::bail!("an XLSX workbook needs --out FILE"),
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            }
        }
        Command::CloseMonth(args) => {
            let (core, who) = host_officer(&args.config, Action::CloseMonth.default_purpose())?;
            let month = args.month.unwrap_or_else(last_month);
            let closed = reports::close_month(&core, &month, Some(&who), chrono::Utc::now())?;
            let ver = closed.claims.ver;
            match (closed.made, closed.sent) {
                (true, _) => println!(
                    "{month} closed: report version {ver} signed; the running node sends it to the registry within a minute"
                ),
                (false, true) => println!("{month}: nothing changed since version {ver}, which the registry keeps"),
                (false, false) => println!(
                    "{month}: nothing changed since version {ver}; the running node sends it to the registry within a minute"
                ),
            }
        }
        Command::Import(args) => {
            if let Some(template) = &args.template {
                crate::import::write_template(template)?;
                println!("{} written", template.display());
                return Ok(());
            }
            let file = args.file.context("--file is required")?;
            let rejects = args.rejects.unwrap_or_else(|| file.with_extension("rejects.csv"));
            let (core, who) = host_officer(&args.config, "导入育龄妇女卡 import the women's cards")?;
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let imported = crate::import::import_file(&core, &file, &rejects, &who, progress)?;
            let c = imported.counts;
            println!(
                "{}: {} card(s) created, {} changed, {} unchanged, {} row(s) refused",
                file.display(),
                c.created,
                c.changed,
                c.unchanged,
                c.rejected
            );
            if c.rejected > 0 {
                println!("the rows refused, with their column and rule: {}", rejects.display());
            }
        }
        Command::Keys(KeysCommand::Revoke { config, id }) => {
            let at = chrono::Utc::now().naive_utc();
            change_key(&config, &id, move |conn, id| api_keys::revoke(conn, id, at))?;
            println!("key {id} revoked");
        }
        Command::Keys(KeysCommand::Expire { config, id, at }) => {
            let at = at.map_or_else(chrono::Utc::now, |t| t.to_utc());
            change_key(&config, &id, move |conn, id| api_keys::expire(conn, id, at.naive_utc()))?;
            println!("key {id} expires {}", at.to_rfc3339());
        }
        Command::Keys(KeysCommand::List(arg)) => {
            let config = Config::load(&arg.config)?;
            let store = Store::open(&config.database_url()?, 1)?;
            let keys = store.read(api_keys::list)?;
            println!("{:<38} {:<9} {:<20} {:<20} label", "id", "role", "created", "state");
            for key in keys {
                let state = match (key.revoked_at, key.expires_at) {
                    (Some(at), _) => format!("revoked {}", at.format("%Y-%m-%d")),
                    (None, Some(at)) => format!("expires {}", at.format("%Y-%m-%d")),
                    (None, None) => "active".into(),
                };
                println!(
                    "{:<38} {:<9} {:<20} {:<20} {}",
                    key.id,
                    key.role,
                    key.created_at.format("%Y-%m-%d %H:%M"),
                    state,
                    key.label
                );
            }
        }
    }
    Ok(())
}
