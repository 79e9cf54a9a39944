//! The pages in Debian's Chromium, at a phone's width: what a person sees and does, axe-core's
//! verdict on each page, and a screenshot of each kept in `target/browser-artifacts/`.

use std::path::PathBuf;

use fantoccini::Locator;

use crate::both_backends;
use crate::chromium::{Browser, qr_video};
use serde_json::json;

use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, federation, single_woman, zhang_li};
use crate::pages::open_account;

/// Signs in on the page at `/` as `name`; the browser is left on the page the form led to.
async fn sign_in(browser: &Browser, node: &TestNode, name: &str, password: &str) {
    browser.goto(&format!("{}/", node.url)).await;
    browser.fill("name", name).await;
    browser.fill("password", password).await;
    browser.click("form[action='/sign-in'] button").await;
}

async fn a_worker_signs_in_sees_her_worklists_and_signs_out(backend: Backend) {
    let node = TestNode::spawn(backend, RESIDENCE, &[]).await;
    let password = open_account(&node, "zhao.min", "worker").await;
    let browser = Browser::open(&[]).await;

    browser.goto(&format!("{}/", node.url)).await;
    assert!(browser.text().await.contains("登录"));
    browser.check_page(&format!("sign-in-{backend:?}")).await;

    sign_in(&browser, &node, "zhao.min", &password).await;
    let home = browser.text().await;
    assert!(home.contains("工作台") && home.contains("zhao.min") && home.contains("待查验的流入人员"), "{home}");
    browser.check_page(&format!("worker-home-{backend:?}")).await;

    // English on request, kept for the session.
    browser.click("a[href='/lang/en']").await;
    assert!(browser.text().await.contains("Arrivals to check"), "{}", browser.text().await);
    browser.click("a[href='/lang/zh']").await;

    browser.click("form[action='/sign-out'] button").await;
    assert!(browser.text().await.contains("登录"));
    // Back in the history, the home page is not shown again: it was never cached, and the session is over.
    browser.client.back().await.unwrap();
    browser.client.refresh().await.unwrap();
    assert!(!browser.text().await.contains("待查验的流入人员"));
}
both_backends!(a_worker_signs_in_sees_her_worklists_and_signs_out);

async fn a_forged_form_is_refused_and_five_wrong_passwords_lock(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let password = open_account(&node, "li.officer", "officer").await;
    let browser = Browser::open(&[]).await;

    // A form posted with another token (as a page of another site would) is refused.
    browser.goto(&format!("{}/", node.url)).await;
    browser.fill("name", "li.officer").await;
    browser.fill("password", &password).await;
    browser.run("document.querySelector('input[name=form_token]').value = 'forged'; return null").await;
    browser.click("form[action='/sign-in'] button").await;
    let refused = browser.text().await;
    assert!(refused.contains("表单已过期或来源不明"), "{refused}");
    browser.check_page(&format!("sign-in-refused-{backend:?}")).await;

    for _ in 0..4 {
        sign_in(&browser, &node, "li.officer", "not the password").await;
        assert!(browser.text().await.contains("账号或密码不正确"));
    }
    sign_in(&browser, &node, "li.officer", "not the password").await;
    assert!(browser.text().await.contains("账号已锁定，请15分钟后重试"), "{}", browser.text().await);
    sign_in(&browser, &node, "li.officer", &password).await;
    assert!(browser.text().await.contains("账号已锁定"), "the right password opened a locked account");
}
both_backends!(a_forged_form_is_refused_and_five_wrong_passwords_lock);

