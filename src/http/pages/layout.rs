//! The frame every page shares: language, header with the node and the person signed in, the
//! stylesheet, and how a problem or a field's broken rule is shown.

use actix_web::HttpRequest;
use maud::{DOCTYPE, Markup, html};

use super::assets::asset_url;
use super::{FORM_TOKEN, Signed};
use crate::domain::error::FieldError;
use crate::domain::role::Role;

/// The cookie that keeps the language chosen.
pub const LANG_COOKIE: &str = "hy_lang";

/// The language of the pages: Chinese unless English was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The language chosen on `req`.
    pub fn of(req: &HttpRequest) -> Self {
        if req.cookie(LANG_COOKIE).is_some_and(|c| c.value() == "en") { Self::En } else { Self::Zh }
    }

    /// The text of this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }

    /// The HTML `lang` attribute.
    fn tag(self) -> &'static str {
        self.pick("zh-CN", "en")
    }

    /// A role's name.
    pub fn role(self, role: Role) -> &'static str {
        match role {
            Role::Admin => self.pick("系统管理员", "administrator"),
            Role::Officer => self.pick("户籍地乡镇干部", "origin officer"),
            Role::Worker => self.pick("现居住地社区工作人员", "community worker"),
            Role::Employer => self.pick("用人单位", "employer"),
            Role::Auditor => self.pick("审计人员", "auditor"),
        }
    }
}

/// A whole page: the header, then `body`.
pub fn frame(lang: Lang, title: &str, node: &str, signed: Option<&Signed>, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · hunyu" }
                link rel="stylesheet" href=(asset_url("app.css"));
            }
            body {
                a.skip href="#main" { (lang.pick("跳到正文", "Skip to content")) }
                header.top {
                    span.node { (node) }
                    @if let Some(signed) = signed {
                        span.who { (signed.session.account) " · " (lang.role(signed.session.role)) }
                        form method="post" action="/sign-out" {
                            input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
                            button type="submit" { (lang.pick("退出", "Sign out")) }
                        }
                    }
                    @match lang {
                        Lang::Zh => a href="/lang/en" lang="en" { "English" },
                        Lang::En => a href="/lang/zh" lang="zh-CN" { "中文" },
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page with no node header (an error before anything is known).
pub fn bare(lang: Lang, title: &str, body: &Markup) -> Markup {
    frame(lang, title, "hunyu", None, body)
}

/// A problem: its message and stable code.
pub fn problem(lang: Lang, message: &str, code: &str) -> Markup {
    html! {
        div.notice.bad role="alert" {
            p { (message) }
            p.muted { (lang.pick("错误代码", "Error code")) ": " code { (code) } }
        }
        p { a href="/" { (lang.pick("返回首页", "Back to the home page")) } }
    }
}

/// The message of the rule `field` broke, if any, in `lang`.
pub fn broken_at<'a>(lang: Lang, broken: &'a [FieldError], field: &str) -> Option<&'a str> {
    broken.iter().find(|e| e.field == field).map(|e| lang.pick(&e.message_zh, &e.message_en))
}

/// A labelled text area that must be filled, with the rule it broke beside it, if any.
pub fn text_area(id: &str, label: &str, typed: &str, error: Option<&str>) -> Markup {
    let described = format!("{id}-error");
    html! {
        label for=(id) { (label) }
        textarea id=(id) name=(id) rows="5" required aria-invalid=[error.map(|_| "true")]
            aria-describedby=[error.map(|_| described.as_str())] { (typed) }
        @if let Some(error) = error { p.field-error id=(described) { (error) } }
    }
}

/// A labelled input that must be filled, with the rule it broke beside it, if any.
pub fn field(id: &str, label: &str, kind: &str, value: &str, error: Option<&str>, autocomplete: &str) -> Markup {
    input(id, label, kind, value, error, autocomplete, true)
}

/// A labelled input that may stay empty, with the rule it broke beside it, if any.
pub fn optional_field(id: &str, label: &str, kind: &str, value: &str, error: Option<&str>) -> Markup {
    input(id, label, kind, value, error, "off", false)
}

/// A labelled input, with the rule it broke beside it (described for screen readers).
fn input(
    id: &str,
    label: &str,
    kind: &str,
    value: &str,
    error: Option<&str>,
    autocomplete: &str,
    required: bool,
) -> Markup {
    let described = format!("{id}-error");
    html! {
        label for=(id) { (label) }
        input id=(id) name=(id) type=(kind) value=(value) autocomplete=(autocomplete) required[required]
            aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| described.as_str())];
        @if let Some(error) = error { p.field-error id=(described) { (error) } }
    }
}
