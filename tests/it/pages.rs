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
    for path in [
        "/scan/",
        "/scan/trust.json",
        "/accounts",
        "/certificates/new",
        &format!("/certificates/{printable}/print"),
        &format!("/certificates/{printable}"),
        "/certificates/",
        "/departures/new",
        "/inquiries/new",
        "/messages/",
        "/corrections/no-such-id",
    ] {
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
        // The paper with a fresh holder code: officers only, with the session's token.
        let with_code =
            visitor.post(&format!("/certificates/{printable}/print"), &[("form_token", token.as_str())]).await;
        assert_eq!(with_code.status, if issues { 200 } else { 403 }, "{role}: {}", with_code.body);
        assert_eq!(with_code.body.contains("id=\"holder-code\""), issues, "{role}");
        let forged = visitor.post(&format!("/certificates/{printable}/print"), &[("form_token", "forged")]).await;
        assert_eq!(forged.status, 403, "{role}");
        // Her certificates found by ID number, one of them, and its renewal: officers only.
        assert_eq!(visitor.get("/certificates/").await.status == 200, issues, "{role}");
        assert_eq!(visitor.get(&format!("/certificates/{printable}")).await.status == 200, issues, "{role}");
        assert_eq!(visitor.get(&format!("/certificates/{printable}/renew")).await.status == 200, issues, "{role}");
        let blank = [("reason", " "), ("form_token", token.as_str())];
        let revoke = visitor.post(&format!("/certificates/{printable}/revoke"), &blank).await;
        assert_eq!(revoke.status, if issues { 422 } else { 403 }, "{role}: {}", revoke.body);
        // Departures from officers; inquiries from workers and officers.
        assert_eq!(visitor.get("/departures/new").await.status == 200, issues, "{role}");
        assert_eq!(visitor.get("/inquiries/new").await.status == 200, verifies, "{role}");
        assert_eq!(visitor.get("/messages/?direction=in").await.status == 200, verifies, "{role}");
        let empty = [("form_token", token.as_str())];
        assert_eq!(visitor.post("/inquiries/new", &empty).await.status, if verifies { 422 } else { 403 }, "{role}");
        // Answering her correction request: officers only; an unknown one is a 404 page.
        assert_eq!(visitor.get("/corrections/no-such-id").await.status, if issues { 404 } else { 403 }, "{role}");
        let blank = [("answer", " "), ("form_token", token.as_str())];
        assert_eq!(
            visitor.post("/corrections/no-such-id", &blank).await.status,
            if issues { 404 } else { 403 },
            "{role}"
        );
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

/// A fresh holder code for certificate `id`, from an officer.
pub async fn holder_code(node: &TestNode, id: &str) -> String {
    let (status, body) = node.post(&format!("/api/v1/certificates/{id}/holder-code"), &node.officer, &json!({})).await;
    assert_eq!(status, 201, "{body}");
    body["holder_code"].as_str().unwrap().to_owned()
}

/// Files her correction request as she does, from her own view; the request's id, from the
/// officers' worklist.
pub async fn filed_correction(node: &TestNode, certificate: &str, id_number: &str) -> String {
    let code = holder_code(node, certificate).await;
    let mut her = Visitor::new(node);
    let token = form_token(&her.get("/me/").await.body);
    let form = [("id_number", id_number), ("holder_code", &code), ("request", "子女数应为1"), ("form_token", &token)];
    let filed = her.post("/me/correction", &form).await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let (status, list) = node.get("/api/v1/worklists/corrections", &node.officer).await;
    assert_eq!(status, 200, "{list}");
    let item = list["items"].as_array().unwrap().iter().find(|i| i["id_number"] == id_number).expect("her request");
    assert_eq!(item["task"], "answer_correction");
    item["source"].as_str().unwrap().to_owned()
}

async fn a_holder_reads_her_record_and_its_accesses_and_asks_for_a_correction(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let person = crate::helpers::zhang_li();
    let id_number = person["person"]["id_number"].as_str().unwrap().to_owned();
    let certificate = node.issue(&person).await["id"].as_str().unwrap().to_owned();
    let (status, unknown) = node.post("/api/v1/certificates/no-such-id/holder-code", &node.officer, &json!({})).await;
    assert_eq!((status, unknown["code"].as_str()), (404, Some("not_found")), "{unknown}");
    let code = holder_code(&node, &certificate).await;
    assert_eq!(code.len(), 14, "{code}");

    // No pairing cookie, no check; a typing error is named beside its field and costs no try.
    let mut stranger = Visitor::new(&node);
    let forged = [("id_number", id_number.as_str()), ("holder_code", code.as_str()), ("form_token", "forged")];
    assert_eq!(stranger.post("/me/", &forged).await.status, 403);
    let mut her = Visitor::new(&node);
    let token = form_token(&her.get("/me/").await.body);
    let typo = her.post("/me/", &[("id_number", "123"), ("holder_code", "x"), ("form_token", &token)]).await;
    assert_eq!(typo.status, 422, "{}", typo.body);
    assert!(typo.body.contains("id_number-error") && typo.body.contains("holder_code-error"), "{}", typo.body);
    let token = form_token(&typo.body);
    let wrong = [("id_number", id_number.as_str()), ("holder_code", "0000-0000-0000"), ("form_token", &token)];
    let refused = her.post("/me/", &wrong).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(refused.body.contains("本人查询码不正确"), "{}", refused.body);

    // The right code, typed in lower case: her certificate, and the accesses, hers first.
    let token = form_token(&refused.body);
    let typed = code.to_lowercase();
    let right = [("id_number", id_number.as_str()), ("holder_code", typed.as_str()), ("form_token", &token)];
    let record = her.post("/me/", &right).await;
    assert_eq!(record.status, 200, "{}", record.body);
    assert!(record.body.contains("张丽"), "her certificate is shown");
    let actions: Vec<&str> =
        record.body.split("data-action=\"").skip(1).map(|rest| rest.split('"').next().unwrap()).collect();
    assert_eq!(&actions[..3], ["holder_view", "holder_view", "print_certificate"], "{actions:?}");
    assert!(actions.contains(&"issue_certificate"), "{actions:?}");
    assert!(record.body.contains("户籍地乡镇干部 · "), "an access is named by role and node");

    // A correction request, from the record's own form; it lands in the officers' worklist.
    let token = form_token(record.body.split("action=\"/me/correction\"").nth(1).unwrap());
    let request = [
        ("id_number", id_number.as_str()),
        ("holder_code", typed.as_str()),
        ("request", "婚姻状况应为已婚"),
        ("form_token", &token),
    ];
    let filed = her.post("/me/correction", &request).await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    assert!(filed.body.contains("id=\"filed\"") && filed.body.contains("婚姻状况应为已婚"), "{}", filed.body);
    let (_, list) = node.get("/api/v1/worklists/corrections", &node.officer).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let id = items[0]["source"].as_str().unwrap();

    // The officer answers; a blank answer and a second answer are refused.
    let path = format!("/api/v1/corrections/{id}/answer");
    let (status, blank) = node.post(&path, &node.officer, &json!({ "answer": " " })).await;
    assert_eq!((status, blank["errors"][0]["code"].as_str()), (422, Some("text.length")), "{blank}");
    let (status, _) = node.post(&path, &node.officer, &json!({ "answer": "已核实，已换发证明" })).await;
    assert_eq!(status, 204);
    let (status, twice) = node.post(&path, &node.officer, &json!({ "answer": "再答" })).await;
    assert_eq!((status, twice["code"].as_str()), (409, Some("correction.answered")), "{twice}");
    let (status, _) =
        node.post("/api/v1/corrections/no-such-id/answer", &node.officer, &json!({ "answer": "x" })).await;
    assert_eq!(status, 404);
    let (_, list) = node.get("/api/v1/worklists/corrections", &node.officer).await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");

    // She reads the answer; five wrong codes then lock her code, the right one included.
    let token = form_token(&filed.body);
    let again = [("id_number", id_number.as_str()), ("holder_code", code.as_str()), ("form_token", &token)];
    let answered = her.post("/me/", &again).await;
    assert!(answered.body.contains("已核实，已换发证明"), "{}", answered.body);
    let mut token = form_token(&answered.body);
    let mut last = 0;
    for _ in 0..5 {
        let wrong = [("id_number", id_number.as_str()), ("holder_code", "0000-0000-0000"), ("form_token", &token)];
        let answer = her.post("/me/", &wrong).await;
        (last, token) = (answer.status, form_token(&answer.body));
    }
    assert_eq!(last, 429);
    let right = [("id_number", id_number.as_str()), ("holder_code", code.as_str()), ("form_token", &token)];
    let locked = her.post("/me/", &right).await;
    assert_eq!(locked.status, 429, "{}", locked.body);

    let views = outcomes(&node, "holder_view").await;
    let expected = ["refused: auth.form_token", "refused: holder.refused", "granted", "granted"];
    assert_eq!(&views[..4], expected, "{views:?}");
    assert_eq!(views.iter().filter(|o| *o == "refused: holder.locked").count(), 2, "{views:?}");
    assert_eq!(outcomes(&node, "request_correction").await, ["filed"]);
    let answers = outcomes(&node, "answer_correction").await;
    let expected = ["refused: text.length", "answered", "refused: correction.answered", "refused: not_found"];
    assert_eq!(answers, expected, "every refusal is recorded too");
    let (_, audit) = node.get("/api/v1/audit?limit=1000", &node.auditor).await;
    assert!(!audit.to_string().contains(&code) && !audit.to_string().contains(&typed), "no code in the audit");
}
both_backends!(a_holder_reads_her_record_and_its_accesses_and_asks_for_a_correction);

/// The `aria-invalid` fields of a form page, by id.
fn invalid_fields(body: &str) -> Vec<String> {
    body.split("<input")
        .chain(body.split("<select"))
        .chain(body.split("<textarea"))
        .filter(|tag| tag.split('>').next().unwrap().contains("aria-invalid=\"true\""))
        .map(|tag| tag.split("id=\"").nth(1).unwrap().split('"').next().unwrap().to_owned())
        .collect()
}

async fn an_officer_finds_renews_revokes_and_sends_from_forms(backend: Backend) {
    let (_registry, nodes) = crate::helpers::federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let person = crate::helpers::zhang_li();
    let id_number = person["person"]["id_number"].as_str().unwrap().to_owned();
    let id = origin.issue(&person).await["id"].as_str().unwrap().to_owned();
    let password = open_account(origin, "li.officer", "officer").await;
    let mut officer = Visitor::new(origin);
    assert_eq!(officer.sign_in("li.officer", &password).await.status, 303);
    let token = form_token(&officer.get("/certificates/").await.body);

    // Found by her ID number; a number that is none is named beside its field.
    let typo = officer.post("/certificates/", &[("id_number", "13072819900307002"), ("form_token", &token)]).await;
    assert_eq!((typo.status, invalid_fields(&typo.body)), (422, vec!["id_number".to_owned()]));
    let found = officer.post("/certificates/", &[("id_number", &id_number), ("form_token", &token)]).await;
    assert!(found.body.contains(&format!("href=\"/certificates/{id}\"")), "{}", found.body);

    // Renewed from the form filled with what it says now: a broken rule first, then as it was.
    let renew = officer.get(&format!("/certificates/{id}/renew")).await;
    assert!(renew.body.contains(&id_number) && renew.body.contains("value=\"130728102000\""), "{}", renew.body);
    let mut form: Vec<(String, String)> = hidden_and_filled(&renew.body);
    form.retain(|(k, _)| k != "person.name");
    form.push(("person.name".into(), String::new()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let broken = officer.post(&format!("/certificates/{id}/renew"), &pairs).await;
    assert_eq!((broken.status, invalid_fields(&broken.body)), (422, vec!["person.name".to_owned()]), "{}", broken.body);
    let mut form = hidden_and_filled(&renew.body);
    form.push(("contraception.method".into(), "implant".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let renewed = officer.post(&format!("/certificates/{id}/renew"), &pairs).await;
    assert_eq!(renewed.status, 201, "{}", renewed.body);
    let (_, shown) = origin.get(&format!("/api/v1/certificates/{id}"), &origin.officer).await;
    assert_eq!(shown["versions"].as_array().unwrap().len(), 2, "{shown}");
    assert_eq!(shown["certificate"]["contraception"]["method"], "implant", "{shown}");

    // Revoked with a reason; a blank one is named beside its field.
    let blank = officer.post(&format!("/certificates/{id}/revoke"), &[("reason", "  "), ("form_token", &token)]).await;
    assert_eq!((blank.status, invalid_fields(&blank.body)), (422, vec!["reason".to_owned()]));
    let reason = [("reason", "本人申请注销"), ("form_token", token.as_str())];
    let revoked = officer.post(&format!("/certificates/{id}/revoke"), &reason).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body.contains("id=\"revoked\"") && !revoked.body.contains("/renew"), "{}", revoked.body);

    // A departure: a day that is none, then sent to her expected residence.
    let mut departure = vec![
        ("person.name", "张丽"),
        ("person.id_number", id_number.as_str()),
        ("to", residence.code.as_str()),
        ("left_on", "3 Nov"),
        ("destination", "深圳市宝安区新安街道"),
        ("form_token", token.as_str()),
    ];
    let bad_day = officer.post("/departures/new", &departure).await;
    assert_eq!((bad_day.status, invalid_fields(&bad_day.body)), (422, vec!["left_on".to_owned()]));
    departure[3].1 = "2026-11-03";
    let sent = officer.post("/departures/new", &departure).await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert!(sent.body.contains("id=\"sent\""), "{}", sent.body);

    // An inquiry from the residence's worker, urgent: its deadline shown, 15 days on.
    let password = open_account(residence, "zhao.min", "worker").await;
    let mut worker = Visitor::new(residence);
    assert_eq!(worker.sign_in("zhao.min", &password).await.status, 303);
    let token = form_token(&worker.get("/inquiries/new").await.body);
    let unknown = [
        ("person.name", "张丽"),
        ("person.id_number", id_number.as_str()),
        ("to", "999999999999"),
        ("question", "请核实婚姻状况"),
        ("urgent", "on"),
        ("form_token", token.as_str()),
    ];
    let refused = worker.post("/inquiries/new", &unknown).await;
    assert_eq!((refused.status, invalid_fields(&refused.body)), (422, vec!["to".to_owned()]));
    let mut asked = unknown;
    asked[2].1 = origin.code.as_str();
    let sent = worker.post("/inquiries/new", &asked).await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let due = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive() + chrono::Days::new(15);
    assert!(sent.body.contains(&due.to_string()), "due {due}: {}", sent.body);
    residence.await_receipts().await;
    origin.await_receipts().await;
    // Both sent messages on the worker's list, the inquiry with its deadline, receipted.
    let listed = worker.get("/messages/?direction=out").await;
    assert!(listed.body.contains("data-kind=\"inquiry\" data-state=\"receipted\""), "{}", listed.body);
    assert!(listed.body.contains(&due.to_string()) && !listed.body.contains(&id_number), "{}", listed.body);
    let received = officer.get("/messages/?direction=in").await;
    assert!(received.body.contains("/reply\""), "an inquiry owed an answer links to it: {}", received.body);
    assert_eq!(residence.messages("direction=in&kind=departure_notice").await.len(), 1);
    assert_eq!(origin.messages("direction=in&kind=inquiry").await.len(), 1);
}
both_backends!(an_officer_finds_renews_revokes_and_sends_from_forms);

/// The fields of the first form of `body` that carry a value: hidden ones, filled inputs and the
/// chosen options, as a browser would post them.
fn hidden_and_filled(body: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        tag.split(&format!(" {name}=\"")).nth(1).map(|rest| rest.split('"').next().unwrap().to_owned())
    };
    let form = body.split("<form").find(|f| f.contains("method=\"post\"") && !f.contains("/sign-out")).unwrap();
    let form = form.split("</form>").next().unwrap();
    let mut fields = Vec::new();
    for tag in form.split("<input").skip(1) {
        let tag = tag.split('>').next().unwrap();
        if let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value"))
            && !value.is_empty()
        {
            fields.push((name, value));
        }
    }
    for select in form.split("<select").skip(1) {
        let name = attr(select.split('>').next().unwrap(), "name").unwrap();
        let chosen = select.split("</select>").next().unwrap().split("<option").find(|o| o.contains(" selected"));
        if let Some(value) = chosen.and_then(|o| attr(o.split('>').next().unwrap(), "value")) {
            fields.push((name, value));
        }
    }
    fields
}
