//! What the services' unit tests share: the cores of `node::testing`, and a certificate issued.

use chrono::Utc;

pub use crate::node::testing::*;

use super::certificates::{Version, issue};
use crate::domain::access::Action;
use crate::domain::role::Role;
use crate::node::NodeCore;

/// Issues the certificate of the `n`-th sample person at `origin`, as its officer.
pub fn issue_sample(origin: &NodeCore, n: usize) -> Version {
    issue(origin, sample_draft(n), &actor(origin, Role::Officer, Action::IssueCertificate), Utc::now()).unwrap()
}
