//! The exchange between nodes over real mutual TLS: every flow, and every refusal.

use chrono::{Days, Utc};
use hunyu::domain::calendar::local_date;
use hunyu::domain::claims::CERTIFICATE_TYP;
use hunyu::domain::message::{
    DepartureNotice, Direction, MESSAGE_TYP, MessageBody, MessageClaims, MessageKind, MessageState, RECEIPT_TYP,
};
use hunyu::domain::role::Role;
use hunyu::domain::verification::VersionStatus;
use hunyu::exchange::Batch;
use hunyu::exchange::client::{PeerClient, REJOIN_PATH, STATUS_PATH};
use hunyu::exchange::tls::TlsIdentity;
use hunyu::node::{Actor, Caller};
use hunyu::seal::directory::NodeEntry;
use hunyu::seal::{TrustStore, sha256_hex, sign_compact, verify_compact};
use hunyu::service::messages::{self as listed, MessageQuery};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, federation, person_ref, read, three_children, zhang_li};

both_backends!(
    an_arrival_reaches_the_origin_with_a_signed_receipt,
    an_arrival_without_a_certificate_finds_the_origin_from_the_hukou,
    renewals_and_revocations_reach_the_residence,
    inquiries_carry_deadlines_and_show_overdue_on_both_sides,
    events_reach_the_origin_and_births_are_owed_an_answer,
    a_departure_reaches_the_expected_residence,
    bad_batches_are_refused_and_stored_nowhere,
    a_verifier_never_told_learns_revocations_from_the_status_list,
    an_employer_and_an_arrival_ask_the_issuer_on_line,
    a_worker_without_paper_gets_the_electronic_certificate_from_the_origin,
    a_bad_rejoin_request_is_refused_and_changes_nothing,
);

pub fn today() -> String {
    local_date(Utc::now()).to_string()
}

/// Rows of the `messages` table of a node (outbox and inbox).
fn message_count(node: &TestNode) -> i64 {
    use diesel::prelude::*;
    let count = |conn: &mut hunyu::store::DbConn| hunyu::store::schema::messages::table.count().get_result::<i64>(conn);
    node.core.store.read(|conn| count(conn).map_err(hunyu::store::StoreError::from)).unwrap()
}

/// The payload of a compact JWS (after its signature was checked elsewhere).
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&hunyu::seal::b64url_decode(part).unwrap()).unwrap()
}

async fn an_arrival_reaches_the_origin_with_a_signed_receipt(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&zhang_li()).await;
    let arrival = json!({ "token": issued["qr"], "address": "宝安区新安街道某社区1栋", "arrived_on": today() });
    let (status, sent) = residence.post("/api/v1/arrivals", &residence.worker, &arrival).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(
        (sent["kind"].as_str(), sent["to"].as_str(), sent["seq"].as_i64()),
        (Some("arrival_notice"), Some(ORIGIN.0), Some(1))
    );
    let arrived = local_date(Utc::now());
    assert_eq!(sent["deadlines"]["presentation_due"], (arrived + Days::new(30)).to_string());
    // Five working days from the check; provisional once they reach a year without its holidays.
    let check = hunyu::domain::calendar::WorkCalendar::shipped().unwrap().add_working_days(arrived, 5);
    assert_eq!(
        (&sent["deadlines"]["check_due"], &sent["deadlines"]["check_due_provisional"]),
        (&json!(check.date.to_string()), &json!(check.is_provisional())),
        "{sent}"
    );

    residence.await_receipts().await;
    let out = residence.messages("direction=out&kind=arrival_notice").await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["state"], "receipted");
    let received = origin.messages("direction=in").await;
    assert_eq!(received.len(), 1, "{received:?}");
    let notice = &received[0];
    assert_eq!((notice["id"].as_str(), notice["peer"].as_str()), (sent["id"].as_str(), Some(RESIDENCE.0)));
    assert_eq!(notice["body"]["person"]["name"], "张丽");
    assert_eq!(notice["body"]["certificate"]["status"], "active");
    assert_eq!(notice["body"]["certificate"]["iss"], ORIGIN.0);
    // The receipt at the residence is the origin's signature over exactly what was sent.
    let mut trust = TrustStore::default();
    trust.add_node(ORIGIN.0, ORIGIN.1, &origin.jwks().keys).unwrap();
    let receipt = verify_compact(out[0]["receipt"].as_str().unwrap(), RECEIPT_TYP, &trust).unwrap();
    let receipt: Value = serde_json::from_slice(&receipt.payload).unwrap();
    assert_eq!(receipt["msg"], sent["id"]);
    assert_eq!(receipt["sha256"], sha256_hex(out[0]["token"].as_str().unwrap().as_bytes()));
    assert_eq!(out[0]["receipt"], notice["receipt"], "both sides keep the same receipt");

    // Bad input is refused before anything is written.
    let before = message_count(&residence);
    let future = json!({ "token": issued["qr"], "address": "某处", "arrived_on": "2099-01-01" });
    let (status, problem) = residence.post("/api/v1/arrivals", &residence.worker, &future).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("date.future")), "{problem}");
    let forged = json!({ "token": "HY1:garbage", "address": "某处", "arrived_on": today() });
    let (status, problem) = residence.post("/api/v1/arrivals", &residence.worker, &forged).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("arrival.certificate_invalid")), "{problem}");
    let nobody = json!({ "address": "某处", "arrived_on": today() });
    let (status, problem) = residence.post("/api/v1/arrivals", &residence.worker, &nobody).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("arrival.who")), "{problem}");
    assert_eq!(message_count(&residence), before);
}

