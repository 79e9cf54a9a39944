//! The women's cards (育龄妇女卡) as they stand.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::women_cards;
use super::{DbConn, StoreError, execute_natively};

/// A stored card.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = women_cards)]
pub struct CardRow {
    pub id_number: String,
    /// Keyed hash of her ID number.
    pub subject: String,
    pub name: String,
    pub birth_date: NaiveDate,
    /// GB/T 2261.2 code.
    pub marital: String,
    pub method: Option<String>,
    pub side: String,
    pub counterpart: Option<String>,
    pub since: NaiveDate,
    pub updated_at: NaiveDateTime,
}

impl CardRow {
    /// Whether the two say the same of her, whenever each was written.
    pub fn same_facts(&self, other: &CardRow) -> bool {
        CardRow { updated_at: other.updated_at, ..self.clone() } == *other
    }
}

/// Cards written per statement (far below both backends' parameter limits).
const INSERT_CHUNK: usize = 500;

/// The stored cards of `id_numbers`.
pub fn find_all(conn: &mut DbConn, id_numbers: &[&str]) -> Result<Vec<CardRow>, StoreError> {
    let mut found = Vec::with_capacity(id_numbers.len());
    for chunk in id_numbers.chunks(INSERT_CHUNK) {
        found.extend(
            women_cards::table.filter(women_cards::id_number.eq_any(chunk)).select(CardRow::as_select()).load(conn)?,
        );
    }
    Ok(found)
}

/// Stores new cards.
pub fn insert_all(conn: &mut DbConn, rows: &[CardRow]) -> Result<(), StoreError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        execute_natively!(conn, diesel::insert_into(women_cards::table).values(chunk))?;
    }
    Ok(())
}

/// Replaces what a stored card says.
pub fn update(conn: &mut DbConn, row: &CardRow) -> Result<(), StoreError> {
    diesel::update(women_cards::table.find(&row.id_number)).set(row).execute(conn)?;
    Ok(())
}

/// How many cards this node keeps.
pub fn count(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(women_cards::table.count().get_result(conn)?)
}
