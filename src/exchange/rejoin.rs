//! A node restored from an older backup rejoins the exchange (恢复后重新接入). It has lost what it
//! exchanged after the backup; its peers have not. So before it delivers anything to a peer, it
//! asks that peer for the messages the peer received from it (its own signed messages, with the
//! peer's signed receipts) and stores them again; the messages it had not delivered are numbered
//! after those; and the peer resends what it had sent since the last message this node still
//! holds. Nothing is applied twice (the peer's inbox has the messages it returns, and this node's
//! inbox lacks those resent), and sequence numbers continue where the peer's records end.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::client::{PeerClient, REJOIN_PATH};
use super::delivery::{check_receipt, write};
use super::inbox::InboxError;
use super::{Refusal, UNLISTED_RETRY, sender_of};
use crate::contract::Kind;
use crate::domain::directory::NodeStatus;
use crate::domain::error::Coded as _;
use crate::domain::message::{Direction, MESSAGE_TYP, MessageClaims, RECEIPT_TYP, ReceiptClaims};
use crate::node::{AuditKey, NodeCore, Outbox};
use crate::seal::directory::NodeEntry;
use crate::seal::records::open_record;
use crate::store::ledgers::{self, NewEntry};
use crate::store::messages::{self, Claimed, MessageRow};
use crate::store::{DbConn, StoreError, rejoin};

/// Most messages a peer returns in one answer.
pub const PAGE: usize = 500;
/// Most messages a restored node takes back from one peer: past this, the operator restores a
/// newer backup (they are held in memory and stored in one transaction).
pub const MAX_RETURNED: usize = 100_000;

/// Body of `POST /exchange/v1/rejoin` from a restored node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RejoinRequest {
    /// The last sequence number of the peer's messages the asker holds: the peer resends the rest.
    pub received: i64,
    /// The last sequence number of the asker's own messages it holds a receipt for: the peer
    /// returns those it received after it.
    pub sent: i64,
    /// Whether the peer is to resend now (the asker has stored what it was returned).
    #[serde(default)]
    pub resend: bool,
}

/// Answer of a peer to a restored node.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RejoinAnswer {
    /// The last sequence number of the asker's messages the peer received.
    pub received: i64,
    /// The asker's messages after `sent`, in order (at most [`PAGE`]).
    pub messages: Vec<HeldMessage>,
}

/// A message the peer received from the asker, with the receipt it gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldMessage {
    pub token: String,
    pub receipt: String,
}

/// Answers a restored node (the TLS client of `fingerprint`): what this node received from it
/// after `sent`, and, when asked to, its own messages to it after `received` delivered again.
pub fn answer(
    core: &NodeCore,
    fingerprint: Option<&str>,
    request: &RejoinRequest,
    now: DateTime<Utc>,
) -> Result<RejoinAnswer, InboxError> {
    let asker = sender_of(&core.trust.current(), fingerprint)?;
    let RejoinRequest { received, sent, resend } = *request;
    let answer = core.store.write(move |conn| {
        if received < 0 || sent < 0 || received > messages::last_seq(conn, &asker, Direction::Out)? {
            return Err(InboxError::from(Refusal::BadMessage { message: 0, reason: "more received than was sent" }));
        }
        let held = messages::last_seq(conn, &asker, Direction::In)?;
        let page = i64::try_from(PAGE).unwrap_or(i64::MAX);
        let returned = rejoin::received_after(conn, &asker, sent, page)?;
        if resend {
            let forgotten = rejoin::forget_receipts(conn, &asker, received)?;
            rejoin::make_due(conn, &asker, now.naive_utc())?;
            tracing::info!(peer = %asker, from = received + 1, messages = forgotten, "resending to a restored node");
        }
        let messages = returned.into_iter().map(|(token, receipt)| HeldMessage { token, receipt }).collect();
        Ok(RejoinAnswer { received: held, messages })
    })?;
    if resend {
        core.outbox.wake();
    }
    Ok(answer)
}

/// Which peers a restored node may deliver to: those that have returned what they hold.
#[derive(Debug, Default)]
pub struct Rejoin {
    /// `None` when the node is not restored; else the peers that have rejoined.
    rejoined: Mutex<Option<HashSet<String>>>,
}

impl Rejoin {
    /// The state stored in the node's database.
    pub fn load(core: &NodeCore) -> Result<Self, StoreError> {
        let rejoined = core.store.read(|conn| {
            Ok::<_, StoreError>(match rejoin::restored_at(conn)? {
                Some(_) => Some(rejoin::rejoined(conn)?.into_iter().collect()),
                None => None,
            })
        })?;
        Ok(Self { rejoined: Mutex::new(rejoined) })
    }

