//! Debian's headless Chromium, driven over WebDriver by its chromedriver: one browser at a time
//! across the suite (each holds a few hundred MiB and a core while it starts), a fresh profile
//! each, the network closed to all but 127.0.0.1. Screenshots go to `target/browser-artifacts/`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

/// The width of the phone every page is tried at.
pub const PHONE_WIDTH: u32 = 360;

static TURN: Mutex<()> = Mutex::const_new(());

/// A browser session with its chromedriver; both end when it is dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing chromedriver leaves the Chromium it started running (and busy, a page open):
        // every process of this browser names its own profile directory, so those go first.
        let _ = Command::new("pkill").arg("-KILL").arg("-f").arg(self.profile.path()).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// A headless Chromium the size of a phone, with `args` added to its command line.
    pub async fn open(args: &[&str]) -> Browser {
        let turn = TURN.lock().await;
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver: install Debian's chromium and chromium-driver (.ci/test does)");
        let profile = tempfile::tempdir().unwrap();
        let mut chrome_args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        chrome_args.extend(args.iter().map(|a| (*a).to_owned()));
        let capabilities = json!({
            "browserName": "chrome",
            // A desktop window is at least 500 px wide: the phone's viewport is emulated.
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": chrome_args,
                "mobileEmulation": { "deviceMetrics": { "width": PHONE_WIDTH, "height": 740, "pixelRatio": 2.0 } },
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
        let url = format!("http://127.0.0.1:{port}");
        let mut client = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                Ok(connected) => {
                    client = Some(connected);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let client = client.expect("chromedriver did not start a session within 10 s");
        Browser { client, driver, profile, _turn: turn }
    }

    /// Opens `url` and waits for its document.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.client.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
    }

    /// Types `value` into the field with this id.
    pub async fn fill(&self, id: &str, value: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the first element `css` matches, and waits for the page it leads to.
    pub async fn click(&self, css: &str) {
        let before = self.client.find(Locator::Css("html")).await.unwrap();
        self.client.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
        // The old document's element goes stale once the new page has loaded.
        for _ in 0..100 {
            if before.tag_name().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking {css} led nowhere");
    }

    /// Cuts the browser's network (`offline`) or gives it back, as chromedriver emulates it: the
    /// page sees `navigator.onLine` change and every request fail.
    pub async fn set_offline(&self, offline: bool) {
        self.client.issue_cmd(NetworkConditions { offline }).await.unwrap();
        let wanted = if offline { "false" } else { "true" };
        for _ in 0..100 {
            if self.run("return String(navigator.onLine)").await == wanted {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("navigator.onLine did not become {wanted}");
    }

    /// Waits up to 20 s for an element that `css` matches to appear.
    pub async fn wait_for(&self, css: &str) {
        for _ in 0..200 {
            if self.client.find(Locator::Css(css)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} did not appear; the page says: {}", self.text().await);
    }

    /// Runs `script` in the page and gives back what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Keeps a screenshot of the whole width as `target/browser-artifacts/<name>.png`; its width
    /// in CSS pixels.
    pub async fn screenshot(&self, name: &str) -> u64 {
        let png = self.client.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../browser-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        self.run("return document.documentElement.scrollWidth").await.as_u64().unwrap()
    }

    /// The serious and critical accessibility violations axe-core finds on the page, by rule.
    pub async fn serious_violations(&self) -> Vec<String> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{}: run `npm ci --prefix web` (.ci/test does)", path.display()));
        // Injected through WebDriver, not by the page: its CSP forbids inline script, not this.
        self.client.execute(&axe, vec![]).await.unwrap();
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// Checks the page as every page is checked: no serious accessibility violation, no wider
    /// than a phone, and its screenshot kept as `name`.
    pub async fn check_page(&self, name: &str) {
        let violations = self.serious_violations().await;
        assert!(violations.is_empty(), "{name}: {violations:#?}");
        let width = self.screenshot(name).await;
        assert!(width <= u64::from(PHONE_WIDTH), "{name} is {width} px wide on a {PHONE_WIDTH} px phone");
    }
}

/// chromedriver's extension command that emulates network conditions.
#[derive(Debug)]
struct NetworkConditions {
    offline: bool,
}

impl fantoccini::wd::WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/chromium/network_conditions", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let conditions = json!({ "network_conditions": {
            "offline": self.offline, "latency": 0, "download_throughput": -1, "upload_throughput": -1 } });
        (http::Method::POST, Some(conditions.to_string()))
    }
}

/// A video file for Chromium's fake camera (`--use-file-for-fake-video-capture`): `text` as a QR
/// code at error correction M, black on white, as a phone held over the paper would see it.
pub fn qr_video(text: &str, path: &std::path::Path) {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).unwrap();
    let (modules, colors) = (code.width(), code.to_colors());
    let (scale, quiet) = (6, 4);
    let side = (modules + 2 * quiet) * scale;
    let side = side + side % 2;
    let mut luma = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = ((i % modules + quiet) * scale, (i / modules + quiet) * scale);
            for row in y..y + scale {
                luma[row * side + x..row * side + x + scale].fill(0);
            }
        }
    }
    let mut video = format!("YUV4MPEG2 W{side} H{side} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..2 {
        video.extend_from_slice(b"FRAME\n");
        video.extend_from_slice(&luma);
        video.extend(std::iter::repeat_n(128u8, side * side / 2));
    }
    std::fs::write(path, video).unwrap();
}
