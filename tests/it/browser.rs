//! The pages in Debian's Chromium, at a phone's width: what a person sees and does, axe-core's
//! verdict on each page, and a screenshot of each kept in `target/browser-artifacts/`.

use crate::both_backends;
use crate::chromium::Browser;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode};
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
