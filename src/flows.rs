//! The exchange as users drive it: arrivals, departures, inquiries, replies and event reports, each
//! written in one transaction with its outgoing message (the transactional outbox) and its audit entry.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::{Action, Audit};
use crate::domain::calendar::{WorkCalendar, local_date};
use crate::domain::directory::NodeStatus;
use crate::domain::error::FieldError;
use crate::domain::message::{
    CHECK_WORKING_DAYS, EventKind, MessageKind, MessageState, PersonRef, check_not_future, check_text,
    event_answer_due, inquiry_due, message_state, origin_candidates, presentation_due,
};
use crate::exchange::outbox::Outgoing;
use crate::node::{
    Conflict, Node, NodeError, Recorded, Verification, check_certificate, judge_foreign, parse_id_number,
};
use crate::seal::chain::subject_key;
use crate::store::DbConn;
use crate::store::audit::{self, NewAudit};
use crate::store::messages::{self, IN, MessageFilter, MessageRow, OUT};

/// `POST /api/v1/arrivals`: a person registered as arrived (流入登记), with or without a certificate.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrivalRequest {
    /// The certificate she showed (QR text or JWS); its issuer is told.
    #[serde(default)]
    pub token: Option<String>,
    /// Who she is when she showed none; her origin is found from `hukou`.
    #[serde(default)]
    pub person: Option<PersonRef>,
    /// 12-digit code of her household registration (without a certificate).
    #[serde(default)]
    pub hukou: Option<String>,
    /// Where she lives now.
    pub address: String,
    #[schema(value_type = String, format = Date)]
    pub arrived_on: NaiveDate,
}

/// `POST /api/v1/departures`: the origin records that a person left (流出), for the expected residence.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartureRequest {
    pub person: PersonRef,
    #[schema(value_type = String, format = Date)]
    pub left_on: NaiveDate,
    /// Where she said she was going.
    pub destination: String,
    /// Node code of the expected residence.
    pub to: String,
}

/// `POST /api/v1/inquiries`: ask another node to confirm facts (协查).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InquiryRequest {
    /// Node code of the node asked.
    pub to: String,
    pub person: PersonRef,
    pub question: String,
    /// Pregnancy: to be answered within 15 days, else 30.
    pub urgent: bool,
}

/// `POST /api/v1/messages/{id}/reply`: answer an inquiry or a birth report.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    pub answer: String,
}

/// `POST /api/v1/events`: report a birth, marriage, divorce or contraception service to the origin.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    pub person: PersonRef,
    pub event: EventKind,
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
    #[serde(default)]
    pub note: Option<String>,
    /// The origin's node code; by default the node this one sent her arrival notice to.
    #[serde(default)]
    pub to: Option<String>,
}

/// A message put in the outbox.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sent {
    pub id: String,
    pub to: String,
    pub kind: MessageKind,
    pub seq: i64,
    /// Last day for the answer owed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    /// Deadlines of an arrival: presentation (30 days) and check (5 working days).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub deadlines: Option<Value>,
}

/// A message as both sides list it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: String,
    /// `out` (sent) or `in` (received).
    pub direction: String,
    /// The other node.
    pub peer: String,
    pub seq: i64,
    pub kind: String,
    pub state: MessageState,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipted_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Delivery attempts that failed so far (sent messages).
    pub attempts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The signed message.
    pub token: String,
    /// The signed receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// The message content.
    #[schema(value_type = Object)]
    pub body: Value,
}

/// An electronic certificate lookup on its way to the origin.
pub struct LookupPlan {
    who: Audit,
    id_number: String,
    /// The origin's directory entry.
    pub origin: crate::seal::directory::NodeEntry,
    /// The signed request.
    pub request: String,
    jti: String,
}

/// A certificate the origin sent, as this node verifies it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RemoteCertificate {
    pub token: String,
    pub qr: String,
    pub verification: Verification,
}

/// What the origin answered to an electronic certificate lookup (电子证明).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RemoteLookup {
    /// The origin node asked.
    pub origin: String,
    /// Her certificates there, newest version of each; empty when the origin has none.
    pub certificates: Vec<RemoteCertificate>,
}

