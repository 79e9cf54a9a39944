//! The API surface: health, keys, descriptor, OpenAPI contract, authentication and error bodies.

use serde_json::json;

use crate::both_backends;
use hunyu::domain::access::Action;
use hunyu::domain::role::Role;

use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, federation, read, single_woman, zhang_li};

both_backends!(health_keys_and_descriptor, roles_and_keys_are_enforced, bad_requests_get_problem_json);
both_backends!(the_role_matrix_is_enforced_and_leaks_nothing);

#[tokio::test]
async fn metrics_show_the_process_and_each_routes_latency() {
    let (_registry, nodes) = crate::helpers::federation(Backend::Sqlite, &[ORIGIN, crate::helpers::RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let issued = origin.issue(&crate::helpers::zhang_li()).await;
    let id = issued["id"].as_str().unwrap();
    assert_eq!(origin.get(&format!("/api/v1/certificates/{id}"), &origin.officer).await.0, 200);
    let body = json!({ "token": issued["employer_qr"] });
    assert_eq!(residence.post("/api/v1/employer/confirm", &residence.employer, &body).await.0, 200);
    let at_origin = metrics_text(origin).await;
    for name in ["process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total", "process_threads"] {
        let value: f64 = at_origin
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing: {at_origin}"))
            .parse()
            .unwrap();
        assert!(value > 0.0, "{name} {value}");
    }
    // Each route is timed under its pattern, never its concrete path (which may hold an id).
    let timed = |listener: &str, method: &str, route: &str| {
        format!(
            "hunyu_request_duration_seconds_count{{listener=\"{listener}\",method=\"{method}\",route=\"{route}\"}} 1"
        )
    };
    for expected in [
        timed("api", "GET", "/api/v1/certificates/{id}"),
        timed("api", "POST", "/api/v1/certificates"),
        timed("peer", "POST", "/exchange/v1/status"),
    ] {
        assert!(at_origin.lines().any(|line| line == expected), "{expected} missing: {at_origin}");
    }
    assert!(!at_origin.contains(id));
    assert!(metrics_text(residence).await.lines().any(|line| line == timed("api", "POST", "/api/v1/employer/confirm")));
}

async fn metrics_text(node: &TestNode) -> String {
    node.client.get(format!("{}/metrics", node.url)).send().await.unwrap().text().await.unwrap()
}

async fn health_keys_and_descriptor(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    assert_eq!(node.get("/healthz", "").await, (200, json!({ "status": "ok" })));
    assert_eq!(node.get("/readyz", "").await, (200, json!({ "status": "ready" })));
    let (status, jwks) = node.get("/.well-known/jwks.json", "").await;
    assert_eq!(status, 200);
    assert_eq!(jwks, serde_json::to_value(node.jwks()).unwrap());
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    let (status, descriptor) = node.get("/.well-known/hunyu-node", "").await;
    assert_eq!(status, 200);
    assert_eq!((descriptor["code"].as_str(), descriptor["name"].as_str()), (Some(ORIGIN.0), Some(ORIGIN.1)));
}

async fn roles_and_keys_are_enforced(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = node.issue(&zhang_li()).await;
    let token = json!({ "token": issued["qr"] });
    let create = "/api/v1/certificates";
    for (path, key, body, expected) in [
        (create, "", &zhang_li(), (401, "auth.unauthenticated")),
        (create, "hy_officer_not-a-real-key", &zhang_li(), (401, "auth.unauthenticated")),
        (create, node.worker.as_str(), &zhang_li(), (403, "auth.forbidden")),
        (create, node.employer.as_str(), &zhang_li(), (403, "auth.forbidden")),
        (create, node.admin.as_str(), &zhang_li(), (403, "auth.forbidden")),
        ("/api/v1/verify", node.employer.as_str(), &token, (403, "auth.forbidden")),
        ("/api/v1/verify", node.admin.as_str(), &token, (403, "auth.forbidden")),
    ] {
        let (status, problem) = node.post(path, key, body).await;
        assert_eq!((status, problem["code"].as_str().unwrap()), expected, "{path} {problem}");
        assert!(problem.get("certificate").is_none());
        assert!(!problem.to_string().contains("130728199003070026"));
    }
    // A 401 tells the client how to authenticate.
    let response = node.client.post(format!("{}/api/v1/verify", node.url)).json(&token).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert!(response.headers().contains_key("x-request-id"));
    // The scheme is case-insensitive.
    let lower = node
        .client
        .post(format!("{}/api/v1/verify", node.url))
        .header("authorization", format!("bearer {}", node.worker));
    assert_eq!(lower.json(&token).send().await.unwrap().status(), 200);
    // The officer may verify too.
    let (status, _) = node.post("/api/v1/verify", &node.officer, &token).await;
    assert_eq!(status, 200);
    assert_eq!(node.row_counts(), [1, 1, 1, 0]);
}

async fn bad_requests_get_problem_json(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let url = |path: &str| format!("{}{path}", node.url);
    let send = |request: reqwest::RequestBuilder| async move { read(request.send().await.unwrap()).await };

    let (status, problem) = send(node.client.get(url("/api/v1/nothing-here"))).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    // A route asked with a method it does not answer names the methods it does.
    let response = node.client.delete(url("/api/v1/certificates/some-id/renew")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    let (status, problem) = read(response).await;
    assert_eq!((status, problem["code"].as_str()), (405, Some("request.method")));
    let bad_json = node
        .client
        .post(url("/api/v1/certificates"))
        .bearer_auth(&node.officer)
        .header("content-type", "application/json")
        .body("{\"person\": ");
    let (status, problem) = send(bad_json).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("request.json")), "{problem}");
    let wrong_type = node
        .client
        .post(url("/api/v1/verify"))
        .bearer_auth(&node.worker)
        .header("content-type", "text/plain")
        .body("{\"token\": \"x\"}");
    let (status, problem) = send(wrong_type).await;
    assert_eq!((status, problem["code"].as_str()), (415, Some("request.content_type")));
    let missing_field = node.client.post(url("/api/v1/verify")).bearer_auth(&node.worker).json(&json!({}));
    let (status, problem) = send(missing_field).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("request.fields")));
    let (status, problem) =
        node.post("/api/v1/certificates", &node.officer, &json!({ "padding": "x".repeat(70_000) })).await;
    assert_eq!((status, problem["code"].as_str()), (413, Some("request.too_large")));
    assert_eq!(node.row_counts(), [0, 0, 0, 0]);
}