async fn an_admin_opens_an_account_after_fixing_what_the_form_names(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let password = open_account(&node, "admin.wu", "admin").await;
    let browser = Browser::open(&[]).await;
    sign_in(&browser, &node, "admin.wu", &password).await;
    browser.click("a[href='/accounts']").await;

    browser.fill("name", "Wang Li").await;
    browser.fill("password", "short").await;
    browser.click("form[action='/accounts'] button").await;
    let refused = browser.text().await;
    assert!(refused.contains("账号名须为3至32位") && refused.contains("密码须为10至128个字符"), "{refused}");
    let invalid = browser.run("return document.getElementById('name').getAttribute('aria-invalid')").await;
    assert_eq!(invalid, "true");
    browser.check_page(&format!("accounts-errors-{backend:?}")).await;

    browser.fill("name", "wang.li").await;
    browser.run("document.getElementById('role').value = 'officer'; return null").await;
    browser.fill("password", "a password long enough").await;
    browser.click("form[action='/accounts'] button").await;
    let listed = browser.text().await;
    assert!(listed.contains("wang.li") && listed.contains("户籍地乡镇干部"), "{listed}");
    browser.check_page(&format!("accounts-{backend:?}")).await;
}
both_backends!(an_admin_opens_an_account_after_fixing_what_the_form_names);

