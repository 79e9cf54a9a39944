//! `/certificates/new`: the officer's issue form (签发). Each rule the service finds broken is
//! shown beside its field, named by the same path as the API's problem+json `errors`; once issued,
//! the certificate's two QR codes, for her phone and for her employer.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::home::home_frame;
use super::layout::{self, Lang};
use super::{FORM_TOKEN, PageError, Signed, page, see_other, signed};
use crate::domain::access::Action;
use crate::domain::certificate::{
    CertificateDraft, ChildDraft, ContraceptionDraft, ContraceptionMethod, MaritalDraft, PersonDraft, SpouseDraft,
};
use crate::domain::error::FieldError;
use crate::domain::holder::HolderCode;
use crate::domain::marital::MaritalStatus;
use crate::http::AppState;
use crate::seal::qr::render_svg;
use crate::service::certificates::{self, History, Version};
use crate::service::holders;

/// Children the form has rows for; more are issued through the API.
const CHILD_ROWS: usize = 3;

/// What the form does: issue a first certificate, or renew one (换发) with what it now says.
#[derive(Debug, Clone, Copy)]
pub enum FormFor<'a> {
    Issue,
    Renew(&'a str),
}

impl FormFor<'_> {
    /// Where the form posts.
    fn action(self) -> String {
        match self {
            Self::Issue => "/certificates/new".into(),
            Self::Renew(id) => format!("/certificates/{id}/renew"),
        }
    }

    /// The page's title.
    fn title(self, lang: Lang) -> &'static str {
        match self {
            Self::Issue => lang.pick("签发婚育证明", "Issue a certificate"),
            Self::Renew(_) => lang.pick("换发婚育证明", "Renew a certificate"),
        }
    }
}

/// `GET /certificates/new`.
pub async fn form_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    signed.actor(&state, Action::IssueCertificate).await?;
    let mut typed = HashMap::new();
    typed.insert("person.hukou".to_owned(), state.core.code().to_owned());
    typed.insert("person.ethnicity".to_owned(), "01".to_owned());
    Ok(shown(&state, &signed, FormFor::Issue, StatusCode::OK, &typed, &[]))
}

/// `POST /certificates/new`: issues, or shows the form again with each broken rule by its field.
pub async fn issue(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let typed: HashMap<String, String> = form.into_inner().into_iter().collect();
    let token = typed.get(FORM_TOKEN).map_or("", String::as_str);
    let draft = draft_of(&typed);
    let result = signed
        .submit(&state, token, Action::IssueCertificate, move |core, who| {
            certificates::issue(core, draft, &who, Utc::now())
        })
        .await?;
    match result {
        Ok(version) => Ok(page(StatusCode::CREATED, issued(&state, &signed, &version))),
        Err(broken) => Ok(shown(&state, &signed, FormFor::Issue, StatusCode::UNPROCESSABLE_ENTITY, &typed, &broken)),
    }
}

/// The draft the form's fields make, each field named by its path in the API's body.
pub fn draft_of(typed: &HashMap<String, String>) -> CertificateDraft {
    let get = |path: &str| typed.get(path).map(|v| v.trim().to_owned()).unwrap_or_default();
    let optional = |path: &str| Some(get(path)).filter(|v| !v.is_empty());
    let spouse = optional("marital.spouse.name")
        .or_else(|| optional("marital.spouse.id_number"))
        .map(|_| SpouseDraft { name: get("marital.spouse.name"), id_number: get("marital.spouse.id_number") });
    let children = (0..CHILD_ROWS)
        .filter_map(|i| {
            let birth_date = optional(&format!("children[{i}].birth_date"))?;
            Some(ChildDraft {
                birth_date,
                sex: get(&format!("children[{i}].sex")),
                order: u32::try_from(i + 1).unwrap_or(u32::MAX),
            })
        })
        .collect();
    CertificateDraft {
        person: PersonDraft {
            name: get("person.name"),
            id_number: get("person.id_number"),
            sex: "F".into(),
            birth_date: None,
            hukou: get("person.hukou"),
            ethnicity: optional("person.ethnicity"),
        },
        marital: MaritalDraft { status: get("marital.status"), since: optional("marital.since"), spouse },
        children,
        contraception: optional("contraception.method")
            .map(|method| ContraceptionDraft { method, since: optional("contraception.since") }),
    }
}

/// The fields of a certificate's content, as the form names them: what renewing starts from.
pub fn typed_of(content: &serde_json::Value) -> HashMap<String, String> {
    FIELDS
        .iter()
        .filter_map(|path| {
            // `children[0].birth_date` is the JSON pointer `/children/0/birth_date`.
            let pointer = format!("/{}", path.replace('[', ".").replace(']', "").replace('.', "/"));
            let value = content.pointer(&pointer)?;
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            Some(((*path).to_owned(), text))
        })
        .collect()
}

