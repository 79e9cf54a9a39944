//! The books of record (三帐一卡) follow from what the nodes exchange, on both sides, and no
//! endpoint writes them.

use calamine::Data;
use hunyu::http::download::XLSX;
use serde_json::{Value, json};

use crate::both_backends;
use crate::exchange::today;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, xlsx_sheet};

both_backends!(the_books_follow_the_exchange_on_both_sides, a_bad_book_request_is_refused_and_audited);

/// The entries of `book` at `node`, read by its worker; panics unless 200.
async fn book(node: &TestNode, book: &str, query: &str) -> Vec<Value> {
    let (status, page) = node.get(&format!("/api/v1/ledgers/{book}{query}"), &node.worker).await;
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().unwrap().clone()
}

/// `(kind, side, id_number)` of each entry.
fn summary(entries: &[Value]) -> Vec<(String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    entries.iter().map(|e| (text(&e["kind"]), text(&e["side"]), text(&e["id_number"]))).collect()
}

async fn the_books_follow_the_exchange_on_both_sides(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let zhang = "130728199003070026";
    let li = "130728200109150046";
    let person = json!({ "id_number": zhang, "name": "张丽" });
    let arrival = json!({ "person": person, "hukou": ORIGIN.0, "address": "新安街道", "arrived_on": today() });
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &arrival).await.0, 201);
    let departure = json!({ "person": { "id_number": li, "name": "李娜" }, "left_on": today(),
                            "destination": "广东省深圳市宝安区", "to": RESIDENCE.0 });
    assert_eq!(origin.post("/api/v1/departures", &origin.officer, &departure).await.0, 201);
    let birth = json!({ "person": person, "event": "birth", "on": today() });
    assert_eq!(residence.post("/api/v1/events", &residence.worker, &birth).await.0, 201);
    let service = json!({ "person": person, "event": "contraception", "on": today(), "method": "pill" });
    let (status, service) = residence.post("/api/v1/events", &residence.worker, &service).await;
    assert_eq!(status, 201);
    let corrected = json!({ "person": person, "event": "contraception", "on": today(), "method": "iud",
                            "corrects": service["id"] });
    let (status, correction) = residence.post("/api/v1/events", &residence.worker, &corrected).await;
    assert_eq!(status, 201);
    // An inquiry makes no entry.
    let inquiry = json!({ "to": ORIGIN.0, "person": person, "question": "?", "urgent": false });
    assert_eq!(residence.post("/api/v1/inquiries", &residence.worker, &inquiry).await.0, 201);
    residence.await_receipts().await;
    origin.await_receipts().await;

    let (arrived, res, ori) = ("arrived".to_owned(), "residence".to_owned(), "origin".to_owned());
    // The residence keeps the arrival it registered; the departure told to it is not an arrival.
    assert_eq!(summary(&book(&residence, "women", "").await), [(arrived.clone(), res.clone(), zhang.to_owned())]);
    // The origin keeps the departure it recorded and the arrival it was told of (which one it
    // recorded first depends on when the notice arrived).
    let women = book(&origin, "women", "").await;
    let mut kept = summary(&women);
    kept.sort();
    assert_eq!(kept, [(arrived, ori.clone(), zhang.to_owned()), ("left".to_owned(), ori.clone(), li.to_owned())]);
    let told = women.iter().find(|e| e["kind"] == "arrived").unwrap();
    assert_eq!((&told["name"], &told["on"]), (&json!("张丽"), &json!(today())));
    for node in [&origin, &residence] {
        let births = book(node, "births", "").await;
        assert_eq!(births.len(), 1, "{births:?}");
        assert_eq!(births[0]["kind"], "birth");
        assert!(book(node, "marriages", "").await.is_empty());
        // The correction is kept beside what it corrects, which names it.
        let services = book(node, "services", "").await;
        assert_eq!(services.len(), 2, "{services:?}");
        assert_eq!((&services[0]["method"], &services[0]["corrected_by"]), (&json!("pill"), &correction["id"]));
        assert_eq!((&services[1]["method"], &services[1]["corrects"]), (&json!("iud"), &service["id"]));
        assert!(services[1]["corrected_by"].is_null());
        // Paging by id, and the period of the events.
        let after = services[0]["id"].as_i64().unwrap();
        assert_eq!(book(node, "services", &format!("?after={after}")).await.len(), 1);
        assert_eq!(book(node, "services", "?limit=1").await.len(), 1);
        assert_eq!(book(node, "services", &format!("?from={}&to={}", today(), today())).await.len(), 2);
        assert!(book(node, "services", "?to=2000-01-01").await.is_empty());
    }
    // The same book as a CSV file Excel reads: a byte-order mark, Chinese headers, a row per entry.
    for (query, accept) in [("?format=csv", None), ("", Some("text/csv"))] {
        let (status, content_type, csv) =
            residence.download(&format!("/api/v1/ledgers/services{query}"), &residence.officer, accept).await;
        assert_eq!((status, content_type.as_str()), (200, "text/csv; charset=utf-8"), "{csv}");
        let lines: Vec<&str> = csv.strip_prefix('\u{feff}').unwrap().lines().collect();
        assert!(lines[0].starts_with("序号 id,事项 kind,管理方 side,公民身份号码 id_number,姓名 name"), "{csv}");
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(lines[1].contains(",contraception,residence,130728199003070026,张丽,") && lines[1].contains(",pill,"));
    }
    // And as a workbook, by `format=` or by `Accept`.
    for (query, accept) in [("?format=xlsx", None), ("", Some(XLSX))] {
        let path = format!("/api/v1/ledgers/services{query}");
        let (status, content_type, xlsx) = residence.download_bytes(&path, &residence.officer, accept).await;
        assert_eq!((status, content_type.as_str()), (200, XLSX));
        let sheet = xlsx_sheet(&xlsx, "节育手术帐");
        assert_eq!(sheet.get_value((0, 3)), Some(&Data::String("公民身份号码 id_number".into())));
        assert_eq!(sheet.height(), 3, "a header and two entries");
        assert_eq!(sheet.get_value((1, 4)), Some(&Data::String("张丽".into())));
        assert_eq!(sheet.get_value((1, 6)), Some(&Data::String("pill".into())));
    }
    let (status, _, _) = residence.download("/api/v1/ledgers/services?format=xml", &residence.officer, None).await;
    assert_eq!(status, 400);
    // Reading a book is an access to each woman in it: an audit entry per woman.
    let (status, audit) = origin.get("/api/v1/audit?action=read_ledger&limit=1000", &origin.auditor).await;
    assert_eq!(status, 200);
    let subjects: Vec<&Value> = audit["entries"].as_array().unwrap().iter().map(|e| &e["subject"]).collect();
    assert!(subjects.iter().filter(|s| !s.is_null()).count() >= 2, "{audit}");
}

async fn a_bad_book_request_is_refused_and_audited(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let (status, problem) = node.get("/api/v1/ledgers/taxes", &node.worker).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")), "{problem}");
    let (status, problem) = node.get("/api/v1/ledgers/women?from=2026-12-02&to=2026-12-01", &node.officer).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("period.order")), "{problem}");
    let (status, problem) = node.get("/api/v1/ledgers/women?from=2026-13-01", &node.officer).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("request.query")), "{problem}");
    let (status, problem) = node.get("/api/v1/ledgers/women?sort=name", &node.officer).await;
    assert_eq!(status, 400, "{problem}");
    let (status, _) = node.get("/api/v1/ledgers/women", &node.employer).await;
    assert_eq!(status, 403);
    let (status, audit) = node.get("/api/v1/audit?action=read_ledger&limit=1000", &node.auditor).await;
    assert_eq!(status, 200);
    let outcomes: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert!(outcomes.iter().any(|o| o.contains("not_found")), "{outcomes:?}");
    assert!(outcomes.iter().any(|o| o.contains("period.order")), "{outcomes:?}");
    assert!(outcomes.iter().any(|o| o.contains("auth.forbidden")), "{outcomes:?}");
}
