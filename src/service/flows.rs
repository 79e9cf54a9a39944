//! The exchange as users drive it: arrivals (流入登记), departures (流出), inquiries (协查), replies
//! and event reports (信息通报), each written in one transaction with its outgoing message (the
//! transactional outbox) and its audit entry.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::messages::Message;
use super::verification::{Verdict, verify_asking};
use super::{ServiceError, active_peer, blocking, refused};
use crate::domain::access::Action;
use crate::domain::calendar::{WorkCalendar, local_date};
use crate::domain::certificate::ContraceptionMethod;
use crate::domain::division::origin_candidates;
use crate::domain::error::{Coded as _, ErrorCode, FieldError};
use crate::domain::message::{
    ArrivalNotice, CHECK_WORKING_DAYS, DepartureNotice, Direction, EventKind, EventReport, Inquiry, MessageBody,
    MessageKind, PLACE_MAX_CHARS, PersonRef, PersonRefDraft, Reply, ShownCertificate, TEXT_MAX_CHARS,
    check_event_method, check_past_date, event_answer_due, inquiry_due, parse_text, presentation_due,
};
use crate::domain::verification::VerificationStatus;
use crate::exchange::client::PeerClient;
use crate::node::outbox::Outgoing;
use crate::node::{Actor, NodeCore};
use crate::store::DbConn;
use crate::store::audit::{self, NewAudit};
use crate::store::messages;

/// What she showed when she was registered.
#[derive(Debug, Clone)]
pub enum Shown {
    /// Her certificate (QR text or JWS): its issuer is her origin.
    Certificate(String),
    /// None: who she is, and her household registration (a 12-digit code).
    Nothing { person: PersonRefDraft, hukou: String },
}

/// An arrival to register (流入登记).
#[derive(Debug, Clone)]
pub struct ArrivalInput {
    pub shown: Shown,
    /// Where she lives now.
    pub address: String,
    pub arrived_on: NaiveDate,
}

/// A departure to record (流出).
#[derive(Debug, Clone)]
pub struct DepartureInput {
    pub person: PersonRefDraft,
    pub left_on: NaiveDate,
    /// Where she said she was going.
    pub destination: String,
    /// Node code of the expected residence.
    pub to: String,
}

/// An inquiry to send (协查).
#[derive(Debug, Clone)]
pub struct InquiryInput {
    /// Node code of the node asked.
    pub to: String,
    pub person: PersonRefDraft,
    pub question: String,
    /// Pregnancy: answered within 15 days, else 30.
    pub urgent: bool,
}

/// An event to report to her origin (信息通报).
#[derive(Debug, Clone)]
pub struct EventInput {
    pub person: PersonRefDraft,
    pub event: EventKind,
    pub on: NaiveDate,
    pub note: Option<String>,
    /// Her origin's node code; by default the node this one sent her arrival notice to.
    pub to: Option<String>,
    /// The method of a contraception service.
    pub method: Option<ContraceptionMethod>,
    /// Id of an event report of hers sent from here that this one corrects.
    pub corrects: Option<String>,
}

/// Registers an arrival and notifies her origin; with a certificate, it is verified first (its
/// issuer asked on-line over `peers` for its current status) and its issuer is the origin.
pub async fn register_arrival(
    core: &Arc<NodeCore>,
    peers: Option<&PeerClient>,
    arrival: ArrivalInput,
    who: Actor,
    now: DateTime<Utc>,
) -> Result<Message, ServiceError> {
    let ArrivalInput { shown, address, arrived_on } = arrival;
    let checked = match shown {
        Shown::Certificate(token) => {
            Checked::Certificate(Box::new(verify_asking(core, peers, &token, &who, now).await?))
        }
        Shown::Nothing { person, hukou } => Checked::Nothing { person, hukou },
    };
    let core = core.clone();
    blocking(move || record_arrival(&core, checked, &address, arrived_on, &who, now)).await
}

/// What she showed at her arrival, a certificate with the verdict on it.
enum Checked {
    Certificate(Box<Verdict>),
    Nothing { person: PersonRefDraft, hukou: String },
}

