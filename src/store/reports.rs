//! The node's signed monthly reports: every version kept, and whether the superior has it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::assessment_reports;
use super::{DbConn, StoreError};

/// A stored version of a month's report.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = assessment_reports)]
pub struct ReportRow {
    pub jti: String,
    /// `YYYY-MM`.
    pub month: String,
    pub ver: i32,
    pub supersedes: Option<String>,
    /// The compact JWS (`hunyu-report+jwt`).
    pub token: String,
    pub made_at: NaiveDateTime,
    /// When the registry kept it.
    pub sent_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

/// Stores a new version; a version of that month and number already stored (another process
/// closed the month at the same moment) is a unique violation.
pub fn insert(conn: &mut DbConn, row: &ReportRow) -> Result<(), StoreError> {
    diesel::insert_into(assessment_reports::table).values(row).execute(conn)?;
    Ok(())
}

/// The newest version of `month`'s report, if the month was closed.
pub fn latest(conn: &mut DbConn, month: &str) -> Result<Option<ReportRow>, StoreError> {
    Ok(assessment_reports::table
        .filter(assessment_reports::month.eq(month))
        .order(assessment_reports::ver.desc())
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?)
}

/// The months closed from `from` (`YYYY-MM`) on, oldest first.
pub fn closed_since(conn: &mut DbConn, from: &str) -> Result<Vec<String>, StoreError> {
    Ok(assessment_reports::table
        .filter(assessment_reports::month.ge(from))
        .filter(assessment_reports::ver.eq(1))
        .order(assessment_reports::month.asc())
        .select(assessment_reports::month)
        .load(conn)?)
}

/// At most `limit` versions the registry does not have yet, in the order it must keep them.
pub fn unsent(conn: &mut DbConn, limit: i64) -> Result<Vec<ReportRow>, StoreError> {
    Ok(assessment_reports::table
        .filter(assessment_reports::sent_at.is_null())
        .order((assessment_reports::month.asc(), assessment_reports::ver.asc()))
        .limit(limit)
        .select(ReportRow::as_select())
        .load(conn)?)
}

/// When the registry kept version `jti`, if it has.
pub fn sent_at(conn: &mut DbConn, jti: &str) -> Result<Option<NaiveDateTime>, StoreError> {
    let sent: Option<Option<NaiveDateTime>> =
        assessment_reports::table.find(jti).select(assessment_reports::sent_at).first(conn).optional()?;
    Ok(sent.flatten())
}

/// Records that the registry kept version `jti`.
pub fn mark_sent(conn: &mut DbConn, jti: &str, at: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(assessment_reports::table.find(jti))
        .set((assessment_reports::sent_at.eq(at), assessment_reports::last_error.eq(None::<String>)))
        .execute(conn)?;
    Ok(())
}

/// Records why the registry did not keep version `jti` yet.
pub fn mark_unsent(conn: &mut DbConn, jti: &str, error: &str) -> Result<(), StoreError> {
    diesel::update(assessment_reports::table.find(jti)).set(assessment_reports::last_error.eq(error)).execute(conn)?;
    Ok(())
}
