//! The idempotent inbox: a batch of signed messages is checked whole, stored in one transaction
//! with a signed receipt each, and applied to the books. A message received again gets its first
//! receipt back and changes nothing; a refused batch stores nothing.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{Refusal, sender_of};
use crate::contract::Kind;
use crate::domain::error::Coded as _;
use crate::domain::message::{Direction, MESSAGE_TYP, MessageBody, MessageClaims, RECEIPT_TYP, ReceiptClaims};
use crate::domain::verification::{Reason, VersionStatus};
use crate::node::NodeCore;
use crate::seal::records::{open_certificate, open_records};
use crate::seal::{TrustStore, sha256_hex, sign_compact};
use crate::store::StoreError;
use crate::store::ledgers::{self, NewEntry};
use crate::store::messages::{self, MessageRow};

/// Why a batch was not taken.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for InboxError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// What a received message changes in this node's books, besides being stored.
#[derive(Debug, Clone)]
enum Effect {
    None,
    /// It answers one of this node's messages.
    Answers(String),
    /// The issuer reports a status of one of its certificate versions.
    Status {
        jti: String,
        status: VersionStatus,
    },
}

/// A message that passed every check that needs no database.
struct Checked {
    token: String,
    claims: MessageClaims,
    subject: Option<String>,
    effect: Effect,
    receipt: String,
}

/// Longest wait of a batch for the one before it from the same sender; past it the batch is
/// stored, or refused as out of sequence, without it.
const TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// Puts the batches of each sender in sequence order on their way into the inbox.
///
/// A sender may have several requests under way: each batch is checked as soon as it arrives, in
/// parallel with the others, and stored after the batch before it, if that one is still being
/// received. A batch waits only for batches that may come before it (those starting earlier, or
/// not yet checked); when none is under way, the sequence check decides at once.
#[derive(Default)]
pub struct Arrivals {
    senders: Mutex<HashMap<String, Turn>>,
    changed: Condvar,
}

/// Where one sender's batches stand.
#[derive(Default)]
struct Turn {
    /// Last sequence number stored.
    stored: i64,
    /// Batches between arrival and outcome: a ticket each, and its first sequence number once checked.
    open: Vec<(u64, Option<i64>)>,
    /// The next ticket.
    next: u64,
}

impl Arrivals {
    /// Registers a batch of `sender` until the returned guard is dropped; the first batch of a
    /// sender in this process learns where the sender stands from `stored`.
    fn arrive<'a>(
        &'a self,
        sender: &'a str,
        stored: impl FnOnce() -> Result<i64, StoreError>,
    ) -> Result<Arrival<'a>, StoreError> {
        let mut senders = self.lock();
        if !senders.contains_key(sender) {
            senders.insert(sender.to_owned(), Turn { stored: stored()?, ..Turn::default() });
        }
        let turn = senders.entry(sender.to_owned()).or_default();
        let ticket = turn.next;
        turn.next += 1;
        turn.open.push((ticket, None));
        Ok(Arrival { arrivals: self, sender, ticket })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Turn>> {
        self.senders.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A batch between its arrival and its outcome.
struct Arrival<'a> {
    arrivals: &'a Arrivals,
    sender: &'a str,
    ticket: u64,
}

