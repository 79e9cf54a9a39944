//! The dual assessment (双向考核, §9): the month assessed, the indicators with their targets, the
//! figures of one node's monthly report, the combined score that weighs the residence side higher
//! (以现居住地管理为主), and what only a superior can make of many reports: the roll-up by division
//! and the cross-check of each origin's figures against each residence's.
//!
//! Figures are counts; a rate is derived from them and never stored alone, so that a roll-up sums
//! numerators and denominators rather than averaging rates.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Datelike as _, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::{WorkCalendar, local_date, start_of_day_utc};
use super::certificate::ContraceptionMethod;
use super::marital::MaritalStatus;
use super::message::check_due;

/// JWS `typ` of a node's signed monthly report.
pub const REPORT_TYP: &str = "hunyu-report+jwt";

/// Earliest and latest year a report may be about: beyond them a month is a typo.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2199;

/// A calendar month in Asia/Shanghai (考核月), written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Its first day.
    first: NaiveDate,
}

impl Month {
    /// Parses exactly `YYYY-MM`, years 2000–2199.
    pub fn parse(input: &str) -> Option<Month> {
        let b = input.as_bytes();
        let shape_ok = b.len() == 7 && b[4] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit());
        if !shape_ok {
            return None;
        }
        let year: i32 = input[..4].parse().ok()?;
        let month: u32 = input[5..].parse().ok()?;
        Self::new(year, month)
    }

    /// The month `month` (1–12) of `year`, if both are in range.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        YEARS.contains(&year).then_some(())?;
        NaiveDate::from_ymd_opt(year, month, 1).map(|first| Month { first })
    }

    /// The month in Shanghai at the instant `now`.
    pub fn of(now: DateTime<Utc>) -> Month {
        let date = local_date(now);
        Month { first: date.with_day(1).unwrap_or(date) }
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        self.next().first.pred_opt().unwrap_or(self.first)
    }

    /// The month after.
    pub fn next(self) -> Month {
        Month { first: self.first.checked_add_months(Months::new(1)).unwrap_or(self.first) }
    }

    /// The month before.
    pub fn previous(self) -> Month {
        Month { first: self.first.checked_sub_months(Months::new(1)).unwrap_or(self.first) }
    }

    /// Whether `date` (a Shanghai calendar date) falls in the month.
    pub fn contains(self, date: NaiveDate) -> bool {
        self.first <= date && date < self.next().first
    }

    /// The instants the month spans, `[start, end)`: 00:00 +08:00 of its first day to that of the next month's.
    pub fn span_utc(self) -> (DateTime<Utc>, DateTime<Utc>) {
        (start_of_day_utc(self.first), start_of_day_utc(self.next().first))
    }

    /// The day the month is closed: `day` of the next month (the 10th in one county's practice),
    /// or that month's last day when it is shorter.
    pub fn cut_off(self, day: u32) -> NaiveDate {
        let next = self.next();
        next.first.with_day(day.max(1)).unwrap_or_else(|| next.last_day())
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Month::parse(&text).ok_or_else(|| serde::de::Error::custom("a month is YYYY-MM, years 2000 to 2199"))
    }
}

/// Which side of the dual assessment an indicator measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// 流出地 (户籍地): the node where she is registered.
    Origin,
    /// 流入地 (现居住地): the node where she lives, primary in management.
    Residence,
    /// Measured on both sides alike.
    Both,
}

impl Side {
    /// Every side.
    pub const ALL: [Side; 3] = [Self::Origin, Self::Residence, Self::Both];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Origin => "origin",
            Self::Residence => "residence",
            Self::Both => "both",
        }
    }

    /// The side of a stored name.
    pub fn parse(name: &str) -> Option<Side> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// An indicator of the dual assessment; its code is stable (reports, config, CSV headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// 发证率: outflowing women 18–49 holding a valid certificate at month end.
    IssuanceRate,
    /// 协查反馈率: inquiries received and due in the month that were answered.
    InquiryAnswerRate,
    /// 协查及时率: of those, answered by their deadline (15 days urgent, 30 otherwise).
    InquiryOnTimeRate,
    /// 通报反馈及时率: birth reports due in the month answered within 30 days.
    BirthNoticeOnTimeRate,
    /// 查验率: women who arrived in the month whose certificate was verified here.
    VerificationRate,
    /// 及时查验率: of those arrivals, verified within 5 working days.
    OnTimeVerificationRate,
    /// 流入通报及时率: arrivals without a valid certificate notified to the origin within 20 working days.
    ArrivalNoticeOnTimeRate,
    /// 信息通报率: events recorded here that were reported to her origin.
    EventReportRate,
    /// 技术服务基本项目服务率: inflowing married women of childbearing age who received the free basic services.
    BasicServiceRate,
    /// 长效避孕率: married women of childbearing age using a long-acting method.
    LongActingRate,
    /// Messages owed an answer that were answered on time.
    AnswersOnTimeRate,
    /// 台帐一致率: shared persons whose ledger digests agree with the counterpart's.
    LedgerConsistency,
}

impl Indicator {
    /// Every indicator, in the order a report lists them.
    pub const ALL: [Indicator; 12] = [
        Self::IssuanceRate,
        Self::InquiryAnswerRate,
        Self::InquiryOnTimeRate,
        Self::BirthNoticeOnTimeRate,
        Self::VerificationRate,
        Self::OnTimeVerificationRate,
        Self::ArrivalNoticeOnTimeRate,
        Self::EventReportRate,
        Self::BasicServiceRate,
        Self::LongActingRate,
        Self::AnswersOnTimeRate,
        Self::LedgerConsistency,
    ];

