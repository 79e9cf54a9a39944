//! `/scan/`: the worker's 查验 page. The camera (scan.js), a hand-held scanner that types into the
//! field and presses Enter, or a paste: each posts the QR text, and the verdict comes from the same
//! service as `POST /api/v1/verify`. Without network, scan.js verifies from the trust data its
//! service worker keeps (`/scan/trust.json`), the one rule written twice, tested against this one.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::assets::{asset_url, script_of};
use super::home::home_frame;
use super::layout::Lang;
use super::{FORM_TOKEN, PageError, Signed, page, secured, see_other, signed};
use crate::domain::access::Action;
use crate::domain::certificate::ContraceptionMethod;
use crate::domain::error::ErrorCode;
use crate::domain::marital::MaritalStatus;
use crate::domain::message::MessageBody;
use crate::domain::role::Role;
use crate::domain::verification::VerificationStatus;
use crate::http::verify::{IssuerView, Verification};
use crate::http::{AppState, answered};
use crate::service::ServiceError;
use crate::service::flows::{self, ArrivalInput};
use crate::service::verification;

/// The form as posted: the QR text or token, typed, scanned or pasted.
#[derive(Debug, Deserialize)]
pub struct ScanForm {
    token: String,
    form_token: String,
}

/// `GET /scan/`.
pub async fn page_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    signed.actor(&state, Action::Verify).await?;
    let body = html! {
        (trust_line(&state, signed.lang))
        (scan_form(&signed))
    };
    let title = signed.lang.pick("查验婚育证明", "Verify a certificate");
    Ok(page(StatusCode::OK, home_frame(&state, &signed, title, &body)))
}

/// `POST /scan/`: the verdict, full screen, then the form for the next one.
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ScanForm>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let ScanForm { token, form_token } = form.into_inner();
    signed.check_form(&state, &form_token, Action::Verify.name()).await?;
    let who = signed.actor(&state, Action::Verify).await?;
    let result = verification::verify(&state.core, token.trim(), &who, Utc::now()).await;
    let verdict = answered(&state, &who, Action::Verify, result).await.map_err(|e| signed.failed(e))?;
    let shown = Verification::from(verdict);
    let lang = signed.lang;
    let registers = shown.valid && signed.session.role == Role::Worker;
    let body = html! {
        (verdict_view(lang, &shown))
        @if registers { (arrival_form(&signed, token.trim(), false)) }
        (trust_line(&state, lang))
        (scan_form(&signed))
    };
    let title = lang.pick("查验结果", "Verification");
    Ok(page(StatusCode::OK, home_frame(&state, &signed, title, &body)))
}

/// The arrival form as posted, after a verdict (or from scan.js's queue, once back on line).
#[derive(Debug, Deserialize)]
pub struct ArrivalForm {
    token: String,
    address: String,
    arrived_on: String,
    form_token: String,
}

/// `POST /scan/arrival`: registers her arrival (流入登记) with the certificate just verified and
/// tells her origin; 201 with what was sent, or the form again with the rule it broke.
pub async fn arrival(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ArrivalForm>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let ArrivalForm { token, address, arrived_on, form_token } = form.into_inner();
    signed.check_form(&state, &form_token, Action::RegisterArrival.name()).await?;
    let who = signed.actor(&state, Action::RegisterArrival).await?;
    let lang = signed.lang;
    let result = match NaiveDate::parse_from_str(arrived_on.trim(), "%Y-%m-%d") {
        Ok(arrived_on) => {
            let input = ArrivalInput { shown: flows::Shown::Certificate(token.trim().to_owned()), address, arrived_on };
            flows::register_arrival(&state.core, Some(&state.exchange.peers), input, who.clone(), Utc::now()).await
        }
        Err(_) => Err(ServiceError::Invalid(vec![ErrorCode::DateFormat.at("arrived_on")])),
    };
    let broken = match result {
        Err(ServiceError::Invalid(broken)) => broken,
        other => {
            let sent = answered(&state, &who, Action::RegisterArrival, other).await.map_err(|e| signed.failed(e))?;
            let check_due = match &sent.body {
                MessageBody::ArrivalNotice(notice) => notice.certificate.as_ref().map(|c| c.check_due),
                _ => None,
            };
            let body = html! {
                div.notice #registered role="status" {
                    p { (lang.pick("已登记流入，并已通知户籍地", "Arrival registered; her origin is told: ")) " " (sent.peer) }
                    @if let Some(due) = check_due { p { (lang.pick("查验期限：", "Check due by ")) (due) } }
                }
                p { a.button href="/scan/" { (lang.pick("查验下一份", "Verify the next one")) } }
            };
            let title = lang.pick("流入登记", "Arrival registered");
            return Ok(page(StatusCode::CREATED, home_frame(&state, &signed, title, &body)));
        }
    };
    let body = html! {
        div.notice.bad role="alert" {
            @for rule in &broken { p { (lang.pick(&rule.message_zh, &rule.message_en)) } }
        }
        (arrival_form(&signed, &token, false))
    };
    Ok(page(
        StatusCode::UNPROCESSABLE_ENTITY,
        home_frame(&state, &signed, lang.pick("流入登记", "Register the arrival"), &body),
    ))
}

