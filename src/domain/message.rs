//! Messages between nodes (交换记录): their kinds, typed bodies, signed claims, receipts and answer
//! deadlines (§1).
//!
//! The serde derives of [`MessageClaims`] and [`MessageBody`] are the one place where message
//! bodies meet the wire (`schemas/message.schema.json`): a body is built typed when a message is
//! written and parsed typed once when one is received.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::calendar::{Deadline, WorkCalendar};
use super::certificate::{ContraceptionMethod, parse_name};
use super::error::{Coded as _, ErrorCode, FieldError};
use super::id_number::{self, IdNumber};
use super::verification::VerificationStatus;

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
/// Days within which a woman who arrived without a valid certificate obtains one.
pub const CERTIFICATE_DAYS: u64 = 90;
/// Working days within which the residence checks a presented certificate.
pub const CHECK_WORKING_DAYS: u32 = 5;
/// Longest address or destination, in characters.
pub const PLACE_MAX_CHARS: usize = 200;
/// Longest question, answer or note, in characters.
pub const TEXT_MAX_CHARS: usize = 2000;

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Whether this node sent a message or received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Received from the peer.
    In,
    /// Sent to the peer.
    Out,
}

impl Direction {
    /// Both directions.
    pub const ALL: [Direction; 2] = [Self::In, Self::Out];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }

    /// The direction of a stored or API name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

/// A person as a message names her: ID number and name, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRef {
    pub id_number: IdNumber,
    /// 姓名, trimmed.
    pub name: String,
}

/// A person as a request names her, before any check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRefDraft {
    /// 公民身份号码.
    pub id_number: String,
    /// 姓名.
    pub name: String,
}

impl PersonRefDraft {
    /// Checks the ID number (GB 11643) and the name; `field` prefixes the error paths.
    pub fn parse(&self, field: &str, today: NaiveDate) -> Result<PersonRef, Vec<FieldError>> {
        let id_number =
            id_number::parse(&self.id_number, today).map_err(|e| e.to_field_error(&format!("{field}.id_number")));
        let name = parse_name(&self.name, &format!("{field}.name"));
        match (id_number, name) {
            (Ok(id_number), Ok(name)) => Ok(PersonRef { id_number, name }),
            (id_number, name) => Err(id_number.err().into_iter().chain(name.err()).collect()),
        }
    }
}

/// The certificate a residence verified when she arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShownCertificate {
    /// `jti` of the version shown.
    pub jti: String,
    /// Its issuer.
    pub iss: String,
    /// What the residence concluded.
    pub status: VerificationStatus,
    pub verified_on: NaiveDate,
    /// 5 working days after it was shown.
    pub check_due: NaiveDate,
}

/// 流入登记通报: she was registered at the residence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalNotice {
    pub person: PersonRef,
    pub arrived_on: NaiveDate,
    pub address: String,
    /// 30 days after arrival.
    pub presentation_due: NaiveDate,
    /// Absent when she showed none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ShownCertificate>,
}

/// 流出通报: she left the origin for the receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartureNotice {
    pub person: PersonRef,
    pub left_on: NaiveDate,
    pub destination: String,
}

/// 协查: a question about her, answered by the message's `due`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inquiry {
    pub person: PersonRef,
    pub question: String,
    /// Pregnancy: answered within 15 days, else 30.
    pub urgent: bool,
}

/// 答复 to the message named by `in_reply_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub answer: String,
}

/// 信息通报: a birth, marriage, divorce or contraception service at the residence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventReport {
    pub person: PersonRef,
    pub event: EventKind,
    pub on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The method of a contraception service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<ContraceptionMethod>,
    /// Id of the earlier report this one corrects: the books keep both, the later in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrects: Option<String>,
}

/// 证明换发: the new version of a certificate, for the residences that registered her.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateUpdate {
    /// Compact JWS of the new version.
    pub token: String,
}

/// 证明注销: a certificate version revoked by its issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationNotice {
    pub certificate_id: String,
    /// The version revoked.
    pub jti: String,
    pub reason: String,
    /// NumericDate.
    pub revoked_at: i64,
}

/// The content of a message, by kind: on the wire `kind` and `body` side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum MessageBody {
    ArrivalNotice(ArrivalNotice),
    DepartureNotice(DepartureNotice),
    Inquiry(Inquiry),
    Reply(Reply),
    EventReport(EventReport),
    CertificateUpdate(CertificateUpdate),
    Revocation(RevocationNotice),
}