/// `GET /api/v1/messages` filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    /// `in` or `out`.
    pub direction: Option<String>,
    /// A message kind, e.g. `inquiry`.
    pub kind: Option<String>,
    /// `pending`, `receipted`, `answered` or `overdue`.
    pub state: Option<MessageState>,
    /// The other node's code.
    pub peer: Option<String>,
    /// Page: messages older than this id.
    pub before: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

fn invalid(field: &str, code: &'static str, zh: &str, en: &str) -> NodeError {
    NodeError::Invalid(vec![FieldError::new(field, code, zh, en)])
}

fn refuse(errors: Vec<FieldError>) -> Result<(), NodeError> {
    if errors.is_empty() { Ok(()) } else { Err(NodeError::Invalid(errors)) }
}

impl Node {
    /// The active directory node `code`, which must not be this node.
    fn peer(&self, field: &str, code: &str) -> Result<String, NodeError> {
        let trust = self.trust();
        match trust.node(code) {
            Some(entry) if entry.status == NodeStatus::Active && entry.code != self.code() => Ok(entry.code.clone()),
            _ => Err(invalid(
                field,
                "exchange.unknown_peer",
                "信任名录中没有该节点，或其已停用",
                "no active node with this code in the trust directory",
            )),
        }
    }

    /// Writes `out` (and the audit entry) in one transaction, then wakes the delivery worker.
    fn send(
        &self,
        out: Outgoing,
        entry: NewAudit,
        now: DateTime<Utc>,
        then: impl FnOnce(&mut DbConn) -> Result<(), NodeError> + Send + 'static,
    ) -> Result<MessageRow, NodeError> {
        let outbox = self.outbox();
        let sent = self.store().write(move |conn| {
            then(conn)?;
            let row = outbox.enqueue(conn, out, now)?;
            audit::append(conn, NewAudit { outcome: format!("sent {} {}", row.kind, row.id), ..entry })?;
            Ok::<_, NodeError>(row)
        })?;
        self.outbox_wake().notify_one();
        Ok(sent)
    }

    /// Registers an arrival (流入登记) and notifies her origin; with a certificate, it is verified
    /// first and its issuer is the origin.
    pub fn register_arrival(
        &self,
        request: ArrivalRequest,
        who: &Audit,
        now: DateTime<Utc>,
    ) -> Result<Sent, NodeError> {
        let today = local_date(now);
        let mut errors: Vec<FieldError> = check_text("address", &request.address, 200).into_iter().collect();
        errors.extend(check_not_future("arrived_on", request.arrived_on, today));
        let (person, origin, certificate) = match (&request.token, &request.person) {
            (Some(token), _) => {
                let verification = self.verify(token, who, now)?;
                let (Some(payload), Some(issuer)) = (&verification.certificate, &verification.issuer) else {
                    let reason = verification.reasons.first().map_or("invalid", |r| r.code);
                    return Err(invalid(
                        "token",
                        "arrival.certificate_invalid",
                        "所出示的婚育证明无法验证，请不带证明登记",
                        &format!("the certificate shown does not verify ({reason}); register without it"),
                    ));
                };
                let person = PersonRef {
                    id_number: payload["person"]["id_number"].as_str().unwrap_or_default().into(),
                    name: payload["person"]["name"].as_str().unwrap_or_default().into(),
                };
                let check_due = WorkCalendar::shipped()
                    .map_err(|e| NodeError::Contract(e.to_string()))?
                    .add_working_days(today, CHECK_WORKING_DAYS)
                    .date;
                let certificate = json!({
                    "jti": payload["jti"], "iss": issuer.code, "status": verification.status.as_str(),
                    "verified_on": today, "check_due": check_due,
                });
                (person, issuer.code.clone(), Some(certificate))
            }
            (None, Some(person)) => {
                errors.extend(person.check("person", today));
                let hukou = request.hukou.clone().unwrap_or_default();
                let trust = self.trust();
                let origin = origin_candidates(&hukou).into_iter().find(|code| trust.node(code).is_some());
                let Some(origin) = origin else {
                    errors.push(FieldError::new(
                        "hukou",
                        "arrival.origin_unknown",
                        "无法从户籍地代码确定户籍地节点",
                        "no node of the trust directory keeps this household registration",
                    ));
                    return Err(NodeError::Invalid(errors));
                };
                (person.clone(), origin, None)
            }
            (None, None) => {
                return Err(invalid(
                    "token",
                    "arrival.who",
                    "请出示婚育证明，或填写人员信息和户籍地",
                    "give the certificate shown, or the person and her household registration",
                ));
            }
        };
        refuse(errors)?;
        let origin = self.peer("token", &origin)?;
        let mut body = json!({
            "person": person, "arrived_on": request.arrived_on, "address": request.address.trim(),
            "presentation_due": presentation_due(request.arrived_on),
        });
        if let Some(certificate) = certificate {
            body["certificate"] = certificate;
        }
        let deadlines = json!({
            "presentation_due": body["presentation_due"],
            "check_due": body["certificate"]["check_due"],
        });
        let subject = subject_key(self.audit_key(), &person.id_number);
        let out = Outgoing {
            to: origin,
            kind: MessageKind::ArrivalNotice,
            body,
            in_reply_to: None,
            due: None,
            subject: Some(subject),
        };
        let entry = self.audit_entry(who, Action::RegisterArrival, Some(&person.id_number), None, now);
        let row = self.send(out, entry, now, |_| Ok(()))?;
        Ok(sent(row, Some(deadlines)))
    }

