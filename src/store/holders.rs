//! What the holder's own view keeps: her holder code (as a hash, with its failed tries) and her
//! correction requests with their answers.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{corrections, holder_codes, persons};
use super::{DbConn, StoreError};
use crate::domain::account::Attempts;

/// Her holder code as stored: its argon2id hash and the wrong codes tried since.
#[derive(Debug, Clone)]
pub struct StoredCode {
    pub code_hash: String,
    pub attempts: Attempts,
}

/// A correction request (更正请求), with its answer once given.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = corrections)]
pub struct CorrectionRow {
    pub id: String,
    pub id_number: String,
    /// Keyed hash of her ID number, as the audit log names her.
    pub subject: String,
    pub request: String,
    pub filed_at: NaiveDateTime,
    pub due_on: NaiveDate,
    pub answer: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
}

/// A correction request as filed.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = corrections)]
pub struct NewCorrection {
    pub id: String,
    pub id_number: String,
    pub subject: String,
    pub request: String,
    pub filed_at: NaiveDateTime,
    pub due_on: NaiveDate,
}

/// Keeps `code_hash` as the holder code of the person `id_number`, in place of any earlier one,
/// with no failed tries.
pub fn set_code(conn: &mut DbConn, id_number: &str, code_hash: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    let values = (
        holder_codes::code_hash.eq(code_hash),
        holder_codes::failures.eq(0),
        holder_codes::locked_until.eq(None::<NaiveDateTime>),
        holder_codes::issued_at.eq(now),
    );
    // Update, else insert: the writer runs one transaction at a time (and the backends share no
    // upsert syntax diesel can speak to both).
    if diesel::update(holder_codes::table.find(id_number)).set(values).execute(conn)? == 0 {
        diesel::insert_into(holder_codes::table)
            .values((holder_codes::id_number.eq(id_number), values))
            .execute(conn)?;
    }
    Ok(())
}

/// The holder code of `id_number`, if one was printed.
pub fn code_of(conn: &mut DbConn, id_number: &str) -> Result<Option<StoredCode>, StoreError> {
    let row: Option<(String, i32, Option<NaiveDateTime>)> = holder_codes::table
        .find(id_number)
        .select((holder_codes::code_hash, holder_codes::failures, holder_codes::locked_until))
        .first(conn)
        .optional()?;
    Ok(row.map(|(code_hash, failures, locked_until)| StoredCode {
        code_hash,
        attempts: Attempts { failures, locked_until },
    }))
}

/// Counts a wrong code for `id_number` in one statement (two at once are two) and gives the count
/// it reached, with the lock as it stood.
pub fn count_failure(conn: &mut DbConn, id_number: &str) -> Result<Attempts, StoreError> {
    let (failures, locked_until) = diesel::update(holder_codes::table.find(id_number))
        .set(holder_codes::failures.eq(holder_codes::failures + 1))
        .returning((holder_codes::failures, holder_codes::locked_until))
        .get_result(conn)?;
    Ok(Attempts { failures, locked_until })
}

/// Stores the failed tries of `id_number`'s code.
pub fn set_attempts(conn: &mut DbConn, id_number: &str, attempts: Attempts) -> Result<(), StoreError> {
    diesel::update(holder_codes::table.find(id_number))
        .set((holder_codes::failures.eq(attempts.failures), holder_codes::locked_until.eq(attempts.locked_until)))
        .execute(conn)?;
    Ok(())
}

/// Files a correction request.
pub fn file_correction(conn: &mut DbConn, new: &NewCorrection) -> Result<(), StoreError> {
    diesel::insert_into(corrections::table).values(new).execute(conn)?;
    Ok(())
}

/// How many of her correction requests wait for an answer.
pub fn open_corrections_of(conn: &mut DbConn, id_number: &str) -> Result<i64, StoreError> {
    Ok(corrections::table
        .filter(corrections::id_number.eq(id_number))
        .filter(corrections::answered_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Her correction requests, newest first (ids are UUID v7: they sort by time within a moment).
pub fn corrections_of(conn: &mut DbConn, id_number: &str) -> Result<Vec<CorrectionRow>, StoreError> {
    Ok(corrections::table
        .filter(corrections::id_number.eq(id_number))
        .order((corrections::filed_at.desc(), corrections::id.desc()))
        .select(CorrectionRow::as_select())
        .load(conn)?)
}

/// Correction requests not answered yet, the earliest due first (at most `limit`), with her name.
pub fn open_corrections(conn: &mut DbConn, limit: i64) -> Result<Vec<(CorrectionRow, String)>, StoreError> {
    Ok(corrections::table
        .inner_join(persons::table)
        .filter(corrections::answered_at.is_null())
        .order((corrections::due_on.asc(), corrections::filed_at.asc(), corrections::id.asc()))
        .limit(limit)
        .select((CorrectionRow::as_select(), persons::name))
        .load(conn)?)
}

/// The correction request `id`, with her name.
pub fn correction(conn: &mut DbConn, id: &str) -> Result<Option<(CorrectionRow, String)>, StoreError> {
    Ok(corrections::table
        .inner_join(persons::table)
        .filter(corrections::id.eq(id))
        .select((CorrectionRow::as_select(), persons::name))
        .first(conn)
        .optional()?)
}

/// Answers the correction request `id` as `by`; false when it was answered already.
pub fn answer_correction(
    conn: &mut DbConn,
    id: &str,
    answer: &str,
    by: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let answered = diesel::update(corrections::table.find(id).filter(corrections::answered_at.is_null()))
        .set((corrections::answer.eq(answer), corrections::answered_at.eq(now), corrections::answered_by.eq(by)))
        .execute(conn)?;
    Ok(answered == 1)
}