/// Records an arrival: what she showed, where she lives now and when she came.
fn record_arrival(
    core: &NodeCore,
    shown: Checked,
    address: &str,
    arrived_on: NaiveDate,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Message, ServiceError> {
    let today = local_date(now);
    let mut errors = Vec::new();
    let address = kept(&mut errors, parse_text("address", address, PLACE_MAX_CHARS));
    errors.extend(check_past_date("arrived_on", arrived_on, today));
    let (person, origin, certificate) = match shown {
        Checked::Nothing { person, hukou } => {
            let person = kept_all(&mut errors, person.parse("person", today));
            let trust = core.trust.current();
            let origin = origin_candidates(&hukou).into_iter().find(|code| trust.node(code).is_some());
            let Some(origin) = origin else {
                errors.push(ErrorCode::OriginUnknown.at("hukou"));
                return Err(ServiceError::Invalid(errors));
            };
            (person, origin, None)
        }
        Checked::Certificate(verdict) => {
            let (person, certificate) = shown_certificate(*verdict, today, &core.assessment.calendar)?;
            (Some(person), certificate.iss.clone(), Some(certificate))
        }
    };
    let (person, address) = checked(errors, person.zip(address))?;
    let origin = active_peer(core, "token", &origin)?;
    let subject = core.audit_key.subject(person.id_number.as_str());
    let entry = who.entry(Action::RegisterArrival, Some(subject.clone()), None, now);
    let notice =
        ArrivalNotice { person, arrived_on, address, presentation_due: presentation_due(arrived_on), certificate };
    let out = Outgoing {
        to: origin,
        body: MessageBody::ArrivalNotice(notice),
        in_reply_to: None,
        due: None,
        subject: Some(subject),
    };
    send(core, out, entry, now, |_| Ok(()))
}

/// Who she is and what the residence concluded of the certificate she showed (`verdict`).
fn shown_certificate(
    verdict: Verdict,
    today: NaiveDate,
    calendar: &WorkCalendar,
) -> Result<(PersonRef, ShownCertificate), ServiceError> {
    let reported = matches!(
        verdict.status,
        VerificationStatus::Active
            | VerificationStatus::Expired
            | VerificationStatus::Superseded
            | VerificationStatus::Revoked
    );
    let (Some(genuine), true) = (verdict.genuine, reported) else {
        let reason = verdict.reasons.first().map_or("invalid", |r| r.code());
        return Err(ServiceError::Invalid(vec![ErrorCode::ArrivalCertificateInvalid { reason }.at("token")]));
    };
    let check_due = calendar.add_working_days(today, CHECK_WORKING_DAYS).date;
    let holder = genuine.claims.person;
    let person = PersonRef { id_number: holder.id_number, name: holder.name };
    let certificate = ShownCertificate {
        jti: genuine.claims.jti,
        iss: genuine.issuer.code,
        status: verdict.status,
        verified_on: today,
        check_due,
    };
    Ok((person, certificate))
}

/// Records a departure (流出) and tells the expected residence.
pub fn record_departure(
    core: &NodeCore,
    departure: DepartureInput,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Message, ServiceError> {
    let today = local_date(now);
    let mut errors = Vec::new();
    let person = kept_all(&mut errors, departure.person.parse("person", today));
    errors.extend(check_past_date("left_on", departure.left_on, today));
    let destination = kept(&mut errors, parse_text("destination", &departure.destination, PLACE_MAX_CHARS));
    let (person, destination) = checked(errors, person.zip(destination))?;
    let to = active_peer(core, "to", &departure.to)?;
    let body = MessageBody::DepartureNotice(DepartureNotice { person, left_on: departure.left_on, destination });
    let (out, entry) = about(core, to, body, None, who, Action::RecordDeparture, now);
    send(core, out, entry, now, |_| Ok(()))
}

/// Sends an inquiry (协查) with its deadline: 15 days when urgent, else 30.
pub fn send_inquiry(
    core: &NodeCore,
    inquiry: InquiryInput,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Message, ServiceError> {
    let today = local_date(now);
    let mut errors = Vec::new();
    let person = kept_all(&mut errors, inquiry.person.parse("person", today));
    let question = kept(&mut errors, parse_text("question", &inquiry.question, TEXT_MAX_CHARS));
    let (person, question) = checked(errors, person.zip(question))?;
    let to = active_peer(core, "to", &inquiry.to)?;
    let due = inquiry_due(today, inquiry.urgent);
    let body = MessageBody::Inquiry(Inquiry { person, question, urgent: inquiry.urgent });
    let (out, entry) = about(core, to, body, Some(due), who, Action::SendInquiry, now);
    send(core, out, entry, now, |_| Ok(()))
}

/// Reports an event to her origin; a birth is owed an answer within 30 days.
pub fn report_event(
    core: &NodeCore,
    event: EventInput,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Message, ServiceError> {
    let today = local_date(now);
    let mut errors = Vec::new();
    let person = kept_all(&mut errors, event.person.parse("person", today));
    errors.extend(check_past_date("on", event.on, today));
    let note = match &event.note {
        Some(note) => kept(&mut errors, parse_text("note", note, TEXT_MAX_CHARS)),
        None => None,
    };
    errors.extend(check_event_method(event.event, event.method).err());
    let person = checked(errors, person)?;
    let subject = core.audit_key.subject(person.id_number.as_str());
    let to = match (event.corrects.as_deref(), event.to) {
        // A correction goes where the report it corrects went.
        (Some(corrected), _) => {
            let earlier = core.store.read(|conn| messages::find(conn, corrected, Direction::Out))?;
            let hers = |m: &messages::MessageRow| {
                m.kind == MessageKind::EventReport.as_str() && m.subject.as_deref() == Some(subject.as_str())
            };
            match earlier.filter(hers) {
                Some(earlier) => earlier.peer,
                None => return Err(ServiceError::Invalid(vec![ErrorCode::EventCorrectsUnknown.at("corrects")])),
            }
        }
        (None, Some(to)) => to,
        (None, None) => {
            let origins = core
                .store
                .read(|conn| messages::peers_about(conn, &subject, MessageKind::ArrivalNotice, Direction::Out))?;
            let Some(origin) = origins.into_iter().next() else {
                return Err(ServiceError::Invalid(vec![ErrorCode::EventOriginUnknown.at("to")]));
            };
            origin
        }
    };
    let to = active_peer(core, "to", &to)?;
    let due = event_answer_due(event.event, today);
    let report =
        EventReport { person, event: event.event, on: event.on, note, method: event.method, corrects: event.corrects };
    let body = MessageBody::EventReport(report);
    let (out, entry) = about(core, to, body, due, who, Action::ReportEvent, now);
    send(core, out, entry, now, |_| Ok(()))
}

/// Answers a received inquiry or birth report; it then counts as answered on both sides.
pub fn reply(
    core: &NodeCore,
    id: &str,
    answer: &str,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Message, ServiceError> {
    let answer = parse_text("answer", answer, TEXT_MAX_CHARS).map_err(|e| ServiceError::Invalid(vec![e]))?;
    let asked = core.store.read(|conn| messages::find(conn, id, Direction::In))?;
    let Some(asked) = asked else {
        return refused(ErrorCode::NotFound { what: "message" });
    };
    if asked.due_on.is_none() {
        return refused(ErrorCode::NoAnswerOwed);
    }
    if asked.answered_at.is_some() {
        return refused(ErrorCode::Answered);
    }
    let out = Outgoing {
        to: asked.peer.clone(),
        body: MessageBody::Reply(Reply { answer }),
        in_reply_to: Some(asked.id.clone()),
        due: None,
        subject: asked.subject.clone(),
    };
    let entry = who.entry(Action::Reply, asked.subject.clone(), Some(id), now);
    let (asked_id, peer) = (asked.id, asked.peer);
    let at = now.naive_utc();
    send(core, out, entry, now, move |conn| {
        // Answered in the same transaction as the reply is queued: never twice.
        if mark_unanswered(conn, &asked_id, &peer, at)? { Ok(()) } else { refused(ErrorCode::Answered) }
    })
}

/// The outgoing message about the person `body` names, and the start of its audit entry.
fn about(
    core: &NodeCore,
    to: String,
    body: MessageBody,
    due: Option<NaiveDate>,
    who: &Actor,
    action: Action,
    now: DateTime<Utc>,
) -> (Outgoing, NewAudit) {
    let subject = body.person().map(|person| core.audit_key.subject(person.id_number.as_str()));
    let entry = who.entry(action, subject.clone(), None, now);
    (Outgoing { to, body, in_reply_to: None, due, subject }, entry)
}

/// Runs `then` and writes `out` with its audit entry in one transaction, then wakes the delivery.
fn send(
    core: &NodeCore,
    out: Outgoing,
    entry: NewAudit,
    now: DateTime<Utc>,
    then: impl FnOnce(&mut DbConn) -> Result<(), ServiceError> + Send + 'static,
) -> Result<Message, ServiceError> {
    let outbox = core.outbox.clone();
    let body = out.body.clone();
    let row = core.store.write(move |conn| {
        then(conn)?;
        let row = outbox.enqueue(conn, out, now)?;
        audit::append(conn, NewAudit { outcome: format!("sent {} {}", row.kind, row.id), ..entry })?;
        Ok::<_, ServiceError>(row)
    })?;
    core.outbox.wake();
    Ok(Message::new(row, body, local_date(now))?)
}

/// Marks a received message answered unless it already is; false if it was.
fn mark_unanswered(conn: &mut DbConn, id: &str, peer: &str, at: NaiveDateTime) -> Result<bool, ServiceError> {
    let current = messages::find(conn, id, Direction::In)?;
    if current.is_none_or(|m| m.answered_at.is_some()) {
        return Ok(false);
    }
    Ok(messages::mark_answered(conn, id, Direction::In, peer, at)?)
}

/// The checked values when no rule is broken; else every broken rule.
fn checked<T>(errors: Vec<FieldError>, values: Option<T>) -> Result<T, ServiceError> {
    match values {
        Some(values) if errors.is_empty() => Ok(values),
        _ => Err(ServiceError::Invalid(errors)),
    }
}

/// The value of a check, its error kept in `errors`.
fn kept<T>(errors: &mut Vec<FieldError>, checked: Result<T, FieldError>) -> Option<T> {
    checked.map_err(|e| errors.push(e)).ok()
}

/// The value of a check of several rules, their errors kept in `errors`.
fn kept_all<T>(errors: &mut Vec<FieldError>, checked: Result<T, Vec<FieldError>>) -> Option<T> {
    checked.map_err(|e| errors.extend(e)).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::role::Role;
    use crate::service::testing::{ORIGIN, RESIDENCE, actor, issue_sample, origin_and_residence};

    fn someone() -> PersonRefDraft {
        PersonRefDraft { id_number: "130728199003070026".into(), name: " 张丽 ".into() }
    }

    #[tokio::test]
    async fn an_arrival_with_a_certificate_tells_its_issuer_with_the_check_deadline() {
        let (_registry, origin, residence) = origin_and_residence();
        let residence = Arc::new(residence);
        let issued = issue_sample(&origin, 0);
        // After the issue: a `now` from the second before would find the certificate not yet valid.
        let now = Utc::now();
        let arrival = ArrivalInput {
            shown: Shown::Certificate(issued.qr),
            address: "  宝安区新安街道1号 ".into(),
            arrived_on: local_date(now),
        };
        let worker = actor(&residence, Role::Worker, Action::RegisterArrival);
        let sent = register_arrival(&residence, None, arrival, worker, now).await.unwrap();
        assert_eq!((sent.peer.as_str(), sent.direction, sent.seq), (ORIGIN.0, Direction::Out, 1));
        let MessageBody::ArrivalNotice(notice) = sent.body else { panic!("{:?}", sent.body) };
        assert_eq!((notice.person.name.as_str(), notice.address.as_str()), ("张丽", "宝安区新安街道1号"));
        let shown = notice.certificate.unwrap();
        assert_eq!((shown.iss.as_str(), shown.status), (ORIGIN.0, VerificationStatus::Active));
        assert!(shown.check_due > local_date(now));
    }

    #[test]
    fn bad_input_names_every_rule_and_sends_nothing() {
        let (_registry, _origin, residence) = origin_and_residence();
        let worker = actor(&residence, Role::Worker, Action::SendInquiry);
        let now = Utc::now();
        let inquiry = InquiryInput {
            to: ORIGIN.0.into(),
            person: PersonRefDraft { id_number: "130728199003070027".into(), name: "张丽".into() },
            question: " ".into(),
            urgent: false,
        };
        let refused = send_inquiry(&residence, inquiry, &worker, now).unwrap_err();
        let ServiceError::Invalid(errors) = refused else { panic!("{refused:?}") };
        let codes: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(codes, [("person.id_number", "id_number.checksum"), ("question", "text.length")]);

        let stranger =
            InquiryInput { to: "110105001000".into(), person: someone(), question: "?".into(), urgent: true };
        let refused = send_inquiry(&residence, stranger, &worker, now).unwrap_err();
        assert!(matches!(&refused, ServiceError::Invalid(errors) if errors[0].code == "exchange.unknown_peer"));
        assert_eq!(residence.store.read(messages::count_unreceipted).unwrap(), 0);
    }

    #[test]
    fn a_received_inquiry_is_answered_once() {
        let (_registry, origin, residence) = origin_and_residence();
        let now = Utc::now();
        let asked =
            InquiryInput { to: RESIDENCE.0.into(), person: someone(), question: "婚姻状况?".into(), urgent: true };
        let sent = send_inquiry(&origin, asked, &actor(&origin, Role::Officer, Action::SendInquiry), now).unwrap();
        assert_eq!(sent.due_on, Some(inquiry_due(local_date(now), true)));
        // What the inbox would store at the residence, without the network.
        let received = messages::MessageRow {
            direction: Direction::In.as_str().into(),
            peer: ORIGIN.0.into(),
            receipt: Some("receipt".into()),
            next_attempt_at: None,
            ..origin.store.read(|conn| messages::find(conn, &sent.id, Direction::Out)).unwrap().unwrap()
        };
        residence.store.write(move |conn| messages::insert(conn, &received)).unwrap();

        let worker = actor(&residence, Role::Worker, Action::Reply);
        let answered = reply(&residence, &sent.id, "已婚，育一子", &worker, now).unwrap();
        assert_eq!(answered.in_reply_to.as_deref(), Some(sent.id.as_str()));
        let again = reply(&residence, &sent.id, "已婚，育一子", &worker, now).unwrap_err();
        assert!(matches!(again, ServiceError::Refused(ErrorCode::Answered)), "{again:?}");
        let missing = reply(&residence, "no-such-message", "?", &worker, now).unwrap_err();
        assert!(matches!(missing, ServiceError::Refused(ErrorCode::NotFound { what: "message" })));
    }
}