    /// Records a departure (流出) and tells the expected residence.
    pub fn record_departure(
        &self,
        request: DepartureRequest,
        who: &Audit,
        now: DateTime<Utc>,
    ) -> Result<Sent, NodeError> {
        let today = local_date(now);
        let mut errors = request.person.check("person", today);
        errors.extend(check_not_future("left_on", request.left_on, today));
        errors.extend(check_text("destination", &request.destination, 200));
        refuse(errors)?;
        let to = self.peer("to", &request.to)?;
        let body =
            json!({ "person": request.person, "left_on": request.left_on, "destination": request.destination.trim() });
        let out = self.about(&request.person, to, MessageKind::DepartureNotice, body, None);
        let entry = self.audit_entry(who, Action::RecordDeparture, Some(&request.person.id_number), None, now);
        Ok(sent(self.send(out, entry, now, |_| Ok(()))?, None))
    }

    /// Sends an inquiry (协查) with its deadline: 15 days when urgent, else 30.
    pub fn send_inquiry(&self, request: InquiryRequest, who: &Audit, now: DateTime<Utc>) -> Result<Sent, NodeError> {
        let today = local_date(now);
        let mut errors = request.person.check("person", today);
        errors.extend(check_text("question", &request.question, 2000));
        refuse(errors)?;
        let to = self.peer("to", &request.to)?;
        let body = json!({ "person": request.person, "question": request.question.trim(), "urgent": request.urgent });
        let out = self.about(&request.person, to, MessageKind::Inquiry, body, Some(inquiry_due(today, request.urgent)));
        let entry = self.audit_entry(who, Action::SendInquiry, Some(&request.person.id_number), None, now);
        Ok(sent(self.send(out, entry, now, |_| Ok(()))?, None))
    }

