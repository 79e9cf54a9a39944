//! Storage over SQLite (embedded default) or PostgreSQL (server), from the same query code.
//!
//! The backend is chosen by the URL scheme (`sqlite://` or `postgres://`), never by guessing.
//! Every write runs in one transaction through [`Store::write`].

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod cards;
pub mod certificates;
pub mod holders;
pub mod issuance_log;
pub mod ledgers;
pub mod messages;
pub mod rejoin;
pub mod reports;
pub mod schema;
mod writer;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection as _, TransactionManager as _};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Pragmas set on every SQLite connection: durability first (WAL with a full fsync per commit).
/// The busy timeout comes first so that switching to WAL waits for, rather than fails on, a lock
/// held by a connection opening at the same time.
const SQLITE_PRAGMAS: &str =
    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Executes a statement that diesel's multi-backend connection cannot run (a multi-row insert)
/// on the backend's own connection: each backend builds its own SQL.
macro_rules! execute_natively {
    ($conn:expr, $statement:expr) => {
        match $conn {
            $crate::store::DbConn::Sqlite(lite) => $statement.execute(lite),
            $crate::store::DbConn::Postgres(pg) => $statement.execute(pg),
        }
    };
}
pub(crate) use execute_natively;

/// A count the database returned, as the figures hold it.
pub(crate) fn counted(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Which database engine a node runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite:// or postgres:// (got {0:?})")]
    UnknownScheme(String),
    #[error("cannot reach the database: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("database migrations failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("the write was not committed: {0}")]
    Commit(String),
    /// The database file is open to other users.
    #[error("{0}")]
    Exposed(String),
    /// What this backend does with its own tools.
    #[error("{0}")]
    Unsupported(&'static str),
}

impl StoreError {
    /// Whether the error is a unique-key violation (a concurrent write of the same thing).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
        )
    }
}

/// Runs `work` in one transaction that takes the write lock when it begins: `BEGIN IMMEDIATE` on
/// SQLite, so that another writer is waited for under the busy timeout (a deferred transaction
/// that reads first, the audit head or a person's certificates, and writes later meets a busy
/// error at once when another connection has written in between); on PostgreSQL the audit
/// chain's lock, in the same round trip as `BEGIN`, so that writers in other processes append to
/// the chain one batch at a time. Either way rows numbered from a sequence (status events, inbox
/// rows) get their numbers in commit order, which every catch-up that reads "after the last id
/// taken" relies on: no row can commit later with a smaller number.
fn write_transaction<T, E>(conn: &mut DbConn, work: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Manager = <DbConn as Connection>::TransactionManager;
    match conn {
        DbConn::Sqlite(lite) => AnsiTransactionManager::begin_transaction_sql(lite, "BEGIN IMMEDIATE")?,
        DbConn::Postgres(pg) => AnsiTransactionManager::begin_transaction_sql(pg, audit::BEGIN_LOCKING_CHAIN)?,
    }
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            // The work's error is the one to report; a failed rollback leaves the connection
            // broken, and the pool replaces it.
            let _ = Manager::rollback_transaction(conn);
            Err(error)
        }
    }
}

/// The value a stored name stands for; a name nothing stands for is a corrupt row.
pub(crate) fn parse_stored<T>(name: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(name).ok_or_else(|| StoreError::Corrupt(format!("unknown stored name {name:?}")))
}

