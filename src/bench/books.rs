//! The books' benchmarks: the month's report over a million women's cards and a million book
//! entries against one plain aggregate over the same rows, and `hunyu import` of an XLSX register
//! against the backend's batch-insert rate.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{Datelike as _, Days, NaiveDate, Utc};
use diesel::RunQueryDsl as _;

use super::{batch_insert_rate, report, synthetic_id_number};
use crate::domain::assessment::Month;
use crate::domain::assessment::Side;
use crate::domain::certificate::ContraceptionMethod;
use crate::domain::error::Coded as _;
use crate::domain::id_number;
use crate::domain::ledger::{CARD_COLUMNS, EntryKind};
use crate::domain::message::PersonRef;
use crate::domain::role::Role;
use crate::node::{Actor, Caller, NodeCore};
use crate::store::StoreError;
use crate::store::cards::{self, CardRow};
use crate::store::ledgers::{self, NewEntry};
use crate::store::messages::{self, MessageRow};

/// Rows written per transaction while the data is made.
const GENERATED_PER_TRANSACTION: u64 = 20_000;

/// The host's officer, as the benchmark acts.
fn officer() -> Actor {
    let caller = Caller { key_id: "bench".into(), role: Role::Officer };
    Actor { caller, request_id: String::new(), purpose: "bench".into() }
}

/// The month reported on: last month, in which a twelfth of the entries fall.
fn reported_month() -> Month {
    Month::of(Utc::now()).previous()
}

/// The n-th woman's card: 70 % married, a quarter each IUD, pill, implant or no method, half kept
/// as origin, half as residence.
fn synthetic_card(node: &NodeCore, n: u64, now: chrono::NaiveDateTime) -> CardRow {
    let id_number = synthetic_id_number(n);
    let birth = NaiveDate::parse_from_str(&id_number[6..14], "%Y%m%d").unwrap_or_default();
    let method = ["iud", "pill", "implant", ""][(n % 4) as usize];
    CardRow {
        subject: node.audit_key.subject(&id_number),
        id_number,
        name: "测试".into(),
        birth_date: birth,
        marital: if n % 10 < 7 { "21" } else { "10" }.into(),
        method: (!method.is_empty()).then(|| method.to_owned()),
        side: if n.is_multiple_of(2) { "residence" } else { "origin" }.into(),
        counterpart: Some("130728102000".into()),
        since: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
        updated_at: now,
    }
}

/// The e-th book entry and the message that made it: a third arrivals registered here (every
/// other with a certificate), a third contraception services, a third births, on the days of the
/// last year, each of woman `e % women`.
fn synthetic_entry(node: &NodeCore, e: u64, women: u64, today: NaiveDate) -> anyhow::Result<(MessageRow, NewEntry)> {
    let id_number = synthetic_id_number(e % women);
    let parsed = id_number::parse(&id_number, today).map_err(|e| anyhow::anyhow!(e.code()))?;
    let on = today.checked_sub_days(Days::new(e % 365 + 1)).unwrap_or(today);
    let at = on.and_hms_opt(10, 0, 0).unwrap_or_default() + chrono::Duration::days(1);
    let (kind, entry_kind) = match e % 3 {
        0 => ("arrival_notice", EntryKind::Arrived),
        1 => ("event_report", EntryKind::Contraception),
        _ => ("event_report", EntryKind::Birth),
    };
    let row = MessageRow {
        id: format!("0193c000-0000-7000-8000-{e:012}"),
        direction: "out".into(),
        peer: "130728102000".into(),
        seq: i64::try_from(e + 1).unwrap_or(i64::MAX),
        kind: kind.into(),
        subject: Some(node.audit_key.subject(&id_number)),
        in_reply_to: None,
        due_on: None,
        token: "e30.e30.c2ln".into(),
        created_at: at,
        receipt: (!e.is_multiple_of(5)).then(|| "e30.e30.c2ln".into()),
        receipted_at: (!e.is_multiple_of(5)).then_some(at),
        answered_at: None,
        attempts: 0,
        // Unreceipted: waiting for its next attempt, as while her origin's node is down.
        next_attempt_at: (e.is_multiple_of(5)).then(|| at + chrono::Duration::days(365)),
        last_error: None,
    };
    let entry = NewEntry {
        source: row.id.clone(),
        peer: row.peer.clone(),
        kind: entry_kind,
        side: Side::Residence,
        subject: row.subject.clone(),
        person: PersonRef { id_number: parsed, name: "测试".into() },
        on_date: on,
        method: (entry_kind == EntryKind::Contraception).then_some(ContraceptionMethod::Iud),
        certificate: (e.is_multiple_of(6)).then(|| "0193c000-0000-7000-8000-00000000c0de".into()),
        corrects: None,
        recorded_at: at,
    };
    Ok((row, entry))
}

