//! What a node restored from a backup needs to rejoin the exchange: the mark that it was
//! restored, the peers that have since returned what they hold, and the message rows they return
//! and resend.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::messages::{IN, MessageRow, OUT};
use super::schema::{messages, rejoined_peers, restore_state};
use super::{DbConn, StoreError};

/// Marks the database as restored from a backup: every peer must return what it holds again.
pub fn mark_restored(conn: &mut DbConn, at: NaiveDateTime) -> Result<(), StoreError> {
    finish(conn)?;
    diesel::insert_into(restore_state::table)
        .values((restore_state::id.eq(1_i16), restore_state::restored_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// When the database was marked restored, while some peer has not yet returned what it holds.
pub fn restored_at(conn: &mut DbConn) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(restore_state::table.select(restore_state::restored_at).first(conn).optional()?)
}

/// The peers that have returned what they hold since the restore.
pub fn rejoined(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    Ok(rejoined_peers::table.select(rejoined_peers::peer).order(rejoined_peers::peer).load(conn)?)
}

/// Records that `peer` has returned what it holds.
pub fn mark_rejoined(conn: &mut DbConn, peer: &str, at: NaiveDateTime) -> Result<(), StoreError> {
    diesel::delete(rejoined_peers::table.find(peer)).execute(conn)?;
    diesel::insert_into(rejoined_peers::table)
        .values((rejoined_peers::peer.eq(peer), rejoined_peers::at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// Ends the restore: every peer has returned what it holds.
pub fn finish(conn: &mut DbConn) -> Result<(), StoreError> {
    diesel::delete(rejoined_peers::table).execute(conn)?;
    diesel::delete(restore_state::table).execute(conn)?;
    Ok(())
}

/// Messages received from `peer` after its sequence number `after`, in order, at most `limit`:
/// `(token, receipt)` as stored here.
pub fn received_after(
    conn: &mut DbConn,
    peer: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    let rows: Vec<(String, Option<String>)> = messages::table
        .filter(messages::direction.eq(IN))
        .filter(messages::peer.eq(peer))
        .filter(messages::seq.gt(after))
        .order(messages::seq.asc())
        .limit(limit)
        .select((messages::token, messages::receipt))
        .load(conn)?;
    Ok(rows.into_iter().map(|(token, receipt)| (token, receipt.unwrap_or_default())).collect())
}

/// Forgets the receipts of the messages sent to `peer` after sequence number `after`: that peer
/// lost them, and they are delivered again.
pub fn forget_receipts(conn: &mut DbConn, peer: &str, after: i64) -> Result<usize, StoreError> {
    Ok(diesel::update(
        messages::table
            .filter(messages::direction.eq(OUT))
            .filter(messages::peer.eq(peer))
            .filter(messages::seq.gt(after))
            .filter(messages::receipt.is_not_null()),
    )
    .set((
        messages::receipt.eq(None::<String>),
        messages::receipted_at.eq(None::<NaiveDateTime>),
        messages::next_attempt_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?)
}

/// Makes every unreceipted message to `peer` due at `now`, with its attempts forgotten.
pub fn make_due(conn: &mut DbConn, peer: &str, now: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::update(
        messages::table
            .filter(messages::direction.eq(OUT))
            .filter(messages::peer.eq(peer))
            .filter(messages::receipt.is_null()),
    )
    .set((messages::next_attempt_at.eq(now), messages::attempts.eq(0), messages::last_error.eq(None::<String>)))
    .execute(conn)?)
}

/// The last sequence number of a message to `peer` that has its receipt here (0 if none).
pub fn last_receipted(conn: &mut DbConn, peer: &str) -> Result<i64, StoreError> {
    Ok(messages::table
        .filter(messages::direction.eq(OUT))
        .filter(messages::peer.eq(peer))
        .filter(messages::receipt.is_not_null())
        .select(diesel::dsl::max(messages::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Messages to `peer` after sequence number `after` that have no receipt here, in order.
pub fn unreceipted_after(conn: &mut DbConn, peer: &str, after: i64) -> Result<Vec<MessageRow>, StoreError> {
    Ok(messages::table
        .filter(messages::direction.eq(OUT))
        .filter(messages::peer.eq(peer))
        .filter(messages::seq.gt(after))
        .filter(messages::receipt.is_null())
        .order(messages::seq.asc())
        .select(MessageRow::as_select())
        .load(conn)?)
}

/// Gives outgoing message `id` a new sequence number and the token signed with it.
pub fn renumber(conn: &mut DbConn, id: &str, seq: i64, token: &str) -> Result<(), StoreError> {
    diesel::update(messages::table.filter(messages::id.eq(id)).filter(messages::direction.eq(OUT)))
        .set((messages::seq.eq(seq), messages::token.eq(token)))
        .execute(conn)?;
    Ok(())
}
