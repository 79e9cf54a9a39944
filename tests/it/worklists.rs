//! A worker's worklists: the answers her node owes, the women registered without a valid
//! certificate, the checks owed and the women gone without one, each with its deadline, until
//! the duty is done; and the women's cards the exchange keeps that the last list reads.

use chrono::{Days, Utc};
use hunyu::domain::assessment::Month;
use hunyu::domain::calendar::{WorkCalendar, local_date};
use serde_json::{Value, json};

use crate::both_backends;
use crate::exchange::today;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode};
use crate::reports::{counts, figure};

both_backends!(
    duties_stay_on_the_worklist_until_done,
    the_cards_follow_the_exchange_and_name_the_checks_and_outflows_owed,
    a_bad_worklist_request_is_refused_and_audited
);

/// The items of `list` at `node`, read by its worker; panics unless 200.
async fn worklist(node: &TestNode, list: &str) -> Vec<Value> {
    let (status, page) = node.get(&format!("/api/v1/worklists/{list}"), &node.worker).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

fn days_from_today(days: u64) -> String {
    (local_date(Utc::now()) + Days::new(days)).to_string()
}

async fn duties_stay_on_the_worklist_until_done(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let zhang = json!({ "id_number": "130728199003070026", "name": "张丽" });
    let arrival = json!({ "person": zhang, "hukou": ORIGIN.0, "address": "新安街道", "arrived_on": today() });
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &arrival).await.0, 201);
    let ask = |urgent| json!({ "to": ORIGIN.0, "person": zhang, "question": "请核实", "urgent": urgent });
    let (_, urgent) = residence.post("/api/v1/inquiries", &residence.worker, &ask(true)).await;
    let birth = json!({ "person": zhang, "event": "birth", "on": today() });
    let (_, birth) = residence.post("/api/v1/events", &residence.worker, &birth).await;
    residence.await_receipts().await;

    // The residence sees to her certificate; the origin owes two answers, the urgent one first.
    let arrivals = worklist(&residence, "arrivals").await;
    assert_eq!(arrivals.len(), 1, "{arrivals:?}");
    assert_eq!(
        (&arrivals[0]["task"], &arrivals[0]["name"], &arrivals[0]["due_on"], &arrivals[0]["overdue"]),
        (&json!("obtain_certificate"), &json!("张丽"), &json!(days_from_today(90)), &json!(false))
    );
    assert!(worklist(&origin, "arrivals").await.is_empty(), "the origin registered no one");
    assert!(worklist(&residence, "answers").await.is_empty(), "the residence owes no answer");
    let answers = worklist(&origin, "answers").await;
    let summary: Vec<(&Value, &Value, &Value)> =
        answers.iter().map(|i| (&i["task"], &i["source"], &i["due_on"])).collect();
    assert_eq!(
        summary,
        [
            (&json!("answer_inquiry"), &urgent["id"], &json!(days_from_today(15))),
            (&json!("answer_birth_report"), &birth["id"], &json!(days_from_today(30))),
        ]
    );
    assert_eq!(answers[0]["peer"], RESIDENCE.0);
    let (status, _, csv) = origin.download("/api/v1/worklists/answers?format=csv", &origin.officer, None).await;
    assert_eq!(status, 200, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with(&format!(
            "answer_inquiry,130728199003070026,张丽,{},{},否 no,否 no,{}",
            today(),
            days_from_today(15),
            RESIDENCE.0
        )),
        "{csv}"
    );
    let (status, page) = origin.get("/api/v1/worklists/answers?limit=1", &origin.officer).await;
    assert_eq!((status, page["items"].as_array().unwrap().len()), (200, 1));

    // Answering takes the inquiry off; registering her with a valid certificate takes her off.
    let reply = format!("/api/v1/messages/{}/reply", urgent["id"].as_str().unwrap());
    assert_eq!(origin.post(&reply, &origin.officer, &json!({ "answer": "已婚" })).await.0, 201);
    let answers = worklist(&origin, "answers").await;
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["source"], birth["id"]);
    let issued = origin.issue(&crate::helpers::zhang_li()).await;
    let certified = json!({ "token": issued["qr"], "address": "新安街道", "arrived_on": today() });
    let (status, sent) = residence.post("/api/v1/arrivals", &residence.worker, &certified).await;
    assert_eq!(status, 201, "{sent}");
    assert!(worklist(&residence, "arrivals").await.is_empty());
    let women = residence.get("/api/v1/ledgers/women", &residence.worker).await.1;
    assert_eq!(women["entries"][1]["certificate"].as_str().map(str::len), Some(36), "{women}");
}