async fn an_arrival_without_a_certificate_finds_the_origin_from_the_hukou(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let person = json!({ "id_number": "130728199511200026", "name": "王芳" });
    let arrival = json!({ "person": person, "hukou": "130728102201", "address": "新安街道2栋", "arrived_on": today() });
    let (status, sent) = residence.post("/api/v1/arrivals", &residence.worker, &arrival).await;
    assert_eq!((status, sent["to"].as_str()), (201, Some(ORIGIN.0)), "{sent}");
    assert!(sent["deadlines"]["check_due"].is_null(), "no certificate, no check deadline yet: {sent}");
    assert_eq!(sent["deadlines"]["check_due_provisional"], false, "{sent}");
    residence.await_receipts().await;
    let received = origin.messages("direction=in&kind=arrival_notice").await;
    assert_eq!(received[0]["body"]["person"], person);
    assert!(received[0]["body"].get("certificate").is_none());

    let before = message_count(&residence);
    let unknown = json!({ "person": person, "hukou": "310101001001", "address": "某处", "arrived_on": today() });
    let (status, problem) = residence.post("/api/v1/arrivals", &residence.worker, &unknown).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("arrival.origin_unknown")), "{problem}");
    let bad_id = json!({ "person": { "id_number": "130728199511200027", "name": "王芳" }, "hukou": "130728102201",
                         "address": "某处", "arrived_on": today() });
    let (status, problem) = residence.post("/api/v1/arrivals", &residence.worker, &bad_id).await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("person.id_number")), "{problem}");
    assert_eq!(message_count(&residence), before);
}

async fn renewals_and_revocations_reach_the_residence(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&zhang_li()).await;
    let arrival = json!({ "token": issued["token"], "address": "新安街道3栋", "arrived_on": today() });
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &arrival).await.0, 201);
    residence.await_receipts().await;
    // A second process on the residence's database, as a second `serve` would be.
    let second = hunyu::node::NodeCore::open(&residence.config).unwrap();

    let id = issued["id"].as_str().unwrap();
    let (status, renewed) =
        origin.post(&format!("/api/v1/certificates/{id}/renew"), &origin.officer, &zhang_li()).await;
    assert_eq!(status, 201, "{renewed}");
    origin.await_receipts().await;
    let updates = residence.messages("direction=in&kind=certificate_update").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["body"]["token"], renewed["token"]);
    let old = residence.verify(issued["qr"].as_str().unwrap()).await;
    assert_eq!(old["status"], "superseded", "{old}");
    assert_eq!(residence.verify(renewed["qr"].as_str().unwrap()).await["status"], "active");

    let (status, _) =
        origin.post(&format!("/api/v1/certificates/{id}/revoke"), &origin.officer, &json!({ "reason": "迁出" })).await;
    assert_eq!(status, 200);
    origin.await_receipts().await;
    assert_eq!(residence.messages("direction=in&kind=revocation").await.len(), 1);
    let revoked = residence.verify(renewed["qr"].as_str().unwrap()).await;
    assert_eq!((revoked["valid"].as_bool(), revoked["status"].as_str()), (Some(false), Some("revoked")), "{revoked}");

    // The other process learns what this one's inbox stored at its next catch-up.
    let jti = |version: &Value| {
        hunyu::seal::read_stored::<Value>(version["token"].as_str().unwrap()).unwrap()["jti"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (old, new) = (jti(&issued), jti(&renewed));
    let (old, new) = (old.as_str(), new.as_str());
    assert!(second.statuses.reported(ORIGIN.0, new).is_empty());
    assert_eq!(second.catch_up_statuses().unwrap(), 2);
    assert_eq!(second.statuses.reported(ORIGIN.0, old), [VersionStatus::Superseded]);
    assert_eq!(second.statuses.reported(ORIGIN.0, new), [VersionStatus::Revoked]);
}

fn an_officer() -> Actor {
    Actor {
        caller: Caller { key_id: "test".into(), role: Role::Officer },
        request_id: "test".into(),
        purpose: "test".into(),
    }
}

async fn inquiries_carry_deadlines_and_show_overdue_on_both_sides(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let person = json!({ "id_number": "130728199003070026", "name": "张丽" });
    let ask =
        |urgent: bool| json!({ "to": ORIGIN.0, "person": person, "question": "请核实其婚育情况", "urgent": urgent });
    let (status, urgent) = residence.post("/api/v1/inquiries", &residence.worker, &ask(true)).await;
    assert_eq!(status, 201, "{urgent}");
    let (_, ordinary) = residence.post("/api/v1/inquiries", &residence.worker, &ask(false)).await;
    let sent_on = local_date(Utc::now());
    assert_eq!(urgent["due_on"], (sent_on + Days::new(15)).to_string());
    assert_eq!(ordinary["due_on"], (sent_on + Days::new(30)).to_string());
    residence.await_receipts().await;

    // The origin answers the urgent one; the ordinary one is left open.
    let path = format!("/api/v1/messages/{}/reply", urgent["id"].as_str().unwrap());
    let (status, reply) = origin.post(&path, &origin.officer, &json!({ "answer": "已婚，育一子，上环" })).await;
    assert_eq!(status, 201, "{reply}");
    let (status, again) = origin.post(&path, &origin.officer, &json!({ "answer": "再答" })).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("message.answered")));
    origin.await_receipts().await;
    let states = |list: Vec<Value>| {
        list.into_iter()
            .map(|m| (m["id"].as_str().unwrap().to_owned(), m["state"].as_str().unwrap().to_owned()))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let at_residence = states(residence.messages("direction=out&kind=inquiry").await);
    assert_eq!(at_residence[urgent["id"].as_str().unwrap()], "answered");
    assert_eq!(at_residence[ordinary["id"].as_str().unwrap()], "receipted");
    let replies = residence.messages("direction=in&kind=reply").await;
    assert_eq!(replies[0]["in_reply_to"], urgent["id"]);

    // Thirty-one days on, the unanswered inquiry is overdue at both ends; the answered one is not.
    let later = Utc::now() + chrono::Duration::days(31);
    for node in [&origin, &residence] {
        let query = MessageQuery { kind: Some(MessageKind::Inquiry), ..MessageQuery::default() };
        let list = listed::list(&node.core, query, &an_officer(), later).unwrap();
        let overdue: Vec<&str> =
            list.iter().filter(|m| m.state == MessageState::Overdue).map(|m| m.id.as_str()).collect();
        assert_eq!(overdue, [ordinary["id"].as_str().unwrap()], "at {}", node.code);
    }

    // A state filter partitions the list, and the limit counts only messages in that state.
    for node in [&origin, &residence] {
        let list = |state: Option<MessageState>, limit: Option<i64>| -> Vec<(String, MessageState)> {
            let query = MessageQuery { state, limit, ..MessageQuery::default() };
            let views = listed::list(&node.core, query, &an_officer(), later).unwrap();
            views.into_iter().map(|m| (m.id, m.state)).collect()
        };
        let all = list(None, None);
        for state in MessageState::ALL {
            let expected: Vec<_> = all.iter().filter(|(_, s)| *s == state).cloned().collect();
            assert_eq!(list(Some(state), None), expected, "{state:?} at {}", node.code);
            assert_eq!(list(Some(state), Some(1)), expected.into_iter().take(1).collect::<Vec<_>>());
        }
    }
    let (status, problem) = residence
        .post(
            "/api/v1/inquiries",
            &residence.worker,
            &json!({ "to": "310101001000", "person": person, "question": "?", "urgent": false }),
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("exchange.unknown_peer")));
}

