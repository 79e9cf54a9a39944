//! `hunyu demo`: an origin township and a residence street in another province, on SQLite,
//! playing the certificate story over real HTTP and printing what happened.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use chrono::Datelike as _;

use crate::config::{CONFIG_FILE, Config};
use crate::domain::assessment::Month;
use crate::domain::message::{MessageBody, MessageKind};
use crate::domain::role::Role;
use crate::registry::{self, Registry};
use crate::seal::{Jwk, qr};
use crate::setup::{InitOptions, RunningNode, create_account, create_api_key, federate, init_node, use_registry};
use crate::store::{Store, audit};

/// Options of `hunyu demo`.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub dir: PathBuf,
    /// Registry port; the origin listens on BASE+1, the residence on BASE+2.
    pub base_port: u16,
    /// Stop after the story instead of serving until Ctrl-C.
    pub no_serve: bool,
}

/// `DIR/demo.json`: what a newcomer needs to talk to the demo nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoFile {
    pub nodes: Vec<DemoNode>,
}

/// One demo node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoNode {
    pub role: String,
    pub code: String,
    pub name: String,
    pub api_url: String,
    /// Mutual-TLS listener for other nodes.
    pub peer_url: String,
    pub api_keys: BTreeMap<String, String>,
    /// People's accounts for the pages, one per role: name → password.
    #[serde(default)]
    pub accounts: BTreeMap<String, String>,
}

struct Site {
    role: &'static str,
    code: &'static str,
    name: &'static str,
    port_offset: u16,
}

const ORIGIN: Site =
    Site { role: "origin", code: "130728102000", name: "河北省张家口市怀安县柴沟堡镇", port_offset: 1 };
/// The registry of the demo: a national one, since the two nodes are in different provinces.
const REGISTRY: (&str, &str) = ("000000000000", "全国流动人口婚育证明信任名录");
const RESIDENCE: Site =
    Site { role: "residence", code: "440306001000", name: "广东省深圳市宝安区新安街道", port_offset: 2 };