/// The form, with what was typed and each broken rule beside its field.
pub fn shown(
    state: &AppState,
    signed: &Signed,
    form_for: FormFor<'_>,
    status: StatusCode,
    typed: &HashMap<String, String>,
    broken: &[FieldError],
) -> HttpResponse {
    let lang = signed.lang;
    let value = |path: &str| typed.get(path).cloned().unwrap_or_default();
    let error = |path: &str| layout::broken_at(lang, broken, path);
    let text =
        |path: &str, label: &str, kind: &str| layout::optional_field(path, label, kind, &value(path), error(path));
    let unplaced: Vec<&FieldError> = broken.iter().filter(|e| !FIELDS.contains(&e.field.as_str())).collect();
    let body = html! {
        @if !broken.is_empty() {
            div.notice.bad role="alert" {
                p { (lang.pick("请更正下列标出的项目。", "Correct the fields marked below.")) }
                @for e in &unplaced { p { (e.field) ": " (lang.pick(&e.message_zh, &e.message_en)) } }
            }
        }
        form.stack method="post" action=(form_for.action()) novalidate {
            input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
            fieldset {
                legend { (lang.pick("持证人", "Holder")) }
                (text("person.name", lang.pick("姓名", "Name"), "text"))
                (text("person.id_number", lang.pick("公民身份号码", "Citizen ID number"), "text"))
                (text("person.hukou", lang.pick("户籍地区划代码（12位）", "Household registration (12-digit code)"), "text"))
                (text("person.ethnicity", lang.pick("民族代码", "Ethnicity code"), "text"))
            }
            fieldset {
                legend { (lang.pick("婚姻状况", "Marital status")) }
                (select("marital.status", lang.pick("婚姻状况", "Status"), &value("marital.status"), error("marital.status"),
                    &MaritalStatus::ALL.map(|s| (s.code(), s.name_zh()))))
                (text("marital.since", lang.pick("起始日期", "Since"), "date"))
                (text("marital.spouse.name", lang.pick("配偶姓名", "Spouse's name"), "text"))
                (text("marital.spouse.id_number", lang.pick("配偶公民身份号码", "Spouse's ID number"), "text"))
            }
            fieldset {
                legend { (lang.pick("子女（按孩次）", "Children (in order of birth)")) }
                @for i in 0..CHILD_ROWS {
                    (text(&format!("children[{i}].birth_date"), &format!("{}{}", lang.pick("出生日期 · 第", "Born · child "), i + 1), "date"))
                    (select(&format!("children[{i}].sex"), lang.pick("性别", "Sex"), &value(&format!("children[{i}].sex")),
                        error(&format!("children[{i}].sex")), &[("M", lang.pick("男", "male")), ("F", lang.pick("女", "female"))]))
                }
            }
            fieldset {
                legend { (lang.pick("节育措施", "Contraception")) }
                (select("contraception.method", lang.pick("措施", "Method"), &value("contraception.method"), error("contraception.method"),
                    &ContraceptionMethod::ALL.map(|m| (m.as_str(), super::scan::method_name(lang, m.as_str())))))
                (text("contraception.since", lang.pick("起始日期", "Since"), "date"))
            }
            button type="submit" { (form_for.title(lang)) }
        }
    };
    page(status, home_frame(state, signed, form_for.title(lang), &body))
}

/// The form's fields, by their paths: a broken rule of another path is listed above the form.
const FIELDS: [&str; 16] = [
    "person.name",
    "person.id_number",
    "person.hukou",
    "person.ethnicity",
    "marital.status",
    "marital.since",
    "marital.spouse.name",
    "marital.spouse.id_number",
    "children[0].birth_date",
    "children[0].sex",
    "children[1].birth_date",
    "children[1].sex",
    "children[2].birth_date",
    "children[2].sex",
    "contraception.method",
    "contraception.since",
];

/// A select of `options` (value, label), with an empty first choice and `error` beside it.
pub fn select(path: &str, label: &str, chosen: &str, error: Option<&str>, options: &[(&str, &str)]) -> Markup {
    let described = format!("{path}-error");
    html! {
        label for=(path) { (label) }
        select id=(path) name=(path) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| described.as_str())] {
            option value="" { "—" }
            @for (value, text) in options {
                option value=(value) selected[*value == chosen] { (text) }
            }
        }
        @if let Some(error) = error { p.field-error id=(described) { (error) } }
    }
}

/// `GET /certificates/{id}/print`: the paper certificate (纸质证明) of the newest version, one A5
/// page with both QR codes, for the browser's print dialog; a button prints it with a fresh
/// holder code.
pub async fn print(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let history = super::lineage::read(&state, &signed, id.into_inner()).await?;
    paper(&state, &signed, &history, None)
}