async fn events_reach_the_origin_and_births_are_owed_an_answer(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let person = json!({ "id_number": "130728199003070026", "name": "张丽" });
    // Without a registered arrival the origin must be named.
    let birth = json!({ "person": person, "event": "birth", "on": today(), "note": "二孩，女" });
    let (status, problem) = residence.post("/api/v1/events", &residence.worker, &birth).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("event.origin_unknown")), "{problem}");
    let arrival = json!({ "person": person, "hukou": "130728102000", "address": "新安街道", "arrived_on": today() });
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &arrival).await.0, 201);

    let (status, sent) = residence.post("/api/v1/events", &residence.worker, &birth).await;
    assert_eq!((status, sent["to"].as_str()), (201, Some(ORIGIN.0)), "{sent}");
    assert_eq!(sent["due_on"], (local_date(Utc::now()) + Days::new(30)).to_string());
    // A contraception service names its method, and only it does.
    let service = json!({ "person": person, "event": "contraception", "on": today() });
    let (status, problem) = residence.post("/api/v1/events", &residence.worker, &service).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("event.method")), "{problem}");
    let pregnancy = json!({ "person": person, "event": "pregnancy", "on": today(), "method": "pill" });
    let (status, problem) = residence.post("/api/v1/events", &residence.worker, &pregnancy).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("method")), "{problem}");
    let service = json!({ "person": person, "event": "contraception", "on": today(), "method": "iud" });
    let (status, service) = residence.post("/api/v1/events", &residence.worker, &service).await;
    assert_eq!(status, 201);
    assert!(service["due_on"].is_null());
    let check = json!({ "person": person, "event": "health_check", "on": today() });
    assert_eq!(residence.post("/api/v1/events", &residence.worker, &check).await.0, 201);
    // A correction names the report it corrects and goes where that one went; it must be hers.
    let corrected = json!({ "person": person, "event": "contraception", "on": today(), "method": "implant",
                            "corrects": service["id"] });
    let (status, correction) = residence.post("/api/v1/events", &residence.worker, &corrected).await;
    assert_eq!((status, correction["to"].as_str()), (201, Some(ORIGIN.0)), "{correction}");
    let someone_else = json!({ "id_number": "130728200109150046", "name": "李娜" });
    let misdirected = json!({ "person": someone_else, "event": "contraception", "on": today(), "method": "implant",
                              "corrects": service["id"] });
    let (status, problem) = residence.post("/api/v1/events", &residence.worker, &misdirected).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("event.corrects_unknown")), "{problem}");
    residence.await_receipts().await;
    let events = origin.messages("direction=in&kind=event_report").await;
    assert_eq!(events.len(), 4);
    let (status, problem) = origin
        .post(
            &format!("/api/v1/messages/{}/reply", service["id"].as_str().unwrap()),
            &origin.officer,
            &json!({ "answer": "收到" }),
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("message.no_answer_owed")));
    let (status, _) = origin
        .post(
            &format!("/api/v1/messages/{}/reply", sent["id"].as_str().unwrap()),
            &origin.officer,
            &json!({ "answer": "已登记入帐" }),
        )
        .await;
    assert_eq!(status, 201);
    origin.await_receipts().await;
    let births = residence.messages("direction=out&kind=event_report").await;
    let birth = births.iter().find(|m| m["id"] == sent["id"]).unwrap();
    assert_eq!(birth["state"], "answered");
}

