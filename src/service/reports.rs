//! The dual assessment's monthly report (双向考核月报), as this node's stored facts give it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::{ServiceError, refused};
use crate::contract::Kind;
use crate::domain::access::Action;
use crate::domain::assessment::{
    ANSWER_INDICATORS, ARRIVAL_INDICATORS, ArrivalDays, ArrivalFact, Counted, Counterpart, Figure, Indicator, Month,
    OwedAnswer, REPORT_TYP, ReportClaims, Score, Side, Targets, answer_figures, arrival_figures, responsible_node,
};
use crate::domain::calendar::local_date;
use crate::domain::error::ErrorCode;
use crate::domain::message::{MessageClaims, MessageKind};
use crate::node::{Actor, NodeCore};
use crate::seal::{read_stored, sign_compact};
use crate::store::audit::{NewAudit, Recorded};
use crate::store::cards::{CardFigure, CardRow};
use crate::store::ledgers::{LedgerRow, RegisteredArrival};
use crate::store::messages::MessageRow;
use crate::store::reports::{self, ReportRow};
use crate::store::{DbConn, StoreError, cards, ledgers, messages};

/// A node's figures for one month, and the score they make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub node: String,
    pub month: Month,
    /// Every indicator, in the order of [`Indicator::ALL`]; those this node cannot measure yet
    /// have no counts.
    pub figures: Vec<Figure>,
    pub score: Score,
    /// As origin: per residence node, the women of this node it believes live there.
    pub outflow: Vec<Counterpart>,
    /// As residence: per origin node, the women from there this node registered.
    pub inflow: Vec<Counterpart>,
}

impl From<&ReportClaims> for Assessment {
    fn from(report: &ReportClaims) -> Self {
        Self {
            node: report.iss.clone(),
            month: report.month,
            figures: report.figures.clone(),
            score: report.score,
            outflow: report.outflow.clone(),
            inflow: report.inflow.clone(),
        }
    }
}

/// The assessment of `month` (`YYYY-MM`, Asia/Shanghai) from what this node has stored by now:
/// a fact that arrives later changes it. The read is audited.
pub fn assessment(core: &NodeCore, month: &str, who: &Actor, now: DateTime<Utc>) -> Result<Assessment, ServiceError> {
    let month = begun_month(month, now)?;
    let entry = who.entry(Action::ReadReport, None, Some(&month.to_string()), now);
    let assessed = assess(core, month)?;
    core.store.audit(Recorded::outcome("figures computed").entries(entry))?;
    Ok(assessed)
}

/// `month` as `YYYY-MM`, or the field error that names it.
fn parse_month(month: &str) -> Result<Month, ServiceError> {
    Month::parse(month).ok_or_else(|| ServiceError::Invalid(vec![ErrorCode::MonthFormat.at("month")]))
}

/// `month` as `YYYY-MM`, begun in Shanghai by `now`.
fn begun_month(month: &str, now: DateTime<Utc>) -> Result<Month, ServiceError> {
    let month = parse_month(month)?;
    if month.first_day() > local_date(now) {
        return refused(ErrorCode::MonthAhead);
    }
    Ok(month)
}

/// A woman behind a figure of the month (考核名单), and who answered for her.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedPerson {
    pub id_number: String,
    pub name: String,
    /// In the figure's numerator, not only in its denominator.
    pub met: bool,
    /// The message she is counted by; none when counted from her card.
    pub source: Option<String>,
    /// As which side this node keeps her, by her card.
    pub side: Option<Side>,
    /// The node on the other side, by her card.
    pub counterpart: Option<String>,
    /// The node that answers for her: the residence where she lives (以现居住地为主), by her card.
    pub responsible: Option<String>,
}

