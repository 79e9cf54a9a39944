//! The append-only, hash-chained audit log.

use chrono::{NaiveDateTime, SubsecRound as _};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

use super::schema::audit_log;
use super::{DbConn, StoreError, execute_natively};
use crate::seal::chain::{self, ChainBreak, Entry, GENESIS};

/// A stored audit entry.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub request_id: String,
    /// API key id of the caller.
    pub actor: String,
    pub role: String,
    pub action: String,
    /// Keyed hash of the person's ID number.
    pub subject: Option<String>,
    /// The record touched (certificate id or version).
    pub object: Option<String>,
    pub purpose: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
    /// How `hash` was computed (see [`chain::entry_hash`]).
    pub chain_format: i16,
}

impl AuditRow {
    fn entry(&self) -> Entry<'_> {
        Entry {
            seq: self.seq,
            at: self.at,
            request_id: &self.request_id,
            actor: &self.actor,
            role: &self.role,
            action: &self.action,
            subject: self.subject.as_deref(),
            object: self.object.as_deref(),
            purpose: &self.purpose,
            outcome: &self.outcome,
            format: self.chain_format,
        }
    }
}

/// What an access or change appends (the chain fields are added by [`append`]).
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub at: NaiveDateTime,
    pub request_id: String,
    pub actor: String,
    pub role: String,
    pub action: &'static str,
    pub subject: Option<String>,
    pub object: Option<String>,
    pub purpose: String,
    pub outcome: String,
}

/// How an audited read ended: the outcome, and the persons it turned out to concern.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub outcome: String,
    /// The persons read (keyed hashes), when the request did not name them: an entry each.
    pub subjects: Vec<String>,
}

impl Recorded {
    /// An outcome about the person the request named, if any.
    pub fn outcome(outcome: impl Into<String>) -> Self {
        Self { outcome: outcome.into(), subjects: Vec::new() }
    }

    /// The entries of an access begun as `entry`: one, or one per person read.
    pub fn entries(self, entry: NewAudit) -> Vec<NewAudit> {
        if self.subjects.is_empty() {
            return vec![NewAudit { outcome: self.outcome, ..entry }];
        }
        let outcome = self.outcome;
        self.subjects
            .into_iter()
            .map(|subject| NewAudit { subject: Some(subject), outcome: outcome.clone(), ..entry.clone() })
            .collect()
    }
}

/// Takes the chain lock for the rest of the transaction: writers in other processes append to the
/// same chain one batch at a time (SQLite's single writer lock already does this).
pub(super) fn lock_chain(conn: &mut DbConn) -> Result<(), diesel::result::Error> {
    match conn {
        DbConn::Postgres(_) => conn.batch_execute("SELECT pg_advisory_xact_lock(7270002)"),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Appends an entry to the chain, inside a transaction of [`super::Store::write`] (which holds the chain lock).
pub fn append(conn: &mut DbConn, new: NewAudit) -> Result<(), StoreError> {
    append_all(conn, vec![new])
}

/// Entries inserted per statement (13 columns each, far below both backends' parameter limits).
const INSERT_CHUNK: usize = 500;

/// Appends entries to the chain in order, in few statements, inside a transaction that holds the chain lock.
pub(super) fn append_all(conn: &mut DbConn, entries: Vec<NewAudit>) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let head: Option<(i64, String)> = audit_log::table
        .select((audit_log::seq, audit_log::hash))
        .order(audit_log::seq.desc())
        .first(conn)
        .optional()?;
    let (mut last_seq, mut last_hash) = head.unwrap_or((0, GENESIS.to_owned()));
    let rows: Vec<AuditRow> = entries
        .into_iter()
        .map(|new| {
            last_seq += 1;
            let mut row = AuditRow {
                seq: last_seq,
                // Both databases keep microseconds; the hash must cover what is kept.
                at: new.at.trunc_subsecs(6),
                request_id: new.request_id,
                actor: new.actor,
                role: new.role,
                action: new.action.into(),
                subject: new.subject,
                object: new.object,
                purpose: new.purpose,
                outcome: new.outcome,
                prev_hash: std::mem::take(&mut last_hash),
                hash: String::new(),
                chain_format: chain::CURRENT_FORMAT,
            };
            row.hash = chain::entry_hash(&row.prev_hash, &row.entry());
            last_hash.clone_from(&row.hash);
            row
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        use audit_log::{
            action, actor, at, chain_format, hash, object, outcome, prev_hash, purpose, request_id, role, seq, subject,
        };
        // Every column is given (NULL included), so that SQLite gets one statement too.
        let values: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    (seq.eq(r.seq), at.eq(r.at), request_id.eq(&r.request_id), actor.eq(&r.actor)),
                    (role.eq(&r.role), action.eq(&r.action), subject.eq(&r.subject), object.eq(&r.object)),
                    (purpose.eq(&r.purpose), outcome.eq(&r.outcome), prev_hash.eq(&r.prev_hash), hash.eq(&r.hash)),
                    chain_format.eq(r.chain_format),
                )
            })
            .collect();
        let insert = diesel::insert_into(audit_log::table).values(values);
        execute_natively!(conn, insert)?;
    }
    Ok(())
}

/// Filters of the audit listing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// API key id of the caller.
    pub actor: Option<String>,
    /// Action name, e.g. `verify`.
    pub action: Option<String>,
    /// Keyed hash of a person.
    pub subject: Option<String>,
    /// Only entries with a larger `seq` (for paging).
    pub after: Option<i64>,
    /// At most this many entries (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// Entries matching `filter`, in chain order.
pub fn list(conn: &mut DbConn, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
    let mut query = audit_log::table.select(AuditRow::as_select()).order(audit_log::seq.asc()).into_boxed();
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_log::actor.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(subject) = &filter.subject {
        query = query.filter(audit_log::subject.eq(subject.clone()));
    }
    if let Some(after) = filter.after {
        query = query.filter(audit_log::seq.gt(after));
    }
    Ok(query.limit(filter.limit.unwrap_or(100).clamp(1, 1000)).load(conn)?)
}

/// Result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: i64,
    pub head: String,
}

/// Checks the whole chain, page by page; names the first broken entry.
pub fn verify_chain(conn: &mut DbConn) -> Result<Result<ChainReport, ChainBreak>, StoreError> {
    let mut head = (0, GENESIS.to_owned());
    loop {
        let page: Vec<AuditRow> = audit_log::table
            .select(AuditRow::as_select())
            .filter(audit_log::seq.gt(head.0))
            .order(audit_log::seq.asc())
            .limit(10_000)
            .load(conn)?;
        if page.is_empty() {
            return Ok(Ok(ChainReport { entries: head.0, head: head.1 }));
        }
        match chain::check(head, page.iter().map(|r| (r.entry(), r.prev_hash.as_str(), r.hash.as_str()))) {
            Ok(next) => head = next,
            Err(broken) => return Ok(Err(broken)),
        }
    }
}
