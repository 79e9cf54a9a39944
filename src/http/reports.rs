//! The dual assessment's monthly report, for the officers assessed and the auditors.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};

use super::download;
use super::{ApiError, AppState, Requester, authorized};
use crate::domain::access::Action;
use crate::domain::assessment::{Counterpart, Figure, Score, Side};
use crate::service::reports::{self, Assessment, ClosedReport, CountedPerson};
use crate::sheets::{self, Format, Table};

/// One indicator's figure: its counts when measured, its rate, its target.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FigureView {
    /// The stable code, e.g. `verification_rate`.
    pub indicator: String,
    pub name_zh: String,
    pub name_en: String,
    /// `origin`, `residence` or `both`.
    pub side: String,
    /// Absent when the node does not measure it yet (never shown as 100 %).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numerator: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator: Option<u64>,
    /// A fraction of one; absent with nothing to count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// Whether the rate reaches the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meets_target: Option<bool>,
}

impl From<&Figure> for FigureView {
    fn from(f: &Figure) -> Self {
        Self {
            indicator: f.indicator.code().into(),
            name_zh: f.indicator.name_zh().into(),
            name_en: f.indicator.name_en().into(),
            side: f.indicator.side().as_str().into(),
            numerator: f.numerator,
            denominator: f.denominator,
            rate: f.rate().map(f64::from),
            target: f.target.map(f64::from),
            meets_target: f.meets_target(),
        }
    }
}

/// Each side's mean rate and the two weighed, the residence side higher.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScoreView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub combined: Option<f64>,
    pub origin_weight: u16,
    pub residence_weight: u16,
}

impl From<Score> for ScoreView {
    fn from(s: Score) -> Self {
        Self {
            origin: s.origin.map(f64::from),
            residence: s.residence.map(f64::from),
            combined: s.combined.map(f64::from),
            origin_weight: s.weights.origin,
            residence_weight: s.weights.residence,
        }
    }
}

/// A node's assessment of a month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssessmentView {
    pub node: String,
    /// `YYYY-MM`.
    pub month: String,
    pub figures: Vec<FigureView>,
    pub score: ScoreView,
    /// As origin: per residence node, the women of this node it believes live there (its own
    /// departures, and the arrivals it was told of) by the month's end.
    pub outflow: Vec<CounterpartView>,
    /// As residence: per origin node, the women from there it registered by the month's end. A
    /// superior compares the two sides of each pair.
    pub inflow: Vec<CounterpartView>,
}

/// How many women a node counts with another node.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CounterpartView {
    pub node: String,
    pub women: u64,
}

impl From<Counterpart> for CounterpartView {
    fn from(c: Counterpart) -> Self {
        Self { node: c.node, women: c.women }
    }
}

impl From<Assessment> for AssessmentView {
    fn from(a: Assessment) -> Self {
        Self {
            node: a.node,
            month: a.month.to_string(),
            figures: a.figures.iter().map(FigureView::from).collect(),
            score: a.score.into(),
            outflow: a.outflow.into_iter().map(CounterpartView::from).collect(),
            inflow: a.inflow.into_iter().map(CounterpartView::from).collect(),
        }
    }
}

/// Which month.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AssessmentQuery {
    /// `YYYY-MM`, a month in Asia/Shanghai.
    pub month: String,
    /// `json` (default), `csv` or `xlsx`; without it, `Accept: text/csv` or the XLSX media type asks.
    #[param(inline)]
    pub format: Option<Format>,
}

/// The month's dual assessment (双向考核) from what this node has stored by now.
///
/// Each indicator with its counts, rate and target, and the score that weighs the residence side
/// higher; an indicator the node does not measure yet has no counts. A fact that arrives later
/// changes the figures.
#[utoipa::path(tag = "officer", params(AssessmentQuery), security(("bearer" = [])),
    responses((status = 200, description = "the JSON document, or the CSV file or XLSX workbook asked for", content((AssessmentView = "application/json"), (String = "text/csv; charset=utf-8"), (super::schema::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 422, description = "not a month, or one not begun")))]
#[get("/api/v1/reports/assessment")]
pub async fn assessment(
    req: HttpRequest,
    state: web::Data<AppState>,
    requester: Requester,
    query: web::Query<AssessmentQuery>,
) -> Result<HttpResponse, ApiError> {
    let AssessmentQuery { month, format } = query.into_inner();
    let format = download::wanted(&req, format);
    let assessed = authorized(&state, requester, Action::ReadReport, move |core, who| {
        reports::assessment(core, &month, &who, chrono::Utc::now())
    })
    .await?;
    let stem = format!("assessment-{}-{}", assessed.node, assessed.month);
    match format {
        Format::Json => Ok(HttpResponse::Ok().json(AssessmentView::from(assessed))),
        _ => download::attachment(&stem, format, sheets::assessment_file(&assessed, format)),
    }
}

/// Which month to close.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// `YYYY-MM`, a month that has ended in Asia/Shanghai.
    pub month: String,
}

/// A version of the month's report as this node signed it for its superior.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClosedView {
    /// 1 for the report made at closing, one more for each later version.
    pub ver: u32,
    pub jti: String,
    /// `jti` of the version this one replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// Whether this request made it; else the figures had not changed since it was made.
    pub made: bool,
    /// Whether the registry has kept it; else it is sent again every minute.
    pub sent: bool,
    /// The signed report (`hunyu-report+jwt`).
    pub token: String,
    pub assessment: AssessmentView,
}