    /// The stable code, as in reports and config.
    pub fn code(self) -> &'static str {
        match self {
            Self::IssuanceRate => "issuance_rate",
            Self::InquiryAnswerRate => "inquiry_answer_rate",
            Self::InquiryOnTimeRate => "inquiry_on_time_rate",
            Self::BirthNoticeOnTimeRate => "birth_notice_on_time_rate",
            Self::VerificationRate => "verification_rate",
            Self::OnTimeVerificationRate => "on_time_verification_rate",
            Self::ArrivalNoticeOnTimeRate => "arrival_notice_on_time_rate",
            Self::EventReportRate => "event_report_rate",
            Self::BasicServiceRate => "basic_service_rate",
            Self::LongActingRate => "long_acting_rate",
            Self::AnswersOnTimeRate => "answers_on_time_rate",
            Self::LedgerConsistency => "ledger_consistency",
        }
    }

    /// The indicator of a code.
    pub fn parse(code: &str) -> Option<Indicator> {
        Self::ALL.into_iter().find(|i| i.code() == code)
    }

    /// The name officers know it by.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::IssuanceRate => "发证率",
            Self::InquiryAnswerRate => "协查反馈率",
            Self::InquiryOnTimeRate => "协查及时率",
            Self::BirthNoticeOnTimeRate => "通报反馈及时率",
            Self::VerificationRate => "查验率",
            Self::OnTimeVerificationRate => "及时查验率",
            Self::ArrivalNoticeOnTimeRate => "流入通报及时率",
            Self::EventReportRate => "信息通报率",
            Self::BasicServiceRate => "技术服务基本项目服务率",
            Self::LongActingRate => "长效避孕率",
            Self::AnswersOnTimeRate => "按时答复率",
            Self::LedgerConsistency => "台帐一致率",
        }
    }

    /// The name in English.
    pub fn name_en(self) -> &'static str {
        match self {
            Self::IssuanceRate => "certificate issuance rate",
            Self::InquiryAnswerRate => "inquiry answer rate",
            Self::InquiryOnTimeRate => "inquiry on-time rate",
            Self::BirthNoticeOnTimeRate => "birth notice on-time answer rate",
            Self::VerificationRate => "verification rate",
            Self::OnTimeVerificationRate => "on-time verification rate",
            Self::ArrivalNoticeOnTimeRate => "arrival notice on-time rate",
            Self::EventReportRate => "event report rate",
            Self::BasicServiceRate => "basic service rate",
            Self::LongActingRate => "long-acting contraception rate",
            Self::AnswersOnTimeRate => "messages answered on time",
            Self::LedgerConsistency => "ledger consistency",
        }
    }

    /// The side it measures.
    pub fn side(self) -> Side {
        match self {
            Self::IssuanceRate | Self::InquiryAnswerRate | Self::InquiryOnTimeRate | Self::BirthNoticeOnTimeRate => {
                Side::Origin
            }
            Self::VerificationRate
            | Self::OnTimeVerificationRate
            | Self::ArrivalNoticeOnTimeRate
            | Self::EventReportRate
            | Self::BasicServiceRate => Side::Residence,
            Self::LongActingRate | Self::AnswersOnTimeRate | Self::LedgerConsistency => Side::Both,
        }
    }

    /// The seed's target (发证率 80 %, 查验率 and 服务率 90 %, 长效避孕率 85 %); none where the
    /// regulation sets none, which config may add.
    pub fn default_target(self) -> Option<Rate> {
        let per_mille = match self {
            Self::IssuanceRate => 800,
            Self::VerificationRate | Self::BasicServiceRate => 900,
            Self::LongActingRate => 850,
            _ => return None,
        };
        Some(Rate::per_mille(per_mille))
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A share between 0 and 1, kept in basis points (万分之一) so that reports compare exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "f64", try_from = "f64")]
pub struct Rate(u16);

impl Rate {
    /// Basis points in a whole.
    const WHOLE: u64 = 10_000;

    /// A rate of `n` per thousand (at most 1,000).
    pub const fn per_mille(n: u16) -> Rate {
        Rate(if n > 1000 { 10_000 } else { n * 10 })
    }

    /// `numerator / denominator`, rounded half up to a basis point; none when there is nothing to divide.
    pub fn of(numerator: u64, denominator: u64) -> Option<Rate> {
        if denominator == 0 || numerator > denominator {
            return None;
        }
        let wide = (u128::from(numerator) * u128::from(Self::WHOLE) * 2 + u128::from(denominator))
            / (u128::from(denominator) * 2);
        u16::try_from(wide).ok().map(Rate)
    }

    /// The share as a fraction of one.
    pub fn as_fraction(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }

    /// Basis points.
    pub fn basis_points(self) -> u16 {
        self.0
    }
}

impl From<Rate> for f64 {
    fn from(rate: Rate) -> f64 {
        rate.as_fraction()
    }
}

impl TryFrom<f64> for Rate {
    type Error = &'static str;

    fn try_from(fraction: f64) -> Result<Self, Self::Error> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err("a rate is between 0 and 1");
        }
        // In range, so the cast neither truncates nor wraps.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Rate((fraction * 10_000.0).round() as u16))
    }
}

