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
}

impl Worklist {
    /// Every worklist.
    pub const ALL: [Worklist; 2] = [Self::Answers, Self::Arrivals];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answers => "answers",
            Self::Arrivals => "arrivals",
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
}

impl Task {
    /// Every task.
    pub const ALL: [Task; 3] = [Self::AnswerInquiry, Self::AnswerBirthReport, Self::ObtainCertificate];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AnswerInquiry => "answer_inquiry",
            Self::AnswerBirthReport => "answer_birth_report",
            Self::ObtainCertificate => "obtain_certificate",
        }
    }
}