/// Close a month now (结账): sign its report and send it to the registry.
///
/// Version 1 when the month was not closed; a new version superseding the last when facts that
/// arrived since changed its figures; else the version held. The node closes last month by itself
/// on its cut-off day, and makes the new versions hourly.
#[utoipa::path(tag = "officer", request_body = CloseRequest, security(("bearer" = [])),
    responses((status = 200, body = ClosedView), (status = 422, description = "not a month, or one not ended"),
        (status = 409, description = "no superior to report to")))]
#[post("/api/v1/reports/assessment/close")]
pub async fn close_month(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<CloseRequest>,
) -> Result<HttpResponse, ApiError> {
    let month = body.into_inner().month;
    let closed: ClosedReport = authorized(&state, requester, Action::CloseMonth, move |core, who| {
        reports::close_month(core, &month, Some(&who), chrono::Utc::now())
    })
    .await?;
    let mut sent = closed.sent;
    if !sent {
        state.exchange.send_reports().await;
        let (core, jti) = (state.core.clone(), closed.claims.jti.clone());
        sent = web::block(move || reports::is_sent(&core, &jti)).await.ok().and_then(Result::ok).unwrap_or(false);
    }
    let claims = &closed.claims;
    Ok(HttpResponse::Ok().json(ClosedView {
        ver: claims.ver,
        jti: claims.jti.clone(),
        supersedes: claims.supersedes.clone(),
        made: closed.made,
        sent,
        token: closed.token.clone(),
        assessment: Assessment::from(claims).into(),
    }))
}

/// Which women behind which figure.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PersonsQuery {
    /// `YYYY-MM`, a month in Asia/Shanghai.
    pub month: String,
    /// The indicator's code, e.g. `verification_rate`.
    pub indicator: String,
    /// `met` (in the numerator) or `missed` (in the denominator only); without it, both.
    #[param(inline)]
    pub only: Option<Only>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
    /// `json` (default), `csv` or `xlsx`; without it, `Accept: text/csv` or the XLSX media type asks.
    #[param(inline)]
    pub format: Option<Format>,
}

/// Which of the women a figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Only {
    /// In the numerator.
    Met,
    /// In the denominator only: the women to act on.
    Missed,
}

/// A woman behind a figure, and who answered for her.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CountedPersonView {
    pub id_number: String,
    pub name: String,
    /// In the figure's numerator, not only in its denominator.
    pub met: bool,
    /// Id of the message she is counted by; absent when counted from her card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// As which side this node keeps her, by her card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// The node on the other side, by her card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<String>,
    /// The node that answers for her: the residence where she lives (以现居住地为主), by her card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible: Option<String>,
}

impl From<CountedPerson> for CountedPersonView {
    fn from(p: CountedPerson) -> Self {
        Self {
            id_number: p.id_number,
            name: p.name,
            met: p.met,
            source: p.source,
            side: p.side,
            counterpart: p.counterpart,
            responsible: p.responsible,
        }
    }
}

/// The women behind one figure.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonsView {
    pub month: String,
    pub indicator: String,
    pub items: Vec<CountedPersonView>,
}

/// The women behind a figure of the month (考核名单), persons named.
///
/// Each woman the indicator counts, whether she is in its numerator, the message or card she is
/// counted by, and the node that answered for her (her residence, 以现居住地为主). For workers
/// and officers; every woman listed is an audit entry.
#[utoipa::path(tag = "officer", params(PersonsQuery), security(("bearer" = [])),
    responses((status = 200, description = "the JSON document, or the CSV file or XLSX workbook asked for", content((PersonsView = "application/json"), (String = "text/csv; charset=utf-8"), (super::schema::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, description = "no such indicator, or one not measured"), (status = 422, description = "not a month, or one not begun")))]
#[get("/api/v1/reports/assessment/persons")]
pub async fn persons(
    req: HttpRequest,
    state: web::Data<AppState>,
    requester: Requester,
    query: web::Query<PersonsQuery>,
) -> Result<HttpResponse, ApiError> {
    let PersonsQuery { month, indicator, only, limit, format } = query.into_inner();
    let format = download::wanted(&req, format);
    let asked = (month.clone(), indicator.clone());
    let listed = authorized(&state, requester, Action::ReadReportPersons, move |core, who| {
        reports::persons(core, &asked.0, &asked.1, only.map(|o| o == Only::Met), limit, &who, chrono::Utc::now())
    })
    .await?;
    let items = listed.into_iter().map(CountedPersonView::from);
    if format == Format::Json {
        return Ok(HttpResponse::Ok().json(PersonsView { month, indicator, items: items.collect() }));
    }
    let rows = items.map(|p| {
        vec![
            p.id_number,
            p.name,
            sheets::yes_no(p.met),
            p.side.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            p.counterpart.unwrap_or_default(),
            p.responsible.unwrap_or_default(),
            p.source.unwrap_or_default(),
        ]
    });
    let table = Table { title: "考核名单", headers: &PERSONS_HEADERS, rows: rows.collect() };
    download::table(&format!("persons-{month}-{indicator}"), format, &table)
}

/// The columns of the women behind a figure as CSV: the Chinese name, then the JSON field.
const PERSONS_HEADERS: [&str; 7] = [
    "公民身份号码 id_number",
    "姓名 name",
    "计入分子 met",
    "管理方 side",
    "对方节点 counterpart",
    "责任节点 responsible",
    "来源记录 source",
];
