//! The audit log: every access to personal data, hash-chained, checked by `hunyu audit verify`.

use std::process::Command;

use diesel::connection::SimpleConnection as _;
use hunyu::store::StoreError;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, three_children, zhang_li};

both_backends!(every_access_is_recorded_without_id_numbers, tampering_is_named_by_audit_verify);
both_backends!(concurrent_accesses_keep_the_chain, refusals_listings_and_purposes_are_recorded);
both_backends!(a_search_by_person_reads_the_index_and_the_tail_once);

fn audit_verify(node: &TestNode) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hunyu"))
        .args(["audit", "verify", "--config", node.dir.path().join("hunyu.toml").to_str().unwrap()])
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

async fn entries(node: &TestNode, query: &str) -> Vec<Value> {
    let (status, body) = node.get(&format!("/api/v1/audit{query}"), &node.auditor).await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().clone()
}

fn tamper(node: &TestNode, sql: &'static str) {
    node.core.store.write(move |conn| conn.batch_execute(sql).map_err(StoreError::from)).unwrap();
}

async fn every_access_is_recorded_without_id_numbers(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&zhang_li()).await;
    let id = issued["id"].as_str().unwrap();
    origin.verify(issued["qr"].as_str().unwrap()).await;
    let response = residence
        .client
        .post(format!("{}/api/v1/verify", residence.url))
        .bearer_auth(&residence.worker)
        .header("hunyu-purpose", "入户核查 home visit")
        .json(&json!({ "token": issued["qr"] }))
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(response.status(), 200);
    origin.get(&format!("/api/v1/certificates/{id}"), &origin.officer).await;
    origin.post("/api/v1/employer/confirm", &origin.employer, &json!({ "token": issued["employer_qr"] })).await;
    origin.post(&format!("/api/v1/certificates/{id}/revoke"), &origin.officer, &json!({ "reason": "注销" })).await;
    origin.post("/api/v1/verify", &origin.worker, &json!({ "token": "forged" })).await;

    let log = entries(&origin, "").await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["issue_certificate", "verify", "show_certificate", "confirm_employment", "revoke_certificate", "verify"]
    );
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains("130728199003070026") && !text.contains("张丽"), "personal data in the audit log");
    // One person, one keyed name; the forged token names nobody.
    let subjects: Vec<&Value> = log.iter().map(|e| &e["subject"]).collect();
    assert!(subjects[..5].iter().all(|s| *s == subjects[0] && s.is_string()), "{subjects:?}");
    assert!(subjects[5].is_null());
    assert_eq!(log[4]["outcome"], "revoked v1, 0 residence(s) told");
    assert_eq!(log[5]["outcome"], "malformed");
    assert_eq!(log[1]["role"], "worker");
    assert_eq!(log[3]["role"], "employer");

    // The residence recorded its own access, with the stated purpose and the request id.
    let there = entries(&residence, "?action=verify").await;
    assert_eq!(there.len(), 1);
    assert_eq!(there[0]["purpose"], "入户核查 home visit");
    assert_eq!(there[0]["request_id"], request_id.as_str());
    assert_eq!(there[0]["outcome"], "active");
    // Filters and paging; each reading of the log is itself an entry.
    assert_eq!(entries(&origin, "?action=verify&limit=1").await.len(), 1);
    let later = entries(&origin, "?after=5").await;
    let actions: Vec<&str> = later.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["verify", "read_audit", "read_audit"]);
    assert_eq!((later[1]["outcome"].as_str(), later[1]["role"].as_str()), (Some("6 listed"), Some("auditor")));
    let (status, problem) = origin.get("/api/v1/audit?id_number=130728199003070026", &origin.auditor).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("request.query")));
    assert!(!problem.to_string().contains("130728199003070026"));
}