async fn a_departure_reaches_the_expected_residence(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let departure = json!({ "person": { "id_number": "130728200109150046", "name": "李娜" }, "left_on": today(),
                            "destination": "广东省深圳市宝安区", "to": RESIDENCE.0 });
    let (status, sent) = origin.post("/api/v1/departures", &origin.officer, &departure).await;
    assert_eq!(status, 201, "{sent}");
    let (status, _) = origin.post("/api/v1/departures", &origin.worker, &departure).await;
    assert_eq!(status, 403, "a worker does not record departures");
    origin.await_receipts().await;
    let received = residence.messages("direction=in&kind=departure_notice").await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["body"]["destination"], "广东省深圳市宝安区");
    assert_eq!(received[0]["id"], sent["id"]);
}

/// A message from `from` to `to` with sequence number `seq`, signed by `signer`.
fn message(signer: &hunyu::seal::Ed25519Signer, from: &str, to: &str, seq: u64) -> String {
    let claims = MessageClaims {
        iss: from.into(),
        aud: to.into(),
        jti: uuid::Uuid::now_v7().to_string(),
        seq,
        iat: Utc::now().timestamp(),
        in_reply_to: None,
        due: None,
        body: MessageBody::DepartureNotice(DepartureNotice {
            person: person_ref("130728200109150046", "李娜"),
            left_on: local_date(Utc::now()),
            destination: "深圳".into(),
        }),
    };
    sign_compact(signer, MESSAGE_TYP, serde_json::to_vec(&claims).unwrap().as_slice(), false)
}

/// Posts `messages` to `to`'s peer listener as the node `from` (its TLS identity).
async fn post_as(from: &TestNode, to: &TestNode, messages: Vec<String>) -> (u16, Value) {
    let identity = TlsIdentity::load(&from.config.peer.tls_cert, &from.config.peer.tls_key).unwrap();
    let client = PeerClient::new(identity);
    let entry = to.core.trust.current().node(&to.code).unwrap().clone();
    let response =
        client.post(&entry, "/exchange/v1/messages", &Batch { messages, receipts: Vec::new() }).await.unwrap();
    read(response).await
}