/// Tampers with one character in the middle of a QR text, as a forger would.
fn forged(qr: &str) -> String {
    let mut chars: Vec<char> = qr.chars().collect();
    let at = chars.len() / 2;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

async fn a_worker_scans_with_the_camera_and_a_hand_held_scanner(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let issued = origin.issue(&zhang_li()).await;
    let qr = issued["qr"].as_str().unwrap();
    let password = open_account(residence, "zhao.min", "worker").await;
    let video = tempfile::NamedTempFile::with_suffix(".y4m").unwrap();
    qr_video(qr, video.path());
    let camera = format!("--use-file-for-fake-video-capture={}", video.path().display());
    let browser =
        Browser::open(&["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", &camera]).await;
    sign_in(&browser, residence, "zhao.min", &password).await;
    browser.click("a[href='/scan/']").await;
    assert!(browser.text().await.contains("信任名录"), "the page names the trust directory in use");
    browser.check_page(&format!("scan-{backend:?}")).await;

    // The camera: the fake one shows her certificate's QR code; the verdict is the node's.
    browser.client.find(Locator::Id("start-camera")).await.unwrap().click().await.unwrap();
    browser.wait_for("#verdict").await;
    assert_eq!(browser.run("return document.getElementById('verdict').dataset.status").await, "active");
    assert!(browser.text().await.contains("张丽"));
    browser.check_page(&format!("scan-valid-{backend:?}")).await;

    // A hand-held scanner types the text and presses Enter; this one was forged.
    let field = browser.client.find(Locator::Id("token")).await.unwrap();
    field.send_keys(&format!("{}\n", forged(qr))).await.unwrap();
    browser.wait_for("#verdict[data-status='invalid']").await;
    let codes = browser.run("return [...document.querySelectorAll('#verdict .reason')].map(r => r.dataset.code)").await;
    assert_eq!(codes, serde_json::json!(["bad_signature"]), "{}", browser.text().await);
    assert!(browser.text().await.contains("无效"));
    browser.check_page(&format!("scan-forged-{backend:?}")).await;
}
both_backends!(a_worker_scans_with_the_camera_and_a_hand_held_scanner);

async fn without_network_the_scan_page_verifies_from_its_kept_trust_and_queues_the_arrival(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let valid = origin.issue(&zhang_li()).await;
    let revoked = origin.issue(&single_woman(7)).await;
    let path = format!("/api/v1/certificates/{}/revoke", revoked["id"].as_str().unwrap());
    let (status, body) = origin.post(&path, &origin.officer, &json!({ "reason": "已迁回" })).await;
    assert_eq!(status, 200, "{body}");
    residence.fetch_status_lists().await;
    let password = open_account(residence, "zhao.min", "worker").await;
    let browser = Browser::open(&[]).await;
    sign_in(&browser, residence, "zhao.min", &password).await;
    browser.click("a[href='/scan/']").await;
    // Loaded once: the service worker keeps the page, its scripts and the trust data.
    for _ in 0..100 {
        let kept = browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 navigator.serviceWorker.ready.then(() => caches.match('/scan/trust.json')).then(r => done(!!r));",
                vec![],
            )
            .await
            .unwrap();
        if kept == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let verified_before = audit_count(residence, "verify").await;

    browser.set_offline(true).await;
    browser.client.refresh().await.unwrap();
    assert!(browser.text().await.contains("离线"), "{}", browser.text().await);
    let field = browser.client.find(Locator::Id("token")).await.unwrap();
    field.send_keys(&format!("{}\n", revoked["qr"].as_str().unwrap())).await.unwrap();
    browser.wait_for("#offline-result #verdict[data-status='revoked']").await;
    let codes = browser.run("return [...document.querySelectorAll('#verdict .reason')].map(r => r.dataset.code)").await;
    assert_eq!(codes, json!(["revoked"]));
    browser.check_page(&format!("scan-offline-revoked-{backend:?}")).await;

    let field = browser.client.find(Locator::Id("token")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(&format!("{}\n", valid["qr"].as_str().unwrap())).await.unwrap();
    browser.wait_for("#offline-result #verdict[data-status='active']").await;
    assert!(browser.text().await.contains("张丽"));
    // Off line, the arrival is kept on the phone…
    browser.fill("address", "宝安区新安街道某路1号").await;
    browser.client.find(Locator::Css("#arrival-form button")).await.unwrap().click().await.unwrap();
    browser.wait_for("#queued:not(:empty)").await;
    browser.check_page(&format!("scan-offline-valid-{backend:?}")).await;
    assert_eq!(audit_count(residence, "verify").await, verified_before, "the node was asked while off line");
    assert!(residence.messages("direction=out&kind=arrival_notice").await.is_empty());

    // …kept while her session is gone (it ends on a shared phone), not sent by the next worker
    // signed in there, and registered once she is signed in again.
    browser.client.delete_cookie("hy_session").await.unwrap();
    browser.set_offline(false).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let other = open_account(residence, "qian.li", "worker").await;
    sign_in(&browser, residence, "qian.li", &other).await;
    browser.click("a[href='/scan/']").await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(residence.messages("direction=out&kind=arrival_notice").await.is_empty(), "sent without her session");
    browser.click("form[action='/sign-out'] button").await;
    sign_in(&browser, residence, "zhao.min", &password).await;
    browser.click("a[href='/scan/']").await;
    for _ in 0..100 {
        if !residence.messages("direction=out&kind=arrival_notice").await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let sent = residence.messages("direction=out&kind=arrival_notice").await;
    assert_eq!(sent.len(), 1, "the kept arrival was not registered once she was back");
    assert_eq!(sent[0]["peer"], origin.code);
    let left = browser.run("return localStorage.getItem('hunyu-arrivals:zhao.min')").await;
    assert_eq!(left, json!("[]"), "a registered arrival does not stay on the phone");
}
both_backends!(without_network_the_scan_page_verifies_from_its_kept_trust_and_queues_the_arrival);

/// How many audit entries of `action` the node holds.
async fn audit_count(node: &TestNode, action: &str) -> usize {
    let (status, body) = node.get(&format!("/api/v1/audit?action={action}&limit=1000"), &node.auditor).await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().len()
}

async fn the_phone_and_the_node_reach_the_same_verdict(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let valid = origin.issue(&zhang_li()).await;
    let renewed = origin.issue(&single_woman(8)).await;
    let path = format!("/api/v1/certificates/{}/renew", renewed["id"].as_str().unwrap());
    assert_eq!(origin.post(&path, &origin.officer, &json!({})).await.0, 201);
    let revoked = origin.issue(&single_woman(9)).await;
    let path = format!("/api/v1/certificates/{}/revoke", revoked["id"].as_str().unwrap());
    assert_eq!(origin.post(&path, &origin.officer, &json!({ "reason": "已迁回" })).await.0, 200);
    residence.fetch_status_lists().await;
    let vectors =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vectors/tokens.csv")).unwrap();
    let mut tokens: Vec<String> = vectors.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().to_owned()).collect();
    for issued in [&valid, &renewed, &revoked] {
        tokens.push(issued["qr"].as_str().unwrap().to_owned());
        tokens.push(issued["token"].as_str().unwrap().to_owned());
        tokens.push(forged(issued["qr"].as_str().unwrap()));
    }
    tokens.push("HY1:NOT-A-CERTIFICATE".into());

    let password = open_account(residence, "zhao.min", "worker").await;
    let browser = Browser::open(&[]).await;
    sign_in(&browser, residence, "zhao.min", &password).await;
    browser.click("a[href='/scan/']").await;
    let phone = browser
        .client
        .execute_async(
            "const [tokens, done] = arguments;
             Promise.all([import('/assets/verify.js'), fetch('/scan/trust.json').then(r => r.json())])
               .then(async ([verifier, bundle]) => {
                 const trust = await verifier.openTrust(bundle);
                 const verdicts = [];
                 for (const token of tokens) {
                   const v = await verifier.verifyOffline(token, trust);
                   verdicts.push([v.status, v.reasons.map(r => r.code)]);
                 }
                 done(verdicts);
               });",
            vec![json!(tokens)],
        )
        .await
        .unwrap();
    let phone = phone.as_array().unwrap();
    assert_eq!(phone.len(), tokens.len());
    for (token, phone) in tokens.iter().zip(phone) {
        let node = residence.verify(token).await;
        let reasons: Vec<&str> =
            node["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
        assert_eq!(phone, &json!([node["status"], reasons]), "{token}");
    }
}
both_backends!(the_phone_and_the_node_reach_the_same_verdict);

async fn an_officer_issues_after_fixing_the_field_the_form_names(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let password = open_account(&node, "li.officer", "officer").await;
    let browser = Browser::open(&[]).await;
    sign_in(&browser, &node, "li.officer", &password).await;
    browser.click("a[href='/certificates/new']").await;
    browser.check_page(&format!("issue-{backend:?}")).await;

    let holder = zhang_li();
    let id_number = holder["person"]["id_number"].as_str().unwrap();
    let wrong_check_digit = format!("{}{}", &id_number[..17], if id_number.ends_with('9') { '0' } else { '9' });
    browser.fill("person.name", "张丽").await;
    browser.fill("person.id_number", &wrong_check_digit).await;
    browser.run("document.getElementById('marital.status').value = '10'; return null").await;
    browser.click("form[action='/certificates/new'] button[type=submit]").await;
    let invalid = browser.run("return document.getElementById('person.id_number').getAttribute('aria-invalid')").await;
    assert_eq!(invalid, "true", "{}", browser.text().await);
    let said = browser.run("return document.getElementById('person.id_number-error').textContent").await;
    assert!(said.as_str().unwrap().contains("校验码"), "{said}");
    assert_eq!(
        browser.run("return document.getElementById('person.name').value").await,
        "张丽",
        "what was typed is kept"
    );
    browser.check_page(&format!("issue-errors-{backend:?}")).await;

    browser.fill("person.id_number", id_number).await;
    browser.click("form[action='/certificates/new'] button[type=submit]").await;
    browser.wait_for("#issued").await;
    assert_eq!(browser.run("return document.querySelectorAll('.qr-pair svg').length").await, 2);
    browser.check_page(&format!("issued-{backend:?}")).await;
    let (status, found) = node.post("/api/v1/lookup", &node.officer, &json!({ "id_number": id_number })).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["certificates"].as_array().map(Vec::len), Some(1), "{found}");
}
both_backends!(an_officer_issues_after_fixing_the_field_the_form_names);

async fn the_printed_certificate_is_one_a5_page_a_camera_reads(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = node.issue(&zhang_li()).await;
    let password = open_account(&node, "li.officer", "officer").await;
    let browser = Browser::open(&[]).await;
    sign_in(&browser, &node, "li.officer", &password).await;
    browser.goto(&format!("{}/certificates/{}/print", node.url, issued["id"].as_str().unwrap())).await;
    let page = browser.text().await;
    assert!(page.contains("流动人口婚育证明") && page.contains("张丽") && page.contains("盖章"), "{page}");
    browser.check_page(&format!("print-{backend:?}")).await;
    // What the officer prints: the paper with her holder code (the button itself is not printed).
    let id = issued["id"].as_str().unwrap();
    browser.click(&format!("form[action='/certificates/{id}/print'] button")).await;
    browser.wait_for("#holder-code").await;
    let code = browser.run("return document.getElementById('holder-code').textContent").await;

    let a5 = fantoccini::wd::PrintSize { width: 14.8, height: 21.0 };
    let configuration = fantoccini::wd::PrintConfiguration::builder().size(a5).background(true).build().unwrap();
    let pdf = browser.client.print(configuration).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("certificate.pdf"), &pdf).unwrap();
    let rasterised = std::process::Command::new("pdftoppm")
        .args(["-r", "200", "-png", "certificate.pdf", "page"])
        .current_dir(dir.path())
        .status()
        .expect("pdftoppm: install poppler-utils (.ci/test does)");
    assert!(rasterised.success());
    let pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .collect();
    assert_eq!(pages.len(), 1, "the certificate takes one A5 page");
    let text = std::process::Command::new("pdftotext").args(["certificate.pdf", "-"]).current_dir(dir.path()).output();
    let text = String::from_utf8(text.expect("pdftotext: install poppler-utils (.ci/test does)").stdout).unwrap();
    assert!(text.contains(code.as_str().unwrap()), "the holder code is printed: {text}");
    assert!(!text.contains("生成本人查询码"), "the page's own button is not printed: {text}");
    let read = std::process::Command::new("zbarimg")
        .args(["--raw", "-q", "-Sbinary"])
        .arg(pages[0].path())
        .output()
        .expect("zbarimg: install zbar-tools (.ci/test does)");
    let codes = String::from_utf8_lossy(&read.stdout);
    for code in [&issued["qr"], &issued["employer_qr"]] {
        assert!(codes.contains(code.as_str().unwrap()), "the printed page does not give back {code}: {codes}");
    }
    std::fs::copy(
        pages[0].path(),
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("../browser-artifacts/print-a5-{backend:?}.png")),
    )
    .unwrap();
}
both_backends!(the_printed_certificate_is_one_a5_page_a_camera_reads);

