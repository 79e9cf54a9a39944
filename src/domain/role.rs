//! Who calls the API: each bearer key belongs to exactly one role.

use serde::{Deserialize, Serialize};

/// Role of an API caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Node administrator: keys, setup; no personal data.
    Admin,
    /// Origin township officer (户籍地乡镇): issues, renews and revokes certificates.
    Officer,
    /// Residence community worker (现居住地): verifies certificates, registers arrivals.
    Worker,
    /// Employer (用人单位): confirms that a certificate is valid, nothing more.
    Employer,
    /// Auditor: reads the audit log and reports, no personal fields beyond what a report needs.
    Auditor,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 5] = [Role::Admin, Role::Officer, Role::Worker, Role::Employer, Role::Auditor];

    /// Stored and CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Officer => "officer",
            Self::Worker => "worker",
            Self::Employer => "employer",
            Self::Auditor => "auditor",
        }
    }

    /// Parses a stored or CLI name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
