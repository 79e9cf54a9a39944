//! Working days in Asia/Shanghai: weekends, public holidays and adjusted workdays (调休).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::Serialize;

/// Asia/Shanghai as UTC+8: China has had no DST since 1991, so +08:00 is exact for every date we handle.
pub const SHANGHAI: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// The calendar date in Shanghai at the instant `now`.
pub fn local_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&SHANGHAI).date_naive()
}

/// The instant 00:00 +08:00 of `date` begins, in UTC (saturating at the earliest representable instant).
pub fn start_of_day_utc(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).checked_sub_offset(SHANGHAI).map_or(DateTime::<Utc>::MIN_UTC, |t| t.and_utc())
}

/// Parses exactly `YYYY-MM-DD` (ISO 8601 calendar date), rejecting the laxer forms chrono accepts.
pub fn parse_iso_date(input: &str) -> Option<NaiveDate> {
    let b = input.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let y = input[..4].parse().ok()?;
    let m = input[5..7].parse().ok()?;
    let d = input[8..].parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// What a calendar row says about a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayKind {
    /// 法定节假日: a rest day, whatever the weekday.
    Holiday,
    /// 调休上班: a weekend day that is worked.
    Workday,
}

/// Why a holiday file cannot be read; names the line and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The first line is not `date,kind,name`.
    #[error("line 1: header must be `date,kind,name`, found `{found}`")]
    Header {
        /// The header as found.
        found: String,
    },
    /// The CSV itself is broken (e.g. a wrong number of fields).
    #[error("line {line}: {message}")]
    Csv {
        /// 1-based line number.
        line: u64,
        /// What the CSV reader reported.
        message: String,
    },
    /// The date column is not `YYYY-MM-DD`.
    #[error("line {line}: `{value}` is not a YYYY-MM-DD date")]
    Date {
        /// 1-based line number.
        line: u64,
        /// The value found.
        value: String,
    },
    /// The kind column is neither `holiday` nor `workday`.
    #[error("line {line}: kind `{value}` is neither `holiday` nor `workday`")]
    Kind {
        /// 1-based line number.
        line: u64,
        /// The value found.
        value: String,
    },
    /// The same date appears on two rows.
    #[error("line {line}: {date} is listed twice")]
    Duplicate {
        /// 1-based line number of the second row.
        line: u64,
        /// The repeated date.
        date: NaiveDate,
    },
    /// An adjusted workday (调休) on Monday–Friday, which is a typo: those are worked anyway.
    #[error("line {line}: workday {date} is not a Saturday or Sunday")]
    WorkdayOnWeekday {
        /// 1-based line number.
        line: u64,
        /// The date found.
        date: NaiveDate,
    },
}

/// The result of counting working days: the date and the years the calendar lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// The n-th working day after the start.
    pub date: NaiveDate,
    /// Years touched by the count that the calendar does not cover (weekends only were rest days there).
    pub missing_years: Vec<i32>,
}

impl Deadline {
    /// Whether the count crossed a year whose holidays are not known yet: the date may move when
    /// that year's calendar is loaded, and is shown as provisional.
    pub fn is_provisional(&self) -> bool {
        !self.missing_years.is_empty()
    }
}

/// Public holidays and adjusted workdays (调休) of the years the State Council has published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    /// Days that differ from the Mon–Fri rule, or holidays that fall on weekends.
    days: BTreeMap<NaiveDate, DayKind>,
    /// Years with at least one row: their holidays are known.
    years: BTreeSet<i32>,
}

/// The calendar shipped with the service.
const EMBEDDED: &str = include_str!("../../data/cn_holidays.csv");