async fn an_officer_reads_the_month_as_a_chart_against_its_targets(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    // One woman of the origin holds a certificate, one does not: 发证率 is 1/2, under its target.
    origin.issue(&zhang_li()).await;
    let departure = json!({ "person": { "id_number": single_woman(5)["person"]["id_number"], "name": "李娜" },
                            "left_on": "2026-11-02", "destination": "深圳", "to": residence.code });
    assert_eq!(origin.post("/api/v1/departures", &origin.officer, &departure).await.0, 201);
    let password = open_account(origin, "li.officer", "officer").await;
    let browser = Browser::open(&[]).await;
    sign_in(&browser, origin, "li.officer", &password).await;
    browser.click("a[href='/reports/']").await;
    browser.goto(&format!("{}/reports/?month=2026-11", origin.url)).await;
    let bars =
        browser.run("return [...document.querySelectorAll('#chart rect.bar')].map(b => b.dataset.indicator)").await;
    let rows = browser
        .run("return [...document.querySelectorAll('#figures tr[data-indicator]')].filter(r => r.cells[2].textContent !== '—').map(r => r.dataset.indicator)")
        .await;
    assert_eq!(bars, rows, "the chart shows every figure the table gives a rate");
    assert!(!bars.as_array().unwrap().is_empty(), "{}", browser.text().await);
    browser.check_page(&format!("report-{backend:?}")).await;
}
both_backends!(an_officer_reads_the_month_as_a_chart_against_its_targets);