/// The women behind `indicator`'s figure of `month` (at most `limit`, default 100, at most 1000;
/// only those in its numerator, or only those not, when `only` asks), each with whether she is in
/// its numerator and who answered for her. The read is audited, an entry for each woman listed.
pub fn persons(
    core: &NodeCore,
    month: &str,
    indicator: &str,
    only: Option<bool>,
    limit: Option<i64>,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<CountedPerson>, ServiceError> {
    let month = begun_month(month, now)?;
    let Some(indicator) = Indicator::parse(indicator).filter(|i| *i != Indicator::LedgerConsistency) else {
        return refused(ErrorCode::NotFound { what: "indicator" });
    };
    let limit = limit.unwrap_or(100).clamp(1, 1000);
    let entry = who.entry(Action::ReadReportPersons, None, Some(&format!("{month} {indicator}")), now);
    core.store.read_audited(entry, |conn| {
        let mut listed = counted_persons(conn, core, month, indicator, only, limit)?;
        listed.retain(|p| only.is_none_or(|met| p.met == met));
        listed.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let ids: Vec<&str> = listed.iter().map(|p| p.id_number.as_str()).collect();
        let cards: HashMap<String, CardRow> =
            cards::find_all(conn, &ids)?.into_iter().map(|c| (c.id_number.clone(), c)).collect();
        for person in &mut listed {
            let Some(card) = cards.get(&person.id_number) else { continue };
            let side = Side::parse(&card.side);
            person.responsible =
                side.map(|side| responsible_node(side, card.counterpart.as_deref(), core.code()).to_owned());
            (person.side, person.counterpart) = (side, card.counterpart.clone());
        }
        let subjects: Vec<String> = listed.iter().map(|p| core.audit_key.subject(&p.id_number)).collect();
        Ok::<_, ServiceError>((listed, Recorded::listed(subjects.len(), subjects)))
    })
}

/// The women `indicator` counts in `month`, as its figure counts them; `only` and `limit` bound
/// those read from the cards.
fn counted_persons(
    conn: &mut DbConn,
    core: &NodeCore,
    month: Month,
    indicator: Indicator,
    only: Option<bool>,
    limit: i64,
) -> Result<Vec<CountedPerson>, StoreError> {
    let (first, last) = (month.first_day(), month.last_day());
    let (start, end) = month.span_utc();
    let placed = |counted: Counted, id_number: String, name: String, source: Option<String>| {
        (counted != Counted::Outside).then(|| CountedPerson {
            id_number,
            name,
            met: counted == Counted::Numerator,
            source,
            side: None,
            counterpart: None,
            responsible: None,
        })
    };
    let of_message = |row: MessageRow, counted: Counted| -> Result<Option<CountedPerson>, StoreError> {
        let claims: MessageClaims =
            read_stored(&row.token).ok_or_else(|| StoreError::Corrupt(format!("message {} does not read", row.id)))?;
        let person = claims.body.person().cloned();
        Ok(person.and_then(|p| placed(counted, p.id_number.as_str().to_owned(), p.name, Some(row.id))))
    };
    let of_cards = |cards: Vec<(CardRow, bool)>| -> Vec<CountedPerson> {
        cards
            .into_iter()
            .filter_map(|(card, met)| placed(Counted::of(true, met), card.id_number, card.name, None))
            .collect()
    };
    let mut listed = Vec::new();
    match indicator {
        i if ANSWER_INDICATORS.contains(&i) => {
            for row in messages::owed_rows_between(conn, first, last)? {
                let Some(due_on) = row.due_on else { continue };
                let counted = owed_answer(&row.kind, due_on, row.answered_at).counted(i);
                listed.extend(of_message(row, counted)?);
            }
        }
        i if ARRIVAL_INDICATORS.contains(&i) => {
            let arrivals = ledgers::arrivals_between(conn, first, last)?;
            let facts: Vec<ArrivalFact> = arrivals.iter().map(arrival_fact).collect();
            let days = ArrivalDays::of(&facts, &core.assessment.calendar);
            for (arrival, fact) in arrivals.into_iter().zip(&facts) {
                listed.extend(placed(days.counted(fact, i), arrival.id_number, arrival.name, Some(arrival.source)));
            }
        }
        Indicator::EventReportRate => {
            // Each event reported made an entry in the books, which names her.
            let reported = messages::reported_between(conn, start.naive_utc(), end.naive_utc())?;
            let ids: Vec<&str> = reported.iter().map(|(id, _)| id.as_str()).collect();
            let mut made: HashMap<String, LedgerRow> =
                ledgers::made_by(conn, &ids)?.into_iter().map(|e| (e.source.clone(), e)).collect();
            for (id, receipted) in &reported {
                let Some(entry) = made.remove(id) else { continue };
                listed.extend(placed(Counted::of(true, *receipted), entry.id_number, entry.name, Some(entry.source)));
            }
        }
        i => {
            if let Some(figure) = CardFigure::of(i) {
                listed = of_cards(cards::figure_list(conn, figure, month, only, limit)?);
            }
        }
    }
    Ok(listed)
}

/// What the assessment needs of a received message owed an answer (`kind`, due on `due_on`).
fn owed_answer(kind: &str, due_on: NaiveDate, answered_at: Option<NaiveDateTime>) -> OwedAnswer {
    OwedAnswer {
        inquiry: kind == MessageKind::Inquiry.as_str(),
        due_on,
        answered_on: answered_at.map(|at| local_date(at.and_utc())),
    }
}

/// What the assessment needs of an arrival registered here.
fn arrival_fact(arrival: &RegisteredArrival) -> ArrivalFact {
    ArrivalFact {
        arrived_on: arrival.arrived_on,
        registered_on: local_date(arrival.recorded_at.and_utc()),
        certified: arrival.certified,
        verified_on: arrival.verified_at.map(|at| local_date(at.and_utc())),
    }
}

/// The month's figures from the stored facts: set-based queries, nobody named. The women's cards
/// and the books are read at once on two connections, so that the report takes both cores as a
/// parallel plan of one large query would.
fn assess(core: &NodeCore, month: Month) -> Result<Assessment, StoreError> {
    let rules = &core.assessment;
    let (from_cards, from_books) = std::thread::scope(|scope| {
        let cards = scope.spawn(|| core.store.read(|conn| card_figures(conn, month, &rules.targets)));
        let books = core.store.read(|conn| book_figures(conn, core, month));
        (cards.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), books)
    });
    let (mut measured, outflow, inflow) = from_books?;
    measured.extend(from_cards?);
    let figures: Vec<Figure> = Indicator::ALL
        .into_iter()
        .map(|indicator| {
            let found = measured.iter().find(|f| f.indicator == indicator).cloned();
            found.unwrap_or_else(|| Figure::not_measured(indicator, &rules.targets))
        })
        .collect();
    let score = Score::of(&figures, rules.weights);
    Ok(Assessment { node: core.code().to_owned(), month, figures, score, outflow, inflow })
}

