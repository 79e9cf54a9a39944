//! hunyu (婚育): issue, verify and exchange migrants' marriage-and-childbearing certificates
//! (流动人口婚育证明) between the origin (户籍地) and residence (现居住地) jurisdictions.
//!
//! Data flows one way: [`http`] → [`service`] → [`domain`] (validate, decide) → [`store`] (one
//! transaction, outbox message included) → [`exchange`] (delivery after commit). `ARCHITECTURE.md`
//! is the code map and its invariants.

pub mod bench;
pub mod cli;
pub mod config;
pub mod contract;
pub mod demo;
pub mod domain;
pub mod exchange;
pub mod files;
pub mod http;
pub mod import;
pub mod metrics;
pub mod node;
pub mod registry;
pub mod seal;
pub mod service;
pub mod setup;
pub mod sheets;
pub mod soak;
pub mod store;
