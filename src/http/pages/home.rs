//! `/`: the sign-in page, or the home page of the role signed in. A worker's and an officer's home
//! is what they owe: their worklists, the earliest due first.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};

use super::layout::{self, Lang};
use super::sign_in::sign_in_page;
use super::{PageError, PageSettings, Signed, page, signed};
use crate::domain::access::Action;
use crate::domain::id_number;
use crate::domain::role::Role;
use crate::domain::worklist::{Task, Worklist};
use crate::http::AppState;
use crate::service::worklists::{self, WorkItem};

/// Items of each worklist shown on a home page; the API and its downloads give them all.
const HOME_ITEMS: i64 = 50;

/// `GET /`.
pub async fn root(
    req: HttpRequest,
    state: web::Data<AppState>,
    settings: web::Data<PageSettings>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else {
        return sign_in_page(&state, &settings, Lang::of(&req), StatusCode::OK, "", None);
    };
    let lang = signed.lang;
    let lists: &[Worklist] = match signed.session.role {
        Role::Worker => &[Worklist::Checks, Worklist::Answers, Worklist::Arrivals],
        Role::Officer => &[Worklist::Answers, Worklist::Corrections, Worklist::Outflows],
        Role::Admin | Role::Employer | Role::Auditor => &[],
    };
    // One admission for the page, however many lists it reads; none for a role without lists.
    let read: Vec<Vec<WorkItem>> = if lists.is_empty() {
        Vec::new()
    } else {
        signed
            .perform(&state, Action::ReadWorklist, move |core, who| {
                let now = Utc::now();
                lists.iter().map(|list| worklists::list(core, list.as_str(), Some(HOME_ITEMS), &who, now)).collect()
            })
            .await?
    };
    let sections: Vec<Markup> = lists.iter().zip(read).map(|(&list, items)| worklist(lang, list, &items)).collect();
    let body = html! {
        @match signed.session.role {
            Role::Admin => p { a href="/accounts" { (lang.pick("管理账号", "Manage accounts")) } },
            Role::Auditor => p { a.button href="/reports/" { (lang.pick("双向考核", "Dual assessment")) } },
            Role::Employer => p.notice {
                (lang.pick("此角色目前通过接口（API）使用本节点。", "This role uses the node through its API for now."))
            },
            Role::Worker | Role::Officer => {
                p.actions {
                    a.button href="/scan/" { (lang.pick("查验婚育证明", "Verify a certificate")) }
                    " " a.button href="/books/women" { (lang.pick("台帐", "The books")) }
                    " " a.button href="/inquiries/new" { (lang.pick("发起协查", "Send an inquiry")) }
                    " " a.button href="/messages/" { (lang.pick("交换记录", "Messages")) }
                    @if signed.session.role == Role::Officer {
                        " " a.button href="/certificates/new" { (lang.pick("签发婚育证明", "Issue a certificate")) }
                        " " a.button href="/certificates/" { (lang.pick("查找证明", "Find a certificate")) }
                        " " a.button href="/departures/new" { (lang.pick("流出登记", "Record a departure")) }
                        " " a.button href="/reports/" { (lang.pick("双向考核", "Dual assessment")) }
                    }
                }
                @for section in &sections { (section) }
            },
        }
    };
    let title = lang.pick("工作台", "Home");
    Ok(page(StatusCode::OK, home_frame(&state, &signed, title, &body)))
}

/// The frame of a signed-in page.
pub fn home_frame(state: &AppState, signed: &Signed, title: &str, body: &Markup) -> Markup {
    layout::frame(signed.lang, title, &state.core.identity.name, Some(signed), body)
}

/// A worklist's title and what it asks.
fn list_title(lang: Lang, list: Worklist) -> &'static str {
    match list {
        Worklist::Answers => lang.pick("待答复的协查和通报", "Inquiries and reports to answer"),
        Worklist::Arrivals => lang.pick("待补办证明的流入人员", "Arrivals owed a certificate"),
        Worklist::Checks => lang.pick("待查验的流入人员（5个工作日）", "Arrivals to check (5 working days)"),
        Worklist::Outflows => lang.pick("待办证的流出育龄妇女", "Outflowing women without a certificate"),
        Worklist::Corrections => lang.pick("待答复的更正请求（15日）", "Correction requests to answer (15 days)"),
    }
}

/// What a task asks, in a few words.
fn task_label(lang: Lang, task: Task) -> &'static str {
    match task {
        Task::AnswerInquiry => lang.pick("答复协查", "Answer the inquiry"),
        Task::AnswerBirthReport => lang.pick("答复生育通报", "Answer the birth report"),
        Task::ObtainCertificate => lang.pick("督促办证并查验", "See that she obtains a certificate"),
        Task::VerifyCertificate => lang.pick("查验婚育证明", "Verify her certificate"),
        Task::IssueCertificate => lang.pick("签发或换发证明", "Issue or renew her certificate"),
        Task::AnswerCorrection => lang.pick("答复更正请求", "Answer her correction request"),
    }
}

/// Where an item's duty is done: the answer's form, the scan page, the issue form.
fn action_of(item: &WorkItem) -> String {
    match (item.task, &item.source) {
        (Task::AnswerInquiry | Task::AnswerBirthReport, Some(source)) => format!("/messages/{source}/reply"),
        (Task::AnswerCorrection, Some(source)) => format!("/corrections/{source}"),
        (Task::IssueCertificate, _) => "/certificates/new".into(),
        _ => "/scan/".into(),
    }
}

/// One worklist as a table that becomes cards on a phone.
fn worklist(lang: Lang, list: Worklist, items: &[WorkItem]) -> Markup {
    let (task, name, id, due) = (
        lang.pick("事项", "Task"),
        lang.pick("姓名", "Name"),
        lang.pick("身份证号", "ID number"),
        lang.pick("截止", "Due"),
    );
    html! {
        section aria-labelledby=(format!("list-{}", list.as_str())) {
            h2 id=(format!("list-{}", list.as_str())) {
                (list_title(lang, list)) " " span.count { "(" (items.len()) ")" }
            }
            @if items.is_empty() {
                p.muted { (lang.pick("没有待办事项。", "Nothing owed.")) }
            } @else {
                table.cards {
                    thead { tr { th scope="col" { (task) } th scope="col" { (name) } th scope="col" { (id) } th scope="col" { (due) } } }
                    tbody {
                        @for item in items {
                            tr {
                                td data-label=(task) { a href=(action_of(item)) { (task_label(lang, item.task)) } }
                                td data-label=(name) { (item.name) }
                                td data-label=(id) { (id_number::mask(&item.id_number)) }
                                td data-label=(due) class=[item.overdue.then_some("overdue")] {
                                    (item.due_on)
                                    @if item.overdue { " " (lang.pick("已逾期", "overdue")) }
                                    @if item.provisional { " " span.muted { (lang.pick("（日历待定）", "(calendar pending)")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
