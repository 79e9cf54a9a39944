//! The women's cards (育龄妇女卡) as they stand.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use std::collections::{BTreeMap, HashMap, HashSet};

use super::ledgers::NewEntry;
use super::schema::{ledger_entries, women_cards};
use super::{DbConn, StoreError, counted, execute_natively, parse_stored};
use crate::domain::assessment::{
    CERTIFICATE_AGES, CHILDBEARING_AGES, Indicator, Month, Side, born_between, long_acting_codes, married_codes,
};
use crate::domain::certificate::ContraceptionMethod;
use crate::domain::id_number;
use crate::domain::ledger::{Book, WomanCard};
use crate::domain::marital::MaritalStatus;
use crate::domain::message::PersonRef;

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
    /// The stored form of `card`, keyed by `subject` (the keyed hash of her ID number).
    pub fn new(card: &WomanCard, subject: String, updated_at: NaiveDateTime) -> CardRow {
        CardRow {
            subject,
            id_number: card.person.id_number.as_str().to_owned(),
            birth_date: card.person.id_number.birth_date(),
            name: card.person.name.clone(),
            marital: card.marital.code().to_owned(),
            method: card.method.map(|m| m.as_str().to_owned()),
            side: card.side.as_str().to_owned(),
            counterpart: card.counterpart.clone(),
            since: card.since,
            updated_at,
        }
    }

    /// The card as the domain reads it.
    pub fn card(&self) -> Result<WomanCard, StoreError> {
        // A stored number was checked when it came in: no birth date is after the end of time.
        let id_number = parse_stored(&self.id_number, |n| id_number::parse(n, NaiveDate::MAX).ok())?;
        Ok(WomanCard {
            person: PersonRef { id_number, name: self.name.clone() },
            marital: parse_stored(&self.marital, MaritalStatus::parse)?,
            method: self.method.as_deref().map(|m| parse_stored(m, ContraceptionMethod::parse)).transpose()?,
            side: parse_stored(&self.side, Side::parse)?,
            counterpart: self.counterpart.clone(),
            since: self.since,
        })
    }

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

/// Brings the cards of the women `entries` are about up to date with them, in their order: the
/// exchange keeps the cards as the messages come and go (see [`WomanCard::after`]).
pub fn follow(conn: &mut DbConn, entries: &[NewEntry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = entries.iter().map(|e| e.person.id_number.as_str()).collect();
    let mut held: HashMap<String, WomanCard> = HashMap::new();
    for row in find_all(conn, &ids)? {
        held.insert(row.id_number.clone(), row.card()?);
    }
    let stored: HashSet<String> = held.keys().cloned().collect();
    let mut changed: BTreeMap<&str, (&str, NaiveDateTime)> = BTreeMap::new();
    for entry in entries {
        let (Some(subject), id) = (entry.subject.as_deref(), entry.person.id_number.as_str()) else { continue };
        if let Some(card) = WomanCard::after(held.get(id), &entry.entry(), &entry.peer) {
            held.insert(id.to_owned(), card);
            changed.insert(id, (subject, entry.recorded_at));
        }
    }
    let mut created = Vec::new();
    for (id, (subject, at)) in changed {
        let Some(card) = held.get(id) else { continue };
        let row = CardRow::new(card, subject.to_owned(), at);
        if stored.contains(id) { update(conn, &row)? } else { created.push(row) }
    }
    insert_all(conn, &created)
}

/// How many cards this node keeps.
pub fn count(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(women_cards::table.count().get_result(conn)?)
}

/// The married women on this node's cards born from `$born.0` to `$born.1`, kept as origin or as
/// residence.
macro_rules! married {
    ($born:expr) => {
        women_cards::table
            .filter(women_cards::marital.eq_any(married_codes()))
            .filter(women_cards::birth_date.between($born.0, $born.1))
    };
}

/// Whether her card names a long-acting method (长效避孕措施).
macro_rules! on_long_acting {
    () => {
        women_cards::method.is_not_null().and(women_cards::method.assume_not_null().eq_any(long_acting_codes()))
    };
}

/// The married women this node keeps as residence born from `$born.0` to `$born.1`.
macro_rules! inflowing_married {
    ($born:expr) => {
        married!($born).filter(women_cards::side.eq(Side::Residence.as_str()))
    };
}

/// Whether she received a free basic service here (a contraception service, a health check) from
/// `$first` to `$last`. The month's services are few beside the cards: the women served are read
/// from them, and each found on her card by its subject.
macro_rules! served_here {
    ($first:expr, $last:expr) => {
        women_cards::subject.eq_any(
            ledger_entries::table
                .filter(ledger_entries::book.eq(Book::Services.as_str()))
                .filter(ledger_entries::side.eq(Side::Residence.as_str()))
                .filter(ledger_entries::on_date.between($first, $last))
                .filter(ledger_entries::subject.is_not_null())
                .select(ledger_entries::subject.assume_not_null()),
        )
    };
}

/// The women this node keeps as origin (流出) born from `$born.0` to `$born.1`.
macro_rules! outflowing {
    ($born:expr) => {
        women_cards::table
            .filter(women_cards::birth_date.between($born.0, $born.1))
            .filter(women_cards::side.eq(Side::Origin.as_str()))
    };
}

/// Whether she holds a certificate from here valid at `$end`: issued before it, valid through
/// `$last_day`, neither superseded nor revoked by then. The holders are read from the
/// certificates and each found among the cards, rather than a certificate sought for every card.
macro_rules! holding_valid {
    ($end:expr, $last_day:expr) => {{
        use super::schema::{certificate_events, certificate_versions, certificates};
        let ended = certificate_events::table
            .filter(certificate_events::jti.eq(certificate_versions::jti))
            .filter(certificate_events::at.lt($end));
        women_cards::id_number.eq_any(
            certificates::table
                .inner_join(certificate_versions::table)
                .filter(certificate_versions::issued_at.lt($end))
                .filter(certificate_versions::valid_until.ge($last_day))
                .filter(diesel::dsl::not(diesel::dsl::exists(ended)))
                .select(certificates::id_number),
        )
    }};
}

/// A figure of the month counted from the women's cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFigure {
    /// 发证率: the women 18–49 kept as origin, and those holding a valid certificate from here at
    /// the month's end.
    Issuance,
    /// 技术服务基本项目服务率: the married women 15–49 kept as residence, and those who received a
    /// free basic service here in the month.
    Service,
    /// 长效避孕率: the married women 15–49 on either side, and those using a long-acting method.
    LongActing,
}