async fn an_officer_answers_an_inquiry_one_tap_from_the_worklist(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let inquiry = json!({ "to": origin.code, "person": { "id_number": zhang_li()["person"]["id_number"], "name": "张丽" },
                          "question": "请核实婚姻状况", "urgent": true });
    let (status, asked) = residence.post("/api/v1/inquiries", &residence.worker, &inquiry).await;
    assert_eq!(status, 201, "{asked}");
    residence.await_receipts().await;
    let password = open_account(origin, "li.officer", "officer").await;
    let browser = Browser::open(&[]).await;
    sign_in(&browser, origin, "li.officer", &password).await;
    browser.click(&format!("a[href='/messages/{}/reply']", asked["id"].as_str().unwrap())).await;
    assert!(browser.text().await.contains("请核实婚姻状况"), "{}", browser.text().await);

    // Blank (spaces pass the browser's own check; the node's trims them).
    browser.fill("answer", "   ").await;
    browser.click("form[action$='/reply'] button").await;
    assert_eq!(browser.run("return document.getElementById('answer').getAttribute('aria-invalid')").await, "true");
    browser.check_page(&format!("reply-errors-{backend:?}")).await;
    browser.fill("answer", "已核实：初婚，2015年登记").await;
    browser.click("form[action$='/reply'] button").await;
    browser.wait_for("#replied").await;
    origin.await_receipts().await;
    let replies = residence.messages("direction=in&kind=reply").await;
    assert_eq!(replies.len(), 1, "the answer did not reach the residence");
}
both_backends!(an_officer_answers_an_inquiry_one_tap_from_the_worklist);

