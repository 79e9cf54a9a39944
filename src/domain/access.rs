//! Who may do what: every API action behind a key, and the roles allowed to take it.

use super::role::Role;

/// Every API action behind a key. [`Action::roles`] is the one place that says who may do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `POST /api/v1/certificates`
    IssueCertificate,
    /// `GET /api/v1/certificates/{id}`
    ShowCertificate,
    /// `POST /api/v1/certificates/{id}/renew`
    RenewCertificate,
    /// `POST /api/v1/certificates/{id}/revoke`
    RevokeCertificate,
    /// `POST /api/v1/verify`: the whole certificate, personal data included.
    Verify,
    /// `POST /api/v1/employer/confirm`: valid or not, name, issuer, validity.
    ConfirmEmployment,
    /// `POST /api/v1/lookup`: a person's certificates at this node, by ID number.
    Lookup,
    /// `GET /api/v1/audit`: who accessed what; persons only as keyed hashes.
    ReadAudit,
    /// `POST /api/v1/arrivals`: register an arrival (流入登记) and notify the origin.
    RegisterArrival,
    /// `POST /api/v1/departures`: record a departure (流出) for the expected residence.
    RecordDeparture,
    /// `POST /api/v1/inquiries`: ask another node (协查).
    SendInquiry,
    /// `POST /api/v1/messages/{id}/reply`: answer an inquiry or a birth report.
    Reply,
    /// `POST /api/v1/events`: report a birth, marriage, divorce or contraception service.
    ReportEvent,
    /// `GET /api/v1/messages`: messages sent and received, with their content.
    ListMessages,
    /// `GET /api/v1/ledgers/{book}`: a book of record (三帐一卡), persons named.
    ReadLedger,
    /// `GET /api/v1/worklists/{list}`: what this node owes, persons named.
    ReadWorklist,
    /// `GET /api/v1/reports/assessment`: the month's figures, no person named.
    ReadReport,
    /// `GET /api/v1/reports/assessment/persons`: the women behind a figure (考核名单), persons named.
    ReadReportPersons,
    /// `POST /api/v1/reports/assessment/close`: close a month now, sign its report, send it up.
    CloseMonth,
    /// `POST /api/v1/admin/directory/refresh`: fetch the trust directory now.
    RefreshDirectory,
    /// `POST /api/v1/admin/accounts`: open an account for a person (the pages).
    ManageAccounts,
    /// `POST /api/v1/certificates/{id}/holder-code`: a fresh holder code for the paper certificate.
    PrintCertificate,
    /// `POST /api/v1/corrections/{id}/answer`: answer her request to correct her record.
    AnswerCorrection,
}

impl Action {
    /// Every action, in the order of the README's role matrix.
    pub const ALL: [Action; 23] = [
        Action::IssueCertificate,
        Action::ShowCertificate,
        Action::RenewCertificate,
        Action::RevokeCertificate,
        Action::Verify,
        Action::ConfirmEmployment,
        Action::Lookup,
        Action::ReadAudit,
        Action::RegisterArrival,
        Action::RecordDeparture,
        Action::SendInquiry,
        Action::Reply,
        Action::ReportEvent,
        Action::ListMessages,
        Action::ReadLedger,
        Action::ReadWorklist,
        Action::ReadReport,
        Action::ReadReportPersons,
        Action::CloseMonth,
        Action::RefreshDirectory,
        Action::ManageAccounts,
        Action::PrintCertificate,
        Action::AnswerCorrection,
    ];