impl fmt::Display for Rate {
    /// As a percentage with two decimals, e.g. `91.67%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

/// The target of each indicator: the seed's, changed by config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets(BTreeMap<Indicator, Option<Rate>>);

impl Default for Targets {
    fn default() -> Self {
        Targets(Indicator::ALL.into_iter().map(|i| (i, i.default_target())).collect())
    }
}

impl Targets {
    /// The defaults with `overrides` (indicator code → fraction) applied; names the first bad entry.
    pub fn with_overrides(overrides: &BTreeMap<String, f64>) -> Result<Targets, String> {
        let mut targets = Targets::default();
        for (code, &fraction) in overrides {
            let indicator = Indicator::parse(code).ok_or_else(|| format!("`{code}` is not an indicator"))?;
            let rate = Rate::try_from(fraction).map_err(|e| format!("{code}: {e}"))?;
            targets.0.insert(indicator, Some(rate));
        }
        Ok(targets)
    }

    /// The target of `indicator`, if one is set.
    pub fn of(&self, indicator: Indicator) -> Option<Rate> {
        self.0.get(&indicator).copied().flatten()
    }
}

/// One indicator's figure in a report: its counts when measured, and its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub indicator: Indicator,
    /// Persons or messages behind the rate; absent when the indicator is not measured yet
    /// (never shown as 100 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Rate>,
}

impl Figure {
    /// A measured figure; its target from `targets`.
    pub fn measured(indicator: Indicator, numerator: u64, denominator: u64, targets: &Targets) -> Figure {
        Figure { indicator, numerator: Some(numerator), denominator: Some(denominator), target: targets.of(indicator) }
    }

    /// A figure the node cannot measure yet.
    pub fn not_measured(indicator: Indicator, targets: &Targets) -> Figure {
        Figure { indicator, numerator: None, denominator: None, target: targets.of(indicator) }
    }

    /// The rate, when measured and there was anything to count.
    pub fn rate(&self) -> Option<Rate> {
        Rate::of(self.numerator?, self.denominator?)
    }

    /// Whether the rate reaches the target; none without a rate or a target.
    pub fn meets_target(&self) -> Option<bool> {
        Some(self.rate()? >= self.target?)
    }
}

/// How much each side counts in the combined score (the residence more: 以现居住地管理为主).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub origin: u16,
    pub residence: u16,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { origin: 4, residence: 6 }
    }
}

impl Weights {
    /// Weights that make a score: some weight, and the residence's at least the origin's.
    pub fn checked(origin: u16, residence: u16) -> Result<Weights, &'static str> {
        match (origin, residence) {
            (0, 0) => Err("the weights are both zero"),
            (o, r) if r < o => Err("the residence side is primary: its weight is at least the origin's"),
            (origin, residence) => Ok(Weights { origin, residence }),
        }
    }
}

/// The report's score: each side's mean rate over its measured indicators, and the two weighed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Score {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residence: Option<Rate>,
    /// Absent when neither side measured anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined: Option<Rate>,
    pub weights: Weights,
}

impl Score {
    /// Scores `figures`: an indicator of both sides counts on each; a side with nothing measured
    /// leaves the combined score to the other.
    pub fn of(figures: &[Figure], weights: Weights) -> Score {
        let mean = |side: Side| {
            let rates: Vec<u64> = figures
                .iter()
                .filter(|f| f.indicator.side() == side || f.indicator.side() == Side::Both)
                .filter_map(|f| f.rate().map(|r| u64::from(r.basis_points())))
                .collect();
            let count = u64::try_from(rates.len()).unwrap_or(u64::MAX);
            Rate::of(rates.iter().sum(), count * Rate::WHOLE)
        };
        let (origin, residence) = (mean(Side::Origin), mean(Side::Residence));
        let part = |rate: Option<Rate>, weight: u16| rate.map(|r| (u64::from(r.0) * u64::from(weight), weight));
        let parts: Vec<(u64, u16)> =
            [part(origin, weights.origin), part(residence, weights.residence)].into_iter().flatten().collect();
        let total_weight: u64 = parts.iter().map(|&(_, w)| u64::from(w)).sum();
        let combined = Rate::of(parts.iter().map(|&(p, _)| p).sum(), total_weight * Rate::WHOLE);
        Score { origin, residence, combined, weights }
    }
}

/// How many of her women a node counts with a counterpart node in the month: the origin the
/// women it believes live there, the residence the women it registered from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counterpart {
    /// The other node's code.
    pub node: String,
    pub women: u64,
}

/// A node's signed monthly report (`schemas/report.schema.json`); a later version of the same
/// month supersedes the earlier, and both are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportClaims {
    /// The reporting node.
    pub iss: String,
    /// The superior it reports to (the registry).
    pub aud: String,
    /// Report id (UUID v7).
    pub jti: String,
    pub iat: i64,
    pub month: Month,
    /// 1 for the report made at closing, then one more for each late fact's new version.
    pub ver: u32,
    /// `jti` of the version this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    pub figures: Vec<Figure>,
    pub score: Score,
    /// As origin: per residence node, the women of this node the origin believes live there.
    pub outflow: Vec<Counterpart>,
    /// As residence: per origin node, the women from there this node registered.
    pub inflow: Vec<Counterpart>,
}

/// How a fact stands in an indicator: outside it, in its denominator only, or in its numerator
/// (and so its denominator too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counted {
    Outside,
    Denominator,
    Numerator,
}

impl Counted {
    /// In the denominator when `counted`, and then in the numerator when `met`.
    pub fn of(counted: bool, met: bool) -> Counted {
        match (counted, met) {
            (false, _) => Counted::Outside,
            (true, false) => Counted::Denominator,
            (true, true) => Counted::Numerator,
        }
    }
}

