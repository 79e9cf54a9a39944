//! The contract between jurisdictions: JSON Schemas of signed payloads, checked on the way out and in.

use serde_json::Value;

/// A kind of signed payload and its schema under `schemas/`, compiled into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Certificate,
    Presentation,
    Directory,
    Message,
    Receipt,
    StatusList,
    LookupRequest,
    LookupAnswer,
    StatusAnswer,
    TreeHead,
    Report,
}

impl Kind {
    /// Every kind, in the order the validators are kept.
    pub const ALL: [Kind; 11] = [
        Kind::Certificate,
        Kind::Presentation,
        Kind::Directory,
        Kind::Message,
        Kind::Receipt,
        Kind::StatusList,
        Kind::LookupRequest,
        Kind::LookupAnswer,
        Kind::StatusAnswer,
        Kind::TreeHead,
        Kind::Report,
    ];

    /// File name stem under `schemas/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Certificate => "certificate",
            Self::Presentation => "presentation",
            Self::Directory => "directory",
            Self::Message => "message",
            Self::Receipt => "receipt",
            Self::StatusList => "status-list",
            Self::LookupRequest => "lookup-request",
            Self::LookupAnswer => "lookup-answer",
            Self::StatusAnswer => "status-answer",
            Self::TreeHead => "tree-head",
            Self::Report => "report",
        }
    }

    /// The schema text.
    pub fn schema(self) -> &'static str {
        match self {
            Self::Certificate => include_str!("../schemas/certificate.schema.json"),
            Self::Presentation => include_str!("../schemas/presentation.schema.json"),
            Self::Directory => include_str!("../schemas/directory.schema.json"),
            Self::Message => include_str!("../schemas/message.schema.json"),
            Self::Receipt => include_str!("../schemas/receipt.schema.json"),
            Self::StatusList => include_str!("../schemas/status-list.schema.json"),
            Self::LookupRequest => include_str!("../schemas/lookup-request.schema.json"),
            Self::LookupAnswer => include_str!("../schemas/lookup-answer.schema.json"),
            Self::StatusAnswer => include_str!("../schemas/status-answer.schema.json"),
            Self::TreeHead => include_str!("../schemas/tree-head.schema.json"),
            Self::Report => include_str!("../schemas/report.schema.json"),
        }
    }
}

/// Compiled validators of every signed payload kind.
pub struct Contract {
    validators: Vec<jsonschema::Validator>,
}

/// A schema that does not compile (a build defect, caught by the tests).
#[derive(Debug, thiserror::Error)]
#[error("schema {name} does not compile: {message}")]
pub struct SchemaError {
    pub name: &'static str,
    pub message: String,
}

impl Contract {
    /// Compiles the embedded schemas (formats such as `date` and `uuid` are enforced).
    pub fn new() -> Result<Self, SchemaError> {
        Ok(Self { validators: Kind::ALL.into_iter().map(compile).collect::<Result<_, _>>()? })
    }

    /// First violation of the schema of `kind`, as `path breaks keyword`, if any. It names the
    /// place and the rule only, never the value: it goes to logs, and payloads hold personal data.
    pub fn violation(&self, kind: Kind, payload: &Value) -> Option<String> {
        let validator = &self.validators[kind as usize];
        // `is_valid` is the fast path; the error is only worked out for a failing payload.
        if validator.is_valid(payload) {
            return None;
        }
        validator.validate(payload).err().map(|e| format!("{} breaks {}", e.instance_path(), e.kind().keyword()))
    }
}

fn compile(kind: Kind) -> Result<jsonschema::Validator, SchemaError> {
    let name = kind.name();
    let schema: Value =
        serde_json::from_str(kind.schema()).map_err(|e| SchemaError { name, message: e.to_string() })?;
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| SchemaError { name, message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles_and_kinds_index_their_validators() {
        let contract = Contract::new().unwrap();
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, i, "{kind:?} is out of order in Kind::ALL");
        }
        assert!(contract.violation(Kind::Receipt, &serde_json::json!({})).is_some());
    }

    #[test]
    fn a_report_the_domain_makes_meets_its_schema_and_a_bent_one_does_not() {
        use crate::domain::assessment::{Counterpart, Figure, Indicator, Month, ReportClaims, Score, Targets, Weights};
        let targets = Targets::default();
        let figures = vec![
            Figure::measured(Indicator::VerificationRate, 9, 10, &targets),
            Figure::not_measured(Indicator::LedgerConsistency, &targets),
        ];
        let report = ReportClaims {
            iss: "440305001000".into(),
            aud: "000000000000".into(),
            jti: "01a23400-0000-7000-8000-000000000001".into(),
            iat: 1_764_300_000,
            month: Month::parse("2026-11").unwrap(),
            ver: 2,
            supersedes: Some("01a23400-0000-7000-8000-000000000000".into()),
            score: Score::of(&figures, Weights::default()),
            figures,
            outflow: vec![],
            inflow: vec![Counterpart { node: "130728102000".into(), women: 3 }],
        };
        let contract = Contract::new().unwrap();
        let mut payload = serde_json::to_value(&report).unwrap();
        assert_eq!(contract.violation(Kind::Report, &payload), None);
        assert_eq!(serde_json::from_value::<ReportClaims>(payload.clone()).unwrap(), report);
        payload["figures"][1]["numerator"] = serde_json::json!(3);
        assert_eq!(contract.violation(Kind::Report, &payload).unwrap(), "/figures/1 breaks required");
        payload["figures"][1] = serde_json::json!({ "indicator": "happiness_rate" });
        assert!(contract.violation(Kind::Report, &payload).is_some());
    }

    #[test]
    fn a_violation_names_the_place_and_the_rule_never_the_value() {
        let contract = Contract::new().unwrap();
        let lookup = serde_json::json!({
            "iss": "440306001000", "aud": "130728102000", "jti": "01a23400-0000-7000-8000-000000000000",
            "iat": 1, "id_number": "13072819900307002x"
        });
        let violation = contract.violation(Kind::LookupRequest, &lookup).unwrap();
        assert_eq!(violation, "/id_number breaks pattern");
        assert!(!violation.contains("130728"));
    }
}
