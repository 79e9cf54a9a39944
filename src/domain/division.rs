//! 统计用区划代码: 12-digit statistical division codes (省2 市2 县2 乡3 村3).

use std::fmt;

use serde::{Serialize, Serializer};

use super::error::Coded;

/// Whether a two-digit 省级行政区划代码 exists (GB/T 2260); the one rule shared with ID numbers.
pub fn province_exists(code2: &str) -> bool {
    let b = code2.as_bytes();
    if b.len() != 2 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = (b[0] - b'0') * 10 + (b[1] - b'0');
    matches!(n, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82)
}

/// Length of each part of the code, from province down to village.
const PARTS: [(usize, usize); 5] = [(0, 2), (2, 4), (4, 6), (6, 9), (9, 12)];

/// Depth of a division: the last non-zero part of its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    /// 省级 (province, autonomous region, municipality).
    Province,
    /// 地级 (prefecture-level city).
    Prefecture,
    /// 县级 (county, district, county-level city).
    County,
    /// 乡级 (township, town, street office).
    Township,
    /// 村级 (village or residents' committee).
    Village,
}

impl DivisionLevel {
    /// Level for a part index of [`PARTS`]; index 4 and beyond is a village.
    fn from_index(i: usize) -> Self {
        match i {
            0 => DivisionLevel::Province,
            1 => DivisionLevel::Prefecture,
            2 => DivisionLevel::County,
            3 => DivisionLevel::Township,
            _ => DivisionLevel::Village,
        }
    }
}

/// Why a string is not an acceptable 区划代码.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message_en())]
pub enum DivisionError {
    /// Not exactly 12 ASCII digits.
    Format,
    /// The first two digits are no province.
    Province,
    /// A zero part is followed by a non-zero part (e.g. `110005003000`).
    Structure,
    /// A real code, but of a level not allowed here.
    Level,
}

impl Coded for DivisionError {
    /// Code, Chinese and English message: the one table for this module.
    fn texts(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            DivisionError::Format => ("division.format", "区划代码应为12位数字", "division code must be 12 digits"),
            DivisionError::Province => {
                ("division.province", "区划代码的省级代码不存在", "division code names no existing province")
            }
            DivisionError::Structure => (
                "division.structure",
                "区划代码结构错误：上级为0的部分后不能有非0部分",
                "division code has a non-zero part below a zero part",
            ),
            DivisionError::Level => {
                ("division.level", "区划代码的级别不符合要求", "division code is not of an allowed level")
            }
        }
    }
}

/// A well-formed 12-digit 统计用区划代码; built only by [`DivisionCode::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DivisionCode(String);

impl DivisionCode {
    /// Parses any level of code: 12 digits, an existing province, no part below a zero part.
    pub fn parse(input: &str) -> Result<DivisionCode, DivisionError> {
        if input.len() != 12 || !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DivisionError::Format);
        }
        if !province_exists(&input[..2]) {
            return Err(DivisionError::Province);
        }
        let mut seen_zero = false;
        for &(a, b) in &PARTS {
            let zero = input[a..b].bytes().all(|c| c == b'0');
            if seen_zero && !zero {
                return Err(DivisionError::Structure);
            }
            seen_zero |= zero;
        }
        Ok(DivisionCode(input.to_owned()))
    }

    /// The depth of the division: its last non-zero part.
    pub fn level(&self) -> DivisionLevel {
        let depth = PARTS.iter().rposition(|&(a, b)| self.0[a..b].bytes().any(|c| c != b'0')).unwrap_or(0);
        DivisionLevel::from_index(depth)
    }

    /// The first 6 digits: the GB/T 2260 county code.
    pub fn county_code(&self) -> &str {
        &self.0[..6]
    }

    /// The first 2 digits: the province code.
    pub fn province_code(&self) -> &str {
        &self.0[..2]
    }

    /// The full 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for DivisionCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Parses the code of a node: only a county (6 + `000000`) or a township (9 + `000`) runs one.
pub fn parse_node_code(input: &str) -> Result<DivisionCode, DivisionError> {
    let code = DivisionCode::parse(input)?;
    match code.level() {
        DivisionLevel::County | DivisionLevel::Township => Ok(code),
        _ => Err(DivisionError::Level),
    }
}

/// The origin node codes that may keep a person's household registration, nearest first: the
/// township (first 9 digits) and then the county (first 6).
pub fn origin_candidates(hukou: &str) -> Vec<String> {
    let mut codes = Vec::with_capacity(2);
    if hukou.len() == 12 && hukou.bytes().all(|b| b.is_ascii_digit()) {
        codes.push(format!("{}000", &hukou[..9]));
        codes.push(format!("{}000000", &hukou[..6]));
        codes.dedup();
    }
    codes
}

