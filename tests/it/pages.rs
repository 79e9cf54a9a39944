//! The pages' accounts and sessions over plain HTTP: the cookie, the form token, the lock-out, and
//! the audit entry of every try. The browser tests drive the same pages in Chromium.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode};

/// A person at a browser: the cookies the node set, sent back as a browser would.
pub struct Visitor<'a> {
    node: &'a TestNode,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

/// A page as answered: status, the `Location` of a redirect, the body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl<'a> Visitor<'a> {
    pub fn new(node: &'a TestNode) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { node, client, cookies: Vec::new() }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let header = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
        let response = request.header(COOKIE, header).send().await.unwrap();
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
            let (name, rest) = set.split_once('=').unwrap();
            let value = rest.split(';').next().unwrap().to_owned();
            self.cookies.retain(|(n, _)| n != name);
            if !set.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value));
            }
        }
        let status = response.status().as_u16();
        if status == 200 {
            let url = response.url().to_string();
            let csp = response.headers().get("content-security-policy").unwrap_or_else(|| panic!("{url}: no CSP"));
            let csp = csp.to_str().unwrap();
            assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        }
        let location = response.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned());
        Answer { status, location, body: response.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.client.get(format!("{}{path}", self.node.url));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", encoded(k), encoded(v))).collect();
        let request = self
            .client
            .post(format!("{}{path}", self.node.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"));
        self.send(request).await
    }

    /// Opens the sign-in page and signs in; the answer to the form.
    pub async fn sign_in(&mut self, name: &str, password: &str) -> Answer {
        let page = self.get("/").await;
        assert_eq!(page.status, 200);
        let token = form_token(&page.body);
        self.post("/sign-in", &[("name", name), ("password", password), ("form_token", &token)]).await
    }
}

/// `text` as a form encodes it (every byte but letters and digits as `%XX`).
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The form token of the first form of `body`.
pub fn form_token(body: &str) -> String {
    let (_, rest) = body.split_once("name=\"form_token\" value=\"").expect("a form token");
    rest.split('"').next().unwrap().to_owned()
}

/// Opens an account through the admin API; its password.
pub async fn open_account(node: &TestNode, name: &str, role: &str) -> String {
    let password = format!("{name} 的长密码 long enough");
    let (status, body) = node
        .post("/api/v1/admin/accounts", &node.admin, &json!({ "name": name, "role": role, "password": password }))
        .await;
    assert_eq!(status, 201, "{body}");
    password
}

/// The outcomes of the audit entries of `action`, oldest first.
async fn outcomes(node: &TestNode, action: &str) -> Vec<String> {
    let (status, body) = node.get(&format!("/api/v1/audit?action={action}&limit=1000"), &node.auditor).await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap().to_owned()).collect()
}

async fn an_admin_opens_accounts_and_refuses_bad_ones(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    open_account(&node, "wang.li", "worker").await;
    let cases: [(Value, &[&str]); 3] = [
        (
            json!({ "name": "Wang Li", "role": "worker", "password": "short" }),
            &["account.name", "account.password_length"],
        ),
        (json!({ "name": "wang.li", "role": "officer", "password": "a long enough one" }), &["account.taken"]),
        (json!({ "name": "li.na", "role": "root", "password": "a long enough one" }), &["request.fields"]),
    ];
    for (body, codes) in cases {
        let (status, problem) = node.post("/api/v1/admin/accounts", &node.admin, &body).await;
        assert_eq!(status, 422, "{problem}");
        let found: Vec<&str> = match problem["errors"].as_array() {
            Some(errors) => errors.iter().map(|e| e["code"].as_str().unwrap()).collect(),
            None => vec![problem["code"].as_str().unwrap()],
        };
        assert_eq!(found, codes, "{problem}");
    }
    // The password is not in any answer or audit entry.
    let (_, audit) = node.get("/api/v1/audit?action=manage_accounts", &node.auditor).await;
    assert!(audit.to_string().contains("account wang.li (worker"), "{audit}");
    assert!(!audit.to_string().contains("long enough"), "{audit}");
}
both_backends!(an_admin_opens_accounts_and_refuses_bad_ones);

