//! The transactional outbox: a message is numbered, signed and stored in the same transaction as
//! the business change it reports, and delivered after commit by the exchange's worker.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::Notify;

use super::CoreError;
use crate::contract::{Contract, Kind};
use crate::domain::message::{Direction, MESSAGE_TYP, MessageBody, MessageClaims, MessageKind};
use crate::seal::{Signer, read_stored, sign_compact};
use crate::store::DbConn;
use crate::store::ledgers::{self, NewEntry};
use crate::store::messages::{self, MessageRow};

/// A message to send, before its sequence number is known.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Receiver's node code.
    pub to: String,
    pub body: MessageBody,
    pub in_reply_to: Option<String>,
    /// Last day for the answer owed by the receiver.
    pub due: Option<NaiveDate>,
    /// Keyed hash of the person's ID number, if the message is about a person.
    pub subject: Option<String>,
}

/// What numbers, signs, checks and stores outgoing messages; cheap to clone into a write job.
#[derive(Clone)]
pub struct Outbox {
    code: String,
    signer: Arc<dyn Signer>,
    contract: Arc<Contract>,
    /// Notified once messages are committed, so that delivery starts at once.
    wake: Arc<Notify>,
}

impl Outbox {
    /// The outbox of node `code`, signing with `signer`.
    pub fn new(code: &str, signer: Arc<dyn Signer>, contract: Arc<Contract>) -> Self {
        Self { code: code.to_owned(), signer, contract, wake: Arc::new(Notify::new()) }
    }

    /// Inside a write transaction: numbers, signs, checks and stores `out` for delivery now.
    pub fn enqueue(&self, conn: &mut DbConn, out: Outgoing, now: DateTime<Utc>) -> Result<MessageRow, CoreError> {
        let mut rows = self.enqueue_all(conn, vec![out], now)?;
        rows.pop().ok_or_else(|| CoreError::Contract("a message was not stored".into()))
    }