/// The figure of `indicator` over `facts`, each placed by `counted`.
fn figure_of<T>(indicator: Indicator, facts: &[T], counted: impl Fn(&T) -> Counted, targets: &Targets) -> Figure {
    let (mut numerator, mut denominator) = (0, 0);
    for fact in facts {
        match counted(fact) {
            Counted::Outside => {}
            Counted::Denominator => denominator += 1,
            Counted::Numerator => (numerator, denominator) = (numerator + 1, denominator + 1),
        }
    }
    Figure::measured(indicator, numerator, denominator, targets)
}

/// What the assessment needs of a received message that was owed an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwedAnswer {
    /// An inquiry (协查), or else a birth report (生育通报).
    pub inquiry: bool,
    pub due_on: NaiveDate,
    /// The Shanghai day it was answered, if it was.
    pub answered_on: Option<NaiveDate>,
}

/// The indicators of the answers owed in a month (those due in it).
pub const ANSWER_INDICATORS: [Indicator; 4] = [
    Indicator::InquiryAnswerRate,
    Indicator::InquiryOnTimeRate,
    Indicator::BirthNoticeOnTimeRate,
    Indicator::AnswersOnTimeRate,
];

impl OwedAnswer {
    /// How it stands in `indicator` (one of [`ANSWER_INDICATORS`]): 协查反馈率 and 协查及时率 over
    /// the inquiries, 通报反馈及时率 over the birth reports, and the share of all answered on time.
    /// An answer on its last day is in time; one later still counts as answered.
    pub fn counted(&self, indicator: Indicator) -> Counted {
        let on_time = self.answered_on.is_some_and(|day| day <= self.due_on);
        match indicator {
            Indicator::InquiryAnswerRate => Counted::of(self.inquiry, self.answered_on.is_some()),
            Indicator::InquiryOnTimeRate => Counted::of(self.inquiry, on_time),
            Indicator::BirthNoticeOnTimeRate => Counted::of(!self.inquiry, on_time),
            Indicator::AnswersOnTimeRate => Counted::of(true, on_time),
            _ => Counted::Outside,
        }
    }
}

/// The figures of the answers owed in a month, in [`ANSWER_INDICATORS`] order.
pub fn answer_figures(owed: &[OwedAnswer], targets: &Targets) -> [Figure; 4] {
    ANSWER_INDICATORS.map(|indicator| figure_of(indicator, owed, |o| o.counted(indicator), targets))
}

/// Working days within which a residence tells her origin of an arrival without a valid
/// certificate (流入通报).
pub const NOTICE_WORKING_DAYS: u32 = 20;

/// An arrival registered here in the month, as the assessment needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrivalFact {
    pub arrived_on: NaiveDate,
    /// The Shanghai day she was registered (and her origin told).
    pub registered_on: NaiveDate,
    /// Whether she showed a valid certificate then.
    pub certified: bool,
    /// The Shanghai day a valid certificate of hers was first verified here, then or since.
    pub verified_on: Option<NaiveDate>,
}

/// The indicators of the month's arrivals.
pub const ARRIVAL_INDICATORS: [Indicator; 3] =
    [Indicator::VerificationRate, Indicator::OnTimeVerificationRate, Indicator::ArrivalNoticeOnTimeRate];

/// The deadlines of an arrival on one day: her certificate verified by `check` (5 working days),
/// her origin told by `notice` (20 working days, when she showed no valid certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrivalDeadlines {
    pub check: NaiveDate,
    pub notice: NaiveDate,
}

impl ArrivalDeadlines {
    /// The deadlines of an arrival on `arrived_on`, in working days of `calendar`.
    pub fn of(arrived_on: NaiveDate, calendar: &WorkCalendar) -> ArrivalDeadlines {
        ArrivalDeadlines {
            check: check_due(arrived_on, calendar).date,
            notice: calendar.add_working_days(arrived_on, NOTICE_WORKING_DAYS).date,
        }
    }
}

/// The deadlines of each day a month's arrivals fall on: its thousands of arrivals share some thirty
/// days, each counted once.
#[derive(Debug, Clone, Default)]
pub struct ArrivalDays(HashMap<NaiveDate, ArrivalDeadlines>);

impl ArrivalDays {
    /// The deadlines of the days `arrivals` fall on, in working days of `calendar`.
    pub fn of(arrivals: &[ArrivalFact], calendar: &WorkCalendar) -> ArrivalDays {
        let mut days = HashMap::new();
        for arrival in arrivals {
            days.entry(arrival.arrived_on).or_insert_with(|| ArrivalDeadlines::of(arrival.arrived_on, calendar));
        }
        ArrivalDays(days)
    }

    /// How `arrival` (one of those these days were made of) stands in `indicator`.
    pub fn counted(&self, arrival: &ArrivalFact, indicator: Indicator) -> Counted {
        self.0.get(&arrival.arrived_on).map_or(Counted::Outside, |deadlines| arrival.counted(indicator, deadlines))
    }
}

impl ArrivalFact {
    /// How it stands in `indicator` (one of [`ARRIVAL_INDICATORS`]), given the deadlines of its
    /// day: 查验率 (verified here, then or since), 及时查验率 (within 5 working days of arriving)
    /// and 流入通报及时率 (of those without a valid certificate, her origin told within 20 working
    /// days). The last day is in time.
    pub fn counted(&self, indicator: Indicator, deadlines: &ArrivalDeadlines) -> Counted {
        match indicator {
            Indicator::VerificationRate => Counted::of(true, self.verified_on.is_some()),
            Indicator::OnTimeVerificationRate => {
                Counted::of(true, self.verified_on.is_some_and(|day| day <= deadlines.check))
            }
            Indicator::ArrivalNoticeOnTimeRate => Counted::of(!self.certified, self.registered_on <= deadlines.notice),
            _ => Counted::Outside,
        }
    }
}