/// The OpenAPI document is the API's contract: any change shows as a diff of the snapshot.
#[test]
fn openapi_document_matches_the_snapshot() {
    let document = serde_json::to_string_pretty(&hunyu::http::openapi::document()).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &document).unwrap();
    }
    let snapshot = std::fs::read_to_string(path).unwrap_or_default();
    assert!(snapshot == document, "OpenAPI changed: review, then run with UPDATE_SNAPSHOTS=1 to accept");
    for path in [
        "/api/v1/certificates",
        "/api/v1/certificates/{id}/renew",
        "/api/v1/certificates/{id}/revoke",
        "/api/v1/verify",
    ] {
        assert!(document.contains(&format!("\"{path}\"")), "{path} is not documented");
    }
}

#[tokio::test]
async fn served_openapi_is_the_generated_one() {
    let node = TestNode::spawn(Backend::Sqlite, ORIGIN, &[]).await;
    let (status, served) = node.get("/api/v1/openapi.json", "").await;
    assert_eq!(status, 200);
    assert_eq!(served, serde_json::to_value(hunyu::http::openapi::document()).unwrap());
    assert_eq!(served["openapi"], "3.1.0");
}

/// Walks every action with every role: allowed roles succeed, the others get 403, and no response
/// to a role without a need for personal data carries any.
async fn the_role_matrix_is_enforced_and_leaks_nothing(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (node, other) = (&nodes[0], &nodes[1]);
    let mut people = 100..;
    for action in Action::ALL {
        for role in Role::ALL {
            let person = single_woman(people.next().unwrap());
            let issued = node.issue(&person).await;
            let id_number = person["person"]["id_number"].as_str().unwrap();
            let id = issued["id"].as_str().unwrap();
            let key = node.key(role);
            let someone = json!({ "id_number": id_number, "name": "李娜" });
            let (status, body) = match action {
                Action::IssueCertificate => {
                    node.post("/api/v1/certificates", key, &single_woman(people.next().unwrap())).await
                }
                Action::ShowCertificate => node.get(&format!("/api/v1/certificates/{id}"), key).await,
                Action::RenewCertificate => node.post(&format!("/api/v1/certificates/{id}/renew"), key, &person).await,
                Action::RevokeCertificate => {
                    node.post(&format!("/api/v1/certificates/{id}/revoke"), key, &json!({ "reason": "matrix" })).await
                }
                Action::Verify => node.post("/api/v1/verify", key, &json!({ "token": issued["qr"] })).await,
                Action::ConfirmEmployment => {
                    node.post("/api/v1/employer/confirm", key, &json!({ "token": issued["employer_qr"] })).await
                }
                Action::Lookup => node.post("/api/v1/lookup", key, &json!({ "id_number": id_number })).await,
                Action::ReadAudit => node.get("/api/v1/audit?limit=1000", key).await,
                Action::RegisterArrival => {
                    let body = json!({ "person": someone, "hukou": other.code, "address": "某街1号",
                                       "arrived_on": "2026-01-05" });
                    node.post("/api/v1/arrivals", key, &body).await
                }
                Action::RecordDeparture => {
                    let body = json!({ "person": someone, "left_on": "2026-01-05", "destination": "深圳",
                                       "to": other.code });
                    node.post("/api/v1/departures", key, &body).await
                }
                Action::SendInquiry => {
                    let body = json!({ "to": other.code, "person": someone, "question": "婚姻状况?", "urgent": false });
                    node.post("/api/v1/inquiries", key, &body).await
                }
                Action::Reply => {
                    let body = json!({ "to": node.code, "person": someone, "question": "生育情况?", "urgent": true });
                    let (status, asked) = other.post("/api/v1/inquiries", &other.worker, &body).await;
                    assert_eq!(status, 201, "{asked}");
                    other.await_receipts().await;
                    let path = format!("/api/v1/messages/{}/reply", asked["id"].as_str().unwrap());
                    node.post(&path, key, &json!({ "answer": "已核实" })).await
                }
                Action::ReportEvent => {
                    let body = json!({ "person": someone, "event": "marriage", "on": "2026-01-05", "to": other.code });
                    node.post("/api/v1/events", key, &body).await
                }
                Action::ListMessages => node.get("/api/v1/messages", key).await,
                Action::ReadLedger => node.get("/api/v1/ledgers/women", key).await,
                Action::ReadWorklist => node.get("/api/v1/worklists/answers", key).await,
                Action::ReadReport => node.get("/api/v1/reports/assessment?month=2026-11", key).await,
                Action::ReadReportPersons => {
                    node.get("/api/v1/reports/assessment/persons?month=2026-11&indicator=verification_rate", key).await
                }
                Action::CloseMonth => {
                    node.post("/api/v1/reports/assessment/close", key, &json!({ "month": "2026-10" })).await
                }
                Action::RefreshDirectory => node.post("/api/v1/admin/directory/refresh", key, &json!({})).await,
                Action::ManageAccounts => {
                    let name = format!("matrix.{}", people.next().unwrap());
                    let body = json!({ "name": name, "role": "worker", "password": "a long enough password" });
                    node.post("/api/v1/admin/accounts", key, &body).await
                }
                Action::PrintCertificate => {
                    node.post(&format!("/api/v1/certificates/{id}/holder-code"), key, &json!({})).await
                }
                Action::AnswerCorrection => {
                    let filed = crate::pages::filed_correction(node, id, id_number).await;
                    node.post(&format!("/api/v1/corrections/{filed}/answer"), key, &json!({ "answer": "已更正" })).await
                }
            };
            let allowed = action.roles().contains(&role);
            assert_eq!((200..300).contains(&status), allowed, "{action:?} as {role}: {status} {body}");
            if !allowed {
                assert_eq!(body["code"], "auth.forbidden");
            }
            let sees_personal_data = allowed && matches!(role, Role::Officer | Role::Worker);
            if !sees_personal_data {
                let text = body.to_string();
                assert!(!text.contains(id_number), "{action:?} as {role} shows an ID number: {text}");
                assert!(!text.contains("\"marital\""), "{action:?} as {role} shows marital data: {text}");
            }
        }
    }
}