async fn a_worker_reads_her_books_filtered_by_day(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let issued = origin.issue(&zhang_li()).await;
    let arrival = json!({ "token": issued["qr"], "address": "宝安区新安街道某路1号", "arrived_on": "2026-11-20" });
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &arrival).await.0, 201);
    let password = open_account(residence, "zhao.min", "worker").await;
    let browser = Browser::open(&[]).await;
    sign_in(&browser, residence, "zhao.min", &password).await;
    browser.click("a[href='/books/women']").await;
    assert!(browser.text().await.contains("张丽"), "{}", browser.text().await);
    assert_eq!(browser.run("return document.querySelectorAll('#entries tbody tr').length").await, 1);
    browser.check_page(&format!("books-{backend:?}")).await;
    // A date field takes what its calendar picks; the test sets it as the picker would.
    browser.run("document.getElementById('from').value = '2026-11-21'; return null").await;
    browser.click("form.month button").await;
    assert_eq!(browser.run("return document.getElementById('from').value").await, "2026-11-21");
    assert_eq!(browser.run("return document.querySelectorAll('#entries tbody tr').length").await, 0);
}
both_backends!(a_worker_reads_her_books_filtered_by_day);

async fn a_holder_sees_the_access_that_just_happened_and_asks_for_a_correction(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let person = zhang_li();
    let id_number = person["person"]["id_number"].as_str().unwrap().to_owned();
    let id = node.issue(&person).await["id"].as_str().unwrap().to_owned();
    let password = open_account(&node, "li.officer", "officer").await;
    let browser = Browser::open(&[]).await;

    // The officer prints her paper with a fresh holder code on it.
    sign_in(&browser, &node, "li.officer", &password).await;
    browser.goto(&format!("{}/certificates/{id}/print", node.url)).await;
    browser.click(&format!("form[action='/certificates/{id}/print'] button")).await;
    browser.wait_for("#holder-code").await;
    let code = browser.run("return document.getElementById('holder-code').textContent").await;
    let code = code.as_str().unwrap().to_owned();
    browser.check_page(&format!("print-with-code-{backend:?}")).await;
    browser.click("form[action='/sign-out'] button").await;

    // She opens her record from the sign-in page: the print just made is the access under hers.
    browser.click("a[href='/me/']").await;
    browser.check_page(&format!("holder-sign-in-{backend:?}")).await;
    browser.fill("id_number", &id_number).await;
    browser.fill("holder_code", &code).await;
    browser.click("form[action='/me/'] button").await;
    browser.wait_for("#accesses").await;
    let actions =
        browser.run("return [...document.querySelectorAll('#accesses tbody tr')].map(r => r.dataset.action)").await;
    // Newest first: her own visit, then the paper printed a moment ago (which read the certificate).
    let expected = ["holder_view", "show_certificate", "print_certificate", "show_certificate", "issue_certificate"];
    assert_eq!(actions, json!(expected), "{actions}");
    let print =
        browser.run("return document.querySelector('#accesses tr[data-action=print_certificate]').textContent").await;
    assert!(print.as_str().unwrap().contains("户籍地乡镇干部"), "{print}");
    assert!(!print.as_str().unwrap().contains("li.officer"), "an access names a role, not a person: {print}");
    browser.check_page(&format!("holder-record-{backend:?}")).await;

    browser.fill("request", "婚姻状况应为已婚，2025年登记").await;
    browser.click("form[action='/me/correction'] button").await;
    browser.wait_for("#filed").await;

    // The officer finds it on his home page, one tap from its answer.
    sign_in(&browser, &node, "li.officer", &password).await;
    browser.click("a[href^='/corrections/']").await;
    assert!(browser.text().await.contains("婚姻状况应为已婚"), "{}", browser.text().await);
    browser.check_page(&format!("correction-{backend:?}")).await;
    browser.fill("answer", "已核实，已换发证明").await;
    browser.click("form[action^='/corrections/'] button").await;
    browser.wait_for("#answered").await;
}
both_backends!(a_holder_sees_the_access_that_just_happened_and_asks_for_a_correction);