/// A database location with its backend; `Display` never shows a password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    target: String,
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH` (relative or absolute) or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if !path.is_empty() {
                return Ok(Self { backend: Backend::Sqlite, target: path.to_owned() });
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self { backend: Backend::Postgres, target: url.to_owned() });
        }
        Err(StoreError::UnknownScheme(redact(url)))
    }

    /// The backend named by the scheme.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file path or the full PostgreSQL URL.
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite://{}", self.target),
            Backend::Postgres => f.write_str(&redact(&self.target)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Hides the user-info part (`user:password@`) of a URL.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***@{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Opens connections of the URL's backend with their per-connection settings.
#[derive(Debug)]
struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.url.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url.target).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS).map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
            Backend::Postgres => {
                let conn = PgConnection::establish(&self.url.target).map_err(r2d2::Error::ConnectionError)?;
                Ok(DbConn::Postgres(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// A pool of connections to one node's database.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: Backend,
    /// The writer thread: queued writes are committed in batches, one fsync for many requests.
    writer: Arc<writer::Writer>,
}

impl Store {
    /// Connects, applies pending migrations, and returns the pool.
    pub fn open(url: &DatabaseUrl, max_connections: u32) -> Result<Self, StoreError> {
        if url.backend == Backend::Sqlite {
            let file = std::path::Path::new(&url.target);
            let unusable = |e: &dyn std::fmt::Display| StoreError::Migration(format!("{}: {e}", file.display()));
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::files::create_private_dir(dir).map_err(|e| unusable(&e))?;
            }
            crate::files::create_private_file(file).map_err(|e| unusable(&e))?;
            crate::files::check_private(file).map_err(StoreError::Exposed)?;
        }
        let pool = Pool::builder()
            // The writer thread keeps one connection of its own, beside the readers'.
            .max_size(max_connections.max(1) + 1)
            .connection_timeout(Duration::from_secs(10))
            // A broken connection fails its query and is replaced; probing each checkout costs a round trip.
            .test_on_check_out(false)
            .build(Manager { url: url.clone() })?;
        let writer = Arc::new(writer::Writer::start(pool.clone())?);
        let store = Self { pool, backend: url.backend, writer };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let applied = match &mut *conn {
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
            DbConn::Postgres(c) => {
                // Several `serve` processes may start at once on one database: migrate one at a time.
                c.batch_execute("SELECT pg_advisory_lock(7270001)")?;
                let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len());
                c.batch_execute("SELECT pg_advisory_unlock(7270001)")?;
                result
            }
        }
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        if applied > 0 {
            tracing::info!(applied, backend = %self.backend, "database migrations applied");
        }
        Ok(())
    }

    /// The backend of this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Writes a consistent copy of the whole database to the new file `to` (mode 0600) while the
    /// node keeps serving: SQLite's `VACUUM INTO`, which reads one snapshot. PostgreSQL is backed
    /// up with its own tools.
    pub fn backup_to(&self, to: &std::path::Path) -> Result<(), StoreError> {
        let failed = |e: &dyn std::fmt::Display| StoreError::Commit(format!("{}: {e}", to.display()));
        if to.exists() {
            return Err(failed(&"the file exists; a backup never overwrites one"));
        }
        let mut conn = self.pool.get()?;
        let DbConn::Sqlite(lite) = &mut *conn else {
            return Err(StoreError::Unsupported(
                "back up PostgreSQL with its own tools: pg_dump --format=custom (or pg_basebackup with WAL archiving)",
            ));
        };
        if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            crate::files::create_private_dir(dir).map_err(|e| failed(&e))?;
        }
        crate::files::create_private_file(to).map_err(|e| failed(&e))?;
        let target = to.to_str().ok_or_else(|| failed(&"the path is not UTF-8"))?.replace('\'', "''");
        diesel::connection::SimpleConnection::batch_execute(lite, &format!("VACUUM INTO '{target}'"))?;
        Ok(())
    }

    /// Runs read-only work on a pooled connection.
    pub fn read<T, E>(&self, work: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        work(&mut conn)
    }

    /// Runs `work` in one transaction: all of it is committed, or none of it, before this returns.
    ///
    /// The work is queued to the writer thread and may share its commit with other writes (each in
    /// its own savepoint): SQLite has a single writer anyway, and the audit chain needs one order.
    pub fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.queue(writer::Queued::Job(Box::new(writer::Job { work, reply })), &answer)
    }

    /// Appends `entries` to the audit chain, durably, before this returns: the record of an
    /// access done outside [`Self::write`]. The entries of one moment share one statement and one
    /// commit.
    pub fn audit(&self, entries: Vec<audit::NewAudit>) -> Result<(), StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let reply = Box::new(move |outcome| drop(reply.send(outcome)));
        self.queue(writer::Queued::Audit(entries, reply), &answer)
    }

    /// [`Self::audit`] for async callers: the task waits for the commit, not a thread.
    pub fn audit_async(
        &self,
        entries: Vec<audit::NewAudit>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let queued =
            self.writer.submit(writer::Queued::Audit(entries, Box::new(move |outcome| drop(reply.send(outcome)))));
        async move {
            if !queued {
                return Err(writer_stopped());
            }
            answer.await.unwrap_or_else(|_| Err(writer_stopped()))
        }
    }

    /// Runs an audited read (查询, 查验): `read` on a pooled connection, in parallel with other
    /// requests, gives the answer and how the access ended; the answer goes out only once its
    /// audit entry is durable. The writer appends the entries of one moment in one statement.
    pub fn read_audited<T, E: From<StoreError>>(
        &self,
        entry: audit::NewAudit,
        read: impl FnOnce(&mut DbConn) -> Result<(T, audit::Recorded), E>,
    ) -> Result<T, E> {
        let (answer, recorded) = self.read(read)?;
        self.audit(recorded.entries(entry))?;
        Ok(answer)
    }

    /// Hands `queued` to the writer thread and waits for its outcome on `answer`.
    fn queue<T, E: From<StoreError>>(
        &self,
        queued: writer::Queued,
        answer: &std::sync::mpsc::Receiver<Result<T, E>>,
    ) -> Result<T, E> {
        if !self.writer.submit(queued) {
            return Err(writer_stopped().into());
        }
        answer.recv().unwrap_or_else(|_| Err(writer_stopped().into()))
    }

    /// Whether the database answers through the writer thread, as every write does (for `/readyz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.write(|conn| conn.batch_execute("SELECT 1").map_err(StoreError::from))
    }
}