/// Every attempt at personal data is an entry, refused ones too; a stated purpose is kept
/// cleaned and masked; a list of messages names each person it showed.
async fn refusals_listings_and_purposes_are_recorded(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&zhang_li()).await;
    let token = json!({ "token": issued["qr"] });
    let verify = format!("{}/api/v1/verify", origin.url);
    let refused = [
        origin.client.post(&verify).json(&token),
        origin.client.post(&verify).bearer_auth("hy_worker_unknown").json(&token),
        origin.client.post(&verify).bearer_auth(&origin.employer).json(&token),
        origin
            .client
            .post(format!("{}/api/v1/lookup", origin.url))
            .bearer_auth(&origin.worker)
            .json(&json!({ "id_number": "130728199003070027" })),
        origin.client.get(format!("{}/api/v1/certificates/no-such-one", origin.url)).bearer_auth(&origin.officer),
    ];
    for request in refused {
        assert!(request.send().await.unwrap().status().is_client_error());
    }
    let purpose = "核实130728199003070026的情况\u{202E}";
    let stated = origin.client.post(&verify).bearer_auth(&origin.worker).header("hunyu-purpose", purpose).json(&token);
    assert_eq!(stated.send().await.unwrap().status(), 200);

    let log = entries(&origin, "?after=1").await;
    let seen: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["role"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("authenticate", "none", "refused: auth.unauthenticated"),
            ("verify", "none", "refused: auth.unauthenticated"),
            ("verify", "employer", "refused: auth.forbidden"),
            ("lookup", "worker", "refused: id_number.checksum"),
            ("show_certificate", "officer", "refused: not_found"),
            ("verify", "worker", "active"),
        ]
    );
    assert_eq!(log[0]["object"], "POST /api/v1/verify");
    assert_eq!(log[5]["purpose"], "核实******************的情况");

    // The residence lists what it sent about her: the listing is an entry about her.
    let arrival = json!({ "token": issued["qr"], "address": "宝安区新安街道", "arrived_on": crate::exchange::today() });
    let (status, sent) = residence.post("/api/v1/arrivals", &residence.worker, &arrival).await;
    assert_eq!(status, 201, "{sent}");
    residence.messages("direction=out").await;
    let her = entries(&residence, "?action=verify").await[0]["subject"].clone();
    let listed = entries(&residence, "?action=list_messages").await;
    assert_eq!((listed.len(), &listed[0]["subject"], listed[0]["outcome"].as_str()), (1, &her, Some("1 listed")));
}

async fn tampering_is_named_by_audit_verify(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = origin.issue(&three_children()).await;
    for _ in 0..4 {
        origin.verify(issued["qr"].as_str().unwrap()).await;
    }
    let (ok, out) = audit_verify(&origin);
    assert!(ok, "{out}");
    assert!(out.contains("intact: 5 entries"), "{out}");

    tamper(&origin, "UPDATE audit_log SET outcome = 'revoked' WHERE seq = 3");
    let (ok, out) = audit_verify(&origin);
    assert!(!ok);
    assert!(out.contains("entry #3: was changed"), "{out}");

    tamper(&origin, "DELETE FROM audit_log WHERE seq = 3");
    let (ok, out) = audit_verify(&origin);
    assert!(!ok);
    assert!(out.contains("entry #4: entries #3 to #3 are missing"), "{out}");
}

async fn concurrent_accesses_keep_the_chain(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = origin.issue(&zhang_li()).await;
    let qr = issued["qr"].as_str().unwrap().to_owned();
    let shown = format!("{}/api/v1/certificates/{}", origin.url, issued["id"].as_str().unwrap());
    // Verifications append their entries alone, showings in the transaction of their read: both
    // kinds share the writer's batches.
    let mut tasks = Vec::new();
    for n in 0..40 {
        let (client, url, qr, shown) = (origin.client.clone(), origin.url.clone(), qr.clone(), shown.clone());
        let (worker, officer) = (origin.worker.clone(), origin.officer.clone());
        tasks.push(tokio::spawn(async move {
            let response = if n % 2 == 0 {
                client.post(format!("{url}/api/v1/verify")).bearer_auth(worker).json(&json!({ "token": qr })).send()
            } else {
                client.get(shown).bearer_auth(officer).send()
            };
            response.await.unwrap().status().as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let (ok, out) = audit_verify(&origin);
    assert!(ok && out.contains("intact: 41 entries"), "{out}");
}

/// The writer puts entries in the index by person in large batches, after the commits that
/// answered: a search by person finds her entries in the index, in the tail of the log not yet
/// indexed, and across both, each once and in order.
async fn a_search_by_person_reads_the_index_and_the_tail_once(backend: Backend) {
    use hunyu::store::audit::{self, AuditFilter, NewAudit};
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let store = &node.core.store;
    let entry = |subject: &str| NewAudit {
        at: chrono::Utc::now().naive_utc(),
        request_id: "test".into(),
        actor: "k-test".into(),
        role: "worker".into(),
        action: "verify",
        subject: Some(subject.into()),
        object: None,
        purpose: "查验".into(),
        outcome: "active".into(),
    };
    let hers = |limit: i64| {
        let filter = AuditFilter { subject: Some("her".into()), limit: Some(limit), ..AuditFilter::default() };
        let rows = store.read(|conn| audit::list(conn, &filter)).unwrap();
        rows.into_iter().map(|row| row.seq).collect::<Vec<_>>()
    };
    let first = store.read(|conn| audit::list(conn, &AuditFilter::default())).unwrap().len() as i64;
    store.audit(vec![entry("her"), entry("another"), entry("her")]).unwrap();
    assert_eq!(hers(100), [first + 1, first + 3]);
    store.write(audit::index_subjects).unwrap();
    assert_eq!(hers(100), [first + 1, first + 3], "from the index");
    store.audit(vec![entry("another"), entry("her")]).unwrap();
    assert_eq!(hers(100), [first + 1, first + 3, first + 5], "from the index and the tail");
    assert_eq!(hers(2), [first + 1, first + 3], "a page ends where it is full");
    store.write(audit::index_subjects).unwrap();
    assert_eq!(hers(100), [first + 1, first + 3, first + 5]);
}
