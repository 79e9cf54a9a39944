//! Messages between nodes (交换记录): their kinds, signed claims, receipts and answer deadlines (§1).

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{Coded as _, FieldError};
use super::id_number;

/// JWS `typ` of a message.
pub const MESSAGE_TYP: &str = "hunyu-message+jwt";
/// JWS `typ` of a receipt.
pub const RECEIPT_TYP: &str = "hunyu-receipt+jwt";

/// JWS `typ` of an electronic certificate lookup (电子证明查询) sent to an origin.
pub const LOOKUP_REQUEST_TYP: &str = "hunyu-lookup-request+jwt";
/// JWS `typ` of the origin's answer to a lookup.
pub const LOOKUP_ANSWER_TYP: &str = "hunyu-lookup-answer+jwt";
/// Seconds a lookup request stays answerable: it is answered at once, so an old one is a replay.
pub const LOOKUP_FRESH_SECONDS: i64 = 300;

/// Days within which an urgent inquiry (pregnancy) is answered.
pub const URGENT_INQUIRY_DAYS: u64 = 15;
/// Days within which any other inquiry, or a birth notice, is answered.
pub const ANSWER_DAYS: u64 = 30;
/// Days within which an arriving person presents her certificate.
pub const PRESENTATION_DAYS: u64 = 30;
/// Working days within which the residence checks a presented certificate.
pub const CHECK_WORKING_DAYS: u32 = 5;

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// 流入登记通报: residence → origin.
    ArrivalNotice,
    /// 流出通报: origin → expected residence.
    DepartureNotice,
    /// 协查: either way, with a deadline.
    Inquiry,
    /// 答复: answers an inquiry, or a notice that owes an answer (a birth).
    Reply,
    /// 生育、婚姻、节育服务通报: residence → origin.
    EventReport,
    /// 证明换发: origin → every residence that registered the person.
    CertificateUpdate,
    /// 证明注销: origin → every residence that registered the person.
    Revocation,
}

impl MessageKind {
    /// Every kind.
    pub const ALL: [MessageKind; 7] = [
        Self::ArrivalNotice,
        Self::DepartureNotice,
        Self::Inquiry,
        Self::Reply,
        Self::EventReport,
        Self::CertificateUpdate,
        Self::Revocation,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ArrivalNotice => "arrival_notice",
            Self::DepartureNotice => "departure_notice",
            Self::Inquiry => "inquiry",
            Self::Reply => "reply",
            Self::EventReport => "event_report",
            Self::CertificateUpdate => "certificate_update",
            Self::Revocation => "revocation",
        }
    }

    /// The kind of a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// The signed claims of a message (`schemas/message.schema.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageClaims {
    /// Sender's node code.
    pub iss: String,
    /// Receiver's node code.
    pub aud: String,
    /// Message id (UUID v7), the inbox key.
    pub jti: String,
    /// Per sender-and-receiver sequence number, from 1 without gaps.
    pub seq: u64,
    pub iat: i64,
    pub kind: MessageKind,
    /// The message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Last day (Asia/Shanghai) for an answer, when one is owed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// Kind-specific content.
    pub body: Value,
}

/// The receiver's signed acknowledgement of one message (`schemas/receipt.schema.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptClaims {
    /// Receiver's node code.
    pub iss: String,
    /// Sender's node code.
    pub aud: String,
    /// Id of the acknowledged message.
    pub msg: String,
    pub seq: u64,
    /// SHA-256 (hex) of the message token as received.
    pub sha256: String,
    /// When the receiver stored it: the clock of timeliness indicators.
    pub iat: i64,
}

/// A residence asks the origin for a person's current certificates (`schemas/lookup-request.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupRequestClaims {
    pub iss: String,
    pub aud: String,
    pub jti: String,
    pub iat: i64,
    pub id_number: String,
}

/// The origin's signed answer: her current certificates, or none (`schemas/lookup-answer.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupAnswerClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    /// `jti` of the request answered.
    pub in_reply_to: String,
    pub certificates: Vec<CertificateCopy>,
}

/// A certificate as the issuer stored it: compact JWS and QR text, each signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertificateCopy {
    pub token: String,
    pub qr: String,
}

/// Whether a request signed at `iat` may still be answered at `now`.
pub fn lookup_is_fresh(iat: i64, now: i64) -> bool {
    (now - iat).abs() <= LOOKUP_FRESH_SECONDS
}

/// Where a message stands, as both sides show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Sent, no receipt yet.
    Pending,
    /// Receipted; no answer owed, or one owed and not yet due.
    Receipted,
    /// The answer owed has come.
    Answered,
    /// An answer was owed by `due` and has not come.
    Overdue,
}

impl MessageState {
    /// Every state, for filters.
    pub const ALL: [MessageState; 4] = [Self::Pending, Self::Receipted, Self::Answered, Self::Overdue];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Receipted => "receipted",
            Self::Answered => "answered",
            Self::Overdue => "overdue",
        }
    }
}

