//! People's accounts for the pages: the rules of a sign-in name and a password, and the lock-out
//! that stops a password being guessed.

use chrono::{Duration, NaiveDateTime};

use super::error::Coded;

/// Shortest password accepted: long enough that the lock-out, not luck, bounds a guesser.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted: argon2 reads it whole, so its length is bounded like any input.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Failed sign-ins in a row that lock an account.
pub const LOCK_AFTER_FAILURES: i32 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;

/// Why an account cannot be created as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountRule {
    #[error("account name")]
    Name,
    #[error("password length")]
    PasswordLength,
    #[error("account taken")]
    Taken,
}

impl Coded for AccountRule {
    fn texts(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Name => (
                "account.name",
                "账号名须为3至32位小写字母、数字、点、下划线或连字符，以字母开头",
                "an account name is 3 to 32 lower-case letters, digits, dots, underscores or hyphens, \
                 starting with a letter",
            ),
            Self::PasswordLength => {
                ("account.password_length", "密码须为10至128个字符", "a password is 10 to 128 characters")
            }
            Self::Taken => ("account.taken", "该账号名已被使用", "this account name is taken"),
        }
    }
}

/// A sign-in name as typed, checked: `[a-z][a-z0-9._-]{2,31}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName(String);

impl AccountName {
    /// Checks `name`; names are ASCII so that two names that look alike are the same name.
    pub fn parse(name: &str) -> Result<Self, AccountRule> {
        let bytes = name.as_bytes();
        let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-');
        if !(3..=32).contains(&bytes.len()) || !bytes[0].is_ascii_lowercase() || !bytes.iter().all(allowed) {
            return Err(AccountRule::Name);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password's length in characters (not bytes: Chinese passphrases count fairly).
pub fn check_password(password: &str) -> Result<(), AccountRule> {
    let chars = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) { Ok(()) } else { Err(AccountRule::PasswordLength) }
}

/// An account's record of failed sign-ins, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    /// Failures since the last success or lock.
    pub failures: i32,
    /// Until when the account refuses every sign-in, if locked.
    pub locked_until: Option<NaiveDateTime>,
}

impl Attempts {
    /// Whether the account refuses sign-ins at `now`, and for how many more seconds.
    pub fn locked_for(&self, now: NaiveDateTime) -> Option<i64> {
        self.locked_until.filter(|until| now < *until).map(|until| (until - now).num_seconds().max(1))
    }

    /// The record once the store has counted a wrong password at `now` into `self.failures`: the
    /// fifth failure in a row locks the account and starts the count again. The store counts (in
    /// one statement, so that two guesses at once are two failures); this rule decides the lock.
    pub fn settled(self, now: NaiveDateTime) -> Self {
        if self.failures >= LOCK_AFTER_FAILURES {
            Self { failures: 0, locked_until: Some(now + Duration::minutes(LOCK_MINUTES)) }
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 3).and_then(|d| d.and_hms_opt(9, minute, 0)).unwrap_or_default()
    }

    #[test]
    fn names_are_plain_ascii_of_bounded_length() {
        for good in ["wang.li", "officer1", "a_b-c", &"x".repeat(32)] {
            assert!(AccountName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "ab", "1abc", "Wang", "wang li", "王丽丽", "wang@x", &"x".repeat(33)] {
            assert_eq!(AccountName::parse(bad), Err(AccountRule::Name), "{bad}");
        }
    }

    #[test]
    fn passwords_are_counted_in_characters() {
        assert_eq!(check_password("short"), Err(AccountRule::PasswordLength));
        assert_eq!(check_password("十个汉字的一句口令好"), Ok(()));
        assert_eq!(check_password(&"x".repeat(129)), Err(AccountRule::PasswordLength));
    }

    #[test]
    fn the_fifth_failure_locks_for_fifteen_minutes() {
        let mut attempts = Attempts { failures: 0, locked_until: None };
        for _ in 0..4 {
            attempts = Attempts { failures: attempts.failures + 1, ..attempts }.settled(at(0));
            assert_eq!(attempts.locked_for(at(0)), None);
        }
        attempts = Attempts { failures: attempts.failures + 1, ..attempts }.settled(at(0));
        assert_eq!(attempts.failures, 0);
        assert_eq!(attempts.locked_for(at(0)), Some(15 * 60));
        assert_eq!(attempts.locked_for(at(14)), Some(60));
        assert_eq!(attempts.locked_for(at(15)), None);
    }
}
