//! The exchange between nodes over real mutual TLS: every flow, and every refusal.
