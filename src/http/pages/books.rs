//! `/books/{book}`: the books of record (三帐一卡) for the workers and officers who keep them,
//! filtered by the days of the events, with the workbook to take away.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, Utc};
use maud::html;
use serde::Deserialize;

use super::home::home_frame;
use super::{PageError, Signed, page, secured, see_other, signed};
use crate::domain::access::Action;
use crate::domain::id_number;
use crate::domain::ledger::Book;
use crate::http::AppState;
use crate::http::ledgers::ledger_file;
use crate::service::ledgers::{self, Entry};
use crate::sheets::Format;
use crate::store::ledgers::LedgerFilter;

/// Entries a page shows; the workbook has up to the API's page of 1,000.
const PAGE_ENTRIES: i64 = 200;
/// Entries the workbook holds.
const FILE_ENTRIES: i64 = 1000;

/// The days of the events to show; either may be left empty.
#[derive(Debug, Deserialize)]
pub struct Days {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl Days {
    /// A day typed in a date field; an empty or malformed one leaves that end open.
    fn day(text: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
    }

    /// The query string that keeps these days.
    fn query(&self) -> String {
        format!(
            "from={}&to={}",
            Self::day(&self.from).map(|d| d.to_string()).unwrap_or_default(),
            Self::day(&self.to).map(|d| d.to_string()).unwrap_or_default()
        )
    }
}

/// The entries of `book` between `days`, read as `signed` reads them (an audited read).
async fn entries(
    state: &web::Data<AppState>,
    signed: &Signed,
    book: String,
    days: &Days,
    limit: i64,
) -> Result<Vec<Entry>, PageError> {
    let filter = LedgerFilter { from: Days::day(&days.from), to: Days::day(&days.to), after: None, limit: Some(limit) };
    signed
        .perform(state, Action::ReadLedger, move |core, who| ledgers::list(core, &book, filter, &who, Utc::now()))
        .await
}

/// `GET /books/{book}?from=&to=`.
pub async fn page_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    book: web::Path<String>,
    days: web::Query<Days>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let book = book.into_inner();
    let listed = entries(&state, &signed, book.clone(), &days, PAGE_ENTRIES).await?;
    let lang = signed.lang;
    let (kind, name, id, on) = (
        lang.pick("事项", "Entry"),
        lang.pick("姓名", "Name"),
        lang.pick("身份证号", "ID number"),
        lang.pick("日期", "Day"),
    );
    let body = html! {
        nav.books aria-label=(lang.pick("台帐", "Books")) {
            @for b in Book::ALL {
                a.button href=(format!("/books/{}", b.as_str())) aria-current=[(b.as_str() == book).then_some("page")] { (b.name_zh()) }
                " "
            }
        }
        form.month method="get" action=(format!("/books/{book}")) {
            label for="from" { (lang.pick("事件日期自", "Events from")) }
            input #from name="from" type="date" value=(days.from);
            label for="to" { (lang.pick("至", "to")) }
            input #to name="to" type="date" value=(days.to);
            button type="submit" { (lang.pick("筛选", "Filter")) }
        }
        p.count #entries-count { (listed.len()) (lang.pick(" 条", " entries")) }
        table.cards #entries {
            thead { tr { th scope="col" { (kind) } th scope="col" { (name) } th scope="col" { (id) } th scope="col" { (on) } } }
            tbody {
                @for e in &listed {
                    tr class=[e.corrected_by.as_ref().map(|_| "muted")] {
                        td data-label=(kind) { (e.kind.as_str()) @if e.corrected_by.is_some() { " " (lang.pick("（已更正）", "(corrected)")) } }
                        td data-label=(name) { (e.name) }
                        td data-label=(id) { (id_number::mask(&e.id_number)) }
                        td data-label=(on) { (e.on) }
                    }
                }
            }
        }
        p { a.button href=(format!("/books/{book}/download?{}", days.query())) { (lang.pick("下载工作簿（XLSX）", "Download the workbook (XLSX)")) } }
    };
    let title = Book::parse(&book).map_or("台帐", Book::name_zh);
    Ok(page(StatusCode::OK, home_frame(&state, &signed, title, &body)))
}

/// `GET /books/{book}/download?from=&to=`: the same entries as an XLSX workbook.
pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    book: web::Path<String>,
    days: web::Query<Days>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let book = book.into_inner();
    let listed = entries(&state, &signed, book.clone(), &days, FILE_ENTRIES).await?;
    ledger_file(&book, listed, Format::Xlsx).map(secured).map_err(|e| signed.failed(e))
}