async fn an_officer_renews_revokes_and_records_a_departure_from_the_pages(backend: Backend) {
    let (_registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let person = zhang_li();
    let id_number = person["person"]["id_number"].as_str().unwrap().to_owned();
    let id = origin.issue(&person).await["id"].as_str().unwrap().to_owned();
    let password = open_account(origin, "li.officer", "officer").await;
    let browser = Browser::open(&[]).await;
    sign_in(&browser, origin, "li.officer", &password).await;

    browser.click("a[href='/certificates/']").await;
    browser.fill("id_number", &id_number).await;
    browser.click("form[action='/certificates/'] button").await;
    browser.click(&format!("#found a[href='/certificates/{id}']")).await;
    browser.check_page(&format!("certificate-{backend:?}")).await;

    // Renewed from the form as it stands, with one more child.
    browser.click(&format!("a[href='/certificates/{id}/renew']")).await;
    assert_eq!(browser.run("return document.getElementById('person.id_number').value").await, id_number.as_str());
    browser.check_page(&format!("renew-{backend:?}")).await;
    browser.run("document.getElementById('children[1].birth_date').value = '2024-05-01'; return null").await;
    browser.run("document.getElementById('children[1].sex').value = 'F'; return null").await;
    browser.click(&format!("form[action='/certificates/{id}/renew'] button")).await;
    browser.wait_for("#issued").await;
    assert!(browser.text().await.contains("v2"), "{}", browser.text().await);

    // Revoked with its reason.
    browser.goto(&format!("{}/certificates/{id}", origin.url)).await;
    browser.fill("reason", "本人申请注销").await;
    browser.click(&format!("form[action='/certificates/{id}/revoke'] button")).await;
    browser.wait_for("#revoked").await;
    let statuses =
        browser.run("return [...document.querySelectorAll('#versions tbody tr')].map(r => r.dataset.status)").await;
    assert_eq!(statuses, json!(["superseded", "revoked"]), "{statuses}");

    // Her departure, told to her expected residence.
    browser.goto(&format!("{}/departures/new", origin.url)).await;
    browser.check_page(&format!("departure-{backend:?}")).await;
    browser.fill("person.name", "张丽").await;
    browser.fill("person.id_number", &id_number).await;
    browser.run(&format!("document.getElementById('to').value = '{}'; return null", residence.code)).await;
    browser.run("document.getElementById('left_on').value = '2026-11-03'; return null").await;
    browser.fill("destination", "深圳市宝安区新安街道").await;
    browser.click("form[action='/departures/new'] button").await;
    browser.wait_for("#sent").await;
    browser.goto(&format!("{}/inquiries/new", origin.url)).await;
    browser.check_page(&format!("inquiry-{backend:?}")).await;
    browser.goto(&format!("{}/", origin.url)).await;
    browser.click("a[href='/messages/']").await;
    let kinds =
        browser.run("return [...document.querySelectorAll('#messages tbody tr')].map(r => r.dataset.kind)").await;
    assert_eq!(kinds, json!(["departure_notice"]), "{kinds}");
    browser.check_page(&format!("messages-{backend:?}")).await;
}
both_backends!(an_officer_renews_revokes_and_records_a_departure_from_the_pages);