    /// The roles allowed to take this action.
    pub fn roles(self) -> &'static [Role] {
        match self {
            // The origin township keeps the books: only its officers write or read them whole.
            // Her paper and her corrections too: the holder code opens her record to her.
            Self::IssueCertificate
            | Self::ShowCertificate
            | Self::RenewCertificate
            | Self::RevokeCertificate
            | Self::PrintCertificate
            | Self::AnswerCorrection => &[Role::Officer],
            // 查验 and look-ups read the whole certificate: the residence worker and the origin officer.
            Self::Verify | Self::Lookup => &[Role::Worker, Role::Officer],
            // Employers see validity only, and only through the holder's presentation.
            Self::ConfirmEmployment => &[Role::Employer],
            // Oversight reads the log; it names persons only by keyed hash.
            Self::ReadAudit => &[Role::Admin, Role::Auditor],
            // The residence registers arrivals and reports events; the origin records departures.
            Self::RegisterArrival | Self::ReportEvent => &[Role::Worker],
            Self::RecordDeparture => &[Role::Officer],
            // Inquiries and answers go either way, and so does what was exchanged.
            Self::SendInquiry | Self::Reply | Self::ListMessages => &[Role::Worker, Role::Officer],
            // The books name persons: those who keep them, on either side.
            Self::ReadLedger | Self::ReadWorklist => &[Role::Worker, Role::Officer],
            // The figures name no one: the officers assessed and the auditors who compare them.
            Self::ReadReport => &[Role::Officer, Role::Auditor],
            Self::ReadReportPersons => &[Role::Worker, Role::Officer],
            // The report goes to the superior under the node's signature: an officer answers for it.
            Self::CloseMonth => &[Role::Officer],
            Self::RefreshDirectory | Self::ManageAccounts => &[Role::Admin],
        }
    }

    /// Name in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Self::IssueCertificate => "issue_certificate",
            Self::ShowCertificate => "show_certificate",
            Self::RenewCertificate => "renew_certificate",
            Self::RevokeCertificate => "revoke_certificate",
            Self::Verify => "verify",
            Self::ConfirmEmployment => "confirm_employment",
            Self::Lookup => "lookup",
            Self::ReadAudit => "read_audit",
            Self::RegisterArrival => "register_arrival",
            Self::RecordDeparture => "record_departure",
            Self::SendInquiry => "send_inquiry",
            Self::Reply => "reply",
            Self::ReportEvent => "report_event",
            Self::ListMessages => "list_messages",
            Self::ReadLedger => "read_ledger",
            Self::ReadWorklist => "read_worklist",
            Self::ReadReport => "read_report",
            Self::ReadReportPersons => "read_report_persons",
            Self::CloseMonth => "close_month",
            Self::RefreshDirectory => "refresh_directory",
            Self::ManageAccounts => "manage_accounts",
            Self::PrintCertificate => "print_certificate",
            Self::AnswerCorrection => "answer_correction",
        }
    }

    /// The purpose recorded when the caller states none.
    pub fn default_purpose(self) -> &'static str {
        match self {
            Self::IssueCertificate => "签发婚育证明 issue a certificate",
            Self::ShowCertificate => "查阅婚育证明 consult a certificate",
            Self::RenewCertificate => "换发婚育证明 renew a certificate",
            Self::RevokeCertificate => "注销婚育证明 revoke a certificate",
            Self::Verify => "查验婚育证明 verify a certificate",
            Self::ConfirmEmployment => "用人单位查验 employer confirmation",
            Self::Lookup => "查询婚育证明 look a person up",
            Self::ReadAudit => "审计 audit",
            Self::RegisterArrival => "流入登记 register an arrival",
            Self::RecordDeparture => "流出登记 record a departure",
            Self::SendInquiry => "协查 inquiry",
            Self::Reply => "答复 reply",
            Self::ReportEvent => "信息通报 report an event",
            Self::ListMessages => "查阅交换记录 read exchanged records",
            Self::ReadLedger => "查阅台帐 read the books",
            Self::ReadWorklist => "工作清单 read a worklist",
            Self::ReadReport => "双向考核 read the assessment",
            Self::ReadReportPersons => "考核名单 read the women behind a figure",
            Self::CloseMonth => "月报结账 close the month",
            Self::RefreshDirectory => "更新信任名录 refresh the trust directory",
            Self::ManageAccounts => "管理账号 manage accounts",
            Self::PrintCertificate => "打印纸质证明 print the paper certificate",
            Self::AnswerCorrection => "答复更正请求 answer a correction request",
        }
    }
}

/// Longest purpose kept, in characters.
pub const PURPOSE_MAX_CHARS: usize = 200;
/// A run of this many digits or more in a stated purpose is masked: it may be an ID number.
const MASKED_DIGITS: usize = 6;

/// A caller's stated purpose as the audit log keeps it: without control or direction-changing
/// characters (which can make a log line read other than it is), with long digit runs (ID and
/// phone numbers) masked, trimmed and at most 200 characters; `None` when nothing is left.
pub fn clean_purpose(raw: &str) -> Option<String> {
    let kept: Vec<char> = raw.chars().filter(|c| !c.is_control() && !is_invisible_format(*c)).collect();
    let mut cleaned = String::with_capacity(kept.len());
    let mut i = 0;
    while i < kept.len() {
        let run = kept[i..].iter().take_while(|c| c.is_ascii_digit() || matches!(c, 'X' | 'x')).count();
        let digits = kept[i..i + run].iter().filter(|c| c.is_ascii_digit()).count();
        if digits >= MASKED_DIGITS {
            cleaned.extend(std::iter::repeat_n('*', run));
            i += run;
        } else {
            cleaned.push(kept[i]);
            i += 1;
        }
    }
    let cleaned: String = cleaned.trim().chars().take(PURPOSE_MAX_CHARS).collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// Unicode format characters that change how text is shown without showing themselves:
/// direction marks, embeddings, overrides and isolates, zero-width characters.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purpose_is_cleaned_and_masked() {
        assert_eq!(
            clean_purpose("  核实 130728199003070026 婚育情况 "),
            Some("核实 ****************** 婚育情况".into())
        );
        assert_eq!(clean_purpose("来电13812345678"), Some("来电***********".into()));
        assert_eq!(clean_purpose("第3次\u{202E}txt.exe\u{202C}\n"), Some("第3次txt.exe".into()));
        assert_eq!(clean_purpose(" \u{200B} "), None);
        assert_eq!(clean_purpose(&"长".repeat(300)).unwrap().chars().count(), PURPOSE_MAX_CHARS);
    }
}