impl MessageBody {
    /// The kind of message this body makes.
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::ArrivalNotice(_) => MessageKind::ArrivalNotice,
            Self::DepartureNotice(_) => MessageKind::DepartureNotice,
            Self::Inquiry(_) => MessageKind::Inquiry,
            Self::Reply(_) => MessageKind::Reply,
            Self::EventReport(_) => MessageKind::EventReport,
            Self::CertificateUpdate(_) => MessageKind::CertificateUpdate,
            Self::Revocation(_) => MessageKind::Revocation,
        }
    }

    /// The person the message is about, when it names her.
    pub fn person(&self) -> Option<&PersonRef> {
        match self {
            Self::ArrivalNotice(b) => Some(&b.person),
            Self::DepartureNotice(b) => Some(&b.person),
            Self::Inquiry(b) => Some(&b.person),
            Self::EventReport(b) => Some(&b.person),
            Self::Reply(_) | Self::CertificateUpdate(_) | Self::Revocation(_) => None,
        }
    }
}

/// The signed claims of a message (`schemas/message.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Last day (Asia/Shanghai) for an answer, when one is owed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// `kind` and `body`.
    #[serde(flatten)]
    pub body: MessageBody,
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
    pub id_number: IdNumber,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateCopy {
    pub token: String,
    pub qr: String,
}

/// Whether a request signed at `iat` may still be answered at `now`.
pub fn lookup_is_fresh(iat: i64, now: i64) -> bool {
    (now - iat).abs() <= LOOKUP_FRESH_SECONDS
}

/// Where a message stands, as both sides show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// Whether a deadline of `due` has passed on `today` (the last day itself is still in time).
pub fn is_overdue(due: NaiveDate, today: NaiveDate) -> bool {
    today > due
}

/// The state of a message on `today`: overdue once its due day has passed unanswered.
pub fn message_state(receipted: bool, due: Option<NaiveDate>, answered: bool, today: NaiveDate) -> MessageState {
    if answered {
        MessageState::Answered
    } else if due.is_some_and(|due| is_overdue(due, today)) {
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

/// Last day for a woman who arrived without a valid certificate to obtain one.
pub fn certificate_due(arrived: NaiveDate) -> NaiveDate {
    arrived.checked_add_days(Days::new(CERTIFICATE_DAYS)).unwrap_or(NaiveDate::MAX)
}

/// Last day for the residence to verify the certificate of a woman who arrived on `arrived` (及时查验):
/// provisional where the count crosses a year whose holidays are not loaded.
pub fn check_due(arrived: NaiveDate, calendar: &WorkCalendar) -> Deadline {
    calendar.add_working_days(arrived, CHECK_WORKING_DAYS)
}

/// A required free text of at most `max` characters, trimmed.
pub fn parse_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let text = value.trim();
    let count = text.chars().count();
    if count == 0 || count > max {
        return Err(ErrorCode::TextLength { max }.at(field));
    }
    Ok(text.to_owned())
}

/// Earliest date a request may name: older ones are typing errors (and the wire's dates have four digits).
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("1900-01-01 is a date"),
};

/// A date of something that happened: not after `today`, not before [`EARLIEST_DATE`].
pub fn check_past_date(field: &str, date: NaiveDate, today: NaiveDate) -> Option<FieldError> {
    if date > today {
        Some(ErrorCode::FutureDate.at(field))
    } else if date < EARLIEST_DATE {
        Some(ErrorCode::DateRange.at(field))
    } else {
        None
    }
}

/// Events a residence reports to the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// 生育: answered by the origin within 30 days.
    Birth,
    /// 结婚.
    Marriage,
    /// 离婚.
    Divorce,
    /// 节育服务 or 节育手术, with its method.
    Contraception,
    /// 怀孕.
    Pregnancy,
    /// 生殖健康检查 (孕情环情检查): a free basic service.
    HealthCheck,
}

impl EventKind {
    /// Every event kind.
    pub const ALL: [EventKind; 6] =
        [Self::Birth, Self::Marriage, Self::Divorce, Self::Contraception, Self::Pregnancy, Self::HealthCheck];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Birth => "birth",
            Self::Marriage => "marriage",
            Self::Divorce => "divorce",
            Self::Contraception => "contraception",
            Self::Pregnancy => "pregnancy",
            Self::HealthCheck => "health_check",
        }
    }
}

