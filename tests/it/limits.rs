//! Look-ups by ID number, rate limits, key revocation, and the metrics that count refusals.

use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, TestNode, zhang_li};

both_backends!(
    lookup_by_id_number_in_the_body,
    rate_limits_answer_429_with_retry_after,
    revoked_and_expired_keys_stop_working
);

/// A client that sends its head and then trickles (or withholds) its body is answered 408 once
/// the listener's body deadline passes, and its connection is not held longer.
#[tokio::test]
async fn a_withheld_body_is_cut_off_at_the_deadline() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let node = TestNode::spawn_with(Backend::Sqlite, ORIGIN, &[], |config| config.http.body_read_seconds = 1).await;
    let mut stream = tokio::net::TcpStream::connect(node.url.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"token\":",
        node.worker
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(8), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "the connection was held past the deadline: {answer}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request.body_timeout") && answer.contains("application/problem+json"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// One address may have only its share of requests in progress: a client that holds requests
/// open (bodies withheld) is refused more at once, before their bodies are read, and gets its
/// share back as they end. Other addresses are not affected.
#[tokio::test]
async fn one_address_gets_only_its_share_of_requests_in_progress() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let node = TestNode::spawn_with(Backend::Sqlite, ORIGIN, &[], |config| {
        config.http.max_requests_per_client = 2;
        config.http.body_read_seconds = 2;
    })
    .await;
    let address = node.url.trim_start_matches("http://").to_owned();
    let withheld = format!(
        "POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        node.worker
    );
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(withheld.as_bytes()).await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, problem) = crate::helpers::read(reqwest::get(format!("http://{address}/readyz")).await.unwrap()).await;
    assert_eq!((status, problem["code"].as_str()), (429, Some("request.too_many_in_flight")), "{problem}");
    // Another address is served meanwhile.
    let elsewhere = reqwest::Client::builder().local_address("127.0.0.2".parse().ok()).build().unwrap();
    let answer = elsewhere.get(format!("http://{address}/readyz")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    // The held requests end at their deadline (408), and the share is free again.
    for mut stream in held {
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"));
    }
    assert_eq!(reqwest::get(format!("http://{address}/readyz")).await.unwrap().status(), 200);
}

async fn lookup_by_id_number_in_the_body(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = node.issue(&zhang_li()).await;
    let (status, found) =
        node.post("/api/v1/lookup", &node.worker, &json!({ "id_number": "130728199003070026" })).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["certificates"][0]["id"], issued["id"]);
    assert_eq!(found["certificates"][0]["status"], "active");
    let (status, none) =
        node.post("/api/v1/lookup", &node.officer, &json!({ "id_number": "130728200109150046" })).await;
    assert_eq!((status, none["certificates"].as_array().map(Vec::len)), (200, Some(0)));
    // A wrong number is named by its rule, never echoed.
    let (status, problem) =
        node.post("/api/v1/lookup", &node.worker, &json!({ "id_number": "130728199003070021" })).await;
    assert_eq!(
        (status, problem["code"].as_str(), problem["field"].as_str()),
        (422, Some("id_number.checksum"), Some("id_number"))
    );
    assert!(!problem.to_string().contains("130728199003070021"));
    // Employers cannot look anyone up.
    let (status, problem) =
        node.post("/api/v1/lookup", &node.employer, &json!({ "id_number": "130728199003070026" })).await;
    assert_eq!(status, 403);
    assert!(!problem.to_string().contains("130728199003070026"));
}

async fn rate_limits_answer_429_with_retry_after(backend: Backend) {
    let node = TestNode::spawn_with(backend, ORIGIN, &[], |config| config.limits.verify_per_minute = 3).await;
    let issued = node.issue(&zhang_li()).await;
    let body = json!({ "token": issued["qr"] });
    for _ in 0..3 {
        assert_eq!(node.post("/api/v1/verify", &node.worker, &body).await.0, 200);
    }
    let response = node
        .client
        .post(format!("{}/api/v1/verify", node.url))
        .bearer_auth(&node.worker)
        .json(&body)
        .send()
        .await
        .unwrap();
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, problem) = crate::helpers::read(response).await;
    assert_eq!((status, problem["code"].as_str()), (429, Some("rate_limited")));
    // The limit is per key: the officer still verifies.
    assert_eq!(node.post("/api/v1/verify", &node.officer, &body).await.0, 200);
    let metrics = node.client.get(format!("{}/metrics", node.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("hunyu_rate_limited_total{action=\"verify\"} 1"), "{metrics}");
    assert!(metrics.contains("hunyu_verifications_total{status=\"active\"} 4"), "{metrics}");
}

async fn revoked_and_expired_keys_stop_working(backend: Backend) {
    let node = TestNode::spawn_with(backend, ORIGIN, &[], |config| config.http.key_cache_seconds = 0).await;
    let config = node.dir.path().join("hunyu.toml");
    let hunyu = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hunyu")).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let listing = hunyu(&["keys", "list", "--config", config.to_str().unwrap()]);
    let key_id = |role: &str| {
        listing
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(role))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let body = json!({ "token": "x" });
    assert_eq!(node.post("/api/v1/verify", &node.worker, &body).await.0, 200);
    hunyu(&["keys", "revoke", "--config", config.to_str().unwrap(), "--id", &key_id("worker")]);
    let (status, problem) = node.post("/api/v1/verify", &node.worker, &body).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("auth.unauthenticated")));
    hunyu(&["keys", "expire", "--config", config.to_str().unwrap(), "--id", &key_id("officer")]);
    assert_eq!(node.post("/api/v1/verify", &node.officer, &body).await.0, 401);
    assert_eq!(node.post("/api/v1/verify", "hy_worker_unknown", &body).await.0, 401);
    let metrics = node.client.get(format!("{}/metrics", node.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("hunyu_auth_failures_total 3"), "{metrics}");
    assert!(!metrics.contains("130728"), "metrics carry no personal data");
}
