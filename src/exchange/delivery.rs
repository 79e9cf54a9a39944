//! The delivery worker: leases due outbox rows, sends them per peer in sequence order (several in
//! one request when a peer has a backlog, and a second request while the first is answered),
//! checks and stores the signed receipts, and retries failures with exponential backoff and
//! jitter. Delivery is at-least-once; the receiver's inbox makes it exactly-once in effect.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::MAX_REQUEST_BYTES;
use super::client::PeerClient;
use super::rejoin::Rejoin;
use crate::contract::Kind;
use crate::domain::error::Coded as _;
use crate::domain::message::{RECEIPT_TYP, ReceiptClaims};
use crate::domain::verification::Reason;
use crate::node::NodeCore;
use crate::seal::records::open_records;
use crate::seal::sha256_hex;
use crate::store::messages::{self, Claimed};
use crate::store::{Backend, DbConn, Store, StoreError};

/// How long a claimed row is reserved for this process before another may take it (PostgreSQL):
/// renewed every third of it while the row is held, so a process that dies frees its rows soon.
const LEASE: Duration = Duration::from_secs(15);
/// Longest wait between attempts.
const MAX_BACKOFF_SECONDS: f64 = 300.0;
/// How often an idle worker looks for due retries.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Requests to one peer under way at once: the receiver checks a batch while it stores the one
/// before (in order, see `inbox::Arrivals`), and this node checks receipts meanwhile.
const IN_FLIGHT: usize = 3;
/// Requests' worth of messages claimed at once.
const CLAIM: usize = 4;

/// Seconds to wait before attempt `attempts + 1`: doubling from 1 s up to 5 minutes, scaled by
/// `jitter` in [0, 1) to between half and all of it, so that peers coming back are not stampeded.
pub fn backoff_seconds(attempts: i32, jitter: f64) -> f64 {
    let exp = f64::from(attempts.clamp(0, 30));
    let full = 2f64.powf(exp).min(MAX_BACKOFF_SECONDS);
    full * (0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

fn jitter() -> f64 {
    let mut byte = [0u8; 2];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut byte);
    f64::from(u16::from_be_bytes(byte)) / 65536.0
}

/// Whether an opened receipt answers message `claimed`: signed by its receiver, for this node
/// (`own`), for this message and these very bytes.
pub(super) fn check_receipt(opened: Result<ReceiptClaims, Reason>, claimed: &Claimed, own: &str) -> Result<(), String> {
    let claims = opened.map_err(|r| format!("receipt: {}", r.code()))?;
    let expected_seq = u64::try_from(claimed.seq).unwrap_or(0);
    if claims.iss != claimed.peer || claims.aud != own || claims.msg != claimed.id || claims.seq != expected_seq {
        return Err("receipt is for another message".into());
    }
    if claims.sha256 != sha256_hex(claimed.token.as_bytes()) {
        return Err("receipt is for other content".into());
    }
    Ok(())
}

/// The outgoing messages this process has claimed and not let go: their leases are renewed.
#[derive(Default)]
pub struct Leases {
    held: Mutex<HashSet<String>>,
}

impl Leases {
    fn lock(&self) -> MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn hold(&self, rows: &[Claimed]) {
        self.lock().extend(rows.iter().map(|row| row.id.clone()));
    }

    fn release(&self, ids: &[String]) {
        let mut held = self.lock();
        for id in ids {
            held.remove(id);
        }
    }

    fn held(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }
}

/// The messages one delivery stream claimed: let go of when it ends, however it ends.
struct Holding<'a> {
    leases: &'a Leases,
    ids: Vec<String>,
}

impl Holding<'_> {
    /// Holds `rows`: their leases are renewed until the stream ends.
    fn add(&mut self, rows: &[Claimed]) {
        self.leases.hold(rows);
        self.ids.extend(rows.iter().map(|row| row.id.clone()));
    }
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.leases.release(&self.ids);
    }
}

/// Renews the leases of the messages this process holds, for as long as it runs (PostgreSQL:
/// SQLite has one process per database and writes no lease).
async fn renew_leases(courier: Courier) {
    if courier.core.store.backend() != Backend::Postgres {
        return;
    }
    let mut ticks = tokio::time::interval(LEASE / 3);
    loop {
        ticks.tick().await;
        let held = courier.leases.held();
        if held.is_empty() {
            continue;
        }
        let now = Utc::now();
        let until = (now + LEASE).naive_utc();
        let renewed =
            write(&courier.core.store, move |conn| messages::renew_leases(conn, &held, now.naive_utc(), until)).await;
        if let Err(error) = renewed {
            tracing::error!(%error, "outbox leases not renewed; other processes may take them over");
        }
    }
}