/// The form that registers her arrival with the certificate `token`: shown under a valid verdict
/// to a worker; kept hidden on the scan page for scan.js, which queues it while off line.
fn arrival_form(signed: &Signed, token: &str, hidden: bool) -> Markup {
    let lang = signed.lang;
    let today = crate::domain::calendar::local_date(Utc::now()).to_string();
    html! {
        form #arrival-form method="post" action="/scan/arrival" hidden[hidden] {
            h2 { (lang.pick("登记流入", "Register her arrival")) }
            input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
            input #arrival-token type="hidden" name="token" value=(token);
            label for="address" { (lang.pick("现居住地址", "Address where she lives")) }
            input #address name="address" type="text" autocomplete="street-address" required;
            label for="arrived_on" { (lang.pick("到达日期", "Arrived on")) }
            input #arrived_on name="arrived_on" type="date" value=(today) required;
            button type="submit" { (lang.pick("登记并通知户籍地", "Register and tell her origin")) }
            p #queued role="status" {}
        }
    }
}

/// `GET /scan/trust.json`: the trust data the scan page keeps for verifying off line.
pub async fn trust(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let bundle =
        signed.perform(&state, Action::Verify, |core, _| verification::offline_trust(core, Utc::now())).await?;
    Ok(secured(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(bundle)))
}

/// `GET /scan/sw.js`: the service worker that keeps the scan page, its scripts and the trust
/// data for when the network is gone; it is told the assets' current URLs.
pub async fn service_worker() -> HttpResponse {
    let assets: Vec<String> =
        super::assets::OFFLINE.iter().flat_map(|name| [asset_url(name), format!("/assets/{name}")]).collect();
    let preamble = format!(
        "const ASSETS = {};\nconst CACHE = 'hunyu-scan-{}';\n",
        serde_json::to_string(&assets).unwrap_or_default(),
        super::assets::offline_version()
    );
    secured(
        HttpResponse::Ok()
            .content_type("text/javascript; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(preamble + &script_of("sw.js")),
    )
}

/// Which trust directory this node uses, and how old it is: always on the page.
fn trust_line(state: &AppState, lang: Lang) -> Markup {
    let stamp = state.core.trust.current().stamp();
    html! {
        p.notice #trust data-serial=[stamp.map(|s| s.serial)] data-issued-at=[stamp.map(|s| s.issued_at)] {
            @match stamp {
                Some(stamp) => {
                    (lang.pick("信任名录", "Trust directory")) " " (lang.pick("第", "serial ")) (stamp.serial) (lang.pick("版，签发于", ", signed "))
                    (DateTime::from_timestamp(stamp.issued_at, 0).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default())
                    " (" (age(lang, Utc::now().timestamp() - stamp.issued_at)) ")"
                }
                None => (lang.pick("本节点尚无信任名录：只认本节点签发的证明。", "This node has no trust directory yet: it trusts its own certificates only.")),
            }
            span #network role="status" {}
        }
    }
}