/// The form that asks for the paper with a holder code.
#[derive(Debug, Deserialize)]
pub struct PrintForm {
    form_token: String,
}

/// `POST /certificates/{id}/print`: the paper certificate with a fresh holder code (本人查询码) on
/// it, shown this once; it replaces the code of any earlier paper of hers.
pub async fn print_with_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<PrintForm>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    signed.check_form(&state, &form.form_token, Action::PrintCertificate.name()).await?;
    let id = id.into_inner();
    let (code, history) = signed
        .perform(&state, Action::PrintCertificate, move |core, who| {
            let now = Utc::now();
            Ok((holders::new_code(core, &id, &who, now)?, certificates::history(core, &id, &who, now)?))
        })
        .await?;
    paper(&state, &signed, &history, Some(&code))
}

/// One A5 page of the newest version of `history`, with her holder code if one was just made.
fn paper(
    state: &AppState,
    signed: &Signed,
    history: &History,
    code: Option<&HolderCode>,
) -> Result<HttpResponse, PageError> {
    let lang = signed.lang;
    let Some(version) = history.versions.last() else {
        return Err(signed.failed(crate::domain::error::ErrorCode::NotFound { what: "certificate" }.into()));
    };
    let content: Option<super::scan::ShownCertificate> = serde_json::from_value(history.certificate.clone()).ok();
    let qr = |text: &str, label: &str| PreEscaped(render_svg(text, label).unwrap_or_default());
    let body = html! {
        @if code.is_none() {
            form.no-print method="post" action=(format!("/certificates/{}/print", version.certificate_id)) {
                input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
                p.muted { (lang.pick("本人查询码让持证人查看自己的记录和查阅记录；重新生成后，旧的查询码作废。",
                    "The holder code lets her see her record and who accessed it; a new one voids the old.")) }
                button type="submit" { (lang.pick("生成本人查询码并打印", "Print with a new holder code")) }
            }
        }
        article.paper {
            p.paper-title { "流动人口婚育证明" }
            @if let Some(content) = &content { (super::scan::certificate_facts(lang, content, None)) }
            div.qr-pair {
                figure {
                    (qr(&version.qr, "婚育证明二维码"))
                    figcaption { "婚育证明（查验用）" }
                }
                figure {
                    (qr(&version.employer_qr, "用人单位查验二维码"))
                    figcaption { "用人单位查验" }
                }
            }
            @if let Some(code) = code {
                p.holder-code {
                    "本人查询码 " strong #holder-code { (code.printed()) }
                    br;
                    span.muted { "凭身份证号和本码可在签发机关网站“本人查询”查看本人记录，请妥善保管。" }
                }
            }
            div.signature {
                div {
                    p { "签发机关：" (state.core.identity.name) }
                    p { "签发日期：" (version.issued_at.format("%Y-%m-%d")) }
                }
                div.stamp aria-label="盖章处" { "（盖章）" }
            }
            p.muted { "证明编号 " (version.certificate_id) " · 第" (version.version) "版 · 有效期至 " (version.valid_until) }
        }
    };
    Ok(page(StatusCode::OK, home_frame(state, signed, lang.pick("打印婚育证明", "Print the certificate"), &body)))
}

/// The certificate just issued: its id, validity, and both QR codes.
pub fn issued(state: &AppState, signed: &Signed, version: &Version) -> Markup {
    let lang = signed.lang;
    let qr = |text: &str, label: &str| PreEscaped(render_svg(text, label).unwrap_or_default());
    let body = html! {
        div.notice #issued role="status" {
            p { (lang.pick("已签发，有效期至 ", "Issued, valid until ")) (version.valid_until) }
            p.muted { (lang.pick("证明编号 ", "Certificate ")) (version.certificate_id) " · v" (version.version) }
        }
        div.qr-pair {
            figure {
                (qr(&version.qr, lang.pick("婚育证明二维码", "Certificate QR code")))
                figcaption { (lang.pick("婚育证明（查验用）", "Certificate (for verification)")) }
            }
            figure {
                (qr(&version.employer_qr, lang.pick("用人单位查验二维码", "Employer QR code")))
                figcaption { (lang.pick("用人单位查验（只显示姓名与有效期）", "For employers (name and validity only)")) }
            }
        }
        p.actions {
            a.button href=(format!("/certificates/{}/print", version.certificate_id)) { (lang.pick("打印纸质证明", "Print the paper certificate")) }
            " " a.button href="/certificates/new" { (lang.pick("签发下一份", "Issue another")) }
        }
    };
    home_frame(state, signed, lang.pick("证明已签发", "Certificate issued"), &body)
}