/// The month's figures read from the women's cards (发证率, 服务率, 长效避孕率).
fn card_figures(conn: &mut DbConn, month: Month, targets: &Targets) -> Result<Vec<Figure>, StoreError> {
    CardFigure::ALL
        .into_iter()
        .map(|figure| {
            let (n, d) = cards::figure_count(conn, figure, month)?;
            Ok(Figure::measured(figure.indicator(), n, d, targets))
        })
        .collect()
}

/// The figures measured from the books and the messages, and the women counted with each
/// counterpart as origin (outflow) and as residence (inflow).
type BookFigures = (Vec<Figure>, Vec<Counterpart>, Vec<Counterpart>);

/// The month's figures read from the books and the messages: the answers owed, the arrivals, the
/// events reported; and the women counted with each counterpart.
fn book_figures(conn: &mut DbConn, core: &NodeCore, month: Month) -> Result<BookFigures, StoreError> {
    let rules = &core.assessment;
    let (first, last) = (month.first_day(), month.last_day());
    let counterparts = |counted: Vec<(String, u64)>| -> Vec<Counterpart> {
        counted.into_iter().map(|(node, women)| Counterpart { node, women }).collect()
    };
    let outflow = counterparts(ledgers::women_by_counterpart(conn, Side::Origin, last)?);
    let inflow = counterparts(ledgers::women_by_counterpart(conn, Side::Residence, last)?);
    let owed: Vec<OwedAnswer> = messages::owed_between(conn, first, last)?
        .into_iter()
        .map(|(kind, due_on, answered_at)| owed_answer(&kind, due_on, answered_at))
        .collect();
    let arrivals: Vec<ArrivalFact> = ledgers::arrivals_between(conn, first, last)?.iter().map(arrival_fact).collect();
    let mut measured = answer_figures(&owed, &rules.targets).to_vec();
    measured.extend(arrival_figures(&arrivals, &rules.calendar, &rules.targets));
    let (start, end) = month.span_utc();
    let (n, d) = messages::events_reported(conn, start.naive_utc(), end.naive_utc())?;
    measured.push(Figure::measured(Indicator::EventReportRate, n, d, &rules.targets));
    Ok((measured, outflow, inflow))
}

