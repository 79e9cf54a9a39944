//! Prometheus metrics (`/metrics`): counts only, never personal data.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Label naming an API action.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    pub action: String,
}

/// Label naming a verification outcome (`active`, `expired`, `revoked`, …).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

/// The node's counters and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    /// Requests with a missing, unknown, expired or revoked API key.
    pub auth_failures: Counter,
    /// Requests refused by a rate limit, per action.
    pub rate_limited: Family<ActionLabel, Counter>,
    /// Verifications (查验), per resulting status.
    pub verifications: Family<StatusLabel, Counter>,
}

impl Metrics {
    /// Registers every counter.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hunyu");
        let auth_failures = Counter::default();
        let rate_limited = Family::<ActionLabel, Counter>::default();
        let verifications = Family::<StatusLabel, Counter>::default();
        registry.register(
            "auth_failures",
            "Requests with a missing, unknown, expired or revoked API key",
            auth_failures.clone(),
        );
        registry.register("rate_limited", "Requests refused by a per-key rate limit", rate_limited.clone());
        registry.register("verifications", "Certificate verifications by resulting status", verifications.clone());
        Self { registry, auth_failures, rate_limited, verifications }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
