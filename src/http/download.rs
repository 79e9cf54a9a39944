//! Answers officers download: JSON by default, CSV when asked (`format=csv`, or `Accept: text/csv`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::ApiError;
use crate::domain::error::ErrorCode;

/// The form of an answer that can be downloaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The JSON document (the default).
    #[default]
    Json,
    /// A CSV file with Chinese headers, UTF-8 with a byte-order mark so that Excel reads it.
    Csv,
}

/// CSV when `format` says so or, without it, when the client accepts `text/csv` and not JSON.
pub fn wants_csv(req: &HttpRequest, format: Option<Format>) -> bool {
    match format {
        Some(format) => format == Format::Csv,
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv") && !accept.contains("application/json")),
    }
}

/// A CSV attachment named `filename` of `rows` under `headers`.
pub fn csv(
    filename: &str,
    headers: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<HttpResponse, ApiError> {
    // Writing to memory fails only on a defect (rows of unequal length): the error names positions, not values.
    let failed = |e: csv::Error| {
        tracing::error!(error = %e, "writing a CSV answer failed");
        ApiError::from(ErrorCode::Internal)
    };
    // The byte-order mark tells Excel the file is UTF-8, so that Chinese headers and names read.
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record(headers).map_err(failed)?;
    for row in rows {
        out.write_record(&row).map_err(failed)?;
    }
    let body = out.into_inner().map_err(|e| failed(e.into_error().into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .body(body))
}

/// A yes-or-no cell, in Chinese and English.
pub fn yes_no(yes: bool) -> String {
    if yes { "是 yes" } else { "否 no" }.to_owned()
}
