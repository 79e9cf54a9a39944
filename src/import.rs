//! `hunyu import`: a township's existing register of women's cards (育龄妇女卡), from CSV or XLSX
//! (calamine), in batches with a progress bar (indicatif). The rows refused go to a rejects file
//! that names row, column and rule, never the value; importing the same file again changes nothing.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context as _, bail};
use calamine::{Data, Reader as _};
use chrono::Utc;

use crate::domain::error::ErrorCode;
use crate::domain::ledger::CARD_COLUMNS;
use crate::node::{Actor, NodeCore};
use crate::service::cards::{ImportCounts, ImportRow, Reject, check_batch, write_batch};
use crate::sheets::{self, Table};

/// Rows written per transaction.
pub const BATCH: usize = 5000;

/// The template's headers: the Chinese name, then the field.
pub fn template_headers() -> Vec<String> {
    CARD_COLUMNS.iter().map(|(zh, field)| format!("{zh} {field}")).collect()
}

/// Writes the template of the expected columns as CSV or XLSX (by the extension of `path`).
pub fn write_template(path: &Path) -> anyhow::Result<()> {
    let headers = template_headers();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let table = Table { title: "育龄妇女卡", headers: &headers, rows: Vec::new() };
    let bytes = if is_csv(path) { sheets::csv(&table)? } else { sheets::xlsx(&table)? };
    crate::files::write_new_secret(path, &bytes).with_context(|| format!("{}", path.display()))
}

/// What an import did: its counts, and where the rows refused were written.
#[derive(Debug)]
pub struct Imported {
    pub counts: ImportCounts,
    pub rejects: Vec<Reject>,
}

/// Imports the cards in `file` (CSV, or a workbook's first sheet) as `who`; the refused rows are
/// written to `rejects_file` when there are any. A file without the template's columns is refused
/// whole.
pub fn import_file(
    core: &NodeCore,
    file: &Path,
    rejects_file: &Path,
    who: &Actor,
    progress: bool,
) -> anyhow::Result<Imported> {
    let rows = read_rows(file)?;
    let Some((header, data)) = rows.split_first() else { bail!("{}: the file is empty", file.display()) };
    let columns = columns_of(header)?;
    let bar = if progress { indicatif::ProgressBar::new(data.len() as u64) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {per_sec}, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut imported = Imported { counts: ImportCounts::default(), rejects: Vec::new() };
    // Row numbers as a spreadsheet shows them: the header is row 1.
    let numbered = (2u64..).zip(data).filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let rows: Vec<ImportRow> = numbered
        .map(|(row, cells)| ImportRow { row, cells: columns.map(|i| cells.get(i).cloned().unwrap_or_default()) })
        .collect();
    // The next batch is checked while the writer commits this one.
    std::thread::scope(|scope| {
        let (checked_tx, checked_rx) = std::sync::mpsc::sync_channel(1);
        let rows = &rows;
        scope.spawn(move || {
            let mut seen = HashSet::new();
            for batch in rows.chunks(BATCH) {
                if checked_tx.send(check_batch(core, batch, &mut seen, Utc::now())).is_err() {
                    break;
                }
            }
        });
        for checked in checked_rx {
            let in_batch = checked.rows as u64;
            let (counts, rejects) = write_batch(core, checked, who, Utc::now())?;
            imported.counts += counts;
            imported.rejects.extend(rejects);
            bar.inc(in_batch);
        }
        Ok::<_, anyhow::Error>(())
    })?;
    bar.finish_and_clear();
    if !imported.rejects.is_empty() {
        write_rejects(rejects_file, &imported.rejects)?;
    }
    Ok(imported)
}

/// The rejects as CSV: row, column, code and the rule in Chinese and English.
fn write_rejects(path: &Path, rejects: &[Reject]) -> anyhow::Result<()> {
    let rows = rejects
        .iter()
        .map(|r| {
            vec![r.row.to_string(), r.column.clone(), r.code.to_owned(), r.message_zh.clone(), r.message_en.clone()]
        })
        .collect();
    let headers = ["行 row", "列 column", "代码 code", "说明 message_zh", "message_en"];
    let table = Table { title: "rejects", headers: &headers, rows };
    crate::files::write_private(path, &sheets::csv(&table)?).with_context(|| format!("{}", path.display()))
}

/// Where each column of the template is in `header`: by its Chinese name, its field, or both.
fn columns_of(header: &[String]) -> anyhow::Result<[usize; 7]> {
    let found = CARD_COLUMNS.map(|(zh, field)| {
        header.iter().position(|h| {
            let h = h.trim().trim_start_matches('\u{feff}');
            h == zh || h == field || h == format!("{zh} {field}")
        })
    });
    let missing: Vec<&str> =
        CARD_COLUMNS.iter().zip(&found).filter(|(_, at)| at.is_none()).map(|((zh, _), _)| *zh).collect();
    if !missing.is_empty() {
        let refused = ErrorCode::ImportColumns { missing: missing.join(", ") };
        bail!("{} ({})", refused.message_en(), refused.code());
    }
    Ok(found.map(Option::unwrap_or_default))
}

fn is_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Every row of the file as text cells.
fn read_rows(file: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let unreadable = || format!("cannot read {}", file.display());
    if is_csv(file) {
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(file).with_context(unreadable)?;
        return reader
            .records()
            .map(|record| Ok(record.with_context(unreadable)?.iter().map(str::to_owned).collect()))
            .collect();
    }
    let mut workbook = calamine::open_workbook_auto(file).with_context(unreadable)?;
    let sheet = workbook.worksheet_range_at(0).context("the workbook has no sheet")?.with_context(unreadable)?;
    Ok(sheet.rows().map(|row| row.iter().map(cell_text).collect()).collect())
}

/// A cell as the text a person typed: whole numbers without a decimal point, dates as
/// `YYYY-MM-DD`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::DateTime(d) => d.as_datetime().map(|t| t.date().to_string()).unwrap_or_default(),
        other => other.to_string(),
    }
}