impl WorkCalendar {
    /// Reads `date,kind,name` rows, kind `holiday` or `workday`.
    pub fn from_csv(text: &str) -> Result<WorkCalendar, CalendarError> {
        let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
        let header = rdr.headers().map_err(|e| csv_error(&e, 1))?;
        if header.iter().collect::<Vec<_>>() != ["date", "kind", "name"] {
            return Err(CalendarError::Header { found: header.iter().collect::<Vec<_>>().join(",") });
        }
        let mut cal = WorkCalendar::default();
        for record in rdr.records() {
            let record = record.map_err(|e| csv_error(&e, 0))?;
            let line = record.position().map_or(0, |p| p.line());
            let value = record.get(0).unwrap_or_default();
            let date = parse_iso_date(value).ok_or_else(|| CalendarError::Date { line, value: value.to_owned() })?;
            let kind = match record.get(1).unwrap_or_default() {
                "holiday" => DayKind::Holiday,
                "workday" if is_weekend(date) => DayKind::Workday,
                "workday" => return Err(CalendarError::WorkdayOnWeekday { line, date }),
                other => {
                    return Err(CalendarError::Kind { line, value: other.to_owned() });
                }
            };
            if cal.days.insert(date, kind).is_some() {
                return Err(CalendarError::Duplicate { line, date });
            }
            cal.years.insert(date.year());
        }
        Ok(cal)
    }

    /// The calendar shipped in `data/cn_holidays.csv` (a test asserts it parses).
    pub fn embedded() -> Result<WorkCalendar, CalendarError> {
        WorkCalendar::from_csv(EMBEDDED)
    }

    /// The shipped calendar, parsed once per process.
    pub fn shipped() -> Result<&'static WorkCalendar, &'static CalendarError> {
        static SHIPPED: std::sync::LazyLock<Result<WorkCalendar, CalendarError>> =
            std::sync::LazyLock::new(WorkCalendar::embedded);
        SHIPPED.as_ref()
    }

    /// This calendar with `newer`'s years in place of its own: a file with only next year's
    /// notice adds that year, and a corrected year replaces the one shipped.
    pub fn overlaid(&self, newer: &WorkCalendar) -> WorkCalendar {
        let mut days: BTreeMap<NaiveDate, DayKind> =
            self.days.iter().filter(|(date, _)| !newer.covers_year(date.year())).map(|(d, k)| (*d, *k)).collect();
        days.extend(newer.days.iter().map(|(d, k)| (*d, *k)));
        WorkCalendar { days, years: self.years.union(&newer.years).copied().collect() }
    }

    /// Whether the file has any row in `year`, i.e. that year's holidays are known.
    pub fn covers_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Adjusted workdays are worked, holidays are not, otherwise Monday–Friday are.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.days.get(&d) {
            Some(DayKind::Workday) => true,
            Some(DayKind::Holiday) => false,
            None => !is_weekend(d),
        }
    }

    /// The n-th working day after `start` (not counting `start`); n = 0 gives `start`.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Deadline {
        let mut date = start;
        let mut left = n;
        while left > 0 {
            // Saturate at the end of chrono's range rather than panic.
            let Some(next) = date.succ_opt() else { break };
            date = next;
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        Deadline { date, missing_years: self.uncovered_years(start, date) }
    }

    /// Working days after `from` up to and including `to`, and the uncovered years among those days.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> (u32, Vec<i32>) {
        let count = from.iter_days().skip(1).take_while(|d| *d <= to).filter(|d| self.is_working_day(*d)).count();
        (u32::try_from(count).unwrap_or(u32::MAX), self.uncovered_years(from, to))
    }

    /// Whether a deadline counted in working days from `from` to `to` is provisional: the days
    /// after `from` touch a year whose holidays are not known yet (as [`Deadline::is_provisional`]).
    pub fn is_provisional(&self, from: NaiveDate, to: NaiveDate) -> bool {
        !self.uncovered_years(from, to).is_empty()
    }

    /// The years of the days after `from` up to and including `to` that the calendar does not cover.
    fn uncovered_years(&self, from: NaiveDate, to: NaiveDate) -> Vec<i32> {
        let Some(first) = from.succ_opt().filter(|first| *first <= to) else { return Vec::new() };
        (first.year()..=to.year()).filter(|year| !self.covers_year(*year)).collect()
    }
}