    /// Reports an event to the origin; a birth is owed an answer within 30 days.
    pub fn report_event(&self, request: EventRequest, who: &Audit, now: DateTime<Utc>) -> Result<Sent, NodeError> {
        let today = local_date(now);
        let mut errors = request.person.check("person", today);
        errors.extend(check_not_future("on", request.on, today));
        if let Some(note) = &request.note {
            errors.extend(check_text("note", note, 2000));
        }
        refuse(errors)?;
        let subject = subject_key(self.audit_key(), &request.person.id_number);
        let to = match &request.to {
            Some(to) => to.clone(),
            None => {
                let subject = subject.clone();
                let origins = self
                    .store()
                    .read(|conn| messages::peers_about(conn, &subject, MessageKind::ArrivalNotice.as_str(), OUT))?;
                origins.into_iter().next().ok_or_else(|| {
                    invalid(
                        "to",
                        "event.origin_unknown",
                        "未登记该人员流入，请指定户籍地节点",
                        "no arrival of hers was registered here; name her origin node",
                    )
                })?
            }
        };
        let to = self.peer("to", &to)?;
        let mut body = json!({ "person": request.person, "event": request.event, "on": request.on });
        if let Some(note) = &request.note {
            body["note"] = json!(note.trim());
        }
        let out =
            self.about(&request.person, to, MessageKind::EventReport, body, event_answer_due(request.event, today));
        let entry = self.audit_entry(who, Action::ReportEvent, Some(&request.person.id_number), None, now);
        Ok(sent(self.send(out, entry, now, |_| Ok(()))?, None))
    }

    /// Answers a received inquiry or birth report; it then counts as answered on both sides.
    pub fn reply(&self, id: &str, request: ReplyRequest, who: &Audit, now: DateTime<Utc>) -> Result<Sent, NodeError> {
        refuse(check_text("answer", &request.answer, 2000).into_iter().collect())?;
        let asked = self.store().read(|conn| messages::find(conn, id, IN))?.ok_or(NodeError::NotFound("message"))?;
        if asked.due_on.is_none() {
            return Err(conflict(
                "message.no_answer_owed",
                "该记录无需答复",
                "this message is not owed an answer",
                None,
            ));
        }
        if asked.answered_at.is_some() {
            return Err(conflict("message.answered", "该记录已答复", "this message was already answered", None));
        }
        let out = Outgoing {
            to: asked.peer.clone(),
            kind: MessageKind::Reply,
            body: json!({ "answer": request.answer.trim() }),
            in_reply_to: Some(asked.id.clone()),
            due: None,
            subject: asked.subject.clone(),
        };
        let entry =
            NewAudit { subject: asked.subject.clone(), ..self.audit_entry(who, Action::Reply, None, Some(id), now) };
        let (asked_id, peer) = (asked.id, asked.peer);
        let at = now.naive_utc();
        let row = self.send(out, entry, now, move |conn| {
            // Answered in the same transaction as the reply is queued: never twice.
            if !mark_unanswered(conn, &asked_id, &peer, at)? {
                return Err(conflict("message.answered", "该记录已答复", "this message was already answered", None));
            }
            Ok(())
        })?;
        Ok(sent(row, None))
    }

