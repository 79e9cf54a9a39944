//! The `hunyu` binary: init, keys, and the demo from the README.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

fn hunyu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hunyu"))
}

#[test]
fn init_writes_a_private_key_and_keys_are_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("node");
    let out = hunyu()
        .args(["init", "--dir", node.to_str().unwrap(), "--code", "130728102000", "--name", "柴沟堡镇"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = std::fs::metadata(node.join("keys/signing.pem")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let pem = std::fs::read_to_string(node.join("keys/signing.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));

    // A second init of the same directory is refused: a node's key is never overwritten.
    let again = hunyu()
        .args(["init", "--dir", node.to_str().unwrap(), "--code", "130728102000", "--name", "x"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert_eq!(std::fs::read_to_string(node.join("keys/signing.pem")).unwrap(), pem);

    let config = node.join("hunyu.toml");
    let out = hunyu()
        .args(["keys", "create", "--config", config.to_str().unwrap(), "--role", "worker", "--label", "社区A"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(secret.starts_with("hy_worker_"));
    let list = hunyu().args(["keys", "list", "--config", config.to_str().unwrap()]).output().unwrap();
    let listing = String::from_utf8(list.stdout).unwrap();
    assert!(listing.contains("社区A") && listing.contains("worker"));
    assert!(!listing.contains(&secret), "a key is shown only when created");
    // Nothing secret reached the terminal logs.
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&secret));

    let bad = hunyu()
        .args(["init", "--dir", dir.path().join("x").to_str().unwrap(), "--code", "990000000000", "--name", "x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("node.code"));
}