/// The figures of the month's arrivals, in [`ARRIVAL_INDICATORS`] order; working days follow
/// `calendar`.
pub fn arrival_figures(arrivals: &[ArrivalFact], calendar: &WorkCalendar, targets: &Targets) -> [Figure; 3] {
    let days = ArrivalDays::of(arrivals, calendar);
    ARRIVAL_INDICATORS.map(|indicator| figure_of(indicator, arrivals, |a| days.counted(a, indicator), targets))
}

/// The node that answers for a woman (以现居住地为主): where she lives. A node keeping her as
/// residence (`this`) answers for her; one keeping her as origin names the residence she lives at
/// (`counterpart`), and answers for her itself while it knows of none.
pub fn responsible_node<'a>(side: Side, counterpart: Option<&'a str>, this: &'a str) -> &'a str {
    match side {
        Side::Origin => counterpart.unwrap_or(this),
        Side::Residence | Side::Both => this,
    }
}

/// Ages of a woman of childbearing age (育龄妇女), at the month's end.
pub const CHILDBEARING_AGES: (u32, u32) = (15, 49);
/// Ages of the outflowing women counted by 发证率, at the month's end.
pub const CERTIFICATE_AGES: (u32, u32) = (18, 49);

/// The first and last birth dates of a person aged `ages.0` to `ages.1` (inclusive) on `on`.
pub fn born_between(on: NaiveDate, ages: (u32, u32)) -> (NaiveDate, NaiveDate) {
    let years_before = |years: u32| on.checked_sub_months(Months::new(years * 12)).unwrap_or(NaiveDate::MIN);
    let first = years_before(ages.1 + 1).succ_opt().unwrap_or(NaiveDate::MIN);
    (first, years_before(ages.0))
}

/// The GB/T 2261.2 codes of a married woman (20–23).
pub fn married_codes() -> Vec<&'static str> {
    MaritalStatus::ALL.iter().filter(|m| m.is_married()).map(|m| m.code()).collect()
}

/// The codes of the long-acting methods (长效避孕措施).
pub fn long_acting_codes() -> Vec<&'static str> {
    ContraceptionMethod::ALL.iter().filter(|m| m.is_long_acting()).map(|m| m.as_str()).collect()
}

/// What a node assesses by: its working-day calendar, the targets, the weights of the combined
/// score and the day a month is closed.
#[derive(Debug, Clone)]
pub struct AssessmentRules {
    pub calendar: std::sync::Arc<WorkCalendar>,
    pub targets: Targets,
    pub weights: Weights,
    /// Day of the next month on which a month is closed (1–28).
    pub cut_off_day: u32,
}

/// The division levels a superior rolls reports up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollUpLevel {
    /// 县级: the first 6 digits of a node's code.
    County,
    /// 地级 (市): the first 4.
    City,
    /// 省级: the first 2.
    Province,
}

impl RollUpLevel {
    /// How many leading digits of a node code name the area at this level.
    fn prefix(self) -> usize {
        match self {
            Self::County => 6,
            Self::City => 4,
            Self::Province => 2,
        }
    }

    /// The 12-digit code of the area at this level that holds `node`.
    pub fn area_of(self, node: &str) -> String {
        let keep = node.get(..self.prefix()).unwrap_or(node);
        format!("{keep:0<12}")
    }
}

/// One area's figures summed over the latest report of each of its nodes for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AreaFigures {
    /// The area's 12-digit code.
    pub area: String,
    /// The nodes whose reports are in it.
    pub nodes: Vec<String>,
    pub figures: Vec<Figure>,
}

/// The nodes of an area, and each indicator's numerators and denominators summed over them.
type AreaSums = (Vec<String>, BTreeMap<Indicator, (u64, u64)>);

/// The latest version of each node's report, of the months in `reports`.
pub fn latest_versions(reports: &[ReportClaims]) -> Vec<&ReportClaims> {
    let mut latest: BTreeMap<(&str, Month), &ReportClaims> = BTreeMap::new();
    for report in reports {
        let slot = latest.entry((report.iss.as_str(), report.month)).or_insert(report);
        if report.ver > slot.ver {
            *slot = report;
        }
    }
    latest.into_values().collect()
}

/// The roll-up of `month` by area at `level`: each indicator's numerators and denominators summed
/// over the latest report of each node (a node that did not measure one adds nothing to it).
pub fn roll_up(reports: &[ReportClaims], month: Month, level: RollUpLevel, targets: &Targets) -> Vec<AreaFigures> {
    let mut areas: BTreeMap<String, AreaSums> = BTreeMap::new();
    for report in latest_versions(reports).into_iter().filter(|r| r.month == month) {
        let (nodes, sums) = areas.entry(level.area_of(&report.iss)).or_default();
        nodes.push(report.iss.clone());
        for figure in &report.figures {
            if let (Some(n), Some(d)) = (figure.numerator, figure.denominator) {
                let sum = sums.entry(figure.indicator).or_default();
                *sum = (sum.0.saturating_add(n), sum.1.saturating_add(d));
            }
        }
    }
    areas
        .into_iter()
        .map(|(area, (nodes, sums))| AreaFigures {
            area,
            nodes,
            figures: Indicator::ALL
                .into_iter()
                .map(|i| match sums.get(&i) {
                    Some(&(n, d)) => Figure::measured(i, n, d, targets),
                    None => Figure::not_measured(i, targets),
                })
                .collect(),
        })
        .collect()
}

