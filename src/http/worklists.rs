//! A worker's worklists (工作清单): what this node owes, to whom, and by when.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::download;
use super::{ApiError, AppState, Requester, authorized};
use crate::domain::access::Action;
use crate::domain::worklist::Task;
use crate::service::worklists::{self, WorkItem};
use crate::sheets::Format;
use crate::sheets::{self, Table};

/// One duty about one woman, with its deadline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkItemView {
    pub task: Task,
    /// Id of the message the duty comes from (for an answer: the one to reply to); none for a
    /// woman on this node's cards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The node that asked, for an answer owed; the residence she lives at, for a woman kept as origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    pub id_number: String,
    pub name: String,
    /// The day the duty began: received, or arrived.
    #[schema(value_type = String, format = Date)]
    pub since: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub due_on: NaiveDate,
    /// The deadline counts working days in a year whose holidays are not loaded yet: it may move.
    pub provisional: bool,
    /// Its deadline has passed.
    pub overdue: bool,
}

impl From<WorkItem> for WorkItemView {
    fn from(i: WorkItem) -> Self {
        Self {
            task: i.task,
            source: i.source,
            peer: i.peer,
            id_number: i.id_number,
            name: i.name,
            since: i.since,
            due_on: i.due_on,
            provisional: i.provisional,
            overdue: i.overdue,
        }
    }
}

/// A worklist's items, the earliest due first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Worklist {
    pub items: Vec<WorkItemView>,
}

/// How much of a worklist.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WorklistQuery {
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
    /// `json` (default), `csv` or `xlsx`; without it, `Accept: text/csv` or the XLSX media type asks.
    #[param(inline)]
    pub format: Option<Format>,
}

/// A worklist (工作清单), the earliest due first.
///
/// `answers`: inquiries (协查) and birth reports received here and owed an answer (15 or 30 days).
/// `arrivals`: women registered here without a valid certificate, who obtain one within 90 days.
/// `checks`: the same women, whose certificate is verified within 5 working days of arriving.
/// `outflows`: women 18–49 kept here as origin (流出) without a valid certificate from here, owed
/// one by the month's end.
/// `corrections`: women's requests to correct their record (更正请求), owed an answer in 15 days.
#[utoipa::path(tag = "worker", params(("list" = String, Path, description = "answers, arrivals, checks, outflows or corrections"), WorklistQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "the JSON document, or the CSV file or XLSX workbook asked for", content((Worklist = "application/json"), (String = "text/csv; charset=utf-8"), (super::schema::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 404, description = "no such worklist"),
        (status = 429, description = "over the key's rate limit")))]
#[get("/api/v1/worklists/{list}")]
pub async fn worklist(
    req: HttpRequest,
    state: web::Data<AppState>,
    requester: Requester,
    list: web::Path<String>,
    query: web::Query<WorklistQuery>,
) -> Result<HttpResponse, ApiError> {
    let WorklistQuery { limit, format } = query.into_inner();
    let list = list.into_inner();
    let format = download::wanted(&req, format);
    let asked = list.clone();
    let items = authorized(&state, requester, Action::ReadWorklist, move |core, who| {
        worklists::list(core, &asked, limit, &who, chrono::Utc::now())
    })
    .await?;
    let items = items.into_iter().map(WorkItemView::from);
    if format == Format::Json {
        return Ok(HttpResponse::Ok().json(Worklist { items: items.collect() }));
    }
    let rows = items.map(|i| {
        vec![
            i.task.as_str().to_owned(),
            i.id_number,
            i.name,
            i.since.to_string(),
            i.due_on.to_string(),
            sheets::yes_no(i.provisional),
            sheets::yes_no(i.overdue),
            i.peer.unwrap_or_default(),
            i.source.unwrap_or_default(),
        ]
    });
    let table = Table { title: "工作清单", headers: &WORKLIST_HEADERS, rows: rows.collect() };
    download::table(&format!("worklist-{list}"), format, &table)
}

/// The columns of a worklist as CSV: the Chinese name, then the JSON field.
const WORKLIST_HEADERS: [&str; 9] = [
    "事项 task",
    "公民身份号码 id_number",
    "姓名 name",
    "起始日期 since",
    "截止日期 due_on",
    "截止日期待定 provisional",
    "已逾期 overdue",
    "来文节点 peer",
    "来源记录 source",
];
