//! The women's cards (育龄妇女卡) a township brings in from the register it kept before hunyu:
//! each row checked by the domain's rules, the good ones written in one transaction per batch,
//! a card changed only when the row says something new, so that importing a file twice changes
//! nothing the second time.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::ServiceError;
use crate::domain::error::{ErrorCode, FieldError};
use crate::domain::ledger::WomanCard;
use crate::node::{Actor, NodeCore};
use crate::store::audit::{self, NewAudit};
use crate::store::cards::{self, CardRow};

/// The action an imported card is audited under.
pub const IMPORT_ACTION: &str = "import_cards";

/// A row of an imported file: its number in the file (the header is row 1) and its cells in
/// [`crate::domain::ledger::CARD_COLUMNS`] order.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub row: u64,
    pub cells: [String; 7],
}

/// A row refused: the column and the rule it breaks, never the value it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub row: u64,
    /// The field of the column, e.g. `id_number`.
    pub column: String,
    pub code: &'static str,
    pub message_zh: String,
    pub message_en: String,
}

impl Reject {
    /// Row `row` breaking `rule`.
    fn of(row: u64, rule: FieldError) -> Reject {
        Reject { row, column: rule.field, code: rule.code, message_zh: rule.message_zh, message_en: rule.message_en }
    }
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl std::ops::AddAssign for ImportCounts {
    fn add_assign(&mut self, other: Self) {
        self.created += other.created;
        self.changed += other.changed;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
    }
}

/// A batch of rows checked: the cards to write and the rows refused.
#[derive(Debug)]
pub struct Checked {
    cards: Vec<CardRow>,
    rejects: Vec<Reject>,
    /// Rows in the batch.
    pub rows: usize,
}

/// Checks `rows` by the domain's rules. `seen` holds the ID numbers of the file's earlier rows: a
/// woman appears once in a file.
pub fn check_batch(core: &NodeCore, rows: &[ImportRow], seen: &mut HashSet<String>, now: DateTime<Utc>) -> Checked {
    let today = crate::domain::calendar::local_date(now);
    let mut checked = Checked { cards: Vec::with_capacity(rows.len()), rejects: Vec::new(), rows: rows.len() };
    for row in rows {
        match WomanCard::parse(&row.cells.each_ref().map(String::as_str), today) {
            Ok(card) if !seen.insert(card.person.id_number.as_str().to_owned()) => {
                checked.rejects.push(Reject::of(row.row, ErrorCode::ImportDuplicate.at("id_number")));
            }
            Ok(card) => {
                let subject = core.audit_key.subject(card.person.id_number.as_str());
                checked.cards.push(CardRow::new(&card, subject, now.naive_utc()));
            }
            Err(errors) => checked.rejects.extend(errors.into_iter().map(|e| Reject::of(row.row, e))),
        }
    }
    checked
}

/// Writes a checked batch in one transaction, each card created or changed with an audit entry
/// for her, and one whose row says nothing new left alone; returns the counts and the rows refused.
pub fn write_batch(
    core: &NodeCore,
    checked: Checked,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<(ImportCounts, Vec<Reject>), ServiceError> {
    let Checked { cards: good, rejects, rows } = checked;
    let mut counts = ImportCounts { rejected: (rows - good.len()) as u64, ..ImportCounts::default() };
    let base = NewAudit {
        at: now.naive_utc(),
        request_id: who.request_id.clone(),
        actor: who.caller.key_id.clone(),
        role: who.caller.role.as_str().into(),
        action: IMPORT_ACTION,
        subject: None,
        object: None,
        purpose: who.purpose.clone(),
        outcome: String::new(),
    };
    let written = core.store.write(move |conn| {
        let ids: Vec<&str> = good.iter().map(|c| c.id_number.as_str()).collect();
        let held: HashMap<String, CardRow> =
            cards::find_all(conn, &ids)?.into_iter().map(|c| (c.id_number.clone(), c)).collect();
        let mut written = ImportCounts::default();
        let (mut created, mut entries) = (Vec::new(), Vec::new());
        for card in good {
            let entry = |outcome: &str| NewAudit {
                subject: Some(card.subject.clone()),
                outcome: outcome.into(),
                ..base.clone()
            };
            match held.get(&card.id_number) {
                Some(old) if old.same_facts(&card) => written.unchanged += 1,
                Some(_) => {
                    written.changed += 1;
                    cards::update(conn, &card)?;
                    entries.push(entry("card changed"));
                }
                None => {
                    written.created += 1;
                    entries.push(entry("card created"));
                    created.push(card);
                }
            }
        }
        cards::insert_all(conn, &created)?;
        audit::append_all(conn, entries)?;
        Ok::<_, ServiceError>(written)
    })?;
    counts += written;
    Ok((counts, rejects))
}
