//! The trust directory: verification through it, offline from the cache, stale warnings, key windows.

use chrono::Utc;
use hunyu::config::Config;
use hunyu::setup::{RunningNode, enrolment};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, TestRegistry, federation, zhang_li};

both_backends!(
    verification_goes_on_from_the_cache_with_the_registry_stopped,
    a_stale_directory_warns_and_still_verifies,
    a_compromised_key_taints_what_it_signed_after_t_only,
    a_retired_key_keeps_what_it_signed_before,
);

async fn verify_at(url: &str, key: &str, token: &str) -> serde_json::Value {
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{url}/api/v1/verify"))
        .bearer_auth(key)
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn verification_goes_on_from_the_cache_with_the_registry_stopped(backend: Backend) {
    let (mut registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let (status, refreshed) = residence.post("/api/v1/admin/directory/refresh", &residence.admin, &json!({})).await;
    assert_eq!((status, refreshed["serial"].as_u64()), (200, Some(registry.registry.state().serial)), "{refreshed}");
    let issued = origin.issue(&zhang_li()).await;

    registry.stop().await;
    let (status, problem) = residence.post("/api/v1/admin/directory/refresh", &residence.admin, &json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (502, Some("directory.refresh")), "{problem}");
    assert_eq!(residence.verify(issued["qr"].as_str().unwrap()).await["valid"], true);

    // Restarted without a registry, the node trusts the origin from the copy it kept on disk.
    residence.node.handle().stop(true).await;
    let config: Config = residence.config.clone();
    let mut restarted = RunningNode::start(&config).unwrap();
    restarted.spawn();
    let result = verify_at(&restarted.url(), &residence.worker, issued["qr"].as_str().unwrap()).await;
    assert_eq!(
        (result["valid"].as_bool(), result["issuer"]["code"].as_str()),
        (Some(true), Some(ORIGIN.0)),
        "{result}"
    );
    restarted.handle().stop(true).await;
}

async fn a_stale_directory_warns_and_still_verifies(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&zhang_li()).await;
    // Without the issuer's status list, the verdict says it cannot know of a revocation.
    let unknown = residence.verify(issued["qr"].as_str().unwrap()).await;
    assert_eq!((&unknown["valid"], &unknown["warnings"][0]["code"]), (&json!(true), &json!("status_unknown")));
    assert_eq!(unknown["status_info"]["source"], "unknown", "{unknown}");
    residence.fetch_status_lists().await;
    let fresh = residence.verify(issued["qr"].as_str().unwrap()).await;
    assert!(fresh.get("warnings").is_none(), "{fresh}");
    assert_eq!(fresh["status_info"]["source"], "status_list", "{fresh}");
    assert!(fresh["status_info"]["age_seconds"].as_i64().unwrap() < 60, "{fresh}");

    // Published two days ago with a one-day lifetime: stale now.
    let mut registry = hunyu::registry::Registry::open(&residence.registry_dir).unwrap();
    let token = registry.publish(Utc::now() - chrono::Duration::days(2)).unwrap();
    residence.core.install_directory(&token, true).unwrap();
    let stale = residence.verify(issued["qr"].as_str().unwrap()).await;
    assert_eq!(stale["valid"], true, "{stale}");
    assert_eq!(stale["warnings"][0]["code"], "directory_stale");
    let metrics = residence.core.metrics.render();
    assert!(metrics.contains("hunyu_stale_directory_verifications_total 1"), "{metrics}");

    // An older directory never replaces a newer one; one signed by another root is refused.
    let newer = registry.publish(Utc::now()).unwrap();
    residence.core.install_directory(&newer, true).unwrap();
    assert!(residence.core.install_directory(&token, true).is_err(), "rolled back to an older directory");
    let mut other = TestRegistry::new();
    let foreign = other.registry.publish(Utc::now()).unwrap();
    assert!(residence.core.install_directory(&foreign, true).is_err(), "accepted another root's directory");

    // A directory that lists a node at a plain-HTTP URL off this machine is refused, even signed
    // by the root: status lists fetched from there could be swapped on the way.
    let part = newer.split('.').nth(1).unwrap();
    let mut claims: hunyu::seal::directory::DirectoryClaims =
        serde_json::from_slice(&hunyu::seal::b64url_decode(part).unwrap()).unwrap();
    claims.serial += 1;
    claims.nodes[0].api_url = "http://node.example".into();
    let root = hunyu::seal::Ed25519Signer::load(&residence.registry_dir.join("root.pem"), "000000000000").unwrap();
    let insecure = hunyu::seal::directory::sign_directory(&root, &claims);
    let refused = residence.core.install_directory(&insecure, true).unwrap_err();
    assert!(matches!(refused, hunyu::seal::directory::DirectoryError::InsecureUrl(_)), "{refused}");
    assert!(residence.verify(issued["qr"].as_str().unwrap()).await.get("warnings").is_none());
}

/// Issues a certificate signed at least one second after `after` (NumericDate seconds).
async fn issue_after(origin: &TestNode, after: i64) -> serde_json::Value {
    while Utc::now().timestamp() <= after {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    origin.issue(&crate::helpers::single_woman(7)).await
}

fn signed_at(issued: &serde_json::Value) -> i64 {
    let part = issued["token"].as_str().unwrap().split('.').nth(1).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&hunyu::seal::b64url_decode(part).unwrap()).unwrap();
    payload["iat"].as_i64().unwrap()
}

/// Marks or retires the origin's key at the moment after `before` was signed, and publishes.
async fn change_origin_key(
    origin: &TestNode,
    residence: &TestNode,
    change: impl FnOnce(&mut hunyu::registry::Registry, &str, i64),
) -> (serde_json::Value, serde_json::Value) {
    let before = origin.issue(&zhang_li()).await;
    let t = signed_at(&before) + 1;
    let after = issue_after(origin, t - 1).await;
    assert!(signed_at(&after) >= t);
    let mut registry = hunyu::registry::Registry::open(&residence.registry_dir).unwrap();
    let kid = enrolment(&origin.config, &origin.url, "https://127.0.0.1:1", 0).unwrap().keys[0].kid.clone();
    change(&mut registry, &kid, t);
    let token = registry.publish(Utc::now()).unwrap();
    for node in [origin, residence] {
        node.core.install_directory(&token, true).unwrap();
    }
    (before, after)
}

async fn a_compromised_key_taints_what_it_signed_after_t_only(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let (before, after) =
        change_origin_key(&origin, &residence, |registry, kid, t| registry.compromise_key(kid, t).unwrap()).await;
    for node in [&residence, &origin] {
        let kept = node.verify(before["qr"].as_str().unwrap()).await;
        assert_eq!(kept["valid"], true, "signed before T at {}: {kept}", node.code);
        let tainted = node.verify(after["qr"].as_str().unwrap()).await;
        assert_eq!(
            (tainted["valid"].as_bool(), tainted["reasons"][0]["code"].as_str()),
            (Some(false), Some("key_compromised")),
            "{tainted}"
        );
    }
}

async fn a_retired_key_keeps_what_it_signed_before(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let (before, after) =
        change_origin_key(&origin, &residence, |registry, kid, t| registry.retire_key(kid, t - 1).unwrap()).await;
    assert_eq!(residence.verify(before["qr"].as_str().unwrap()).await["valid"], true);
    let late = residence.verify(after["qr"].as_str().unwrap()).await;
    assert_eq!(late["reasons"][0]["code"], "key_out_of_window", "{late}");
}

/// A registry, or a node, that answers with a body that never ends: the fetch gives up at its cap
/// instead of holding all it is sent.
#[tokio::test]
async fn an_endless_answer_is_cut_at_its_cap() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/directory", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request).await;
        stream.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").await.unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
        while stream.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    hunyu::exchange::tls::install_crypto_provider();
    let started = std::time::Instant::now();
    let fetched = hunyu::exchange::directory::fetch(&reqwest::Client::new(), &url).await;
    assert!(fetched.unwrap_err().contains("exceeds"), "an endless directory was read whole");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
}
