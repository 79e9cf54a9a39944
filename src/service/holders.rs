//! The woman's own view of her record (PIPL arts. 44–46, 本人查阅、更正): with her ID number and the
//! holder code printed on her paper certificate she reads her certificates and every access to
//! them that this node's audit log holds, and files correction requests that an officer answers.
//!
//! The code is kept only as an argon2id hash; wrong codes lock it as wrong passwords lock an
//! account, and every try, right or wrong, is an audit entry about her.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::certificates::{Version, current_of_person};
use super::{ServiceError, parse_id_number, refused};
use crate::domain::access::Action;
use crate::domain::account::Attempts;
use crate::domain::calendar::local_date;
use crate::domain::error::{ErrorCode, FieldError};
use crate::domain::holder::{HolderCode, OPEN_CORRECTIONS_MAX, correction_due};
use crate::domain::id_number::IdNumber;
use crate::domain::message::{TEXT_MAX_CHARS, parse_text};
use crate::node::{Actor, NodeCore};
use crate::seal::password;
use crate::store::StoreError;
use crate::store::audit::{self, AuditFilter, AuditRow, NewAudit};
use crate::store::certificates as certs;
use crate::store::holders::{self, CorrectionRow, NewCorrection};

/// Audit name of her reading her record.
pub const VIEW: &str = "holder_view";
/// Audit name of her filing a correction request.
pub const REQUEST_CORRECTION: &str = "request_correction";
/// The audit log's name for her as an actor and a role: she holds no account.
pub const HOLDER: &str = "holder";
/// Accesses shown to her, the newest first.
pub const ACCESSES_SHOWN: i64 = 200;

/// What she sees of her record.
#[derive(Debug, Clone)]
pub struct HolderRecord {
    /// The newest version of each of her certificates.
    pub certificates: Vec<Version>,
    /// Accesses about her in this node's audit log, newest first (her own reading included).
    pub accesses: Vec<AuditRow>,
    /// Her correction requests, newest first.
    pub corrections: Vec<CorrectionRow>,
}

/// A fresh holder code for the woman of certificate `id`, for her paper certificate: it replaces
/// any earlier one, and is kept only as a hash.
pub fn new_code(core: &NodeCore, id: &str, who: &Actor, now: DateTime<Utc>) -> Result<HolderCode, ServiceError> {
    let Some(certificate) = core.store.read(|conn| certs::find_certificate(conn, id))? else {
        return refused(ErrorCode::NotFound { what: "certificate" });
    };
    let mut random = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random)
        .map_err(|_| ServiceError::Unavailable("the system random source failed".into()))?;
    let code = HolderCode::from_random(random);
    let hash = password::hash(code.as_str())
        .ok_or_else(|| ServiceError::Unavailable("the system random source failed".into()))?;
    let subject = core.audit_key.subject(&certificate.id_number);
    let entry = who.entry(Action::PrintCertificate, Some(subject), Some(id), now);
    let at = now.naive_utc();
    core.store.write(move |conn| {
        holders::set_code(conn, &certificate.id_number, &hash, at)?;
        audit::append(conn, NewAudit { outcome: "holder code issued".into(), ..entry })
    })?;
    Ok(code)
}

/// Her ID number and code as typed, checked for form: a typing error is told at once and costs
/// no try.
fn typed(id_number: &str, code: &str, now: DateTime<Utc>) -> Result<(IdNumber, HolderCode), ServiceError> {
    let id = parse_id_number(id_number.trim(), now);
    let code = HolderCode::parse(code).ok_or_else(|| ErrorCode::HolderCodeFormat.at("holder_code"));
    match (id, code) {
        (Ok(id), Ok(code)) => Ok((id, code)),
        (id, code) => {
            let mut broken: Vec<FieldError> = Vec::new();
            if let Err(ServiceError::Invalid(errors)) = id {
                broken.extend(errors);
            }
            broken.extend(code.err());
            Err(ServiceError::Invalid(broken))
        }
    }
}

/// The audit entry of her `action` in request `request_id` at `now`.
fn entry(core: &NodeCore, action: &'static str, id: &IdNumber, request_id: &str, now: NaiveDateTime) -> NewAudit {
    NewAudit {
        at: now,
        request_id: request_id.to_owned(),
        actor: HOLDER.into(),
        role: HOLDER.into(),
        action,
        subject: Some(core.audit_key.subject(id.as_str())),
        object: None,
        purpose: "本人查阅 the holder's own access".into(),
        outcome: String::new(),
    }
}

