//! The append-only, hash-chained audit log.

use chrono::{NaiveDateTime, SubsecRound as _};
use diesel::prelude::*;

use super::schema::{audit_index, audit_log, audit_subjects};
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

    /// A listing of `count` records about the persons `subjects` names (with repeats): the
    /// listing is an access to each of them.
    pub fn listed(count: usize, subjects: impl IntoIterator<Item = String>) -> Self {
        let mut subjects: Vec<String> = subjects.into_iter().collect();
        subjects.sort_unstable();
        subjects.dedup();
        Self { outcome: format!("{count} listed"), subjects }
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

/// Begins a PostgreSQL transaction holding the chain lock until it ends: writers in other
/// processes append to the same chain one batch at a time (SQLite's write lock does this there).
pub(super) const BEGIN_LOCKING_CHAIN: &str = "BEGIN; SELECT pg_advisory_xact_lock(7270002)";

/// The chain's newest entry: its sequence number and hash (0 and the genesis hash when empty).
pub fn head(conn: &mut DbConn) -> Result<(i64, String), StoreError> {
    let newest: Option<(i64, String)> = audit_log::table
        .select((audit_log::seq, audit_log::hash))
        .order(audit_log::seq.desc())
        .first(conn)
        .optional()?;
    Ok(newest.unwrap_or((0, GENESIS.to_owned())))
}

/// The hash of entry `seq`, if the chain holds it.
pub fn hash_at(conn: &mut DbConn, seq: i64) -> Result<Option<String>, StoreError> {
    Ok(audit_log::table.find(seq).select(audit_log::hash).first(conn).optional()?)
}

/// Appends an entry to the chain, inside a transaction of [`super::Store::write`] (which holds the chain lock).
pub fn append(conn: &mut DbConn, new: NewAudit) -> Result<(), StoreError> {
    append_all(conn, vec![new])
}

/// Index rows inserted per statement (far below both backends' parameter limits).
const INSERT_CHUNK: usize = 500;

/// Appends entries to the chain in order, in few statements, inside a transaction that holds the chain lock.
pub fn append_all(conn: &mut DbConn, entries: Vec<NewAudit>) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let (mut last_seq, mut last_hash) = head(conn)?;
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
    match conn {
        // One prepared statement, compiled once per connection and run per entry: SQLite runs in
        // this process, and compiling a statement of many rows each time costs more than the rows.
        DbConn::Sqlite(lite) => {
            for row in &rows {
                diesel::insert_into(audit_log::table).values(row).execute(lite)?;
            }
        }
        // One round trip, and one statement the server prepares once: every column as an array.
        DbConn::Postgres(pg) => insert_unnested(pg, rows)?,
    }
    Ok(())
}