async fn bad_batches_are_refused_and_stored_nowhere(backend: Backend) {
    let (_registry, nodes) =
        federation(backend, &[ORIGIN, RESIDENCE, ("440306002000", "广东省深圳市宝安区西乡街道")]).await;
    let (origin, residence, other) = (&nodes[0], &nodes[1], &nodes[2]);
    let stranger = TestNode::spawn(backend, ("310101001000", "上海市黄浦区南京东路街道"), &[]).await;
    let signer = residence.signer();
    let stored = || message_count(origin);

    let good = message(&signer, RESIDENCE.0, ORIGIN.0, 1);
    let mut forged = good.clone();
    forged.pop();
    forged.push(if good.ends_with('A') { 'B' } else { 'A' });
    let refusals = [
        ("bad signature", post_as(residence, origin, vec![forged]).await, 422, "exchange.bad_message"),
        (
            "TLS identity not in the directory",
            post_as(&stranger, origin, vec![message(&stranger.signer(), "310101001000", ORIGIN.0, 1)]).await,
            403,
            "exchange.unknown_peer",
        ),
        (
            // Refused as a stranger, not as too large: its body was never read.
            "a stranger's batch larger than any batch",
            post_as(&stranger, origin, vec!["x".repeat(20 * 1024 * 1024)]).await,
            403,
            "exchange.unknown_peer",
        ),
        (
            "a known peer's batch larger than any batch",
            post_as(residence, origin, vec!["x".repeat(5 * 1024 * 1024)]).await,
            413,
            "request.too_large",
        ),
        (
            "signed by a node not in the directory",
            post_as(residence, origin, vec![message(&stranger.signer(), "310101001000", ORIGIN.0, 1)]).await,
            422,
            "exchange.bad_message",
        ),
        (
            "TLS identity of another node",
            post_as(residence, origin, vec![message(&other.signer(), &other.code, ORIGIN.0, 1)]).await,
            403,
            "exchange.tls_mismatch",
        ),
        (
            "out of sequence",
            post_as(residence, origin, vec![message(&signer, RESIDENCE.0, ORIGIN.0, 2)]).await,
            409,
            "exchange.sequence",
        ),
        (
            "addressed to another node",
            post_as(residence, origin, vec![message(&signer, RESIDENCE.0, &other.code, 1)]).await,
            422,
            "exchange.wrong_audience",
        ),
        (
            "one bad message spoils the batch",
            post_as(residence, origin, vec![good.clone(), message(&signer, RESIDENCE.0, ORIGIN.0, 3)]).await,
            409,
            "exchange.sequence",
        ),
    ];
    for (what, (status, problem), want_status, want_code) in refusals {
        assert_eq!((status, problem["code"].as_str()), (want_status, Some(want_code)), "{what}: {problem}");
        assert_eq!(stored(), 0, "{what}: something was stored");
    }
    // No client certificate at all.
    let plain = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let peer_url = origin.node.peer_url().unwrap();
    let response = plain
        .post(format!("{peer_url}/exchange/v1/messages"))
        .json(&json!({ "messages": [good] }))
        .send()
        .await
        .unwrap();
    let (status, problem) = read(response).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("exchange.no_client_certificate")));

    // Accepted once; the same message again gets the same receipt and changes nothing.
    let (status, first) = post_as(residence, origin, vec![good.clone()]).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(stored(), 1);
    let (status, again) = post_as(residence, origin, vec![good.clone()]).await;
    assert_eq!((status, &again["receipts"]), (200, &first["receipts"]));
    assert_eq!(stored(), 1);
    assert!(origin.core.metrics.render().contains("hunyu_messages_received_total 1\n"), "a repeat was counted");
    // A replay under the same id with other content is refused.
    let mut claims = payload(&good);
    claims["body"]["destination"] = json!("北京");
    let replay = sign_compact(&signer, MESSAGE_TYP, claims.to_string().as_bytes(), false);
    let (status, problem) = post_as(residence, origin, vec![replay]).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("exchange.replay")), "{problem}");
    assert_eq!(stored(), 1);
    let refused = origin.core.metrics.render();
    assert!(refused.contains("hunyu_message_batches_refused_total 10"), "{refused}");
}

async fn a_verifier_never_told_learns_revocations_from_the_status_list(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, elsewhere) = (&nodes[0], &nodes[1]);
    let issued = origin.issue(&zhang_li()).await;
    let id = issued["id"].as_str().unwrap();
    let (status, _) =
        origin.post(&format!("/api/v1/certificates/{id}/revoke"), &origin.officer, &json!({ "reason": "注销" })).await;
    assert_eq!(status, 200);
    // She never registered there, so no revocation was sent: the node does not know yet.
    assert_eq!(elsewhere.verify(issued["qr"].as_str().unwrap()).await["status"], "active");

    // The origin's list names the version by jti only, signed by the origin; public on its API
    // (nodes fetch the same list over the peer channel).
    let response = origin.client.get(format!("{}/.well-known/hunyu-status", origin.url)).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/jwt");
    let list = response.text().await.unwrap();
    let mut trust = TrustStore::default();
    trust.add_node(ORIGIN.0, ORIGIN.1, &origin.jwks().keys).unwrap();
    let list: Value =
        serde_json::from_slice(&verify_compact(&list, "hunyu-status+jwt", &trust).unwrap().payload).unwrap();
    let jti = payload(issued["token"].as_str().unwrap())["jti"].clone();
    assert_eq!(list["entries"], json!([{ "jti": jti, "status": "revoked" }]));
    assert!(!list.to_string().contains("张丽"));

    // A refresh fetches the directory and every node's status list.
    let (status, body) = elsewhere.post("/api/v1/admin/directory/refresh", &elsewhere.admin, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let result = elsewhere.verify(issued["qr"].as_str().unwrap()).await;
    assert_eq!((result["valid"].as_bool(), result["status"].as_str()), (Some(false), Some("revoked")), "{result}");
    let (_, confirmed) = elsewhere
        .post("/api/v1/employer/confirm", &elsewhere.employer, &json!({ "token": issued["employer_qr"] }))
        .await;
    assert_eq!(confirmed["valid"], false, "{confirmed}");
}

