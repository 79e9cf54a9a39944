//! `/reports/`: the month's dual assessment (双向考核) for officers and auditors, as a chart of
//! each figure against its target (SVG made here, no script) and the same numbers as a table, with
//! the workbook to take away.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::home::home_frame;
use super::layout::Lang;
use super::{PageError, page, secured, see_other, signed};
use crate::domain::access::Action;
use crate::domain::assessment::Month;
use crate::http::AppState;
use crate::http::download;
use crate::http::reports::{AssessmentView, FigureView};
use crate::service::reports::{self, Assessment};
use crate::sheets::{self, Format};

/// Which month; last month when not given.
#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

/// The month asked, or the last one ended.
fn month_of(query: &MonthQuery) -> String {
    query.month.clone().unwrap_or_else(|| Month::of(Utc::now()).previous().to_string())
}

/// The month's assessment as this person may read it.
async fn assessed(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    month: String,
) -> Result<Option<(super::Signed, Assessment)>, PageError> {
    let Some(signed) = signed(req, state).await? else { return Ok(None) };
    let assessed = signed
        .perform(state, Action::ReadReport, move |core, who| reports::assessment(core, &month, &who, Utc::now()))
        .await?;
    Ok(Some((signed, assessed)))
}

/// `GET /reports/?month=YYYY-MM`.
pub async fn page_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<MonthQuery>,
) -> Result<HttpResponse, PageError> {
    let month = month_of(&query);
    let Some((signed, assessed)) = assessed(&req, &state, month).await? else { return Ok(see_other("/")) };
    let lang = signed.lang;
    let view = AssessmentView::from(assessed);
    let percent = |rate: Option<f64>| rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let body = html! {
        form.month method="get" action="/reports/" {
            label for="month" { (lang.pick("月份", "Month")) }
            input #month name="month" type="month" value=(view.month);
            button type="submit" { (lang.pick("查看", "Show")) }
        }
        (chart(lang, &view.figures))
        table #figures {
            caption { (lang.pick("各项指标", "The indicators")) }
            thead { tr {
                th scope="col" { (lang.pick("指标", "Indicator")) }
                th scope="col" { (lang.pick("完成", "Counted")) }
                th scope="col" { (lang.pick("比率", "Rate")) }
                th scope="col" { (lang.pick("目标", "Target")) }
            } }
            tbody {
                @for f in &view.figures {
                    tr data-indicator=(f.indicator) {
                        th scope="row" { (lang.pick(&f.name_zh, &f.name_en)) }
                        td { @match (f.numerator, f.denominator) {
                            (Some(n), Some(d)) => { (n) "/" (d) },
                            _ => (lang.pick("尚未计算", "not measured yet")),
                        } }
                        td class=[f.meets_target.map(|met| if met { "met" } else { "missed" })] { (percent(f.rate)) }
                        td { (percent(f.target)) }
                    }
                }
            }
        }
        p { (lang.pick("综合得分（现居住地为主）：", "Combined score (residence weighed higher): ")) (percent(view.score.combined)) }
        p { a.button href=(format!("/reports/assessment.xlsx?month={}", view.month)) { (lang.pick("下载工作簿（XLSX）", "Download the workbook (XLSX)")) } }
    };
    let title = format!("{} {}", lang.pick("双向考核", "Dual assessment"), view.month);
    Ok(page(StatusCode::OK, home_frame(&state, &signed, &title, &body)))
}

/// `GET /reports/assessment.xlsx?month=YYYY-MM`: the workbook of the API's download.
pub async fn workbook(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<MonthQuery>,
) -> Result<HttpResponse, PageError> {
    let month = month_of(&query);
    let Some((signed, assessed)) = assessed(&req, &state, month).await? else { return Ok(see_other("/")) };
    let stem = format!("assessment-{}-{}", assessed.node, assessed.month);
    download::attachment(&stem, Format::Xlsx, sheets::assessment_file(&assessed, Format::Xlsx))
        .map(secured)
        .map_err(|e| signed.failed(e))
}

/// Each measured figure as a bar of its rate, with its target marked: green where it reaches the
/// target, red where not. Described as a whole for screen readers; the table has the numbers.
fn chart(lang: Lang, figures: &[FigureView]) -> Markup {
    const ROW: u32 = 34;
    const LABEL: u32 = 130;
    const BAR: u32 = 200;
    let measured: Vec<&FigureView> = figures.iter().filter(|f| f.rate.is_some()).collect();
    let height = ROW * u32::try_from(measured.len()).unwrap_or(0) + 10;
    let x = |fraction: f64| f64::from(LABEL) + f64::from(BAR) * fraction.clamp(0.0, 1.0);
    html! {
        svg #chart role="img" viewBox=(format!("0 0 {} {height}", LABEL + BAR + 60)) width="100%"
            aria-label=(lang.pick("各项指标完成率与目标", "Each indicator's rate against its target")) {
            @for (i, f) in measured.iter().enumerate() {
                @let y = ROW * u32::try_from(i).unwrap_or(0) + 6;
                @let rate = f.rate.unwrap_or(0.0);
                text x="0" y=(y + 16) font-size="12" { (lang.pick(&f.name_zh, &f.name_en)) }
                rect x=(LABEL) y=(y) width=(BAR) height="20" fill="#e6e9ee" {}
                rect.bar x=(LABEL) y=(y) width=(x(rate) - f64::from(LABEL)) height="20"
                    fill=(if f.meets_target == Some(false) { "#a4161a" } else { "#0d6b2f" }) data-indicator=(f.indicator) {}
                @if let Some(target) = f.target {
                    line x1=(x(target)) x2=(x(target)) y1=(y - 3) y2=(y + 23) stroke="#1a1a1a" stroke-width="2" {}
                }
                text x=(LABEL + BAR + 6) y=(y + 16) font-size="12" { (format!("{:.0}%", rate * 100.0)) }
            }
        }
    }
}
