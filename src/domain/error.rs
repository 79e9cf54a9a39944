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

/// A rule with a stable code and messages in Chinese and English; each module keeps one table of them.
pub trait Coded {
    /// The table row: code, Chinese message, English message.
    fn texts(&self) -> (&'static str, &'static str, &'static str);

    /// Stable machine code, e.g. `id_number.checksum`.
    fn code(&self) -> &'static str {
        self.texts().0
    }

    /// Chinese message.
    fn message_zh(&self) -> &'static str {
        self.texts().1
    }

    /// English message.
    fn message_en(&self) -> &'static str {
        self.texts().2
    }

    /// This rule, broken by `field`.
    fn to_field_error(&self, field: &str) -> FieldError {
        FieldError::new(field, self.code(), self.message_zh(), self.message_en())
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
