//! Issuing, renewing and revoking certificates through the officer API.

use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, TestNode, single_woman, three_children, zhang_li};

both_backends!(issue_returns_token_qr_and_validity, renew_supersedes_the_old_version, revoke_is_final);
both_backends!(invalid_id_numbers_are_refused_and_nothing_is_written, ineligible_people_are_refused);
both_backends!(one_certificate_in_force_per_person, renewal_cannot_change_the_holder);
both_backends!(only_her_origin_certifies_her, a_revocation_another_process_records_is_seen_within_the_catch_up);

/// A node certifies only the women whose household registration it keeps (issue and renewal).
async fn only_her_origin_certifies_her(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let mut elsewhere = zhang_li();
    elsewhere["person"]["hukou"] = json!("440306001001");
    let (status, problem) = origin.post("/api/v1/certificates", &origin.officer, &elsewhere).await;
    assert_eq!(
        (status, problem["code"].as_str(), problem["field"].as_str()),
        (422, Some("certificate.not_responsible"), Some("person.hukou"))
    );
    assert_eq!(origin.row_counts(), [0, 0, 0, 0]);
    let issued = origin.issue(&zhang_li()).await;
    let path = format!("/api/v1/certificates/{}/renew", issued["id"].as_str().unwrap());
    let (status, problem) = origin.post(&path, &origin.officer, &elsewhere).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("certificate.not_responsible")));
    assert_eq!(origin.row_counts(), [1, 1, 1, 0]);
}

async fn issue_returns_token_qr_and_validity(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = origin.issue(&zhang_li()).await;
    assert_eq!(issued["version"], 1);
    assert!(issued["token"].as_str().unwrap().split('.').count() == 3);
    assert!(issued["qr"].as_str().unwrap().starts_with("HY1:"));
    // IUD is long-acting: six years, less one day.
    let today = hunyu::domain::calendar::local_date(chrono::Utc::now());
    let expected = hunyu::domain::certificate::anniversary(today, 6).pred_opt().unwrap();
    assert_eq!(issued["valid_until"], expected.to_string());

    let (status, view) =
        origin.get(&format!("/api/v1/certificates/{}", issued["id"].as_str().unwrap()), &origin.officer).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["versions"][0]["status"], "active");
    assert_eq!(view["certificate"]["person"]["id_number"], "130728199003070026");
    assert_eq!(view["certificate"]["iss"], ORIGIN.0);
    assert_eq!(origin.row_counts(), [1, 1, 1, 0]);
}

async fn renew_supersedes_the_old_version(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let v1 = origin.issue(&three_children()).await;
    let id = v1["id"].as_str().unwrap();

    // Same content, re-dated: an empty body.
    let response = origin
        .client
        .post(format!("{}/api/v1/certificates/{id}/renew", origin.url))
        .bearer_auth(&origin.officer)
        .send()
        .await
        .unwrap();
    let (status, v2) = crate::helpers::read(response).await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["id"], id);
    assert_eq!(v2["version"], 2);

    // New content: a fourth child was born.
    let mut content = three_children();
    content["children"].as_array_mut().unwrap().push(json!({ "birth_date": "2024-05-01", "sex": "M", "order": 4 }));
    let (status, v3) = origin.post(&format!("/api/v1/certificates/{id}/renew"), &origin.officer, &content).await;
    assert_eq!(status, 201, "{v3}");
    assert_eq!(v3["version"], 3);

    let old = origin.verify(v1["qr"].as_str().unwrap()).await;
    assert_eq!(old["valid"], false);
    assert_eq!(old["status"], "superseded");
    assert_eq!(old["reasons"][0]["code"], "superseded");
    // An empty object, like an empty body, keeps the content of the version in force.
    let (status, v4) = origin.post(&format!("/api/v1/certificates/{id}/renew"), &origin.officer, &json!({})).await;
    assert_eq!((status, &v4["version"]), (201, &json!(4)), "{v4}");

    let newest = origin.verify(v4["token"].as_str().unwrap()).await;
    assert_eq!(newest["status"], "active", "{newest}");
    assert_eq!(newest["certificate"]["ver"], 4);
    assert_eq!(newest["certificate"]["children"].as_array().unwrap().len(), 4);
    assert!(newest["certificate"]["supersedes"].is_string());

    let (_, view) = origin.get(&format!("/api/v1/certificates/{id}"), &origin.officer).await;
    let statuses: Vec<_> = view["versions"].as_array().unwrap().iter().map(|v| v["status"].clone()).collect();
    assert_eq!(statuses, [json!("superseded"), json!("superseded"), json!("superseded"), json!("active")]);
    assert_eq!(origin.row_counts(), [1, 1, 4, 3]);
}

