//! The OpenAPI 3.1 document, generated from the handlers and types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{audit, certificates, employer, exchange, lookup, meta, verify};

#[derive(OpenApi)]
#[openapi(
    info(title = "hunyu", description = "流动人口婚育证明 — issue, verify and exchange marriage-and-childbearing certificates"),
    paths(
        meta::healthz, meta::readyz, meta::jwks, meta::node_descriptor, meta::status_list, meta::openapi_json, meta::metrics,
        certificates::create, certificates::show, certificates::renew, certificates::revoke, employer::confirm, audit::list, lookup::lookup,
        verify::verify, exchange::arrival, exchange::departure, exchange::inquiry, exchange::event, exchange::reply,
        exchange::messages, exchange::refresh_directory,
    ),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document served at `/api/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