/// The error of every job the writer thread can no longer take or answer.
fn writer_stopped() -> StoreError {
    StoreError::Commit("the writer thread has stopped".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_comes_from_the_scheme_only() {
        assert_eq!(DatabaseUrl::parse("sqlite://data/node.db").unwrap().backend(), Backend::Sqlite);
        assert_eq!(DatabaseUrl::parse("sqlite:///var/lib/hunyu.db").unwrap().target(), "/var/lib/hunyu.db");
        assert_eq!(DatabaseUrl::parse("postgres://u:p@h/db").unwrap().backend(), Backend::Postgres);
        assert_eq!(DatabaseUrl::parse("postgresql://h/db").unwrap().backend(), Backend::Postgres);
        for bad in ["node.db", "sqlite://", "mysql://h/db", "/tmp/x.db", ""] {
            assert!(matches!(DatabaseUrl::parse(bad), Err(StoreError::UnknownScheme(_))), "{bad}");
        }
    }

    #[test]
    fn a_pool_of_one_still_reads_once_the_writer_holds_its_connection() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("node.db").display())).unwrap();
        let store = Store::open(&url, 1).unwrap();
        store.write(|conn| conn.batch_execute("CREATE TABLE t (x INTEGER)").map_err(StoreError::from)).unwrap();
        store.read(|conn| conn.batch_execute("SELECT x FROM t").map_err(StoreError::from)).unwrap();
    }

    #[test]
    fn passwords_never_show() {
        let url = DatabaseUrl::parse("postgres://hunyu:s3cret@db.example/hunyu").unwrap();
        assert!(!url.to_string().contains("s3cret"));
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(!StoreError::UnknownScheme(redact("pg://a:s3cret@h")).to_string().contains("s3cret"));
    }
}