/// Lets her in if `code` is her holder code: else the refusal, recorded, and the wrong code
/// counted. A locked code is refused without being checked; an ID number without a code costs
/// the same work and gets the same answer as a wrong code.
fn admit(
    core: &NodeCore,
    id: &IdNumber,
    code: &HolderCode,
    recorded: &NewAudit,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let refuse = |refusal: ErrorCode| -> Result<(), ServiceError> {
        core.store.audit(vec![NewAudit { outcome: format!("refused: {}", refusal.code()), ..recorded.clone() }])?;
        refused(refusal)
    };
    let Some(stored) = core.store.read(|conn| holders::code_of(conn, id.as_str()))? else {
        password::spend_a_check(code.as_str());
        return refuse(ErrorCode::HolderRefused);
    };
    if let Some(seconds) = stored.attempts.locked_for(now) {
        return refuse(ErrorCode::HolderLocked { retry_after_seconds: seconds.unsigned_abs() });
    }
    if password::matches(code.as_str(), &stored.code_hash) {
        if stored.attempts.failures != 0 {
            let id = id.as_str().to_owned();
            let cleared = Attempts { failures: 0, locked_until: None };
            core.store.write(move |conn| holders::set_attempts(conn, &id, cleared))?;
        }
        return Ok(());
    }
    let (id, entry) = (id.as_str().to_owned(), recorded.clone());
    let refusal = core.store.write(move |conn| {
        let counted = holders::count_failure(conn, &id)?;
        let attempts = counted.settled(now);
        if attempts != counted {
            holders::set_attempts(conn, &id, attempts)?;
        }
        let refusal = match attempts.locked_for(now) {
            Some(seconds) => ErrorCode::HolderLocked { retry_after_seconds: seconds.unsigned_abs() },
            None => ErrorCode::HolderRefused,
        };
        audit::append(conn, NewAudit { outcome: format!("refused: {}", refusal.code()), ..entry })?;
        Ok::<_, StoreError>(refusal)
    })?;
    refused(refusal)
}