/// The delivery worker's own environment: the core it delivers for, its client, the leases it
/// holds and the size of its requests; cheap to clone into each peer's stream.
#[derive(Clone)]
struct Courier {
    core: Arc<NodeCore>,
    client: PeerClient,
    leases: Arc<Leases>,
    rejoin: Arc<Rejoin>,
    batch: usize,
}

/// Runs deliveries until the node stops: after each wake-up and every idle poll.
pub async fn run(core: Arc<NodeCore>, client: PeerClient, leases: Arc<Leases>, rejoin: Arc<Rejoin>, batch: usize) {
    let courier = Courier { core, client, leases, rejoin, batch };
    // Both in this task, so that stopping the worker stops both.
    tokio::join!(deliver(courier.clone()), renew_leases(courier));
}

async fn deliver(courier: Courier) {
    loop {
        match deliver_due(&courier).await {
            Ok(0) => {
                let _ = tokio::time::timeout(IDLE_POLL, courier.core.outbox.woken()).await;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "outbox delivery could not use the database");
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }
}

/// One round: claims due messages and delivers each peer's until it has none due. Returns how
/// many messages were claimed.
async fn deliver_due(courier: &Courier) -> Result<usize, StoreError> {
    let claimed = claim(courier, None).await?;
    let mut per_peer: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
    for row in claimed {
        per_peer.entry(row.peer.clone()).or_default().push(row);
    }
    let peers = per_peer.into_iter().map(|(peer, rows)| {
        let courier = courier.clone();
        tokio::spawn(async move {
            if !courier.rejoin.may_deliver(&peer) {
                let count = rows.len();
                let waiting = "this node was restored from a backup: the peer has not yet returned what it holds";
                postpone(&courier, rows, waiting.into()).await?;
                return Ok(count);
            }
            deliver_to_peer(&courier, rows).await
        })
    });
    let mut count = 0;
    for peer in peers.collect::<Vec<_>>() {
        count += peer.await.map_err(|e| StoreError::Commit(e.to_string()))??;
    }
    Ok(count)
}

/// Claims up to [`CLAIM`] requests' worth of due messages: of any peer, or of one peer after a
/// sequence number.
async fn claim(courier: &Courier, after: Option<(String, i64)>) -> Result<Vec<Claimed>, StoreError> {
    let now = Utc::now();
    let limit = i64::try_from(courier.batch.saturating_mul(CLAIM)).unwrap_or(i64::MAX);
    let lease_until = (now + LEASE).naive_utc();
    write(&courier.core.store, move |conn| {
        let after = after.as_ref().map(|(peer, seq)| (peer.as_str(), *seq));
        messages::claim_due(conn, now.naive_utc(), lease_until, limit, after)
    })
    .await
}

/// Runs `work` in a write transaction, off the async workers.
pub(super) async fn write<T: Send + 'static>(
    store: &Store,
    work: impl FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.write(work)).await.map_err(|e| StoreError::Commit(e.to_string()))?
}

/// A request under way: the messages it carries and its outcome.
type UnderWay = (Arc<[Claimed]>, Range<usize>, JoinHandle<Result<Result<(), String>, StoreError>>);