/// Inserts `rows` on PostgreSQL in one statement whose text does not depend on their number, so
/// that the server parses and plans it once per connection rather than once per batch.
fn insert_unnested(pg: &mut diesel::PgConnection, rows: Vec<AuditRow>) -> Result<(), StoreError> {
    use diesel::sql_types::{Array, BigInt, Nullable, SmallInt, Text, Timestamp};
    let mut columns = AuditColumns::default();
    for row in rows {
        columns.seq.push(row.seq);
        columns.at.push(row.at);
        columns.request_id.push(row.request_id);
        columns.actor.push(row.actor);
        columns.role.push(row.role);
        columns.action.push(row.action);
        columns.subject.push(row.subject);
        columns.object.push(row.object);
        columns.purpose.push(row.purpose);
        columns.outcome.push(row.outcome);
        columns.prev_hash.push(row.prev_hash);
        columns.hash.push(row.hash);
        columns.chain_format.push(row.chain_format);
    }
    diesel::sql_query(
        "INSERT INTO audit_log (seq, at, request_id, actor, role, action, subject, object, purpose, outcome, \
         prev_hash, hash, chain_format) \
         SELECT * FROM UNNEST($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind::<Array<BigInt>, _>(columns.seq)
    .bind::<Array<Timestamp>, _>(columns.at)
    .bind::<Array<Text>, _>(columns.request_id)
    .bind::<Array<Text>, _>(columns.actor)
    .bind::<Array<Text>, _>(columns.role)
    .bind::<Array<Text>, _>(columns.action)
    .bind::<Array<Nullable<Text>>, _>(columns.subject)
    .bind::<Array<Nullable<Text>>, _>(columns.object)
    .bind::<Array<Text>, _>(columns.purpose)
    .bind::<Array<Text>, _>(columns.outcome)
    .bind::<Array<Text>, _>(columns.prev_hash)
    .bind::<Array<Text>, _>(columns.hash)
    .bind::<Array<SmallInt>, _>(columns.chain_format)
    .execute(pg)?;
    Ok(())
}

/// The audit rows of a batch, column by column.
#[derive(Default)]
struct AuditColumns {
    seq: Vec<i64>,
    at: Vec<NaiveDateTime>,
    request_id: Vec<String>,
    actor: Vec<String>,
    role: Vec<String>,
    action: Vec<String>,
    subject: Vec<Option<String>>,
    object: Vec<Option<String>>,
    purpose: Vec<String>,
    outcome: Vec<String>,
    prev_hash: Vec<String>,
    hash: Vec<String>,
    chain_format: Vec<i16>,
}

/// Most entries put in the index by person in one transaction: sorted by person, a batch this
/// large writes each index page once for many entries.
pub const INDEX_BATCH: i64 = 8192;

/// Puts up to [`INDEX_BATCH`] entries not yet in the index by person into it, in order; returns
/// how many entries it took (with or without a person). Run in the writer's transaction, which
/// holds the chain lock: another process's writer indexes too, one at a time.
pub fn index_subjects(conn: &mut DbConn) -> Result<usize, StoreError> {
    let indexed_to: i64 = audit_index::table.select(audit_index::indexed_to).first(conn)?;
    let entries: Vec<(i64, Option<String>)> = audit_log::table
        .filter(audit_log::seq.gt(indexed_to))
        .order(audit_log::seq.asc())
        .select((audit_log::seq, audit_log::subject))
        .limit(INDEX_BATCH)
        .load(conn)?;
    let Some(&(last, _)) = entries.last() else {
        return Ok(0);
    };
    let mut rows: Vec<_> =
        entries.iter().filter_map(|(seq, subject)| subject.as_ref().map(|subject| (subject.as_str(), *seq))).collect();
    rows.sort_unstable();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|&(subject, seq)| (audit_subjects::subject.eq(subject), audit_subjects::seq.eq(seq)))
            .collect();
        let insert = diesel::insert_into(audit_subjects::table).values(values);
        execute_natively!(conn, insert)?;
    }
    diesel::update(audit_index::table).set(audit_index::indexed_to.eq(last)).execute(conn)?;
    Ok(entries.len())
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
    /// The newest entries first, rather than chain order.
    pub newest_first: bool,
}

/// Entries matching `filter`, in chain order (or newest first).
pub fn list(conn: &mut DbConn, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
    let limit = filter.limit.unwrap_or(100).clamp(1, 1000);
    let matching = || {
        let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
        query =
            if filter.newest_first { query.order(audit_log::seq.desc()) } else { query.order(audit_log::seq.asc()) };
        if let Some(actor) = &filter.actor {
            query = query.filter(audit_log::actor.eq(actor.clone()));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_log::action.eq(action.clone()));
        }
        if let Some(after) = filter.after {
            query = query.filter(audit_log::seq.gt(after));
        }
        query
    };
    let Some(subject) = &filter.subject else {
        return Ok(matching().limit(limit).load(conn)?);
    };
    // A person's entries through the index by person, and the tail of the log it does not hold
    // yet (first, when the newest come first); whatever the writer indexes meanwhile, each entry
    // is read once.
    let indexed_to: i64 = audit_index::table.select(audit_index::indexed_to).first(conn)?;
    let indexed = || {
        let seqs = audit_subjects::table
            .filter(audit_subjects::subject.eq(subject.clone()))
            .filter(audit_subjects::seq.le(indexed_to))
            .select(audit_subjects::seq);
        matching().filter(audit_log::seq.eq_any(seqs))
    };
    let tail = || matching().filter(audit_log::seq.gt(indexed_to)).filter(audit_log::subject.eq(subject.clone()));
    let (first, then) = if filter.newest_first { (tail(), indexed()) } else { (indexed(), tail()) };
    let mut rows: Vec<AuditRow> = first.limit(limit).load(conn)?;
    let missing = limit - i64::try_from(rows.len()).unwrap_or(limit);
    if missing > 0 {
        rows.extend(then.limit(missing).load(conn)?);
    }
    Ok(rows)
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