async fn a_person_signs_in_works_and_signs_out_with_every_form_token_checked(backend: Backend) {
    let node = TestNode::spawn(backend, RESIDENCE, &[]).await;
    let password = open_account(&node, "zhao.min", "worker").await;
    let mut visitor = Visitor::new(&node);

    // A form whose token is not the page's is refused and recorded, before any password is checked.
    let page = visitor.get("/").await;
    assert!(page.body.contains("action=\"/sign-in\""), "{}", page.body);
    let forged =
        visitor.post("/sign-in", &[("name", "zhao.min"), ("password", &password), ("form_token", "forged")]).await;
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("表单已过期"), "{}", forged.body);
    assert!(visitor.cookie("hy_session").is_none());

    let signed = visitor.sign_in("zhao.min", &password).await;
    assert_eq!((signed.status, signed.location.as_deref()), (303, Some("/")));
    assert!(visitor.cookie("hy_session").is_some() && visitor.cookie("hy_form").is_none());
    let home = visitor.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("zhao.min") && home.body.contains("待查验的流入人员"), "{}", home.body);
    // Her worklists were read as her, and recorded so.
    assert!(!outcomes(&node, "read_worklist").await.is_empty());

    // A worker is no admin: the accounts page is refused, and the refusal recorded.
    let refused = visitor.get("/accounts").await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    // Sign-out without the session's token is refused; with it, the session ends.
    let forged = visitor.post("/sign-out", &[("form_token", "forged")]).await;
    assert_eq!(forged.status, 403);
    let token = form_token(&visitor.get("/").await.body);
    let out = visitor.post("/sign-out", &[("form_token", &token)]).await;
    assert_eq!(out.status, 303);
    assert!(visitor.cookie("hy_session").is_none());
    let after = visitor.get("/").await;
    assert!(after.body.contains("action=\"/sign-in\""));

    assert_eq!(outcomes(&node, "sign_in").await, ["refused: auth.form_token", "granted"]);
    assert_eq!(outcomes(&node, "sign_out").await, ["refused: auth.form_token", "done"]);
    let forbidden = outcomes(&node, "manage_accounts").await;
    assert!(forbidden.contains(&"refused: auth.forbidden".to_owned()), "{forbidden:?}");
}
both_backends!(a_person_signs_in_works_and_signs_out_with_every_form_token_checked);

async fn five_wrong_passwords_lock_an_account_for_fifteen_minutes(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let password = open_account(&node, "li.officer", "officer").await;
    let mut visitor = Visitor::new(&node);
    for _ in 0..4 {
        let wrong = visitor.sign_in("li.officer", "not the password").await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.body.contains("账号或密码不正确"));
    }
    let locked = visitor.sign_in("li.officer", "not the password").await;
    assert_eq!(locked.status, 429);
    assert!(locked.body.contains("账号已锁定"), "{}", locked.body);
    let still = visitor.sign_in("li.officer", &password).await;
    assert_eq!(still.status, 429, "the right password opened a locked account");
    // An unknown name is answered as a wrong password is.
    let unknown = visitor.sign_in("nobody", "not the password").await;
    assert_eq!(unknown.status, 401);

    let mut expected = vec!["refused: auth.sign_in"; 4];
    expected.extend(["refused: auth.locked", "refused: auth.locked", "refused: auth.sign_in"]);
    assert_eq!(outcomes(&node, "sign_in").await, expected);
    let (_, accounts) = node.get("/api/v1/audit?action=sign_in&limit=10", &node.auditor).await;
    assert!(!accounts.to_string().contains("not the password"));
}
both_backends!(five_wrong_passwords_lock_an_account_for_fifteen_minutes);

#[tokio::test]
async fn pages_can_be_turned_off() {
    let node = TestNode::spawn_with(Backend::Sqlite, ORIGIN, &[], |c| c.pages.enabled = false).await;
    let (status, problem) = node.get("/", "").await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    let (status, _) = node.get("/healthz", "").await;
    assert_eq!(status, 200);
}

