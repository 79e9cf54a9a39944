//! Answers officers download: JSON by default, CSV or XLSX when asked (`format=`, or an `Accept`
//! of `text/csv` or the XLSX media type).

use super::ApiError;
use crate::domain::error::ErrorCode;
use crate::sheets::{self, Format, SheetError, Table};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

pub use crate::sheets::XLSX;

/// The form asked for: `format` when given, else by `Accept` (a client that also accepts JSON
/// gets JSON).
pub fn wanted(req: &HttpRequest, format: Option<Format>) -> Format {
    if let Some(format) = format {
        return format;
    }
    let accept = req.headers().get(header::ACCEPT).and_then(|accept| accept.to_str().ok()).unwrap_or_default();
    if accept.contains("application/json") {
        Format::Json
    } else if accept.contains(XLSX) {
        Format::Xlsx
    } else if accept.contains("text/csv") {
        Format::Csv
    } else {
        Format::Json
    }
}

/// `table` as an attachment named `<stem>.csv` or `<stem>.xlsx`.
pub fn table(stem: &str, format: Format, table: &Table<'_>) -> Result<HttpResponse, ApiError> {
    match format {
        Format::Xlsx => attachment(stem, format, sheets::xlsx(table)),
        _ => attachment(stem, Format::Csv, sheets::csv(table)),
    }
}

/// `made` as an attachment of `format` named `<stem>.<extension>`.
pub fn attachment(stem: &str, format: Format, made: Result<Vec<u8>, SheetError>) -> Result<HttpResponse, ApiError> {
    // Writing to memory fails only on a defect: the error names positions, not values.
    let body = made.map_err(|error| {
        tracing::error!(%error, "writing a download failed");
        ApiError::from(ErrorCode::Internal)
    })?;
    Ok(HttpResponse::Ok()
        .content_type(format.media_type())
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{stem}.{}\"", format.as_str())))
        .body(body))
}
