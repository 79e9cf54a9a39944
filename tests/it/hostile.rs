//! Hostile but schema-adjacent input: an ID number with a lowercase `x`, names padded with spaces,
//! 22 children, dates such as `-0001-01-01`. Each is refused with a 4xx or taken normalised, never
//! a 5xx; and no line the node writes, at any log level, carries a value from a request.

use serde_json::{Value, json};

use hunyu::domain::role::Role;
use hunyu::setup::create_api_key;

use crate::both_backends;
use crate::helpers::{Backend, id_number, read};
use crate::serve::ServedPair;

both_backends!(hostile_input_is_refused_or_normalised_and_never_logged);

/// A woman's ID number whose check character is `X`, written with a lowercase `x`.
fn lowercase_x() -> String {
    (0..500).map(|seq| id_number("130728", "19920704", seq, true)).find(|id| id.ends_with('X')).unwrap().to_lowercase()
}

async fn hostile_input_is_refused_or_normalised_and_never_logged(backend: Backend) {
    let mut pair = ServedPair::new(backend, 500, "trace");
    let officer = create_api_key(&pair.origin.config, Role::Officer, "test", None).unwrap();
    let worker = create_api_key(&pair.residence.config, Role::Worker, "test", None).unwrap();
    pair.start().await;
    let (origin, residence) = (pair.origin.api_url.clone(), pair.residence.api_url.clone());
    let client = pair.client.clone();
    let post = |url: String, key: String, body: Value| {
        let client = client.clone();
        async move { read(client.post(url).bearer_auth(key).json(&body).send().await.unwrap()).await }
    };

    let her = lowercase_x();
    let woman = |name: &str, children: Vec<Value>, birth_date: &str| {
        json!({
            "person": { "name": name, "id_number": her, "sex": "F", "birth_date": birth_date, "hukou": "130728102201" },
            "marital": { "status": "10" },
            "children": children,
        })
    };
    let certificates = format!("{origin}/api/v1/certificates");

    // Taken, normalised: the payload holds the upper-case check character and the trimmed name.
    let (status, issued) =
        post(certificates.clone(), officer.clone(), woman("  欧阳小雪  ", vec![], "1992-07-04")).await;
    assert_eq!(status, 201, "{issued}");
    let token = issued["token"].as_str().unwrap();
    let payload: Value =
        serde_json::from_slice(&hunyu::seal::b64url_decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(payload["person"]["id_number"], her.to_uppercase());
    assert_eq!(payload["person"]["name"], "欧阳小雪");

    // Refused with the rule broken, not a 500.
    let child = |order: u32| json!({ "birth_date": "2015-01-01", "sex": "F", "order": order });
    let many = (1..=22).map(child).collect();
    let (status, problem) = post(certificates.clone(), officer.clone(), woman("欧阳小雪", many, "1992-07-04")).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("child.count")), "{problem}");
    let (status, problem) = post(certificates, officer.clone(), woman("欧阳小雪", vec![], "-0001-01-01")).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("person.birth_date")), "{problem}");

    let arrivals = format!("{residence}/api/v1/arrivals");
    let (status, sent) = post(
        arrivals.clone(),
        worker.clone(),
        json!({ "token": issued["qr"], "address": "  宝安区新安街道秘密路7号  ", "arrived_on": "2026-11-30" }),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let someone = json!({ "id_number": her, "name": " 欧阳小雪 " });
    let (status, sent) = post(
        arrivals.clone(),
        worker.clone(),
        json!({ "person": someone, "hukou": "130728102201", "address": "宝安区新安街道秘密路7号", "arrived_on": "2026-11-30" }),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    for arrived_on in ["-0001-01-01", "+10000-01-01"] {
        let body = json!({ "person": someone, "hukou": "130728102201", "address": "某街", "arrived_on": arrived_on });
        let (status, problem) = post(arrivals.clone(), worker.clone(), body).await;
        assert!(status == 422 || status == 400, "{arrived_on}: {status} {problem}");
    }
    let event =
        json!({ "person": someone, "event": "birth", "on": "2026-11-30", "note": "秘密备注 ", "to": pair.origin.code });
    let (status, sent) = post(format!("{residence}/api/v1/events"), worker.clone(), event).await;
    assert_eq!(status, 201, "{sent}");
    let (status, found) = post(format!("{residence}/api/v1/lookup"), worker.clone(), json!({ "id_number": her })).await;
    assert_eq!(status, 200, "{found}");

    // Let the residence deliver, so that the origin's inbox handles the bodies too.
    for _ in 0..100 {
        let listed = client.get(format!("{residence}/api/v1/messages?direction=out&state=pending"));
        let (_, pending) = read(listed.bearer_auth(&worker).send().await.unwrap()).await;
        if pending["messages"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    pair.assert_running();
    pair.origin.kill();
    pair.residence.kill();

    let logs = format!("{}{}", pair.origin.logs(), pair.residence.logs());
    assert!(logs.contains("request"), "the nodes logged nothing at trace level");
    assert!(logs.contains("/exchange/v1/messages"), "the peer listener's requests are not in the request log");
    assert!(!logs.contains('\u{1b}'), "colour codes in a log that is no terminal");
    for value in [her.as_str(), &her.to_uppercase(), "欧阳小雪", "秘密路", "秘密备注", &her[6..14]] {
        assert!(!logs.contains(value), "a log line carries a value from a request: {value}");
    }
}