/// An age in seconds, in words.
fn age(lang: Lang, seconds: i64) -> String {
    let (value, unit_zh, unit_en) = match seconds.max(0) {
        s if s < 3600 => (s / 60, "分钟前", " min ago"),
        s if s < 86_400 => (s / 3600, "小时前", " h ago"),
        s => (s / 86_400, "天前", " days ago"),
    };
    format!("{value}{}", lang.pick(unit_zh, unit_en))
}

/// The camera, and the field a hand-held scanner types into (it ends with Enter) or a paste goes to.
fn scan_form(signed: &Signed) -> Markup {
    let lang = signed.lang;
    html! {
        section #camera aria-label=(lang.pick("扫码", "Scan")) {
            video #preview playsinline muted hidden {}
            button #start-camera type="button" { (lang.pick("打开摄像头扫码", "Scan with the camera")) }
            p #camera-status role="status" {}
        }
        form #scan-form method="post" action="/scan/" data-account=(signed.session.account) {
            input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
            label for="token" { (lang.pick("二维码内容（扫码枪扫入或粘贴）", "QR text (from a hand-held scanner, or pasted)")) }
            input #token name="token" type="text" autocomplete="off" autocapitalize="off" spellcheck="false" required;
            button type="submit" { (lang.pick("查验", "Verify")) }
        }
        div #offline-result hidden data-words=(words(lang)) {}
        @if signed.session.role == Role::Worker { (arrival_form(signed, "", true)) }
        script src=(asset_url("jsQR.js")) {}
        script type="module" src=(asset_url("scan.js")) {}
    }
}

/// The texts scan.js shows, in the page's language: the page's wording stays here.
#[derive(serde::Serialize)]
struct Words {
    lang: &'static str,
    status: std::collections::BTreeMap<&'static str, &'static str>,
    offline: &'static str,
    offline_verdict: &'static str,
    no_trust: &'static str,
    no_camera: &'static str,
    scanning: &'static str,
    name: &'static str,
    id_number: &'static str,
    issuer: &'static str,
    queued: &'static str,
    sent: &'static str,
    refused: &'static str,
}

/// [`Words`] in `lang`, as the JSON of a data attribute.
fn words(lang: Lang) -> String {
    let words = Words {
        lang: lang.pick("zh", "en"),
        status: VerificationStatus::ALL.into_iter().map(|s| (s.as_str(), status_words(lang, s))).collect(),
        offline: lang.pick("离线：用本机保存的信任数据查验", "Offline: verifying with the trust data kept here"),
        offline_verdict: lang.pick("离线查验，信任数据取自", "Verified offline; trust data fetched"),
        no_trust: lang.pick("本机没有保存信任数据，联网后再试", "No trust data is kept here: try again on line"),
        no_camera: lang.pick("无法打开摄像头，请用扫码枪或粘贴", "The camera cannot be opened: use a scanner or paste"),
        scanning: lang.pick("请将二维码对准摄像头", "Hold the QR code to the camera"),
        name: lang.pick("姓名", "Name"),
        id_number: lang.pick("公民身份号码", "ID number"),
        issuer: lang.pick("签发机关", "Issued by"),
        queued: lang.pick("已保存，联网后自动登记", "Kept: it is registered once back on line"),
        sent: lang.pick("离线时保存的流入登记已发送", "The arrivals kept while offline were registered"),
        refused: lang.pick(
            "离线时保存的流入登记被拒绝，请重新登记",
            "An arrival kept while offline was refused: register it again",
        ),
    };
    serde_json::to_string(&words).unwrap_or_default()
}

/// The payload fields a worker or officer reads off a verdict or a printed certificate.
#[derive(Debug, Deserialize)]
pub(super) struct ShownCertificate {
    person: ShownPerson,
    marital: ShownMarital,
    #[serde(default)]
    children: Vec<serde_json::Value>,
    contraception: Option<ShownMethod>,
    nbf: i64,
    exp: i64,
}

#[derive(Debug, Deserialize)]
struct ShownPerson {
    name: String,
    id_number: String,
    birth_date: String,
    hukou: String,
}

#[derive(Debug, Deserialize)]
struct ShownMarital {
    status: String,
}

#[derive(Debug, Deserialize)]
struct ShownMethod {
    method: String,
}

