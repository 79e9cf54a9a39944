//! The contract between jurisdictions: JSON Schemas of signed payloads, checked on the way out and in.

use serde_json::Value;

/// `schemas/certificate.schema.json`, compiled into the binary.
pub const CERTIFICATE_SCHEMA: &str = include_str!("../schemas/certificate.schema.json");
/// `schemas/presentation.schema.json`, compiled into the binary.
pub const PRESENTATION_SCHEMA: &str = include_str!("../schemas/presentation.schema.json");

/// Compiled validators of every signed payload kind.
pub struct Contract {
    certificate: jsonschema::Validator,
    presentation: jsonschema::Validator,
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
        Ok(Self {
            certificate: compile("certificate", CERTIFICATE_SCHEMA)?,
            presentation: compile("presentation", PRESENTATION_SCHEMA)?,
        })
    }

    /// First violation of the certificate schema, as `path: message`, if any.
    pub fn certificate_violation(&self, payload: &Value) -> Option<String> {
        violation(&self.certificate, payload)
    }

    /// First violation of the employer presentation schema, if any.
    pub fn presentation_violation(&self, payload: &Value) -> Option<String> {
        violation(&self.presentation, payload)
    }
}

fn violation(validator: &jsonschema::Validator, payload: &Value) -> Option<String> {
    // `is_valid` is the fast path; the error is only worked out for a failing payload.
    if validator.is_valid(payload) {
        return None;
    }
    validator.validate(payload).err().map(|e| format!("{}: {e}", e.instance_path()))
}

fn compile(name: &'static str, text: &str) -> Result<jsonschema::Validator, SchemaError> {
    let schema: Value = serde_json::from_str(text).map_err(|e| SchemaError { name, message: e.to_string() })?;
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| SchemaError { name, message: e.to_string() })
}
