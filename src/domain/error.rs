//! The one error shape every domain rule reports at the boundary, and the catalogue of stable
//! error codes that services, the exchange and the HTTP edge answer with.

use std::borrow::Cow;

use serde::Serialize;

/// One broken rule about one input field, with a stable code and messages in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {code}: {message_en}")]
pub struct FieldError {
    /// Dotted path of the offending field, e.g. `children[1].birth_date`.
    pub field: String,
    /// Stable machine code, e.g. `id_number.checksum`.
    pub code: &'static str,
    /// Message for Chinese-speaking users.
    pub message_zh: String,
    /// Message for English-speaking users.
    pub message_en: String,
}

impl FieldError {
    /// Builds an error for `field` from a code and its two messages.
    pub fn new(
        field: impl Into<String>,
        code: &'static str,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        FieldError { field: field.into(), code, message_zh: message_zh.into(), message_en: message_en.into() }
    }
}

/// A rule with a stable code and messages in Chinese and English; each module keeps one table of them.
pub trait Coded {
    /// The table row: code, Chinese message, English message.
    fn texts(&self) -> (&'static str, &'static str, &'static str);

    /// Stable machine code, e.g. `id_number.checksum`.
    fn code(&self) -> &'static str {
        self.texts().0
    }

    /// Chinese message.
    fn message_zh(&self) -> &'static str {
        self.texts().1
    }

    /// English message.
    fn message_en(&self) -> &'static str {
        self.texts().2
    }

    /// This rule, broken by `field`.
    fn to_field_error(&self, field: &str) -> FieldError {
        FieldError::new(field, self.code(), self.message_zh(), self.message_en())
    }
}

