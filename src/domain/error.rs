//! The one error shape every domain rule reports at the boundary.

use serde::Serialize;

/// One broken rule about one input field, with a stable code and messages in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {code}: {message_en}")]
pub struct FieldError {
    /// Dotted path of the offending field, e.g. `children[1].birth_date`.
    pub field: String,
    /// Stable machine code, e.g. `id_number.checksum`.
    pub code: &'static str,
    /// Message for Chinese-speaking users.
    pub message_zh: String,
    /// Message for English-speaking users.
    pub message_en: String,
}

impl FieldError {
    /// Builds an error for `field` from a code and its two messages.
    pub fn new(
        field: impl Into<String>,
        code: &'static str,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        FieldError { field: field.into(), code, message_zh: message_zh.into(), message_en: message_en.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_and_code() {
        let e = FieldError::new("person.name", "name.invalid", "姓名无效", "name is invalid");
        assert_eq!(e.to_string(), "person.name: name.invalid: name is invalid");
    }
}
