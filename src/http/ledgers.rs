//! The books of record (三帐一卡) for the officers and workers who keep them.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::download;
use super::{ApiError, AppState, Requester, authorized};
use crate::domain::access::Action;
use crate::domain::assessment::Side;
use crate::domain::certificate::ContraceptionMethod;
use crate::domain::ledger::{Book, EntryKind};
use crate::service::ledgers::{self, Entry};
use crate::sheets::Format;
use crate::sheets::Table;
use crate::store::ledgers::LedgerFilter;

/// One entry of a book: what happened to her, when, and the message it came from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerEntryView {
    /// The order it was recorded in: page with `after`.
    pub id: i64,
    pub kind: EntryKind,
    /// `origin` or `residence`: as which side of her management this node keeps it.
    #[schema(value_type = String)]
    pub side: Side,
    pub id_number: String,
    pub name: String,
    /// When it happened.
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<ContraceptionMethod>,
    /// Of an arrival: the version (jti) of the valid certificate she showed; none, she must obtain one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Id of the message that made the entry.
    pub source: String,
    /// The message whose entry this one corrects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrects: Option<String>,
    /// The message of the latest entry that corrects this one, which is then the one in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_by: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl From<Entry> for LedgerEntryView {
    fn from(e: Entry) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            side: e.side,
            id_number: e.id_number,
            name: e.name,
            on: e.on,
            method: e.method,
            certificate: e.certificate,
            source: e.source,
            corrects: e.corrects,
            corrected_by: e.corrected_by,
            recorded_at: e.recorded_at,
        }
    }
}

/// A page of a book.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntryView>,
}

/// Filters of a book.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// Entries of events on or after this day.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Entries of events on or before this day.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// Page: entries recorded after this id.
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
    /// `json` (default), `csv` or `xlsx`; without it, `Accept: text/csv` or the XLSX media type asks.
    #[param(inline)]
    pub format: Option<Format>,
}

impl From<LedgerQuery> for LedgerFilter {
    fn from(q: LedgerQuery) -> Self {
        Self { from: q.from, to: q.to, after: q.after, limit: q.limit }
    }
}

/// A book of record (三帐一卡), as the exchanged facts wrote it.
///
/// `women` (育龄妇女卡), `marriages` (结婚帐), `births` (怀孕出生帐) or `services` (节育手术帐);
/// no endpoint edits a book.
#[utoipa::path(tag = "worker", params(("book" = String, Path, description = "women, marriages, births or services"), LedgerQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "the JSON document, or the CSV file or XLSX workbook asked for", content((LedgerPage = "application/json"), (String = "text/csv; charset=utf-8"), (super::schema::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 404, description = "no such book"),
        (status = 429, description = "over the key's rate limit")))]
#[get("/api/v1/ledgers/{book}")]
pub async fn ledger(
    req: HttpRequest,
    state: web::Data<AppState>,
    requester: Requester,
    book: web::Path<String>,
    query: web::Query<LedgerQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let format = download::wanted(&req, query.format);
    let book = book.into_inner();
    let (name, filter) = (book.clone(), query.into());
    let entries = authorized(&state, requester, Action::ReadLedger, move |core, who| {
        ledgers::list(core, &name, filter, &who, Utc::now())
    })
    .await?;
    if format == Format::Json {
        let entries = entries.into_iter().map(LedgerEntryView::from).collect();
        return Ok(HttpResponse::Ok().json(LedgerPage { entries }));
    }
    ledger_file(&book, entries, format)
}

/// The entries of `book` as a CSV file or XLSX workbook to take away, for the API and the pages.
pub(crate) fn ledger_file(book: &str, entries: Vec<Entry>, format: Format) -> Result<HttpResponse, ApiError> {
    let rows = entries.into_iter().map(LedgerEntryView::from).map(|e| {
        vec![
            e.id.to_string(),
            e.kind.as_str().to_owned(),
            e.side.as_str().to_owned(),
            e.id_number,
            e.name,
            e.on.to_string(),
            e.method.map(|m| m.as_str().to_owned()).unwrap_or_default(),
            e.certificate.unwrap_or_default(),
            e.source,
            e.corrects.unwrap_or_default(),
            e.corrected_by.unwrap_or_default(),
            e.recorded_at.to_rfc3339(),
        ]
    });
    let table = Table {
        title: Book::parse(book).map_or("台帐", Book::name_zh),
        headers: &LEDGER_HEADERS,
        rows: rows.collect(),
    };
    download::table(&format!("ledger-{book}"), format, &table)
}

/// The columns of a book as CSV: the Chinese name, then the JSON field.
const LEDGER_HEADERS: [&str; 12] = [
    "序号 id",
    "事项 kind",
    "管理方 side",
    "公民身份号码 id_number",
    "姓名 name",
    "日期 on",
    "避孕方法 method",
    "所示证明 certificate",
    "来源记录 source",
    "更正 corrects",
    "被更正 corrected_by",
    "登记时间 recorded_at",
];