/// Issue 10, item 9: where a stale answer matters most, the residence asks the issuer on-line
/// for the version's current status (a signed answer over the peer channel), and says so when it
/// could not and used the list it holds.
async fn an_employer_and_an_arrival_ask_the_issuer_on_line(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let revoked = origin.issue(&zhang_li()).await;
    let kept = origin.issue(&three_children()).await;
    // The residence holds the origin's list from before the revocation; it refreshes only every 300 s.
    residence.fetch_status_lists().await;
    let id = revoked["id"].as_str().unwrap();
    let (status, _) =
        origin.post(&format!("/api/v1/certificates/{id}/revoke"), &origin.officer, &json!({ "reason": "注销" })).await;
    assert_eq!(status, 200);
    assert_eq!(residence.verify(revoked["qr"].as_str().unwrap()).await["status"], "active", "the list is old");

    let confirm = |token: &Value| {
        let body = json!({ "token": token });
        async move { residence.post("/api/v1/employer/confirm", &residence.employer, &body).await.1 }
    };
    let answer = confirm(&revoked["employer_qr"]).await;
    assert_eq!(answer["valid"], false, "{answer}");
    assert_eq!(answer["status_info"]["source"], "issuer_online", "{answer}");
    assert!(answer["status_info"]["age_seconds"].as_i64().unwrap() <= 2, "{answer}");
    assert!(answer.get("warnings").is_none(), "{answer}");
    assert_eq!(confirm(&kept["employer_qr"]).await["valid"], true);

    let arrive = |token: &Value| json!({ "token": token, "address": "宝安区新安街道某社区1栋", "arrived_on": today() });
    let (status, sent) = residence.post("/api/v1/arrivals", &residence.worker, &arrive(&revoked["qr"])).await;
    assert_eq!(status, 201, "{sent}");
    let (status, sent) = residence.post("/api/v1/arrivals", &residence.worker, &arrive(&kept["qr"])).await;
    assert_eq!(status, 201, "{sent}");
    let statuses: Vec<Value> = residence
        .messages("direction=out&kind=arrival_notice")
        .await
        .iter()
        .map(|m| m["body"]["certificate"]["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("active"), json!("revoked")], "newest first");

    // A version signed with the origin's key that the origin never issued (a stolen key): the
    // origin says so on-line, and the residence refuses it as it would at the origin.
    let mut claims = payload(kept["token"].as_str().unwrap());
    claims["jti"] = json!(uuid::Uuid::now_v7().to_string());
    let forged = sign_compact(&origin.signer(), CERTIFICATE_TYP, claims.to_string().as_bytes(), false);
    let (status, problem) = residence.post("/api/v1/arrivals", &residence.worker, &arrive(&json!(forged))).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("arrival.certificate_invalid")), "{problem}");
    assert!(problem.to_string().contains("unknown_version"), "{problem}");
    let metrics = residence.core.metrics.render();
    assert!(metrics.contains("hunyu_online_status_answers_total 5"), "{metrics}");
    // A question without a nonce, or about something that is no version id, is refused.
    let to_origin = residence.core.trust.current().node(ORIGIN.0).unwrap().clone();
    for question in [json!({ "version": uuid::Uuid::now_v7() }), json!({ "version": "x", "nonce": "y" })] {
        let response = residence.node.exchange.peers.post(&to_origin, STATUS_PATH, &question).await.unwrap();
        let (status, problem) = read(response).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("exchange.bad_message")), "{problem}");
    }

    // The origin is gone: the residence uses the list it holds, and says it could not ask.
    origin.node.handle().stop(false).await;
    let answer = confirm(&revoked["employer_qr"]).await;
    assert_eq!(answer["valid"], true, "{answer}");
    assert_eq!(answer["status_info"]["source"], "status_list", "{answer}");
    assert_eq!(answer["warnings"][0]["code"], "status_not_confirmed", "{answer}");
    assert!(residence.core.metrics.render().contains("hunyu_online_status_fallbacks_total 1"));
}

async fn a_worker_without_paper_gets_the_electronic_certificate_from_the_origin(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&zhang_li()).await;
    let ask = |id: &str, at: &str| json!({ "id_number": id, "origin": at });
    let (status, found) =
        residence.post("/api/v1/lookup", &residence.worker, &ask("130728199003070026", ORIGIN.0)).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["origin"], ORIGIN.0);
    let certificate = &found["certificates"][0];
    assert_eq!(certificate["token"], issued["token"]);
    assert_eq!(certificate["qr"], issued["qr"]);
    assert_eq!(certificate["verification"]["valid"], true, "{certificate}");
    assert_eq!(certificate["verification"]["issuer"]["code"], ORIGIN.0);

    // None there: a signed none. Bad input and unknown origins are refused here, before asking.
    let (status, none) =
        residence.post("/api/v1/lookup", &residence.worker, &ask("130728199511200026", ORIGIN.0)).await;
    assert_eq!((status, none["certificates"].as_array().map(Vec::len)), (200, Some(0)), "{none}");
    let (status, problem) =
        residence.post("/api/v1/lookup", &residence.worker, &ask("130728199511200027", ORIGIN.0)).await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("id_number")));
    let (status, problem) =
        residence.post("/api/v1/lookup", &residence.worker, &ask("130728199003070026", "310101001000")).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("exchange.unknown_peer")));
    let (status, _) = residence.post("/api/v1/lookup", &residence.employer, &ask("130728199003070026", ORIGIN.0)).await;
    assert_eq!(status, 403);

    // The origin records who asked: the residence node, never the number itself.
    let (_, log) = origin.get("/api/v1/audit?action=lookup", &origin.auditor).await;
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    assert!(entries.iter().all(|e| e["role"] == "peer" && e["actor"] == RESIDENCE.0));
    assert!(!log.to_string().contains("130728199003070026"));

    // An old request is a replay; a request sent over another node's TLS identity is refused.
    let peer = |body: Value, from: &TestNode| {
        let identity = TlsIdentity::load(&from.config.peer.tls_cert, &from.config.peer.tls_key).unwrap();
        let entry = origin.core.trust.current().node(ORIGIN.0).unwrap().clone();
        async move { read(PeerClient::new(identity).post(&entry, "/exchange/v1/lookup", &body).await.unwrap()).await }
    };
    let her = person_ref("130728199003070026", "张丽").id_number;
    let (old, _) =
        hunyu::service::lookup::request(&residence.core, ORIGIN.0, &her, Utc::now() - chrono::Duration::minutes(10));
    let (status, problem) = peer(json!({ "request": old }), &residence).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("exchange.bad_message")), "{problem}");
    let (fresh, _) = hunyu::service::lookup::request(&residence.core, ORIGIN.0, &her, Utc::now());
    let (status, problem) = peer(json!({ "request": fresh }), &origin).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("exchange.tls_mismatch")), "{problem}");
}

