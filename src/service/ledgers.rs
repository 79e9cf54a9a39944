//! The books of record (三帐一卡), read: each book's entries in the order they were recorded.

use chrono::{DateTime, NaiveDate, Utc};

use super::{ServiceError, refused};
use crate::domain::access::Action;
use crate::domain::assessment::Side;
use crate::domain::certificate::ContraceptionMethod;
use crate::domain::error::ErrorCode;
use crate::domain::ledger::{Book, EntryKind};
use crate::node::{Actor, NodeCore};
use crate::store::audit::Recorded;
use crate::store::ledgers::{self, LedgerFilter, LedgerRow};
use crate::store::{StoreError, parse_stored};

/// An entry of a book, as officers and workers read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The order it was recorded in; the paging key.
    pub id: i64,
    pub kind: EntryKind,
    /// As which side of her management this node keeps it.
    pub side: Side,
    pub id_number: String,
    pub name: String,
    /// When it happened.
    pub on: NaiveDate,
    pub method: Option<ContraceptionMethod>,
    /// Of an arrival: the version of the valid certificate she showed.
    pub certificate: Option<String>,
    /// The message that made it.
    pub source: String,
    /// The message whose entry this one corrects.
    pub corrects: Option<String>,
    /// The message of the latest entry that corrects this one: that entry is in force.
    pub corrected_by: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl Entry {
    fn stored(row: LedgerRow, corrected_by: Option<String>) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            kind: parse_stored(&row.kind, EntryKind::parse)?,
            side: parse_stored(&row.side, Side::parse)?,
            id_number: row.id_number,
            name: row.name,
            on: row.on_date,
            method: row.method.as_deref().map(|m| parse_stored(m, ContraceptionMethod::parse)).transpose()?,
            certificate: row.certificate,
            source: row.source,
            corrects: row.corrects,
            corrected_by,
            recorded_at: row.recorded_at.and_utc(),
        })
    }
}

/// The entries of the book named `book` that `filter` selects; the read is audited, an entry for
/// each woman listed.
pub fn list(
    core: &NodeCore,
    book: &str,
    filter: LedgerFilter,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<Entry>, ServiceError> {
    let Some(book) = Book::parse(book) else {
        return refused(ErrorCode::NotFound { what: "ledger" });
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ServiceError::Invalid(vec![ErrorCode::PeriodOrder.at("from")]));
    }
    let entry = who.entry(Action::ReadLedger, None, Some(book.as_str()), now);
    let rows = core.store.read_audited(entry, |conn| {
        let rows = ledgers::list(conn, book, &filter)?;
        let recorded = Recorded::listed(rows.len(), rows.iter().filter_map(|(row, _)| row.subject.clone()));
        Ok::<_, ServiceError>((rows, recorded))
    })?;
    Ok(rows.into_iter().map(|(row, by)| Entry::stored(row, by)).collect::<Result<_, _>>()?)
}
