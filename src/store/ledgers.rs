//! The books of record (三帐一卡): entries written with the messages that make them, never changed.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::messages::MessageRow;
use super::schema::ledger_entries;
use super::{DbConn, StoreError, execute_natively};
use crate::domain::assessment::Side;
use crate::domain::certificate::ContraceptionMethod;
use crate::domain::ledger::{self, Book, EntryKind, LedgerEntry};
use crate::domain::message::{Direction, MessageBody, PersonRef};

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ledger_entries)]
pub struct LedgerRow {
    /// The order it was recorded in; the paging key.
    pub id: i64,
    /// The message that made it.
    pub source: String,
    /// The other node of that message: her origin, or the residence she lives at or left for.
    pub peer: String,
    pub book: String,
    pub kind: String,
    pub side: String,
    /// Keyed hash of her ID number.
    pub subject: Option<String>,
    pub id_number: String,
    pub name: String,
    pub on_date: NaiveDate,
    pub method: Option<String>,
    /// Of an arrival: the version of the valid certificate she showed.
    pub certificate: Option<String>,
    /// The message whose entry this one corrects.
    pub corrects: Option<String>,
    pub recorded_at: NaiveDateTime,
}

/// An entry to store, made by a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub source: String,
    /// The other node of the message.
    pub peer: String,
    pub kind: EntryKind,
    pub side: Side,
    pub subject: Option<String>,
    pub person: PersonRef,
    pub on_date: NaiveDate,
    pub method: Option<ContraceptionMethod>,
    pub certificate: Option<String>,
    pub corrects: Option<String>,
    pub recorded_at: NaiveDateTime,
}

impl NewEntry {
    /// The entry the stored message `row` with `body` makes in this node's books, if any.
    pub fn of_message(body: &MessageBody, row: &MessageRow) -> Option<Self> {
        let direction = Direction::parse(&row.direction)?;
        ledger::entry_of(body, direction).map(|entry| Self::new(&entry, row))
    }

    fn new(entry: &LedgerEntry<'_>, row: &MessageRow) -> Self {
        Self {
            source: row.id.clone(),
            peer: row.peer.clone(),
            kind: entry.kind,
            side: entry.side,
            subject: row.subject.clone(),
            person: entry.person.clone(),
            on_date: entry.on,
            method: entry.method,
            certificate: entry.certificate.map(str::to_owned),
            corrects: entry.corrects.map(str::to_owned),
            recorded_at: row.created_at,
        }
    }

    /// The fact it records, as the domain reads it.
    pub fn entry(&self) -> LedgerEntry<'_> {
        LedgerEntry {
            kind: self.kind,
            side: self.side,
            person: &self.person,
            on: self.on_date,
            method: self.method,
            certificate: self.certificate.as_deref(),
            corrects: self.corrects.as_deref(),
        }
    }
}

/// Rows per multi-row statement: 13 parameters a row, far under both backends' limits.
const INSERT_CHUNK: usize = 1000;

/// Records `entries` in the transaction that stores the messages that made them: the books, and
/// the women's cards they change.
pub fn record(conn: &mut DbConn, entries: &[NewEntry]) -> Result<(), StoreError> {
    insert_all(conn, entries)?;
    super::cards::follow(conn, entries)
}

/// Stores `entries` in the books.
pub fn insert_all(conn: &mut DbConn, entries: &[NewEntry]) -> Result<(), StoreError> {
    use ledger_entries::*;
    for chunk in entries.chunks(INSERT_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    (
                        source.eq(&e.source),
                        peer.eq(&e.peer),
                        book.eq(e.kind.book().as_str()),
                        kind.eq(e.kind.as_str()),
                        side.eq(e.side.as_str()),
                    ),
                    (
                        subject.eq(&e.subject),
                        id_number.eq(e.person.id_number.as_str()),
                        name.eq(&e.person.name),
                        on_date.eq(e.on_date),
                    ),
                    (method.eq(e.method.map(|m| m.as_str())), certificate.eq(&e.certificate)),
                    (corrects.eq(&e.corrects), recorded_at.eq(e.recorded_at)),
                )
            })
            .collect();
        let insert = diesel::insert_into(table).values(values);
        execute_natively!(conn, insert)?;
    }
    Ok(())
}