/// Who may use the scan page's routes, and what each refuses: the pages' rows of the role matrix.
async fn the_scan_routes_admit_their_roles_and_refuse_bad_forms(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let printable = node.issue(&crate::helpers::zhang_li()).await["id"].as_str().unwrap().to_owned();
    let mut anonymous = Visitor::new(&node);
    for path in
        ["/scan/", "/scan/trust.json", "/accounts", "/certificates/new", &format!("/certificates/{printable}/print")]
    {
        let answer = anonymous.get(path).await;
        assert_eq!((answer.status, answer.location.as_deref()), (303, Some("/")), "{path}");
    }
    // (role, may verify, may register an arrival)
    for (role, verifies, registers) in [
        ("worker", true, true),
        ("officer", true, false),
        ("employer", false, false),
        ("auditor", false, false),
        ("admin", false, false),
    ] {
        let name = format!("{role}.one");
        let password = open_account(&node, &name, role).await;
        let mut visitor = Visitor::new(&node);
        assert_eq!(visitor.sign_in(&name, &password).await.status, 303);
        let scan = visitor.get("/scan/").await;
        assert_eq!(scan.status == 200, verifies, "{role}: {}", scan.status);
        let trust = visitor.get("/scan/trust.json").await;
        assert_eq!(trust.status == 200, verifies, "{role}");
        if verifies {
            let bundle: Value = serde_json::from_str(&trust.body).unwrap();
            assert!(bundle["status_lists"][&node.code].is_string(), "{bundle}");
            assert!(!trust.body.contains("id_number"), "trust data names no person");
        }
        let token = form_token(&visitor.get("/").await.body);
        let arrival =
            [("token", "HY1:X"), ("address", "某路1号"), ("arrived_on", "not a day"), ("form_token", token.as_str())];
        let answer = visitor.post("/scan/arrival", &arrival).await;
        if registers {
            assert_eq!(answer.status, 422, "{}", answer.body);
            assert!(answer.body.contains("日期"), "{}", answer.body);
        } else {
            assert_eq!(answer.status, 403, "{role}: {}", answer.body);
        }
        let forged = visitor.post("/scan/", &[("token", "HY1:X"), ("form_token", "forged")]).await;
        assert_eq!(forged.status, 403, "{role}");
        // The issue form: officers only; a draft that breaks rules is answered with them.
        let issues = role == "officer";
        assert_eq!(visitor.get("/certificates/new").await.status == 200, issues, "{role}");
        let draft =
            [("person.name", "张丽"), ("person.id_number", "130728199003070029"), ("form_token", token.as_str())];
        let answer = visitor.post("/certificates/new", &draft).await;
        assert_eq!(answer.status, if issues { 422 } else { 403 }, "{role}: {}", answer.body);
        let forged = visitor.post("/certificates/new", &[("person.name", "张丽"), ("form_token", "forged")]).await;
        assert_eq!(forged.status, 403, "{role}");
        // The paper certificate: officers only, and an unknown certificate is a 404 page.
        assert_eq!(visitor.get(&format!("/certificates/{printable}/print")).await.status == 200, issues, "{role}");
        let unknown = visitor.get("/certificates/no-such-id/print").await.status;
        assert_eq!(unknown, if issues { 404 } else { 403 }, "{role}");
        // Answering what was received: workers and officers; an unknown message is a 404 page.
        assert_eq!(visitor.get("/messages/no-such-id/reply").await.status, if verifies { 404 } else { 403 }, "{role}");
        let empty = [("answer", ""), ("form_token", token.as_str())];
        assert_eq!(
            visitor.post("/messages/no-such-id/reply", &empty).await.status,
            if verifies { 404 } else { 403 },
            "{role}"
        );
        // The books and their workbook: workers and officers; an unknown book is a 404 page.
        let books = visitor.get("/books/women?from=2026-01-01&to=").await;
        assert_eq!(books.status == 200, verifies, "{role}: {}", books.status);
        let workbook = visitor.get("/books/women/download?from=&to=").await;
        assert_eq!(workbook.status == 200, verifies, "{role}");
        if verifies {
            assert!(workbook.body.starts_with("PK"));
            assert_eq!(visitor.get("/books/diary").await.status, 404);
        }
        // The assessment and its workbook: officers and auditors; a month that is no month is refused.
        let reads = matches!(role, "officer" | "auditor");
        let report = visitor.get("/reports/?month=2026-10").await;
        assert_eq!(report.status == 200, reads, "{role}: {}", report.status);
        let workbook = visitor.get("/reports/assessment.xlsx?month=2026-10").await;
        assert_eq!(workbook.status == 200, reads, "{role}");
        if reads {
            assert!(report.body.contains("<svg") && report.body.contains("data-indicator"), "{}", report.body);
            assert!(workbook.body.starts_with("PK"), "an XLSX workbook is a zip file");
            assert_eq!(visitor.get("/reports/?month=13-2026").await.status, 422);
        }
    }
}
both_backends!(the_scan_routes_admit_their_roles_and_refuse_bad_forms);