/// Her record, if `code` is her holder code; the reading is an audit entry about her, shown to her
/// with the others.
pub fn open(
    core: &NodeCore,
    id_number: &str,
    code: &str,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<HolderRecord, ServiceError> {
    let (id, code) = typed(id_number, code, now)?;
    let recorded = entry(core, VIEW, &id, request_id, now.naive_utc());
    admit(core, &id, &code, &recorded, now.naive_utc())?;
    core.store.audit(vec![NewAudit { outcome: "granted".into(), ..recorded.clone() }])?;
    record(core, &id, recorded.subject.unwrap_or_default(), now)
}

/// What she sees: read after her access is recorded, so that it is among them.
fn record(core: &NodeCore, id: &IdNumber, subject: String, now: DateTime<Utc>) -> Result<HolderRecord, ServiceError> {
    let today = local_date(now);
    core.store.read(|conn| {
        let certificates = current_of_person(conn, id.as_str(), today)?;
        let filter = AuditFilter {
            subject: Some(subject),
            limit: Some(ACCESSES_SHOWN),
            newest_first: true,
            ..AuditFilter::default()
        };
        let accesses = audit::list(conn, &filter)?;
        let corrections = holders::corrections_of(conn, id.as_str())?;
        Ok(HolderRecord { certificates, accesses, corrections })
    })
}

/// Files her request to correct her record, if `code` is her holder code; her record after it.
pub fn request_correction(
    core: &NodeCore,
    id_number: &str,
    code: &str,
    request: &str,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<HolderRecord, ServiceError> {
    let (id, code) = typed(id_number, code, now)?;
    let request = parse_text("request", request, TEXT_MAX_CHARS).map_err(|e| ServiceError::Invalid(vec![e]))?;
    let recorded = entry(core, REQUEST_CORRECTION, &id, request_id, now.naive_utc());
    admit(core, &id, &code, &recorded, now.naive_utc())?;
    let subject = recorded.subject.clone().unwrap_or_default();
    let filed = NewCorrection {
        id: uuid::Uuid::now_v7().to_string(),
        id_number: id.as_str().to_owned(),
        subject: subject.clone(),
        request,
        filed_at: now.naive_utc(),
        due_on: correction_due(local_date(now)),
    };
    let entry = recorded.clone();
    let result = core.store.write(move |conn| {
        if holders::open_corrections_of(conn, &filed.id_number)? >= OPEN_CORRECTIONS_MAX {
            return refused(ErrorCode::CorrectionsOpen { max: OPEN_CORRECTIONS_MAX });
        }
        holders::file_correction(conn, &filed)?;
        audit::append(conn, NewAudit { object: Some(filed.id.clone()), outcome: "filed".into(), ..entry })?;
        Ok::<_, ServiceError>(())
    });
    if let Err(ServiceError::Refused(refusal)) = &result {
        core.store.audit(vec![NewAudit { outcome: format!("refused: {}", refusal.code()), ..recorded }])?;
    }
    result?;
    record(core, &id, subject, now)
}

/// The correction request `id`, with her name, as an officer reads it to answer it (audited).
pub fn correction(
    core: &NodeCore,
    id: &str,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<(CorrectionRow, String), ServiceError> {
    let found = core.store.read(|conn| holders::correction(conn, id))?;
    let Some((row, name)) = found else { return refused(ErrorCode::NotFound { what: "correction request" }) };
    let entry = who.entry(Action::AnswerCorrection, Some(row.subject.clone()), Some(id), now);
    core.store.audit(vec![NewAudit { outcome: "read".into(), ..entry }])?;
    Ok((row, name))
}

/// Answers her correction request `id` as `who`; she reads the answer in her view.
pub fn answer_correction(
    core: &NodeCore,
    id: &str,
    answer: &str,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let answer = parse_text("answer", answer, TEXT_MAX_CHARS).map_err(|e| ServiceError::Invalid(vec![e]))?;
    let found = core.store.read(|conn| holders::correction(conn, id))?;
    let Some((row, _)) = found else { return refused(ErrorCode::NotFound { what: "correction request" }) };
    let entry = who.entry(Action::AnswerCorrection, Some(row.subject), Some(id), now);
    let (id, by, at) = (id.to_owned(), who.caller.key_id.clone(), now.naive_utc());
    core.store.write(move |conn| {
        if !holders::answer_correction(conn, &id, &answer, &by, at)? {
            return refused(ErrorCode::CorrectionAnswered);
        }
        audit::append(conn, NewAudit { outcome: "answered".into(), ..entry })?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::role::Role;
    use crate::service::testing::{ORIGIN, actor, issue_sample, lone_core};

    #[test]
    fn her_code_opens_her_record_with_its_accesses_and_wrong_codes_lock_it() {
        let (_registry, core) = lone_core(ORIGIN);
        let issued = issue_sample(&core, 0);
        let officer = actor(&core, Role::Officer, Action::PrintCertificate);
        let id_number =
            core.store.read(|conn| certs::find_certificate(conn, &issued.certificate_id)).unwrap().unwrap().id_number;
        let now = Utc::now();
        let code = new_code(&core, &issued.certificate_id, &officer, now).unwrap();

        let record = open(&core, &id_number, &code.printed().to_lowercase(), "r1", now).unwrap();
        assert_eq!(record.certificates.len(), 1);
        let actions: Vec<&str> = record.accesses.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, [VIEW, "print_certificate", "issue_certificate"]);

        let typo = open(&core, "123", "short", "r2", now).unwrap_err();
        assert!(matches!(typo, ServiceError::Invalid(ref e) if e.len() == 2), "{typo}");

        let wrong = HolderCode::from_random([7; 8]).printed();
        for _ in 0..4 {
            let refused = open(&core, &id_number, &wrong, "r3", now).unwrap_err();
            assert!(matches!(refused, ServiceError::Refused(ErrorCode::HolderRefused)), "{refused}");
        }
        let locked = open(&core, &id_number, &wrong, "r4", now).unwrap_err();
        assert!(matches!(locked, ServiceError::Refused(ErrorCode::HolderLocked { retry_after_seconds: 900 })));
        let still = open(&core, &id_number, &code.printed(), "r5", now).unwrap_err();
        assert!(matches!(still, ServiceError::Refused(ErrorCode::HolderLocked { .. })), "{still}");

        // A reprint replaces the code: the old one no longer opens anything.
        let later = now + chrono::Duration::minutes(16);
        let fresh = new_code(&core, &issued.certificate_id, &officer, later).unwrap();
        assert!(open(&core, &id_number, &code.printed(), "r6", later).is_err());
        let filed = request_correction(&core, &id_number, &fresh.printed(), "子女数应为1", "r7", later).unwrap();
        assert_eq!(filed.corrections.len(), 1);
        assert_eq!(filed.accesses[0].action, REQUEST_CORRECTION);

        // At most three wait for an answer at once; the fourth is refused, and recorded.
        for n in 2..=3 {
            let more = request_correction(&core, &id_number, &fresh.printed(), &format!("第{n}项"), "r7", later);
            assert_eq!(more.unwrap().corrections.len(), n);
        }
        let fourth = request_correction(&core, &id_number, &fresh.printed(), "第4项", "r7", later).unwrap_err();
        assert!(matches!(fourth, ServiceError::Refused(ErrorCode::CorrectionsOpen { max: 3 })), "{fourth}");
        let answering = actor(&core, Role::Officer, Action::AnswerCorrection);
        let id = filed.corrections[0].id.clone();
        answer_correction(&core, &id, "已核实并换发", &answering, later).unwrap();
        let twice = answer_correction(&core, &id, "再答", &answering, later).unwrap_err();
        assert!(matches!(twice, ServiceError::Refused(ErrorCode::CorrectionAnswered)), "{twice}");
        let seen = open(&core, &id_number, &fresh.printed(), "r8", later).unwrap();
        let answered: Vec<Option<&str>> = seen.corrections.iter().map(|c| c.answer.as_deref()).collect();
        assert_eq!(answered, [None, None, Some("已核实并换发")], "newest first");
        // One answered, one more may wait.
        assert!(request_correction(&core, &id_number, &fresh.printed(), "第4项", "r9", later).is_ok());
        let outcomes: Vec<String> =
            seen.accesses.iter().filter(|a| a.action == REQUEST_CORRECTION).map(|a| a.outcome.clone()).collect();
        assert_eq!(outcomes, ["refused: correction.open", "filed", "filed", "filed"]);
    }
}