/// Runs the demo; returns the demo file it wrote.
pub async fn run(options: &DemoOptions) -> anyhow::Result<DemoFile> {
    crate::files::create_private_dir(&options.dir)
        .with_context(|| format!("cannot create {}", options.dir.display()))?;
    let previous = read_demo_file(&options.dir);
    println!("hunyu demo in {}", options.dir.display());

    let registry_dir = options.dir.join("registry");
    let mut registry = if registry_dir.join(registry::STATE_FILE).exists() {
        Registry::open(&registry_dir)?
    } else {
        Registry::init(&registry_dir, REGISTRY.0, REGISTRY.1, 24 * 3600)?
    };
    let (registry_listener, registry_url) = listen(options.base_port)?;
    let registry_server = registry::serve(&registry_dir, registry_listener)?;
    let registry_handle = registry_server.handle();
    tokio::spawn(registry_server);
    println!("  registry {} {} at {registry_url}", REGISTRY.0, REGISTRY.1);

    let mut configs = Vec::new();
    let mut running = Vec::new();
    for site in [&ORIGIN, &RESIDENCE] {
        let config = prepare(&options.dir, site, options.base_port, &registry.root_jwk(), &registry_url)?;
        let mut node = RunningNode::start(&config).with_context(|| format!("cannot start the {} node", site.role))?;
        node.spawn();
        configs.push(config);
        running.push(node);
    }
    // Enrol both nodes at their addresses and hand them the directory (their refresh would fetch it).
    federate(&mut registry, &[(&configs[0], &running[0]), (&configs[1], &running[1])])?;
    println!("  trust directory published: serial {}, {} nodes", registry.state().serial, registry.state().nodes.len());

    let mut nodes = Vec::new();
    for ((site, config), node) in [&ORIGIN, &RESIDENCE].into_iter().zip(&configs).zip(&running) {
        nodes.push(DemoNode {
            role: site.role.into(),
            code: site.code.into(),
            name: site.name.into(),
            api_url: node.url(),
            peer_url: node.peer_url().unwrap_or_default(),
            api_keys: api_keys(config, site, previous.as_ref())?,
            accounts: accounts(config, site, previous.as_ref())?,
        });
        println!(
            "  {} node {} {} at {} (peers: {})",
            site.role,
            site.code,
            site.name,
            node.url(),
            node.peer_url().unwrap_or_default()
        );
    }
    let demo = DemoFile { nodes };
    let demo_path = options.dir.join("demo.json");
    // Every role's API key and account password is in it (mode 0600).
    crate::files::write_private(&demo_path, serde_json::to_string_pretty(&demo)?.as_bytes())?;

    story(&demo).await?;
    close_last_month(&demo, &registry_url, &options.dir).await?;

    println!("\n12. Every access above is in each node's hash-chained audit log");
    for (site, config) in [&ORIGIN, &RESIDENCE].into_iter().zip(&configs) {
        let store = Store::open(&config.database_url()?, 1)?;
        match store.read(audit::verify_chain)? {
            Ok(report) => println!(
                "   {}: intact, {} entries (hunyu audit verify --config {})",
                site.role,
                report.entries,
                node_dir(&options.dir, site).join(CONFIG_FILE).display()
            ),
            Err(broken) => bail!("the {} audit log is broken: {broken}", site.role),
        }
    }

    println!("\n13. The pages for people: sign in at each node's address with an account of its role");
    for node in &demo.nodes {
        println!("   {} {}/  (home: the worklists)", node.role, node.api_url);
        for (path, what) in [
            ("/scan/", "查验: camera, scanner or paste; verifies off line too (worker, officer)"),
            ("/certificates/new", "签发: the issue form (officer)"),
            ("/certificates/", "her certificates by ID number: renew, revoke, print with a holder code (officer)"),
            ("/departures/new", "流出登记 (officer)"),
            ("/inquiries/new", "协查 (worker, officer)"),
            ("/messages/", "what was sent and received, deadlines and states (worker, officer)"),
            ("/books/women", "三帐一卡, with XLSX download (worker, officer)"),
            ("/reports/", "双向考核: the month's chart against targets (officer, auditor)"),
            ("/accounts", "accounts (admin)"),
            ("/me/", "本人查询: a woman's own record, with the holder code on her paper"),
        ] {
            println!("     {}{path}  {what}", node.api_url);
        }
        for (name, password) in &node.accounts {
            println!("     {name:<9} {password}");
        }
    }

    println!("\nwrote {}", demo_path.display());
    if !options.no_serve {
        println!("serving; try: curl {}/.well-known/hunyu-node   (Ctrl-C to stop)", demo.nodes[0].api_url);
        stop_asked().await?;
    }
    for node in &running {
        node.handle().stop(true).await;
    }
    registry_handle.stop(true).await;
    Ok(demo)
}

/// Resolves on Ctrl-C or SIGTERM, the way an operator or a script stops the demo.
async fn stop_asked() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted,
        _ = terminate.recv() => Ok(()),
    }
}

fn node_dir(dir: &Path, site: &Site) -> PathBuf {
    dir.join(site.role)
}

/// Creates the node directory on first run (reusing keys and database afterwards) and points it
/// at the registry.
fn prepare(dir: &Path, site: &Site, base_port: u16, root: &Jwk, registry_url: &str) -> anyhow::Result<Config> {
    let node_dir = node_dir(dir, site);
    let path = node_dir.join(CONFIG_FILE);
    let listen = format!("127.0.0.1:{}", base_port + site.port_offset);
    let peer_listen = format!("127.0.0.1:{}", base_port + 1000 + site.port_offset);
    if !path.exists() {
        let options = InitOptions {
            dir: node_dir,
            code: site.code.into(),
            name: site.name.into(),
            database_url: "sqlite://hunyu.db".into(),
            listen: listen.clone(),
            peer_listen: Some(peer_listen.clone()),
            api_tls: false,
        };
        init_node(&options)?;
        println!("  created {} node in {}", site.role, path.display());
    }
    use_registry(&path, root, Some(registry_url))?;
    let mut config = Config::load(&path)?;
    config.http.listen = listen;
    config.peer.listen = Some(peer_listen);
    Ok(config)
}

fn listen(port: u16) -> anyhow::Result<(std::net::TcpListener, String)> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).with_context(|| format!("port {port} is taken"))?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((listener, url))
}

