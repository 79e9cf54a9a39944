//! Every query the service runs uses an index (DESIGN §10: no slow path at a million
//! certificates): the SQL of a whole story is recorded on SQLite and each statement's plan read.
//! `cargo test --test it plans -- --nocapture` shows them.

use hunyu::domain::assessment::Indicator;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use diesel::{Connection as _, QueryableByName, RunQueryDsl as _, SqliteConnection};
use serde_json::json;

use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, zhang_li};

/// Connections to databases with this file name are recorded (the other tests' are not).
const RECORDED_DB: &str = "plans.db";

static RECORDING: AtomicBool = AtomicBool::new(false);
static STATEMENTS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Records the SQL of the connection it is set on, once it knows it is one of this test's.
#[derive(Default)]
struct Recorder {
    ours: bool,
}

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => self.ours = url.ends_with(RECORDED_DB),
            InstrumentationEvent::StartQuery { query, .. } if self.ours && RECORDING.load(Ordering::Relaxed) => {
                let text = query.to_string();
                // diesel appends the bound values after the SQL.
                let sql = text.split(" -- binds:").next().unwrap_or_default().trim().to_owned();
                STATEMENTS.lock().unwrap().insert(sql);
            }
            _ => {}
        }
    }
}

fn recorder() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(Recorder::default()))
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// Tables that grow with the people served, the messages exchanged and the accesses made.
const GROWING: [&str; 10] = [
    "persons",
    "certificates",
    "certificate_versions",
    "certificate_events",
    "messages",
    "received_statuses",
    "audit_log",
    "audit_subjects",
    "ledger_entries",
    "women_cards",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_of_the_story_uses_an_index() {
    set_default_instrumentation(recorder).unwrap();
    let plans_db =
        |config: &mut hunyu::config::Config| config.database.url = config.database.url.replace("node.db", RECORDED_DB);
    let origin = TestNode::spawn_with(Backend::Sqlite, ORIGIN, &[], plans_db).await;
    let residence = TestNode::spawn_with(Backend::Sqlite, RESIDENCE, &[&origin], plans_db).await;

    // The story: issue, show, renew, verify at both ends, the employer check, look up, register
    // her arrival, ask and answer, list, revoke, search the audit log. (What a node reads once
    // when it starts is not part of it.)
    RECORDING.store(true, Ordering::Relaxed);
    let issued = origin.issue(&zhang_li()).await;
    let id = issued["id"].as_str().unwrap();
    origin.get(&format!("/api/v1/certificates/{id}"), &origin.officer).await;
    let (status, renewed) =
        origin.post(&format!("/api/v1/certificates/{id}/renew"), &origin.officer, &zhang_li()).await;
    assert_eq!(status, 201, "{renewed}");
    for node in [&origin, &residence] {
        node.verify(issued["qr"].as_str().unwrap()).await;
        node.verify(renewed["qr"].as_str().unwrap()).await;
    }
    origin.post("/api/v1/employer/confirm", &origin.employer, &json!({ "token": renewed["employer_qr"] })).await;
    origin.post("/api/v1/lookup", &origin.worker, &json!({ "id_number": "130728199003070026" })).await;
    let lookup = json!({ "id_number": "130728199003070026", "origin": ORIGIN.0 });
    residence.post("/api/v1/lookup", &residence.worker, &lookup).await;
    let arrival = json!({ "token": renewed["qr"], "address": "宝安区新安街道", "arrived_on": "2026-11-01" });
    let (status, sent) = residence.post("/api/v1/arrivals", &residence.worker, &arrival).await;
    assert_eq!(status, 201, "{sent}");
    let inquiry = json!({ "to": ORIGIN.0, "person": { "id_number": "130728199003070026", "name": "张丽" },
                          "question": "请核实其婚育情况", "urgent": true });
    let (_, asked) = residence.post("/api/v1/inquiries", &residence.worker, &inquiry).await;
    residence.await_receipts().await;
    let reply = format!("/api/v1/messages/{}/reply", asked["id"].as_str().unwrap());
    origin.post(&reply, &origin.officer, &json!({ "answer": "已婚" })).await;
    origin.await_receipts().await;
    for query in ["direction=in", "state=overdue&limit=5", "kind=inquiry&peer=130728102000", "peer=130728102000"] {
        residence.messages(query).await;
    }
    origin.post(&format!("/api/v1/certificates/{id}/revoke"), &origin.officer, &json!({ "reason": "注销" })).await;
    origin.await_receipts().await;
    let (_, verified) = origin.get("/api/v1/audit?action=verify", &origin.auditor).await;
    let subject = verified["entries"][0]["subject"].as_str().unwrap().to_owned();
    let (_, hers) = origin.get(&format!("/api/v1/audit?subject={subject}"), &origin.auditor).await;
    assert!(!hers["entries"].as_array().unwrap().is_empty(), "{hers}");
    for query in ["women", "women?from=2026-11-01&to=2026-11-30", "births?after=1&limit=5", "services?to=2026-11-30"] {
        let (status, page) = origin.get(&format!("/api/v1/ledgers/{query}"), &origin.officer).await;
        assert_eq!(status, 200, "{page}");
    }
    let (status, page) = origin.get("/api/v1/reports/assessment?month=2026-11", &origin.officer).await;
    assert_eq!(status, 200, "{page}");
    for indicator in Indicator::ALL.into_iter().filter(|i| *i != Indicator::LedgerConsistency) {
        for only in ["", "&only=met", "&only=missed"] {
            let path = format!("/api/v1/reports/assessment/persons?month=2026-11&indicator={indicator}{only}");
            let (status, page) = origin.get(&path, &origin.officer).await;
            assert_eq!(status, 200, "{page}");
        }
    }
    for _ in 0..2 {
        let month = json!({ "month": "2026-10" });
        let (status, closed) = origin.post("/api/v1/reports/assessment/close", &origin.officer, &month).await;
        assert_eq!(status, 200, "{closed}");
    }
    for list in ["answers", "arrivals", "checks", "outflows"] {
        let (status, page) = origin.get(&format!("/api/v1/worklists/{list}"), &origin.worker).await;
        assert_eq!(status, 200, "{page}");
    }
    RECORDING.store(false, Ordering::Relaxed);

    let statements = std::mem::take(&mut *STATEMENTS.lock().unwrap());
    let mut conn = SqliteConnection::establish(&origin.dir.path().join(RECORDED_DB).display().to_string()).unwrap();
    let mut slow = Vec::new();
    let mut explained = 0;
    for sql in statements.iter().filter(|sql| ["SELECT", "UPDATE", "DELETE"].iter().any(|v| sql.starts_with(v))) {
        let plan: Vec<PlanRow> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load(&mut conn).unwrap();
        explained += 1;
        println!("{sql}\n{}\n", plan.iter().map(|row| format!("    {}", row.detail)).collect::<Vec<_>>().join("\n"));
        // A bare SCAN reads the whole table, unless it walks the rowid (an INTEGER PRIMARY KEY)
        // in the order asked, without a sort, and stops at the LIMIT. A SCAN in primary-key order
        // stops at the LIMIT too, unless it must filter: then it may read the whole table to fill
        // a page.
        let sorted = plan.iter().any(|row| row.detail.starts_with("USE TEMP B-TREE"));
        let stops_at_limit = !sql.contains(" WHERE ") && sql.contains(" LIMIT ") && !sorted;
        let full_scan = |row: &PlanRow| {
            GROWING.iter().any(|table| {
                (row.detail == format!("SCAN {table}") && !stops_at_limit)
                    || (row.detail.starts_with(&format!("SCAN {table} USING INDEX sqlite_autoindex_{table}_"))
                        && sql.contains(" WHERE "))
            })
        };
        if plan.iter().any(full_scan) {
            slow.push(sql.clone());
        }
    }
    assert!(explained > 20, "only {explained} statements were recorded");
    assert!(slow.is_empty(), "statements that read a whole growing table:\n{}", slow.join("\n"));
}
