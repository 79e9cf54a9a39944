//! Crash tests: two real `hunyu serve` processes, 10,000 messages in the sender's outbox, and one
//! of the two killed with SIGKILL in the middle of the delivery, then restarted on the same ports
//! and database. Afterwards the receiver holds every message exactly once, in sequence, and the
//! sender holds every message's receipt: the very receipt the receiver stored.

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use hunyu::config::Config;
use hunyu::domain::message::{Inquiry, MessageBody};
use hunyu::node::outbox::Outgoing;
use hunyu::node::{CoreError, NodeCore};
use hunyu::store::schema::messages;
use hunyu::store::{Store, StoreError};

use crate::both_backends;
use crate::helpers::Backend;
use crate::serve::ServedPair;

/// Messages in the sender's outbox when the processes start.
const MESSAGES: i64 = 10_000;
/// Messages per delivery request (`[peer] batch`): 20 requests, so a kill lands mid-delivery.
const BATCH: usize = 500;
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
    pair.served.residence.kill();
    let stored = inbox_count(&pair.receiver_db);
    eprintln!("{backend:?}: receiver killed after {:?} with {stored} messages stored", started.elapsed());
    assert!(stored < MESSAGES, "delivery finished before the receiver died");

    // The sender meets a dead peer for a while: refused connections, postponed messages.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarted = Instant::now();
    pair.served.residence.start(&pair.served.client).await;
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
    pair.served.origin.kill();
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
    pair.served.origin.start(&pair.served.client).await;
    pair.await_delivery().await;
    eprintln!("{backend:?}: delivery finished {:?} after the sender's restart", restarted.elapsed());
    pair.assert_exactly_once();
}

/// A sender with 10,000 messages for a receiver, both configured but not yet running, and a
/// connection of the test's own to each database.
struct Pair {
    /// The sender is the origin, the receiver the residence.
    served: ServedPair,
    sender_db: Store,
    receiver_db: Store,
}

impl Pair {
    fn new(backend: Backend) -> Self {
        let served = ServedPair::new(backend, BATCH, "warn");
        let (sender, receiver) = (&served.origin, &served.residence);
        let started = Instant::now();
        fill_outbox(&sender.config, &receiver.code);
        eprintln!("{backend:?}: {MESSAGES} messages put in the outbox in {:?}", started.elapsed());

        let sender_db = Store::open(&sender.config.database_url().unwrap(), 2).unwrap();
        let receiver_db = Store::open(&receiver.config.database_url().unwrap(), 2).unwrap();
        assert_eq!(unreceipted_count(&sender_db), MESSAGES);
        assert_eq!(inbox_count(&receiver_db), 0);
        Self { served, sender_db, receiver_db }
    }

    /// Starts both processes, the receiver first.
    async fn start(&mut self) {
        self.served.start().await;
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
        self.served.assert_running();
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
            assert_eq!(received.peer, self.served.origin.code, "message {} from another peer", received.seq);
            assert_eq!(sent.peer, self.served.residence.code, "message {} to another peer", sent.seq);
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
