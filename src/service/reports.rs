//! The dual assessment's monthly report (双向考核月报), as this node's stored facts give it.

use chrono::{DateTime, Utc};

use super::{ServiceError, refused};
use crate::domain::access::Action;
use crate::domain::assessment::{Counterpart, Figure, Indicator, Month, OwedAnswer, Score, Side, answer_figures};
use crate::domain::calendar::local_date;
use crate::domain::error::ErrorCode;
use crate::domain::message::MessageKind;
use crate::node::{Actor, NodeCore};
use crate::store::audit::Recorded;
use crate::store::{ledgers, messages};

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

/// The assessment of `month` (`YYYY-MM`, Asia/Shanghai) from what this node has stored by now:
/// a fact that arrives later changes it. The read is audited.
pub fn assessment(core: &NodeCore, month: &str, who: &Actor, now: DateTime<Utc>) -> Result<Assessment, ServiceError> {
    let Some(month) = Month::parse(month) else {
        return Err(ServiceError::Invalid(vec![ErrorCode::MonthFormat.at("month")]));
    };
    if month.first_day() > local_date(now) {
        return refused(ErrorCode::MonthAhead);
    }
    let rules = &core.assessment;
    let (first, last) = (month.first_day(), month.last_day());
    let entry = who.entry(Action::ReadReport, None, Some(&month.to_string()), now);
    let (owed, (verified, arrived), outflow, inflow) = core.store.read_audited(entry, |conn| {
        let owed = messages::owed_between(conn, first, last)?;
        let arrivals = ledgers::verified_arrivals(conn, first, last)?;
        let outflow = ledgers::women_by_counterpart(conn, Side::Origin, last)?;
        let inflow = ledgers::women_by_counterpart(conn, Side::Residence, last)?;
        Ok::<_, ServiceError>(((owed, arrivals, outflow, inflow), Recorded::outcome("figures computed")))
    })?;
    let counterparts = |counted: Vec<(String, u64)>| -> Vec<Counterpart> {
        counted.into_iter().map(|(node, women)| Counterpart { node, women }).collect()
    };
    let owed: Vec<OwedAnswer> = owed
        .into_iter()
        .map(|(kind, due_on, answered_at)| OwedAnswer {
            inquiry: kind == MessageKind::Inquiry.as_str(),
            due_on,
            answered_on: answered_at.map(|at| local_date(at.and_utc())),
        })
        .collect();
    let mut measured = answer_figures(&owed, &rules.targets).to_vec();
    measured.push(Figure::measured(Indicator::VerificationRate, verified, arrived, &rules.targets));
    let figures: Vec<Figure> = Indicator::ALL
        .into_iter()
        .map(|indicator| {
            let found = measured.iter().find(|f| f.indicator == indicator).cloned();
            found.unwrap_or_else(|| Figure::not_measured(indicator, &rules.targets))
        })
        .collect();
    let score = Score::of(&figures, rules.weights);
    Ok(Assessment {
        node: core.code().to_owned(),
        month,
        figures,
        score,
        outflow: counterparts(outflow),
        inflow: counterparts(inflow),
    })
}