    /// Messages sent and received, newest first, with their state on `now`'s day.
    pub fn messages(
        &self,
        query: &MessageQuery,
        who: &Audit,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageView>, NodeError> {
        if query.direction.as_deref().is_some_and(|d| d != IN && d != OUT) {
            return Err(invalid(
                "direction",
                "request.query",
                "direction 须为 in 或 out",
                "direction must be in or out",
            ));
        }
        if query.kind.as_deref().is_some_and(|k| MessageKind::parse(k).is_none()) {
            return Err(invalid("kind", "request.query", "未知的记录类型", "unknown message kind"));
        }
        let filter = MessageFilter {
            direction: query.direction.clone(),
            kind: query.kind.clone(),
            peer: query.peer.clone(),
            before: query.before.clone(),
            state: query.state.map(|state| (state, local_date(now))),
            limit: query.limit,
        };
        let entry = self.audit_entry(who, Action::ListMessages, None, None, now);
        let rows = self.read_audited(entry, |conn| {
            let rows = messages::list(conn, &filter)?;
            let outcome = Recorded::outcome(format!("{} listed", rows.len()));
            Ok((rows, outcome))
        })?;
        let today = local_date(now);
        Ok(rows.into_iter().map(|row| view(row, today)).collect())
    }

    /// Prepares an electronic certificate lookup at `origin`: checks the input and signs the request.
    pub fn plan_lookup(
        &self,
        id_number: &str,
        origin: &str,
        who: Audit,
        now: DateTime<Utc>,
    ) -> Result<LookupPlan, NodeError> {
        parse_id_number(id_number, now)?;
        let origin = self.peer("origin", origin)?;
        let origin = self.trust().node(&origin).cloned().ok_or(NodeError::NotFound("node"))?;
        let (request, jti) = crate::exchange::lookup::request(self, &origin.code, id_number, now);
        Ok(LookupPlan { who, id_number: id_number.into(), origin, request, jti })
    }

    /// Checks the origin's signed answer, verifies each certificate in it as this node would any
    /// other, and records the lookup.
    pub fn settle_lookup(&self, plan: LookupPlan, answer: &str, now: DateTime<Utc>) -> Result<RemoteLookup, NodeError> {
        let peer = plan.origin.code.clone();
        let copies = crate::exchange::lookup::read_answer(self, &peer, &plan.jti, answer)
            .map_err(|message| NodeError::PeerUnavailable { peer: peer.clone(), message })?;
        let trust = self.trust();
        let judged: Vec<_> = copies
            .into_iter()
            .map(|copy| {
                let genuine = check_certificate(&copy.token, &trust, self.contract());
                let listed = genuine
                    .as_ref()
                    .map_or_else(|_| Vec::new(), |g| self.status_cache().statuses(&g.claims.iss, &g.claims.jti));
                (copy, genuine, listed)
            })
            .collect();
        let entry = self.audit_entry(&plan.who, Action::Lookup, Some(&plan.id_number), None, now);
        self.read_audited(entry, |conn| {
            let mut certificates = Vec::new();
            for (copy, genuine, listed) in judged {
                let verification = match genuine {
                    Ok(genuine) => judge_foreign(conn, genuine, listed, now)?,
                    Err(reason) => Verification::refused(reason),
                };
                certificates.push(RemoteCertificate { token: copy.token, qr: copy.qr, verification });
            }
            let outcome = Recorded::outcome(format!("{} found at {peer}", certificates.len()));
            Ok((RemoteLookup { origin: peer, certificates }, outcome))
        })
    }

    fn about(
        &self,
        person: &PersonRef,
        to: String,
        kind: MessageKind,
        body: Value,
        due: Option<NaiveDate>,
    ) -> Outgoing {
        let subject = Some(subject_key(self.audit_key(), &person.id_number));
        Outgoing { to, kind, body, in_reply_to: None, due, subject }
    }
}

/// Marks a received message answered unless it already is; false if it was.
fn mark_unanswered(conn: &mut DbConn, id: &str, peer: &str, at: NaiveDateTime) -> Result<bool, NodeError> {
    let current = messages::find(conn, id, IN)?;
    if current.is_none_or(|m| m.answered_at.is_some()) {
        return Ok(false);
    }
    Ok(messages::mark_answered(conn, id, IN, peer, at)?)
}

fn conflict(code: &'static str, zh: &'static str, en: &'static str, certificate_id: Option<String>) -> NodeError {
    NodeError::Conflict(Conflict { code, message_zh: zh, message_en: en, certificate_id })
}

fn sent(row: MessageRow, deadlines: Option<Value>) -> Sent {
    Sent {
        kind: MessageKind::parse(&row.kind).unwrap_or(MessageKind::ArrivalNotice),
        id: row.id,
        to: row.peer,
        seq: row.seq,
        due_on: row.due_on,
        deadlines,
    }
}

fn view(row: MessageRow, today: NaiveDate) -> MessageView {
    let body = row
        .token
        .split('.')
        .nth(1)
        .and_then(crate::seal::b64url_decode)
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .map_or(Value::Null, |mut payload| payload["body"].take());
    MessageView {
        state: message_state(row.receipt.is_some(), row.due_on, row.answered_at.is_some(), today),
        id: row.id,
        direction: row.direction,
        peer: row.peer,
        seq: row.seq,
        kind: row.kind,
        created_at: row.created_at.and_utc(),
        receipted_at: row.receipted_at.map(|t| t.and_utc()),
        due_on: row.due_on,
        answered_at: row.answered_at.map(|t| t.and_utc()),
        in_reply_to: row.in_reply_to,
        attempts: row.attempts,
        last_error: row.last_error,
        token: row.token,
        receipt: row.receipt,
        body,
    }
}