async fn a_bad_rejoin_request_is_refused_and_changes_nothing(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&zhang_li()).await;
    let arrival = json!({ "token": issued["qr"], "address": "宝安区新安街道某社区1栋", "arrived_on": today() });
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &arrival).await.0, 201);
    residence.await_receipts().await;
    let held = || async { (message_count(&origin), origin.messages("direction=in").await) };
    let before = held().await;
    assert_eq!(before.1[0]["state"], "receipted", "{:?}", before.1);

    // The residence asks as a restored node would, with bodies no restored node sends.
    let to_origin = residence.core.trust.current().node(ORIGIN.0).unwrap().clone();
    let refusals = [
        (json!({ "received": "all", "sent": 0 }), 422, "request.fields"),
        (json!({ "sent": 0 }), 422, "request.fields"),
        (json!({ "received": 1, "sent": 0, "resend": true }), 422, "exchange.bad_message"),
        (json!({ "received": 0, "sent": -1, "resend": true }), 422, "exchange.bad_message"),
        (json!({ "received": -1, "sent": 0 }), 422, "exchange.bad_message"),
    ];
    for (body, status, code) in refusals {
        let response = residence.node.exchange.peers.post(&to_origin, REJOIN_PATH, &body).await.unwrap();
        let (got, problem) = read(response).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{body}: {problem}");
    }
    assert_eq!(held().await, before, "a refused rejoin wrote nothing");
    // A well-formed question after them is answered: the origin holds the residence's one message.
    let response = residence
        .node
        .exchange
        .peers
        .post(&to_origin, REJOIN_PATH, &json!({ "received": 0, "sent": 0 }))
        .await
        .unwrap();
    let (status, answer) = read(response).await;
    assert_eq!((status, answer["received"].as_i64()), (200, Some(1)), "{answer}");
    assert_eq!(answer["messages"].as_array().map(Vec::len), Some(1), "{answer}");
}

/// A TLS server answering at the peer's address, counting the requests it is sent.
struct Impostor {
    url: String,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _server: actix_web::dev::ServerHandle,
}

impl Impostor {
    /// Serves with `identity`, answering every request with 200, or a redirect to `redirect`.
    fn start(identity: &TlsIdentity, redirect: Option<String>) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let requests = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let tls = hunyu::exchange::tls::server_config(identity).unwrap();
        let server = actix_web::HttpServer::new(move || {
            let (counted, redirect) = (counted.clone(), redirect.clone());
            actix_web::App::new().default_service(actix_web::web::to(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let answer = match &redirect {
                    Some(url) => {
                        actix_web::HttpResponse::TemporaryRedirect().insert_header(("location", url.clone())).finish()
                    }
                    None => actix_web::HttpResponse::Ok().finish(),
                };
                async move { answer }
            }))
        })
        .workers(1)
        .listen_rustls_0_23(listener, tls)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { url, requests, _server: handle }
    }

    fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The peer client checks the pinned certificate inside the TLS handshake: a server at the
/// peer's address with another certificate receives nothing, not even the request line; and a
/// redirect from the real peer is not followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_to_a_server_that_is_not_the_pinned_peer() {
    let (_registry, nodes) = federation(Backend::Sqlite, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let message = message(&residence.signer(), RESIDENCE.0, ORIGIN.0, 1);
    let client =
        PeerClient::new(TlsIdentity::load(&residence.config.peer.tls_cert, &residence.config.peer.tls_key).unwrap());
    let pinned = origin.core.trust.current().node(ORIGIN.0).unwrap().clone();

    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    hunyu::exchange::tls::generate_identity(&cert, &key, ORIGIN.0).unwrap();
    let impostor = Impostor::start(&TlsIdentity::load(&cert, &key).unwrap(), None);
    let at_the_peer_s_address = NodeEntry { peer_url: impostor.url.clone(), ..pinned.clone() };
    let refused = client.send(&at_the_peer_s_address, vec![message.clone()]).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(impostor.requests(), 0, "a request reached a server that is not the pinned peer");

    // The real peer's certificate, redirecting elsewhere: the client does not follow.
    let real = TlsIdentity::load(&origin.config.peer.tls_cert, &origin.config.peer.tls_key).unwrap();
    let elsewhere = Impostor::start(&real, None);
    let redirecting = Impostor::start(&real, Some(format!("{}/exchange/v1/messages", elsewhere.url)));
    let moved = NodeEntry { peer_url: redirecting.url.clone(), ..pinned };
    assert!(client.send(&moved, vec![message]).await.is_err());
    assert_eq!((redirecting.requests(), elsewhere.requests()), (1, 0));
}

