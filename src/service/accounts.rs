//! People's accounts for the pages: created from the command line or by an admin, signed in with a
//! password kept as an argon2id hash, locked after repeated failures. Every sign-in, granted or
//! refused, and every account created is an audit entry. Accounts are the node's own affair: the
//! store is all this needs, so the command line uses it without a running node.

use chrono::{Duration, NaiveDateTime};

use super::ServiceError;
use crate::domain::account::{AccountName, AccountRule, Attempts, check_password};
use crate::domain::error::{Coded as _, ErrorCode};
use crate::domain::role::Role;
use crate::seal::{password, random_secret};
use crate::store::accounts::{self, Account, Session};
use crate::store::audit::{self, NewAudit};
use crate::store::{Store, StoreError};

/// Audit name of a sign-in.
pub const SIGN_IN: &str = "sign_in";
/// Audit name of a sign-out.
pub const SIGN_OUT: &str = "sign_out";

/// A session just opened: the cookie's secret (kept only as a hash) and what it stands for.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub session: Session,
}

fn random() -> Result<String, ServiceError> {
    random_secret().ok_or_else(|| ServiceError::Unavailable("the system random source failed".into()))
}

/// The argon2id PHC string of `password`.
fn hash_password(password: &str) -> Result<String, ServiceError> {
    password::hash(password).ok_or_else(|| ServiceError::Unavailable("the system random source failed".into()))
}

/// Creates an account called `name` for `role`, recorded under `entry` (whoever creates it).
pub fn create(
    store: &Store,
    entry: NewAudit,
    name: &str,
    role: Role,
    password: &str,
    now: NaiveDateTime,
) -> Result<AccountName, ServiceError> {
    let mut broken = Vec::new();
    let name = AccountName::parse(name).map_err(|rule| broken.push(rule.to_field_error("name"))).ok();
    if let Err(rule) = check_password(password) {
        broken.push(rule.to_field_error("password"));
    }
    let Some(name) = name.filter(|_| broken.is_empty()) else { return Err(ServiceError::Invalid(broken)) };
    let hash = hash_password(password)?;
    let created = name.clone();
    let result = store.write(move |conn| {
        let actor_id = accounts::create(conn, &created, role, &hash, now)?;
        let object = format!("account {} ({role}, {actor_id})", created.as_str());
        audit::append(conn, NewAudit { object: Some(object), outcome: "created".into(), ..entry })?;
        Ok::<_, StoreError>(())
    });
    match result {
        Ok(()) => Ok(name),
        Err(e) if e.is_unique_violation() => {
            Err(ServiceError::Invalid(vec![AccountRule::Taken.to_field_error("name")]))
        }
        Err(e) => Err(e.into()),
    }
}

/// Every account of the node, as of `now`.
pub fn list(store: &Store, now: NaiveDateTime) -> Result<Vec<Account>, ServiceError> {
    Ok(store.read(|conn| accounts::list(conn, now))?)
}

/// The audit entry of a sign-in or sign-out at `now` in request `request_id`, by `account` if known.
fn entry(action: &'static str, account: Option<&Account>, request_id: &str, now: NaiveDateTime) -> NewAudit {
    NewAudit {
        at: now,
        request_id: request_id.to_owned(),
        actor: account.map_or_else(|| "unauthenticated".into(), |a| a.actor_id.clone()),
        role: account.map_or("none", |a| a.role.as_str()).into(),
        action,
        subject: None,
        object: account.map(|a| format!("account {}", a.name)),
        purpose: "登录 sign-in".into(),
        outcome: String::new(),
    }
}