async fn revoke_is_final(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = origin.issue(&zhang_li()).await;
    let id = issued["id"].as_str().unwrap();
    let revoke = format!("/api/v1/certificates/{id}/revoke");

    let (status, problem) = origin.post(&revoke, &origin.officer, &json!({ "reason": "  " })).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("revocation.reason")));

    let (status, body) = origin.post(&revoke, &origin.officer, &json!({ "reason": "本人申请注销" })).await;
    assert_eq!(status, 200, "{body}");
    let result = origin.verify(issued["qr"].as_str().unwrap()).await;
    assert_eq!((result["valid"].as_bool(), result["status"].as_str()), (Some(false), Some("revoked")));

    let (status, problem) = origin.post(&revoke, &origin.officer, &json!({ "reason": "again" })).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("certificate.revoked")));
    let (status, problem) =
        origin.post(&format!("/api/v1/certificates/{id}/renew"), &origin.officer, &zhang_li()).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("certificate.revoked")));
    assert_eq!(problem["certificate_id"], id);

    // A revoked certificate no longer blocks a new one.
    let again = origin.issue(&zhang_li()).await;
    assert_ne!(again["id"], issued["id"]);
}

/// The issuer verifies its own certificates from memory: a revocation another process recorded
/// on the same database (a second `hunyu serve`) is seen within its periodic catch-up, and one of
/// its own at once (`revoke_is_final`).
async fn a_revocation_another_process_records_is_seen_within_the_catch_up(backend: Backend) {
    use hunyu::domain::verification::VersionStatus;
    use hunyu::store::certificates::{NewEvent, insert_event};
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = origin.issue(&zhang_li()).await;
    let qr = issued["qr"].as_str().unwrap();
    assert_eq!(origin.verify(qr).await["valid"].as_bool(), Some(true));
    let jti = hunyu::seal::read_stored::<serde_json::Value>(issued["token"].as_str().unwrap()).unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = hunyu::store::Store::open(&origin.config.database_url().unwrap(), 1).unwrap();
    other
        .write(move |conn| {
            let officer = hunyu::store::api_keys::list(conn)?.into_iter().find(|key| key.role == "officer").unwrap();
            let at = chrono::Utc::now().naive_utc();
            let status = VersionStatus::Revoked;
            insert_event(conn, &NewEvent { jti: &jti, status, reason: Some("注销"), at, actor: &officer.id })
        })
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let verdict = origin.verify(qr).await;
        if verdict["status"] == "revoked" {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "still {verdict} after 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn invalid_id_numbers_are_refused_and_nothing_is_written(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let rows = csv::Reader::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/id_numbers.csv"))
        .unwrap()
        .into_records()
        .map(Result::unwrap)
        .filter(|r| &r[1] == "false")
        .collect::<Vec<_>>();
    assert!(rows.len() >= 7);
    for row in rows {
        let expected = row[2].split_whitespace().next().unwrap();
        let mut draft = zhang_li();
        draft["person"]["id_number"] = json!(&row[0]);
        draft["person"].as_object_mut().unwrap().remove("birth_date");
        let (status, problem) = origin.post("/api/v1/certificates", &origin.officer, &draft).await;
        assert_eq!(status, 422, "{}: {problem}", &row[0]);
        assert_eq!(problem["code"], expected, "{}", &row[0]);
        assert_eq!(problem["field"], "person.id_number");
        assert!(!problem.to_string().contains(&row[0]), "the ID number must not be echoed");
    }
    assert_eq!(origin.row_counts(), [0, 0, 0, 0]);
}

async fn ineligible_people_are_refused(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    // A man.
    let mut man = zhang_li();
    man["person"]["id_number"] = json!("130728198801010015");
    man["person"]["sex"] = json!("M");
    man["person"]["birth_date"] = json!("1988-01-01");
    man["marital"]["spouse"]["id_number"] = json!("130728199003070026");
    let (status, problem) = origin.post("/api/v1/certificates", &origin.officer, &man).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("certificate.not_female")), "{problem}");
    // Married without a spouse, and children with a gap in their order: every rule is listed.
    let mut draft = zhang_li();
    draft["marital"].as_object_mut().unwrap().remove("spouse");
    draft["children"][0]["order"] = json!(2);
    let (status, problem) = origin.post("/api/v1/certificates", &origin.officer, &draft).await;
    assert_eq!(status, 422);
    let codes: Vec<_> = problem["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"marital.spouse_required") && codes.contains(&"child.order"), "{problem}");
    // Unknown fields and wrong types are refused without echoing the input.
    let (status, problem) =
        origin.post("/api/v1/certificates", &origin.officer, &json!({ "person": { "130728199003070026": 1 } })).await;
    assert_eq!(status, 422);
    assert!(!problem.to_string().contains("130728199003070026"));
    assert_eq!(origin.row_counts(), [0, 0, 0, 0]);
}

async fn one_certificate_in_force_per_person(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let first = origin.issue(&single_woman(7)).await;
    let (status, problem) = origin.post("/api/v1/certificates", &origin.officer, &single_woman(7)).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("certificate.exists")));
    assert_eq!(problem["certificate_id"], first["id"]);
    assert_eq!(origin.row_counts(), [1, 1, 1, 0]);
}

async fn renewal_cannot_change_the_holder(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let first = origin.issue(&single_woman(1)).await;
    let path = format!("/api/v1/certificates/{}/renew", first["id"].as_str().unwrap());
    let (status, problem) = origin.post(&path, &origin.officer, &single_woman(2)).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("certificate.person_changed")));
    let (status, problem) = origin.post("/api/v1/certificates/nope/renew", &origin.officer, &single_woman(1)).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    assert_eq!(origin.row_counts(), [1, 1, 1, 0]);
}
