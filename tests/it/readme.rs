//! The README's "Running a node" setup, run as written (issue 10, item 10): the commands of its
//! first block, in its order, with its hosts, ports and `/srv` replaced by this test's own. The
//! node it sets up must trust itself at once and answer over HTTPS at the API URL it was enrolled with.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hunyu::exchange::tls::{TlsIdentity, client_config, fingerprint_of, install_crypto_provider};
use serde_json::{Value, json};

use crate::helpers::zhang_li;
use crate::serve::free_ports;

/// The first shell block after `heading` in the README.
fn setup_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find(heading).expect("the README has the section")..];
    let start = section.find("```sh\n").unwrap() + "```sh\n".len();
    section[start..start + section[start..].find("```").unwrap()].to_owned()
}

/// The block's commands: continuation lines joined, comments dropped, each split into words as a
/// shell would (double quotes only), and whether it runs in the background (`&`).
fn commands(block: &str) -> Vec<(Vec<String>, bool)> {
    let joined = block.replace("\\\n", " ");
    let mut commands = Vec::new();
    for line in joined.lines() {
        let (mut words, mut word, mut quoted, mut in_word) = (Vec::new(), String::new(), false, false);
        for c in line.chars() {
            match c {
                '"' => (quoted, in_word) = (!quoted, true),
                '#' if !quoted && !in_word => break,
                c if c.is_whitespace() && !quoted => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                    }
                    in_word = false;
                }
                c => (word, in_word) = (word + &c.to_string(), true),
            }
        }
        if in_word {
            words.push(word);
        }
        let background = words.last().is_some_and(|w| w == "&");
        if background {
            words.pop();
        }
        if !words.is_empty() {
            commands.push((words, background));
        }
    }
    commands
}

/// Background processes, killed when the test ends; their logs are shown if it failed.
struct Background(Vec<(Child, std::path::PathBuf)>);

impl Drop for Background {
    fn drop(&mut self) {
        for (child, log) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                eprintln!("{}", std::fs::read_to_string(log).unwrap_or_default());
            }
        }
    }
}

#[tokio::test]
async fn the_readme_setup_works_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let srv = dir.path().join("srv");
    std::fs::create_dir(&srv).unwrap();
    let [registry_port, api_port, peer_port] = free_ports();
    let block = setup_block("## Running a node")
        .replace("/srv/", &format!("{}/", srv.display()))
        .replace("0.0.0.0", "127.0.0.1")
        .replace("registry.example", "127.0.0.1")
        .replace("node.example", "127.0.0.1")
        .replace(":8700", &format!(":{registry_port}"))
        .replace(":8701", &format!(":{api_port}"))
        .replace(":9701", &format!(":{peer_port}"));
    let mut background = Background(Vec::new());
    let mut officer_key = None;
    for (words, in_background) in commands(&block) {
        assert_eq!(words[0], "hunyu", "the block runs hunyu only: {words:?}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_hunyu"));
        command.args(&words[1..]).current_dir(dir.path()).env("HUNYU_LOG", "info");
        if in_background {
            let log = dir.path().join(format!("{}.log", background.0.len()));
            let file = std::fs::File::create(&log).unwrap();
            command.stdout(file.try_clone().unwrap()).stderr(file);
            background.0.push((command.spawn().unwrap(), log));
            wait_for_port(if words[1] == "registry" { registry_port } else { api_port });
            continue;
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{words:?}: {}", String::from_utf8_lossy(&out.stderr));
        if words[1..3] == ["keys", "create"] {
            officer_key = Some(String::from_utf8(out.stdout).unwrap().trim().to_owned());
        }
    }
    let officer = officer_key.expect("the block creates an officer key");

    // The API answers over HTTPS with the certificate the directory pins for the node.
    install_crypto_provider();
    let node = srv.join("hunyu");
    let identity = TlsIdentity::load(&node.join("keys/tls.pem"), &node.join("keys/tls.key")).unwrap();
    let pin = fingerprint_of(&node.join("keys/tls.pem")).unwrap();
    let client =
        reqwest::Client::builder().use_preconfigured_tls(client_config(&identity, &pin).unwrap()).build().unwrap();
    let api = format!("https://127.0.0.1:{api_port}");
    let post = |path: &str, body: Value| {
        let request = client.post(format!("{api}{path}")).bearer_auth(&officer).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, issued) = post("/api/v1/certificates", zhang_li()).await;
    assert_eq!(status, 201, "{issued}");
    let (status, verdict) = post("/api/v1/verify", json!({ "token": issued["qr"] })).await;
    assert_eq!((status, verdict["valid"].as_bool()), (200, Some(true)), "{verdict}");

    // It holds, from its first moment, the directory that lists it: it was enrolled before it served.
    let directory = reqwest::get(format!("http://127.0.0.1:{registry_port}/directory")).await.unwrap();
    let directory = directory.text().await.unwrap();
    let published: Value =
        serde_json::from_slice(&hunyu::seal::b64url_decode(directory.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(published["nodes"][0]["api_url"], api, "{published}");
    let metrics = client.get(format!("{api}/metrics")).send().await.unwrap().text().await.unwrap();
    let serial = format!("hunyu_directory_serial {}", published["serial"]);
    assert!(metrics.lines().any(|line| line == serial), "wanted {serial} in {metrics}");
}

/// Waits until something listens on `port` of 127.0.0.1 (at most 30 s).
fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