/// Signs `name` in with `password` at `now` for `hours`: a session, or the refusal, recorded.
/// A locked account is refused without its password being checked.
pub fn sign_in(
    store: &Store,
    request_id: &str,
    name: &str,
    password: &str,
    now: NaiveDateTime,
    hours: i64,
) -> Result<SignedIn, ServiceError> {
    let known = match AccountName::parse(name) {
        Ok(name) => store.read(|conn| accounts::find(conn, name.as_str(), now))?.filter(|a| a.usable),
        Err(_) => None,
    };
    let Some(account) = known else {
        password::spend_a_check(password);
        let refused = ErrorCode::SignInFailed;
        store.audit(vec![NewAudit {
            outcome: format!("refused: {}", refused.code()),
            ..entry(SIGN_IN, None, request_id, now)
        }])?;
        return Err(ServiceError::Refused(refused));
    };
    let recorded = entry(SIGN_IN, Some(&account), request_id, now);
    if let Some(seconds) = account.attempts.locked_for(now) {
        let refused = ErrorCode::AccountLocked { retry_after_seconds: seconds.unsigned_abs() };
        store.audit(vec![NewAudit { outcome: format!("refused: {}", refused.code()), ..recorded }])?;
        return Err(ServiceError::Refused(refused));
    }
    if !password::matches(password, &account.password_hash) {
        let name = account.name.clone();
        let refused = store.write(move |conn| {
            let counted = accounts::count_failure(conn, &name)?;
            let attempts = counted.settled(now);
            if attempts != counted {
                accounts::set_attempts(conn, &name, attempts)?;
            }
            let refused = match attempts.locked_for(now) {
                Some(seconds) => ErrorCode::AccountLocked { retry_after_seconds: seconds.unsigned_abs() },
                None => ErrorCode::SignInFailed,
            };
            audit::append(conn, NewAudit { outcome: format!("refused: {}", refused.code()), ..recorded })?;
            Ok::<_, StoreError>(refused)
        })?;
        return Err(ServiceError::Refused(refused));
    }
    let (token, csrf) = (random()?, random()?);
    let expires_at = now + Duration::hours(hours);
    let session = Session {
        account: account.name.clone(),
        actor_id: account.actor_id.clone(),
        role: account.role,
        csrf,
        expires_at,
    };
    let (opened, secret) = (session.clone(), token.clone());
    store.write(move |conn| {
        accounts::set_attempts(conn, &opened.account, Attempts { failures: 0, locked_until: None })?;
        accounts::open_session(conn, &opened.account, &secret, &opened.csrf, now, expires_at)?;
        audit::append(conn, NewAudit { outcome: "granted".into(), ..recorded })
    })?;
    Ok(SignedIn { token, session })
}

/// The session of the cookie `token`, if open at `now`.
pub fn session(store: &Store, token: &str, now: NaiveDateTime) -> Result<Option<Session>, ServiceError> {
    Ok(store.read(|conn| accounts::session(conn, token, now))?)
}