/// Writes `women` cards and `events` entries with their messages into `node`'s database.
fn generate(node: &NodeCore, women: u64, events: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let now = Utc::now().naive_utc();
    let today = crate::domain::calendar::local_date(Utc::now());
    for from in (0..women).step_by(GENERATED_PER_TRANSACTION as usize) {
        let rows: Vec<CardRow> =
            (from..(from + GENERATED_PER_TRANSACTION).min(women)).map(|n| synthetic_card(node, n, now)).collect();
        node.store.write(move |conn| cards::insert_all(conn, &rows))?;
    }
    for from in (0..events).step_by(GENERATED_PER_TRANSACTION as usize) {
        let (rows, entries): (Vec<MessageRow>, Vec<NewEntry>) = (from..(from + GENERATED_PER_TRANSACTION).min(events))
            .map(|e| synthetic_entry(node, e, women.max(1), today))
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        node.store.write(move |conn| {
            messages::insert_all(conn, &rows)?;
            ledgers::insert_all(conn, &entries)
        })?;
    }
    // What autovacuum does to a table in service: statistics, and (on PostgreSQL) the visibility
    // map that index-only scans need.
    let analyze = |statement: &'static str| {
        move |conn: &mut crate::store::DbConn| {
            diesel::sql_query(statement).execute(conn).map(drop).map_err(StoreError::from)
        }
    };
    match node.store.backend() {
        // Through the writer: SQLite has one.
        crate::store::Backend::Sqlite => node.store.write(analyze("ANALYZE"))?,
        // VACUUM runs outside a transaction.
        crate::store::Backend::Postgres => node.store.read(analyze("VACUUM ANALYZE"))?,
    }
    Ok(started.elapsed())
}

/// The count of a group of the plain aggregate.
#[derive(diesel::QueryableByName)]
struct Group {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The median of three timings of `work`.
fn median_of_three(mut work: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        work()?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[1])
}

/// The month's report over `women` cards and `events` entries, against one plain aggregate over
/// the same rows (each table grouped by a column, read whole).
pub fn report_phase(node: &NodeCore, women: u64, events: u64) -> anyhow::Result<()> {
    let made = generate(node, women, events)?;
    println!(
        "  made {women} women's cards and {events} book entries with their messages in {:.1} s",
        made.as_secs_f64()
    );
    let month = reported_month().to_string();
    let who = officer();
    let reported = median_of_three(|| {
        crate::service::reports::assessment(node, &month, &who, Utc::now())?;
        Ok(())
    })?;
    let plain = median_of_three(|| {
        node.store.read(|conn| {
            let by_card: Vec<Group> =
                diesel::sql_query("SELECT COUNT(*) AS n FROM women_cards GROUP BY side, marital").load(conn)?;
            let by_book: Vec<Group> =
                diesel::sql_query("SELECT COUNT(*) AS n FROM ledger_entries GROUP BY book").load(conn)?;
            let counted: i64 = by_card.iter().chain(&by_book).map(|g| g.n).sum();
            anyhow::ensure!(counted > 0, "nothing to aggregate ({} groups)", by_card.len() + by_book.len());
            Ok(())
        })?;
        Ok(())
    })?;
    let per_second = |d: Duration| 1.0 / d.as_secs_f64().max(1e-9);
    report("plain aggregate over the cards and the entries", per_second(plain), "runs/s", None);
    report(
        &format!("the month's report ({month}), every indicator"),
        per_second(reported),
        "reports/s",
        Some((per_second(plain), "plain aggregate", Some(0.5))),
    );
    Ok(())
}

/// `hunyu import` of a `rows`-row XLSX register against the batch-insert rate of the same
/// database.
pub fn import_phase(node: &NodeCore, dir: &Path, rows: u64, phase: Duration) -> anyhow::Result<()> {
    let file = dir.join("register.xlsx");
    write_register(&file, rows)?;
    let who = officer();
    let started = Instant::now();
    let imported = crate::import::import_file(node, &file, &dir.join("register.rejects.csv"), &who, false)?;
    let rate = rows as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(imported.counts.created == rows, "the import created {} cards of {rows}", imported.counts.created);
    let inserts = batch_insert_rate(node, phase)?;
    report("batch inserts, 1,000 rows per transaction", inserts, "rows/s", None);
    report(
        &format!("hunyu import of a {rows}-row XLSX register"),
        rate,
        "rows/s",
        Some((inserts, "batch insert", Some(0.25))),
    );
    Ok(())
}

/// A register of `rows` women as a township's workbook holds it (offset past the report's women).
fn write_register(path: &Path, rows: u64) -> anyhow::Result<()> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, (zh, field)) in (0u16..).zip(CARD_COLUMNS) {
        sheet.write_string(0, c, format!("{zh} {field}"))?;
    }
    let today = crate::domain::calendar::local_date(Utc::now());
    for (r, n) in (1u32..).zip(2_000_000..2_000_000 + rows) {
        let id_number = synthetic_id_number(n);
        let since = today.with_day(1).unwrap_or(today).to_string();
        let cells = [id_number.as_str(), "测试", "21", "iud", "origin", "440306001000", since.as_str()];
        for (c, cell) in (0u16..).zip(cells) {
            sheet.write_string(r, c, cell)?;
        }
    }
    workbook.save(path)?;
    Ok(())
}
