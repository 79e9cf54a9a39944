//! What was exchanged (交换记录): messages sent and received, with their receipt and deadline state.

use chrono::{DateTime, NaiveDate, Utc};

use super::ServiceError;
use crate::domain::access::Action;
use crate::domain::calendar::local_date;
use crate::domain::error::ErrorCode;
use crate::domain::message::{Direction, MessageBody, MessageClaims, MessageKind, MessageState, message_state};
use crate::node::{Actor, NodeCore};
use crate::seal::read_stored;
use crate::store::StoreError;
use crate::store::audit::Recorded;
use crate::store::messages::{self, MessageFilter, MessageRow};

/// A message as both sides list it, its body parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub direction: Direction,
    /// The other node.
    pub peer: String,
    pub seq: i64,
    pub body: MessageBody,
    /// Where it stands on the day it was read.
    pub state: MessageState,
    pub created_at: DateTime<Utc>,
    pub receipted_at: Option<DateTime<Utc>>,
    /// Last day for the answer owed.
    pub due_on: Option<NaiveDate>,
    pub answered_at: Option<DateTime<Utc>>,
    pub in_reply_to: Option<String>,
    /// Delivery attempts that failed so far (sent messages).
    pub attempts: i32,
    pub last_error: Option<String>,
    /// The signed message.
    pub token: String,
    /// The signed receipt.
    pub receipt: Option<String>,
}

impl Message {
    /// A stored message with its body, as it stands on `today`.
    pub(crate) fn new(row: MessageRow, body: MessageBody, today: NaiveDate) -> Result<Self, StoreError> {
        Ok(Self {
            state: message_state(row.receipt.is_some(), row.due_on, row.answered_at.is_some(), today),
            direction: messages::direction_of(&row)?,
            id: row.id,
            peer: row.peer,
            seq: row.seq,
            body,
            created_at: row.created_at.and_utc(),
            receipted_at: row.receipted_at.map(|t| t.and_utc()),
            due_on: row.due_on,
            answered_at: row.answered_at.map(|t| t.and_utc()),
            in_reply_to: row.in_reply_to,
            attempts: row.attempts,
            last_error: row.last_error,
            token: row.token,
            receipt: row.receipt,
        })
    }

    /// A stored message, its body read from its signed token.
    fn stored(row: MessageRow, today: NaiveDate) -> Result<Self, StoreError> {
        let claims: MessageClaims =
            read_stored(&row.token).ok_or_else(|| StoreError::Corrupt(format!("message {} does not read", row.id)))?;
        Self::new(row, claims.body, today)
    }

    /// The kind of message.
    pub fn kind(&self) -> MessageKind {
        self.body.kind()
    }
}

/// `GET /api/v1/messages` filters, checked.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    pub direction: Option<Direction>,
    pub kind: Option<MessageKind>,
    pub state: Option<MessageState>,
    /// The other node's code.
    pub peer: Option<String>,
    /// Page: messages older than this id.
    pub before: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// Messages sent and received, newest first, with their state on `now`'s day.
pub fn list(
    core: &NodeCore,
    query: MessageQuery,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<Message>, ServiceError> {
    let today = local_date(now);
    let filter = MessageFilter {
        direction: query.direction,
        kind: query.kind,
        peer: query.peer,
        before: query.before,
        state: query.state.map(|state| (state, today)),
        limit: query.limit,
    };
    let entry = who.entry(Action::ListMessages, None, None, now);
    let rows = core.store.read_audited(entry, |conn| {
        let rows = messages::list(conn, &filter)?;
        // An entry for each person the listed messages are about: each read her data.
        let recorded = Recorded::listed(rows.len(), rows.iter().filter_map(|row| row.subject.clone()));
        Ok::<_, ServiceError>((rows, recorded))
    })?;
    Ok(rows.into_iter().map(|row| Message::stored(row, today)).collect::<Result<_, _>>()?)
}

/// One message received here, as `who` reads it to answer it; the read is audited, an entry for
/// the person it is about.
pub fn received(core: &NodeCore, id: &str, who: &Actor, now: DateTime<Utc>) -> Result<Message, ServiceError> {
    let entry = who.entry(Action::ListMessages, None, Some(id), now);
    let row = core.store.read_audited(entry, |conn| {
        let row = messages::find(conn, id, Direction::In)?
            .ok_or(ServiceError::Refused(ErrorCode::NotFound { what: "message" }))?;
        let recorded = Recorded::listed(1, row.subject.clone());
        Ok::<_, ServiceError>((row, recorded))
    })?;
    Ok(Message::stored(row, local_date(now))?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::message::PersonRefDraft;
    use crate::domain::role::Role;
    use crate::service::flows::{InquiryInput, send_inquiry};
    use crate::service::testing::{RESIDENCE, actor, origin_and_residence};

    #[test]
    fn sent_messages_are_listed_with_their_typed_bodies_and_states() {
        let (_registry, origin, _residence) = origin_and_residence();
        let now = Utc::now();
        let officer = actor(&origin, Role::Officer, Action::SendInquiry);
        for urgent in [true, false] {
            let person = PersonRefDraft { id_number: "130728199003070026".into(), name: "张丽".into() };
            let inquiry = InquiryInput { to: RESIDENCE.0.into(), person, question: "婚姻状况?".into(), urgent };
            send_inquiry(&origin, inquiry, &officer, now).unwrap();
        }
        let all = list(&origin, MessageQuery::default(), &officer, now).unwrap();
        assert_eq!(
            all.iter().map(|m| (m.direction, m.kind(), m.seq)).collect::<Vec<_>>(),
            [(Direction::Out, MessageKind::Inquiry, 2), (Direction::Out, MessageKind::Inquiry, 1)]
        );
        let MessageBody::Inquiry(ordinary) = &all[0].body else { panic!("{:?}", all[0].body) };
        assert!(!ordinary.urgent);

        // Sixteen days on, the urgent one (15 days) is overdue and the other (30) still pending.
        let later = now + chrono::Duration::days(16);
        let overdue = MessageQuery { state: Some(MessageState::Overdue), ..MessageQuery::default() };
        let listed = list(&origin, overdue, &officer, later).unwrap();
        assert_eq!(listed.iter().map(|m| m.seq).collect::<Vec<_>>(), [1]);
        let received = MessageQuery { direction: Some(Direction::In), ..MessageQuery::default() };
        assert!(list(&origin, received, &officer, later).unwrap().is_empty());
    }
}