/// Closes the session of the cookie `token` and records it.
pub fn sign_out(store: &Store, token: &str, request_id: &str, now: NaiveDateTime) -> Result<(), ServiceError> {
    let Some(open) = session(store, token, now)? else { return Ok(()) };
    let (token, request_id) = (token.to_owned(), request_id.to_owned());
    store.write(move |conn| {
        accounts::close_session(conn, &token)?;
        let entry = NewAudit {
            at: now,
            request_id,
            actor: open.actor_id,
            role: open.role.as_str().into(),
            action: SIGN_OUT,
            subject: None,
            object: Some(format!("account {}", open.account)),
            purpose: "登出 sign-out".into(),
            outcome: "done".into(),
        };
        audit::append(conn, entry)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::lone_core;

    fn by_cli(now: NaiveDateTime) -> NewAudit {
        NewAudit {
            at: now,
            request_id: String::new(),
            actor: "cli".into(),
            role: "admin".into(),
            action: "manage_accounts",
            subject: None,
            object: None,
            purpose: String::new(),
            outcome: String::new(),
        }
    }

    #[test]
    fn a_password_signs_in_five_wrong_ones_lock_and_each_attempt_is_recorded() {
        let (_federation, core) = lone_core(("130728102000", "柴沟堡镇"));
        let now = chrono::Utc::now().naive_utc();
        let store = &core.store;
        create(store, by_cli(now), "wang.li", Role::Worker, "correct horse battery", now).unwrap();
        let taken = create(store, by_cli(now), "wang.li", Role::Officer, "another long one", now).unwrap_err();
        assert!(matches!(taken, ServiceError::Invalid(ref e) if e[0].code == "account.taken"), "{taken}");
        let short = create(store, by_cli(now), "Wang", Role::Officer, "short", now).unwrap_err();
        assert!(matches!(short, ServiceError::Invalid(ref e) if e.len() == 2), "{short}");

        let signed = sign_in(store, "r1", "wang.li", "correct horse battery", now, 8).unwrap();
        let open = session(store, &signed.token, now).unwrap().unwrap();
        assert_eq!((open.role, open.account.as_str()), (Role::Worker, "wang.li"));
        assert!(session(store, &signed.token, now + Duration::hours(8)).unwrap().is_none());

        for _ in 0..4 {
            let refused = sign_in(store, "r2", "wang.li", "wrong password!", now, 8).unwrap_err();
            assert!(matches!(refused, ServiceError::Refused(ErrorCode::SignInFailed)), "{refused}");
        }
        let locked = sign_in(store, "r3", "wang.li", "wrong password!", now, 8).unwrap_err();
        assert!(matches!(locked, ServiceError::Refused(ErrorCode::AccountLocked { retry_after_seconds: 900 })));
        let still = sign_in(store, "r4", "wang.li", "correct horse battery", now, 8).unwrap_err();
        assert!(matches!(still, ServiceError::Refused(ErrorCode::AccountLocked { .. })), "{still}");
        let later = now + Duration::minutes(16);
        assert!(sign_in(store, "r5", "wang.li", "correct horse battery", later, 8).is_ok());
        let nobody = sign_in(store, "r6", "nobody", "correct horse battery", now, 8).unwrap_err();
        assert!(matches!(nobody, ServiceError::Refused(ErrorCode::SignInFailed)));

        sign_out(store, &signed.token, "r7", now).unwrap();
        assert!(session(store, &signed.token, now).unwrap().is_none());

        let filter = crate::store::audit::AuditFilter::default();
        let entries = store.read(|conn| crate::store::audit::list(conn, &filter)).unwrap();
        let outcomes: Vec<(&str, &str)> = entries
            .iter()
            .filter(|e| e.action == SIGN_IN || e.action == SIGN_OUT)
            .map(|e| (e.action.as_str(), e.outcome.as_str()))
            .collect();
        let mut expected = vec![(SIGN_IN, "granted")];
        expected.extend([(SIGN_IN, "refused: auth.sign_in"); 4]);
        expected.extend([(SIGN_IN, "refused: auth.locked"); 2]);
        expected.extend([(SIGN_IN, "granted"), (SIGN_IN, "refused: auth.sign_in"), (SIGN_OUT, "done")]);
        assert_eq!(outcomes, expected);
    }

    #[test]
    fn wrong_passwords_checked_at_once_are_each_counted() {
        let (_federation, core) = lone_core(("130728102000", "柴沟堡镇"));
        let now = chrono::Utc::now().naive_utc();
        let store = &core.store;
        create(store, by_cli(now), "wang.li", Role::Worker, "correct horse battery", now).unwrap();
        let guesses = 8;
        let start = std::sync::Barrier::new(guesses);
        let refusals: Vec<ErrorCode> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..guesses)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        match sign_in(store, "r", "wang.li", "wrong password!", now, 8) {
                            Err(ServiceError::Refused(code)) => code,
                            other => panic!("a wrong password was not refused: {other:?}"),
                        }
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        // However the checks interleave, the fifth counted failure locks: four plain refusals.
        let plain = refusals.iter().filter(|c| matches!(c, ErrorCode::SignInFailed)).count();
        assert_eq!(plain, 4, "{refusals:?}");
        let locked = sign_in(store, "r", "wang.li", "correct horse battery", now, 8).unwrap_err();
        assert!(matches!(locked, ServiceError::Refused(ErrorCode::AccountLocked { .. })), "{locked}");
    }
}