/// Every stable error code that is not a content rule of one domain module (those keep their own
/// tables: [`super::id_number::IdNumberError`], [`super::verification::Reason`], …). Services,
/// the exchange and the HTTP edge answer with these; `http/error.rs` gives each its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    // The caller.
    /// No valid API key.
    Unauthenticated,
    /// The caller's role may not take the action.
    Forbidden { role: &'static str },
    /// Over the per-key rate limit.
    RateLimited { retry_after_seconds: u64 },
    /// A person's sign-in name or password is wrong (which one is not said).
    SignInFailed,
    /// The account is locked after repeated failed sign-ins.
    AccountLocked { retry_after_seconds: u64 },
    /// A form came without its session's form token (CSRF).
    FormToken,
    /// The ID number and holder code a woman typed do not open a record (which one is wrong is not said).
    HolderRefused,
    /// What was typed cannot be a holder code.
    HolderCodeFormat,
    /// Her holder code is locked after repeated wrong codes.
    HolderLocked { retry_after_seconds: u64 },
    // The request's form.
    /// Query parameters do not match the API.
    Query,
    /// The body is not `application/json`.
    ContentType,
    /// The body could not be read.
    Body,
    /// The body is not JSON.
    Json { line: usize, column: usize },
    /// The body's fields or types do not match the API.
    Fields { line: usize, column: usize },
    /// The body is over the size limit.
    TooLarge { limit: usize },
    /// The body did not arrive within the listener's deadline.
    BodyTimeout,
    /// One address has as many requests in progress as a client may.
    TooManyInFlight,
    /// Unknown route or record.
    NotFound { what: &'static str },
    /// The route exists, for other methods (`allow`, comma-separated).
    MethodNotAllowed { allow: String },
    // Rules of the service.
    /// A required free text is empty or too long.
    TextLength { max: usize },
    /// A date is not `YYYY-MM-DD`.
    DateFormat,
    /// A date lies after today.
    FutureDate,
    /// A date lies before 1900.
    DateRange,
    /// A period's start lies after its end.
    PeriodOrder,
    /// A month is not `YYYY-MM` (years 2000–2199).
    MonthFormat,
    /// The month has not begun.
    MonthAhead,
    /// A woman's card names a man's ID number.
    CardSex,
    /// A card's marital status is not a GB/T 2261.2 code or name.
    CardMarital,
    /// A card's contraception method is not one of the method codes.
    CardMethod,
    /// A card's side is neither origin (户籍地) nor residence (现居住地).
    CardSide,
    /// A card's date is not `YYYY-MM-DD`.
    CardDate,
    /// A woman appears in an imported file twice.
    ImportDuplicate,
    /// An imported file lacks columns the template has.
    ImportColumns { missing: String },
    /// The month has not ended, so it cannot be closed.
    MonthOpen,
    /// The node has no trust directory, so no superior to report to.
    NoSuperior,
    /// The revocation reason is missing or too long.
    RevocationReason,
    /// A renewal tries to change the holder.
    PersonChanged,
    /// This node does not keep the holder's household registration.
    NotResponsible,
    /// The person already holds a certificate in force from this node.
    CertificateExists { certificate_id: String },
    /// The certificate was revoked.
    CertificateRevoked { certificate_id: String },
    /// The record changed between reading and writing it.
    ConcurrentChange { certificate_id: Option<String> },
    /// The node named is not an active node of the trust directory.
    UnknownNode,
    /// The certificate shown at an arrival does not verify.
    ArrivalCertificateInvalid { reason: &'static str },
    /// No directory node keeps the household registration given.
    OriginUnknown,
    /// An arrival names neither a certificate nor a person.
    ArrivalWho,
    /// An event names no origin, and none follows from a registered arrival.
    EventOriginUnknown,
    /// A contraception service lacks its method, or another event names one.
    EventMethod,
    /// The report to correct is not an event report of hers sent from this node.
    EventCorrectsUnknown,
    /// The message is owed no answer.
    NoAnswerOwed,
    /// The message was answered already.
    Answered,
    /// The correction request was answered already.
    CorrectionAnswered,
    /// She has as many correction requests waiting for an answer as one may.
    CorrectionsOpen { max: i64 },
    // The exchange.
    /// A peer did not answer.
    PeerUnavailable { peer: String },
    /// The trust directory could not be refreshed.
    DirectoryRefresh,
    /// A peer request came without a client certificate.
    NoClientCertificate,
    /// A peer's client certificate is no active directory node's.
    UnknownPeer,
    /// A message's signature or form is invalid.
    BadMessage,
    /// A message's signer is not the node behind the TLS connection.
    TlsMismatch,
    /// A message is addressed to another node.
    WrongAudience,
    /// A message id was used for other content.
    Replay,
    /// A message is out of sequence.
    Sequence,
    /// A batch is empty or too large.
    BatchSize,
    /// A submitted tree head does not verify against the directory.
    TreeHeadInvalid,
    /// A submitted tree head does not extend the one the registry holds.
    TreeHeadConflict { reason: String },
    /// A submitted report's signature or form is invalid, or it is not addressed to this registry.
    ReportInvalid,
    /// A submitted report is not the next version of the ones the registry holds.
    ReportVersion { reason: String },
    // The node itself.
    /// The database does not answer.
    NotReady,
    /// Anything else: details go to the log, never to the caller.
    Internal,
}

impl ErrorCode {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        self.texts().0
    }

    /// The Chinese message.
    pub fn message_zh(&self) -> Cow<'static, str> {
        self.texts().1
    }

    /// The English message.
    pub fn message_en(&self) -> Cow<'static, str> {
        self.texts().2
    }

    /// This code, broken by `field`.
    pub fn at(&self, field: &str) -> FieldError {
        let (code, zh, en) = self.texts();
        FieldError::new(field, code, zh, en)
    }

    /// The certificate a conflict is about.
    pub fn certificate_id(&self) -> Option<&str> {
        match self {
            Self::CertificateExists { certificate_id } | Self::CertificateRevoked { certificate_id } => {
                Some(certificate_id)
            }
            Self::ConcurrentChange { certificate_id } => certificate_id.as_deref(),
            _ => None,
        }
    }

    /// The catalogue: code, Chinese and English message of each entry.
    fn texts(&self) -> (&'static str, Cow<'static, str>, Cow<'static, str>) {
        let fixed = |code, zh, en| (code, Cow::Borrowed(zh), Cow::Borrowed(en));
        match self {
            Self::Unauthenticated => fixed("auth.unauthenticated", "缺少有效的API密钥", "a valid API key is required"),
            Self::Forbidden { role } => {
                ("auth.forbidden", "当前角色无权执行此操作".into(), format!("the {role} role may not do this").into())
            }
            Self::RateLimited { retry_after_seconds: s } => (
                "rate_limited",
                format!("请求过于频繁，请{s}秒后重试").into(),
                format!("too many requests; retry in {s} s").into(),
            ),
            Self::SignInFailed => fixed("auth.sign_in", "账号或密码不正确", "wrong account name or password"),
            Self::HolderRefused => {
                fixed("holder.refused", "身份证号或本人查询码不正确", "wrong ID number or holder code")
            }
            Self::HolderCodeFormat => fixed(
                "holder.code_format",
                "本人查询码为证明上印的12位字母和数字",
                "a holder code is the 12 letters and digits printed on the certificate",
            ),
            Self::HolderLocked { retry_after_seconds: s } => (
                "holder.locked",
                format!("查询码错误次数过多，请{}分钟后重试", s.div_ceil(60)).into(),
                format!("too many wrong holder codes; retry in {} min", s.div_ceil(60)).into(),
            ),
            Self::AccountLocked { retry_after_seconds: s } => (
                "auth.locked",
                format!("登录失败次数过多，账号已锁定，请{}分钟后重试", s.div_ceil(60)).into(),
                format!("too many failed sign-ins: the account is locked; retry in {} min", s.div_ceil(60)).into(),
            ),
            Self::FormToken => fixed(
                "auth.form_token",
                "表单已过期或来源不明，请刷新页面后重试",
                "the form has expired or did not come from this site; reload the page and try again",
            ),
            Self::Query => fixed("request.query", "查询参数不符合接口要求", "query parameters do not match the API"),
            Self::ContentType => fixed(
                "request.content_type",
                "请求内容类型须为 application/json",
                "request Content-Type must be application/json",
            ),
            Self::Body => fixed("request.body", "无法读取请求内容", "request body could not be read"),
            Self::BodyTimeout => {
                fixed("request.body_timeout", "请求内容未在时限内发送完毕", "the request body did not arrive in time")
            }
            Self::TooManyInFlight => fixed(
                "request.too_many_in_flight",
                "同一地址正在处理的请求过多，请稍后再试",
                "too many requests from this address are in progress; retry shortly",
            ),
            Self::Json { line, column } => (
                "request.json",
                format!("请求内容不是有效的JSON（第{line}行第{column}列）").into(),
                format!("request body is not valid JSON (line {line}, column {column})").into(),
            ),
            Self::Fields { line, column } => (
                "request.fields",
                format!("请求内容的字段或类型不符合接口要求（第{line}行第{column}列）").into(),
                format!("request fields or types do not match the API (line {line}, column {column})").into(),
            ),
            Self::TooLarge { limit } => (
                "request.too_large",
                format!("请求内容超过{limit}字节上限").into(),
                format!("request body exceeds the {limit}-byte limit").into(),
            ),
            Self::NotFound { what } => {
                ("not_found", format!("未找到：{what}").into(), format!("{what} not found").into())
            }
            Self::MethodNotAllowed { allow } => (
                "request.method",
                format!("该地址只接受 {allow} 请求").into(),
                format!("this route answers {allow} only").into(),
            ),
            Self::TextLength { max } => (
                "text.length",
                format!("请填写，且不超过{max}字").into(),
                format!("required, at most {max} characters").into(),
            ),
            Self::DateFormat => fixed("date.format", "日期格式应为 YYYY-MM-DD", "a date is YYYY-MM-DD"),
            Self::FutureDate => fixed("date.future", "日期不能晚于今天", "the date cannot be in the future"),
            Self::DateRange => fixed("date.range", "日期不能早于1900年", "the date cannot be before 1900"),
            Self::MonthFormat => {
                fixed("month.format", "月份格式应为YYYY-MM（2000至2199年）", "a month is YYYY-MM, years 2000 to 2199")
            }
            Self::MonthAhead => fixed("month.ahead", "该月份尚未开始", "that month has not begun"),
            Self::CardSex => fixed("card.sex", "育龄妇女卡只登记女性", "a woman's card names a woman's ID number"),
            Self::CardMarital => fixed(
                "card.marital",
                "婚姻状况应为 GB/T 2261.2 代码或名称",
                "the marital status must be a GB/T 2261.2 code or name",
            ),
            Self::CardMethod => fixed("card.method", "避孕方法代码无效", "not a contraception method code"),
            Self::CardSide => fixed(
                "card.side",
                "管理方应为户籍地 (origin) 或现居住地 (residence)",
                "the side must be origin (户籍地) or residence (现居住地)",
            ),
            Self::CardDate => fixed("card.date", "日期格式应为 YYYY-MM-DD", "the date must be YYYY-MM-DD"),
            Self::ImportDuplicate => fixed(
                "import.duplicate",
                "同一公民身份号码在文件中已出现过",
                "this ID number appears on an earlier row of the file",
            ),
            Self::ImportColumns { missing } => (
                "import.columns",
                format!("文件缺少模板中的列：{missing}").into(),
                format!("the file lacks the template's columns: {missing}").into(),
            ),
            Self::MonthOpen => {
                fixed("month.open", "该月尚未结束，不能结账", "that month has not ended and cannot be closed")
            }
            Self::NoSuperior => fixed(
                "report.no_superior",
                "本节点尚无信任名录，无上级可报",
                "this node has no trust directory, so no superior to report to",
            ),
            Self::PeriodOrder => {
                fixed("period.order", "起始日期不能晚于截止日期", "the start of the period is after its end")
            }
            Self::RevocationReason => fixed(
                "revocation.reason",
                "请填写注销原因（不超过500字）",
                "give a reason for the revocation (at most 500 characters)",
            ),
            Self::NotResponsible => fixed(
                "certificate.not_responsible",
                "本机关不是持证人户籍地的节点，不能签发",
                "this node does not keep her household registration; her origin issues her certificate",
            ),
            Self::PersonChanged => {
                fixed("certificate.person_changed", "换发不能更换持证人", "a renewal cannot change the holder")
            }
            Self::CertificateExists { .. } => fixed(
                "certificate.exists",
                "该人员已持有本机关签发的有效婚育证明，请换发",
                "this person already holds a certificate in force from this node; renew it",
            ),
            Self::CertificateRevoked { .. } => {
                fixed("certificate.revoked", "该婚育证明已注销", "this certificate has been revoked")
            }
            Self::ConcurrentChange { .. } => fixed(
                "conflict.concurrent",
                "该记录刚被他人修改，请刷新后重试",
                "the record changed meanwhile; reload and try again",
            ),
            Self::UnknownNode => fixed(
                "exchange.unknown_peer",
                "信任名录中没有该节点，或其已停用",
                "no active node with this code in the trust directory",
            ),
            Self::ArrivalCertificateInvalid { reason } => (
                "arrival.certificate_invalid",
                "所出示的婚育证明无法验证，请不带证明登记".into(),
                format!("the certificate shown does not verify ({reason}); register without it").into(),
            ),
            Self::OriginUnknown => fixed(
                "arrival.origin_unknown",
                "无法从户籍地代码确定户籍地节点",
                "no node of the trust directory keeps this household registration",
            ),
            Self::ArrivalWho => fixed(
                "arrival.who",
                "请出示婚育证明，或填写人员信息和户籍地",
                "give the certificate shown, or the person and her household registration",
            ),
            Self::EventOriginUnknown => fixed(
                "event.origin_unknown",
                "未登记该人员流入，请指定户籍地节点",
                "no arrival of hers was registered here; name her origin node",
            ),
            Self::EventMethod => fixed(
                "event.method",
                "节育服务须注明避孕节育方法，其他事件不填",
                "a contraception service names its method, and no other event does",
            ),
            Self::EventCorrectsUnknown => fixed(
                "event.corrects_unknown",
                "被更正的通报不存在，或不是本节点发出的该人员的事件通报",
                "the report to correct is not an event report of hers sent from this node",
            ),
            Self::NoAnswerOwed => {
                fixed("message.no_answer_owed", "该记录无需答复", "this message is not owed an answer")
            }
            Self::Answered => fixed("message.answered", "该记录已答复", "this message was already answered"),
            Self::CorrectionsOpen { max } => (
                "correction.open",
                format!("已有{max}项更正请求待答复，请等待答复后再提交").into(),
                format!("{max} correction requests are waiting for an answer; file another once one is answered")
                    .into(),
            ),
            Self::CorrectionAnswered => {
                fixed("correction.answered", "该更正请求已答复", "this correction request was already answered")
            }
            Self::PeerUnavailable { peer } => (
                "exchange.peer_unavailable",
                format!("节点{peer}暂时无法应答，请稍后重试").into(),
                format!("node {peer} did not answer; try again later").into(),
            ),
            Self::DirectoryRefresh => fixed(
                "directory.refresh",
                "信任名录更新失败，继续使用现有名录",
                "the trust directory was not refreshed; the one in use stays",
            ),
            Self::NoClientCertificate => fixed(
                "exchange.no_client_certificate",
                "节点间交换须出示客户端证书",
                "peer requests need a client certificate",
            ),
            Self::UnknownPeer => fixed(
                "exchange.unknown_peer",
                "客户端证书不属于信任名录中的节点",
                "the client certificate is not a directory node's",
            ),
            Self::BadMessage => {
                fixed("exchange.bad_message", "交换记录签名或格式无效", "a message's signature or form is invalid")
            }
            Self::TlsMismatch => fixed(
                "exchange.tls_mismatch",
                "交换记录的签发节点与连接身份不符",
                "a message's signer is not the node behind the TLS connection",
            ),
            Self::WrongAudience => {
                fixed("exchange.wrong_audience", "交换记录的接收方不是本节点", "a message is addressed to another node")
            }
            Self::Replay => fixed(
                "exchange.replay",
                "交换记录编号已用于其他内容",
                "a message id was already used for other content",
            ),
            Self::Sequence => fixed("exchange.sequence", "交换记录序号不连续", "a message is out of sequence"),
            Self::BatchSize => fixed("exchange.batch_size", "批次为空或超过上限", "the batch is empty or too large"),
            Self::TreeHeadInvalid => fixed(
                "transparency.bad_head",
                "树头签名或格式无效，或签发节点不在信任名录中",
                "the tree head's signature or form is invalid, or its node is not an active directory node",
            ),
            Self::TreeHeadConflict { reason } => (
                "transparency.inconsistent",
                "树头未延续登记处保存的树头：日志或审计链被截断或分叉".into(),
                format!("the tree head does not extend the one the registry holds: {reason}").into(),
            ),
            Self::ReportInvalid => fixed(
                "report.invalid",
                "月报签名或格式无效，签发节点不在信任名录中，或收件方不是本登记处",
                "the report's signature or form is invalid, its node is not an active directory node, \
                 or it is addressed to another registry",
            ),
            Self::ReportVersion { reason } => (
                "report.version",
                "月报版本不接续登记处保存的版本".into(),
                format!("the report is not the next version of those the registry holds: {reason}").into(),
            ),
            Self::NotReady => fixed("not_ready", "数据库暂不可用", "the database is not available"),
            Self::Internal => fixed("internal", "服务器内部错误，请稍后重试", "internal error; try again later"),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message_en())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_and_code() {
        let e = FieldError::new("person.name", "name.invalid", "姓名无效", "name is invalid");
        assert_eq!(e.to_string(), "person.name: name.invalid: name is invalid");
    }

    #[test]
    fn catalogue_entries_carry_their_details() {
        let e = ErrorCode::TextLength { max: 200 }.at("address");
        assert_eq!((e.field.as_str(), e.code), ("address", "text.length"));
        assert_eq!(e.message_en, "required, at most 200 characters");
        let exists = ErrorCode::CertificateExists { certificate_id: "c1".into() };
        assert_eq!(exists.certificate_id(), Some("c1"));
        assert_eq!(ErrorCode::RateLimited { retry_after_seconds: 3 }.message_en(), "too many requests; retry in 3 s");
    }
}
