//! A worker's worklists (工作清单): what this node owes, to whom, and by when.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::{ServiceError, refused};
use crate::domain::access::Action;
use crate::domain::assessment::Month;
use crate::domain::calendar::{WorkCalendar, local_date};
use crate::domain::error::ErrorCode;
use crate::domain::message::{MessageBody, MessageClaims, certificate_due, check_due, is_overdue};
use crate::domain::worklist::{LOOK_BACK_DAYS, Task, Worklist};
use crate::node::{Actor, NodeCore};
use crate::seal::read_stored;
use crate::store::StoreError;
use crate::store::audit::Recorded;
use crate::store::cards::{self, CardFigure, CardRow};
use crate::store::holders::{self, CorrectionRow};
use crate::store::ledgers::{self, LedgerRow};
use crate::store::messages::{self, MessageRow};

/// One item of a worklist: a duty about one woman, with its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub task: Task,
    /// The message the duty comes from; none for a woman on this node's cards.
    pub source: Option<String>,
    /// The node that asked, for an answer owed; the residence she lives at, for a woman kept as origin.
    pub peer: Option<String>,
    pub id_number: String,
    pub name: String,
    /// The day the duty began: received, or arrived.
    pub since: NaiveDate,
    pub due_on: NaiveDate,
    /// The deadline counts working days in a year whose holidays are not loaded yet: it may move.
    pub provisional: bool,
    /// Its deadline has passed.
    pub overdue: bool,
}

/// The items of the worklist named `list` on `now`'s day, the earliest due first (at most
/// `limit`, default 100, at most 1000); the read is audited, an entry for each woman listed.
pub fn list(
    core: &NodeCore,
    list: &str,
    limit: Option<i64>,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<WorkItem>, ServiceError> {
    let Some(list) = Worklist::parse(list) else {
        return refused(ErrorCode::NotFound { what: "worklist" });
    };
    let today = local_date(now);
    let limit = limit.unwrap_or(100).clamp(1, 1000);
    let entry = who.entry(Action::ReadWorklist, None, Some(list.as_str()), now);
    core.store.read_audited(entry, |conn| {
        let (items, subjects): (Vec<WorkItem>, Vec<Option<String>>) = match list {
            Worklist::Answers => messages::owed_answers(conn, limit)?
                .into_iter()
                .map(|row| {
                    let subject = row.subject.clone();
                    owed_answer(row, today).map(|item| (item, subject))
                })
                .collect::<Result<Vec<_>, StoreError>>()?
                .into_iter()
                .unzip(),
            Worklist::Arrivals | Worklist::Checks => {
                let since = today.checked_sub_days(Days::new(LOOK_BACK_DAYS)).unwrap_or(NaiveDate::MIN);
                let calendar = &core.assessment.calendar;
                ledgers::arrivals_without_certificate(conn, since, limit)?
                    .into_iter()
                    .map(|row| {
                        let subject = row.subject.clone();
                        (without_certificate(row, list == Worklist::Checks, calendar, today), subject)
                    })
                    .unzip()
            }
            Worklist::Outflows => {
                let month = Month::of(now);
                cards::figure_list(conn, CardFigure::Issuance, month, Some(false), limit)?
                    .into_iter()
                    .map(|(card, _)| {
                        let subject = Some(card.subject.clone());
                        (outflowing_uncertified(card, month, today), subject)
                    })
                    .unzip()
            }
            Worklist::Corrections => holders::open_corrections(conn, limit)?
                .into_iter()
                .map(|(row, name)| {
                    let subject = Some(row.subject.clone());
                    (correction_owed(row, name, today), subject)
                })
                .unzip(),
        };
        let recorded = Recorded::listed(items.len(), subjects.into_iter().flatten());
        Ok::<_, ServiceError>((items, recorded))
    })
}

/// The answer owed to a received inquiry or birth report.
fn owed_answer(row: MessageRow, today: NaiveDate) -> Result<WorkItem, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("message {} owes an answer it cannot name", row.id));
    let claims: MessageClaims = read_stored(&row.token).ok_or_else(corrupt)?;
    let (task, person) = match &claims.body {
        MessageBody::Inquiry(inquiry) => (Task::AnswerInquiry, &inquiry.person),
        MessageBody::EventReport(report) => (Task::AnswerBirthReport, &report.person),
        _ => return Err(corrupt()),
    };
    let due_on = row.due_on.ok_or_else(corrupt)?;
    Ok(WorkItem {
        task,
        id_number: person.id_number.as_str().to_owned(),
        name: person.name.clone(),
        since: local_date(row.created_at.and_utc()),
        due_on,
        provisional: false,
        overdue: is_overdue(due_on, today),
        source: Some(row.id),
        peer: Some(row.peer),
    })
}

/// A woman registered without a valid certificate: her certificate is verified within 5 working
/// days of arriving (`check`), and she obtains one within 90 days.
fn without_certificate(row: LedgerRow, check: bool, calendar: &WorkCalendar, today: NaiveDate) -> WorkItem {
    let (task, due_on, provisional) = if check {
        let due = check_due(row.on_date, calendar);
        (Task::VerifyCertificate, due.date, due.is_provisional())
    } else {
        (Task::ObtainCertificate, certificate_due(row.on_date), false)
    };
    WorkItem {
        task,
        source: Some(row.source),
        peer: None,
        id_number: row.id_number,
        name: row.name,
        since: row.on_date,
        due_on,
        provisional,
        overdue: is_overdue(due_on, today),
    }
}

/// Her correction request, owed an answer.
fn correction_owed(row: CorrectionRow, name: String, today: NaiveDate) -> WorkItem {
    WorkItem {
        task: Task::AnswerCorrection,
        source: Some(row.id),
        peer: None,
        id_number: row.id_number,
        name,
        since: local_date(row.filed_at.and_utc()),
        due_on: row.due_on,
        provisional: false,
        overdue: is_overdue(row.due_on, today),
    }
}

/// A woman kept as origin without a valid certificate from here: 发证率 counts her at the month's end.
fn outflowing_uncertified(card: CardRow, month: Month, today: NaiveDate) -> WorkItem {
    let due_on = month.last_day();
    WorkItem {
        task: Task::IssueCertificate,
        source: None,
        peer: card.counterpart,
        id_number: card.id_number,
        name: card.name,
        since: card.since,
        due_on,
        provisional: false,
        overdue: is_overdue(due_on, today),
    }
}