/// A contraception method's name.
pub fn method_name(lang: Lang, method: &str) -> &'static str {
    match ContraceptionMethod::parse(method) {
        Some(ContraceptionMethod::None) => lang.pick("未采取措施", "none"),
        Some(ContraceptionMethod::Iud) => lang.pick("宫内节育器", "IUD"),
        Some(ContraceptionMethod::Implant) => lang.pick("皮下埋植", "implant"),
        Some(ContraceptionMethod::Injection) => lang.pick("避孕针", "injection"),
        Some(ContraceptionMethod::Pill) => lang.pick("口服避孕药", "pill"),
        Some(ContraceptionMethod::Condom) => lang.pick("避孕套", "condom"),
        Some(ContraceptionMethod::TubalLigation) => lang.pick("输卵管结扎", "tubal ligation"),
        Some(ContraceptionMethod::Vasectomy) => lang.pick("输精管结扎", "vasectomy"),
        Some(ContraceptionMethod::Other) | None => lang.pick("其他", "other"),
    }
}

/// The status in a few words.
pub(super) fn status_words(lang: Lang, status: VerificationStatus) -> &'static str {
    match status {
        VerificationStatus::Active => lang.pick("有效", "Valid"),
        VerificationStatus::Superseded => lang.pick("无效：已换发新证", "Not valid: renewed since"),
        VerificationStatus::Revoked => lang.pick("无效：已注销", "Not valid: revoked"),
        VerificationStatus::Expired => lang.pick("无效：不在有效期内", "Not valid: outside its validity"),
        VerificationStatus::UnknownIssuer => lang.pick("无法确认：签发机关不在信任名录中", "Unknown issuer"),
        VerificationStatus::Invalid => lang.pick("无效：不是真实的证明", "Not valid: not a genuine certificate"),
    }
}

/// What a certificate says of its holder, and its validity and issuer, as a list.
pub(super) fn certificate_facts(lang: Lang, c: &ShownCertificate, issuer: Option<&IssuerView>) -> Markup {
    let date = |at: i64| DateTime::from_timestamp(at, 0).map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default();
    html! {
        dl.certificate {
            dt { (lang.pick("姓名", "Name")) } dd #holder-name { (c.person.name) }
            dt { (lang.pick("公民身份号码", "ID number")) } dd { (c.person.id_number) }
            dt { (lang.pick("出生日期", "Born")) } dd { (c.person.birth_date) }
            dt { (lang.pick("户籍地", "Household registration")) } dd { (c.person.hukou) }
            dt { (lang.pick("婚姻状况", "Marital status")) } dd {
                (MaritalStatus::parse(&c.marital.status).map_or(c.marital.status.as_str(), |s| s.name_zh()))
            }
            dt { (lang.pick("子女数", "Children")) } dd { (c.children.len()) }
            @if let Some(method) = &c.contraception {
                dt { (lang.pick("节育措施", "Contraception")) } dd { (method_name(lang, &method.method)) }
            }
            dt { (lang.pick("有效期", "Valid")) } dd { (date(c.nbf)) " – " (date(c.exp - 1)) }
            @if let Some(issuer) = issuer {
                dt { (lang.pick("签发机关", "Issued by")) } dd { (issuer.name) " (" (issuer.code) ")" }
            }
        }
    }
}

/// The verdict: one large green or red block with the reason, then what the certificate says.
fn verdict_view(lang: Lang, shown: &Verification) -> Markup {
    let certificate =
        shown.certificate.as_ref().and_then(|c| serde_json::from_value::<ShownCertificate>(c.clone()).ok());
    html! {
        section.verdict.(if shown.valid { "ok" } else { "bad" }) #verdict data-status=(shown.status.as_str()) role="alert" {
            p.big { (status_words(lang, shown.status)) }
            @for reason in &shown.reasons {
                p.reason data-code=(reason.code) { (lang.pick(reason.message, reason.message_en)) }
            }
            @for warning in &shown.warnings {
                p.warning data-code=(warning.code) { (lang.pick(warning.message, warning.message_en)) }
            }
        }
        @if let Some(c) = certificate { (certificate_facts(lang, &c, shown.issuer.as_ref())) }
    }
}