/// A contraception service names its method (the books and 长效避孕率 count by it), and no
/// other event names one.
pub fn check_event_method(event: EventKind, method: Option<ContraceptionMethod>) -> Result<(), FieldError> {
    match (event, method) {
        (EventKind::Contraception, Some(method)) if method != ContraceptionMethod::None => Ok(()),
        (EventKind::Contraception, _) | (_, Some(_)) => Err(ErrorCode::EventMethod.at("method")),
        (_, None) => Ok(()),
    }
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
    fn only_a_contraception_service_names_its_method_and_it_must() {
        use ContraceptionMethod as M;
        assert!(check_event_method(EventKind::Contraception, Some(M::Iud)).is_ok());
        for refused in [None, Some(M::None)] {
            assert_eq!(check_event_method(EventKind::Contraception, refused).unwrap_err().code, "event.method");
        }
        for event in EventKind::ALL.into_iter().filter(|e| *e != EventKind::Contraception) {
            assert!(check_event_method(event, None).is_ok());
            assert!(check_event_method(event, Some(M::Pill)).is_err(), "{event:?}");
        }
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
    fn a_past_date_lies_between_1900_and_today() {
        let today = day("2026-12-02");
        assert_eq!(check_past_date("on", today, today), None);
        assert_eq!(check_past_date("on", day("1900-01-01"), today), None);
        let code = |date| check_past_date("on", date, today).map(|e| e.code);
        assert_eq!(code(day("2026-12-03")), Some("date.future"));
        assert_eq!(code(NaiveDate::from_ymd_opt(-1, 1, 1).unwrap()), Some("date.range"));
    }

    #[test]
    fn names_round_trip_their_wire_names() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for direction in Direction::ALL {
            assert_eq!(Direction::parse(direction.as_str()), Some(direction));
            assert_eq!(serde_json::to_value(direction).unwrap(), direction.as_str());
        }
        for state in MessageState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        for event in EventKind::ALL {
            assert_eq!(serde_json::to_value(event).unwrap(), event.as_str());
        }
    }

    fn someone() -> PersonRef {
        let draft = PersonRefDraft { id_number: "11010519491231002x".into(), name: "  张丽 ".into() };
        draft.parse("person", day("2026-12-01")).unwrap()
    }

    #[test]
    fn a_person_is_parsed_and_normalised_once() {
        let person = someone();
        assert_eq!((person.id_number.as_str(), person.name.as_str()), ("11010519491231002X", "张丽"));
        let bad = PersonRefDraft { id_number: "110105194912310021".into(), name: " ".into() };
        let codes: Vec<_> = bad.parse("person", day("2026-12-01")).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(codes, ["person.id_number", "person.name"]);
    }

    #[test]
    fn every_body_puts_its_kind_beside_it_and_reads_back() {
        let person = someone();
        let on = day("2026-11-30");
        let bodies = [
            MessageBody::ArrivalNotice(ArrivalNotice {
                person: person.clone(),
                arrived_on: on,
                address: "某街1号".into(),
                presentation_due: presentation_due(on),
                certificate: None,
            }),
            MessageBody::DepartureNotice(DepartureNotice {
                person: person.clone(),
                left_on: on,
                destination: "深圳".into(),
            }),
            MessageBody::Inquiry(Inquiry { person: person.clone(), question: "婚姻状况?".into(), urgent: true }),
            MessageBody::Reply(Reply { answer: "已核实".into() }),
            MessageBody::EventReport(EventReport {
                person,
                event: EventKind::Contraception,
                on,
                note: None,
                method: Some(ContraceptionMethod::TubalLigation),
                corrects: Some("m0".into()),
            }),
            MessageBody::CertificateUpdate(CertificateUpdate { token: "a.b.c".into() }),
            MessageBody::Revocation(RevocationNotice {
                certificate_id: "c".into(),
                jti: "j".into(),
                reason: "r".into(),
                revoked_at: 1,
            }),
        ];
        for body in bodies {
            let claims = MessageClaims {
                iss: "130728102000".into(),
                aud: "440306001000".into(),
                jti: "m".into(),
                seq: 1,
                iat: 1,
                in_reply_to: None,
                due: None,
                body,
            };
            let wire = serde_json::to_value(&claims).unwrap();
            assert_eq!(wire["kind"], claims.body.kind().as_str());
            assert!(wire["body"].is_object(), "{wire}");
            assert_eq!(serde_json::from_value::<MessageClaims>(wire).unwrap(), claims);
        }
    }

    /// Payloads of every kind, signed by hunyu before its bodies were typed (`hunyu demo` and a
    /// departure, arrival and event added through the API of that version).
    const WRITTEN_BEFORE: &str = include_str!("../../tests/data/messages-v1.json");

    #[test]
    fn messages_stored_before_bodies_were_typed_read_back_unchanged() {
        let payloads: Vec<serde_json::Value> = serde_json::from_str(WRITTEN_BEFORE).unwrap();
        let mut kinds = std::collections::BTreeSet::new();
        for payload in payloads {
            let claims: MessageClaims = serde_json::from_value(payload.clone()).unwrap();
            kinds.insert(claims.body.kind().as_str());
            assert_eq!(serde_json::to_value(&claims).unwrap(), payload);
        }
        assert_eq!(kinds.len(), MessageKind::ALL.len(), "{kinds:?}");
    }
}