fn read_demo_file(dir: &Path) -> Option<DemoFile> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("demo.json")).ok()?).ok()
}

/// Keys of the previous run when the node is reused, otherwise new ones (the store keeps only hashes).
fn api_keys(config: &Config, site: &Site, previous: Option<&DemoFile>) -> anyhow::Result<BTreeMap<String, String>> {
    if let Some(node) = previous.and_then(|p| p.nodes.iter().find(|n| n.code == site.code))
        && node.api_keys.len() == Role::ALL.len()
    {
        return Ok(node.api_keys.clone());
    }
    Role::ALL
        .into_iter()
        .map(|role| Ok((role.as_str().to_owned(), create_api_key(config, role, "demo", None)?)))
        .collect()
}

/// Accounts of the previous run when the node is reused, otherwise one new account per role,
/// named after it, with a password made for it.
fn accounts(config: &Config, site: &Site, previous: Option<&DemoFile>) -> anyhow::Result<BTreeMap<String, String>> {
    if let Some(node) = previous.and_then(|p| p.nodes.iter().find(|n| n.code == site.code))
        && node.accounts.len() == Role::ALL.len()
    {
        return Ok(node.accounts.clone());
    }
    Role::ALL
        .into_iter()
        .map(|role| {
            let password = crate::seal::random_secret().context("the system random source failed")?;
            create_account(config, role.as_str(), role, &password)?;
            Ok((role.as_str().to_owned(), password))
        })
        .collect()
}

/// The people of the story, migrants from 怀安县 working in 宝安区 (also the tests' sample people).
pub fn sample_people() -> Vec<(&'static str, Value)> {
    vec![
        (
            "张丽, married, one son, IUD",
            json!({
                "person": { "name": "张丽", "id_number": "130728199003070026", "sex": "F", "birth_date": "1990-03-07",
                            "hukou": "130728102000", "ethnicity": "01" },
                "marital": { "status": "21", "since": "2015-06-01",
                             "spouse": { "name": "王强", "id_number": "130728198801010015" } },
                "children": [ { "birth_date": "2016-03-02", "sex": "M", "order": 1 } ],
                "contraception": { "method": "iud", "since": "2016-09-01" }
            }),
        ),
        (
            "欧阳晓雯, remarried, three children, tubal ligation",
            json!({
                "person": { "name": "欧阳晓雯", "id_number": "130728198804120121", "sex": "F", "birth_date": "1988-04-12",
                            "hukou": "130728102000", "ethnicity": "01" },
                "marital": { "status": "22", "since": "2009-10-01",
                             "spouse": { "name": "司马建国", "id_number": "130728198601020016" } },
                "children": [
                    { "birth_date": "2010-07-15", "sex": "F", "order": 1 },
                    { "birth_date": "2014-02-28", "sex": "M", "order": 2 },
                    { "birth_date": "2019-11-30", "sex": "F", "order": 3 }
                ],
                "contraception": { "method": "tubal_ligation", "since": "2020-03-01" }
            }),
        ),
        (
            "李娜, unmarried",
            json!({
                "person": { "name": "李娜", "id_number": "130728200109150046", "sex": "F", "hukou": "130728102000" },
                "marital": { "status": "10" },
                "children": []
            }),
        ),
        (
            "王芳, divorced, one daughter, pill",
            json!({
                "person": { "name": "王芳", "id_number": "130728199511200026", "sex": "F", "hukou": "130728102000",
                            "ethnicity": "03" },
                "marital": { "status": "40", "since": "2022-04-18" },
                "children": [ { "birth_date": "2018-08-08", "sex": "F", "order": 1 } ],
                "contraception": { "method": "pill" }
            }),
        ),
    ]
}

struct Client {
    http: reqwest::Client,
}