    /// [`Self::enqueue`] for many messages in one transaction, numbered in the order given. Each
    /// peer's last sequence number is read and recorded once: on PostgreSQL, updating its row per
    /// message would cost O(N²) for N messages (each update walks the row's versions so far).
    pub fn enqueue_all(
        &self,
        conn: &mut DbConn,
        outs: Vec<Outgoing>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageRow>, CoreError> {
        let mut last: BTreeMap<String, i64> = BTreeMap::new();
        let mut rows = Vec::with_capacity(outs.len());
        let mut entries = Vec::new();
        for out in outs {
            let seq = match last.get(&out.to) {
                Some(&seq) => seq + 1,
                None => messages::last_seq(conn, &out.to, Direction::Out)? + 1,
            };
            last.insert(out.to.clone(), seq);
            let (row, entry) = self.signed_row(out, seq, now)?;
            rows.push(row);
            entries.extend(entry);
        }
        messages::insert_all(conn, &rows)?;
        ledgers::record(conn, &entries)?;
        for (peer, seq) in &last {
            messages::set_last_seq(conn, peer, Direction::Out, *seq)?;
        }
        Ok(rows)
    }

    /// The stored row of `out`, numbered `seq`, signed and checked against the contract, and the
    /// entry it makes in this node's books.
    fn signed_row(
        &self,
        out: Outgoing,
        seq: i64,
        now: DateTime<Utc>,
    ) -> Result<(MessageRow, Option<NewEntry>), CoreError> {
        let kind = out.body.kind();
        let claims = MessageClaims {
            iss: self.code.clone(),
            aud: out.to.clone(),
            jti: uuid::Uuid::now_v7().to_string(),
            seq: u64::try_from(seq).map_err(|e| CoreError::Contract(e.to_string()))?,
            iat: now.timestamp(),
            in_reply_to: out.in_reply_to.clone(),
            due: out.due,
            body: out.body,
        };
        let token = self.sign(&claims)?;
        let row = MessageRow {
            id: claims.jti,
            direction: Direction::Out.as_str().into(),
            peer: out.to,
            seq,
            kind: kind.as_str().into(),
            subject: out.subject,
            in_reply_to: out.in_reply_to,
            due_on: out.due,
            token,
            created_at: now.naive_utc(),
            receipt: None,
            receipted_at: None,
            answered_at: None,
            attempts: 0,
            next_attempt_at: Some(now.naive_utc()),
            last_error: None,
        };
        let entry = NewEntry::of_message(&claims.body, &row);
        Ok((row, entry))
    }

    /// The message `token` signed again with sequence number `seq`, and otherwise the same: a node
    /// restored from a backup numbers the messages it had not delivered after those its peer holds.
    pub fn renumbered(&self, token: &str, seq: i64) -> Result<String, CoreError> {
        let mut claims: MessageClaims =
            read_stored(token).ok_or_else(|| CoreError::Contract("a stored message does not read".into()))?;
        claims.seq = u64::try_from(seq).map_err(|e| CoreError::Contract(e.to_string()))?;
        self.sign(&claims)
    }

    /// Checks `claims` against the contract and signs them.
    fn sign(&self, claims: &MessageClaims) -> Result<String, CoreError> {
        let payload = serde_json::to_value(claims).map_err(|e| CoreError::Contract(e.to_string()))?;
        if let Some(violation) = self.contract.violation(Kind::Message, &payload) {
            return Err(CoreError::Contract(violation));
        }
        Ok(sign_compact(&*self.signer, MESSAGE_TYP, payload.to_string().as_bytes(), false))
    }

    /// Tells every node that registered the arrival of the person `subject` names (certificate
    /// updates and revocations go where she lives); returns how many were told.
    pub fn tell_residences(
        &self,
        conn: &mut DbConn,
        subject: &str,
        body: &MessageBody,
        now: DateTime<Utc>,
    ) -> Result<usize, CoreError> {
        let residences = messages::peers_about(conn, subject, MessageKind::ArrivalNotice, Direction::In)?;
        for to in &residences {
            let out = Outgoing {
                to: to.clone(),
                body: body.clone(),
                in_reply_to: None,
                due: None,
                subject: Some(subject.to_owned()),
            };
            self.enqueue(conn, out, now)?;
        }
        Ok(residences.len())
    }

    /// Starts the delivery of what was just committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when messages were committed since the last wake-up was taken.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Days;

    use super::*;
    use crate::domain::calendar::local_date;
    use crate::domain::certificate::ContraceptionMethod;
    use crate::domain::message::{
        ArrivalNotice, CertificateUpdate, DepartureNotice, EventKind, EventReport, Inquiry, PersonRefDraft, Reply,
        RevocationNotice, ShownCertificate,
    };
    use crate::domain::verification::VerificationStatus;
    use crate::node::testing::{ORIGIN, RESIDENCE, lone_core};

    /// A body of every kind, as the services build them.
    fn every_kind() -> Vec<MessageBody> {
        let today = local_date(Utc::now());
        let draft = PersonRefDraft { id_number: "130728199003070026".into(), name: "张丽".into() };
        let person = draft.parse("person", today).unwrap();
        let id = || uuid::Uuid::now_v7().to_string();
        let shown = ShownCertificate {
            jti: id(),
            iss: ORIGIN.0.into(),
            status: VerificationStatus::Active,
            verified_on: today,
            check_due: today + Days::new(7),
        };
        vec![
            MessageBody::ArrivalNotice(ArrivalNotice {
                person: person.clone(),
                arrived_on: today,
                address: "宝安区新安街道1号".into(),
                presentation_due: today + Days::new(30),
                certificate: Some(shown),
            }),
            MessageBody::DepartureNotice(DepartureNotice {
                person: person.clone(),
                left_on: today,
                destination: "深圳".into(),
            }),
            MessageBody::Inquiry(Inquiry { person: person.clone(), question: "婚姻状况?".into(), urgent: false }),
            MessageBody::Reply(Reply { answer: "已婚".into() }),
            MessageBody::EventReport(EventReport {
                person: person.clone(),
                event: EventKind::Birth,
                on: today,
                note: Some("二孩".into()),
                method: None,
                corrects: None,
            }),
            MessageBody::EventReport(EventReport {
                person,
                event: EventKind::Contraception,
                on: today,
                note: None,
                method: Some(ContraceptionMethod::Iud),
                corrects: Some(id()),
            }),
            MessageBody::CertificateUpdate(CertificateUpdate { token: "e30.e30.c2ln".into() }),
            MessageBody::Revocation(RevocationNotice {
                certificate_id: id(),
                jti: id(),
                reason: "迁出".into(),
                revoked_at: 1,
            }),
        ]
    }

    #[test]
    fn every_kind_is_signed_against_its_schema_and_reads_back() {
        let (_registry, core) = lone_core(ORIGIN);
        let now = Utc::now();
        for body in every_kind() {
            let kind = body.kind();
            let out =
                Outgoing { to: RESIDENCE.0.into(), body: body.clone(), in_reply_to: None, due: None, subject: None };
            let out = match kind {
                MessageKind::Reply => Outgoing { in_reply_to: Some(uuid::Uuid::now_v7().to_string()), ..out },
                MessageKind::Inquiry => Outgoing { due: Some(local_date(now)), ..out },
                _ => out,
            };
            let outbox = core.outbox.clone();
            let stored = core.store.write(move |conn| outbox.enqueue(conn, out, now)).unwrap();
            assert_eq!(stored.kind, kind.as_str());
            let claims: MessageClaims = read_stored(&stored.token).unwrap();
            assert_eq!(claims.body, body);
        }
    }

    #[test]
    fn a_body_that_breaks_its_schema_is_never_stored() {
        let (_registry, core) = lone_core(ORIGIN);
        let inquiry = every_kind().swap_remove(2);
        // An inquiry owes an answer: without its due day it breaks the contract.
        let out = Outgoing { to: RESIDENCE.0.into(), body: inquiry, in_reply_to: None, due: None, subject: None };
        let outbox = core.outbox.clone();
        let refused = core.store.write(move |conn| outbox.enqueue(conn, out, Utc::now())).unwrap_err();
        assert!(matches!(refused, CoreError::Contract(_)), "{refused:?}");
        assert_eq!(core.store.read(messages::count_unreceipted).unwrap(), 0);
    }
}