/// A version of a month's report as this node signed and keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedReport {
    pub claims: ReportClaims,
    /// The compact JWS (`hunyu-report+jwt`) sent to the superior.
    pub token: String,
    /// Whether this closing made it; else the figures had not changed since it was made.
    pub made: bool,
    /// Whether the registry has kept it.
    pub sent: bool,
}

/// Closes `month` (结账): its report signed from the facts stored by now, as version 1, or as a
/// new version superseding the last when a fact that arrived since changed it; when nothing
/// changed, the version held. `who` is the officer who asked, or none for the node's own
/// schedule. The month must have ended in Shanghai.
pub fn close_month(
    core: &NodeCore,
    month: &str,
    who: Option<&Actor>,
    now: DateTime<Utc>,
) -> Result<ClosedReport, ServiceError> {
    let month = parse_month(month)?;
    let entry = match who {
        Some(who) => who.entry(Action::CloseMonth, None, Some(&month.to_string()), now),
        None => NewAudit {
            at: now.naive_utc(),
            request_id: String::new(),
            actor: "node".into(),
            role: "system".into(),
            action: Action::CloseMonth.name(),
            subject: None,
            object: Some(month.to_string()),
            purpose: "结账日 the closing day".into(),
            outcome: String::new(),
        },
    };
    let closing = close(core, month, now);
    let outcome = match &closing {
        Ok(closed) if closed.made => format!("closed v{}", closed.claims.ver),
        Ok(closed) => format!("unchanged v{}", closed.claims.ver),
        Err(refusal) => format!("refused: {refusal}"),
    };
    core.store.audit(vec![NewAudit { outcome, ..entry }])?;
    closing
}

fn close(core: &NodeCore, month: Month, now: DateTime<Utc>) -> Result<ClosedReport, ServiceError> {
    if local_date(now) <= month.last_day() {
        return refused(ErrorCode::MonthOpen);
    }
    let Some(registry) = core.trust.current().registry().map(str::to_owned) else {
        return refused(ErrorCode::NoSuperior);
    };
    let key = month.to_string();
    let (assessed, held) = (assess(core, month)?, core.store.read(|conn| reports::latest(conn, &key))?);
    let held = held.and_then(|row| Some((read_stored::<ReportClaims>(&row.token)?, row)));
    if let Some((claims, row)) = &held
        && claims.figures == assessed.figures
        && claims.score == assessed.score
        && claims.outflow == assessed.outflow
        && claims.inflow == assessed.inflow
    {
        return Ok(ClosedReport {
            claims: claims.clone(),
            token: row.token.clone(),
            made: false,
            sent: row.sent_at.is_some(),
        });
    }
    let (ver, supersedes) = held.map_or((1, None), |(claims, row)| (claims.ver + 1, Some(row.jti)));
    let claims = ReportClaims {
        iss: assessed.node,
        aud: registry,
        jti: uuid::Uuid::now_v7().to_string(),
        iat: now.timestamp(),
        month,
        ver,
        supersedes,
        figures: assessed.figures,
        score: assessed.score,
        outflow: assessed.outflow,
        inflow: assessed.inflow,
    };
    let payload = serde_json::to_value(&claims).map_err(|e| ServiceError::Contract(e.to_string()))?;
    if let Some(violation) = core.contract.violation(Kind::Report, &payload) {
        return Err(ServiceError::Contract(violation));
    }
    let token = sign_compact(&*core.signer, REPORT_TYP, payload.to_string().as_bytes(), false);
    let row = ReportRow {
        jti: claims.jti.clone(),
        month: key,
        ver: i32::try_from(ver).map_err(|e| ServiceError::Contract(e.to_string()))?,
        supersedes: claims.supersedes.clone(),
        token: token.clone(),
        made_at: now.naive_utc(),
        sent_at: None,
        last_error: None,
    };
    core.store.write(move |conn| match reports::insert(conn, &row) {
        // Another process of this node made this version at the same moment: closing again
        // compares with it.
        Err(e) if e.is_unique_violation() => refused(ErrorCode::ConcurrentChange { certificate_id: None }),
        other => Ok(other?),
    })?;
    Ok(ClosedReport { claims, token, made: true, sent: false })
}

