//! The issuance transparency log: every version a node signs is a leaf of its Merkle log; the
//! node anchors the log's signed head, with its audit chain's head, at the registry, which keeps
//! a head only if it extends the one held; and `hunyu audit verify` finds entries cut after they
//! were anchored.

use std::process::Command;

use diesel::prelude::*;
use hunyu::domain::claims::TreeHeadClaims;
use hunyu::seal::merkle::{self, leaf_hash};
use hunyu::seal::transparency::{leaf_of_token, sign_tree_head};
use hunyu::store::StoreError;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, federation, read, zhang_li};

both_backends!(
    a_node_anchors_its_log_and_audit_head_and_a_cut_shows,
    a_verifier_refuses_a_version_its_issuer_never_logged
);

/// `hunyu audit verify` on the node's config file, pointed at the served registry.
fn audit_verify(node: &TestNode, registry_url: &str, registry_dir: &std::path::Path) -> (bool, String) {
    let config_path = node.dir.path().join("hunyu.toml");
    let root: hunyu::seal::Jwk =
        serde_json::from_str(&std::fs::read_to_string(registry_dir.join(hunyu::registry::ROOT_JWK_FILE)).unwrap())
            .unwrap();
    hunyu::setup::use_registry(&config_path, &root, Some(registry_url)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hunyu"))
        .args(["audit", "verify", "--config", config_path.to_str().unwrap()])
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

async fn a_node_anchors_its_log_and_audit_head_and_a_cut_shows(backend: Backend) {
    let (registry, nodes) = federation(backend, &[ORIGIN]).await;
    let origin = &nodes[0];
    let url = registry.url.clone().unwrap();
    let issued = origin.issue(&zhang_li()).await;
    let (status, renewed) = origin
        .post(&format!("/api/v1/certificates/{}/renew", issued["id"].as_str().unwrap()), &origin.officer, &json!({}))
        .await;
    assert_eq!(status, 201, "{renewed}");

    // The log holds both versions in the order signed; the registry keeps the head over them.
    let head = origin.node.exchange.anchor().await.unwrap();
    let leaves = [&issued, &renewed].map(|v| leaf_of_token(v["token"].as_str().unwrap()).unwrap());
    assert_eq!((head.size, head.root.clone()), (2, hunyu::seal::hex(&merkle::root(&leaves))));
    assert!(head.audit.seq >= 2, "{head:?}");
    let kept = reqwest::get(format!("{url}/tree-heads/{}", ORIGIN.0)).await.unwrap();
    assert_eq!(kept.headers()["content-type"], "application/jwt");
    let kept = kept.text().await.unwrap();
    assert_eq!(hunyu::seal::read_stored::<TreeHeadClaims>(&kept), Some(head.clone()));
    // A third version: the next head extends the one held, with its consistency proof.
    origin.issue(&crate::helpers::single_woman(1)).await;
    let grown = origin.node.exchange.anchor().await.unwrap();
    assert_eq!(grown.size, 3, "{grown:?}");
    let (ok, said) = audit_verify(origin, &url, &registry.path());
    assert!(ok && said.contains("as anchored at the registry: audit entry"), "{said}");
    assert!(said.contains("first 3 logged versions match"), "{said}");
    assert!(origin.core.metrics.render().contains("hunyu_tree_head_size 3"));

    // What the registry refuses: a head over another log of the same size (a fork, signed with
    // the node's own key), an older head, a head it cannot verify, and bodies that are no
    // submission. Nothing refused replaces the head it holds.
    let signer = origin.signer();
    let forged_leaves = [leaves[0], leaves[1], leaf_hash(b"a version never issued")];
    let fork = TreeHeadClaims { root: hunyu::seal::hex(&merkle::root(&forged_leaves)), ..grown.clone() };
    let older = TreeHeadClaims { iat: head.iat - 3600, ..head.clone() };
    let stranger =
        hunyu::seal::Ed25519Signer::generate(&origin.dir.path().join("stranger.pem"), "310101001000").unwrap();
    let submit = |body: Value| {
        let url = url.clone();
        async move { read(reqwest::Client::new().post(format!("{url}/tree-heads")).json(&body).send().await.unwrap()).await }
    };
    let refusals = [
        (json!({ "head": sign_tree_head(&signer, &fork) }), 409, "transparency.inconsistent"),
        (json!({ "head": sign_tree_head(&signer, &older) }), 409, "transparency.inconsistent"),
        (
            json!({ "head": sign_tree_head(&stranger, &TreeHeadClaims { iss: "310101001000".into(), ..grown.clone() }) }),
            422,
            "transparency.bad_head",
        ),
        (json!({ "head": "not.a.token" }), 422, "transparency.bad_head"),
        (json!({ "head": sign_tree_head(&signer, &grown), "extra": 1 }), 422, "request.fields"),
        (
            json!({ "head": sign_tree_head(&signer, &grown), "consistency": ["x".repeat(70_000)] }),
            413,
            "request.too_large",
        ),
    ];
    for (body, status, code) in refusals {
        let (got, problem) = submit(body).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{problem}");
    }
    let again = json!({ "head": sign_tree_head(&signer, &grown) });
    let held = reqwest::get(format!("{url}/tree-heads/{}", ORIGIN.0)).await.unwrap().text().await.unwrap();
    assert_eq!(hunyu::seal::read_stored::<TreeHeadClaims>(&held).map(|h| h.root), Some(grown.root.clone()));
    for path in ["/tree-heads/310101001000", "/tree-heads/x"] {
        assert_eq!(reqwest::get(format!("{url}{path}")).await.unwrap().status(), 404, "{path}");
    }

    // Cutting the newest audit entries, or the newest logged version, shows in `audit verify`;
    // the registry refuses the next head.
    let cut = |sql: &'static str| {
        origin.core.store.write(move |conn| diesel::sql_query(sql).execute(conn).map_err(StoreError::from)).unwrap();
    };
    cut("DELETE FROM issuance_log WHERE idx = 2");
    let (ok, said) = audit_verify(origin, &url, &registry.path());
    assert!(!ok && said.contains("versions were cut"), "{said}");
    // A version stored but not logged (as those signed before the log existed) is logged at the
    // next start, in the order issued: here in its old place.
    let now = chrono::Utc::now().naive_utc();
    let logged = origin.core.store.write(move |conn| hunyu::store::issuance_log::backfill(conn, now)).unwrap();
    assert_eq!(logged, 1);
    let (ok, said) = audit_verify(origin, &url, &registry.path());
    assert!(ok, "{said}");
    cut("DELETE FROM audit_subjects");
    origin
        .core
        .store
        .write(move |conn| {
            let newest = format!("DELETE FROM audit_log WHERE seq >= {}", grown.audit.seq);
            diesel::sql_query(newest).execute(conn).map_err(StoreError::from)
        })
        .unwrap();
    let (ok, said) = audit_verify(origin, &url, &registry.path());
    assert!(!ok && said.contains("entries were cut"), "{said}");
    let error = origin.node.exchange.anchor().await.unwrap_err();
    assert!(error.contains("transparency.inconsistent") || error.contains("versions were lost"), "{error}");
    assert!(!origin.core.metrics.render().contains("hunyu_tree_head_failures_total 0"));

    // The registry reads its enrolled nodes again once its state changes: the node retired there,
    // the head it kept before is refused when submitted again.
    let mut at_registry = hunyu::registry::Registry::open(&registry.path()).unwrap();
    at_registry.retire_node(ORIGIN.0).unwrap();
    at_registry.publish(chrono::Utc::now()).unwrap();
    let (got, problem) = submit(again).await;
    assert_eq!((got, problem["code"].as_str()), (422, Some("transparency.bad_head")), "{problem}");
}

/// The payload of a compact JWS (after its signature was checked elsewhere).
fn payload(token: &str) -> Value {
    serde_json::from_slice(&hunyu::seal::b64url_decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

async fn a_verifier_refuses_a_version_its_issuer_never_logged(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let issued = origin.issue(&zhang_li()).await;
    let head = origin.node.exchange.anchor().await.unwrap();
    // The residence takes in only the logs of the nodes whose versions it is shown: once shown
    // one of the origin's, the origin's log over the peer channel, as far as the anchored head.
    assert_eq!(residence.node.exchange.mirror_logs().await, 0);
    assert_eq!(residence.verify(issued["qr"].as_str().unwrap()).await["valid"], true);
    assert_eq!(residence.node.exchange.mirror_logs().await, 1);
    assert_eq!(residence.core.issuer_logs.size(ORIGIN.0), head.size);
    for shown in [&issued["qr"], &issued["token"]] {
        let verdict = residence.verify(shown.as_str().unwrap()).await;
        assert_eq!(verdict["valid"], true, "{verdict}");
    }

    // A version signed with the origin's (stolen) key and back-dated before the anchored head:
    // genuine by its signature, refused because the origin's log does not hold it.
    let mut claims = payload(issued["token"].as_str().unwrap());
    claims["jti"] = json!(uuid::Uuid::now_v7().to_string());
    claims["iat"] = json!(head.iat - 3600);
    let signer = origin.signer();
    let forged = hunyu::seal::sign_compact(
        &signer,
        hunyu::domain::claims::CERTIFICATE_TYP,
        claims.to_string().as_bytes(),
        false,
    );
    let verdict = residence.verify(&forged).await;
    assert_eq!((&verdict["valid"], &verdict["status"]), (&json!(false), &json!("invalid")), "{verdict}");
    assert!(verdict["reasons"].to_string().contains("not_in_log"), "{verdict}");
    // Dated after the head, it cannot be found yet: it is, once a head a minute later is taken in.
    claims["iat"] = json!(head.iat);
    let recent = hunyu::seal::sign_compact(
        &signer,
        hunyu::domain::claims::CERTIFICATE_TYP,
        claims.to_string().as_bytes(),
        false,
    );
    assert_eq!(residence.verify(&recent).await["valid"], true);

    // The peer route serves ranges of 1 to 10,000 leaves inside the log, nothing else.
    let to_origin = residence.core.trust.current().node(ORIGIN.0).unwrap().clone();
    let ask = |query: &'static str| {
        let (peers, to) = (&residence.node.exchange.peers, to_origin.clone());
        async move { read(peers.get(&to, &format!("/exchange/v1/log{query}")).await.unwrap()).await }
    };
    let (status, leaves) = ask("?from=0&to=1").await;
    assert_eq!((status, leaves["leaves"].as_array().map(Vec::len)), (200, Some(1)), "{leaves}");
    for (query, status, code) in [
        ("?from=0&to=0", 422, "exchange.bad_message"),
        ("?from=0&to=2", 422, "exchange.bad_message"),
        ("?from=0&to=20000", 422, "exchange.bad_message"),
        ("?from=-1&to=1", 400, "request.query"),
        ("", 400, "request.query"),
    ] {
        let (got, problem) = ask(query).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{query}: {problem}");
    }
}
