//! 婚姻状况 per GB/T 2261.2, carried on the wire as its two-digit code.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 婚姻状况: marital status, one GB/T 2261.2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaritalStatus {
    /// 10 未婚 (never married).
    Unmarried,
    /// 20 已婚 (married).
    Married,
    /// 21 初婚 (first marriage).
    FirstMarriage,
    /// 22 再婚 (remarried).
    Remarried,
    /// 23 复婚 (remarried to the former spouse).
    Reunited,
    /// 30 丧偶 (widowed).
    Widowed,
    /// 40 离婚 (divorced).
    Divorced,
    /// 90 未说明的婚姻状况 (not stated).
    Unstated,
}

impl MaritalStatus {
    /// Every status, in code order.
    pub const ALL: [MaritalStatus; 8] = [
        MaritalStatus::Unmarried,
        MaritalStatus::Married,
        MaritalStatus::FirstMarriage,
        MaritalStatus::Remarried,
        MaritalStatus::Reunited,
        MaritalStatus::Widowed,
        MaritalStatus::Divorced,
        MaritalStatus::Unstated,
    ];

    /// Parses a two-digit GB/T 2261.2 code such as `21`.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Code and Chinese name: the one table for this module.
    fn row(&self) -> (&'static str, &'static str) {
        match self {
            MaritalStatus::Unmarried => ("10", "未婚"),
            MaritalStatus::Married => ("20", "已婚"),
            MaritalStatus::FirstMarriage => ("21", "初婚"),
            MaritalStatus::Remarried => ("22", "再婚"),
            MaritalStatus::Reunited => ("23", "复婚"),
            MaritalStatus::Widowed => ("30", "丧偶"),
            MaritalStatus::Divorced => ("40", "离婚"),
            MaritalStatus::Unstated => ("90", "未说明的婚姻状况"),
        }
    }

    /// The two-digit code, e.g. `21`.
    pub fn code(&self) -> &'static str {
        self.row().0
    }

    /// The Chinese name, e.g. `初婚`.
    pub fn name_zh(&self) -> &'static str {
        self.row().1
    }

    /// Whether she has a spouse now (codes 20–23).
    pub fn is_married(&self) -> bool {
        matches!(
            self,
            MaritalStatus::Married | MaritalStatus::FirstMarriage | MaritalStatus::Remarried | MaritalStatus::Reunited
        )
    }
}

impl fmt::Display for MaritalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for MaritalStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for MaritalStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        MaritalStatus::parse(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown GB/T 2261.2 marital status code {code:?}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in MaritalStatus::ALL {
            assert_eq!(MaritalStatus::parse(s.code()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.code()));
            assert_eq!(serde_json::from_str::<MaritalStatus>(&json).unwrap(), s);
        }
        let codes: Vec<_> = MaritalStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, ["10", "20", "21", "22", "23", "30", "40", "90"]);
    }

    #[test]
    fn married_is_20_to_23() {
        let married: Vec<_> = MaritalStatus::ALL.iter().filter(|s| s.is_married()).map(|s| s.code()).collect();
        assert_eq!(married, ["20", "21", "22", "23"]);
    }

    #[test]
    fn names_and_unknowns() {
        assert_eq!(MaritalStatus::FirstMarriage.name_zh(), "初婚");
        assert_eq!(MaritalStatus::Reunited.name_zh(), "复婚");
        assert_eq!(MaritalStatus::Widowed.to_string(), "30");
        for bad in ["", "1", "11", "99", "021", "21 "] {
            assert_eq!(MaritalStatus::parse(bad), None, "{bad:?}");
        }
        assert!(serde_json::from_str::<MaritalStatus>("\"11\"").is_err());
        assert!(serde_json::from_str::<MaritalStatus>("21").is_err());
    }
}
