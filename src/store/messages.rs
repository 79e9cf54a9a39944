//! The outbox and inbox (one table, by direction), per-peer sequence numbers, and the statuses of
//! other nodes' certificates that their issuers reported.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamp};

use super::schema::{messages, peer_sequences, received_statuses};
use super::{DbConn, StoreError, execute_natively};
use crate::domain::message::{Direction, MessageKind, MessageState};
use crate::domain::verification::VersionStatus;

/// Stored name of the direction of a message this node sent.
pub(super) const OUT: &str = "out";
/// Stored name of the direction of a message this node received.
pub(super) const IN: &str = "in";

/// A stored message, sent or received.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: String,
    pub direction: String,
    pub peer: String,
    pub seq: i64,
    pub kind: String,
    pub subject: Option<String>,
    pub in_reply_to: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub token: String,
    pub created_at: NaiveDateTime,
    pub receipt: Option<String>,
    pub receipted_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

/// An outgoing message claimed for one delivery attempt.
#[derive(Debug, Clone, Queryable)]
pub struct Claimed {
    pub id: String,
    pub peer: String,
    pub seq: i64,
    pub token: String,
    pub attempts: i32,
}

/// The last sequence number used towards or accepted from `peer` (0 before the first).
pub fn last_seq(conn: &mut DbConn, peer: &str, direction: Direction) -> Result<i64, StoreError> {
    Ok(peer_sequences::table
        .find((peer, direction.as_str()))
        .select(peer_sequences::last_seq)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Records `seq` as the last sequence number used with `peer`.
pub fn set_last_seq(conn: &mut DbConn, peer: &str, direction: Direction, seq: i64) -> Result<(), StoreError> {
    let updated = diesel::update(peer_sequences::table.find((peer, direction.as_str())))
        .set(peer_sequences::last_seq.eq(seq))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(peer_sequences::table)
            .values((
                peer_sequences::peer.eq(peer),
                peer_sequences::direction.eq(direction.as_str()),
                peer_sequences::last_seq.eq(seq),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Stores a message.
pub fn insert(conn: &mut DbConn, row: &MessageRow) -> Result<(), StoreError> {
    diesel::insert_into(messages::table).values(row).execute(conn)?;
    Ok(())
}

/// Rows per multi-row statement: at 16 bound parameters a row at most, under SQLite's 32,766 and
/// PostgreSQL's 65,535.
const INSERT_CHUNK: usize = 1000;

/// Stores the messages of a batch, up to 1,000 in one statement: one round trip to PostgreSQL
/// instead of one per message.
pub fn insert_all(conn: &mut DbConn, rows: &[MessageRow]) -> Result<(), StoreError> {
    use messages::*;
    for chunk in rows.chunks(INSERT_CHUNK) {
        // Every column is given (NULL included): diesel writes one statement for SQLite only when
        // no value is left to the column default, which the derived `Insertable` would do for `None`.
        let values: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    (id.eq(&r.id), direction.eq(&r.direction), peer.eq(&r.peer), seq.eq(r.seq)),
                    (kind.eq(&r.kind), subject.eq(&r.subject), in_reply_to.eq(&r.in_reply_to), due_on.eq(r.due_on)),
                    (token.eq(&r.token), created_at.eq(r.created_at), receipt.eq(&r.receipt)),
                    (receipted_at.eq(r.receipted_at), answered_at.eq(r.answered_at), attempts.eq(r.attempts)),
                    (next_attempt_at.eq(r.next_attempt_at), last_error.eq(&r.last_error)),
                )
            })
            .collect();
        let insert = diesel::insert_into(table).values(values);
        execute_natively!(conn, insert)?;
    }
    Ok(())
}

/// Received messages owed an answer and not answered, the earliest due first.
pub fn owed_answers(conn: &mut DbConn, limit: i64) -> Result<Vec<MessageRow>, StoreError> {
    Ok(messages::table
        .filter(messages::answered_at.is_null())
        .filter(messages::due_on.is_not_null())
        .filter(messages::direction.eq(Direction::In.as_str()))
        .order((messages::due_on.asc(), messages::id.asc()))
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)?)
}

/// The messages received here due from `$first` to `$last`.
macro_rules! owed_in {
    ($first:expr, $last:expr) => {
        messages::table
            .filter(messages::direction.eq(Direction::In.as_str()))
            .filter(messages::due_on.ge($first))
            .filter(messages::due_on.le($last))
    };
}

/// Of the received messages owed an answer due from `first` to `last`: the kind, the due day and
/// when the answer went, if it did.
pub fn owed_between(
    conn: &mut DbConn,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<(String, NaiveDate, Option<NaiveDateTime>)>, StoreError> {
    let owed: Vec<(String, Option<NaiveDate>, Option<NaiveDateTime>)> =
        owed_in!(first, last).select((messages::kind, messages::due_on, messages::answered_at)).load(conn)?;
    Ok(owed.into_iter().filter_map(|(kind, due, answered)| Some((kind, due?, answered))).collect())
}

/// The messages of `owed_between`, whole: the persons behind its figures.
pub fn owed_rows_between(conn: &mut DbConn, first: NaiveDate, last: NaiveDate) -> Result<Vec<MessageRow>, StoreError> {
    Ok(owed_in!(first, last)
        .order((messages::due_on.asc(), messages::id.asc()))
        .select(MessageRow::as_select())
        .load(conn)?)
}

/// The events reported from here from `$start` to before `$end`.
macro_rules! reported_in {
    ($start:expr, $end:expr) => {
        messages::table
            .filter(messages::direction.eq(Direction::Out.as_str()))
            .filter(messages::kind.eq(MessageKind::EventReport.as_str()))
            .filter(messages::created_at.ge($start))
            .filter(messages::created_at.lt($end))
    };
}

/// Of the events reported from here from `start` to before `end`: how many her origin (or the
/// node it went to) has receipted, and how many there are (信息通报率).
pub fn events_reported(conn: &mut DbConn, start: NaiveDateTime, end: NaiveDateTime) -> Result<(u64, u64), StoreError> {
    let all: i64 = reported_in!(start, end).count().get_result(conn)?;
    let receipted: i64 = reported_in!(start, end).filter(messages::receipt.is_not_null()).count().get_result(conn)?;
    Ok((super::counted(receipted), super::counted(all)))
}

/// The messages `events_reported` counts: each id, and whether it was receipted.
pub fn reported_between(
    conn: &mut DbConn,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<Vec<(String, bool)>, StoreError> {
    Ok(reported_in!(start, end)
        .order((messages::created_at.asc(), messages::id.asc()))
        .select((messages::id, messages::receipt.is_not_null()))
        .load(conn)?)
}

/// A message by id and direction.
pub fn find(conn: &mut DbConn, id: &str, direction: Direction) -> Result<Option<MessageRow>, StoreError> {
    Ok(messages::table
        .filter(messages::id.eq(id))
        .filter(messages::direction.eq(direction.as_str()))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// Received messages among `ids`.
pub fn find_received(conn: &mut DbConn, ids: &[&str]) -> Result<Vec<MessageRow>, StoreError> {
    // The direction is checked here, not in SQL: given it, SQLite searches every received message
    // by direction rather than the primary key by id.
    let rows: Vec<MessageRow> =
        messages::table.filter(messages::id.eq_any(ids)).select(MessageRow::as_select()).load(conn)?;
    Ok(rows.into_iter().filter(|row| row.direction == IN).collect())
}

/// Leases up to `limit` unreceipted outgoing messages due at `now`, in sequence order per peer
/// (with `after`, only those to that peer after that sequence number: the next ones of a peer
/// whose messages are under way). On PostgreSQL they are not due again before `lease_until`
/// (which [`renew_leases`] pushes on while the process holds them), unless their attempt ends
/// first, and rows another process holds are skipped (`FOR UPDATE SKIP
/// LOCKED`), so two `serve` processes never send the same row at once. On SQLite nothing is
/// written: there is one process per file, whose delivery worker ends a round before it claims
/// anew and continues a peer's messages only after those under way; a lease there would only
/// rewrite every message once more.
///
/// A fresh claim passes over a peer while any of its unreceipted messages is not due (leased by
/// another process, or postponed after a failure): those are its earliest, and the receiver takes
/// a peer's messages only in sequence, so sending later ones would earn nothing but refusals and
/// ever longer backoffs.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
    after: Option<(&str, i64)>,
) -> Result<Vec<Claimed>, StoreError> {
    let waiting = diesel::alias!(messages as waiting);
    let held_up = waiting
        .filter(waiting.field(messages::direction).eq(OUT))
        .filter(waiting.field(messages::receipt).is_null())
        .filter(waiting.field(messages::next_attempt_at).gt(now))
        .select(waiting.field(messages::peer));
    // The due messages, narrowed by one more condition.
    macro_rules! due {
        ($condition:expr) => {
            messages::table
                .select((messages::id, messages::peer, messages::seq, messages::token, messages::attempts))
                .filter(messages::direction.eq(OUT))
                .filter(messages::receipt.is_null())
                .filter(messages::next_attempt_at.le(now))
                .filter($condition)
                .order((messages::peer.asc(), messages::seq.asc()))
                .limit(limit)
        };
    }
    let claimed: Vec<Claimed> = match (&mut *conn, after) {
        (DbConn::Sqlite(lite), None) => return Ok(due!(messages::peer.ne_all(held_up)).load(lite)?),
        (DbConn::Sqlite(lite), Some((to, from))) => {
            return Ok(due!(messages::peer.eq(to).and(messages::seq.gt(from))).load(lite)?);
        }
        (DbConn::Postgres(pg), None) => due!(messages::peer.ne_all(held_up)).for_update().skip_locked().load(pg)?,
        (DbConn::Postgres(pg), Some((to, from))) => {
            due!(messages::peer.eq(to).and(messages::seq.gt(from))).for_update().skip_locked().load(pg)?
        }
    };
    let ids: Vec<&str> = claimed.iter().map(|c| c.id.as_str()).collect();
    for chunk in ids.chunks(1000) {
        diesel::update(messages::table.filter(messages::id.eq_any(chunk)))
            .set(messages::next_attempt_at.eq(lease_until))
            .execute(conn)?;
    }
    Ok(claimed)
}

/// Extends to `until` the leases of the outgoing messages `ids` that are still leased at `now`
/// and not receipted (a postponed message keeps its retry time once let go).
pub fn renew_leases(
    conn: &mut DbConn,
    ids: &[String],
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<(), StoreError> {
    for chunk in ids.chunks(1000) {
        diesel::update(
            messages::table
                .filter(messages::id.eq_any(chunk))
                .filter(messages::direction.eq(OUT))
                .filter(messages::receipt.is_null())
                .filter(messages::next_attempt_at.gt(now)),
        )
        .set(messages::next_attempt_at.eq(until))
        .execute(conn)?;
    }
    Ok(())
}

/// Stores the receipts of outgoing messages (`(id, receipt)` pairs) and ends their delivery.
pub fn record_receipts(conn: &mut DbConn, receipts: &[(&str, &str)], at: NaiveDateTime) -> Result<(), StoreError> {
    match conn {
        // One statement for the whole batch: a round trip per message would cost more than the update.
        DbConn::Postgres(pg) => {
            let (ids, receipts): (Vec<&str>, Vec<&str>) = receipts.iter().copied().unzip();
            diesel::sql_query(
                "UPDATE messages SET receipt = r.receipt, receipted_at = $3, next_attempt_at = NULL, last_error = NULL \
                 FROM unnest($1::text[], $2::text[]) AS r (id, receipt) \
                 WHERE messages.id = r.id AND messages.direction = 'out'",
            )
            .bind::<Array<Text>, _>(ids)
            .bind::<Array<Text>, _>(receipts)
            .bind::<Timestamp, _>(at)
            .execute(pg)?;
        }
        // diesel prepares an UPDATE anew each time: one statement per 1,000 receipts, not one per
        // receipt (SQLite searches each id in the primary key).
        DbConn::Sqlite(lite) => {
            for chunk in receipts.chunks(INSERT_CHUNK) {
                let values = vec!["(?, ?)"; chunk.len()].join(", ");
                let mut update = diesel::sql_query(format!(
                    "UPDATE messages SET receipt = r.column2, receipted_at = ?, next_attempt_at = NULL, \
                     last_error = NULL FROM (VALUES {values}) AS r \
                     WHERE messages.id = r.column1 AND messages.direction = 'out'"
                ))
                .into_boxed()
                .bind::<Timestamp, _>(at);
                for &(id, receipt) in chunk {
                    update = update.bind::<Text, _>(id).bind::<Text, _>(receipt);
                }
                update.execute(lite)?;
            }
        }
    }
    Ok(())
}

/// Records a failed attempt: the message is tried again at `retry_at`.
pub fn record_failure(
    conn: &mut DbConn,
    id: &str,
    attempts: i32,
    error: &str,
    retry_at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(messages::table.filter(messages::id.eq(id)).filter(messages::direction.eq(OUT)))
        .set((messages::attempts.eq(attempts), messages::last_error.eq(error), messages::next_attempt_at.eq(retry_at)))
        .execute(conn)?;
    Ok(())
}

/// Marks the message `id` (of `direction`, exchanged with `peer`) as answered at `at`; false if there is none.
pub fn mark_answered(
    conn: &mut DbConn,
    id: &str,
    direction: Direction,
    peer: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        messages::table
            .filter(messages::id.eq(id))
            .filter(messages::direction.eq(direction.as_str()))
            .filter(messages::peer.eq(peer)),
    )
    .set(messages::answered_at.eq(at))
    .execute(conn)?;
    Ok(updated > 0)
}

/// Peers that sent or were sent a message of `kind` about `subject`, most recent first.
pub fn peers_about(
    conn: &mut DbConn,
    subject: &str,
    kind: MessageKind,
    direction: Direction,
) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String, NaiveDateTime)> = messages::table
        .filter(messages::subject.eq(subject))
        .filter(messages::kind.eq(kind.as_str()))
        .filter(messages::direction.eq(direction.as_str()))
        .select((messages::peer, messages::created_at))
        .order(messages::created_at.desc())
        .load(conn)?;
    let mut peers: Vec<String> = Vec::new();
    for (peer, _) in rows {
        if !peers.contains(&peer) {
            peers.push(peer);
        }
    }
    Ok(peers)
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub direction: Option<Direction>,
    pub kind: Option<MessageKind>,
    pub peer: Option<String>,
    /// Only messages created before this id (UUID v7 ids sort by time): the next page.
    pub before: Option<String>,
    /// Only messages in this state on this day.
    pub state: Option<(MessageState, NaiveDate)>,
    pub limit: Option<i64>,
}

/// Messages matching `filter`, newest first.
pub fn list(conn: &mut DbConn, filter: &MessageFilter) -> Result<Vec<MessageRow>, StoreError> {
    let mut query = messages::table.select(MessageRow::as_select()).order(messages::id.desc()).into_boxed();
    if let Some(direction) = filter.direction {
        query = query.filter(messages::direction.eq(direction.as_str()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(messages::kind.eq(kind.as_str()));
    }
    if let Some(peer) = &filter.peer {
        query = query.filter(messages::peer.eq(peer.clone()));
    }
    if let Some(before) = &filter.before {
        query = query.filter(messages::id.lt(before.clone()));
    }
    // `message_state` in SQL, so that the limit counts only messages in the state asked for.
    if let Some((state, today)) = filter.state {
        let open = messages::answered_at.is_null();
        let not_due = messages::due_on.is_null().or(messages::due_on.ge(today));
        query = match state {
            MessageState::Answered => query.filter(messages::answered_at.is_not_null()),
            MessageState::Overdue => query.filter(open.and(messages::due_on.lt(today))),
            MessageState::Receipted => query.filter(open.and(not_due).and(messages::receipt.is_not_null())),
            MessageState::Pending => query.filter(open.and(not_due).and(messages::receipt.is_null())),
        };
    }
    Ok(query.limit(filter.limit.unwrap_or(100).clamp(1, 1000)).load(conn)?)
}

/// Counts outgoing messages without a receipt.
pub fn count_unreceipted(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(messages::table
        .filter(messages::direction.eq(OUT))
        .filter(messages::receipt.is_null())
        .count()
        .get_result(conn)?)
}

/// A status another node reported for one of its certificate versions.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = received_statuses)]
pub struct NewReceivedStatus<'a> {
    pub jti: &'a str,
    pub issuer: &'a str,
    pub status: &'a str,
    pub at: NaiveDateTime,
    pub message_id: &'a str,
}

/// Records `status`, reported by the issuer of version `jti` in message `message_id`.
pub fn insert_received_status(
    conn: &mut DbConn,
    jti: &str,
    issuer: &str,
    status: VersionStatus,
    at: NaiveDateTime,
    message_id: &str,
) -> Result<(), StoreError> {
    let row = NewReceivedStatus { jti, issuer, status: status.as_str(), at, message_id };
    diesel::insert_into(received_statuses::table).values(&row).execute(conn)?;
    Ok(())
}

/// A status another node reported for one of its versions, as stored: its row id, the version,
/// the issuer and the status.
pub type ReceivedStatus = (i64, String, String, VersionStatus);

/// The statuses stored after row `after`, in order.
pub fn received_statuses_after(conn: &mut DbConn, after: i64) -> Result<Vec<ReceivedStatus>, StoreError> {
    let rows: Vec<(i64, String, String, String)> = received_statuses::table
        .filter(received_statuses::id.gt(after))
        .order(received_statuses::id)
        .select((received_statuses::id, received_statuses::jti, received_statuses::issuer, received_statuses::status))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, jti, issuer, name)| Ok((id, jti, issuer, super::parse_stored(&name, VersionStatus::parse)?)))
        .collect()
}

/// The direction of a stored message.
pub fn direction_of(row: &MessageRow) -> Result<Direction, StoreError> {
    super::parse_stored(&row.direction, Direction::parse)
}

/// The kind of a stored message.
pub fn kind_of(row: &MessageRow) -> Result<MessageKind, StoreError> {
    super::parse_stored(&row.kind, MessageKind::parse)
}
