//! Group commit: one writer thread runs the queued write jobs of a moment in one transaction, each
//! job in its own savepoint, and answers every caller once the batch is durably committed.
//!
//! Both backends pay one fsync per commit; sharing it among concurrent requests is what lets
//! issuance and audited reads run near or above the single-row commit rate.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::Connection as _;
use diesel::r2d2::{Pool, PooledConnection};

use super::audit::NewAudit;
use super::{DbConn, Manager, StoreError};

/// Most jobs committed together.
const MAX_BATCH: usize = 256;

/// About how many entries (a job counts as one) the writer appends before it indexes them by
/// person even while busy; idle, it indexes what is left after [`IDLE`].
const INDEX_AFTER: usize = super::audit::INDEX_BATCH.unsigned_abs() as usize / 2;
/// How long the writer waits for work before it indexes the entries not yet indexed.
const IDLE: Duration = Duration::from_millis(500);

/// Answers a job's caller once the batch outcome is known (`Some(message)` when the commit failed).
pub(super) type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// What the writer does with one queued job.
pub(super) trait WriteJob: Send {
    /// Runs the job in a savepoint of the batch transaction; returns how to answer its caller.
    fn run(self: Box<Self>, conn: &mut DbConn) -> Answer;
    /// Answers the caller with an error without running the job.
    fn fail(self: Box<Self>, message: &str);
}

/// A job with a typed result, sent back over a channel once its batch has committed.
pub(super) struct Job<F, T, E> {
    pub work: F,
    pub reply: SyncSender<Result<T, E>>,
}

impl<F, T, E> WriteJob for Job<F, T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send,
    T: Send + 'static,
    E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut DbConn) -> Answer {
        let Job { work, reply } = *self;
        // Inside the batch transaction this is a savepoint: a failing job undoes only itself.
        let outcome = conn.transaction(work);
        Box::new(move |commit_error| {
            let result = match commit_error {
                None => outcome,
                Some(message) => Err(StoreError::Commit(message.to_owned()).into()),
            };
            let _ = reply.send(result);
        })
    }

    fn fail(self: Box<Self>, message: &str) {
        let _ = self.reply.send(Err(StoreError::Commit(message.to_owned()).into()));
    }
}

/// Told the outcome of appending audit entries, once their batch has committed.
pub(super) type AuditReply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// What the writer is given to commit.
pub(super) enum Queued {
    /// Work run in its own savepoint.
    Job(Box<dyn WriteJob>),
    /// Audit entries alone (of an audited read): the batch's are appended in one statement.
    Audit(Vec<NewAudit>, AuditReply),
}

/// Handle to the writer thread; dropping it lets queued jobs finish and waits for the thread.
pub(super) struct Writer {
    jobs: Option<Sender<Queued>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `pool`.
    pub fn start(pool: Pool<Manager>) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("hunyu-writer".into())
            .spawn(move || run(&pool, &queue))
            .map_err(|e| StoreError::Commit(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Queues a job; false when the writer has stopped.
    pub fn submit(&self, job: Queued) -> bool {
        self.jobs.as_ref().is_some_and(|jobs| jobs.send(job).is_ok())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it is empty; waiting for it means its database
        // connections are closed before the process goes on (or exits).
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the writer thread panicked");
        }
    }
}

fn run(pool: &Pool<Manager>, queue: &Receiver<Queued>) {
    // The writer keeps its connection: readers on the pool never make a commit wait for one.
    let mut held: Option<PooledConnection<Manager>> = None;
    // Unknown at start: what an earlier run left is indexed once the writer is idle.
    let mut unindexed = 1;
    loop {
        let first = match (unindexed > 0).then(|| queue.recv_timeout(IDLE)) {
            Some(Ok(job)) => job,
            Some(Err(RecvTimeoutError::Timeout)) => {
                unindexed = index_subjects(pool, &mut held, unindexed);
                continue;
            }
            Some(Err(RecvTimeoutError::Disconnected)) => break,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (mut jobs, mut audits, mut audited) = (Vec::new(), Vec::new(), Vec::new());
        for queued in batch {
            match queued {
                Queued::Job(job) => jobs.push(job),
                Queued::Audit(entries, reply) => {
                    audits.extend(entries);
                    audited.push(reply);
                }
            }
        }
        unindexed += jobs.len() + audits.len();
        let mut conn = match connection(pool, &mut held) {
            Ok(conn) => conn,
            Err(message) => {
                tracing::error!(error = %message, jobs = jobs.len() + audits.len(), "no database connection for the writer");
                jobs.into_iter().for_each(|job| job.fail(&message));
                audited.into_iter().for_each(|reply| reply(Err(StoreError::Commit(message.clone()))));
                continue;
            }
        };
        let error = commit(&mut conn, jobs, audits);
        // A failed commit may have broken the connection: the next batch takes a fresh one.
        if error.is_none() {
            held = Some(conn);
        }
        for reply in audited {
            reply(error.as_ref().map_or(Ok(()), |message| Err(StoreError::Commit(message.clone()))));
        }
        if unindexed >= INDEX_AFTER {
            unindexed = index_subjects(pool, &mut held, unindexed);
        }
    }
}

/// The writer's connection: the one it holds, or a fresh one from the pool.
fn connection(
    pool: &Pool<Manager>,
    held: &mut Option<PooledConnection<Manager>>,
) -> Result<PooledConnection<Manager>, String> {
    held.take().map_or_else(|| pool.get(), Ok).map_err(|e| e.to_string())
}

/// Indexes one batch of entries by person in its own transaction, after the commits that
/// answered requests; returns about how many are left. A failure is logged and retried later:
/// the index is derived from the log, and a search reads the tail it lacks.
fn index_subjects(pool: &Pool<Manager>, held: &mut Option<PooledConnection<Manager>>, unindexed: usize) -> usize {
    let mut conn = match connection(pool, held) {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(%error, "no database connection to index the audit log by person");
            return unindexed;
        }
    };
    match super::write_transaction(&mut conn, super::audit::index_subjects) {
        Ok(taken) => {
            *held = Some(conn);
            // A full batch may have left more behind.
            if taken as i64 == super::audit::INDEX_BATCH { unindexed.saturating_sub(taken).max(1) } else { 0 }
        }
        Err(error) => {
            tracing::warn!(%error, "indexing the audit log by person failed; it is retried when the writer is idle");
            1
        }
    }
}

/// Runs `jobs`, each in its savepoint, then appends `audits`, in one transaction; answers every
/// job and returns the commit error, if any.
fn commit(conn: &mut DbConn, jobs: Vec<Box<dyn WriteJob>>, audits: Vec<NewAudit>) -> Option<String> {
    let count = jobs.len() + audits.len();
    let mut answers = Vec::with_capacity(jobs.len());
    let mut pending = Some(jobs);
    let committed = super::write_transaction::<_, StoreError>(conn, |conn| {
        answers.extend(pending.take().into_iter().flatten().map(|job| job.run(conn)));
        super::audit::append_all(conn, audits)
    });
    let error = committed.err().map(|e| e.to_string());
    // Jobs that never ran (the transaction failed before them) still get their answer.
    if let Some(jobs) = pending {
        let message = error.clone().unwrap_or_default();
        jobs.into_iter().for_each(|job| job.fail(&message));
    }
    if let Some(message) = &error {
        tracing::error!(error = %message, jobs = count, "write batch failed to commit");
    }
    answers.into_iter().for_each(|answer| answer(error.as_deref()));
    error
}
