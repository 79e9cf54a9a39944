//! Group commit: one writer thread runs the queued write jobs of a moment in one transaction, each
//! job in its own savepoint, and answers every caller once the batch is durably committed.
//!
//! Both backends pay one fsync per commit; sharing it among concurrent requests is what lets
//! issuance and audited reads run near or above the single-row commit rate.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use diesel::Connection as _;
use diesel::r2d2::{Pool, PooledConnection};

use super::audit::NewAudit;
use super::{DbConn, Manager, StoreError};

/// Most jobs committed together.
const MAX_BATCH: usize = 256;

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

/// What the writer is given to commit.
pub(super) enum Queued {
    /// Work run in its own savepoint.
    Job(Box<dyn WriteJob>),
    /// Audit entries alone (of an audited read): the batch's are appended in one statement.
    Audit(Vec<NewAudit>, SyncSender<Result<(), StoreError>>),
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
    while let Ok(first) = queue.recv() {
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
        let mut conn = match held.take().map_or_else(|| pool.get(), Ok) {
            Ok(conn) => conn,
            Err(e) => {
                let message = e.to_string();
                tracing::error!(error = %message, jobs = jobs.len() + audits.len(), "no database connection for the writer");
                jobs.into_iter().for_each(|job| job.fail(&message));
                audited.into_iter().for_each(|reply| drop(reply.send(Err(StoreError::Commit(message.clone())))));
                continue;
            }
        };
        let error = commit(&mut conn, jobs, audits);
        // A failed commit may have broken the connection: the next batch takes a fresh one.
        if error.is_none() {
            held = Some(conn);
        }
        for reply in audited {
            let _ = reply.send(error.as_ref().map_or(Ok(()), |message| Err(StoreError::Commit(message.clone()))));
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
        super::audit::lock_chain(conn)?;
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