impl CardFigure {
    /// Every figure counted from the cards.
    pub const ALL: [CardFigure; 3] = [Self::Issuance, Self::Service, Self::LongActing];

    /// The indicator it measures.
    pub fn indicator(self) -> Indicator {
        match self {
            Self::Issuance => Indicator::IssuanceRate,
            Self::Service => Indicator::BasicServiceRate,
            Self::LongActing => Indicator::LongActingRate,
        }
    }

    /// The figure that measures `indicator`, if the cards do.
    pub fn of(indicator: Indicator) -> Option<CardFigure> {
        Self::ALL.into_iter().find(|f| f.indicator() == indicator)
    }
}

/// Calls `$then!($($args),*, cards, met)` with the cards `$figure` counts in `$month` and the
/// condition of its numerator: the one place that pairs them, for the count and the list alike.
macro_rules! on_figure {
    ($figure:expr, $month:expr, $then:ident!($($args:expr),*)) => {{
        let month: Month = $month;
        let (first, last) = (month.first_day(), month.last_day());
        let end = month.span_utc().1.naive_utc();
        let childbearing = born_between(last, CHILDBEARING_AGES);
        match $figure {
            CardFigure::Issuance => {
                $then!($($args),*, outflowing!(born_between(last, CERTIFICATE_AGES)), holding_valid!(end, last))
            }
            CardFigure::Service => $then!($($args),*, inflowing_married!(childbearing), served_here!(first, last)),
            CardFigure::LongActing => $then!($($args),*, married!(childbearing), on_long_acting!()),
        }
    }};
}

/// Of the cards `$cards`: how many `$met`, and how many there are.
macro_rules! count_met {
    ($conn:expr, $cards:expr, $met:expr) => {{
        let all: i64 = $cards.count().get_result($conn)?;
        let met: i64 = $cards.filter($met).count().get_result($conn)?;
        Ok((counted(met), counted(all)))
    }};
}

/// At most `$limit` of the cards `$cards` (those `$met`, or not, when `$only` asks), each with
/// whether it is `$met`, in birth-date order.
macro_rules! list_met {
    ($conn:expr, $only:expr, $limit:expr, $cards:expr, $met:expr) => {{
        let order = (women_cards::birth_date.asc(), women_cards::id_number.asc());
        let select = (CardRow::as_select(), $met);
        Ok(match $only {
            None => $cards.order(order).limit($limit).select(select).load($conn)?,
            Some(true) => $cards.filter($met).order(order).limit($limit).select(select).load($conn)?,
            Some(false) => {
                $cards.filter(diesel::dsl::not($met)).order(order).limit($limit).select(select).load($conn)?
            }
        })
    }};
}

/// Of the women `figure` counts in `month`: how many are in its numerator, and how many there are.
pub fn figure_count(conn: &mut DbConn, figure: CardFigure, month: Month) -> Result<(u64, u64), StoreError> {
    on_figure!(figure, month, count_met!(conn))
}

/// At most `limit` of the women `figure` counts in `month` (only those in its numerator, or only
/// those not, when `only` asks), each with whether she is in its numerator.
pub fn figure_list(
    conn: &mut DbConn,
    figure: CardFigure,
    month: Month,
    only: Option<bool>,
    limit: i64,
) -> Result<Vec<(CardRow, bool)>, StoreError> {
    on_figure!(figure, month, list_met!(conn, only, limit))
}
