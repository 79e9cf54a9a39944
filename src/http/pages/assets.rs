//! The pages' scripts and styles, embedded in the binary: each is linked with its content hash, so
//! that a browser may keep it for a year and still gets a changed one at once.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

use super::secured;
use crate::seal::hex;

/// `web/assets/` and the vendored decoder.
#[derive(Embed)]
#[folder = "web/assets/"]
struct Assets;

/// The first 16 hex digits of each asset's SHA-256: its version in links.
fn versions() -> &'static HashMap<String, String> {
    static VERSIONS: OnceLock<HashMap<String, String>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        Assets::iter()
            .filter_map(|name| {
                let file = Assets::get(&name)?;
                Some((name.into_owned(), hex(&file.metadata.sha256_hash()[..8])))
            })
            .collect()
    })
}

/// The URL of asset `name`, with its version.
pub fn asset_url(name: &str) -> String {
    match versions().get(name) {
        Some(version) => format!("/assets/{name}?v={version}"),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`: immutable for a year when asked by its current version, else revalidated.
pub async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let Some(file) = Assets::get(&name) else { return secured(HttpResponse::NotFound().finish()) };
    let version = versions().get(name.as_str()).cloned().unwrap_or_default();
    let etag = format!("\"{version}\"");
    if req.headers().get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        return secured(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    let asked = req.query_string().strip_prefix("v=").is_some_and(|v| v == version);
    let cache = if asked { "public, max-age=31536000, immutable" } else { "no-cache" };
    secured(
        HttpResponse::Ok()
            .content_type(file.metadata.mimetype())
            .insert_header((header::CACHE_CONTROL, cache))
            .insert_header((header::ETAG, etag))
            .body(file.data.into_owned()),
    )
}