/// Sends one peer's messages, `rows` and then those that come due after them, in requests of at
/// most `batch`, in sequence order, with [`IN_FLIGHT`] requests under way at once: once every
/// request for the messages held is made, the next ones are claimed, so that the receiver never
/// waits for a claim. A request that fails stops the stream; it is retried later with every
/// message after it that was not delivered (the receiver wants them in order). Returns how many
/// messages were claimed.
async fn deliver_to_peer(courier: &Courier, rows: Vec<Claimed>) -> Result<usize, StoreError> {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let failed = Arc::new(AtomicBool::new(false));
    let mut under_way = VecDeque::new();
    let mut outcome = Outcome::default();
    let mut rows: Arc<[Claimed]> = rows.into();
    let mut count = rows.len();
    let mut holding = Holding { leases: &courier.leases, ids: Vec::new() };
    holding.add(&rows);
    'stream: while let Some(last) = rows.last() {
        let mut start = 0;
        while start < rows.len() {
            // Requests are made in sequence order: the next one once a slot is free (the
            // semaphore is never closed).
            let Ok(slot) = slots.clone().acquire_owned().await else { break 'stream };
            if failed.load(Ordering::Relaxed) {
                outcome.retry.extend_from_slice(&rows[start..]);
                break 'stream;
            }
            let request = start..request_end(&rows, start, courier.batch);
            start = request.end;
            let task = deliver_request(courier.clone(), rows.clone(), request.clone(), slot, failed.clone());
            under_way.push_back((rows.clone(), request, tokio::spawn(task)));
            // Requests answered are taken in as they end, so that what is kept stays bounded.
            while under_way.front().is_some_and(|(_, _, task)| task.is_finished()) {
                if let Some(done) = under_way.pop_front() {
                    outcome.take(done, &courier.leases).await;
                }
            }
        }
        if failed.load(Ordering::Relaxed) {
            break;
        }
        let next = claim(courier, Some((last.peer.clone(), last.seq))).await;
        rows = match next {
            Ok(next) => next.into(),
            Err(error) => {
                outcome.store_error.get_or_insert(error);
                break;
            }
        };
        count += rows.len();
        holding.add(&rows);
    }
    for done in under_way {
        outcome.take(done, &courier.leases).await;
    }
    // Before postponing: a renewal after it would put off the retry.
    drop(holding);
    if let Some(error) = outcome.store_error {
        return Err(error);
    }
    if let Some(error) = outcome.error {
        // Requests end in any order; the backoff is that of the earliest message.
        outcome.retry.sort_by_key(|row| row.seq);
        postpone(courier, outcome.retry, error).await?;
    }
    Ok(count)
}

/// End of the request that starts at `start`: at most `batch` messages and [`MAX_REQUEST_BYTES`]
/// of tokens (what the receiver reads of a request is bounded), and at least one message.
fn request_end(rows: &[Claimed], start: usize, batch: usize) -> usize {
    let mut bytes = 0;
    let mut end = start;
    while end < rows.len() && end - start < batch.max(1) {
        bytes += rows[end].token.len();
        if bytes > MAX_REQUEST_BYTES && end > start {
            break;
        }
        end += 1;
    }
    end
}

/// What the requests to one peer came to.
#[derive(Default)]
struct Outcome {
    /// Messages to try again, and why the first of their requests failed.
    retry: Vec<Claimed>,
    error: Option<String>,
    /// The first database failure: what was not recorded stays leased, or due.
    store_error: Option<StoreError>,
}

impl Outcome {
    /// Waits for a request to end and takes in its outcome; receipted messages need no lease.
    async fn take(&mut self, (rows, request, task): UnderWay, leases: &Leases) {
        match task.await.map_err(|e| StoreError::Commit(e.to_string())).and_then(|done| done) {
            Ok(Ok(())) => leases.release(&rows[request].iter().map(|row| row.id.clone()).collect::<Vec<_>>()),
            Ok(Err(error)) => {
                self.retry.extend_from_slice(&rows[request]);
                self.error.get_or_insert(error);
            }
            Err(error) => {
                self.store_error.get_or_insert(error);
            }
        }
    }
}

/// One request: sends `rows[request]`, frees its slot once answered (the next request goes while
/// this one's receipts are checked), then checks and stores the receipts. `Ok(Err(_))` is a
/// delivery failure to retry, `Err(_)` a database failure; either stops further requests.
async fn deliver_request(
    courier: Courier,
    rows: Arc<[Claimed]>,
    request: Range<usize>,
    slot: OwnedSemaphorePermit,
    failed: Arc<AtomicBool>,
) -> Result<Result<(), String>, StoreError> {
    let answer = send(&courier, &rows[request.clone()]).await;
    drop(slot);
    let outcome = match answer {
        Ok(receipts) => store_receipts(&courier.core, rows, request, receipts).await,
        Err(error) => Ok(Err(error)),
    };
    if !matches!(outcome, Ok(Ok(()))) {
        failed.store(true, Ordering::Relaxed);
    }
    outcome
}

/// Posts `request` (messages to one peer) and returns the receipts; `Err` is a delivery failure.
async fn send(courier: &Courier, request: &[Claimed]) -> Result<Vec<String>, String> {
    let peer = &request[0].peer;
    let Some(entry) = courier.core.trust.current().node(peer).cloned() else {
        return Err(format!("{peer} is not in the trust directory"));
    };
    courier.client.send(&entry, request.iter().map(|c| c.token.clone()).collect()).await
}