/// The entries the messages `sources` made.
pub fn made_by(conn: &mut DbConn, sources: &[&str]) -> Result<Vec<LedgerRow>, StoreError> {
    let mut found = Vec::with_capacity(sources.len());
    for chunk in sources.chunks(INSERT_CHUNK) {
        found.extend(
            ledger_entries::table
                .filter(ledger_entries::source.eq_any(chunk))
                .select(LedgerRow::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

/// Filters of a book's listing.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    /// Entries of events on or after this day.
    pub from: Option<NaiveDate>,
    /// Entries of events on or before this day.
    pub to: Option<NaiveDate>,
    /// Page: entries recorded after this one.
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// The entries of `book` matching `filter` in the order they were recorded, each with the
/// message of the entry that corrects it, if one does.
pub fn list(
    conn: &mut DbConn,
    book: Book,
    filter: &LedgerFilter,
) -> Result<Vec<(LedgerRow, Option<String>)>, StoreError> {
    let mut query = ledger_entries::table
        .filter(ledger_entries::book.eq(book.as_str()))
        .select(LedgerRow::as_select())
        .order(ledger_entries::id.asc())
        .limit(filter.limit.unwrap_or(100).clamp(1, 1000))
        .into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(ledger_entries::on_date.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(ledger_entries::on_date.le(to));
    }
    if let Some(after) = filter.after {
        query = query.filter(ledger_entries::id.gt(after));
    }
    let rows: Vec<LedgerRow> = query.load(conn)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let sources: Vec<&str> = rows.iter().map(|r| r.source.as_str()).collect();
    let corrections: Vec<(Option<String>, String)> = ledger_entries::table
        .filter(ledger_entries::corrects.eq_any(&sources))
        .select((ledger_entries::corrects, ledger_entries::source))
        .order(ledger_entries::id.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            // The latest correction is the one in force.
            let by = corrections.iter().rev().find(|(of, _)| of.as_deref() == Some(row.source.as_str()));
            let corrected_by = by.map(|(_, source)| source.clone());
            (row, corrected_by)
        })
        .collect())
}

/// The entries of the arrivals this node registered (as the residence).
macro_rules! registered_here {
    () => {
        ledger_entries::table
            .filter(ledger_entries::book.eq(Book::Women.as_str()))
            .filter(ledger_entries::kind.eq(EntryKind::Arrived.as_str()))
            .filter(ledger_entries::side.eq(Side::Residence.as_str()))
    };
}

/// Whether she was registered here with a valid certificate after the outer query's entry.
macro_rules! certified_since {
    () => {{
        let later = diesel::alias!(ledger_entries as later);
        diesel::dsl::exists(
            later
                .filter(later.field(ledger_entries::subject).eq(ledger_entries::subject))
                .filter(later.field(ledger_entries::kind).eq(EntryKind::Arrived.as_str()))
                .filter(later.field(ledger_entries::side).eq(Side::Residence.as_str()))
                .filter(later.field(ledger_entries::certificate).is_not_null())
                .filter(later.field(ledger_entries::id).gt(ledger_entries::id)),
        )
    }};
}

/// The arrivals registered here since `since` of women who showed no valid certificate and have
/// not been registered with one since, the earliest first.
pub fn arrivals_without_certificate(
    conn: &mut DbConn,
    since: NaiveDate,
    limit: i64,
) -> Result<Vec<LedgerRow>, StoreError> {
    Ok(registered_here!()
        .filter(ledger_entries::on_date.ge(since))
        .filter(ledger_entries::certificate.is_null())
        .filter(diesel::dsl::not(certified_since!()))
        .order((ledger_entries::on_date.asc(), ledger_entries::id.asc()))
        .limit(limit)
        .select(LedgerRow::as_select())
        .load(conn)?)
}

/// An arrival registered here, as the assessment reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredArrival {
    /// The arrival notice that registered her.
    pub source: String,
    pub id_number: String,
    pub name: String,
    pub arrived_on: NaiveDate,
    pub recorded_at: NaiveDateTime,
    /// Whether she showed a valid certificate at this registration.
    pub certified: bool,
    /// When a valid certificate of hers was first registered here, at this registration or since.
    pub verified_at: Option<NaiveDateTime>,
}

/// An arrival entry's columns, as `RegisteredArrival` needs them.
#[derive(Queryable, Selectable)]
#[diesel(table_name = ledger_entries)]
struct ArrivalColumns {
    id: i64,
    source: String,
    subject: Option<String>,
    id_number: String,
    name: String,
    on_date: NaiveDate,
    certificate: Option<String>,
    recorded_at: NaiveDateTime,
}

/// The arrivals registered here of women who arrived from `first` to `last`, with when each was
/// first verified: two indexed reads, the month's arrivals and the later certified registrations
/// of the women who showed none.
pub fn arrivals_between(
    conn: &mut DbConn,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<RegisteredArrival>, StoreError> {
    let month: Vec<ArrivalColumns> = registered_here!()
        .filter(ledger_entries::on_date.ge(first))
        .filter(ledger_entries::on_date.le(last))
        .order((ledger_entries::on_date.asc(), ledger_entries::id.asc()))
        .select(ArrivalColumns::as_select())
        .load(conn)?;
    let uncertified: Vec<&str> = month
        .iter()
        .filter(|m| m.certificate.is_none())
        .filter_map(|m| m.subject.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Per woman, her registrations with a valid certificate.
    let mut later: std::collections::HashMap<String, Vec<(i64, NaiveDateTime)>> = Default::default();
    for chunk in uncertified.chunks(INSERT_CHUNK) {
        let found: Vec<(Option<String>, i64, NaiveDateTime)> = registered_here!()
            .filter(ledger_entries::subject.eq_any(chunk))
            .filter(ledger_entries::certificate.is_not_null())
            .select((ledger_entries::subject, ledger_entries::id, ledger_entries::recorded_at))
            .load(conn)?;
        for (subject, id, at) in found {
            later.entry(subject.unwrap_or_default()).or_default().push((id, at));
        }
    }
    Ok(month
        .into_iter()
        .map(|m| {
            let certified = m.certificate.is_some();
            let verified_at = if certified {
                Some(m.recorded_at)
            } else {
                let hers = m.subject.and_then(|s| later.get(&s));
                hers.into_iter().flatten().filter(|(later_id, _)| *later_id > m.id).map(|(_, at)| *at).min()
            };
            RegisteredArrival {
                source: m.source,
                id_number: m.id_number,
                name: m.name,
                arrived_on: m.on_date,
                recorded_at: m.recorded_at,
                certified,
                verified_at,
            }
        })
        .collect())
}

/// Per other node, how many women this node's book of women holds as `side` with entries on or
/// before `last`: as origin, those it was told arrived at that residence or recorded leaving for
/// it; as residence, those it registered from that origin.
pub fn women_by_counterpart(conn: &mut DbConn, side: Side, last: NaiveDate) -> Result<Vec<(String, u64)>, StoreError> {
    // The distinct (peer, subject) pairs come from the covering index in order; COUNT(DISTINCT)
    // would have PostgreSQL sort them again. Every value is this code's own (a book, a side, a
    // date), none a request's.
    let counting = format!(
        "SELECT peer, COUNT(*) AS women FROM (SELECT DISTINCT peer, subject FROM ledger_entries \
         WHERE book = '{}' AND side = '{}' AND on_date <= '{last}' AND subject IS NOT NULL) AS pairs \
         GROUP BY peer ORDER BY peer",
        Book::Women.as_str(),
        side.as_str(),
    );
    let counted: Vec<WomenWith> = diesel::sql_query(counting).load(conn)?;
    Ok(counted.into_iter().map(|c| (c.peer, super::counted(c.women))).collect())
}

/// How many women a node counts with one other node.
#[derive(QueryableByName)]
struct WomenWith {
    #[diesel(sql_type = diesel::sql_types::Text)]
    peer: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    women: i64,
}
