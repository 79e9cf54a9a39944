//! The OpenAPI 3.1 document, collected from the very routes the server registers
//! ([`super::routes`]), and completed with the answers every route shares: a route behind a key
//! may answer 401 and 403, one that reads a JSON body 400, 413, 415 and 422, one with a query
//! 400, and any route 500 — each as `application/problem+json`.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use utoipa::openapi::content::Content;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref, RefOr};
use utoipa::{Modify, OpenApi as _};
use utoipa_actix_web::AppExt as _;

use super::error::{PROBLEM_JSON, Problem};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "hunyu", description = "流动人口婚育证明 — issue, verify and exchange marriage-and-childbearing certificates"),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document served at `/api/v1/openapi.json`.
pub fn document() -> OpenApi {
    let (_, mut document) =
        actix_web::App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(super::routes).split_for_parts();
    for item in document.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            complete(operation);
        }
    }
    document
}

/// The methods the document gives the route that `path` names (`{id}` matches one segment).
pub fn methods_at(document: &OpenApi, path: &str) -> Vec<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    let matches = |template: &str| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(part, segment)| {
                part == segment || (part.starts_with('{') && part.ends_with('}') && !segment.is_empty())
            })
    };
    let Some(item) = document.paths.paths.iter().find(|(template, _)| matches(template)).map(|(_, item)| item) else {
        return Vec::new();
    };
    let methods = [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("DELETE", &item.delete),
        ("PATCH", &item.patch),
    ];
    methods.into_iter().filter(|(_, operation)| operation.is_some()).map(|(method, _)| method).collect()
}

/// Adds the answers `operation` shares with every route of its kind, and gives every error its
/// problem+json body.
fn complete(operation: &mut Operation) {
    // Any route may be refused while its caller's address has its share of requests in progress.
    let mut shared = vec![StatusCode::TOO_MANY_REQUESTS, StatusCode::INTERNAL_SERVER_ERROR];
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        shared.extend([StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN]);
    }
    if operation.request_body.is_some() {
        shared.extend([
            StatusCode::BAD_REQUEST,
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StatusCode::UNPROCESSABLE_ENTITY,
        ]);
    }
    let queried = operation.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Query);
    if queried {
        shared.push(StatusCode::BAD_REQUEST);
    }
    let responses: &mut BTreeMap<String, RefOr<Response>> = &mut operation.responses.responses;
    for status in shared {
        responses.entry(status.as_str().to_owned()).or_insert_with(|| problem(status, None).into());
    }
    for (status, response) in responses.iter_mut() {
        let Ok(status) = status.parse::<StatusCode>() else { continue };
        if let (true, RefOr::T(answer)) = (status.as_u16() >= 400, response) {
            let description = std::mem::take(&mut answer.description);
            *answer = problem(status, Some(description));
        }
    }
}

/// An error answer: its description, and a problem document as its body.
fn problem(status: StatusCode, description: Option<String>) -> Response {
    let description = description.filter(|d| !d.is_empty());
    ResponseBuilder::new()
        .description(description.unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase()))
        .content(PROBLEM_JSON, Content::new(Some(Ref::from_schema_name("Problem"))))
        .build()
}