/// What a superior finds for one origin and one residence in a month: how many women the origin
/// believes live at the residence against how many the residence registered from the origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairCheck {
    pub origin: String,
    pub residence: String,
    /// The origin's figure; none when it sent no report for the month.
    pub origin_says: Option<u64>,
    /// The residence's figure; none when it sent no report for the month.
    pub residence_says: Option<u64>,
    /// The figures differ (瞒报 / 漏报 candidates): for a human to resolve.
    pub flagged: bool,
}

/// The cross-check of `month` over the latest report of each node: every pair either side named,
/// flagged where the two figures differ or one side is silent about a pair the other names.
pub fn cross_check(reports: &[ReportClaims], month: Month) -> Vec<PairCheck> {
    let latest: Vec<&ReportClaims> = latest_versions(reports).into_iter().filter(|r| r.month == month).collect();
    let reported: std::collections::BTreeSet<&str> = latest.iter().map(|r| r.iss.as_str()).collect();
    let mut pairs: BTreeMap<(String, String), (Option<u64>, Option<u64>)> = BTreeMap::new();
    for report in &latest {
        for c in &report.outflow {
            pairs.entry((report.iss.clone(), c.node.clone())).or_default().0 = Some(c.women);
        }
        for c in &report.inflow {
            pairs.entry((c.node.clone(), report.iss.clone())).or_default().1 = Some(c.women);
        }
    }
    pairs
        .into_iter()
        .map(|((origin, residence), (origin_says, residence_says))| {
            // A node that reported but did not name the pair counts zero women for it.
            let said = |figure: Option<u64>, node: &str| figure.or_else(|| reported.contains(node).then_some(0));
            let origin_says = said(origin_says, &origin);
            let residence_says = said(residence_says, &residence);
            let flagged = origin_says != residence_says;
            PairCheck { origin, residence, origin_says, residence_says, flagged }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn month(text: &str) -> Month {
        Month::parse(text).unwrap()
    }

    #[test]
    fn a_month_is_exactly_yyyy_mm_in_range() {
        assert_eq!(month("2026-11").to_string(), "2026-11");
        for bad in ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "1999-12", "2200-01", "２026-11", "+026-11"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert_eq!(serde_json::from_str::<Month>("\"2026-02\"").unwrap(), month("2026-02"));
        assert!(serde_json::from_str::<Month>("\"2026-2\"").is_err());
    }

    #[test]
    fn a_month_spans_shanghai_days_and_is_closed_on_its_cut_off_day() {
        let november = month("2026-11");
        assert_eq!((november.first_day(), november.last_day()), (d(2026, 11, 1), d(2026, 11, 30)));
        assert_eq!(month("2028-02").last_day(), d(2028, 2, 29));
        let (start, end) = november.span_utc();
        assert_eq!(start.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        // 23:59:59 in Shanghai on 30 November is still November; a second later is December.
        let last_second = end - chrono::Duration::seconds(1);
        assert_eq!(Month::of(last_second), november);
        assert_eq!(Month::of(end), month("2026-12"));
        assert!(november.contains(d(2026, 11, 30)) && !november.contains(d(2026, 12, 1)));
        assert_eq!(month("2026-12").next(), month("2027-01"));
        assert_eq!(month("2027-01").previous(), month("2026-12"));
        assert_eq!(november.cut_off(10), d(2026, 12, 10));
        assert_eq!(month("2027-01").cut_off(31), d(2027, 2, 28));
    }

    #[test]
    fn rates_are_exact_and_round_half_up_to_a_basis_point() {
        assert_eq!(Rate::of(2, 3).unwrap().to_string(), "66.67%");
        assert_eq!(Rate::of(1, 8).unwrap().basis_points(), 1250);
        assert_eq!(Rate::of(1, 20_000).unwrap().basis_points(), 1);
        assert_eq!(Rate::of(0, 0), None);
        assert_eq!(Rate::of(3, 2), None);
        assert_eq!(Rate::of(u64::MAX, u64::MAX).unwrap().to_string(), "100.00%");
        assert_eq!(serde_json::to_string(&Rate::per_mille(915)).unwrap(), "0.915");
        assert_eq!(serde_json::from_str::<Rate>("0.8").unwrap(), Rate::per_mille(800));
        assert!(serde_json::from_str::<Rate>("1.2").is_err());
    }

    #[test]
    fn targets_are_the_seed_s_unless_config_says_otherwise() {
        let seed = Targets::default();
        assert_eq!(seed.of(Indicator::IssuanceRate), Some(Rate::per_mille(800)));
        assert_eq!(seed.of(Indicator::VerificationRate), Some(Rate::per_mille(900)));
        assert_eq!(seed.of(Indicator::LongActingRate), Some(Rate::per_mille(850)));
        assert_eq!(seed.of(Indicator::InquiryOnTimeRate), None);
        let changed = Targets::with_overrides(&[("inquiry_on_time_rate".to_owned(), 0.95)].into()).unwrap();
        assert_eq!(changed.of(Indicator::InquiryOnTimeRate), Some(Rate::per_mille(950)));
        assert!(Targets::with_overrides(&[("issue_rate".to_owned(), 0.9)].into()).is_err());
        assert!(Targets::with_overrides(&[("issuance_rate".to_owned(), 90.0)].into()).is_err());
        for indicator in Indicator::ALL {
            assert_eq!(Indicator::parse(indicator.code()), Some(indicator));
            assert_eq!(serde_json::to_value(indicator).unwrap(), indicator.code());
        }
    }

    #[test]
    fn a_figure_without_cases_or_measure_has_no_rate_and_is_never_100_percent() {
        let targets = Targets::default();
        let verified = Figure::measured(Indicator::VerificationRate, 9, 10, &targets);
        assert_eq!((verified.rate(), verified.meets_target()), (Some(Rate::per_mille(900)), Some(true)));
        let short = Figure::measured(Indicator::IssuanceRate, 7, 9, &targets);
        assert_eq!(short.meets_target(), Some(false));
        let none_arrived = Figure::measured(Indicator::VerificationRate, 0, 0, &targets);
        assert_eq!((none_arrived.rate(), none_arrived.meets_target()), (None, None));
        let ledger = Figure::not_measured(Indicator::LedgerConsistency, &targets);
        assert_eq!(ledger.rate(), None);
        assert_eq!(serde_json::to_value(&ledger).unwrap(), serde_json::json!({ "indicator": "ledger_consistency" }));
    }

    #[test]
    fn the_combined_score_weighs_the_residence_side_higher() {
        let targets = Targets::default();
        let figures = [
            // Origin: 60 % and 80 % → 70 %.
            Figure::measured(Indicator::IssuanceRate, 6, 10, &targets),
            Figure::measured(Indicator::InquiryAnswerRate, 4, 5, &targets),
            // Residence: 90 % and 100 % → 95 %.
            Figure::measured(Indicator::VerificationRate, 9, 10, &targets),
            Figure::measured(Indicator::BasicServiceRate, 2, 2, &targets),
            // Nothing to count, not measured: neither side's mean moves.
            Figure::measured(Indicator::OnTimeVerificationRate, 0, 0, &targets),
            Figure::not_measured(Indicator::LedgerConsistency, &targets),
        ];
        let score = Score::of(&figures, Weights::default());
        assert_eq!(score.origin, Some(Rate::per_mille(700)));
        assert_eq!(score.residence, Some(Rate::per_mille(950)));
        // (0.4 × 70 % + 0.6 × 95 %) = 85 %.
        assert_eq!(score.combined, Some(Rate::per_mille(850)));
        // An indicator of both sides counts on each: 50 % long-acting pulls both means.
        let mut both = figures.to_vec();
        both.push(Figure::measured(Indicator::LongActingRate, 1, 2, &targets));
        let score = Score::of(&both, Weights::default());
        assert_eq!(score.origin, Some(Rate::of(6 + 8 + 5, 30).unwrap()));
        assert_eq!(score.residence, Some(Rate::of(9 + 10 + 5, 30).unwrap()));
        // A residence-only node is scored on its side alone.
        let residence_only = Score::of(&figures[2..4], Weights::default());
        assert_eq!((residence_only.origin, residence_only.combined), (None, Some(Rate::per_mille(950))));
        assert_eq!(Score::of(&[], Weights::default()).combined, None);
        assert!(Weights::checked(6, 4).is_err() && Weights::checked(0, 0).is_err() && Weights::checked(0, 1).is_ok());
    }

    #[test]
    fn answers_count_as_given_and_on_time_by_their_last_day() {
        let owed = |inquiry, due: u32, answered: Option<&str>| OwedAnswer {
            inquiry,
            due_on: d(2026, 11, due),
            answered_on: answered.map(|a| a.parse().unwrap()),
        };
        let month = [
            // Inquiries: on the last day, a day late, never.
            owed(true, 16, Some("2026-11-16")),
            owed(true, 20, Some("2026-11-21")),
            owed(true, 30, None),
            // Birth reports: early, and late across the month's end.
            owed(false, 5, Some("2026-11-01")),
            owed(false, 30, Some("2026-12-01")),
        ];
        let [answered, inquiries_on_time, births_on_time, all_on_time] = answer_figures(&month, &Targets::default());
        let counts = |f: &Figure| (f.numerator.unwrap(), f.denominator.unwrap());
        assert_eq!(counts(&answered), (2, 3));
        assert_eq!(counts(&inquiries_on_time), (1, 3));
        assert_eq!(counts(&births_on_time), (1, 2));
        assert_eq!(counts(&all_on_time), (2, 5));
        assert_eq!(all_on_time.rate(), Some(Rate::per_mille(400)));
        let [none, ..] = answer_figures(&[], &Targets::default());
        assert_eq!((none.denominator, none.rate()), (Some(0), None));
    }

    fn report(
        iss: &str,
        month: &str,
        ver: u32,
        figures: Vec<Figure>,
        outflow: &[(&str, u64)],
        inflow: &[(&str, u64)],
    ) -> ReportClaims {
        let counterparts =
            |list: &[(&str, u64)]| list.iter().map(|&(node, women)| Counterpart { node: node.into(), women }).collect();
        ReportClaims {
            iss: iss.into(),
            aud: "000000000000".into(),
            jti: format!("{iss}-{month}-{ver}"),
            iat: 0,
            month: Month::parse(month).unwrap(),
            ver,
            supersedes: (ver > 1).then(|| format!("{iss}-{month}-{}", ver - 1)),
            score: Score::of(&figures, Weights::default()),
            figures,
            outflow: counterparts(outflow),
            inflow: counterparts(inflow),
        }
    }

    #[test]
    fn the_roll_up_sums_counts_of_each_node_s_latest_version_by_area() {
        let t = Targets::default();
        let v = |n, d| vec![Figure::measured(Indicator::VerificationRate, n, d, &t)];
        let reports = [
            report("130728102000", "2026-11", 1, v(1, 10), &[], &[]),
            // Version 2 of the same month replaces version 1 in the sums.
            report("130728102000", "2026-11", 2, v(8, 10), &[], &[]),
            report("130728103000", "2026-11", 1, v(1, 2), &[], &[]),
            report("130729101000", "2026-11", 1, v(3, 4), &[], &[]),
            // Another month is not summed.
            report("130728103000", "2026-10", 1, v(0, 50), &[], &[]),
        ];
        let counties = roll_up(&reports, month("2026-11"), RollUpLevel::County, &t);
        assert_eq!(counties.len(), 2);
        assert_eq!(counties[0].area, "130728000000");
        assert_eq!(counties[0].nodes, ["130728102000", "130728103000"]);
        let verified = |area: &AreaFigures| {
            let f = area.figures.iter().find(|f| f.indicator == Indicator::VerificationRate).unwrap();
            (f.numerator, f.denominator, f.meets_target())
        };
        // 8 of 10 and 1 of 2 give 9 of 12 = 75 %, below 90 %: the sum, not the mean of 80 % and 50 %.
        assert_eq!(verified(&counties[0]), (Some(9), Some(12), Some(false)));
        let city = roll_up(&reports, month("2026-11"), RollUpLevel::City, &t);
        assert_eq!((city.len(), city[0].area.as_str()), (1, "130700000000"));
        assert_eq!(verified(&city[0]), (Some(12), Some(16), Some(false)));
        let issued = city[0].figures.iter().find(|f| f.indicator == Indicator::IssuanceRate).unwrap();
        assert_eq!(issued.numerator, None, "no node measured it");
        assert_eq!(RollUpLevel::Province.area_of("130728102000"), "130000000000");
    }

    #[test]
    fn the_cross_check_flags_pairs_whose_two_sides_disagree() {
        let origin = "130728102000";
        let (agreeing, hiding, silent) = ("440305001000", "440305002000", "440305003000");
        let reports = [
            report(origin, "2026-11", 1, vec![], &[(agreeing, 3), (hiding, 5), (silent, 1)], &[]),
            report(agreeing, "2026-11", 1, vec![], &[], &[(origin, 3)]),
            // 瞒报 candidate: the residence registered fewer than the origin believes live there.
            report(hiding, "2026-11", 1, vec![], &[], &[(origin, 4)]),
            // A residence registering women from an origin that names none there.
            report(agreeing, "2026-11", 2, vec![], &[], &[(origin, 3), ("110105003000", 2)]),
        ];
        let checks = cross_check(&reports, month("2026-11"));
        let find = |o: &str, r: &str| checks.iter().find(|c| c.origin == o && c.residence == r).unwrap();
        assert!(!find(origin, agreeing).flagged);
        let hidden = find(origin, hiding);
        assert_eq!((hidden.origin_says, hidden.residence_says, hidden.flagged), (Some(5), Some(4), true));
        // A residence that sent no report: its side is unknown, and the pair is flagged.
        let unreported = find(origin, silent);
        assert_eq!((unreported.residence_says, unreported.flagged), (None, true));
        let unknown_origin = find("110105003000", agreeing);
        assert_eq!((unknown_origin.origin_says, unknown_origin.residence_says), (None, Some(2)));
        assert_eq!(checks.len(), 4);
    }

    #[test]
    fn the_residence_where_she_lives_answers_for_her() {
        assert_eq!(responsible_node(Side::Residence, Some("130728102000"), "440305001000"), "440305001000");
        assert_eq!(responsible_node(Side::Origin, Some("440305001000"), "130728102000"), "440305001000");
        assert_eq!(responsible_node(Side::Origin, None, "130728102000"), "130728102000");
        assert_eq!(
            [Counted::of(false, true), Counted::of(true, false), Counted::of(true, true)],
            [Counted::Outside, Counted::Denominator, Counted::Numerator]
        );
    }

    #[test]
    fn ages_are_counted_at_the_month_s_end() {
        let day = |t: &str| t.parse::<NaiveDate>().unwrap();
        assert_eq!(born_between(day("2026-10-31"), CHILDBEARING_AGES), (day("1976-11-01"), day("2011-10-31")));
        // Born on 29 February: 18 on 28 February of a common year.
        assert_eq!(born_between(day("2026-02-28"), (18, 49)).1, day("2008-02-28"));
    }

    #[test]
    fn arrivals_are_timely_by_working_days_across_a_holiday_week() {
        let day = |t: &str| t.parse::<NaiveDate>().unwrap();
        let calendar = WorkCalendar::shipped().unwrap();
        let fact = |arrived: &str, registered: &str, certified: bool, verified: Option<&str>| ArrivalFact {
            arrived_on: day(arrived),
            registered_on: day(registered),
            certified,
            verified_on: verified.map(day),
        };
        let arrivals = [
            // 1–7 October 2026 are holidays, Saturday the 10th a working day: due the 13th.
            fact("2026-10-01", "2026-10-13", true, Some("2026-10-13")),
            fact("2026-10-01", "2026-10-14", true, Some("2026-10-14")),
            // Never verified; her origin told on the 20th working day after 2 October.
            fact("2026-10-02", "2026-11-03", false, None),
        ];
        let [verified, on_time, notices] = arrival_figures(&arrivals, calendar, &Targets::default());
        assert_eq!((verified.numerator, verified.denominator), (Some(2), Some(3)));
        assert_eq!((on_time.numerator, on_time.denominator), (Some(1), Some(3)));
        assert_eq!((notices.numerator, notices.denominator), (Some(1), Some(1)));
        assert_eq!(calendar.add_working_days(day("2026-10-02"), NOTICE_WORKING_DAYS).date, day("2026-11-03"));
    }
}
