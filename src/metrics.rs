//! Prometheus metrics (`/metrics`): counts only, never personal data.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
    /// Verifications answered from a trust directory past its lifetime.
    pub stale_directory_verifications: Counter,
    /// On-line status questions the issuer answered.
    pub online_status_answers: Counter,
    /// On-line status questions the issuer did not answer (the status held here was used).
    pub online_status_fallbacks: Counter,
    /// Serial of the trust directory in use (0: none).
    pub directory_serial: Gauge,
    /// End of the lifetime of the directory in use, in Unix seconds.
    pub directory_expires_at: Gauge,
    /// Directory fetches that failed or were refused.
    pub directory_refresh_failures: Counter,
    /// Messages receipted by their peer.
    pub messages_delivered: Counter,
    /// Messages stored in the inbox (a message received again is not counted).
    pub messages_received: Counter,
    /// Delivery attempts that failed (they are retried).
    pub delivery_failures: Counter,
    /// Inbound message batches refused (bad signature, unknown sender, TLS mismatch, sequence).
    pub messages_refused: Counter,
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
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let r = &mut registry;
        let stale_directory_verifications =
            counter(r, "stale_directory_verifications", "Verifications against a trust directory past its lifetime");
        let online_status_answers = counter(r, "online_status_answers", "On-line status questions the issuer answered");
        let online_status_fallbacks = counter(
            r,
            "online_status_fallbacks",
            "On-line status questions the issuer did not answer (the status held here was used)",
        );
        let directory_serial = gauge(r, "directory_serial", "Serial of the trust directory in use (0: none)");
        let directory_expires_at =
            gauge(r, "directory_expires_at_seconds", "End of the trust directory's lifetime, Unix seconds");
        let directory_refresh_failures =
            counter(r, "directory_refresh_failures", "Trust directory fetches that failed or were refused");
        let messages_delivered = counter(r, "messages_delivered", "Messages receipted by their peer");
        let messages_received =
            counter(r, "messages_received", "Messages stored in the inbox (a message received again is not counted)");
        let delivery_failures = counter(r, "delivery_failures", "Failed delivery attempts (retried)");
        let messages_refused = counter(r, "message_batches_refused", "Inbound message batches refused");
        Self {
            registry,
            auth_failures,
            rate_limited,
            verifications,
            stale_directory_verifications,
            online_status_answers,
            online_status_fallbacks,
            directory_serial,
            directory_expires_at,
            directory_refresh_failures,
            messages_delivered,
            messages_received,
            delivery_failures,
            messages_refused,
        }
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