/// Saturday or Sunday.
fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A CSV reader error as a [`CalendarError`], with its line when the reader knows it.
fn csv_error(e: &csv::Error, fallback_line: u64) -> CalendarError {
    CalendarError::Csv { line: e.position().map_or(fallback_line, |p| p.line()), message: e.to_string() }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cal() -> WorkCalendar {
        WorkCalendar::embedded().unwrap()
    }

    #[test]
    fn shipped_calendar_parses_and_covers_2025_2026() {
        let c = cal();
        assert!(c.covers_year(2025));
        assert!(c.covers_year(2026));
        assert!(!c.covers_year(2024));
        assert!(!c.covers_year(2027));
    }

    #[test]
    fn a_deadline_is_provisional_where_it_counts_days_of_an_unknown_year() {
        let c = cal();
        for start in [d(2026, 12, 3), d(2026, 12, 28), d(2026, 12, 31), d(2025, 12, 29)] {
            let due = c.add_working_days(start, 5);
            assert_eq!(c.is_provisional(start, due.date), due.is_provisional(), "{start}");
        }
        assert!(!c.is_provisional(d(2026, 12, 3), d(2026, 12, 10)));
        assert!(c.is_provisional(d(2026, 12, 28), d(2027, 1, 5)));
        assert!(!c.is_provisional(d(2026, 12, 31), d(2026, 12, 31)), "no day counted");
    }

    #[test]
    fn a_newer_file_adds_its_years_and_replaces_the_ones_it_repeats() {
        let newer = WorkCalendar::from_csv("date,kind,name\n2026-10-09,holiday,改\n2027-01-01,holiday,元旦\n").unwrap();
        let both = cal().overlaid(&newer);
        assert!(both.covers_year(2025) && both.covers_year(2026) && both.covers_year(2027));
        assert!(!both.is_working_day(d(2027, 1, 1)));
        assert!(!both.is_working_day(d(2026, 10, 9)));
        // 2026's shipped rows are gone with the year: 1 October 2026 (国庆) is a Thursday worked now.
        assert!(!cal().is_working_day(d(2026, 10, 1)) && both.is_working_day(d(2026, 10, 1)));
        assert_eq!(both.is_working_day(d(2025, 10, 1)), cal().is_working_day(d(2025, 10, 1)));
    }

    #[test]
    fn shanghai_time() {
        assert_eq!(SHANGHAI.local_minus_utc(), 8 * 3600);
        let late = DateTime::parse_from_rfc3339("2025-12-31T16:00:00Z").unwrap().to_utc();
        assert_eq!(local_date(late), d(2026, 1, 1));
        let early = DateTime::parse_from_rfc3339("2025-12-31T15:59:59Z").unwrap().to_utc();
        assert_eq!(local_date(early), d(2025, 12, 31));
        assert_eq!(start_of_day_utc(d(2026, 1, 1)), late);
        assert_eq!(start_of_day_utc(NaiveDate::MIN), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn strict_dates() {
        assert_eq!(parse_iso_date("2025-10-11"), Some(d(2025, 10, 11)));
        assert_eq!(parse_iso_date("2024-02-29"), Some(d(2024, 2, 29)));
        for bad in [
            "2025-02-29",
            "2025-1-05",
            "2025-01-5",
            "25-01-05",
            "+2025-01-05",
            "2025/01/05",
            "2025-01-05 ",
            "２０２５-01-05",
            "2025-13-01",
            "2025-00-10",
            "",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn working_days_of_2025_and_2026() {
        let c = cal();
        assert!(!c.is_working_day(d(2025, 10, 1)));
        assert!(c.is_working_day(d(2025, 10, 11))); // Saturday, 调休
        assert!(!c.is_working_day(d(2025, 10, 12))); // Sunday
        assert!(c.is_working_day(d(2026, 1, 4))); // Sunday, 调休
        assert!(!c.is_working_day(d(2026, 2, 16)));
        assert!(c.is_working_day(d(2025, 12, 31)));
    }

    #[test]
    fn national_day_2025() {
        // Tue 09-30; 10-01..08 off; Thu 9 (1), Fri 10 (2), Sat 11 调休 (3), Mon 13 (4), Tue 14 (5).
        let dl = cal().add_working_days(d(2025, 9, 30), 5);
        assert_eq!(dl.date, d(2025, 10, 14));
        assert!(dl.missing_years.is_empty());
        assert_eq!(cal().working_days_between(d(2025, 9, 30), d(2025, 10, 14)), (5, vec![]));
    }

    #[test]
    fn spring_festival_2026() {
        // Fri 02-13; Sat 14 调休 (1); 15..23 off; Tue 24 (2), Wed 25 (3), Thu 26 (4), Fri 27 (5).
        let dl = cal().add_working_days(d(2026, 2, 13), 5);
        assert_eq!(dl.date, d(2026, 2, 27));
        // 20 working days (notice to the origin): Sat 02-28 调休 is the 6th, then Mon 03-02 onward.
        let dl = cal().add_working_days(d(2026, 2, 13), 20);
        assert_eq!(dl.date, d(2026, 3, 19));
    }

    #[test]
    fn uncovered_years_are_reported() {
        let c = cal();
        // Thu 2026-12-31 → Fri 2027-01-01 is counted as a plain weekday: 2027 is unpublished.
        let dl = c.add_working_days(d(2026, 12, 31), 1);
        assert_eq!(dl.date, d(2027, 1, 1));
        assert_eq!(dl.missing_years, vec![2027]);
        let dl = c.add_working_days(d(2026, 12, 30), 1);
        assert!(dl.missing_years.is_empty());
        let dl = c.add_working_days(d(2024, 12, 20), 600);
        assert_eq!(dl.missing_years, vec![2024, 2027]);
        assert_eq!(c.add_working_days(d(2026, 5, 1), 0).date, d(2026, 5, 1));
        assert_eq!(c.working_days_between(d(2027, 3, 1), d(2027, 3, 8)), (5, vec![2027]));
        assert_eq!(c.working_days_between(d(2026, 3, 8), d(2026, 3, 1)), (0, vec![]));
    }

    #[test]
    fn end_of_range_saturates() {
        let dl = cal().add_working_days(NaiveDate::MAX, 3);
        assert_eq!(dl.date, NaiveDate::MAX);
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = WorkCalendar::from_csv("day,kind,name\n").unwrap_err();
        assert!(matches!(e, CalendarError::Header { .. }), "{e}");
        let e = WorkCalendar::from_csv("").unwrap_err();
        assert!(matches!(e, CalendarError::Header { .. }), "{e}");
        let e = WorkCalendar::from_csv("date,kind,name\n2025-01-01,holiday,元旦\n2025-1-2,holiday,x\n").unwrap_err();
        assert_eq!(e, CalendarError::Date { line: 3, value: "2025-1-2".into() });
        assert_eq!(e.to_string(), "line 3: `2025-1-2` is not a YYYY-MM-DD date");
        let e = WorkCalendar::from_csv("date,kind,name\n2025-01-01,rest,元旦\n").unwrap_err();
        assert_eq!(e, CalendarError::Kind { line: 2, value: "rest".into() });
        let e = WorkCalendar::from_csv("date,kind,name\n2025-01-01,holiday,a\n2025-01-01,holiday,b\n").unwrap_err();
        assert_eq!(e, CalendarError::Duplicate { line: 3, date: d(2025, 1, 1) });
        let e = WorkCalendar::from_csv("date,kind,name\n2025-10-10,workday,x\n").unwrap_err();
        assert_eq!(e, CalendarError::WorkdayOnWeekday { line: 2, date: d(2025, 10, 10) });
        let e = WorkCalendar::from_csv("date,kind,name\n2025-10-11,workday\n").unwrap_err();
        assert!(matches!(e, CalendarError::Csv { line: 2, .. }), "{e}");
        // Adding a year is adding rows.
        let c = WorkCalendar::from_csv("date,kind,name\n2027-01-01,holiday,元旦\n").unwrap();
        assert!(c.covers_year(2027));
        assert!(!c.is_working_day(d(2027, 1, 1)));
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        (0u64..(365 * 6)).prop_map(|n| d(2023, 1, 1) + chrono::Days::new(n))
    }

    proptest! {
        #[test]
        fn add_then_count_round_trips(start in date(), n in 0u32..200) {
            let c = cal();
            let dl = c.add_working_days(start, n);
            prop_assert!(dl.date >= start);
            prop_assert!(n == 0 || c.is_working_day(dl.date));
            let (count, missing) = c.working_days_between(start, dl.date);
            prop_assert_eq!(count, n);
            prop_assert_eq!(missing, dl.missing_years);
        }

        #[test]
        fn local_date_and_start_of_day_agree(secs in 0i64..4_000_000_000) {
            let now = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let day = local_date(now);
            let start = start_of_day_utc(day);
            prop_assert!(start <= now);
            prop_assert!(now - start < chrono::TimeDelta::days(1));
        }
    }
}
