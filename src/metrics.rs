//! Prometheus metrics (`/metrics`): counts, durations and the process's resources, never personal
//! data.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
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

/// Labels of a request's duration: its listener, method and route pattern (never a concrete
/// path, which may carry an id).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub listener: &'static str,
    pub method: String,
    pub route: String,
}

/// A histogram of request durations in seconds, from 0.25 ms to about 4 s.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The node's counters and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    /// Request durations by listener, method and route, in seconds.
    pub request_seconds: Family<RouteLabel, Histogram, fn() -> Histogram>,
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
    /// Size of this node's issuance log in the last tree head the registry kept.
    pub tree_head_size: Gauge,
    /// Tree heads the registry did not keep, or that could not be sent.
    pub tree_head_failures: Counter,
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
        let mut root = Registry::default();
        root.register_collector(Box::new(ProcessCollector));
        let registry = root.sub_registry_with_prefix("hunyu");
        let request_seconds =
            Family::<RouteLabel, Histogram, fn() -> Histogram>::new_with_constructor(request_histogram);
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its answer, by listener, method and route",
            request_seconds.clone(),
        );
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
        let r = registry;
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
        let tree_head_size =
            gauge(r, "tree_head_size", "Issuance log size in the last tree head the registry kept (0: none yet)");
        let tree_head_failures =
            counter(r, "tree_head_failures", "Tree heads the registry did not keep, or that could not be sent");
        let messages_delivered = counter(r, "messages_delivered", "Messages receipted by their peer");
        let messages_received =
            counter(r, "messages_received", "Messages stored in the inbox (a message received again is not counted)");
        let delivery_failures = counter(r, "delivery_failures", "Failed delivery attempts (retried)");
        let messages_refused = counter(r, "message_batches_refused", "Inbound message batches refused");
        Self {
            registry: root,
            request_seconds,
            auth_failures,
            rate_limited,
            verifications,
            stale_directory_verifications,
            online_status_answers,
            online_status_fallbacks,
            directory_serial,
            directory_expires_at,
            directory_refresh_failures,
            tree_head_size,
            tree_head_failures,
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

/// The conventional process metrics of the Prometheus client libraries (`process_*`: memory,
/// open files, CPU, threads), read from the operating system at each scrape.
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let process = metrics_process::collector::collect();
        let gauges = [
            ("process_resident_memory_bytes", "Resident memory size in bytes.", process.resident_memory_bytes),
            ("process_virtual_memory_bytes", "Virtual memory size in bytes.", process.virtual_memory_bytes),
            ("process_open_fds", "Number of open file descriptors.", process.open_fds),
            ("process_max_fds", "Maximum number of open file descriptors.", process.max_fds),
            ("process_threads", "Number of OS threads in the process.", process.threads),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds.",
                process.start_time_seconds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value.and_then(|v| i64::try_from(v).ok()) {
                ConstGauge::new(value).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)?;
            }
        }
        if let Some(seconds) = process.cpu_seconds_total {
            let help = "Total user and system CPU time spent in seconds.";
            // The encoder adds `_total` to a counter's name.
            ConstCounter::new(seconds).encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                help,
                None,
                MetricType::Counter,
            )?)?;
        }
        Ok(())
    }
}
