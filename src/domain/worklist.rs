//! A worker's worklists (工作清单): what this node owes, to whom, and by when.

use serde::{Deserialize, Serialize};

/// How far back a worklist looks, in days: a duty older than a year is a finding of the
/// assessment by then, not a task of the day.
pub const LOOK_BACK_DAYS: u64 = 365;

/// A worklist, as `GET /api/v1/worklists/{list}` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Worklist {
    /// Inquiries (协查) and birth reports received here and owed an answer.
    Answers,
    /// Women registered here who showed no valid certificate: she obtains one within 90 days.
    Arrivals,
    /// The same arrivals as checks owed: a valid certificate of hers verified within 5 working
    /// days of her arrival (及时查验).
    Checks,
    /// Women 18–49 this node keeps as origin (流出) who hold no valid certificate from here: by
    /// the month's end, when 发证率 counts them.
    Outflows,
    /// Women's requests to correct their record (更正请求), filed from their own view.
    Corrections,
}

impl Worklist {
    /// Every worklist.
    pub const ALL: [Worklist; 5] = [Self::Answers, Self::Arrivals, Self::Checks, Self::Outflows, Self::Corrections];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answers => "answers",
            Self::Arrivals => "arrivals",
            Self::Checks => "checks",
            Self::Outflows => "outflows",
            Self::Corrections => "corrections",
        }
    }

    /// The worklist of a stable name.
    pub fn parse(name: &str) -> Option<Worklist> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// What an item of a worklist asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Answer an inquiry (15 days when urgent, else 30).
    AnswerInquiry,
    /// Answer a birth report (30 days).
    AnswerBirthReport,
    /// See that she obtains a certificate, and verify it (90 days from her arrival).
    ObtainCertificate,
    /// Verify her certificate (5 working days from her arrival).
    VerifyCertificate,
    /// Issue or renew her certificate (by the month's end).
    IssueCertificate,
    /// Answer her correction request (15 days).
    AnswerCorrection,
}

impl Task {
    /// Every task.
    pub const ALL: [Task; 6] = [
        Self::AnswerInquiry,
        Self::AnswerBirthReport,
        Self::ObtainCertificate,
        Self::VerifyCertificate,
        Self::IssueCertificate,
        Self::AnswerCorrection,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AnswerInquiry => "answer_inquiry",
            Self::AnswerBirthReport => "answer_birth_report",
            Self::ObtainCertificate => "obtain_certificate",
            Self::VerifyCertificate => "verify_certificate",
            Self::IssueCertificate => "issue_certificate",
            Self::AnswerCorrection => "answer_correction",
        }
    }
}
