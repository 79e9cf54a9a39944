//! Integration tests: real nodes on 127.0.0.1, real SQLite files and PostgreSQL databases, real signatures.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on the first surprise")]

mod helpers;

mod api;
mod architecture;
mod assessment;
mod audit;
mod browser;
mod certificates;
mod chromium;
mod cli;
mod directory;
mod employer;
mod exchange;
mod faults;
mod hostile;
mod import;
mod ledgers;
mod limits;
mod pages;
mod plans;
mod readme;
mod reports;
mod restore;
mod serve;
mod signatures;
mod store;
mod transparency;
mod vectors;
mod verify;
mod worklists;