/// This month's figure of `indicator` at `node`, as (numerator, denominator).
async fn this_month(node: &TestNode, indicator: &str) -> (Value, Value) {
    let month = Month::of(Utc::now());
    let (status, assessed) = node.get(&format!("/api/v1/reports/assessment?month={month}"), &node.officer).await;
    assert_eq!(status, 200, "{assessed}");
    counts(figure(&assessed, indicator))
}

/// An arrival without a certificate gives the residence a check owed in 5 working days and the
/// origin a woman gone without a certificate; both keep her card from the messages alone, which
/// the reported marriage and IUD bring up to date.
async fn the_cards_follow_the_exchange_and_name_the_checks_and_outflows_owed(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let zhang = json!({ "id_number": "130728199003070026", "name": "张丽" });
    let arrival = json!({ "person": zhang, "hukou": ORIGIN.0, "address": "新安街道", "arrived_on": today() });
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &arrival).await.0, 201);
    for event in [json!({ "event": "marriage" }), json!({ "event": "contraception", "method": "iud" })] {
        let mut report = json!({ "person": zhang, "on": today() });
        report.as_object_mut().unwrap().extend(event.as_object().unwrap().clone());
        let (status, sent) = residence.post("/api/v1/events", &residence.worker, &report).await;
        assert_eq!(status, 201, "{sent}");
    }
    residence.await_receipts().await;

    let checks = worklist(&residence, "checks").await;
    let due = WorkCalendar::shipped().unwrap().add_working_days(local_date(Utc::now()), 5);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(
        (&checks[0]["task"], &checks[0]["due_on"], &checks[0]["provisional"]),
        (&json!("verify_certificate"), &json!(due.date.to_string()), &json!(due.is_provisional()))
    );
    assert!(worklist(&origin, "checks").await.is_empty(), "the origin checks no one");
    let outflows = worklist(&origin, "outflows").await;
    assert_eq!(outflows.len(), 1, "{outflows:?}");
    let month_end = Month::of(Utc::now()).last_day().to_string();
    assert_eq!(
        (&outflows[0]["task"], &outflows[0]["name"], &outflows[0]["peer"], &outflows[0]["due_on"]),
        (&json!("issue_certificate"), &json!("张丽"), &json!(RESIDENCE.0), &json!(month_end))
    );
    assert!(worklist(&residence, "outflows").await.is_empty(), "the residence keeps her as residence");
    // Both cards say she is married with an IUD: long-acting at both ends.
    for node in [&origin, &residence] {
        assert_eq!(this_month(node, "long_acting_rate").await, (json!(1), json!(1)), "{}", node.code);
    }
    assert_eq!(this_month(&origin, "issuance_rate").await, (json!(0), json!(1)));

    // Her certificate takes her off the origin's list; shown at the residence, off its checks.
    let issued = origin.issue(&crate::helpers::zhang_li()).await;
    assert!(worklist(&origin, "outflows").await.is_empty());
    assert_eq!(this_month(&origin, "issuance_rate").await, (json!(1), json!(1)));
    let certified = json!({ "token": issued["qr"], "address": "新安街道", "arrived_on": today() });
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &certified).await.0, 201);
    assert!(worklist(&residence, "checks").await.is_empty());
}

async fn a_bad_worklist_request_is_refused_and_audited(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let (status, problem) = node.get("/api/v1/worklists/chores", &node.worker).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")), "{problem}");
    let (status, problem) = node.get("/api/v1/worklists/answers?limit=ten", &node.worker).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("request.query")), "{problem}");
    assert_eq!(node.get("/api/v1/worklists/answers", &node.employer).await.0, 403);
    assert_eq!(node.get("/api/v1/worklists/answers", &node.auditor).await.0, 403);
    let (status, audit) = node.get("/api/v1/audit?action=read_worklist&limit=1000", &node.auditor).await;
    assert_eq!(status, 200);
    let outcomes: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert!(outcomes.iter().any(|o| o.contains("not_found")), "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| o.contains("auth.forbidden")).count(), 2, "{outcomes:?}");
}