    /// Whether messages may go to `peer` now.
    pub fn may_deliver(&self, peer: &str) -> bool {
        self.lock().as_ref().is_none_or(|rejoined| rejoined.contains(peer))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HashSet<String>>> {
        self.rejoined.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks every active node of the directory for what it holds, until each has answered; then
    /// ends the restore. Does nothing on a node that was not restored.
    pub async fn run(&self, core: &NodeCore, client: &PeerClient) {
        if self.lock().is_none() {
            return;
        }
        tracing::warn!("this node was restored from a backup: each peer returns what it holds before it gets anything");
        loop {
            let waiting: Vec<NodeEntry> = {
                let rejoined = self.lock().clone().unwrap_or_default();
                let trust = core.trust.current();
                trust
                    .nodes()
                    .filter(|n| n.status == NodeStatus::Active && n.code != core.code() && !rejoined.contains(&n.code))
                    .cloned()
                    .collect()
            };
            let mut unanswered = false;
            for peer in &waiting {
                match rejoin_peer(core, client, peer).await {
                    Ok(()) => {
                        if let Some(rejoined) = self.lock().as_mut() {
                            rejoined.insert(peer.code.clone());
                        }
                        core.outbox.wake();
                    }
                    Err(error) => {
                        unanswered = true;
                        tracing::warn!(peer = %peer.code, %error, "a peer did not return what it holds; asking again");
                    }
                }
            }
            if !unanswered {
                match write(&core.store, rejoin::finish).await {
                    Ok(()) => {
                        *self.lock() = None;
                        tracing::info!("every peer has returned what it holds: the restore is complete");
                        return;
                    }
                    Err(error) => tracing::error!(%error, "the end of the restore was not recorded"),
                }
            }
            tokio::time::sleep(UNLISTED_RETRY).await;
        }
    }
}

/// Takes back from `peer` this node's messages it holds, renumbers the ones it does not hold
/// after them, and has it resend what this node lost.
async fn rejoin_peer(core: &NodeCore, client: &PeerClient, peer: &NodeEntry) -> Result<(), String> {
    let code = peer.code.clone();
    let at = code.clone();
    let (received, sent) = write(&core.store, move |conn| {
        Ok((messages::last_seq(conn, &at, Direction::In)?, rejoin::last_receipted(conn, &at)?))
    })
    .await
    .map_err(|e| e.to_string())?;
    let mut returned = Vec::new();
    let mut after = sent;
    let held = loop {
        let request = RejoinRequest { received, sent: after, resend: false };
        let answer: RejoinAnswer = client.call(peer, REJOIN_PATH, &request).await?;
        let page = answer.messages.len();
        for item in answer.messages {
            after += 1;
            returned.push(check_returned(core, &code, after, item)?);
        }
        if page == 0 || after >= answer.received {
            break answer.received;
        }
        if returned.len() > MAX_RETURNED {
            return Err(format!(
                "the peer holds more than {MAX_RETURNED} messages this node lost: restore a newer backup"
            ));
        }
    };
    if after != held.max(sent) {
        return Err(format!("the peer holds messages up to {held} but returned them up to {after}"));
    }
    let taken = returned.len();
    let (outbox, audit_key, to) = (core.outbox.clone(), core.audit_key.clone(), code.clone());
    let now = Utc::now();
    let renumbered =
        write(&core.store, move |conn| take_back(conn, (&to, &outbox, &audit_key), returned, (sent, held), now))
            .await
            .map_err(|e| e.to_string())?;
    let request = RejoinRequest { received, sent: held, resend: true };
    let _: RejoinAnswer = client.call(peer, REJOIN_PATH, &request).await?;
    let peer_code = code.clone();
    write(&core.store, move |conn| rejoin::mark_rejoined(conn, &peer_code, now.naive_utc()))
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(peer = %code, taken_back = taken, renumbered, resent_from = received + 1, "a peer has returned what it holds");
    Ok(())
}

/// A returned message that checks out: this node's own, to `peer`, numbered `seq`, with `peer`'s
/// receipt for these very bytes.
fn check_returned(
    core: &NodeCore,
    peer: &str,
    seq: i64,
    item: HeldMessage,
) -> Result<(MessageClaims, HeldMessage), String> {
    let trust = core.trust.current();
    let claims: MessageClaims = open_record(&item.token, MESSAGE_TYP, Kind::Message, &trust, &core.contract)
        .map_err(|r| format!("returned message {seq}: {}", r.code()))?;
    if claims.iss != core.code() || claims.aud != peer || i64::try_from(claims.seq).ok() != Some(seq) {
        return Err(format!("returned message {seq} is not this node's message {seq} to the peer"));
    }
    let receipt = open_record::<ReceiptClaims>(&item.receipt, RECEIPT_TYP, Kind::Receipt, &trust, &core.contract);
    let claimed = Claimed { id: claims.jti.clone(), peer: peer.into(), seq, token: item.token.clone(), attempts: 0 };
    check_receipt(receipt, &claimed, core.code())?;
    Ok((claims, item))
}

/// Stores the returned messages (after `sent`) with their receipts, and numbers this node's
/// messages the peer does not hold after `held`, the last the peer has; returns how many were
/// renumbered.
fn take_back(
    conn: &mut DbConn,
    (peer, outbox, audit_key): (&str, &Outbox, &AuditKey),
    returned: Vec<(MessageClaims, HeldMessage)>,
    (sent, held): (i64, i64),
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let at_peer: HashMap<&str, &HeldMessage> = returned.iter().map(|(c, item)| (c.jti.as_str(), item)).collect();
    // A peer restored too may hold fewer than this node has receipts for: those it lost go again.
    rejoin::forget_receipts(conn, peer, held)?;
    // Held here without a receipt: the peer has some (their receipts were lost), not the others.
    let mut elsewhere = Vec::new();
    let mut receipts = Vec::new();
    for row in rejoin::unreceipted_after(conn, peer, sent.min(held))? {
        match at_peer.get(row.id.as_str()) {
            Some(item) => receipts.push((row.id, item.receipt.clone())),
            None => elsewhere.push(row),
        }
    }
    // Out of the way of the returned numbers first (unique per peer, and above any in use), then
    // after them.
    for (n, row) in elsewhere.iter().enumerate() {
        rejoin::renumber(conn, &row.id, i64::MAX - i64::try_from(n).unwrap_or(0), &row.token)?;
    }
    let known: HashSet<String> = receipts.iter().map(|(id, _)| id.clone()).collect();
    for (claims, item) in &returned {
        if known.contains(&claims.jti) || messages::find(conn, &claims.jti, Direction::Out)?.is_some() {
            continue;
        }
        let row = returned_row(peer, audit_key, claims, item, now);
        let entry = NewEntry::of_message(&claims.body, &row);
        messages::insert(conn, &row)?;
        // What the backup lost of this node's books comes back with the messages that made it.
        ledgers::record(conn, entry.as_slice())?;
    }
    let receipts: Vec<(&str, &str)> = receipts.iter().map(|(id, r)| (id.as_str(), r.as_str())).collect();
    messages::record_receipts(conn, &receipts, now.naive_utc())?;
    let mut seq = held;
    for row in &elsewhere {
        seq += 1;
        let token = outbox.renumbered(&row.token, seq).map_err(|e| StoreError::Commit(e.to_string()))?;
        rejoin::renumber(conn, &row.id, seq, &token)?;
    }
    let last = messages::last_seq(conn, peer, Direction::Out)?;
    messages::set_last_seq(conn, peer, Direction::Out, last.max(seq))?;
    rejoin::make_due(conn, peer, now.naive_utc())?;
    Ok(elsewhere.len())
}

/// The stored row of a message taken back from the peer that holds it.
fn returned_row(
    peer: &str,
    audit_key: &AuditKey,
    claims: &MessageClaims,
    item: &HeldMessage,
    now: DateTime<Utc>,
) -> MessageRow {
    let created_at = DateTime::from_timestamp(claims.iat, 0).unwrap_or(now).naive_utc();
    MessageRow {
        id: claims.jti.clone(),
        direction: Direction::Out.as_str().into(),
        peer: peer.into(),
        seq: i64::try_from(claims.seq).unwrap_or(0),
        kind: claims.body.kind().as_str().into(),
        subject: claims.body.person().map(|person| audit_key.subject(person.id_number.as_str())),
        in_reply_to: claims.in_reply_to.clone(),
        due_on: claims.due,
        token: item.token.clone(),
        created_at,
        receipt: Some(item.receipt.clone()),
        receipted_at: Some(now.naive_utc()),
        answered_at: None,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
    }
}