impl Arrival<'_> {
    /// Records that the batch starts at `first`, then waits while a batch that may precede it
    /// is under way and what is stored does not reach it yet (at most [`TURN_TIMEOUT`]).
    fn wait_turn(&self, first: i64) {
        let deadline = Instant::now() + TURN_TIMEOUT;
        let mut senders = self.arrivals.lock();
        if let Some(turn) = senders.get_mut(self.sender) {
            turn.open.iter_mut().filter(|(ticket, _)| *ticket == self.ticket).for_each(|(_, at)| *at = Some(first));
        }
        // Batches waiting for this one to be checked may go on.
        self.arrivals.changed.notify_all();
        loop {
            let waiting = senders.get(self.sender).is_some_and(|turn| {
                turn.stored + 1 < first
                    && turn.open.iter().any(|&(ticket, at)| ticket != self.ticket && at.is_none_or(|at| at < first))
            });
            let left = deadline.saturating_duration_since(Instant::now());
            if !waiting || left.is_zero() {
                return;
            }
            senders = self.arrivals.changed.wait_timeout(senders, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Records that the batch was stored up to `last`.
    fn stored(&self, last: i64) {
        if let Some(turn) = self.arrivals.lock().get_mut(self.sender) {
            turn.stored = turn.stored.max(last);
        }
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        if let Some(turn) = self.arrivals.lock().get_mut(self.sender) {
            turn.open.retain(|(ticket, _)| *ticket != self.ticket);
        }
        self.arrivals.changed.notify_all();
    }
}

/// Takes a batch from the node whose TLS client certificate has `fingerprint`; returns one
/// receipt per message, in order.
pub fn receive(
    core: &NodeCore,
    arrivals: &Arrivals,
    fingerprint: Option<&str>,
    tokens: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, InboxError> {
    if tokens.is_empty() || tokens.len() > super::MAX_BATCH {
        return Err(Refusal::BatchSize.into());
    }
    let trust = core.trust.current();
    let sender = sender_of(&trust, fingerprint)?;
    let arrival =
        arrivals.arrive(&sender, || core.store.read(|conn| messages::last_seq(conn, &sender, Direction::In)))?;
    let checked = check_all(core, &trust, &sender, tokens, now)?;
    let seq = |c: &Checked| i64::try_from(c.claims.seq).unwrap_or(i64::MAX);
    let (first, last) = (checked.first().map_or(0, seq), checked.last().map_or(0, seq));
    arrival.wait_turn(first);
    let from = sender.clone();
    let (receipts, stored, reported) = core.store.write(move |conn| store(conn, &from, checked, now))?;
    arrival.stored(last);
    if reported {
        core.catch_up_statuses()?;
    }
    core.metrics.messages_received.inc_by(u64::try_from(stored).unwrap_or(u64::MAX));
    Ok(receipts)
}

/// Messages checked per thread at least: below this, starting a thread costs more than it saves.
const MIN_SHARE: usize = 16;

/// Checks every message of a batch, on every core: the signature checked and the receipt signed
/// for each are most of the work of receiving. Refuses for the first bad message in order.
fn check_all(
    core: &NodeCore,
    trust: &TrustStore,
    sender: &str,
    tokens: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Vec<Checked>, Refusal> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let share = tokens.len().div_ceil(cores).max(MIN_SHARE);
    let mut tokens = tokens.into_iter().enumerate().peekable();
    let mut shares = Vec::new();
    while tokens.peek().is_some() {
        shares.push(tokens.by_ref().take(share).collect::<Vec<_>>());
    }
    let check_share = |share: Vec<(usize, String)>| -> Result<Vec<Checked>, Refusal> {
        let tokens: Vec<&str> = share.iter().map(|(_, token)| token.as_str()).collect();
        let opened: Vec<_> = open_records(&tokens, MESSAGE_TYP, Kind::Message, trust, &core.contract);
        share
            .into_iter()
            .zip(opened)
            .map(|((index, token), claims)| check(core, trust, sender, index, token, claims, now))
            .collect()
    };
    std::thread::scope(|scope| {
        let mut shares = shares.into_iter();
        let first = shares.next().unwrap_or_default();
        let others: Vec<_> = shares.map(|share| scope.spawn(move || check_share(share))).collect();
        let mut checked = check_share(first)?;
        for other in others {
            checked.extend(other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?);
        }
        Ok(checked)
    })
}

/// Checks one opened message (signature, key window, schema): sender and receiver, and what it
/// changes; signs its receipt.
fn check(
    core: &NodeCore,
    trust: &TrustStore,
    sender: &str,
    index: usize,
    token: String,
    opened: Result<MessageClaims, Reason>,
    now: DateTime<Utc>,
) -> Result<Checked, Refusal> {
    let bad = |reason: &'static str| Refusal::BadMessage { message: index, reason };
    let claims = opened.map_err(|r| bad(r.code()))?;
    if claims.iss != sender {
        return Err(Refusal::TlsMismatch { message: index, claimed: claims.iss, tls: sender.into() });
    }
    if claims.aud != core.code() {
        return Err(Refusal::WrongAudience { message: index, aud: claims.aud });
    }
    let subject = claims.body.person().map(|person| core.audit_key.subject(person.id_number.as_str()));
    let effect = effect_of(core, &claims, trust).map_err(bad)?;
    let receipt = ReceiptClaims {
        iss: core.code().into(),
        aud: claims.iss.clone(),
        msg: claims.jti.clone(),
        seq: claims.seq,
        sha256: sha256_hex(token.as_bytes()),
        iat: now.timestamp(),
    };
    // Serializing plain data cannot fail.
    let receipt = sign_compact(&*core.signer, RECEIPT_TYP, &serde_json::to_vec(&receipt).unwrap_or_default(), false);
    Ok(Checked { token, claims, subject, effect, receipt })
}

/// The change a message makes to the books; a certificate it carries must be the sender's own.
fn effect_of(core: &NodeCore, claims: &MessageClaims, trust: &TrustStore) -> Result<Effect, &'static str> {
    Ok(match &claims.body {
        MessageBody::Reply(_) => Effect::Answers(claims.in_reply_to.clone().unwrap_or_default()),
        MessageBody::CertificateUpdate(update) => {
            let genuine = open_certificate(&update.token, trust, &core.contract).map_err(|r| r.code())?;
            if genuine.claims.iss != claims.iss {
                return Err("issuer_mismatch");
            }
            match genuine.claims.supersedes {
                Some(previous) => Effect::Status { jti: previous, status: VersionStatus::Superseded },
                None => Effect::None,
            }
        }
        MessageBody::Revocation(notice) => Effect::Status { jti: notice.jti.clone(), status: VersionStatus::Revoked },
        MessageBody::ArrivalNotice(_)
        | MessageBody::DepartureNotice(_)
        | MessageBody::Inquiry(_)
        | MessageBody::EventReport(_) => Effect::None,
    })
}

/// The receipts of a batch, how many of its messages were new, and whether any reported a
/// version's status.
type Stored = (Vec<String>, usize, bool);

/// Stores the new messages of a batch in sequence and applies them; repeats get their first
/// receipt.
fn store(
    conn: &mut crate::store::DbConn,
    sender: &str,
    batch: Vec<Checked>,
    now: DateTime<Utc>,
) -> Result<Stored, InboxError> {
    let ids: Vec<&str> = batch.iter().map(|c| c.claims.jti.as_str()).collect();
    let known: HashMap<String, MessageRow> =
        messages::find_received(conn, &ids)?.into_iter().map(|row| (row.id.clone(), row)).collect();
    let first = messages::last_seq(conn, sender, Direction::In)?;
    let mut last = first;
    let mut receipts = Vec::with_capacity(batch.len());
    let mut rows = Vec::new();
    let mut effects = Vec::new();
    let mut entries = Vec::new();
    for (index, item) in batch.into_iter().enumerate() {
        if let Some(existing) = known.get(&item.claims.jti) {
            if existing.token != item.token || existing.peer != sender {
                return Err(Refusal::Replay { message: index, id: item.claims.jti }.into());
            }
            receipts.push(existing.receipt.clone().unwrap_or_default());
            continue;
        }
        let seq = i64::try_from(item.claims.seq).unwrap_or(i64::MAX);
        if seq != last + 1 {
            return Err(Refusal::SequenceGap { message: index, expected: last + 1, got: seq }.into());
        }
        last = seq;
        receipts.push(item.receipt.clone());
        effects.push((item.claims.jti.clone(), item.effect));
        let row = MessageRow {
            kind: item.claims.body.kind().as_str().into(),
            id: item.claims.jti,
            direction: Direction::In.as_str().into(),
            peer: sender.into(),
            seq,
            subject: item.subject,
            in_reply_to: item.claims.in_reply_to,
            due_on: item.claims.due,
            token: item.token,
            created_at: now.naive_utc(),
            receipt: Some(item.receipt),
            receipted_at: Some(now.naive_utc()),
            answered_at: None,
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
        };
        entries.extend(NewEntry::of_message(&item.claims.body, &row));
        rows.push(row);
    }
    if rows.is_empty() {
        return Ok((receipts, 0, false));
    }
    let stored = rows.len();
    messages::insert_all(conn, &rows)?;
    ledgers::record(conn, &entries)?;
    messages::set_last_seq(conn, sender, Direction::In, last)?;
    let at = now.naive_utc();
    let mut reported = false;
    for (message_id, effect) in effects {
        match effect {
            Effect::None => {}
            Effect::Answers(of) => {
                messages::mark_answered(conn, &of, Direction::Out, sender, at)?;
            }
            Effect::Status { jti, status } => {
                messages::insert_received_status(conn, &jti, sender, status, at, &message_id)?;
                reported = true;
            }
        }
    }
    Ok((receipts, stored, reported))
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// Well under [`TURN_TIMEOUT`]: a wait this long or longer was a wait for nothing.
    const PROMPT: Duration = Duration::from_secs(2);

    #[test]
    fn a_batch_waits_for_the_one_before_it_until_that_is_stored() {
        let arrivals = Arrivals::default();
        let first = arrivals.arrive("130728102000", || Ok(0)).unwrap();
        let second = arrivals.arrive("130728102000", || unreachable!("read once per sender")).unwrap();
        let (done, finished) = mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                second.wait_turn(501);
                done.send(()).unwrap();
            });
            assert!(finished.recv_timeout(Duration::from_millis(300)).is_err(), "went before the batch before it");
            first.wait_turn(1);
            first.stored(500);
            drop(first);
            assert!(finished.recv_timeout(PROMPT).is_ok(), "still waiting once the batch before was stored");
        });
    }

    #[test]
    fn later_batches_do_not_wait_for_each_other_when_the_earlier_one_is_missing() {
        // Batch 1..=500 was lost on the way: 501.. and 1001.. must be refused at once, not
        // after each waited the other out.
        let arrivals = Arrivals::default();
        let started = Instant::now();
        let second = arrivals.arrive("130728102000", || Ok(0)).unwrap();
        let third = arrivals.arrive("130728102000", || Ok(0)).unwrap();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                third.wait_turn(1001);
            });
            second.wait_turn(501);
            drop(second);
        });
        assert!(started.elapsed() < PROMPT, "waited {:?}", started.elapsed());
    }
}