impl Client {
    async fn post(
        &self,
        node: &DemoNode,
        role: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let key = node.api_keys.get(role).context("demo key missing")?;
        let mut request = self.http.post(format!("{}{path}", node.api_url)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn get(&self, node: &DemoNode, role: &str, path: &str) -> anyhow::Result<Value> {
        let key = node.api_keys.get(role).context("demo key missing")?;
        let response = self.http.get(format!("{}{path}", node.api_url)).bearer_auth(key).send().await?;
        Ok(response.json().await?)
    }

    /// Sends through the exchange as `role` at `from`, waits for the receipt, and prints both steps.
    async fn send(&self, from: &DemoNode, role: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        let (status, sent) = self.post(from, role, path, Some(body)).await?;
        expect(status, 201, &sent)?;
        println!(
            "   {} → {}: {} #{} signed and queued",
            from.code,
            sent["to"].as_str().unwrap_or("?"),
            sent["kind"].as_str().unwrap_or("?"),
            sent["seq"]
        );
        let id = sent["id"].as_str().unwrap_or_default();
        for _ in 0..200 {
            let listed = self.get(from, role, "/api/v1/messages?direction=out&limit=50").await?;
            let mine = listed["messages"].as_array().and_then(|all| all.iter().find(|m| m["id"] == id).cloned());
            if let Some(message) = mine.filter(|m| m["state"] != "pending") {
                let at = message["receipted_at"].as_str().unwrap_or("?");
                println!("   signed receipt received at {at}");
                return Ok(sent);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        bail!("no receipt for {id} after 10 s")
    }

    /// The newest received message of `kind` at `node`, as its ledger shows it.
    async fn received(&self, node: &DemoNode, role: &str, kind: MessageKind) -> anyhow::Result<Received> {
        let path = format!("/api/v1/messages?direction=in&kind={}&limit=1", kind.as_str());
        let mut listed = self.get(node, role, &path).await?;
        let newest = listed["messages"].get_mut(0).map(Value::take).context("nothing received")?;
        Ok(serde_json::from_value(newest)?)
    }
}

/// A received message as the API lists it: from whom, its number, and its typed body.
#[derive(Deserialize)]
struct Received {
    peer: String,
    seq: i64,
    #[serde(flatten)]
    body: MessageBody,
}

async fn story(demo: &DemoFile) -> anyhow::Result<()> {
    let (origin, residence) = (&demo.nodes[0], &demo.nodes[1]);
    let client = Client { http: reqwest::Client::new() };
    let mut issued = Vec::new();

    println!("\n1. The origin township issues certificates (签发婚育证明)");
    for (who, content) in sample_people() {
        let (status, mut body) = client.post(origin, "officer", "/api/v1/certificates", Some(&content)).await?;
        if status == 409 && body["code"] == "certificate.exists" {
            // Reused demo directory: she already holds one, so the officer renews it (换发).
            let id = body["certificate_id"].as_str().context("conflict without certificate id")?.to_owned();
            let (status, renewed) =
                client.post(origin, "officer", &format!("/api/v1/certificates/{id}/renew"), Some(&content)).await?;
            expect(status, 201, &renewed)?;
            body = renewed;
        } else {
            expect(status, 201, &body)?;
        }
        let qr_len = body["qr"].as_str().map_or(0, str::len);
        println!(
            "   {who}: certificate {} v{} valid until {} (QR text {qr_len} chars)",
            short(&body["id"]),
            body["version"],
            body["valid_until"].as_str().unwrap_or("?")
        );
        issued.push((who, body));
    }
    if let Some((who, body)) = issued.first() {
        // Her paper carries a holder code: with it and her ID number she reads her own record.
        let path = format!("/api/v1/certificates/{}/holder-code", body["id"].as_str().unwrap_or_default());
        let (status, code) = client.post(origin, "officer", &path, None).await?;
        expect(status, 201, &code)?;
        let people = sample_people();
        let id_number = people[0].1["person"]["id_number"].as_str().unwrap_or("her ID number");
        println!(
            "   printed on the paper of {who}: holder code {}, with which and {id_number} she opens {}/me/",
            code["holder_code"].as_str().unwrap_or("?"),
            origin.api_url
        );
    }

    println!("\n2. She arrives in 宝安区; the residence worker scans her QR code (查验)");
    for (who, body) in &issued {
        let (status, result) =
            client.post(residence, "worker", "/api/v1/verify", Some(&json!({ "token": body["qr"] }))).await?;
        expect(status, 200, &result)?;
        println!(
            "   {who}: valid={} status={} issuer={} {}",
            result["valid"],
            result["status"].as_str().unwrap_or("?"),
            result["issuer"]["code"].as_str().unwrap_or("?"),
            result["issuer"]["name"].as_str().unwrap_or("?")
        );
    }
    if let Some((who, body)) = issued.get(1) {
        let text = body["qr"].as_str().unwrap_or_default();
        let version = qr::version_at_level_m(text).map_or("does not fit".into(), |v| format!("version {v}"));
        println!("\n   QR code of {who}: {} characters, {version} at error correction M", text.len());
        if let Some(picture) = qr::render_terminal(text) {
            println!("{picture}");
        }
    }

    println!("3. The residence registers 张丽's arrival (流入登记); her origin hears of it");
    let (_, first) = &issued[0];
    let today = crate::domain::calendar::local_date(chrono::Utc::now()).to_string();
    let arrival = json!({ "token": first["qr"], "address": "宝安区新安街道海旺社区", "arrived_on": today });
    let sent = client.send(residence, "worker", "/api/v1/arrivals", &arrival).await?;
    println!(
        "   deadlines: present the certificate by {}, check by {} (5 working days)",
        sent["deadlines"]["presentation_due"].as_str().unwrap_or("?"),
        sent["deadlines"]["check_due"].as_str().unwrap_or("?")
    );
    let received = client.received(origin, "officer", MessageKind::ArrivalNotice).await?;
    let MessageBody::ArrivalNotice(notice) = received.body else { bail!("not an arrival notice") };
    println!(
        "   origin ledger: {} arrived in {} on {} (certificate {})",
        notice.person.name,
        received.peer,
        notice.arrived_on,
        notice.certificate.map_or("none shown", |c| c.status.as_str())
    );

    println!("\n4. The residence asks the origin to confirm her marriage (协查, urgent: she is pregnant)");
    let person = json!({ "id_number": sample_people()[0].1["person"]["id_number"], "name": "张丽" });
    let inquiry = json!({ "to": origin.code, "person": person, "question": "请核实其婚姻及生育情况", "urgent": true });
    let asked = client.send(residence, "worker", "/api/v1/inquiries", &inquiry).await?;
    println!("   due by {} (15 days when urgent, else 30)", asked["due_on"].as_str().unwrap_or("?"));
    let path = format!("/api/v1/messages/{}/reply", asked["id"].as_str().unwrap_or_default());
    client.send(origin, "officer", &path, &json!({ "answer": "已婚（初婚），育一子，已上环" })).await?;
    let received = client.received(residence, "worker", MessageKind::Reply).await?;
    let MessageBody::Reply(reply) = received.body else { bail!("not a reply") };
    println!("   residence reads the answer: {}", reply.answer);

    println!("\n5. A daughter is born; the residence reports the birth (生育通报), owed an answer in 30 days");
    let birth = json!({ "person": person, "event": "birth", "on": today, "note": "二孩，女" });
    let reported = client.send(residence, "worker", "/api/v1/events", &birth).await?;
    println!("   answer due by {}", reported["due_on"].as_str().unwrap_or("?"));

    println!("\n6. The origin renews her certificate (换发); the residence hears of it");
    let mut content = sample_people().swap_remove(0).1;
    if let Some(children) = content["children"].as_array_mut() {
        children.push(json!({ "birth_date": today, "sex": "F", "order": 2 }));
    }
    let path = format!("/api/v1/certificates/{}/renew", first["id"].as_str().unwrap_or_default());
    let (status, renewed) = client.post(origin, "officer", &path, Some(&content)).await?;
    expect(status, 201, &renewed)?;
    println!("   new version v{} valid until {}", renewed["version"], renewed["valid_until"].as_str().unwrap_or("?"));
    println!("   (the origin sends the new version to every residence that registered her, in the same transaction)");
    let path = format!("/api/v1/messages/{}/reply", reported["id"].as_str().unwrap_or_default());
    client.send(origin, "officer", &path, &json!({ "answer": "已登记入帐，证明已换发" })).await?;
    // The update went first, in the same sequence as the reply whose receipt is in.
    let update = client.received(residence, "worker", MessageKind::CertificateUpdate).await?;
    println!("   residence ledger: certificate_update #{} from {}", update.seq, update.peer);
    let (_, old) = client.post(residence, "worker", "/api/v1/verify", Some(&json!({ "token": first["qr"] }))).await?;
    println!("   the residence now answers for the old QR code: status={}", old["status"].as_str().unwrap_or("?"));

    println!("\n7. 王芳 registered here too; the origin revokes her certificate (注销)");
    let (_, wang) = &issued[3];
    let arrival = json!({ "token": wang["qr"], "address": "宝安区新安街道", "arrived_on": today });
    client.send(residence, "worker", "/api/v1/arrivals", &arrival).await?;
    let path = format!("/api/v1/certificates/{}/revoke", wang["id"].as_str().unwrap_or_default());
    let (status, body) =
        client.post(origin, "officer", &path, Some(&json!({ "reason": "迁出，持证人申请注销" }))).await?;
    expect(status, 200, &body)?;
    let mut status = Value::Null;
    for _ in 0..200 {
        let (_, result) =
            client.post(residence, "worker", "/api/v1/verify", Some(&json!({ "token": wang["qr"] }))).await?;
        status = result["status"].clone();
        if status == "revoked" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let revocation = client.received(residence, "worker", MessageKind::Revocation).await?;
    println!("   residence ledger: revocation #{} from {}", revocation.seq, revocation.peer);
    println!("   verified at the residence: status={}", status.as_str().unwrap_or("?"));

    println!("\n8. 李娜's employer in 深圳 scans her employer QR (用人单位查验): the residence asks her origin");
    println!("   on-line for the certificate's status, and the employer learns only this:");
    let (_, li) = &issued[2];
    let (status, confirmed) = client
        .post(residence, "employer", "/api/v1/employer/confirm", Some(&json!({ "token": li["employer_qr"] })))
        .await?;
    expect(status, 200, &confirmed)?;
    println!("   {confirmed}");

    println!("\n9. A forged certificate: one character of 李娜's QR text changed");
    let forged = tamper(li["qr"].as_str().unwrap_or_default());
    let (_, result) = client.post(residence, "worker", "/api/v1/verify", Some(&json!({ "token": forged }))).await?;
    println!(
        "   valid={} reason={} ({})",
        result["valid"],
        result["reasons"][0]["code"].as_str().unwrap_or("?"),
        result["reasons"][0]["message"].as_str().unwrap_or("?")
    );

    println!("\n10. The books (三帐一卡) each side kept from what was exchanged, and the worklists");
    for (node, role) in [(origin, "officer"), (residence, "worker")] {
        for (book, name) in [("women", "育龄妇女卡"), ("births", "怀孕出生帐")] {
            let page = client.get(node, role, &format!("/api/v1/ledgers/{book}")).await?;
            let entries: Vec<String> = page["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    format!(
                        "{} {} {}",
                        e["kind"].as_str().unwrap_or("?"),
                        e["name"].as_str().unwrap_or("?"),
                        e["on"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            println!("   {} {name}: {}", node.role, entries.join("; "));
        }
        for (list, what) in
            [("answers", "answers owed"), ("checks", "checks owed"), ("outflows", "women gone without a certificate")]
        {
            let owed = client.get(node, role, &format!("/api/v1/worklists/{list}")).await?;
            println!("   {} {what}: {}", node.role, owed["items"].as_array().map_or(0, Vec::len));
        }
    }
    Ok(())
}

/// Step 11: facts dated last month (an arrival with a certificate, one without, a departure the
/// residence never registers), then both nodes close last month, the registry cross-checks their
/// reports, and each report is written as a workbook into `dir`.
async fn close_last_month(demo: &DemoFile, registry_url: &str, dir: &Path) -> anyhow::Result<()> {
    let (origin, residence) = (&demo.nodes[0], &demo.nodes[1]);
    let client = Client { http: reqwest::Client::new() };
    let month = Month::of(chrono::Utc::now()).previous();
    let day = |d: u32| month.first_day().with_day(d).map(|d| d.to_string()).unwrap_or_default();
    println!("\n11. Closing {month} (结账): each node signs its report for the registry, which cross-checks them");
    let people = sample_people();
    let person =
        |n: usize| json!({ "id_number": people[n].1["person"]["id_number"], "name": people[n].1["person"]["name"] });
    let (status, certificate) =
        client.post(origin, "officer", "/api/v1/lookup", Some(&json!({ "id_number": person(1)["id_number"] }))).await?;
    expect(status, 200, &certificate)?;
    let qr = &certificate["certificates"][0]["qr"];
    println!("   facts dated {month}: 欧阳晓雯 arrives showing her certificate; 李娜 arrives without one;");
    println!("   the origin records 王芳 leaving for 宝安区, where no one registers her that month");
    let shown = json!({ "token": qr, "address": "宝安区新安街道上合社区", "arrived_on": day(5) });
    client.send(residence, "worker", "/api/v1/arrivals", &shown).await?;
    let without = json!({ "person": person(2), "hukou": origin.code, "address": "宝安区新安街道上合社区",
                          "arrived_on": day(12) });
    client.send(residence, "worker", "/api/v1/arrivals", &without).await?;
    let departure =
        json!({ "person": person(3), "left_on": day(20), "destination": "深圳市宝安区", "to": residence.code });
    client.send(origin, "officer", "/api/v1/departures", &departure).await?;
    for node in [origin, residence] {
        let (status, closed) = client
            .post(node, "officer", "/api/v1/reports/assessment/close", Some(&json!({ "month": month.to_string() })))
            .await?;
        expect(status, 200, &closed)?;
        let made = if closed["made"] == true { "signed" } else { "unchanged since signed" };
        let sent = if closed["sent"] == true { "kept by the registry" } else { "not yet kept by the registry" };
        println!("   {} report v{} {made}, {sent}", node.role, closed["ver"]);
        for figure in closed["assessment"]["figures"].as_array().into_iter().flatten() {
            let (Some(n), Some(d)) = (figure["numerator"].as_u64(), figure["denominator"].as_u64()) else { continue };
            if d == 0 {
                continue;
            }
            let rate = figure["rate"].as_f64().map_or("—".into(), |r| format!("{:.1} %", r * 100.0));
            let target = figure["target"].as_f64().map_or(String::new(), |t| format!(" (target {:.0} %)", t * 100.0));
            println!("     {} {n}/{d} = {rate}{target}", figure["name_zh"].as_str().unwrap_or("?"));
        }
        let path =
            format!("/api/v1/reports/assessment/persons?month={month}&indicator=on_time_verification_rate&only=missed");
        let late = client.get(node, "officer", &path).await?;
        let late: Vec<String> = late["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                format!(
                    "{} (answered for by {})",
                    p["name"].as_str().unwrap_or("?"),
                    p["responsible"].as_str().unwrap_or("?")
                )
            })
            .collect();
        if !late.is_empty() {
            println!("     not verified in time (考核名单): {}", late.join(", "));
        }
        let path = format!("/api/v1/reports/assessment?month={month}&format=xlsx");
        let key = node.api_keys.get("officer").context("demo key missing")?;
        let response = client.http.get(format!("{}{path}", node.api_url)).bearer_auth(key).send().await?;
        let workbook = dir.join(format!("report-{}-{month}.xlsx", node.code));
        crate::files::write_private(&workbook, &response.error_for_status()?.bytes().await?)?;
        println!("     workbook: {}", workbook.display());
    }
    let checked: Value =
        client.http.get(format!("{registry_url}/reports/{month}/cross-check")).send().await?.json().await?;
    println!("   the registry's cross-check of {month} ({} pair(s) flagged):", checked["flagged"]);
    for pair in checked["pairs"].as_array().into_iter().flatten() {
        println!(
            "     origin {} says {} live at {}, which says {}{}",
            pair["origin"].as_str().unwrap_or("?"),
            pair["origin_says"],
            pair["residence"].as_str().unwrap_or("?"),
            pair["residence_says"],
            if pair["flagged"] == true { "  ← flagged: 瞒报/漏报 candidate for a person to resolve" } else { "" }
        );
    }
    Ok(())
}

/// Changes one character in the middle of the signed payload part of a QR text.
fn tamper(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let at = chars.len() / 2;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

fn short(id: &Value) -> String {
    id.as_str().map_or_else(String::new, |s| s.chars().take(13).collect())
}

fn expect(status: u16, wanted: u16, body: &Value) -> anyhow::Result<()> {
    if status != wanted {
        bail!("expected HTTP {wanted}, got {status}: {body}");
    }
    Ok(())
}