/// The state of a message on `today`: overdue once its due day has passed unanswered.
pub fn message_state(receipted: bool, due: Option<NaiveDate>, answered: bool, today: NaiveDate) -> MessageState {
    if answered {
        MessageState::Answered
    } else if due.is_some_and(|due| today > due) {
        MessageState::Overdue
    } else if receipted {
        MessageState::Receipted
    } else {
        MessageState::Pending
    }
}

/// Last day to answer an inquiry sent on `sent`: 15 days when urgent (pregnancy), else 30.
pub fn inquiry_due(sent: NaiveDate, urgent: bool) -> NaiveDate {
    let days = if urgent { URGENT_INQUIRY_DAYS } else { ANSWER_DAYS };
    sent.checked_add_days(Days::new(days)).unwrap_or(NaiveDate::MAX)
}

/// Last day to answer a birth notice sent on `sent` (other events are acknowledged by receipt only).
pub fn birth_answer_due(sent: NaiveDate) -> NaiveDate {
    sent.checked_add_days(Days::new(ANSWER_DAYS)).unwrap_or(NaiveDate::MAX)
}

/// Last day for an arriving person to present her certificate.
pub fn presentation_due(arrived: NaiveDate) -> NaiveDate {
    arrived.checked_add_days(Days::new(PRESENTATION_DAYS)).unwrap_or(NaiveDate::MAX)
}

/// The origin node codes that may keep a person's household registration, nearest first: the
/// township (first 9 digits) and then the county (first 6).
pub fn origin_candidates(hukou: &str) -> Vec<String> {
    let mut codes = Vec::with_capacity(2);
    if hukou.len() == 12 && hukou.bytes().all(|b| b.is_ascii_digit()) {
        codes.push(format!("{}000", &hukou[..9]));
        codes.push(format!("{}000000", &hukou[..6]));
        codes.dedup();
    }
    codes
}

/// A person as a message names her: ID number and name, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRef {
    pub id_number: String,
    pub name: String,
}

impl PersonRef {
    /// Checks the ID number (GB 11643) and the name; `field` prefixes the error paths.
    pub fn check(&self, field: &str, today: NaiveDate) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Err(e) = id_number::parse(&self.id_number, today) {
            errors.push(e.to_field_error(&format!("{field}.id_number")));
        }
        errors.extend(check_text(&format!("{field}.name"), &self.name, 50));
        errors
    }
}

/// A required free text of at most `max` characters.
pub fn check_text(field: &str, value: &str, max: usize) -> Option<FieldError> {
    let count = value.trim().chars().count();
    (count == 0 || count > max).then(|| {
        FieldError::new(
            field,
            "text.length",
            format!("请填写，且不超过{max}字"),
            format!("required, at most {max} characters"),
        )
    })
}

/// A date that must not lie after `today`.
pub fn check_not_future(field: &str, date: NaiveDate, today: NaiveDate) -> Option<FieldError> {
    (date > today)
        .then(|| FieldError::new(field, "date.future", "日期不能晚于今天", "the date cannot be in the future"))
}

/// Events a residence reports to the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// 生育: answered by the origin within 30 days.
    Birth,
    /// 结婚.
    Marriage,
    /// 离婚.
    Divorce,
    /// 节育服务.
    Contraception,
}

/// Last day for the origin's answer to an event report sent on `sent`, if one is owed.
pub fn event_answer_due(event: EventKind, sent: NaiveDate) -> Option<NaiveDate> {
    (event == EventKind::Birth).then(|| birth_answer_due(sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn inquiry_deadlines_follow_urgency() {
        assert_eq!(inquiry_due(day("2026-11-28"), true), day("2026-12-13"));
        assert_eq!(inquiry_due(day("2026-11-28"), false), day("2026-12-28"));
    }

    #[test]
    fn overdue_once_the_due_day_has_passed_unanswered() {
        let due = Some(day("2026-12-13"));
        assert_eq!(message_state(false, due, false, day("2026-12-13")), MessageState::Pending);
        assert_eq!(message_state(true, due, false, day("2026-12-13")), MessageState::Receipted);
        assert_eq!(message_state(true, due, false, day("2026-12-14")), MessageState::Overdue);
        assert_eq!(message_state(false, due, false, day("2026-12-14")), MessageState::Overdue);
        assert_eq!(message_state(true, due, true, day("2027-06-01")), MessageState::Answered);
        assert_eq!(message_state(true, None, false, day("2030-01-01")), MessageState::Receipted);
    }

    #[test]
    fn origin_is_the_township_then_the_county() {
        assert_eq!(origin_candidates("130728102201"), vec!["130728102000", "130728000000"]);
        assert_eq!(origin_candidates("130728000000"), vec!["130728000000"]);
        assert!(origin_candidates("13072810").is_empty());
    }

    #[test]
    fn kinds_round_trip_their_wire_names() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