/// Two `serve` processes of one node on one PostgreSQL database deliver its outbox together:
/// rows are claimed with `FOR UPDATE SKIP LOCKED`, so none is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgresql_never_send_a_message_twice() {
    const COUNT: usize = 3000;
    let origin = TestNode::spawn(Backend::Postgres, ORIGIN, &[]).await;
    let residence = TestNode::spawn(Backend::Postgres, RESIDENCE, &[&origin]).await;
    let mut twin = hunyu::setup::RunningNode::start(&origin.config).unwrap();
    twin.spawn();
    let outbox = origin.core.outbox.clone();
    let her = person_ref("130728200109150046", "李娜");
    for chunk in 0..COUNT / 500 {
        let (outbox, her) = (outbox.clone(), her.clone());
        origin
            .core
            .store
            .write(move |conn| {
                for i in 0..500 {
                    let departure = DepartureNotice {
                        person: her.clone(),
                        left_on: local_date(Utc::now()),
                        destination: format!("第{chunk}批第{i}人"),
                    };
                    let out = hunyu::node::outbox::Outgoing {
                        to: RESIDENCE.0.into(),
                        body: MessageBody::DepartureNotice(departure),
                        in_reply_to: None,
                        due: None,
                        subject: None,
                    };
                    outbox.enqueue(conn, out, Utc::now())?;
                }
                Ok::<_, hunyu::node::CoreError>(())
            })
            .unwrap();
        origin.core.outbox.wake();
        twin.core.outbox.wake();
    }
    origin.await_receipts().await;
    let delivered = |core: &hunyu::node::NodeCore| {
        let text = core.metrics.render();
        let line = text.lines().find(|l| l.starts_with("hunyu_messages_delivered_total")).unwrap().to_owned();
        line.rsplit(' ').next().unwrap().parse::<usize>().unwrap()
    };
    // A process counts receipts just after committing them: the count may trail the database.
    let counted = || delivered(&origin.core) + delivered(&twin.core);
    for _ in 0..100 {
        if counted() >= COUNT {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(counted(), COUNT, "a message was receipted twice, or its receipt not counted");
    let received = residence.core.metrics.render();
    assert!(
        received.contains(&format!("hunyu_messages_received_total {COUNT}\n")),
        "a message was sent twice: {received}"
    );
    use diesel::prelude::*;
    use hunyu::store::schema::messages::dsl as m;
    let seqs: Vec<i64> = residence
        .core
        .store
        .read(|conn| {
            m::messages
                .filter(m::direction.eq("in"))
                .select(m::seq)
                .order(m::seq.asc())
                .load(conn)
                .map_err(hunyu::store::StoreError::from)
        })
        .unwrap();
    assert_eq!(seqs, (1..=i64::try_from(COUNT).unwrap()).collect::<Vec<_>>());
    twin.handle().stop(true).await;
}

/// A process renews the leases of the messages it delivers, so no other process takes them
/// however long delivery takes; those it no longer renews (it died) are free once their lease ends.
#[test]
fn renewed_leases_keep_messages_from_other_processes() {
    use hunyu::store::messages::{self, MessageRow};
    let pg = crate::helpers::PgDatabase::create();
    let store = hunyu::store::Store::open(&hunyu::store::DatabaseUrl::parse(&pg.url).unwrap(), 2).unwrap();
    let start = Utc::now().naive_utc();
    let at = move |seconds: i64| start + chrono::Duration::seconds(seconds);
    let row = move |seq: i64| MessageRow {
        id: format!("m{seq}"),
        direction: Direction::Out.as_str().into(),
        peer: RESIDENCE.0.into(),
        seq,
        kind: "inquiry".into(),
        subject: None,
        in_reply_to: None,
        due_on: None,
        token: format!("token {seq}"),
        created_at: start,
        receipt: None,
        receipted_at: None,
        answered_at: None,
        attempts: 0,
        next_attempt_at: Some(start),
        last_error: None,
    };
    let claim = |now: i64, after: Option<(&str, i64)>| {
        let after = after.map(|(peer, seq)| (peer.to_owned(), seq));
        store
            .write(move |conn| {
                let after = after.as_ref().map(|(peer, seq)| (peer.as_str(), *seq));
                messages::claim_due(conn, at(now), at(now + 15), 100, after)
            })
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    let rows = [row(1), row(2)];
    store.write(move |conn| messages::insert_all(conn, &rows)).unwrap();
    assert_eq!(claim(0, None), ["m1", "m2"]);
    // Ten seconds on, the process still holds m1 and renews it; m2 it let go of.
    store.write(move |conn| messages::renew_leases(conn, &["m1".into()], at(10), at(25))).unwrap();
    // Twenty seconds on, another process finds m2 free and m1 still held.
    assert_eq!(claim(20, Some((RESIDENCE.0, 0))), ["m2"]);
    assert!(claim(26, Some((RESIDENCE.0, 0))).contains(&"m1".to_owned()));
}
