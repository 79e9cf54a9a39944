//! The dual assessment's monthly report, for the officers assessed and the auditors.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, Requester, authorized};
use crate::domain::access::Action;
use crate::domain::assessment::{Figure, Score};
use crate::service::reports::{self, Assessment};

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
}

impl From<Assessment> for AssessmentView {
    fn from(a: Assessment) -> Self {
        Self {
            node: a.node,
            month: a.month.to_string(),
            figures: a.figures.iter().map(FigureView::from).collect(),
            score: a.score.into(),
        }
    }
}

/// Which month.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AssessmentQuery {
    /// `YYYY-MM`, a month in Asia/Shanghai.
    pub month: String,
}

/// The month's dual assessment (双向考核) from what this node has stored by now.
///
/// Each indicator with its counts, rate and target, and the score that weighs the residence side
/// higher; an indicator the node does not measure yet has no counts. A fact that arrives later
/// changes the figures.
#[utoipa::path(tag = "officer", params(AssessmentQuery), security(("bearer" = [])),
    responses((status = 200, body = AssessmentView), (status = 422, description = "not a month, or one not begun")))]
#[get("/api/v1/reports/assessment")]
pub async fn assessment(
    state: web::Data<AppState>,
    requester: Requester,
    query: web::Query<AssessmentQuery>,
) -> Result<HttpResponse, ApiError> {
    let month = query.into_inner().month;
    let assessed = authorized(&state, requester, Action::ReadReport, move |core, who| {
        reports::assessment(core, &month, &who, chrono::Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(AssessmentView::from(assessed)))
}
