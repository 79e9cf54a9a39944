//! The `hunyu` binary: init, keys, and the demo from the README.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use hunyu::config::Config;

use crate::both_backends;
use crate::helpers::{Backend, PgDatabase};

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

    // People's accounts: a password made and shown once, or one read from standard input.
    let made = hunyu()
        .args(["users", "create", "--config", config.to_str().unwrap(), "--name", "wang.li", "--role", "officer"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let password = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(password.len() >= 40, "{password}");
    let mut typed = hunyu()
        .args(["users", "create", "--config", config.to_str().unwrap(), "--name", "li.na", "--role", "worker"])
        .arg("--password-stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(typed.stdin.as_mut().unwrap(), "十个汉字的一句口令好\n".as_bytes()).unwrap();
    let typed = typed.wait_with_output().unwrap();
    assert!(typed.status.success(), "{}", String::from_utf8_lossy(&typed.stderr));
    assert!(typed.stdout.is_empty(), "a typed password is not echoed");
    let taken = hunyu()
        .args(["users", "create", "--config", config.to_str().unwrap(), "--name", "li.na", "--role", "worker"])
        .output()
        .unwrap();
    assert!(!taken.status.success());
    assert!(
        String::from_utf8_lossy(&taken.stderr).contains("account.taken"),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
    let users = hunyu().args(["users", "list", "--config", config.to_str().unwrap()]).output().unwrap();
    let listing = String::from_utf8(users.stdout).unwrap();
    assert!(listing.contains("wang.li") && listing.contains("li.na") && listing.contains("active"), "{listing}");
    assert!(!listing.contains(&password));

    let bad = hunyu()
        .args(["init", "--dir", dir.path().join("x").to_str().unwrap(), "--code", "990000000000", "--name", "x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("node.code"));
}

both_backends!(
    a_node_s_files_are_its_own_and_it_refuses_shared_ones,
    a_serving_node_is_backed_up_consistently,
    the_host_closes_a_month_and_writes_its_report
);

/// `hunyu close-month` signs a month's report once; `hunyu report` writes it as JSON, CSV or an
/// XLSX workbook that opens again, and refuses what it cannot do.
async fn the_host_closes_a_month_and_writes_its_report(backend: Backend) {
    let (_registry, nodes) = crate::helpers::federation(backend, &[crate::helpers::ORIGIN]).await;
    let node = &nodes[0];
    // The node's configuration as the test set it up: with its registry and the directory cached.
    let config = node.dir.path().join("federated.toml");
    std::fs::write(&config, toml::to_string(&node.config).unwrap()).unwrap();
    let run = |args: &[&str]| {
        let out = hunyu().args(args).arg("--config").arg(&config).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), said, out.stdout)
    };
    let (ok, said, _) = run(&["close-month", "--month", "2026-10"]);
    assert!(ok && said.contains("2026-10 closed: report version 1 signed"), "{said}");
    let (ok, said, _) = run(&["close-month", "--month", "2026-10"]);
    assert!(ok && said.contains("nothing changed since version 1"), "{said}");
    let (ok, said, _) = run(&["close-month", "--month", "2026-13"]);
    assert!(!ok && said.contains("month.format"), "{said}");

    let (ok, csv, _) = run(&["report", "--month", "2026-10", "--format", "csv"]);
    assert!(ok && csv.contains("查验率,verification_rate,residence,0,0,—,90.00%,—"), "{csv}");
    let (ok, said, json) = run(&["report", "--month", "2026-10"]);
    assert!(ok, "{said}");
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!((&json["node"], json["figures"].as_array().unwrap().len()), (&serde_json::json!(node.code), 12));
    let out = node.dir.path().join("report.xlsx");
    let (ok, said, _) = run(&["report", "--month", "2026-10", "--format", "xlsx", "--out", out.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    let figures = crate::helpers::xlsx_sheet(&std::fs::read(&out).unwrap(), hunyu::sheets::FIGURES_SHEET);
    assert_eq!(figures.get_value((0, 0)), Some(&calamine::Data::String(format!("{} 2026-10 双向考核月报", node.code))));
    let (ok, said, _) = run(&["report", "--month", "2026-10", "--format", "xlsx", "--out", out.to_str().unwrap()]);
    assert!(!ok && said.contains("exists"), "a report file is never overwritten: {said}");
    let (ok, said, _) = run(&["report", "--month", "2026-10", "--format", "xlsx"]);
    assert!(!ok && said.contains("--out"), "{said}");
}

/// `hunyu backup` copies a serving SQLite node into a new private file that opens with the same
/// rows and an intact audit chain; PostgreSQL is pointed to its own tools.
async fn a_serving_node_is_backed_up_consistently(backend: Backend) {
    let node = crate::helpers::TestNode::spawn(backend, crate::helpers::ORIGIN, &[]).await;
    for n in 1..=3 {
        node.issue(&crate::helpers::single_woman(n)).await;
    }
    let to = node.dir.path().join("backups/first.db");
    let out = hunyu()
        .args(["backup", "--config", node.dir.path().join("hunyu.toml").to_str().unwrap(), "--to"])
        .arg(&to)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if backend == Backend::Postgres {
        assert!(!out.status.success() && said.contains("pg_dump"), "{said}");
        return;
    }
    assert!(out.status.success(), "{said}");
    assert!(said.contains("audit log intact"), "{said}");
    assert_eq!(std::fs::metadata(&to).unwrap().permissions().mode() & 0o777, 0o600);
    let url = hunyu::store::DatabaseUrl::parse(&format!("sqlite://{}", to.display())).unwrap();
    let copy = hunyu::store::Store::open(&url, 1).unwrap();
    assert_eq!(copy.read(hunyu::store::certificates::row_counts).unwrap(), node.row_counts());
    // A second backup to the same file is refused: a backup never overwrites one.
    let again = hunyu()
        .args(["backup", "--config", node.dir.path().join("hunyu.toml").to_str().unwrap(), "--to"])
        .arg(&to)
        .output()
        .unwrap();
    assert!(!again.status.success());
}

/// `hunyu init` makes the node directory 0700 and every file in it 0600 (the SQLite database
/// included); a node then refuses to start on a key, or a database, that others may read.
async fn a_node_s_files_are_its_own_and_it_refuses_shared_ones(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("node");
    let pg = (backend == Backend::Postgres).then(PgDatabase::create);
    let database = pg.as_ref().map_or_else(|| "sqlite://hunyu.db".to_owned(), |db| db.url.clone());
    let args = ["init", "--dir", node.to_str().unwrap(), "--code", "130728102000", "--name", "柴沟堡镇"];
    let out = hunyu().args(args).args(["--database", &database]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&node), 0o700);
    assert_eq!(mode(&node.join("keys")), 0o700);
    let mut files =
        vec!["hunyu.toml", "jwks.json", "keys/signing.pem", "keys/audit.key", "keys/tls.pem", "keys/tls.key"];
    if backend == Backend::Sqlite {
        files.push("hunyu.db");
    }
    for file in &files {
        assert_eq!(mode(&node.join(file)), 0o600, "{file}");
    }

    let config = Config::load(&node.join("hunyu.toml")).unwrap();
    let shared = if backend == Backend::Sqlite { "hunyu.db" } else { "keys/signing.pem" };
    std::fs::set_permissions(node.join(shared), std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = hunyu::node::NodeCore::open(&config).err().expect("a node started on a shared file");
    assert!(refused.to_string().contains("mode 644"), "{refused}");
    std::fs::set_permissions(node.join(shared), std::fs::Permissions::from_mode(0o600)).unwrap();
    hunyu::node::NodeCore::open(&config).unwrap();
}

/// A base port with BASE..=BASE+2 and BASE+1001..=BASE+1002 free (the demo's registry, nodes and peer listeners).
fn free_base_port() -> u16 {
    for _ in 0..100 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap().port();
        drop(probe);
        let ports = [base, base + 1, base + 2, base + 1001, base + 1002];
        if base > 1024 && base < 60_000 && ports.iter().all(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        {
            return base;
        }
    }
    panic!("no free ports");
}

#[test]
fn demo_plays_the_story_and_writes_demo_json() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let base = free_base_port();
    let run = || {
        hunyu()
            .args(["demo", "--dir", demo_dir.to_str().unwrap(), "--port", &base.to_string(), "--no-serve"])
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let steps = [
        "valid=true status=active",
        "arrival_notice #1 signed and queued",
        "signed receipt received",
        "(certificate active)",
        "residence reads the answer",
        "residence now answers for the old QR code: status=superseded",
        "at the residence: status=revoked",
        "reason=bad_signature",
        "\"valid\":true",
        "residence report v1 signed, kept by the registry",
        "查验率 1/2 = 50.0 % (target 90 %)",
        "not verified in time (考核名单): 欧阳晓雯 (answered for by 440306001000), 李娜 (answered for by 440306001000)",
        "origin women gone without a certificate: 1",
        "says 3 live at 440306001000, which says 2  ← flagged",
    ];
    for step in steps {
        assert!(stdout.contains(step), "demo output lacks {step:?}:\n{stdout}");
    }
    let demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demo_dir.join("demo.json")).unwrap()).unwrap();
    // It holds every role's API key.
    assert_eq!(std::fs::metadata(demo_dir.join("demo.json")).unwrap().permissions().mode() & 0o777, 0o600);
    let nodes = demo["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    let month = hunyu::domain::assessment::Month::of(chrono::Utc::now()).previous();
    for code in ["130728102000", "440306001000"] {
        let workbook = std::fs::read(demo_dir.join(format!("report-{code}-{month}.xlsx"))).unwrap();
        let figures = crate::helpers::xlsx_sheet(&workbook, hunyu::sheets::FIGURES_SHEET);
        assert_eq!(figures.get_value((0, 0)), Some(&calamine::Data::String(format!("{code} {month} 双向考核月报"))));
    }
    for (node, role) in nodes.iter().zip(["origin", "residence"]) {
        assert_eq!(node["role"], role);
        assert!(node["api_url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
        assert!(node["peer_url"].as_str().unwrap().starts_with("https://127.0.0.1:"));
        for key in ["officer", "worker", "employer", "admin"] {
            assert!(node["api_keys"][key].as_str().unwrap().starts_with(&format!("hy_{key}_")));
        }
    }
    // A second run reuses the nodes, their keys and their data.
    let again = run();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stdout));
    let demo_again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demo_dir.join("demo.json")).unwrap()).unwrap();
    assert_eq!(demo_again["nodes"][0]["api_keys"], demo["nodes"][0]["api_keys"]);
}

/// A serving demo stops on SIGTERM as on Ctrl-C: scripts (the contract test in `.ci/`) stop it so.
#[test]
fn a_serving_demo_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let base = free_base_port();
    let mut demo = hunyu()
        .args(["demo", "--dir", demo_dir.to_str().unwrap(), "--port", &base.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(demo.stdout.take().unwrap());
    let serving = std::io::BufRead::lines(stdout).map(Result::unwrap).any(|line| line.starts_with("serving;"));
    assert!(serving, "the demo ended before serving");
    let sent = Command::new("kill").args(["-TERM", &demo.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let asked = std::time::Instant::now();
    let status = loop {
        if let Some(status) = demo.try_wait().unwrap() {
            break status;
        }
        if asked.elapsed().as_secs() > 30 {
            demo.kill().unwrap();
            panic!("the demo still serves 30 s after SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn registry_commands_enrol_a_node_and_publish_what_it_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let reg = registry.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = hunyu().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["registry", "init", "--dir", reg, "--code", "130000000000", "--name", "河北省信任名录"]);
    let root = registry.join("root.jwk.json");
    let node = dir.path().join("node");
    run(&[
        "init",
        "--dir",
        node.to_str().unwrap(),
        "--code",
        "130728102000",
        "--name",
        "柴沟堡镇",
        "--registry-root",
        root.to_str().unwrap(),
        "--registry-url",
        "http://127.0.0.1:8700",
    ]);
    let config = std::fs::read_to_string(node.join("hunyu.toml")).unwrap();
    assert!(config.contains("[directory]") && config.contains("registry_url = \"http://127.0.0.1:8700\""), "{config}");

    let enrolled = run(&[
        "registry",
        "enrol",
        "--dir",
        reg,
        "--code",
        "130728102000",
        "--name",
        "柴沟堡镇",
        "--api-url",
        "http://127.0.0.1:8701",
        "--peer-url",
        "https://127.0.0.1:9701",
        "--jwks",
        node.join("jwks.json").to_str().unwrap(),
        "--tls-cert",
        node.join("keys/tls.pem").to_str().unwrap(),
    ]);
    assert!(enrolled.contains("serial 2"), "{enrolled}");
    let jwks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(node.join("jwks.json")).unwrap()).unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    run(&["registry", "compromise-key", "--dir", reg, "--kid", kid, "--at", "2026-06-01T00:00:00+08:00"]);
    let shown = run(&["registry", "show", "--dir", reg]);
    assert!(shown.contains("130728102000") && shown.contains("compromised_at Some(1780243200)"), "{shown}");

    // The published directory verifies under the root key and says the same.
    let token = std::fs::read_to_string(registry.join("directory.jws")).unwrap();
    let root: hunyu::seal::Jwk = serde_json::from_str(&std::fs::read_to_string(&root).unwrap()).unwrap();
    let contract = hunyu::contract::Contract::new().unwrap();
    let directory = hunyu::seal::directory::open_directory(&token, &root, &contract).unwrap();
    assert_eq!(directory.serial, 3);
    assert_eq!(directory.nodes[0].keys[0].window.compromised_at, Some(1_780_243_200));

    // Errors name what is wrong and change nothing.
    let out = hunyu().args(["registry", "retire-key", "--dir", reg, "--kid", "130728102000#nope"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no key 130728102000#nope"));
    assert_eq!(std::fs::read_to_string(registry.join("directory.jws")).unwrap(), token);
}