/// Whether the node `node_code` keeps the household registration `hukou` (户籍地): its township's
/// node, or its county's. Only that node may certify her.
pub fn is_responsible(node_code: &str, hukou: &str) -> bool {
    origin_candidates(hukou).iter().any(|code| code == node_code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn origin_is_the_township_then_the_county() {
        assert!(is_responsible("130728102000", "130728102201"));
        assert!(is_responsible("130728000000", "130728102201"));
        assert!(!is_responsible("130728103000", "130728102201"));
        assert!(!is_responsible("440306001000", "130728102201"));
        assert_eq!(origin_candidates("130728102201"), vec!["130728102000", "130728000000"]);
        assert_eq!(origin_candidates("130728000000"), vec!["130728000000"]);
        assert!(origin_candidates("13072810").is_empty());
    }

    use proptest::prelude::*;

    const DIVISIONS: &str = include_str!("../../tests/data/divisions.csv");

    #[test]
    fn provinces() {
        for p in ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65"] {
            assert!(province_exists(p), "{p}");
        }
        for p in ["71", "81", "82"] {
            assert!(province_exists(p), "{p}");
        }
        for p in ["00", "10", "16", "20", "24", "38", "47", "55", "60", "66", "72", "83", "99"] {
            assert!(!province_exists(p), "{p}");
        }
        for p in ["1", "110", "1a", "", "１１"] {
            assert!(!province_exists(p), "{p}");
        }
    }

    #[test]
    fn reference_divisions_parse_at_their_level() {
        let mut rdr = csv::Reader::from_reader(DIVISIONS.as_bytes());
        let mut n = 0;
        for row in rdr.records() {
            let row = row.unwrap();
            let full = format!("{}000000", &row[0]);
            let code = DivisionCode::parse(&full).unwrap();
            let want = match &row[2] {
                "province" => DivisionLevel::Province,
                "prefecture" => DivisionLevel::Prefecture,
                "county" => DivisionLevel::County,
                other => panic!("unexpected level {other}"),
            };
            assert_eq!(code.level(), want, "{full}");
            assert_eq!(code.county_code(), &row[0]);
            n += 1;
        }
        assert!(n > 10);
    }

    #[test]
    fn levels_and_parts() {
        let c = DivisionCode::parse("130728102203").unwrap();
        assert_eq!(c.level(), DivisionLevel::Village);
        assert_eq!(c.county_code(), "130728");
        assert_eq!(c.province_code(), "13");
        assert_eq!(c.as_str(), "130728102203");
        assert_eq!(c.to_string(), "130728102203");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"130728102203\"");
        let t = DivisionCode::parse("130728102000").unwrap();
        assert_eq!(t.level(), DivisionLevel::Township);
    }

    #[test]
    fn errors() {
        assert_eq!(DivisionCode::parse("13072810200"), Err(DivisionError::Format));
        assert_eq!(DivisionCode::parse("1307281020000"), Err(DivisionError::Format));
        assert_eq!(DivisionCode::parse("13072810200a"), Err(DivisionError::Format));
        assert_eq!(DivisionCode::parse(" 30728102000"), Err(DivisionError::Format));
        assert_eq!(DivisionCode::parse("990728102000"), Err(DivisionError::Province));
        assert_eq!(DivisionCode::parse("000000000000"), Err(DivisionError::Province));
        assert_eq!(DivisionCode::parse("110005003000"), Err(DivisionError::Structure));
        assert_eq!(DivisionCode::parse("110000000001"), Err(DivisionError::Structure));
        assert_eq!(DivisionCode::parse("130728000001"), Err(DivisionError::Structure));
        let e = DivisionError::Structure.to_field_error("person.hukou");
        assert_eq!(e.code, "division.structure");
        assert_eq!(e.field, "person.hukou");
        assert_eq!(DivisionError::Level.to_string(), DivisionError::Level.message_en());
    }

    #[test]
    fn node_codes() {
        assert!(parse_node_code("130728000000").is_ok());
        assert!(parse_node_code("130728102000").is_ok());
        assert_eq!(parse_node_code("130000000000"), Err(DivisionError::Level));
        assert_eq!(parse_node_code("130700000000"), Err(DivisionError::Level));
        assert_eq!(parse_node_code("130728102203"), Err(DivisionError::Level));
        assert_eq!(parse_node_code("13072810200"), Err(DivisionError::Format));
    }

    fn part(width: usize) -> impl Strategy<Value = String> {
        (1u32..10u32.pow(width as u32)).prop_map(move |n| format!("{n:0width$}"))
    }

    proptest! {
        #[test]
        fn any_12_chars_never_panic(s in "[0-9a]{0,14}") {
            let _ = DivisionCode::parse(&s);
            let _ = parse_node_code(&s);
        }

        #[test]
        fn well_formed_codes_parse_at_their_depth(
            prov in prop::sample::select(vec!["11", "13", "44", "62", "65", "82"]),
            pre in part(2), county in part(2), town in part(3), village in part(3),
            depth in 0usize..5,
        ) {
            let parts = [prov.to_string(), pre, county, town, village];
            let mut code = String::new();
            for (i, p) in parts.iter().enumerate() {
                if i <= depth { code.push_str(p) } else { code.push_str(&"0".repeat(p.len())) }
            }
            let c = DivisionCode::parse(&code).unwrap();
            prop_assert_eq!(c.level(), DivisionLevel::from_index(depth));
            prop_assert_eq!(c.as_str(), code.as_str());
            prop_assert_eq!(c.province_code(), prov);
            prop_assert_eq!(
                parse_node_code(&code).is_ok(),
                matches!(c.level(), DivisionLevel::County | DivisionLevel::Township)
            );
        }

        #[test]
        fn a_gap_is_a_structure_error(
            pre in part(2), town in part(3), village in part(3),
        ) {
            // County part zero, something non-zero below it.
            let code = format!("13{pre}00{town}{village}");
            prop_assert_eq!(DivisionCode::parse(&code), Err(DivisionError::Structure));
        }
    }
}