/// Whether the registry has kept this node's report version `jti`.
pub fn is_sent(core: &NodeCore, jti: &str) -> Result<bool, ServiceError> {
    Ok(core.store.read(|conn| reports::sent_at(conn, jti))?.is_some())
}

/// How far back a closed month's report is made again when later facts change it.
pub const REVISED_MONTHS: u32 = 12;

/// The node's schedule: closes last month once its cut-off day has come in Shanghai, and, with
/// `revise`, makes a new version of each month closed in the last [`REVISED_MONTHS`] whose
/// figures later facts changed. Returns the versions it made.
pub fn close_due(core: &NodeCore, revise: bool, now: DateTime<Utc>) -> Result<Vec<ClosedReport>, ServiceError> {
    let today = local_date(now);
    let last = Month::of(now).previous();
    let mut due = Vec::new();
    if today >= last.cut_off(core.assessment.cut_off_day)
        && core.store.read(|conn| reports::latest(conn, &last.to_string()))?.is_none()
    {
        due.push(last);
    }
    if revise {
        let from = (0..REVISED_MONTHS).fold(last, |m, _| m.previous()).to_string();
        let closed = core.store.read(|conn| reports::closed_since(conn, &from))?;
        // Last month, if it is being closed now, is assessed once.
        due.extend(closed.iter().filter_map(|m| Month::parse(m)).filter(|m| *m != last));
    }
    let mut made = Vec::new();
    for month in due {
        let closed = close_month(core, &month.to_string(), None, now)?;
        if closed.made {
            made.push(closed);
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::service::testing::{ORIGIN, lone_core};

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().to_utc()
    }

    #[test]
    fn last_month_is_closed_on_its_cut_off_day_in_shanghai_and_only_once() {
        let (_registry, core) = lone_core(ORIGIN);
        // 23:59:59 on 9 November in Shanghai: October is not due yet.
        assert!(close_due(&core, true, at("2026-11-09T15:59:59Z")).unwrap().is_empty());
        // Midnight of the 10th, the default cut-off day.
        let made = close_due(&core, false, at("2026-11-09T16:00:00Z")).unwrap();
        let months: Vec<(String, u32)> = made.iter().map(|r| (r.claims.month.to_string(), r.claims.ver)).collect();
        assert_eq!(months, [("2026-10".to_owned(), 1)]);
        assert_eq!((made[0].claims.aud.as_str(), made[0].sent), ("000000000000", false));
        // Nothing changed since: neither closing nor revising makes a version.
        assert!(close_due(&core, true, at("2026-11-20T00:00:00Z")).unwrap().is_empty());
        let held = core.store.read(|conn| reports::latest(conn, "2026-10")).unwrap().unwrap();
        assert_eq!(held.ver, 1, "one version");
        let closed = close_month(&core, "2026-10", None, at("2026-11-20T00:00:00Z")).unwrap();
        assert_eq!((closed.made, closed.claims.jti.as_str()), (false, held.jti.as_str()));
        let open = close_month(&core, "2026-11", None, at("2026-11-30T15:59:59Z"));
        assert!(matches!(open, Err(ServiceError::Refused(ErrorCode::MonthOpen))), "{open:?}");
    }
}
