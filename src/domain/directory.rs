//! The trust directory (信任名录) rules: when a node's key may be trusted, and when a directory is stale.
//!
//! A key is trusted for what it signed inside its window. Retiring a key closes the window
//! (`not_after`): what it signed before stays valid. A key marked compromised at T taints whatever
//! claims to be signed at or after T, and nothing before.

use serde::{Deserialize, Serialize};

use super::verification::Reason;

/// When a directory key may sign, in NumericDate seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWindow {
    /// First second the key may sign.
    pub not_before: i64,
    /// Last second the key may sign (set when the key is retired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    /// From this second on, nothing the key signed is trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_at: Option<i64>,
}

impl KeyWindow {
    /// Whether a record that says it was signed at `signed_at` may be trusted under this key.
    pub fn judge(&self, signed_at: i64) -> Result<(), Reason> {
        if self.compromised_at.is_some_and(|t| signed_at >= t) {
            return Err(Reason::KeyCompromised);
        }
        if signed_at < self.not_before || self.not_after.is_some_and(|end| signed_at > end) {
            return Err(Reason::KeyOutOfWindow);
        }
        Ok(())
    }
}

/// Whether a node takes part in the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Exchanges messages; its keys verify what it signs.
    Active,
    /// Merged or closed: its keys still verify what it signed in their windows; it receives nothing.
    Retired,
}

/// How old a directory is, against its stated lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Within its lifetime.
    Fresh,
    /// Past `exp` by this many seconds: still used, with a warning.
    Stale { overdue_seconds: i64 },
}

/// The freshness of a directory valid until `exp`, at `now`.
pub fn freshness(exp: i64, now: i64) -> Freshness {
    if now < exp { Freshness::Fresh } else { Freshness::Stale { overdue_seconds: now - exp } }
}

/// Whether a node may be called at `url`: over TLS, or over plain HTTP on this machine only
/// (the demo, and tests). Status lists and the registry are fetched from these URLs.
pub fn is_acceptable_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

/// Whether a directory of serial `offered` may replace one of serial `held`: never go back.
pub fn may_replace(held: Option<u64>, offered: u64) -> bool {
    held.is_none_or(|held| offered >= held)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_key_keeps_what_it_signed() {
        let window = KeyWindow { not_before: 100, not_after: Some(200), compromised_at: None };
        assert_eq!(window.judge(150), Ok(()));
        assert_eq!(window.judge(200), Ok(()));
        assert_eq!(window.judge(201), Err(Reason::KeyOutOfWindow));
        assert_eq!(window.judge(99), Err(Reason::KeyOutOfWindow));
    }

    #[test]
    fn compromise_taints_from_t_on_only() {
        let window = KeyWindow { not_before: 100, not_after: None, compromised_at: Some(500) };
        assert_eq!(window.judge(499), Ok(()));
        assert_eq!(window.judge(500), Err(Reason::KeyCompromised));
        assert_eq!(window.judge(10_000), Err(Reason::KeyCompromised));
    }

    #[test]
    fn nodes_are_called_over_tls_or_on_this_machine() {
        for good in ["https://node.example", "http://127.0.0.1:8701", "http://localhost/x", "http://[::1]:80"] {
            assert!(is_acceptable_url(good), "{good}");
        }
        for bad in
            ["http://node.example", "http://127.0.0.1.evil.example", "http://u@10.0.0.1", "ftp://x", "http://[::2]"]
        {
            assert!(!is_acceptable_url(bad), "{bad}");
        }
    }

    #[test]
    fn stale_after_exp_and_no_rollback() {
        assert_eq!(freshness(100, 99), Freshness::Fresh);
        assert_eq!(freshness(100, 130), Freshness::Stale { overdue_seconds: 30 });
        assert!(may_replace(None, 1));
        assert!(may_replace(Some(3), 3));
        assert!(!may_replace(Some(3), 2));
    }
}