/// Checks the receipts of the messages `rows[sent]` and stores them; `Ok(Err(_))` is a delivery
/// failure to retry, `Err(_)` a database failure.
async fn store_receipts(
    core: &Arc<NodeCore>,
    rows: Arc<[Claimed]>,
    sent: Range<usize>,
    receipts: Vec<String>,
) -> Result<Result<(), String>, StoreError> {
    let core = core.clone();
    // Checking is CPU work (a signature each): off the async workers, and before the write so
    // that the writer is held only for IO.
    tokio::task::spawn_blocking(move || {
        if receipts.len() != sent.len() {
            return Ok(Err(format!("{} receipts for {} messages", receipts.len(), sent.len())));
        }
        let tokens: Vec<&str> = receipts.iter().map(String::as_str).collect();
        let opened = open_records(&tokens, RECEIPT_TYP, Kind::Receipt, &core.trust.current(), &core.contract);
        for (opened, claimed) in opened.into_iter().zip(&rows[sent.clone()]) {
            if let Err(error) = check_receipt(opened, claimed, core.code()) {
                return Ok(Err(error));
            }
        }
        let count = receipts.len();
        let peer = rows[sent.start].peer.clone();
        let at = Utc::now().naive_utc();
        core.store.write(move |conn| {
            let ids = rows[sent].iter().map(|c| c.id.as_str());
            let pairs: Vec<(&str, &str)> = ids.zip(receipts.iter().map(String::as_str)).collect();
            messages::record_receipts(conn, &pairs, at)
        })?;
        core.metrics.messages_delivered.inc_by(u64::try_from(count).unwrap_or(0));
        tracing::debug!(%peer, messages = count, "delivered with receipts");
        Ok(Ok(()))
    })
    .await
    .map_err(|e| StoreError::Commit(e.to_string()))?
}

/// Records a failed attempt for `rows`; they come due again after their backoff.
async fn postpone(courier: &Courier, rows: Vec<Claimed>, error: String) -> Result<(), StoreError> {
    let Some(first) = rows.first() else { return Ok(()) };
    let attempts = first.attempts.saturating_add(1);
    let wait = backoff_seconds(first.attempts, jitter());
    tracing::warn!(peer = %first.peer, messages = rows.len(), attempts, retry_in_seconds = wait.round(), %error, "delivery failed");
    courier.core.metrics.delivery_failures.inc();
    let retry_at = retry_time(Utc::now(), wait).naive_utc();
    write(&courier.core.store, move |conn| {
        for row in &rows {
            messages::record_failure(conn, &row.id, row.attempts.saturating_add(1), &error, retry_at)?;
        }
        Ok(())
    })
    .await
}

fn retry_time(now: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
    // At most 300 s: the cast cannot overflow.
    #[allow(clippy::cast_possible_truncation)]
    let millis = (seconds * 1000.0) as i64;
    now + chrono::Duration::milliseconds(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_holds_at_most_its_batch_and_its_bytes_and_never_nothing() {
        let row = |size: usize| Claimed {
            id: String::new(),
            peer: String::new(),
            seq: 0,
            token: "x".repeat(size),
            attempts: 0,
        };
        let small: Vec<Claimed> = (0..10).map(|_| row(100)).collect();
        assert_eq!(request_end(&small, 0, 4), 4);
        assert_eq!(request_end(&small, 8, 4), 10);
        let large: Vec<Claimed> = (0..5).map(|_| row(MAX_REQUEST_BYTES / 2)).collect();
        assert_eq!(request_end(&large, 0, 500), 2);
        let huge = [row(MAX_REQUEST_BYTES * 2)];
        assert_eq!(request_end(&huge, 0, 500), 1);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_ceiling() {
        assert!((backoff_seconds(0, 0.0) - 0.5).abs() < 1e-9);
        assert!((backoff_seconds(0, 0.999_999) - 1.0).abs() < 1e-3);
        assert!((backoff_seconds(3, 0.0) - 4.0).abs() < 1e-9);
        assert!((backoff_seconds(30, 0.0) - 150.0).abs() < 1e-9);
        assert!(backoff_seconds(100, 1.0) <= MAX_BACKOFF_SECONDS);
    }
}
