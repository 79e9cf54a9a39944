//! The pages' scripts and styles, embedded in the binary: each is linked with its content hash, so
//! that a browser may keep it for a year and still gets a changed one at once.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

use super::secured;
use crate::seal::hex;

/// `web/assets/`: the pages' own scripts and styles.
#[derive(Embed)]
#[folder = "web/assets/"]
struct Own;

/// `web/vendor/`: what is copied from the npm registry (the QR decoder), as `web/vendor.sh` pins it.
#[derive(Embed)]
#[folder = "web/vendor/"]
#[include = "*.js"]
struct Vendored;

/// What the scan page needs when the network is gone: its service worker keeps these.
pub const OFFLINE: [&str; 8] =
    ["app.css", "scan.js", "verify.js", "base45.js", "ed25519.js", "contract.js", "schemas.js", "jsQR.js"];

/// The embedded file called `name`, own or vendored.
fn file(name: &str) -> Option<rust_embed::EmbeddedFile> {
    Own::get(name).or_else(|| Vendored::get(name))
}

/// The first 16 hex digits of each asset's SHA-256: its version in links.
fn versions() -> &'static HashMap<String, String> {
    static VERSIONS: OnceLock<HashMap<String, String>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        Own::iter()
            .chain(Vendored::iter())
            .filter_map(|name| {
                let file = file(&name)?;
                Some((name.into_owned(), hex(&file.metadata.sha256_hash()[..8])))
            })
            .collect()
    })
}

/// The text of the script `name`, for a route that serves it elsewhere (the service worker).
pub fn script_of(name: &str) -> String {
    file(name).map(|f| String::from_utf8_lossy(&f.data).into_owned()).unwrap_or_default()
}

/// The version of all the offline assets together: the service worker's cache name.
pub fn offline_version() -> String {
    let joined: String = OFFLINE.iter().filter_map(|name| versions().get(*name).map(String::as_str)).collect();
    hex(&ring::digest::digest(&ring::digest::SHA256, joined.as_bytes()).as_ref()[..8])
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
    let Some(file) = file(&name) else { return secured(HttpResponse::NotFound().finish()) };
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
