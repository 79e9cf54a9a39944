//! The transactional outbox: a message is numbered, signed and stored in the same transaction as
//! the business change it reports, and delivered after commit.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::contract::{Contract, Kind};
use crate::domain::message::{MESSAGE_TYP, MessageClaims, MessageKind};
use crate::node::NodeError;
use crate::seal::{Signer, sign_compact};
use crate::store::DbConn;
use crate::store::messages::{self, MessageRow, OUT};

/// A message to send, before its sequence number is known.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Receiver's node code.
    pub to: String,
    pub kind: MessageKind,
    pub body: Value,
    pub in_reply_to: Option<String>,
    /// Last day for the answer owed by the receiver.
    pub due: Option<NaiveDate>,
    /// Keyed hash of the person's ID number, if the message is about a person.
    pub subject: Option<String>,
}

/// What numbers, signs and checks outgoing messages; cheap to clone into a write job.
#[derive(Clone)]
pub struct Sender {
    pub code: String,
    pub signer: Arc<dyn Signer>,
    pub contract: Arc<Contract>,
}

impl Sender {
    /// Inside a write transaction: numbers, signs, checks and stores `out` for delivery now.
    pub fn enqueue(&self, conn: &mut DbConn, out: Outgoing, now: DateTime<Utc>) -> Result<MessageRow, NodeError> {
        let seq = messages::next_seq(conn, &out.to, OUT)?;
        let claims = MessageClaims {
            iss: self.code.clone(),
            aud: out.to.clone(),
            jti: uuid::Uuid::now_v7().to_string(),
            seq: u64::try_from(seq).map_err(|e| NodeError::Contract(e.to_string()))?,
            iat: now.timestamp(),
            kind: out.kind,
            in_reply_to: out.in_reply_to.clone(),
            due: out.due,
            body: out.body,
        };
        let payload = serde_json::to_value(&claims).map_err(|e| NodeError::Contract(e.to_string()))?;
        if let Some(violation) = self.contract.violation(Kind::Message, &payload) {
            return Err(NodeError::Contract(violation));
        }
        let token = sign_compact(&*self.signer, MESSAGE_TYP, payload.to_string().as_bytes(), false);
        let row = MessageRow {
            id: claims.jti,
            direction: OUT.into(),
            peer: out.to,
            seq,
            kind: out.kind.as_str().into(),
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
        messages::insert(conn, &row)?;
        Ok(row)
    }
}

impl Sender {
    /// Tells every node that registered the arrival of the person `subject` names (certificate
    /// updates and revocations go where she lives); returns how many were told.
    pub fn tell_residences(
        &self,
        conn: &mut DbConn,
        subject: &str,
        kind: MessageKind,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<usize, NodeError> {
        let residences = messages::peers_about(conn, subject, MessageKind::ArrivalNotice.as_str(), messages::IN)?;
        for to in &residences {
            let out = Outgoing {
                to: to.clone(),
                kind,
                body: body.clone(),
                in_reply_to: None,
                due: None,
                subject: Some(subject.to_owned()),
            };
            self.enqueue(conn, out, now)?;
        }
        Ok(residences.len())
    }
}
